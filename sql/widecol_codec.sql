-- widecol cold block format 2: every row of a block in one zstd frame,
-- column-grouped (PAX).  Round trips of many column types with NULLs,
-- dropped and added columns, wide rows and both codecs, each compared
-- with a heap twin; block sizing (at most 291 rows, one heap tuple).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS widecol;
RESET client_min_messages;

-- every kind of attribute: byval and byref fixed width of each alignment,
-- short and 4-byte varlenas, inline-compressed varlenas, arrays, NULLs
CREATE TABLE ct (k int, ts int, b bool, c "char", i2 int2, i4 int4, i8 int8,
                 f4 float4, f8 float8, n numeric, m money, d date, t timestamp,
                 tz timestamptz, iv interval, u uuid, nm name, p point,
                 ip inet, ch char(5), vc varchar(20), tx text, by bytea,
                 js jsonb, ar int[], big text)
  USING widecol WITH (partition_key = 'k', sort_key = 'ts');
CREATE TABLE ch (LIKE ct);
INSERT INTO ct
SELECT g % 13, g,
       CASE WHEN g % 11 = 0 THEN NULL ELSE g % 2 = 0 END,
       CASE WHEN g % 12 = 0 THEN NULL ELSE chr(65 + g % 26)::"char" END,
       CASE WHEN g % 13 = 0 THEN NULL ELSE (g % 30000)::int2 END,
       CASE WHEN g % 14 = 0 THEN NULL ELSE g * 7 END,
       CASE WHEN g % 15 = 0 THEN NULL ELSE g::int8 * 100000007 END,
       CASE WHEN g % 16 = 0 THEN NULL ELSE g / 3.0 END,
       CASE WHEN g % 17 = 0 THEN NULL ELSE g / 7.0 END,
       CASE WHEN g % 18 = 0 THEN NULL ELSE (g * 1.0001)::numeric END,
       CASE WHEN g % 19 = 0 THEN NULL ELSE (g * 0.5)::numeric::money END,
       CASE WHEN g % 20 = 0 THEN NULL ELSE date '2026-01-01' + g END,
       CASE WHEN g % 21 = 0 THEN NULL ELSE timestamp '2026-01-01' + g * interval '1 minute' END,
       CASE WHEN g % 22 = 0 THEN NULL ELSE timestamptz '2026-01-01 UTC' + g * interval '1 second' END,
       CASE WHEN g % 23 = 0 THEN NULL ELSE g * interval '1 hour' END,
       CASE WHEN g % 24 = 0 THEN NULL ELSE md5(g::text)::uuid END,
       CASE WHEN g % 25 = 0 THEN NULL ELSE ('name' || g)::name END,
       CASE WHEN g % 26 = 0 THEN NULL ELSE point(g, -g) END,
       CASE WHEN g % 27 = 0 THEN NULL ELSE ('10.0.' || g % 256 || '.' || g % 200)::inet END,
       CASE WHEN g % 28 = 0 THEN NULL ELSE (g % 1000)::text END,
       CASE WHEN g % 29 = 0 THEN NULL ELSE 'v' || g END,
       CASE WHEN g % 30 = 0 THEN NULL WHEN g % 4 = 0 THEN '' ELSE repeat(md5(g::text), 1 + g % 6) END,
       CASE WHEN g % 31 = 0 THEN NULL ELSE decode(md5(g::text), 'hex') END,
       CASE WHEN g % 32 = 0 THEN NULL ELSE jsonb_build_object('g', g, 's', 'x' || g) END,
       CASE WHEN g % 33 = 0 THEN NULL ELSE ARRAY[g, NULL, -g] END,
       CASE WHEN g % 50 = 0 THEN repeat('compressible ', 250) ELSE NULL END
  FROM generate_series(1, 3000) g;
INSERT INTO ct (k, ts) VALUES (99, 1);
-- extreme values of the delta-coded (pass-by-value) attributes
INSERT INTO ct (k, ts, i2, i4, i8, f4, f8, m, d, t, tz) VALUES
  (98, 1, -32768, -2147483648, -9223372036854775808, '-Infinity', 'NaN',
   '-92233720368547758.08', '-infinity', '-infinity', 'infinity'),
  (98, 2, 32767, 2147483647, 9223372036854775807, 'Infinity', '-0',
   '92233720368547758.07', 'infinity', 'infinity', '-infinity'),
  (98, 3, 0, 0, 0, 0, 0, 0, '2000-01-01', '2000-01-01', '2000-01-01 UTC'),
  (98, 4, -1, -1, -1, '-1e-30', '1e300', -0.01, '4713-01-01 BC', '294276-12-31', '4713-01-01 00:00 UTC BC');
