#!/usr/bin/env bash
# TAP: the demo's marketplace through the proxy (scripts/demo_partitions.sql,
# what `scripts/demo.sh CUSTOMERS 4` runs for a month), shortened to two days
# of hourly ticks on 2 partitions: it runs through, every invariant holds
# (every partition's checks, settings and catalogue digests, GPU claims), the
# claims equal the running GPUs, and both partitions hold customers (issue 17);
# labs resell contracts and the provider gets an offset (issue 18).
# Needs a running cluster (PGHOST/PGPORT/PGUSER) with postgresql-15-plproxy.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/cluster.sh
export PGOPTIONS="-c client_min_messages=warning"
. scripts/tap.sh
px=$(cluster_partitions 2 gpubill_dp)
out=$(psql -X -q -d "$px" -v partners=4 -v machines=12 -v customers=60 -v days=2 -f scripts/demo_partitions.sql 2>&1) && rc=0 || rc=$?
ok "$rc" "0" "scripts/demo_partitions.sql runs through the proxy on 2 partitions (two days)"
[ "$rc" = 0 ] || printf '%s\n' "$out" | tail -20 | sed 's/^/# /'
ok "$(psql -X -qAt -d "$px" -c "SELECT count(*) FILTER (WHERE NOT ok) || ' of ' || (count(*) > 20) FROM gpubill.verify(full => true)")" "0 of true" \
	"verify(full => true) through the proxy: every check ok"
ok "$(psql -X -qAt -d "$px" -c "SELECT (SELECT coalesce(sum(gpus), 0) FROM gpubill.claimed_gpus_everywhere()) = (SELECT coalesce(sum(gpus), 0) FROM gpubill.running_gpus_everywhere())")" "t" \
	"the GPUs claimed at the machines' homes equal the GPUs running on the partitions"
ok "$(grep -c 'instance_hours' <<<"$out")" "1" "the report reads the month through the proxy's views"
ok "$(grep -A3 'resales | across_partitions' <<<"$out" | sed -n 3p | tr -d ' ' | cut -d'|' -f1)" "2" \
	"the exchange: two labs resold the rest of their contracts (a saga where the buyer lives on the other partition)"
ok "$(for k in 0 1; do psql -X -qAt -d gpubill_dp_p$k -c "SELECT count(*) FROM gpubill.offset_watch"; done | paste -sd' ')" "1 1" \
	"the provider's offset is watched on both partitions"
ok "$(for k in 0 1; do psql -X -qAt -d gpubill_dp_p$k -c "SELECT count(*) > 0 FROM gpubill.customer"; done | paste -sd' ')" "t t" \
	"both partitions hold customers"
for d in proxy p0 p1; do psql -qX -d postgres -c "DROP DATABASE gpubill_dp_$d WITH (FORCE)" >/dev/null; done
echo "1..$n"
