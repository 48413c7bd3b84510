#!/usr/bin/env bash
# TAP: contract resale across partitions (issue 18, the resale saga; R-EXC-6, R-EXC-7, R-EXC-1, R-EXC-4).
#  - three resellers resell the rest of their 120-day contracts below, at and
#    above the original price to buyers on the other partition: the same new
#    contracts, schedules, resale months, provider wallet and receipts as on
#    one database; the new contract lives on the buyer's partition;
#  - the exchange's clearing: paid into on the buyers' partition, paid out of
#    on the resellers'; over the term it nets to zero across partitions, and
#    verify() through the proxy checks every resale has both its sides;
#  - refusals on the buyer's side (GB001 cannot pay, GB003 currency, P0002
#    unknown) are raised as one database raises them and leave nothing: the
#    contract active again, no new contract, nothing held;
#  - a resale between its steps (a proxy that died after step 1, or after
#    step 2) blocks payments, terminations, other resales and its clock
#    (GB004) until the proxy's re-drive ends it: abandoned, or committed on
#    both sides; a late acceptance of an abandoned resale is refused;
#  - four resales of one contract at once to four buyers: exactly one;
#  - the buyer's partition out of reach: the call fails clearly, the resale
#    stays pending; reachable again, the re-drive ends it.
# Needs a running cluster (PGHOST/PGPORT/PGUSER) with postgresql-15-plproxy.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/cluster.sh
export PGOPTIONS="-c client_min_messages=warning"
. scripts/tap.sh
sqlstate() { q $1 -c "DO \$\$ BEGIN PERFORM $2; RAISE WARNING 'none'; EXCEPTION WHEN OTHERS THEN RAISE WARNING '%', SQLSTATE; END \$\$" 2>&1 | sed -n 's/^WARNING: *//p'; }
px=$(cluster_partitions 2 gpubill_pr)
P=gpubill_pr_p
one=gpubill_pr_one
psql -qX -d postgres -c "DROP DATABASE IF EXISTS $one" -c "CREATE DATABASE $one" >/dev/null
q $one -c "CREATE EXTENSION gpubill" >/dev/null

# the customers: resellers and buyers, each buyer on the other partition than its reseller
names="'below', 'equal', 'above', 'poor', 'euro', 'stuck', 'late', 'race', 'cut', 'frozen'"
q $px -c "SELECT count(gpubill.open_customer('pr-' || n, 'USD', '2026-11-01')) FROM unnest(ARRAY[$names]) n" >/dev/null
part() { q $px -c "SELECT gpubill.partition_of(gpubill.open_customer('$1', '${2:-USD}', '2026-11-01'))"; }
buyer() {	# a buyer name on the other partition than reseller $1
	local want=$((1 - $(part pr-$1))) i
	for i in $(seq 1 60); do
		if [ "$(part pr-buy-$1-$i ${2:-USD})" = "$want" ]; then echo pr-buy-$1-$i; return; fi
	done
}
declare -A B
for r in below equal above stuck late race cut frozen; do B[$r]=$(buyer $r); done
B[poor]=$(buyer poor); B[euro]=$(buyer euro EUR)
racers=""
for i in $(seq 1 60); do
	b=pr-buy-race-r$i
	[ "$(part $b)" = "$((1 - $(part pr-race)))" ] && racers="$racers $b"
	[ $(wc -w <<<"$racers") = 4 ] && break
done

setup="SET search_path = gpubill, public;
SELECT open_provider('pr-prov', 'USD', '2026-11-01') AS pv \\gset
SELECT count(recharge(open_customer('pr-' || n, 'USD', '2026-11-01'), '20000.00 USD', 'stripe', 'pr-r-' || n, '2026-11-01')) FROM unnest(ARRAY[$names]) n;
SELECT count(create_contract(open_customer('pr-' || n, 'USD', '2026-11-01'), :pv, 1, '10.00 USD', '[2026-12-01 00:00+08, 2027-03-31 00:00+08)',
	'2026-11-20 10:00+08', 'pr-k-' || n)) FROM unnest(ARRAY[$names]) n;
