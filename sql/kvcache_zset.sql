-- kvcache sorted sets: ZADD/ZRANGE and friends, with Redis semantics.
-- Range functions return rows in Redis's order, which is what they test:
-- their output is shown in the order the function returns it.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS kvcache;
RESET client_min_messages;
SELECT kv.flushdb() >= 0 AS flushed;

-- run a statement, report its SQLSTATE and message instead of failing
CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- add, score, card, type; adding an existing member adds nothing
SELECT kv.zadd('z', 1, 'one');
SELECT kv.zadd('z', 2, 'two'), kv.zadd('z', 3, 'three');
SELECT kv.zadd('z', 1, 'one');
SELECT kv.zcard('z'), kv.zscore('z', 'two'), kv.type('z');
-- a missing member or key reads as empty
SELECT kv.zscore('z', 'nope') AS missing_member, kv.zscore('nokey', 'x') AS missing_key,
       kv.zcard('nokey') AS card, kv.zrank('nokey', 'x') AS rank;
SELECT count(*) FROM kv.zrange('nokey', 0, -1);

-- ties are ordered by member bytes (memcmp: 'B' < 'a', a prefix first),
-- never by the database collation
SELECT kv.zadd('eq', ARRAY[0, 0, 0, 0, 0, 0, 0]::float8[],
               ARRAY['b', 'a', 'B', 'ab', '', 'a b', 'aa']);
SELECT * FROM kv.zrange('eq', 0, -1);
SELECT * FROM kv.zrevrange('eq', 0, 2);
SELECT kv.zrank('eq', ''), kv.zrank('eq', 'B'), kv.zrank('eq', 'b'), kv.zrevrank('eq', 'b');

-- rank ranges: negative indexes count from the end, ends are clamped,
-- start past stop or past the end gives nothing
SELECT kv.zadd('r', ARRAY[1, 2, 3, 4, 5]::float8[], ARRAY['a', 'b', 'c', 'd', 'e']);
SELECT string_agg(member, ',' ORDER BY ord) AS zrange, start, stop
  FROM (VALUES (0, -1), (0, 0), (-1, -1), (-2, -1), (1, 3), (-100, 1), (3, 100),
               (3, 1), (5, 10), (-100, -90), (-3, 2), (-9223372036854775808, 9223372036854775807)) v(start, stop)
  LEFT JOIN LATERAL kv.zrange('r', start, stop) WITH ORDINALITY t(member, score, ord) ON true
 GROUP BY start, stop ORDER BY start, stop;
SELECT string_agg(member, ',' ORDER BY ord) AS zrevrange, start, stop
  FROM (VALUES (0, -1), (0, 1), (-2, -1), (1, 100), (-100, 0), (2, 1)) v(start, stop)
  LEFT JOIN LATERAL kv.zrevrange('r', start, stop) WITH ORDINALITY t(member, score, ord) ON true
 GROUP BY start, stop ORDER BY start, stop;

-- score ranges: inclusive by default, exclusive ends, empty ranges
SELECT string_agg(member, ',' ORDER BY ord) AS members, lo, hi, lox, hix
  FROM (VALUES (2::float8, 4::float8, false, false), (2, 4, true, false), (2, 4, false, true),
               (2, 4, true, true), (4, 2, false, false), (3, 3, false, false),
               (3, 3, true, false), (3, 3, false, true), (0, 1.5, false, false),
               ('-infinity', 'infinity', false, false), (5, 'infinity', true, false)
       ) v(lo, hi, lox, hix)
  LEFT JOIN LATERAL kv.zrangebyscore('r', lo, hi, lox, hix) WITH ORDINALITY t(member, score, ord) ON true
 GROUP BY lo, hi, lox, hix ORDER BY lo, hi, lox, hix;
SELECT kv.zcount('r', 2, 4), kv.zcount('r', 2, 4, true), kv.zcount('r', 2, 4, max_exclusive => true),
       kv.zcount('r', 2, 4, true, true), kv.zcount('r', 4, 2), kv.zcount('r', 3, 3, true),
       kv.zcount('r', '-infinity', 'infinity'), kv.zcount('nokey', 0, 1);
