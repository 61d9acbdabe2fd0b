-- widecol keyscan (WidecolKeyScan): plan shapes for every predicate form,
-- both directions, parameters and generic plans, LATERAL and nested loops,
-- IN lists, composite keys, text prefixes, cursors and merge joins, honest
-- costing, and answers compared with a heap twin holding the same rows.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS widecol;
RESET client_min_messages;
-- VACUUM here only vacuums: widecol_vacuum_move tests the move it runs first
SET widecol.vacuum_move = off;

-- events: 40 users, about 100 rows each with distinct ts, plus rows with
-- NULL user_id and NULL ts; hp is a heap twin with the same rows
CREATE TABLE ev (id int, user_id bigint, ts timestamptz, kind int, note text)
  USING widecol WITH (partition_key = 'user_id', sort_key = 'ts', autovacuum_enabled = false);
CREATE TABLE hp (id int, user_id bigint, ts timestamptz, kind int, note text)
  WITH (autovacuum_enabled = false);
INSERT INTO ev SELECT g, g % 40, '2026-01-01'::timestamptz + g * interval '1 minute', g % 7, 'n' || g
  FROM generate_series(1, 4000) g;
INSERT INTO ev SELECT 4000 + g, NULL, '2026-01-01'::timestamptz + g * interval '1 hour', 1, 'null user'
  FROM generate_series(1, 5) g;
INSERT INTO ev SELECT 4005 + g, 7, NULL, 2, 'null ts' FROM generate_series(1, 3) g;
INSERT INTO hp SELECT * FROM ev;
VACUUM ANALYZE ev;
VACUUM ANALYZE hp;

-- Answers are compared as ordered arrays: array_agg over a subquery with
-- ORDER BY keeps its order, so equal arrays mean the same rows in the same
-- order.
-- ORDER BY ts DESC LIMIT n takes the keyscan with no Sort, at default costs
EXPLAIN (COSTS OFF) SELECT id, ts FROM ev WHERE user_id = 5 ORDER BY ts DESC LIMIT 3;
SELECT id, ts FROM ev WHERE user_id = 5 ORDER BY ts DESC LIMIT 3;
SELECT id, ts FROM hp WHERE user_id = 5 ORDER BY ts DESC LIMIT 3;
EXPLAIN (COSTS OFF) SELECT id, ts FROM ev WHERE user_id = 5 ORDER BY ts LIMIT 3;
SELECT id, ts FROM ev WHERE user_id = 5 ORDER BY ts LIMIT 3;
SELECT id, ts FROM hp WHERE user_id = 5 ORDER BY ts LIMIT 3;
-- EXPLAIN ANALYZE counters: every row comes through the delta
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
  SELECT id FROM ev WHERE user_id = 5 AND kind = 3 ORDER BY ts DESC LIMIT 4;

-- the plan shapes of each predicate form; sequential scans are disabled
-- so that the shapes do not depend on costs (costing is tested below)
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM ev WHERE user_id = 5;
EXPLAIN (COSTS OFF) SELECT * FROM ev WHERE 5 = user_id ORDER BY ts;
EXPLAIN (COSTS OFF) SELECT * FROM ev WHERE user_id = 5 AND ts < '2026-01-02' ORDER BY ts DESC;
EXPLAIN (COSTS OFF) SELECT * FROM ev WHERE user_id = 5 AND ts <= '2026-01-02' ORDER BY ts;
EXPLAIN (COSTS OFF) SELECT * FROM ev WHERE user_id = 5 AND ts > '2026-01-02' ORDER BY ts;
EXPLAIN (COSTS OFF) SELECT * FROM ev WHERE user_id = 5 AND ts >= '2026-01-02' ORDER BY ts DESC;
EXPLAIN (COSTS OFF) SELECT * FROM ev WHERE user_id = 5 AND ts BETWEEN '2026-01-02' AND '2026-01-03' ORDER BY ts;
EXPLAIN (COSTS OFF) SELECT * FROM ev WHERE user_id = 5 AND ts = '2026-01-01 00:05' ORDER BY ts;
EXPLAIN (COSTS OFF) SELECT * FROM ev WHERE user_id = 7 AND ts IS NULL;
EXPLAIN (COSTS OFF) SELECT * FROM ev WHERE user_id IN (3, 5, 9) ORDER BY user_id, ts;
EXPLAIN (COSTS OFF) SELECT * FROM ev WHERE user_id IN (3, 5, 9) ORDER BY user_id DESC, ts DESC;
EXPLAIN (COSTS OFF) SELECT * FROM ev WHERE user_id = ANY ('{3,5}') AND ts >= '2026-01-02' ORDER BY ts;
EXPLAIN (COSTS OFF) SELECT * FROM ev WHERE user_id = 5 AND kind = 3 ORDER BY ts;
-- without equality on the partition key there is no keyscan
EXPLAIN (COSTS OFF) SELECT * FROM ev WHERE user_id > 5 ORDER BY user_id, ts;
EXPLAIN (COSTS OFF) SELECT * FROM ev WHERE ts > '2026-01-02' ORDER BY ts;
EXPLAIN (COSTS OFF) SELECT * FROM ev WHERE user_id IS NULL ORDER BY ts;
EXPLAIN (COSTS OFF) SELECT * FROM ev WHERE user_id = 5 OR user_id = 6;
-- widecol.enable_keyscan switches it; enable_indexscan does not
SET widecol.enable_keyscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM ev WHERE user_id = 5 ORDER BY ts;
RESET widecol.enable_keyscan;
SET enable_indexscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM ev WHERE user_id = 5 ORDER BY ts;
RESET enable_indexscan;

