-- kvcache strings: SET/GET and friends, with Redis semantics
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS kvcache;
RESET client_min_messages;
SELECT kv.flushdb() >= 0 AS flushed;

-- plain set/get; an empty string is a value
SELECT kv.set('s1', 'hello');
SELECT kv.get('s1');
SELECT kv.set('empty', '');
SELECT kv.get('empty') = '' AS empty_is_value, kv.exists('empty'), kv.strlen('empty');
SELECT kv.get('missing') IS NULL AS missing_is_null;
SELECT kv.get(NULL) IS NULL AS null_key_reads_null;
SELECT kv.type('s1'), kv.type('missing');

-- NX / XX
SELECT kv.set('s1', 'nx-refused', nx => true) AS nx_existing;
SELECT kv.get('s1');
SELECT kv.set('s2', 'created', nx => true) AS nx_missing;
SELECT kv.set('s3', 'xx-refused', xx => true) AS xx_missing;
SELECT kv.exists('s3');
SELECT kv.set('s2', 'updated', xx => true) AS xx_existing;
SELECT kv.get('s2');

-- GETSET / GETDEL
SELECT kv.getset('s2', 'third');
SELECT kv.getset('gs-new', 'v') IS NULL AS getset_missing;
SELECT kv.get('gs-new');
SELECT kv.getdel('s2');
SELECT kv.exists('s2'), kv.getdel('s2') IS NULL AS getdel_missing;

-- MSET / MGET: last duplicate wins, NULL for missing keys
SELECT kv.mset(ARRAY['m1', 'm2', 'm1'], ARRAY['a', 'b', 'c']);
SELECT kv.mget(ARRAY['m1', 'm2', 'nope', NULL]);
SELECT kv.mget(ARRAY[]::text[]);

-- DEL counts deleted keys; EXISTS
SELECT kv.del('m1', 'm2', 'nope');
SELECT kv.del('m1');
SELECT kv.exists('m1');

-- INCR / DECR
SELECT kv.incr('ctr');
SELECT kv.incr('ctr', 10);
SELECT kv.decr('ctr');
SELECT kv.decr('ctr', 20);
SELECT kv.get('ctr');
SELECT kv.set('ctr', '-9223372036854775807');
SELECT kv.decr('ctr');
SELECT kv.set('ctr', '0');
SELECT kv.incr('ctr', 0);

-- INCRBYFLOAT: decimal formatting, no "-0", exponent input
SELECT kv.incrbyfloat('f', 10.5);
SELECT kv.incrbyfloat('f', 0.1);
SELECT kv.get('f');
SELECT kv.incrbyfloat('f', -10.6), kv.get('f');
SELECT kv.set('f', '5.0e3');
SELECT kv.incrbyfloat('f', 2.0e2), kv.get('f');
SELECT kv.set('f', '-0.5');
SELECT kv.incrbyfloat('f', 0.5), kv.get('f');
SELECT kv.set('f', '3');
SELECT kv.incrbyfloat('f', 1.5), kv.get('f');

-- APPEND / STRLEN
SELECT kv.append('ap', 'Hello');
SELECT kv.append('ap', ' World');
SELECT kv.get('ap'), kv.strlen('ap'), kv.strlen('missing');
SELECT kv.strlen(NULL) IS NULL AS strlen_null;
-- strlen counts bytes, not characters
SELECT kv.set('utf', 'héllo');
SELECT kv.strlen('utf'), length(kv.get('utf'));

-- bytea values
SELECT kv.set('bin', '\x00ff10'::bytea);
SELECT kv.get_bytea('bin');
SELECT kv.strlen('bin');
SELECT kv.set('bintext', convert_to('plain', 'UTF8'));
SELECT kv.get('bintext');
SELECT kv.get_bytea('s1');
SELECT kv.type('bin');

-- a plain SET overwrites a value of any kind
SELECT kv.set('bin', 'now text');
SELECT kv.get('bin');

SELECT kv.dbsize();
SELECT kv.flushdb();
SELECT kv.dbsize();
