-- kvcache in front of tables: kv.get_or_load, kv.invalidate_on/off
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS kvcache;
RESET client_min_messages;
SELECT kv.flushdb() >= 0 AS flushed;

-- run a statement, report its SQLSTATE and message instead of failing
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

CREATE TABLE front_users (id int PRIMARY KEY, name text, org text);
INSERT INTO front_users VALUES (1, 'ada', 'acme'), (2, 'bob', 'acme'), (3, 'cy', NULL);

-- ---------------------------------------------------------------- get_or_load
-- a miss runs the loader (counted in key "loads"), stores and returns the value
SELECT kv.get_or_load('user:1', 'SELECT name || kv.incr(''loads'') FROM front_users WHERE id = 1');
SELECT kv.get('user:1'), kv.get('loads'), kv.ttl('user:1');
-- a hit returns the cached value; the loader does not run
SELECT kv.get_or_load('user:1', 'SELECT name || kv.incr(''loads'') FROM front_users WHERE id = 1');
SELECT kv.get('loads');
-- hits and misses are counted like kv.get's
SELECT kv.stats_reset();
SELECT kv.get_or_load('user:1', 'SELECT 1'), kv.get_or_load('user:2', 'SELECT name FROM front_users WHERE id = 2');
SELECT keyspace_hits, keyspace_misses FROM kv.stats;
-- ttl
SELECT kv.get_or_load('user:3', 'SELECT name FROM front_users WHERE id = 3', ttl => interval '1 minute');
SELECT kv.ttl('user:3') BETWEEN 59 AND 60 AS ttl_set;
-- no row: NULL, nothing stored (no negative caching); a NULL value likewise
SELECT kv.get_or_load('user:9', 'SELECT name FROM front_users WHERE id = 9') IS NULL AS no_row,
       kv.exists('user:9');
SELECT kv.get_or_load('org:3', 'SELECT org FROM front_users WHERE id = 3') IS NULL AS null_value,
       kv.exists('org:3');
-- the value is converted as by ::text; VALUES is a query too
SELECT kv.get_or_load('t:bool', 'SELECT true'),
       kv.get_or_load('t:bpchar', 'SELECT ''ab''::char(5)'),
       kv.get_or_load('t:num', 'VALUES (1.50::numeric)'),
       kv.get_or_load('t:arr', 'SELECT ARRAY[1, 2]'),
       kv.get_or_load('t:json', 'SELECT ''{"a": 1}''::jsonb');
SELECT kv.get('t:bool'), kv.get('t:bpchar') = 'ab' AS bpchar_trimmed;
-- an empty string is a value and is cached
SELECT kv.get_or_load('t:empty', 'SELECT ''''') = '' AS empty, kv.exists('t:empty');
-- a loader may call kv functions, including a nested get_or_load
SELECT kv.get_or_load('outer', 'SELECT ''<'' || kv.get_or_load(''inner'', ''SELECT 42'') || ''>''');
SELECT kv.get('inner'), kv.get('outer');
-- the loader runs in the caller's snapshot, so it sees the caller's earlier
-- writes; a transaction that has written anything returns what it loaded but
-- never stores it, so a rolled-back row cannot end up in the cache
BEGIN;
INSERT INTO front_users VALUES (4, 'dee', 'initech');
SELECT kv.get_or_load('user:4', 'SELECT name FROM front_users WHERE id = 4');
ROLLBACK;
SELECT kv.get('user:4');
SELECT kv.del('user:4');

-- loader errors: nothing is stored
SELECT pg_temp.err($$SELECT kv.get_or_load('bad', 'SELECT 1, 2')$$);
SELECT pg_temp.err($$SELECT kv.get_or_load('bad', 'SELECT')$$);
SELECT pg_temp.err($$SELECT kv.get_or_load('bad', 'SELECT g FROM generate_series(1, 2) g')$$);
SELECT pg_temp.err($$SELECT kv.get_or_load('bad', 'SELECT 1; SELECT 2')$$);
SELECT pg_temp.err($$SELECT kv.get_or_load('bad', 'INSERT INTO front_users VALUES (5, ''e'', NULL) RETURNING name')$$);
SELECT pg_temp.err($$SELECT kv.get_or_load('bad', 'SELECT name FROM front_users FOR UPDATE')$$);
SELECT pg_temp.err($$SELECT kv.get_or_load('bad', 'SELEC 1')$$);
SELECT pg_temp.err($$SELECT kv.get_or_load('bad', 'SELECT 1 / 0')$$);
SELECT pg_temp.err($$SELECT kv.get_or_load('bad', '')$$);
SELECT kv.exists('bad'), (SELECT count(*) FROM front_users) AS users;
-- argument errors
SELECT pg_temp.err($$SELECT kv.get_or_load(NULL, 'SELECT 1')$$);
SELECT pg_temp.err($$SELECT kv.get_or_load('k', NULL)$$);
SELECT pg_temp.err($$SELECT kv.get_or_load('k', 'SELECT 1', interval '0')$$);
SELECT pg_temp.err($$SELECT kv.get_or_load('k', 'SELECT 1', interval '-1 s')$$);
SELECT pg_temp.err($$SELECT kv.get_or_load(repeat('k', 70000), 'SELECT 1')$$);
-- a key of another type: 42809 on a hit, whatever the loader
SELECT kv.lpush('alist', 'x');
SELECT pg_temp.err($$SELECT kv.get_or_load('alist', 'SELECT 1')$$);
-- the wait timeout is a user setting in ms
SET kvcache.load_wait_timeout = '250ms';
SHOW kvcache.load_wait_timeout;
RESET kvcache.load_wait_timeout;
SHOW kvcache.load_wait_timeout;

