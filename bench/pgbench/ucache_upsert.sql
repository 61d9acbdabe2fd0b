-- upsert of one of the 100,000 rows of the UNLOGGED table
\set k random(0, 99999)
INSERT INTO kvbench.ucache (k, v) VALUES ('key:' || :k, '0123456789abcdef0123456789abcdef')
    ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v;
