-- demo_partitions.sql — the marketplace month through the proxy, on N partition databases (issue 17).
-- psql -d <proxy database> -v partners=8 -v machines=60 -v customers=400 [-v days=30] -f scripts/demo_partitions.sql
-- Only the API and the views: the proxy database holds no billing table.
-- Parties spread over the partitions by the hash of their reference;
-- machines are copied to every partition; a rental claims the machine's GPUs
-- at its home; tick runs every partition's tick in parallel.  Outages are
-- compensated on every partition, a machine is taken offline by force on
-- Nov 15, every partner withdraws on Dec 2 what the partitions' parts allow;
-- the exchange: a provider with commission tiers, labs on term contracts,
-- two of them resell the rest on Nov 20 to labs that may live on another
-- partition (a saga), an offset recovered from the provider's receipts on
-- every partition (issue 18).
\set ON_ERROR_STOP on
\pset footer off
\set SHOW_CONTEXT never
SET search_path = gpubill, public;
SET TimeZone = 'Asia/Shanghai';
SET DateStyle = ISO;
SET client_min_messages = warning;
SELECT setseed(0.2026) \gset
\if :{?days}
\else
\set days 30
\endif

SELECT set_setting('free_disk_gb', '20'), set_setting('channel_bonus_rate.alipay', '0.05') \gset

\echo '== generating the marketplace through the proxy'
CREATE TEMP TABLE owner AS SELECT i, open_partner('owner-' || i, 'CNY', '2026-10-25') AS partner_id FROM generate_series(1, :partners) i;
SELECT count(*) AS partners FROM owner;
CREATE TEMP TABLE mach AS
SELECT n.i, g.gpus, list_machine(o.partner_id, g.gpus, amount(round((1.5 + random() * 10)::numeric, 2), 'CNY'), '2027-12-31', random() > 0.1,
							   CASE WHEN random() < 0.4 THEN amount(round((150 + random() * 900)::numeric, 0), 'CNY') END, NULL,
							   CASE WHEN random() < 0.85 THEN 'per_second' ELSE 'usage_hourly' END, '2026-10-26') AS machine_id
FROM generate_series(1, :machines) n(i)
CROSS JOIN LATERAL (SELECT (ARRAY[1, 1, 2, 4, 8])[1 + floor(random() * 5 + n.i * 0)::int] AS gpus) g
JOIN owner o ON o.i = 1 + n.i % :partners;
SELECT count(*) AS machines, sum(gpus) AS gpus FROM mach;
CREATE TEMP TABLE profile AS
SELECT i, open_customer('cust-' || i, 'CNY', '2026-10-27') AS customer_id, random() AS thrift,
	   (ARRAY['wechat', 'alipay', 'stripe'])[1 + floor(random() * 3)::int] AS channel
FROM generate_series(1, :customers) i;
SELECT count(*) AS customers FROM profile;
SELECT count(recharge(p.customer_id, amount(round((20 + 1500 * p.thrift ^ 2)::numeric, 0), 'CNY'), p.channel,
					  'init-' || p.i, '2026-10-28 09:00+08')) AS first_recharges FROM profile p WHERE p.thrift > 0.08;
SELECT count(grant_voucher(p.customer_id, amount((10 + floor(random() * 40))::numeric, 'CNY'), '2026-11-30 00:00+08',
						   '2026-10-28 10:00+08')) AS vouchers FROM profile p WHERE random() < 0.3;
SELECT count(set_storage(p.customer_id, 'disk', round((random() * 400)::numeric), '2026-11-01 00:00+08')) AS disk_users
FROM profile p WHERE random() < 0.4;
CREATE TEMP TABLE rented (instance_id bigint PRIMARY KEY, customer_id bigint, machine_id bigint);

\echo '== the exchange: a provider, 6 labs on term contracts (2 more to buy resales)'
SELECT count(*) AS tiers FROM (SELECT set_commission_tiers('[{"from": 0, "rate": 0.04}, {"from": 30000, "rate": 0.03}]')) x;
SELECT open_provider('dc-1', 'CNY', '2026-10-25') AS dc \gset
CREATE TEMP TABLE lab AS SELECT i, open_customer('lab-' || i, 'CNY', '2026-10-27') AS customer_id FROM generate_series(1, 8) i;
SELECT count(recharge(customer_id, '60000 CNY', 'stripe', 'lab-fund-' || i, '2026-10-28 09:00+08')) AS labs_funded FROM lab;
CREATE TEMP TABLE lab_contract AS
SELECT i, create_contract(customer_id, :dc, 1 + i % 4, '3.00 CNY', '[2026-11-01 00:00+08, 2027-02-28 00:00+08)', '2026-10-29 10:00+08',
						  'lab-c-' || i) AS contract_id
