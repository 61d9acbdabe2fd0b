-- kv.get_or_load of one of the 100,000 preloaded keys: always a hit
\set k random(0, 99999)
SELECT kv.get_or_load('key:' || :k, 'SELECT v FROM kvbench.ucache WHERE k = ''key:' || :k || '''');
