#!/usr/bin/env bash
# TAP: instances and the clock under real concurrency (R-PAYG-5, R-CLK-2, R-CLK-5, R-LED-3).
# 6 pgbench clients create, stop, start and release instances of 40 customers
# on shared machines (default at: "now", or the instance's last event) while a
# 7th client runs tick() an hour further each time.  No client may fail (a
# deadlock or a lost update would abort it); afterwards no usage is charged
# twice, every instance's order lines tile its billed time, and verify() is ok.
# Needs a running cluster (PGHOST/PGPORT/PGUSER), as scripts/test.sh provides.
set -euo pipefail
db=gpubill_instances
. "$(dirname "$0")/../scripts/tap.sh"
q() { psql -qXAt -d "$db" -v ON_ERROR_STOP=1 "$@"; }
echo "1..5"

PGOPTIONS="-c client_min_messages=warning" psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
q >/dev/null <<'SQL'
CREATE EXTENSION gpubill;
SET search_path = gpubill, public;
SELECT set_setting('payg_limit_instances', '1000');
SELECT open_partner('inst-owner', 'CNY');
SELECT list_machine((SELECT partner_id FROM partner), 10000, '1.20 CNY', '2030-01-01', vouchers_allowed => true),
	   list_machine((SELECT partner_id FROM partner), 10000, '0.70 CNY', '2030-01-01', vouchers_allowed => false),
	   list_machine((SELECT partner_id FROM partner), 10000, '2.00 CNY', '2030-01-01', billing => 'usage_hourly');
SELECT open_customer('inst-' || i, 'CNY') FROM generate_series(1, 40) i;
SELECT recharge(customer_id, '100000 CNY', 'wechat', 'inst-' || customer_id) FROM customer;
SELECT grant_voucher(customer_id, '50 CNY', now() + interval '5 hours') FROM customer;
CREATE SEQUENCE public.tick_hours;
-- one step of a customer: create, or stop, start or release one of its instances;
-- business refusals (funds, limits, a state another session changed) are expected
CREATE FUNCTION public.app_step(c bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	i bigint;
	r float8 := random();
BEGIN
	IF r < 0.35 THEN
		PERFORM gpubill.create_instance(c, (SELECT machine_id FROM gpubill.machine ORDER BY random() LIMIT 1), 1);
		RETURN 'create';
	END IF;
	SELECT k.instance_id INTO i FROM gpubill.instance k
	WHERE k.customer_id = c AND k.state = CASE WHEN r < 0.75 THEN 'running' ELSE 'stopped' END
	ORDER BY random() LIMIT 1;
	IF i IS NULL THEN
		RETURN 'none';
	ELSIF r < 0.7 THEN
		PERFORM gpubill.stop_instance(i);
	ELSIF r < 0.75 THEN
		PERFORM gpubill.release_instance(i);
	ELSE
		PERFORM gpubill.start_instance(i);
	END IF;
	RETURN 'ok';
EXCEPTION WHEN SQLSTATE 'GB001' OR SQLSTATE 'GB002' OR SQLSTATE 'GB004' THEN
	RETURN 'refused';
END
$$;
SQL
read -r cmin cmax <<<"$(q -c "SELECT min(customer_id) || ' ' || max(customer_id) FROM gpubill.customer")"
dir=$(mktemp -d)
chmod 755 "$dir"
echo "\\set c random($cmin, $cmax)
SELECT public.app_step(:c);" >"$dir/app.sql"
echo "SELECT gpubill.tick(now() + nextval('public.tick_hours') * interval '1 hour');" >"$dir/tick.sql"

pgbench -n -c 6 -j 2 -t 300 -f "$dir/app.sql" "$db" >"$dir/app.log" 2>&1 &
app=$!
pgbench -n -c 1 -t 30 -f "$dir/tick.sql" "$db" >"$dir/tick.log" 2>&1 || true
app_rc=0
wait $app || app_rc=$?
ok "$app_rc $(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$dir/app.log")" "0 1800" \
	"6 clients ran 1800 instance calls next to the ticks, none failed (no deadlock, no lost update)"
ok "$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$dir/tick.log")" "30" "30 ticks ran, none failed"
ok "$(q -c "SELECT count(*) FROM gpubill.order_line a JOIN gpubill.order_line b
			ON a.instance_id = b.instance_id AND a.line_id < b.line_id
			AND lower(a.usage) < upper(b.usage) AND lower(b.usage) < upper(a.usage)")" "0" \
	"no stretch of usage was charged twice"
ok "$(q -c "SELECT count(*) FROM (SELECT o.instance_id FROM gpubill.order_line o JOIN gpubill.instance i USING (instance_id)
			WHERE o.kind IN ('payg', 'payg_stop') GROUP BY o.instance_id, i.billed_until
			HAVING max(upper(o.usage)) > i.billed_until) x")" "0" \
	"no order line reaches past the instance's billed time"
ok "$(q -c "SELECT count(*) FILTER (WHERE NOT ok) FROM gpubill.verify()")" "0" "verify() is all ok"
[ -n "${KEEP:-}" ] || rm -rf "$dir"; echo "# $dir"
