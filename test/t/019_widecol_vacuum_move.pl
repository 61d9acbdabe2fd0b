# Plain VACUUM runs the mover (wc_vacuum_move.c).  VACUUM VERBOSE prints
# what the move did as INFO (rows moved, blocks, bytes, rows that stayed
# and why; core's own VERBOSE lines carry timings, hence a TAP test), a
# plain VACUUM prints nothing; VACUUM (SKIP_LOCKED) moves nothing while
# another session holds the table's lock, and says so; vacuumdb moves
# rows, vacuumdb --analyze-only does not; answers stay those of a heap twin.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('vacuum_move');
$node->init;
$node->append_conf('postgresql.conf', "autovacuum = off\n");
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION widecol;
	CREATE TABLE t (k int, s int, v text) USING widecol
	  WITH (partition_key = 'k', sort_key = 's', compression = 'none');
	CREATE TABLE h (k int, s int, v text);
	INSERT INTO t SELECT g % 10, g, 'v' || g FROM generate_series(1, 1000) g;
	INSERT INTO h SELECT * FROM t;
});

# "cold/delta" row counts of table $t (cold TIDs have offsets over 291)
sub tiers
{
	my ($t) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT count(*) FILTER (WHERE (ctid::text::point)[1] > 291) || '/' ||
		       count(*) FILTER (WHERE (ctid::text::point)[1] <= 291) FROM $t});
}

# stderr of one statement
sub stderr_of
{
	my ($sql) = @_;
	my ($out, $err);
	$node->psql('postgres', $sql, stdout => \$out, stderr => \$err);
	return $err;
}

sub same_as_heap
{
	my ($what) = @_;
	is($node->safe_psql('postgres', q{
		SELECT (SELECT count(*) FROM (SELECT * FROM t EXCEPT ALL SELECT * FROM h) a) || '/' ||
		       (SELECT count(*) FROM (SELECT * FROM h EXCEPT ALL SELECT * FROM t) b)}),
		'0/0', "same rows as heap $what");
}

# VACUUM VERBOSE: the move's INFO line comes before core's vacuum of t
my $err = stderr_of('VACUUM (VERBOSE) t');
like($err,
	qr/INFO:  widecol "public\.t": moved 1000 delta rows into \d+ cold blocks, raw \d+ kB, stored \d+ kB\n(?:.*\n)*?.*INFO:  vacuuming "postgres\.public\.t"/,
	'VACUUM VERBOSE reports the move before core vacuums the table');
unlike($err, qr/live rows stay in the delta/, 'nothing stayed behind');
is(tiers('t'), '1000/0', 'VACUUM VERBOSE moved every row');
same_as_heap('after VACUUM VERBOSE');

# rows below their partition's last cold key stay, and VERBOSE says why
$node->safe_psql('postgres', q{
	INSERT INTO t VALUES (1, 0, 'early'), (2, 2000, 'late');
	INSERT INTO h VALUES (1, 0, 'early'), (2, 2000, 'late');
});
$err = stderr_of('VACUUM (VERBOSE, ANALYZE) t');
like($err,
	qr/INFO:  widecol "public\.t": moved 1 delta rows into 1 cold blocks, raw \d+ bytes, stored \d+ bytes\nDETAIL:  1 live rows stay in the delta: 0 not yet visible to every transaction, 0 being modified or locked, 0 with out-of-line values, 0 over the cold row size limit, 1 below their partition's last cold key\./,
	'VACUUM VERBOSE reports the rows that stay and why');
is(tiers('t'), '1001/1', 'the late row moved, the early one stayed');

# a plain VACUUM moves without a word
$node->safe_psql('postgres', q{
	INSERT INTO t VALUES (3, 3000, 'later');
	INSERT INTO h VALUES (3, 3000, 'later');
});
$err = stderr_of('VACUUM t');
is($err, '', 'a plain VACUUM prints nothing');
is(tiers('t'), '1002/1', 'a plain VACUUM moved the new row');

# SKIP_LOCKED: another session holds the lock, nothing moves, core warns
my $locker = $node->background_psql('postgres');
$locker->query_safe('BEGIN; LOCK TABLE t IN SHARE UPDATE EXCLUSIVE MODE');
$node->safe_psql('postgres', q{
	INSERT INTO t VALUES (4, 4000, 'locked');
	INSERT INTO h VALUES (4, 4000, 'locked');
});
$err = stderr_of('VACUUM (SKIP_LOCKED, VERBOSE) t');
like($err, qr/INFO:  widecol "public\.t": no rows moved: lock not available/,
	'SKIP_LOCKED: the move is skipped');
like($err, qr/WARNING:  skipping vacuum of "t" --- lock not available/,
	'SKIP_LOCKED: core skips the table too');
is(tiers('t'), '1002/2', 'SKIP_LOCKED left the new row in the delta');
$locker->query_safe('COMMIT');
$locker->quit;

# vacuumdb moves rows; vacuumdb --analyze-only does not
$node->command_ok([ 'vacuumdb', '--analyze-only', '-t', 't', 'postgres' ],
	'vacuumdb --analyze-only');
is(tiers('t'), '1002/2', 'vacuumdb --analyze-only moved nothing');
$node->command_ok([ 'vacuumdb', '--jobs', '2', '--analyze', 'postgres' ],
	'vacuumdb --jobs 2 --analyze');
is(tiers('t'), '1003/1', 'vacuumdb moved the new row');
same_as_heap('after vacuumdb');
is($node->safe_psql('postgres', q{SELECT reltuples FROM pg_class WHERE relname = 't'}),
	'1004', 'ANALYZE after the move counts both tiers');

$node->stop;
done_testing();
