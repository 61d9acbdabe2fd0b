# On a hot standby the cache is node-local and writable: the standby has its
# own keys, never sees the primary's, and the primary never sees its keys.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION kvcache');
$primary->backup('bk');

my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'bk', has_streaming => 1);
$standby->start;

$primary->safe_psql('postgres', q{SELECT kv.set('where', 'primary')});
$primary->safe_psql('postgres', 'CREATE TABLE marker AS SELECT 1 AS x');
$primary->wait_for_catchup($standby);

is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'standby is in recovery');
is($standby->safe_psql('postgres', q{SELECT kv.get('where') IS NULL, kv.dbsize()}), 't|0',
	"standby does not see the primary's keys");
is($standby->safe_psql('postgres',
	q{SELECT kv.set('where', 'standby'), kv.incr('hits'), kv.get('where')}),
	't|1|standby', 'writes are allowed on the standby');
is($standby->safe_psql('postgres',
	q{BEGIN READ ONLY; SELECT kv.set('ro', 'ok'); COMMIT; SELECT kv.get('ro')}),
	"t\nok", 'even in a read-only transaction');
is($primary->safe_psql('postgres', q{SELECT kv.get('where'), kv.exists('hits')}), 'primary|f',
	"primary does not see the standby's keys");

$standby->stop;
$primary->stop;
done_testing();
