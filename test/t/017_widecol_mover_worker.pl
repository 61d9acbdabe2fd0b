# The background mover (wc_worker.c): with widecol.mover_naptime = 1s and
# widecol.mover_min_rows = 100 it moves the delta rows of widecol tables
# into cold blocks without anyone calling widecol.compact(), and answers
# stay those of a heap twin.  Tables under min_rows, published tables and
# tables another session has locked stay in the delta (the mover never
# waits for a lock); an error in one table is logged and does not stop the
# others; widecol.mover_enabled = off plus a reload stops it; a REPEATABLE
# READ transaction sees the same rows, each once, across a move; kill -9 of
# the mover means crash recovery and no row lost or doubled; DROP DATABASE
# of the database it is moving in succeeds at once (the mover is
# terminated), DROP TABLE of the table it is moving waits for the move and
# succeeds, DROP EXTENSION works; a standby runs no mover and replays what
# the primary's mover did; the mover runs index
# expressions as the table's owner and does not wait for a synchronous
# standby.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $node = PostgreSQL::Test::Cluster->new('mover_primary');
$node->init(allows_streaming => 1);
# test/regress.conf (TEMP_CONFIG) turns the mover off; this test turns it on
$node->append_conf('postgresql.conf', qq{
widecol.mover_enabled = on
widecol.mover_naptime = 1s
widecol.mover_min_rows = 100
restart_after_crash = on
autovacuum = off
log_min_messages = debug1
});
$node->start;

# mover_hook(k) returns k; in the mover it sleeps ctl.sleep_ms and raises
# when ctl.fail (an expression index on it makes the mover slow or fail)
my $setup = q{
	CREATE EXTENSION widecol;
	CREATE TABLE ctl (sleep_ms int, fail bool);
	INSERT INTO ctl VALUES (0, false);
	CREATE FUNCTION mover_hook(k int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
	BEGIN
		IF (SELECT backend_type FROM pg_stat_get_activity(pg_backend_pid())) = 'widecol mover' THEN
			IF (SELECT fail FROM ctl) THEN
				RAISE EXCEPTION 'mover_hook refuses row %', k;
			END IF;
			PERFORM pg_sleep((SELECT sleep_ms FROM ctl) / 1000.0);
		END IF;
		RETURN k;
	END $$;
};
$node->safe_psql('postgres', $setup);
# broken_hook(k) always refuses the mover: table broken cannot be moved
$node->safe_psql('postgres', q{
	CREATE FUNCTION broken_hook(k int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
	BEGIN
		IF (SELECT backend_type FROM pg_stat_get_activity(pg_backend_pid())) = 'widecol mover' THEN
			RAISE EXCEPTION 'broken_hook refuses row %', k;
		END IF;
		RETURN k;
	END $$;
	CREATE TABLE ev (id int PRIMARY KEY, user_id int, ts int, payload text)
	  USING widecol WITH (partition_key = 'user_id', sort_key = 'ts');
	CREATE INDEX ev_user ON ev (user_id);
	CREATE TABLE hp (id int PRIMARY KEY, user_id int, ts int, payload text);
	CREATE TABLE few (id int, v text) USING widecol WITH (partition_key = 'id');
	CREATE TABLE broken (id int, v text) USING widecol WITH (partition_key = 'id');
	CREATE INDEX broken_hook ON broken (broken_hook(id));
	CREATE TABLE pub (id int, v text) USING widecol WITH (partition_key = 'id');
	CREATE PUBLICATION p FOR TABLE pub;
});

$node->backup('bk');
my $standby = PostgreSQL::Test::Cluster->new('mover_standby');
$standby->init_from_backup($node, 'bk', has_streaming => 1);
$standby->start;

# rows of tab in the delta and in the cold tier (cold TIDs have offsets > 291)
sub tiers
{
	my ($tab, $db) = @_;
	return $node->safe_psql($db // 'postgres', qq{
		SELECT count(*) FILTER (WHERE (ctid::text::point)[1] <= 291) || '/' ||
		       count(*) FILTER (WHERE (ctid::text::point)[1] > 291) FROM $tab});
}

# wait until every row of tab is cold
sub wait_cold
{
	my ($tab, $what, $db) = @_;
	ok( $node->poll_query_until($db // 'postgres', qq{
			SELECT count(*) > 0 AND bool_and((ctid::text::point)[1] > 291) FROM $tab}),
		"$what: the mover moved every row of $tab");
}

