#!/bin/bash
# bench/widecol.sh: widecol against heap + btree(user_id, ts), side by side
#
# The event workload of the storage issue: BENCH_ROWS rows (default 2M;
# 5M+ for the README table) for 20,000 users arriving in time order,
# interleaved across users, with about 100 bytes of payload. Runs against
# the "make run" server ("make bench" sets PGHOST etc., as for run.sh):
#
#   1. COPY of the pre-generated file into each table (rows/s), the file
#      read into the page cache just before;
#   2. widecol.compact (when it exists) and VACUUM ANALYZE, then total
#      storage of each table (every relation it owns, indexes included);
#   3. full scans: count(*) and sum(kind), 5 times each (and widecol's
#      count(*) with its column scan off, for information);
#   4. "latest 50 of a user": EXPLAIN (ANALYZE, BUFFERS) buffers touched;
#   5. warm: every user's rows read once through each table's key path
#      (fills shared buffers and widecol's group cache), then pgbench
#      -M prepared 16 clients: latest 50 and one day of a user;
#   6. single-row INSERT transactions, pgbench 16 clients, with the
#      background mover on (moving widecol's new rows as they arrive);
#   7. cold (as root only): restart the server and drop the OS page cache
#      before each table, then latest 50 for 300 random users, one client,
#      three rounds (after the rows of step 6 were moved, as the background
#      mover would, and before step 8 adds rows to one of the tables);
#      widecol also without its key index read-ahead, for comparison;
#   8. a warm-up, latest 50 on widecol with every row moved, then with 5%
#      more rows still fresh (inserted after compaction): latest 50 again.
#
# Medians of BENCH_RUNS runs (BENCH_QUICK=1: 1 run of 3 s); variants
# interleaved. Report: stdout and bench/results-widecol.md. Destructive:
# creates and drops schema kvbench; step 8 restarts the server.

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${BENCH_OUT:-$BENCH_DIR/results-widecol.md}
ROWS=${BENCH_ROWS:-2000000}
SCRIPT_NAME=bench/widecol.sh
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"
W=$BENCH_DIR/widecol
TABLES=(ev_heap ev_wide)

case $ROWS in '' | *[!0-9]*) die "BENCH_ROWS must be a number" ;; esac
"${PSQL[@]}" -c "SELECT 1" >/dev/null ||
	die "cannot connect to PostgreSQL at $PGHOST:$PGPORT (make run starts the demo server)"
[ -n "$(sql "SELECT 1 FROM pg_extension WHERE extname = 'widecol'")" ] ||
	die "extension widecol is not installed in database $PGDATABASE; 'make run' creates it"
[ "$(sql "SELECT current_setting('is_superuser')")" = on ] ||
	die "needs a superuser (server-side COPY of the data file)"
use_unix_socket