SELECT count(recharge(open_customer(b, 'USD', '2026-11-01'), '20000.00 USD', 'stripe', 'pr-r-' || b, '2026-11-01'))
FROM unnest(ARRAY['${B[below]}', '${B[equal]}', '${B[above]}', '${B[stuck]}', '${B[late]}', '${B[cut]}', '${B[frozen]}'$(printf ", '%s'" $racers)]) b;
SELECT count(recharge(open_customer('pr-frozen', 'USD', '2026-11-01'), '10000.00 USD', 'stripe', 'pr-r-frozen-more', '2026-11-01'));
SELECT count(recharge(open_customer('${B[poor]}', 'USD', '2026-11-01'), '100.00 USD', 'stripe', 'pr-r-poorbuyer', '2026-11-01'));
SELECT count(recharge(open_customer('${B[euro]}', 'EUR', '2026-11-01'), '20000.00 EUR', 'stripe', 'pr-r-eurobuyer', '2026-11-01'));
SELECT count(tick('2027-01-05 00:00+08'));"
q $one -f - <<<"$setup" >/dev/null
q $px -f - <<<"$setup" >/dev/null
k() { q $1 -c "SELECT gpubill.create_contract(gpubill.open_customer('pr-$2', 'USD', '2026-11-01'), gpubill.open_provider('pr-prov', 'USD', '2026-11-01'), 1, '10.00 USD', '[2026-12-01 00:00+08, 2027-03-31 00:00+08)', '2026-11-20 10:00+08', 'pr-k-$2')"; }
c() { q $1 -c "SELECT gpubill.open_customer('$2', '${3:-USD}', '2026-11-01')"; }
resell() { q $1 -c "SELECT gpubill.resell_contract($(k $1 $2), $(c $1 $3), '$4', '2027-01-05 10:00+08')"; }

# R-EXC-6, R-EXC-7 across partitions: below, at and above the original price
declare -A N
for r in below:9.50 equal:10.00 above:12.00; do
	N[$r]=$(resell $px ${r%%:*} ${B[${r%%:*}]} "${r#*:} USD")
	resell $one ${r%%:*} ${B[${r%%:*}]} "${r#*:} USD" >/dev/null
done
ok "$(for r in below:9.50 equal:10.00 above:12.00; do echo -n "$(q $px -c "SELECT gpubill.partition_of(${N[$r]}) = gpubill.partition_of($(c $px ${B[${r%%:*}]})) AND gpubill.partition_of(${N[$r]}) <> gpubill.partition_of($(k $px ${r%%:*}))") "; done)" "t t t " \
	"three contracts resold to buyers on the other partition: each new contract lives on its buyer's partition"
newk="SELECT format('%s %s %s %s', u.external_ref, k.term, k.state, k.total)
	FROM gpubill.contract k JOIN gpubill.customer u USING (customer_id) WHERE k.resold_from IS NOT NULL"
ok "$(for p in 0 1; do q $P$p -c "$newk"; done | sort | md5sum)" "$(q $one -c "$newk" | sort | md5sum)" \
	"the new contracts (buyer, term, state, total) are one database's"
sched="SELECT format('%s %s %s %s %s', u.external_ref, s.seq, s.due_at, s.customer_pays, s.from_deposit)
	FROM gpubill.contract k JOIN gpubill.customer u USING (customer_id), gpubill.contract_schedule(k.contract_id) s WHERE k.resold_from IS NOT NULL"
ok "$(for p in 0 1; do q $P$p -c "$sched"; done | sort | md5sum)" "$(q $one -c "$sched" | sort | md5sum)" "and so are their schedules"
months="SELECT format('%s %s %s %s', u.external_ref, m.due_at, m.original, m.resold)
	FROM gpubill.resale_month m JOIN gpubill.customer u ON u.customer_id = m.reseller_id"
ok "$(for p in 0 1; do q $P$p -c "$months"; done | sort | md5sum)" "$(q $one -c "$months" | sort | md5sum)" \
	"the resale months (the provider's original price, the new one) on the resellers' partitions are one database's"
ok "$(resell $px below ${B[below]} '9.50 USD')" "${N[below:9.50]}" "the same resale again through the proxy returns the same contract"
ok "$(sqlstate $px "gpubill.resell_contract($(k $px below), $(c $px ${B[equal]}), '9.00 USD', '2027-01-05 11:00+08')")" "GB004" "a contract is resold once (GB004)"