my $digest_ev = q{SELECT count(*), sum(user_id), md5(string_agg(id || ' ' || user_id || ' ' || ts || ' ' || payload, ',' ORDER BY id)) FROM ev};
my $digest_hp = $digest_ev =~ s/FROM ev/FROM hp/r;
my $index_ev = q{SET enable_seqscan = off; SET enable_bitmapscan = off;
	SELECT count(*), sum(id) FROM ev WHERE user_id BETWEEN 3 AND 17};
my $index_hp = $index_ev =~ s/FROM ev/FROM hp/r;

# compare ev with its heap twin, through index scans too if $indexes
sub same_as_heap
{
	my ($what, $indexes) = @_;
	is($node->safe_psql('postgres', $digest_ev), $node->safe_psql('postgres', $digest_hp),
		"$what: ev has the heap twin's rows");
	return unless $indexes;
	is($node->safe_psql('postgres', $index_ev), $node->safe_psql('postgres', $index_hp),
		"$what: index scans agree with the heap twin");
}

# 1. the mover moves what compact would, on its own
$node->safe_psql('postgres', q{
	INSERT INTO ev SELECT g, g % 50, g, 'p' || g FROM generate_series(1, 5000) g;
	INSERT INTO hp SELECT * FROM ev;
	INSERT INTO few SELECT g, 'f' FROM generate_series(1, 50) g;
	INSERT INTO broken SELECT g, 'b' FROM generate_series(1, 500) g;
	INSERT INTO pub SELECT g, 'p' FROM generate_series(1, 500) g;
});
wait_cold('ev', 'first round');
ok( $node->poll_query_until('postgres', q{
		SELECT stored_rows = 5000 AND blocks > 0 AND last_compaction IS NOT NULL
		  FROM widecol.tables WHERE relid = 'ev'::regclass}),
	'widecol.tables shows the moved rows');
same_as_heap('after the first move', 1);
ok($node->wait_for_log(qr/DEBUG:  widecol mover moved 5000 rows of table "public\.ev" into \d+ blocks/),
	'the move is logged at DEBUG1');
ok($node->wait_for_log(qr/LOG:  broken_hook refuses row \d+.*?widecol mover moving rows of table "public\.broken"/s),
	'an error in one table is logged at LOG with the table');
is(tiers('few'), '50/0', 'a table under mover_min_rows stays in the delta');
is(tiers('broken'), '500/0', 'the failed move left its rows in the delta');
is($node->safe_psql('postgres', q{SELECT count(*), sum(id) FROM broken}), '500|125250',
	'and they are all there');
ok($node->wait_for_log(qr/DEBUG:  widecol mover skipped table "public\.pub": it is published/),
	'the mover skips a published table');
is(tiers('pub'), '500/0', 'the published table stays in the delta');

# a table locked by another session (VACUUM, CREATE INDEX, DDL) is skipped,
# the mover does not wait for it, and moves it once the lock is gone
my $locker = $node->background_psql('postgres');
$locker->query_safe('BEGIN; LOCK TABLE few IN SHARE UPDATE EXCLUSIVE MODE');
$node->safe_psql('postgres', q{
	INSERT INTO few SELECT g, 'g' FROM generate_series(51, 250) g;
	INSERT INTO ev SELECT g, g % 50, g, 'l' || g FROM generate_series(7001, 7200) g;
	INSERT INTO hp SELECT * FROM ev WHERE id > 7000;
});
wait_cold('ev', 'while table few is locked');
is(tiers('few'), '250/0', 'the locked table stays in the delta');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity
	WHERE backend_type = 'widecol mover' AND wait_event_type = 'Lock'}),
	'0', 'the mover does not wait for the lock');
$locker->query_safe('COMMIT');
$locker->quit;
wait_cold('few', 'after the lock is released');

