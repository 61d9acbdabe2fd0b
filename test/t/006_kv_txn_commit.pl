# kvcache.transactional while a commit is in flight: with a synchronous
# standby that never comes, a committing transaction stops after its
# commit record with its kv keys marked.  Other sessions then read the old
# value at once, their writes of the marked key wait (and can be
# cancelled), writes of other keys go on, and a concurrent commit that
# invalidates the key and queues for the NOTIFY lock the first one holds
# does not deadlock.  When the first commit is released, its writes
# appear, the waiting writer goes on, and the invalidation runs last.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# every commit that writes WAL waits for a standby that never comes, except
# in sessions that say synchronous_commit = local (all but A)
my $node = PostgreSQL::Test::Cluster->new('txn_commit');
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf', "synchronous_standby_names = 'nobody'\n");
$node->start;
$node->safe_psql('postgres', q{
SET synchronous_commit = local;
CREATE EXTENSION kvcache;
CREATE TABLE t (id int PRIMARY KEY, v text);
INSERT INTO t VALUES (1, 'a');
SELECT kv.invalidate_on('t', 'k:{id}');
SELECT kv.set('k:1', 'old'), kv.set('n', '10');
});

# Wait until $n client backends sleep in kvcache (wait event type Extension)
sub kv_sleepers
{
	my ($n) = @_;
	return $node->poll_query_until('postgres', qq{
		SELECT count(*) = $n FROM pg_stat_activity
		 WHERE datname = current_database() AND wait_event_type = 'Extension'});
}

# A: transactional kv writes, a row, a NOTIFY; its COMMIT stops in SyncRep
my $a = $node->background_psql('postgres', on_error_stop => 0);
my $a_pid = $a->query_safe('SELECT pg_backend_pid()');
$a->query_until(qr/committing/, q{
SET kvcache.transactional = on;
BEGIN;
SELECT kv.set('k:1', 'from A'), kv.incr('n');
INSERT INTO t VALUES (2, 'b');
NOTIFY chan;
\echo committing
COMMIT;
\echo committed
});
ok($node->poll_query_until('postgres', qq{
	SELECT wait_event = 'SyncRep' FROM pg_stat_activity WHERE pid = $a_pid}),
	'A waits for the synchronous standby after its commit record');

is($node->safe_psql('postgres', q{SELECT kv.get('k:1') || ' ' || kv.get('n')}), 'old 10',
	'readers see the old values while A is committing');
is($node->safe_psql('postgres', q{SELECT kv.set('other', 'x')}), 't',
	'writes of other keys go on');

# B writes a marked key: it waits; cancelling it works
my $b = $node->background_psql('postgres', on_error_stop => 0);
$b->query_safe('SET synchronous_commit = local');
my $b_pid = $b->query_safe('SELECT pg_backend_pid()');
$b->query_until(qr/writing/, q{
\echo writing
SELECT 'B got ' || kv.incr('n');
});
ok(kv_sleepers(1), 'a writer of a marked key waits');
$node->safe_psql('postgres', "SELECT pg_cancel_backend($b_pid)");
ok(kv_sleepers(0), 'the waiting writer can be cancelled');
like($b->query('SELECT 1'), qr/^1$/m, 'and its session goes on');

# C invalidates k:1 and NOTIFYs: it queues behind A for the NOTIFY lock
my $c = $node->background_psql('postgres', on_error_stop => 0);
$c->query_safe('SET synchronous_commit = local');
my $c_pid = $c->query_safe('SELECT pg_backend_pid()');
$c->query_until(qr/committing/, q{
BEGIN;
UPDATE t SET v = 'c' WHERE id = 1;
NOTIFY chan;
\echo committing
COMMIT;
\echo committed
});
ok($node->poll_query_until('postgres', qq{
	SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $c_pid}),
	'C waits for the NOTIFY lock that A holds');

# B again, waiting for the mark of n
$b->query_until(qr/writing/, q{
\echo writing
SELECT 'B got ' || kv.incr('n');
});
ok(kv_sleepers(1), 'B waits again');

# release A from its SyncRep wait: the commit completes
$node->safe_psql('postgres', "SELECT pg_cancel_backend($a_pid)");
like($a->query_until(qr/committed/, ''), qr/committed/, 'A finishes its commit');
like($b->query_until(qr/B got/, ''), qr/B got 12/, 'B goes on after A installed n = 11');
like($c->query_until(qr/committed/, ''), qr/committed/, 'C commits: no deadlock');
is($node->safe_psql('postgres', q{SELECT coalesce(kv.get('k:1'), 'deleted') || ' ' || kv.get('n')}),
	'deleted 12', "A's write of k:1 was installed, then C's invalidation deleted it");
is($node->safe_psql('postgres', q{SELECT count(*) FROM t}), '2', "A's row is there");

$a->quit;
$b->quit;
$c->quit;
$node->stop;
done_testing();
