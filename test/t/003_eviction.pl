# kvcache under memory pressure: allkeys policies never fail and stay within
# kvcache.max_memory; noeviction fails with 53200 and changes nothing;
# volatile policies evict only keys with a TTL.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('eviction');
$node->init;
$node->append_conf('postgresql.conf', "kvcache.max_memory = 8MB\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION kvcache');

sub set_policy
{
	my ($policy) = @_;
	$node->safe_psql('postgres', "ALTER SYSTEM SET kvcache.eviction_policy = '$policy'");
	$node->reload;
	$node->poll_query_until('postgres',
		"SELECT eviction_policy = '$policy' FROM kv.stats", 't');
	$node->safe_psql('postgres', 'SELECT kv.flushall(); SELECT kv.stats_reset()');
}

# three times max_memory of mixed-size values, under each allkeys policy
foreach my $policy ('allkeys-lru', 'allkeys-lfu', 'allkeys-random')
{
	set_policy($policy);
	my ($ret, $out, $err) = $node->psql('postgres',
		q{SELECT count(kv.set('k' || g, repeat(chr(65 + g % 26), 50 + (g * 7919) % 3000))) FROM generate_series(1, 16000) g});
	is($ret, 0, "$policy: writing 3x max_memory never fails") or diag($err);
	is($node->safe_psql('postgres',
		'SELECT used_memory <= max_memory, evicted_keys > 0, keys < 16000, keys > 1000 FROM kv.stats'),
		't|t|t|t', "$policy: within limit, evicted, kept many keys");
	# the newest key is always there, and every remaining key reads back intact
	is($node->safe_psql('postgres',
		q{SELECT kv.get('k16000') = repeat(chr(65 + 16000 % 26), 50 + (16000 * 7919) % 3000)}),
		't', "$policy: last write present");
	is($node->safe_psql('postgres',
		q{SELECT count(*) FROM kv.keys() k
		   WHERE kv.get(k) <> repeat(chr(65 + substr(k, 2)::int % 26), 50 + (substr(k, 2)::int * 7919) % 3000)}),
		'0', "$policy: survivors are intact");
	is($node->safe_psql('postgres', 'SELECT count(*) = kv.dbsize() FROM kv.keys()'), 't',
		"$policy: key count is exact");
}

# LRU prefers old keys: keys written long ago survive less than recent ones
set_policy('allkeys-lru');
$node->safe_psql('postgres',
	q{SELECT count(kv.set('old' || g, repeat('o', 1000))) FROM generate_series(1, 3000) g});
$node->safe_psql('postgres', 'SELECT pg_sleep(0.5)');
$node->safe_psql('postgres',
	q{SELECT count(kv.set('new' || g, repeat('n', 1000))) FROM generate_series(1, 3000) g});
$node->safe_psql('postgres', 'SELECT pg_sleep(0.5)');
$node->safe_psql('postgres',
	q{SELECT count(kv.set('more' || g, repeat('m', 1000))) FROM generate_series(1, 3000) g});
my ($old, $new) = split /\|/, $node->safe_psql('postgres',
	q{SELECT count(*) FILTER (WHERE k LIKE 'old%'), count(*) FILTER (WHERE k LIKE 'new%') FROM kv.keys() k});
cmp_ok($old, '<', $new, "allkeys-lru evicts older keys first (old $old < new $new)");

# volatile-ttl with volatile keys: only keys with a TTL go, soonest first
set_policy('volatile-ttl');
$node->safe_psql('postgres',
	q{SELECT count(kv.set('keep' || g, repeat('k', 1000))) FROM generate_series(1, 2000) g});
$node->safe_psql('postgres',
	q{SELECT count(kv.set('vol' || g, repeat('v', 1000), ttl => make_interval(secs => 100 + g))) FROM generate_series(1, 8000) g});
is($node->safe_psql('postgres',
	q{SELECT count(*) FILTER (WHERE k LIKE 'keep%'), evicted_keys > 0 FROM kv.keys() k, kv.stats GROUP BY evicted_keys}),
	'2000|t', 'volatile-ttl evicts only volatile keys');
# eviction samples a few keys at a time, so compare quarters, not single keys
my ($soon, $late) = split /\|/, $node->safe_psql('postgres',
	q{SELECT count(*) FILTER (WHERE substr(k, 4)::int <= 2000),
	         count(*) FILTER (WHERE substr(k, 4)::int > 6000)
	    FROM kv.keys('vol*') k});
cmp_ok($soon, '<', $late,
	"volatile-ttl evicts the nearest expiry first (first quarter $soon < last quarter $late)");
is($node->safe_psql('postgres', q{SELECT kv.exists('vol8000')}), 't',
	'volatile-ttl keeps the latest expiry');

# volatile-lru without volatile keys behaves like noeviction
set_policy('volatile-lru');
my ($ret, $out, $err) = $node->psql('postgres',
	q{\set VERBOSITY verbose
SELECT count(kv.set('p' || g, repeat('p', 1000))) FROM generate_series(1, 20000) g});
isnt($ret, 0, 'volatile-lru with no volatile keys fails when full');
like($err, qr/53200: kvcache is out of memory/, 'with SQLSTATE 53200');

# noeviction: a write that does not fit fails with 53200 and changes nothing
set_policy('noeviction');
($ret, $out, $err) = $node->psql('postgres',
	q{\set VERBOSITY verbose
SELECT count(kv.set('f' || g, repeat('f', 1000))) FROM generate_series(1, 20000) g});
isnt($ret, 0, 'noeviction: filling up fails');
like($err, qr/53200: kvcache is out of memory/, 'noeviction: SQLSTATE 53200');
my $before = $node->safe_psql('postgres', 'SELECT kv.dbsize(), used_memory FROM kv.stats');
($ret, $out, $err) = $node->psql('postgres', q{\set VERBOSITY verbose
SELECT kv.set('one-more', repeat('z', 100000))});
like($err, qr/53200/, 'noeviction: one more write fails');
($ret, $out, $err) = $node->psql('postgres', q{\set VERBOSITY verbose
SELECT kv.mset(ARRAY['m1', 'm2', 'm3'], ARRAY[repeat('z', 10), repeat('z', 100000), repeat('z', 100000)])});
like($err, qr/53200/, 'noeviction: mset that does not fit fails');
is($node->safe_psql('postgres', 'SELECT kv.dbsize(), used_memory FROM kv.stats'), $before,
	'noeviction: failed writes changed nothing');
is($node->safe_psql('postgres', q{SELECT kv.exists('one-more'), kv.exists('m1'), kv.get('f1') = repeat('f', 1000)}),
	'f|f|t', 'noeviction: reads still work');
is($node->safe_psql('postgres', 'SELECT evicted_keys FROM kv.stats'), '0', 'noeviction never evicts');

# deleting makes room again
$node->safe_psql('postgres', q{SELECT kv.del(VARIADIC array_agg('f' || g)) FROM generate_series(1, 2000) g});
is($node->safe_psql('postgres', q{SELECT kv.set('one-more', repeat('z', 100000))}), 't',
	'noeviction: writes work again after deletes');

$node->stop;
done_testing();
