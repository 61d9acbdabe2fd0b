-- bench/sql/setup.sql: the PostgreSQL side of the string benchmarks
--
-- Everything the benchmark creates lives in schema kvbench, which
-- teardown.sql drops.  The UNLOGGED table holds the same 100,000 keys and
-- 32-byte values (md5 hex) that run.sh loads into kvcache.

SET client_min_messages = warning;
DROP SCHEMA IF EXISTS kvbench CASCADE;
CREATE SCHEMA kvbench;

CREATE UNLOGGED TABLE kvbench.ucache (k text PRIMARY KEY, v text NOT NULL);
INSERT INTO kvbench.ucache (k, v)
    SELECT 'key:' || g, md5('key:' || g) FROM generate_series(0, 99999) g;
VACUUM ANALYZE kvbench.ucache;
