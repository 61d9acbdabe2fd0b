-- setup for test/stress/front.sql: rows that carry a version, their cache
-- keys (stress.front.<id>) invalidated when a change commits
CREATE TABLE stress_front (id int PRIMARY KEY, version bigint NOT NULL);
INSERT INTO stress_front SELECT g, 0 FROM generate_series(1, 8) g;
SELECT kv.invalidate_on('stress_front', 'stress.front.{id}');
