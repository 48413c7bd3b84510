#!/usr/bin/env bash
# demo.sh — build gpubill, start a throwaway cluster, print a tour of the types
# and the ledger, generate a marketplace (partners, machines, customers with
# varied behaviour), simulate a month of hourly ticks and print a report.
#   bash scripts/demo.sh [customers, default 2000]
#   bash scripts/demo.sh [customers, default 400] PARTITIONS
# With PARTITIONS (a power of two, e.g. 4) the month runs through a proxy
# database on that many partition databases (issues 17 and 18:
# scripts/demo_partitions.sql, the API and the views only — rentals,
# outages, a forced offline, withdrawals, contracts, resales across
# partitions, an offset) and ends with how the rows spread.
# The cluster is left running for exploring; the last lines say how to connect
# and how to remove it.  DEMO_KEEP=0 removes it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
parts=${2:-0}
customers=${1:-$([ "$parts" -gt 0 ] && echo 400 || echo 2000)}

. scripts/cluster.sh
cluster_prepare
CLUSTER_DB=gpubill_demo
[ "${DEMO_KEEP:-1}" = 1 ] || trap cluster_stop EXIT
cluster_start
if [ "$parts" -gt 0 ]; then
	CLUSTER_DB=$(cluster_partitions "$parts" gpubill_demo)
	echo "== a proxy database ($CLUSTER_DB) on $parts partition databases (gpubill_demo_p0 .. gpubill_demo_p$((parts - 1)))"
	started=$(date +%s)
	psql -X -q -d "$CLUSTER_DB" -v partners=8 -v machines=60 -v customers="$customers" -f scripts/demo_partitions.sql
	echo "(generated and simulated in $(($(date +%s) - started)) s)"
	echo "How the rows spread (each partition: its own customers, instances and journal; every partner and machine, home or copy):"
	for k in $(seq 0 $((parts - 1))); do
		psql -X -q -d "gpubill_demo_p$k" -c "SELECT $k AS partition, (SELECT count(*) FROM gpubill.customer) AS customers,
			(SELECT count(*) FROM gpubill.instance) AS instances, (SELECT count(*) FROM gpubill.transfer) AS transfers,
			(SELECT count(*) FILTER (WHERE gpubill.partition_of(machine_id) = $k) || ' home / ' || count(*) FROM gpubill.machine) AS machines,
			(SELECT count(*) FROM gpubill.gpu_claim) AS gpu_claims_at_home" | sed -n "$([ $k = 0 ] && echo 1 || echo 3),3p"
	done
else
	psql -q -c "CREATE EXTENSION gpubill"
	psql -X -q -f scripts/demo.sql
	echo
	started=$(date +%s)
	psql -X -q -v partners=20 -v machines=300 -v customers="$customers" -f scripts/demo_market.sql
	echo "(generated and simulated in $(($(date +%s) - started)) s)"
fi
if [ "${DEMO_KEEP:-1}" = 1 ]; then
	cat <<MSG

The demo cluster is still running. Explore it with:
    $(command -v psql) -h $CLUSTER_DIR/sock -p $CLUSTER_PORT -U postgres $CLUSTER_DB
    -- e.g. SET search_path = gpubill, public; SELECT * FROM customer_statement LIMIT 20;
Remove it with:
    $( [ "$(id -u)" -eq 0 ] && echo "runuser -u postgres -- " )$CLUSTER_BIN/pg_ctl -D $CLUSTER_DIR/data stop && rm -rf $CLUSTER_DIR
MSG
fi
