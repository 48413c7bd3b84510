#!/usr/bin/env bash
# demo.sh — build gpubill, start a throwaway cluster, print a tour of the types
# and the ledger, generate a marketplace (partners, machines, customers with
# varied behaviour), simulate a month of hourly ticks and print a report.
#   bash scripts/demo.sh [customers, default 2000]
# The cluster is left running for exploring; the last lines say how to connect
# and how to remove it.  DEMO_KEEP=0 removes it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
customers=${1:-2000}

. scripts/cluster.sh
cluster_prepare
CLUSTER_DB=gpubill_demo
[ "${DEMO_KEEP:-1}" = 1 ] || trap cluster_stop EXIT
cluster_start
psql -q -c "CREATE EXTENSION gpubill"
psql -X -q -f scripts/demo.sql
echo
started=$(date +%s)
psql -X -q -v partners=20 -v machines=300 -v customers="$customers" -f scripts/demo_market.sql
echo "(generated and simulated in $(($(date +%s) - started)) s)"
if [ "${DEMO_KEEP:-1}" = 1 ]; then
	cat <<MSG

The demo cluster is still running. Explore it with:
    $(command -v psql) -h $CLUSTER_DIR/sock -p $CLUSTER_PORT -U postgres $CLUSTER_DB
    -- e.g. SET search_path = gpubill, public; SELECT * FROM customer_statement LIMIT 20;
Remove it with:
    $( [ "$(id -u)" -eq 0 ] && echo "runuser -u postgres -- " )$CLUSTER_BIN/pg_ctl -D $CLUSTER_DIR/data stop && rm -rf $CLUSTER_DIR
MSG
fi
