-- widecol maintenance: TRUNCATE, VACUUM, VACUUM FULL, CLUSTER, ANALYZE,
-- index builds (plain, concurrent, parallel, REINDEX), SET TABLESPACE,
-- parallel plans (parallel seq scans over both tiers), and partitioned tables with widecol partitions.  Each
-- runs on a widecol table (wc) and a heap twin (hp); :same compares them.
-- Autovacuum is off for both: the test compares sizes and statistics.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS widecol;
RESET client_min_messages;
-- VACUUM here only vacuums: widecol_vacuum_move tests the move it runs first
SET widecol.vacuum_move = off;

CREATE TABLE wc (id int PRIMARY KEY, grp int NOT NULL, val text)
  USING widecol WITH (partition_key = 'grp', sort_key = 'id', autovacuum_enabled = false);
CREATE TABLE hp (id int PRIMARY KEY, grp int NOT NULL, val text) WITH (autovacuum_enabled = false);
CREATE INDEX wc_grp ON wc (grp);
CREATE INDEX hp_grp ON hp (grp);
INSERT INTO wc SELECT g, g % 100, repeat('x', g % 50) || g FROM generate_series(1, 20000) g;
INSERT INTO hp SELECT g, g % 100, repeat('x', g % 50) || g FROM generate_series(1, 20000) g;

\set same 'SELECT (SELECT count(*) FROM (SELECT * FROM wc EXCEPT ALL SELECT * FROM hp) a) AS only_widecol, (SELECT count(*) FROM (SELECT * FROM hp EXCEPT ALL SELECT * FROM wc) b) AS only_heap, (SELECT count(*) FROM wc) AS widecol_rows'
\set sizes 'SELECT pg_relation_size(''wc'') = pg_relation_size(''hp'') AS same_size, pg_relation_size(''wc'') / 8192 AS pages'
:same;
:sizes;

-- TRUNCATE: rolled back, in the creating transaction, and for real
BEGIN;
TRUNCATE wc;
SELECT count(*) AS inside FROM wc;
ROLLBACK;
SELECT count(*) AS after_rollback FROM wc;
BEGIN;
CREATE TABLE wt (a int, b text) USING widecol WITH (partition_key = 'a');
INSERT INTO wt SELECT g, 'gone' FROM generate_series(1, 100) g;
TRUNCATE wt;
INSERT INTO wt SELECT g, 'kept' FROM generate_series(1, 10) g;
COMMIT;
SELECT b, count(*) FROM wt GROUP BY b ORDER BY b;
SELECT relfilenode AS before_truncate FROM pg_class WHERE oid = 'wt'::regclass \gset
TRUNCATE wt;
SELECT relfilenode <> :before_truncate AS new_file, pg_relation_size('wt') AS size,
       (SELECT count(*) FROM wt) AS rows FROM pg_class WHERE oid = 'wt'::regclass;
INSERT INTO wt VALUES (1, 'again');
SELECT * FROM wt ORDER BY a;
DROP TABLE wt;

-- VACUUM removes dead rows, truncates the empty tail and freezes, exactly
-- as on heap
DELETE FROM wc WHERE id > 10000 OR id % 3 = 0;
DELETE FROM hp WHERE id > 10000 OR id % 3 = 0;
SELECT pg_stat_force_next_flush();
SELECT relfrozenxid AS frozen_before FROM pg_class WHERE oid = 'wc'::regclass \gset
VACUUM (FREEZE) wc;
VACUUM (FREEZE) hp;
:sizes;
SELECT reltuples, relpages = pg_relation_size('wc') / 8192 AS relpages_ok,
       relfrozenxid::text::bigint > :frozen_before AS frozen_advanced
  FROM pg_class WHERE oid = 'wc'::regclass;
SELECT pg_stat_force_next_flush();
SELECT relname, n_live_tup, n_dead_tup, vacuum_count FROM pg_stat_user_tables
 WHERE relname IN ('wc', 'hp') ORDER BY relname;
