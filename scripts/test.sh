#!/usr/bin/env bash
# test.sh — build gpubill and run every test against a throwaway cluster:
# pg_regress (sql/ + expected/), pg_isolation_regress (specs/ + expected/)
# and pgTAP (test/).  Installs missing
# packages first when run as root.  Exit status 0 only if all tests pass.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/cluster.sh
cluster_prepare
trap cluster_stop EXIT
cluster_start

status=0
echo "== pg_regress and pg_isolation_regress"
if ! make -s installcheck PG_CONFIG="$PG_CONFIG" PGUSER=postgres; then
	[ -f regression.diffs ] && cat regression.diffs
	[ -f output_iso/regression.diffs ] && cat output_iso/regression.diffs
	status=1
fi

echo "== pgTAP"
psql -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION gpubill; CREATE EXTENSION pgtap;"
if ! pg_prove -f test/*.sql; then
	status=1
fi

echo "== concurrency (several real sessions)"
if ! prove --exec bash test/*.sh; then
	status=1
fi
exit $status
