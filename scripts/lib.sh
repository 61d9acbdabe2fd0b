# scripts/lib.sh: helpers shared by run.sh, stop.sh and test.sh
#
# Sourced, never executed. Sets REPO_ROOT, PG_CONFIG and EXTENSIONS, and
# provides as_pg, which runs a command as the account that owns our
# PostgreSQL processes: "postgres" when we are root (the server refuses to
# run as root), otherwise the current user.

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
SCRIPT_NAME=$(basename "$0")

# Work from the repository root whatever the caller's directory: every path
# below is absolute, and postgres tools warn when they start in a directory
# their account cannot enter (such as /root).
cd "$REPO_ROOT" || exit 1

# Print an error and exit
die()
{
	echo "$SCRIPT_NAME: error: $*" >&2
	exit 1
}

# Print a progress message
note()
{
	echo "$SCRIPT_NAME: $*"
}

# EXTENSIONS comes from the Makefile; when a script runs by hand, ask it
if [ -z "${EXTENSIONS+set}" ]; then
	EXTENSIONS=$(make -s --no-print-directory -C "$REPO_ROOT" print-extensions)
fi

# Comma-separated list for shared_preload_libraries
preload_list()
{
	local exts
	read -ra exts <<<"$EXTENSIONS"
	(IFS=,; echo "${exts[*]}")
}

if [ "$(id -u)" -eq 0 ]; then
	PG_OS_USER=postgres
else
	PG_OS_USER=$(id -un)
fi

# Run a command as PG_OS_USER, keeping the environment
as_pg()
{
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# Create a directory (if needed) that PG_OS_USER can write to
make_pg_dir()
{
	mkdir -p "$1"
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres:postgres "$1"
	fi
}

# Fail unless pg_config exists, then set PG_BINDIR and PGXS_SRC
require_pg()
{
	[ -x "$PG_CONFIG" ] || die "$PG_CONFIG not found; run 'make deps' (as root) first"
	# shellcheck disable=SC2034 # both are used by the sourcing scripts
	PG_BINDIR=$("$PG_CONFIG" --bindir)
	# pgxs.mk lives in <pgxs>/src/makefiles/; test drivers in <pgxs>/src/test/
	# shellcheck disable=SC2034
	PGXS_SRC=$(dirname "$(dirname "$("$PG_CONFIG" --pgxs)")")
	if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
		die "no 'postgres' OS user; run 'make deps' first"
	fi
}

# Fail with an explanation unless PG_OS_USER can enter directory $1
check_reachable()
{
	local dir=$1 d part parts
	if as_pg test -x "$dir" -a -r "$dir"; then
		return 0
	fi
	# find the first directory on the path that blocks us
	d=/
	IFS=/ read -ra parts <<<"${dir#/}"
	for part in "${parts[@]}"; do
		d=${d%/}/$part
		if ! as_pg test -x "$d"; then
			die "user '$PG_OS_USER' cannot enter $d (mode $(stat -c %A "$d"), owner $(stat -c %U "$d")).
The server runs as '$PG_OS_USER' and must reach $dir. Fix with
	chmod o+x $d
or clone the repository under a directory everyone can traverse (e.g. /srv or /tmp)."
		fi
	done
	die "user '$PG_OS_USER' cannot read $dir; fix with: chmod o+rx $dir"
}
