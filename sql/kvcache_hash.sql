-- kvcache hashes: HSET/HGET and friends, with Redis semantics
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

-- HSET returns the number of new fields: 1 for a new field, 0 for an update
SELECT kv.hset('h1', 'f1', 'v1') AS new_field;
SELECT kv.hset('h1', 'f1', 'v1b') AS updated_field;
SELECT kv.hset('h1', 'f2', '') AS empty_value;
SELECT kv.hget('h1', 'f1'), kv.hget('h1', 'f2') = '' AS empty_is_value,
       kv.hget('h1', 'nope') IS NULL AS missing_field,
       kv.hget('nokey', 'f1') IS NULL AS missing_key;
SELECT kv.type('h1'), kv.hlen('h1'), kv.hlen('nokey') AS missing_len;

-- fields are byte strings: the empty field exists, case matters
SELECT kv.hset('h1', '', 'empty field') AS empty_field, kv.hset('h1', 'F1', 'upper') AS upper_field;
SELECT * FROM kv.hgetall('h1') ORDER BY field COLLATE "C";

-- a value may grow past the node, shrink, and grow again
SELECT kv.hset('h1', 'f1', repeat('x', 20000)) AS grown;
SELECT length(kv.hget('h1', 'f1')) AS long_len;
SELECT kv.hset('h1', 'f1', 'short') AS shrunk;
SELECT kv.hget('h1', 'f1');
SELECT kv.hset('h1', 'f1', 'a longer value than before') AS regrown;
SELECT kv.hget('h1', 'f1'), kv.hlen('h1');

-- the array form: new fields counted; a duplicate field counts once, last wins
SELECT kv.hset('h2', ARRAY['a', 'b', 'c'], ARRAY['1', '2', '3']) AS three_new;
SELECT kv.hset('h2', ARRAY['c', 'd', 'd', 'e', 'd'], ARRAY['30', '4', '40', '5', '400']) AS d_and_e_new;
SELECT * FROM kv.hgetall('h2') ORDER BY field COLLATE "C";
SELECT kv.hset('h2', ARRAY['a', 'a'], ARRAY['x', 'y']) AS dup_update;
SELECT kv.hget('h2', 'a') AS last_wins;
-- empty arrays set nothing and create no key
SELECT kv.hset('h-empty', ARRAY[]::text[], ARRAY[]::text[]) AS empty_arrays, kv.exists('h-empty');

-- the array form is all or nothing: bad input changes nothing
SELECT pg_temp.try($$SELECT kv.hset('h2', ARRAY['a', 'z'], ARRAY['100'])$$);
SELECT pg_temp.try($$SELECT kv.hset('h2', ARRAY['a'], ARRAY['100', '200'])$$);
SELECT pg_temp.try($$SELECT kv.hset('h2', ARRAY['a', NULL], ARRAY['100', '1'])$$);
SELECT pg_temp.try($$SELECT kv.hset('h2', ARRAY['a', 'z'], ARRAY['100', NULL])$$);
SELECT pg_temp.try($$SELECT kv.hset('h2', NULL::text[], ARRAY['1'])$$);
SELECT pg_temp.try($$SELECT kv.hset('h2', ARRAY['a'], NULL::text[])$$);
SELECT pg_temp.try($$SELECT kv.hset('h-new', ARRAY['a', NULL], ARRAY['1', '2'])$$);
SELECT kv.hget('h2', 'a') AS a_unchanged, kv.hexists('h2', 'z') AS z_absent,
       kv.hlen('h2') AS len_unchanged, kv.exists('h-new') AS h_new_absent;

-- HMGET: NULL for missing fields (and NULL fields), all NULL for a missing key
SELECT kv.hmget('h2', ARRAY['a', 'nope', 'e', NULL, 'b']);
SELECT kv.hmget('nokey', ARRAY['a', 'b']);
SELECT kv.hmget('h2', ARRAY[]::text[]) AS no_fields;

