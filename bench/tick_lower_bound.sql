-- bench/tick_lower_bound.sql — the writes of tick() at one hour boundary for
-- the fixture's instances, hand-written as plain set-based SQL: the lower
-- bound tick is measured against.  Each instance: an order line (1800 s at
-- 1.00 = 0.50, income 0.40 and fee 0.10), two transfers, its hold's end, a new
-- hold; each customer's wallet updated once for the charge and once for the
-- new holds; each instance moved to the next hour.
SET search_path = gpubill, public;
CREATE TEMP TABLE due ON COMMIT DROP AS
SELECT i.instance_id, i.customer_id, i.machine_id, i.partner_id, i.hold_id, w.cash_account, w.fee_account,
	   (SELECT account_id FROM account WHERE owner_kind = 'partner' AND purpose = 'income') AS income_account,
	   nextval('gpubill.id_seq') AS line_id, nextval('gpubill.id_seq') AS new_hold
FROM instance i JOIN wallet w USING (customer_id)
WHERE i.state = 'running' AND i.next_settle_at = '2026-11-02 11:00+08';
INSERT INTO order_line (line_id, customer_id, instance_id, machine_id, partner_id, kind, usage, seconds, hourly_fee, charge,
						voucher_paid, cash_paid, partner_income, platform_fee, at)
SELECT line_id, customer_id, instance_id, machine_id, partner_id, 'payg', tstzrange('2026-11-02 10:30+08', '2026-11-02 11:00+08'),
	   1800, '1.00 CNY', '0.50 CNY', '0.00 CNY', '0.50 CNY', '0.40 CNY', '0.10 CNY', '2026-11-02 11:00+08'
FROM due;
INSERT INTO transfer (customer_id, at, kind, debit_account, credit_account, amount, object_type, object_id)
SELECT customer_id, '2026-11-02 11:00+08', x.kind, cash_account, x.credit, x.amount, 'order_line', line_id
FROM due CROSS JOIN LATERAL (VALUES ('income', income_account, '0.40 CNY'::amount), ('fee', fee_account, '0.10 CNY')) x(kind, credit, amount);
INSERT INTO hold_end (hold_id, customer_id, kind, captured, at)
SELECT hold_id, customer_id, 'capture', '0.50 CNY', '2026-11-02 11:00+08' FROM due;
UPDATE wallet w SET cash = w.cash - x.n * '0.50 CNY'::amount, held = w.held - x.n * '1.00 CNY'::amount
FROM (SELECT customer_id, count(*)::numeric AS n FROM due GROUP BY 1) x WHERE w.customer_id = x.customer_id;
INSERT INTO hold (hold_id, customer_id, amount, cash_only, at, object_type, object_id)
SELECT new_hold, customer_id, '1.00 CNY', false, '2026-11-02 11:00+08', 'instance', instance_id FROM due;
UPDATE wallet w SET held = w.held + x.n * '1.00 CNY'::amount
FROM (SELECT customer_id, count(*)::numeric AS n FROM due GROUP BY 1) x WHERE w.customer_id = x.customer_id;
UPDATE instance i SET billed_until = '2026-11-02 11:00+08', hold_id = d.new_hold, next_settle_at = '2026-11-02 12:00+08',
	   last_event_at = '2026-11-02 11:00+08'
FROM due d WHERE i.instance_id = d.instance_id;
