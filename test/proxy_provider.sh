#!/usr/bin/env bash
# TAP: a provider's exchange wallet across partitions (issue 18; R-EXC-4).
# Labs on 2 partitions hold term contracts with one provider, pay them and
# are ticked into them; the provider's wallet through the proxy (every
# partition's part summed) equals one database's, and so do the exchange's
# contract receivables and the platform's commissions — with commission
# tiers, a month's tier set by the volume of the month before summed over
# the partitions (pushed by the proxy); a contract resold
# to a lab on the other partition.
# Needs a running cluster (PGHOST/PGPORT/PGUSER) with postgresql-15-plproxy.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/cluster.sh
export PGOPTIONS="-c client_min_messages=warning"
. scripts/tap.sh
px=$(cluster_partitions 2 gpubill_pp)
one=gpubill_pp_one
psql -qX -d postgres -c "DROP DATABASE IF EXISTS $one" -c "CREATE DATABASE $one" >/dev/null
q $one -c "CREATE EXTENSION gpubill" >/dev/null
scenario="SET search_path = gpubill, public;
SELECT count(open_provider('pp-dc', 'CNY', '2026-09-01'));
SELECT set_commission_tiers('[{\"from\": 0, \"rate\": 0.04}, {\"from\": 15000, \"rate\": 0.03}]');
CREATE TEMP TABLE lab AS SELECT i, open_customer('pp-lab-' || i, 'CNY', '2026-09-01') AS c FROM generate_series(1, 6) i;
SELECT count(set_b2b(c, true)), count(set_approved(c, true)) FROM lab;
SELECT count(recharge(c, '40000 CNY', 'bank_transfer', 'pp-wire-' || i, '2026-09-02')) FROM lab;
CREATE TEMP TABLE k AS SELECT i, create_contract(c, open_provider('pp-dc', 'CNY', '2026-09-01'), 1 + i % 2, '3.00 CNY',
	tstzrange('2026-10-01 00:00+08', '2026-12-30 00:00+08'), '2026-09-20 10:00+08', 'pp-c-' || i) AS id FROM lab;
SELECT count(pay_contract(id, (SELECT customer_pays FROM contract_schedule(id) WHERE seq = 1), 'pp-pay-' || i, '2026-09-25 10:00+08')) FROM k;
SELECT count(tick(d)) FROM generate_series(timestamptz '2026-10-01 01:00+08', '2026-10-06 01:00+08', interval '5 days') d;
SELECT count(pay_contract(id, (SELECT customer_pays FROM contract_schedule(id) WHERE seq = 2), 'pp-pay2-' || i, '2026-10-10 10:00+08')) FROM k WHERE i % 3 = 0;
SELECT count(tick(d)) FROM generate_series(timestamptz '2026-10-11 01:00+08', '2026-11-05 01:00+08', interval '5 days') d;"
q $one -c "$scenario" >/dev/null
q $px -c "$scenario" >/dev/null
ok "$(for k in 0 1; do q gpubill_pp_p$k -c "SELECT count(*) > 0 FROM gpubill.contract"; done | paste -sd' ')" "t t" "the provider's contracts live on both partitions"
# R-EXC-4: October's tier is set by September's volume, summed over the partitions
sept="SELECT gpubill.sum(gross) FROM gpubill.contract_receipt WHERE at < '2026-10-01 00:00+08'"
ok "$(q $one -c "$sept") $(for k in 0 1; do q gpubill_pp_p$k -c "SELECT gpubill.sum(gross) OPERATOR(gpubill.<) '15000 CNY' FROM gpubill.contract_receipt WHERE at < '2026-10-01 00:00+08'"; done | paste -sd' ')" \
	"20088.00 CNY t t" "the provider received 20088.00 in September: past the 15000 tier in all, on neither partition alone"
ok "$(for k in 0 1; do q gpubill_pp_p$k -c "SELECT volume FROM gpubill.provider_volume WHERE month = '2026-09-01'"; done | paste -sd' ') $(q $px -c "SELECT count(*) FROM gpubill.proxy_volume WHERE month = '2026-09-01'")" \
	"20088.0000000000000000 20088.0000000000000000 1" "the proxy summed September's volume once and pushed the same to both partitions"
ok "$(for k in 0 1; do q gpubill_pp_p$k -c "SELECT string_agg(DISTINCT rate::text, ',') FROM gpubill.contract_receipt WHERE at >= '2026-10-01 00:00+08'"; done | paste -sd' ') $(q $one -c "SELECT string_agg(DISTINCT rate::text, ',') FROM gpubill.contract_receipt WHERE at >= '2026-10-01 00:00+08'")" \
	"0.03,0.04 0.03,0.04 0.03,0.04" "the receipts on both partitions take the 3% tier in October (early payments), 4% in November (October's volume is lower), as on one database"
ok "$(for k in 0 1; do q gpubill_pp_p$k -c "SELECT count(*) FROM gpubill.volume_months_missing('2026-09-01 00:00+08', '2026-11-05 02:00+08')"; done | paste -sd' ')" "0 0" \
	"no partition misses a month's volumes"
