-- kvcache errors: every bad input raises the documented SQLSTATE and changes nothing
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

-- NULL keys and values in writes: 22004
SELECT pg_temp.try($$SELECT kv.set(NULL, 'v')$$);
SELECT pg_temp.try($$SELECT kv.set('k', NULL::text)$$);
SELECT pg_temp.try($$SELECT kv.set('k', NULL::bytea)$$);
SELECT pg_temp.try($$SELECT kv.getset(NULL, 'v')$$);
SELECT pg_temp.try($$SELECT kv.incr(NULL)$$);
SELECT pg_temp.try($$SELECT kv.incr('k', NULL)$$);
SELECT pg_temp.try($$SELECT kv.append('k', NULL)$$);
SELECT pg_temp.try($$SELECT kv.mset(ARRAY['a', NULL], ARRAY['1', '2'])$$);
SELECT pg_temp.try($$SELECT kv.mset(ARRAY['a', 'b'], ARRAY['1', NULL])$$);
SELECT pg_temp.try($$SELECT kv.del(VARIADIC ARRAY['a', NULL])$$);
SELECT pg_temp.try($$SELECT kv.expire(NULL, '1 s')$$);
SELECT pg_temp.try($$SELECT kv.expire('k', NULL)$$);
SELECT kv.dbsize() AS nothing_written;

-- conflicting options: 22023
SELECT pg_temp.try($$SELECT kv.set('k', 'v', nx => true, xx => true)$$);
SELECT pg_temp.try($$SELECT kv.set('k', 'v', ttl => '1 s', keepttl => true)$$);
SELECT pg_temp.try($$SELECT kv.set('k', 'v', ttl => '0 s')$$);
SELECT pg_temp.try($$SELECT kv.set('k', 'v', ttl => '-1 s')$$);
SELECT kv.exists('k') AS k_unchanged;

-- MSET with mismatched arrays changes nothing
SELECT pg_temp.try($$SELECT kv.mset(ARRAY['a', 'b'], ARRAY['1'])$$);
SELECT kv.exists('a') AS a_unchanged;

-- not an integer: 22P02, nothing changes
SELECT kv.set('n', 'abc');
SELECT pg_temp.try($$SELECT kv.incr('n')$$);
SELECT kv.set('n', ' 1');
SELECT pg_temp.try($$SELECT kv.incr('n')$$);
SELECT kv.set('n', '01');
SELECT pg_temp.try($$SELECT kv.incr('n')$$);
SELECT kv.set('n', '+1');
SELECT pg_temp.try($$SELECT kv.incr('n')$$);
SELECT kv.set('n', '1.5');
SELECT pg_temp.try($$SELECT kv.incr('n')$$);
SELECT kv.set('n', '');
SELECT pg_temp.try($$SELECT kv.incr('n')$$);
SELECT kv.set('n', '9223372036854775808');
SELECT pg_temp.try($$SELECT kv.incr('n')$$);
SELECT kv.get('n') AS n_unchanged;

-- overflow: 22003, nothing changes
SELECT kv.set('big', '9223372036854775807');
SELECT pg_temp.try($$SELECT kv.incr('big')$$);
SELECT kv.set('small', '-9223372036854775808');
SELECT pg_temp.try($$SELECT kv.decr('small')$$);
SELECT pg_temp.try($$SELECT kv.decr('small', -9223372036854775808)$$);
SELECT pg_temp.try($$SELECT kv.incr('small', -1)$$);
SELECT kv.get('big') AS big_unchanged, kv.get('small') AS small_unchanged;

