-- widecol: plain VACUUM runs the mover before core's vacuum (DESIGN.md 7.5).
-- The moved delta copies are dead when core's vacuum runs, so VACUUM leaves
-- the delta empty.  The mover's report is INFO under VACUUM VERBOSE and
-- DEBUG1 otherwise; core's VERBOSE lines carry timings, so the lines are
-- checked at DEBUG1 (their content does not depend on the level).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS widecol;
RESET client_min_messages;

CREATE TABLE vm (k int, s int, v text) USING widecol
  WITH (partition_key = 'k', sort_key = 's', compression = 'none', autovacuum_enabled = false);
CREATE TABLE vh (k int, s int, v text) WITH (autovacuum_enabled = false);
CREATE INDEX vm_v ON vm (v);
CREATE INDEX vh_v ON vh (v);
INSERT INTO vm SELECT g % 10, g, 'value ' || g FROM generate_series(1, 2000) g;
INSERT INTO vh SELECT * FROM vm;

\set same 'SELECT (SELECT count(*) FROM (SELECT * FROM vm EXCEPT ALL SELECT * FROM vh) a) AS only_widecol, (SELECT count(*) FROM (SELECT * FROM vh EXCEPT ALL SELECT * FROM vm) b) AS only_heap, (SELECT count(*) FROM vm) AS widecol_rows'
\set tiers 'SELECT count(*) FILTER (WHERE (ctid::text::point)[1] > 291) AS cold, count(*) FILTER (WHERE (ctid::text::point)[1] <= 291) AS delta FROM vm'
\set stats 'SELECT relid, stored_rows, blocks, raw_bytes > 0 AS has_raw FROM widecol.tables WHERE relid::text LIKE ''v%'' ORDER BY relid::text'

-- before: everything in the delta
:tiers;
SELECT pg_relation_size('vm') > 0 AS delta_pages;

-- VACUUM moves every committed row, then core's vacuum removes the delta
-- copies and truncates the delta to nothing
SET client_min_messages = debug1;
VACUUM vm;
RESET client_min_messages;
:tiers;
:stats;
SELECT pg_relation_size('vm') AS delta_bytes;
:same;
SELECT "check", ok FROM widecol.verify('vm') ORDER BY 1;

-- the same rows through the index, a key range and aggregates
SET enable_seqscan = off;
SELECT k, s, v FROM vm WHERE v = 'value 777';
SELECT k, s, v FROM vh WHERE v = 'value 777';
RESET enable_seqscan;
SELECT k, count(*), sum(s), min(v) FROM vm WHERE k < 3 GROUP BY k ORDER BY k;
SELECT k, count(*), sum(s), min(v) FROM vh WHERE k < 3 GROUP BY k ORDER BY k;

-- new rows sort after the cold ones and move; rows below a partition's
-- last cold key stay (and the report says why); nothing moves twice
INSERT INTO vm SELECT g % 10, g, 'value ' || g FROM generate_series(2001, 2100) g;
INSERT INTO vm VALUES (1, 0, 'early'), (2, -1, 'earlier');
INSERT INTO vh SELECT g % 10, g, 'value ' || g FROM generate_series(2001, 2100) g;
INSERT INTO vh VALUES (1, 0, 'early'), (2, -1, 'earlier');
SET client_min_messages = debug1;
VACUUM (ANALYZE) vm;
VACUUM (FREEZE, INDEX_CLEANUP off, TRUNCATE false, PARALLEL 0) vm;
RESET client_min_messages;
:tiers;
:same;
SELECT reltuples FROM pg_class WHERE oid = 'vm'::regclass;

-- several tables in one statement, a heap table among them, a table named
-- twice
CREATE TABLE vm_other (k int, s int) USING widecol
  WITH (partition_key = 'k', sort_key = 's', compression = 'none');
INSERT INTO vm SELECT 5, g, 'late ' || g FROM generate_series(3001, 3003) g;
INSERT INTO vh SELECT 5, g, 'late ' || g FROM generate_series(3001, 3003) g;
INSERT INTO vm_other SELECT g % 3, g FROM generate_series(1, 30) g;
SET client_min_messages = debug1;
VACUUM vm_other, vh, vm, vm_other;
RESET client_min_messages;
:stats;
:same;

