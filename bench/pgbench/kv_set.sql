-- SET of one of the 100,000 keys to a 32-byte value
\set k random(0, 99999)
SELECT kv.set('key:' || :k, '0123456789abcdef0123456789abcdef');
