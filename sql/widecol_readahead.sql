-- widecol key index read-ahead: a key index's first key scan since server
-- start asks the kernel to read the whole index ahead (EXPLAIN ANALYZE:
-- Key Index Read Ahead), once for all backends, when the index is at most
-- widecol.key_index_readahead; not for temporary tables, not when off.
-- test/regress.conf turns it off for the other tests; this one sets the
-- default in each session.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS widecol;
RESET client_min_messages;
SET widecol.key_index_readahead = '16MB';

-- ra_pages(query): pages the query's key scan read ahead (0: none)
CREATE FUNCTION ra_pages(q text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  plan json;
BEGIN
  EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, FORMAT JSON) ' || q INTO plan;
  RETURN coalesce((plan -> 0 -> 'Plan' -> 'Plans' -> 0 ->> 'Key Index Read Ahead')::bigint, 0);
END $$;
-- ra_index_pages(table): pages of the table's key index
CREATE FUNCTION ra_index_pages(t regclass) RETURNS bigint LANGUAGE sql AS $$
  SELECT pg_relation_size(i.indexrelid) / current_setting('block_size')::bigint
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
   WHERE i.indrelid = t AND c.relname LIKE '%_wckey'
$$;

CREATE TABLE ra (user_id int, ts int, note text)
  USING widecol WITH (partition_key = 'user_id', sort_key = 'ts', autovacuum_enabled = false);
INSERT INTO ra SELECT u, t, repeat('x', 20) FROM generate_series(1, 50) u, generate_series(1, 200) t;
SELECT widecol.compact('ra') IS NOT NULL AS compacted;
INSERT INTO ra SELECT u, 1000, 'fresh' FROM generate_series(1, 50) u;
SELECT ra_index_pages('ra') > 1 AS several_pages;

-- the first key scan reads the whole index ahead
SELECT ra_pages('SELECT * FROM ra WHERE user_id = 7 ORDER BY ts DESC LIMIT 5') = ra_index_pages('ra')
  AS whole_index;
-- later scans do not, in this session or another
SELECT ra_pages('SELECT * FROM ra WHERE user_id = 8 ORDER BY ts LIMIT 5') AS again;
\c
SET widecol.key_index_readahead = '16MB';
SELECT ra_pages('SELECT * FROM ra WHERE user_id = 9 ORDER BY ts DESC LIMIT 5') AS other_session;
-- the answers are those of a scan without read-ahead
SELECT user_id, ts, note FROM ra WHERE user_id = 9 ORDER BY ts DESC LIMIT 3;

-- a new relation file (TRUNCATE) is read ahead again; not when the setting
-- is 0, then on the session's next scan once it is back on
TRUNCATE ra;
INSERT INTO ra SELECT u, t, 'again' FROM generate_series(1, 50) u, generate_series(1, 100) t;
SET widecol.key_index_readahead = 0;
SELECT ra_pages('SELECT * FROM ra WHERE user_id = 7 ORDER BY ts DESC LIMIT 5') AS off;
SET widecol.key_index_readahead = '16MB';
SELECT ra_index_pages('ra') AS index_pages;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT * FROM ra WHERE user_id = 7 ORDER BY ts DESC LIMIT 5;

-- an index above the limit is not read ahead
CREATE TABLE ra_big (user_id int, ts int)
  USING widecol WITH (partition_key = 'user_id', sort_key = 'ts', autovacuum_enabled = false);
INSERT INTO ra_big SELECT u, t FROM generate_series(1, 100) u, generate_series(1, 50) t;
SET widecol.key_index_readahead = '8kB';
SELECT ra_index_pages('ra_big') > 1 AS above_limit,
       ra_pages('SELECT * FROM ra_big WHERE user_id = 3 ORDER BY ts LIMIT 5') AS big;
-- a backend checks a file again when the limit changes
SET widecol.key_index_readahead = '16MB';
SELECT ra_pages('SELECT * FROM ra_big WHERE user_id = 3 ORDER BY ts LIMIT 5') = ra_index_pages('ra_big')
  AS raised;
-- the setting is validated: kB units, 0 to 1 GB
SET widecol.key_index_readahead = '2GB';
SET widecol.key_index_readahead = -1;
SHOW widecol.key_index_readahead;

-- temporary tables are not read ahead
SET widecol.key_index_readahead = '16MB';
CREATE TEMP TABLE ra_temp (user_id int, ts int)
  USING widecol WITH (partition_key = 'user_id', sort_key = 'ts');
INSERT INTO ra_temp SELECT u, t FROM generate_series(1, 10) u, generate_series(1, 10) t;
SELECT ra_pages('SELECT * FROM ra_temp WHERE user_id = 3 ORDER BY ts LIMIT 5') AS temp;

DROP TABLE ra, ra_big, ra_temp;
DROP FUNCTION ra_pages(text), ra_index_pages(regclass);
