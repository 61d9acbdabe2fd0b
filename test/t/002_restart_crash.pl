# kvcache is not durable: a restart empties it, and so does any backend
# crash, because the postmaster reinitialises shared memory.  A backend
# killed in the middle of writes leaves a working, consistent cache.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('restart_crash');
$node->init;
$node->append_conf('postgresql.conf', "restart_after_crash = on\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION kvcache');

# a clean restart empties the cache
$node->safe_psql('postgres',
	q{SELECT kv.mset(array_agg('k' || g), array_agg(g::text)) FROM generate_series(1, 1000) g});
is($node->safe_psql('postgres', 'SELECT kv.dbsize()'), '1000', 'keys are there');
$node->restart;
is($node->safe_psql('postgres', 'SELECT kv.dbsize(), kv.get($$k1$$) IS NULL'), '0|t',
	'restart empties the cache');

# kill -9 a backend that is in the middle of writing
$node->safe_psql('postgres',
	q{SELECT kv.mset(array_agg('k' || g), array_agg(g::text)) FROM generate_series(1, 1000) g});
my $writer = $node->background_psql('postgres', on_error_stop => 0);
my $pid = $writer->query_safe('SELECT pg_backend_pid()');
$writer->query_until(qr/started/, q{
\echo started
SELECT count(kv.set('w' || (g % 5000), repeat('x', g % 3000), ttl => CASE WHEN g % 3 = 0 THEN interval '1 h' END))
  FROM (SELECT generate_series(1, 100000000) AS g) s;
});
# let it write for a while
my $tries = 0;
usleep(100_000) while ($node->safe_psql('postgres', q{SELECT kv.exists('w4999')}) ne 't' && ++$tries < 300);
ok($tries < 300, 'writer is writing');
kill 'KILL', $pid;
$writer->quit;

# the postmaster reinitialises shared memory; wait until it accepts again
$node->poll_query_until('postgres', 'SELECT 1', '1');
is($node->safe_psql('postgres', 'SELECT kv.dbsize(), keys, expires FROM kv.stats'), '0|0|0',
	'backend crash empties the cache');
like(slurp_file($node->logfile), qr/all server processes terminated; reinitializing/,
	'shared memory was reinitialised');

# and the fresh cache works and keeps its accounting straight
$node->safe_psql('postgres',
	q{SELECT count(kv.set('n' || g, repeat('y', g % 2000), ttl => CASE WHEN g % 2 = 0 THEN interval '1 h' END))
	  FROM generate_series(1, 20000) g});
is($node->safe_psql('postgres', 'SELECT kv.dbsize(), expires, count(*) FROM kv.stats, kv.keys() GROUP BY 1, 2'),
	'20000|10000|20000', 'counters agree with the keys after recovery');
is($node->safe_psql('postgres', 'SELECT kv.flushdb()'), '20000', 'flush sees every key');
is($node->safe_psql('postgres', 'SELECT used_memory < 1024 * 1024 FROM kv.stats'), 't',
	'memory comes back after flush');

$node->stop;
done_testing();
