#!/bin/bash
# bench/run.sh: kvcache against PostgreSQL tables and Redis, side by side
#
# Runs against an already running server (the demo server of "make run";
# "make bench" sets PGHOST, PGPORT, PGUSER, PGDATABASE, PGBIN and REPO_ROOT)
# and a private redis-server that this script starts on 127.0.0.1 and shuts
# down again. Only loopback traffic. It measures:
#
#   1. pgbench -M prepared -n, 1 and 16 clients (-j 2): SELECT 1, kv.get,
#      kv.set, a primary-key lookup and an upsert on an UNLOGGED table of
#      100,000 rows; redis-benchmark GET and SET at 16 and 50 clients
#      (-r 100000 -d 32), and LPUSH, LPOP, ZADD at 16 clients.
#   2. One statement making 1M kv.get calls against one making 1M length()
#      calls (ns per call and their ratio).
#   3. Arena bytes per key after loading 100,000 keys into an empty cache,
#      less the key and value bytes.
#   4. Sorted sets and lists (kv.zadd, kv.zrevrank, kv.zrevrange, kv.rpush,
#      kv.lpop), each part skipped with a message while its functions do not
#      exist: a 1M-member leaderboard against a heap table with a btree on
#      score, and a 16-client push/pop queue against an UNLOGGED table.
#
# Every throughput figure is the median of BENCH_RUNS runs of BENCH_DURATION
# seconds. The runs are interleaved round-robin (run 1 of every variant,
# then run 2 of every variant, ...) so that noise on a shared machine hits
# all variants alike. The results go to stdout and bench/results.md as a
# Markdown table with PASS/FAIL against the targets.
#
# Environment:
#   BENCH_DURATION   seconds per run (default 10)
#   BENCH_RUNS       runs per variant (default 3)
#   BENCH_QUICK=1    smoke test: 3 s, 1 run
#   BENCH_REDIS_PORT port of the private redis-server (default 6399)
#   BENCH_OUT        where to write the report (default bench/results.md)
#
# The benchmark empties kvcache (kv.flushall, when connected as a
# superuser) to measure memory per key, overwrites keys "key:0".."key:99999",
# "q" and "lb", and deletes them at the end. Its tables live in schema
# kvbench, dropped at the end. Use it on a throwaway server only.
#
# Default runtime is about 11 minutes; BENCH_QUICK=1 takes about 1.5.

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=${REPO_ROOT:-$(cd "$BENCH_DIR/.." && pwd)}
REDIS_PORT=${BENCH_REDIS_PORT:-6399}
OUT=${BENCH_OUT:-$BENCH_DIR/results.md}
SCRIPT_NAME=bench/run.sh

NKEYS=100000				# keys for GET/SET and rows of the UNLOGGED table
NCALLS=1000000				# calls in the one-statement test
LB_MEMBERS=1000000			# members of the leaderboard
QUEUE_PREFILL=100000		# items in each queue before every queue run
VALUE32=0123456789abcdef0123456789abcdef

# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

for v in DURATION RUNS; do
	case ${!v} in
		'' | *[!0-9]* | 0) die "$v must be a positive integer, not '${!v}'" ;;
	esac
done
if [ ! -x "$PGBIN/psql" ] || [ ! -x "$PGBIN/pgbench" ]; then
	die "psql or pgbench not found in PGBIN=$PGBIN (run this through 'make bench')"
fi

# single-statement timings: one core, no JIT, for both sides alike
STMT_PGOPTIONS="${PGOPTIONS:-} -c jit=off -c max_parallel_workers_per_gather=0"


# ----------------------------------------------------------------------
# Working directory, results file, cleanup
# ----------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kvbench.XXXXXX")
RAW=$WORK/raw.tsv
: >"$RAW"
REDIS_STARTED=0
PG_TOUCHED=0

# Record a measurement, a fact about the run, or a note for a section
record()
{
	printf 'V\t%s\t%s\n' "$1" "$2" >>"$RAW"
}
meta()
{
	printf 'M\t%s\t%s\n' "$1" "$2" >>"$RAW"
}
section_note()
{
	printf 'N\t%s\t%s\n' "$1" "$2" >>"$RAW"
	note "$1: $2"
}

