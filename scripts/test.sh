#!/bin/bash
# scripts/test.sh: run every test suite against temporary PostgreSQL instances
#
# Suites are discovered on disk, so a new test never needs a Makefile edit:
#   regress    sql/<name>.sql + expected/<name>.out             pg_regress
#   isolation  test/specs/<name>.spec + test/expected/<name>.out pg_isolation_regress
#   tap        test/t/*.pl                                       prove (PostgreSQL::Test::Cluster)
#   stress     test/stress.sh                                    run as is, counts as one test
# Every suite starts its own instance(s) configured by test/regress.conf plus
# shared_preload_libraries from EXTENSIONS. Tests run as "postgres" when we
# are root. All output goes to .test_out/<suite>/; temporary data
# directories are kept only when their suite fails.
#
# Environment: SKIP_INSTALL=1 skips the install step ("make test" has done
# it); SUITES="regress tap" runs a subset; PROVE_FLAGS is passed to prove.
# Ends with one line "N passed, N failed" (test files over all suites) and
# exits 1 if anything failed.

set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# deterministic glob order and messages; UTF-8 for initdb in TAP tests
export LC_ALL=C.UTF-8 LANG=C.UTF-8
shopt -s nullglob

if [ "${SKIP_INSTALL:-0}" != 1 ]; then
	make -C "$REPO_ROOT" --no-print-directory install
fi
require_pg
check_reachable "$REPO_ROOT"

PG_REGRESS=$PGXS_SRC/test/regress/pg_regress
PG_ISOLATION_REGRESS=$PGXS_SRC/test/isolation/pg_isolation_regress
PERL_LIB=$PGXS_SRC/test/perl
SUITES=${SUITES:-regress isolation tap stress}
OUT=$REPO_ROOT/.test_out
CONF=$OUT/regress.conf

rm -rf "$OUT"
make_pg_dir "$OUT"
{
	cat "$REPO_ROOT/test/regress.conf"
	echo
	echo "# added by scripts/test.sh from EXTENSIONS"
	echo "shared_preload_libraries = '$(preload_list)'"
} >"$CONF"

# the test account must be able to read every input file
unreadable=$(as_pg find "$REPO_ROOT/sql" "$REPO_ROOT/expected" "$REPO_ROOT/test" \
	! -readable -print 2>&1 | grep -v 'No such file or directory' || true)
if [ -n "$unreadable" ]; then
	die "user '$PG_OS_USER' cannot read:
$unreadable"
fi

PASSED=0
FAILED=0
FAILURES=()

# Record one result: record <pass|fail> <label>
record()
{
	if [ "$1" = pass ]; then
		PASSED=$((PASSED + 1))
	else
		FAILED=$((FAILED + 1))
		FAILURES+=("$2")
	fi
}

# Run a command as the test account in directory $2, teeing output to $1;
# sets RC to its exit status
run_logged()
{
	local log=$1 dir=$2
	shift 2
	set +e
	as_pg env -C "$dir" "$@" 2>&1 | tee "$log"
	RC=${PIPESTATUS[0]}
	set -e
}

# Status ("ok", "FAILED", ...) that pg_regress printed for test $2 in log $1
pg_regress_status()
{
	awk -v name="$2" '
		# PostgreSQL 15: "test name   ... ok   12 ms" / "     name ... FAILED"
		{ for (i = 1; i < NF; i++) if ($i == name && $(i + 1) == "...") { print $(i + 2); exit } }
		# PostgreSQL 16+: "ok 1  - name  12 ms" / "not ok 1 - name"
		$1 == "ok" && $3 ~ /^[-+]$/ && $4 == name { print "ok"; exit }
		$1 == "not" && $2 == "ok" && $4 ~ /^[-+]$/ && $5 == name { print "FAILED"; exit }
	' "$1"
}

# Shared driver for pg_regress and pg_isolation_regress:
# run_pg_regress <suite> <binary> <inputdir> <names...> -- <extra options...>
run_pg_regress()
{
	local suite=$1 bin=$2 inputdir=$3 dir=$OUT/$1 name status nfail=0
	local names=() opts=()
	shift 3
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		names+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	opts=("$@")

	make_pg_dir "$dir"
	echo "==== $suite: ${#names[@]} test(s)"
	run_logged "$dir/run.log" "$dir" "$bin" \
		--bindir="$PG_BINDIR" \
		--temp-instance="$dir/tmp_instance" \
		--temp-config="$CONF" \
		--inputdir="$inputdir" \
		--outputdir="$dir" \
		--no-locale --encoding=UTF8 \
		"${opts[@]}" "${names[@]}"

	for name in "${names[@]}"; do
		status=$(pg_regress_status "$dir/run.log" "$name")
		if [ "$status" = ok ]; then
			record pass "$suite/$name"
		else
			record fail "$suite/$name"
			nfail=$((nfail + 1))
		fi
	done
	# a non-zero exit with every test ok means the instance itself failed
	# (for example it crashed at shutdown): count that too
	if [ "$RC" -ne 0 ] && [ "$nfail" -eq 0 ]; then
		record fail "$suite (exit status $RC)"
		nfail=1
	fi

	if [ "$nfail" -eq 0 ]; then
		rm -rf "$dir/tmp_instance"
		return
	fi
	if [ -s "$dir/regression.diffs" ]; then
		echo "==== $suite: $dir/regression.diffs"
		cat "$dir/regression.diffs"
		# the server log only matters when it crashed
		grep -Eqs 'terminated by signal|PANIC|TRAP:' "$dir/log/postmaster.log" || return 0
	fi
	# pg_regress keeps the temporary instance's logs in <outputdir>/log
	for log in "$dir/log/postmaster.log" "$dir/log/initdb.log"; do
		if [ -s "$log" ]; then
			echo "==== $suite: last lines of $log"
			tail -n 30 "$log"
			break
		fi
	done
}

