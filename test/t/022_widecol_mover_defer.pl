# The background mover keeps a partition's few new rows in the delta when
# its last block is too large to rewrite with them (wc_mover.c, deferral):
# moved at once they would be a run of their own, read by "latest N" for
# good.  A row waits for at most WC_MOVER_DEFER_VISITS (3) visits, so rows
# that arrive over several visits go cold together, as one run.
# widecol.compact() never defers.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('defer');
$node->init;
# test/regress.conf (TEMP_CONFIG) turns the mover off; this test turns it on
$node->append_conf('postgresql.conf', qq{
widecol.mover_enabled = on
widecol.mover_naptime = 1s
widecol.mover_min_rows = 1
autovacuum = off
log_min_messages = debug1
});
$node->start;

# user 1: one block of 280 rows, too large to rewrite with a few new rows
# (tail_merge_factor 16)
$node->safe_psql('postgres', q{
	CREATE EXTENSION widecol;
	CREATE TABLE ev (user_id int, ts int, payload text)
	  USING widecol WITH (partition_key = 'user_id', sort_key = 'ts');
	INSERT INTO ev SELECT 1, g, 'old' FROM generate_series(1, 280) g;
});
$node->safe_psql('postgres', q{SELECT widecol.compact('ev')});

# rows of ev still in the delta (a cold row's TID offset is above 291)
sub delta_rows
{
	my ($where) = @_;
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM ev WHERE (ctid::text::point)[1] <= 291 AND $where");
}

# a row of a new partition (no last block) is moved at once
$node->safe_psql('postgres', q{INSERT INTO ev VALUES (2, 1, 'new')});
$node->poll_query_until('postgres',
	q{SELECT count(*) = 0 FROM ev WHERE (ctid::text::point)[1] <= 291})
  or die 'the mover did not move the row of user 2';

# three batches of three rows of user 1, each seen by a visit of its own:
# all of them wait
my $ts = 280;
foreach my $kept (3, 6, 9)
{
	my $offset = -s $node->logfile;
	$node->safe_psql('postgres',
		"INSERT INTO ev SELECT 1, g, 'new' FROM generate_series($ts + 1, $ts + 3) g");
	$ts += 3;
	$node->wait_for_log(
		qr/keeping $kept rows of partitions with few new rows for a later move/, $offset);
	is(delta_rows('user_id = 1'), $kept, "$kept new rows of user 1 wait in the delta");
}

# the fourth batch's visit finds the first batch's rows older than the
# horizon of three visits back: the partition's twelve rows move, as one run
$node->safe_psql('postgres',
	"INSERT INTO ev SELECT 1, g, 'new' FROM generate_series($ts + 1, $ts + 3) g");
$node->poll_query_until('postgres',
	q{SELECT count(*) = 0 FROM ev WHERE (ctid::text::point)[1] <= 291})
  or die 'the mover did not move the rows of user 1';
is($node->safe_psql('postgres', q{
	SELECT count(*) || ' rows in ' || count(DISTINCT (ctid::text::point)[0]) || ' block'
	FROM ev WHERE user_id = 1 AND payload = 'new'}),
	'12 rows in 1 block', 'rows that arrived over four visits moved together');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM (SELECT * FROM ev WHERE user_id = 1 ORDER BY ts DESC LIMIT 12) s
	WHERE payload = 'new'}),
	'12', 'the keyscan reads them as the newest');
is($node->safe_psql('postgres', q{SELECT count(*) FROM widecol.verify('ev') WHERE NOT ok}), '0',
	'verify finds nothing wrong');

# widecol.compact() moves every row, with no visit history
$node->append_conf('postgresql.conf', "widecol.mover_enabled = off\n");
$node->reload;
$node->safe_psql('postgres', q{SELECT pg_sleep(2)});
$node->safe_psql('postgres',
	q{INSERT INTO ev SELECT 1, g, 'late' FROM generate_series(1001, 1003) g});
$node->safe_psql('postgres', q{SELECT widecol.compact('ev')});
is(delta_rows('true'), '0', 'compact moves a partition\'s few new rows');

$node->stop;
done_testing();