-- freed space is reused by new rows
INSERT INTO wc SELECT g, g % 100, 'refill' FROM generate_series(20001, 23000) g;
INSERT INTO hp SELECT g, g % 100, 'refill' FROM generate_series(20001, 23000) g;
:sizes;
-- options, parallel index vacuuming, no truncation
VACUUM (INDEX_CLEANUP ON, TRUNCATE OFF, PARALLEL 2, ANALYZE) wc;
VACUUM (INDEX_CLEANUP ON, TRUNCATE OFF, PARALLEL 2, ANALYZE) hp;
:same;

-- VACUUM FULL rewrites into a new file, keeps options, TOAST values and
-- indexes
UPDATE wc SET val = repeat(md5(id::text), 2000) WHERE id IN (1, 5, 7);
UPDATE hp SET val = repeat(md5(id::text), 2000) WHERE id IN (1, 5, 7);
UPDATE wc SET val = val || '+' WHERE id % 2 = 0;
UPDATE hp SET val = val || '+' WHERE id % 2 = 0;
SELECT relfilenode AS before_full FROM pg_class WHERE oid = 'wc'::regclass \gset
SELECT pg_relation_size('wc') AS size_before_full \gset
VACUUM FULL wc;
VACUUM FULL hp;
SELECT relfilenode <> :before_full AS new_file, pg_relation_size('wc') < :size_before_full AS smaller,
       reloptions FROM pg_class WHERE oid = 'wc'::regclass;
:sizes;
SELECT id, length(val), md5(val) = md5(repeat(md5(id::text), 2000)) AS intact FROM wc WHERE id IN (1, 5, 7) ORDER BY id;
SET enable_seqscan = off;
SELECT (SELECT count(*) FROM wc WHERE grp = 7) AS widecol, (SELECT count(*) FROM hp WHERE grp = 7) AS heap;
RESET enable_seqscan;
:same;

-- CLUSTER orders the rows physically by an index, by index scan or by
-- sort, and remembers the index
\set cluster_breaks 'SELECT (SELECT count(*) FROM (SELECT grp < lag(grp) OVER (ORDER BY ctid) AS b FROM wc) s WHERE b) AS widecol_breaks, (SELECT count(*) FROM (SELECT grp < lag(grp) OVER (ORDER BY ctid) AS b FROM hp) s WHERE b) AS heap_breaks'
:cluster_breaks;
SET enable_sort = off;
CLUSTER wc USING wc_grp;
CLUSTER hp USING hp_grp;
RESET enable_sort;
:cluster_breaks;
UPDATE wc SET grp = 99 - grp WHERE id % 5 = 0;
UPDATE hp SET grp = 99 - grp WHERE id % 5 = 0;
SET enable_indexscan = off;
CLUSTER wc;
CLUSTER hp;
RESET enable_indexscan;
:cluster_breaks;
SELECT indexrelid::regclass::text AS index, indisclustered FROM pg_index WHERE indrelid = 'wc'::regclass ORDER BY 1;
:same;
:sizes;

-- ANALYZE: estimates from a sample of a table larger than the sample
-- (tolerances are many standard deviations of the sampling error wide)
CREATE FUNCTION plan_rows(query text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    plan json;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON) ' || query INTO plan;
    RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::bigint;
END $$;
CREATE TABLE wa (id int, grp int, cat int, flag bool, val text) USING widecol WITH (partition_key = 'grp', sort_key = 'id');
INSERT INTO wa SELECT g, g % 500, g % 10, g % 10 = 0, md5(g::text) FROM generate_series(1, 200000) g;
ANALYZE wa;
SELECT abs(reltuples - 200000) < 20000 AS reltuples_ok, relpages = pg_relation_size('wa') / 8192 AS relpages_ok
  FROM pg_class WHERE oid = 'wa'::regclass;
SELECT attname, n_distinct, abs(null_frac) < 0.01 AS no_nulls FROM pg_stats
 WHERE tablename = 'wa' AND attname IN ('grp', 'flag') ORDER BY attname;