-- the answers of the same forms, against heap (NULL keys included)
SELECT (SELECT array_agg(x) FROM (SELECT * FROM ev WHERE user_id = 5 ORDER BY ts) x) =
       (SELECT array_agg(x) FROM (SELECT * FROM hp WHERE user_id = 5 ORDER BY ts) x) AS asc_same,
       (SELECT array_agg(x) FROM (SELECT * FROM ev WHERE user_id = 5 ORDER BY ts DESC) x) =
       (SELECT array_agg(x) FROM (SELECT * FROM hp WHERE user_id = 5 ORDER BY ts DESC) x) AS desc_same,
       (SELECT count(*) FROM ev WHERE user_id = 5) AS n;
SELECT (SELECT array_agg(x) FROM (SELECT id, ts FROM ev WHERE user_id = 7 ORDER BY ts, id) x) =
       (SELECT array_agg(x) FROM (SELECT id, ts FROM hp WHERE user_id = 7 ORDER BY ts, id) x) AS nulls_last_same,
       (SELECT array_agg(x) FROM (SELECT id, ts FROM ev WHERE user_id = 7 ORDER BY ts DESC, id) x) =
       (SELECT array_agg(x) FROM (SELECT id, ts FROM hp WHERE user_id = 7 ORDER BY ts DESC, id) x) AS nulls_first_same;
SELECT id, ts FROM ev WHERE user_id = 7 ORDER BY ts DESC, id LIMIT 5;
SELECT id, ts FROM ev WHERE user_id = 7 AND ts IS NULL ORDER BY id;
SELECT count(*) FROM ev WHERE user_id = 7 AND ts IS NOT NULL;
SELECT (SELECT array_agg(x) FROM (SELECT * FROM ev WHERE user_id = 5 AND ts < '2026-01-02' ORDER BY ts DESC) x) =
       (SELECT array_agg(x) FROM (SELECT * FROM hp WHERE user_id = 5 AND ts < '2026-01-02' ORDER BY ts DESC) x) AS lt,
       (SELECT array_agg(x) FROM (SELECT * FROM ev WHERE user_id = 5 AND ts <= '2026-01-01 20:05' ORDER BY ts) x) =
       (SELECT array_agg(x) FROM (SELECT * FROM hp WHERE user_id = 5 AND ts <= '2026-01-01 20:05' ORDER BY ts) x) AS le,
       (SELECT array_agg(x) FROM (SELECT * FROM ev WHERE user_id = 5 AND ts > '2026-01-02' ORDER BY ts) x) =
       (SELECT array_agg(x) FROM (SELECT * FROM hp WHERE user_id = 5 AND ts > '2026-01-02' ORDER BY ts) x) AS gt,
       (SELECT array_agg(x) FROM (SELECT * FROM ev WHERE user_id = 5 AND ts >= '2026-01-02 00:05' ORDER BY ts DESC) x) =
       (SELECT array_agg(x) FROM (SELECT * FROM hp WHERE user_id = 5 AND ts >= '2026-01-02 00:05' ORDER BY ts DESC) x) AS ge,
       (SELECT array_agg(x) FROM (SELECT * FROM ev WHERE user_id = 5 AND ts BETWEEN '2026-01-02' AND '2026-01-03' ORDER BY ts) x) =
       (SELECT array_agg(x) FROM (SELECT * FROM hp WHERE user_id = 5 AND ts BETWEEN '2026-01-02' AND '2026-01-03' ORDER BY ts) x) AS between_,
       (SELECT array_agg(x) FROM (SELECT * FROM ev WHERE user_id IN (3, 5, 9) ORDER BY user_id, ts) x) =
       (SELECT array_agg(x) FROM (SELECT * FROM hp WHERE user_id IN (3, 5, 9) ORDER BY user_id, ts) x) AS in_list,
       (SELECT array_agg(x) FROM (SELECT * FROM ev WHERE user_id IN (3, 5, 9) ORDER BY user_id DESC, ts DESC) x) =
       (SELECT array_agg(x) FROM (SELECT * FROM hp WHERE user_id IN (3, 5, 9) ORDER BY user_id DESC, ts DESC) x) AS in_list_desc,
       (SELECT array_agg(x) FROM (SELECT * FROM ev WHERE user_id = ANY ('{3,5}') AND ts >= '2026-01-02' ORDER BY ts, user_id) x) =
       (SELECT array_agg(x) FROM (SELECT * FROM hp WHERE user_id = ANY ('{3,5}') AND ts >= '2026-01-02' ORDER BY ts, user_id) x) AS any_array,
       (SELECT array_agg(x) FROM (SELECT * FROM ev WHERE user_id = 5 AND kind = 3 ORDER BY ts) x) =
       (SELECT array_agg(x) FROM (SELECT * FROM hp WHERE user_id = 5 AND kind = 3 ORDER BY ts) x) AS filtered;
