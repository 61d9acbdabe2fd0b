-- stress: counters that must add up (no TTL, so never evicted)
\set k random(1, 100)
SELECT kv.incr('ctr:' || :k);
