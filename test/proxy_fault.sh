#!/usr/bin/env bash
# TAP: the sagas when a partition's server crashes between their steps (issue 18, item 4).
# Partition 0 lives in the test cluster, partition 1 on a second server
# (scripts/cluster.sh cluster_server_start, synchronous_commit on) that is
# stopped with `pg_ctl stop -m immediate` — a crash — in the middle of:
#  - a withdrawal (begun at the partner's home, then the parts cannot be
#    summed): the call fails with a clear error; restarted, the proxy's tick
#    pays it once;
#  - an outage report: it succeeds at the home, the rest is queued; restarted,
#    tick compensates partition 1's renters once;
#  - a rental of a customer on partition 1 (claimed at the machine's home on
#    partition 0, then the partition is gone): the claim is released;
#  - ticks: partition 1 is skipped and caught up;
#  - a resale to a buyer on partition 1 (begun at the reseller's on
#    partition 0, then the buyer's partition is gone): left pending, then
#    abandoned by the re-drive; one whose reseller's partition crashed after
#    the buyer's accepted: committed once by the re-drive;
#  - an offset at the provider's home recovered from its receipts on
#    partition 1, crashed between the saga's steps: finished once by tick.
# Afterwards claims = running GPUs, each outage compensated each renter
# once, each resale on both sides or neither, every currency sums to zero
# over both partitions, verify() all ok.
# Needs a running cluster (PGHOST/PGPORT/PGUSER, CLUSTER_DIR/CLUSTER_BIN) with postgresql-15-plproxy.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/cluster.sh
export PGOPTIONS="-c client_min_messages=warning"
. scripts/tap.sh
far=$((PGPORT + 7))
cluster_server_start far $far
trap 'cluster_server_stop far immediate 2>/dev/null || true' EXIT
q1() { psql -qXAt -p $far -d gpubill_pf_p1 -v ON_ERROR_STOP=1 "$@"; }
crash() { cluster_server_stop far immediate; }
restart() { cluster_server_start far $far; }

psql -qX -d postgres -c "DROP DATABASE IF EXISTS gpubill_pf_p0 WITH (FORCE)" -c "CREATE DATABASE gpubill_pf_p0" \
	-c "DROP DATABASE IF EXISTS gpubill_pf_proxy WITH (FORCE)" -c "CREATE DATABASE gpubill_pf_proxy" >/dev/null
psql -qX -p $far -d postgres -c "DROP DATABASE IF EXISTS gpubill_pf_p1 WITH (FORCE)" -c "CREATE DATABASE gpubill_pf_p1" >/dev/null
q gpubill_pf_p0 -c "CREATE EXTENSION gpubill" -c "SELECT gpubill.provision_partition(0, 2)" >/dev/null
q1 -c "CREATE EXTENSION gpubill" -c "SELECT gpubill.provision_partition(1, 2)" >/dev/null
px=gpubill_pf_proxy
q $px -c "CREATE EXTENSION gpubill_proxy CASCADE" \
	-c "SELECT gpubill.configure_partitions(ARRAY['dbname=gpubill_pf_p0 host=$PGHOST port=$PGPORT', 'dbname=gpubill_pf_p1 host=$PGHOST port=$far'])" >/dev/null

# a partner homed on partition 0, renters on both partitions
for i in $(seq 1 40); do
	owner=$(q $px -c "SELECT gpubill.open_partner('pf-owner-$i', 'CNY', '2026-09-01')")
	[ "$(q $px -c "SELECT gpubill.partition_of($owner)")" = 0 ] && break
done
machine=$(q $px -c "SELECT gpubill.list_machine($owner, 16, '4.00 CNY', '2027-12-31', at => '2026-09-02')")
q $px -c "SELECT count(gpubill.recharge(gpubill.open_customer('pf-c' || i, 'CNY', '2026-09-01'), '3000 CNY', 'alipay', 'pf-r' || i, '2026-09-03')) FROM generate_series(1, 10) i" >/dev/null
q $px -c "SELECT count(gpubill.create_instance(gpubill.open_customer('pf-c' || i, 'CNY', '2026-09-01'), $machine, 1, at => '2026-10-01 10:00+08')) FROM generate_series(1, 8) i" >/dev/null
q $px -c "SELECT gpubill.tick('2026-10-01 12:00+08')" >/dev/null
renters1=$(q1 -c "SELECT count(*) FROM gpubill.instance")
ok "$(q gpubill_pf_p0 -c "SELECT count(*) > 0 FROM gpubill.instance") $([ "$renters1" -gt 0 ] && echo t)" "t t" "renters on both partitions, partition 1 on its own server"

