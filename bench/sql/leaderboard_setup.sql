-- bench/sql/leaderboard_setup.sql: 1M leaderboard members, as a heap table
-- and as the two arrays that one kv.zadd call loads
--
-- lb is an ordinary heap table with a btree on score, vacuumed so that rank
-- queries can use index-only scans.  lb_arrays holds one row with the same
-- data as float8[] and text[] so the timed kv.zadd does not also pay for
-- building the arrays.  Scores are random but repeatable (setseed).

SELECT setseed(0.42);
CREATE TABLE kvbench.lb (member text PRIMARY KEY, score float8 NOT NULL);
INSERT INTO kvbench.lb (member, score)
    SELECT 'm:' || g, random() * 1000000 FROM generate_series(0, 999999) g;
CREATE INDEX lb_score ON kvbench.lb (score);
VACUUM ANALYZE kvbench.lb;

CREATE UNLOGGED TABLE kvbench.lb_arrays AS
    SELECT array_agg(score) AS scores, array_agg(member) AS members FROM kvbench.lb;
