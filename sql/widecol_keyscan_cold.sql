-- widecol keyscan over cold runs: the key index holds run entries (START and
-- END per partition run of each block) and tombstone hints; the keyscan
-- merges them with delta rows.  Runs straddling the scan bounds in both
-- directions, equal keys across runs, a table without a sort key,
-- composite keys, IN lists, deleted and updated cold rows, rows the mover
-- keeps in the delta, REINDEX, VACUUM FULL; every answer is compared with
-- a heap twin holding the same rows.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS widecol;
RESET client_min_messages;
-- VACUUM here only vacuums: widecol_vacuum_move tests the move it runs first
SET widecol.vacuum_move = off;

-- ks_rows(query, table): the query's rows on table (%1$s), in output order
CREATE FUNCTION ks_rows(q text, t text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  r text;
BEGIN
  EXECUTE format('SELECT string_agg(s::text, '' '') FROM (%s) s', format(q, t)) INTO r;
  RETURN coalesce(r, '');
END $$;
-- ks_check(query, widecol, heap): row count if both give the same rows in
-- the same order, else both answers
CREATE FUNCTION ks_check(q text, w text DEFAULT 'ev', h text DEFAULT 'hp') RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  a text := ks_rows(q, w);
  b text := ks_rows(q, h);
BEGIN
  IF a IS NOT DISTINCT FROM b THEN
    RETURN 'same, ' || (CASE WHEN a = '' THEN 0 ELSE array_length(string_to_array(a, ' '), 1) END) || ' rows';
  END IF;
  RETURN 'DIFFERENT: ' || a || ' <> ' || b;
END $$;
\set cold 'SELECT count(*) FILTER (WHERE (ctid::text::point)[1] > 291) AS cold, count(*) FILTER (WHERE (ctid::text::point)[1] <= 291) AS delta FROM ev'

-- four users, 1,500 rows each with distinct ts, compacted; then later rows,
-- compacted again (appended runs)
CREATE TABLE ev (id int, user_id int, ts int, kind int, note text)
  USING widecol WITH (partition_key = 'user_id', sort_key = 'ts', autovacuum_enabled = false);
CREATE TABLE hp (id int, user_id int, ts int, kind int, note text)
  WITH (autovacuum_enabled = false);
INSERT INTO ev SELECT g, g % 4 + 1, g, g % 7, 'note ' || g || repeat('.', g % 30)
  FROM generate_series(1, 6000) g;
SELECT moved_rows FROM widecol.compact('ev');
INSERT INTO ev SELECT g, g % 4 + 1, g, g % 7, 'note ' || g FROM generate_series(6001, 7000) g;
SELECT moved_rows FROM widecol.compact('ev');
-- equal keys across runs: user 1 already has a cold row at ts 7000
INSERT INTO ev SELECT 7000 + g, 1, 7000, 1, 'same key ' || g FROM generate_series(1, 5) g;
INSERT INTO ev SELECT 7005 + g, 1, 7000 + g, 1, 'after ' || g FROM generate_series(1, 5) g;
SELECT moved_rows FROM widecol.compact('ev');
-- rows below their partition's last cold key stay in the delta
INSERT INTO ev VALUES (8001, 2, 500, 3, 'late arrival'), (8002, 2, 6998, 3, 'late too'),
  (8003, 3, 7500, 3, 'new');
SELECT moved_rows FROM widecol.compact('ev');
:cold;
-- fresh rows, not compacted
INSERT INTO ev SELECT 9000 + g, g % 4 + 1, 7100 + g, g % 7, 'fresh ' || g FROM generate_series(1, 40) g;
INSERT INTO hp SELECT * FROM ev;
VACUUM ANALYZE ev;
VACUUM ANALYZE hp;
:cold;

SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM ev WHERE user_id = 2 AND ts >= 3333 ORDER BY ts;
-- the latest rows: the newest run and the fresh rows, no probe
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
  SELECT id FROM ev WHERE user_id = 4 ORDER BY ts DESC LIMIT 50;
SELECT ks_check('SELECT id, ts FROM %1$s WHERE user_id = 4 ORDER BY ts DESC LIMIT 50');
-- whole partitions, both directions
SELECT ks_check('SELECT id FROM %1$s WHERE user_id = 2 ORDER BY ts');
SELECT ks_check('SELECT id FROM %1$s WHERE user_id = 2 ORDER BY ts DESC');
-- bounds inside runs (a run straddles the leading bound), both directions
SELECT ks_check('SELECT id FROM %1$s WHERE user_id = 2 AND ts >= 3333 ORDER BY ts');
SELECT ks_check('SELECT id FROM %1$s WHERE user_id = 2 AND ts > 3334 ORDER BY ts LIMIT 10');
SELECT ks_check('SELECT id FROM %1$s WHERE user_id = 2 AND ts <= 3334 ORDER BY ts DESC');
SELECT ks_check('SELECT id FROM %1$s WHERE user_id = 2 AND ts < 3334 ORDER BY ts DESC LIMIT 10');
SELECT ks_check('SELECT id FROM %1$s WHERE user_id = 2 AND ts BETWEEN 1001 AND 1203 ORDER BY ts');
SELECT ks_check('SELECT id FROM %1$s WHERE user_id = 2 AND ts BETWEEN 1001 AND 1203 ORDER BY ts DESC');
SELECT ks_check('SELECT id FROM %1$s WHERE user_id = 3 AND ts BETWEEN 2 AND 6999 ORDER BY ts');
SELECT ks_check('SELECT id FROM %1$s WHERE user_id = 3 AND ts = 3003');
SELECT ks_check('SELECT id FROM %1$s WHERE user_id = 3 AND ts = 3004');
SELECT ks_check('SELECT id FROM %1$s WHERE user_id = 2 AND ts >= 490 AND ts < 510 ORDER BY ts');
SELECT ks_check('SELECT id FROM %1$s WHERE user_id = 2 AND ts > 6990 ORDER BY ts DESC');
-- a range inside one run touches one block
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
  SELECT id FROM ev WHERE user_id = 3 AND ts BETWEEN 2003 AND 2043 ORDER BY ts;
-- equal keys across runs
SELECT ks_check('SELECT id FROM %1$s WHERE user_id = 1 AND ts = 7000 ORDER BY ts, id');
SELECT ks_check('SELECT id, ts FROM %1$s WHERE user_id = 1 AND ts >= 7000 ORDER BY ts, id');
SELECT ks_check('SELECT id, ts FROM %1$s WHERE user_id = 1 AND ts <= 7000 AND ts > 6980 ORDER BY ts DESC, id');
SELECT ks_check('SELECT count(*) FROM %1$s WHERE user_id = 1 AND ts >= 7000');
-- IN lists and arrays: one group per element, in key order
SELECT ks_check('SELECT id FROM %1$s WHERE user_id IN (4, 1, 3) AND ts BETWEEN 2500 AND 2600 ORDER BY user_id, ts');
SELECT ks_check('SELECT id FROM %1$s WHERE user_id IN (4, 1, 3) AND ts > 6500 AND ts <> 7000 ORDER BY user_id DESC, ts DESC');
SELECT ks_check('SELECT id FROM %1$s WHERE user_id = 2 AND ts = ANY (''{3002, 500, 10, 3002, 7000}'') ORDER BY ts');
SELECT ks_check('SELECT id FROM %1$s WHERE user_id = ANY (''{2, 3, NULL}'') AND ts = ANY (''{3003, 3002, 6}'') ORDER BY user_id, ts');
SELECT ks_check('SELECT id FROM %1$s WHERE user_id = ANY (''{}'')');
-- parameters and a nested loop (runtime keys, rescans)
PREPARE q(int, int, int) AS SELECT id FROM ev WHERE user_id = $1 AND ts >= $2 AND ts < $3 ORDER BY ts;
EXECUTE q(2, 1000, 1010);
EXECUTE q(3, 7000, 7200);
SELECT ks_check('SELECT u, t.id FROM (VALUES (1), (2), (4)) v(u), LATERAL (SELECT id FROM %1$s x WHERE x.user_id = v.u AND x.ts > 5000 ORDER BY ts LIMIT 3) t ORDER BY u, t.id');

-- deleted and updated cold rows: tombstone hints in the key index
DELETE FROM ev WHERE user_id = 3 AND ts BETWEEN 2000 AND 2100;
DELETE FROM hp WHERE user_id = 3 AND ts BETWEEN 2000 AND 2100;
UPDATE ev SET kind = 99, note = 'updated' WHERE user_id = 3 AND ts BETWEEN 2200 AND 2300;
UPDATE hp SET kind = 99, note = 'updated' WHERE user_id = 3 AND ts BETWEEN 2200 AND 2300;
DELETE FROM ev WHERE user_id = 1 AND ts = 7000 AND id = 7002;
DELETE FROM hp WHERE user_id = 1 AND ts = 7000 AND id = 7002;
SELECT ks_check('SELECT id, kind, note FROM %1$s WHERE user_id = 3 AND ts BETWEEN 1900 AND 2400 ORDER BY ts');
SELECT ks_check('SELECT id, kind FROM %1$s WHERE user_id = 3 AND ts BETWEEN 1900 AND 2400 ORDER BY ts DESC');
SELECT ks_check('SELECT id FROM %1$s WHERE user_id = 1 AND ts = 7000 ORDER BY id');
-- the updated rows' new versions are fresh: the scan merges both tiers
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
  SELECT id FROM ev WHERE user_id = 3 AND ts BETWEEN 2190 AND 2210 ORDER BY ts;
-- own deletes are seen at once; a rolled back delete leaves nothing hidden
BEGIN;
DELETE FROM ev WHERE user_id = 4 AND ts BETWEEN 4000 AND 4040;
SELECT count(*) FROM ev WHERE user_id = 4 AND ts BETWEEN 3990 AND 4050;
ROLLBACK;
SELECT count(*) FROM ev WHERE user_id = 4 AND ts BETWEEN 3990 AND 4050;
-- UPDATE, DELETE and row locks through the keyscan on cold rows
EXPLAIN (COSTS OFF) UPDATE ev SET kind = 5 WHERE user_id = 4 AND ts BETWEEN 4400 AND 4420;
UPDATE ev SET kind = 5 WHERE user_id = 4 AND ts BETWEEN 4400 AND 4420;
UPDATE hp SET kind = 5 WHERE user_id = 4 AND ts BETWEEN 4400 AND 4420;
DELETE FROM ev WHERE user_id = 4 AND ts BETWEEN 4500 AND 4510 RETURNING id;
DELETE FROM hp WHERE user_id = 4 AND ts BETWEEN 4500 AND 4510;
SELECT id, kind FROM ev WHERE user_id = 4 AND ts BETWEEN 4396 AND 4404 ORDER BY ts FOR UPDATE;
SELECT ks_check('SELECT id, kind FROM %1$s WHERE user_id = 4 AND ts BETWEEN 4300 AND 4600 ORDER BY ts');

-- a table without a sort key: every run of a partition has the same key
CREATE TABLE nk (id int, g int, v text) USING widecol WITH (partition_key = 'g', autovacuum_enabled = false);
CREATE TABLE nh (id int, g int, v text) WITH (autovacuum_enabled = false);
INSERT INTO nk SELECT i, i % 3, 'v' || i FROM generate_series(1, 1500) i;
SELECT moved_rows FROM widecol.compact('nk');
INSERT INTO nk SELECT i, i % 3, 'v' || i FROM generate_series(1501, 2500) i;
SELECT moved_rows FROM widecol.compact('nk');
INSERT INTO nk SELECT i, i % 3, 'fresh' FROM generate_series(2501, 2600) i;
DELETE FROM nk WHERE id BETWEEN 100 AND 130;
INSERT INTO nh SELECT * FROM nk;
SELECT ks_check('SELECT id FROM %1$s WHERE g = 1 ORDER BY g, id', 'nk', 'nh');
SELECT ks_check('SELECT count(*), sum(id) FROM (SELECT id FROM %1$s WHERE g = 2 ORDER BY g DESC) s', 'nk', 'nh');
SELECT ks_check('SELECT count(*), sum(id) FROM (SELECT id FROM %1$s WHERE g IN (0, 2) ORDER BY g) s', 'nk', 'nh');

-- composite keys: the first sort key column bounds the scan, the second
-- is checked per row
CREATE TABLE ck (a int, b text, c int, d int, v int)
  USING widecol WITH (partition_key = 'a, b', sort_key = 'c, d', autovacuum_enabled = false);
CREATE TABLE ch (a int, b text, c int, d int, v int) WITH (autovacuum_enabled = false);
INSERT INTO ck SELECT a, b, c, d, a * 100000 + c * 100 + d
  FROM generate_series(1, 2) a, unnest('{x,y}'::text[]) b, generate_series(1, 10) c, generate_series(1, 30) d;
SELECT moved_rows FROM widecol.compact('ck');
INSERT INTO ck SELECT a, b, c, d, a * 100000 + c * 100 + d
  FROM generate_series(1, 2) a, unnest('{x,y}'::text[]) b, generate_series(11, 20) c, generate_series(1, 30) d;
SELECT moved_rows FROM widecol.compact('ck');
INSERT INTO ch SELECT * FROM ck;
SELECT ks_check('SELECT v FROM %1$s WHERE a = 1 AND b = ''x'' AND c = 5 AND d > 10 ORDER BY c, d', 'ck', 'ch');
SELECT ks_check('SELECT v FROM %1$s WHERE a = 1 AND b = ''y'' AND c >= 9 AND c <= 12 ORDER BY c DESC, d DESC', 'ck', 'ch');
SELECT ks_check('SELECT v FROM %1$s WHERE a = 2 AND b = ''x'' AND c > 7 AND d = 3 ORDER BY c, d', 'ck', 'ch');
SELECT ks_check('SELECT v FROM %1$s WHERE a = 2 AND b = ''x'' AND (c, d) > (10, 28) ORDER BY c, d LIMIT 5', 'ck', 'ch');
SELECT ks_check('SELECT v FROM %1$s WHERE a = 2 AND b IN (''x'', ''y'') AND c = ANY (''{3, 11}'') ORDER BY b, c, d', 'ck', 'ch');

-- REINDEX, REINDEX CONCURRENTLY and VACUUM FULL rebuild run entries and hints
REINDEX INDEX ev_wckey;
SELECT ks_check('SELECT id, kind FROM %1$s WHERE user_id = 3 AND ts BETWEEN 1900 AND 2400 ORDER BY ts');
SELECT ks_check('SELECT id FROM %1$s WHERE user_id = 1 AND ts >= 6990 ORDER BY ts DESC, id');
REINDEX INDEX CONCURRENTLY ev_wckey;
SELECT ks_check('SELECT id, kind FROM %1$s WHERE user_id = 3 AND ts BETWEEN 1900 AND 2400 ORDER BY ts DESC');
SELECT ks_check('SELECT id FROM %1$s WHERE user_id = 2 AND ts >= 3333 ORDER BY ts');
VACUUM FULL ev;
SELECT ks_check('SELECT id, kind FROM %1$s WHERE user_id = 3 AND ts BETWEEN 1900 AND 2400 ORDER BY ts');
SELECT ks_check('SELECT id FROM %1$s WHERE user_id IN (1, 2, 3, 4) ORDER BY user_id, ts, id');
REINDEX TABLE nk;
SELECT ks_check('SELECT id FROM %1$s WHERE g = 1 ORDER BY g, id', 'nk', 'nh');
-- plain VACUUM keeps the hints of deleted rows (their blocks live)
VACUUM ev;
SELECT ks_check('SELECT id, kind FROM %1$s WHERE user_id = 3 AND ts BETWEEN 1900 AND 2400 ORDER BY ts');
SELECT "check", ok FROM widecol.verify('ev') ORDER BY "check";
SELECT "check", ok FROM widecol.verify('nk') ORDER BY "check";
SELECT "check", ok FROM widecol.verify('ck') ORDER BY "check";
RESET enable_seqscan;

DROP TABLE ev, hp, nk, nh, ck, ch;
DROP FUNCTION ks_check(text, text, text);
DROP FUNCTION ks_rows(text, text);
