#!/usr/bin/env bash
# bench/proxy.sh — the proxy's overhead (issue 18): the same calls on one
# database and through a proxy on 4 partition databases, in one cluster and
# one run, as ratios.
#   bash bench/proxy.sh [instances, default 40000] [seconds per pgbench run, default 10]
# Part 1: per call, pgbench (4 clients) — a read routed by customer
# (wallet()) and a write routed by customer (grant_voucher()) — tps through
# the proxy / tps on one database.
# Part 2: tick at one hour boundary — n running PAYG instances on one
# database (bench/tick_fixture.sql) against n/4 on each of 4 partitions
# ticked in parallel through the proxy; two rounds, each on a fresh fixture.
# One host with 2 cores runs all five databases: separate servers would
# give each partition its own cores and disks (see bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-40000}
secs=${2:-10}
. scripts/cluster.sh
cluster_prepare
trap cluster_stop EXIT
cluster_start "work_mem = '4MB'" "max_wal_size = '8GB'" "autovacuum = off" "max_connections = 200"
export PGOPTIONS="-c client_min_messages=warning"
q() { local db=$1; shift; psql -qXAt -d "$db" -v ON_ERROR_STOP=1 "$@"; }

# a database of n instances, or a proxy on 4 partitions of n/4 each (the fixture per partition, its own owner)
build() {
	psql -qX -d postgres -c "DROP DATABASE IF EXISTS bench_one WITH (FORCE)" -c "CREATE DATABASE bench_one" >/dev/null
	q bench_one -c "CREATE EXTENSION gpubill" >/dev/null
	q bench_one -v n="$n" -f bench/tick_fixture.sql >/dev/null
	px=$(cluster_partitions 4 bench_px)
	for k in 0 1 2 3; do
		sed "s/'bench-owner'/'bench-owner-$k'/; s/'bench-' || i/'bench-$k-' || i/" bench/tick_fixture.sql | q bench_px_p$k -v n=$((n / 4)) >/dev/null
	done
	q $px -c "SELECT gpubill.sync_catalog()" >/dev/null
}
ms() {
	q "$1" <<SQL | tail -1
SELECT clock_timestamp() AS s \gset
$2;
SELECT round(extract(epoch FROM clock_timestamp() - :'s') * 1000);
SQL
}
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

echo "== part 1: calls routed by customer, pgbench 4 clients x ${secs} s"
build
ids_one=$(q bench_one -c "SELECT string_agg(customer_id::text, ',') FROM (SELECT customer_id FROM gpubill.customer ORDER BY 1 LIMIT 200) c")
ids_px=$(for k in 0 1 2 3; do q bench_px_p$k -c "SELECT string_agg(customer_id::text, ',') FROM (SELECT customer_id FROM gpubill.customer ORDER BY 1 LIMIT 50) c"; done | paste -sd, -)
dir=$(mktemp -d); chmod 755 "$dir"
tps() {	# db ids kind
	local f=$dir/$3.sql
	{ echo "\\set i random(1, 200)"
	  case $3 in
		read) echo "SELECT cash FROM gpubill.wallet((ARRAY[$2])[:i]);" ;;
		write) echo "SELECT gpubill.grant_voucher((ARRAY[$2])[:i], '0.01 CNY', at => '2026-11-02 10:45+08');" ;;
	  esac; } >"$f"
	pgbench -n -M simple -c 4 -j 2 -T "$secs" -f "$f" "$1" 2>&1 | sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}
for kind in read write; do
	a=$(tps bench_one "$ids_one" $kind)
	b=$(tps bench_px_proxy "$ids_px" $kind)
	printf '%-6s one database %9.1f tps   proxy on 4 partitions %9.1f tps   proxy / one = %s\n' "$kind" "$a" "$b" \
		"$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }')"
	printf '       per call: %.2f ms against %.2f ms (+%.2f ms)\n' "$(awk -v t="$b" 'BEGIN { print 4000 / t }')" \
		"$(awk -v t="$a" 'BEGIN { print 4000 / t }')" "$(awk -v a="$a" -v b="$b" 'BEGIN { print 4000 / b - 4000 / a }')"
done

echo "== part 2: tick at one hour boundary, $n instances on one database vs $((n / 4)) on each of 4 partitions in parallel"
one=(); prox=()
for round in 1 2; do
	[ $round = 1 ] || build
	one+=("$(ms bench_one "SELECT gpubill.tick('2026-11-02 11:00+08') IS NOT NULL")")
	prox+=("$(ms bench_px_proxy "SELECT gpubill.tick('2026-11-02 11:00+08') IS NOT NULL")")
done
a=$(median "${one[@]}"); b=$(median "${prox[@]}")
printf '%-40s %8s ms  [%s]\n' "tick() on one database" "$a" "${one[*]}" "tick() through the proxy, 4 partitions" "$b" "${prox[*]}"
printf 'proxy / one database = %s\n' "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }')"
# (the fixture inserts its instances set-based, without GPU claims: that check is left out)
q bench_px_proxy -c "SELECT count(*) FILTER (WHERE NOT ok) FROM gpubill.verify() WHERE check_name NOT LIKE 'GPU claims%'" \
	| sed 's/^/verify() through the proxy, failing checks (GPU claims aside): /'
rm -rf "$dir"