MOVER_WAS=""
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wcbench.XXXXXX")
chmod 755 "$WORK"
DATA=$WORK/events.copy
cleanup()
{
	local rc=$?
	trap - EXIT INT TERM
	"${PSQL[@]}" -c "SET client_min_messages = warning" -c "DROP SCHEMA IF EXISTS kvbench CASCADE" >/dev/null 2>&1 ||
		echo "$SCRIPT_NAME: warning: could not drop schema kvbench" >&2
	if [ -n "$MOVER_WAS" ]; then
		"${PSQL[@]}" -c "ALTER SYSTEM RESET widecol.mover_enabled" -c "SELECT pg_reload_conf()" >/dev/null 2>&1 ||
			echo "$SCRIPT_NAME: warning: could not reset widecol.mover_enabled" >&2
	fi
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Time one statement in a fresh session; prints milliseconds
timed_ms()
{
	local out
	out=$("${PSQL[@]}" -c '\timing on' -c "$1") || die "statement failed: $1"
	sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' <<<"$out" | tail -n1
}

# A pgbench script of template $1 for table $2
script_for()
{
	local f=$WORK/$(basename "$1" .sql).$2.sql
	sed -e "s/TABLE/kvbench.$2/g" -e "s/DAYS/$(((ROWS / 86400) - 1))/g" "$1" >"$f"
	echo "$f"
}

HAVE_COMPACT=$(sql "SELECT to_regprocedure('widecol.compact(regclass)') IS NOT NULL")
# the background mover would move rows behind the measurements (the 5%
# fresh rows above all): off for the run, reset at the end
MOVER_WAS=$(sql "SELECT setting FROM pg_settings WHERE name = 'widecol.mover_enabled'")
if [ -n "$MOVER_WAS" ]; then
	sql "ALTER SYSTEM SET widecol.mover_enabled = off" "SELECT pg_reload_conf()" >/dev/null
fi
# COPY FROM goes straight into cold blocks when this setting exists and is on
COPY_PATH=$(sql "SELECT CASE current_setting('widecol.copy_direct', true) WHEN 'on' THEN 'direct to cold blocks' ELSE 'through the delta' END")
declare -A V
# Record value $2 for measurement $1
rec() { V[$1]="${V[$1]:-} $2"; }
med() {
	# shellcheck disable=SC2086  # a space-separated list of numbers
	median ${V[$1]}
}

note "generating $ROWS events into $DATA"
# the server writes the file, so its directory must be the server's to write
if [ "$(id -u)" = 0 ]; then chown postgres "$WORK"; fi
"${PSQL[@]}" -v rows="$ROWS" -v file="$DATA" -f "$W/setup.sql" >/dev/null

for run in $(seq 1 "$RUNS"); do
	for t in "${TABLES[@]}"; do
		sql "TRUNCATE kvbench.$t" "CHECKPOINT" >/dev/null
		# the file from the page cache, not the device: this VM's proactive
		# reclaim (DAMON) evicts it between rounds, and reading 630 MB at
		# 60 to 90 MB/s then bounds the faster COPY
		cat "$DATA" >/dev/null
		ms=$(timed_ms "COPY kvbench.$t FROM '$DATA'")
		rec "copy.$t" "$(awk -v n="$ROWS" -v ms="$ms" 'BEGIN { printf "%.0f", n * 1000 / ms }')"
		note "run $run/$RUNS  COPY into $t: $ms ms"
	done
done

if [ "$HAVE_COMPACT" = t ]; then
	note "widecol.compact"
	sql "SELECT widecol.compact('kvbench.ev_wide')" >/dev/null
fi
sql "VACUUM ANALYZE kvbench.ev_heap" "VACUUM ANALYZE kvbench.ev_wide" >/dev/null
for t in "${TABLES[@]}"; do
	V[size.$t]=$(sql "SELECT pg_total_relation_size('kvbench.$t')")
done

note "full scans"
# count(*) on widecol is a column scan that reads no column (no block decoded);
# count.ev_wide.seq is the sequential scan it replaces, for comparison
HAVE_COLUMNSCAN=$(sql "SELECT current_setting('widecol.enable_columnscan', true) IS NOT NULL")
for run in 1 2 3 4 5; do
	for t in "${TABLES[@]}"; do
		rec "count.$t" "$(timed_ms "SELECT count(*) FROM kvbench.$t")"
		rec "sum.$t" "$(timed_ms "SELECT sum(kind) FROM kvbench.$t")"
	done
	if [ "$HAVE_COLUMNSCAN" = t ]; then
		rec "count.ev_wide.seq" "$(timed_ms "SET widecol.enable_columnscan = off; SELECT count(*) FROM kvbench.ev_wide")"
	fi
done

# shared buffers touched by latest 50 of user 4242 (hit + read of the top
# node), in a session that has run the query once: a session's first query
# also reads what it caches for the session (catalog rows, btree metapages)
for t in "${TABLES[@]}"; do
	V[buffers.$t]=$(sql "SELECT count(*) FROM (SELECT * FROM kvbench.$t WHERE user_id = 4242 ORDER BY ts DESC LIMIT 50) s" \
		"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, FORMAT JSON)
		SELECT * FROM kvbench.$t WHERE user_id = 4242 ORDER BY ts DESC LIMIT 50" |
		sed -n 's/.*"Shared Hit Blocks": \([0-9]*\).*/\1/p;s/.*"Shared Read Blocks": \([0-9]*\).*/\1/p' |
		head -n2 | awk '{ s += $1 } END { print s }')
	V[plan.$t]=$(sql "EXPLAIN (COSTS OFF) SELECT * FROM kvbench.$t WHERE user_id = 4242 ORDER BY ts DESC LIMIT 50" |
		sed 's/^ *\(-> *\)\{0,1\}//' | paste -sd '/' | sed 's|/| / |g')
done

# warm-up: every user's rows read once through each table's key path,
# which brings both into shared buffers (as far as they fit) and fills
# widecol's group cache (widecol.group_cache_size) as far as it is large;
# the query reads the rows' columns, so heap's plan is an index scan that
# visits its table pages (count(*) alone is an index-only scan on heap,
# which left its table pages out of shared buffers)
note "warm-up: every user's rows through each table's key path"
for t in "${TABLES[@]}"; do
	sql "DO \$\$ DECLARE n bigint; BEGIN
		FOR u IN 0..19999 LOOP SELECT sum(length(payload) + kind) INTO n FROM kvbench.$t WHERE user_id = u; END LOOP;
	END \$\$" >/dev/null
done
GC_BEFORE=$(sql "SELECT hits || ' ' || misses FROM widecol.group_cache_stats()" 2>/dev/null || echo "0 0")

note "warm pgbench, 16 clients: latest 50, one day"
for run in $(seq 1 "$RUNS"); do
	for t in "${TABLES[@]}"; do
		for q in latest50 oneday; do
			tps=$(pgbench_tps "$q.$t" 16 -f "$(script_for "$W/$q.sql" "$t")")
			rec "$q.$t" "$tps"
			note "run $run/$RUNS  $q on $t: $tps tps"
		done
	done
done

GC_AFTER=$(sql "SELECT hits || ' ' || misses FROM widecol.group_cache_stats()" 2>/dev/null || echo "0 0")
GC_NOTE=$(awk -v b="$GC_BEFORE" -v a="$GC_AFTER" 'BEGIN {
	split(b, x, " "); split(a, y, " "); h = y[1] - x[1]; m = y[2] - x[2];
	printf "%d of %d group reads of the warm steps from the cache", h, h + m }')

# the background mover runs during this step, as it would while rows
# arrive (it moves widecol's new rows every widecol.mover_naptime, in
# moves of a few rows per user, and takes CPU from both tables' rounds)
note "single-row INSERT, 16 clients (background mover on)"
if [ -n "$MOVER_WAS" ]; then
	sql "ALTER SYSTEM SET widecol.mover_enabled = on" "SELECT pg_reload_conf()" >/dev/null
fi
for run in $(seq 1 "$RUNS"); do
	for t in "${TABLES[@]}"; do
		tps=$(pgbench_tps "insert.$t" 16 -f "$(script_for "$W/insert.sql" "$t")")
		rec "insert.$t" "$tps"
		note "run $run/$RUNS  insert into $t: $tps tps"
	done
done
if [ -n "$MOVER_WAS" ]; then
	sql "ALTER SYSTEM SET widecol.mover_enabled = off" "SELECT pg_reload_conf()" >/dev/null
fi

COLD_NOTE=""
datadir=$(sql "SHOW data_directory")
if [ "$(id -u)" != 0 ]; then
	COLD_NOTE="skipped: needs root (restart as postgres, drop_caches)"
elif ! sync || ! echo 1 >/proc/sys/vm/drop_caches 2>/dev/null; then
	COLD_NOTE="skipped: cannot write /proc/sys/vm/drop_caches here"
else
	# the rows step 6 added have arrived after the load: move them, as the
	# background mover would, so that widecol is measured as it stays while
	# new rows keep arriving (heap keeps them where they landed)
	if [ "$HAVE_COMPACT" = t ]; then
		sql "SELECT widecol.compact('kvbench.ev_wide')" >/dev/null
	fi
	sql "VACUUM kvbench.ev_heap" "VACUUM kvbench.ev_wide" >/dev/null
	# what the INSERT step left: widecol blocks latest 50 reads (EXPLAIN
	# ANALYZE "Blocks Read"), on average over 500 users, and the key index
	sql "CREATE FUNCTION kvbench.latest50_blocks(u bigint) RETURNS int LANGUAGE plpgsql AS \$\$
		DECLARE l text; n int;
		BEGIN
			FOR l IN EXECUTE format('EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
				SELECT * FROM kvbench.ev_wide WHERE user_id = %s ORDER BY ts DESC LIMIT 50', u) LOOP
				IF l ~ 'Blocks Read' THEN n := substring(l FROM 'Blocks Read: (\d+)')::int; END IF;
			END LOOP;
			RETURN n;
		END \$\$" >/dev/null
	AFTER_INSERT="after the INSERT step latest 50 reads $(sql "SELECT round(avg(kvbench.latest50_blocks(u)), 2) FROM generate_series(0, 19999, 40) u") widecol blocks on average over 500 users; key index $(sql "SELECT pg_size_pretty(pg_relation_size(indexrelid)) FROM pg_index WHERE indrelid = 'kvbench.ev_wide'::regclass LIMIT 1"); total storage then $(sql "SELECT pg_size_pretty(pg_total_relation_size('kvbench.ev_wide')) || ' against heap''s ' || pg_size_pretty(pg_total_relation_size('kvbench.ev_heap')) || ' (' || round(pg_total_relation_size('kvbench.ev_wide')::numeric / pg_total_relation_size('kvbench.ev_heap'), 2) || ')'")"
	# three rounds, variants alternating; the median per variant is
	# reported.  ev_wide:ra is widecol with its whole key index read ahead
	# whatever its size (widecol.key_index_readahead = 1GB; the default,
	# 16 MB, reads ahead only smaller indexes), for comparison.
	HAVE_RA=$(sql "SELECT current_setting('widecol.key_index_readahead', true) IS NOT NULL")
	for run in 1 2 3; do
		for v in ev_heap ev_wide $([ "$HAVE_RA" = t ] && echo ev_wide:ra); do
			t=${v%%:*}
			opts=""
			[ "$v" = ev_wide:ra ] && opts="-c widecol.key_index_readahead=1GB"
			runuser -u postgres -- "$PGBIN/pg_ctl" -D "$datadir" -w -m fast restart >/dev/null
			sync
			echo 1 >/proc/sys/vm/drop_caches
			out=$(PGOPTIONS="$opts" "$PGBIN/pgbench" -M prepared -n -c 1 -t 300 -f "$(script_for "$W/latest50.sql" "$t")" 2>&1) ||
				die "pgbench cold on $v failed: $out"
			ms=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$out")
			rec "cold.${v/:/.}" "$ms"
			note "run $run/3  cold: restart, drop caches, latest 50 of 300 random users on $v: $ms ms"
		done
	done
fi

# the cold step left the caches empty: warm them again, and measure the
# moved case that the fresh case is compared with in the same state
note "warm-up, then latest 50 on ev_wide with every row moved"
pgbench_tps warmup 16 -f "$(script_for "$W/latest50.sql" ev_wide)" >/dev/null
for run in $(seq 1 "$RUNS"); do
	tps=$(pgbench_tps moved 16 -f "$(script_for "$W/latest50.sql" ev_wide)")
	rec moved.ev_wide "$tps"
	note "run $run/$RUNS  latest 50, every row moved: $tps tps"
done

note "5% more rows, not compacted: latest 50 on ev_wide"
sql "INSERT INTO kvbench.ev_wide SELECT user_id, ts + interval '100 years', kind, payload
	FROM kvbench.ev_wide TABLESAMPLE SYSTEM (5) REPEATABLE (1)" "ANALYZE kvbench.ev_wide" >/dev/null
for run in $(seq 1 "$RUNS"); do
	tps=$(pgbench_tps fresh 16 -f "$(script_for "$W/latest50.sql" ev_wide)")
	rec fresh.ev_wide "$tps"
	note "run $run/$RUNS  latest 50 with 5% fresh rows: $tps tps"
done

# ratio of medians a/b, and PASS/FAIL of "ratio op target"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }
verdict() { awk -v r="$1" -v t="$3" -v op="$2" 'BEGIN { ok = (op == "<=") ? r <= t : r >= t; print ok ? "PASS" : "FAIL" }'; }
row()
{
	# name, widecol figure, heap figure, ratio, op, target
	printf '| %s | %s | %s | %s | %s %s | %s |\n' "$1" "$2" "$3" "$4" "$5" "$6" "$(verdict "$4" "$5" "$6")"
}
mb() { awk -v b="$1" 'BEGIN { printf "%.0f MB", b / 1048576 }'; }
n0() { awk -v x="$1" 'BEGIN { printf "%.0f", x }'; }
n1() { awk -v x="$1" 'BEGIN { printf "%.1f", x }'; }
n3() { awk -v x="$1" 'BEGIN { printf "%.3f", x }'; }
{
	echo "# widecol benchmark"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), $(nproc) cores;"
	echo "$(sql "SELECT version()" | cut -d, -f1); $ROWS rows, 20,000 users; shared_buffers $(sql "SHOW shared_buffers");"
	echo "widecol.group_cache_size $(sql "SHOW widecol.group_cache_size" 2>/dev/null || echo "does not exist"): $GC_NOTE."
	if [ -n "${AFTER_INSERT:-}" ]; then echo "Cold step: $AFTER_INSERT."; fi
	echo "median of $RUNS run(s) of ${DURATION} s for pgbench, 5 runs for scans; widecol COPY: $COPY_PATH; widecol.compact: $([ "$HAVE_COMPACT" = t ] && echo ran || echo "does not exist yet"); background mover on during the INSERT step only (the cold step first moves the rows it left, as the mover would)."
	# the warm steps are "warm" in memory; say whether in shared buffers
	sb=$(sql "SELECT setting::bigint * current_setting('block_size')::bigint FROM pg_settings WHERE name = 'shared_buffers'")
	for t in "${TABLES[@]}"; do
		if [ "${V[size.$t]}" -gt "$sb" ]; then
			echo "$t ($(mb "${V[size.$t]}")) does not fit in shared_buffers ($(mb "$sb")): its warm runs read the pages that do not fit from the OS page cache."
		fi
	done
	echo "Plans for latest 50: heap \`${V[plan.ev_heap]}\`, widecol \`${V[plan.ev_wide]}\`."
	echo
	echo "| measurement | widecol | heap + btree | ratio | target | |"
	echo "|---|---:|---:|---:|---|---|"
	r=$(ratio "${V[size.ev_wide]}" "${V[size.ev_heap]}")
	row "total storage after VACUUM" "$(mb "${V[size.ev_wide]}")" "$(mb "${V[size.ev_heap]}")" "$r" "<=" 0.167
	r=$(ratio "$(med copy.ev_wide)" "$(med copy.ev_heap)")
	row "COPY load, rows/s" "$(n0 "$(med copy.ev_wide)")" "$(n0 "$(med copy.ev_heap)")" "$r" ">=" 1.5
	r=$(ratio "$(med insert.ev_wide)" "$(med insert.ev_heap)")
	row "single-row INSERT, 16 clients, tps" "$(n0 "$(med insert.ev_wide)")" "$(n0 "$(med insert.ev_heap)")" "$r" ">=" 0.9
	r=$(ratio "$(med count.ev_wide)" "$(med count.ev_heap)")
	row "count(*), ms" "$(n1 "$(med count.ev_wide)")" "$(n1 "$(med count.ev_heap)")" "$r" "<=" 1.5
	if [ -n "${V[count.ev_wide.seq]:-}" ]; then
		r=$(ratio "$(med count.ev_wide.seq)" "$(med count.ev_heap)")
		echo "| count(*) as a sequential scan that decodes every block (widecol.enable_columnscan = off; information) | $(n1 "$(med count.ev_wide.seq)") | $(n1 "$(med count.ev_heap)") | $r | | |"
	fi
	r=$(ratio "$(med sum.ev_wide)" "$(med sum.ev_heap)")
	row "sum(kind), ms" "$(n1 "$(med sum.ev_wide)")" "$(n1 "$(med sum.ev_heap)")" "$r" "<=" 1.5
	row "latest 50: shared buffers touched" "${V[buffers.ev_wide]}" "${V[buffers.ev_heap]}" "${V[buffers.ev_wide]}" "<=" 4
	r=$(ratio "$(med latest50.ev_wide)" "$(med latest50.ev_heap)")
	row "warm latest 50, 16 clients, tps" "$(n0 "$(med latest50.ev_wide)")" "$(n0 "$(med latest50.ev_heap)")" "$r" ">=" 1.0
	r=$(ratio "$(med oneday.ev_wide)" "$(med oneday.ev_heap)")
	row "warm one day of a user, 16 clients, tps" "$(n0 "$(med oneday.ev_wide)")" "$(n0 "$(med oneday.ev_heap)")" "$r" ">=" 1.0
	r=$(ratio "$(med moved.ev_wide)" "$(med fresh.ev_wide)")
	row "latest 50 with 5% fresh rows, tps (ratio: every row moved / fresh)" "$(n0 "$(med fresh.ev_wide)")" "$(n0 "$(med moved.ev_wide)") (moved)" "$r" "<=" 2
	if [ -z "$COLD_NOTE" ]; then
		r=$(ratio "$(med cold.ev_heap)" "$(med cold.ev_wide)")
		row "cold latest 50, 300 users, 1 client, ms per query, median of 3 (ratio: heap / widecol)" "$(n3 "$(med cold.ev_wide)") ms" "$(n3 "$(med cold.ev_heap)") ms" "$r" ">=" 8
		if [ -n "${V[cold.ev_wide.ra]:-}" ]; then
			r=$(ratio "$(med cold.ev_heap)" "$(med cold.ev_wide.ra)")
			echo "| the same with the whole key index read ahead (widecol.key_index_readahead = 1GB; information) | $(n3 "$(med cold.ev_wide.ra)") ms | $(n3 "$(med cold.ev_heap)") ms | $r | | |"
		fi
	else
		echo "| cold latest 50 | | | | >= 8 | $COLD_NOTE |"
	fi
	echo
	echo "Every run: $(for k in $(printf "%s\n" "${!V[@]}" | grep -v "^plan" | sort); do printf "%s:%s; " "$k" "${V[$k]# }"; done)"
} >"$WORK/report.md"
echo
cat "$WORK/report.md"
cp "$WORK/report.md" "$OUT"
note "report written to $OUT"
