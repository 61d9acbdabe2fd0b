-- widecol parallel sequential scans: workers share the delta pages and the
-- TOAST pages; aggregates over delta rows, cold rows and deleted cold rows
-- agree with a heap twin.  Parallel index builds stay serial.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS widecol;
RESET client_min_messages;

CREATE TABLE pe (user_id int, ts int, kind int, payload text)
  USING widecol WITH (partition_key = 'user_id', sort_key = 'ts', autovacuum_enabled = false);
CREATE TABLE ph (user_id int, ts int, kind int, payload text) WITH (autovacuum_enabled = false);
INSERT INTO pe SELECT (g * 7919) % 500, g, g % 7, 'event ' || g || ' ' || md5(g::text)
  FROM generate_series(1, 60000) g;
INSERT INTO ph SELECT * FROM pe;
SELECT moved_rows FROM widecol.compact('pe');
-- fresh delta rows, deleted and updated cold rows (tombstones)
INSERT INTO pe SELECT g % 500, g, g % 7, 'late ' || g FROM generate_series(60001, 63000) g;
INSERT INTO ph SELECT g % 500, g, g % 7, 'late ' || g FROM generate_series(60001, 63000) g;
DELETE FROM pe WHERE user_id = 17 OR ts % 1000 = 0;
DELETE FROM ph WHERE user_id = 17 OR ts % 1000 = 0;
UPDATE pe SET kind = kind + 10 WHERE user_id = 42;
UPDATE ph SET kind = kind + 10 WHERE user_id = 42;
SELECT count(*) FILTER (WHERE (ctid::text::point)[1] > 291) AS cold,
       count(*) FILTER (WHERE (ctid::text::point)[1] <= 291) AS delta FROM pe;

\set agg 'SELECT kind, count(*), sum(ts), min(payload), max(user_id) FROM'
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT count(*), sum(kind) FROM pe;
SELECT (SELECT count(*) || '/' || sum(kind) || '/' || sum(ts) FROM pe) AS widecol,
       (SELECT count(*) || '/' || sum(kind) || '/' || sum(ts) FROM ph) AS heap;
EXPLAIN (COSTS OFF) :agg pe GROUP BY kind;
SELECT (SELECT count(*) FROM (:agg pe GROUP BY kind EXCEPT ALL :agg ph GROUP BY kind) d) AS differ,
       (SELECT count(*) FROM (:agg pe GROUP BY kind) n) AS groups;
-- scalar subqueries get parallel plans of their own
EXPLAIN (COSTS OFF) SELECT (SELECT count(*) FROM pe) AS widecol;
-- the workers alone read every row once
SET parallel_leader_participation = off;
SELECT (SELECT count(*) || '/' || sum(kind) || '/' || sum(ts) FROM pe) AS widecol,
       (SELECT count(*) || '/' || sum(kind) || '/' || sum(ts) FROM ph) AS heap;
RESET parallel_leader_participation;
-- a filter, a parallel hash join with the heap twin, and a rescan
SELECT (SELECT count(*) FROM pe WHERE payload LIKE '%ff%') AS widecol_ff,
       (SELECT count(*) FROM ph WHERE payload LIKE '%ff%') AS heap_ff;
SELECT count(*) AS joined FROM pe JOIN ph USING (user_id, ts, kind, payload);
SELECT u.n, (SELECT count(*) FROM pe WHERE pe.kind = u.n) AS widecol,
       (SELECT count(*) FROM ph WHERE ph.kind = u.n) AS heap
  FROM generate_series(0, 2) u(n) ORDER BY u.n;
-- in a transaction that deleted rows itself: its own tombstones count
BEGIN;
DELETE FROM pe WHERE user_id = 99;
DELETE FROM ph WHERE user_id = 99;
SELECT (SELECT count(*) || '/' || sum(ts) FROM pe) AS widecol,
       (SELECT count(*) || '/' || sum(ts) FROM ph) AS heap;
ROLLBACK;
-- every query below runs in a worker
SET force_parallel_mode = on;
SELECT (SELECT count(*) || '/' || sum(ts) FROM pe) AS widecol,
       (SELECT count(*) || '/' || sum(ts) FROM ph) AS heap;
RESET force_parallel_mode;

-- a parallel index build is not planned: the cold tier is indexed once
SET max_parallel_maintenance_workers = 2;
SET maintenance_work_mem = '64MB';
CREATE INDEX pe_kind ON pe (kind);
RESET max_parallel_maintenance_workers;
RESET maintenance_work_mem;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM pe WHERE kind = 3;
SELECT (SELECT count(*) FROM pe WHERE kind = 3) AS widecol,
       (SELECT count(*) FROM ph WHERE kind = 3) AS heap;
RESET enable_seqscan;

-- a table with no cold rows, and an empty one
CREATE TABLE pd (k int, v int) USING widecol WITH (partition_key = 'k');
INSERT INTO pd SELECT g % 10, g FROM generate_series(1, 5000) g;
CREATE TABLE pz (k int, v int) USING widecol WITH (partition_key = 'k');
SELECT (SELECT count(*) || '/' || sum(v) FROM pd) AS delta_only,
       (SELECT count(*) || '/' || coalesce(sum(v), 0) FROM pz) AS empty;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

DROP TABLE pe, ph, pd, pz;
