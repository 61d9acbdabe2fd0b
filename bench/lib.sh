# bench/lib.sh: helpers shared by the benchmark scripts (sourced)
#
# The caller sets SCRIPT_NAME. Sourcing sets the connection (PGBIN, PGHOST,
# PGPORT, PGUSER, PGDATABASE: the "make run" server unless given), PSQL (a
# psql command line as an array), and DURATION and RUNS: BENCH_QUICK=1
# means 3 s and 1 run, else BENCH_DURATION (default 10) and BENCH_RUNS
# (default 3).

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
export PGHOST=${PGHOST:-localhost}
export PGPORT=${PGPORT:-5499}
export PGUSER=${PGUSER:-postgres}
export PGDATABASE=${PGDATABASE:-demo}
PSQL=("$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1)

if [ "${BENCH_QUICK:-0}" = 1 ]; then
	DURATION=3
	RUNS=1
else
	DURATION=${BENCH_DURATION:-10}
	RUNS=${BENCH_RUNS:-3}
fi

# Print an error and exit (the caller's EXIT trap cleans up)
die()
{
	echo "$SCRIPT_NAME: error: $*" >&2
	exit 1
}

# Print a progress message with the time
note()
{
	echo "[$(date +%H:%M:%S)] $*"
}

# Run SQL given as arguments (one -c each) and print the results
sql()
{
	local args=() s
	for s in "$@"; do
		args+=(-c "$s")
	done
	"${PSQL[@]}" "${args[@]}"
}

# pgbench -M prepared -n for DURATION seconds with $2 clients and the
# remaining arguments; prints the tps ($1 names the variant in errors)
pgbench_tps()
{
	local name=$1 clients=$2 out tps
	shift 2
	out=$("$PGBIN/pgbench" -M prepared -n -c "$clients" -j "$((clients < 2 ? clients : 2))" \
		-T "$DURATION" "$@" 2>&1) || {
		echo "$out" >&2
		die "pgbench for $name failed"
	}
	tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out" | tail -n1)
	[ -n "$tps" ] || {
		echo "$out" >&2
		die "no tps in the pgbench output for $name"
	}
	echo "$tps"
}

# Median of the numbers given as arguments
median()
{
	printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END {
		if (NR == 0) exit 1
		print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# Connect through the server's Unix socket when it is on this machine
# (PGHOST=localhost): the usual way for local clients, and the one with the
# least kernel work per round trip. BENCH_TCP=1 keeps TCP.
use_unix_socket()
{
	local dir
	[ "${BENCH_TCP:-0}" != 1 ] && [ "$PGHOST" = localhost ] || return 0
	dir=$(sql "SELECT split_part(current_setting('unix_socket_directories'), ',', 1)") || return 0
	if [ -S "$dir/.s.PGSQL.$PGPORT" ] && PGHOST=$dir "${PSQL[@]}" -c "SELECT 1" >/dev/null 2>&1; then
		export PGHOST=$dir
		note "connecting through the Unix socket in $dir"
	fi
}