-- floats: not a float 22P02; NaN or Infinity results 22003
SELECT kv.set('fl', 'abc');
SELECT pg_temp.try($$SELECT kv.incrbyfloat('fl', 1)$$);
SELECT kv.set('fl', 'nan');
SELECT pg_temp.try($$SELECT kv.incrbyfloat('fl', 1)$$);
SELECT kv.set('fl', '1.5 ');
SELECT pg_temp.try($$SELECT kv.incrbyfloat('fl', 1)$$);
SELECT kv.set('fl', '1');
SELECT pg_temp.try($$SELECT kv.incrbyfloat('fl', 'NaN')$$);
SELECT pg_temp.try($$SELECT kv.incrbyfloat('fl', 'Infinity')$$);
SELECT pg_temp.try($$SELECT kv.incrbyfloat('fl', '-Infinity')$$);
SELECT kv.set('fl', 'inf');
SELECT pg_temp.try($$SELECT kv.incrbyfloat('fl', 1)$$);
SELECT kv.set('fl', '1e5000');
SELECT pg_temp.try($$SELECT kv.incrbyfloat('fl', 1)$$);
SELECT kv.get('fl') AS fl_unchanged;
-- the result must fit in float8, which kv.incrbyfloat returns
SELECT kv.set('fl', '1e308');
SELECT pg_temp.try($$SELECT kv.incrbyfloat('fl', 1e308)$$);
SELECT kv.get('fl') AS fl_unchanged;
-- a value with a NUL byte inside is not a number
SELECT kv.set('fl', '\x31006a756e6b'::bytea);
SELECT pg_temp.try($$SELECT kv.incrbyfloat('fl', 1)$$);
SELECT pg_temp.try($$SELECT kv.incr('fl')$$);
SELECT kv.exists('newfl');
SELECT pg_temp.try($$SELECT kv.incrbyfloat('newfl', 'NaN')$$);
SELECT kv.exists('newfl') AS newfl_not_created;

-- a bytea value that is not valid in the database encoding cannot be read as text
SELECT kv.set('badutf', '\xff00fe'::bytea);
SELECT pg_temp.try($$SELECT kv.get('badutf')$$);
SELECT pg_temp.try($$SELECT kv.mget(ARRAY['badutf'])$$);
SELECT kv.get_bytea('badutf');

-- keys up to 64 kB; longer: 54000 and nothing changes
SELECT kv.set(repeat('k', 8192), 'eight-kb-key');
SELECT kv.get(repeat('k', 8192));
SELECT kv.set(repeat('k', 65536), 'max-key');
SELECT kv.get(repeat('k', 65536));
SELECT pg_temp.try($$SELECT kv.set(repeat('k', 65537), 'v')$$);
SELECT pg_temp.try($$SELECT kv.get(repeat('k', 65537))$$);

-- values of 8 MB round-trip; one larger than the whole cache: 54000
SELECT kv.set('v8', repeat('x', 8 * 1024 * 1024));
SELECT kv.strlen('v8'), md5(kv.get('v8')) = md5(repeat('x', 8 * 1024 * 1024)) AS same;
SELECT pg_temp.try($$SELECT kv.set('vbig', repeat('x', 65 * 1024 * 1024))$$);
SELECT kv.exists('vbig') AS vbig_not_created;
SELECT pg_temp.try($$SELECT kv.append('v8', repeat('y', 60 * 1024 * 1024))$$);
SELECT kv.strlen('v8') AS v8_unchanged;

-- a pattern that recurses too deeply is an error, not a crash
SELECT kv.set(repeat('a', 65536), 'deep');
SELECT pg_temp.try($$SELECT count(*) FROM kv.keys(repeat('*a', 65536) || '*b')$$) ~ '^(ok|54001: stack depth limit exceeded)$' AS deep_pattern_safe;
SELECT kv.del(repeat('a', 65536));

-- SCAN arguments
SELECT pg_temp.try($$SELECT * FROM kv.scan(-1)$$);
SELECT pg_temp.try($$SELECT * FROM kv.scan(0, '*', 0)$$);

-- admin functions are not for everyone
SELECT has_function_privilege('public', 'kv.flushall()', 'EXECUTE') AS public_flushall,
       has_function_privilege('public', 'kv.stats_reset()', 'EXECUTE') AS public_stats_reset,
       has_function_privilege('public', 'kv.flushdb()', 'EXECUTE') AS public_flushdb;

SELECT kv.flushdb() >= 0 AS flushed;