# refusals on the buyer's side: as one database raises them, nothing left behind
left="SELECT (SELECT state FROM gpubill.contract WHERE contract_id = %s) || ' ' || (SELECT count(*) FROM gpubill.contract WHERE resold_from IS NOT NULL)"
both() { for p in 0 1; do q $P$p -c "$1"; done | awk '{ s += $1 } END { print s }'; }	# a count summed over the partitions
before_new=$(both "SELECT count(*) FROM gpubill.contract WHERE resold_from IS NOT NULL")
err_one=$(resell $one poor ${B[poor]} '9.00 USD' 2>&1 | grep -o 'insufficient funds.*' || true)
ok "$(resell $px poor ${B[poor]} '9.00 USD' 2>&1 | grep -o 'insufficient funds.*' || true)" "$err_one" \
	"a buyer on the other partition who cannot cover the initial payment: one database's error ($err_one)"
ok "$(sqlstate $px "gpubill.resell_contract($(k $px poor), $(c $px ${B[poor]}), '9.00 USD', '2027-01-05 10:00+08')")" "GB001" "with GB001 (R-EXC-1)"
ok "$(q $P$(part pr-poor) -c "SELECT state FROM gpubill.contract WHERE contract_id = $(k $px poor)") $(both "SELECT count(*) FROM gpubill.contract WHERE resold_from IS NOT NULL") $(q $px -c "SELECT held FROM gpubill.wallet($(c $px ${B[poor]}))")" \
	"active $before_new 0.00 USD" "and leaves nothing: the contract active, no new contract, nothing held"
ok "$(q $P$(part pr-poor) -c "SELECT string_agg(state, ',') FROM gpubill.resale_step WHERE contract_id = $(k $px poor)")" "abandoned,abandoned" "the resale steps are abandoned"
ok "$(sqlstate $px "gpubill.resell_contract($(k $px euro), $(c $px ${B[euro]} EUR), '9.00 USD', '2027-01-05 10:00+08')")" "GB003" "a buyer paying in EUR: GB003"
other=$((1 - $(part pr-poor)))
ok "$(sqlstate $px "gpubill.resell_contract($(k $px poor), ($other::bigint << 48) + 987654321, '9.00 USD', '2027-01-05 10:00+08')")" "P0002" "an unknown buyer: P0002"
ok "$(q $P$(part pr-euro) -c "SELECT state FROM gpubill.contract WHERE contract_id = $(k $px euro)")" "active" "each leaves the contract active"

# a proxy that died after step 1: the contract is left alone until the re-drive abandons the resale
ks=$(k $px stuck); kp=$(part pr-stuck)
q $px -c "SELECT resale FROM gpubill.begin_resale($ks, $(c $px ${B[stuck]}), '10.00 USD', '2027-01-05 10:00+08')" >/dev/null
ok "$(q $px -c "SELECT gpubill.contract_state($ks)")" "resale_pending" "between the steps the contract is resale_pending"
ok "$(sqlstate $px "gpubill.terminate_contract($ks, 'provider', '2027-01-05 11:00+08')") $(sqlstate $px "gpubill.resell_contract($ks, $(c $px ${B[late]}), '10.00 USD', '2027-01-05 11:00+08')")" \
	"GB004 GB004" "it is not terminated or resold to another meanwhile (GB004)"
q $P$kp -c "SELECT gpubill.set_approved(gpubill.open_customer('pr-stuck', 'USD', '2026-11-01'), true)" >/dev/null
ok "$(sqlstate $px "gpubill.pay_contract($ks, '6696.00 USD', 'pr-pay-stuck', '2027-01-05 11:00+08')")" "GB004" "nor paid (GB004)"
ok "$(q $px -c "SELECT gpubill.redrive_resales('1 hour')")" "0" "a re-drive leaves it while it is young"
ok "$(q $px -c "SELECT gpubill.redrive_resales('0 seconds')") $(q $px -c "SELECT gpubill.contract_state($ks)")" "1 active" \
	"the re-drive abandons it (the buyer's partition accepted nothing): active again"
sid=$(q $P$kp -c "SELECT resale_id FROM gpubill.resale_step WHERE contract_id = $ks")
ok "$(sqlstate $px "gpubill.accept_resale($sid, $ks, $(c $px ${B[stuck]}), $(q $px -c "SELECT gpubill.open_provider('pr-prov', 'USD', '2026-11-01')"), 1, '10.00 USD', '[2027-02-01 00:00+08, 2027-03-31 00:00+08)', '2027-01-05 10:00+08')")" \
	"GB004" "a late acceptance of the abandoned resale is refused"