-- zrevrangebyscore takes max first, and max_exclusive before min_exclusive
SELECT * FROM kv.zrevrangebyscore('r', 4, 2);
SELECT * FROM kv.zrevrangebyscore('r', 4, 2, true);
SELECT * FROM kv.zrevrangebyscore('r', 4, 2, min_exclusive => true);
SELECT * FROM kv.zrevrangebyscore('r', 2, 4);
-- limit: offset skips, count -1 (or any negative) means all, count 0 nothing;
-- a negative offset returns nothing, as in Redis
SELECT string_agg(member, ',' ORDER BY ord) AS members, off, cnt
  FROM (VALUES (0, -1), (1, 2), (1, -1), (1, -5), (4, 10), (5, 1), (0, 0), (-1, 2), (100, 1)) v(off, cnt)
  LEFT JOIN LATERAL kv.zrangebyscore('r', '-infinity', 'infinity', limit_offset => off, limit_count => cnt)
       WITH ORDINALITY t(member, score, ord) ON true
 GROUP BY off, cnt ORDER BY off, cnt;
SELECT * FROM kv.zrevrangebyscore('r', 'infinity', '-infinity', limit_offset => 1, limit_count => 2);
SELECT * FROM kv.zrangebyscore('r', 2, 5, true, limit_offset => 1);
-- NaN bounds are rejected
SELECT pg_temp.try($$SELECT kv.zcount('r', 'NaN', 1)$$);
SELECT pg_temp.try($$SELECT * FROM kv.zrangebyscore('r', 0, 'NaN')$$);

-- infinite scores are ordinary scores
SELECT kv.zadd('inf', ARRAY['-infinity', 'infinity', 0]::float8[], ARRAY['lo', 'hi', 'mid']);
SELECT * FROM kv.zrange('inf', 0, -1);
SELECT kv.zcount('inf', '-infinity', '-infinity'), kv.zcount('inf', '-infinity', 'infinity', true, true);
SELECT * FROM kv.zrevrangebyscore('inf', 'infinity', 'infinity');
-- inf + inf stays inf; inf + -inf (or -inf + inf) would be NaN: an error
-- that changes nothing
SELECT kv.zincrby('inf', 'infinity', 'hi');
SELECT pg_temp.try($$SELECT kv.zincrby('inf', '-infinity', 'hi')$$);
SELECT pg_temp.try($$SELECT kv.zincrby('inf', 'infinity', 'lo')$$);
SELECT kv.zscore('inf', 'hi'), kv.zscore('inf', 'lo'), kv.zcard('inf');
-- a NaN score or increment is rejected
SELECT pg_temp.try($$SELECT kv.zadd('inf', 'NaN'::float8, 'x')$$);
SELECT pg_temp.try($$SELECT kv.zincrby('inf', 'NaN', 'mid')$$);
SELECT kv.zcard('inf');

-- ZINCRBY: creates the key and the member, returns the new score, moves it
SELECT kv.zincrby('inc', 1.5, 'a'), kv.zincrby('inc', 0.1, 'a'), kv.zincrby('inc', -2, 'b');
SELECT * FROM kv.zrange('inc', 0, -1);
SELECT kv.zincrby('inc', 5, 'b');
SELECT * FROM kv.zrange('inc', 0, -1);

-- every NX/XX/GT/LT/CH combination, on {a: 5, b: 5} with a -> 1, b -> 9, c -> 3 (new):
-- nx and xx, gt and lt, nx with gt or lt are rejected before anything changes
CREATE FUNCTION pg_temp.try_zadd(nx boolean, xx boolean, gt boolean, lt boolean, ch boolean)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r bigint;
    st text;
BEGIN
    PERFORM kv.del('f');
    PERFORM kv.zadd('f', ARRAY[5, 5]::float8[], ARRAY['a', 'b']);
    BEGIN
        r := kv.zadd('f', ARRAY[1, 9, 3]::float8[], ARRAY['a', 'b', 'c'], nx, xx, gt, lt, ch);
    EXCEPTION WHEN OTHERS THEN
        r := NULL;
        st := SQLSTATE || ' ' || SQLERRM;
    END;
    SELECT coalesce(st || ', ', '') || string_agg(member || '=' || score, ' ' ORDER BY ord) INTO st
      FROM kv.zrange('f', 0, -1) WITH ORDINALITY t(member, score, ord);
    RETURN coalesce(r::text, '-') || ': ' || st;