SELECT abs(plan_rows('SELECT * FROM wa WHERE cat = 3') - 20000) < 2000 AS eq_estimate_ok,
       abs(plan_rows('SELECT * FROM wa WHERE flag') - 20000) < 2000 AS bool_estimate_ok,
       abs(plan_rows('SELECT * FROM wa WHERE id < 50000') - 50000) < 5000 AS range_estimate_ok,
       abs(plan_rows('SELECT * FROM wa') - 200000) < 20000 AS total_estimate_ok;
-- the planner's size estimate follows the table as it grows
INSERT INTO wa SELECT g, g % 500, g % 10, false, md5(g::text) FROM generate_series(200001, 300000) g;
SELECT abs(plan_rows('SELECT * FROM wa') - 300000) < 30000 AS grown_estimate_ok;
DROP TABLE wa;

-- index builds: concurrent, parallel requested (built serially),
-- REINDEX (plain and concurrent)
CREATE INDEX CONCURRENTLY wc_val ON wc (val);
CREATE INDEX CONCURRENTLY hp_val ON hp (val);
SET max_parallel_maintenance_workers = 2;
SET min_parallel_table_scan_size = 0;
SET maintenance_work_mem = '64MB';
CREATE INDEX wc_grp_id ON wc (grp, id);
CREATE INDEX hp_grp_id ON hp (grp, id);
RESET max_parallel_maintenance_workers;
RESET min_parallel_table_scan_size;
RESET maintenance_work_mem;
REINDEX TABLE wc;
REINDEX TABLE CONCURRENTLY hp;
REINDEX TABLE CONCURRENTLY wc;
SELECT indexrelid::regclass::text AS index, indisvalid, indisready FROM pg_index WHERE indrelid = 'wc'::regclass ORDER BY 1;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM wc WHERE val = 'xxx3';
SELECT (SELECT array_agg(id ORDER BY id) FROM wc WHERE val LIKE 'xxx3%') = (SELECT array_agg(id ORDER BY id) FROM hp WHERE val LIKE 'xxx3%') AS same_by_val,
       (SELECT array_agg(id ORDER BY id) FROM wc WHERE grp = 3 AND id < 5000) = (SELECT array_agg(id ORDER BY id) FROM hp WHERE grp = 3 AND id < 5000) AS same_by_grp;
RESET enable_seqscan;
RESET enable_bitmapscan;

-- SET TABLESPACE copies the files as they are
SET allow_in_place_tablespaces = on;
CREATE TABLESPACE wc_space LOCATION '';
RESET allow_in_place_tablespaces;
ALTER TABLE wc SET TABLESPACE wc_space;
SELECT spcname FROM pg_tablespace WHERE oid = (SELECT reltablespace FROM pg_class WHERE oid = 'wc'::regclass);
:same;
ALTER TABLE wc SET TABLESPACE pg_default;
DROP TABLESPACE wc_space;

-- SET UNLOGGED / SET LOGGED rewrite the table, keeping options and rows
ALTER TABLE wc SET UNLOGGED;
SELECT relpersistence, reloptions FROM pg_class WHERE oid = 'wc'::regclass;
ALTER TABLE wc SET LOGGED;
SELECT relpersistence, reloptions FROM pg_class WHERE oid = 'wc'::regclass;
:same;

-- parallel sequential scans divide both tiers among the workers
-- (widecol_parallel tests more)
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT grp, count(*), sum(id) FROM wc GROUP BY grp;
SELECT (SELECT count(*) FROM (SELECT grp, count(*), sum(id), max(val) FROM wc GROUP BY grp
                              EXCEPT ALL
                              SELECT grp, count(*), sum(id), max(val) FROM hp GROUP BY grp) d) AS differ;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- partitioned tables: a heap-partitioned parent with widecol partitions
