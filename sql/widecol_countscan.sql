-- widecol count scan: a full scan for queries that read no column of the
-- table (count(*), EXISTS, SELECT 1) counts cold rows from block headers
-- instead of decoding them, with the visibility of a sequential scan:
-- block tuples under the snapshot, tombstones of deletes and updates,
-- delta rows.  Every answer is compared with a heap twin.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS widecol;
RESET client_min_messages;

CREATE TABLE ce (user_id int, ts int, kind int, payload text)
  USING widecol WITH (partition_key = 'user_id', sort_key = 'ts', autovacuum_enabled = false);
CREATE TABLE ch (user_id int, ts int, kind int, payload text) WITH (autovacuum_enabled = false);
INSERT INTO ce SELECT (g * 7919) % 300, g, g % 7, 'event ' || g || ' ' || md5(g::text)
  FROM generate_series(1, 30000) g;
INSERT INTO ch SELECT * FROM ce;
SELECT moved_rows FROM widecol.compact('ce');
-- fresh rows in the delta beside the cold blocks
INSERT INTO ce SELECT g % 300, 100000 + g, 1, 'fresh' FROM generate_series(1, 500) g;
INSERT INTO ch SELECT g % 300, 100000 + g, 1, 'fresh' FROM generate_series(1, 500) g;
ANALYZE ce;
ANALYZE ch;
\set both 'SELECT (SELECT count(*) FROM ce) AS widecol, (SELECT count(*) FROM ch) AS heap'

-- plan shapes: count(*), EXISTS and constant targets read no column
EXPLAIN (COSTS OFF) SELECT count(*) FROM ce;
EXPLAIN (COSTS OFF) SELECT 1 FROM ce LIMIT 1;
EXPLAIN (COSTS OFF) SELECT count(*) FROM ce WHERE random() >= 0;
-- anything that reads a column, or ctid, is a sequential scan as before
EXPLAIN (COSTS OFF) SELECT count(kind) FROM ce;
EXPLAIN (COSTS OFF) SELECT count(*) FROM ce WHERE kind = 3;
EXPLAIN (COSTS OFF) SELECT count(*) FROM ce c WHERE c IS NOT NULL;
EXPLAIN (COSTS OFF) SELECT max(ctid) FROM ce;
EXPLAIN (COSTS OFF) DELETE FROM ce WHERE random() < 0;
-- widecol.enable_countscan turns it off
SET widecol.enable_countscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM ce;
RESET widecol.enable_countscan;

:both;
SELECT EXISTS (SELECT FROM ce) AS any_row, (SELECT count(*) FROM (SELECT 1 FROM ce LIMIT 7) s) AS seven;
-- committed deletes and updates of cold rows hide their old versions
DELETE FROM ce WHERE user_id = 17 OR ts % 1000 = 0;
DELETE FROM ch WHERE user_id = 17 OR ts % 1000 = 0;
UPDATE ce SET kind = kind + 10 WHERE user_id = 42;
UPDATE ch SET kind = kind + 10 WHERE user_id = 42;
:both;
-- a transaction sees its own deletes; a rolled-back delete hides nothing
BEGIN;
DELETE FROM ce WHERE user_id BETWEEN 100 AND 119;
DELETE FROM ch WHERE user_id BETWEEN 100 AND 119;
:both;
ROLLBACK;
:both;
-- a cursor keeps its snapshot across a delete of its own transaction
BEGIN;
DECLARE c CURSOR FOR SELECT count(*) FROM ce;
DELETE FROM ce WHERE user_id = 250;
FETCH ALL FROM c;
SELECT count(*) AS after_delete FROM ce;
ROLLBACK;
-- the same counts with and without the count scan
SET widecol.enable_countscan = off;
:both;
RESET widecol.enable_countscan;
:both;

-- rows moved by a later compact are counted once, in their new blocks
SELECT moved_rows > 0 AS moved FROM widecol.compact('ce');
:both;

-- a parallel count scan divides the blocks between its workers
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT count(*) FROM ce;
:both;
-- a subplan rescans it for each outer row
EXPLAIN (COSTS OFF)
SELECT g, (SELECT count(*) FROM ce WHERE g > 0) FROM generate_series(1, 2) g ORDER BY g;
SELECT g, (SELECT count(*) FROM ce WHERE g > 0) FROM generate_series(1, 2) g ORDER BY g;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- a table with only delta rows, and an empty one
CREATE TABLE cd (k int, v int) USING widecol WITH (partition_key = 'k', autovacuum_enabled = false);
SELECT count(*) AS empty FROM cd;
INSERT INTO cd SELECT g, g FROM generate_series(1, 10) g;
SELECT count(*) AS delta_only FROM cd;
DROP TABLE ce, ch, cd;
