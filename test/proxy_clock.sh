#!/usr/bin/env bash
# TAP: the clock on the proxy (issue 18, item 3; R-CLK-2, R-CLK-4 across partitions).
#  - a partition out of reach: tick() through the proxy ticks the others,
#    names the skipped one (skipped_partitions, a warning) and does not fail;
#    the skipped partition's customers are not settled meanwhile;
#  - back in reach, the next tick catches it up: the journal through the
#    proxy then equals one database's that never missed a tick (ids aside),
#    nothing charged twice, verify() all ok;
#  - settings that differ on the partitions in reach still stop the clock (GB004);
#  - schedule_jobs() on the proxy installs one pg_cron job (through dblink
#    into pg_cron's database) that runs the proxy's tick() — pg_cron really
#    runs it on every partition — and unschedule_jobs() removes it.
# Needs a running cluster (PGHOST/PGPORT/PGUSER, PGDATABASE = cron.database_name)
# with postgresql-15-plproxy and pg_cron, as scripts/test.sh provides.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/cluster.sh
export PGOPTIONS="-c client_min_messages=warning"
cron_db=${PGDATABASE:-gpubill_test}
. scripts/tap.sh
px=$(cluster_partitions 2 gpubill_pt)
P=gpubill_pt_p
one=gpubill_pt_one
psql -qX -d postgres -c "DROP DATABASE IF EXISTS $one" -c "CREATE DATABASE $one" >/dev/null
q $one -c "CREATE EXTENSION gpubill" >/dev/null

setup="SET search_path = gpubill, public;
SELECT count(list_machine(open_partner('pt-owner', 'CNY', '2026-11-01'), 16, '3.00 CNY', '2027-12-31', at => '2026-11-01'));
SELECT count(recharge(open_customer('pt-c' || i, 'CNY', '2026-11-01'), '200 CNY', 'alipay', 'pt-r' || i, '2026-11-01')) FROM generate_series(1, 8) i;"
q $one -c "$setup" >/dev/null
q $px -c "$setup" >/dev/null
rent="SELECT count(gpubill.create_instance(gpubill.open_customer('pt-c' || i, 'CNY', '2026-11-01'), %s, 1, at => '2026-11-02 10:00+08')) FROM generate_series(1, 8) i"
q $one -c "$(printf "$rent" "(SELECT machine_id FROM gpubill.machine LIMIT 1)")" >/dev/null
pm=$(q $P$(q $px -c "SELECT gpubill.partition_of(gpubill.open_partner('pt-owner', 'CNY', '2026-11-01'))") -c "SELECT min(machine_id) FROM gpubill.machine")
q $px -c "$(printf "$rent" "$pm")" >/dev/null
ok "$(for k in 0 1; do q $P$k -c "SELECT count(*) > 0 FROM gpubill.instance"; done | paste -sd' ')" "t t" "instances run on both partitions"

# partition 1 out of reach: the proxy's tick ticks partition 0, names 1, and does not fail
lines1=$(q ${P}1 -c "SELECT count(*) FROM gpubill.order_line")
psql -qX -d postgres -c "ALTER DATABASE ${P}1 ALLOW_CONNECTIONS false" -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '${P}1'" >/dev/null
out=$(q $px -c "SELECT (gpubill.tick('2026-11-02 13:00+08') -> 'skipped_partitions') ? '1'" 2>&1)
ok "$(tail -1 <<<"$out")" "t" "with partition 1 out of reach, tick() through the proxy runs and names it in skipped_partitions"
ok "$(grep -c 'tick skipped partitions' <<<"$out")" "1" "and warns that it catches up at its next tick"
ok "$(q ${P}0 -c "SELECT count(*) > 0 FROM gpubill.order_line WHERE at > '2026-11-02 10:00+08'")" "t" "partition 0 was settled"
psql -qX -d postgres -c "ALTER DATABASE ${P}1 ALLOW_CONNECTIONS true" >/dev/null
ok "$(q ${P}1 -c "SELECT count(*) FROM gpubill.order_line")" "$lines1" "partition 1 was not touched"

