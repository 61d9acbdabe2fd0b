-- widecol sequential scans of the cold tier: the tombstone probe is made
-- only for blocks that have tombstone entries (listed once per scan), so
-- every kind of tombstone must still hide exactly the rows heap hides.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS widecol;
RESET client_min_messages;

CREATE TABLE se (user_id int, ts int, kind int, payload text)
  USING widecol WITH (partition_key = 'user_id', sort_key = 'ts', autovacuum_enabled = false);
CREATE TABLE sh (user_id int, ts int, kind int, payload text) WITH (autovacuum_enabled = false);
INSERT INTO se SELECT (g * 7919) % 500, g, g % 7, 'event ' || g || ' ' || md5(g::text)
  FROM generate_series(1, 60000) g;
INSERT INTO sh SELECT * FROM se;
SELECT moved_rows FROM widecol.compact('se');
\set both 'SELECT (SELECT count(*) || ''/'' || sum(ts) || ''/'' || sum(kind) FROM se) AS widecol, (SELECT count(*) || ''/'' || sum(ts) || ''/'' || sum(kind) FROM sh) AS heap'
:both;
-- committed deletes and updates in a few blocks
DELETE FROM se WHERE user_id = 17 OR ts % 5000 = 0;
DELETE FROM sh WHERE user_id = 17 OR ts % 5000 = 0;
UPDATE se SET kind = kind + 10 WHERE user_id = 42;
UPDATE sh SET kind = kind + 10 WHERE user_id = 42;
:both;
-- an aborted delete leaves a tombstone that hides nothing
BEGIN;
SAVEPOINT s;
DELETE FROM se WHERE user_id = 300;
ROLLBACK TO s;
:both;
COMMIT;
:both;
-- a cursor keeps its snapshot: rows its own transaction deletes later,
-- before or after the cursor first reaches the cold tier, stay visible
EXPLAIN (COSTS OFF) SELECT ts FROM se WHERE user_id + 0 = 250 ORDER BY ts;
BEGIN;
DECLARE c1 CURSOR FOR SELECT count(*), sum(ts) FROM se;
DECLARE c2 CURSOR FOR SELECT ts FROM se WHERE user_id + 0 = 250 ORDER BY ts;
FETCH 3 FROM c2;
DELETE FROM se WHERE user_id IN (250, 251);
FETCH ALL FROM c1;
FETCH 3 FROM c2;
SELECT count(*) AS now_visible FROM se WHERE user_id IN (250, 251);
ROLLBACK;
SELECT count(*) AS after_rollback FROM se WHERE user_id IN (250, 251);
:both;
DROP TABLE se, sh;