-- empty answers: no such partition, an empty range, a NULL comparison value
SELECT count(*) FROM ev WHERE user_id = 1000;
SELECT count(*) FROM ev WHERE user_id = 5 AND ts > '2027-01-01';
SELECT count(*) FROM ev WHERE user_id = NULL::bigint;
SELECT count(*) FROM ev WHERE user_id = 5 AND ts < NULL::timestamptz;
-- the same multiset both ways (EXCEPT ALL) over every partition
SELECT (SELECT count(*) FROM (SELECT e.* FROM generate_series(0, 39) u, LATERAL (SELECT * FROM ev WHERE user_id = u) e
                              EXCEPT ALL SELECT * FROM hp) a) AS only_widecol,
       (SELECT count(*) FROM (SELECT * FROM hp WHERE user_id IS NOT NULL
                              EXCEPT ALL SELECT e.* FROM generate_series(0, 39) u, LATERAL (SELECT * FROM ev WHERE user_id = u) e) b) AS only_heap;

-- parameters: a prepared statement run more than five times switches to a
-- generic plan with $1 in the keyscan; force_generic_plan does it at once
RESET enable_seqscan;
PREPARE latest(bigint) AS SELECT id, ts FROM ev WHERE user_id = $1 ORDER BY ts DESC LIMIT 2;
EXECUTE latest(1);
EXECUTE latest(2);
EXECUTE latest(3);
EXECUTE latest(4);
EXECUTE latest(5);
EXECUTE latest(6);
EXECUTE latest(7);
EXPLAIN (COSTS OFF) EXECUTE latest(8);
SELECT generic_plans > 0 AS generic_used FROM pg_prepared_statements WHERE name = 'latest';
EXECUTE latest(8);
SELECT id, ts FROM hp WHERE user_id = 8 ORDER BY ts DESC LIMIT 2;
EXECUTE latest(NULL);
SET plan_cache_mode = force_generic_plan;
PREPARE range_q(bigint, timestamptz, timestamptz) AS
  SELECT id FROM ev WHERE user_id = $1 AND ts >= $2 AND ts < $3 ORDER BY ts DESC;
EXPLAIN (COSTS OFF) EXECUTE range_q(9, '2026-01-03 12:00', '2026-01-03 15:00');
EXECUTE range_q(9, '2026-01-03 12:00', '2026-01-03 15:00');
SELECT id FROM hp WHERE user_id = 9 AND ts >= '2026-01-03 12:00' AND ts < '2026-01-03 15:00' ORDER BY ts DESC;
RESET plan_cache_mode;
DEALLOCATE latest;
DEALLOCATE range_q;

