-- the same UPDATE on a table with kv.invalidate_on triggers
\set id random(1, 100000)
UPDATE kvbench.profiles_inval SET bio = md5(random()::text) WHERE id = :id;
