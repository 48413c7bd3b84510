-- demo_market.sql — a generated marketplace and a simulated month of ticks.
-- psql -v partners=20 -v machines=300 -v customers=2000 -f scripts/demo_market.sql
-- Everything goes through the API, in simulated time (November 2026, billing
-- time zone Asia/Shanghai); random choices are seeded, so a run is repeatable.
\set ON_ERROR_STOP on
\pset footer off
\set SHOW_CONTEXT never
SET search_path = gpubill, public;
SET TimeZone = 'Asia/Shanghai';
SET DateStyle = ISO;
SET client_min_messages = warning;
SELECT setseed(0.2026) \gset

SELECT set_setting('free_disk_gb', '20'), set_setting('channel_bonus_rate.alipay', '0.05'),
	set_setting('channel_bonus_rate.stripe', '0.02') \gset

\echo '== generating the marketplace'
SELECT count(open_partner('owner-' || i, 'CNY', '2026-10-25')) AS partners FROM generate_series(1, :partners) i;
SELECT count(list_machine(p.partner_id, g.gpus, amount(round((1.5 + random() * 10)::numeric, 2), 'CNY'),
						  '2027-12-31', random() > 0.1,
						  CASE WHEN random() < 0.4 THEN amount(round((150 + random() * 900)::numeric, 0), 'CNY') END,
						  CASE WHEN random() < 0.3 THEN amount(round((500 + random() * 3000)::numeric, 0), 'CNY') END,
						  CASE WHEN random() < 0.85 THEN 'per_second' WHEN random() < 0.7 THEN 'usage_hourly' ELSE 'one_time' END,
						  '2026-10-26', (ARRAY[4, 8, 24, 72])[1 + floor(random() * 4)::int])) AS machines
FROM generate_series(1, :machines) i
CROSS JOIN LATERAL (SELECT (ARRAY[1, 1, 2, 4, 8])[1 + floor(random() * 5 + i * 0)::int] AS gpus) g
JOIN partner p ON p.external_ref = 'owner-' || (1 + i % :partners);
SELECT count(open_customer('cust-' || i, CASE WHEN i % 25 = 0 THEN 'USD' ELSE 'CNY' END, '2026-10-27')) AS customers
FROM generate_series(1, :customers) i;
-- a few USD machines for the SubModel credit customers
SELECT count(list_machine(p.partner_id, 8, '0.80 USD', '2027-12-31', at => '2026-10-26')) AS usd_machines
FROM (SELECT open_partner('usd-owner-' || i, 'USD', '2026-10-25') AS partner_id FROM generate_series(1, 3) i) p;

-- customers' profiles: how much and how they pay, vouchers, discounts, storage
CREATE TEMP TABLE profile AS
SELECT c.customer_id, c.currency, random() AS thrift, (ARRAY['wechat', 'alipay', 'stripe', 'paypal'])[1 + floor(random() * 4)::int] AS channel
FROM customer c WHERE c.external_ref LIKE 'cust-%';
SELECT count(recharge(p.customer_id, amount(round((20 + 1500 * p.thrift ^ 2)::numeric, 0), p.currency), p.channel,
					  'init-' || p.customer_id, '2026-10-28 09:00+08')) AS first_recharges
FROM profile p WHERE p.thrift > 0.08;
SELECT count(grant_voucher(p.customer_id, amount((10 + floor(random() * 40))::numeric, p.currency),
						   CASE WHEN random() < 0.6 THEN timestamptz '2026-11-10 00:00+08' + random() * interval '20 days' END,
						   '2026-10-28 10:00+08')) AS vouchers
FROM profile p WHERE random() < 0.3;
SELECT count(set_discount(p.customer_id, 0.85)) AS discounted FROM profile p WHERE random() < 0.1;
SELECT count(set_storage(p.customer_id, 'disk', round((random() * 400)::numeric), '2026-11-01 00:00+08')) AS disk_users
FROM profile p WHERE p.currency = 'CNY' AND random() < 0.4;
SELECT count(set_storage(p.customer_id, 'nas', round((random() * 200)::numeric), '2026-11-01 00:00+08')) AS nas_users
FROM profile p WHERE p.currency = 'CNY' AND random() < 0.1;

-- the compute exchange: two providers, term contracts of labs (prefunded or approved to pay directly)
SELECT open_provider('exchange-dc-1', 'CNY', '2026-09-01') AS dc1 \gset
SELECT open_provider('exchange-dc-2', 'CNY', '2026-09-01') AS dc2 \gset
CREATE TEMP TABLE lab AS
SELECT n, open_customer('lab-' || n, 'CNY', '2026-09-01') AS customer_id FROM generate_series(1, 5) n;
SELECT count(set_b2b(customer_id, true)) AS b2b_labs FROM lab;
SELECT count(recharge(customer_id, CASE n WHEN 2 THEN '500.00 CNY'::amount ELSE '40000.00 CNY' END, 'bank_transfer',
					  'lab-' || n, '2026-09-02')) AS lab_recharges FROM lab;
