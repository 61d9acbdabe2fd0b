-- kvcache.transactional under concurrency: each transaction bumps one
-- row's counter and, transactionally, a string counter, a hash field and a
-- list of that row; a savepoint rolled back in between adds a write that
-- must vanish; one transaction in four rolls back.  Concurrent bumps of
-- one key fail with 40001 at COMMIT and pgbench retries them, so the kv
-- values must end equal to the table's counters (test/stress/txn.check.sql).
\set k random(1, 8)
\set rb random(1, 4)
BEGIN;
SET LOCAL kvcache.transactional = on;
SELECT kv.incr('stress.txn.n.' || :k);
SELECT kv.hincrby('stress.txn.h.' || :k, 'n', 1);
SAVEPOINT s;
SELECT kv.incr('stress.txn.n.' || :k, 1000);
SELECT kv.rpush('stress.txn.l.' || :k, 'rolled back');
ROLLBACK TO SAVEPOINT s;
SELECT kv.rpush('stress.txn.l.' || :k, 'x');
UPDATE stress_txn SET n = n + 1 WHERE k = :k;
\if :rb = 1
ROLLBACK;
\else
COMMIT;
\endif
