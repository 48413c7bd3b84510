#!/usr/bin/env bash
# bench/ledger.sh — the ledger mix against pgbench's tpcb-like on one cluster.
#   bash bench/ledger.sh [seconds per run, default 10]
# Prints tps of: tpcb-like (scale 10), the ledger mix with fees spread over
# 100 partners' income accounts, and the same mix with every fee landing on
# the one platform fee account; then the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
clients=8

. scripts/cluster.sh
cluster_prepare
trap cluster_stop EXIT
cluster_start "max_connections = 50"

pgbench -i -q -s 10 >/dev/null 2>&1
psql -qX -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE EXTENSION gpubill;
SELECT gpubill.open_customer('bench-' || i, 'CNY', '2026-11-01') FROM generate_series(1, 1000) i;
SELECT gpubill.open_partner('bench-partner-' || i, 'CNY', '2026-11-01') FROM generate_series(1, 100) i;
SELECT gpubill.recharge(customer_id, '1000000 CNY', 'wechat', 'bench-init-' || customer_id, '2026-11-01')
FROM gpubill.customer;
CHECKPOINT;
SQL
range() { psql -qXAt -c "SELECT min($1) || ' ' || max($1) FROM gpubill.$2"; }
read -r cmin cmax <<<"$(range customer_id customer)"
read -r pmin pmax <<<"$(range partner_id partner)"

tps() { pgbench -n -c $clients -j 2 -T "$secs" "$@" 2>&1 | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'; }
mix() {
	tps -D cmin=$cmin -D cmax=$cmax -D pmin=$pmin -D pmax=$pmax -D spread=$1 \
		-f bench/pgbench/settle.sql@6 -f bench/pgbench/release.sql@2 -f bench/pgbench/recharge.sql@2
}
# three rounds, alternating, so that drift (autovacuum, a growing journal)
# falls on every configuration alike; the median of each is reported
b=() s=() h=()
for round in 1 2 3; do
	b+=("$(tps -b tpcb-like)")
	s+=("$(mix 1)")
	h+=("$(mix 0)")
done
median() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
base=$(median "${b[@]}") spread=$(median "${s[@]}") hot=$(median "${h[@]}")

echo "clients $clients, $secs s per run, median of 3 rounds (tps of each round in brackets)"
printf '%-46s %10s  [%s]\n' "tpcb-like (scale 10)" "$base" "${b[*]}" \
	"ledger mix, fees spread over 100 partners" "$spread" "${s[*]}" \
	"ledger mix, every fee on one platform account" "$hot" "${h[*]}"
awk -v b="$base" -v s="$spread" -v h="$hot" 'BEGIN {
	printf "ledger mix / tpcb-like      = %.2f (target >= 0.70)\n", s / b;
	printf "hot account / spread        = %.2f (target >= 0.90)\n", h / s }'
psql -qXAt -c "SELECT 'verify: ' || string_agg(check_name || '=' || ok, ', ') FROM gpubill.verify()"
