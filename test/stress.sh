#!/bin/bash
# test/stress.sh: concurrent load on kvcache, with invariants checked after
#
# Starts its own server in $STRESS_DIR (kvcache.max_memory of 8MB and
# volatile-lru, so the churn keys are evicted while the counters, which have
# no TTL, must never be), runs every test/stress/*.sql script at once with
# two pgbench processes (16 clients), then checks:
#   - no client was aborted (a wrong read raises division by zero);
#   - the counters add up to the number of increments pgbench ran;
#   - key counts agree with a full KEYS pass, memory is within the limit;
#   - each data type's own invariant (test/stress/<type>.check.sql, if any,
#     must return the single value 't');
#   - the server log has no crash, PANIC or stuck spinlock.
# Run by scripts/test.sh as the test account, with PGBIN, TEMP_CONFIG and
# STRESS_DIR set.

set -euo pipefail
shopt -s nullglob

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=${STRESS_DIR:?}
data=$dir/data
txns=${STRESS_TRANSACTIONS:-4000}
export PGHOST=$dir PGPORT=${STRESS_PORT:-5498} PGDATABASE=postgres

"$PGBIN/initdb" -D "$data" -A trust >/dev/null
cat "$TEMP_CONFIG" >>"$data/postgresql.conf"
cat >>"$data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
max_connections = 40
kvcache.max_memory = 8MB
kvcache.eviction_policy = 'volatile-lru'
CONF
"$PGBIN/pg_ctl" -D "$data" -l "$dir/server.log" -w start >/dev/null
trap '"$PGBIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true' EXIT

psql() { "$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }

psql -c 'CREATE EXTENSION kvcache'
for setup in "$here"/stress/*.setup.sql; do
	psql -f "$setup"
done

# strings.sql runs in a pgbench of its own so that its exact transaction
# count is known (pgbench's per-script counts in a mixed run can miss the
# last few); every other script runs at equal weight in a second pgbench at
# the same time: 16 clients in all
scripts=()
for f in "$here"/stress/*.sql; do
	case $f in *.setup.sql | *.check.sql | */strings.sql) continue ;; esac
	scripts+=(-f "$f@1")
done

echo "stress: strings.sql and $((${#scripts[@]} / 2)) other scripts, 16 clients x $txns transactions"
set +e
# --max-tries: txn.sql's commits fail with 40001 on conflicts; pgbench retries them
"$PGBIN/pgbench" -n -c 8 -j 1 -t "$txns" --max-tries=1000 "${scripts[@]}" >"$dir/pgbench-mixed.out" 2>&1 &
mixed=$!
"$PGBIN/pgbench" -n -c 8 -j 1 -t "$txns" -f "$here/stress/strings.sql" >"$dir/pgbench-strings.out" 2>&1
rc1=$?
wait $mixed
rc2=$?
set -e
for out in "$dir"/pgbench-*.out; do
	grep -E 'actually processed|failed transactions|transactions retried|^tps|aborted' "$out" || true
	if grep -q 'aborted' "$out"; then
		echo "stress: pgbench failed: $out"
		cat "$out"
		exit 1
	fi
done
if [ $rc1 -ne 0 ] || [ $rc2 -ne 0 ]; then
	echo "stress: pgbench failed (exit $rc1, $rc2)"
	cat "$dir"/pgbench-*.out
	exit 1
fi

fail=0
check()
{
	local what=$1 got=$2 want=$3
	if [ "$got" = "$want" ]; then
		echo "stress: ok: $what"
	else
		echo "stress: FAILED: $what: got '$got', want '$want'"
		fail=1
	fi
}

incrs=$((8 * txns))
check "counters add up" \
	"$(psql -c "SELECT sum(kv.get('ctr:' || g)::bigint) FROM generate_series(1, 100) g")" "$incrs"
# churn keys expire within 300 ms; give the expiry worker time to reclaim
# them, after which DBSIZE (which counts expired keys not yet reclaimed)
# must equal a full KEYS pass
sleep 2
check "key counts agree with KEYS" \
	"$(psql -c 'SELECT count(*) = kv.dbsize() FROM kv.keys()')" t
check "memory within the limit" \
	"$(psql -c 'SELECT used_memory <= max_memory FROM kv.stats')" t
check "churn keys were evicted, counters kept" \
	"$(psql -c "SELECT evicted_keys > 0 AND (SELECT count(*) FROM kv.keys('ctr:*')) = 100 FROM kv.stats")" t
for f in "$here"/stress/*.check.sql; do
	check "$(basename "$f")" "$(psql -f "$f")" t
done
if grep -E 'terminated by signal|PANIC|stuck spinlock|TRAP' "$dir/server.log"; then
	echo "stress: FAILED: server log shows a crash"
	fail=1
fi
exit $fail