# Shut down our redis-server, waiting at most 10 s
stop_redis()
{
	local pid i
	[ "$REDIS_STARTED" = 1 ] || return 0
	REDIS_STARTED=0
	pid=$(cat "$WORK/redis.pid" 2>/dev/null || true)
	redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
	for i in $(seq 1 100); do
		# gone, or a zombie waiting for init to reap it
		if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null ||
			grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	kill "$pid" 2>/dev/null || true
}

# Undo everything: redis, kvcache keys, tables, temporary files
cleanup()
{
	local rc=$?
	trap - EXIT INT TERM
	stop_redis
	if [ "$PG_TOUCHED" = 1 ]; then
		"${PSQL[@]}" -f "$BENCH_DIR/sql/teardown.sql" >/dev/null 2>&1 ||
			echo "$SCRIPT_NAME: warning: could not drop schema kvbench" >&2
		"${PSQL[@]}" -c "SELECT kv.del(VARIADIC array_agg('key:' || g) || ARRAY['q', 'lb']) FROM generate_series(0, $((NKEYS - 1))) g" \
			>/dev/null 2>&1 ||
			echo "$SCRIPT_NAME: warning: could not delete the benchmark's kvcache keys" >&2
	fi
	rm -rf "$WORK"
	if [ "$rc" != 0 ]; then
		echo "$SCRIPT_NAME: stopped (exit status $rc) after cleaning up" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ----------------------------------------------------------------------
# Checks
# ----------------------------------------------------------------------
if ! "${PSQL[@]}" -c "SELECT 1" >/dev/null 2>"$WORK/connect.err"; then
	cat "$WORK/connect.err" >&2
	die "cannot connect to PostgreSQL at $PGHOST:$PGPORT (database $PGDATABASE, user $PGUSER).
Start the demo server first:  make run    (and afterwards: make stop)"
fi
if [ -z "$(sql "SELECT extversion FROM pg_extension WHERE extname = 'kvcache'")" ]; then
	die "extension kvcache is not installed in database $PGDATABASE; 'make run' creates it"
fi
use_unix_socket
meta connection "$([ "$PGHOST" = localhost ] && echo "TCP to localhost" || echo "Unix socket")"
IS_SUPER=$(sql "SELECT current_setting('is_superuser')")

HAVE_REDIS=1
for tool in redis-server redis-cli redis-benchmark; do
	if ! command -v "$tool" >/dev/null; then
		HAVE_REDIS=0
	fi
done

# Issue 3 functions (sorted sets and lists). kv.zadd may take trailing
# arguments with defaults (nx, xx, ...), so it is matched on its first three;
# zrange by name, as its integer argument types may vary.
HAVE_ZSET=$(sql "SELECT to_regprocedure('kv.zrevrank(text,text)') IS NOT NULL
	AND EXISTS (SELECT FROM pg_proc
		WHERE pronamespace = 'kv'::regnamespace AND proname = 'zadd'
		AND pronargs >= 3 AND pronargs - pronargdefaults <= 3
		AND proargtypes[0] = 'text'::regtype AND proargtypes[1] = 'float8[]'::regtype
		AND proargtypes[2] = 'text[]'::regtype)
	AND EXISTS (SELECT FROM pg_proc WHERE pronamespace = 'kv'::regnamespace AND proname = 'zrevrange')")
HAVE_LIST=$(sql "SELECT to_regprocedure('kv.rpush(text,text[])') IS NOT NULL
	AND to_regprocedure('kv.lpop(text)') IS NOT NULL")

meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
meta arch "$(uname -m)"
meta cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
meta nproc "$(nproc)"
meta pg "$(sql "SELECT version()")"
meta kv_max_memory "$(sql "SELECT current_setting('kvcache.max_memory')")"
# huge pages in use by the server (2 MB pages taken from the reserved pool)
meta huge_pages "$(sql "SELECT current_setting('huge_pages')"), $(awk '/HugePages_Total/ { t = $2 } /HugePages_Free/ { f = $2 } /HugePages_Rsvd/ { r = $2 } END { print t - f + r }' /proc/meminfo) of $(awk '/HugePages_Total/ { print $2 }' /proc/meminfo) reserved 2 MB pages in use"
meta duration "$DURATION"
meta runs "$RUNS"
meta load_start "$(cut -d' ' -f1-3 /proc/loadavg)"

# ----------------------------------------------------------------------
# PostgreSQL setup: tables, memory per key, preloaded keys
# ----------------------------------------------------------------------
note "PostgreSQL $PGHOST:$PGPORT/$PGDATABASE; $RUNS run(s) of ${DURATION}s per variant"
note "setting up schema kvbench and $NKEYS kvcache keys"
PG_TOUCHED=1
"${PSQL[@]}" -f "$BENCH_DIR/sql/setup.sql" >/dev/null

LOAD_SQL="SELECT count(kv.set('key:' || g, md5('key:' || g))) FROM generate_series(0, $((NKEYS - 1))) g"
if [ "$IS_SUPER" = on ]; then
	note "emptying kvcache (kv.flushall) to measure memory per key"
	sql "SELECT kv.flushall()" >/dev/null
	record mem.used_empty "$(sql "SELECT used_memory FROM kv.stats")"
	sql "$LOAD_SQL" >/dev/null
	read -r keys used < <(sql "SELECT keys || ' ' || used_memory FROM kv.stats")
	record mem.keys "$keys"
	record mem.used "$used"
	record mem.payload "$(sql "SELECT avg(length('key:' || g) + 32) FROM generate_series(0, $((NKEYS - 1))) g")"
else
	section_note memory "SKIPPED: measuring memory per key needs an empty cache (kv.flushall), which needs a superuser; $PGUSER is not one"
	sql "$LOAD_SQL" >/dev/null
fi

# ----------------------------------------------------------------------
# Redis: private server, preloaded keys, request counts for ~DURATION s
# ----------------------------------------------------------------------
# redis-benchmark with CSV output; prints "TEST rps" lines
redis_bench()
{
	local clients=$1 n=$2 tests=$3 out
	out=$(redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -c "$clients" -n "$n" \
		-r "$NKEYS" -d 32 -t "$tests" --csv 2>&1) || {
		echo "$out" >&2
		die "redis-benchmark -c $clients -t $tests failed"
	}
	awk -F, '$1 ~ /^"[A-Z]+"$/ { gsub(/"/, ""); print $1, $2 }' <<<"$out"
}

# Request counts per test and client count live in files, as the variants
# run in subshells and each run re-sizes the next from its own rate
redis_n_set()
{
	local old
	old=$(cat "$WORK/redis_n.$1" 2>/dev/null || echo 0)
	# halfway between the old count and the new rate: noise swings rates 2x
	awk -v r="$2" -v d="$DURATION" -v old="$old" 'BEGIN {
		n = int(r * d)
		if (old > 0)
			n = int((n + old) / 2)
		print (n < 1000 ? 1000 : n) }' >"$WORK/redis_n.$1"
}
redis_n_get()
{
	cat "$WORK/redis_n.$1" 2>/dev/null || die "no redis-benchmark request count for $1"
}

if [ "$HAVE_REDIS" = 1 ]; then
	if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
		die "something already listens on 127.0.0.1:$REDIS_PORT; set BENCH_REDIS_PORT to a free port"
	fi
	note "starting redis-server on 127.0.0.1:$REDIS_PORT"
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --protected-mode yes \
		--save '' --appendonly no --daemonize yes --dir "$WORK" \
		--pidfile "$WORK/redis.pid" --logfile "$WORK/redis.log" >/dev/null
	REDIS_STARTED=1
	for i in $(seq 1 100); do
		redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
		[ "$i" -lt 100 ] || die "redis-server did not start; log: $(tail -n 5 "$WORK/redis.log" 2>/dev/null)"
		sleep 0.1
	done
	meta redis "$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')"

	# calibrate: a short run of every test, then size -n for DURATION seconds
	note "calibrating redis-benchmark request counts"
	cal_n=$((DURATION >= 10 ? 30000 : 10000))
	for spec in "50 get,set" "16 get,set" "16 lpush,lpop,zadd"; do
		read -r clients tests <<<"$spec"
		while read -r test rps; do
			redis_n_set "$test.$clients" "$rps"
		done < <(redis_bench "$clients" "$cal_n" "$tests")
	done
	for key in GET.50 SET.50 GET.16 SET.16 LPUSH.16 LPOP.16 ZADD.16; do
		[ -s "$WORK/redis_n.$key" ] || die "redis-benchmark calibration gave no figure for $key"
	done

	# the same 100,000 keys with 32-byte values as kvcache; redis-benchmark
	# -r names them key:000000000000 .. key:000000099999
	redis-cli -h 127.0.0.1 -p "$REDIS_PORT" del mylist >/dev/null
	redis-cli -h 127.0.0.1 -p "$REDIS_PORT" eval \
		"for i = 0, tonumber(ARGV[1]) - 1 do redis.call('SET', string.format('key:%012d', i), ARGV[2]) end return 1" \
		0 "$NKEYS" "$VALUE32" >/dev/null
else
	section_note redis "SKIPPED: redis-server, redis-cli or redis-benchmark not found (Debian packages redis-server, redis-tools; 'make deps')"
fi

# ----------------------------------------------------------------------
# Single statements: time SQL in a fresh session
# ----------------------------------------------------------------------
# Run warm-up SQL $2 then SQL $1 in one session; print "<result of $1> <ms>"
timed()
{
	local out res ms
	out=$(PGOPTIONS="$STMT_PGOPTIONS" "${PSQL[@]}" -c "$2" -c '\timing on' -c "$1") || {
		echo "$SCRIPT_NAME: statement failed: $1" >&2
		return 1
	}
	res=$(sed -n '/^Time: /!p' <<<"$out" | tail -n1)
	ms=$(sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' <<<"$out" | tail -n1)
	[ -n "$ms" ] || {
		echo "$SCRIPT_NAME: no timing from psql for: $1" >&2
		return 1
	}
	echo "${res:-NULL} $ms"
}

note "one statement, $NCALLS calls: kv.get against length()"
CALL_GET="SELECT count(kv.get('key:' || (g % $NKEYS))) FROM generate_series(1, $NCALLS) g"
CALL_LEN="SELECT count(length('key:' || (g % $NKEYS))) FROM generate_series(1, $NCALLS) g"
for run in $(seq 1 "$RUNS"); do
	read -r res ms < <(timed "$CALL_GET" "SELECT kv.get('key:1')")
	[ "$res" = "$NCALLS" ] || die "kv.get found $res of $NCALLS keys; were the keys evicted?"
	record calls.kv_get "$ms"
	read -r res ms < <(timed "$CALL_LEN" "SELECT length('key:1')")
	record calls.length "$ms"
done

# ----------------------------------------------------------------------
# Issue 3 (a): leaderboard
# ----------------------------------------------------------------------
# Print how many calls make a statement run about 1.5 s, given that n0
# calls took ms0 milliseconds; at least lo, at most hi
calls_for()
{
	awk -v n0="$1" -v ms="$2" -v lo="$3" -v hi="$4" 'BEGIN {
		n = (ms > 0) ? int(1500 * n0 / ms) : hi
		print (n < lo) ? lo : (n > hi) ? hi : n }'
}

# Time statement template $1 (NCALLS in it replaced by the call count)
# with a calibrated count: record per-call microseconds as $2, the count as
# meta $2.n; $3 is the expected result as an awk expression of n ("" = any)
time_per_call()
{
	local tmpl=$1 name=$2 expect=$3 lo=$4 hi=$5 n0=$6 res ms n run
	read -r res ms < <(timed "${tmpl//NCALLS/$n0}" "SELECT 1") || return 1
	n=$(calls_for "$n0" "$ms" "$lo" "$hi")
	meta "$name.n" "$n"
	for run in $(seq 1 "$RUNS"); do
		read -r res ms < <(timed "${tmpl//NCALLS/$n}" "SELECT 1") || return 1
		if [ -n "$expect" ] && ! awk -v n="$n" -v r="$res" "BEGIN { exit !(r == $expect) }"; then
			echo "$SCRIPT_NAME: $name: got $res, expected $expect with n = $n" >&2
			return 1
		fi
		record "$name" "$(awk -v ms="$ms" -v n="$n" 'BEGIN { printf "%.4f", ms * 1000 / n }')"
	done
}

leaderboard()
{
	local run res ms bad
	note "leaderboard: building a $LB_MEMBERS-member heap table"
	"${PSQL[@]}" -f "$BENCH_DIR/sql/leaderboard_setup.sql" >/dev/null || return 1

	note "leaderboard: kv.zadd of $LB_MEMBERS members in one call"
	for run in $(seq 1 "$RUNS"); do
		sql "SELECT kv.del('lb')" >/dev/null || return 1
		read -r res ms < <(timed "SELECT kv.zadd('lb', scores, members) FROM kvbench.lb_arrays" "SELECT 1") || return 1
		[ "$res" = "$LB_MEMBERS" ] || {
			echo "$SCRIPT_NAME: kv.zadd returned $res, expected $LB_MEMBERS" >&2
			return 1
		}
		record lb.zadd_ms "$ms"
	done

	# both sides must agree before we compare their speed
	bad=$(sql "SELECT count(*) FROM (SELECT member, score FROM kvbench.lb ORDER BY member LIMIT 20) m
		WHERE kv.zrevrank('lb', m.member) IS DISTINCT FROM
			(SELECT count(*) FROM kvbench.lb WHERE score > m.score)") || return 1
	[ "$bad" = 0 ] || {
		echo "$SCRIPT_NAME: kv.zrevrank disagrees with the SQL rank for $bad of 20 members" >&2
		return 1
	}

	note "leaderboard: kv.zrevrank against SQL rank, kv.zrevrange top 100"
	time_per_call "SELECT count(kv.zrevrank('lb', 'm:' || (random() * $((LB_MEMBERS - 1)))::int)) FROM generate_series(1, NCALLS)" \
		lb.zrevrank_us "n" 10000 5000000 20000 || return 1
	time_per_call "SELECT sum((SELECT count(*) FROM kvbench.lb WHERE score > (SELECT score FROM kvbench.lb WHERE member = 'm:' || r)))
		FROM (SELECT (random() * $((LB_MEMBERS - 1)))::int AS r FROM generate_series(1, NCALLS)) s" \
		lb.sqlrank_us "" 20 100000 10 || return 1
	# 0 * g makes the call depend on the row, so it runs once per row
	time_per_call "SELECT count(*) FROM generate_series(1, NCALLS) g, LATERAL kv.zrevrange('lb', 0 * g, 99 + 0 * g) z" \
		lb.zrange_us "n * 100" 1000 2000000 2000 || return 1
}

if [ "$HAVE_ZSET" != t ]; then
	section_note leaderboard "SKIPPED: kv.zadd(text, float8[], text[]), kv.zrevrank(text, text) or kv.zrevrange do not exist yet"
else
	lb_ok=1
	leaderboard 2>"$WORK/leaderboard.err" || lb_ok=0
	cat "$WORK/leaderboard.err" >&2
	if [ "$lb_ok" = 0 ]; then
		why=$(grep -v '^$' "$WORK/leaderboard.err" | tail -n 2 | sed "s|^$SCRIPT_NAME: ||" | tr '\n' ' ')
		case $why in
			*memory* | *evict*)
				why+="(kvcache.max_memory is $(sql "SELECT current_setting('kvcache.max_memory')"); a $LB_MEMBERS-member sorted set takes about 70 MB: restart with KV_MAX_MEMORY=512MB make run)"
				;;
		esac
		section_note leaderboard "FAILED: ${why:-see the messages above}"
	fi
	sql "SELECT kv.del('lb')" >/dev/null || true
	sql "DROP TABLE IF EXISTS kvbench.lb, kvbench.lb_arrays" >/dev/null || true
fi

# ----------------------------------------------------------------------
# Throughput variants, interleaved round-robin
# ----------------------------------------------------------------------
# pgbench with $1 clients and the remaining arguments; records tps as $name
pg_variant()
{
	local name=$1 tps
	tps=$(pgbench_tps "$@")
	record "$name" "$tps"
	echo "$tps"
}

# redis-benchmark with $1 clients for tests $2 (run together, so with the
# mean of their request counts); records rps as redis.<test>.c<clients> and
# sizes the next run from this one
redis_variant()
{
	local clients=$1 tests=$2 t n=0 count=0 test rps line=""
	for t in ${tests//,/ }; do
		n=$((n + $(redis_n_get "${t^^}.$clients")))
		count=$((count + 1))
	done
	n=$((n / count))
	while read -r test rps; do
		record "redis.${test,,}.c$clients" "$rps"
		redis_n_set "$test.$clients" "$rps"
		line+="$test $rps  "
	done < <(redis_bench "$clients" "$n" "$tests")
	[ -n "$line" ] || die "redis-benchmark -t $tests gave no results"
	echo "$line"
}

# Run variant $1 once, with its per-run preparation
run_variant()
{
	local v=$1 c=${1##*.c} pgb=$BENCH_DIR/pgbench
	case $v in
		pg.select1.*) pg_variant "$v" "$c" -f "$pgb/select1.sql" ;;
		pg.kv_get.*) pg_variant "$v" "$c" -f "$pgb/kv_get.sql" ;;
		pg.kv_set.*) pg_variant "$v" "$c" -f "$pgb/kv_set.sql" ;;
		pg.lookup.* | pg.upsert.*)
			# every run starts from a vacuumed table
			sql "VACUUM kvbench.ucache" >/dev/null
			if [ "${v#pg.lookup}" != "$v" ]; then
				pg_variant "$v" "$c" -f "$pgb/ucache_lookup.sql"
			else
				pg_variant "$v" "$c" -f "$pgb/ucache_upsert.sql"
			fi
			;;
		pg.queue_kv.*)
			sql "SELECT kv.del('q')" \
				"SELECT kv.rpush('q', VARIADIC array_fill('payload'::text, ARRAY[$QUEUE_PREFILL]))" >/dev/null
			pg_variant "$v" "$c" -f "$pgb/queue_kv_push.sql@50" -f "$pgb/queue_kv_pop.sql@50"
			;;
		pg.queue_uq.*)
			sql "TRUNCATE kvbench.uq" \
				"INSERT INTO kvbench.uq (payload) SELECT 'payload' FROM generate_series(1, $QUEUE_PREFILL)" \
				"VACUUM ANALYZE kvbench.uq" >/dev/null
			pg_variant "$v" "$c" -f "$pgb/queue_uq_push.sql@50" -f "$pgb/queue_uq_pop.sql@50"
			;;
		redis.getset.*) redis_variant "$c" get,set ;;
		redis.lists.*)
			redis-cli -h 127.0.0.1 -p "$REDIS_PORT" del mylist >/dev/null
			redis_variant "$c" lpush,lpop
			;;
		redis.zadd.*) redis_variant "$c" zadd ;;
		*) die "unknown variant $v" ;;
	esac
}

