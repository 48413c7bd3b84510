-- pgTAP: one boundary settling several customers at once, set-based (issue 13): vouchers first in instance
-- order within a customer across cash-only instances, the next holds granted in instance order while the funds
-- left after the capture cover them (the first refused with every later one), customers of the easy kind (no
-- vouchers, funds for every hold) beside them — the same figures the row form gives one instance at a time
-- R-PAYG-4 R-PAYG-5 R-RCH-4 R-PRT-3 R-LED-2 R-LED-3
BEGIN;
SET LOCAL search_path = gpubill, public;
SET LOCAL TimeZone = 'Asia/Shanghai';
SELECT plan(16);

SELECT open_partner('set-owner', 'CNY', '2026-11-01') AS owner \gset
SELECT list_machine(:owner, 16, '2.00 CNY', '2027-12-01', at => '2026-11-01') AS m \gset
SELECT list_machine(:owner, 16, '3.00 CNY', '2027-12-01', vouchers_allowed => false, at => '2026-11-01') AS m_cash \gset

-- a: vouchers 2.50 over a (2.00), a cash-only (3.00), a (2.00)
SELECT open_customer('set-a', 'CNY', '2026-11-01') AS a \gset
SELECT recharge(:a, '100.00 CNY', 'wechat', 'set-a-1', '2026-11-01') IS NOT NULL AS funded;
SELECT grant_voucher(:a, '2.50 CNY', NULL, '2026-11-01') IS NOT NULL AS granted;
SELECT create_instance(:a, :m, 1, at => '2026-11-02 10:00+08') AS a1 \gset
SELECT create_instance(:a, :m_cash, 1, at => '2026-11-02 10:00+08') AS a2 \gset
SELECT create_instance(:a, :m, 1, at => '2026-11-02 10:00+08') AS a3 \gset
-- b: 9.00 cash, three instances of 2.00: after the charges 3.00 is left, one next hour fits
SELECT open_customer('set-b', 'CNY', '2026-11-01') AS b \gset
SELECT recharge(:b, '9.00 CNY', 'wechat', 'set-b-1', '2026-11-01') IS NOT NULL AS funded;
SELECT create_instance(:b, :m, 1, at => '2026-11-02 10:00+08') AS b1 \gset
SELECT create_instance(:b, :m, 1, at => '2026-11-02 10:00+08') AS b2 \gset
SELECT create_instance(:b, :m, 1, at => '2026-11-02 10:00+08') AS b3 \gset
-- c: plenty, no vouchers
SELECT open_customer('set-c', 'CNY', '2026-11-01') AS c \gset
SELECT recharge(:c, '150.00 CNY', 'wechat', 'set-c-1', '2026-11-01') IS NOT NULL AS funded;
SELECT create_instance(:c, :m, 2, at => '2026-11-02 10:00+08') AS c1 \gset
-- d: 3.00 cash and 1.00 of vouchers, two instances of 2.00: vouchers and cash all spent, no next hour fits
SELECT open_customer('set-d', 'CNY', '2026-11-01') AS d \gset
SELECT recharge(:d, '3.00 CNY', 'wechat', 'set-d-1', '2026-11-01') IS NOT NULL AS funded;
SELECT grant_voucher(:d, '1.00 CNY', NULL, '2026-11-01') IS NOT NULL AS granted;
SELECT create_instance(:d, :m, 1, at => '2026-11-02 10:00+08') AS d1 \gset
SELECT create_instance(:d, :m, 1, at => '2026-11-02 10:00+08') AS d2 \gset

SELECT is(tick('2026-11-02 11:00+08')->'payg'->>'settled', '9', 'one boundary settles the nine instances of four customers');

-- R-RCH-4: vouchers first, in instance order, a cash-only instance taking none; R-PRT-3: the cash part split 80/20
SELECT results_eq(format($$SELECT instance_id, charge, voucher_paid, cash_paid, partner_income, platform_fee
						   FROM gpubill.order_line WHERE customer_id = %s ORDER BY instance_id$$, :a),
	format($$VALUES (%s::bigint, '2.00 CNY'::gpubill.amount, '2.00 CNY'::gpubill.amount, '0.00 CNY'::gpubill.amount,
					 '0.00 CNY'::gpubill.amount, '0.00 CNY'::gpubill.amount),
					(%s, '3.00 CNY', '0.00 CNY', '3.00 CNY', '2.40 CNY', '0.60 CNY'),
					(%s, '2.00 CNY', '0.50 CNY', '1.50 CNY', '1.20 CNY', '0.30 CNY')$$, :a1, :a2, :a3),
	'vouchers pay the first instance, skip the cash-only one, and pay what is left of them on the third');
