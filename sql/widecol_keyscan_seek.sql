-- widecol keyscan: a run that straddles the leading bound is entered by a
-- binary search for its first row at the bound (forward: > and >=,
-- backward: < and <=; NULL sort keys sort last), instead of row by row;
-- and the key comparators the keyscan keeps across statements follow a
-- change of the table's keys.  Every answer is compared with a heap twin.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS widecol;
RESET client_min_messages;
SET widecol.enable_keyscan = on;

-- sk_check(query): row count if widecol (%1$s = sk) and heap (%1$s = skh)
-- give the same rows in the same order, else both answers
CREATE FUNCTION sk_check(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  a text;
  b text;
BEGIN
  EXECUTE format('SELECT string_agg(s::text, '' '') FROM (%s) s', format(q, 'sk')) INTO a;
  EXECUTE format('SELECT string_agg(s::text, '' '') FROM (%s) s', format(q, 'skh')) INTO b;
  IF a IS NOT DISTINCT FROM b THEN
    RETURN 'same, ' || coalesce(array_length(string_to_array(a, ' '), 1), 0) || ' rows';
  END IF;
  RETURN 'DIFFERENT: ' || coalesce(a, '') || ' <> ' || coalesce(b, '');
END $$;

-- two users with long runs (one block holds about 290 rows), even ts only,
-- some NULL ts at the end of each partition, all cold.  A backward scan
-- must also find a run whose last rows have a NULL sort key and which
-- straddles its upper bound (the probe looks among the NULL entries)
CREATE TABLE sk (u int, ts int, v text)
  USING widecol WITH (partition_key = 'u', sort_key = 'ts', autovacuum_enabled = false);
CREATE TABLE skh (u int, ts int, v text);
INSERT INTO sk SELECT u, CASE WHEN g > 590 THEN NULL ELSE 2 * g END, 'r' || g
  FROM generate_series(1, 2) u, generate_series(1, 600) g;
INSERT INTO skh SELECT * FROM sk;
SELECT moved_rows FROM widecol.compact('sk');
SELECT count(*) AS delta_rows FROM sk WHERE (ctid::text::point)[1] <= 291;

EXPLAIN (COSTS OFF) SELECT * FROM sk WHERE u = 1 AND ts >= 300 AND ts < 310;

-- bounds inside a run, on a row and between rows, at both ends, outside
SELECT b, sk_check(format('SELECT u, ts, v FROM %%1$s WHERE u = 1 AND %s', b))
  FROM unnest(ARRAY['ts >= 300 AND ts < 310', 'ts > 300 AND ts <= 310',
                    'ts >= 301 AND ts < 311', 'ts > 301', 'ts >= 2', 'ts > 0',
                    'ts >= 1180', 'ts > 1180', 'ts > 5000', 'ts BETWEEN 555 AND 601',
                    'ts >= -10 AND ts < 3']) b ORDER BY b;
-- backward: the leading bound is the upper one
EXPLAIN (COSTS OFF) SELECT * FROM sk WHERE u = 2 AND ts < 5000 ORDER BY ts DESC;
SELECT b, sk_check(format('SELECT u, ts, v FROM %%1$s WHERE u = 2 AND %s ORDER BY ts DESC', b))
  FROM unnest(ARRAY['ts < 300', 'ts <= 300', 'ts < 301 AND ts > 280', 'ts <= 2',
                    'ts < 2', 'ts < 5000', 'ts <= 1180', 'ts BETWEEN 555 AND 601']) b ORDER BY b;
SELECT sk_check('SELECT u, ts, v FROM %1$s WHERE u = 2 AND ts < 400 ORDER BY ts DESC LIMIT 7');
SELECT sk_check('SELECT u, ts, v FROM %1$s WHERE u = 1 AND ts > 400 ORDER BY ts LIMIT 7');
-- NULL sort keys: never meet a bound, come last forward and first backward
SELECT sk_check('SELECT u, ts, v FROM %1$s WHERE u = 1 ORDER BY ts NULLS LAST');
-- (NULLs tie: compare the keys only)
SELECT sk_check('SELECT u, ts FROM %1$s WHERE u = 1 ORDER BY ts DESC NULLS FIRST LIMIT 15');
-- a bound given as a parameter, in a generic plan, one partition after another
PREPARE q(int, int) AS SELECT count(*), min(ts), max(ts) FROM sk WHERE u = $1 AND ts >= $2;
SET plan_cache_mode = force_generic_plan;
EXECUTE q(1, 1001);
EXECUTE q(2, 1);
EXECUTE q(1, 1179);
RESET plan_cache_mode;
-- a run split over blocks: the bound in the second block
SELECT sk_check('SELECT u, ts, v FROM %1$s WHERE u = 1 AND ts >= 700 AND ts < 712');
-- LATERAL: the bound comes from the outer row, one probe per outer row
SELECT sk_check('SELECT o.b, x.ts FROM (VALUES (100), (583), (1179), (2000)) o(b),
  LATERAL (SELECT ts FROM %1$s WHERE u = 2 AND ts > o.b ORDER BY ts LIMIT 2) x');

-- the straddling run is found by the group's own scan, which reads ahead
-- to the first run entry; past WC_KS_AHEAD (16) fresh rows before it the
-- probe finds it instead: 40 fresh rows between the bound and the
-- straddling run's last row, both directions, and a range that one run
-- covers on both sides
INSERT INTO sk SELECT 1, g, 'f' || g FROM generate_series(301, 379, 2) g;
INSERT INTO skh SELECT 1, g, 'f' || g FROM generate_series(301, 379, 2) g;
SELECT b, sk_check(format('SELECT u, ts, v FROM %%1$s WHERE u = 1 AND %s', b))
  FROM unnest(ARRAY['ts >= 300 ORDER BY ts', 'ts >= 300 AND ts < 310 ORDER BY ts',
                    'ts > 377 AND ts < 384 ORDER BY ts', 'ts >= 340 ORDER BY ts LIMIT 3',
                    'ts >= 100 AND ts < 104 ORDER BY ts',
                    'ts <= 380 ORDER BY ts DESC', 'ts < 360 AND ts > 290 ORDER BY ts DESC',
                    'ts < 200 AND ts >= 196 ORDER BY ts DESC']) b ORDER BY b;
-- a NULL bound in a generic plan meets no row (text keys: a straddling
-- run once compared its rows with the NULL)
CREATE TABLE skt (u int, k text, v int)
  USING widecol WITH (partition_key = 'u', sort_key = 'k', autovacuum_enabled = false);
INSERT INTO skt SELECT 1, 'k' || lpad(g::text, 5, '0'), g FROM generate_series(1, 900) g;
SELECT moved_rows FROM widecol.compact('skt');
PREPARE qt(text, text) AS SELECT count(*) FROM skt WHERE u = 1 AND k >= $1 AND k < $2;
PREPARE qtd(text, text) AS SELECT k FROM skt WHERE u = 1 AND k > $1 AND k <= $2 ORDER BY k DESC;
SET plan_cache_mode = force_generic_plan;
EXECUTE qt('k00100', NULL);
EXECUTE qt(NULL, 'k00110');
EXECUTE qt('k00100', 'k00110');
EXECUTE qtd('k00100', NULL);
EXECUTE qtd(NULL, 'k00110');
EXECUTE qtd('k00100', 'k00103');
RESET plan_cache_mode;
DROP TABLE skt;

-- the keys of an empty table change between two keyscans of one session
CREATE TABLE kc (a int, b int, c int)
  USING widecol WITH (partition_key = 'a', sort_key = 'b', autovacuum_enabled = false);
SELECT * FROM kc WHERE a = 1 ORDER BY b LIMIT 3;
ALTER TABLE kc SET (sort_key = 'c');
INSERT INTO kc SELECT 1, g, 100 - g FROM generate_series(1, 20) g;
SELECT moved_rows FROM widecol.compact('kc');
EXPLAIN (COSTS OFF) SELECT * FROM kc WHERE a = 1 ORDER BY c LIMIT 3;
SELECT * FROM kc WHERE a = 1 ORDER BY c LIMIT 3;
SELECT * FROM kc WHERE a = 1 AND c >= 95 ORDER BY c;

DROP TABLE sk, skh, kc;
DROP FUNCTION sk_check(text);
