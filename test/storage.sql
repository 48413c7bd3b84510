-- pgTAP: storage levels, hourly accrual, monthly settlement, estimate alert, arrears and their timelines
-- R-STO-1 R-STO-2 R-STO-3 R-STO-4 R-ARR-1 R-ARR-2 R-ARR-3 R-ARR-4 R-ALR-1 R-ALR-2 R-CLK-1 R-CLK-2 R-BI-2
BEGIN;
SET LOCAL search_path = gpubill, public;
SET LOCAL TimeZone = 'Asia/Shanghai';
SELECT plan(32);

SELECT set_setting('free_disk_gb', '50');
SELECT open_customer('sto-a', 'CNY', '2026-10-01') AS a \gset
SELECT open_customer('sto-b', 'CNY', '2026-10-01') AS b \gset
SELECT recharge(:a, '10.00 CNY', 'wechat', 'sto-a-1', '2026-10-01') IS NOT NULL AS funded;
SELECT recharge(:b, '10.00 CNY', 'wechat', 'sto-b-1', '2026-10-01') IS NOT NULL AS funded;

-- R-STO-1: levels over time; excess over the free quota
SELECT set_storage(:a, 'disk', 150, '2026-11-01 00:00+08');
SELECT set_storage(:a, 'nas', 10, '2026-11-16 00:00+08');
SELECT set_storage(:b, 'disk', 150, '2026-11-01 00:00+08');
SELECT set_storage(:b, 'disk', 40, '2026-11-11 00:00+08');		-- under the free quota from the 11th
SELECT set_storage(:b, 'disk', 300, '2026-11-21 00:00+08');
SELECT throws_ok(format($$SELECT gpubill.set_storage(%s, 'disk', 10, '2026-11-20 00:00+08')$$, :b), 'GB004', NULL,
				 'a level before the last one raises GB004');
SELECT throws_ok(format($$SELECT gpubill.set_storage(%s, 'tape', 10, '2026-11-22 00:00+08')$$, :b), '22023', NULL,
				 'an unknown storage kind raises 22023');
SELECT throws_ok(format($$SELECT gpubill.set_storage(%s, 'disk', -1, '2026-11-22 00:00+08')$$, :b), '22023', NULL,
				 'negative GB raise 22023');
SELECT throws_ok($$SELECT gpubill.set_storage(-1, 'disk', 1, '2026-11-22 00:00+08')$$, 'P0002', NULL, 'an unknown customer raises P0002');

-- R-STO-2: accrued per GB-hour: disk 100 GB x 0.0004 = 0.04 / h, NAS 10 GB x 0.0007 = 0.007 / h
SELECT results_eq(format($$SELECT disk_gb_hours, nas_gb_hours, fee FROM gpubill.storage_usage('2026-11-01 00:00+08', '2026-11-02 00:00+08', %s)$$, :a),
	$$VALUES (2400::numeric, 0::numeric, 0.96::numeric)$$, 'one day of 100 GB excess disk: 2400 GB-hours, 0.96');

-- R-STO-4: 5 days before the settlement the month is estimated; available below it raises storage_balance_low
SELECT is(tick('2026-11-25 23:59+08')->'storage'->>'estimate_alerts', '0', 'no estimate before the 26th');
SELECT is(tick('2026-11-26 00:00+08')->'storage'->>'estimate_alerts', '2', 'on the 26th at 00:00 both customers are short');
SELECT results_eq(format($$SELECT payload->>'estimate' FROM gpubill.open_alerts WHERE kind = 'storage_balance_low' AND customer = %s$$, :a),
	$$VALUES ('31.32 CNY')$$, 'estimate: 24.00 + 1.68 so far, 5.64 for the last 5 days');
SELECT is(tick('2026-11-27 00:00+08')->'storage'->>'estimate_alerts', '0', 'a later tick raises nothing again');
SELECT is((SELECT count(*) FROM open_alerts WHERE kind = 'storage_balance_low'), 2::bigint, 'still one alert per customer');

