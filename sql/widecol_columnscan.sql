-- widecol column scan: a full scan that decodes only the columns a query
-- reads (row groups decompressed only as far as their streams reach), and
-- for queries that read no column (count(*), EXISTS, SELECT 1) counts cold
-- rows from block headers instead of decoding them; with the visibility of
-- a sequential scan: block tuples under the snapshot, tombstones of
-- deletes and updates, delta rows.  Every answer is compared with a heap
-- twin.
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
\set sums 'SELECT (SELECT sum(kind) || ''/'' || count(ts) || ''/'' || max(ts) FROM ce) AS widecol, (SELECT sum(kind) || ''/'' || count(ts) || ''/'' || max(ts) FROM ch) AS heap'

-- plan shapes: count(*), EXISTS and constant targets read no column
EXPLAIN (COSTS OFF) SELECT count(*) FROM ce;
EXPLAIN (COSTS OFF) SELECT 1 FROM ce LIMIT 1;
EXPLAIN (COSTS OFF) SELECT count(*) FROM ce WHERE random() >= 0;
-- some columns: only those are decoded
EXPLAIN (COSTS OFF) SELECT count(kind) FROM ce;
EXPLAIN (COSTS OFF) SELECT count(*) FROM ce WHERE kind = 3;
EXPLAIN (COSTS OFF) SELECT sum(kind), max(ts) FROM ce WHERE user_id < 10;
-- every column, the whole row or ctid: a sequential scan as before
EXPLAIN (COSTS OFF) SELECT count(*) FROM ce WHERE payload <> '' AND user_id + ts + kind > 0;
EXPLAIN (COSTS OFF) SELECT count(*) FROM ce c WHERE c IS NOT NULL;
EXPLAIN (COSTS OFF) SELECT max(ctid) FROM ce;
EXPLAIN (COSTS OFF) DELETE FROM ce WHERE random() < 0;
-- a column before the payload decodes only a prefix of each row group's
-- image (its writer ended a zstd block before the payload's values); the
-- payload itself decodes them whole
CREATE FUNCTION cs_decoded(q text) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
  plan json;
BEGIN
  SET LOCAL max_parallel_workers_per_gather = 0;
  EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, FORMAT JSON) ' || q INTO plan;
  RETURN round((plan -> 0 -> 'Plan' -> 'Plans' -> 0 ->> 'Row Group Bytes Decoded')::numeric /
               (plan -> 0 -> 'Plan' -> 'Plans' -> 0 ->> 'Row Group Bytes')::numeric, 2);
END $$;
SELECT cs_decoded('SELECT sum(kind) FROM ce') < 0.5 AS kind_prefix,
       cs_decoded('SELECT max(length(payload)) FROM ce') AS payload_whole;
-- widecol.enable_columnscan turns it off
SET widecol.enable_columnscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM ce;
RESET widecol.enable_columnscan;

:both;
:sums;
SELECT (SELECT string_agg(kind || ':' || n, ',' ORDER BY kind) FROM (SELECT kind, count(*) AS n FROM ce WHERE ts % 3 = 0 GROUP BY kind) s) AS widecol,
       (SELECT string_agg(kind || ':' || n, ',' ORDER BY kind) FROM (SELECT kind, count(*) AS n FROM ch WHERE ts % 3 = 0 GROUP BY kind) s) AS heap;
SELECT EXISTS (SELECT FROM ce) AS any_row, (SELECT count(*) FROM (SELECT 1 FROM ce LIMIT 7) s) AS seven;
-- committed deletes and updates of cold rows hide their old versions
DELETE FROM ce WHERE user_id = 17 OR ts % 1000 = 0;
DELETE FROM ch WHERE user_id = 17 OR ts % 1000 = 0;
UPDATE ce SET kind = kind + 10 WHERE user_id = 42;
UPDATE ch SET kind = kind + 10 WHERE user_id = 42;
:both;
:sums;
-- a transaction sees its own deletes; a rolled-back delete hides nothing
BEGIN;
DELETE FROM ce WHERE user_id BETWEEN 100 AND 119;
DELETE FROM ch WHERE user_id BETWEEN 100 AND 119;
:both;
:sums;
ROLLBACK;
:both;
:sums;
-- a cursor keeps its snapshot across a delete of its own transaction
BEGIN;
DECLARE c CURSOR FOR SELECT count(*) FROM ce;
DELETE FROM ce WHERE user_id = 250;
FETCH ALL FROM c;
SELECT count(*) AS after_delete FROM ce;
ROLLBACK;
-- the same answers with and without the column scan
SET widecol.enable_columnscan = off;
:both;
:sums;
RESET widecol.enable_columnscan;
:both;
:sums;

