-- bench/history_fixture.sql — the parties of bench/history.sh (psql -v customers=2000):
-- 20 partners with a machine each, customers with a large recharge (through the
-- API), and the function that writes a month of journal set-based.
\set ON_ERROR_STOP on
SET search_path = gpubill, public;
SET TimeZone = 'UTC';
SELECT set_setting('payg_limit_instances', '1000000');
SELECT add_journal_months('2026-01-01 00:00+08', 0) AS january;	-- the parties' first rows in January's partition
SELECT count(open_partner('hist-owner-' || p, 'CNY', '2026-01-01 00:00+08')) AS partners FROM generate_series(1, 20) p;
SELECT count(list_machine(partner_id, 100000, '1.00 CNY', '2030-01-01', at => '2026-01-01 00:00+08')) AS machines FROM partner;
SELECT count(open_customer('hist-' || i, 'CNY', '2026-01-01 00:00+08')) AS customers FROM generate_series(1, :customers) i;
SELECT count(recharge(customer_id, '100000.00 CNY', 'wechat', 'hist-' || customer_id, '2026-01-01 00:30+08')) AS recharges FROM customer;
-- each customer's machine, partner and the instance its history is charged to (ids only: no instance row)
CREATE TABLE public.hist_party AS
SELECT c.customer_id, m.machine_id, m.partner_id, nextval('gpubill.id_seq') AS instance_id,
	   w.cash_account, w.fee_account, a.account_id AS income_account
FROM (SELECT customer_id, row_number() OVER (ORDER BY customer_id) % 20 AS k FROM customer) c
JOIN (SELECT machine_id, partner_id, row_number() OVER (ORDER BY machine_id) % 20 AS k FROM machine) m USING (k)
JOIN wallet w ON w.customer_id = c.customer_id
JOIN account a ON (a.owner_kind, a.owner_id, a.purpose, a.currency) = ('partner', m.partner_id, 'income', 'CNY');

/*
 * A month of journal for every customer, set-based, as tick would write it:
 * a recharge at the month's start, then every 3 hours an order line of
 * 3 hours at 1.00 CNY and its two transfers (partner income 2.40, platform
 * fee 0.60); the wallets follow (cash, recharged).  Then tick at the month's
 * end (nothing is due: it records how far the clock went).
 */
CREATE FUNCTION public.hist_month(m date) RETURNS bigint LANGUAGE plpgsql SET search_path = gpubill, public AS $$
DECLARE
	b record := gpubill.month_bounds(m);
	n bigint;
BEGIN
	PERFORM gpubill.add_journal_month(b.starts_at);
	CREATE TEMP TABLE rech ON COMMIT DROP AS
	SELECT p.customer_id, p.cash_account, nextval('gpubill.id_seq') AS recharge_id FROM public.hist_party p;
	INSERT INTO gpubill.recharge (recharge_id, customer_id, channel, external_id, amount, bonus, at)
	SELECT r.recharge_id, r.customer_id, 'wechat', 'hist-' || r.recharge_id, '2000.00 CNY', '0 CNY', b.starts_at + interval '1 hour'
	FROM rech r;
	INSERT INTO gpubill.transfer (customer_id, at, kind, debit_account, credit_account, amount, object_type, object_id, request_id)
	SELECT r.customer_id, b.starts_at + interval '1 hour', 'recharge', gpubill.account_of('world', 0, 'payments_in', 'CNY'),
		   r.cash_account, '2000.00 CNY', 'recharge', r.recharge_id, 'wechat:hist-' || r.recharge_id
	FROM rech r;
	CREATE TEMP TABLE line ON COMMIT DROP AS
	SELECT nextval('gpubill.id_seq') AS line_id, p.*, h AS at
	FROM public.hist_party p
	CROSS JOIN generate_series(b.starts_at + interval '3 hours', b.ends_at - interval '1 second', interval '3 hours') h;
	INSERT INTO gpubill.order_line (line_id, customer_id, instance_id, machine_id, partner_id, kind, usage, seconds,
									hourly_fee, charge, voucher_paid, cash_paid, partner_income, platform_fee, at)
	SELECT l.line_id, l.customer_id, l.instance_id, l.machine_id, l.partner_id, 'payg', tstzrange(l.at - interval '3 hours', l.at),
		   10800, '1.00 CNY', '3.00 CNY', '0 CNY', '3.00 CNY', '2.40 CNY', '0.60 CNY', l.at
	FROM line l;
	INSERT INTO gpubill.transfer (customer_id, at, kind, debit_account, credit_account, amount, object_type, object_id)
	SELECT l.customer_id, l.at, x.kind, l.cash_account, CASE x.kind WHEN 'income' THEN l.income_account ELSE l.fee_account END,
		   x.amount, 'order_line', l.line_id
	FROM line l CROSS JOIN (VALUES ('income', '2.40 CNY'::gpubill.amount), ('fee', '0.60 CNY'::gpubill.amount)) x(kind, amount);
	GET DIAGNOSTICS n = ROW_COUNT;
	UPDATE gpubill.wallet w SET cash = w.cash + '2000.00 CNY'::gpubill.amount - '3.00 CNY'::gpubill.amount * c.lines,
								recharged = w.recharged + '2000.00 CNY'::gpubill.amount, updated_at = b.ends_at
	FROM (SELECT customer_id, count(*)::numeric AS lines FROM line GROUP BY 1) c
	WHERE w.customer_id = c.customer_id;
	PERFORM gpubill.tick(b.ends_at);
	RETURN n + (SELECT count(*) FROM rech);
END $$;

/*
 * The running PAYG instances tick settles at one boundary: one per customer,
 * due at t, as create_instance leaves them (a hold of the next hour).
 */
CREATE FUNCTION public.hist_instances(t timestamptz) RETURNS bigint LANGUAGE plpgsql SET search_path = gpubill, public AS $$
BEGIN
	IF NOT EXISTS (SELECT FROM gpubill.instance) THEN
		INSERT INTO gpubill.hold (hold_id, customer_id, amount, cash_only, at, object_type, object_id)
		SELECT nextval('gpubill.id_seq'), p.customer_id, '1.00 CNY', false, t - interval '30 minutes', 'instance', p.instance_id
		FROM public.hist_party p;
		INSERT INTO gpubill.instance (instance_id, customer_id, machine_id, partner_id, gpus, billing, product, auto_renew, state,
									  hourly_fee, cash_only, hold_id, billed_until, next_settle_at, run_started_at, created_at,
									  last_event_at)
		SELECT p.instance_id, p.customer_id, p.machine_id, p.partner_id, 1, 'payg', 'per_second', false, 'running', '1.00 CNY',
			   false, h.hold_id, t - interval '30 minutes', t, t - interval '30 minutes', t - interval '30 minutes',
			   t - interval '30 minutes'
		FROM public.hist_party p JOIN gpubill.hold h ON h.object_id = p.instance_id;
		UPDATE gpubill.wallet w SET held = w.held + '1.00 CNY'::gpubill.amount FROM public.hist_party p WHERE p.customer_id = w.customer_id;
	ELSE	/* the same instances, due at t (their hold stays, carried through the months closed) */
		UPDATE gpubill.instance i SET billed_until = t - interval '30 minutes', next_settle_at = t, last_event_at = t - interval '30 minutes';
	END IF;
	RETURN (SELECT count(*) FROM gpubill.instance);
END $$;
