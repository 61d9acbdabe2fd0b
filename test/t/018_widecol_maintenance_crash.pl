# Crashes in the middle of widecol maintenance and bulk loads lose no
# committed row and show no uncommitted one:
#   1. kill -9 of a backend running VACUUM, in the cold cleanup (after
#      heap's vacuum of the delta, which removed dead delta rows), on a
#      table with cold rows, dead cold rows (committed DELETE and UPDATE
#      tombstones), dead delta rows, and another session's uncommitted
#      INSERT, UPDATE and DELETE;
#   2. kill -9 during VACUUM FULL, while it copies the cold tier (blocks
#      re-formed for a column added with a default, compressed at level 19
#      so that the copy takes a while);
#   3. kill -9 during CLUSTER, while it rebuilds the indexes after the swap
#      (an expression index that sleeps when asked to);
#   4. an immediate shutdown during a COPY that writes cold blocks directly;
#   5. an immediate shutdown after a VACUUM FULL that moved rows too wide
#      for the cold tier into the delta.
# After each recovery the rows are those committed before (count, sum and
# checksum of every column), every index finds each row once,
# widecol.verify is clean, and the table still takes inserts, compact and
# VACUUM.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep);

my $node = PostgreSQL::Test::Cluster->new('widecol_maintenance_crash');
$node->init;
$node->append_conf('postgresql.conf', qq{
restart_after_crash = on
autovacuum = off
max_parallel_maintenance_workers = 0
# VACUUM here only vacuums: the case is a crash in its cold cleanup (a
# crash inside a move is the mover's, in 014_widecol_cold_crash.pl)
widecol.vacuum_move = off
});
$node->start;

