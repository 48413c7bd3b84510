#!/usr/bin/env bash
# TAP: the clock with real components (R-CLK-2, R-CLK-3, R-CLK-4, R-ALR-2).
#  1. (a tick that finds another running returns at once: specs/tick_overlap.spec,
#     a deterministic interleaving, not a sleep here);
#  2. a second session LISTENing receives gpubill_alert and gpubill_lifecycle;
#  3. pg_cron really fires tick(): schedule_jobs(), wait for a succeeded run in
#     cron.job_run_details, unschedule_jobs(); and from a database without
#     pg_cron (issue 16), through dblink, its job made by hand found too;
#  4. a backend running a long catch-up tick is killed with SIGKILL: the cluster
#     recovers, the next tick does the work exactly once, verify() is all ok.
# Needs a running cluster (PGHOST/PGPORT/PGUSER, PGDATABASE = cron.database_name),
# as scripts/test.sh provides.
set -euo pipefail
db=gpubill_clock
cron_db=${PGDATABASE:-gpubill_test}
. "$(dirname "$0")/../scripts/tap.sh"
q() { psql -qXAt -d "$db" -v ON_ERROR_STOP=1 "$@"; }
echo "1..13"

# synchronous_commit = on: the SIGKILL of part 4 must not lose an acknowledged commit
PGOPTIONS="-c client_min_messages=warning" psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" \
	-c "ALTER DATABASE $db SET synchronous_commit = on" >/dev/null
q -c "CREATE EXTENSION gpubill" >/dev/null
q >/dev/null <<'SQL'
SET search_path = gpubill;
SELECT open_partner('clock-owner', 'CNY', '2026-11-01');
SELECT list_machine((SELECT partner_id FROM partner), 10000, '1.00 CNY', '2030-01-01', at => '2026-11-01');
SQL

# 2. R-ALR-2: NOTIFY reaches a listening session
out=$(mktemp)
psql -qXAt -d "$db" -c "LISTEN gpubill_alert" -c "LISTEN gpubill_lifecycle" -c "SELECT pg_sleep(4)" -c "SELECT 1" >"$out" 2>&1 &
sleep 1
q >/dev/null <<'SQL'
SET search_path = gpubill;
SELECT open_customer('clock-low', 'CNY', '2026-11-01');
SELECT recharge((SELECT customer_id FROM customer WHERE external_ref = 'clock-low'), '10.00 CNY', 'wechat', 'clock-low-1', '2026-11-01');
SELECT create_instance((SELECT customer_id FROM customer WHERE external_ref = 'clock-low'), (SELECT machine_id FROM machine), 1,
					   at => '2026-11-02 10:00+08');
SELECT tick('2026-11-02 11:00+08');
SELECT stop_instance((SELECT instance_id FROM instance), '2026-11-02 11:30+08');
SQL
wait
ok "$(grep -c 'notification "gpubill_alert" with payload ".*"kind" : "balance_low"' "$out")" "1" \
	"the listening session receives gpubill_alert with a JSON payload (balance_low)"
ok "$(grep -c 'notification "gpubill_lifecycle" with payload ".*"kind" : "local_data_erase_due"' "$out")" "1" \
	"the listening session receives gpubill_lifecycle with a JSON payload (local_data_erase_due)"
rm -f "$out"

# the status of pg_cron's first finished run of a job (pg_cron fires at the minute: up to 90 s)
run_of() {
	local status=
	for _ in $(seq 1 90); do
		status=$(psql -qXAt -d "$cron_db" -c "SELECT status FROM cron.job_run_details WHERE jobid = $1 AND status IN ('succeeded', 'failed') ORDER BY runid DESC LIMIT 1")
		[ -n "$status" ] && break
		sleep 1
	done
	echo "${status:-none}"
}

# 3. R-CLK-4: pg_cron fires tick() every minute (the job runs in cron.database_name)
psql -qXAt -d "$cron_db" -v ON_ERROR_STOP=1 -c "CREATE EXTENSION IF NOT EXISTS gpubill" \
	-c "CREATE EXTENSION IF NOT EXISTS pg_cron" >/dev/null
job=$(psql -qXAt -d "$cron_db" -c "SELECT gpubill.schedule_jobs()")
ok "$(psql -qXAt -d "$cron_db" -c "SELECT schedule || ' ' || command FROM cron.job WHERE jobid = $job")" \
	"* * * * * SELECT gpubill.tick()" "schedule_jobs() installs a job running tick() every minute"
