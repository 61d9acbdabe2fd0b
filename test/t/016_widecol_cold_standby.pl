# The cold tier replays on a streaming standby with stock redo: block and
# tombstone tuples are heap inserts into the TOAST relation, index entries
# btree inserts, the mover's redirects generic WAL records.  With
# wal_consistency_checking = all every replayed page is compared with the
# primary's image; queries on the standby return the primary's answers
# after compact, DML on cold rows, VACUUM, VACUUM FULL and CLUSTER, and a
# VACUUM FULL that moves rows too wide for the cold tier into the delta.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('cold_primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "wal_consistency_checking = all\nautovacuum = off\n");
$primary->start;
$primary->safe_psql('postgres', q{
	CREATE EXTENSION widecol;
	CREATE TABLE ev (id int PRIMARY KEY, user_id int, ts int, kind int, payload text)
	  USING widecol WITH (partition_key = 'user_id', sort_key = 'ts');
	CREATE INDEX ev_kind ON ev (kind);
});
$primary->safe_psql('postgres', q{SELECT pg_create_physical_replication_slot('standby', true)});
$primary->backup('bk');
my $standby = PostgreSQL::Test::Cluster->new('cold_standby');
$standby->init_from_backup($primary, 'bk', has_streaming => 1);
$standby->append_conf('postgresql.conf', "primary_slot_name = 'standby'\n");
$standby->start;

my $digest = q{
	SELECT count(*), sum(kind), md5(string_agg(id || ' ' || user_id || ' ' || ts || ' ' || kind || ' ' || payload,
	                                             ',' ORDER BY id))
	  FROM ev};
my $by_index = q{
	SET enable_seqscan = off;
	SELECT (SELECT count(*) FROM ev WHERE id > 0) || '|' || (SELECT count(*) FROM ev WHERE kind >= 0)};
my $cold = q{SELECT count(*) FILTER (WHERE (ctid::text::point)[1] > 291) FROM ev};

# Compare the standby with the primary after the standby caught up
sub same_on_standby
{
	my ($what) = @_;
	$primary->wait_for_catchup($standby);
	is($standby->safe_psql('postgres', $digest), $primary->safe_psql('postgres', $digest),
		"$what: same rows on the standby");
	is($standby->safe_psql('postgres', $by_index), $primary->safe_psql('postgres', $by_index),
		"$what: same rows through the indexes");
	is($standby->safe_psql('postgres', $cold), $primary->safe_psql('postgres', $cold),
		"$what: same cold rows");
}

$primary->safe_psql('postgres', q{
	INSERT INTO ev SELECT g, g % 97, g, g % 7, 'p' || g || repeat(' pad', g % 11)
	  FROM generate_series(1, 20000) g});
$primary->safe_psql('postgres', q{SELECT widecol.compact('ev')});
same_on_standby('after compact');

$primary->safe_psql('postgres', q{
	UPDATE ev SET kind = kind + 10 WHERE user_id < 10;
	DELETE FROM ev WHERE user_id BETWEEN 10 AND 19;
	INSERT INTO ev VALUES (1, 0, 0, 0, 'conflict') ON CONFLICT (id) DO UPDATE SET payload = 'upserted';
	BEGIN; SELECT id FROM ev WHERE user_id = 30 ORDER BY id FOR UPDATE; COMMIT;
	INSERT INTO ev SELECT g, g % 97, g, g % 7, 'new' FROM generate_series(20001, 25000) g;
});
same_on_standby('after DML on cold rows');

$primary->safe_psql('postgres', q{SELECT widecol.compact('ev')});
$primary->safe_psql('postgres', q{VACUUM ev});
same_on_standby('after a second compact and VACUUM');

$primary->safe_psql('postgres', q{VACUUM FULL ev});
$primary->safe_psql('postgres', q{CLUSTER ev USING ev_pkey});
same_on_standby('after VACUUM FULL and CLUSTER');

# a default too wide for the cold rows: VACUUM FULL puts them into the
# delta (a rewrite of the main fork and TOAST inserts)
$primary->safe_psql('postgres', q{ALTER TABLE ev ADD COLUMN wide text DEFAULT repeat('w', 3990)});
$primary->safe_psql('postgres', q{VACUUM FULL ev});
same_on_standby('after a VACUUM FULL that moved wide rows to the delta');
is($primary->safe_psql('postgres', $cold), '0', 'no cold row is left');
is($standby->safe_psql('postgres', q{SELECT count(*) FILTER (WHERE length(wide) = 3990) FROM ev}),
	$primary->safe_psql('postgres', q{SELECT count(*) FROM ev}), 'every row has the default on the standby');

ok(!$standby->log_contains('inconsistent page found'), 'wal_consistency_checking found nothing');

$standby->promote;
$standby->safe_psql('postgres', q{UPDATE ev SET kind = -1 WHERE user_id = 40});
is($standby->safe_psql('postgres', q{SELECT count(*) FROM ev WHERE kind = -1}),
	$standby->safe_psql('postgres', q{SELECT count(*) FROM ev WHERE user_id = 40}),
	'the promoted standby updates cold rows');
is($standby->safe_psql('postgres', q{SELECT count(*) FILTER (WHERE NOT ok) FROM widecol.verify('ev')}),
	'0', 'verify is clean on the promoted standby');

$standby->stop;
$primary->stop;
done_testing();
