-- widecol cold tier: widecol.compact() moves committed rows into compressed
-- blocks; every read path, DML and row locks on cold rows, and maintenance
-- commands are compared with a heap twin holding the same rows.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS widecol;
RESET client_min_messages;
-- VACUUM here only vacuums: widecol_vacuum_move tests the move it runs first
SET widecol.vacuum_move = off;

CREATE TABLE ev (user_id int, ts int, kind int, payload text, PRIMARY KEY (user_id, ts))
  USING widecol WITH (autovacuum_enabled = false);
CREATE TABLE hv (user_id int, ts int, kind int, payload text, PRIMARY KEY (user_id, ts))
  WITH (autovacuum_enabled = false);
CREATE INDEX ev_kind ON ev (kind);
CREATE INDEX hv_kind ON hv (kind);
INSERT INTO ev SELECT (g * 7919) % 300, g, g % 7, 'event ' || g || repeat(' pad', g % 20)
  FROM generate_series(1, 6000) g;
INSERT INTO hv SELECT * FROM ev;

\set same 'SELECT (SELECT count(*) FROM (SELECT * FROM ev EXCEPT ALL SELECT * FROM hv) a) AS only_widecol, (SELECT count(*) FROM (SELECT * FROM hv EXCEPT ALL SELECT * FROM ev) b) AS only_heap, (SELECT count(*) FROM ev) AS widecol_rows'
\set cold 'SELECT count(*) FILTER (WHERE (ctid::text::point)[1] > 291) AS cold, count(*) FILTER (WHERE (ctid::text::point)[1] <= 291) AS delta FROM ev'
:same;
:cold;

-- compact moves every committed row; a second run finds nothing to move
SELECT moved_rows, blocks_written BETWEEN 20 AND 30 AS blocks_ok,
       compressed_bytes * 3 < raw_bytes AS compressed_3x
  FROM widecol.compact('ev');
SELECT moved_rows, blocks_written FROM widecol.compact('ev');
:cold;
:same;
SELECT stored_rows, blocks BETWEEN 20 AND 30 AS blocks_ok, raw_bytes > compressed_bytes AS smaller,
       total_bytes = pg_total_relation_size('ev') AS total_ok, last_compaction <= now() AS stamped
  FROM widecol.tables WHERE relid = 'ev'::regclass;
SELECT "check", ok, detail FROM widecol.verify('ev') ORDER BY 1;

-- cold rows keep xmin of the compacting transaction and xmax 0
SELECT count(DISTINCT xmin::text) AS xmins, max(xmax::text) AS xmax FROM ev;

-- reads: aggregates, ordered scans, index scans, joins, TID scans, cursors
SELECT user_id, count(*), sum(ts), min(payload) FROM ev WHERE user_id < 5 GROUP BY user_id ORDER BY user_id;
SELECT user_id, count(*), sum(ts), min(payload) FROM hv WHERE user_id < 5 GROUP BY user_id ORDER BY user_id;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM ev WHERE user_id = 42 ORDER BY ts DESC LIMIT 3;
SELECT * FROM ev WHERE user_id = 42 ORDER BY ts DESC LIMIT 3;
SELECT * FROM hv WHERE user_id = 42 ORDER BY ts DESC LIMIT 3;
EXPLAIN (COSTS OFF) SELECT count(*), sum(ts) FROM ev WHERE kind = 3;
SELECT (SELECT count(*) || '/' || sum(ts) FROM ev WHERE kind = 3) AS widecol,
       (SELECT count(*) || '/' || sum(ts) FROM hv WHERE kind = 3) AS heap;