status=$(run_of $job)
ok "$status" "succeeded" "pg_cron ran tick() and it succeeded"
ok "$(psql -qXAt -d "$cron_db" -c "SELECT return_message FROM cron.job_run_details WHERE jobid = $job AND status = 'succeeded' LIMIT 1")" \
	"1 row" "the run returned tick()'s summary row"
ok "$(psql -qXAt -d "$cron_db" -c "SELECT gpubill.unschedule_jobs()")/$(psql -qXAt -d "$cron_db" -c "SELECT count(*) FROM cron.job")" \
	"t/0" "unschedule_jobs() removes the job"

# 3b. pg_cron anywhere (issue 16): gpubill in a database without pg_cron schedules its tick in pg_cron's
# database through dblink; the job runs here; unschedule_jobs() also finds a job made by hand
ok "$(q -c "SELECT gpubill.schedule_jobs()" 2>&1 | grep -o 'dblink is not installed in this one')" "dblink is not installed in this one" \
	"without dblink, schedule_jobs() says how pg_cron's database can be reached (55000)"
q -c "CREATE EXTENSION dblink" >/dev/null
job=$(q -c "BEGIN" -c "SET LOCAL ROLE gpubill_admin" -c "SELECT gpubill.schedule_jobs()" -c "COMMIT" | grep -E '^[0-9]+$')
ok "$(psql -qXAt -d "$cron_db" -c "SELECT jobname || ' ' || database || ' ' || command FROM cron.job WHERE jobid = $job")" \
	"gpubill-tick:$db $db SELECT gpubill.tick()" "schedule_jobs() in $db installs, in pg_cron's database, a job running tick() in $db"
status=$(run_of $job)
ok "$status" "succeeded" "pg_cron ran tick() in $db and it succeeded"
psql -qXAt -d "$cron_db" -c "SELECT cron.schedule_in_database('by-hand', '0 3 * * *', 'SELECT gpubill.tick()', '$db')" >/dev/null
ok "$(q -c "SELECT gpubill.unschedule_jobs()")/$(psql -qXAt -d "$cron_db" -c "SELECT count(*) FROM cron.job WHERE database = '$db'")" \
	"t/0" "unschedule_jobs() in $db removes both its jobs, the one made by hand too"

# 4. R-CLK-2: SIGKILL in the middle of a long catch-up tick
q >/dev/null <<'SQL'
SET search_path = gpubill;
SELECT set_setting('payg_limit_instances', '100');
SELECT open_customer('crash-' || i, 'CNY', '2026-11-01') FROM generate_series(1, 400) i;
SELECT recharge(customer_id, '10000.00 CNY', 'wechat', 'crash-' || customer_id, '2026-11-01') FROM customer WHERE external_ref LIKE 'crash-%';
SELECT create_instance(c.customer_id, (SELECT machine_id FROM machine), 1, at => '2026-11-03 00:00+08')
FROM customer c CROSS JOIN generate_series(1, 10) WHERE c.external_ref LIKE 'crash-%';
ANALYZE;
SQL
lines_before=$(q -c "SELECT count(*) FROM gpubill.order_line")
q -c "SELECT gpubill.tick('2026-11-05 00:00+08')" >/dev/null 2>&1 &
pid=
for _ in $(seq 1 100); do
	pid=$(q -c "SELECT pid FROM pg_stat_activity WHERE datname = '$db' AND query LIKE '%gpubill.tick(''2026-11-05%' AND state = 'active' AND pid <> pg_backend_pid()")
	[ -n "$pid" ] && break
	sleep 0.1
done
sleep 2
# the tick is still at work (48 boundaries of 4000 instances) when it is killed
ok "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE pid = $pid AND state = 'active'")" "1" "the long tick is running"
kill -9 "$pid"
wait || true
for _ in $(seq 1 60); do
	pg_isready -q -d "$db" && q -c "SELECT 1" >/dev/null 2>&1 && break
	sleep 0.5
done
ok "$(q -c "SELECT count(*) - $lines_before FROM gpubill.order_line")" "0" "the killed tick left nothing behind"
q -c "SELECT gpubill.tick('2026-11-05 00:00+08')" >/dev/null
ok "$(q -c "SELECT count(*) FILTER (WHERE n = 48) || '/' || count(*) || ' ' || (SELECT count(*) FROM gpubill.verify() WHERE NOT ok)
			FROM (SELECT count(*) AS n FROM gpubill.order_line o JOIN gpubill.customer c USING (customer_id)
				  WHERE c.external_ref LIKE 'crash-%' GROUP BY o.instance_id) x")" "4000/4000 0" \
	"the next tick settled each of 4000 instances' 48 hours exactly once; verify() is all ok"
