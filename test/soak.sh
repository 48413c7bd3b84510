#!/usr/bin/env bash
# TAP: the soak (issue 11; R-LED-6, R-LED-3, R-CLK-2, R-CLK-6).  32 pgbench
# clients call the whole API at random on 200 customers sharing 12 machines of
# 4 partners — recharges, vouchers, public holds captured or released, PAYG and
# prepaid instances (create, stop, start, release, convert, resize), storage,
# refunds, outages, ratings, withdrawals, a rare forced offline — while one
# more client ticks simulated time forward an hour at a time.  Every call
# catches its business refusals (GB001..GB006, 22023, P0002) and records any
# other error; afterwards: no deadlock (40P01), no serialization failure
# (40001), no other error, every tick ran, no tick failure, no usage charged
# twice, and verify() is all ok (the journal conserves money).
# SOAK_SECONDS (default 40) sets the length; the issue's full form is 180.
# Needs a running cluster (PGHOST/PGPORT/PGUSER), as scripts/test.sh provides.
set -euo pipefail
db=gpubill_soak
secs=${SOAK_SECONDS:-40}
clients=${SOAK_CLIENTS:-32}
. "$(dirname "$0")/../scripts/tap.sh"
q() { psql -qXAt -d "$db" -v ON_ERROR_STOP=1 "$@"; }
echo "1..8"

PGOPTIONS="-c client_min_messages=warning" psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
q >/dev/null <<'SQL'
CREATE EXTENSION gpubill;
SET search_path = gpubill, public;
SELECT set_setting('payg_limit_instances', '1000');
SELECT set_setting('machine_deposit', '10.00');
SELECT open_partner('soak-owner-' || p, 'CNY', date_trunc('month', now()) - interval '30 days') FROM generate_series(1, 4) p;
SELECT list_machine(partner_id, 64, amount((1 + m % 3)::numeric, 'CNY'), '2030-01-01',
					vouchers_allowed => m % 4 <> 0, week_price_per_gpu => '100 CNY', month_price_per_gpu => '400 CNY',
					billing => CASE WHEN m % 6 = 5 THEN 'usage_hourly' ELSE 'per_second' END, at => now() - interval '2 days')
FROM partner CROSS JOIN generate_series(1, 3) m;
-- last month each partner earned on a machine of its own (100 h at 2.00), so that it may withdraw this month
SELECT open_customer('soak-early', 'CNY', date_trunc('month', now()) - interval '20 days');
SELECT recharge(customer_id, '2000 CNY', 'wechat', 'soak-early', date_trunc('month', now()) - interval '20 days')
FROM customer WHERE external_ref = 'soak-early';
SELECT stop_instance(create_instance(c.customer_id,
						list_machine(p.partner_id, 1, '2.00 CNY', '2030-01-01', at => date_trunc('month', now()) - interval '20 days'),
						1, at => date_trunc('month', now()) - interval '10 days'),
					 date_trunc('month', now()) - interval '10 days' + interval '100 hours')
FROM partner p, customer c WHERE c.external_ref = 'soak-early';
SELECT open_customer('soak-' || i, 'CNY', now() - interval '3 days') FROM generate_series(1, 200) i;
SELECT recharge(customer_id, '3000 CNY', 'wechat', 'soak-' || customer_id, now() - interval '2 days') FROM customer;
CREATE SEQUENCE public.tick_hours;
CREATE SEQUENCE public.ext_ids;
CREATE TABLE public.soak_error (at timestamptz DEFAULT clock_timestamp(), op text, sqlstate text, message text);
CREATE TABLE public.soak_op (op text, outcome text);