-- LATERAL: the latest three events of each listed user, a parameterized
-- keyscan under a nested loop, rescanned per outer row
CREATE TABLE users (id bigint, name text);
INSERT INTO users VALUES (3, 'c'), (5, 'e'), (7, 'g'), (1000, 'none'), (NULL, 'null');
ANALYZE users;
EXPLAIN (COSTS OFF)
  SELECT u.name, e.id, e.ts FROM users u
  CROSS JOIN LATERAL (SELECT id, ts FROM ev WHERE ev.user_id = u.id ORDER BY ts DESC LIMIT 3) e
  ORDER BY u.name, e.ts DESC;
SELECT u.name, e.id, e.ts FROM users u
  CROSS JOIN LATERAL (SELECT id, ts FROM ev WHERE ev.user_id = u.id ORDER BY ts DESC LIMIT 3) e
  ORDER BY u.name, e.ts DESC;
SELECT (SELECT array_agg(x) FROM (SELECT u.name, e.* FROM users u
          CROSS JOIN LATERAL (SELECT * FROM ev WHERE ev.user_id = u.id ORDER BY ts DESC LIMIT 3) e ORDER BY 1, e.ts DESC, e.id) x) =
       (SELECT array_agg(x) FROM (SELECT u.name, e.* FROM users u
          CROSS JOIN LATERAL (SELECT * FROM hp WHERE hp.user_id = u.id ORDER BY ts DESC LIMIT 3) e ORDER BY 1, e.ts DESC, e.id) x) AS lateral_same;
-- a plain join as a parameterized nested loop, with a range from the outer row
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
SET enable_memoize = off;
EXPLAIN (COSTS OFF)
  SELECT u.name, e.id FROM users u JOIN ev e ON e.user_id = u.id AND e.ts < '2026-01-01 02:00'::timestamptz + u.id * interval '1 minute'
  ORDER BY u.name, e.id;
SELECT u.name, e.id FROM users u JOIN ev e ON e.user_id = u.id AND e.ts < '2026-01-01 02:00'::timestamptz + u.id * interval '1 minute'
  ORDER BY u.name, e.id;
SELECT u.name, e.id FROM users u JOIN hp e ON e.user_id = u.id AND e.ts < '2026-01-01 02:00'::timestamptz + u.id * interval '1 minute'
  ORDER BY u.name, e.id;
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;
RESET enable_memoize;

-- merge join on ts: both sides come sorted from keyscans; the inner one
-- cannot mark/restore, so the planner materializes it
SET enable_hashjoin = off;
SET enable_nestloop = off;
SET enable_sort = off;
EXPLAIN (COSTS OFF)
  SELECT a.id, b.id FROM ev a JOIN ev b ON a.ts = b.ts
  WHERE a.user_id = 1 AND b.user_id = 1 AND b.kind = 1;
SELECT a.id, b.id, a.ts FROM ev a JOIN ev b ON a.ts = b.ts
  WHERE a.user_id = 1 AND b.user_id = 1 AND b.kind = 1 ORDER BY a.ts;
SELECT a.id, b.id, a.ts FROM hp a JOIN hp b ON a.ts = b.ts
  WHERE a.user_id = 1 AND b.user_id = 1 AND b.kind = 1 ORDER BY a.ts;
RESET enable_hashjoin;
RESET enable_nestloop;
RESET enable_sort;

-- scroll cursors: FETCH BACKWARD works through a Material node
BEGIN;
EXPLAIN (COSTS OFF) DECLARE c SCROLL CURSOR FOR SELECT id FROM ev WHERE user_id = 5 ORDER BY ts;
DECLARE c SCROLL CURSOR FOR SELECT id FROM ev WHERE user_id = 5 ORDER BY ts;
FETCH 3 FROM c;
FETCH BACKWARD 2 FROM c;
FETCH LAST FROM c;
FETCH BACKWARD 2 FROM c;
COMMIT;
-- a no-scroll cursor runs the keyscan itself
BEGIN;
EXPLAIN (COSTS OFF) DECLARE c NO SCROLL CURSOR FOR SELECT id FROM ev WHERE user_id = 5 ORDER BY ts DESC;
DECLARE c NO SCROLL CURSOR FOR SELECT id FROM ev WHERE user_id = 5 ORDER BY ts DESC;
FETCH 2 FROM c;
FETCH 2 FROM c;
COMMIT;

-- composite keys: partition (tenant, device), sort (ts, seq)
CREATE TABLE rd (tenant text, device int, ts int, seq int, v float8)
  USING widecol WITH (partition_key = 'tenant, device', sort_key = 'ts, seq', autovacuum_enabled = false);