INSERT INTO ch SELECT * FROM ct;

-- rows compared by their text form (point has no equality operator)
\set same 'SELECT (SELECT count(*) FROM (SELECT t::text FROM ct t EXCEPT ALL SELECT t::text FROM ch t) a) AS only_widecol, (SELECT count(*) FROM (SELECT t::text FROM ch t EXCEPT ALL SELECT t::text FROM ct t) b) AS only_heap, (SELECT count(*) FROM ct) AS widecol_rows'
\set cold 'SELECT count(*) FILTER (WHERE (ctid::text::point)[1] > 291) AS cold, count(*) FILTER (WHERE (ctid::text::point)[1] <= 291) AS delta FROM ct'

-- the 4-byte-header values (long text, compressed big) keep their layout
SELECT count(*) FILTER (WHERE pg_column_size(big) < octet_length(big)) AS big_compressed,
       count(*) FILTER (WHERE octet_length(tx) > 126) AS tx_4byte
  FROM ct;
SELECT moved_rows, compressed_bytes * 2 < raw_bytes AS compressed_2x FROM widecol.compact('ct');
:cold;
:same;
SELECT "check", ok FROM widecol.verify('ct') ORDER BY 1;
SELECT k, ts, b, c, i2, i8, n, iv, u, nm, p, ip, ch, vc, by, js, ar, length(big)
  FROM ct WHERE ts IN (1, 50, 330, 2970) ORDER BY k, ts;
SELECT k, ts, b, c, i2, i8, n, iv, u, nm, p, ip, ch, vc, by, js, ar, length(big)
  FROM ch WHERE ts IN (1, 50, 330, 2970) ORDER BY k, ts;
SELECT ts, i2, i4, i8, f4, f8, m, d, t, tz FROM ct WHERE k = 98 ORDER BY ts;
SELECT ts, i2, i4, i8, f4, f8, m, d, t, tz FROM ch WHERE k = 98 ORDER BY ts;

-- dropped and added columns: old blocks keep the dropped values' bytes
-- and fewer attributes; new blocks are written with the new descriptor
ALTER TABLE ct DROP COLUMN f4, DROP COLUMN nm, DROP COLUMN tx;
ALTER TABLE ch DROP COLUMN f4, DROP COLUMN nm, DROP COLUMN tx;
ALTER TABLE ct ADD COLUMN extra text DEFAULT 'filled', ADD COLUMN extra2 int8;
ALTER TABLE ch ADD COLUMN extra text DEFAULT 'filled', ADD COLUMN extra2 int8;
:same;
INSERT INTO ct (k, ts, i4, extra, extra2) SELECT 2, 5000 + g, g, 'x' || g, g FROM generate_series(1, 400) g;
INSERT INTO ch (k, ts, i4, extra, extra2) SELECT 2, 5000 + g, g, 'x' || g, g FROM generate_series(1, 400) g;
SELECT moved_rows FROM widecol.compact('ct');
:cold;
:same;
SELECT k, ts, i4, extra, extra2 FROM ct WHERE ts IN (7, 5001, 5400) ORDER BY k, ts;
UPDATE ct SET extra = 'updated' WHERE ts % 100 = 0;
UPDATE ch SET extra = 'updated' WHERE ts % 100 = 0;
DELETE FROM ct WHERE k = 5;
DELETE FROM ch WHERE k = 5;
-- updated rows whose key sorts before their partition's last cold key stay
-- in the delta (runs of a partition never overlap, DESIGN.md 2.7)
SELECT moved_rows FROM widecol.compact('ct');
:same;
SELECT "check", ok FROM widecol.verify('ct') ORDER BY 1;

-- block sizing: small rows stop at 291 per block; wide incompressible
-- rows (1.9 kB of hex digits, inline; zstd halves them) fit about eight
-- per block tuple
CREATE TABLE cs (k int, v int) USING widecol WITH (partition_key = 'k');
INSERT INTO cs SELECT 1, g FROM generate_series(1, 2000) g;
SELECT moved_rows, blocks_written FROM widecol.compact('cs');
SELECT max((ctid::text::point)[1]) - 292 AS last_row_index, count(DISTINCT (ctid::text::point)[0]) AS blocks FROM cs;
CREATE TABLE cw (k int, v text) USING widecol WITH (partition_key = 'k');
CREATE TABLE hw (k int, v text);
INSERT INTO cw SELECT g, string_agg(md5((g * 1000 + i)::text), '') FROM generate_series(1, 20) g,
  generate_series(1, 58) i GROUP BY g;
