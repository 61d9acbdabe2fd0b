# kvcache without shared_preload_libraries: CREATE EXTENSION works, every
# function raises SQLSTATE 55000 with a hint to preload and restart.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('no_preload');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = ''");
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION kvcache');
is($node->safe_psql('postgres', q{SELECT count(*) > 20 FROM pg_proc WHERE pronamespace = 'kv'::regnamespace}),
	't', 'extension objects were created');

foreach my $call ("SELECT kv.get('a')", "SELECT kv.set('a', 'b')",
	'SELECT kv.dbsize()', 'SELECT * FROM kv.stats', 'SELECT * FROM kv.keys()')
{
	my ($ret, $out, $err) = $node->psql('postgres',
		"\\set VERBOSITY verbose\n$call");
	isnt($ret, 0, "$call fails");
	like($err, qr/ERROR:\s+55000: kvcache must be loaded via "shared_preload_libraries"/,
		"$call reports 55000");
	like($err, qr/HINT:\s+Add kvcache to the "shared_preload_libraries" setting and restart the server/,
		"$call hints at the fix");
}

# after preloading and a restart it works
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'kvcache'");
$node->restart;
is($node->safe_psql('postgres', "SELECT kv.set('a', 'b'), kv.get('a')"), 't|b',
	'works once preloaded');

$node->stop;
done_testing();