-- ---------------------------------------------------------------- invalidate_on
SELECT kv.invalidate_on('front_users', 'user:{id}');
SELECT kv.invalidate_on('front_users', 'org:{org}:members');
SELECT tgname ~ '^kv_invalidate_[0-9a-f]{16}$' AS named_by_hash, tgenabled,
       pg_get_triggerdef(oid) ~ 'AFTER INSERT OR DELETE OR UPDATE .* FOR EACH ROW' AS row_trigger
  FROM pg_trigger WHERE tgrelid = 'front_users'::regclass ORDER BY tgname;

-- UPDATE deletes the keys of the old and the new row, at commit
SELECT kv.set('user:1', 'cached'), kv.set('org:acme:members', 'cached'),
       kv.set('org:initech:members', 'cached'), kv.set('user:2', 'cached');
UPDATE front_users SET org = 'initech' WHERE id = 1;
SELECT kv.exists('user:1') AS user1, kv.exists('org:acme:members') AS old_org,
       kv.exists('org:initech:members') AS new_org, kv.exists('user:2') AS user2;
-- INSERT deletes the new row's keys, DELETE the old row's
SELECT kv.set('user:5', 'cached'), kv.set('org:globex:members', 'cached');
INSERT INTO front_users VALUES (5, 'eve', 'globex');
SELECT kv.exists('user:5'), kv.exists('org:globex:members');
SELECT kv.set('user:5', 'cached'), kv.set('org:globex:members', 'cached');
DELETE FROM front_users WHERE id = 5;
SELECT kv.exists('user:5'), kv.exists('org:globex:members');
-- a NULL column renders as the empty string
SELECT kv.set('org::members', 'cached'), kv.set('org:null:members', 'cached');
UPDATE front_users SET name = 'cyd' WHERE id = 3;
SELECT kv.exists('org::members') AS empty_rendered, kv.exists('org:null:members') AS null_text_kept;
-- the keys go at commit, never before; the writer bypasses the cache for them
SELECT kv.set('user:2', 'cached');
BEGIN;
UPDATE front_users SET name = 'bobby' WHERE id = 2;
SELECT kv.get('user:2') AS still_cached;
SELECT kv.get_or_load('user:2', 'SELECT name FROM front_users WHERE id = 2') AS own_write;
SELECT kv.get('user:2') AS not_stored;
COMMIT;
SELECT kv.exists('user:2');
SELECT kv.get_or_load('user:2', 'SELECT name FROM front_users WHERE id = 2');
-- a key queued while the loader runs is not stored either
CREATE FUNCTION pg_temp.rename(uid int, n text) RETURNS text LANGUAGE sql AS
    'UPDATE front_users SET name = n WHERE id = uid RETURNING name';
