-- stress: values of random size with a TTL (evictable under volatile-lru);
-- the value is the expiry time in ms, and a read must never return a value
-- that had expired before the statement started (50 ms of slack for clock reads).
-- Odd keys expire within 300 ms, even keys live a minute, so that the live
-- set outgrows kvcache.max_memory and keys are evicted however slowly the
-- machine runs the script (short TTLs alone left too few keys alive on a
-- loaded machine, and nothing was evicted)
\set k random(1, 5000)
\set size random(1, 40000)
\set ttl random(1, 300) + (1 - :k % 2) * 60000
\set r random(1, 5000)
\set d random(1, 5000)
SELECT kv.set('churn:' || :k,
              ((extract(epoch FROM clock_timestamp()) * 1000)::bigint + :ttl)::text || repeat('.', :size),
              ttl => make_interval(secs => :ttl / 1000.0));
SELECT 1 / (split_part(v, '.', 1)::bigint >= (extract(epoch FROM statement_timestamp()) * 1000)::bigint - 50)::int
  FROM kv.get('churn:' || :r) AS v WHERE v IS NOT NULL;
SELECT kv.del('churn:' || :d);
