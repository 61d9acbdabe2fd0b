-- kvcache keyspace: KEYS glob patterns, SCAN, DBSIZE, FLUSHDB, per-database keyspaces
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS kvcache;
RESET client_min_messages;
SELECT kv.flushdb() >= 0 AS flushed;

SELECT kv.mset(ARRAY['hello', 'hallo', 'hxllo', 'hllo', 'heeeello', 'hbllo', 'h*llo', 'user:1', 'user:2', 'user:10', 'x'],
               ARRAY['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11']);

-- Redis glob syntax, not LIKE
SELECT k FROM kv.keys('h?llo') k ORDER BY 1;
SELECT k FROM kv.keys('h*llo') k ORDER BY 1;
SELECT k FROM kv.keys('h[ae]llo') k ORDER BY 1;
SELECT k FROM kv.keys('h[^e]llo') k ORDER BY 1;
SELECT k FROM kv.keys('h[a-b]llo') k ORDER BY 1;
SELECT k FROM kv.keys('h\*llo') k ORDER BY 1;
SELECT k FROM kv.keys('user:?') k ORDER BY 1;
SELECT k FROM kv.keys('user:*') k ORDER BY 1;
SELECT k FROM kv.keys('%') k ORDER BY 1;
SELECT count(*) FROM kv.keys();
SELECT kv.dbsize();

-- SCAN: a full iteration returns every key at least once
CREATE TEMP TABLE seen (k text);
SELECT kv.mset(array_agg('scan:' || g), array_agg(g::text)) FROM generate_series(1, 3000) g;
DO $$
DECLARE
    cur bigint := 0;
    calls int := 0;
BEGIN
    LOOP
        INSERT INTO seen SELECT key FROM kv.scan(cur, 'scan:*', 50) WHERE key IS NOT NULL;
        SELECT max(next_cursor) INTO cur FROM kv.scan(cur, 'scan:*', 50);
        calls := calls + 1;
        EXIT WHEN cur = 0 OR calls > 100000;
    END LOOP;
    RAISE NOTICE 'scan finished: %', cur = 0;
END $$;
SELECT count(DISTINCT k) AS distinct_seen, count(*) >= 3000 AS at_least_all FROM seen;
SELECT count(*) AS missing FROM generate_series(1, 3000) g
 WHERE NOT EXISTS (SELECT 1 FROM seen WHERE k = 'scan:' || g);
-- MATCH applies after retrieval: a batch may be empty while the cursor goes on
SELECT count(*) FILTER (WHERE key IS NULL) <= 1 AS at_most_one_null_row
  FROM kv.scan(0, 'no-such-prefix:*', 10);
-- the default arguments work
SELECT count(*) > 0 AS default_scan FROM kv.scan(0);

-- FLUSHDB returns how many keys it deleted
SELECT kv.dbsize();
SELECT kv.flushdb();
SELECT kv.dbsize(), count(*) AS listed FROM kv.keys();
SELECT count(*) FILTER (WHERE key IS NOT NULL) AS scanned_after_flush FROM kv.scan(0, '*', 100000);

-- each database has its own keyspace
SELECT kv.set('shared-name', 'from regression db');
CREATE DATABASE kvcache_other;
\c kvcache_other
SET client_min_messages = warning;
CREATE EXTENSION kvcache;
RESET client_min_messages;
SELECT kv.get('shared-name') IS NULL AS invisible, kv.dbsize(), count(*) AS listed FROM kv.keys();
SELECT count(*) FILTER (WHERE key IS NOT NULL) AS scanned FROM kv.scan(0, '*', 1000);
SELECT keys FROM kv.stats;
SELECT kv.set('shared-name', 'from other db'), kv.set('only-here', '1');
SELECT kv.dbsize(), kv.get('shared-name');
-- a DROP DATABASE that fails purges nothing
DROP DATABASE kvcache_other;
SELECT kv.dbsize(), kv.get('shared-name');
\c regression
SELECT kv.get('shared-name'), kv.dbsize(), kv.exists('only-here');
-- dropping a database purges its keys: flushall then finds only this database's key
DROP DATABASE kvcache_other;
SELECT kv.flushall() AS flushed_everywhere;
SELECT kv.dbsize();
