SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS kvcache;
RESET client_min_messages;
SELECT kv.flushdb() >= 0;

-- run a statement, report its SQLSTATE and message instead of failing
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- the whole list as an array, in list order
CREATE FUNCTION pg_temp.l(k text) RETURNS text[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(v ORDER BY i), '{}')
    FROM kv.lrange(k, 0, -1) WITH ORDINALITY AS t(v, i)
$$;

-- ---------------------------------------------------------------- push, length, type
SELECT kv.lpush('l', 'a', 'b', 'c', 'd');   -- 4: LPUSH a b c d gives d c b a
SELECT pg_temp.l('l');
SELECT kv.rpush('l', 'e', 'f');             -- 6
SELECT pg_temp.l('l');
SELECT kv.llen('l'), kv.llen('missing'), kv.type('l');
SELECT kv.lpush('l', VARIADIC ARRAY[]::text[]);        -- nothing pushed: current length
SELECT kv.rpush('nolist', VARIADIC ARRAY[]::text[]), kv.exists('nolist');

-- ---------------------------------------------------------------- LRANGE
SELECT pg_temp.l('l');
-- lrange is an SRF in list order; WITH ORDINALITY shows the order
SELECT * FROM kv.lrange('l', 1, 3) WITH ORDINALITY;
SELECT array(SELECT kv.lrange('l', -3, -1)) AS last3,
       array(SELECT kv.lrange('l', -100, 1)) AS clamped_start,
       array(SELECT kv.lrange('l', 4, 100)) AS clamped_stop,
       array(SELECT kv.lrange('l', 3, 2)) AS start_past_stop,
       array(SELECT kv.lrange('l', 6, 10)) AS start_past_end,
       array(SELECT kv.lrange('l', -100, -50)) AS both_before,
       array(SELECT kv.lrange('missing', 0, -1)) AS missing;

-- ---------------------------------------------------------------- LINDEX
SELECT kv.lindex('l', 0), kv.lindex('l', 5), kv.lindex('l', -1), kv.lindex('l', -6),
       kv.lindex('l', 6) IS NULL AS past_end, kv.lindex('l', -7) IS NULL AS before_start,
       kv.lindex('missing', 0) IS NULL AS missing;

-- ---------------------------------------------------------------- LPOP / RPOP
SELECT kv.lpop('l'), kv.rpop('l'), pg_temp.l('l');
SELECT kv.lpop('missing') IS NULL, kv.rpop('missing') IS NULL;
-- popping with a count returns elements in pop order
SELECT * FROM kv.lpop('l', 2) WITH ORDINALITY;
SELECT kv.rpush('l', 'x', 'y', 'z');
SELECT * FROM kv.rpop('l', 2) WITH ORDINALITY;
SELECT count(*) AS popped_zero FROM kv.lpop('l', 0);
SELECT pg_temp.l('l'), kv.exists('l');
SELECT count(*) AS missing_key FROM kv.rpop('missing', 3);
SELECT * FROM kv.rpop('l', 100) WITH ORDINALITY;    -- more than the length: all
SELECT kv.exists('l') AS still_exists;               -- emptied list is deleted
SELECT kv.rpush('l', 'only'), kv.lpop('l'), kv.exists('l');
SELECT kv.rpush('l', 'only'), kv.rpop('l'), kv.exists('l');
SELECT pg_temp.err($$SELECT * FROM kv.lpop('l', -1)$$);
SELECT pg_temp.err($$SELECT * FROM kv.rpop('l', NULL)$$);

-- ---------------------------------------------------------------- LSET
SELECT kv.rpush('s', 'a', 'b', 'c');
SELECT kv.lset('s', 0, 'A'), kv.lset('s', -1, 'C'), kv.lset('s', 1, repeat('b', 200));
SELECT kv.lindex('s', 0), length(kv.lindex('s', 1)), kv.lindex('s', 2), kv.llen('s');
SELECT pg_temp.err($$SELECT kv.lset('s', 3, 'x')$$);
SELECT pg_temp.err($$SELECT kv.lset('s', -4, 'x')$$);
SELECT pg_temp.err($$SELECT kv.lset('missing', 0, 'x')$$), kv.exists('missing');
SELECT pg_temp.err($$SELECT kv.lset('s', 0, NULL)$$);

-- ---------------------------------------------------------------- LINSERT
SELECT kv.del('i'), kv.rpush('i', 'a', 'b', 'a', 'c');
SELECT kv.linsert('i', true, 'a', 'before-a');    -- first pivot only
SELECT kv.linsert('i', false, 'a', 'after-a');
SELECT kv.linsert('i', false, 'c', 'after-c');    -- after the last element
SELECT kv.linsert('i', true, 'before-a', 'first');
SELECT pg_temp.l('i');
SELECT kv.linsert('i', true, 'nope', 'x') AS missing_pivot, kv.llen('i');
SELECT kv.linsert('missing', true, 'a', 'x') AS missing_key, kv.exists('missing');
SELECT kv.linsert('i', true, 'A', 'x') AS case_matters;    -- byte comparison

