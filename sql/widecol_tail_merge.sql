-- widecol: tail merges (wc_merge.c).  A mover run that moves fewer than 64
-- new rows of a partition rewrites the partition's last block with them,
-- when that block holds at most widecol.tail_merge_factor times as many
-- rows as the move brings to the partitions whose last run it holds, so
-- that the partition's newest rows share one block.  Runs of other
-- partitions in that block keep their rows, and extend with their own new
-- rows.  A block with a deleted, updated or locked row is not merged.
-- Answers are compared with heap.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS widecol;
RESET client_min_messages;

CREATE TABLE tm (p int, k int, v text, PRIMARY KEY (p, k)) USING widecol
  WITH (partition_key = 'p', sort_key = 'k', autovacuum_enabled = false);
CREATE TABLE th (p int, k int, v text, PRIMARY KEY (p, k));
CREATE INDEX tm_v ON tm (v);
CREATE INDEX th_v ON th (v);
-- partitions 1..4 of 150 rows, 5 and 6 of 20 (small ones share blocks)
INSERT INTO tm SELECT p, g, 'v' || p || '.' || g
  FROM generate_series(1, 6) p, generate_series(1, CASE WHEN p <= 4 THEN 150 ELSE 20 END) g;
INSERT INTO th SELECT * FROM tm;
SELECT moved_rows FROM widecol.compact('tm');

\set same 'SELECT (SELECT count(*) FROM (SELECT * FROM tm EXCEPT ALL SELECT * FROM th) a) AS only_widecol, (SELECT count(*) FROM (SELECT * FROM th EXCEPT ALL SELECT * FROM tm) b) AS only_heap, (SELECT count(*) FROM tm) AS widecol_rows'
-- blocks holding each partition's 20 newest rows, and whether all are cold
\set newest 'SELECT p, count(DISTINCT (ctid::text::point)[0]) AS blocks, bool_and((ctid::text::point)[1] > 291) AS cold FROM (SELECT p, ctid, row_number() OVER (PARTITION BY p ORDER BY k DESC) AS n FROM tm) s WHERE n <= 20 GROUP BY p ORDER BY p'
\set add 'INSERT INTO tm SELECT p, k, ''n'' || p || ''.'' || k FROM (SELECT p, max(k) AS m FROM tm GROUP BY p) x, LATERAL generate_series(m + 1, m + 10) k; INSERT INTO th SELECT * FROM tm EXCEPT SELECT * FROM th'

-- 10 new rows per partition: every partition's last block is merged
:add;
SET widecol.tail_merge_factor = 32;
SELECT moved_rows FROM widecol.compact('tm');
:newest;
:same;
SELECT * FROM widecol.verify('tm') WHERE NOT ok;

-- "latest 10" reads one block
SET widecol.enable_keyscan = on;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SET enable_indexscan = off;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT * FROM tm WHERE p = 2 ORDER BY k DESC LIMIT 10;
SELECT k, v FROM tm WHERE p = 2 ORDER BY k DESC LIMIT 12;
RESET enable_seqscan;
RESET enable_bitmapscan;
RESET enable_indexscan;

-- rows of a merged block keep working: updates, deletes, the index on v
UPDATE tm SET v = 'updated' WHERE p = 1 AND k IN (5, 155);
UPDATE th SET v = 'updated' WHERE p = 1 AND k IN (5, 155);
DELETE FROM tm WHERE p = 3 AND k = 150;
DELETE FROM th WHERE p = 3 AND k = 150;
SELECT p, k, v FROM tm WHERE v IN ('updated', 'v4.150', 'n4.160') ORDER BY p, k;
:same;

-- a block with a deleted or updated row is not merged (partitions 1 and 3),
-- and with the factor at 0 nothing is
:add;
SELECT moved_rows FROM widecol.compact('tm');
:newest;
:add;
SET widecol.tail_merge_factor = 0;
SELECT moved_rows FROM widecol.compact('tm');
:newest;
RESET widecol.tail_merge_factor;
:same;

-- VACUUM removes the merged blocks and their index entries
VACUUM tm;
SELECT * FROM widecol.verify('tm') WHERE NOT ok;
SELECT stored_rows, delta_rows FROM widecol.tables WHERE relid = 'tm'::regclass;
SELECT count(*) FROM tm WHERE v LIKE 'n%';
:same;

DROP TABLE tm, th;

-- a move that finds few new rows per partition appends small runs, many
-- partitions' to one block.  The next move weighs such a block's rows
-- against the new rows of every partition whose last run it holds, and the
-- runs of the partitions after the merging one wait for their own new rows
-- (the carry), so each partition's newest rows stay one run: 200
-- partitions of 3 rows, then three moves of 2 new rows each
CREATE TABLE fm (p int, k int, v text)
  USING widecol WITH (partition_key = 'p', sort_key = 'k', autovacuum_enabled = false);
CREATE TABLE fh (p int, k int, v text);
INSERT INTO fm SELECT p, k, 'a' || k FROM generate_series(1, 200) p, generate_series(1, 3) k;
INSERT INTO fh SELECT * FROM fm;
SELECT moved_rows FROM widecol.compact('fm');
\set fadd 'INSERT INTO fm SELECT p, k, ''b'' || k FROM (SELECT p, max(k) AS m FROM fm GROUP BY p) x, LATERAL generate_series(m + 1, m + 2) k; INSERT INTO fh SELECT * FROM fm EXCEPT SELECT * FROM fh'
\set fblocks 'SELECT blocks, count(*) AS partitions FROM (SELECT p, count(DISTINCT (ctid::text::point)[0]) AS blocks FROM fm GROUP BY p) s GROUP BY blocks ORDER BY blocks'
:fadd;
SELECT moved_rows FROM widecol.compact('fm');
:fadd;
SELECT moved_rows FROM widecol.compact('fm');
:fadd;
SELECT moved_rows FROM widecol.compact('fm');
-- blocks holding each partition's rows (all 9 of them)
:fblocks;
SELECT (SELECT count(*) FROM (SELECT * FROM fm EXCEPT ALL SELECT * FROM fh) a) AS only_widecol,
       (SELECT count(*) FROM (SELECT * FROM fh EXCEPT ALL SELECT * FROM fm) b) AS only_heap;
SELECT p, string_agg(k::text, ',' ORDER BY k) FROM fm WHERE p IN (1, 77, 200) GROUP BY p ORDER BY p;
SELECT * FROM widecol.verify('fm') WHERE NOT ok;
-- with the factor at 0 nothing is merged: the next move appends a run each
SET widecol.tail_merge_factor = 0;
:fadd;
SELECT moved_rows FROM widecol.compact('fm');
RESET widecol.tail_merge_factor;
:fblocks;
SELECT * FROM widecol.verify('fm') WHERE NOT ok;
DROP TABLE fm, fh;