END $$;
SELECT nx, xx, gt, lt, ch, pg_temp.try_zadd(nx, xx, gt, lt, ch) AS result
  FROM (VALUES (false), (true)) a(nx), (VALUES (false), (true)) b(xx),
       (VALUES (false), (true)) c(gt), (VALUES (false), (true)) d(lt),
       (VALUES (false), (true)) e(ch)
 ORDER BY nx, xx, gt, lt, ch;
-- the single-pair form checks the same combinations
SELECT pg_temp.try($$SELECT kv.zadd('f', 1, 'a', nx => true, xx => true)$$);
SELECT pg_temp.try($$SELECT kv.zadd('f', 1, 'a', gt => true, lt => true)$$);
SELECT pg_temp.try($$SELECT kv.zadd('f', 1, 'a', nx => true, lt => true)$$);
-- gt/lt never prevent adding; ch counts changes, not unchanged scores
SELECT kv.zadd('f', 0, 'new', gt => true), kv.zadd('f', 9, 'b', ch => true),
       kv.zadd('f', 8, 'b', gt => true, ch => true), kv.zadd('f', 8, 'b', lt => true, ch => true);
-- XX on a missing key does nothing and creates no key
SELECT kv.zadd('xx', 1, 'a', xx => true), kv.zadd('xx', ARRAY[1]::float8[], ARRAY['a'], xx => true),
       kv.exists('xx');
-- NULL flags count as false
SELECT kv.zadd('f', 7, 'a', nx => NULL, ch => NULL), kv.zscore('f', 'a');

-- a member repeated in one call is applied occurrence by occurrence, as in
-- Redis: last score wins and it counts once; ch counts each change
SELECT kv.zadd('d', ARRAY[1, 2, 3]::float8[], ARRAY['x', 'x', 'y']), kv.zscore('d', 'x');
SELECT kv.zadd('d', ARRAY[5, 6, 1]::float8[], ARRAY['x', 'x', 'x'], ch => true), kv.zscore('d', 'x');
SELECT kv.zadd('d2', ARRAY[1, 2, 1]::float8[], ARRAY['x', 'x', 'x'], ch => true), kv.zscore('d2', 'x');
SELECT kv.zadd('d3', ARRAY[3, 1, 5, 4]::float8[], ARRAY['x', 'x', 'x', 'x'], nx => true), kv.zscore('d3', 'x');
SELECT kv.zadd('d4', ARRAY[3, 1, 5, 4]::float8[], ARRAY['x', 'x', 'x', 'x'], gt => true, ch => true),
       kv.zscore('d4', 'x');
SELECT kv.zadd('d4', ARRAY[9, 2, 7, 1]::float8[], ARRAY['x', 'x', 'x', 'x'], lt => true, ch => true),
       kv.zscore('d4', 'x');
SELECT kv.zadd('d4', ARRAY[0, 0]::float8[], ARRAY['x', 'y'], xx => true, ch => true),
       kv.zscore('d4', 'x'), kv.zscore('d4', 'y');

-- the array form is all or nothing: a bad pair anywhere changes nothing
SELECT kv.zadd('aon', ARRAY[1, 2]::float8[], ARRAY['a', 'b']);
SELECT pg_temp.try($$SELECT kv.zadd('aon', ARRAY[5, 6, 7]::float8[], ARRAY['a', NULL, 'c'])$$);
SELECT pg_temp.try($$SELECT kv.zadd('aon', ARRAY[5, NULL, 7]::float8[], ARRAY['a', 'b', 'c'])$$);
SELECT pg_temp.try($$SELECT kv.zadd('aon', ARRAY[5, 'NaN', 7]::float8[], ARRAY['a', 'b', 'c'])$$);
SELECT pg_temp.try($$SELECT kv.zadd('aon', ARRAY[5, 6]::float8[], ARRAY['a', 'b', 'c'])$$);
SELECT pg_temp.try($$SELECT kv.zadd('aon', NULL::float8[], ARRAY['a'])$$);
SELECT pg_temp.try($$SELECT kv.zadd('aon', ARRAY[1]::float8[], NULL::text[])$$);
SELECT pg_temp.try($$SELECT kv.zadd('new', ARRAY[5, 6]::float8[], ARRAY['a', NULL])$$);
SELECT * FROM kv.zrange('aon', 0, -1);
SELECT kv.exists('new');
-- empty arrays add nothing and create no key
SELECT kv.zadd('empty', '{}'::float8[], '{}'::text[]), kv.exists('empty');