CREATE TABLE rh (tenant text, device int, ts int, seq int, v float8) WITH (autovacuum_enabled = false);
INSERT INTO rd SELECT 't' || g % 4, g % 5, g / 3, g % 3, g / 7.0 FROM generate_series(1, 6000) g;
INSERT INTO rd VALUES ('t1', 2, NULL, 1, -1), ('t1', 2, 5, NULL, -2), (NULL, 2, 1, 1, -3);
INSERT INTO rh SELECT * FROM rd;
VACUUM ANALYZE rd;
VACUUM ANALYZE rh;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM rd WHERE tenant = 't1' AND device = 2 ORDER BY ts, seq;
EXPLAIN (COSTS OFF) SELECT * FROM rd WHERE tenant = 't1' AND device = 2 ORDER BY ts DESC, seq DESC LIMIT 5;
EXPLAIN (COSTS OFF) SELECT * FROM rd WHERE tenant = 't1' AND device = 2 AND ts = 100 ORDER BY seq;
EXPLAIN (COSTS OFF) SELECT * FROM rd WHERE tenant = 't1' AND device = 2 AND (ts, seq) > (100, 1) ORDER BY ts, seq LIMIT 4;
EXPLAIN (COSTS OFF) SELECT * FROM rd WHERE tenant = 't1' AND device IN (1, 2) AND ts BETWEEN 10 AND 20 ORDER BY device, ts, seq;
-- only part of the partition key: no keyscan
EXPLAIN (COSTS OFF) SELECT * FROM rd WHERE tenant = 't1' ORDER BY device, ts, seq;
EXPLAIN (COSTS OFF) SELECT * FROM rd WHERE device = 2 AND ts = 100;
SELECT * FROM rd WHERE tenant = 't1' AND device = 2 AND (ts, seq) > (100, 1) ORDER BY ts, seq LIMIT 4;
SELECT * FROM rd WHERE tenant = 't1' AND device = 2 ORDER BY ts DESC, seq DESC LIMIT 3;
SELECT * FROM rh WHERE tenant = 't1' AND device = 2 ORDER BY ts DESC, seq DESC LIMIT 3;
SELECT (SELECT array_agg(x) FROM (SELECT * FROM rd WHERE tenant = 't1' AND device = 2 ORDER BY ts, seq) x) =
       (SELECT array_agg(x) FROM (SELECT * FROM rh WHERE tenant = 't1' AND device = 2 ORDER BY ts, seq) x) AS asc_same,
       (SELECT array_agg(x) FROM (SELECT * FROM rd WHERE tenant = 't1' AND device = 2 ORDER BY ts DESC, seq DESC) x) =
       (SELECT array_agg(x) FROM (SELECT * FROM rh WHERE tenant = 't1' AND device = 2 ORDER BY ts DESC, seq DESC) x) AS desc_same,
       (SELECT array_agg(x) FROM (SELECT * FROM rd WHERE tenant = 't1' AND device = 2 AND (ts, seq) > (100, 1) ORDER BY ts, seq) x) =
       (SELECT array_agg(x) FROM (SELECT * FROM rh WHERE tenant = 't1' AND device = 2 AND (ts, seq) > (100, 1) ORDER BY ts, seq) x) AS row_compare,
       (SELECT array_agg(x) FROM (SELECT * FROM rd WHERE tenant = 't1' AND device IN (1, 2) AND ts BETWEEN 10 AND 20 ORDER BY device, ts, seq) x) =
       (SELECT array_agg(x) FROM (SELECT * FROM rh WHERE tenant = 't1' AND device IN (1, 2) AND ts BETWEEN 10 AND 20 ORDER BY device, ts, seq) x) AS in_range;
RESET enable_seqscan;