-- HEXISTS
SELECT kv.hexists('h2', 'a') AS present, kv.hexists('h2', 'nope') AS absent,
       kv.hexists('nokey', 'a') AS missing_key;

-- HKEYS / HVALS / HGETALL (their order is unspecified: sort)
SELECT f FROM kv.hkeys('h2') AS f ORDER BY f COLLATE "C";
SELECT v FROM kv.hvals('h2') AS v ORDER BY v COLLATE "C";
SELECT count(*) AS missing_key_rows FROM kv.hgetall('nokey');
SELECT count(*) AS missing_key_keys FROM kv.hkeys('nokey');
SELECT count(*) AS missing_key_vals FROM kv.hvals('nokey');

-- HDEL counts removed fields; a field named twice counts once
SELECT kv.hdel('h2', 'a', 'nope', 'a') AS deleted_once;
SELECT kv.hdel('h2', VARIADIC ARRAY['b', 'c']) AS deleted_two;
SELECT kv.hdel('h2', VARIADIC ARRAY[]::text[]) AS deleted_none;
SELECT kv.hdel('nokey', 'a') AS missing_key;
SELECT kv.hlen('h2'), kv.exists('h2');
-- removing the last field deletes the key
SELECT kv.hdel('h2', 'd', 'e') AS last_two;
SELECT kv.exists('h2') AS h2_exists, kv.type('h2'), kv.hlen('h2'),
       kv.hget('h2', 'd') IS NULL AS gone;

-- HINCRBY: a missing field counts as 0
SELECT kv.hincrby('hi', 'n', 5) AS created;
SELECT kv.hincrby('hi', 'n', -7) AS negative;
SELECT kv.hincrby('hi', 'n', 0) AS unchanged;
SELECT kv.hget('hi', 'n');
SELECT kv.hset('hi', 'nine', '9');
SELECT kv.hincrby('hi', 'nine', 1) AS ten, kv.hget('hi', 'nine');
SELECT kv.hincrby('hi', 'nine', -20) AS minus_ten, kv.hget('hi', 'nine');
SELECT kv.hset('hi', 'zero', '0');
SELECT kv.hincrby('hi', 'zero', 3) AS from_zero;

-- HINCRBY overflow in both directions: 22003, nothing changes
SELECT kv.hset('hi', 'big', '9223372036854775806');
SELECT kv.hincrby('hi', 'big', 1) AS at_max;
SELECT pg_temp.try($$SELECT kv.hincrby('hi', 'big', 1)$$);
SELECT pg_temp.try($$SELECT kv.hincrby('hi', 'big', 9223372036854775807)$$);
SELECT kv.hget('hi', 'big') AS big_unchanged;
SELECT kv.hset('hi', 'small', '-9223372036854775807');
SELECT kv.hincrby('hi', 'small', -1) AS at_min;
SELECT pg_temp.try($$SELECT kv.hincrby('hi', 'small', -1)$$);
SELECT pg_temp.try($$SELECT kv.hincrby('hi', 'small', -9223372036854775808)$$);
SELECT kv.hget('hi', 'small') AS small_unchanged;
SELECT kv.hincrby('hi', 'small', 9223372036854775807) AS back_to_minus_one;

-- HINCRBY on a value that is not a strict 64-bit integer: 22P02, nothing changes
SELECT kv.hset('hi', ARRAY['str', 'space', 'lead0', 'plus', 'frac', 'empty', 'negzero', 'huge', 'trail'],
               ARRAY['abc', ' 1', '01', '+1', '1.5', '', '-0', '9223372036854775808', '1 ']);
SELECT f, pg_temp.try(format('SELECT kv.hincrby(%L, %L, 1)', 'hi', f))
  FROM unnest(ARRAY['str', 'space', 'lead0', 'plus', 'frac', 'empty', 'negzero', 'huge', 'trail']) AS f
 ORDER BY f;
SELECT * FROM kv.hgetall('hi') ORDER BY field COLLATE "C";