FROM lab WHERE i <= 6;
SELECT count(*) AS contracts, count(DISTINCT partition_of(contract_id)) AS on_partitions FROM lab_contract;
-- the resales at 60% of the run (Nov 20 in a month), the offset at 80% (Nov 25)
CREATE TEMP TABLE exchange_hours AS
SELECT timestamptz '2026-11-01 12:00+08' + floor(:days * 0.6) * interval '1 day' AS resale_h,
	   timestamptz '2026-11-01 12:00+08' + floor(:days * 0.8) * interval '1 day' AS offset_h;

-- a call that may fail for a business reason (funds, limits, capacity, state) counts as a miss
CREATE FUNCTION pg_temp.try(sql text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE sql;
	RETURN true;
EXCEPTION WHEN SQLSTATE 'GB001' OR SQLSTATE 'GB002' OR SQLSTATE 'GB004' THEN
	RETURN false;
END
$$;

-- one simulated hour: customers rent, stop, start and recharge; then tick
CREATE FUNCTION pg_temp.hour(h timestamptz) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	created int := 0; stopped int; started int; recharged int; outages int; c record; i bigint; t jsonb;
BEGIN
	FOR c IN SELECT q.customer_id, m.machine_id, m.gpus FROM pg_temp.profile q
			 CROSS JOIN LATERAL (SELECT * FROM pg_temp.mach ORDER BY random() + q.i * 0 LIMIT 1) m
			 WHERE random() < 0.004 + 0.004 * q.thrift ORDER BY q.i LOOP
		BEGIN
			i := gpubill.create_instance(c.customer_id, c.machine_id, 1 + (c.gpus > 1 AND random() < 0.3)::int,
										 CASE WHEN random() < 0.2 THEN 'weekly' ELSE 'payg' END, random() < 0.5,
										 h + random() * interval '50 minutes');
			INSERT INTO pg_temp.rented VALUES (i, c.customer_id, c.machine_id);
			created := created + 1;
		EXCEPTION WHEN SQLSTATE 'GB001' OR SQLSTATE 'GB002' OR SQLSTATE 'GB004' OR SQLSTATE '22023' THEN
			NULL;
		END;
	END LOOP;
	SELECT count(*) FILTER (WHERE pg_temp.try(format('SELECT gpubill.stop_instance(%s, at => %L)', r.instance_id, h + interval '55 minutes')))
	INTO stopped FROM (SELECT * FROM pg_temp.rented ORDER BY instance_id) r WHERE random() < 0.02;
	SELECT count(*) FILTER (WHERE pg_temp.try(format('SELECT gpubill.start_instance(%s, at => %L)', r.instance_id, h + interval '56 minutes')))
	INTO started FROM (SELECT * FROM pg_temp.rented ORDER BY instance_id) r WHERE random() < 0.01;
	SELECT count(gpubill.recharge(p.customer_id, gpubill.amount(round((30 + random() * 300)::numeric, 0), 'CNY'), p.channel,
								  'top-' || p.i || '-' || extract(epoch FROM h)::bigint, h + interval '57 minutes'))
	INTO recharged
	FROM (SELECT p.* FROM (SELECT DISTINCT a.customer FROM gpubill.open_alerts a WHERE a.kind IN ('balance_low', 'storage_arrears')) a
		  JOIN pg_temp.profile p ON p.customer_id = a.customer ORDER BY p.i) p
	WHERE random() < 0.04 + 0.1 * p.thrift;
	/* partners: now and then a machine in use had a 20-minute outage in the previous hour, reported late in this
	   one (its renters on every partition compensated); on Nov 15 an owner takes a busy machine offline by force */
	SELECT count(*) FILTER (WHERE pg_temp.try(format('SELECT gpubill.report_outage(%s, %L, %L, false, %L)', r.machine_id,
		h - interval '40 minutes', h - interval '20 minutes', h + interval '58 minutes')))
	INTO outages FROM (SELECT r.machine_id FROM pg_temp.rented r ORDER BY random() LIMIT 1) r WHERE random() < 0.1;
	/* the exchange: on Nov 20 two labs resell the rest of their contracts to labs that may live on another partition;
	   on Nov 25 the platform records that it overpaid the provider */
	IF h = (SELECT e.resale_h FROM pg_temp.exchange_hours e) THEN
		PERFORM gpubill.resell_contract(k.contract_id, b.customer_id, gpubill.amount(p.price, 'CNY'), h + interval '30 minutes')
		FROM (VALUES (1, 7, 3.30), (2, 8, 2.90)) p(seller, buyer, price)
		JOIN pg_temp.lab_contract k ON k.i = p.seller JOIN pg_temp.lab b ON b.i = p.buyer;
	END IF;
	IF h = (SELECT e.offset_h FROM pg_temp.exchange_hours e) THEN
		PERFORM gpubill.record_provider_offset(gpubill.open_provider('dc-1', 'CNY', '2026-10-25'), '2000 CNY', 'October overpaid',
											   h + interval '30 minutes', 'dc-1-offset');
	END IF;
	IF h = '2026-11-15 12:00+08' THEN
		PERFORM pg_temp.try(format('SELECT gpubill.take_offline(%s, true, %L)', r.machine_id, h + interval '59 minutes'))
		FROM (SELECT r.machine_id FROM pg_temp.rented r GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1) r;
	END IF;
	t := gpubill.tick(h + interval '1 hour');
	RETURN jsonb_build_object('created', created, 'stopped', stopped, 'started', started, 'recharged', recharged, 'outages', outages,
							  'settled', t -> 'payg' -> 'settled', 'stopped_for_funds', t -> 'payg' -> 'stopped_insufficient_balance');
END
$$;

\echo '== hourly ticks through the proxy for' :days 'days (each: every partition''s tick in parallel)'
CREATE TEMP TABLE month AS
SELECT h, pg_temp.hour(h) AS r
FROM generate_series(timestamptz '2026-11-01 00:00+08', timestamptz '2026-11-01 00:00+08' + (:days * 24 - 1) * interval '1 hour', interval '1 hour') h
ORDER BY h;
SELECT date_trunc('week', h)::date AS week, sum((r ->> 'created')::int) AS created, sum((r ->> 'stopped')::int) AS stopped,
	   sum((r ->> 'started')::int) AS started, sum((r ->> 'recharged')::int) AS recharged, sum((r ->> 'outages')::int) AS outages,
	   sum((r ->> 'settled')::int) AS settlements, sum((r ->> 'stopped_for_funds')::int) AS stopped_for_funds
FROM month GROUP BY 1 ORDER BY 1;
SELECT (tick('2026-12-01 01:00+08') -> 'storage' ->> 'settled') AS storage_settled_dec_1;

\echo '== Dec 2: every partner withdraws what it may (its income on every partition, summed through the proxy)'
SELECT count(*) AS partners, sum(w) AS withdrawn
FROM (SELECT gpubill.withdrawable(o.partner_id, '2026-12-02 10:00+08') AS w, o.partner_id FROM owner o) x
WHERE gpubill.micros(x.w) > 0 AND pg_temp.try(format('SELECT gpubill.request_withdrawal(%s, %L, %L)', x.partner_id, x.w, '2026-12-02 10:00+08'));
\echo '== the month, read through the proxy (every partition''s rows)'
\echo 'Money by kind, November (CNY):'
SELECT kind, count(*) AS transfers, sum(amount) AS amount FROM transfers
WHERE at >= '2026-11-01 00:00+08' AND at < '2026-12-02 00:00+08' GROUP BY 1 ORDER BY 1;
\echo 'Customers'' statements, summed:'
SELECT month, count(*) AS customers, sum(recharged) AS recharged, sum(charged) AS charged, sum(closing_cash) AS closing_cash
FROM customer_statement GROUP BY 1 ORDER BY 1;
\echo 'Partner statements, November (top 5 by income; every partition''s part summed):'
SELECT s.partner, s.gross, s.fees, s.income, s.compensation, s.withdrawn, s.withdrawable
FROM partner_statement s WHERE s.month = '2026-11-01' ORDER BY s.income DESC LIMIT 5;
\echo 'Platform revenue, November (CNY):'
SELECT sum(service_fees) AS service_fees, sum(compensation_paid) AS compensation_paid,
	   sum(compensation_recovered) AS recovered_from_partners, sum(voucher_breakage) AS voucher_breakage
FROM platform_revenue WHERE currency = 'CNY' AND day >= '2026-11-01' AND day < '2026-12-01';
\echo 'The exchange: contracts by state, the resales (on the buyers'' partitions), the provider''s wallet summed:'
SELECT contract_state(contract_id) AS state, count(*) FROM lab_contract GROUP BY 1 ORDER BY 1;
SELECT count(*) AS resales, count(*) FILTER (WHERE partition_of(c.contract_id) <> partition_of(b.customer_id)) AS across_partitions
FROM lab_contract c JOIN lab b ON b.i = c.i + 6 WHERE c.i <= 2 AND contract_state(c.contract_id) = 'resold';
SELECT w.balance, w.commission_paid, w.offset_outstanding FROM provider_wallet(:dc) w;
\echo 'Usage:'
SELECT count(DISTINCT instance) AS instances, round(sum(seconds) / 3600.0) AS instance_hours, sum(charged) AS charged,
	   sum(voucher_paid) AS voucher_paid FROM instance_usage;
\echo 'Instances now (each on its customer''s partition):'
SELECT instance_state(instance_id) AS state, count(*) FROM rented GROUP BY 1 ORDER BY 1;
\echo 'GPUs claimed at the machines'' homes = GPUs running on every partition:'
SELECT (SELECT sum(gpus) FROM claimed_gpus_everywhere()) AS claimed, (SELECT sum(gpus) FROM running_gpus_everywhere()) AS running;
\echo 'Arrears and open alerts:'
SELECT count(*) AS customers_in_arrears, sum(amount) AS owed FROM arrears;
SELECT kind, count(*) FROM open_alerts GROUP BY 1 ORDER BY 1;
\echo 'Invariants (every partition''s checks, settings and catalogue digests, GPU claims):'
SELECT check_name, ok FROM verify(full => true) GROUP BY 1, 2 ORDER BY 2, 1;
