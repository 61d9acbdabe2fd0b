-- invariant after test/stress/zset.sql: the scores add up to the number of
-- transactions, and there are at most 100 members
SELECT (SELECT sum(score) FROM kv.zrange('stress:zset', 0, -1)) = kv.get('stress:zset:count')::float8
       AND kv.zcard('stress:zset') BETWEEN 1 AND 100;