-- rows moved by a later compact are counted once, in their new blocks
SELECT moved_rows > 0 AS moved FROM widecol.compact('ce');
:both;
:sums;

-- a parallel column scan divides the blocks between its workers
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT count(*) FROM ce;
:both;
EXPLAIN (COSTS OFF) SELECT sum(kind), count(ts), max(ts) FROM ce;
:sums;
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

-- a column after a long text column (here a dropped one, whose values
-- the rows still hold) is decoded through it; null values, rows written
-- before ADD COLUMN (missing values, with and without a default), and
-- TOASTed values (their rows stay in the delta)
CREATE TABLE me (id int, note text, ts int, big text, kind int)
  USING widecol WITH (partition_key = 'id', sort_key = 'ts', autovacuum_enabled = false);
CREATE TABLE mh (id int, note text, ts int, big text, kind int) WITH (autovacuum_enabled = false);
INSERT INTO me SELECT g % 40, CASE WHEN g % 11 = 0 THEN NULL ELSE repeat(md5(g::text), 2) END, g,
                      CASE WHEN g % 500 = 0 THEN (SELECT string_agg(md5((g * 1000 + i)::text), '') FROM generate_series(1, 200) i) END,
                      CASE WHEN g % 13 = 0 THEN NULL ELSE g % 5 END
  FROM generate_series(1, 6000) g;
INSERT INTO mh SELECT * FROM me;
ALTER TABLE me DROP COLUMN note;
ALTER TABLE mh DROP COLUMN note;
SELECT moved_rows FROM widecol.compact('me');
ALTER TABLE me ADD COLUMN d int DEFAULT 7, ADD COLUMN e text;
ALTER TABLE mh ADD COLUMN d int DEFAULT 7, ADD COLUMN e text;
INSERT INTO me SELECT g % 40, g, NULL, g % 5, g, 'e' || g FROM generate_series(6001, 7000) g;
INSERT INTO mh SELECT g % 40, g, NULL, g % 5, g, 'e' || g FROM generate_series(6001, 7000) g;
SELECT moved_rows FROM widecol.compact('me');
\set mix 'SELECT count(kind) || ''/'' || sum(kind) || ''/'' || sum(ts) || ''/'' || sum(d) || ''/'' || count(e) || ''/'' || count(big) || ''/'' || sum(length(big)) || ''/'' || md5(string_agg(md5(big), '''' ORDER BY ts)) FROM'
EXPLAIN (COSTS OFF) SELECT sum(kind), sum(d) FROM me;
SELECT (:mix me) = (:mix mh) AS same, (:mix me) AS widecol;
SELECT (SELECT sum(d) FILTER (WHERE kind IS NULL) || '/' || count(*) FILTER (WHERE e IS NULL) FROM me) AS widecol,
       (SELECT sum(d) FILTER (WHERE kind IS NULL) || '/' || count(*) FILTER (WHERE e IS NULL) FROM mh) AS heap;
SELECT cs_decoded('SELECT sum(id) FROM me') < 0.5 AS before_note,
       cs_decoded('SELECT sum(ts) FROM me') > 0.5 AS through_note;

-- NOT NULL columns a column scan does not read get filler values: JIT-
-- compiled deforming trusts NOT NULL, skips the null bitmap and steps
-- over their bytes (a fixed-width and a text column before those read)
CREATE TABLE ne (id bigint PRIMARY KEY, name text NOT NULL, kind int, ts int NOT NULL, note text)
  WITH (autovacuum_enabled = false);
CREATE TABLE nw (id bigint PRIMARY KEY, name text NOT NULL, kind int, ts int NOT NULL, note text)
  USING widecol WITH (autovacuum_enabled = false);
INSERT INTO nw SELECT g, repeat('n', g % 50 + 1), NULLIF(g % 6, 5), g * 3, CASE WHEN g % 4 = 0 THEN 'x' || g END
  FROM generate_series(1, 5000) g;
INSERT INTO ne SELECT * FROM nw;
SELECT moved_rows FROM widecol.compact('nw');
SET jit = on;
SET jit_above_cost = 0;
SET jit_optimize_above_cost = 0;
SET jit_inline_above_cost = -1;
\set nn 'SELECT sum(kind) || ''/'' || sum(ts) || ''/'' || count(note) || ''/'' || max(length(note)) || ''/'' || count(*) FILTER (WHERE kind = 2) FROM'
EXPLAIN (COSTS OFF) SELECT sum(kind), sum(ts), count(note) FROM nw;
SELECT (:nn nw) AS widecol, (:nn ne) AS heap;
RESET jit;
RESET jit_above_cost;
RESET jit_optimize_above_cost;
RESET jit_inline_above_cost;
DROP TABLE ce, ch, cd, me, mh, ne, nw;
DROP FUNCTION cs_decoded(text);
