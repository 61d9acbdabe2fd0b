-- kvcache TTL: millisecond expiry, Redis TTL/PTTL conventions, lazy and active expiry
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS kvcache;
RESET client_min_messages;
SELECT kv.flushdb() >= 0 AS flushed;

-- -2 for a missing key, -1 for a key without expiry
SELECT kv.ttl('nokey'), kv.pttl('nokey');
SELECT kv.set('p', 'v');
SELECT kv.ttl('p'), kv.pttl('p');
SELECT kv.ttl(NULL) IS NULL AS ttl_null;

-- a TTL in seconds is rounded to the nearest second
SELECT kv.set('t', 'v', ttl => '100 s');
SELECT kv.ttl('t'), kv.pttl('t') BETWEEN 99000 AND 100000 AS pttl_ok;
SELECT kv.set('t', 'v', ttl => '1400 ms');
SELECT kv.ttl('t');
SELECT kv.set('t', 'v', ttl => '1600 ms');
SELECT kv.ttl('t');
SELECT kv.set('t', 'v', ttl => '1 day');
SELECT kv.ttl('t');
SELECT kv.set('t', 'v', ttl => '1 mon');
SELECT kv.ttl('t') AS one_month_is_30_days;

-- a TTL below a millisecond is still a positive TTL
SELECT kv.set('tiny', 'v', ttl => '500 microseconds');
SELECT kv.expire('p', '0.5 ms') AS expire_sub_ms, kv.pttl('p') <= 1 AS pttl_at_most_1;
SELECT kv.set('p', 'v');

-- a plain SET clears the TTL; keepttl keeps it
SELECT kv.set('t', 'v2', ttl => '100 s');
SELECT kv.set('t', 'v3', keepttl => true);
SELECT kv.ttl('t'), kv.get('t');
SELECT kv.set('t', 'v4');
SELECT kv.ttl('t');
-- keepttl on a key without TTL, and on a new key
SELECT kv.set('t', 'v5', keepttl => true);
SELECT kv.ttl('t');
SELECT kv.set('knew', 'v', keepttl => true);
SELECT kv.ttl('knew');

-- INCR, APPEND and INCRBYFLOAT keep the TTL; GETSET clears it
SELECT kv.set('c', '1', ttl => '100 s');
SELECT kv.incr('c'), kv.ttl('c');
SELECT kv.append('c', '0'), kv.ttl('c'), kv.get('c');
SELECT kv.incrbyfloat('c', 0.5), kv.ttl('c');
SELECT kv.getset('c', 'x'), kv.ttl('c');

-- EXPIRE and PERSIST
SELECT kv.expire('nokey', '10 s');
SELECT kv.expire('p', '10 s'), kv.ttl('p');
SELECT kv.persist('p'), kv.ttl('p');
SELECT kv.persist('p') AS persist_again;
SELECT kv.persist('nokey') AS persist_missing;
-- a non-positive TTL deletes the key
SELECT kv.expire('p', '0 s'), kv.exists('p');
SELECT kv.set('p', 'v');
SELECT kv.expire('p', '-5 s'), kv.exists('p');
SELECT kv.expire('p', '-5 s') AS expire_missing;

-- an expired key is never returned: get, exists, type, ttl, mget, keys
SELECT kv.set('e1', 'soon', ttl => '300 ms');
SELECT kv.set('e2', 'soon', ttl => '300 ms');
SELECT kv.get('e1'), kv.exists('e1');
SELECT pg_sleep(0.6);
SELECT kv.get('e1') IS NULL AS gone, kv.exists('e1'), kv.type('e1'), kv.ttl('e1'),
       kv.mget(ARRAY['e1', 'e2']);
SELECT count(*) AS expired_listed FROM kv.keys('e*');
-- SET NX succeeds over an expired key; DEL does not count it
SELECT kv.set('e2', 'fresh', nx => true);
SELECT kv.del('e1');

-- active expiry reclaims keys that are never read again
SELECT kv.mset(array_agg('bulk:' || g), array_agg(g::text)) FROM generate_series(1, 500) g;
SELECT count(*) FROM (SELECT kv.expire('bulk:' || g, '100 ms') FROM generate_series(1, 500) g) s;
SELECT kv.dbsize() >= 500 AS before_expiry;
SELECT pg_sleep(1.5);
SELECT kv.dbsize() AS after_expiry;
SELECT expires FROM kv.stats;

SELECT kv.flushdb() >= 0 AS flushed;
