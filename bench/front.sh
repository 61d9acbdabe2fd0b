#!/bin/bash
# bench/front.sh: the cache in front of tables (kv.get_or_load, kv.invalidate_on)
#
# Runs against an already running server ("make bench" sets PGHOST, PGPORT,
# PGUSER, PGDATABASE and PGBIN, as for bench/run.sh). pgbench -M prepared
# -n, 16 clients (-j 2), variants interleaved round-robin, median of
# BENCH_RUNS runs of BENCH_DURATION seconds:
#
#   1. hit path: kv.get_or_load of a cached key against kv.get of it
#      (100,000 keys of 32 bytes);
#   2. feed: "latest 20 events of a user" as JSON, straight from a widecol
#      table of 2M events of 20,000 users (the event workload of the
#      storage issue) against the same query as the loader of
#      kv.get_or_load, with kv.invalidate_on deleting a user's feed when one
#      of its events commits. Reads only, after every feed has been cached
#      once (the target: hits dominate); then 98% reads and 2% inserts of a
#      new event, for information. Hit ratios come from kv.stats;
#   3. write overhead: single-row UPDATE of a heap table of 100,000 rows
#      with two kv.invalidate_on templates against an identical table
#      without.
#
# Writes the report to stdout and bench/results-front.md. Destructive like
# bench/run.sh: creates and drops schema kvbench, overwrites and deletes the
# keys key:0..key:99999 and deletes feed:* and profile*:* keys.
#
# Environment: BENCH_DURATION (default 10), BENCH_RUNS (default 3),
# BENCH_QUICK=1 (3 s, 1 run), BENCH_OUT (default bench/results-front.md).

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${BENCH_OUT:-$BENCH_DIR/results-front.md}
SCRIPT_NAME=bench/front.sh
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

CLIENTS=16
F=$BENCH_DIR/front

# Drop what the benchmark made
cleanup()
{
	local rc=$?
	trap - EXIT INT TERM
	"${PSQL[@]}" -c "SET client_min_messages = warning" -c "DROP SCHEMA IF EXISTS kvbench CASCADE" \
		-c "SELECT kv.del(VARIADIC array_agg(k)) FROM kv.keys('key:*') k HAVING count(*) > 0" \
		-c "SELECT kv.del(VARIADIC array_agg(k)) FROM kv.keys('feed:*') k HAVING count(*) > 0" >/dev/null 2>&1 ||
		echo "$SCRIPT_NAME: warning: could not clean up schema kvbench and its keys" >&2
	exit "$rc"
}

"${PSQL[@]}" -c "SELECT 1" >/dev/null ||
	die "cannot connect to PostgreSQL at $PGHOST:$PGPORT (make run starts the demo server)"
for ext in kvcache widecol; do
	[ -n "$(sql "SELECT 1 FROM pg_extension WHERE extname = '$ext'")" ] ||
		die "extension $ext is not installed in database $PGDATABASE; 'make run' creates it"
done

use_unix_socket
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
note "setting up schema kvbench (2M events, 2 x 100,000 profiles, 100,000 keys)"
"${PSQL[@]}" -f "$F/setup.sql" >/dev/null
sql "SELECT count(kv.set(k, v)) FROM kvbench.ucache" >/dev/null
# the events at rest, as the mover leaves them: compressed blocks, when
# widecol has them
if [ "$(sql "SELECT to_regprocedure('widecol.compact(regclass)') IS NOT NULL")" = t ]; then
	note "widecol.compact of the events"
	sql "SELECT widecol.compact('kvbench.events')" "VACUUM ANALYZE kvbench.events" >/dev/null
	AT_REST="compacted into widecol's compressed blocks"
else
	AT_REST="in widecol's uncompressed delta (no widecol.compact yet)"
fi
# the direct query needs an access path by user: the keyscan when widecol
# has one, otherwise a btree on the key columns as a user would add
if [ -z "$(sql "SELECT 1 FROM pg_settings WHERE name = 'widecol.enable_keyscan'")" ]; then
	sql "CREATE INDEX ON kvbench.events (user_id, ts)" "ANALYZE kvbench.events" >/dev/null
	DIRECT_PATH="btree (user_id, ts) on the widecol table"
else
	DIRECT_PATH="widecol key-range scan"
fi
plan=$(sql "EXPLAIN (COSTS OFF) SELECT ts, kind, payload FROM kvbench.events WHERE user_id = 7 ORDER BY ts DESC LIMIT 20" | sed -n 2p | sed "s/^ *-> *//")
note "direct query plan: $plan"

