# gpubill — PGXS build.  EXTVERSION comes from gpubill.control; the install
# script gpubill--EXTVERSION.sql is the concatenation of src/sql/*.sql.

EXTENSION  = gpubill
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big = gpubill
OBJS = src/gpubill.o src/amount_io.o src/amount_ops.o src/amount_agg.o \
       src/period.o src/rating.o src/calc.o

SQL_SOURCES = $(sort $(wildcard src/sql/*/*.sql))
DATA_built  = $(EXTENSION)--$(EXTVERSION).sql
DATA        = $(wildcard updates/$(EXTENSION)--*--*.sql)

# pg_regress: sql/NAME.sql against expected/NAME.out
REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --load-extension=$(EXTENSION)

# pg_isolation_regress: specs/NAME.spec against expected/NAME.out (deterministic interleavings)
ISOLATION = $(patsubst specs/%.spec,%,$(sort $(wildcard specs/*.spec)))
ISOLATION_OPTS = --load-extension=$(EXTENSION)

PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter

PG_CONFIG ?= pg_config

# Debian's server is built with LLVM, so PGXS also wants clang for JIT
# bitcode; without clang, build without it.
ifeq ($(shell command -v clang-14 2>/dev/null || command -v clang 2>/dev/null),)
override with_llvm = no
endif

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(EXTENSION)--$(EXTVERSION).sql: $(SQL_SOURCES) $(EXTENSION).control
	cat $(SQL_SOURCES) > $@

EXTRA_CLEAN = results regression.diffs regression.out output_iso