-- ---------------------------------------------------------------- LREM
SELECT kv.del('r'), kv.rpush('r', 'x', 'a', 'x', 'b', 'x', 'c', 'x');
SELECT kv.lrem('r', 2, 'x'), pg_temp.l('r');     -- from the head
SELECT kv.lrem('r', -1, 'x'), pg_temp.l('r');    -- from the tail
SELECT kv.rpush('r', 'x', 'x');
SELECT kv.lrem('r', 0, 'x'), pg_temp.l('r');     -- all
SELECT kv.lrem('r', 0, 'nope'), kv.lrem('missing', 1, 'a');
SELECT kv.lrem('r', -9223372036854775808, 'a'), pg_temp.l('r');
SELECT kv.lrem('r', 0, 'b'), kv.lrem('r', 1, 'c'), kv.exists('r');   -- emptied: deleted

-- ---------------------------------------------------------------- LTRIM
SELECT kv.rpush('t', 'a', 'b', 'c', 'd', 'e');
SELECT kv.ltrim('t', 1, -2), pg_temp.l('t');
SELECT kv.ltrim('t', -100, 100), pg_temp.l('t');     -- clamped: unchanged
SELECT kv.ltrim('t', 1, 1), pg_temp.l('t');
SELECT kv.ltrim('t', 1, 0), kv.exists('t');          -- empty range deletes the key
SELECT kv.rpush('t', 'a', 'b'), kv.ltrim('t', 5, 10), kv.exists('t');
SELECT kv.rpush('t', 'a', 'b'), kv.ltrim('t', 0, -3), kv.exists('t');
SELECT kv.ltrim('missing', 0, 1), kv.exists('missing');

-- ---------------------------------------------------------------- wrong type, NULLs
SELECT kv.set('str', 'v');
SELECT pg_temp.err($$SELECT kv.lpush('str', 'a')$$);
SELECT pg_temp.err($$SELECT kv.rpush('str', 'a')$$);
SELECT pg_temp.err($$SELECT kv.lpop('str')$$);
SELECT pg_temp.err($$SELECT * FROM kv.rpop('str', 1)$$);
SELECT pg_temp.err($$SELECT * FROM kv.lpop('str', 0)$$);
SELECT pg_temp.err($$SELECT * FROM kv.lrange('str', 0, -1)$$);
SELECT pg_temp.err($$SELECT kv.lindex('str', 0)$$);
SELECT pg_temp.err($$SELECT kv.llen('str')$$);
SELECT pg_temp.err($$SELECT kv.lset('str', 0, 'a')$$);
SELECT pg_temp.err($$SELECT kv.ltrim('str', 0, 1)$$);
SELECT pg_temp.err($$SELECT kv.lrem('str', 0, 'a')$$);
SELECT pg_temp.err($$SELECT kv.linsert('str', true, 'a', 'b')$$);
SELECT pg_temp.err($$SELECT * FROM kv.blpop(ARRAY['str'], 0.1)$$);
SELECT kv.get('str') AS unchanged;
SELECT pg_temp.err($$SELECT kv.lpush(NULL, 'a')$$);
SELECT pg_temp.err($$SELECT kv.rpush('n', 'a', NULL)$$), kv.exists('n');
SELECT pg_temp.err($$SELECT kv.rpush('n', VARIADIC NULL::text[])$$);
SELECT pg_temp.err($$SELECT kv.lpop(NULL)$$);
SELECT pg_temp.err($$SELECT kv.linsert('n', NULL, 'a', 'b')$$);
SELECT pg_temp.err($$SELECT kv.lrem('n', 1, NULL)$$);
SELECT pg_temp.err($$SELECT kv.ltrim('n', NULL, 1)$$);
SELECT kv.lindex(NULL, 0) IS NULL, kv.llen(NULL) IS NULL,
       (SELECT count(*) FROM kv.lrange(NULL, 0, -1)) AS lrange_null;

-- ---------------------------------------------------------------- element encodings and sizes
SELECT kv.rpush('enc', '', 'é€', repeat('x', 127), repeat('y', 128), repeat('z', 5000), 'tail');
SELECT i, length(v), left(v, 3) FROM kv.lrange('enc', 0, -1) WITH ORDINALITY AS t(v, i) ORDER BY i;
SELECT length(kv.rpop('enc')), length(kv.rpop('enc')), length(kv.lpop('enc')), kv.llen('enc');

-- pushes keep the TTL
SELECT kv.expire('enc', interval '1 hour'), kv.rpush('enc', 'more'), kv.ttl('enc') > 3000;

