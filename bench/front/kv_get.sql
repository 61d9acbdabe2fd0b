-- GET of one of the 100,000 preloaded keys
\set k random(0, 99999)
SELECT kv.get('key:' || :k);
