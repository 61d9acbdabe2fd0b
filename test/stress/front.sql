-- pgbench stress script for the cache in front of a table.  A fifth of the
-- transactions are writers: they bump the version of one of 8 rows of
-- stress_front (kv.invalidate_on deletes its key at commit) and, once the
-- COMMIT has returned, publish the version in the sorted set
-- stress.front.committed (zadd gt: a member's score only grows).  The rest
-- are readers: they read that floor first and then, in later statements,
-- the row through the cache: with kv.get, with kv.get_or_load in READ
-- COMMITTED, or with kv.get_or_load in a REPEATABLE READ transaction whose
-- snapshot was taken a statement earlier (which widens the window in which
-- a writer commits between a reader's snapshot and its store).  The
-- guarantee is that a read never returns a version older than one whose
-- COMMIT had returned before the read's snapshot; a read below the floor
-- increments stress.front.backwards.  Checked by front.check.sql.
-- Key names have no ':' (pgbench -M prepared would take ':x' for a variable).
\set id random(1, 8)
\set role random(0, 4)
\if :role = 0
UPDATE stress_front SET version = version + 1 WHERE id = :id RETURNING version \gset
SELECT kv.zadd('stress.front.committed', :version, :id::text, gt => true);
\else
SELECT coalesce(kv.zscore('stress.front.committed', :id::text), 0)::bigint AS floor \gset
\if :role = 1
SELECT coalesce(kv.get('stress.front.' || :id)::bigint, :floor) AS seen \gset
\elif :role = 4
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT version AS snapshot_version FROM stress_front WHERE id = :id \gset
SELECT kv.get_or_load('stress.front.' || :id,
                      'SELECT version FROM stress_front WHERE id = ' || :id,
                      ttl => interval '10 s')::bigint AS seen \gset
COMMIT;
\else
SELECT kv.get_or_load('stress.front.' || :id,
                      'SELECT version FROM stress_front WHERE id = ' || :id,
                      ttl => interval '10 s')::bigint AS seen \gset
\endif
\if :seen < :floor
SELECT kv.incr('stress.front.backwards');
\endif
SELECT kv.incr('stress.front.reads');
\endif
