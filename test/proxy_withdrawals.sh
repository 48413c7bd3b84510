#!/usr/bin/env bash
# TAP: a partner's money and withdrawals across partitions (issue 18, the withdrawal saga; R-PRT-2, R-PRT-4).
#  - customers on every partition rent a partner's machines in October; on
#    the proxy (4 partitions) withdrawable() in November is the sum of every
#    partition's parts, floored once — the same as on one database, while
#    the partner's home alone holds only a part;
#  - request_withdrawal() through the proxy: more than withdrawable is
#    refused with one database's GB001 and leaves nothing; the whole sum is
#    paid once, at the home; a retry with the request id is the same; a
#    second in the month is GB002;
#  - two withdrawals of one partner at once: exactly one is paid;
#  - a withdrawal left pending (a proxy that died after step 1) locks the
#    partner's money (GB004) until tick re-drives it: paid once;
#  - a partition that cannot be reached between the steps fails the call
#    with a clear error and pays nothing; reachable again, tick finishes the
#    withdrawal once; every partition's accounts still sum to zero.
# Needs a running cluster (PGHOST/PGPORT/PGUSER) with postgresql-15-plproxy.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/cluster.sh
export PGOPTIONS="-c client_min_messages=warning"
. scripts/tap.sh
sqlstate() { q $1 -c "DO \$\$ BEGIN PERFORM $2; RAISE WARNING 'none'; EXCEPTION WHEN OTHERS THEN RAISE WARNING '%', SQLSTATE; END \$\$" 2>&1 | sed -n 's/^WARNING: *//p'; }
px=$(cluster_partitions 4 gpubill_pw)
P=gpubill_pw_p
one=gpubill_pw_one
psql -qX -d postgres -c "DROP DATABASE IF EXISTS $one" -c "CREATE DATABASE $one" >/dev/null
q $one -c "CREATE EXTENSION gpubill" >/dev/null

# the same October on one database and through the proxy: 3 partners, 24 customers renting by the hour
month="SET search_path = gpubill, public;
SELECT count(open_partner('pw-owner-' || i, 'CNY', '2026-09-01')) FROM generate_series(1, 3) i;
CREATE TEMP TABLE m AS SELECT i, list_machine(open_partner('pw-owner-' || (1 + i % 3), 'CNY', '2026-09-01'), 8, '2.00 CNY', '2027-12-31', at => '2026-09-02') AS id
FROM generate_series(1, 6) i;
SELECT count(recharge(open_customer('pw-c' || i, 'CNY', '2026-09-01'), '500 CNY', 'alipay', 'pw-r' || i, '2026-09-03')) FROM generate_series(1, 24) i;
SELECT count(create_instance(open_customer('pw-c' || c.n, 'CNY', '2026-09-01'), (SELECT id FROM m WHERE m.i = 1 + c.n % 6), 1, at => '2026-10-01 10:00+08'))
FROM generate_series(1, 24) c(n);
SELECT count(tick(d)) FROM generate_series(timestamptz '2026-10-02 00:00+08', '2026-10-06 00:00+08', interval '1 day') d;"
q $one -c "$month" >/dev/null
q $px -c "$month" >/dev/null
owner=$(q $px -c "SELECT gpubill.open_partner('pw-owner-1', 'CNY', '2026-09-01')")
home=$(q $px -c "SELECT gpubill.partition_of($owner)")
owner1=$(q $one -c "SELECT gpubill.open_partner('pw-owner-1', 'CNY', '2026-09-01')")
at="'2026-11-02 10:00+08'"
w_one=$(q $one -c "SELECT gpubill.withdrawable($owner1, $at)")
ok "$(q $px -c "SELECT gpubill.withdrawable($owner, $at)")" "$w_one" "withdrawable through the proxy on 4 partitions = one database's ($w_one)"
ok "$(q $P$home -c "SELECT gpubill.withdrawable($owner, $at) OPERATOR(gpubill.<) '$w_one'::gpubill.amount")" "t" \
	"while the partner's home alone holds only a part of it"
ok "$(for k in 0 1 2 3; do q $P$k -c "SELECT count(*) > 0 FROM gpubill.order_line WHERE partner_id = $owner"; done | paste -sd' ')" "t t t t" \
	"its income was earned on every partition"

# R-PRT-4 through the proxy: over the sum refused with one database's message, nothing left
over="gpubill.request_withdrawal(%s, '$w_one'::gpubill.amount OPERATOR(gpubill.+) '0.01 CNY', $at)"
err_one=$(q $one -c "SELECT $(printf "$over" $owner1)" 2>&1 | grep -o 'insufficient funds.*' | head -1 || true)
ok "$(q $px -c "SELECT $(printf "$over" $owner)" 2>&1 | grep -o 'insufficient funds.*' | head -1 || true)" "$err_one" \
	"more than withdrawable is refused through the proxy with one database's message ($err_one)"
ok "$(sqlstate $px "$(printf "$over" $owner)")" "GB001" "with GB001"
ok "$(q $P$home -c "SELECT (SELECT count(*) FROM gpubill.withdrawal) || ' ' || (SELECT count(*) FROM gpubill.withdrawal_pending)")" "0 0" \
	"and leaves no withdrawal and no pending one"