# 2. mover_enabled = off + reload stops it; a REPEATABLE READ transaction
# opened before the move keeps its rows across the move
$node->append_conf('postgresql.conf', "widecol.mover_enabled = off\n");
$node->reload;
# let a round that started before the reload end
sleep(1.5);
# (each batch of new rows sorts after the cold ones: rows below their
# partition's last cold key would stay in the delta, DESIGN.md 2.7)
$node->safe_psql('postgres', q{
	INSERT INTO ev SELECT g, g % 50, g, 'q' || g FROM generate_series(9001, 11000) g;
	INSERT INTO hp SELECT * FROM ev WHERE id BETWEEN 9001 AND 11000;
});
my $rr = $node->background_psql('postgres');
$rr->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
my $rr_before = $rr->query_safe($digest_ev);
like($rr_before, qr/^7200\|/, 'the REPEATABLE READ transaction sees 7200 rows');
sleep(2.5);
is(tiers('ev'), '2000/5200', 'with mover_enabled = off the new rows stay in the delta');
$node->append_conf('postgresql.conf', "widecol.mover_enabled = on\n");
$node->reload;
wait_cold('ev', 'mover enabled again');
is($rr->query_safe($digest_ev), $rr_before,
	'the REPEATABLE READ transaction sees the same rows, each once, after the move');
is($rr->query_safe(q{SELECT count(*), count(DISTINCT id) FROM ev}), '7200|7200',
	'no row twice in the REPEATABLE READ transaction');
$rr->query_safe('COMMIT');
$rr->quit;
same_as_heap('after the second move');

# 3. kill -9 of the mover in the middle of a move
$node->safe_psql('postgres', q{
	UPDATE ctl SET sleep_ms = 5;
	CREATE TABLE slow (id int, user_id int, v text)
	  USING widecol WITH (partition_key = 'user_id');
	CREATE INDEX slow_hook ON slow (mover_hook(id));
	CREATE TABLE slow_hp (id int, user_id int, v text);
	INSERT INTO slow SELECT g, g % 7, 's' || g FROM generate_series(1, 2000) g;
	INSERT INTO slow_hp SELECT * FROM slow;
});
my $digest_slow = q{SELECT count(*), count(DISTINCT id), md5(string_agg(id || v, ',' ORDER BY id)) FROM slow};
my $digest_slow_hp = $digest_slow =~ s/FROM slow/FROM slow_hp/r;
my $mover_pid_sql = q{SELECT pid FROM pg_stat_activity
	WHERE backend_type = 'widecol mover' AND query = 'widecol mover: moving rows of public.slow'};
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM ($mover_pid_sql) m"),
	'the mover is moving table slow');
my $mover_pid = $node->safe_psql('postgres', $mover_pid_sql);
sleep(1);
kill 'KILL', $mover_pid;
$node->poll_query_until('postgres', 'SELECT 1', '1');
ok($node->wait_for_log(qr/all server processes terminated; reinitializing/),
	'kill -9 of the mover: crash recovery');
is($node->safe_psql('postgres', $digest_slow), $node->safe_psql('postgres', $digest_slow_hp),
	'after the crash: no row of slow lost or doubled');
is(tiers('slow'), '2000/0', 'the killed move left every row in the delta');
# crash recovery discards the statistics the mover goes by (as autovacuum
# does): new rows make the table due again
$node->safe_psql('postgres', q{
	UPDATE ctl SET sleep_ms = 0;
	INSERT INTO slow SELECT g, g % 7, 'u' || g FROM generate_series(2001, 2200) g;
	INSERT INTO slow_hp SELECT * FROM slow WHERE id > 2000;
});
wait_cold('slow', 'after crash recovery the restarted mover');
is($node->safe_psql('postgres', $digest_slow), $node->safe_psql('postgres', $digest_slow_hp),
	'after the next move: no row of slow lost or doubled');
same_as_heap('after the crash');

# 4. DROP DATABASE of the database the mover is moving in
$node->safe_psql('postgres', 'CREATE DATABASE dropme');
$node->safe_psql('dropme', $setup);
$node->safe_psql('dropme', q{
	UPDATE ctl SET sleep_ms = 50;
	CREATE TABLE slow (id int, v text) USING widecol WITH (partition_key = 'id');
	CREATE INDEX slow_hook ON slow (mover_hook(id));
	INSERT INTO slow SELECT g, 'd' FROM generate_series(1, 1000) g;
});
ok( $node->poll_query_until('postgres', q{
		SELECT count(*) = 1 FROM pg_stat_activity
		 WHERE backend_type = 'widecol mover' AND datname = 'dropme'
		   AND query = 'widecol mover: moving rows of public.slow'}),
	'the mover is moving a table of database dropme');
# a role that may not drop the database does not terminate the mover
my $dropme_mover = $node->safe_psql('postgres', q{SELECT pid FROM pg_stat_activity
	WHERE backend_type = 'widecol mover' AND datname = 'dropme'});
