-- widecol DDL: key options, their validation and storage, \d+, keys from a
-- PRIMARY KEY, and the ALTER TABLE rules that protect the keys.  Every
-- error is followed by its SQLSTATE.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS widecol;
RESET client_min_messages;
-- pg_regress hides the access method in \d+; we want to see it
\set HIDE_TABLEAM off

-- the issue's two examples; the keys are stored in reloptions, canonically
CREATE TABLE events (user_id bigint, ts timestamptz, kind int, payload jsonb)
  USING widecol WITH (partition_key = 'user_id', sort_key = 'ts');
CREATE TABLE readings (tenant text, device int, ts timestamptz, seq int, v float8)
  USING widecol WITH (partition_key = 'tenant, device', sort_key = 'ts, seq');
\d+ events
\d+ readings
SELECT relname, reloptions FROM pg_class
 WHERE relname IN ('events', 'readings') ORDER BY relname;

-- sort_key is optional; a bare identifier works; names are folded like SQL
-- identifiers and quoted ones kept; core options sit beside ours
CREATE TABLE simple (k text, v int) USING widecol WITH (partition_key = k);
CREATE TABLE mixed ("UserId" int, "Ts" timestamptz, "select" int, v int)
  USING widecol WITH (fillfactor = 70, partition_key = '"UserId"', sort_key = '"Ts", "select"');
CREATE TABLE folded (userid int, ts int) USING widecol WITH (partition_key = 'UserId , TS');
\d+ mixed
SELECT relid, partition_key, sort_key FROM widecol.tables
 WHERE relid IN ('simple'::regclass, 'mixed'::regclass, 'folded'::regclass) ORDER BY relid::text;

-- without partition_key the PRIMARY KEY gives the keys: first column
-- partitions, the rest sort; explicit options win over the primary key
CREATE TABLE pk1 (id int PRIMARY KEY, v text) USING widecol;
CREATE TABLE pk3 (a int, b text, c date, v int, PRIMARY KEY (a, b, c)) USING widecol;
CREATE TABLE pkexplicit (a int, b int, v int, PRIMARY KEY (a, b))
  USING widecol WITH (partition_key = 'v');
\d+ pk3
SELECT relid, partition_key, sort_key FROM widecol.tables
 WHERE relid::text LIKE 'pk%' ORDER BY relid::text;

-- default_table_access_method, CREATE TABLE AS, SELECT INTO, CREATE SCHEMA
-- elements, temporary and unlogged tables
SET default_table_access_method = widecol;
CREATE TABLE dflt (a int, b int) WITH (partition_key = a, sort_key = b);
CREATE TABLE ctas WITH (partition_key = g) AS SELECT g, g * 2 AS h FROM generate_series(1, 3) g;
-- SELECT INTO has no WITH clause, and a result has no primary key
SELECT 1 AS a INTO si;
\echo :LAST_ERROR_SQLSTATE
RESET default_table_access_method;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
  CREATE TABLE ectas USING widecol WITH (partition_key = 'g') AS SELECT g FROM generate_series(1, 3) g;
SELECT relid, partition_key, (SELECT count(*) FROM ectas) AS rows FROM widecol.tables WHERE relid = 'ectas'::regclass;
DROP TABLE ectas;
CREATE TABLE ctas2 USING widecol WITH (partition_key = 'h', sort_key = 'g') AS TABLE ctas;
CREATE SCHEMA wcs
  CREATE TABLE inner1 (a int, b int) USING widecol WITH (partition_key = 'b')
  CREATE TABLE inner2 (a int);
CREATE TEMP TABLE tmp (a int, b int) USING widecol WITH (partition_key = 'a');
CREATE UNLOGGED TABLE unl (a int, b int) USING widecol WITH (partition_key = 'a');
SELECT c.relname, c.relpersistence, a.amname, c.reloptions
  FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.relname IN ('dflt', 'ctas', 'ctas2', 'inner1', 'inner2', 'tmp', 'unl')
 ORDER BY c.relname;
SELECT * FROM ctas2 ORDER BY g;

-- the TOAST table of a widecol table is a plain heap
SELECT t.relkind, a.amname FROM pg_class c
  JOIN pg_class t ON t.oid = c.reltoastrelid JOIN pg_am a ON a.oid = t.relam
 WHERE c.oid = 'events'::regclass;

