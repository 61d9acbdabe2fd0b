-- demo/demo.sql: a short tour of kvcache, run by `make run` (safe to re-run)
\set ON_ERROR_STOP on
\pset footer off
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS kvcache;
RESET client_min_messages;
SELECT kv.flushdb() AS "keys cleared from an earlier run";

\echo
\echo '== A session cache with a TTL =='
SELECT kv.set('session:42', '{"user": "ada", "cart": [17, 23]}', ttl => interval '30 minutes') AS stored;
SELECT kv.get('session:42') AS session, kv.ttl('session:42') AS seconds_to_live;
\echo 'Touching the session extends it; a plain SET would clear the TTL, keepttl keeps it:'
SELECT kv.expire('session:42', interval '1 hour') AS extended, kv.ttl('session:42') AS seconds_to_live;
SELECT kv.set('session:42', '{"user": "ada", "cart": [17, 23, 99]}', keepttl => true) AS updated,
       kv.ttl('session:42') AS seconds_to_live;
\echo 'A short-lived key vanishes on its own:'
SELECT kv.set('otp:ada', '914235', ttl => interval '200 milliseconds') AS stored, kv.get('otp:ada') AS otp;
SELECT pg_sleep(0.3);
SELECT kv.get('otp:ada') AS otp_after_expiry, kv.exists('otp:ada') AS exists;

\echo
\echo '== Counters =='
SELECT kv.incr('page:/home:views') AS views FROM generate_series(1, 5) ORDER BY 1 DESC LIMIT 1;
SELECT kv.incr('page:/home:views', 100) AS after_bulk_add;
SELECT kv.incrbyfloat('revenue:today', 19.99) AS revenue;
SELECT kv.incrbyfloat('revenue:today', 5.01) AS revenue;
\echo 'Rate limiting: at most 3 requests per 10 seconds per client'
SELECT n AS request, c AS count_in_window, c <= 3 AS allowed
  FROM generate_series(1, 5) n,
       LATERAL (SELECT kv.incr('ratelimit:10.0.0.7') AS c WHERE n > 0) i,  -- once per n
       LATERAL (SELECT CASE WHEN c = 1 THEN kv.expire('ratelimit:10.0.0.7', interval '10 seconds') END) w
 ORDER BY n;

\echo
\echo '== Many keys at once, and the keyspace =='
SELECT kv.mset(ARRAY['user:1:name', 'user:2:name', 'user:3:name'], ARRAY['Ada', 'Grace', 'Edsger']);
SELECT kv.mget(ARRAY['user:1:name', 'user:2:name', 'user:9:name']) AS names;
SELECT k AS user_keys FROM kv.keys('user:*') k ORDER BY 1;

\echo
\echo '== Monitoring =='
SELECT keys, expires, used_memory, max_memory, eviction_policy, keyspace_hits, keyspace_misses
  FROM kv.stats;

\ir feed.sql
