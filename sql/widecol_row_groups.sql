-- widecol row groups (block format 4): a block's rows are cut into groups
-- of about 8 kB, each its own zstd frame, and a partition's rows into one
-- run per group, so a keyscan decodes only the groups its rows are in.
-- Runs of one partition may share a key (equal sort keys, or no sort key)
-- across a group cut; every one of them is read once.  Every answer is
-- compared with a heap twin.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS widecol;
RESET client_min_messages;
SET widecol.enable_keyscan = on;

-- rg_check(query): row count if widecol (%1$s = the widecol table) and heap
-- (%2$s) give the same rows in the same order, else both answers
CREATE FUNCTION rg_check(q text, w text, h text) RETURNS text LANGUAGE plpgsql AS $$
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

-- rg_explain(query): the keyscan's counters of an EXPLAIN ANALYZE
CREATE FUNCTION rg_explain(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
    IF line ~ 'Cold Rows|Blocks Read|Row Groups Decoded' THEN
      RETURN NEXT btrim(line);
    END IF;
  END LOOP;
END $$;

-- two users, 600 rows each of about 120 bytes: blocks of about 200 rows
-- in groups of about 70 (8 kB)
CREATE TABLE rg (u int, ts int, v text)
  USING widecol WITH (partition_key = 'u', sort_key = 'ts');
CREATE TABLE rgh (u int, ts int, v text);
INSERT INTO rg SELECT u, g, repeat(md5((u * 1000 + g)::text), 3)
  FROM generate_series(1, 2) u, generate_series(1, 600) g;
INSERT INTO rgh SELECT * FROM rg;
SELECT moved_rows FROM widecol.compact('rg');

-- the runs: a partition has one per group (two entries each)
SELECT blocks FROM widecol.tables WHERE relid = 'rg'::regclass;
SELECT "check", ok, detail FROM widecol.verify('rg') ORDER BY 1;

-- a narrow range decodes one group of one block; the whole partition all
SELECT rg_explain('SELECT * FROM rg WHERE u = 1 AND ts BETWEEN 100 AND 103');
SELECT rg_explain('SELECT * FROM rg WHERE u = 2 AND ts >= 400 AND ts < 405 ORDER BY ts DESC');
SELECT rg_explain('SELECT * FROM rg WHERE u = 1 ORDER BY ts DESC LIMIT 20');
SELECT rg_explain('SELECT count(*) FROM rg WHERE u = 2');

-- answers at every cut: ranges that start, end or cross near each group edge
SELECT rg_check('SELECT * FROM %s WHERE u = 1 AND ts >= ' || lo || ' AND ts < ' || lo + 3 || ' ORDER BY ts', 'rg', 'rgh') AS fwd,
       rg_check('SELECT * FROM %s WHERE u = 2 AND ts > ' || lo || ' AND ts <= ' || lo + 40 || ' ORDER BY ts DESC', 'rg', 'rgh') AS bwd,
       count(*) AS ranges
  FROM generate_series(1, 600) lo GROUP BY 1, 2 ORDER BY 1, 2;
SELECT rg_check('SELECT * FROM %s WHERE u = 1 ORDER BY ts DESC LIMIT 50', 'rg', 'rgh');
SELECT rg_check('SELECT * FROM %s WHERE u = 2 ORDER BY ts LIMIT 500', 'rg', 'rgh');
SELECT rg_check('SELECT u, count(*), sum(ts) FROM %s WHERE u IN (1, 2) GROUP BY u ORDER BY u', 'rg', 'rgh');

-- equal sort keys across group cuts: ts takes 3 values per user, so runs
-- of one partition open and close at the same key
CREATE TABLE rq (u int, ts int, v text)
  USING widecol WITH (partition_key = 'u', sort_key = 'ts');
CREATE TABLE rqh (u int, ts int, v text);
INSERT INTO rq SELECT u, g / 200, repeat(md5((u * 1000 + g)::text), 3)
  FROM generate_series(1, 2) u, generate_series(1, 600) g;
INSERT INTO rqh SELECT * FROM rq;
SELECT moved_rows FROM widecol.compact('rq');
SELECT "check", ok, regexp_replace(detail, '[0-9]+', 'N', 'g') AS detail
  FROM widecol.verify('rq') ORDER BY 1;
SELECT rg_check('SELECT u, ts, count(*), md5(string_agg(v, '','' ORDER BY v)) FROM (SELECT * FROM %s WHERE u = 1 AND ts = 1) s GROUP BY u, ts', 'rq', 'rqh');
SELECT rg_check('SELECT u, ts, count(*), md5(string_agg(v, '','' ORDER BY v)) FROM (SELECT * FROM %s WHERE u = 2 AND ts >= 1 ORDER BY ts DESC) s GROUP BY u, ts ORDER BY ts', 'rq', 'rqh');
SELECT rg_check('SELECT count(*) FROM (SELECT * FROM %s WHERE u = 1 ORDER BY ts DESC LIMIT 450) s', 'rq', 'rqh');

-- no sort key: every run of a partition has the same key
CREATE TABLE rn (u int, v text) USING widecol WITH (partition_key = 'u');
CREATE TABLE rnh (u int, v text);
INSERT INTO rn SELECT u, repeat(md5((u * 1000 + g)::text), 3)
  FROM generate_series(1, 3) u, generate_series(1, 500) g;
INSERT INTO rnh SELECT * FROM rn;
SELECT moved_rows FROM widecol.compact('rn');
SELECT rg_check('SELECT u, count(*), md5(string_agg(v, '','' ORDER BY v)) FROM (SELECT * FROM %s WHERE u = ANY (ARRAY[1, 2, 3])) s GROUP BY u ORDER BY u', 'rn', 'rnh');
SELECT rg_explain('SELECT * FROM rn WHERE u = 2');

-- many small partitions: a block has more runs than an entry's run number
-- can name (63), so after them runs are whole partitions and no two key
-- index entries repeat a key and a TID (btree's invariant, amcheck)
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS amcheck;
CREATE EXTENSION IF NOT EXISTS pageinspect;
RESET client_min_messages;
-- rg_dup_entries(index): key index entries (key, TID) that occur twice
CREATE FUNCTION rg_dup_entries(idx regclass) RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM (
    SELECT i.data, t FROM generate_series(1, pg_relation_size(idx) / 8192 - 1) p,
           LATERAL bt_page_stats(idx::text, p::int) s,
           LATERAL bt_page_items(idx::text, p::int) i,
           LATERAL unnest(coalesce(i.tids, ARRAY[i.htid])) t
     WHERE s.type = 'l' AND (s.btpo_next = 0 OR i.itemoffset > 1)
     GROUP BY 1, 2 HAVING count(*) > 1) d
$$;
CREATE TABLE rm (u int, v text) USING widecol WITH (partition_key = 'u');
CREATE TABLE rmh (u int, v text);
INSERT INTO rm SELECT g / 2, lpad((g % 1000)::text, 40, 'x') FROM generate_series(0, 2999) g;
INSERT INTO rmh SELECT * FROM rm;
SELECT moved_rows FROM widecol.compact('rm');
SELECT blocks, (SELECT detail FROM widecol.verify('rm') WHERE "check" = 'runs') AS runs
  FROM widecol.tables WHERE relid = 'rm'::regclass;
SELECT rg_dup_entries('rm_wckey') AS duplicate_entries;
SELECT bt_index_check('rm_wckey');
SELECT "check", ok FROM widecol.verify('rm') ORDER BY 1;
SELECT rg_check('SELECT u, count(*), md5(string_agg(v, '','' ORDER BY v)) FROM (SELECT * FROM %s WHERE u = ANY (ARRAY(SELECT generate_series(0, 1000, 7)))) s GROUP BY u ORDER BY u', 'rm', 'rmh');
-- a partition past the 63 named runs is found by a binary search among
-- them, decoding its own group and little else
SELECT u, (SELECT string_agg(l, ', ') FROM rg_explain('SELECT * FROM rm WHERE u = ' || u) l) AS scan
  FROM unnest(ARRAY[100, 120, 250, 1000]) u ORDER BY u;
REINDEX TABLE rm;
SELECT rg_dup_entries('rm_wckey') AS duplicate_entries;
SELECT bt_index_check('rm_wckey');
SELECT "check", ok FROM widecol.verify('rm') ORDER BY 1;
SELECT rg_check('SELECT u, count(*), md5(string_agg(v, '','' ORDER BY v)) FROM (SELECT * FROM %s WHERE u = ANY (ARRAY(SELECT generate_series(1, 1000, 3)))) s GROUP BY u ORDER BY u', 'rm', 'rmh');

-- without compression the groups are stored raw
CREATE TABLE rr (u int, ts int, v text)
  USING widecol WITH (partition_key = 'u', sort_key = 'ts', compression = 'none');
INSERT INTO rr SELECT * FROM rg;
SELECT moved_rows FROM widecol.compact('rr');
SELECT rg_check('SELECT * FROM %s WHERE u = 1 AND ts BETWEEN 250 AND 260 ORDER BY ts DESC', 'rr', 'rgh');
SELECT rg_explain('SELECT * FROM rr WHERE u = 1 AND ts BETWEEN 250 AND 260');
SELECT "check", ok FROM widecol.verify('rr') ORDER BY 1;

DROP TABLE rg, rgh, rq, rqh, rn, rnh, rm, rmh, rr;
DROP FUNCTION rg_check(text, text, text), rg_explain(text), rg_dup_entries(regclass);
