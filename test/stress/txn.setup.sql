-- setup for test/stress/txn.sql: counters in a table that transactional
-- kv writes must keep in step with
CREATE TABLE stress_txn (k int PRIMARY KEY, n bigint NOT NULL);
INSERT INTO stress_txn SELECT g, 0 FROM generate_series(1, 8) g;
