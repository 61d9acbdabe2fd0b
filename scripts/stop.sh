#!/bin/bash
# scripts/stop.sh: stop the demo server started by scripts/run.sh
#
# Does nothing (successfully) when there is no cluster or it is not running.

set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PGDATA=$REPO_ROOT/.pgdata

if [ ! -f "$PGDATA/PG_VERSION" ]; then
	note "no cluster in $PGDATA"
	exit 0
fi
require_pg
if as_pg "$PG_BINDIR/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
	as_pg "$PG_BINDIR/pg_ctl" -D "$PGDATA" -m fast -w stop
else
	note "server in $PGDATA is not running"
fi
