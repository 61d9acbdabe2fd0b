# The cache in front of tables where a server setting or a dying backend is
# involved: with prepared transactions enabled, PREPARE TRANSACTION is
# refused while cache invalidations are queued (and works once a rolled-back
# savepoint has dropped them), and a backend terminated in the middle of
# kv.get_or_load wakes the session waiting for its load at once.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = PostgreSQL::Test::Cluster->new('front');
$node->init;
$node->append_conf('postgresql.conf', "max_prepared_transactions = 2\n");
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION kvcache;
CREATE TABLE t (id int PRIMARY KEY, v text);
INSERT INTO t VALUES (1, 'a');
SELECT kv.invalidate_on('t', 't:{id}');
SELECT kv.set('t:1', 'cached');
});

# PREPARE with a queued invalidation
my ($ret, $out, $err) = $node->psql('postgres',
	q{BEGIN; UPDATE t SET v = 'b' WHERE id = 1; PREPARE TRANSACTION 'p1';});
like($err, qr/cannot PREPARE a transaction that has queued cache invalidations/,
	'PREPARE TRANSACTION with queued invalidations is refused');
is($node->safe_psql('postgres',
		q{SELECT kv.get('t:1'), v, (SELECT count(*) FROM pg_prepared_xacts) FROM t WHERE id = 1}),
	'cached|a|0', 'the refused transaction changed nothing');

# a savepoint rolled back with its keys leaves nothing queued
$node->safe_psql('postgres',
	q{BEGIN; UPDATE t SET v = 'c' WHERE id = 2; SAVEPOINT s; UPDATE t SET v = 'b' WHERE id = 1;
	  ROLLBACK TO s; PREPARE TRANSACTION 'p2';});
$node->safe_psql('postgres', q{COMMIT PREPARED 'p2'});
is($node->safe_psql('postgres', q{SELECT kv.get('t:1')}), 'cached',
	'PREPARE works without queued invalidations');

# a loader killed in the middle of its load: lock 1 holds the loader
my $locker = $node->background_psql('postgres');
$locker->query_safe('SELECT pg_advisory_lock(1)');
my $loader = $node->background_psql('postgres', on_error_stop => 0);
my $loader_pid = $loader->query_safe('SELECT pg_backend_pid()');
$loader->query_until(qr/loading/, q{
\echo loading
SELECT kv.get_or_load('k', 'SELECT ''from loader'' FROM pg_advisory_xact_lock(1)');
});
ok($node->poll_query_until('postgres',
		q{SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = 1 AND NOT granted}),
	'the loader is loading');

# the waiter would wait ten minutes; its own loader does not need the lock
my $waiter = $node->background_psql('postgres');
$waiter->query_safe(q{SET kvcache.load_wait_timeout = '10min'});
$waiter->query_until(qr/waiting/, q{
\echo waiting
SELECT 'got ' || kv.get_or_load('k', 'SELECT ''from waiter''');
});
ok($node->poll_query_until('postgres',
		q{SELECT count(*) = 1 FROM pg_stat_activity
		  WHERE datname = current_database() AND wait_event_type = 'Extension'}),
	'the waiter sleeps on the load');

my $start = time;
$node->safe_psql('postgres', "SELECT pg_terminate_backend($loader_pid)");
like($waiter->query_until(qr/got from waiter/, ''), qr/got from waiter/,
	'the waiter wakes when the loader dies and loads itself');
cmp_ok(time - $start, '<', 60, 'well before its wait timeout');
is($node->safe_psql('postgres', q{SELECT kv.get('k')}), 'from waiter', 'and stores its value');

# the dead loader left no registration behind: a new miss loads at once
$node->safe_psql('postgres', q{SELECT kv.del('k')});
is($node->safe_psql('postgres', q{SET kvcache.load_wait_timeout = '10min'; SELECT kv.get_or_load('k', 'SELECT 1')}),
	'1', 'no stale load registration');

$waiter->quit;
$locker->quit;
# the loader's psql lost its backend: closing its input fails with EPIPE
eval { $loader->quit };
$node->stop;
done_testing();
