-- primary-key lookup in an UNLOGGED table of 100,000 rows (text key, 32-byte value)
\set k random(0, 99999)
SELECT v FROM kvbench.ucache WHERE k = 'key:' || :k;
