# widecol rows are heap rows written with heap's WAL, so crashes behave as
# on heap: after kill -9 of a backend in the middle of a COPY, and after an
# immediate shutdown in the middle of committing updates, every committed
# row is there and no uncommitted one, indexes agree with the table, and an
# UNLOGGED widecol table comes back empty like an unlogged heap table.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('widecol_crash');
$node->init;
$node->append_conf('postgresql.conf', "restart_after_crash = on\n");
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION widecol;
	CREATE TABLE ev (user_id int, ts timestamptz, kind int, payload text)
	  USING widecol WITH (partition_key = 'user_id', sort_key = 'ts');
	CREATE INDEX ev_user_ts ON ev (user_id, ts);
	CREATE TABLE counter (k int PRIMARY KEY, v bigint NOT NULL) USING widecol;
	INSERT INTO counter SELECT g, 0 FROM generate_series(0, 99) g;
	CREATE TABLE ledger (n bigint);
	CREATE UNLOGGED TABLE scratch (k int PRIMARY KEY, v text) USING widecol;
	CREATE UNLOGGED TABLE scratch_heap (k int PRIMARY KEY, v text);
});

# Digest of ev: row count, checksum, and the same count through the index
my $digest_sql = q{
	SELECT count(*), sum(kind), md5(string_agg(user_id || ' ' || ts || ' ' || kind || ' ' || payload,
	                                             ',' ORDER BY user_id, ts, kind, payload))
	  FROM ev};
my $index_count_sql = q{
	SET enable_seqscan = off; SET enable_bitmapscan = off;
	SELECT count(*) FROM ev WHERE user_id >= 0};

# 1. a committed COPY load
my $data = $node->basedir . '/ev.data';
open(my $fh, '>', $data) or die "could not write $data: $!";
for my $g (1 .. 30000)
{
	printf $fh "%d\t2026-01-01 00:00:00+00\t%d\tcommitted %d\n", $g % 500, $g % 7, $g;
}
close($fh);
$node->safe_psql('postgres', "COPY ev FROM '$data'");
$node->safe_psql('postgres', q{UPDATE ev SET ts = ts + kind * interval '1 hour' WHERE user_id < 100});
my $committed = $node->safe_psql('postgres', $digest_sql);
like($committed, qr/^30000\|/, 'committed COPY load is there');
$node->safe_psql('postgres',
	q{INSERT INTO scratch SELECT g, 'u' FROM generate_series(1, 100) g;
	  INSERT INTO scratch_heap SELECT g, 'u' FROM generate_series(1, 100) g;});
# the unlogged widecol table has cold blocks too (in its unlogged TOAST
# relation), and fresh rows beside them
is($node->safe_psql('postgres', q{SELECT moved_rows FROM widecol.compact('scratch')}), '100',
	'the unlogged widecol table has cold rows');
$node->safe_psql('postgres', q{INSERT INTO scratch SELECT g, 'f' FROM generate_series(101, 120) g});

# 2. kill -9 the backend of a COPY that is still loading
my $copier = $node->background_psql('postgres', on_error_stop => 0);
my $pid = $copier->query_safe('SELECT pg_backend_pid()');
my $program = q{seq 1 100000000 | awk '{ printf "%d\t2026-02-01 00:00:00+00\t%d\tuncommitted\n", $1 % 1000, $1 % 7 }'};
$program =~ s/'/''/g;
# the load goes straight to cold blocks (wc_copy.c); with 1MB of
# maintenance_work_mem a batch is about 16MB, so blocks of the first
# batches are already written when the backend dies
$copier->query_safe("SET maintenance_work_mem = '1MB'");
$copier->query_until(qr/started/, "\\echo started\nCOPY ev FROM PROGRAM '$program';\n");
ok( $node->poll_query_until('postgres',
		qq{SELECT tuples_processed > 700000 FROM pg_stat_progress_copy WHERE pid = $pid}),
	'COPY is loading');
ok( $node->poll_query_until('postgres',
		q{SELECT pg_relation_size(reltoastrelid) > 4000000 FROM pg_class WHERE relname = 'ev'}),
	'COPY has written cold blocks');
kill 'KILL', $pid;
$copier->quit;
$node->poll_query_until('postgres', 'SELECT 1', '1');
like(slurp_file($node->logfile), qr/all server processes terminated; reinitializing/,
	'the server went through crash recovery');
