-- demo/feed.sql: the cache in front of tables, run from demo/demo.sql
--
-- An activity feed: events in a widecol table (partition key user_id, sort
-- key ts), profiles in a heap table.  "Latest 20 events of a user" and a
-- profile are served through kv.get_or_load; triggers installed by
-- kv.invalidate_on delete the cached copies when a writer commits.
\set ON_ERROR_STOP on
\pset footer off
SET client_min_messages = warning;
DROP TABLE IF EXISTS feed_events, feed_profiles;
RESET client_min_messages;

CREATE TABLE feed_profiles (user_id bigint PRIMARY KEY, name text, bio text);
CREATE TABLE feed_events (user_id bigint, ts timestamptz, kind int, payload text)
  USING widecol WITH (partition_key = 'user_id', sort_key = 'ts');
INSERT INTO feed_profiles
  SELECT u, 'user ' || u, 'likes ' || (ARRAY['tea', 'chess', 'trains'])[1 + u % 3]
    FROM generate_series(0, 99) u;
INSERT INTO feed_events
  SELECT (g * 7919) % 100, timestamptz '2026-01-01' + g * interval '1 minute', g % 7,
         '{"event": ' || g || ', "text": "something happened"}'
    FROM generate_series(1, 20000) g;
ANALYZE feed_profiles, feed_events;

\echo
\echo '== The cache in front of a table: an activity feed =='
SELECT kv.invalidate_on('feed_events', 'feed:{user_id}');
SELECT kv.invalidate_on('feed_profiles', 'profile:{user_id}');

-- the two read paths of the application, as SQL functions
CREATE OR REPLACE FUNCTION feed_latest(uid bigint) RETURNS text LANGUAGE sql AS $$
  SELECT kv.get_or_load('feed:' || uid,
    format('SELECT coalesce(json_agg(e ORDER BY e.ts DESC), ''[]'')
              FROM (SELECT ts, kind, payload FROM feed_events
                     WHERE user_id = %s ORDER BY ts DESC LIMIT 20) e', uid),
    interval '10 minutes')
$$;
CREATE OR REPLACE FUNCTION feed_profile(uid bigint) RETURNS text LANGUAGE sql AS $$
  SELECT kv.get_or_load('profile:' || uid,
    format('SELECT row_to_json(p) FROM feed_profiles p WHERE user_id = %s', uid),
    interval '1 hour')
$$;

SELECT kv.stats_reset();
\echo 'First read of user 7: a miss that runs the query and caches the answer'
SELECT json_array_length(feed_latest(7)::json) AS events,
       feed_latest(7)::json -> 0 ->> 'ts' AS newest;
\echo 'Profiles work the same way:'
SELECT feed_profile(7) AS profile;
SELECT keyspace_hits AS hits, keyspace_misses AS misses FROM kv.stats;

\echo 'A new event commits: the trigger deletes feed:7 at commit, the next read reloads'
INSERT INTO feed_events VALUES (7, '2026-12-31', 1, '{"event": "new year"}');
SELECT kv.exists('feed:7') AS still_cached;
SELECT feed_latest(7)::json -> 0 ->> 'payload' AS newest_payload;

\echo 'A rolled-back update invalidates nothing; a committed one does'
BEGIN;
UPDATE feed_profiles SET bio = 'likes nothing' WHERE user_id = 7;
ROLLBACK;
SELECT kv.exists('profile:7') AS cached_after_rollback;
UPDATE feed_profiles SET bio = 'likes tea and trains' WHERE user_id = 7;
SELECT kv.exists('profile:7') AS cached_after_commit, feed_profile(7)::json ->> 'bio' AS bio;

\echo
\echo '== Transactional cache writes (kvcache.transactional) =='
SELECT kv.set('unread:7', '0');
BEGIN;
SET LOCAL kvcache.transactional = on;
INSERT INTO feed_events VALUES (7, '2027-01-01', 2, '{"event": "message"}');
SELECT kv.incr('unread:7') AS unread_inside_the_transaction;
ROLLBACK;
SELECT kv.get('unread:7') AS unread_after_rollback;
BEGIN;
SET LOCAL kvcache.transactional = on;
INSERT INTO feed_events VALUES (7, '2027-01-01', 2, '{"event": "message"}');
SELECT kv.incr('unread:7') AS unread_inside_the_transaction;
COMMIT;
SELECT kv.get('unread:7') AS unread_after_commit;
