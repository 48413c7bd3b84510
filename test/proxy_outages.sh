#!/usr/bin/env bash
# TAP: an outage's compensation on every partition (issue 18, the outage saga; R-PRT-8, R-PRT-2).
#  - customers on 4 partitions rent one partner's machine; an unnotified
#    outage reported through the proxy compensates every one of them, on
#    their own partitions: the journal, the compensation and the partner's
#    withdrawable equal one database's;
#  - pushing again, or applying the same outage again on a partition, pays
#    nothing more;
#  - with a partition out of reach the report still succeeds (the home's
#    customers compensated, the rest queued, a warning); the partner's
#    withdrawal waits meanwhile (GB004); back in reach, tick compensates the
#    rest once, and the withdrawal then counts the compensation: the same
#    result as one database;
#  - a fourth unnotified outage in a month revokes the partner at its home,
#    and every partition's copy follows (partner revoked, machines delisted);
#  - take_offline through the proxy counts the renters on every partition
#    (GB004 as one database); forced, they stop and are compensated on every
#    partition, as one database, and the GPU claims are released.
# Needs a running cluster (PGHOST/PGPORT/PGUSER) with postgresql-15-plproxy.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/cluster.sh
export PGOPTIONS="-c client_min_messages=warning"
. scripts/tap.sh
px=$(cluster_partitions 4 gpubill_po)
P=gpubill_po_p
one=gpubill_po_one
psql -qX -d postgres -c "DROP DATABASE IF EXISTS $one" -c "CREATE DATABASE $one" >/dev/null
q $one -c "CREATE EXTENSION gpubill" >/dev/null
both() { q $one -c "$1" >/dev/null; q $px -c "$1" >/dev/null; }

both "SET search_path = gpubill, public;
SELECT count(open_partner(p, 'CNY', '2026-09-01')) FROM (VALUES ('po-owner'), ('po-other')) v(p);
CREATE TEMP TABLE m AS SELECT list_machine(open_partner('po-owner', 'CNY', '2026-09-01'), 16, '4.00 CNY', '2027-12-31', at => '2026-09-02') AS id;
SELECT count(recharge(open_customer('po-c' || i, 'CNY', '2026-09-01'), '300 CNY', 'alipay', 'po-r' || i, '2026-09-03')) FROM generate_series(1, 12) i;
SELECT count(create_instance(open_customer('po-c' || i, 'CNY', '2026-09-01'), (SELECT id FROM m), 1, at => '2026-10-01 10:00+08')) FROM generate_series(1, 12) i;
SELECT tick('2026-10-01 12:00+08');"
machine=$(q $P$(q $px -c "SELECT gpubill.partition_of(gpubill.open_partner('po-owner', 'CNY', '2026-09-01'))") -c "SELECT min(machine_id) FROM gpubill.machine")
machine1=$(q $one -c "SELECT min(machine_id) FROM gpubill.machine")
owner=$(q $px -c "SELECT gpubill.open_partner('po-owner', 'CNY', '2026-09-01')")
owner1=$(q $one -c "SELECT gpubill.open_partner('po-owner', 'CNY', '2026-09-01')")
home=$(q $px -c "SELECT gpubill.partition_of($owner)")
ok "$(for k in 0 1 2 3; do q $P$k -c "SELECT count(*) > 0 FROM gpubill.instance"; done | paste -sd' ')" "t t t t" "the machine's renters live on all 4 partitions"

# an unnotified outage through the proxy: every renter compensated, on its own partition
report="SELECT gpubill.report_outage(%s, '2026-10-01 11:00+08', '2026-10-01 11:30+08', false, '2026-10-01 12:10+08') IS NOT NULL"
q $one -c "$(printf "$report" $machine1)" >/dev/null
q $px -c "$(printf "$report" $machine)" >/dev/null
ok "$(for k in 0 1 2 3; do q $P$k -c "SELECT count(*) FROM gpubill.outage_compensation"; done | awk '{ s += $1 } END { print s }') $(q $one -c "SELECT count(*) FROM gpubill.outage_compensation")" \
	"12 12" "an outage reported through the proxy compensates all 12 renters, on their partitions, as one database does"
