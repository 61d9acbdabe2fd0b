-- Randomized differential test: the same pseudo-random DML (inserts,
-- updates of plain, sort key and partition key columns, deletes, multi-row
-- inserts) runs on a heap table and a widecol table, with compactions and
-- VACUUMs of the widecol table in between; the answers are compared after
-- every stretch, by full comparison, through column scans (count(*) and
-- subsets of the columns) and through key-range scans.  Some
-- rows have a NULL sort key (they sort last, and end their runs).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS widecol;
CREATE TABLE hp (id int, user_id int, ts int, v text);
CREATE TABLE wc (id int, user_id int, ts int, v text)
  USING widecol WITH (partition_key = 'user_id', sort_key = 'ts');
CREATE INDEX hp_id ON hp (id);
CREATE INDEX wc_id ON wc (id);

-- the operations, fixed by the seed
SELECT setseed(0.4242);
CREATE TEMP TABLE ops AS
  SELECT i, random() AS r1, random() AS r2, random() AS r3
    FROM generate_series(1, 1200) i;

CREATE FUNCTION wc_op(t text, i int, r1 float8, r2 float8, r3 float8) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN r1 < 0.40 THEN format('INSERT INTO %s VALUES (%s, %s, %s, %L)',
                               t, i, (r2 * 30)::int,
                               CASE WHEN r3 < 0.06 THEN 'NULL' ELSE ((r3 * 1000)::int)::text END,
                               'v' || i)
    WHEN r1 < 0.55 THEN format('UPDATE %s SET v = v || %L WHERE user_id = %s AND ts < %s',
                               t, 'u' || i, (r2 * 30)::int, (r3 * 1000)::int)
    WHEN r1 < 0.65 THEN format('UPDATE %s SET ts = ts + %s WHERE id %% 23 = %s',
                               t, (r3 * 50)::int - 25, (r2 * 22)::int)
    WHEN r1 < 0.70 THEN format('UPDATE %s SET user_id = (user_id + 7) %% 30 WHERE id %% 41 = %s',
                               t, (r2 * 40)::int)
    WHEN r1 < 0.82 THEN format('DELETE FROM %s WHERE user_id = %s AND id %% 7 = %s',
                               t, (r2 * 30)::int, (r3 * 6)::int)
    ELSE format('INSERT INTO %s SELECT %s * 100 + g, (g * %s) %% 30, CASE WHEN g %% 13 = 0 THEN NULL ELSE %s + g * 3 END, %L FROM generate_series(1, 40) g',
                t, i, 1 + (r2 * 10)::int, (r3 * 1000)::int, 'm' || i)
  END
$$;

CREATE VIEW same AS
  SELECT (SELECT count(*) FROM (TABLE wc EXCEPT ALL TABLE hp) a) AS only_widecol,
         (SELECT count(*) FROM (TABLE hp EXCEPT ALL TABLE wc) b) AS only_heap,
         (SELECT count(*) FROM wc) = (SELECT count(*) FROM hp) AS same_count,
         (SELECT ARRAY[sum(ts), count(ts), sum(user_id)] FROM wc) =
         (SELECT ARRAY[sum(ts), count(ts), sum(user_id)] FROM hp) AND
         (SELECT md5(string_agg(v, ',' ORDER BY v)) FROM wc) =
         (SELECT md5(string_agg(v, ',' ORDER BY v)) FROM hp) AS same_columns;