$node->safe_psql('postgres', 'CREATE ROLE bob LOGIN CREATEDB');
my ($ret, $out, $err) = $node->psql('postgres', 'DROP DATABASE dropme',
	extra_params => [ '-U', 'bob' ]);
like($err, qr/must be owner of database dropme/, 'DROP DATABASE by a non-owner fails');
sleep(0.5);
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE pid = $dropme_mover"),
	'1', 'and leaves the mover running');
my $t0 = time();
($ret, $out, $err) = $node->psql('postgres', 'DROP DATABASE dropme');
is($ret, 0, 'DROP DATABASE succeeds while the mover is in that database');
cmp_ok(time() - $t0, '<', 4, 'without waiting for the move (the mover was terminated)');

# 5. DROP TABLE of the table the mover is moving waits for it
$node->safe_psql('postgres', q{
	UPDATE ctl SET sleep_ms = 2;
	INSERT INTO slow SELECT g, g % 7, 't' || g FROM generate_series(3001, 4000) g;
});
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM ($mover_pid_sql) m"),
	'the mover is moving table slow again');
($ret, $out, $err) = $node->psql('postgres', 'DROP TABLE slow');
is($ret, 0, 'DROP TABLE of the table being moved succeeds');
$node->safe_psql('postgres', q{
	INSERT INTO ev SELECT g, g % 50, g, 'r' || g FROM generate_series(11001, 11500) g;
	INSERT INTO hp SELECT * FROM ev WHERE id > 11000;
});
wait_cold('ev', 'after DROP TABLE');
same_as_heap('after DROP TABLE', 1);

# 6. the mover runs a table's index expressions as the table's owner, in a
# security-restricted operation (as VACUUM does), not as a superuser
$node->safe_psql('postgres', q{
	CREATE ROLE alice LOGIN;
	GRANT CREATE ON SCHEMA public TO alice;
	SET ROLE alice;
	CREATE FUNCTION alice_escalate() RETURNS void LANGUAGE plpgsql AS $$
	BEGIN
		ALTER ROLE alice SUPERUSER;
	EXCEPTION WHEN insufficient_privilege THEN
		NULL;
	END $$;
	CREATE FUNCTION alice_hook(k int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
	BEGIN
		PERFORM alice_escalate();
		RETURN k;
	END $$;
	CREATE TABLE alice_t (id int, v text) USING widecol WITH (partition_key = 'id');
	CREATE INDEX alice_t_hook ON alice_t (alice_hook(id));
	INSERT INTO alice_t SELECT g, 'a' FROM generate_series(1, 300) g;
});
wait_cold('alice_t', "a table with an index expression of its owner's");
is($node->safe_psql('postgres', q{SELECT rolsuper FROM pg_roles WHERE rolname = 'alice'}),
	'f', "the owner's index expression did not run as a superuser");

# 7. a synchronous standby that is not there does not hold the mover at its
# commit (it commits with synchronous_commit = local, as autovacuum does)
$node->append_conf('postgresql.conf', "synchronous_standby_names = 'nowhere'\n");
$node->reload;
$node->safe_psql('postgres', q{
	SET synchronous_commit = local;
	INSERT INTO alice_t SELECT g, 'b' FROM generate_series(301, 600) g;
});
wait_cold('alice_t', 'with a synchronous standby missing');
$node->append_conf('postgresql.conf', "synchronous_standby_names = ''\n");
$node->reload;

# 8. the standby runs no mover and replays what the primary's did
$node->wait_for_catchup($standby);
is($standby->safe_psql('postgres', $digest_ev), $node->safe_psql('postgres', $digest_ev),
	'the standby answers like the primary');
is($standby->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'widecol mover%'}),
	'0', 'the standby runs no mover');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'widecol mover launcher'}),
	'1', 'the primary runs the launcher');

# 9. DROP EXTENSION is not held up; the mover then leaves the database alone
my $log_offset = -s $node->logfile;
($ret, $out, $err) = $node->psql('postgres', 'DROP EXTENSION widecol CASCADE');
is($ret, 0, 'DROP EXTENSION widecol succeeds with the mover running');
$node->safe_psql('postgres', 'CREATE TABLE after_drop AS SELECT 1 AS x');
sleep(2.5);
unlike(slurp_file($node->logfile, $log_offset), qr/ERROR|FATAL|TRAP/,
	'no mover errors after DROP EXTENSION');
ok(!$node->log_contains('TRAP:'), 'no assertion failure');

$standby->stop;
$node->stop('fast');
done_testing();