declare -A TPS
VARIANTS=(kv_get get_or_load_hit feed_direct feed_cached feed_direct_w feed_cached_w update_plain update_inval)
HITS_W=()
# Cache every feed once (as a warm cache would have), then count from zero
warm_feeds()
{
	sql "SELECT count(kvbench.feed(u)) FROM generate_series(0, 19999) u" "SELECT kv.stats_reset()" >/dev/null
}
# Hit ratio in % since the last kv.stats_reset()
hit_ratio()
{
	sql "SELECT round(100.0 * keyspace_hits / nullif(keyspace_hits + keyspace_misses, 0), 1) FROM kv.stats"
}
HITS=()
for run in $(seq 1 "$RUNS"); do
	for v in "${VARIANTS[@]}"; do
		case $v in
			feed_direct | feed_cached)
				warm_feeds
				tps=$(pgbench_tps "$v" "$CLIENTS" -f "$F/$v.sql")
				[ "$v" = feed_direct ] || HITS+=("$(hit_ratio)")
				;;
			feed_*_w)
				warm_feeds
				tps=$(pgbench_tps "$v" "$CLIENTS" -f "$F/${v%_w}.sql@98" -f "$F/feed_insert.sql@2")
				[ "$v" = feed_direct_w ] || HITS_W+=("$(hit_ratio)")
				;;
			update_*)
				sql "VACUUM kvbench.profiles_plain, kvbench.profiles_inval" >/dev/null
				tps=$(pgbench_tps "$v" "$CLIENTS" -f "$F/$v.sql")
				;;
			*)
				tps=$(pgbench_tps "$v" "$CLIENTS" -f "$F/$v.sql")
				;;
		esac
		TPS[$v]="${TPS[$v]:-} $tps"
		note "run $run/$RUNS  $v: $tps tps"
	done
done

declare -A MED
for v in "${VARIANTS[@]}"; do
	# shellcheck disable=SC2086  # a space-separated list of numbers
	MED[$v]=$(median ${TPS[$v]})
done
hit=$(median "${HITS[@]}")
hit_w=$(median "${HITS_W[@]}")
# ratio a/b with 2 decimals; PASS/FAIL of "ratio op target"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { awk -v r="$1" -v t="$3" -v op="$2" 'BEGIN { ok = (op == "<=") ? r <= t : r >= t; print ok ? "PASS" : "FAIL" }'; }
r_hit=$(ratio "${MED[kv_get]}" "${MED[get_or_load_hit]}")
r_feed=$(ratio "${MED[feed_cached]}" "${MED[feed_direct]}")
r_upd=$(ratio "${MED[update_plain]}" "${MED[update_inval]}")
r_feed_w=$(ratio "${MED[feed_cached_w]}" "${MED[feed_direct_w]}")

{
	echo "# Cache in front of tables: benchmark results"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), $(nproc) cores;"
	echo "$(sql "SELECT version()" | cut -d, -f1); pgbench -M prepared over $([ "$PGHOST" = localhost ] && echo TCP || echo "the Unix socket"), $CLIENTS clients, median of $RUNS run(s) of ${DURATION} s;"
	echo "load average at the end $(cut -d' ' -f1-3 /proc/loadavg). Direct feed query: $DIRECT_PATH; events $AT_REST."
	echo
	echo "| measurement | tps | against | ratio | target | |"
	echo "|---|---:|---|---:|---|---|"
	printf '| kv.get_or_load, hit | %.0f | kv.get %.0f tps | %s (kv.get / get_or_load) | <= 1.1 | %s |\n' \
		"${MED[get_or_load_hit]}" "${MED[kv_get]}" "$r_hit" "$(verdict "$r_hit" '<=' 1.1)"
	printf '| latest 20 events through the cache (hit ratio %s%%) | %.0f | direct widecol query %.0f tps | %s | >= 3 | %s |\n' \
		"$hit" "${MED[feed_cached]}" "${MED[feed_direct]}" "$r_feed" "$(verdict "$r_feed" '>=' 3)"
	printf '| the same with 2%% inserts (hit ratio %s%%) | %.0f | direct widecol query %.0f tps | %s | (information) | |\n' \
		"$hit_w" "${MED[feed_cached_w]}" "${MED[feed_direct_w]}" "$r_feed_w"
	printf '| single-row UPDATE with kv.invalidate_on (2 templates) | %.0f | without triggers %.0f tps | %s (without / with) | <= 1.3 | %s |\n' \
		"${MED[update_inval]}" "${MED[update_plain]}" "$r_upd" "$(verdict "$r_upd" '<=' 1.3)"
	echo
	echo "Feed: every feed is cached once before each run; the first feed row is reads only, the second adds 2% inserts of a new event, each invalidating that user's feed at commit. shared_buffers = $(sql "SHOW shared_buffers"); events table $(sql "SELECT pg_size_pretty(pg_total_relation_size('kvbench.events'))") with its index."
	echo "Every run, tps: $(for v in "${VARIANTS[@]}"; do printf '%s:%s; ' "$v" "${TPS[$v]# }"; done)hit ratios %: ${HITS[*]}"
} >"$BENCH_DIR/.front.md"
echo
cat "$BENCH_DIR/.front.md"
mv "$BENCH_DIR/.front.md" "$OUT"
note "report written to $OUT"