-- per partition through the key-range scan: rows, and the first and last
-- ten sort keys in both directions, from both ends and from bounds
CREATE VIEW same_keyscan AS
  SELECT count(*) FILTER (WHERE w IS DISTINCT FROM h) AS partitions_differing
    FROM (SELECT u,
                 (SELECT ARRAY[count(*), count(ts), sum(ts), sum(id)] FROM wc WHERE user_id = u) AS w,
                 (SELECT ARRAY[count(*), count(ts), sum(ts), sum(id)] FROM hp WHERE user_id = u) AS h
            FROM generate_series(0, 30) u
          UNION ALL
          SELECT u,
                 (SELECT array_agg(ts)::bigint[] FROM (SELECT ts FROM wc WHERE user_id = u ORDER BY ts DESC LIMIT 10) s),
                 (SELECT array_agg(ts)::bigint[] FROM (SELECT ts FROM hp WHERE user_id = u ORDER BY ts DESC LIMIT 10) s)
            FROM generate_series(0, 30) u
          UNION ALL
          SELECT u,
                 (SELECT array_agg(ts)::bigint[] FROM (SELECT ts FROM wc WHERE user_id = u AND ts >= 300 ORDER BY ts LIMIT 10) s),
                 (SELECT array_agg(ts)::bigint[] FROM (SELECT ts FROM hp WHERE user_id = u AND ts >= 300 ORDER BY ts LIMIT 10) s)
            FROM generate_series(0, 30) u
          UNION ALL
          SELECT u,
                 (SELECT array_agg(ts)::bigint[] FROM (SELECT ts FROM wc WHERE user_id = u AND ts < 700 ORDER BY ts DESC LIMIT 10) s),
                 (SELECT array_agg(ts)::bigint[] FROM (SELECT ts FROM hp WHERE user_id = u AND ts < 700 ORDER BY ts DESC LIMIT 10) s)
            FROM generate_series(0, 30) u
          UNION ALL
          SELECT u,
                 (SELECT array_agg(ts)::bigint[] FROM (SELECT ts FROM wc WHERE user_id = u AND ts > 150 AND ts <= 450 ORDER BY ts DESC) s),
                 (SELECT array_agg(ts)::bigint[] FROM (SELECT ts FROM hp WHERE user_id = u AND ts > 150 AND ts <= 450 ORDER BY ts DESC) s)
            FROM generate_series(0, 30) u
          UNION ALL
          SELECT u,
                 (SELECT array_agg(ts)::bigint[] FROM (SELECT ts FROM wc WHERE user_id = u AND ts > 850 ORDER BY ts LIMIT 10) s),
                 (SELECT array_agg(ts)::bigint[] FROM (SELECT ts FROM hp WHERE user_id = u AND ts > 850 ORDER BY ts LIMIT 10) s)
            FROM generate_series(0, 30) u) c(u, w, h);
EXPLAIN (COSTS OFF) SELECT ts FROM wc WHERE user_id = 3 AND ts >= 300 ORDER BY ts LIMIT 10;
EXPLAIN (COSTS OFF) SELECT ts FROM wc WHERE user_id = 3 AND ts < 700 ORDER BY ts DESC LIMIT 10;

-- four stretches of 300 operations (not echoed), each followed by a
-- comparison; the widecol table is compacted after the first three and
-- vacuumed after two
\set ECHO none
SELECT wc_op('hp', i, r1, r2, r3), wc_op('wc', i, r1, r2, r3)
  FROM ops WHERE i <= 300 ORDER BY i \gexec
\set ECHO all
SELECT * FROM same;
SELECT * FROM same_keyscan;
SELECT moved_rows > 0 AS moved FROM widecol.compact('wc');
SELECT * FROM same;
SELECT * FROM same_keyscan;
\set ECHO none
SELECT wc_op('hp', i, r1, r2, r3), wc_op('wc', i, r1, r2, r3)
  FROM ops WHERE i > 300 AND i <= 600 ORDER BY i \gexec
\set ECHO all
SELECT * FROM same;
SELECT * FROM same_keyscan;
SELECT moved_rows > 0 AS moved FROM widecol.compact('wc');
VACUUM wc;
SELECT * FROM same;
SELECT * FROM same_keyscan;
\set ECHO none
SELECT wc_op('hp', i, r1, r2, r3), wc_op('wc', i, r1, r2, r3)
  FROM ops WHERE i > 600 AND i <= 900 ORDER BY i \gexec
\set ECHO all
SELECT moved_rows > 0 AS moved FROM widecol.compact('wc');
SELECT * FROM same;
SELECT * FROM same_keyscan;
\set ECHO none
SELECT wc_op('hp', i, r1, r2, r3), wc_op('wc', i, r1, r2, r3)
  FROM ops WHERE i > 900 ORDER BY i \gexec
\set ECHO all
VACUUM wc;
SELECT * FROM same;
SELECT * FROM same_keyscan;
-- both tiers were exercised, and the structures are consistent
SELECT stored_rows > 0 AS has_cold, blocks > 0 AS has_blocks
  FROM widecol.tables WHERE relid = 'wc'::regclass;
SELECT count(*) FILTER (WHERE (ctid::text::point)[1] <= 291) > 0 AS has_delta,
       count(*) FILTER (WHERE ts IS NULL AND (ctid::text::point)[1] > 291) > 0 AS has_cold_nulls FROM wc;
SELECT "check", ok FROM widecol.verify('wc') ORDER BY 1;

DROP VIEW same_keyscan, same;
DROP FUNCTION wc_op(text, int, float8, float8, float8);
DROP TABLE hp, wc;
