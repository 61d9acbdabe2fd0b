-- invariant after test/stress/hash.sql: every transaction added 1 to one
-- integer field and 0.5 to the float total; churn keys are all deleted
SELECT (SELECT sum(value::bigint) FROM kv.hgetall('stress.hash')) * 0.5
           = kv.hget('stress.hash.float', 'total')::numeric
       AND (SELECT sum(value::bigint) FROM kv.hgetall('stress.hash')) > 0
       AND (SELECT count(*) FROM kv.keys('stress.hash.client.*')) = 0;
