# widecol.compact() writes only heap, btree and generic WAL in one
# transaction, so a crash in the middle of it loses nothing: after kill -9
# of the compacting backend, and after an immediate shutdown during a
# compact, every row is where it was (in the delta), no row is doubled,
# indexes agree, widecol.verify is clean, VACUUM removes the index entries
# of the aborted blocks, and the next compact works.  Committed cold rows,
# their tombstones (UPDATE/DELETE of cold rows) and row redirects survive
# crash recovery.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('widecol_cold_crash');
$node->init;
$node->append_conf('postgresql.conf', "restart_after_crash = on\nautovacuum = off\n");
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION widecol;
	CREATE TABLE ev (user_id int, ts int, kind int, payload text)
	  USING widecol WITH (partition_key = 'user_id', sort_key = 'ts');
	CREATE INDEX ev_user_ts ON ev (user_id, ts);
	CREATE INDEX ev_kind ON ev (kind);
	INSERT INTO ev SELECT (g::bigint * 7919) % 2000, g, g % 7, 'row ' || g || repeat(' pad', g % 9)
	  FROM generate_series(1, 400000) g;
});

my $digest_sql = q{
	SELECT count(*), sum(kind), md5(string_agg(user_id || ' ' || ts || ' ' || kind || ' ' || payload,
	                                             ',' ORDER BY user_id, ts))
	  FROM ev};
my $index_sql = q{
	SET enable_seqscan = off;
	SELECT (SELECT count(*) FROM ev WHERE user_id >= 0) || '|' || (SELECT count(*) FROM ev WHERE kind >= 0)};
my $cold_sql = q{SELECT count(*) FILTER (WHERE (ctid::text::point)[1] > 291) FROM ev};
my $toast_size_sql = q{SELECT pg_relation_size(reltoastrelid) FROM pg_class WHERE oid = 'ev'::regclass};
my $verify_sql = q{SELECT count(*) FILTER (WHERE NOT ok) FROM widecol.verify('ev')};

my $before = $node->safe_psql('postgres', $digest_sql);
like($before, qr/^400000\|/, 'rows loaded');

# Start widecol.compact('ev') in the background; return once it has written
# at least one block (the TOAST relation grows) but not committed.
sub start_compact
{
	my ($what) = @_;
	my $size0 = $node->safe_psql('postgres', $toast_size_sql);
	my $session = $node->background_psql('postgres', on_error_stop => 0);
	my $pid = $session->query_safe('SELECT pg_backend_pid()');
	$session->query_until(qr/started/, "SET maintenance_work_mem = '1MB';\n\\echo started\nSELECT * FROM widecol.compact('ev');\n");
	ok( $node->poll_query_until('postgres',
			qq{SELECT pg_relation_size(reltoastrelid) > $size0 + 65536
			     FROM pg_class WHERE oid = 'ev'::regclass}),
		"$what: compact is writing blocks");
	is($node->safe_psql('postgres',
		qq{SELECT count(*) FROM pg_stat_activity WHERE pid = $pid AND state = 'active'}),
		'1', "$what: compact is still running");
	return ($session, $pid);
}

# 1. kill -9 of the compacting backend
my ($session, $pid) = start_compact('kill -9');
kill 'KILL', $pid;
eval { $session->quit };
$node->poll_query_until('postgres', 'SELECT 1', '1');
like(slurp_file($node->logfile), qr/all server processes terminated; reinitializing/,
	'the server went through crash recovery');
is($node->safe_psql('postgres', $digest_sql), $before, 'after kill -9 during compact: same rows');
is($node->safe_psql('postgres', $cold_sql), '0', 'no row is cold: the move never happened');
is($node->safe_psql('postgres', $index_sql), '400000|400000', 'indexes agree');
is($node->safe_psql('postgres', $verify_sql), '0', 'verify is clean');

# 2. immediate shutdown during a compact
($session, $pid) = start_compact('immediate shutdown');
$node->stop('immediate');
eval { $session->quit };
$node->start;
is($node->safe_psql('postgres', $digest_sql), $before, 'after immediate shutdown during compact: same rows');
is($node->safe_psql('postgres', $cold_sql), '0', 'still no cold row');
is($node->safe_psql('postgres', $index_sql), '400000|400000', 'indexes still agree');

# VACUUM removes the index entries the aborted compactions left
my ($ret, $stdout, $stderr) = $node->psql('postgres',
	'SET widecol.vacuum_move = off; VACUUM (VERBOSE) ev');
like($stderr, qr/widecol "public\.ev": cold tier: 0 blocks/, 'VACUUM VERBOSE reports the cold tier');
# (3 indexes: ev_user_ts, ev_kind and the key index ev_wckey)
like($stderr, qr/Cleanup removed [1-9][0-9]* index entries of 0 dead cold rows and [1-9][0-9]* dead blocks from 3 indexes/,
	'VACUUM removed the entries of the aborted blocks');

# 3. a compact that commits, cold DML, then crashes: all of it survives
is($node->safe_psql('postgres', q{SELECT moved_rows FROM widecol.compact('ev')}), '400000',
	'compact moves every row after recovery');
$node->safe_psql('postgres', q{
	UPDATE ev SET kind = kind + 10 WHERE user_id < 20;
	DELETE FROM ev WHERE user_id BETWEEN 20 AND 39;
});
my $after_dml = $node->safe_psql('postgres', $digest_sql);
my $holder = $node->background_psql('postgres', on_error_stop => 0);
$holder->query_safe(q{BEGIN; UPDATE ev SET payload = 'uncommitted' WHERE user_id BETWEEN 40 AND 59});
$node->stop('immediate');
eval { $holder->quit };
$node->start;
is($node->safe_psql('postgres', $digest_sql), $after_dml,
	'committed cold rows and tombstones survive; the uncommitted update is absent');
is($node->safe_psql('postgres', $index_sql), '396000|396000', 'indexes agree with the cold tier');
is($node->safe_psql('postgres', $verify_sql), '0', 'verify is clean after recovery');
is($node->safe_psql('postgres', q{SELECT stored_rows FROM widecol.tables WHERE relid = 'ev'::regclass}),
	'392000', 'widecol.tables counts the live cold rows');

$node->stop;
done_testing();