SELECT count(*) AS joined FROM ev JOIN hv USING (user_id, ts, kind, payload) WHERE ev.user_id < 50;
RESET enable_seqscan;
SELECT count(*) AS joined_all FROM ev JOIN hv USING (user_id, ts, kind, payload);
SELECT ctid AS first_tid FROM ev WHERE user_id = 7 ORDER BY ts LIMIT 1 \gset
EXPLAIN (COSTS OFF) SELECT * FROM ev WHERE ctid = '(1,300)';
SELECT user_id, ts, kind FROM ev WHERE ctid = :'first_tid';
SELECT user_id, ts, kind FROM ev WHERE ctid = '(4294967294,300)';
SELECT user_id, ts, kind FROM ev WHERE ctid = '(1,300)';
BEGIN;
DECLARE c SCROLL CURSOR FOR SELECT user_id, ts FROM ev;
MOVE FORWARD ALL IN c;
MOVE BACKWARD ALL IN c;
FETCH 1 FROM c \gset first_
MOVE FORWARD ALL IN c;
FETCH BACKWARD 1 FROM c \gset last_
SELECT count(*) AS same_first FROM ev WHERE user_id = :first_user_id AND ts = :first_ts;
SELECT count(*) AS same_last FROM ev WHERE user_id = :last_user_id AND ts = :last_ts;
COMMIT;

-- UPDATE, DELETE, RETURNING, key changes, ON CONFLICT on cold rows
UPDATE ev SET kind = kind + 100 WHERE user_id = 3 RETURNING user_id, ts, kind;
UPDATE hv SET kind = kind + 100 WHERE user_id = 3 RETURNING user_id, ts, kind;
DELETE FROM ev WHERE user_id = 4 AND ts < 3000 RETURNING user_id, ts;
DELETE FROM hv WHERE user_id = 4 AND ts < 3000 RETURNING user_id, ts;
UPDATE ev SET ts = ts + 100000 WHERE user_id = 5;
UPDATE hv SET ts = ts + 100000 WHERE user_id = 5;
UPDATE ev SET payload = 'twice' WHERE user_id = 3;
UPDATE hv SET payload = 'twice' WHERE user_id = 3;
INSERT INTO ev VALUES (7, 53, 0, 'clash') ON CONFLICT (user_id, ts) DO UPDATE SET payload = 'upserted ' || excluded.payload;
INSERT INTO hv VALUES (7, 53, 0, 'clash') ON CONFLICT (user_id, ts) DO UPDATE SET payload = 'upserted ' || excluded.payload;
SELECT payload FROM ev WHERE user_id = 7 AND ts = 53;
INSERT INTO ev VALUES (7, 353, 0, 'clash') ON CONFLICT (user_id, ts) DO NOTHING;
INSERT INTO hv VALUES (7, 353, 0, 'clash') ON CONFLICT (user_id, ts) DO NOTHING;
-- a cold row updated twice, then deleted, in one transaction
BEGIN;
UPDATE ev SET kind = 1 WHERE user_id = 16;
UPDATE ev SET kind = 2 WHERE user_id = 16;
DELETE FROM ev WHERE user_id = 16 AND ts < 2000;
COMMIT;
BEGIN;
UPDATE hv SET kind = 1 WHERE user_id = 16;
UPDATE hv SET kind = 2 WHERE user_id = 16;
DELETE FROM hv WHERE user_id = 16 AND ts < 2000;
COMMIT;
INSERT INTO ev SELECT user_id, ts, 0, 'never' FROM hv WHERE user_id = 8 ON CONFLICT DO NOTHING;
INSERT INTO hv SELECT user_id, ts, 0, 'never' FROM hv WHERE user_id = 8 ON CONFLICT DO NOTHING;
INSERT INTO ev SELECT user_id, ts, 0, 'dup' FROM hv WHERE user_id = 9 LIMIT 1;
\echo :LAST_ERROR_SQLSTATE
:same;

-- savepoints and rollback undo tombstones like any row
BEGIN;
UPDATE ev SET kind = -1 WHERE user_id = 10;
SAVEPOINT s;
DELETE FROM ev WHERE user_id = 11;
ROLLBACK TO s;
UPDATE ev SET kind = -2 WHERE user_id = 10 AND ts % 2 = 0;
COMMIT;
BEGIN;
UPDATE hv SET kind = -1 WHERE user_id = 10;
UPDATE hv SET kind = -2 WHERE user_id = 10 AND ts % 2 = 0;
COMMIT;
BEGIN;
DELETE FROM ev WHERE user_id = 12;
ROLLBACK;
:same;

