-- COPY FROM straight into cold blocks (widecol.copy_direct), compared with
-- a heap twin loaded with the same data
CREATE EXTENSION IF NOT EXISTS widecol;
SET client_min_messages = warning;

-- where the rows of a table are: cold TIDs have offsets above 291
CREATE FUNCTION wc_tiers(t regclass, OUT cold bigint, OUT delta bigint)
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('SELECT count(*) FILTER (WHERE (ctid::text::point)[1] > 291),
                         count(*) FILTER (WHERE (ctid::text::point)[1] <= 291) FROM %s', t)
    INTO cold, delta;
END $$;

CREATE TABLE hp (user_id bigint, ts timestamptz, kind int DEFAULT 7, payload text);
CREATE TABLE wc (user_id bigint, ts timestamptz, kind int DEFAULT 7, payload text)
  USING widecol WITH (partition_key = 'user_id', sort_key = 'ts');
CREATE VIEW same AS
  SELECT (SELECT count(*) FROM (TABLE wc EXCEPT ALL TABLE hp) a) AS only_widecol,
         (SELECT count(*) FROM (TABLE hp EXCEPT ALL TABLE wc) b) AS only_heap,
         (SELECT count(*) FROM wc) AS rows;

-- a server-side file of 3000 rows for 40 users, interleaved, with NULLs
\getenv abs_builddir PG_ABS_BUILDDIR
\set copyfile :abs_builddir '/results/widecol_copy.data'
COPY (SELECT g % 40, timestamptz '2026-01-01' + g * interval '1 minute',
             CASE WHEN g % 11 = 0 THEN NULL ELSE g % 5 END,
             CASE WHEN g % 13 = 0 THEN NULL ELSE 'event ' || g END
        FROM generate_series(1, 3000) g) TO :'copyfile';
COPY hp FROM :'copyfile';
COPY wc FROM :'copyfile';
SELECT * FROM same;
SELECT * FROM wc_tiers('wc');
SELECT stored_rows, blocks > 0 AS has_blocks FROM widecol.tables WHERE relid = 'wc'::regclass;
-- rows were sorted by the keys: a block holds a few of the 40 users, and
-- each user's rows are contiguous
SELECT max(n) AS max_users_per_block
  FROM (SELECT (ctid::text::point)[0] AS blk, count(DISTINCT user_id) AS n
          FROM wc GROUP BY 1) b;
SELECT max(n) AS max_blocks_per_user
  FROM (SELECT user_id, count(DISTINCT (ctid::text::point)[0]) AS n
          FROM wc GROUP BY 1) u;
-- key scans and sort order read the loaded rows like heap's
SELECT user_id, ts, kind, payload FROM wc WHERE user_id = 7 ORDER BY ts DESC LIMIT 3;
SELECT user_id, ts, kind, payload FROM hp WHERE user_id = 7 ORDER BY ts DESC LIMIT 3;
SELECT user_id, count(*), min(ts), max(ts) FROM wc WHERE user_id IN (0, 39) GROUP BY 1 ORDER BY 1;
SELECT user_id, count(*), min(ts), max(ts) FROM hp WHERE user_id IN (0, 39) GROUP BY 1 ORDER BY 1;

-- STDIN, CSV with a header and a column list (kind takes its default)
COPY wc (payload, ts, user_id) FROM stdin WITH (FORMAT csv, HEADER true);
payload,ts,user_id
"csv, quoted",2026-06-01 00:00:00+00,500
,2026-06-01 00:01:00+00,500
\.
COPY hp (payload, ts, user_id) FROM stdin WITH (FORMAT csv, HEADER true);
payload,ts,user_id
"csv, quoted",2026-06-01 00:00:00+00,500
,2026-06-01 00:01:00+00,500
\.
SELECT * FROM same;
SELECT * FROM wc WHERE user_id = 500 ORDER BY ts;

-- a row too large for a block goes to the delta; the others stay cold
CREATE TABLE wc_big (LIKE wc) USING widecol WITH (partition_key = 'user_id', sort_key = 'ts');
\set bigfile :abs_builddir '/results/widecol_copy_big.data'
COPY (SELECT 1, timestamptz '2026-01-01' + g * interval '1 hour', g, repeat(md5(g::text), CASE WHEN g = 3 THEN 300 ELSE 1 END)
        FROM generate_series(1, 5) g) TO :'bigfile';
COPY wc_big FROM :'bigfile';
SELECT * FROM wc_tiers('wc_big');
SELECT kind, length(payload) FROM wc_big ORDER BY ts;

-- a second load: rows that sort before their partition's last cold key go
-- to the delta, so a partition's runs never overlap; the others are cold
CREATE TABLE wc_two (k int, ts int, v text) USING widecol WITH (partition_key = 'k', sort_key = 'ts');
COPY wc_two FROM stdin;
1	10	a
1	20	b
2	10	c
\.
COPY wc_two FROM stdin;
1	15	older than 20: delta
1	30	newer: cold
2	10	equal: cold
3	1	new partition: cold
\.
SELECT k, ts, v, (ctid::text::point)[1] > 291 AS cold FROM wc_two ORDER BY k, ts, v;
SELECT k, ts, v FROM wc_two WHERE k = 1 ORDER BY ts DESC;
SELECT * FROM widecol.verify('wc_two') WHERE NOT ok ORDER BY 1;

-- errors change nothing: bad input (22P02 with the line), NOT NULL
-- (23502), CHECK (23514)
CREATE TABLE wc_chk (id int NOT NULL, v int CHECK (v > 0))
  USING widecol WITH (partition_key = 'id');
COPY wc_chk FROM stdin;
1	1
2	x
\.
COPY wc_chk FROM stdin;
1	1
\N	2
\.
COPY wc_chk FROM stdin;
1	1
2	-2
\.
SELECT count(*) FROM wc_chk;
SELECT stored_rows FROM widecol.tables WHERE relid = 'wc_chk'::regclass;

-- transactions: the load is visible to the loading transaction, which can
-- update and delete loaded rows; ROLLBACK and savepoints undo it
BEGIN;
COPY wc_chk FROM stdin;
1	10
2	20
3	30
\.
SELECT * FROM wc_tiers('wc_chk');
UPDATE wc_chk SET v = v + 1 WHERE id = 2;
DELETE FROM wc_chk WHERE id = 3;
SELECT * FROM wc_chk ORDER BY id;
SAVEPOINT s;
COPY wc_chk FROM stdin;
4	40
\.
ROLLBACK TO SAVEPOINT s;
SELECT * FROM wc_chk ORDER BY id;
ROLLBACK;
SELECT count(*) FROM wc_chk;
BEGIN;
COPY wc_chk FROM stdin;
5	50
\.
COMMIT;
SELECT * FROM wc_chk ORDER BY id;

-- user indexes get entries for the loaded rows
CREATE INDEX wc_kind ON wc (kind);
CREATE TABLE wc_ix (LIKE wc) USING widecol WITH (partition_key = 'user_id', sort_key = 'ts');
CREATE INDEX wc_ix_kind ON wc_ix (kind);
COPY wc_ix FROM :'copyfile';
SELECT * FROM wc_tiers('wc_ix');
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM wc_ix WHERE kind = 3;
SELECT count(*) FROM wc_ix WHERE kind = 3;
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT count(*) FROM hp WHERE kind = 3;
SELECT * FROM widecol.verify('wc_ix') WHERE NOT ok ORDER BY 1;

-- what keeps a COPY in the delta: a trigger, a unique index, a WHERE
-- clause, FREEZE, or widecol.copy_direct = off
CREATE TABLE wc_trg (LIKE wc) USING widecol WITH (partition_key = 'user_id', sort_key = 'ts');
CREATE FUNCTION wc_count_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE NOTICE 'row for user %', NEW.user_id;
  RETURN NEW;
END $$;
CREATE TRIGGER wc_trg_row BEFORE INSERT ON wc_trg FOR EACH ROW EXECUTE FUNCTION wc_count_rows();
SET client_min_messages = notice;
COPY wc_trg FROM stdin;
1	2026-01-01 00:00:00+00	1	a
2	2026-01-01 00:00:00+00	2	b
\.
SET client_min_messages = warning;
SELECT * FROM wc_tiers('wc_trg');
CREATE TABLE wc_uq (LIKE wc) USING widecol WITH (partition_key = 'user_id', sort_key = 'ts');
ALTER TABLE wc_uq ADD PRIMARY KEY (user_id, ts);
COPY wc_uq FROM :'copyfile';
SELECT * FROM wc_tiers('wc_uq');
COPY wc_uq FROM :'copyfile';
TRUNCATE wc_ix;
COPY wc_ix FROM :'copyfile' WHERE user_id < 10;
SELECT * FROM wc_tiers('wc_ix');
SET widecol.copy_direct = off;
COPY wc_ix FROM :'copyfile' WHERE user_id >= 10;
RESET widecol.copy_direct;
SELECT * FROM wc_tiers('wc_ix');
BEGIN;
TRUNCATE wc_ix;
COPY wc_ix FROM :'copyfile' WITH (FREEZE);
COMMIT;
SELECT * FROM wc_tiers('wc_ix');

-- privileges: INSERT on the listed columns is enough; a file needs
-- pg_read_server_files
CREATE ROLE regress_wc_copier;
GRANT USAGE ON SCHEMA public TO regress_wc_copier;
GRANT INSERT (user_id, ts) ON wc TO regress_wc_copier;
SET ROLE regress_wc_copier;
COPY wc (user_id, ts) FROM stdin;
900	2026-02-01 00:00:00+00
\.
COPY wc (user_id, ts, payload) FROM stdin;
900	2026-02-01 00:00:00+00	x
\.
COPY wc (user_id, ts) FROM :'copyfile';
RESET ROLE;
SELECT user_id, ts, kind, payload FROM wc WHERE user_id = 900 ORDER BY ts;

DROP TABLE hp, wc, wc_big, wc_two, wc_chk, wc_ix, wc_trg, wc_uq CASCADE;
DROP FUNCTION wc_count_rows();
DROP FUNCTION wc_tiers(regclass);
REVOKE USAGE ON SCHEMA public FROM regress_wc_copier;
DROP ROLE regress_wc_copier;