SELECT kv.del('user:2');
BEGIN;
SELECT kv.get_or_load('user:2', 'SELECT pg_temp.rename(2, ''robert'')');
SELECT kv.exists('user:2') AS stored_in_xact;
ROLLBACK;
SELECT kv.exists('user:2') AS stored_after_rollback, name FROM front_users WHERE id = 2;
-- a rolled-back transaction invalidates nothing
SELECT kv.set('user:1', 'cached');
BEGIN;
UPDATE front_users SET name = 'ada2' WHERE id = 1;
ROLLBACK;
SELECT kv.get('user:1');
-- an aborted transaction (error) invalidates nothing either
BEGIN;
UPDATE front_users SET name = 'ada3' WHERE id = 1;
SELECT 1 / 0;
COMMIT;
SELECT kv.get('user:1');
-- savepoints: a rolled-back subtransaction drops its own keys only
SELECT kv.set('user:1', 'cached'), kv.set('user:2', 'cached'), kv.set('user:3', 'cached');
BEGIN;
UPDATE front_users SET name = 'ada' WHERE id = 1;
SAVEPOINT a;
UPDATE front_users SET name = 'bob' WHERE id = 2;
SAVEPOINT b;
UPDATE front_users SET name = 'cy' WHERE id = 3;
ROLLBACK TO SAVEPOINT a;
COMMIT;
SELECT kv.exists('user:1') AS user1, kv.exists('user:2') AS user2, kv.exists('user:3') AS user3;
-- a released savepoint passes its keys to the parent; the key a rolled-back
-- subtransaction queued again survives when the parent had queued it
SELECT kv.set('user:1', 'cached'), kv.set('user:2', 'cached'), kv.set('user:3', 'cached');
BEGIN;
UPDATE front_users SET name = name WHERE id = 1;
SAVEPOINT a;
UPDATE front_users SET name = name WHERE id = 2;
RELEASE SAVEPOINT a;
SAVEPOINT b;
UPDATE front_users SET name = name WHERE id IN (1, 3);
ROLLBACK TO SAVEPOINT b;
COMMIT;
SELECT kv.exists('user:1') AS user1, kv.exists('user:2') AS user2, kv.exists('user:3') AS user3;
-- an exception block is a subtransaction too
SELECT kv.set('user:1', 'cached'), kv.set('user:2', 'cached');
DO $$
BEGIN
    UPDATE front_users SET name = name WHERE id = 1;
    BEGIN
        UPDATE front_users SET name = name WHERE id = 2;
        PERFORM 1 / 0;
    EXCEPTION WHEN division_by_zero THEN
        NULL;
    END;
END $$;
SELECT kv.exists('user:1') AS user1, kv.exists('user:2') AS user2;
-- many rows, one key each; an invalidated key that was never cached is fine
SELECT kv.set('user:' || g, 'cached') FROM generate_series(1, 3) g ORDER BY g;
UPDATE front_users SET name = name;
SELECT count(*) FROM kv.keys('user:*');

-- PREPARE TRANSACTION with queued invalidations is refused
SELECT kv.set('user:1', 'cached');
BEGIN;
UPDATE front_users SET name = 'ada' WHERE id = 1;
\set VERBOSITY sqlstate
PREPARE TRANSACTION 'kvcache_front';
\set VERBOSITY default
\echo :LAST_ERROR_MESSAGE
SELECT kv.get('user:1') AS kept, (SELECT count(*) FROM pg_prepared_xacts) AS prepared;

-- templates: literal braces, several placeholders, several tables
SELECT kv.invalidate_on('front_users', '{{{id}}}:{org}/{name}');
SELECT kv.set('{1}:initech/ada', 'cached'), kv.set('{1}:initech/ada2', 'cached');
UPDATE front_users SET name = 'ada2' WHERE id = 1;
SELECT kv.exists('{1}:initech/ada') AS old_key, kv.exists('{1}:initech/ada2') AS new_key;
SELECT kv.invalidate_off('front_users', '{{{id}}}:{org}/{name}');
-- an UPDATE that keeps the key deletes it once; a constant template works
SELECT kv.invalidate_on('front_users', 'front_users:count');
SELECT kv.set('front_users:count', '3');
DELETE FROM front_users WHERE id = 3;
SELECT kv.exists('front_users:count');
SELECT kv.invalidate_off('front_users', 'front_users:count');
-- values render as ::text does, with the writer's settings (DateStyle here)
CREATE TABLE front_types (b boolean, c char(4), d date, n numeric);
SELECT kv.invalidate_on('front_types', '{b}|{c}|{d}|{n}');
SET DateStyle = 'ISO';
SELECT kv.set('true|ab|2024-02-29|1.50', 'cached');
INSERT INTO front_types VALUES (true, 'ab', '2024-02-29', 1.50);
SELECT kv.exists('true|ab|2024-02-29|1.50');
RESET DateStyle;
DROP TABLE front_types;