VARIANTS=()
for c in 1 16; do
	VARIANTS+=("pg.select1.c$c" "pg.kv_get.c$c" "pg.lookup.c$c" "pg.kv_set.c$c" "pg.upsert.c$c")
done
if [ "$HAVE_LIST" = t ]; then
	sql "CREATE UNLOGGED TABLE kvbench.uq (id bigserial PRIMARY KEY, payload text)" >/dev/null
	VARIANTS+=(pg.queue_kv.c16 pg.queue_uq.c16)
else
	section_note queue "SKIPPED: kv.rpush(text, VARIADIC text[]) or kv.lpop(text) do not exist yet"
fi
if [ "$HAVE_REDIS" = 1 ]; then
	VARIANTS+=(redis.getset.c50 redis.getset.c16 redis.lists.c16 redis.zadd.c16)
fi

# lists run LPUSH then LPOP, get,set runs two tests: count them twice
slots=$(( ${#VARIANTS[@]} + (HAVE_REDIS ? 3 : 0) ))
note "running ${#VARIANTS[@]} variants x $RUNS run(s), about $(( (slots * DURATION * RUNS + 59) / 60 )) min"
for run in $(seq 1 "$RUNS"); do
	for v in "${VARIANTS[@]}"; do
		result=$(run_variant "$v")
		note "run $run/$RUNS  $v: $result"
	done
done

# ----------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------
stop_redis
meta load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
awk -f "$BENCH_DIR/report.awk" "$RAW" >"$WORK/results.md"
echo
cat "$WORK/results.md"
echo
if cp "$WORK/results.md" "$OUT" 2>/dev/null; then
	note "report written to $OUT"
else
	echo "$SCRIPT_NAME: warning: could not write $OUT (set BENCH_OUT to a writable path)" >&2
fi
