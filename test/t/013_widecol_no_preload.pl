# widecol without shared_preload_libraries: CREATE EXTENSION refuses, and a
# server restarted without it refuses widecol DDL and every use of an
# existing widecol table with SQLSTATE 55000 and a hint to preload, instead
# of core's "unrecognized parameter" or silently unprotected keys.  Heap
# tables are unaffected, and the data is intact once widecol is preloaded
# again.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('widecol_no_preload');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'kvcache'");
$node->start;

# Run $sql; check that it fails with 55000 and the hint
sub refused
{
	my ($sql, $what) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\n$sql");
	isnt($ret, 0, "$what fails");
	like($err, qr/ERROR:\s+55000: widecol must be loaded via "shared_preload_libraries"/,
		"$what reports 55000");
	like($err, qr/HINT:\s+Add widecol to the "shared_preload_libraries" setting and restart the server/,
		"$what hints at the fix");
}

refused('CREATE EXTENSION widecol', 'CREATE EXTENSION');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_extension WHERE extname = 'widecol'}),
	'0', 'the extension was not created');

# preloaded: create the extension and a table with rows
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'kvcache,widecol'");
$node->restart;
$node->safe_psql('postgres', q{
	CREATE EXTENSION widecol;
	CREATE TABLE ev (user_id int, ts int, v text) USING widecol WITH (partition_key = 'user_id', sort_key = 'ts');
	INSERT INTO ev SELECT g % 10, g, 'row ' || g FROM generate_series(1, 1000) g;
	CREATE TABLE plain (a int, b int);
});

# restarted without widecol
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'kvcache'");
$node->restart;

refused(q{CREATE TABLE t1 (a int, b int) USING widecol WITH (partition_key = 'a')},
	'CREATE TABLE USING widecol WITH (partition_key)');
refused(q{CREATE TABLE t2 (a int, b int) WITH (partition_key = 'a')},
	'CREATE TABLE WITH (partition_key) on the default access method');
refused(q{CREATE TABLE t3 (a int PRIMARY KEY) USING widecol}, 'CREATE TABLE USING widecol');
refused(q{CREATE TABLE t4 USING widecol WITH (partition_key = 'a') AS SELECT 1 AS a},
	'CREATE TABLE AS with widecol options');
refused(q{CREATE SCHEMA s CREATE TABLE t5 (a int) USING widecol WITH (partition_key = 'a')},
	'CREATE SCHEMA with a widecol table');
refused(q{ALTER TABLE plain SET ACCESS METHOD widecol}, 'SET ACCESS METHOD widecol');
refused(q{ALTER TABLE plain SET (partition_key = 'a')}, 'ALTER TABLE SET (partition_key) on heap');
refused(q{SELECT count(*) FROM ev}, 'SELECT from a widecol table');
refused(q{INSERT INTO ev VALUES (1, 1, 'x')}, 'INSERT into a widecol table');
refused(q{ALTER TABLE ev SET (sort_key = 'v')}, 'ALTER TABLE SET on a widecol table');
refused(q{ALTER TABLE ev DROP COLUMN user_id}, 'dropping a key column');
refused(q{ALTER TABLE ev RENAME COLUMN ts TO t}, 'renaming a key column');
refused(q{DROP TABLE ev}, 'DROP TABLE');
is($node->safe_psql('postgres',
	q{SELECT count(*) FROM pg_class WHERE relname IN ('t1', 't2', 't3', 't4', 't5')}),
	'0', 'no table was created');

# heap tables work as always
is($node->safe_psql('postgres', q{
	INSERT INTO plain SELECT g, g FROM generate_series(1, 10) g;
	CREATE TABLE other (a int);
	SELECT count(*) FROM plain;
}), '10', 'heap tables are unaffected');

# preloaded again: everything is where it was
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'kvcache,widecol'");
$node->restart;
is($node->safe_psql('postgres', q{SELECT count(*), sum(ts) FROM ev}), '1000|500500',
	'rows are intact');
is($node->safe_psql('postgres', q{SELECT partition_key, sort_key FROM widecol.tables}),
	'user_id|ts', 'keys are intact');
my ($ret, $out, $err) = $node->psql('postgres', q{ALTER TABLE ev DROP COLUMN user_id});
like($err, qr/cannot drop key column "user_id" of widecol table "ev"/, 'key columns are protected again');

$node->stop;
done_testing();