-- ZREM: counts what was there; removing the last member deletes the key
SELECT kv.zadd('rm', ARRAY[1, 2, 3]::float8[], ARRAY['a', 'b', 'c']);
SELECT kv.zrem('rm', 'a', 'a', 'zz');
SELECT kv.zrem('rm', VARIADIC ARRAY['b']), kv.zcard('rm');
SELECT kv.zrem('rm', 'c'), kv.exists('rm'), kv.type('rm');
SELECT kv.zrem('rm', 'c'), kv.zrem('nokey', 'a');
SELECT kv.zrem('rm', VARIADIC '{}'::text[]);

-- ZREMRANGEBYSCORE and ZREMRANGEBYRANK
SELECT kv.zadd('rr', array_agg(g::float8), array_agg('m' || g)) FROM generate_series(1, 10) g;
SELECT kv.zremrangebyscore('rr', 2, 4), kv.zremrangebyscore('rr', 5, 7, true, true),
       kv.zremrangebyscore('rr', 7, 5), kv.zremrangebyscore('rr', 100, 200);
SELECT string_agg(member, ',' ORDER BY ord) FROM kv.zrange('rr', 0, -1) WITH ORDINALITY t(member, score, ord);
SELECT kv.zremrangebyrank('rr', -2, -1), kv.zremrangebyrank('rr', 10, 20), kv.zremrangebyrank('rr', 2, 1);
SELECT string_agg(member, ',' ORDER BY ord) FROM kv.zrange('rr', 0, -1) WITH ORDINALITY t(member, score, ord);
SELECT kv.zremrangebyrank('rr', 0, 0), kv.zremrangebyrank('rr', -100, 100), kv.exists('rr');
SELECT kv.zadd('rr', 1, 'a'), kv.zremrangebyscore('rr', '-infinity', 'infinity'), kv.exists('rr');
SELECT kv.zremrangebyscore('nokey', 0, 1), kv.zremrangebyrank('nokey', 0, -1);

-- ZPOPMIN / ZPOPMAX: lowest (highest) first, ties by member bytes; count 0
-- returns nothing; a negative count is an error; emptying deletes the key
SELECT kv.zadd('p', ARRAY[1, 2, 2, 3, 4]::float8[], ARRAY['a', 'c', 'b', 'd', 'e']);
SELECT * FROM kv.zpopmin('p');
SELECT * FROM kv.zpopmin('p', 2);
SELECT * FROM kv.zpopmax('p');
SELECT * FROM kv.zpopmin('p', 0);
SELECT pg_temp.try($$SELECT * FROM kv.zpopmax('p', -1)$$);
SELECT kv.zcard('p');
SELECT * FROM kv.zpopmax('p', 10);
SELECT kv.exists('p');
SELECT * FROM kv.zpopmin('p', 5);
SELECT kv.zadd('p2', ARRAY[1, 1, 1]::float8[], ARRAY['a', 'b', 'c']);
SELECT * FROM kv.zpopmax('p2', 2);

