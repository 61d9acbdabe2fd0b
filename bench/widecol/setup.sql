-- bench/widecol/setup.sql: the event workload tables (schema kvbench)
-- psql variables: rows (row count), file (server-side path of the data file)
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS kvbench CASCADE;
CREATE SCHEMA kvbench;
-- heap with the index a user would add
-- autovacuum off on both tables: its locks would make the measured VACUUM
-- wait or skip, and the background mover is off for the run anyway
CREATE TABLE kvbench.ev_heap (user_id bigint, ts timestamptz, kind int, payload text)
  WITH (autovacuum_enabled = false);
CREATE INDEX ev_heap_user_ts ON kvbench.ev_heap (user_id, ts);
CREATE TABLE kvbench.ev_wide (user_id bigint, ts timestamptz, kind int, payload text)
  USING widecol WITH (partition_key = 'user_id', sort_key = 'ts', autovacuum_enabled = false);
-- N rows for 20,000 users arriving in time order, interleaved across users,
-- with about 100 bytes of JSON-like payload
COPY (SELECT (g * 7919) % 20000, timestamptz '2026-01-01' + g * interval '1 second', g % 7,
             '{"event": ' || g || ', "kind": "' || (ARRAY['view', 'like', 'share', 'comment', 'follow', 'buy', 'login'])[1 + g % 7]
             || '", "ref": "' || md5(g::text) || '", "client": "web"}'
        FROM generate_series(1::bigint, :rows) g) TO :'file';