-- widecol.tables: one row per widecol table, no cold tier in phase 1
SELECT relid, partition_key, sort_key, stored_rows, blocks, raw_bytes,
       compressed_bytes, last_compaction IS NULL AS never_compacted,
       total_bytes = pg_total_relation_size(relid) AS total_ok
  FROM widecol.tables WHERE relid::text NOT LIKE 'pg_temp%' ORDER BY relid::text;

-- validation errors
CREATE TABLE bad (a int, b int) USING widecol;
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE bad (a int, b int) USING widecol WITH (partition_key = 'x');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE bad (a int, b int) USING widecol WITH (partition_key = 'a', sort_key = 'b, x');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE bad (a int, b int) USING widecol WITH (partition_key = 'a, a');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE bad (a int, b int) USING widecol WITH (partition_key = 'a', sort_key = 'b, a');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE bad (a int, b int, PRIMARY KEY (a)) USING widecol WITH (sort_key = 'b');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE bad (a int, b json) USING widecol WITH (partition_key = 'a', sort_key = 'b');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE bad (a int, b int) USING widecol WITH (partition_key = 'a', sort_key = 'xmin');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE bad (a int, b int) USING widecol WITH (partition_key = 'a,,b');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE bad (a int, b int) USING widecol WITH (partition_key = '');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE bad (a int, b int) USING widecol WITH (partition_key = '"a');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE bad (a int, b int) USING widecol WITH (partition_key = public.a);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE bad (a int, b int) USING widecol WITH (partition_key);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE bad (a int, b int) USING widecol WITH (partition_key = a, partition_key = b);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE bad (a int, b int) WITH (partition_key = 'a');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE bad (a int, b int) USING heap WITH (sort_key = 'b');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE bad (a int, b int) PARTITION BY RANGE (a) WITH (partition_key = 'a');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE bad USING widecol AS SELECT 1 AS a;
\echo :LAST_ERROR_SQLSTATE
CREATE MATERIALIZED VIEW bad USING widecol AS SELECT 1 AS a;
\echo :LAST_ERROR_SQLSTATE
CREATE MATERIALIZED VIEW bad WITH (partition_key = 'a') AS SELECT 1 AS a;
\echo :LAST_ERROR_SQLSTATE
-- nothing was left behind
SELECT count(*) AS leftovers FROM pg_class WHERE relname = 'bad';

-- ALTER TABLE SET/RESET: other options keep the keys; keys change only
-- while the table is empty, and are then validated like at CREATE
ALTER TABLE events SET (fillfactor = 60, toast.autovacuum_enabled = false);
ALTER TABLE events RESET (fillfactor);
SELECT reloptions FROM pg_class WHERE oid = 'events'::regclass;
SELECT reloptions FROM pg_class WHERE oid = (SELECT reltoastrelid FROM pg_class WHERE oid = 'events'::regclass);
ALTER TABLE events SET (partition_key = 'kind', sort_key = 'user_id, ts');
\d+ events
ALTER TABLE events RESET (sort_key);
SELECT reloptions FROM pg_class WHERE oid = 'events'::regclass;
ALTER TABLE events RESET (partition_key);
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE events SET (sort_key = 'kind');
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE events SET (partition_key = 'nope');
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE pk3 RESET (partition_key);
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE pk3 RESET (partition_key, sort_key);
SELECT reloptions FROM pg_class WHERE oid = 'pk3'::regclass;
ALTER TABLE pkexplicit RESET (partition_key);
SELECT reloptions FROM pg_class WHERE oid = 'pkexplicit'::regclass;
-- with rows (even uncommitted ones of this transaction) keys are fixed;
-- setting the same keys again is not a change
INSERT INTO events VALUES (1, '2026-01-01', 7, '{}');
ALTER TABLE events SET (partition_key = 'user_id');
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE events SET (partition_key = 'kind', fillfactor = 90);
SELECT reloptions FROM pg_class WHERE oid = 'events'::regclass;
BEGIN;
INSERT INTO simple VALUES ('x', 1);
ALTER TABLE simple SET (partition_key = 'v');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- once the rows are gone the key can change again
DELETE FROM events;
ALTER TABLE events SET (partition_key = 'user_id', sort_key = 'ts');
SELECT reloptions FROM pg_class WHERE oid = 'events'::regclass;
-- options on non-widecol tables
CREATE TABLE plain (a int, b int);
ALTER TABLE plain SET (partition_key = 'a');
\echo :LAST_ERROR_SQLSTATE