-- R-STO-2, R-STO-3: settled at 00:00 on the 1st, rounded to cents, cash may go below zero
SELECT is(tick('2026-12-01 00:00+08')->'storage'->>'settled', '2', 'both months are settled at 00:00 on the 1st');
SELECT results_eq(format($$SELECT customer_id, month, amount, at FROM gpubill.storage_bill ORDER BY customer_id$$),
	format($$VALUES (%s::bigint, '2026-11-01'::date, '31.32 CNY'::gpubill.amount, '2026-12-01 00:00+08'::timestamptz),
					(%s::bigint, '2026-11-01'::date, '33.60 CNY'::gpubill.amount, '2026-12-01 00:00+08'::timestamptz)$$, :a, :b),
	'a: 28.80 disk + 2.52 NAS; b: 10 days of 100 GB + 10 days under quota + 10 days of 250 GB');
SELECT is((SELECT cash FROM wallet(:a)), '-21.32 CNY'::amount, 'cash went below zero');
SELECT is(tick('2026-12-01 00:00+08')->'storage'->>'settled', '0', 'tick twice = once');
SELECT is((SELECT count(*) FROM transfer WHERE kind = 'storage'), 2::bigint, 'one storage transfer per customer');

-- R-ARR-1: arrears from that instant; storage_arrears alert; no instance may be created
SELECT results_eq($$SELECT customer, since, amount FROM gpubill.arrears ORDER BY customer$$,
	format($$VALUES (%s::bigint, '2026-12-01 00:00+08'::timestamptz, '21.32 CNY'::gpubill.amount),
					(%s::bigint, '2026-12-01 00:00+08'::timestamptz, '23.60 CNY'::gpubill.amount)$$, :a, :b),
	'the arrears view lists both customers since the settlement');
SELECT is((SELECT count(*) FROM open_alerts WHERE kind = 'storage_arrears'), 2::bigint, 'storage_arrears raised for each');
SELECT open_partner('sto-owner', 'CNY', '2026-10-01') AS owner \gset
SELECT list_machine(:owner, 1, '1.00 CNY', '2027-12-01', at => '2026-10-01') AS m \gset
SELECT throws_ok(format($$SELECT gpubill.create_instance(%s, %s, 1, at => '2026-12-02 00:00+08')$$, :a, :m), 'GB001', NULL,
				 'in arrears no instance can be created');
-- R-ARR-2, R-ARR-3: pending erasures with their due times
SELECT results_eq(format($$SELECT kind, due_at FROM gpubill.lifecycle_events WHERE customer = %s ORDER BY due_at$$, :b),
	$$VALUES ('storage_erase_due', '2026-12-11 00:00+08'::timestamptz), ('personal_data_erase_due', '2026-12-15 12:00+08'::timestamptz)$$,
	'storage erasure due 00:00 on the 11th; personal data due 12:00 on day 15 (Dec 1 is day 1)');

-- a partial repayment leaves the arrears; a full one repays them first and cancels what is pending
SELECT recharge(:a, '20.00 CNY', 'alipay', 'sto-a-2', '2026-12-05 10:00+08') IS NOT NULL AS recharged;
SELECT is((SELECT count(*) FROM arrears WHERE customer = :a), 1::bigint, 'a partial repayment leaves the arrears');
SELECT recharge(:a, '5.00 CNY', 'alipay', 'sto-a-3', '2026-12-06 10:00+08') IS NOT NULL AS recharged;
SELECT is((SELECT cash FROM wallet(:a)), '3.68 CNY'::amount, 'the recharge repaid the arrears first');
SELECT is((SELECT count(*) FROM arrears WHERE customer = :a), 0::bigint, 'no longer in arrears');
SELECT results_eq(format($$SELECT kind, cancelled_at FROM gpubill.lifecycle_events WHERE customer = %s ORDER BY due_at$$, :a),
	$$VALUES ('storage_erase_due', '2026-12-06 10:00+08'::timestamptz), ('personal_data_erase_due', '2026-12-06 10:00+08'::timestamptz)$$,
	'repaid before the 11th: both pending erasures are cancelled');