-- HINCRBYFLOAT: long double arithmetic, shortest decimal increment
SELECT kv.hincrbyfloat('hf', 'x', 10.5) AS created;
SELECT kv.hincrbyfloat('hf', 'x', 0.1) AS ten_six;
SELECT kv.hget('hf', 'x');
SELECT kv.hincrbyfloat('hf', 'p', 0.1), kv.hincrbyfloat('hf', 'p', 0.2) AS point_three;
SELECT kv.hget('hf', 'p');
SELECT kv.hset('hf', 'e', '5.0e3');
SELECT kv.hincrbyfloat('hf', 'e', 200) AS exp_notation, kv.hget('hf', 'e');
SELECT kv.hset('hf', 'i', '3');
SELECT kv.hincrbyfloat('hf', 'i', -1.25) AS from_int, kv.hget('hf', 'i');
SELECT kv.hincrbyfloat('hf', 'i', 1.25) AS whole, kv.hget('hf', 'i') AS no_point;
SELECT kv.hincrbyfloat('hf', 'big', 1e20) AS big, kv.hget('hf', 'big');
-- never "-0"
SELECT kv.hincrbyfloat('hf', 'z', -0.0) AS neg_zero_incr, kv.hget('hf', 'z');
SELECT kv.hset('hf', 'm', '-1.5');
SELECT kv.hincrbyfloat('hf', 'm', 1.5) AS to_zero, kv.hget('hf', 'm');
SELECT kv.hincrby('hf', 'm', 1) AS integer_again;

-- a NaN or infinite increment is rejected and creates nothing
SELECT pg_temp.try($$SELECT kv.hincrbyfloat('hf-new', 'x', 'NaN')$$);
SELECT pg_temp.try($$SELECT kv.hincrbyfloat('hf-new', 'x', 'Infinity')$$);
SELECT pg_temp.try($$SELECT kv.hincrbyfloat('hf-new', 'x', '-Infinity')$$);
SELECT pg_temp.try($$SELECT kv.hincrbyfloat('hf', 'x', 'NaN')$$);
SELECT kv.exists('hf-new') AS hf_new_absent, kv.hget('hf', 'x') AS x_unchanged;
-- a stored infinity parses, but the result may not be infinite
SELECT kv.hset('hf', 'inf', 'inf');
SELECT pg_temp.try($$SELECT kv.hincrbyfloat('hf', 'inf', 1)$$);
SELECT kv.hget('hf', 'inf') AS inf_unchanged;
-- stored values that are not floats: 22P02, nothing changes
SELECT kv.hset('hf', ARRAY['str', 'space', 'nan', 'empty', 'trail'],
               ARRAY['abc', ' 1.5', 'nan', '', '1.5 ']);
SELECT f, pg_temp.try(format('SELECT kv.hincrbyfloat(%L, %L, 1)', 'hf', f))
  FROM unnest(ARRAY['str', 'space', 'nan', 'empty', 'trail']) AS f
 ORDER BY f;
SELECT kv.hmget('hf', ARRAY['str', 'space', 'nan', 'empty', 'trail']) AS unchanged;
SELECT pg_temp.try($$SELECT kv.hincrby('hf', 'x', 1)$$) AS float_is_not_integer;

