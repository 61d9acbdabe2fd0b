# The background mover under steady small transactions (wc_mover.c): with
# widecol.mover_naptime = 1s and widecol.mover_min_rows = 200 each round
# moves a few rows per partition, so blocks hold small runs of many
# partitions, and later rounds merge those blocks again, their partitions'
# runs waiting in the carry for their own new rows.  Four pgbench clients
# insert (some rows out of key order, which stay in the delta), update and
# delete rows of 300 partitions in a widecol table and its heap twin while
# the mover runs, a third of the time with a REPEATABLE READ snapshot held
# (its keyscans must still agree with heap); afterwards both tables hold
# the same rows, verify finds nothing wrong, every partition's keyscan
# answers (newest rows, a range) equal heap's, tail merges did happen, and
# moves removed the key index entries of the rows earlier moves had claimed
# and the run entries of the blocks earlier tail merges replaced
# (wc_keyclean.c; the keyscans compared with heap afterwards would miss
# rows whose entries went wrongly).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('fragments');
$node->init;
# test/regress.conf (TEMP_CONFIG) turns the mover off; this test turns it on
$node->append_conf('postgresql.conf', qq{
widecol.mover_enabled = on
widecol.mover_naptime = 1s
widecol.mover_min_rows = 200
autovacuum = off
log_min_messages = debug1
});
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION widecol;
	CREATE SEQUENCE ids;
	CREATE TABLE ev (id int PRIMARY KEY, user_id int, ts int, payload text)
	  USING widecol WITH (partition_key = 'user_id', sort_key = 'ts');
	CREATE INDEX ev_payload ON ev (payload);
	CREATE TABLE hp (id int PRIMARY KEY, user_id int, ts int, payload text);
	INSERT INTO ev SELECT nextval('ids'), u, g, 'p' FROM generate_series(0, 299) u, generate_series(1, 3) g;
	INSERT INTO hp SELECT * FROM ev;
});
$node->safe_psql('postgres', q{SELECT widecol.compact('ev')});

# one new row per transaction, mostly after its partition's newest (ts
# grows with id), one in eight earlier (those stay in the delta); updates
# and deletes of a partition's oldest row, on both tables alike
my $script = $node->basedir . '/fragments.sql';
open(my $fh, '>', $script) or die;
print $fh q{
\set u random(0, 299)
\set early random(1, 8)
WITH r AS (INSERT INTO ev SELECT i, :u, CASE WHEN :early = 1 THEN i % 5 ELSE 10 + i END, 'n' || i FROM nextval('ids') i RETURNING *) INSERT INTO hp SELECT * FROM r;
WITH r AS (INSERT INTO ev SELECT i, :u, 10 + i, 'n' || i FROM nextval('ids') i RETURNING *) INSERT INTO hp SELECT * FROM r;
WITH r AS (UPDATE ev SET payload = payload || 'u' WHERE id = (SELECT min(id) FROM hp WHERE user_id = :u) RETURNING id) UPDATE hp SET payload = payload || 'u' WHERE id IN (SELECT id FROM r);
\set d random(1, 10)
\if :d = 1
WITH r AS (DELETE FROM ev WHERE id = (SELECT min(id) FROM hp WHERE user_id = :u) RETURNING id) DELETE FROM hp WHERE id IN (SELECT id FROM r);
\endif
};
close($fh);
# keyscans of every partition against heap: newest 12 rows (keys from 10 on
# are unique: no ties at the limit), and a range
my $compare = q{
	SET widecol.enable_keyscan = on;
	SELECT count(*) FROM generate_series(0, 299) u
	WHERE (SELECT string_agg(id::text, ',') FROM (SELECT id FROM ev WHERE user_id = u AND ts >= 10 ORDER BY ts DESC LIMIT 12) s)
	   IS DISTINCT FROM
	      (SELECT string_agg(id::text, ',') FROM (SELECT id FROM hp WHERE user_id = u AND ts >= 10 ORDER BY ts DESC LIMIT 12) s)
	   OR (SELECT string_agg(id::text, ',' ORDER BY id) FROM ev WHERE user_id = u AND ts >= 200 AND ts < 900)
	   IS DISTINCT FROM
	      (SELECT string_agg(id::text, ',' ORDER BY id) FROM hp WHERE user_id = u AND ts >= 200 AND ts < 900)};

my @pgbench = ('pgbench', '-n', '-c', '4', '-j', '2', '-T', '10', '-f', $script,
	'-p', $node->port, '-h', $node->host, 'postgres');
$node->command_ok(\@pgbench, 'pgbench: inserts, updates and deletes while the mover runs');