-- text sort keys: LIKE 'p%' and starts_with become a range under the C
-- collation (this database's default) and stay a filter under ICU, where
-- the answer still comes in the collation's order
CREATE TABLE docs (owner int, path text, size int)
  USING widecol WITH (partition_key = 'owner', sort_key = 'path', autovacuum_enabled = false);
CREATE TABLE docs_icu (owner int, path text COLLATE "und-x-icu", size int)
  USING widecol WITH (partition_key = 'owner', sort_key = 'path', autovacuum_enabled = false);
CREATE TABLE docs_heap (owner int, path text COLLATE "und-x-icu", size int) WITH (autovacuum_enabled = false);
INSERT INTO docs SELECT g % 3, (ARRAY['pa', 'Pb', 'p_', 'pé', 'q', 'P', 'pz', 'p%x', ''])[g / 3 % 9 + 1] || '/' || g, g
  FROM generate_series(1, 900) g;
INSERT INTO docs VALUES (1, NULL, 0);
-- owner 9: one path per prefix, to show the two orders
INSERT INTO docs SELECT 9, p, 0 FROM unnest(ARRAY['pa', 'Pb', 'p_', 'pé', 'q', 'P', 'pz', 'p%x', '']) p;
INSERT INTO docs_icu SELECT * FROM docs;
INSERT INTO docs_heap SELECT * FROM docs;
VACUUM ANALYZE docs;
VACUUM ANALYZE docs_icu;
VACUUM ANALYZE docs_heap;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM docs WHERE owner = 1 AND path LIKE 'pa%' ORDER BY path;
EXPLAIN (COSTS OFF) SELECT * FROM docs WHERE owner = 1 AND starts_with(path, 'p') ORDER BY path DESC;
EXPLAIN (COSTS OFF) SELECT * FROM docs WHERE owner = 1 AND path LIKE 'p\_%' ORDER BY path;
EXPLAIN (COSTS OFF) SELECT * FROM docs_icu WHERE owner = 1 AND path LIKE 'pa%' ORDER BY path;
SELECT (SELECT array_agg(path) FROM (SELECT path FROM docs WHERE owner = 1 AND path LIKE 'pa%' ORDER BY path) x) =
       (SELECT array_agg(path) FROM (SELECT path FROM docs_heap WHERE owner = 1 AND path LIKE 'pa%' ORDER BY path COLLATE "C") x) AS like_same,
       (SELECT array_agg(path) FROM (SELECT path FROM docs WHERE owner = 1 AND starts_with(path, 'p') ORDER BY path DESC) x) =
       (SELECT array_agg(path) FROM (SELECT path FROM docs_heap WHERE owner = 1 AND starts_with(path, 'p') ORDER BY path COLLATE "C" DESC) x) AS prefix_same,
       (SELECT array_agg(path) FROM (SELECT path FROM docs WHERE owner = 1 AND path LIKE 'p\_%' ORDER BY path) x) =
       (SELECT array_agg(path) FROM (SELECT path FROM docs_heap WHERE owner = 1 AND path LIKE 'p\_%' ORDER BY path COLLATE "C") x) AS escaped_same,
       (SELECT array_agg(path) FROM (SELECT path FROM docs_icu WHERE owner = 1 ORDER BY path) x) =
       (SELECT array_agg(path) FROM (SELECT path FROM docs_heap WHERE owner = 1 ORDER BY path) x) AS icu_order_same,
       (SELECT array_agg(path) FROM (SELECT path FROM docs_icu WHERE owner = 1 AND path LIKE 'p%' ORDER BY path DESC) x) =
       (SELECT array_agg(path) FROM (SELECT path FROM docs_heap WHERE owner = 1 AND path LIKE 'p%' ORDER BY path DESC) x) AS icu_like_same;
-- the keyscan returns each collation's order, as heap sorts it
SELECT string_agg(quote_literal(path), ' ') AS c_order FROM (SELECT path FROM docs WHERE owner = 9 ORDER BY path) x;
SELECT string_agg(quote_literal(path), ' ') AS icu_order FROM (SELECT path FROM docs_icu WHERE owner = 9 ORDER BY path) x;
SELECT string_agg(quote_literal(path), ' ') AS icu_heap_order FROM (SELECT path FROM docs_heap WHERE owner = 9 ORDER BY path) x;
EXPLAIN (COSTS OFF) SELECT path FROM docs_icu WHERE owner = 9 ORDER BY path;
RESET enable_seqscan;

-- honest costing: an unselective partition keeps the Seq Scan, and a
-- selective btree on another column wins over the keyscan
CREATE TABLE big (id int, grp int, ts int, payload text)
  USING widecol WITH (partition_key = 'grp', sort_key = 'ts', autovacuum_enabled = false);
INSERT INTO big SELECT g, g % 4, (g * 7919) % 40000, repeat('p', 40) FROM generate_series(1, 40000) g;
CREATE INDEX big_id ON big (id);
VACUUM ANALYZE big;
EXPLAIN (COSTS OFF) SELECT count(*) FROM big WHERE grp = 1;
EXPLAIN (COSTS OFF) SELECT * FROM big WHERE grp = 1 AND id = 12345;
EXPLAIN (COSTS OFF) SELECT * FROM big WHERE grp = 1 AND ts BETWEEN 100 AND 120 ORDER BY ts;
EXPLAIN (COSTS OFF) SELECT * FROM big WHERE grp = 1 ORDER BY ts DESC LIMIT 10;
SELECT id, ts FROM big WHERE grp = 1 ORDER BY ts DESC LIMIT 3;

-- UPDATE and DELETE through a keyscan (ctid, EvalPlanQual recheck)
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) UPDATE ev SET kind = kind + 100 WHERE user_id = 11 AND ts < '2026-01-01 05:00';
UPDATE ev SET kind = kind + 100 WHERE user_id = 11 AND ts < '2026-01-01 05:00';
UPDATE hp SET kind = kind + 100 WHERE user_id = 11 AND ts < '2026-01-01 05:00';
EXPLAIN (COSTS OFF) DELETE FROM ev WHERE user_id = 12 AND ts > '2026-01-03' RETURNING id;
DELETE FROM ev WHERE user_id = 12 AND ts > '2026-01-03';
DELETE FROM hp WHERE user_id = 12 AND ts > '2026-01-03';
-- a key change moves the row to another partition
UPDATE ev SET user_id = 13 WHERE user_id = 14 AND ts < '2026-01-01 03:00';
UPDATE hp SET user_id = 13 WHERE user_id = 14 AND ts < '2026-01-01 03:00';
SELECT id, kind FROM ev WHERE user_id = 11 ORDER BY ts LIMIT 3;
SELECT ctid = (SELECT ctid FROM ev WHERE id = 51) AS ctid_ok, tableoid::regclass FROM ev WHERE user_id = 11 AND ts = '2026-01-01 00:51';
SELECT id FROM ev WHERE user_id = 14 ORDER BY ts FOR UPDATE LIMIT 2;
RESET enable_seqscan;
SELECT (SELECT count(*) FROM (SELECT * FROM ev EXCEPT ALL SELECT * FROM hp) a) AS only_widecol,
       (SELECT count(*) FROM (SELECT * FROM hp EXCEPT ALL SELECT * FROM ev) b) AS only_heap,
       (SELECT count(*) FROM ev WHERE user_id = 13) AS moved;