-- row locks on cold rows: every mode, NOWAIT and SKIP LOCKED
BEGIN;
SELECT user_id, ts FROM ev WHERE user_id = 13 ORDER BY ts FOR KEY SHARE;
SELECT user_id, ts FROM ev WHERE user_id = 13 ORDER BY ts FOR SHARE;
SELECT user_id, ts FROM ev WHERE user_id = 13 ORDER BY ts FOR NO KEY UPDATE NOWAIT;
SELECT user_id, ts FROM ev WHERE user_id = 13 ORDER BY ts FOR UPDATE SKIP LOCKED;
UPDATE ev SET kind = 77 WHERE user_id = 13;
COMMIT;
UPDATE hv SET kind = 77 WHERE user_id = 13;
:same;

-- triggers see cold rows as OLD
CREATE TABLE audit (op text, user_id int, ts int, kind int);
CREATE FUNCTION ev_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO audit VALUES (TG_OP, OLD.user_id, OLD.ts, OLD.kind);
  RETURN NULL;
END $$;
CREATE TRIGGER ev_audit AFTER UPDATE OR DELETE ON ev FOR EACH ROW EXECUTE FUNCTION ev_audit();
UPDATE ev SET kind = 1 WHERE user_id = 14 AND ts < 1000;
DELETE FROM ev WHERE user_id = 15 AND ts < 1000;
UPDATE hv SET kind = 1 WHERE user_id = 14 AND ts < 1000;
DELETE FROM hv WHERE user_id = 15 AND ts < 1000;
SELECT op, user_id, ts, kind FROM audit ORDER BY op, user_id, ts;
DROP TRIGGER ev_audit ON ev;

-- VACUUM removes the index entries of deleted cold rows, keeps answers
VACUUM ev;
VACUUM hv;
:same;
SET enable_seqscan = off;
SELECT (SELECT count(*) FROM ev WHERE user_id BETWEEN 0 AND 20) AS widecol_by_pk,
       (SELECT count(*) FROM hv WHERE user_id BETWEEN 0 AND 20) AS heap_by_pk,
       (SELECT count(*) FROM ev WHERE kind >= 0) AS widecol_by_kind,
       (SELECT count(*) FROM hv WHERE kind >= 0) AS heap_by_kind;
RESET enable_seqscan;

-- the new versions written by UPDATE are in the delta; compact moves only
-- those at or after their partition's last cold key (runs stay disjoint),
-- the others stay in the delta
:cold;
SELECT moved_rows > 0 AS moved FROM widecol.compact('ev');
:cold;
:same;

-- ANALYZE samples both tiers; TABLESAMPLE covers both tiers
ANALYZE ev;
SELECT reltuples BETWEEN 0.9 * (SELECT count(*) FROM hv) AND 1.1 * (SELECT count(*) FROM hv) AS estimate_ok
  FROM pg_class WHERE oid = 'ev'::regclass;
SELECT (SELECT count(*) FROM ev TABLESAMPLE BERNOULLI (100)) = (SELECT count(*) FROM hv) AS bernoulli_all,
       (SELECT count(*) FROM ev TABLESAMPLE SYSTEM (100)) = (SELECT count(*) FROM hv) AS system_all,
       (SELECT count(*) FROM ev TABLESAMPLE BERNOULLI (0)) AS bernoulli_none,
       (SELECT count(*) FROM ev TABLESAMPLE BERNOULLI (50) REPEATABLE (7))
         BETWEEN 0.4 * (SELECT count(*) FROM hv) AND 0.6 * (SELECT count(*) FROM hv) AS half;

-- new indexes over cold rows: plain, unique, expression, partial, concurrent
CREATE INDEX ev_payload ON ev (payload);
CREATE UNIQUE INDEX ev_ts_user ON ev (ts, user_id);
CREATE INDEX ev_len ON ev (length(payload));
CREATE INDEX ev_big ON ev (ts) WHERE kind > 100;
CREATE INDEX CONCURRENTLY ev_kind_ts ON ev (kind, ts);
\set VERBOSITY terse
CREATE UNIQUE INDEX ev_kind_unique ON ev (kind);
\set VERBOSITY default
\echo :LAST_ERROR_SQLSTATE
SET enable_seqscan = off;
SELECT (SELECT count(*) FROM ev WHERE payload LIKE 'event 1%') = (SELECT count(*) FROM hv WHERE payload LIKE 'event 1%') AS by_payload,
       (SELECT count(*) FROM ev WHERE ts BETWEEN 100 AND 900) = (SELECT count(*) FROM hv WHERE ts BETWEEN 100 AND 900) AS by_ts,
       (SELECT count(*) FROM ev WHERE length(payload) = 12) = (SELECT count(*) FROM hv WHERE length(payload) = 12) AS by_expr,
       (SELECT count(*) FROM ev WHERE kind > 100 AND ts > 0) = (SELECT count(*) FROM hv WHERE kind > 100 AND ts > 0) AS by_partial,
       (SELECT count(*) FROM ev WHERE kind = 2 AND ts > 3000) = (SELECT count(*) FROM hv WHERE kind = 2 AND ts > 3000) AS by_concurrent;
