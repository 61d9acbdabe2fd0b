# pg_dump / pg_restore round trip: the dump carries the keys as WITH
# (...) options after SET default_table_access_method = widecol, and the
# restore (custom format, parallel) recreates every widecol table with the
# same access method, options, \d+ output, indexes and rows.  A restore that
# drops the access method (--no-table-access-method) cannot put widecol
# options on heap tables and says so.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('widecol_dump');
$node->init;
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', q{
	CREATE EXTENSION widecol;
	CREATE TABLE events (user_id bigint, ts timestamptz, kind int, payload jsonb)
	  USING widecol WITH (partition_key = 'user_id', sort_key = 'ts', fillfactor = 80);
	CREATE INDEX events_kind ON events (kind);
	INSERT INTO events SELECT g % 50, '2026-01-01'::timestamptz + g * interval '1 minute', g % 7,
	                          jsonb_build_object('g', g, 'big', repeat('z', CASE WHEN g % 500 = 0 THEN 100000 ELSE 10 END))
	  FROM generate_series(1, 5000) g;
	CREATE TABLE readings (tenant text, device int, ts timestamptz, seq int, v float8)
	  USING widecol WITH (partition_key = 'tenant, device', sort_key = 'ts, seq');
	INSERT INTO readings SELECT 't' || g % 3, g % 5, '2026-01-01', g, g / 7.0 FROM generate_series(1, 1000) g;
	CREATE TABLE "Mixed Case" ("UserId" int, "select" text, v int, PRIMARY KEY ("UserId", "select")) USING widecol;
	INSERT INTO "Mixed Case" SELECT g, 's' || g, g FROM generate_series(1, 100) g;
	CREATE TABLE keyed (id int PRIMARY KEY, other int UNIQUE, note text) USING widecol;
	INSERT INTO keyed SELECT g, -g, 'n' FROM generate_series(1, 300) g;
	CREATE TABLE parted (region text, ts date, v int, PRIMARY KEY (region, ts)) PARTITION BY LIST (region);
	CREATE TABLE parted_eu PARTITION OF parted FOR VALUES IN ('eu') USING widecol;
	CREATE TABLE parted_us PARTITION OF parted FOR VALUES IN ('us') USING widecol WITH (partition_key = 'ts');
	CREATE TABLE parted_rest PARTITION OF parted DEFAULT;
	INSERT INTO parted SELECT (ARRAY['eu', 'us', 'apac'])[g % 3 + 1], '2026-01-01'::date + g, g FROM generate_series(1, 900) g;
	CREATE UNLOGGED TABLE unl (a int, b text) USING widecol WITH (partition_key = 'a');
	INSERT INTO unl SELECT g, 'u' FROM generate_series(1, 50) g;
	CREATE TABLE plain (a int, b text);
	INSERT INTO plain VALUES (1, 'heap');
	ALTER TABLE readings SET (compression_level = 7);
	ALTER TABLE parted_us SET (compression = 'none');
});
# most rows cold (events keeps its out-of-line values in the delta), some
# fresh rows beside them
for my $table ('events', 'readings', 'keyed', 'parted_eu')
{
	$node->safe_psql('src', "SELECT widecol.compact('$table')");
}
$node->safe_psql('src', q{
	INSERT INTO events SELECT 7, '2027-01-01'::timestamptz + g * interval '1 minute', 1, '{}' FROM generate_series(1, 20) g;
	DELETE FROM keyed WHERE id % 10 = 0;
	UPDATE readings SET v = -v WHERE seq % 100 = 0;
});
is($node->safe_psql('src', q{
	SELECT count(*) FILTER (WHERE stored_rows > 0) FROM widecol.tables
	 WHERE relid IN ('events'::regclass, 'readings'::regclass, 'keyed'::regclass, 'parted_eu'::regclass)}),
	'4', 'the source tables have cold rows');

my $tmp = $node->basedir;
$node->command_ok([ 'pg_dump', '-Fp', '-f', "$tmp/src.sql", '-d', $node->connstr('src') ],
	'plain dump');
my $sql = slurp_file("$tmp/src.sql");
like($sql, qr/SET default_table_access_method = widecol;\n(?:(?!SET default_table_access_method).*\n)*?CREATE TABLE public\.events /,
	'the dump creates widecol tables with default_table_access_method');
like($sql, qr/WITH \(fillfactor='80', partition_key=user_id, sort_key=ts\)/, 'options are dumped');
like($sql, qr/WITH \(partition_key='"UserId"', sort_key='"select"'\)/,
	'quoted key names are dumped as string literals');