# wc_slow(k) returns k, after sleeping 1ms when wc.slow is on (an index on
# it makes index builds slow in a session that asks for it)
$node->safe_psql('postgres', q{
	CREATE EXTENSION widecol;
	CREATE FUNCTION wc_slow(k int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
	BEGIN
	    IF current_setting('wc.slow', true) = 'on' THEN
	        PERFORM pg_sleep(0.001);
	    END IF;
	    RETURN k;
	END $$;
	CREATE TABLE ev (user_id int, ts int, kind int, payload text)
	  USING widecol WITH (partition_key = 'user_id', sort_key = 'ts');
	CREATE INDEX ev_user_ts ON ev (user_id, ts);
	CREATE INDEX ev_kind ON ev (kind);
	INSERT INTO ev SELECT (g::bigint * 7919) % 2000, g, g % 7, 'row ' || g || ' ' || md5(g::text) || repeat(' pad', g % 9)
	  FROM generate_series(1, 40000) g;
});
is($node->safe_psql('postgres', q{SELECT moved_rows FROM widecol.compact('ev')}), '40000',
	'every row is cold');

# committed DML: dead cold rows (DELETE, UPDATE), new delta rows, dead
# delta rows
$node->safe_psql('postgres', q{
	DELETE FROM ev WHERE user_id % 50 = 1;
	UPDATE ev SET kind = kind + 100 WHERE user_id % 50 = 2;
	INSERT INTO ev SELECT 3000 + g % 100, g, g % 7, 'delta ' || g FROM generate_series(1, 5000) g;
	DELETE FROM ev WHERE user_id >= 3000 AND ts % 5 = 0;
});

my $digest_sql = q{
	SELECT count(*), sum(kind), md5(string_agg(e::text, ',' ORDER BY user_id, ts)) FROM ev e};
my $index_sql = q{
	SET enable_seqscan = off; SET enable_bitmapscan = off;
	SELECT (SELECT count(*) FROM ev WHERE user_id >= 0) || '|' || (SELECT count(*) FROM ev WHERE kind >= 0)};
my $verify_sql = q{SELECT count(*) FILTER (WHERE NOT ok) FROM widecol.verify('ev')};
my $tiers_sql = q{SELECT delta_rows || '|' || stored_rows FROM widecol.tables WHERE relid = 'ev'::regclass};

my $committed = $node->safe_psql('postgres', $digest_sql);
my ($nrows) = split /\|/, $committed;
is($nrows, 40000 - 800 + 4000, 'committed DML is there');
my $tiers = $node->safe_psql('postgres', $tiers_sql);
is($tiers, '4800|38400', 'delta and cold rows before the crashes');

# Wait for the server to come back after a backend was killed; returns
# how many crash recoveries the log shows
sub recovered
{
	$node->poll_query_until('postgres', 'SELECT 1', '1');
	my $log = slurp_file($node->logfile);
	my $n = () = $log =~ /all server processes terminated; reinitializing/g;
	return $n;
}

# The checks after every recovery
sub check_after
{
	my ($what, $digest) = @_;
	my ($count) = split /\|/, $digest;
	is($node->safe_psql('postgres', $digest_sql), $digest,
		"$what: the committed rows, no uncommitted one");
	is($node->safe_psql('postgres', $index_sql), "$count|$count", "$what: indexes agree");
	is($node->safe_psql('postgres', $verify_sql), '0', "$what: verify is clean");
}

# 1. kill -9 of VACUUM in the cold cleanup.  Another session holds an
# uncommitted INSERT, UPDATE and DELETE (of cold rows) meanwhile.  The
# cost delay makes every index page take a few milliseconds, so heap's
# index pass and the cold cleanup's take a while; the cleanup runs between
# heap's vacuum of the delta (progress reported for ev) and core's vacuum
# of the TOAST relation (progress reported for the TOAST relation).
my $holder = $node->background_psql('postgres', on_error_stop => 0);
$holder->query_safe(q{
	BEGIN;
	INSERT INTO ev SELECT 4000, g, 1, 'uncommitted' FROM generate_series(1, 100) g;
	UPDATE ev SET payload = 'uncommitted' WHERE user_id % 50 = 3;
	DELETE FROM ev WHERE user_id % 50 = 4;
});
my $vacuum = $node->background_psql('postgres', on_error_stop => 0);
my $pid = $vacuum->query_safe('SELECT pg_backend_pid()');
$vacuum->query_safe(q{SET vacuum_cost_delay = '1ms'; SET vacuum_cost_limit = 1});
$vacuum->query_until(qr/started/, "\\echo started\nVACUUM (VERBOSE) ev;\n");
my $progress_sql = qq{
	SELECT coalesce((SELECT CASE WHEN relid = 'ev'::regclass THEN 'delta' ELSE 'toast' END
	                   FROM pg_stat_progress_vacuum WHERE pid = $pid), 'cleanup')};
ok($node->poll_query_until('postgres', $progress_sql, 'delta'), 'VACUUM vacuums the delta');
my $phase;
for (1 .. 600)
{
	$phase = $node->safe_psql('postgres', $progress_sql);
	last if $phase ne 'delta';
	sleep(0.05);
}
kill 'KILL', $pid;
is($phase, 'cleanup', 'killed in the cold cleanup');
eval { $vacuum->quit };
eval { $holder->quit };
is(recovered(), 1, 'crash recovery after kill -9 during VACUUM');
check_after('after kill -9 during VACUUM', $committed);
is($node->safe_psql('postgres', $tiers_sql), $tiers, 'widecol.tables counts the same rows');
my ($ret, $stdout, $stderr) = $node->psql('postgres', 'VACUUM (VERBOSE) ev');
like($stderr, qr/widecol "public\.ev": cold tier: \d+ blocks, 38400 live rows, 1600 dead rows/,
	'VACUUM runs to the end after recovery');
like($stderr, qr/Cleanup removed [1-9][0-9]* index entries of 1600 dead cold rows/,
	'its cold cleanup removes the entries of the dead cold rows');
check_after('after the VACUUM', $committed);

# 2. kill -9 of VACUUM FULL while it copies the cold tier.  The added
# column has a default and no rewrite, so every block is re-formed, and at
# level 19 that takes a few seconds; heap's copy of the delta is done once
# its progress shows every delta block scanned and every live row written.
$node->safe_psql('postgres', q{
	ALTER TABLE ev ADD COLUMN extra text DEFAULT 'filled in';
	ALTER TABLE ev SET (compression_level = 19);
});
$committed = $node->safe_psql('postgres', $digest_sql);
like($committed, qr/^43200\|/, 'the added column does not change the rows');
my ($delta_rows) = split /\|/, $node->safe_psql('postgres', $tiers_sql);
my $filenode_sql = q{SELECT relfilenode || '|' || (SELECT relfilenode FROM pg_class t WHERE t.oid = c.reltoastrelid)
	FROM pg_class c WHERE oid = 'ev'::regclass};
my $filenodes = $node->safe_psql('postgres', $filenode_sql);
my $full = $node->background_psql('postgres', on_error_stop => 0);
$pid = $full->query_safe('SELECT pg_backend_pid()');
$full->query_until(qr/started/, "\\echo started\nVACUUM FULL ev;\n");
ok( $node->poll_query_until('postgres', qq{
		SELECT phase = 'seq scanning heap' AND heap_blks_scanned = heap_blks_total
		       AND heap_tuples_written = $delta_rows
		  FROM pg_stat_progress_cluster WHERE pid = $pid}),
	'VACUUM FULL has copied the delta');
is($node->safe_psql('postgres',
		qq{SELECT phase FROM pg_stat_progress_cluster WHERE pid = $pid}),
	'seq scanning heap', 'and is copying the cold tier');
kill 'KILL', $pid;
eval { $full->quit };
is(recovered(), 2, 'crash recovery after kill -9 during VACUUM FULL');
check_after('after kill -9 during VACUUM FULL', $committed);
is($node->safe_psql('postgres', $filenode_sql), $filenodes, 'the table keeps its files');

# 3. kill -9 of CLUSTER while it rebuilds the indexes after the swap
$node->safe_psql('postgres', q{
	ALTER TABLE ev SET (compression_level = 1);
	CREATE INDEX ev_slow ON ev (wc_slow(ts));
});
my $cluster = $node->background_psql('postgres', on_error_stop => 0);
$pid = $cluster->query_safe('SELECT pg_backend_pid()');
$cluster->query_until(qr/started/, "SET wc.slow = on;\n\\echo started\nCLUSTER ev USING ev_user_ts;\n");
ok( $node->poll_query_until('postgres',
		qq{SELECT phase = 'rebuilding index' FROM pg_stat_progress_cluster WHERE pid = $pid}),
	'CLUSTER rebuilds the indexes');
kill 'KILL', $pid;
eval { $cluster->quit };
is(recovered(), 3, 'crash recovery after kill -9 during CLUSTER');
check_after('after kill -9 during CLUSTER', $committed);
is($node->safe_psql('postgres', $filenode_sql), $filenodes, 'the table still keeps its files');
$node->safe_psql('postgres', 'DROP INDEX ev_slow');

# 4. immediate shutdown while a COPY writes cold blocks directly
my $copier = $node->background_psql('postgres', on_error_stop => 0);
$pid = $copier->query_safe('SELECT pg_backend_pid()');
my $toast_size = $node->safe_psql('postgres',
	q{SELECT pg_relation_size(reltoastrelid) FROM pg_class WHERE oid = 'ev'::regclass});
my $program = q{seq 1 100000000 | awk '{ printf "%d\t%d\t%d\tuncommitted\tcopied\n", $1 % 1000, $1, $1 % 7 }'};
$program =~ s/'/''/g;
$copier->query_safe("SET maintenance_work_mem = '1MB'");
$copier->query_until(qr/started/, "\\echo started\nCOPY ev FROM PROGRAM '$program';\n");
ok( $node->poll_query_until('postgres',
		qq{SELECT tuples_processed > 100000 FROM pg_stat_progress_copy WHERE pid = $pid}),
	'COPY is loading');
ok( $node->poll_query_until('postgres',
		qq{SELECT pg_relation_size(reltoastrelid) > $toast_size + 100000
		     FROM pg_class WHERE oid = 'ev'::regclass}),
	'COPY has written cold blocks');
$node->stop('immediate');
eval { $copier->quit };
$node->start;
check_after('after an immediate shutdown during COPY', $committed);

# the table keeps working: VACUUM, inserts, compact, VACUUM FULL
$node->safe_psql('postgres', q{
	VACUUM ev;
	INSERT INTO ev SELECT 5000 + g % 10, g, 1, 'after', 'x' FROM generate_series(1, 1000) g;
});
cmp_ok($node->safe_psql('postgres', q{SELECT moved_rows FROM widecol.compact('ev')}), '>=', 1000,
	'compact moves the new rows');
my $final = $node->safe_psql('postgres', $digest_sql);
like($final, qr/^44200\|/, 'the new rows are counted');
$node->safe_psql('postgres', 'VACUUM FULL ev');
check_after('after a VACUUM FULL that commits', $final);
is($node->safe_psql('postgres',
		q{SELECT count(*) FILTER (WHERE extra = 'filled in') || '|' || count(*) FILTER (WHERE extra = 'x') FROM ev}),
	'43200|1000', 'old rows have the default of the added column, new rows their value');

# a default too wide for a cold row: VACUUM FULL puts every row into the
# new delta; its rewrite survives an immediate shutdown right after
$node->safe_psql('postgres', q{ALTER TABLE ev ADD COLUMN wide text DEFAULT repeat('w', 4000)});
my $narrow_sql = q{
	SELECT count(*), sum(kind), count(*) FILTER (WHERE wide = repeat('w', 4000)),
	       md5(string_agg((user_id, ts, kind, payload, extra)::text, ',' ORDER BY user_id, ts))
	  FROM ev};
my $wide = $node->safe_psql('postgres', $narrow_sql);
like($wide, qr/^44200\|\d+\|44200\|/, 'every row has the wide default');
$node->safe_psql('postgres', 'VACUUM FULL ev');
is($node->safe_psql('postgres', $tiers_sql), '44200|0', 'VACUUM FULL put every row into the delta');
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', $narrow_sql), $wide, 'after an immediate shutdown: the same rows');
is($node->safe_psql('postgres', $index_sql), '44200|44200', 'indexes agree');
is($node->safe_psql('postgres', $verify_sql), '0', 'verify is clean');

$node->stop;
done_testing();
