#!/bin/bash
# scripts/run.sh: start a throwaway PostgreSQL with the extensions loaded
#
# Installs dependencies, builds and installs the extensions (skipped when
# SKIP_INSTALL=1, as "make run" has already done it), then runs a private
# cluster in ./.pgdata on port $PGPORT (default 5499) with
# shared_preload_libraries taken from EXTENSIONS. Creates database "demo",
# creates the extensions in it and runs demo/demo.sql if present.
#
# Safe to re-run: a running server is restarted so it loads the new build,
# and the demo script runs again (so it should be idempotent). RESET_DEMO=1
# drops and recreates the demo database first, which picks up changed
# extension SQL scripts.
#
# Settings owned by this script live in .pgdata/kvdev.conf, rewritten on
# every run; use ALTER SYSTEM for local tweaks.

set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PGPORT=${PGPORT:-5499}
PGDATA=$REPO_ROOT/.pgdata
LOGFILE=$PGDATA/log

# 1. dependencies, build, install
if [ "${SKIP_INSTALL:-0}" != 1 ]; then
	make -C "$REPO_ROOT" --no-print-directory install
fi
require_pg
check_reachable "$REPO_ROOT"

# 2. create the cluster once
if [ ! -f "$PGDATA/PG_VERSION" ]; then
	if [ -d "$PGDATA" ] && [ -n "$(ls -A "$PGDATA")" ]; then
		die "$PGDATA exists but is not a data directory; remove it (make distclean)"
	fi
	note "creating cluster in $PGDATA"
	make_pg_dir "$PGDATA"
	chmod 700 "$PGDATA"
	as_pg "$PG_BINDIR/initdb" -D "$PGDATA" -U postgres -A trust \
		--no-locale -E UTF8 --no-instructions >/dev/null
fi
major=$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
if [ "$(cat "$PGDATA/PG_VERSION")" != "$major" ]; then
	die "$PGDATA was made by PostgreSQL $(cat "$PGDATA/PG_VERSION"), not $major; run 'make distclean'"
fi

# 3. our settings; the socket goes in .pgdata unless that path is too long
# for a unix socket name (about 100 bytes)
SOCKDIR=$PGDATA
if [ ${#SOCKDIR} -gt 90 ]; then
	SOCKDIR=/tmp
fi
# Huge pages: with 4 kB pages, random lookups in a few hundred MB of shared
# memory spend much of their time on TLB misses (on this project's VMs about
# 15% of a kv.get transaction).  As root, reserve enough 2 MB pages for the
# server (KV_HUGEPAGES=0 skips this); huge_pages = try falls back to normal
# pages when none are reserved.
if [ "$(id -u)" = 0 ] && [ "${KV_HUGEPAGES:-1}" != 0 ] &&
	[ "$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)" -lt 400 ]; then
	if sysctl -q -w vm.nr_hugepages=400 2>/dev/null; then
		echo "run.sh: reserved 400 huge pages (800 MB) for shared memory (KV_HUGEPAGES=0 to skip)"
	fi
fi
as_pg tee "$PGDATA/kvdev.conf" >/dev/null <<CONF
# Written by scripts/run.sh on every run; do not edit.
port = $PGPORT
listen_addresses = 'localhost'
unix_socket_directories = '$SOCKDIR'
shared_preload_libraries = '$(preload_list)'
logging_collector = off
# room for the benchmarks (a 1M-member sorted set takes about 80 MB)
kvcache.max_memory = ${KV_MAX_MEMORY:-256MB}
shared_buffers = 256MB
huge_pages = try
CONF
if ! grep -q "^include_if_exists = 'kvdev.conf'" "$PGDATA/postgresql.conf"; then
	echo "include_if_exists = 'kvdev.conf'" | as_pg tee -a "$PGDATA/postgresql.conf" >/dev/null
fi

# 4. start, or restart so a freshly installed library is loaded
pg_ctl()
{
	as_pg "$PG_BINDIR/pg_ctl" -D "$PGDATA" -l "$LOGFILE" -w -t 60 "$@"
}
if pg_ctl status >/dev/null 2>&1; then
	note "server already running; restarting it"
	action=restart
else
	action=start
fi
if ! pg_ctl -m fast "$action" >/dev/null; then
	echo "---- last lines of $LOGFILE ----" >&2
	tail -n 20 "$LOGFILE" >&2 || true
	die "could not $action the server"
fi

# 5. demo database, extensions, demo script
psql_as_pg()
{
	as_pg "$PG_BINDIR/psql" -X -v ON_ERROR_STOP=1 -h "$SOCKDIR" -p "$PGPORT" -U postgres "$@"
}
if [ "${RESET_DEMO:-0}" = 1 ]; then
	note "dropping database demo"
	psql_as_pg -d postgres -q -c "DROP DATABASE IF EXISTS demo WITH (FORCE)"
fi
if [ "$(psql_as_pg -d postgres -tAc "SELECT count(*) FROM pg_database WHERE datname = 'demo'")" = 0 ]; then
	psql_as_pg -d postgres -q -c "CREATE DATABASE demo"
fi
for ext in $EXTENSIONS; do
	PGOPTIONS="-c client_min_messages=warning" \
		psql_as_pg -d demo -q -c "CREATE EXTENSION IF NOT EXISTS $ext"
done
if [ -f "$REPO_ROOT/demo/demo.sql" ]; then
	note "running demo/demo.sql"
	as_pg env -C "$REPO_ROOT/demo" "$PG_BINDIR/psql" -X -v ON_ERROR_STOP=1 \
		-h "$SOCKDIR" -p "$PGPORT" -U postgres -d demo -f "$REPO_ROOT/demo/demo.sql"
fi

note "server running: data $PGDATA, port $PGPORT, log $LOGFILE, preloaded '$(preload_list)'"
echo "Connect with:"
echo "    $PG_BINDIR/psql -h localhost -p $PGPORT -U postgres -d demo"
echo "Stop with: make -C $REPO_ROOT stop"