RESET enable_seqscan;
REINDEX TABLE ev;
SELECT "check", ok FROM widecol.verify('ev') ORDER BY 1;

-- VACUUM FULL and CLUSTER keep cold rows, tombstones and their TIDs
SELECT ctid AS tid_before FROM ev WHERE user_id = 20 ORDER BY ts LIMIT 1 \gset
VACUUM FULL ev;
:same;
SELECT ctid = :'tid_before' AS same_tid FROM ev WHERE user_id = 20 ORDER BY ts LIMIT 1;
CLUSTER ev USING ev_pkey;
:same;
SET enable_seqscan = off;
SELECT (SELECT count(*) FROM ev WHERE kind = 5) = (SELECT count(*) FROM hv WHERE kind = 5) AS index_after_cluster;
RESET enable_seqscan;
UPDATE ev SET kind = 55 WHERE user_id = 21;
UPDATE hv SET kind = 55 WHERE user_id = 21;
:same;
SELECT "check", ok FROM widecol.verify('ev') ORDER BY 1;

-- ALTER TABLE with cold rows: ADD COLUMN with a default (old row images
-- have fewer columns), a rewriting ALTER TYPE (rows go back to the delta),
-- DROP COLUMN
ALTER TABLE ev ADD COLUMN extra int DEFAULT 7;
ALTER TABLE hv ADD COLUMN extra int DEFAULT 7;
:same;
ALTER TABLE ev ALTER COLUMN extra TYPE bigint;
ALTER TABLE hv ALTER COLUMN extra TYPE bigint;
:same;
:cold;
ALTER TABLE ev DROP COLUMN extra;
ALTER TABLE hv DROP COLUMN extra;
SELECT moved_rows > 0 AS moved FROM widecol.compact('ev');
:same;

-- VACUUM FULL and CLUSTER after ADD COLUMN ... DEFAULT without a rewrite:
-- the swap clears the columns' missing values, so blocks whose rows were
-- written before a column was added are re-formed with its default filled
-- in (rows moved after the first ADD COLUMN still lack the later ones);
-- deleted and updated cold rows, a dropped column and tombstones too
CREATE TABLE mv (user_id int, ts int, payload text, gone int, PRIMARY KEY (user_id, ts))
  USING widecol WITH (autovacuum_enabled = false);
CREATE TABLE mh (user_id int, ts int, payload text, gone int, PRIMARY KEY (user_id, ts))
  WITH (autovacuum_enabled = false);
