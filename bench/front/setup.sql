-- bench/front/setup.sql: tables of bench/front.sh (schema kvbench)
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS kvbench CASCADE;
CREATE SCHEMA kvbench;

-- the source rows of the preloaded keys key:0 .. key:99999
CREATE UNLOGGED TABLE kvbench.ucache (k text PRIMARY KEY, v text NOT NULL);
INSERT INTO kvbench.ucache SELECT 'key:' || g, md5('key:' || g) FROM generate_series(0, 99999) g;

-- the event workload of the storage issue, quick size: 2M events of
-- 20,000 users arriving in time order, interleaved across users
CREATE TABLE kvbench.events (user_id bigint, ts timestamptz, kind int, payload text)
  USING widecol WITH (partition_key = 'user_id', sort_key = 'ts');
INSERT INTO kvbench.events
  SELECT (g::bigint * 7919) % 20000, timestamptz '2026-01-01' + g * interval '1 second', g % 7,
         '{"kind": ' || g % 7 || ', "seq": ' || g || ', "text": "' || md5(g::text) || '"}'
    FROM generate_series(1, 2000000) g;

CREATE FUNCTION kvbench.feed(uid bigint) RETURNS text LANGUAGE sql AS $$
  SELECT kv.get_or_load('feed:' || uid,
    'SELECT coalesce(json_agg(e ORDER BY e.ts DESC), ''[]'')
       FROM (SELECT ts, kind, payload FROM kvbench.events
              WHERE user_id = ' || uid || ' ORDER BY ts DESC LIMIT 20) e',
    interval '10 minutes')
$$;
SELECT kv.invalidate_on('kvbench.events', 'feed:{user_id}');

-- two identical profile tables, one with invalidation triggers
CREATE TABLE kvbench.profiles_plain (id int PRIMARY KEY, name text, bio text);
INSERT INTO kvbench.profiles_plain SELECT g, 'user ' || g, md5(g::text) FROM generate_series(1, 100000) g;
CREATE TABLE kvbench.profiles_inval (LIKE kvbench.profiles_plain INCLUDING ALL);
INSERT INTO kvbench.profiles_inval SELECT * FROM kvbench.profiles_plain;
SELECT kv.invalidate_on('kvbench.profiles_inval', 'profile:{id}');
SELECT kv.invalidate_on('kvbench.profiles_inval', 'profile_name:{name}');
VACUUM ANALYZE kvbench.ucache, kvbench.events, kvbench.profiles_plain, kvbench.profiles_inval;
