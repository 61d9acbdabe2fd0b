# pg_upgrade (same version, copy mode) of a database with widecol tables: in
# binary-upgrade mode CREATE TABLE creates no key index (every relation
# needs a preassigned OID); the dumped CREATE INDEX creates it and widecol
# adopts it, so after the upgrade each table has exactly one protected key
# index, the rows are intact and keyscans answer as before.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $old = PostgreSQL::Test::Cluster->new('widecol_upgrade_old');
$old->init;
$old->start;
$old->safe_psql('postgres', q{
	CREATE EXTENSION widecol;
	CREATE TABLE ev (user_id bigint, ts int, note text)
	  USING widecol WITH (partition_key = 'user_id', sort_key = 'ts');
	INSERT INTO ev SELECT g % 20, g, 'n' || g FROM generate_series(1, 2000) g;
	CREATE TABLE rd (tenant text, device int, ts int, PRIMARY KEY (tenant, device, ts)) USING widecol;
	INSERT INTO rd SELECT 't' || g % 3, g % 4, g FROM generate_series(1, 500) g;
	ALTER TABLE rd RENAME TO readings;
});

# the key indexes, their protecting dependencies, and two keyscan answers
my $keyindexes = q{
	SELECT i.indrelid::regclass, i.indexrelid::regclass, pg_get_indexdef(i.indexrelid), d.refobjsubid
	  FROM pg_index i JOIN pg_depend d ON d.objid = i.indexrelid AND d.deptype = 'i'
	 WHERE d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0
	 ORDER BY i.indrelid::regclass::text};
my $answers = q{
	SET enable_seqscan = off;
	EXPLAIN (COSTS OFF) SELECT ts FROM ev WHERE user_id = 7 ORDER BY ts DESC LIMIT 3;
	SELECT string_agg(ts::text, ',') FROM (SELECT ts FROM ev WHERE user_id = 7 ORDER BY ts DESC LIMIT 3) x;
	SELECT count(*), sum(ts) FROM readings WHERE tenant = 't1' AND device = 2;
	SELECT count(*), md5(string_agg(e::text, ',' ORDER BY e::text)) FROM ev e};
my $keys_before = $old->safe_psql('postgres', $keyindexes);
my $answers_before = $old->safe_psql('postgres', $answers);
like($answers_before, qr/WidecolKeyScan/, 'the old cluster uses keyscans');
$old->stop;

my $new = PostgreSQL::Test::Cluster->new('widecol_upgrade_new');
$new->init;
my $bindir = $new->config_data('--bindir');
# pg_upgrade writes delete_old_cluster.sh into its working directory
chdir $new->basedir;
command_ok(
	[
		'pg_upgrade', '--no-sync',
		'-d', $old->data_dir, '-D', $new->data_dir,
		'-b', $bindir, '-B', $bindir,
		'-s', $new->host, '-p', $old->port, '-P', $new->port
	],
	'pg_upgrade');
$new->start;

is($new->safe_psql('postgres', $keyindexes), $keys_before,
	'the same key indexes, each adopted with its protecting dependency');
is($new->safe_psql('postgres', $answers), $answers_before, 'the same rows and keyscan answers');
my ($ret, $out, $err) = $new->psql('postgres', 'DROP INDEX ev_wckey');
like($err, qr/cannot drop index ev_wckey because column user_id of table ev requires it/,
	'the adopted key index is protected');
$new->safe_psql('postgres', q{INSERT INTO ev VALUES (7, 5000, 'new')});
is($new->safe_psql('postgres',
		q{SET enable_seqscan = off; SELECT ts FROM ev WHERE user_id = 7 ORDER BY ts DESC LIMIT 1}),
	'5000', 'new rows are indexed');

$new->stop;
done_testing();
