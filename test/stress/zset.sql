-- pgbench script: concurrent ZINCRBY on one shared sorted set, with readers.
-- Every transaction adds exactly 1 to one of 100 members of 'stress:zset'
-- and counts itself in the string 'stress:zset:count'; zset.check.sql then
-- checks that the scores add up to that count.
-- The reads take the same partition lock shared while the writes take it
-- exclusive, and check rank lookups and range copies under contention.
\set m random(1, 100)
SELECT kv.zincrby('stress:zset', 1, 'member:' || :m);
SELECT kv.incr('stress:zset:count');
SELECT kv.zrevrank('stress:zset', 'member:' || :m);
SELECT count(*) FROM kv.zrevrange('stress:zset', 0, 9);