is($node->safe_psql('postgres', $digest_sql), $committed,
	'after kill -9 during COPY: committed rows unchanged, uncommitted rows absent');
is($node->safe_psql('postgres', $index_count_sql), '30000', 'the index agrees');
is($node->safe_psql('postgres', q{SELECT count(*) FROM widecol.verify('ev') WHERE NOT ok}),
	'0', 'widecol.verify finds the cold tier consistent');
is($node->safe_psql('postgres',
	q{SELECT (SELECT count(*) FROM scratch), (SELECT count(*) FROM scratch_heap)}),
	'0|0', 'unlogged widecol and heap tables are empty after the crash');
is($node->safe_psql('postgres', q{SELECT count(*) FROM widecol.verify('scratch') WHERE NOT ok}),
	'0', 'the emptied unlogged table has no stale blocks or entries');
$node->safe_psql('postgres', q{INSERT INTO scratch SELECT g, 'w' FROM generate_series(1, 10) g});
is($node->safe_psql('postgres', q{SELECT moved_rows FROM widecol.compact('scratch')}), '10',
	'the emptied unlogged table takes rows and cold blocks again');
is($node->safe_psql('postgres', q{SELECT count(*), min(v), max(v) FROM scratch WHERE k BETWEEN 1 AND 10}),
	'10|w|w', 'its new rows are there');
$node->safe_psql('postgres', q{TRUNCATE scratch});

# 3. immediate shutdown while a procedure commits update after update
# (each commit bumps a widecol counter and appends to a heap ledger in the
# same transaction) and another session holds a big uncommitted UPDATE
$node->safe_psql('postgres', q{
	CREATE PROCEDURE bump(n int) LANGUAGE plpgsql AS $$
	BEGIN
	    FOR i IN 1 .. n LOOP
	        UPDATE counter SET v = v + 1 WHERE k = i % 100;
	        INSERT INTO ledger VALUES (i);
	        COMMIT;
	    END LOOP;
	END $$;
	INSERT INTO scratch SELECT g, 'v' FROM generate_series(1, 100) g;
});
my $bumper = $node->background_psql('postgres', on_error_stop => 0);
$bumper->query_until(qr/started/, "\\echo started\nCALL bump(100000000);\n");
my $holder = $node->background_psql('postgres', on_error_stop => 0);
$holder->query_safe(q{BEGIN; UPDATE ev SET kind = -1, payload = 'uncommitted update'});
$holder->query_safe(q{INSERT INTO counter VALUES (1000, 1)});
ok($node->poll_query_until('postgres', q{SELECT count(*) > 2000 FROM ledger}),
	'updates are committing');
$node->stop('immediate');
# their psql processes have lost the server and may be gone already
eval { $bumper->quit };
eval { $holder->quit };
$node->start;

my $ledger = $node->safe_psql('postgres', q{SELECT count(*) FROM ledger});
cmp_ok($ledger, '>', 2000, "the ledger kept $ledger committed updates");
is($node->safe_psql('postgres', q{SELECT sum(v) FROM counter}), $ledger,
	'every committed counter update is there, in step with the heap ledger');
is($node->safe_psql('postgres',
	q{SELECT count(*) FILTER (WHERE v <> (SELECT count(*) FROM ledger l WHERE l.n % 100 = c.k)) FROM counter c}),
	'0', 'each counter row matches its ledger entries');
is($node->safe_psql('postgres', q{SELECT count(*) FROM counter WHERE k = 1000}), '0',
	'the uncommitted insert is absent');
is($node->safe_psql('postgres', $digest_sql), $committed,
	'the uncommitted UPDATE of every row is absent');
is($node->safe_psql('postgres', $index_count_sql), '30000', 'the index still agrees');
is($node->safe_psql('postgres', q{SELECT count(*) FROM scratch}), '0',
	'the unlogged widecol table is empty after the immediate shutdown');

# the table keeps working: VACUUM cleans the dead rows the crashes left
$node->safe_psql('postgres', q{VACUUM ev; VACUUM counter});
$node->safe_psql('postgres', q{INSERT INTO ev VALUES (1, '2027-01-01', 1, 'after')});
is($node->safe_psql('postgres', q{SELECT count(*) FROM ev}), '30001', 'writes work after recovery');
is($node->safe_psql('postgres', q{SELECT partition_key, sort_key FROM widecol.tables WHERE relid = 'ev'::regclass}),
	'user_id|ts', 'options survive the crashes');

$node->stop;
done_testing();
