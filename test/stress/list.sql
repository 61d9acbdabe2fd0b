-- pgbench stress script for lists: every transaction pushes one element to
-- one of 8 lists and then pops one from the same list, half of the time
-- with a blocking pop.  A client always pops after its own push, so each
-- list holds at least one element for every client between its push and
-- its pop, and every pop must find one (a blocking pop may wait for older
-- waiters on the same list, which are served first).  Any pop that comes
-- back empty increments the string key stress:list:missing.
--
-- Check after the run (conservation): every element pushed was popped
-- exactly once, so
--   SELECT kv.get('stress:list:missing') IS NULL
--      AND (SELECT sum(kv.llen('stress:list:' || k)) FROM generate_series(1, 8) k) = 0;
-- must return true.
\set k random(1, 8)
\set blocking random(0, 1)
SELECT kv.lpush('stress:list:' || :k, 'e' || :client_id);
\if :blocking
SELECT (count(*) = 0)::int AS missing FROM kv.brpop(ARRAY['stress:list:' || :k], 10) \gset
\else
SELECT (kv.rpop('stress:list:' || :k) IS NULL)::int AS missing \gset
\endif
\if :missing
SELECT kv.incr('stress:list:missing');
\endif
