# Makefile: build, install, run and test every extension in this repository
#
# Each extension lives in its own folder with its own PGXS Makefile; this
# file only recurses into them and owns the shared tooling (scripts/) and
# test suites (sql/, expected/, test/). Adding an extension is one edit: append
# its folder to EXTENSIONS. Tests are found on disk by scripts/test.sh.
#
#   make            build every extension (strict when CI=true or STRICT=1)
#   make deps       install missing Debian packages (scripts/install-deps.sh)
#   make install    deps + build + install into the PostgreSQL tree (root)
#   make run        install, then start a demo server in .pgdata (port PGPORT)
#   make stop       stop the demo server
#   make test       install, then run every test suite
#   make bench      run the benchmarks in bench/ against the demo server
#   make clean      remove build products and test output
#   make distclean  clean, stop the demo server and delete .pgdata

EXTENSIONS = kvcache widecol

PG_CONFIG ?= /usr/lib/postgresql/15/bin/pg_config
PGPORT ?= 5499

# CI and STRICT=1 builds turn warnings into errors and enable Assert()
ifneq ($(filter true 1,$(CI) $(STRICT)),)
EXT_FLAGS = KV_WERROR=1 KV_ASSERTS=1 WC_WERROR=1 WC_ASSERTS=1
endif

# The scripts read these from the environment
export EXTENSIONS PG_CONFIG

# Prerequisites run in the order written (deps before build before install);
# the per-extension builds still honour -j.
.NOTPARALLEL:
.PHONY: all deps install run stop test bench clean distclean print-extensions

all:
	@set -e; for ext in $(EXTENSIONS); do \
		$(MAKE) -C $$ext PG_CONFIG=$(PG_CONFIG) $(EXT_FLAGS); \
	done

deps:
	@bash scripts/install-deps.sh

install: deps all
	@for dir in "$$($(PG_CONFIG) --pkglibdir)" "$$($(PG_CONFIG) --sharedir)/extension"; do \
		if [ ! -w "$$dir" ]; then \
			echo "make install: $$dir is not writable by $$(id -un);" \
				"installing into the PostgreSQL tree needs root (sudo make install)" >&2; \
			exit 1; \
		fi; \
	done
	@set -e; for ext in $(EXTENSIONS); do \
		$(MAKE) -C $$ext PG_CONFIG=$(PG_CONFIG) $(EXT_FLAGS) install; \
	done

run: install
	@SKIP_INSTALL=1 PGPORT=$(PGPORT) bash scripts/run.sh

stop:
	@PGPORT=$(PGPORT) bash scripts/stop.sh

test: install
	@SKIP_INSTALL=1 bash scripts/test.sh

# The benchmark scripts talk to the server started by "make run";
# BENCH="front" runs a subset (run = kvcache, front = cache in front of
# tables, widecol = widecol against heap + btree)
BENCH ?= run front widecol
bench:
	@set -e; for b in $(BENCH); do \
		test -f bench/$$b.sh || { echo "make bench: bench/$$b.sh does not exist" >&2; exit 1; }; \
		REPO_ROOT=$(CURDIR) PGBIN=$$($(PG_CONFIG) --bindir) \
			PGHOST=localhost PGPORT=$(PGPORT) PGUSER=postgres PGDATABASE=demo \
			bash bench/$$b.sh; \
	done

clean:
	@set -e; if [ -x "$(PG_CONFIG)" ]; then \
		for ext in $(EXTENSIONS); do $(MAKE) -C $$ext PG_CONFIG=$(PG_CONFIG) clean; done; \
	fi
	rm -rf .test_out tmp_check results log regression.diffs regression.out

distclean: stop clean
	rm -rf .pgdata

print-extensions:
	@echo $(EXTENSIONS)