# a proxy that died after step 2: the re-drive commits on the reseller's side
kl=$(k $px late); lp=$(part pr-late)
q $px -c "SELECT gpubill.accept_resale(b.resale, $kl, $(c $px ${B[late]}), b.provider, b.gpus, '11.00 USD', b.term, b.t)
	FROM gpubill.begin_resale($kl, $(c $px ${B[late]}), '11.00 USD', '2027-01-05 10:00+08') b" >/dev/null
ok "$(q $px -c "SELECT gpubill.contract_state($kl)") $(q $P$((1 - lp)) -c "SELECT count(*) FROM gpubill.contract WHERE resold_from = $kl")" "resale_pending 1" \
	"accepted on the buyer's partition, not committed on the reseller's"
ok "$(q $px -c "SELECT count(*) FILTER (WHERE NOT ok) FROM gpubill.verify()")" "0" "verify() accepts a resale between its steps"
q $px -c "SELECT gpubill.redrive_resales('0 seconds')" >/dev/null
ok "$(q $P$lp -c "SELECT state || ' ' || (resold_to IS NOT NULL) || ' ' || (resale_at = '2027-02-01 00:00+08') FROM gpubill.contract WHERE contract_id = $kl")" "active true true" \
	"the re-drive commits it: resold from Feb 1"
ok "$(resell $px late ${B[late]} '11.00 USD')" "$(q $P$((1 - lp)) -c "SELECT contract_id FROM gpubill.contract WHERE resold_from = $kl")" "and the caller's retry finds the new contract"

# four resales of one contract at once: exactly one
kr=$(k $px race)
for b in $racers; do
	q $px -c "SELECT gpubill.resell_contract($kr, $(c $px $b), '10.50 USD', '2027-01-05 10:00+08')" >/dev/null 2>&1 &
done
wait
ok "$(both "SELECT count(*) FROM gpubill.contract WHERE resold_from = $kr") $(q $P$(part pr-race) -c "SELECT count(*) FROM gpubill.resale_step WHERE contract_id = $kr AND state = 'committed'") $(q $P$(part pr-race) -c "SELECT count(*) FROM gpubill.resale_step WHERE state = 'pending'")" \
	"1 1 0" "four resales of one contract at once to four buyers: exactly one, none left pending"
ok "$(for b in $racers; do q $px -c "SELECT held FROM gpubill.wallet($(c $px $b))"; done | grep -c '^0.00 USD$')" "3" \
	"the three refused buyers hold nothing"

# the buyer's partition out of reach: fails clearly, stays pending; reachable again, ended by the re-drive
kc=$(k $px cut); cp=$(part pr-cut); cut_buyer=$(c $px ${B[cut]})
q postgres -c "ALTER DATABASE $P$((1 - cp)) ALLOW_CONNECTIONS false" -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '$P$((1 - cp))'" >/dev/null
out=$(q $px -c "SELECT gpubill.resell_contract($kc, $cut_buyer, '10.00 USD', '2027-01-05 10:00+08')" 2>&1 || true)
ok "$(grep -q "$P$((1 - cp))" <<<"$out" && echo named) $(q $P$cp -c "SELECT state FROM gpubill.contract WHERE contract_id = $kc")" "named resale_pending" \
	"the buyer's partition out of reach: the call fails naming it, the contract stays resale_pending"
q postgres -c "ALTER DATABASE $P$((1 - cp)) ALLOW_CONNECTIONS true" >/dev/null
q $px -c "SELECT gpubill.redrive_resales('0 seconds')" >/dev/null
ok "$(q $P$cp -c "SELECT state FROM gpubill.contract WHERE contract_id = $kc") $(q $P$cp -c "SELECT string_agg(state, ',') FROM gpubill.resale_step WHERE contract_id = $kc")" "active abandoned" \
	"reachable again, the re-drive abandons it (nothing was accepted): on neither side"