-- wrong type, both ways: 42809, nothing changes
SELECT kv.set('str', 'plain');
SELECT pg_temp.try($$SELECT kv.hset('str', 'f', 'v')$$);
SELECT pg_temp.try($$SELECT kv.hset('str', ARRAY['f'], ARRAY['v'])$$);
SELECT pg_temp.try($$SELECT kv.hget('str', 'f')$$);
SELECT pg_temp.try($$SELECT kv.hmget('str', ARRAY['f'])$$);
SELECT pg_temp.try($$SELECT kv.hdel('str', 'f')$$);
SELECT pg_temp.try($$SELECT * FROM kv.hgetall('str')$$);
SELECT pg_temp.try($$SELECT * FROM kv.hkeys('str')$$);
SELECT pg_temp.try($$SELECT * FROM kv.hvals('str')$$);
SELECT pg_temp.try($$SELECT kv.hlen('str')$$);
SELECT pg_temp.try($$SELECT kv.hexists('str', 'f')$$);
SELECT pg_temp.try($$SELECT kv.hincrby('str', 'f', 1)$$);
SELECT pg_temp.try($$SELECT kv.hincrbyfloat('str', 'f', 1)$$);
SELECT kv.get('str') AS str_unchanged, kv.type('str');
SELECT pg_temp.try($$SELECT kv.get('h1')$$);
SELECT pg_temp.try($$SELECT kv.incr('hi')$$);
SELECT pg_temp.try($$SELECT kv.append('h1', 'x')$$);
SELECT kv.mget(ARRAY['h1', 'str']) AS mget_skips_hash;
SELECT kv.hlen('h1') AS h1_unchanged;
-- a plain SET replaces a hash, as in Redis
SELECT kv.set('h1', 'now a string');
SELECT kv.type('h1'), kv.get('h1');

-- NULL handling: reads with a NULL key or field return NULL, writes raise 22004
SELECT kv.hget(NULL, 'f') IS NULL AS hget_null_key, kv.hget('hi', NULL) IS NULL AS hget_null_field,
       kv.hlen(NULL) IS NULL AS hlen_null, kv.hexists('hi', NULL) IS NULL AS hexists_null,
       kv.hmget(NULL, ARRAY['n']) IS NULL AS hmget_null_key, kv.hmget('hi', NULL) IS NULL AS hmget_null_fields;
SELECT count(*) AS hgetall_null_rows FROM kv.hgetall(NULL);
SELECT pg_temp.try($$SELECT kv.hset(NULL, 'f', 'v')$$);
SELECT pg_temp.try($$SELECT kv.hset('hn', NULL, 'v')$$);
SELECT pg_temp.try($$SELECT kv.hset('hn', 'f', NULL)$$);
SELECT pg_temp.try($$SELECT kv.hset(NULL, ARRAY['f'], ARRAY['v'])$$);
SELECT pg_temp.try($$SELECT kv.hdel(NULL, 'f')$$);
SELECT pg_temp.try($$SELECT kv.hdel('hi', VARIADIC NULL::text[])$$);
SELECT pg_temp.try($$SELECT kv.hdel('hi', 'n', NULL)$$);
SELECT pg_temp.try($$SELECT kv.hincrby(NULL, 'f', 1)$$);
SELECT pg_temp.try($$SELECT kv.hincrby('hn', NULL, 1)$$);
SELECT pg_temp.try($$SELECT kv.hincrby('hn', 'f', NULL)$$);
SELECT pg_temp.try($$SELECT kv.hincrbyfloat(NULL, 'f', 1)$$);
SELECT pg_temp.try($$SELECT kv.hincrbyfloat('hn', NULL, 1)$$);
SELECT pg_temp.try($$SELECT kv.hincrbyfloat('hn', 'f', NULL)$$);
SELECT kv.exists('hn') AS hn_absent, kv.hget('hi', 'n') AS n_unchanged;

-- every hash write keeps the key's TTL
SELECT kv.hset('httl', 'a', '1');
SELECT kv.expire('httl', '1000 s');
SELECT kv.hset('httl', 'b', '2') AS hset_new, kv.hset('httl', 'a', '10') AS hset_update,
       kv.hset('httl', ARRAY['c', 'a'], ARRAY['3', '11']) AS hset_array;
SELECT kv.hincrby('httl', 'n', 1), kv.hincrbyfloat('httl', 'x', 1.5), kv.hdel('httl', 'b');
SELECT kv.ttl('httl') BETWEEN 990 AND 1000 AS ttl_kept, kv.hlen('httl');
SELECT kv.del('httl');