-- key columns cannot be dropped or retyped; other columns can
ALTER TABLE events DROP COLUMN ts;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE events DROP COLUMN user_id CASCADE;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE events ALTER COLUMN user_id TYPE int;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE readings ALTER COLUMN tenant TYPE text COLLATE "C";
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE events ALTER COLUMN kind TYPE bigint, DROP COLUMN payload;
-- within one ALTER, the checks use the keys in force before it
ALTER TABLE events SET (fillfactor = 50), DROP COLUMN ts;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE events SET (sort_key = 'kind'), DROP COLUMN ts;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE events SET (sort_key = 'kind');
ALTER TABLE events DROP COLUMN ts;
\d+ events

-- renaming a key column carries the keys along
ALTER TABLE readings RENAME COLUMN device TO sensor;
ALTER TABLE readings RENAME ts TO "Time";
SELECT relid, partition_key, sort_key FROM widecol.tables WHERE relid = 'readings'::regclass;

-- the same rules through a partitioned parent
CREATE TABLE parent (org text, ts timestamptz, v int, PRIMARY KEY (org, ts)) PARTITION BY RANGE (ts);
CREATE TABLE part1 PARTITION OF parent FOR VALUES FROM ('2026-01-01') TO ('2026-02-01') USING widecol;
CREATE TABLE part2 PARTITION OF parent FOR VALUES FROM ('2026-02-01') TO ('2026-03-01')
  USING widecol WITH (partition_key = 'org', sort_key = 'v');
ALTER TABLE parent DROP COLUMN v;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE parent ALTER COLUMN v TYPE bigint;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE parent RENAME COLUMN org TO tenant;
SELECT relid, partition_key, sort_key FROM widecol.tables
 WHERE relid::text LIKE 'part%' ORDER BY relid::text;

-- and through the type of a typed table, or a dropped domain
CREATE TYPE wc_row AS (k int, v text);
CREATE TABLE typed OF wc_row USING widecol WITH (partition_key = 'k');
ALTER TYPE wc_row ALTER ATTRIBUTE k TYPE bigint CASCADE;
\echo :LAST_ERROR_SQLSTATE
ALTER TYPE wc_row RENAME ATTRIBUTE k TO key CASCADE;
SELECT relid, partition_key FROM widecol.tables WHERE relid = 'typed'::regclass;
CREATE DOMAIN wc_dom AS int;
CREATE TABLE domkey (k wc_dom, v int) USING widecol WITH (partition_key = 'k');
DROP DOMAIN wc_dom CASCADE;
\echo :LAST_ERROR_SQLSTATE
-- dropping the table along with the column's type is fine
CREATE SCHEMA wcdrop;
CREATE DOMAIN wcdrop.d AS int;
CREATE TABLE wcdrop.t (k wcdrop.d, v int) USING widecol WITH (partition_key = 'k');
SET client_min_messages = warning;
DROP SCHEMA wcdrop CASCADE;
RESET client_min_messages;

-- the key index: one btree on (partition key..., sort key...), kept up to
-- date for every row, protected from DROP INDEX, hidden from the planner,
-- renamed with its table, and a CREATE INDEX that recreates it (a restored
-- dump) is a no-op
CREATE TABLE ki (tenant text, device int, ts int, seq int, v int)
  USING widecol WITH (partition_key = 'tenant, device', sort_key = 'ts, seq');
INSERT INTO ki SELECT 't' || g % 3, g % 5, g, g % 2, g FROM generate_series(1, 2000) g;
SELECT i.indexrelid::regclass AS key_index, pg_get_indexdef(i.indexrelid) AS def,
       d.refobjsubid AS protected_column
  FROM pg_index i JOIN pg_depend d ON d.objid = i.indexrelid AND d.deptype = 'i'
 WHERE i.indrelid = 'ki'::regclass;