INSERT INTO hw SELECT * FROM cw;
SELECT min(length(v)) AS min_len, bool_and(pg_column_size(v) = octet_length(v) + 4) AS inline_uncompressed FROM cw;
SELECT moved_rows, blocks_written FROM widecol.compact('cw');
SELECT (SELECT count(*) FROM (SELECT * FROM cw EXCEPT ALL SELECT * FROM hw) a) AS only_widecol,
       (SELECT count(*) FROM (SELECT * FROM hw EXCEPT ALL SELECT * FROM cw) b) AS only_heap;

-- rows that compress well: 291 rows (the TID limit) would leave most of
-- a page empty, so smaller blocks share pages
CREATE TABLE cp (user_id int8, ts timestamptz, kind int, payload text)
  USING widecol WITH (partition_key = 'user_id', sort_key = 'ts');
INSERT INTO cp SELECT (g * 7919) % 100, timestamptz '2026-01-01 UTC' + g * interval '1 second', g % 7,
       '{"event": ' || g || ', "ref": "' || md5(g::text) || '"}'
  FROM generate_series(1, 20000) g;
SELECT moved_rows, blocks_written FROM widecol.compact('cp');
SELECT w.blocks, pg_relation_size(c.reltoastrelid) / 8192 AS toast_pages,
       max((cp.ctid::text::point)[1]) - 292 AS last_row_index
  FROM widecol.tables w, pg_class c, cp
 WHERE w.relid = 'cp'::regclass AND c.oid = 'cp'::regclass GROUP BY 1, 2;
SELECT count(*), sum(kind), sum(extract(epoch FROM ts)), sum(length(payload)) FROM cp;
SELECT count(*), sum(g % 7), sum(extract(epoch FROM timestamptz '2026-01-01 UTC' + g * interval '1 second')),
       sum(length('{"event": ' || g || ', "ref": "' || md5(g::text) || '"}'))
  FROM generate_series(1, 20000) g;

-- compression none stores the image raw; zstd makes the same rows smaller
CREATE TABLE cn (k int, ts int, v text) USING widecol WITH (partition_key = 'k', sort_key = 'ts', compression = 'none');
CREATE TABLE cz (k int, ts int, v text) USING widecol WITH (partition_key = 'k', sort_key = 'ts', compression = 'zstd', compression_level = 9);
CREATE TABLE hn (k int, ts int, v text);
INSERT INTO hn SELECT g % 17, g, CASE WHEN g % 9 = 0 THEN NULL ELSE 'value ' || g || repeat('-', 40) END FROM generate_series(1, 5000) g;
INSERT INTO cn SELECT * FROM hn;
INSERT INTO cz SELECT * FROM hn;
SELECT n.moved_rows AS none_rows, z.moved_rows AS zstd_rows,
       z.compressed_bytes * 3 < n.compressed_bytes AS zstd_3x_smaller,
       n.blocks_written > z.blocks_written AS none_more_blocks
  FROM widecol.compact('cn') n, widecol.compact('cz') z;
-- stored bytes: the image plus header and runs (none), or a third at most
SELECT relid, compressed_bytes BETWEEN raw_bytes AND raw_bytes + blocks * 200 AS image_plus_directory,
       compressed_bytes * 3 < raw_bytes AS zstd_3x
  FROM widecol.tables WHERE relid IN ('cn'::regclass, 'cz'::regclass) ORDER BY relid::text;
SELECT (SELECT count(*) FROM (SELECT * FROM cn EXCEPT ALL SELECT * FROM hn) a) AS none_only,
       (SELECT count(*) FROM (SELECT * FROM hn EXCEPT ALL SELECT * FROM cn) b) AS heap_only_n,
       (SELECT count(*) FROM (SELECT * FROM cz EXCEPT ALL SELECT * FROM hn) c) AS zstd_only,
       (SELECT count(*) FROM (SELECT * FROM hn EXCEPT ALL SELECT * FROM cz) d) AS heap_only_z;
SELECT "check", ok FROM widecol.verify('cn') ORDER BY 1;

DROP TABLE ct, ch, cs, cw, hw, cp, cn, cz, hn;