SELECT (SELECT array_agg(x) FROM (SELECT * FROM ev WHERE user_id = 13 ORDER BY ts DESC) x) =
       (SELECT array_agg(x) FROM (SELECT * FROM hp WHERE user_id = 13 ORDER BY ts DESC) x) AS after_dml_same;

-- the keyscan runs in a parallel worker too (it is not parallel-aware)
SET force_parallel_mode = on;
EXPLAIN (COSTS OFF) SELECT id, ts FROM ev WHERE user_id = 13 ORDER BY ts DESC LIMIT 3;
SELECT (SELECT array_agg(x) FROM (SELECT * FROM ev WHERE user_id = 13 ORDER BY ts DESC LIMIT 20) x) =
       (SELECT array_agg(x) FROM (SELECT * FROM hp WHERE user_id = 13 ORDER BY ts DESC LIMIT 20) x) AS in_worker_same;
RESET force_parallel_mode;

-- partitions of a partitioned table each get a keyscan, merged in order
CREATE TABLE pev (region text, user_id int, ts int, v int) PARTITION BY LIST (region);
CREATE TABLE pev_eu PARTITION OF pev FOR VALUES IN ('eu')
  USING widecol WITH (partition_key = 'user_id', sort_key = 'ts');
CREATE TABLE pev_us PARTITION OF pev FOR VALUES IN ('us')
  USING widecol WITH (partition_key = 'user_id', sort_key = 'ts');
INSERT INTO pev SELECT (ARRAY['eu', 'us'])[g % 2 + 1], g % 10, g, g FROM generate_series(1, 2000) g;
ANALYZE pev;
EXPLAIN (COSTS OFF) SELECT ts FROM pev WHERE user_id = 3 ORDER BY ts DESC LIMIT 4;
SELECT ts FROM pev WHERE user_id = 3 ORDER BY ts DESC LIMIT 4;

DROP TABLE ev, hp, users, rd, rh, docs, docs_icu, docs_heap, big, pev;