CREATE INDEX mv_payload ON mv (payload);
CREATE INDEX mh_payload ON mh (payload);
INSERT INTO mv SELECT g % 20, g, 'p' || g, g FROM generate_series(1, 3000) g;
INSERT INTO mh SELECT * FROM mv;
ALTER TABLE mv ADD COLUMN early text DEFAULT 'early';
ALTER TABLE mh ADD COLUMN early text DEFAULT 'early';
SELECT moved_rows FROM widecol.compact('mv');
INSERT INTO mv SELECT g % 20, g, 'p' || g, g, 'late' FROM generate_series(3001, 4000) g;
INSERT INTO mh SELECT g % 20, g, 'p' || g, g, 'late' FROM generate_series(3001, 4000) g;
SELECT moved_rows FROM widecol.compact('mv');
DELETE FROM mv WHERE ts % 97 = 0;
DELETE FROM mh WHERE ts % 97 = 0;
UPDATE mv SET payload = 'changed' WHERE ts % 89 = 0;
UPDATE mh SET payload = 'changed' WHERE ts % 89 = 0;
ALTER TABLE mv DROP COLUMN gone;
ALTER TABLE mh DROP COLUMN gone;
ALTER TABLE mv ADD COLUMN tag text DEFAULT 'x', ADD COLUMN score int DEFAULT 42;
ALTER TABLE mh ADD COLUMN tag text DEFAULT 'x', ADD COLUMN score int DEFAULT 42;
\set msame 'SELECT (SELECT count(*) FROM (SELECT * FROM mv EXCEPT ALL SELECT * FROM mh) a) AS only_widecol, (SELECT count(*) FROM (SELECT * FROM mh EXCEPT ALL SELECT * FROM mv) b) AS only_heap, (SELECT count(*) FROM mv) AS widecol_rows'
\set mdefaults 'SELECT early, tag, score, count(*) FROM mv GROUP BY 1, 2, 3 UNION ALL SELECT ''heap: '' || early, tag, score, count(*) FROM mh GROUP BY 1, 2, 3 ORDER BY 1, 2, 3'
\set mcold 'SELECT count(*) FILTER (WHERE (ctid::text::point)[1] > 291) AS cold, count(*) FILTER (WHERE (ctid::text::point)[1] <= 291) AS delta FROM mv'
:msame;
:mcold;
SELECT last_compaction AS compacted_at FROM widecol.tables WHERE relid = 'mv'::regclass \gset
VACUUM FULL mv;
VACUUM FULL mh;
:msame;
:mdefaults;
:mcold;
SELECT last_compaction = :'compacted_at' AS write_time_kept FROM widecol.tables WHERE relid = 'mv'::regclass;
SELECT "check", ok FROM widecol.verify('mv') ORDER BY 1;

-- CLUSTER on a user index, with a new int column
ALTER TABLE mv ADD COLUMN rank int DEFAULT 5;
ALTER TABLE mh ADD COLUMN rank int DEFAULT 5;
CLUSTER mv USING mv_payload;
CLUSTER mh USING mh_payload;
:msame;
SELECT rank, count(*) FROM mv GROUP BY 1 UNION ALL SELECT -rank, count(*) FROM mh GROUP BY 1 ORDER BY 1;
:mcold;
SET enable_seqscan = off;
SELECT (SELECT count(*) || '/' || sum(score + rank) FROM mv WHERE payload = 'changed') AS widecol,
       (SELECT count(*) || '/' || sum(score + rank) FROM mh WHERE payload = 'changed') AS heap;
SELECT user_id, ts, payload, early, tag, score, rank FROM mv WHERE user_id = 3 ORDER BY ts DESC LIMIT 3;
SELECT user_id, ts, payload, early, tag, score, rank FROM mh WHERE user_id = 3 ORDER BY ts DESC LIMIT 3;
SELECT user_id, ts, payload, early, tag, score, rank FROM mv WHERE user_id = 4 ORDER BY ts LIMIT 2;
SELECT user_id, ts, payload, early, tag, score, rank FROM mh WHERE user_id = 4 ORDER BY ts LIMIT 2;
RESET enable_seqscan;
SELECT "check", ok FROM widecol.verify('mv') ORDER BY 1;

-- re-formed rows take DML; a rewriting ALTER TABLE (SET UNLOGGED) re-forms
-- rows through the executor, and the rows go back to the delta
DELETE FROM mv WHERE ts % 7 = 0;
DELETE FROM mh WHERE ts % 7 = 0;
UPDATE mv SET tag = 'y' WHERE ts % 11 = 0;
UPDATE mh SET tag = 'y' WHERE ts % 11 = 0;
:msame;
ALTER TABLE mv ADD COLUMN note text DEFAULT 'n';
ALTER TABLE mh ADD COLUMN note text DEFAULT 'n';
ALTER TABLE mv SET UNLOGGED;
ALTER TABLE mh SET UNLOGGED;
:msame;
SELECT note, count(*) FROM mv GROUP BY 1 UNION ALL SELECT 'heap: ' || note, count(*) FROM mh GROUP BY 1 ORDER BY 1;
:mcold;

