-- pgbench script: concurrent HINCRBY / HINCRBYFLOAT on shared hash fields,
-- plus per-client HSET/HDEL churn that allocates and frees arena memory.
--
-- test/stress.sh runs it with the other scripts; hash.check.sql then checks
-- that the HINCRBY total is twice the HINCRBYFLOAT total (each transaction
-- adds 1 and 0.5) and that every churn key is gone again (every client
-- deletes the field it set).
-- Key names have no ':' because pgbench -M prepared would take ':hash' for
-- a variable even inside a string literal.
\set f random(1, 16)
SELECT kv.hincrby('stress.hash', 'f' || :f::int, 1);
SELECT kv.hincrbyfloat('stress.hash.float', 'total', 0.5);
SELECT kv.hset('stress.hash.client.' || :client_id::int, 'tmp' || :f::int, repeat('x', :f::int * 200));
SELECT kv.hdel('stress.hash.client.' || :client_id::int, 'tmp' || :f::int);