-- (and a heap default partition), against an all-heap twin
CREATE TABLE pw (region text, ts date, v int, PRIMARY KEY (region, ts)) PARTITION BY LIST (region);
CREATE TABLE pw_eu PARTITION OF pw FOR VALUES IN ('eu') USING widecol;
CREATE TABLE pw_us PARTITION OF pw FOR VALUES IN ('us') USING widecol WITH (partition_key = 'region', sort_key = 'v, ts');
CREATE TABLE pw_rest PARTITION OF pw DEFAULT;
CREATE TABLE ph (region text, ts date, v int, PRIMARY KEY (region, ts)) PARTITION BY LIST (region);
CREATE TABLE ph_eu PARTITION OF ph FOR VALUES IN ('eu');
CREATE TABLE ph_us PARTITION OF ph FOR VALUES IN ('us');
CREATE TABLE ph_rest PARTITION OF ph DEFAULT;
\set psame 'SELECT (SELECT count(*) FROM (SELECT * FROM pw EXCEPT ALL SELECT * FROM ph) a) AS only_widecol, (SELECT count(*) FROM (SELECT * FROM ph EXCEPT ALL SELECT * FROM pw) b) AS only_heap, (SELECT count(*) FROM pw) AS rows'
\d+ pw
SELECT relid, partition_key, sort_key FROM widecol.tables WHERE relid::text LIKE 'pw%' ORDER BY relid::text;
INSERT INTO pw SELECT (ARRAY['eu', 'us', 'apac'])[g % 3 + 1], '2026-01-01'::date + g / 3, g FROM generate_series(0, 2999) g;
INSERT INTO ph SELECT (ARRAY['eu', 'us', 'apac'])[g % 3 + 1], '2026-01-01'::date + g / 3, g FROM generate_series(0, 2999) g;
SELECT tableoid::regclass::text AS part, count(*) FROM pw GROUP BY 1 ORDER BY 1;
:psame;
EXPLAIN (COSTS OFF) SELECT * FROM pw WHERE region = 'eu' AND ts < '2026-01-10';
SELECT ts, v FROM pw WHERE region = 'eu' AND ts < '2026-01-05' ORDER BY ts;
-- UPDATE moves rows between partitions, widecol to heap and back
UPDATE pw SET region = 'apac', ts = ts + 2000 WHERE region = 'eu' AND v % 2 = 0;
UPDATE ph SET region = 'apac', ts = ts + 2000 WHERE region = 'eu' AND v % 2 = 0;
UPDATE pw SET region = 'us', ts = ts + 5000 WHERE region = 'apac' AND v % 5 = 0;
UPDATE ph SET region = 'us', ts = ts + 5000 WHERE region = 'apac' AND v % 5 = 0;
SELECT tableoid::regclass::text AS part, count(*) FROM pw GROUP BY 1 ORDER BY 1;
:psame;
-- ON CONFLICT through the partitioned primary key
INSERT INTO pw VALUES ('eu', '2026-01-01', -1), ('eu', '2030-01-01', -2)
  ON CONFLICT (region, ts) DO UPDATE SET v = EXCLUDED.v;
INSERT INTO ph VALUES ('eu', '2026-01-01', -1), ('eu', '2030-01-01', -2)
  ON CONFLICT (region, ts) DO UPDATE SET v = EXCLUDED.v;
DELETE FROM pw WHERE v % 7 = 0;
DELETE FROM ph WHERE v % 7 = 0;
:psame;
-- partitionwise aggregation, maintenance on the parent
SET enable_partitionwise_aggregate = on;
EXPLAIN (COSTS OFF) SELECT region, count(*) FROM pw GROUP BY region;
SELECT region, count(*), sum(v) FROM pw GROUP BY region ORDER BY region;
RESET enable_partitionwise_aggregate;
VACUUM pw;
ANALYZE pw;
SELECT relname, reltuples FROM pg_class WHERE relname LIKE 'pw_%' AND relkind = 'r' ORDER BY relname;
-- detach and attach a widecol partition; TRUNCATE through the parent
ALTER TABLE pw DETACH PARTITION pw_us;
SELECT count(*) AS detached_rows FROM pw_us;
ALTER TABLE pw ATTACH PARTITION pw_us FOR VALUES IN ('us');
:psame;
TRUNCATE pw;
TRUNCATE ph;
:psame;
DROP TABLE pw, ph;

DROP FUNCTION plan_rows(text);
DROP TABLE wc, hp;
DROP EXTENSION widecol;