-- a default that makes the cold rows too large for the cold tier: VACUUM
-- FULL puts them into the new delta (toasted), and they answer as heap's
SELECT moved_rows FROM widecol.compact('mv');
ALTER TABLE mv ADD COLUMN wide text DEFAULT repeat('w', 4000);
ALTER TABLE mh ADD COLUMN wide text DEFAULT repeat('w', 4000);
VACUUM FULL mv;
VACUUM FULL mh;
:msame;
:mcold;
SELECT count(*) FILTER (WHERE length(wide) = 4000) AS wide_rows FROM mv;
SET enable_seqscan = off;
SELECT (SELECT count(*) || '/' || sum(ts) FROM mv WHERE user_id = 3) AS widecol,
       (SELECT count(*) || '/' || sum(ts) FROM mh WHERE user_id = 3) AS heap;
SELECT user_id, ts, payload, length(wide) FROM mv WHERE user_id = 4 ORDER BY ts DESC LIMIT 2;
SELECT user_id, ts, payload, length(wide) FROM mh WHERE user_id = 4 ORDER BY ts DESC LIMIT 2;
RESET enable_seqscan;
UPDATE mv SET wide = 'narrow' WHERE ts % 3 = 0;
UPDATE mh SET wide = 'narrow' WHERE ts % 3 = 0;
DELETE FROM mv WHERE ts % 5 = 0;
DELETE FROM mh WHERE ts % 5 = 0;
:msame;
SELECT "check", ok FROM widecol.verify('mv') ORDER BY 1;
DROP TABLE mv, mh;

-- the same inside one transaction, with the rows' blocks and tombstones
-- its own: a direct COPY, a DELETE and an UPDATE of cold rows, then a
-- default that makes the rows with long notes too large, then CLUSTER.
-- Those rows go to the delta, the deleted ones still deleted for the
-- transaction's later commands; the others stay cold.
\getenv abs_builddir PG_ABS_BUILDDIR
\set spfile :abs_builddir '/results/widecol_cold_spill.data'
COPY (SELECT g % 10, g, CASE WHEN g % 4 = 0 THEN repeat('n', 200) ELSE 'short' END
        FROM generate_series(1, 600) g) TO :'spfile';
CREATE TABLE sh (k int, ts int, note text);
COPY sh FROM :'spfile';
DELETE FROM sh WHERE ts % 5 = 0;
UPDATE sh SET note = note || '!' WHERE ts % 7 = 0;
ALTER TABLE sh ADD COLUMN wide text DEFAULT repeat('w', 3850);
\set ssame 'SELECT (SELECT count(*) FROM (SELECT * FROM sp EXCEPT ALL SELECT * FROM sh) a) AS only_widecol, (SELECT count(*) FROM (SELECT * FROM sh EXCEPT ALL SELECT * FROM sp) b) AS only_heap, (SELECT count(*) FROM sp) AS widecol_rows'
\set scold 'SELECT count(*) FILTER (WHERE (ctid::text::point)[1] > 291) AS cold, count(*) FILTER (WHERE (ctid::text::point)[1] <= 291) AS delta, count(*) FILTER (WHERE (ctid::text::point)[1] <= 291 AND length(note) < 200) AS short_in_delta FROM sp'
BEGIN;
CREATE TABLE sp (k int, ts int, note text)
  USING widecol WITH (partition_key = 'k', sort_key = 'ts');
CREATE INDEX sp_ts ON sp (ts);
COPY sp FROM :'spfile';
DELETE FROM sp WHERE ts % 5 = 0;
UPDATE sp SET note = note || '!' WHERE ts % 7 = 0;
ALTER TABLE sp ADD COLUMN wide text DEFAULT repeat('w', 3850);
:scold;
CLUSTER sp USING sp_ts;
:scold;
:ssame;
DELETE FROM sp WHERE ts % 9 = 0;
DELETE FROM sh WHERE ts % 9 = 0;
:ssame;
COMMIT;
:ssame;
SET enable_seqscan = off;
SELECT (SELECT count(*) || '/' || sum(ts) FROM sp WHERE ts > 100) AS widecol,
       (SELECT count(*) || '/' || sum(ts) FROM sh WHERE ts > 100) AS heap;