# a snapshot taken now sees rows that the mover merges into tail blocks
# after it: the blocks those merges replace stay visible to it, so their
# run entries must outlive the cleanups that run while it is held.  With
# the mover stopped, ten rows more per partition (after its newest, so
# every block holding last runs can be merged with them), then the
# snapshot, then the mover again until it has merged tail blocks.
$node->append_conf('postgresql.conf', "widecol.mover_enabled = off\n");
$node->reload;
$node->poll_query_until('postgres',
	q{SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'widecol mover'})
  or die 'the mover did not stop';
$node->safe_psql('postgres', q{
	WITH r AS (INSERT INTO ev SELECT i, u, 10 + i, 'b' || i
	             FROM (SELECT nextval('ids') AS i, u FROM generate_series(0, 299) u, generate_series(1, 10) g) s
	           RETURNING *)
	INSERT INTO hp SELECT * FROM r});
my $rr = $node->background_psql('postgres');
$rr->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
my $before = $rr->query_safe('SELECT count(*) FROM ev');
my $logpos = -s $node->logfile;
$node->append_conf('postgresql.conf', "widecol.mover_enabled = on\n");
$node->reload;
my $tries = 0;
usleep(100_000)
  while (!$node->log_contains(qr/rewriting [1-9]\d* tail blocks/, $logpos) && ++$tries < 600);
ok($tries < 600, 'moves merged tail blocks while the snapshot was held');
$node->command_ok(\@pgbench, 'pgbench: more of them while an old snapshot is held');
is($rr->query_safe('SELECT count(*) FROM ev'), $before, 'the old snapshot sees as many rows as before');
is($rr->query_safe($compare), '0', 'keyscans in the old snapshot agree with heap');
$rr->query_safe('COMMIT');
$rr->quit;
$node->command_ok(\@pgbench, 'pgbench: more of them once the snapshot is gone');

# let the mover take what is left (rows below their partition's last cold
# key stay), then stop it
$node->safe_psql('postgres', q{SELECT pg_sleep(3)});
$node->append_conf('postgresql.conf', "widecol.mover_enabled = off\n");
$node->reload;
$node->safe_psql('postgres', q{SELECT pg_sleep(2)});

ok($node->log_contains(qr/widecol mover moved \d+ rows of table "public\.ev" into \d+ blocks, rewriting [1-9]\d* tail blocks/),
	'the mover merged tail blocks');
ok($node->log_contains(qr/removing [1-9]\d* key index entries of pruned rows/),
	'the mover removed key index entries of rows earlier moves claimed');
ok($node->log_contains(qr/removing [1-9]\d* key index entries of pruned rows and of [1-9]\d* replaced blocks/),
	'the mover removed the run entries of blocks earlier tail merges replaced');
is($node->safe_psql('postgres', q{
	SELECT (SELECT count(*) FROM (SELECT * FROM ev EXCEPT ALL SELECT * FROM hp) a) + (SELECT count(*) FROM (SELECT * FROM hp EXCEPT ALL SELECT * FROM ev) b)}),
	'0', 'ev holds the heap twin\'s rows');
ok($node->safe_psql('postgres', q{SELECT count(*) FROM ev}) > 900, 'rows were added');
ok($node->safe_psql('postgres', q{SELECT count(*) FROM ev WHERE (ctid::text::point)[1] > 291}) > 900,
	'most rows are cold');
is($node->safe_psql('postgres', q{SELECT count(*) FROM widecol.verify('ev') WHERE NOT ok}), '0',
	'verify finds nothing wrong');
is($node->safe_psql('postgres', $compare), '0', 'keyscans of every partition agree with heap');
is($node->safe_psql('postgres', q{SET enable_seqscan = off; SET enable_bitmapscan = off;
	SELECT count(*), md5(string_agg(id::text, ',' ORDER BY id)) FROM ev WHERE payload LIKE 'n%u'}),
	$node->safe_psql('postgres', q{SELECT count(*), md5(string_agg(id::text, ',' ORDER BY id)) FROM hp WHERE payload LIKE 'n%u'}),
	'the secondary index agrees with heap');
# the newest 12 rows of a partition sit in few blocks
my $spread = $node->safe_psql('postgres', q{
	SELECT max(b) FROM (SELECT user_id, count(DISTINCT (ctid::text::point)[0]) AS b
	  FROM (SELECT user_id, ctid, row_number() OVER (PARTITION BY user_id ORDER BY ts DESC) AS n FROM ev
	        WHERE (ctid::text::point)[1] > 291) s WHERE n <= 12 GROUP BY user_id) t});
note "most blocks holding a partition's newest 12 cold rows: $spread";

$node->stop;
done_testing();