fresh="SELECT since || ' ' || until FROM gpubill.proxy_volume_fresh"
before=$(q $px -c "$fresh")
ok "$(q $px -c "SELECT gpubill.push_volumes('2045-06-15 10:00+08')") $(q $px -c "$fresh")" "1 $before" \
	"a time far from every other (a bad input) pushes only the month a receipt then needs, not the twenty years between"

ok "$(q gpubill_pp_p0 -c "DO \$\$ BEGIN PERFORM gpubill.commission_rate(k.provider_id, '2027-03-02 00:00+08') FROM gpubill.contract k LIMIT 1; EXCEPTION WHEN OTHERS THEN RAISE WARNING '%', SQLSTATE; END \$\$" 2>&1 | sed -n 's/^WARNING: *//p')" \
	"GB004" "a partition asked for a tier whose month the proxy has not pushed refuses (GB004) rather than use its own part"
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
pick() { q gpubill_pp_p$1 -c "SELECT $2 FROM gpubill.contract k JOIN gpubill.customer c USING (customer_id) WHERE c.external_ref LIKE 'pp-lab-%' ORDER BY k.contract_id LIMIT 1"; }
seller=$(pick 0 external_ref); buyer=$(pick 1 external_ref)
k0=$(pick 0 contract_id)
resale="SELECT gpubill.tick('2026-11-09 10:00+08');	-- only an active contract is resold: the lab's wallet pays what is late
SELECT gpubill.resell_contract(%s, gpubill.open_customer('$buyer', 'CNY', '2026-09-01'), '3.30 CNY', '2026-11-10 10:00+08');"
q $one -c "$(printf "$resale" "(SELECT min(contract_id) FROM gpubill.contract WHERE customer_id = gpubill.open_customer('$seller', 'CNY', '2026-09-01'))")" >/dev/null
k1=$(q $px -c "$(printf "$resale" $k0)" | tail -1)
ok "$(q $px -c "SELECT gpubill.partition_of($k1)") $(q gpubill_pp_p0 -c "SELECT resold_to FROM gpubill.contract WHERE contract_id = $k0")" "1 $k1" \
	"a resale to a customer on another partition: the new contract on the buyer's partition, the old one resold as it"

# R-EXC-9 across partitions: an offset at the provider's home recovered from its receipts on both partitions
offset="SELECT gpubill.record_provider_offset(gpubill.open_provider('pp-dc', 'CNY', '2026-09-01'), '20000 CNY', 'overpaid in October', '2026-11-11 10:00+08', 'pp-off-1');
SELECT count(gpubill.tick(d)) FROM generate_series(timestamptz '2026-11-12 01:00+08', '2026-12-31 01:00+08', interval '3 days') d;"
q $one -c "$offset" >/dev/null
q $px -c "$offset" >/dev/null
w_one=$(q $one -c "SELECT (w.*)::text FROM gpubill.provider_wallet($prov_one) w")
ok "$(q $px -c "SELECT (w.*)::text FROM gpubill.provider_wallet($prov_px) w")" "$w_one" \
	"a 20000 offset recorded at the provider's home: the wallet, commission and outstanding through the proxy equal one database's $w_one"
ok "$(q $px -c "SELECT (w.offset_outstanding)::text FROM gpubill.provider_wallet($prov_px) w") $(for k in 0 1; do q gpubill_pp_p$k -c "SELECT count(*) > 0 FROM gpubill.transfer WHERE kind = 'offset'"; done | paste -sd' ')" \
	"$(q $one -c "SELECT (w.offset_outstanding)::text FROM gpubill.provider_wallet($prov_one) w") $([ "$(q $px -c "SELECT gpubill.partition_of($prov_px)")" = 0 ] && echo 't f' || echo 'f t')" \
	"recovered at the home only, partly from receipts on the other partition (offered there once)"
home=$(q $px -c "SELECT gpubill.partition_of($prov_px)")
ok "$(q gpubill_pp_p$((1 - home)) -c "SELECT count(*) > 0, count(DISTINCT receipt_id) = count(*) FROM gpubill.offset_offer")" "t|t" \
	"the other partition's receipts were offered, each once"
before=$(q $px -c "SELECT (w.*)::text FROM gpubill.provider_wallet($prov_px) w")
q $px -c "SELECT gpubill.tick('2026-12-31 01:00+08')" >/dev/null
ok "$(q $px -c "SELECT (w.*)::text FROM gpubill.provider_wallet($prov_px) w")" "$before" "a tick again recovers nothing more"
fee="SELECT string_agg(r.kind || ' ' || r.gross || ' ' || r.rate, ', ') FROM gpubill.contract_receipt r JOIN gpubill.contract k USING (contract_id) WHERE k.resold_from IS NOT NULL"
ok "$(q gpubill_pp_p1 -c "$fee")" "$(q $one -c "$fee")" \
	"the new contract's late payment brought its provider a reservation fee (R-EXC-5: the provider's, not clearing's), as on one database"
ok "$(q $one -c "$fee" | cut -d" " -f1)" "reservation_fee" "(on one database: $(q $one -c "$fee"))"

ok "$(q $px -c "SELECT count(*) FILTER (WHERE NOT ok) FROM gpubill.verify()")" "0" "verify() through the proxy is all ok"
for d in proxy p0 p1 one; do psql -qX -d postgres -c "DROP DATABASE gpubill_pp_$d WITH (FORCE)" >/dev/null; done
echo "1..$n"