-- a partitioned parent: its widecol partitions at every level move, a heap
-- partition is vacuumed as usual
CREATE TABLE vp (k int, s int, v text) PARTITION BY RANGE (k);
CREATE TABLE vp1 PARTITION OF vp FOR VALUES FROM (0) TO (10) USING widecol
  WITH (partition_key = 'k', sort_key = 's', compression = 'none');
CREATE TABLE vp2 PARTITION OF vp FOR VALUES FROM (10) TO (20) PARTITION BY RANGE (k);
CREATE TABLE vp21 PARTITION OF vp2 FOR VALUES FROM (10) TO (20) USING widecol
  WITH (partition_key = 'k', sort_key = 's', compression = 'none');
CREATE TABLE vp3 PARTITION OF vp FOR VALUES FROM (20) TO (30);
INSERT INTO vp SELECT g % 30, g, 'p' || g FROM generate_series(1, 300) g;
SET client_min_messages = debug1;
VACUUM vp;
RESET client_min_messages;
SELECT relid, stored_rows, blocks FROM widecol.tables
 WHERE relid::text LIKE 'vp%' ORDER BY relid::text;
SELECT count(*), sum(s), count(DISTINCT v) FROM vp;
SELECT tableoid::regclass, count(*),
       count(*) FILTER (WHERE (ctid::text::point)[1] > 291) AS cold
  FROM vp GROUP BY 1 ORDER BY 1;

-- a temporary widecol table moves like any other
CREATE TEMP TABLE vm_temp (k int, s int) USING widecol
  WITH (partition_key = 'k', sort_key = 's', compression = 'none');
INSERT INTO vm_temp SELECT g % 2, g FROM generate_series(1, 20) g;
VACUUM vm_temp;
SELECT count(*) FILTER (WHERE (ctid::text::point)[1] > 291) AS cold, count(*), sum(s) FROM vm_temp;
DROP TABLE vm_temp;

-- a user vacuums only what it owns: a named table it does not own is
-- skipped with core's WARNING and keeps its delta; with no table named,
-- only its own widecol tables move (core's warnings about every other
-- relation are not shown)
CREATE ROLE regress_vm_user;
CREATE TABLE vm_mine (k int, s int) USING widecol WITH (partition_key = 'k', sort_key = 's');
ALTER TABLE vm_mine OWNER TO regress_vm_user;
CREATE TABLE vm_theirs (k int, s int) USING widecol WITH (partition_key = 'k', sort_key = 's');
GRANT SELECT ON vm_theirs TO regress_vm_user;
INSERT INTO vm_mine SELECT g % 4, g FROM generate_series(1, 40) g;
INSERT INTO vm_theirs SELECT g % 4, g FROM generate_series(1, 40) g;
SET ROLE regress_vm_user;
VACUUM vm_theirs;
SELECT relid, stored_rows FROM widecol.tables WHERE relid::text LIKE 'vm\_%' ORDER BY relid::text;
INSERT INTO vm_mine SELECT g % 4, g FROM generate_series(41, 50) g;
SET client_min_messages = error;
VACUUM;
RESET client_min_messages;
SELECT relid, stored_rows FROM widecol.tables WHERE relid::text LIKE 'vm\_%' ORDER BY relid::text;
RESET ROLE;
-- the owner (or a superuser) moves it
VACUUM vm_theirs;
SELECT relid, stored_rows FROM widecol.tables WHERE relid::text LIKE 'vm\_%' ORDER BY relid::text;

-- a published table does not move (as the background mover skips it)
INSERT INTO vm_theirs VALUES (9, 9);
SET client_min_messages = error;
CREATE PUBLICATION vm_pub FOR TABLE vm_theirs;
SET client_min_messages = debug1;
VACUUM vm_theirs;
RESET client_min_messages;
DROP PUBLICATION vm_pub;
SELECT relid, stored_rows FROM widecol.tables WHERE relid::text = 'vm_theirs';