-- one random API call for customer c (and a random machine, partner, instance)
CREATE FUNCTION public.app_step(c bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r float8 := random();
	op text;
	i bigint;
	m bigint;
	p bigint;
	h bigint;
	st text;
	msg text;
BEGIN
	SELECT machine_id, partner_id INTO m, p FROM gpubill.machine WHERE state = 'listed' ORDER BY random() LIMIT 1;
	IF m IS NULL THEN
		SELECT machine_id, partner_id INTO m, p FROM gpubill.machine ORDER BY random() LIMIT 1;
	END IF;
	BEGIN
		IF r < 0.06 THEN
			op := 'recharge';
			PERFORM gpubill.recharge(c, gpubill.amount((10 + floor(random() * 500))::numeric, 'CNY'), 'alipay',
									 'soak-x-' || nextval('public.ext_ids'));
		ELSIF r < 0.09 THEN
			op := 'voucher';
			PERFORM gpubill.grant_voucher(c, '5 CNY', CASE WHEN random() < 0.5 THEN now() + interval '3 hours' END);
		ELSIF r < 0.14 THEN
			op := 'hold';
			h := gpubill.place_hold(c, '2 CNY', random() < 0.3, NULL, 'order', c);
			IF random() < 0.5 THEN
				PERFORM gpubill.capture_hold(h, '1.50 CNY', p);
			ELSE
				PERFORM gpubill.release_hold(h);
			END IF;
		ELSIF r < 0.36 THEN
			op := 'create';
			PERFORM gpubill.create_instance(c, m, 1 + (random() < 0.2)::integer,
				CASE WHEN random() < 0.85 THEN 'payg' WHEN random() < 0.5 THEN 'weekly' ELSE 'monthly' END,
				auto_renew => random() < 0.5);
		ELSIF r < 0.70 THEN
			SELECT k.instance_id INTO i FROM gpubill.instance k
			WHERE k.customer_id = c AND k.state <> 'released' ORDER BY random() LIMIT 1;
			IF i IS NULL THEN
				RETURN 'none';
			END IF;
			r := random();
			IF r < 0.35 THEN
				op := 'stop'; PERFORM gpubill.stop_instance(i);
			ELSIF r < 0.65 THEN
				op := 'start'; PERFORM gpubill.start_instance(i);
			ELSIF r < 0.75 THEN
				op := 'release'; PERFORM gpubill.release_instance(i);
			ELSIF r < 0.85 THEN
				op := 'convert'; PERFORM gpubill.convert_instance(i, CASE WHEN random() < 0.5 THEN 'weekly' ELSE 'monthly' END);
			ELSE
				op := 'resize'; PERFORM gpubill.resize_instance(i, 1 + (random() < 0.5)::integer);
			END IF;
		ELSIF r < 0.78 THEN
			op := 'storage';
			PERFORM gpubill.set_storage(c, CASE WHEN random() < 0.5 THEN 'disk' ELSE 'nas' END, floor(random() * 500)::numeric);
		ELSIF r < 0.79 THEN
			op := 'refund';
			PERFORM gpubill.request_refund(c);
		ELSIF r < 0.86 THEN
			op := 'outage';
			PERFORM gpubill.report_outage(m, now() - interval '50 minutes' + random() * interval '30 minutes',
										  now() - interval '15 minutes', random() < 0.2);
		ELSIF r < 0.93 THEN
			op := 'rating';
			PERFORM gpubill.rate_partner(p, (floor(random() * 200) - 90)::integer, 'soak');
		ELSIF r < 0.995 THEN
			op := 'withdrawal';
			PERFORM gpubill.request_withdrawal(p, '1 CNY');
		ELSE
			op := 'offline';		/* only the machines of one partner, so the others stay for rentals */
			SELECT machine_id INTO m FROM gpubill.machine
			WHERE partner_id = (SELECT min(partner_id) FROM gpubill.partner) AND state IN ('listed', 'delisted')
			ORDER BY random() LIMIT 1;
			PERFORM gpubill.take_offline(m, true);
		END IF;
		INSERT INTO public.soak_op VALUES (op, 'ok');
		RETURN op;
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
		IF st IN ('GB001', 'GB002', 'GB003', 'GB004', 'GB005', 'GB006', '22023', 'P0002') THEN
			INSERT INTO public.soak_op VALUES (op, st);
			RETURN 'refused';
		END IF;
		INSERT INTO public.soak_error (op, sqlstate, message) VALUES (op, st, msg);
		RETURN 'error';
	END;
END
$$;
SQL
read -r cmin cmax <<<"$(q -c "SELECT min(customer_id) || ' ' || max(customer_id) FROM gpubill.customer WHERE external_ref <> 'soak-early'")"
dir=$(mktemp -d)
chmod 755 "$dir"
echo "\\set c random($cmin, $cmax)
SELECT public.app_step(:c);" >"$dir/app.sql"
echo "SELECT gpubill.tick(now() + nextval('public.tick_hours') * interval '1 hour');" >"$dir/tick.sql"

pgbench -n -c "$clients" -j 2 -T "$secs" -f "$dir/app.sql" "$db" >"$dir/app.log" 2>&1 &
app=$!
tick_rc=0
pgbench -n -c 1 -T "$secs" -f "$dir/tick.sql" "$db" >"$dir/tick.log" 2>&1 || tick_rc=$?
app_rc=0
wait $app || app_rc=$?
calls=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$dir/app.log")
ticks=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$dir/tick.log")
echo "# $calls calls by $clients clients and $ticks ticks in $secs s"
q -c "SELECT '# ' || op || ': ' || string_agg(outcome || ' ' || n, ', ' ORDER BY outcome)
	  FROM (SELECT op, outcome, count(*) AS n FROM public.soak_op GROUP BY 1, 2) x GROUP BY op ORDER BY op"
q -c "SELECT '# error: ' || op || ' ' || sqlstate || ' ' || message FROM public.soak_error LIMIT 20"
ok "$app_rc $tick_rc" "0 0" "the $clients API clients and the ticking client ran to the end"
ok "$(q -c "SELECT count(*) FROM public.soak_error WHERE sqlstate = '40P01'")" "0" "no deadlock (40P01)"
ok "$(q -c "SELECT count(*) FROM public.soak_error WHERE sqlstate = '40001'")" "0" "no serialization failure (40001)"
ok "$(q -c "SELECT count(*) FROM public.soak_error")" "0" "no call failed but for a business refusal"
ok "$([ "${ticks:-0}" -gt 0 ] && q -c "SELECT count(*) FROM gpubill.tick_failures" || echo none)" "0" \
	"every tick ran, and none left a customer out"
ok "$(q -c "SELECT count(*) FROM gpubill.order_line a JOIN gpubill.order_line b
			ON a.instance_id = b.instance_id AND a.line_id < b.line_id
			AND lower(a.usage) < upper(b.usage) AND lower(b.usage) < upper(a.usage)")" "0" \
	"no stretch of usage was charged twice"
ok "$(q -c "SELECT coalesce(string_agg(k, ', '), 'none') FROM unnest(ARRAY['recharge', 'voucher', 'hold', 'create', 'stop',
				'start', 'release', 'convert', 'resize', 'storage', 'refund', 'outage', 'rating', 'withdrawal', 'offline']) k
			WHERE NOT EXISTS (SELECT FROM public.soak_op o WHERE o.op = k AND o.outcome = 'ok')")" "none" \
	"every kind of call succeeded at least once (kinds that never did: have)"
ok "$(q -c "SELECT coalesce(string_agg(check_name, ', '), 'all ok') FROM gpubill.verify() WHERE NOT ok")" "all ok" \
	"verify() is all ok: balances, holds, vouchers and deposits agree with the journal, which conserves money"
[ -n "${KEEP:-}" ] || rm -rf "$dir"; echo "# $dir"