-- template and argument errors
SELECT pg_temp.err($$SELECT kv.invalidate_on('front_users', 'user:{nope}')$$);
SELECT pg_temp.err($$SELECT kv.invalidate_on('front_users', 'user:{ID}')$$);
SELECT pg_temp.err($$SELECT kv.invalidate_on('front_users', 'user:{ctid}')$$);
SELECT pg_temp.err($$SELECT kv.invalidate_on('front_users', 'user:{}')$$);
SELECT pg_temp.err($$SELECT kv.invalidate_on('front_users', 'user:{id')$$);
SELECT pg_temp.err($$SELECT kv.invalidate_on('front_users', 'user:{a{id}}')$$);
SELECT pg_temp.err($$SELECT kv.invalidate_on('front_users', 'user:id}')$$);
SELECT pg_temp.err($$SELECT kv.invalidate_on('front_users', '')$$);
SELECT pg_temp.err($$SELECT kv.invalidate_on('front_users', NULL)$$);
SELECT pg_temp.err($$SELECT kv.invalidate_on(NULL, 'x')$$);
SELECT pg_temp.err($$SELECT kv.invalidate_on('front_users', 'user:{id}')$$);
SELECT pg_temp.err($$SELECT kv.invalidate_off('front_users', 'user:{name}')$$);
CREATE VIEW front_view AS SELECT * FROM front_users;
SELECT pg_temp.err($$SELECT kv.invalidate_on('front_view', 'user:{id}')$$);
DROP VIEW front_view;
-- the trigger function is only a trigger, AFTER ... FOR EACH ROW, with one argument
CREATE TABLE front_misuse (id int);
CREATE TRIGGER before_row BEFORE INSERT ON front_misuse FOR EACH ROW EXECUTE FUNCTION kv.invalidate_trigger('k');
SELECT pg_temp.err($$INSERT INTO front_misuse VALUES (1)$$);
DROP TRIGGER before_row ON front_misuse;
CREATE TRIGGER no_arg AFTER INSERT ON front_misuse FOR EACH ROW EXECUTE FUNCTION kv.invalidate_trigger();
SELECT pg_temp.err($$INSERT INTO front_misuse VALUES (1)$$);
DROP TRIGGER no_arg ON front_misuse;
-- a renamed column makes the trigger fail rather than miss invalidations
SELECT kv.invalidate_on('front_misuse', 'm:{id}');
ALTER TABLE front_misuse RENAME COLUMN id TO ident;
SELECT pg_temp.err($$INSERT INTO front_misuse VALUES (1)$$);
SELECT kv.invalidate_off('front_misuse', 'm:{id}');
INSERT INTO front_misuse VALUES (1);
DROP TABLE front_misuse;

-- any writer's change invalidates, even one without access to schema kv
CREATE ROLE regress_kv_front_other;
GRANT ALL ON front_users TO regress_kv_front_other;
SELECT kv.set('user:2', 'cached');
SET ROLE regress_kv_front_other;
UPDATE front_users SET name = 'bob' WHERE id = 2;
RESET ROLE;
SELECT kv.exists('user:2');
-- only the owner may install or remove invalidations
GRANT USAGE ON SCHEMA kv TO regress_kv_front_other;
SET ROLE regress_kv_front_other;
SELECT pg_temp.err($$SELECT kv.invalidate_on('front_users', 'x:{id}')$$);
SELECT pg_temp.err($$SELECT kv.invalidate_off('front_users', 'user:{id}')$$);
RESET ROLE;
REVOKE USAGE ON SCHEMA kv FROM regress_kv_front_other;
REVOKE ALL ON front_users FROM regress_kv_front_other;
DROP ROLE regress_kv_front_other;

-- partitioned tables: the trigger is cloned to partitions whose columns
-- are in another order
CREATE TABLE front_events (uid int, seq int, body text) PARTITION BY RANGE (uid);
CREATE TABLE front_events_1 (body text, seq int, uid int);
ALTER TABLE front_events ATTACH PARTITION front_events_1 FOR VALUES FROM (0) TO (100);
CREATE TABLE front_events_2 PARTITION OF front_events FOR VALUES FROM (100) TO (200);
SELECT kv.invalidate_on('front_events', 'feed:{uid}');
SELECT kv.set('feed:7', 'cached'), kv.set('feed:107', 'cached');
INSERT INTO front_events VALUES (7, 1, 'a'), (107, 1, 'b');
SELECT kv.exists('feed:7'), kv.exists('feed:107');
-- moving a row between partitions deletes both keys
SELECT kv.set('feed:7', 'cached'), kv.set('feed:150', 'cached');
UPDATE front_events SET uid = 150 WHERE uid = 7;
SELECT kv.exists('feed:7'), kv.exists('feed:150');
SELECT kv.invalidate_off('front_events', 'feed:{uid}');
SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'kv_invalidate_%' AND tgrelid::regclass::text LIKE 'front_events%';
DROP TABLE front_events;

-- invalidate_off: later writes no longer invalidate
SELECT kv.invalidate_off('front_users', 'user:{id}');
SELECT kv.invalidate_off('front_users', 'org:{org}:members');
SELECT count(*) FROM pg_trigger WHERE tgrelid = 'front_users'::regclass;
SELECT kv.set('user:1', 'cached');
UPDATE front_users SET name = 'ada' WHERE id = 1;
SELECT kv.get('user:1');

DROP TABLE front_users;
SELECT kv.flushdb() >= 0 AS flushed;