ok "$(for k in 0 1 2 3; do q $P$k -c "SELECT count(*) FROM gpubill.outage_outbox"; done | paste -sd' ')" "0 0 0 0" "nothing is left queued"
journal="SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) || ' ' || count(*) FROM (SELECT at, kind, amount, debit_owner_kind, debit_purpose, credit_owner_kind, credit_purpose FROM gpubill.transfers) t"
ok "$(q $px -c "$journal")" "$(q $one -c "$journal")" "the journal through the proxy equals one database's (ids aside)"
ok "$(q $px -c "SELECT gpubill.withdrawable($owner, '2026-11-02 00:00+08')")" "$(q $one -c "SELECT gpubill.withdrawable($owner1, '2026-11-02 00:00+08')")" \
	"the partner's withdrawable counts the compensation taken back on every partition, as one database"

# once: pushing again, or applying the same outage again, pays nothing more
other=$(( (home + 1) % 4 ))
change=$(q $P$home -c "SELECT jsonb_agg(jsonb_build_object('outage_id', outage_id, 'row', to_jsonb(o))) FROM gpubill.outage o")
ok "$(q $P$other -c "SELECT gpubill.apply_outage('$change')") $(q $px -c "SELECT gpubill.sync_outages()")" "0 0" \
	"the same outage applied again on a partition, or pushed again, compensates nobody twice"

# a partition out of reach: the report succeeds, the rest is queued, the withdrawal waits, tick compensates once
both "SELECT gpubill.tick('2026-10-02 12:00+08')"
report2="SELECT gpubill.report_outage(%s, '2026-10-02 11:00+08', '2026-10-02 11:20+08', false, '2026-10-02 12:10+08') IS NOT NULL"
q $one -c "$(printf "$report2" $machine1)" >/dev/null
psql -qX -d postgres -c "ALTER DATABASE $P$other ALLOW_CONNECTIONS false" -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '$P$other'" >/dev/null
out=$(q $px -c "$(printf "$report2" $machine)" 2>&1)
ok "$(tail -1 <<<"$out") $(grep -c 'are not yet on every partition' <<<"$out")" "t 1" \
	"with partition $other out of reach, the report through the proxy succeeds and warns that the rest is not yet everywhere"
ok "$(q $P$home -c "SELECT count(*) FROM gpubill.outage_outbox")" "1" "the outage stays queued at the machine's home"
w=$(q $px -c "SELECT gpubill.request_withdrawal($owner, '1 CNY', '2026-11-02 10:00+08')" 2>&1 || true)
ok "$(grep -o 'has outages whose compensation is not yet on every partition' <<<"$w")" "has outages whose compensation is not yet on every partition" \
	"a withdrawal of the partner meanwhile waits (GB004): it must not count income the outage takes back"
psql -qX -d postgres -c "ALTER DATABASE $P$other ALLOW_CONNECTIONS true" >/dev/null
q $px -c "SELECT gpubill.tick('2026-10-02 13:00+08')" >/dev/null
q $one -c "SELECT gpubill.tick('2026-10-02 13:00+08')" >/dev/null
ok "$(q $P$home -c "SELECT count(*) FROM gpubill.outage_outbox") $(for k in 0 1 2 3; do q $P$k -c "SELECT count(*) FROM gpubill.outage_compensation"; done | awk '{ s += $1 } END { print s }')" \
	"0 24" "back in reach, tick compensates the rest of the renters, once (24 compensations for 2 outages)"
ok "$(q $px -c "$journal")" "$(q $one -c "$journal")" "the journal equals one database's"
wd=$(q $one -c "SELECT gpubill.withdrawable($owner1, '2026-11-02 10:00+08')")
q $one -c "SELECT gpubill.request_withdrawal($owner1, '$wd', '2026-11-02 10:00+08')" >/dev/null
ok "$(q $px -c "SELECT gpubill.request_withdrawal($owner, '$wd', '2026-11-02 10:00+08') IS NOT NULL")" "t" \
	"then the partner withdraws what one database lets it ($wd)"