-- ---------------------------------------------------------------- a long list: many nodes
SELECT count(kv.rpush('big', 'e' || g)) FROM generate_series(1, 20000) g;
SELECT count(kv.lpush('big', 'h' || g)) FROM generate_series(1, 5000) g;
SELECT kv.llen('big'), kv.lindex('big', 0), kv.lindex('big', 4999), kv.lindex('big', 5000),
       kv.lindex('big', 15000), kv.lindex('big', -1), kv.lindex('big', -20000);
SELECT array(SELECT kv.lrange('big', 12345, 12349)) AS middle,
       (SELECT count(*) FROM kv.lrange('big', 0, -1)) AS all_rows;
-- changes in the middle: a big value splits a node, inserts, removals
SELECT kv.lset('big', 10000, repeat('S', 6000)), kv.lset('big', 10001, repeat('s', 3000));
SELECT kv.linsert('big', true, 'e9000', repeat('I', 5000)), kv.linsert('big', false, 'e9000', 'after');
SELECT length(kv.lindex('big', 10000)), length(kv.lindex('big', 10001)), kv.lindex('big', 10002),
       array(SELECT left(v, 5) || ':' || length(v) FROM kv.lrange('big', 13998, 14003) AS v) AS around_insert;
SELECT kv.lrem('big', 0, 'e9000'), kv.lrem('big', -1, 'after'), kv.lrem('big', 1, repeat('I', 5000));
SELECT kv.llen('big'), array(SELECT kv.lrange('big', 13998, 14001)) AS after_removal;
SELECT kv.ltrim('big', 100, -101), kv.llen('big'), kv.lindex('big', 0), kv.lindex('big', -1);
-- the first and last 1000 elements pop in order
SELECT bool_and(v = 'h' || (4901 - i)) FROM kv.lpop('big', 1000) WITH ORDINALITY AS t(v, i);
SELECT bool_and(v = 'e' || (19901 - i)) FROM kv.rpop('big', 1000) WITH ORDINALITY AS t(v, i);
SELECT kv.llen('big');

-- deleting a list gives all its nodes back to the arena
SELECT kv.rpush('mem', 'warm'), kv.del('mem');
SELECT used_memory AS used_before FROM kv.stats \gset
SELECT count(kv.rpush('mem', repeat('m', g % 300))) FROM generate_series(1, 5000) g;
SELECT kv.del('mem');
SELECT used_memory = :used_before AS all_freed FROM kv.stats;

-- ---------------------------------------------------------------- BLPOP / BRPOP without waiting
SELECT kv.rpush('b1', 'one', 'two'), kv.rpush('b2', 'three');
SELECT * FROM kv.blpop(ARRAY['b1', 'b2'], 1);            -- head of the first non-empty key
SELECT * FROM kv.brpop(ARRAY['empty', 'b2', 'b1'], 0);   -- keys in order, skipping empty ones
SELECT kv.exists('b2');
SELECT * FROM kv.brpop(ARRAY['b1'], 0.1);
SELECT kv.exists('b1');
-- a wrong-type key raises only if it is reached before a non-empty list
SELECT kv.rpush('b3', 'v');
SELECT * FROM kv.blpop(ARRAY['b3', 'str'], 0.1);
SELECT pg_temp.err($$SELECT * FROM kv.blpop(ARRAY['empty', 'str'], 0.1)$$);
-- an empty key times out after about timeout seconds with no row
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) AS timed_out FROM kv.blpop(ARRAY['empty1', 'empty2'], 0.1);
SELECT clock_timestamp() - :'t0'::timestamptz BETWEEN interval '0.09 s' AND interval '5 s' AS waited;
SELECT kv.exists('empty1');
SELECT pg_temp.err($$SELECT * FROM kv.blpop(ARRAY['b1'], -1)$$);
SELECT pg_temp.err($$SELECT * FROM kv.blpop(ARRAY['b1'], 'NaN')$$);
SELECT pg_temp.err($$SELECT * FROM kv.blpop(ARRAY['b1'], 'Infinity')$$);
SELECT pg_temp.err($$SELECT * FROM kv.blpop(ARRAY['b1'], 2e9)$$);
SELECT pg_temp.err($$SELECT * FROM kv.blpop(ARRAY[]::text[], 1)$$);
SELECT pg_temp.err($$SELECT * FROM kv.blpop(NULL, 1)$$);
SELECT pg_temp.err($$SELECT * FROM kv.blpop(ARRAY['a', NULL], 1)$$);
SELECT pg_temp.err($$SELECT * FROM kv.brpop(ARRAY['a'], NULL)$$);
SELECT pg_temp.err($$SELECT * FROM kv.blpop(array(SELECT 'k' || g FROM generate_series(1, 33) g), 1)$$);

SELECT kv.flushdb() >= 0;
