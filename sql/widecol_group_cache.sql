-- widecol's group cache (widecol.group_cache_size): a keyscan or a fetch by
-- TID that rebuilds a row group keeps its rows in shared memory, and the
-- next reader copies them instead of decompressing the group.  Answers
-- must not change: visibility comes from the block tuple and tombstones,
-- which a cached group never carries.  Every answer is compared with a
-- heap twin.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS widecol;
RESET client_min_messages;
SET widecol.enable_keyscan = on;

-- gc_check(query): row count if widecol (%1$s) and heap (%2$s) give the
-- same rows in the same order, else both answers
CREATE FUNCTION gc_check(q text, w text, h text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  a text;
  b text;
BEGIN
  EXECUTE format('SELECT string_agg(s::text, '' '') FROM (%s) s', format(q, w)) INTO a;
  EXECUTE format('SELECT string_agg(s::text, '' '') FROM (%s) s', format(q, h)) INTO b;
  IF a IS NOT DISTINCT FROM b THEN
    RETURN 'same, ' || coalesce(array_length(string_to_array(a, ' '), 1), 0) || ' rows';
  END IF;
  RETURN 'DIFFERENT: ' || coalesce(a, '') || ' <> ' || coalesce(b, '');
END $$;

-- gc_explain(query): the keyscan's group counters (VERBOSE shows the cache's)
CREATE FUNCTION gc_explain(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
    IF line ~ 'Cold Rows|Row Groups' THEN
      RETURN NEXT btrim(line);
    END IF;
  END LOOP;
END $$;

-- the cache is there, with the size test/regress.conf gives it
SELECT size_bytes = 64 * 1024 * 1024 AS configured, used_bytes <= size_bytes AS fits
  FROM widecol.group_cache_stats();

-- three users, 400 rows each: blocks of about 200 rows, groups of about 70
CREATE TABLE gc (u int, ts int, v text)
  USING widecol WITH (partition_key = 'u', sort_key = 'ts');
CREATE TABLE gch (u int, ts int, v text);
INSERT INTO gc SELECT u, g, repeat(md5((u * 1000 + g)::text), 3)
  FROM generate_series(1, 3) u, generate_series(1, 400) g;
INSERT INTO gch SELECT * FROM gc;
SELECT moved_rows FROM widecol.compact('gc');

-- the first read of a group decompresses it, the second copies it
CREATE TEMP TABLE gc_before AS SELECT hits, inserts FROM widecol.group_cache_stats();
SELECT gc_explain('SELECT * FROM gc WHERE u = 2 AND ts BETWEEN 100 AND 103');
SELECT gc_explain('SELECT * FROM gc WHERE u = 2 AND ts BETWEEN 100 AND 103');
SELECT s.hits - b.hits AS hits, s.inserts - b.inserts AS inserts
  FROM widecol.group_cache_stats() s, gc_before b;
-- without VERBOSE the number, which depends on earlier reads, is left out
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
  SELECT * FROM gc WHERE u = 2 AND ts BETWEEN 100 AND 103;

-- answers from cached groups, twice over: ranges both ways, latest rows
SELECT gc_check('SELECT * FROM %s WHERE u = ' || u || ' AND ts >= ' || lo ||
                ' AND ts < ' || lo + 7 || ' ORDER BY ts ' || d, 'gc', 'gch') AS answer,
       count(*)
  FROM generate_series(1, 3) u, generate_series(1, 400, 37) lo,
       (VALUES ('ASC'), ('DESC')) dir(d), generate_series(1, 2) rep
  GROUP BY 1 ORDER BY 1;
SELECT gc_check('SELECT * FROM %s WHERE u = 3 ORDER BY ts DESC LIMIT 50', 'gc', 'gch');

-- a group that holds the runs of many partitions: a reader copies only the
-- rows of the run it reads, so two partitions of one group are two hits of
-- the cache but one decoded group
CREATE TABLE gcm (u int, ts int, v text)
  USING widecol WITH (partition_key = 'u', sort_key = 'ts');
CREATE TABLE gcmh (u int, ts int, v text);
INSERT INTO gcm SELECT u, g, md5((u * 10 + g)::text)
  FROM generate_series(1, 40) u, generate_series(1, 3) g;
INSERT INTO gcmh SELECT * FROM gcm;
SELECT moved_rows FROM widecol.compact('gcm');
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT gc_explain('SELECT * FROM gcm WHERE u = 7');
CREATE TEMP TABLE gcm_before AS SELECT hits FROM widecol.group_cache_stats();
SELECT gc_explain('SELECT * FROM gcm WHERE u IN (7, 8) ORDER BY u, ts');
SELECT s.hits - b.hits AS hits FROM widecol.group_cache_stats() s, gcm_before b;
SELECT gc_check('SELECT * FROM %s WHERE u IN (6, 7, 8, 9) ORDER BY u, ts', 'gcm', 'gcmh');
SELECT gc_check('SELECT * FROM %s WHERE u = 8 ORDER BY ts DESC', 'gcm', 'gcmh');
SELECT gc_check('SELECT * FROM %s WHERE u BETWEEN 1 AND 40 AND ts = 2 ORDER BY u', 'gcm', 'gcmh');
RESET enable_seqscan;
RESET enable_bitmapscan;
DROP TABLE gcm, gcmh;

-- rows deleted or updated after their group was cached: the tombstones
-- decide, not the cached copy
DELETE FROM gc WHERE u = 2 AND ts IN (101, 102);
DELETE FROM gch WHERE u = 2 AND ts IN (101, 102);
UPDATE gc SET v = 'changed' WHERE u = 2 AND ts = 103;
UPDATE gch SET v = 'changed' WHERE u = 2 AND ts = 103;
SELECT * FROM gc WHERE u = 2 AND ts BETWEEN 100 AND 104 ORDER BY ts;
SELECT gc_check('SELECT * FROM %s WHERE u = 2 AND ts BETWEEN 90 AND 110 ORDER BY ts', 'gc', 'gch');

-- a transaction's own uncommitted delete of a cached row, and its rollback
BEGIN;
DELETE FROM gc WHERE u = 1 AND ts = 200;
SELECT count(*) FROM gc WHERE u = 1 AND ts BETWEEN 199 AND 201;
ROLLBACK;
SELECT count(*) FROM gc WHERE u = 1 AND ts BETWEEN 199 AND 201;

-- fetches by TID through a secondary index share the cache
CREATE INDEX gc_v ON gc (v);
CREATE INDEX gch_v ON gch (v);
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT gc_check('SELECT u, ts FROM %s WHERE v = repeat(md5(''3150''), 3)', 'gc', 'gch');
SELECT gc_check('SELECT u, ts FROM %s WHERE v = repeat(md5(''3150''), 3)', 'gc', 'gch');
RESET enable_seqscan;
RESET enable_bitmapscan;

-- columns added and dropped without a rewrite after groups were cached:
-- the cached rows are rebuilt as before and read with the new descriptor
SELECT gc_check('SELECT * FROM %s WHERE u = 3 AND ts BETWEEN 300 AND 320 ORDER BY ts', 'gc', 'gch');
ALTER TABLE gc ADD COLUMN extra int;
ALTER TABLE gch ADD COLUMN extra int;
SELECT gc_check('SELECT * FROM %s WHERE u = 3 AND ts BETWEEN 300 AND 320 ORDER BY ts', 'gc', 'gch');
ALTER TABLE gc DROP COLUMN v;
ALTER TABLE gch DROP COLUMN v;
SELECT gc_check('SELECT * FROM %s WHERE u = 3 AND ts BETWEEN 300 AND 320 ORDER BY ts', 'gc', 'gch');
SELECT * FROM gc WHERE u = 3 AND ts BETWEEN 300 AND 302 ORDER BY ts;
ALTER TABLE gc ADD COLUMN v text;
ALTER TABLE gch ADD COLUMN v text;

-- other rows after TRUNCATE (new storage and new block ids), and after a
-- rewrite (new storage): other groups
TRUNCATE gc;
TRUNCATE gch;
INSERT INTO gc (u, ts, v) SELECT u, g, 'second:' || (u * 1000 + g)
  FROM generate_series(1, 3) u, generate_series(1, 400) g;
INSERT INTO gch SELECT * FROM gc;
SELECT moved_rows FROM widecol.compact('gc');
SELECT gc_check('SELECT * FROM %s WHERE u = 2 AND ts BETWEEN 100 AND 103 ORDER BY ts', 'gc', 'gch');
SELECT gc_check('SELECT * FROM %s WHERE u = 2 AND ts BETWEEN 100 AND 103 ORDER BY ts', 'gc', 'gch');
VACUUM FULL gc;
SELECT gc_check('SELECT * FROM %s WHERE u = 1 ORDER BY ts DESC LIMIT 30', 'gc', 'gch');
ALTER TABLE gc ALTER COLUMN v TYPE bytea USING convert_to(v, 'UTF8');
ALTER TABLE gch ALTER COLUMN v TYPE bytea USING convert_to(v, 'UTF8');
SELECT gc_check('SELECT * FROM %s WHERE u = 1 ORDER BY ts DESC LIMIT 30', 'gc', 'gch');
SELECT gc_check('SELECT * FROM %s WHERE u = 1 ORDER BY ts DESC LIMIT 30', 'gc', 'gch');

SELECT "check", ok FROM widecol.verify('gc') ORDER BY 1;
DROP TABLE gc, gch;
DROP FUNCTION gc_check(text, text, text);
DROP FUNCTION gc_explain(text);