# R-PRT-8: the fourth unnotified outage of the month revokes the partner at its home; the copies follow
for d in 3 4; do
	q $px -c "SELECT gpubill.report_outage($machine, '2026-10-0$d 11:00+08', '2026-10-0$d 11:10+08', false, '2026-10-0$d 12:00+08')" >/dev/null
	q $one -c "SELECT gpubill.report_outage($machine1, '2026-10-0$d 11:00+08', '2026-10-0$d 11:10+08', false, '2026-10-0$d 12:00+08')" >/dev/null
done
ok "$(for k in 0 1 2 3; do q $P$k -c "SELECT qualification || '/' || (SELECT state FROM gpubill.machine WHERE machine_id = $machine) FROM gpubill.partner WHERE partner_id = $owner"; done | paste -sd' ')" \
	"revoked/delisted revoked/delisted revoked/delisted revoked/delisted" "the fourth outage in a month revokes the partner; every partition's copy is revoked and its machine delisted"
# a machine taken offline: refused while anyone runs on it, on any partition; forced, every partition's renters stop
both "SET search_path = gpubill, public;
CREATE TEMP TABLE m2 AS SELECT list_machine(open_partner('po-other', 'CNY', '2026-09-01'), 16, '2.00 CNY', '2027-12-31', at => '2026-10-01') AS id;
SELECT count(recharge(open_customer('po-c' || i, 'CNY', '2026-09-01'), '500 CNY', 'alipay', 'po-top' || i, '2026-10-05 09:00+08')) FROM generate_series(1, 12) i;
SELECT count(create_instance(open_customer('po-c' || i, 'CNY', '2026-09-01'), (SELECT id FROM m2), 1, at => '2026-10-05 10:00+08')) FROM generate_series(1, 12) i;
SELECT tick('2026-10-05 12:00+08');"
other_owner=$(q $px -c "SELECT gpubill.open_partner('po-other', 'CNY', '2026-09-01')")
m2=$(q $P$(q $px -c "SELECT gpubill.partition_of($other_owner)") -c "SELECT min(machine_id) FROM gpubill.machine WHERE partner_id = $other_owner")
m2one=$(q $one -c "SELECT min(machine_id) FROM gpubill.machine WHERE partner_id = (SELECT partner_id FROM gpubill.partner WHERE external_ref = 'po-other')")
err1=$(q $one -c "SELECT gpubill.take_offline($m2one, false, '2026-10-05 12:30+08')" 2>&1 | grep -o 'has [0-9]* running instances' || true)
ok "$(q $px -c "SELECT gpubill.take_offline($m2, false, '2026-10-05 12:30+08')" 2>&1 | grep -o 'has [0-9]* running instances' || true)" "$err1" \
	"take_offline through the proxy counts the renters on every partition, as one database ($err1, GB004)"
q $one -c "SELECT gpubill.take_offline($m2one, true, '2026-10-05 12:30+08')" >/dev/null
q $px -c "SELECT gpubill.take_offline($m2, true, '2026-10-05 12:30+08')" >/dev/null
ok "$(for k in 0 1 2 3; do q $P$k -c "SELECT count(*) FILTER (WHERE state = 'running') || '/' || (SELECT state FROM gpubill.machine WHERE machine_id = $m2) FROM gpubill.instance WHERE machine_id = $m2"; done | paste -sd' ')" \
	"0/offline 0/offline 0/offline 0/offline" "forced, the instances stop on every partition and every copy of the machine is offline"
ok "$(q $px -c "$journal")" "$(q $one -c "$journal")" "their settlement and compensation equal one database's (the journal, ids aside)"
ok "$(q $px -c "SELECT coalesce(sum(gpus), 0) FROM gpubill.claimed_gpus_everywhere() WHERE machine_id = $m2") $(q $px -c "SELECT gpubill.drain_gpu_releases()")" "0 0" \
	"and the machine's GPU claims are released at once"
ok "$(q $px -c "SELECT count(*) FILTER (WHERE NOT ok) FROM gpubill.verify()")" "0" "verify() through the proxy is all ok"

for d in proxy p0 p1 p2 p3 one; do psql -qX -d postgres -c "DROP DATABASE gpubill_po_$d WITH (FORCE)" >/dev/null; done
echo "1..$n"