wd=$(q $px -c "SELECT gpubill.request_withdrawal($owner, '$w_one', $at, 'pw-wd-1')")
ok "$(q $px -c "SELECT gpubill.partition_of($wd)")" "$home" "the whole sum is withdrawn through the proxy, at the partner's home"
ok "$(q $px -c "SELECT gpubill.request_withdrawal($owner, '$w_one', $at, 'pw-wd-1')")" "$wd" "a retry with the request id is the same withdrawal"
ok "$(sqlstate $px "gpubill.request_withdrawal($owner, '1 CNY', '2026-11-03 10:00+08')")" "GB002" "a second withdrawal in November is GB002"
ok "$(q $px -c "SELECT gpubill.withdrawable($owner, $at)")" "0.00 CNY" "nothing is left to withdraw"
ok "$(q $P$home -c "SELECT count(*) || ' ' || gpubill.sum(amount) FROM gpubill.withdrawal WHERE partner_id = $owner")" "1 $w_one" "paid once"

# two withdrawals of one partner at once (December): exactly one is paid
owner2=$(q $px -c "SELECT gpubill.open_partner('pw-owner-2', 'CNY', '2026-09-01')")
home2=$(q $px -c "SELECT gpubill.partition_of($owner2)")
w2=$(q $px -c "SELECT gpubill.withdrawable($owner2, '2026-12-02 10:00+08')")
for i in 1 2 3 4; do
	q $px -c "SELECT gpubill.request_withdrawal($owner2, '$w2', '2026-12-02 10:00+08', 'pw-race-$i')" >/dev/null 2>&1 &
done
wait
ok "$(q $P$home2 -c "SELECT count(*) || ' ' || gpubill.sum(amount) FROM gpubill.withdrawal WHERE partner_id = $owner2")" "1 $w2" \
	"four withdrawals of one partner at once through the proxy: exactly one is paid"
ok "$(q $P$home2 -c "SELECT count(*) FROM gpubill.withdrawal_pending")" "0" "none is left pending"

# a withdrawal left pending by a proxy that died after step 1: the partner's money is locked until tick re-drives it
owner3=$(q $px -c "SELECT gpubill.open_partner('pw-owner-3', 'CNY', '2026-09-01')")
home3=$(q $px -c "SELECT gpubill.partition_of($owner3)")
w3=$(q $px -c "SELECT gpubill.withdrawable($owner3, $at)")
q $P$home3 -c "SELECT gpubill.begin_withdrawal($owner3, '$w3', $at, 'pw-lost')" >/dev/null
ok "$(sqlstate $px "gpubill.request_withdrawal($owner3, '1 CNY', $at)")" "GB004" "another withdrawal meanwhile is refused: one in progress (GB004)"
ok "$(q $px -c "SELECT gpubill.redrive_withdrawals('5 minutes')")" "0" "tick leaves a withdrawal pending for less than its grace"
ok "$(q $px -c "SELECT gpubill.redrive_withdrawals('0 seconds')")" "1" "and finishes an older one"
ok "$(q $P$home3 -c "SELECT count(*) || ' ' || gpubill.sum(amount) FROM gpubill.withdrawal WHERE partner_id = $owner3") $(q $px -c "SELECT gpubill.redrive_withdrawals('0 seconds')")" \
	"1 $w3 0" "paid once, and nothing is left to re-drive"
ok "$(q $px -c "SELECT gpubill.request_withdrawal($owner3, '$w3', $at, 'pw-lost')")" "$(q $P$home3 -c "SELECT withdrawal_id FROM gpubill.withdrawal WHERE partner_id = $owner3")" \
	"the request id of the lost call finds the withdrawal tick finished"

# a partition out of reach between the steps: the call fails, nothing is paid; back, tick finishes it once
away=$(( (home + 1) % 4 ))
q $px -c "SELECT gpubill.tick('2026-12-01 00:00+08')" >/dev/null
wd4=$(q $px -c "SELECT gpubill.withdrawable($owner, '2026-12-02 10:00+08')")
psql -qX -d postgres -c "ALTER DATABASE $P$away ALLOW_CONNECTIONS false" -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '$P$away'" >/dev/null
out=$(q $px -c "SELECT gpubill.request_withdrawal($owner, '$wd4', '2026-12-02 10:00+08', 'pw-down')" 2>&1 || true)
ok "$(grep -c "$P$away" <<<"$out") $(q $P$home -c "SELECT count(*) FROM gpubill.withdrawal WHERE partner_id = $owner AND month = '2026-12-01'")" "1 0" \
	"with partition $away out of reach the withdrawal fails naming it, and pays nothing"
psql -qX -d postgres -c "ALTER DATABASE $P$away ALLOW_CONNECTIONS true" >/dev/null
q $px -c "SELECT gpubill.redrive_withdrawals('0 seconds')" >/dev/null
ok "$(q $P$home -c "SELECT count(*) || ' ' || gpubill.sum(amount) FROM gpubill.withdrawal WHERE partner_id = $owner AND month = '2026-12-01'")" "1 $wd4" \
	"back in reach, the re-drive pays it once"
ok "$(q $px -c "SELECT gpubill.request_withdrawal($owner, '$wd4', '2026-12-02 10:00+08', 'pw-down')")" \
	"$(q $P$home -c "SELECT withdrawal_id FROM gpubill.withdrawal WHERE partner_id = $owner AND month = '2026-12-01'")" "and the caller's retry finds it"
ok "$(q $px -c "SELECT count(*) FILTER (WHERE NOT ok) FROM gpubill.verify()")" "0" "verify() through the proxy: every partition's accounts sum to zero, all ok"

for d in proxy p0 p1 p2 p3 one; do psql -qX -d postgres -c "DROP DATABASE gpubill_pw_$d WITH (FORCE)" >/dev/null; done
echo "1..$n"
