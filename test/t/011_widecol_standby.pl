# A streaming standby replays widecol tables with stock heap and btree redo:
# with wal_consistency_checking = all every replayed page is compared with
# the primary's image, and queries on the standby return the primary's
# answers, through sequential and index scans, after DML, TOAST values,
# index builds, VACUUM, VACUUM FULL, CLUSTER, TRUNCATE and key DDL.  The
# promoted standby then works as a primary.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "wal_consistency_checking = all\n");
$primary->start;
$primary->safe_psql('postgres', q{
	CREATE EXTENSION widecol;
	CREATE TABLE ev (id int PRIMARY KEY, user_id int, ts timestamptz, kind int, payload text)
	  USING widecol WITH (partition_key = 'user_id', sort_key = 'ts');
	CREATE INDEX ev_user_ts ON ev (user_id, ts);
});
$primary->safe_psql('postgres', q{SELECT pg_create_physical_replication_slot('standby', true)});
$primary->backup('bk');

# a slot keeps the primary's WAL (large with consistency checking) until
# the standby has it
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'bk', has_streaming => 1);
$standby->append_conf('postgresql.conf', "primary_slot_name = 'standby'\n");
$standby->start;

# The workload, all of it replayed by the standby
$primary->safe_psql('postgres', q{
	INSERT INTO ev SELECT g, g % 97, '2026-01-01'::timestamptz + g * interval '1 minute', g % 7, 'p' || g
	  FROM generate_series(1, 5000) g;
	COPY ev (id, user_id, kind) FROM PROGRAM 'seq 5001 6000 | awk ''{ print $1 "," $1 % 97 "," $1 % 7 }'''
	  WITH (FORMAT csv);
});
$primary->safe_psql('postgres', q{
	UPDATE ev SET user_id = user_id + 1000, ts = ts - interval '1 day' WHERE id % 10 = 0;
	UPDATE ev SET payload = repeat(md5(id::text), 5000) WHERE id % 1000 = 1;
	DELETE FROM ev WHERE kind = 3;
	INSERT INTO ev VALUES (1, 0, '2027-01-01', 0, 'upsert')
	  ON CONFLICT (id) DO UPDATE SET payload = EXCLUDED.payload;
	CREATE INDEX CONCURRENTLY ev_kind ON ev (kind);
	VACUUM ev;
	CREATE TABLE ev2 (a int, b text, c int) USING widecol WITH (partition_key = 'a');
	INSERT INTO ev2 SELECT g % 10, repeat('x', g % 300), g FROM generate_series(1, 5000) g;
	DELETE FROM ev2 WHERE c % 2 = 0;
	VACUUM FULL ev2;
	CLUSTER ev USING ev_user_ts;
	ALTER TABLE ev2 RENAME COLUMN a TO aa;
	ALTER TABLE ev2 ADD COLUMN d int DEFAULT 5, DROP COLUMN b;
	CREATE TABLE ev3 (k int PRIMARY KEY, v text) USING widecol;
	INSERT INTO ev3 SELECT g, 'gone' FROM generate_series(1, 100) g;
	TRUNCATE ev3;
	INSERT INTO ev3 SELECT g, 'kept' FROM generate_series(1, 10) g;
});
$primary->wait_for_catchup($standby);

my @queries = (
	q{SELECT count(*), sum(kind), sum(user_id), md5(string_agg((id, user_id, ts, kind, md5(payload))::text, ',' ORDER BY id)) FROM ev},
	q{SET enable_seqscan = off; SET enable_bitmapscan = off; SELECT count(*), sum(id) FROM ev WHERE user_id BETWEEN 10 AND 20},
	q{SET enable_seqscan = off; SET enable_bitmapscan = off; SELECT count(*), sum(id) FROM ev WHERE kind = 5},
	q{SELECT id, user_id, ts, kind, length(payload) FROM ev WHERE id IN (1, 1001, 2001, 5500) ORDER BY id},
	q{SELECT count(*), sum(c), sum(d), md5(string_agg(aa || ':' || c, ',' ORDER BY c)) FROM ev2},
	q{SELECT k, v FROM ev3 ORDER BY k},
	q{SELECT relid, partition_key, sort_key, total_bytes FROM widecol.tables ORDER BY relid::text},
	q{SET enable_seqscan = off; SET enable_indexscan = off; SET enable_bitmapscan = off;
	  EXPLAIN (COSTS OFF) SELECT id FROM ev WHERE user_id = 42 ORDER BY ts DESC LIMIT 5;
	  SELECT string_agg(id::text, ',') FROM (SELECT id FROM ev WHERE user_id = 42 ORDER BY ts DESC LIMIT 5) x;
	  SELECT string_agg(id::text, ',') FROM (SELECT id FROM ev WHERE user_id = 1042 AND ts < '2026-01-03' ORDER BY ts) x},
);
for my $q (@queries)
{
	is($standby->safe_psql('postgres', $q), $primary->safe_psql('postgres', $q),
		"standby answers like the primary: $q");
}
like($standby->safe_psql('postgres', $queries[-1]), qr/Custom Scan \(WidecolKeyScan\) on ev/,
	'the standby reads through the key index (keyscan)');
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'standby is in recovery');
is($primary->safe_psql('postgres', 'SHOW wal_consistency_checking'), 'all',
	'every record carried page images to check');
ok(!$standby->log_contains('inconsistent page found'), 'wal_consistency_checking found nothing');

# writes are refused on the standby as on any heap table
my ($ret, $out, $err) = $standby->psql('postgres', q{INSERT INTO ev3 VALUES (100, 'no')});
like($err, qr/cannot execute INSERT in a read-only transaction/, 'standby refuses writes');

# the promoted standby is a working primary with the same options
$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()');
$standby->safe_psql('postgres', q{INSERT INTO ev3 VALUES (100, 'promoted'); UPDATE ev SET kind = kind + 1 WHERE id = 2});
is($standby->safe_psql('postgres', q{SELECT count(*) FROM ev3}), '11', 'promoted standby writes');
($ret, $out, $err) = $standby->psql('postgres', q{ALTER TABLE ev DROP COLUMN ts});
like($err, qr/cannot drop key column "ts" of widecol table "ev"/, 'and protects its keys');

$standby->stop;
$primary->stop;
done_testing();