-- an expired hash reads as missing; a write then starts a new hash without TTL
SELECT kv.hset('hexp', ARRAY['a', 'b'], ARRAY['1', '2']);
SELECT kv.expire('hexp', '10 milliseconds');
SELECT pg_sleep(0.05);
SELECT kv.hlen('hexp') AS expired_len, kv.hget('hexp', 'a') IS NULL AS expired_get,
       kv.exists('hexp') AS expired_exists;
SELECT kv.hset('hexp', 'c', '3') AS new_hash;
SELECT kv.hlen('hexp'), kv.ttl('hexp') AS no_ttl;

-- a large hash: 10,000 fields, then all memory comes back after DEL
SELECT kv.set('big', 'x');
SELECT kv.del('big');
SELECT used_memory AS mem_before FROM kv.stats \gset
SELECT kv.hset('big', array_agg('field' || g), array_agg('value' || g)) AS first_5000
  FROM generate_series(1, 5000) AS g;
SELECT sum(kv.hset('big', 'field' || g, 'v' || g)) AS new_from_5001
  FROM generate_series(4001, 10000) AS g;
SELECT kv.hlen('big');
SELECT kv.hget('big', 'field1'), kv.hget('big', 'field4001'), kv.hget('big', 'field10000');
SELECT count(*) AS fields, count(DISTINCT field) AS distinct_fields,
       bool_and(value = CASE WHEN substr(field, 6)::int <= 4000 THEN 'value' ELSE 'v' END
                        || substr(field, 6)) AS values_right
  FROM kv.hgetall('big');
SELECT count(*) AS keys FROM kv.hkeys('big');
SELECT count(*) AS vals FROM kv.hvals('big');
SELECT (SELECT used_memory FROM kv.stats) > :mem_before AS memory_grew;
SELECT kv.hdel('big', VARIADIC (SELECT array_agg('field' || g) FROM generate_series(1, 9990) AS g))
       AS deleted;
-- the emptied bucket array was given back: 10 fields take well under 8 kB
SELECT (SELECT used_memory FROM kv.stats) - :mem_before < 8192 AS buckets_shrunk;
SELECT f FROM kv.hkeys('big') AS f ORDER BY substr(f, 6)::int;
SELECT kv.hmget('big', ARRAY['field1', 'field9991', 'field10000']);
SELECT kv.del('big');
SELECT used_memory = :mem_before AS memory_returned FROM kv.stats;

-- a value over the per-value limit (half of kvcache.max_memory): 54000; many
-- fields that do not fit together: 53200; either way nothing changes, even
-- after evicting other keys (sizes are relative to kvcache.max_memory)
SELECT max_memory / (1024 * 1024) + 16 AS oom_mb, used_memory AS mem_oom_before FROM kv.stats \gset
SELECT kv.hset('keep', ARRAY['a', 'b', 'c'], ARRAY['1', '2', '3']);
SELECT pg_temp.try(format($$SELECT kv.hset('keep', 'd', repeat('x', %s * 1024 * 1024))$$, :oom_mb));
SELECT pg_temp.try(format($$SELECT kv.hset('keep', array_agg('f' || g), array_agg(repeat('x', 1024 * 1024)))
                              FROM generate_series(1, %s) AS g$$, :oom_mb));
SELECT * FROM kv.hgetall('keep') ORDER BY field COLLATE "C";
-- a new key is not created (and 'keep' may be evicted on the way)
SELECT pg_temp.try(format($$SELECT kv.hset('oom', 'd', repeat('x', %s * 1024 * 1024))$$, :oom_mb));
SELECT pg_temp.try(format($$SELECT kv.hset('oom', array_agg('f' || g), array_agg(repeat('x', 1024 * 1024)))
                              FROM generate_series(1, %s) AS g$$, :oom_mb));
SELECT kv.exists('oom') AS oom_absent;
-- and the memory taken on the way was given back
SELECT used_memory <= :mem_oom_before AS memory_released FROM kv.stats;

SELECT kv.flushdb() >= 0 AS flushed;
