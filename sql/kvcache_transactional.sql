-- kvcache.transactional: kv writes in a transaction block apply at commit
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS kvcache;
RESET client_min_messages;
SELECT kv.flushdb() >= 0 AS flushed;

-- run a statement, report its SQLSTATE and message instead of failing
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

SHOW kvcache.transactional;
SELECT used_memory AS mem0 FROM kv.stats \gset

-- off (the default): writes in a block are applied at once, kept at rollback
BEGIN;
SELECT kv.set('off', 'kept');
ROLLBACK;
SELECT kv.get('off');

SET kvcache.transactional = on;
-- outside a transaction block nothing changes either
SELECT kv.set('auto', '1');
SELECT kv.get('auto');

-- ---------------------------------------------------------------- rollback
BEGIN;
SELECT kv.set('s', 'v', ttl => interval '1 hour');
SELECT kv.incr('auto');
SELECT kv.rpush('l', 'a', 'b');
SELECT kv.hset('h', 'f', 'x');
SELECT kv.zadd('z', 1, 'm');
-- the transaction reads its own writes
SELECT kv.get('s'), kv.ttl('s') > 3500 AS ttl_kept, kv.get('auto');
SELECT kv.lrange('l', 0, -1) AS l, kv.hget('h', 'f'), kv.zscore('z', 'm');
SELECT kv.exists('s'), kv.type('l'), kv.type('h'), kv.type('z');
-- key listings show committed keys only
SELECT * FROM kv.keys('*') ORDER BY 1;
ROLLBACK;
SELECT kv.get('s'), kv.get('auto'), kv.exists('l'), kv.exists('h'), kv.exists('z');
SELECT keys FROM kv.stats;

-- ---------------------------------------------------------------- commit
BEGIN;
SELECT kv.set('s', 'v', ttl => interval '1 hour');
SELECT kv.incr('auto'), kv.incr('auto', 10);
SELECT kv.rpush('l', 'a', 'b'), kv.lpush('l', 'c');
SELECT kv.hset('h', ARRAY['f', 'g'], ARRAY['x', 'y']);
SELECT kv.zadd('z', ARRAY[1, 2]::float8[], ARRAY['m', 'n']);
SELECT kv.mset(ARRAY['m1', 'm2'], ARRAY['1', '2']);
COMMIT;
SELECT kv.get('s'), kv.ttl('s') > 3500 AS ttl_kept, kv.get('auto'), kv.get('m1'), kv.get('m2');
SELECT kv.lrange('l', 0, -1) AS l;
SELECT * FROM kv.hgetall('h') ORDER BY 1;
SELECT kv.zrange('z', 0, -1) AS z, kv.zscore('z', 'm') AS m, kv.zscore('z', 'n') AS n;
SELECT * FROM kv.keys('*') ORDER BY 1;
SELECT keys FROM kv.stats;

-- containers are copied at the first write: changes stay private until commit
BEGIN;
SELECT kv.rpop('l'), kv.hdel('h', 'f'), kv.zrem('z', 'm'), kv.zincrby('z', 5, 'n');
SELECT kv.lrange('l', 0, -1) AS l, kv.hlen('h'), kv.zscore('z', 'n');
ROLLBACK;
SELECT kv.lrange('l', 0, -1) AS l, kv.hlen('h'), kv.zscore('z', 'n'), kv.zscore('z', 'm');

-- deletes, expiry changes and emptied containers apply at commit
BEGIN;
SELECT kv.del('m1', 'm2', 'nope');
SELECT kv.lpop('l', 3);
SELECT kv.persist('s'), kv.ttl('s');
SELECT kv.exists('m1'), kv.exists('l');
COMMIT;
SELECT kv.exists('m1'), kv.exists('m2'), kv.exists('l'), kv.ttl('s');

-- ---------------------------------------------------------------- savepoints
SELECT kv.set('c', '0');
BEGIN;
SELECT kv.incr('c');                      -- 1
SAVEPOINT a;
SELECT kv.incr('c');                      -- 2
SELECT kv.set('new_in_a', 'x');
SAVEPOINT b;
SELECT kv.incr('c');                      -- 3
RELEASE b;
SELECT kv.get('c'), kv.get('new_in_a');
ROLLBACK TO a;
SELECT kv.get('c'), kv.exists('new_in_a');
SAVEPOINT d;
SELECT kv.del('c');
SAVEPOINT e;
SELECT kv.set('c', 'again');
ROLLBACK TO e;
SELECT kv.exists('c');
ROLLBACK TO d;
SELECT kv.get('c');
COMMIT;
SELECT kv.get('c'), kv.exists('new_in_a');

-- an error in a PL/pgSQL block rolls its writes back
DO $$
BEGIN
    PERFORM kv.set('in_block', '1');
    BEGIN
        PERFORM kv.incr('c');
        PERFORM kv.incr('in_block');
        PERFORM kv.rpush('c', 'wrong type');
    EXCEPTION WHEN wrong_object_type THEN
        RAISE NOTICE 'caught: c=%, in_block=%', kv.get('c'), kv.get('in_block');
    END;
END $$;
-- outside BEGIN, the block's own writes apply at once, but those made in
-- its EXCEPTION block (a subtransaction) are transactional: the incr of c
-- was rolled back with it, and in_block applied when the statement ended
SELECT kv.get('c'), kv.get('in_block');
BEGIN;
DO $$
BEGIN
    PERFORM kv.set('in_block2', '1');
    BEGIN
        PERFORM kv.incr('in_block2');
        RAISE EXCEPTION 'boom';
    EXCEPTION WHEN raise_exception THEN
        RAISE NOTICE 'caught: in_block2=%', kv.get('in_block2');
    END;
END $$;
COMMIT;
SELECT kv.get('in_block2');

-- an error aborts the whole transaction: nothing is applied
BEGIN;
SELECT kv.set('lost', '1');
SELECT kv.lpush('c', 'wrong type');
COMMIT;
SELECT kv.exists('lost');

-- ---------------------------------------------------------------- other commands
-- get_or_load reads a pending write, and does not store over it
BEGIN;
SELECT kv.set('user:1', 'pending');
SELECT kv.get_or_load('user:1', 'SELECT ''loaded''');
SELECT kv.del('user:1');
SELECT kv.get_or_load('user:1', 'SELECT ''loaded''');
SELECT kv.exists('user:1');
COMMIT;
SELECT kv.exists('user:1');

-- blocking pops do not block (as in Redis MULTI)
SELECT kv.rpush('q', 'job');
BEGIN;
SELECT * FROM kv.blpop(ARRAY['empty', 'q'], 0);
SELECT * FROM kv.blpop(ARRAY['empty', 'q'], 0);
ROLLBACK;
SELECT kv.lrange('q', 0, -1) AS q;

-- flushes and PREPARE TRANSACTION are refused
BEGIN;
SELECT pg_temp.err('SELECT kv.flushdb()');
SELECT pg_temp.err('SELECT kv.flushall()');
ROLLBACK;
BEGIN;
SELECT kv.set('p', '1');
PREPARE TRANSACTION 'kv_txn';
SELECT kv.exists('p');

-- turning the setting off inside the block keeps pending keys pending
BEGIN;
SELECT kv.set('k1', '1');
SET LOCAL kvcache.transactional = off;
SELECT kv.set('k1', '2'), kv.set('k2', '2');
ROLLBACK;
SELECT kv.get('k1'), kv.get('k2');

-- everything is given back
SELECT kv.flushdb() > 0 AS flushed;
SELECT used_memory = :mem0 AS memory_back, keys FROM kv.stats;
