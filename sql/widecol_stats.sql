-- widecol.tables: delta_rows counts the live rows of the delta and
-- stored_rows those of the cold tier, both as a fresh snapshot sees them;
-- every step is checked against where the rows really are (cold TIDs have
-- offsets above 291) and against a heap twin
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS widecol;

CREATE TABLE hp (user_id bigint, ts int, note text);
CREATE TABLE wc (user_id bigint, ts int, note text)
  USING widecol WITH (partition_key = 'user_id', sort_key = 'ts');
CREATE INDEX ON wc (note);
-- the view's counters, the rows found in each tier by a scan, the heap twin
CREATE VIEW counts AS
  SELECT t.delta_rows, t.stored_rows,
         (SELECT count(*) FROM wc WHERE (ctid::text::point)[1] <= 291) AS scanned_delta,
         (SELECT count(*) FROM wc WHERE (ctid::text::point)[1] > 291) AS scanned_cold,
         (SELECT count(*) FROM hp) AS heap_rows
    FROM widecol.tables t WHERE t.relid = 'wc'::regclass;

-- a new table has no rows in either tier
SELECT * FROM counts;

-- INSERT writes to the delta
INSERT INTO wc SELECT g % 10, g, 'i' || g FROM generate_series(1, 1000) g;
INSERT INTO hp SELECT g % 10, g, 'i' || g FROM generate_series(1, 1000) g;
SELECT * FROM counts;

-- compact moves the delta to the cold tier
SELECT moved_rows FROM widecol.compact('wc');
SELECT * FROM counts;

-- a direct COPY writes cold blocks: the delta stays empty
\getenv abs_builddir PG_ABS_BUILDDIR
\set copyfile :abs_builddir '/results/widecol_stats.data'
COPY (SELECT g % 20, g, 'c' || g FROM generate_series(1001, 6000) g) TO :'copyfile';
COPY wc FROM :'copyfile';
COPY hp FROM :'copyfile';
SELECT * FROM counts;

-- ANALYZE changes no counter (the statistics count both tiers)
ANALYZE wc;
SELECT * FROM counts;

-- new delta rows; DELETE of delta rows and of a cold row
INSERT INTO wc SELECT 30, g, 'n' || g FROM generate_series(1, 10) g;
INSERT INTO hp SELECT 30, g, 'n' || g FROM generate_series(1, 10) g;
DELETE FROM wc WHERE user_id = 30 AND ts <= 3;
DELETE FROM hp WHERE user_id = 30 AND ts <= 3;
DELETE FROM wc WHERE user_id = 1 AND ts = 1001;
DELETE FROM hp WHERE user_id = 1 AND ts = 1001;
SELECT * FROM counts;

-- UPDATE of a cold row moves it to the delta
UPDATE wc SET note = 'updated' WHERE user_id = 2 AND ts = 1002;
UPDATE hp SET note = 'updated' WHERE user_id = 2 AND ts = 1002;
SELECT * FROM counts;

-- rolled back rows are not counted; the own transaction's rows are
BEGIN;
INSERT INTO wc SELECT 40, g, 'r' FROM generate_series(1, 5) g;
SELECT delta_rows FROM widecol.tables WHERE relid = 'wc'::regclass;
ROLLBACK;
SELECT * FROM counts;

-- VACUUM removes dead rows (here without running the mover first, which
-- widecol_vacuum_move tests); compact moves the rows that keep the cold
-- tier's partitions disjoint (user 30's), the updated row of user 2 stays
SET widecol.vacuum_move = off;
VACUUM wc;
RESET widecol.vacuum_move;
SELECT * FROM counts;
SELECT moved_rows FROM widecol.compact('wc');
SELECT * FROM counts;

-- temporary tables are counted too
CREATE TEMP TABLE tw (a int, b int) USING widecol WITH (partition_key = 'a');
INSERT INTO tw SELECT g % 3, g FROM generate_series(1, 50) g;
DELETE FROM tw WHERE b <= 5;
SELECT delta_rows, stored_rows FROM widecol.tables WHERE relid = 'tw'::regclass;
DROP TABLE tw;

-- the counters take a fresh snapshot, so the view never runs in parallel
SET force_parallel_mode = on;
SELECT delta_rows, stored_rows FROM widecol.tables WHERE relid = 'wc'::regclass;
RESET force_parallel_mode;

-- TRUNCATE empties both tiers
TRUNCATE wc;
SELECT delta_rows, stored_rows, blocks FROM widecol.tables WHERE relid = 'wc'::regclass;

DROP VIEW counts;
DROP TABLE wc, hp;