# a tick while partition 1 has crashed: skipped; restarted, caught up
crash
ok "$(q $px -c "SELECT (gpubill.tick('2026-10-01 14:00+08') -> 'skipped_partitions') ? '1'" 2>/dev/null)" "t" "partition 1's server crashed: tick through the proxy skips it and does not fail"
restart
q $px -c "SELECT gpubill.tick('2026-10-01 15:00+08')" >/dev/null
ok "$(q1 -c "SELECT count(*) FROM gpubill.instance WHERE state = 'running' AND billed_until < '2026-10-01 15:00+08'")" "0" "restarted, the next tick catches it up"

# an outage reported while partition 1 is down: the home compensates its renters, the rest is queued
crash
out=$(q $px -c "SELECT gpubill.report_outage($machine, '2026-10-01 13:00+08', '2026-10-01 13:30+08', false, '2026-10-01 15:10+08') IS NOT NULL" 2>&1)
ok "$(tail -1 <<<"$out")" "t" "an outage reported with partition 1 down succeeds at the machine's home"
restart
q $px -c "SELECT gpubill.tick('2026-10-01 16:00+08')" >/dev/null
q $px -c "SELECT gpubill.tick('2026-10-01 16:00+08')" >/dev/null
ok "$(q gpubill_pf_p0 -c "SELECT count(*) FROM gpubill.outage_compensation")+$(q1 -c "SELECT count(*) FROM gpubill.outage_compensation") $(q gpubill_pf_p0 -c "SELECT count(*) FROM gpubill.outage_outbox")" \
	"$((8 - renters1))+$renters1 0" "restarted, tick compensates partition 1's renters, each once (ticked twice)"

# a rental of a customer on partition 1 while it is down: the claim at the machine's home is released
c1=$(q1 -c "SELECT min(customer_id) FROM gpubill.customer")
crash
out=$(q $px -c "SELECT gpubill.create_instance($c1, $machine, 1, at => '2026-10-01 16:30+08')" 2>&1 || true)
ok "$(grep -c 'gpubill_pf_p1' <<<"$out") $(q gpubill_pf_p0 -c "SELECT count(*) FROM gpubill.gpu_claim WHERE instance_id IS NULL")" "1 0" \
	"a rental on the crashed partition fails naming it, and its claim at the machine's home is released"
restart

# a withdrawal whose parts cannot be summed: fails clearly; restarted, the re-drive pays it once
q $px -c "SELECT gpubill.tick('2026-11-01 01:00+08')" >/dev/null
w=$(q $px -c "SELECT gpubill.withdrawable($owner, '2026-11-02 10:00+08')")
crash
out=$(q $px -c "SELECT gpubill.request_withdrawal($owner, '$w', '2026-11-02 10:00+08', 'pf-wd')" 2>&1 || true)
ok "$(grep -c 'gpubill_pf_p1' <<<"$out") $(q gpubill_pf_p0 -c "SELECT count(*) FROM gpubill.withdrawal")" "1 0" \
	"a withdrawal whose parts cannot be summed (partition 1 crashed) fails naming it, and pays nothing"
restart
q $px -c "SELECT gpubill.redrive_withdrawals('0 seconds')" >/dev/null
q $px -c "SELECT gpubill.redrive_withdrawals('0 seconds')" >/dev/null
ok "$(q gpubill_pf_p0 -c "SELECT count(*) || ' ' || gpubill.sum(amount) FROM gpubill.withdrawal")" "1 $w" "restarted, the re-drive pays it once ($w)"
ok "$(q $px -c "SELECT gpubill.request_withdrawal($owner, '$w', '2026-11-02 10:00+08', 'pf-wd') IS NOT NULL")" "t" "and the caller's retry finds it"

