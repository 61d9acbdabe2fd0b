-- pgbench script: concurrent HINCRBY / HINCRBYFLOAT on shared hash fields,
-- plus per-client HSET/HDEL churn that allocates and frees arena memory.
--
-- Run with any number of clients against a fresh 'stress.hash*' keyspace,
-- e.g. pgbench -n -c 8 -j 2 -T 30 -f test/stress/hash.sql (any -M mode),
-- then check, with N = the number of transactions pgbench reports as processed:
--   SELECT sum(value::bigint) FROM kv.hgetall('stress.hash')     -- = N
--   SELECT kv.hget('stress.hash.float', 'total')::numeric         -- = N / 2
--   SELECT count(*) FROM kv.keys('stress.hash.client.*')          -- = 0
-- (every client deletes the field it set, so its churn key is gone again).
-- Key names have no ':' because pgbench -M prepared would take ':hash' for
-- a variable even inside a string literal.
\set f random(1, 16)
SELECT kv.hincrby('stress.hash', 'f' || :f::int, 1);
SELECT kv.hincrbyfloat('stress.hash.float', 'total', 0.5);
SELECT kv.hset('stress.hash.client.' || :client_id::int, 'tmp' || :f::int, repeat('x', :f::int * 200));
SELECT kv.hdel('stress.hash.client.' || :client_id::int, 'tmp' || :f::int);