# a resale pending over its effective time: the contract's clock waits for it
kf=$(k $px frozen); fp=$(part pr-frozen)
q $px -c "SELECT resale FROM gpubill.begin_resale($kf, $(c $px ${B[frozen]}), '10.00 USD', '2027-01-05 10:00+08')" >/dev/null
ticks="SELECT count(gpubill.tick(d)) FROM generate_series(timestamptz '2027-01-06 00:00+08', '2027-02-02 00:00+08', interval '3 days') d"
q $one -c "$ticks" >/dev/null
q $px -c "$ticks" >/dev/null
ok "$(q $P$fp -c "SELECT state FROM gpubill.contract WHERE contract_id = $kf") $(q $P$fp -c "SELECT paid_at IS NULL FROM gpubill.contract_payment WHERE contract_id = $kf AND due_at = '2027-02-01 00:00+08'")" \
	"resale_pending t" "ticked past Feb 1 with its resale pending, the contract's Feb 1 payment waits"
q $px -c "SELECT gpubill.redrive_resales('0 seconds')" >/dev/null
q $px -c "SELECT gpubill.tick('2027-02-02 01:00+08')" >/dev/null
ok "$(q $P$fp -c "SELECT state FROM gpubill.contract WHERE contract_id = $kf") $(q $P$fp -c "SELECT paid_at IS NOT NULL FROM gpubill.contract_payment WHERE contract_id = $kf AND due_at = '2027-02-01 00:00+08'")" \
	"active t" "abandoned by the re-drive, the next tick takes it"

# the term runs out: the provider received the original prices, the clearing nets to zero across partitions
ticks="SELECT count(gpubill.tick(d)) FROM generate_series(timestamptz '2027-02-03 00:00+08', '2027-04-06 00:00+08', interval '5 days') d"
q $one -c "$ticks" >/dev/null
q $px -c "$ticks" >/dev/null
ok "$(q $px -c "SELECT count(*) FROM (SELECT contract_id FROM gpubill.resale_sides_everywhere() GROUP BY 1 HAVING count(*) FILTER (WHERE settled) = 2) x")" "5" \
	"five resales settled on both sides (below, equal, above, the re-driven one and the race's winner)"
wallet="SELECT (w.*)::text FROM gpubill.provider_wallet(gpubill.open_provider('pr-prov', 'USD', '2026-11-01')) w"
prem="SELECT string_agg(format('%s %s %s', u.external_ref, r.kind, r.gross), '; ' ORDER BY u.external_ref, r.kind, r.at)
	FROM gpubill.contract_receipt r JOIN gpubill.customer u USING (customer_id) WHERE u.external_ref IN ('pr-below', 'pr-equal', 'pr-above')"
ok "$(for p in 0 1; do q $P$p -c "$prem"; done | grep -v '^$' | tr '\n' ';' | sed 's/; */\n/g' | sort | md5sum)" "$(q $one -c "$prem" | sed 's/; */\n/g' | sort | md5sum)" \
	"the receipts of the three resold contracts (payments, premiums, deposit refunds) are one database's"
clear="SELECT coalesce(sum(balance_exact), 0) = 0 FROM gpubill.accounts WHERE owner_kind = 'platform' AND purpose = 'clearing'"
ok "$(q $P$(part pr-below) -c "$clear") $(q $P$((1 - $(part pr-below))) -c "$clear") $(q $px -c "$clear")" "f f t" \
	"the clearing is paid out on the resellers' partition and in on the buyers', and nets to zero across partitions"
ok "$(q $px -c "SELECT count(*) FILTER (WHERE check_name LIKE '%(across partitions)') || ' ' || count(*) || ' ' || bool_and(ok) FROM gpubill.verify() WHERE check_name LIKE '%resale%'")" \
	"2 8 true" \
	"verify() checks the resales on each partition and across them: all ok"
ok "$(q $px -c "SELECT count(*) FILTER (WHERE NOT ok) FROM gpubill.verify()")" "0" "verify() through the proxy is all ok"
ok "$(q $px -c "SELECT count(*) FROM (SELECT currency FROM gpubill.accounts GROUP BY 1 HAVING sum(balance_exact) <> 0) x")" "0" \
	"every currency sums to zero over both partitions"

for d in proxy p0 p1 one; do psql -qX -d postgres -c "DROP DATABASE gpubill_pr_$d WITH (FORCE)" >/dev/null; done
echo "1..$n"