-- wrong type, both ways: nothing changes
SELECT kv.set('str', 'x');
SELECT pg_temp.try($$SELECT kv.zadd('str', 1, 'a')$$);
SELECT pg_temp.try($$SELECT kv.zadd('str', ARRAY[1]::float8[], ARRAY['a'])$$);
SELECT pg_temp.try($$SELECT kv.zincrby('str', 1, 'a')$$);
SELECT pg_temp.try($$SELECT kv.zscore('str', 'a')$$);
SELECT pg_temp.try($$SELECT kv.zrank('str', 'a')$$);
SELECT pg_temp.try($$SELECT kv.zcard('str')$$);
SELECT pg_temp.try($$SELECT kv.zcount('str', 0, 1)$$);
SELECT pg_temp.try($$SELECT * FROM kv.zrange('str', 0, -1)$$);
SELECT pg_temp.try($$SELECT * FROM kv.zrangebyscore('str', 0, 1, limit_offset => -1)$$);
SELECT pg_temp.try($$SELECT kv.zrem('str', 'a')$$);
SELECT pg_temp.try($$SELECT kv.zremrangebyrank('str', 0, -1)$$);
SELECT pg_temp.try($$SELECT * FROM kv.zpopmin('str')$$);
SELECT kv.get('str'), kv.type('str');
SELECT pg_temp.try($$SELECT kv.get('z')$$);
SELECT pg_temp.try($$SELECT kv.incr('z')$$);
SELECT pg_temp.try($$SELECT kv.append('z', 'x')$$);
SELECT kv.mget(ARRAY['z', 'str']);
SELECT kv.zcard('z');

-- NULLs: reads with a NULL argument return NULL (or no rows); writes raise 22004
SELECT kv.zscore(NULL, 'a') AS s1, kv.zscore('z', NULL) AS s2, kv.zcard(NULL) AS c,
       kv.zrank(NULL, 'a') AS r1, kv.zrevrank('z', NULL) AS r2, kv.zcount('z', NULL, 1) AS n;
SELECT count(*) FROM kv.zrange(NULL, 0, -1);
SELECT count(*) FROM kv.zrangebyscore('z', 0, 10, limit_count => NULL);
SELECT pg_temp.try($$SELECT kv.zadd(NULL, 1, 'a')$$);
SELECT pg_temp.try($$SELECT kv.zadd('z', NULL::float8, 'a')$$);
SELECT pg_temp.try($$SELECT kv.zadd('z', 1, NULL)$$);
SELECT pg_temp.try($$SELECT kv.zadd(NULL, ARRAY[1]::float8[], ARRAY['a'])$$);
SELECT pg_temp.try($$SELECT kv.zincrby(NULL, 1, 'a')$$);
SELECT pg_temp.try($$SELECT kv.zincrby('z', NULL, 'a')$$);
SELECT pg_temp.try($$SELECT kv.zincrby('z', 1, NULL)$$);
SELECT pg_temp.try($$SELECT kv.zrem(NULL, 'a')$$);
SELECT pg_temp.try($$SELECT kv.zrem('z', NULL::text)$$);
SELECT pg_temp.try($$SELECT kv.zrem('z', VARIADIC NULL::text[])$$);
SELECT pg_temp.try($$SELECT kv.zremrangebyscore('z', NULL, 1)$$);
SELECT pg_temp.try($$SELECT kv.zremrangebyscore('z', 0, 1, NULL)$$);
SELECT pg_temp.try($$SELECT kv.zremrangebyrank('z', 0, NULL)$$);
SELECT pg_temp.try($$SELECT * FROM kv.zpopmin(NULL)$$);
SELECT pg_temp.try($$SELECT * FROM kv.zpopmax('z', NULL)$$);
SELECT kv.zcard('z');

-- the TTL is kept by every change; an expired set reads as empty and a new
-- one starts without a TTL
SELECT kv.zadd('t', 1, 'a'), kv.expire('t', '1 hour');
SELECT kv.zadd('t', 2, 'b'), kv.zincrby('t', 1, 'a'), kv.zrem('t', 'b'),
       kv.zadd('t', ARRAY[5, 6]::float8[], ARRAY['c', 'd']);
SELECT count(*) FROM kv.zpopmin('t');
SELECT kv.ttl('t') BETWEEN 3590 AND 3600 AS ttl_kept, kv.zcard('t');
SELECT kv.zadd('t2', 1, 'a'), kv.expire('t2', '10 ms');
SELECT pg_sleep(0.05);
SELECT kv.zcard('t2'), kv.zscore('t2', 'a'), kv.exists('t2');
SELECT kv.zadd('t2', 2, 'b'), kv.ttl('t2'), kv.zcard('t2');