SELECT is((SELECT count(*) FROM open_alerts WHERE kind = 'storage_arrears' AND customer = :a), 0::bigint, 'the arrears alert is closed');
SELECT lives_ok(format($$SELECT gpubill.create_instance(%s, %s, 1, at => '2026-12-06 11:00+08')$$, :a, :m),
				'out of arrears an instance can be created');

-- not repaid: the events stay and fall due; repaid after the 11th only the later one is cancelled
SELECT recharge(:b, '30.00 CNY', 'alipay', 'sto-b-2', '2026-12-12 10:00+08') IS NOT NULL AS recharged;
SELECT results_eq(format($$SELECT kind, cancelled_at FROM gpubill.lifecycle_events WHERE customer = %s ORDER BY due_at$$, :b),
	$$VALUES ('storage_erase_due', NULL::timestamptz), ('personal_data_erase_due', '2026-12-12 10:00+08'::timestamptz)$$,
	'repaid on the 12th: the storage erasure (due the 11th) stands, the personal data one is cancelled');

-- R-BI-2: the customer statement agrees with the journal
SELECT results_eq(format($$SELECT month, recharged, charged, closing_cash FROM gpubill.customer_statement WHERE customer = %s ORDER BY month$$, :b),
	$$VALUES ('2026-10-01'::date, '10.00 CNY'::gpubill.amount, '0.00 CNY'::gpubill.amount, '10.00 CNY'::gpubill.amount),
			 ('2026-12-01'::date, '30.00 CNY'::gpubill.amount, '33.60 CNY'::gpubill.amount, '6.40 CNY'::gpubill.amount)$$,
	'customer_statement: recharges, charges and closing cash per month');
SELECT is((SELECT sum(charged) FROM customer_statement WHERE customer IN (:a, :b)),
		  (SELECT sum(amount) FROM transfer WHERE kind IN ('income', 'fee', 'voucher_spend', 'storage') AND customer_id IN (:a, :b)),
		  'statement charges sum to the journal''s');

-- R-ARR-4: storage is free while in arrears: it accrues again once they are repaid
SELECT open_customer('sto-c', 'CNY', '2026-10-01') AS c \gset
SELECT recharge(:c, '10.00 CNY', 'wechat', 'sto-c-1', '2026-10-01') IS NOT NULL AS funded;
SELECT set_storage(:c, 'disk', 1050, '2027-01-01 00:00+08');
SELECT tick('2027-02-01 00:00+08') IS NOT NULL AS ticked;
SELECT results_eq(format($$SELECT amount, (SELECT since FROM arrears_period WHERE customer_id = %s) FROM storage_bill WHERE customer_id = %s$$, :c, :c),
	$$VALUES ('297.60 CNY'::amount, '2027-02-01 00:00+08'::timestamptz)$$,
	'January: 1000 GB over the quota x 744 h x 0.0004 = 297.60; cash goes below zero, arrears from Feb 1');
SELECT recharge(:c, '300.00 CNY', 'wechat', 'sto-c-2', '2027-02-10 12:00+08') IS NOT NULL AS repaid;
SELECT tick('2027-03-01 00:00+08') IS NOT NULL AS ticked;
SELECT is((SELECT amount FROM storage_bill WHERE customer_id = :c AND month = '2027-02-01'), '177.60 CNY'::amount,
		  'February accrues only from the repayment on Feb 10 12:00: 444 h x 1000 GB x 0.0004 = 177.60');
SELECT is((SELECT count(*) FROM arrears_period WHERE customer_id = :c), 2::bigint,
		  'the February bill takes cash below zero again: new arrears, storage free again from Mar 1');

SELECT results_eq($$SELECT count(*) FROM gpubill.verify() WHERE NOT ok$$, $$VALUES (0::bigint)$$, 'verify() is all ok');
SELECT * FROM finish();
ROLLBACK;