# back in reach: the next tick catches it up, as one database that never missed one
q $px -c "SELECT gpubill.tick('2026-11-02 15:00+08')" >/dev/null
q $one -c "SELECT gpubill.tick('2026-11-02 13:00+08'), gpubill.tick('2026-11-02 15:00+08')" >/dev/null
journal="SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) || ' ' || count(*) FROM (SELECT at, kind, amount, debit_owner_kind, debit_purpose, credit_owner_kind, credit_purpose FROM gpubill.transfers) t"
ok "$(q $px -c "$journal")" "$(q $one -c "$journal")" "back in reach, the next tick catches partition 1 up: the journal equals one database's that missed no tick"
ok "$(q $px -c "SELECT count(*) FROM (SELECT instance, hour FROM gpubill.instance_usage GROUP BY 1, 2 HAVING count(*) > 1) d")" "0" "no hour is charged twice"
ok "$(q $px -c "SELECT count(*) FILTER (WHERE NOT ok) FROM gpubill.verify()")" "0" "verify() through the proxy is all ok"

# settings that differ on the partitions in reach still stop the clock
q ${P}0 -c "SELECT gpubill.set_setting('service_fee_rate', '0.30')" >/dev/null
psql -qX -d postgres -c "ALTER DATABASE ${P}1 ALLOW_CONNECTIONS false" -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '${P}1'" >/dev/null
ok "$(q $px -c "SELECT gpubill.tick('2026-11-02 16:00+08')" 2>&1 | grep -o 'settings differ' | head -1)" "settings differ" \
	"with a partition out of reach, one in reach whose settings left those last agreed stops the clock (GB004)"
psql -qX -d postgres -c "ALTER DATABASE ${P}1 ALLOW_CONNECTIONS true" >/dev/null
ok "$(q $px -c "SELECT gpubill.tick('2026-11-02 16:00+08')" 2>&1 | grep -o 'settings differ' | head -1)" "settings differ" \
	"and with every partition in reach they do (GB004)"
q $px -c "SELECT gpubill.set_setting('service_fee_rate', '0.20')" >/dev/null

# R-CLK-4 on the proxy: one pg_cron job, in pg_cron's database, runs the proxy's tick on every partition
q $cron_db -c "CREATE EXTENSION IF NOT EXISTS pg_cron" >/dev/null
q $px -c "CREATE EXTENSION IF NOT EXISTS dblink" >/dev/null
job=$(q $px -c "SELECT gpubill.schedule_jobs()")
ok "$(q $cron_db -c "SELECT database || ' ' || command FROM cron.job WHERE jobid = $job")" "$px SELECT gpubill.tick()" \
	"schedule_jobs() on the proxy installs a job running tick() in the proxy database"
status=
for _ in $(seq 1 90); do
	status=$(q $cron_db -c "SELECT status FROM cron.job_run_details WHERE jobid = $job AND status IN ('succeeded', 'failed') ORDER BY runid DESC LIMIT 1")
	[ -n "$status" ] && break
	sleep 1
done
ok "${status:-none}" "succeeded" "pg_cron ran the proxy's tick() and it succeeded"
ok "$(for k in 0 1; do q $P$k -c "SELECT max(done_until) > now() - interval '5 minutes' FROM gpubill.clock_state"; done | paste -sd' ')" "t t" \
	"it ticked every partition (their clocks are at the wall clock)"
ok "$(q $px -c "SELECT gpubill.unschedule_jobs()")/$(q $cron_db -c "SELECT count(*) FROM cron.job WHERE database = '$px'")" "t/0" \
	"unschedule_jobs() on the proxy removes it"

for d in proxy p0 p1 one; do psql -qX -d postgres -c "DROP DATABASE gpubill_pt_$d WITH (FORCE)" >/dev/null; done
echo "1..$n"