-- a few hundred members with many ties: ranks, reverse ranks, counts and
-- order agree with the same computed in SQL (byte order: COLLATE "C")
CREATE TEMP TABLE bigm AS
    SELECT 'm' || g AS member, ((g * 7919) % 97 / 4.0)::float8 AS score
      FROM generate_series(1, 400) g;
SELECT kv.zadd('big', array_agg(score), array_agg(member)) FROM bigm;
CREATE FUNCTION pg_temp.check_big() RETURNS TABLE(card bigint, rank_errors bigint, revrank_errors bigint,
                                                   order_ok boolean, count_errors bigint)
LANGUAGE sql AS $$
    WITH ranked AS (
        SELECT member, score,
               row_number() OVER (ORDER BY score, member COLLATE "C") - 1 AS rk,
               count(*) OVER () AS n
          FROM bigm)
    SELECT kv.zcard('big'),
           (SELECT count(*) FROM ranked WHERE kv.zrank('big', member) IS DISTINCT FROM rk),
           (SELECT count(*) FROM ranked WHERE kv.zrevrank('big', member) IS DISTINCT FROM n - 1 - rk),
           (SELECT array_agg(member ORDER BY ord) FROM kv.zrange('big', 0, -1) WITH ORDINALITY t(member, score, ord))
             = (SELECT array_agg(member ORDER BY score, member COLLATE "C") FROM bigm)
           AND (SELECT array_agg(member ORDER BY ord) FROM kv.zrevrange('big', 0, -1) WITH ORDINALITY t(member, score, ord))
             = (SELECT array_agg(member ORDER BY score DESC, member COLLATE "C" DESC) FROM bigm),
           (SELECT count(*) FROM generate_series(0, 100, 3) lo, generate_series(0, 100, 7) hi,
                   (VALUES (false), (true)) x(ex)
             WHERE kv.zcount('big', lo / 4.0, hi / 4.0, ex, NOT ex)
                   <> (SELECT count(*) FROM bigm
                        WHERE (score > lo / 4.0 OR (NOT ex AND score = lo / 4.0))
                          AND (score < hi / 4.0 OR (ex AND score = hi / 4.0))))
$$;
SELECT * FROM pg_temp.check_big();
-- move some members, remove others, add more one at a time: still consistent
SELECT count(kv.zincrby('big', 1.25, member)) FROM bigm WHERE score < 5;
UPDATE bigm SET score = score + 1.25 WHERE score < 5;
SELECT sum(kv.zrem('big', member)) FROM bigm WHERE member LIKE '%3';
DELETE FROM bigm WHERE member LIKE '%3';
INSERT INTO bigm SELECT 'n' || g, (g % 13)::float8 FROM generate_series(1, 150) g;
SELECT sum(kv.zadd('big', (g % 13)::float8, 'n' || g)) FROM generate_series(1, 150) g;
SELECT * FROM pg_temp.check_big();

-- memory: a 10k-member set gives back every byte when deleted, whether it was
-- loaded at once or grown one member at a time (index doubling) and shrunk
SELECT kv.zadd('mem', 0, 'warm-up'), kv.del('mem');
SELECT used_memory AS base_memory FROM kv.stats \gset
SELECT kv.zadd('mem', array_agg(g::float8), array_agg('member:' || g)) FROM generate_series(1, 10000) g;
SELECT used_memory - :base_memory > 10000 * 48 AS grew FROM kv.stats;
SELECT kv.del('mem');
SELECT used_memory = :base_memory AS returned FROM kv.stats;
SELECT sum(kv.zadd('mem', g::float8, 'member:' || g)) FROM generate_series(1, 10000) g;
SELECT kv.zremrangebyrank('mem', 100, -1), kv.zcard('mem');
SELECT used_memory - :base_memory > 0 AS holds_rest FROM kv.stats;
SELECT kv.del('mem');
SELECT used_memory = :base_memory AS returned FROM kv.stats;