# Basenames of files matching a glob pattern, without extension $1
basenames()
{
	local ext=$1 f
	shift
	for f in "$@"; do
		basename "$f" "$ext"
	done
}

suite_regress()
{
	local names
	mapfile -t names < <(basenames .sql "$REPO_ROOT"/sql/*.sql)
	if [ ${#names[@]} -eq 0 ]; then
		echo "==== regress: no sql/*.sql files, skipping"
		return
	fi
	run_pg_regress regress "$PG_REGRESS" "$REPO_ROOT" "${names[@]}"
}

suite_isolation()
{
	local names opts=() ext
	mapfile -t names < <(basenames .spec "$REPO_ROOT"/test/specs/*.spec)
	if [ ${#names[@]} -eq 0 ]; then
		echo "==== isolation: no test/specs/*.spec files, skipping"
		return
	fi
	# specs do not create the extensions themselves
	for ext in $EXTENSIONS; do
		opts+=("--load-extension=$ext")
	done
	run_pg_regress isolation "$PG_ISOLATION_REGRESS" "$REPO_ROOT/test" \
		"${names[@]}" -- "${opts[@]}"
}

suite_tap()
{
	local files=("$REPO_ROOT"/test/t/*.pl) dir=$OUT/tap f name
	if [ ${#files[@]} -eq 0 ]; then
		echo "==== tap: no test/t/*.pl files, skipping"
		return
	fi
	make_pg_dir "$dir"
	echo "==== tap: ${#files[@]} test(s)"
	for f in "${files[@]}"; do
		name=$(basename "$f" .pl)
		# Cluster.pm appends TEMP_CONFIG to every node's postgresql.conf and
		# keeps its nodes and logs under $TESTDIR/tmp_check; PROVE_FLAGS is
		# split into words on purpose
		# shellcheck disable=SC2086
		run_logged "$dir/$name.log" "$dir" \
			PATH="$PG_BINDIR:$PATH" \
			PG_REGRESS="$PG_REGRESS" \
			TESTDIR="$dir" \
			TEMP_CONFIG="$CONF" \
			REPO_ROOT="$REPO_ROOT" \
			EXTENSIONS="$EXTENSIONS" \
			prove -I "$PERL_LIB" ${PROVE_FLAGS:-} "$f"
		if [ "$RC" -eq 0 ]; then
			record pass "tap/$name"
		else
			record fail "tap/$name"
			echo "==== tap: last lines of $dir/tmp_check/log/regress_log_$name"
			tail -n 60 "$dir/tmp_check/log/regress_log_$name" 2>/dev/null || true
		fi
	done
}

suite_stress()
{
	local dir=$OUT/stress
	if [ ! -f "$REPO_ROOT/test/stress.sh" ]; then
		echo "==== stress: no test/stress.sh, skipping"
		return
	fi
	make_pg_dir "$dir"
	echo "==== stress: test/stress.sh"
	# the script makes its own instance in STRESS_DIR using TEMP_CONFIG
	run_logged "$dir/stress.log" "$dir" \
		PATH="$PG_BINDIR:$PATH" \
		PGBIN="$PG_BINDIR" \
		PG_CONFIG="$PG_CONFIG" \
		TEMP_CONFIG="$CONF" \
		STRESS_DIR="$dir" \
		REPO_ROOT="$REPO_ROOT" \
		EXTENSIONS="$EXTENSIONS" \
		bash "$REPO_ROOT/test/stress.sh"
	if [ "$RC" -eq 0 ]; then
		record pass stress
	else
		record fail stress
	fi
}

for suite in $SUITES; do
	case $suite in
		regress | isolation | tap | stress) "suite_$suite" ;;
		*) die "unrecognized suite \"$suite\" (known: regress isolation tap stress)" ;;
	esac
done

echo "===="
for f in "${FAILURES[@]}"; do
	echo "FAILED: $f"
done
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