SELECT count(set_approved(customer_id, true)) AS approved_labs FROM lab WHERE n IN (1, 2);
-- lab-1 (approved) 4 GPUs x 90 days from Nov 1, its initial payment made at once; lab-2 (approved) never pays its month;
-- lab-3 (prefunded) 2 GPUs x 90 days from Nov 10; lab-4 (prefunded) 120 days from Oct 1, resold to lab-5 in November
SELECT create_contract(customer_id, :dc1, 4, '3.00 CNY', '[2026-11-01 00:00+08, 2027-01-30 00:00+08)', '2026-10-28 10:00+08', 'lab-1-c1')
	AS lab1_contract FROM lab WHERE n = 1 \gset
SELECT pay_contract(:lab1_contract, (SELECT customer_pays FROM contract_schedule(:lab1_contract) WHERE seq = 1), 'lab-1-wire-1',
					'2026-10-28 15:00+08') IS NOT NULL AS lab1_paid;
SELECT create_contract(customer_id, :dc1, 2, '3.00 CNY', '[2026-11-05 00:00+08, 2026-12-05 00:00+08)', '2026-10-28 10:00+08', 'lab-2-c1')
	IS NOT NULL AS lab2_accepted FROM lab WHERE n = 2;
SELECT create_contract(customer_id, :dc2, 2, '2.50 CNY', '[2026-11-10 00:00+08, 2027-02-08 00:00+08)', '2026-10-28 10:00+08', 'lab-3-c1')
	IS NOT NULL AS lab3_accepted FROM lab WHERE n = 3;
SELECT create_contract(customer_id, :dc2, 1, '4.00 CNY', '[2026-10-01 00:00+08, 2027-01-29 00:00+08)', '2026-09-25 10:00+08', 'lab-4-c1')
	IS NOT NULL AS lab4_accepted FROM lab WHERE n = 4;

