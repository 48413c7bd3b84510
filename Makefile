# gpubill — PGXS build.  EXTVERSION comes from gpubill.control; the install
# script gpubill--EXTVERSION.sql is the concatenation of src/sql/*/*.sql.

EXTENSION  = gpubill gpubill_proxy
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" gpubill.control)

MODULE_big = gpubill
OBJS = src/gpubill.o src/amount_io.o src/amount_ops.o src/amount_agg.o \
       src/period.o src/rating.o src/calc.o

SQL_SOURCES = $(sort $(wildcard src/sql/*/*.sql))
# the proxy (issues 17, 18): gpubill's types layer, roles, pg_cron schedule and resale checks, then src/proxy, then gpubill's BI
# views (over the proxy's own) and src/proxy/bi (its version is gpubill's)
PROXY_SOURCES = src/proxy/00_header.sql $(filter-out %/00_header.sql,$(sort $(wildcard src/sql/1_types/*.sql))) \
                src/sql/2_base/10_roles.sql src/sql/2_base/15_cron.sql src/sql/7_exchange/42_resale_check.sql $(filter-out %/00_header.sql,$(sort $(wildcard src/proxy/*.sql))) \
                src/sql/9_bi/10_views.sql $(sort $(wildcard src/proxy/bi/*.sql))
DATA_built  = gpubill--$(EXTVERSION).sql gpubill_proxy--$(EXTVERSION).sql
# updates/: the install scripts of the released versions, frozen (CREATE
# EXTENSION gpubill VERSION '1.0.0'), and the update scripts between
# versions (ALTER EXTENSION gpubill UPDATE); the current version's script is
# the one built from src/sql (test/upgrade.sh: equal to its frozen copy)
DATA        = $(filter-out updates/gpubill--$(EXTVERSION).sql,$(wildcard updates/gpubill--*.sql))

# pg_regress: sql/NAME.sql against expected/NAME.out
REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --load-extension=gpubill

# pg_isolation_regress: specs/NAME.spec against expected/NAME.out (deterministic interleavings)
ISOLATION = $(patsubst specs/%.spec,%,$(sort $(wildcard specs/*.spec)))
ISOLATION_OPTS = --load-extension=gpubill

# Warnings on; -Werror is our CI's (scripts/test.sh builds with COPT=-Werror,
# with gcc and with clang), not the users': their compiler may warn on
# Debian's own flags or PostgreSQL's headers
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter

PG_CONFIG ?= pg_config

# Debian's server is built with LLVM, so PGXS also wants clang for JIT
# bitcode; without clang, build without it.
ifeq ($(shell command -v clang-14 2>/dev/null || command -v clang 2>/dev/null),)
override with_llvm = no
endif

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

gpubill--$(EXTVERSION).sql: $(SQL_SOURCES) gpubill.control
	cat $(SQL_SOURCES) > $@

gpubill_proxy--$(EXTVERSION).sql: $(PROXY_SOURCES) gpubill_proxy.control
	cat $(PROXY_SOURCES) > $@

EXTRA_CLEAN = results regression.diffs regression.out output_iso

# pgTAP (test/*.sql) against the installed extension, in a database of its
# own (PROVE_DB); make installcheck runs it first, then pg_regress and
# pg_isolation_regress.  Needs pgTAP installed (postgresql-15-pgtap, pg_prove).
PROVE_DB ?= gpubill_prove
PSQL_ADMIN = psql -X -q -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning'
prove_installcheck:
	$(PSQL_ADMIN) -d postgres -c 'DROP DATABASE IF EXISTS $(PROVE_DB)' -c 'CREATE DATABASE $(PROVE_DB)'
	$(PSQL_ADMIN) -d $(PROVE_DB) -c 'CREATE EXTENSION gpubill' -c 'CREATE EXTENSION pgtap'
	pg_prove -f -d $(PROVE_DB) $(sort $(wildcard test/*.sql))
	$(PSQL_ADMIN) -d postgres -c 'DROP DATABASE $(PROVE_DB)'

installcheck: $(if $(SKIP_PROVE),,prove_installcheck)	# SKIP_PROVE=1: pg_regress and isolation only (scripts/valgrind.sh)
.PHONY: prove_installcheck
