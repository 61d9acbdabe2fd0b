-- single-row UPDATE of a heap table without invalidation triggers
\set id random(1, 100000)
UPDATE kvbench.profiles_plain SET bio = md5(random()::text) WHERE id = :id;