DROP INDEX ki_wckey;
\echo :LAST_ERROR_SQLSTATE
-- no ordinary index path uses it; only the keyscan does (widecol_keyscan)
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM ki WHERE tenant = 't1' AND device = 2 ORDER BY ts;
SET widecol.enable_keyscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM ki WHERE tenant = 't1' AND device = 2 ORDER BY ts;
RESET widecol.enable_keyscan;
RESET enable_seqscan;
CREATE INDEX ki_wckey ON ki (tenant, device, ts, seq);
CREATE INDEX ki_wckey ON ki (tenant, device);
\echo :LAST_ERROR_SQLSTATE
CREATE INDEX ki_user ON ki (tenant, device, ts, seq);
ALTER INDEX ki_wckey RENAME TO ki_other;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE ki RENAME TO ki2;
ALTER TABLE ki2 DROP COLUMN ts;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE ki2 DROP COLUMN tenant;
\echo :LAST_ERROR_SQLSTATE
\d ki2
REINDEX INDEX ki2_wckey;
-- REINDEX CONCURRENTLY swaps in a new index, which keeps the protection
REINDEX INDEX CONCURRENTLY ki2_wckey;
SELECT i.indexrelid::regclass AS key_index, d.refobjsubid AS protected_column
  FROM pg_index i JOIN pg_depend d ON d.objid = i.indexrelid AND d.deptype = 'i'
 WHERE i.indrelid = 'ki2'::regclass;
DROP TABLE ki2;
-- a partitioned index never takes the key index of a widecol partition as
-- its partition (it could not be dropped again); one created before the
-- partition gets its own index there
CREATE TABLE kparent (org text, ts int, v int) PARTITION BY RANGE (ts);
CREATE TABLE kpart1 PARTITION OF kparent FOR VALUES FROM (0) TO (100)
  USING widecol WITH (partition_key = 'org', sort_key = 'ts');
CREATE INDEX kparent_ts ON kparent (org, ts);
\echo :LAST_ERROR_SQLSTATE
CREATE INDEX kparent_v ON kparent (org, v);
CREATE INDEX kparent_only ON ONLY kparent (org, ts);
ALTER INDEX kparent_only ATTACH PARTITION kpart1_wckey;
\echo :LAST_ERROR_SQLSTATE
DROP INDEX kparent_only;
CREATE TABLE kparent2 (org text, ts int, v int) PARTITION BY RANGE (ts);
CREATE INDEX kparent2_ts ON kparent2 (org, ts);
CREATE TABLE kpart2 (org text, ts int, v int) USING widecol WITH (partition_key = 'org', sort_key = 'ts');
ALTER TABLE kparent2 ATTACH PARTITION kpart2 FOR VALUES FROM (0) TO (100);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE kpart3 PARTITION OF kparent2 FOR VALUES FROM (100) TO (200)
  USING widecol WITH (partition_key = 'org', sort_key = 'ts');
\d kpart3
DROP INDEX kparent2_ts;
\d kpart3
DROP TABLE kparent, kparent2, kpart2;

-- SET ACCESS METHOD to or from widecol is refused
ALTER TABLE plain SET ACCESS METHOD widecol;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE simple SET ACCESS METHOD heap;
\echo :LAST_ERROR_SQLSTATE
CREATE MATERIALIZED VIEW mv AS SELECT 1 AS a;
ALTER MATERIALIZED VIEW mv SET ACCESS METHOD widecol;
\echo :LAST_ERROR_SQLSTATE
DROP MATERIALIZED VIEW mv;

-- DROP TABLE needs nothing special; the extension cannot go while tables use it
DROP TABLE dflt, ctas, ctas2, wcs.inner1, tmp, unl, pk1, pkexplicit;
\set VERBOSITY terse
DROP EXTENSION widecol;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
DROP SCHEMA wcs CASCADE;
DROP TABLE events, readings, simple, mixed, folded, pk3, plain, parent, typed, domkey;
DROP TYPE wc_row;
DROP DOMAIN wc_dom;
SELECT count(*) AS widecol_tables_left FROM widecol.tables;
DROP EXTENSION widecol;