like($sql, qr/WITH \(partition_key=id\)/, 'keys taken from a primary key are dumped explicitly');
like($sql, qr/CREATE INDEX events_wckey ON public\.events USING btree \(user_id, ts\);/,
	'the key index is dumped as a plain CREATE INDEX');

$node->command_ok([ 'pg_dump', '-Fc', '-f', "$tmp/src.dump", '-d', $node->connstr('src') ],
	'custom-format dump');
$node->safe_psql('postgres', 'CREATE DATABASE dst');
$node->command_ok([ 'pg_restore', '-j', '2', '--exit-on-error', '-d', $node->connstr('dst'), "$tmp/src.dump" ],
	'parallel restore');

# the same tables, access methods, options and rows in both databases
my $catalog = q{
	SELECT c.relname, c.relkind, a.amname, c.reloptions
	  FROM pg_class c LEFT JOIN pg_am a ON a.oid = c.relam
	 WHERE c.relnamespace = 'public'::regnamespace ORDER BY c.relname};
is($node->safe_psql('dst', $catalog), $node->safe_psql('src', $catalog),
	'relations, access methods and options match');
my $view = q{SELECT relid, partition_key, sort_key FROM widecol.tables ORDER BY relid::text};
is($node->safe_psql('dst', $view), $node->safe_psql('src', $view), 'widecol.tables matches');
like($node->safe_psql('dst', q{SELECT array_to_string(reloptions, ',') FROM pg_class WHERE oid = 'readings'::regclass}),
	qr/compression_level=7/, 'compression options are restored');

# each restored widecol table has one protected key index, created by
# CREATE TABLE; the dumped CREATE INDEX of it did nothing
my $keyindexes = q{
	SELECT i.indrelid::regclass, i.indexrelid::regclass, pg_get_indexdef(i.indexrelid)
	  FROM pg_index i JOIN pg_depend d ON d.objid = i.indexrelid AND d.deptype = 'i'
	 WHERE d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0
	 ORDER BY i.indrelid::regclass::text};
my $src_keys = $node->safe_psql('src', $keyindexes);
is($node->safe_psql('dst', $keyindexes), $src_keys, 'key indexes match');
is(scalar(() = $src_keys =~ /^[^|]+\|[^|]+_wckey"?\|/mg), 7, 'seven widecol tables, seven key indexes');
my $restore_log = '';
$node->safe_psql('postgres', 'CREATE DATABASE dst2');
IPC::Run::run([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst2'), "$tmp/src.dump" ],
	'2>', \$restore_log);
is($node->safe_psql('dst2', $keyindexes), $src_keys, 'serial restore: key indexes match');
is($restore_log, '', 'a serial restore reports no error');
for my $table ('events', 'readings', '"Mixed Case"', 'keyed', 'parted', 'unl', 'plain')
{
	my $digest = "SELECT count(*), md5(string_agg(t::text, ',' ORDER BY t::text)) FROM $table t";
	is($node->safe_psql('dst', $digest), $node->safe_psql('src', $digest), "rows of $table match");
	my @describe = ('psql', '-X', '-c', "\\d+ $table");
	my ($src_out, $dst_out);
	IPC::Run::run([ @describe, '-d', $node->connstr('src') ], '>', \$src_out);
	IPC::Run::run([ @describe, '-d', $node->connstr('dst') ], '>', \$dst_out);
	like($src_out, qr/Access method: (widecol|heap)|Partition key/, "\\d+ $table describes it");
	is($dst_out, $src_out, "\\d+ $table matches");
}

# the restored tables keep their rules
my ($ret, $out, $err) = $node->psql('dst', q{ALTER TABLE readings DROP COLUMN seq});
like($err, qr/cannot drop key column "seq" of widecol table "readings"/, 'restored keys are protected');
($ret, $out, $err) = $node->psql('dst', q{ALTER TABLE events SET (partition_key = 'kind')});
like($err, qr/cannot change the key of widecol table "events" because it contains rows/,
	'restored tables refuse key changes');

# restoring onto heap tables cannot keep widecol options
$node->safe_psql('postgres', 'CREATE DATABASE noam');
my $noam_out = '';
IPC::Run::run([ 'pg_restore', '--no-table-access-method', '-d', $node->connstr('noam'), "$tmp/src.dump" ],
	'2>', \$noam_out);
like($noam_out, qr/widecol options specified for non-widecol table "events"/,
	'--no-table-access-method fails on widecol options with a clear error');

$node->stop;
done_testing();
