#!/usr/bin/env bash
# bench/history.sh — the cost of reads and of tick with 12 months of history
# against 1 month, in one run (issue 14).
#   bash bench/history.sh [customers, default 2000]
# A year of journal is written set-based (bench/history_fixture.sql: per
# customer a recharge a month and an order line every 3 hours with its two
# transfers; 2 000 customers: about 1 million transfers a month, 12.5 million
# in all), each month closed once the next is written (close_period).
# Measured twice, with the same open month's volume: after January 2026
# (1 closed month, February open) and after December 2026 (12 closed months,
# January 2027 open): verify(), each statement view for the open month, and
# one tick boundary settling a PAYG instance per customer (in a transaction
# rolled back).  Each figure is the median of 5 runs after a warm-up; the
# ratio is 12 months / 1 month, target <= 1.2 (flat in history).
set -euo pipefail
cd "$(dirname "$0")/.."
customers=${1:-2000}

. scripts/cluster.sh
cluster_prepare
trap cluster_stop EXIT
cluster_start "work_mem = '16MB'" "maintenance_work_mem = '256MB'" "max_wal_size = '8GB'" "autovacuum = off"
export PGDATABASE=bench_history
PGOPTIONS="-c client_min_messages=warning" psql -qX -d postgres -c "DROP DATABASE IF EXISTS bench_history" -c "CREATE DATABASE bench_history"
psql -qX -v ON_ERROR_STOP=1 -c "CREATE EXTENSION gpubill" >/dev/null
psql -qX -v ON_ERROR_STOP=1 -v customers="$customers" -f bench/history_fixture.sql >/dev/null

q() { PGOPTIONS="-c client_min_messages=warning -c TimeZone=UTC -c search_path=gpubill,public" psql -qXAt -v ON_ERROR_STOP=1 "$@"; }
# write month $1 (first day) and close the month before it
month() {
	q -c "SELECT public.hist_month('$1')" >/dev/null
	if [ -n "${2:-}" ]; then q -c "SELECT gpubill.close_period('$2', (SELECT ends_at FROM gpubill.month_bounds('$1')))" >/dev/null; fi
	q -c "VACUUM ANALYZE" >/dev/null
}
# median ms of 5 runs (after a warm-up) of a statement, in a transaction rolled back
ms() {
	local runs=()
	for r in 0 1 2 3 4 5; do
		t=$(q <<SQL
BEGIN;
SELECT clock_timestamp() AS started \gset
$1
SELECT round(extract(epoch FROM clock_timestamp() - :'started') * 1000, 1);
ROLLBACK;
SQL
)
		[ "$r" = 0 ] || runs+=("$(echo "$t" | tail -1)")
	done
	printf '%s\n' "${runs[@]}" | sort -g | sed -n 3p
}
# the figures of the state with the open month starting on $1, instances due at $2
measure() {
	local m=$1 due=$2
	q -c "SELECT public.hist_instances('$due')" >/dev/null
	q -c "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null
	echo "verify $(ms "SELECT count(*) FROM gpubill.verify() WHERE ok;")"
	echo "customer_statement $(ms "SELECT count(*), sum(charged) FROM gpubill.customer_statement WHERE month = '$m';")"
	echo "partner_statement $(ms "SELECT count(*), sum(income) FROM gpubill.partner_statement WHERE month = '$m';")"
	echo "platform_revenue $(ms "SELECT count(*), sum(service_fees) FROM gpubill.platform_revenue WHERE day >= '$m' AND day < date '$m' + interval '1 month';")"
	echo "instance_usage $(ms "SELECT count(*), sum(charged) FROM gpubill.instance_usage WHERE hour >= (SELECT starts_at FROM gpubill.month_bounds('$m')) AND hour < (SELECT ends_at FROM gpubill.month_bounds('$m'));")"
	echo "tick_boundary $(ms "SELECT gpubill.tick('$due') IS NOT NULL;")"
	q -c "SELECT public.hist_park()" >/dev/null
}

started=$(date +%s)
month 2026-01-01
month 2026-02-01 2026-01-01
one=$(measure 2026-02-01 '2026-02-28 22:00+08')
for k in 3 4 5 6 7 8 9 10 11 12; do
	month "$(printf '2026-%02d-01' $k)" "$(printf '2026-%02d-01' $((k - 1)))"
done
month 2027-01-01 2026-12-01
twelve=$(measure 2027-01-01 '2027-01-31 22:00+08')
transfers=$(q -c "SELECT count(*) FROM gpubill.transfer")
closed=$(q -c "SELECT count(*) FROM gpubill.closed_month")
ok=$(q -c "SELECT count(*) FILTER (WHERE NOT ok) FROM gpubill.verify()")
echo "$customers customers, $transfers transfers over 13 months ($closed closed), built and measured in $(($(date +%s) - started)) s"
echo "median of 5 runs in ms          1 month    12 months    ratio"
worst=0
while read -r name a; do
	b=$(echo "$twelve" | awk -v n="$name" '$1 == n {print $2}')
	r=$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", b / a}')
	printf '%-28s %10s %12s %8s\n' "$name" "$a" "$b" "$r"
	worst=$(awk -v w="$worst" -v r="$r" 'BEGIN {print (r > w) ? r : w}')
done <<< "$one"
echo "verify() failing checks at the end: $ok"
echo "history: worst ratio $worst (target <= 1.2)"
