-- kvcache monitoring: kv.stats, kv.info(), kv.stats_reset()
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS kvcache;
RESET client_min_messages;
SELECT kv.flushdb() >= 0 AS flushed;
SELECT kv.stats_reset();

SELECT keys, expires, keyspace_hits, keyspace_misses, expired_keys, evicted_keys,
       eviction_policy, max_memory
  FROM kv.stats;

-- hits and misses count lookups by reads
SELECT kv.set('a', '1'), kv.set('b', '2', ttl => '1 h');
SELECT kv.get('a'), kv.get('b'), kv.get('nope');
SELECT kv.mget(ARRAY['a', 'nope', 'nope2']);
SELECT keys, expires, keyspace_hits, keyspace_misses FROM kv.stats;

-- used_memory grows with data, stays within max_memory, and comes back
SELECT used_memory AS base_memory FROM kv.stats \gset
SELECT kv.set('big', repeat('x', 100000));
SELECT used_memory - :base_memory BETWEEN 100000 AND 120000 AS grew_by_value,
       used_memory <= max_memory AS within_limit
  FROM kv.stats;
SELECT kv.del('big');
SELECT used_memory = :base_memory AS returned FROM kv.stats;

-- memory per key: header, key and value bytes with size-class rounding;
-- flushing gives all of it back, hash-table arrays included
SELECT kv.mset(array_agg(format('key:%s', lpad(g::text, 6, '0'))), array_agg(repeat('v', 32)))
  FROM generate_series(1, 10000) g;
SELECT ((used_memory - :base_memory) / 10000.0 - 10 - 32) < 64 AS overhead_below_64
  FROM kv.stats;
SELECT kv.del(VARIADIC array_agg(format('key:%s', lpad(g::text, 6, '0')))) FROM generate_series(1, 10000) g;
SELECT pg_sleep(0.5);
SELECT used_memory = :base_memory AS all_memory_back FROM kv.stats;

-- expired and stats_reset
SELECT kv.set('e', '1', ttl => '10 ms');
SELECT pg_sleep(0.05);
SELECT kv.get('e') IS NULL AS expired;
-- the read does not reclaim it; the expiry worker does, and counts it
SELECT pg_sleep(1);
SELECT expired_keys >= 1 AS counted FROM kv.stats;
SELECT kv.stats_reset();
SELECT keyspace_hits, keyspace_misses, expired_keys, evicted_keys,
       stats_reset > now() - interval '1 minute' AS reset_now
  FROM kv.stats;

-- kv.info() gives the same figures under Redis INFO names
SELECT name FROM kv.info() ORDER BY name;
SELECT value FROM kv.info() WHERE name = 'db0';
SELECT (SELECT value::bigint FROM kv.info() WHERE name = 'maxmemory') = max_memory AS same_max,
       (SELECT value FROM kv.info() WHERE name = 'maxmemory_policy') = eviction_policy AS same_policy
  FROM kv.stats;

SELECT kv.flushdb() >= 0 AS flushed;
