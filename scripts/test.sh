#!/usr/bin/env bash
# test.sh — build gpubill (gcc and clang, warnings as errors) and run every
# test against a throwaway cluster: make installcheck — pgTAP (test/*.sql),
# pg_regress (sql/ + expected/), pg_isolation_regress (specs/ + expected/) —
# and the TAP scripts (test/*.sh).  Installs missing
# packages first when run as root.  Exit status 0 only if all tests pass.
set -euo pipefail
cd "$(dirname "$0")/.."
# our builds treat warnings as errors (the Makefile does not: users' compilers may warn)
export COPT=-Werror

. scripts/cluster.sh
cluster_prepare
trap cluster_stop EXIT
# TCP on the loopback too: JDBC and the BI drivers connect by host and port (issue 16)
cluster_start "listen_addresses = '127.0.0.1'"
export CLUSTER_DIR CLUSTER_BIN	# test/proxy_fault.sh starts a second server of this installation

status=0
echo "== the C with clang, warnings as errors (but those of PostgreSQL's headers and Debian's gcc flags)"
if command -v clang >/dev/null; then
	tree=$(mktemp -d)
	cp -r Makefile ./*.control src "$tree/"
	if ! make -s -C "$tree" PG_CONFIG="$PG_CONFIG" CC=clang with_llvm=no \
		COPT="-Werror -Wno-ignored-attributes -Wno-ignored-optimization-argument -Wno-unknown-warning-option" >/dev/null; then
		status=1
	fi
	rm -rf "$tree"
fi

echo "== make installcheck: pgTAP, pg_regress and pg_isolation_regress"
if ! make -s installcheck PG_CONFIG="$PG_CONFIG" PGUSER=postgres; then
	[ -f regression.diffs ] && cat regression.diffs
	[ -f output_iso/regression.diffs ] && cat output_iso/regression.diffs
	status=1
fi

psql -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION gpubill; CREATE EXTENSION pgtap;"

echo "== concurrency (several real sessions)"
if ! prove --exec bash test/*.sh; then
	status=1
fi
exit $status
