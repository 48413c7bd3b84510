#!/usr/bin/env bash
# TAP: a provider's exchange wallet across partitions (issue 18; R-EXC-4).
# Labs on 2 partitions hold term contracts with one provider, pay them and
# are ticked into them; the provider's wallet through the proxy (every
# partition's part summed) equals one database's, and so do the exchange's
# contract receivables and the platform's commissions; a contract resold
# to a lab on the other partition.
# Needs a running cluster (PGHOST/PGPORT/PGUSER) with postgresql-15-plproxy.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/cluster.sh
export PGOPTIONS="-c client_min_messages=warning"
n=0
ok() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3"; echo "#   have: $1" | head -8; echo "#   want: $2" | head -3; fi; }
q() { local db=$1; shift; psql -qXAt -d "$db" -v ON_ERROR_STOP=1 "$@"; }
px=$(cluster_partitions 2 gpubill_pp)
one=gpubill_pp_one
psql -qX -d postgres -c "DROP DATABASE IF EXISTS $one" -c "CREATE DATABASE $one" >/dev/null
q $one -c "CREATE EXTENSION gpubill" >/dev/null
scenario="SET search_path = gpubill, public;
SELECT count(open_provider('pp-dc', 'CNY', '2026-09-01'));
CREATE TEMP TABLE lab AS SELECT i, open_customer('pp-lab-' || i, 'CNY', '2026-09-01') AS c FROM generate_series(1, 6) i;
SELECT count(set_b2b(c, true)), count(set_approved(c, true)) FROM lab;
SELECT count(recharge(c, '40000 CNY', 'bank_transfer', 'pp-wire-' || i, '2026-09-02')) FROM lab;
CREATE TEMP TABLE k AS SELECT i, create_contract(c, open_provider('pp-dc', 'CNY', '2026-09-01'), 1 + i % 2, '3.00 CNY',
	tstzrange('2026-10-01 00:00+08', '2026-12-30 00:00+08'), '2026-09-20 10:00+08', 'pp-c-' || i) AS id FROM lab;
SELECT count(pay_contract(id, (SELECT customer_pays FROM contract_schedule(id) WHERE seq = 1), 'pp-pay-' || i, '2026-09-25 10:00+08')) FROM k;
SELECT count(tick(d)) FROM generate_series(timestamptz '2026-10-01 01:00+08', '2026-11-05 01:00+08', interval '5 days') d;"
q $one -c "$scenario" >/dev/null
q $px -c "$scenario" >/dev/null
ok "$(for k in 0 1; do q gpubill_pp_p$k -c "SELECT count(*) > 0 FROM gpubill.contract"; done | paste -sd' ')" "t t" "the provider's contracts live on both partitions"
prov_one=$(q $one -c "SELECT gpubill.open_provider('pp-dc', 'CNY', '2026-09-01')")
prov_px=$(q $px -c "SELECT gpubill.open_provider('pp-dc', 'CNY', '2026-09-01')")
w_one=$(q $one -c "SELECT (w.*)::text FROM gpubill.provider_wallet($prov_one) w")
ok "$(q $px -c "SELECT (w.*)::text FROM gpubill.provider_wallet($prov_px) w")" "$w_one" \
	"the provider's wallet through the proxy, summed over the partitions, equals one database's $w_one"
home_bal=$(q gpubill_pp_p$(q $px -c "SELECT gpubill.partition_of($prov_px)") -c "SELECT (w.balance)::text FROM gpubill.provider_wallet($prov_px) w")
total_bal=$(q $px -c "SELECT (w.balance)::text FROM gpubill.provider_wallet($prov_px) w")
ok "$([ "$home_bal" != "$total_bal" ] && echo part)" "part" "(the provider's home alone holds only a part of it: $home_bal of $total_bal)"
rec="SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM (SELECT seq, due_at, customer_pays, paid, overdue FROM gpubill.contract_receivables) t"
ok "$(q $px -c "$rec")" "$(q $one -c "$rec")" "the contract receivables read through the proxy equal one database's"
com="SELECT gpubill.sum(commissions)::text FROM gpubill.platform_revenue"
ok "$(q $px -c "$com")" "$(q $one -c "$com")" "and so do the platform's commissions"
# resale across partitions: a saga (test/proxy_resale.sh); the new contract on the buyer's partition, the old one resold
pick() { q gpubill_pp_p$1 -c "SELECT $2 FROM gpubill.contract k JOIN gpubill.customer c USING (customer_id) WHERE c.external_ref LIKE 'pp-lab-%' ORDER BY 1 LIMIT 1"; }
k0=$(pick 0 contract_id); c1=$(pick 1 customer_id)
q $px -c "SELECT gpubill.tick('2026-11-09 10:00+08')" >/dev/null	# only an active contract is resold: the lab's wallet pays what is late
k1=$(q $px -c "SELECT gpubill.resell_contract($k0, $c1, '3.30 CNY', '2026-11-10 10:00+08')")
ok "$(q $px -c "SELECT gpubill.partition_of($k1)") $(q gpubill_pp_p0 -c "SELECT resold_to FROM gpubill.contract WHERE contract_id = $k0")" "1 $k1" \
	"a resale to a customer on another partition: the new contract on the buyer's partition, the old one resold as it"
ok "$(q $px -c "SELECT count(*) FILTER (WHERE NOT ok) FROM gpubill.verify()")" "0" "verify() through the proxy is all ok"
for d in proxy p0 p1 one; do psql -qX -d postgres -c "DROP DATABASE gpubill_pp_$d WITH (FORCE)" >/dev/null; done
echo "1..$n"
