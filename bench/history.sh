#!/usr/bin/env bash
# bench/history.sh — the cost of reads and of tick with 12 months of history
# against 1 month, in one run (issue 14).
#   bash bench/history.sh [customers, default 2000]
# A year of journal is written set-based (bench/history_fixture.sql: per
# customer a recharge a month and an order line every 3 hours with its two
# transfers; 2 000 customers: about 1 million transfers a month, 12.5 million
# in all), each month closed once the next is written (close_period).
# Two databases, with the same open month's volume: one with January 2026
# closed and February open (1 closed month), one with 2026 closed and January
# 2027 open (12 closed months).  verify(), each statement view for the open
# month, and one tick boundary settling a PAYG instance per customer (in a
# transaction rolled back) are timed in both alternately, so that the
# machine's drift falls on both alike: a warm-up, then the median of 5
# rounds; the ratio is 12 months / 1 month, target <= 1.2 (flat in history).
set -euo pipefail
cd "$(dirname "$0")/.."
customers=${1:-2000}

. scripts/cluster.sh
cluster_prepare
trap cluster_stop EXIT
cluster_start "work_mem = '16MB'" "maintenance_work_mem = '256MB'" "max_wal_size = '8GB'" "autovacuum = off"

q() { PGOPTIONS="-c client_min_messages=warning -c TimeZone=UTC -c search_path=gpubill,public" psql -qXAt -v ON_ERROR_STOP=1 "$@"; }
# a database with the parties
database() {
	PGOPTIONS="-c client_min_messages=warning" psql -qX -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"
	q -d "$1" -c "CREATE EXTENSION gpubill" >/dev/null
	q -d "$1" -v customers="$customers" -f bench/history_fixture.sql >/dev/null
}
# write month $2 (first day) in database $1, and close the month before it ($3)
month() {
	q -d "$1" -c "SELECT public.hist_month('$2')" >/dev/null
	if [ -n "${3:-}" ]; then q -d "$1" -c "SELECT gpubill.close_period('$3', (SELECT ends_at FROM gpubill.month_bounds('$2')))" >/dev/null; fi
	q -d "$1" -c "VACUUM ANALYZE" >/dev/null
}
# ms of one run of a statement in database $1, in a transaction rolled back
once() {
	q -d "$1" <<SQL | tail -1
BEGIN;
SELECT clock_timestamp() AS started \gset
$2
SELECT round(extract(epoch FROM clock_timestamp() - :'started') * 1000, 1);
ROLLBACK;
SQL
}
median() { printf '%s\n' "$@" | sort -g | sed -n 3p; }
# a statement timed in both databases, alternately (a warm-up, then 5 rounds): "name ms_one ms_twelve";
# the statement is a function of the open month's first day ($1) and the instant of the boundary ($2)
both() {
	local a=() b=()
	for r in 0 1 2 3 4 5; do
		x=$(once hist_one "$($2 2026-02-01 '2026-02-28 22:00+08')")
		y=$(once hist_twelve "$($2 2027-01-01 '2027-01-31 22:00+08')")
		if [ "$r" != 0 ]; then a+=("$x"); b+=("$y"); fi
	done
	echo "$1 $(median "${a[@]}") $(median "${b[@]}")"
}
verify_sql() { echo "SELECT count(*) FROM gpubill.verify() WHERE ok;"; }
customer_sql() { echo "SELECT count(*), sum(charged) FROM gpubill.customer_statement WHERE month = '$1';"; }
partner_sql() { echo "SELECT count(*), sum(income) FROM gpubill.partner_statement WHERE month = '$1';"; }
revenue_sql() { echo "SELECT count(*), sum(service_fees) FROM gpubill.platform_revenue WHERE day >= '$1' AND day < date '$1' + interval '1 month';"; }
usage_sql() {
	echo "SELECT count(*), sum(charged) FROM gpubill.instance_usage
		  WHERE hour >= (SELECT starts_at FROM gpubill.month_bounds('$1')) AND hour < (SELECT ends_at FROM gpubill.month_bounds('$1'));"
}
tick_sql() { echo "SELECT gpubill.tick('$2') IS NOT NULL;"; }

started=$(date +%s)
# 1 closed month: January 2026 closed, February open
database hist_one
month hist_one 2026-01-01
month hist_one 2026-02-01 2026-01-01
q -d hist_one -c "SELECT public.hist_instances('2026-02-28 22:00+08')" >/dev/null
# 12 closed months: 2026 closed, January 2027 open
database hist_twelve
month hist_twelve 2026-01-01
for k in 2 3 4 5 6 7 8 9 10 11 12; do
	month hist_twelve "$(printf '2026-%02d-01' $k)" "$(printf '2026-%02d-01' $((k - 1)))"
done
month hist_twelve 2027-01-01 2026-12-01
q -d hist_twelve -c "SELECT public.hist_instances('2027-01-31 22:00+08')" >/dev/null
for db in hist_one hist_twelve; do q -d $db -c "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null; done

results=$(
	both verify verify_sql
	both customer_statement customer_sql
	both partner_statement partner_sql
	both platform_revenue revenue_sql
	both instance_usage usage_sql
	both tick_boundary tick_sql
)
transfers=$(q -d hist_twelve -c "SELECT count(*) FROM gpubill.transfer")
closed=$(q -d hist_twelve -c "SELECT count(*) FROM gpubill.closed_month")
ok=$(q -d hist_twelve -c "SELECT count(*) FILTER (WHERE NOT ok) FROM gpubill.verify(full => true)")
echo "$customers customers; 12 closed months: $transfers transfers over 13 months ($closed closed); built and measured in $(($(date +%s) - started)) s"
echo "median of 5 alternating runs, ms   1 month    12 months    ratio"
worst=0
while read -r name a b; do
	r=$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", b / a}')
	printf '%-31s %10s %12s %8s\n' "$name" "$a" "$b" "$r"
	worst=$(awk -v w="$worst" -v r="$r" 'BEGIN {print (r > w) ? r : w}')
done <<< "$results"
echo "verify(full => true) failing checks at the end (12 months): $ok"
echo "history: worst ratio $worst (target <= 1.2)"
