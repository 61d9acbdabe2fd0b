-- GET of one of the 100,000 preloaded keys (32-byte values)
\set k random(0, 99999)
SELECT kv.get('key:' || :k);