# resales across the two partitions (R-EXC-6): a reseller's contract active from Nov 2, and buyers on the other side
homed() {	# a customer name of prefix $1 homed on partition $2, opened and funded
	local i c
	for i in $(seq 1 60); do
		c=$(q $px -c "SELECT gpubill.open_customer('$1-$i', 'CNY', '2026-09-01')")
		if [ "$(q $px -c "SELECT gpubill.partition_of($c)")" = "$2" ]; then
			q $px -c "SELECT gpubill.recharge($c, '90000 CNY', 'alipay', 'pf-fund-$1-$i', '2026-09-03')" >/dev/null
			echo $c; return
		fi
	done
}
for i in $(seq 1 60); do	# a provider homed on partition 0
	prov=$(q $px -c "SELECT gpubill.open_provider('pf-dc-$i', 'CNY', '2026-09-01')")
	[ "$(q $px -c "SELECT gpubill.partition_of($prov)")" = 0 ] && break
done
seller0=$(homed pf-seller 0); buyer1=$(homed pf-buyer 1); seller1=$(homed pf-seller 1); buyer0=$(homed pf-buyer 0)
contract() { q $px -c "SELECT gpubill.create_contract($1, $prov, 1, '10.00 CNY', '[2026-11-02 00:00+08, 2027-01-31 00:00+08)', '2026-11-01 03:00+08')"; }
k0=$(contract $seller0); k1=$(contract $seller1)
q $px -c "SELECT gpubill.tick('2026-11-02 01:00+08')" >/dev/null
ok "$(q $px -c "SELECT gpubill.contract_state($k0) || ' ' || gpubill.contract_state($k1)")" "active active" "two contracts active, one on each partition"

# the buyer's partition crashed before the acceptance: the call fails, the resale is left pending; restarted, abandoned
crash
out=$(q $px -c "SELECT gpubill.resell_contract($k0, $buyer1, '9.00 CNY', '2026-11-03 10:00+08')" 2>&1 || true)
ok "$(grep -q 'gpubill_pf_p1' <<<"$out" && echo named) $(q gpubill_pf_p0 -c "SELECT state FROM gpubill.contract WHERE contract_id = $k0")" \
	"named resale_pending" "a resale to a buyer on the crashed partition fails naming it; the contract waits, resale_pending"
restart
q $px -c "SELECT gpubill.redrive_resales('0 seconds')" >/dev/null
ok "$(q gpubill_pf_p0 -c "SELECT state || ' ' || (resold_to IS NULL) FROM gpubill.contract WHERE contract_id = $k0") $(q1 -c "SELECT count(*) FROM gpubill.contract WHERE resold_from = $k0")" \
	"active true 0" "restarted, the re-drive abandons it: on neither side"
k0new=$(q $px -c "SELECT gpubill.resell_contract($k0, $buyer1, '9.00 CNY', '2026-11-03 11:00+08')")
ok "$(q $px -c "SELECT gpubill.partition_of($k0new)") $(q gpubill_pf_p0 -c "SELECT resold_to FROM gpubill.contract WHERE contract_id = $k0")" "1 $k0new" \
	"resold again, it is complete on both sides"

# the reseller's partition crashed after the acceptance (a proxy between steps 2 and 3): restarted, committed once
q $px -c "SELECT gpubill.accept_resale(b.resale, $k1, $buyer0, b.provider, b.gpus, '11.00 CNY', b.term, b.t)
	FROM gpubill.begin_resale($k1, $buyer0, '11.00 CNY', '2026-11-03 10:00+08') b" >/dev/null
crash
out=$(q $px -c "SELECT gpubill.resell_contract($k1, $buyer0, '11.00 CNY', '2026-11-03 10:00+08')" 2>&1 || true)
ok "$(grep -q 'gpubill_pf_p1' <<<"$out" && echo named) $(q gpubill_pf_p0 -c "SELECT count(*) FROM gpubill.contract WHERE resold_from = $k1")" "named 1" \
	"accepted on partition 0, the reseller's partition crashed before the commit: a retry fails naming it"
restart
q $px -c "SELECT gpubill.redrive_resales('0 seconds')" >/dev/null
q $px -c "SELECT gpubill.redrive_resales('0 seconds')" >/dev/null
k1new=$(q gpubill_pf_p0 -c "SELECT contract_id FROM gpubill.contract WHERE resold_from = $k1")
ok "$(q1 -c "SELECT state || ' ' || resold_to FROM gpubill.contract WHERE contract_id = $k1") $(q1 -c "SELECT count(*) FROM gpubill.resale_month WHERE contract_id = $k1")" \
	"active $k1new 2" "restarted, the re-drive commits it once (re-driven twice): resold as the accepted contract, its two months written once"