RESET enable_seqscan;
SELECT "check", ok FROM widecol.verify('sp') ORDER BY 1;
DROP TABLE sp, sh;

-- WHERE CURRENT OF on cold rows
BEGIN;
DECLARE cur CURSOR FOR SELECT * FROM ev WHERE user_id = 22 ORDER BY ts FOR UPDATE;
FETCH 1 FROM cur;
UPDATE ev SET kind = 1000 WHERE CURRENT OF cur;
FETCH 1 FROM cur;
DELETE FROM ev WHERE CURRENT OF cur;
COMMIT;
UPDATE hv SET kind = 1000 WHERE (user_id, ts) = (SELECT user_id, ts FROM hv WHERE user_id = 22 ORDER BY ts LIMIT 1);
DELETE FROM hv WHERE (user_id, ts) = (SELECT user_id, ts FROM hv WHERE user_id = 22 ORDER BY ts OFFSET 1 LIMIT 1);
:same;

-- TRUNCATE: rolled back, then for real
BEGIN;
TRUNCATE ev;
SELECT count(*) AS inside FROM ev;
ROLLBACK;
:same;
TRUNCATE ev;
SELECT count(*) AS after_truncate FROM ev;
SELECT stored_rows, blocks, last_compaction FROM widecol.tables WHERE relid = 'ev'::regclass;

-- compression options: WITH, ALTER ... SET / RESET, bad values
CREATE TABLE cz (k int, v text) USING widecol WITH (partition_key = 'k', compression = 'none');
\d+ cz
INSERT INTO cz SELECT g % 10, repeat('abc', 50) FROM generate_series(1, 2000) g;
SELECT moved_rows, compressed_bytes > raw_bytes AS stored_raw FROM widecol.compact('cz');
ALTER TABLE cz SET (compression = zstd, compression_level = 9);
\d+ cz
INSERT INTO cz SELECT g % 10, repeat('abc', 50) FROM generate_series(1, 2000) g;
SELECT moved_rows, compressed_bytes * 10 < raw_bytes AS compressed_10x FROM widecol.compact('cz');
SELECT count(*), count(DISTINCT v) FROM cz;
ALTER TABLE cz RESET (compression_level);
\d+ cz
ALTER TABLE cz SET (compression = 'lz4');
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE cz SET (compression_level = 20);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE cz2 (k int) USING widecol WITH (partition_key = 'k', compression_level = 0);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE cz3 (k int) WITH (compression = 'zstd');
\echo :LAST_ERROR_SQLSTATE
SELECT "check", ok, regexp_replace(detail, '^[0-9]+ blocks, ', '') AS detail FROM widecol.verify('cz') ORDER BY 1;

-- rows that stay in the delta: out-of-line values and large rows
CREATE TABLE big (k int, v text) USING widecol WITH (partition_key = 'k');
ALTER TABLE big ALTER COLUMN v SET STORAGE EXTERNAL;
INSERT INTO big VALUES (1, repeat('x', 100)), (2, repeat('y', 5000)), (3, 'z');
SELECT moved_rows FROM widecol.compact('big');
SELECT k, length(v), (ctid::text::point)[1] > 291 AS cold FROM big ORDER BY k;

-- temporary and unlogged widecol tables have a cold tier too
CREATE TEMP TABLE tmp_ev (k int, v text) USING widecol WITH (partition_key = 'k');
INSERT INTO tmp_ev SELECT g % 5, 'v' || g FROM generate_series(1, 1000) g;
SELECT moved_rows FROM widecol.compact('tmp_ev');
UPDATE tmp_ev SET v = 'changed' WHERE k = 1;
SELECT k, count(*), count(*) FILTER (WHERE v = 'changed') FROM tmp_ev GROUP BY k ORDER BY k;
CREATE UNLOGGED TABLE unl_ev (k int, v text) USING widecol WITH (partition_key = 'k');
INSERT INTO unl_ev SELECT g % 5, 'v' || g FROM generate_series(1, 1000) g;
SELECT moved_rows FROM widecol.compact('unl_ev');
DELETE FROM unl_ev WHERE k = 2;
SELECT k, count(*) FROM unl_ev GROUP BY k ORDER BY k;
DROP TABLE tmp_ev, unl_ev;

