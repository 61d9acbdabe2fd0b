# widecol's group cache under pressure: a cache of 8 MB (64 partitions of
# 128 kB) holds about ten groups per partition, so reads keep evicting, wrap
# around each partition's log and reuse its index buckets.  Answers must
# stay equal to a heap twin's, in one session and with concurrent clients,
# and the counters must add up (every insert is live or evicted).  Off
# (size 0), the cache is absent and key scans read as before.  A restart
# empties it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('widecol_group_cache');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'kvcache,widecol'
widecol.group_cache_size = 8MB
widecol.mover_enabled = off
});
$node->start;

# 60 users of 2,000 rows with payloads of 20 to 200 bytes (about 18 MB of
# rebuilt rows): groups of different sizes, all smaller than a partition's
# largest entry (32 kB; a 1 MB cache below takes few of them)
$node->safe_psql('postgres', q{
	CREATE EXTENSION widecol;
	CREATE TABLE ev (u int, ts int, v text)
		USING widecol WITH (partition_key = 'u', sort_key = 'ts');
	CREATE TABLE evh (u int, ts int, v text);
	INSERT INTO ev SELECT u, g, repeat(chr(65 + (u + g) % 26), 20 + (u * 7 + g) % 180)
		FROM generate_series(1, 60) u, generate_series(1, 2000) g;
	INSERT INTO evh SELECT * FROM ev;
	CREATE INDEX ON evh (u, ts);
	SELECT widecol.compact('ev');
	-- gc_diff(u, lo, hi, desc): rows of one range that differ between the tables
	CREATE FUNCTION gc_diff(uu int, lo int, hi int, back bool) RETURNS bigint
	LANGUAGE plpgsql AS $$
	DECLARE a text; b text;
	BEGIN
		IF back THEN
			SELECT string_agg(x::text, ',') INTO a FROM (SELECT * FROM ev
				WHERE u = uu AND ts >= lo AND ts < hi ORDER BY ts DESC LIMIT 40) x;
			SELECT string_agg(x::text, ',') INTO b FROM (SELECT * FROM evh
				WHERE u = uu AND ts >= lo AND ts < hi ORDER BY ts DESC LIMIT 40) x;
		ELSE
			SELECT string_agg(x::text, ',') INTO a FROM (SELECT * FROM ev
				WHERE u = uu AND ts >= lo AND ts < hi ORDER BY ts) x;
			SELECT string_agg(x::text, ',') INTO b FROM (SELECT * FROM evh
				WHERE u = uu AND ts >= lo AND ts < hi ORDER BY ts) x;
		END IF;
		IF a IS DISTINCT FROM b THEN
			RAISE EXCEPTION 'different answers for user % [%, %) %', uu, lo, hi, back;
		END IF;
		RETURN 0;
	END $$;
});

is($node->safe_psql('postgres', q{SELECT size_bytes FROM widecol.group_cache_stats()}),
	8 * 1024 * 1024, 'the cache has its configured size');

# one session: 4,000 random ranges, each read by a key scan
is($node->safe_psql('postgres', q{
	SET widecol.enable_keyscan = on;
	SELECT sum(gc_diff(1 + (random() * 59)::int, lo, lo + (random() * 300)::int, random() < 0.5))
	FROM (SELECT (random() * 2000)::int AS lo FROM generate_series(1, 4000)) r}),
	'0', 'answers under constant eviction equal heap');

my $stats = $node->safe_psql('postgres', q{
	SELECT hits > 0, evictions > 0, inserts - evictions = entries, used_bytes <= size_bytes
	FROM widecol.group_cache_stats()});
is($stats, 't|t|t|t', 'hits and evictions happened; the counters add up; the logs fit');

# concurrent clients reading and writing: deletes and updates of rows in
# cached groups, readers comparing with the heap twin inside one snapshot
my $reader = $node->basedir . '/reader.sql';
open(my $fh, '>', $reader) or die;
print $fh q{\set u random(1, 60)
\set lo random(1, 2000)
\set n random(1, 300)
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT gc_diff(:u, :lo, :lo + :n, :lo % 2 = 0);
COMMIT;
};
close($fh);
my $writer = $node->basedir . '/writer.sql';
open($fh, '>', $writer) or die;
print $fh q{\set u random(1, 60)
\set t random(1, 2000)
BEGIN;
UPDATE ev SET v = v || 'x' WHERE u = :u AND ts = :t;
UPDATE evh SET v = v || 'x' WHERE u = :u AND ts = :t;
COMMIT;
};
close($fh);
$node->command_ok(
	[ 'pgbench', '-n', '-c', '6', '-j', '2', '-T', '8', '-f', "$reader\@5", '-f', "$writer\@1",
	  '-h', $node->host, '-p', $node->port, 'postgres' ],
	'concurrent readers and writers: every answer equals heap');
# the updated rows move back into cold blocks; a second round reads them there
$node->safe_psql('postgres', q{SELECT widecol.compact('ev')});
$node->command_ok(
	[ 'pgbench', '-n', '-c', '4', '-j', '2', '-T', '4', '-f', $reader,
	  '-h', $node->host, '-p', $node->port, 'postgres' ],
	'and after the changed rows were moved');

$stats = $node->safe_psql('postgres', q{
	SELECT inserts - evictions = entries, used_bytes <= size_bytes FROM widecol.group_cache_stats()});
is($stats, 't|t', 'the counters still add up');
is($node->safe_psql('postgres', q{SELECT count(*) FROM widecol.verify('ev') WHERE NOT ok}),
	'0', 'verify finds nothing wrong');

# a restart empties the cache
$node->restart;
is($node->safe_psql('postgres', q{SELECT entries, hits FROM widecol.group_cache_stats()}),
	'0|0', 'a restart empties the cache');

# 1 MB (largest entry 4 kB): most groups are too large to cache and are
# decoded every time; the answers stay the same
$node->append_conf('postgresql.conf', "widecol.group_cache_size = 1MB");
$node->restart;
is($node->safe_psql('postgres', q{
	SELECT sum(gc_diff(1 + (random() * 59)::int, lo, lo + (random() * 300)::int, random() < 0.5))
	FROM (SELECT (random() * 2000)::int AS lo FROM generate_series(1, 500)) r}),
	'0', 'answers with groups too large to cache equal heap');
is($node->safe_psql('postgres', q{
	SELECT misses > 2 * inserts, inserts - evictions = entries FROM widecol.group_cache_stats()}),
	't|t', 'groups over a quarter of a partition are not cached');

# off: no cache, no counters, same answers
$node->append_conf('postgresql.conf', "widecol.group_cache_size = 0");
$node->restart;
is($node->safe_psql('postgres', q{SELECT size_bytes, entries FROM widecol.group_cache_stats()}),
	'0|0', 'size 0: no cache');
is($node->safe_psql('postgres', q{
	SELECT sum(gc_diff(1 + (random() * 59)::int, lo, lo + (random() * 300)::int, random() < 0.5))
	FROM (SELECT (random() * 2000)::int AS lo FROM generate_series(1, 500)) r}),
	'0', 'answers without the cache equal heap');
my ($ret, $out, $err) = $node->psql('postgres',
	q{EXPLAIN (ANALYZE, VERBOSE, COSTS OFF) SELECT * FROM ev WHERE u = 3 AND ts < 10});
unlike($out, qr/Row Groups From Cache/, 'EXPLAIN VERBOSE leaves the cache line out when it is off');

$node->stop;
done_testing();