ok "$(q $px -c "SELECT gpubill.resell_contract($k1, $buyer0, '11.00 CNY', '2026-11-03 10:00+08')")" "$k1new" "and the caller's retry finds it"
q $px -c "SELECT gpubill.tick('2026-12-02 01:00+08')" >/dev/null
ok "$(q1 -c "SELECT state FROM gpubill.contract WHERE contract_id = $k1") $(q gpubill_pf_p0 -c "SELECT state FROM gpubill.contract WHERE contract_id = $k1new")" \
	"resold active" "at Dec 1 the resale takes effect on both partitions"

# an offset at the provider's home (partition 0) recovered from its receipts on partition 1, which crashes between the steps
q $px -c "SELECT gpubill.record_provider_offset($prov, '50000 CNY', 'overpaid', '2026-12-02 02:00+08', 'pf-off')" >/dev/null
ok "$(q1 -c "SELECT count(*) FROM gpubill.offset_watch")" "1" "the offset's start is noted on partition 1"
q $px -c "SELECT gpubill.tick('2027-01-02 01:00+08')" >/dev/null	# the provider's receipts of January 1 on both partitions
q gpubill_pf_p0 -c "SELECT recovery FROM gpubill.begin_offset_recovery($prov, '2027-01-02 01:30+08')" >/dev/null	# a proxy that died after step 1
crash
out=$(q $px -c "SELECT gpubill.recover_offset($prov, '2027-01-02 01:30+08')" 2>&1 || true)
ok "$(grep -q 'gpubill_pf_p1' <<<"$out" && echo named) $(q gpubill_pf_p0 -c "SELECT count(*) FROM gpubill.offset_recovery WHERE recovered IS NULL")" "named 1" \
	"partition 1 crashed between the steps: the recovery cannot offer its receipts, fails naming it and stays pending"
restart
q $px -c "SELECT gpubill.tick('2027-01-02 02:00+08')" >/dev/null
q $px -c "SELECT gpubill.tick('2027-01-02 03:00+08')" >/dev/null
rec1=$(q1 -c "SELECT count(*) || ' ' || gpubill.sum(gross OPERATOR(gpubill.-) commission) FROM gpubill.contract_receipt WHERE provider_id = $prov AND receipt_id > (SELECT after_receipt FROM gpubill.offset_watch) AND kind NOT IN ('premium', 'reseller_refund')")
ok "$(q gpubill_pf_p0 -c "SELECT count(*) FILTER (WHERE recovered IS NULL) || ' ' || count(*) || ' ' || gpubill.sum(recovered) FROM gpubill.offset_recovery") $(q1 -c "SELECT count(DISTINCT recovery_id) || ' ' || count(*) || ' ' || gpubill.sum(offered) FROM gpubill.offset_offer")" \
	"0 1 ${rec1#* } 1 ${rec1%% *} ${rec1#* }" \
	"restarted, the tick finishes that recovery once (ticked twice): partition 1's receipts after the offset (${rec1}) offered once and recovered"
ok "$(q gpubill_pf_p0 -c "SELECT o.recovered::text = (SELECT gpubill.sum(amount) FROM gpubill.transfer WHERE kind = 'offset')::text FROM gpubill.provider_offset o")" \
	"t" "what the offset recovered equals its offset transfers"

# the invariants over both partitions
q $px -c "SELECT gpubill.tick('2026-11-01 02:00+08')" >/dev/null
claimed=$(q $px -c "SELECT coalesce(sum(gpus), 0) FROM gpubill.claimed_gpus_everywhere()")
running=$(q $px -c "SELECT coalesce(sum(gpus), 0) FROM gpubill.running_gpus_everywhere()")
ok "$claimed" "$running" "claims = running GPUs ($running)"
ok "$(q $px -c "SELECT count(*) FROM (SELECT currency FROM gpubill.accounts GROUP BY 1 HAVING sum(balance_exact) <> 0) x")" "0" \
	"every currency sums to zero over both partitions"
ok "$(q $px -c "SELECT count(*) FILTER (WHERE NOT ok) FROM gpubill.verify()")" "0" "verify() through the proxy is all ok"

psql -qX -d postgres -c "DROP DATABASE gpubill_pf_proxy WITH (FORCE)" -c "DROP DATABASE gpubill_pf_p0 WITH (FORCE)" >/dev/null
echo "1..$n"