-- errors
BEGIN;
SELECT widecol.compact('ev');
ROLLBACK;
SELECT widecol.compact('hv');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM widecol.verify('hv');
\echo :LAST_ERROR_SQLSTATE
CREATE ROLE wc_cold_stranger;
SET ROLE wc_cold_stranger;
SELECT widecol.compact('ev');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
GRANT EXECUTE ON FUNCTION widecol.compact(regclass) TO wc_cold_stranger;
SET ROLE wc_cold_stranger;
SELECT widecol.compact('ev');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
REVOKE EXECUTE ON FUNCTION widecol.compact(regclass) FROM wc_cold_stranger;
DROP ROLE wc_cold_stranger;

-- a published table is not compacted (logical decoding would see deletions)
SET client_min_messages = error;
CREATE PUBLICATION wc_cold_pub FOR TABLE ev;
RESET client_min_messages;
SELECT widecol.compact('ev');
\echo :LAST_ERROR_SQLSTATE
DROP PUBLICATION wc_cold_pub;
SET client_min_messages = error;
CREATE PUBLICATION wc_cold_pub FOR ALL TABLES;
RESET client_min_messages;
SELECT widecol.compact('ev');
\echo :LAST_ERROR_SQLSTATE
DROP PUBLICATION wc_cold_pub;
SELECT moved_rows >= 0 AS compacted FROM widecol.compact('ev');

DROP TABLE ev, hv, audit, cz, big;
DROP FUNCTION ev_audit();

-- a superuser's widecol.compact runs the table's index expressions as the
-- table's owner, in a security-restricted operation (as VACUUM does)
CREATE ROLE regress_wc_owner;
CREATE FUNCTION wc_who(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RAISE NOTICE 'index expression runs as %', current_user;
  RETURN $1;
END $$;
CREATE TABLE wc_owned (k int, v int) USING widecol WITH (partition_key = 'k');
ALTER TABLE wc_owned OWNER TO regress_wc_owner;
SET client_min_messages = warning;
INSERT INTO wc_owned VALUES (1, 1);
CREATE INDEX wc_owned_who ON wc_owned (wc_who(v));
RESET client_min_messages;
SELECT moved_rows FROM widecol.compact('wc_owned');
DROP TABLE wc_owned;
DROP FUNCTION wc_who(int);
DROP ROLE regress_wc_owner;

-- a rewriting ALTER TABLE reads cold rows with the descriptor they were
-- written with (the relation has the new one by then)
CREATE TABLE at_w (k int, s int, kind int, note text, extra int) USING widecol
  WITH (partition_key = 'k', sort_key = 's');
CREATE TABLE at_h (k int, s int, kind int, note text, extra int);
INSERT INTO at_w SELECT g % 5, g, g % 7, 'n' || g, g FROM generate_series(1, 200) g;
INSERT INTO at_h SELECT * FROM at_w;
SELECT moved_rows FROM widecol.compact('at_w');
ALTER TABLE at_w DROP COLUMN note, ALTER COLUMN kind TYPE bigint USING kind * 2;
ALTER TABLE at_h DROP COLUMN note, ALTER COLUMN kind TYPE bigint USING kind * 2;
SELECT moved_rows FROM widecol.compact('at_w');
ALTER TABLE at_w ALTER COLUMN extra TYPE text USING 'x' || extra;
ALTER TABLE at_h ALTER COLUMN extra TYPE text USING 'x' || extra;
SELECT (SELECT count(*) FROM (SELECT * FROM at_w EXCEPT ALL SELECT * FROM at_h) a) AS only_widecol,
       (SELECT count(*) FROM (SELECT * FROM at_h EXCEPT ALL SELECT * FROM at_w) b) AS only_heap,
       (SELECT count(*) || '/' || sum(kind) FROM at_w) AS widecol_rows;
SELECT k, s, kind, extra FROM at_w WHERE k = 3 ORDER BY s LIMIT 3;
SELECT k, s, kind, extra FROM at_h WHERE k = 3 ORDER BY s LIMIT 3;
DROP TABLE at_w, at_h;