-- an API call that may fail for a business reason (funds, limits, capacity) counts as a miss
CREATE FUNCTION pg_temp.try(sql text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE sql;
	RETURN true;
EXCEPTION WHEN SQLSTATE 'GB001' OR SQLSTATE 'GB002' OR SQLSTATE 'GB003' OR SQLSTATE 'GB004' THEN
	RETURN false;
END
$$;

-- one simulated hour: customers start, stop, convert and recharge; then tick
CREATE FUNCTION pg_temp.hour(h timestamptz) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	created int; stopped int; started int; recharged int; converted int; outages int; t jsonb;
BEGIN
	SELECT count(*) FILTER (WHERE pg_temp.try(format(
		'SELECT gpubill.create_instance(%s, %s, %s, %L, %L, at => %L)', p.customer_id, m.machine_id, 1 + (m.gpus > 1 AND random() < 0.3)::int,
		CASE WHEN m.month_price_per_gpu IS NOT NULL AND random() < 0.3 THEN 'monthly'
			 WHEN m.week_price_per_gpu IS NOT NULL AND random() < 0.3 THEN 'weekly' ELSE 'payg' END,
		random() < 0.5, h + random() * interval '50 minutes')))
	INTO created
	FROM (SELECT * FROM pg_temp.profile WHERE random() < 0.004 + 0.004 * thrift) p
	CROSS JOIN LATERAL (SELECT * FROM (SELECT * FROM gpubill.machine ORDER BY machine_id OFFSET 0) m WHERE m.state = 'listed'
						  AND gpubill.currency(m.price_per_gpu_hour) = p.currency
						  AND p.customer_id IS NOT NULL
						ORDER BY random() LIMIT 1) m;
	SELECT count(*) FILTER (WHERE pg_temp.try(format('SELECT gpubill.stop_instance(%s, at => %L)', i.instance_id,
		GREATEST(i.last_event_at, h + random() * interval '55 minutes'))))
	INTO stopped
	FROM (SELECT * FROM gpubill.instance ORDER BY instance_id OFFSET 0) i WHERE i.state = 'running' AND i.billing = 'payg' AND random() < 0.02;
	SELECT count(*) FILTER (WHERE pg_temp.try(format('SELECT gpubill.start_instance(%s, at => %L)', i.instance_id,
		GREATEST(i.last_event_at, h + random() * interval '55 minutes'))))
	INTO started
	FROM (SELECT * FROM gpubill.instance ORDER BY instance_id OFFSET 0) i WHERE i.state IN ('stopped', 'expired') AND random() < 0.03;
	SELECT count(*) FILTER (WHERE pg_temp.try(format('SELECT gpubill.convert_instance(%s, ''weekly'', at => %L)', i.instance_id,
		GREATEST(i.last_event_at, h + random() * interval '55 minutes'))))
	INTO converted
	FROM (SELECT i.* FROM gpubill.instance i JOIN gpubill.machine m USING (machine_id)
		  WHERE i.state = 'running' AND i.billing = 'payg' AND m.week_price_per_gpu IS NOT NULL AND i.product <> 'one_time'
		  ORDER BY i.instance_id OFFSET 0) i
	WHERE random() < 0.002;
	SELECT count(gpubill.recharge(p.customer_id, gpubill.amount(round((30 + random() * 300)::numeric, 0), p.currency), p.channel,
								  'top-' || p.customer_id || '-' || extract(epoch FROM h)::bigint, h + interval '30 minutes'))
	INTO recharged
	FROM (SELECT p.* FROM (SELECT DISTINCT a.customer FROM gpubill.open_alerts a
							WHERE a.kind IN ('balance_low', 'storage_arrears', 'storage_balance_low')) a
		  JOIN pg_temp.profile p ON p.customer_id = a.customer ORDER BY p.customer_id OFFSET 0) p
	WHERE random() < 0.04 + 0.1 * p.thrift;
	-- partners: now and then a machine in use had a 20-minute outage in the previous hour (reported late in
	-- this one: its customers are compensated), or announces maintenance for tomorrow; ratings move
	SELECT count(gpubill.report_outage(m.machine_id, h - interval '40 minutes', h - interval '20 minutes', false,
									   h + interval '56 minutes'))
	INTO outages
	FROM (SELECT i.machine_id FROM (SELECT * FROM gpubill.instance ORDER BY instance_id OFFSET 0) i WHERE i.state = 'running' ORDER BY random() LIMIT 1) m
	WHERE random() < 0.12;
	PERFORM gpubill.report_outage(m.machine_id, h + interval '1 day', h + interval '1 day 2 hours', true, h + interval '56 minutes')
	FROM (SELECT * FROM gpubill.machine ORDER BY machine_id OFFSET 0) m WHERE m.state = 'listed' AND random() < 0.0005;
	PERFORM gpubill.rate_partner(p.partner_id, (ARRAY[-300, -50, 20, 50])[1 + floor(random() * 4)::int], 'customer review',
								 h + interval '57 minutes')
	FROM (SELECT * FROM gpubill.partner ORDER BY partner_id OFFSET 0) p WHERE p.qualification = 'qualified' AND random() < 0.02;
	IF h = '2026-11-12 10:00+08' THEN
		-- lab-4 resells the rest of its contract to lab-5, 10% above its price, from Dec 1
		PERFORM gpubill.resell_contract(c.contract_id, n.customer_id, '4.40 CNY', h + interval '10 minutes')
		FROM gpubill.contract c JOIN gpubill.customer k USING (customer_id), gpubill.customer n
		WHERE k.external_ref = 'lab-4' AND n.external_ref = 'lab-5';
	END IF;
	IF h = '2026-11-25 10:00+08' THEN
		-- exchange-dc-2 suspends its listing: lab-3 gets back what it paid for the rest of its term (R-EXC-8)
		PERFORM gpubill.terminate_contract(c.contract_id, 'provider', h + interval '10 minutes')
		FROM gpubill.contract c JOIN gpubill.customer k USING (customer_id) WHERE k.external_ref = 'lab-3';
	END IF;
	IF h = '2026-11-20 10:00+08' THEN
		-- lab-2 has not paid: the provider terminates the contract
		PERFORM gpubill.terminate_contract(c.contract_id, 'non_payment', h + interval '10 minutes')
		FROM gpubill.contract c JOIN gpubill.customer k USING (customer_id) WHERE k.external_ref = 'lab-2';
	END IF;
	IF h = '2026-11-15 12:00+08' THEN
		-- an owner takes its busiest machine away: instances stop, customers compensated
		PERFORM gpubill.take_offline(x.machine_id, true, h + interval '58 minutes')
		FROM (SELECT i.machine_id FROM gpubill.instance i WHERE i.state = 'running' AND gpubill.currency(i.hourly_fee) = 'CNY'
			  GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1) x;
		-- and another delists one: no new rentals, the running ones go on
		PERFORM gpubill.delist_machine(x.machine_id, h + interval '58 minutes')
		FROM (SELECT m.machine_id FROM gpubill.machine m WHERE m.state = 'listed' ORDER BY m.machine_id LIMIT 1) x;
	END IF;
	t := gpubill.tick(h + interval '1 hour');
	RETURN jsonb_build_object('created', created, 'stopped', stopped, 'started', started, 'converted', converted,
							  'recharged', recharged, 'outages', outages, 'tick', t);
END
$$;

-- every random sample reads its rows in id order, so the month replays exactly whatever the physical order of the rows
\echo '== simulating November 2026, one tick per hour (720 ticks)'
SELECT pg_temp.hour('2026-10-31 23:00+08') IS NOT NULL AS warm_up;
-- one transaction per hour, as pg_cron's ticks would be
CREATE TEMP TABLE sim (h timestamptz, r jsonb);
SELECT format('INSERT INTO sim SELECT %L, pg_temp.hour(%L)', h, h)
FROM generate_series(timestamptz '2026-11-01 00:00+08', '2026-11-30 23:00+08', '1 hour') h \gexec
SELECT tick('2026-12-01 00:00+08') IS NOT NULL AS month_closed;
-- Dec 2: every partner with something withdrawable takes it all (October's and November's income)
SELECT count(request_withdrawal(p.partner_id, withdrawable(p.partner_id, '2026-12-02 10:00+08'), '2026-12-02 10:00+08'))
	AS withdrawals
FROM partner p WHERE micros(withdrawable(p.partner_id, '2026-12-02 10:00+08')) > 0 \gset
RESET client_min_messages;

\echo ''
\echo '== the month in figures'
SELECT sum((r->>'created')::int) AS instances_created, sum((r->>'stopped')::int) AS stopped,
	   sum((r->>'started')::int) AS restarted, sum((r->>'converted')::int) AS converted_to_weekly,
	   sum((r->>'recharged')::int) AS top_up_recharges, sum((r->>'outages')::int) AS outages,
	   sum((r->'tick'->'payg'->>'settled')::int) AS hourly_settlements,
	   sum((r->'tick'->'payg'->>'stopped_insufficient_balance')::int) AS stopped_for_funds,
	   sum((r->'tick'->'terms'->>'renewed')::int) AS terms_renewed, sum((r->'tick'->'terms'->>'ended')::int) AS terms_ended,
	   round(avg((r->'tick'->>'ms')::numeric), 1) AS avg_tick_ms, max((r->'tick'->>'ms')::numeric) AS max_tick_ms
FROM sim;

\echo 'Revenue by week (billing time zone), CNY:'
SELECT date_trunc('week', t.at AT TIME ZONE 'Asia/Shanghai')::date AS week,
	   sum(t.amount) FILTER (WHERE t.kind IN ('income', 'fee', 'voucher_spend')) AS compute_charged,
	   sum(t.amount) FILTER (WHERE t.kind = 'voucher_spend') AS paid_by_vouchers,
	   sum(t.amount) FILTER (WHERE t.kind = 'income') AS partner_income,
	   sum(t.amount) FILTER (WHERE t.kind = 'fee') AS platform_fees,
	   sum(t.amount) FILTER (WHERE t.kind = 'storage') AS storage,
	   sum(t.amount) FILTER (WHERE t.kind = 'voucher_expiry') AS voucher_breakage
FROM transfer t WHERE currency(t.amount) = 'CNY' AND t.at >= '2026-11-01 00:00+08'
GROUP BY 1 ORDER BY 1;

\echo 'Usage by billing and product:'
SELECT i.billing, i.product, count(DISTINCT i.instance_id) AS instances,
	   round(sum(o.seconds * i.gpus) / 3600.0) AS gpu_hours, sum(o.charge) AS charged
FROM instance i JOIN order_line o USING (instance_id)
WHERE currency(o.charge) = 'CNY'
GROUP BY 1, 2 ORDER BY 1, 2;

\echo 'Top partners by income:'
SELECT p.external_ref AS partner, count(DISTINCT o.machine_id) AS machines_used, sum(o.partner_income) AS income,
	   sum(o.voucher_paid) AS voucher_paid
FROM order_line o JOIN partner p USING (partner_id)
WHERE currency(o.charge) = 'CNY'
GROUP BY 1 ORDER BY sum(o.partner_income) DESC LIMIT 5;

\echo 'Partner statements, November (top 5 by income; withdrawable once the month is over):'
SELECT p.external_ref AS partner, p.qualification, partner_rating(p.partner_id) AS rating, s.gross, s.fees, s.voucher_paid,
	   s.income, s.deposits, s.compensation, s.withdrawable
FROM partner_statement s JOIN partner p ON p.partner_id = s.partner
WHERE s.month = '2026-11-01' AND p.currency = 'CNY'
ORDER BY s.income DESC LIMIT 5;
\echo 'Withdrawals on Dec 2:'
SELECT count(*) AS partners, sum(amount) AS paid_out, min(due_at) AS payout_due FROM withdrawal WHERE currency(amount) = 'CNY';

\echo 'Outages and compensation:'
SELECT o.kind, count(DISTINCT o.outage_id) AS outages, count(c.instance_id) AS instances_compensated,
	   coalesce(sum(c.amount), '0 CNY') AS compensation
FROM outage o JOIN machine m USING (machine_id) LEFT JOIN outage_compensation c USING (outage_id)
WHERE currency(m.price_per_gpu_hour) = 'CNY'
GROUP BY 1 ORDER BY 1;
SELECT qualification, count(*) AS partners FROM partner GROUP BY 1 ORDER BY 1;

\echo 'Platform revenue by week (billing time zone), CNY:'
SELECT date_trunc('week', day)::date AS week, sum(service_fees) AS service_fees, sum(voucher_breakage) AS voucher_breakage,
	   sum(compensation_paid) AS compensation_paid, sum(compensation_recovered) AS recovered_from_partners,
	   sum(vouchers_spent) AS vouchers_spent
FROM platform_revenue WHERE currency = 'CNY' AND day >= '2026-11-01'
GROUP BY 1 ORDER BY 1;

\echo 'Exchange contracts (state on Dec 1) and what their customers owe:'
SELECT c.contract_id AS contract, k.external_ref AS customer, c.gpus, c.price_per_gpu_hour AS price, c.term, c.state,
	   c.total, sum(r.paid) AS paid, coalesce(sum(r.customer_pays) FILTER (WHERE r.overdue), '0 CNY') AS overdue,
	   c.deposit_left AS deposit_unapplied
FROM contract c JOIN customer k USING (customer_id) JOIN contract_receivables r ON r.contract = c.contract_id
GROUP BY c.contract_id, k.external_ref ORDER BY c.contract_id;
\echo 'Provider wallets (received less commission) and exchange revenue:'
SELECT p.external_ref AS provider, w.balance, w.commission_paid FROM partner p CROSS JOIN LATERAL provider_wallet(p.partner_id) w
WHERE p.is_provider ORDER BY 1;
SELECT sum(commissions) AS commissions_to_dec_1 FROM platform_revenue WHERE currency = 'CNY';

\echo 'A refund asked on Dec 2 by a customer whose consumption used up its recharges (R-REF-2):'
DO $$
DECLARE
	c bigint;
	msg text;
	det text;
BEGIN
	SELECT w.customer_id INTO c FROM gpubill.wallet w
	WHERE gpubill.micros(w.recharged) > 0 AND gpubill.micros(w.held) = 0 AND gpubill.micros(w.cash) > 0
	  AND gpubill.micros(gpubill.refundable(w)) = 0
	  AND NOT EXISTS (SELECT FROM gpubill.instance i WHERE i.customer_id = w.customer_id AND i.state = 'running')
	ORDER BY w.customer_id LIMIT 1;
	IF c IS NULL THEN
		RAISE NOTICE 'no such customer in this run';
		RETURN;
	END IF;
	PERFORM gpubill.request_refund(c, '2026-12-02 10:00+08');
	RAISE NOTICE 'customer %: refunded', c;
EXCEPTION WHEN SQLSTATE 'GB001' THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
	RAISE NOTICE 'refused (GB001): % — %', msg, det;
END
$$;

\echo 'Instances now:'
SELECT state, coalesce(stop_reason, '-') AS reason, count(*) FROM instance GROUP BY 1, 2 ORDER BY 1, 2;

\echo 'Arrears (storage settled at 00:00 on Dec 1):'
SELECT count(*) AS customers_in_arrears, sum(amount) AS owed, min(since) AS since FROM arrears;

\echo 'Open alerts and lifecycle events:'
SELECT 'alert' AS what, kind, count(*) FROM open_alerts GROUP BY 1, 2
UNION ALL
SELECT 'lifecycle event', kind, count(*) FROM lifecycle_events WHERE cancelled_at IS NULL GROUP BY 1, 2
ORDER BY 1, 2;

\echo 'A customer''s statement:'
SELECT * FROM customer_statement
WHERE customer = (SELECT customer_id FROM order_line GROUP BY 1 ORDER BY count(*) DESC LIMIT 1) ORDER BY month;

\echo 'Ledger invariants:'
SELECT check_name, ok FROM verify(full => true);