-- a move that fails is rolled back and reported as a WARNING; VACUUM goes
-- on with the other tables and with core's vacuum of the failing one
CREATE FUNCTION vm_check(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF current_setting('vm.fail', true) = 'on' THEN
    RAISE EXCEPTION 'vm_check refuses %', $1;
  END IF;
  RETURN $1;
END $$;
CREATE TABLE vm_fail (k int, s int) USING widecol WITH (partition_key = 'k', sort_key = 's');
CREATE INDEX vm_fail_check ON vm_fail (vm_check(s));
INSERT INTO vm_fail SELECT g % 2, g FROM generate_series(1, 10) g;
DELETE FROM vm_fail WHERE s = 10;
SELECT reltuples FROM pg_class WHERE oid = 'vm_fail'::regclass;
INSERT INTO vm_other VALUES (7, 7);
SET vm.fail = on;
VACUUM vm_fail, vm_other;
RESET vm.fail;
SELECT relid, stored_rows FROM widecol.tables
 WHERE relid::text IN ('vm_fail', 'vm_other') ORDER BY relid::text;
SELECT reltuples FROM pg_class WHERE oid = 'vm_fail'::regclass;
SELECT count(*), sum(s) FROM vm_fail;
VACUUM vm_fail;
SELECT relid, stored_rows FROM widecol.tables WHERE relid::text = 'vm_fail';

-- a query cancel (here a statement timeout) during a move is no WARNING:
-- VACUUM fails, nothing moved, and the session goes on
CREATE FUNCTION vm_slow(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF current_setting('vm.slow', true) = 'on' THEN
    PERFORM pg_sleep(1);
  END IF;
  RETURN $1;
END $$;
CREATE TABLE vm_slow_t (k int, s int) USING widecol WITH (partition_key = 'k', sort_key = 's');
CREATE INDEX vm_slow_t_slow ON vm_slow_t (vm_slow(s));
INSERT INTO vm_slow_t SELECT g % 2, g FROM generate_series(1, 5) g;
SET vm.slow = on;
SET statement_timeout = '200ms';
\set VERBOSITY terse
VACUUM vm_slow_t;
\set VERBOSITY default
RESET statement_timeout;
RESET vm.slow;
SELECT count(*) FILTER (WHERE (ctid::text::point)[1] > 291) AS cold, count(*) FROM vm_slow_t;
VACUUM vm_slow_t;
SELECT count(*) FILTER (WHERE (ctid::text::point)[1] > 291) AS cold, count(*) FROM vm_slow_t;
DROP TABLE vm_slow_t;
DROP FUNCTION vm_slow(int);

-- what is not a plain VACUUM moves nothing: ANALYZE, VACUUM FULL, errors
INSERT INTO vm_other SELECT 8, g FROM generate_series(100, 109) g;
ANALYZE vm_other;
VACUUM FULL vm_other;
VACUUM (FULL, ANALYZE) vm_other;
BEGIN;
VACUUM vm_other;
ROLLBACK;
VACUUM vm_other, vm_nosuch;
VACUUM (NOSUCH) vm_other;
VACUUM (VERBOSE 'maybe') vm_other;
VACUUM (PARALLEL -1) vm_other;
VACUUM vm_other (k);
CREATE FUNCTION vm_vacuum() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE 'VACUUM vm_other';
END $$;
SELECT vm_vacuum();
SET default_transaction_read_only = on;
SET client_min_messages = debug1;
VACUUM vm_other;
RESET client_min_messages;
RESET default_transaction_read_only;
SELECT relid, stored_rows FROM widecol.tables WHERE relid::text = 'vm_other';
-- widecol.vacuum_move = off: VACUUM only vacuums
SET widecol.vacuum_move = off;
VACUUM vm_other;
RESET widecol.vacuum_move;
SELECT relid, stored_rows FROM widecol.tables WHERE relid::text = 'vm_other';
VACUUM vm_other;
SELECT relid, stored_rows FROM widecol.tables WHERE relid::text = 'vm_other';

DROP TABLE vm, vh, vm_other, vp, vm_mine, vm_theirs, vm_fail;
DROP FUNCTION vm_check(int);
DROP FUNCTION vm_vacuum();
DROP ROLE regress_vm_user;