SELECT is((SELECT vouchers FROM wallet(:a)), '0.00 CNY'::amount, 'every voucher of a is spent');
SELECT is((SELECT cash FROM wallet(:a)), '95.50 CNY'::amount, 'a pays 4.50 in cash');
SELECT is((SELECT count(*) FROM voucher_left WHERE customer_id = :a), 0::bigint, 'the voucher lot is used up');
SELECT is((SELECT count(*) FROM instance WHERE customer_id = :a AND state = 'running' AND hold_id IS NOT NULL), 3::bigint,
	'a''s three instances run on, each on a new hold');

-- R-LED-2 / R-PAYG-5: b's next hours in instance order while they fit: the first, then none
SELECT results_eq(format($$SELECT instance_id, state, stop_reason, hold_id IS NOT NULL FROM gpubill.instance
						   WHERE customer_id = %s ORDER BY instance_id$$, :b),
	format($$VALUES (%s::bigint, 'running'::text, NULL::text, true), (%s, 'stopped', 'insufficient_balance', false),
					(%s, 'stopped', 'insufficient_balance', false)$$, :b1, :b2, :b3),
	'b''s first instance holds its next hour; the second does not fit, and the third is refused after it');
SELECT is((SELECT sum(charge) FROM order_line WHERE customer_id = :b), '6.00 CNY'::amount, 'each of b''s instances paid its hour');
SELECT results_eq(format($$SELECT cash, vouchers, held FROM gpubill.wallet(%s)$$, :b),
	$$VALUES ('3.00 CNY'::gpubill.amount, '0.00 CNY'::gpubill.amount, '2.00 CNY'::gpubill.amount)$$,
	'b keeps 3.00 in cash, 2.00 of it held for the first instance');
SELECT is((SELECT count(*) FROM lifecycle_event WHERE kind = 'local_data_erase_due' AND subject_id IN (:b2, :b3)), 2::bigint,
	'the two stopped instances have their local data erase due (R-PAYG-6)');

-- c: the easy kind
SELECT results_eq(format($$SELECT cash, held FROM gpubill.wallet(%s)$$, :c),
	$$VALUES ('146.00 CNY'::gpubill.amount, '4.00 CNY'::gpubill.amount)$$, 'c paid 4.00 and holds its next hour');

-- d: vouchers first, then cash; nothing is left for a next hour
SELECT results_eq(format($$SELECT instance_id, voucher_paid, cash_paid FROM gpubill.order_line WHERE customer_id = %s
						   ORDER BY instance_id$$, :d),
	format($$VALUES (%s::bigint, '1.00 CNY'::gpubill.amount, '1.00 CNY'::gpubill.amount), (%s, '0.00 CNY', '2.00 CNY')$$, :d1, :d2),
	'd''s vouchers pay the first instance in part');
SELECT results_eq(format($$SELECT cash, vouchers, held FROM gpubill.wallet(%s)$$, :d),
	$$VALUES ('0.00 CNY'::gpubill.amount, '0.00 CNY'::gpubill.amount, '0.00 CNY'::gpubill.amount)$$,
	'd''s funds are spent and nothing is held');
SELECT is((SELECT count(*) FROM instance WHERE customer_id = :d AND state = 'stopped'), 2::bigint, 'both of d''s instances stop');

-- the ids of the boundary: order lines in customer, then instance order (a replay draws the same)
SELECT ok((SELECT bool_and(ordered) FROM (
			SELECT line_id > lag(line_id) OVER (ORDER BY customer_id, instance_id) IS NOT FALSE AS ordered
			FROM order_line WHERE at = '2026-11-02 11:00+08') x),
	'the order lines'' ids follow customer and instance order');

-- R-LED-3: every cached balance equals the journal
SELECT is((SELECT count(*) FROM verify() WHERE NOT ok), 0::bigint, 'verify() is all ok');

SELECT * FROM finish();
ROLLBACK;
