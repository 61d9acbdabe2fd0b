-- pgbench script: concurrent ZINCRBY on one shared sorted set, with readers.
-- Every transaction adds exactly 1 to one of 100 members of 'stress:zset', so
-- after a run of T transactions (and a kv.del('stress:zset') before it):
--   SELECT sum(score) = T FROM kv.zrange('stress:zset', 0, -1);
--   SELECT count(*) <= 100 FROM kv.zrange('stress:zset', 0, -1);
-- The reads take the same partition lock shared while the writes take it
-- exclusive, and check rank lookups and range copies under contention.
\set m random(1, 100)
SELECT kv.zincrby('stress:zset', 1, 'member:' || :m);
SELECT kv.zrevrank('stress:zset', 'member:' || :m);
SELECT count(*) FROM kv.zrevrange('stress:zset', 0, 9);
