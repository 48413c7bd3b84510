-- pgTAP (R-EXC-8 R-EXC-9 R-EXC-4 too): the exchange's rules of issue 12 in simulated time: payments strictly in
-- schedule order and deposits applied only from what was paid in; no sub-cent rows;
-- the settings kept by a contract; delivery follows payment.
-- R-EXC-1 R-EXC-3 R-EXC-5 R-LED-3
BEGIN;
SET LOCAL search_path = gpubill, public;
SET LOCAL TimeZone = 'Asia/Shanghai';
SELECT plan(37);

SELECT open_provider('xr-prov', 'CNY', '2026-11-01') AS pv \gset

-- 1. R-EXC-3: an approved customer misses its initial payment (late, approval revoked); its
-- wallet later covers the January payment but not the initial one: nothing is taken out of order
SELECT open_customer('xr-a', 'CNY', '2026-11-01') AS a \gset
SELECT set_approved(:a, true);
SELECT create_contract(:a, :pv, 1, '1.00 CNY', '[2026-12-10 00:00+08, 2027-03-20 00:00+08)', '2026-11-20 10:00+08') AS ca \gset
SELECT results_eq(format($$SELECT seq, customer_pays, from_deposit, kind FROM contract_schedule(%s) ORDER BY seq$$, :ca),
	$$VALUES (1, '909.60 CNY'::amount, '0 CNY'::amount, 'initial'), (2, '475.20 CNY', '52.80 CNY', 'monthly'),
			 (3, '604.80 CNY', '67.20 CNY', 'monthly'), (4, '410.40 CNY', '45.60 CNY', 'final')$$,
	'the schedule of 100 days: initial 744 + 165.60 deposit, then 90% of each month, 10% from the deposit');
SELECT tick('2026-12-15 00:00+08');
SELECT is((SELECT state FROM contract WHERE contract_id = :ca), 'late', 'the initial payment is late (R-EXC-5)');
SELECT is((SELECT approved FROM customer WHERE customer_id = :a), false, 'and the approval is revoked');
SELECT recharge(:a, '800.00 CNY', 'wechat', 'xr-a-1', '2026-12-20');	-- the reservation fee (240) and January, not the initial
SELECT tick('2027-01-02 00:00+08');
SELECT is((SELECT count(*) FROM contract_payment WHERE contract_id = :ca AND paid_at IS NOT NULL), 0::bigint,
		  'January is not taken while the initial payment is unpaid');
SELECT is((SELECT coalesce(sum(balance_exact), 0) FROM accounts WHERE owner_kind = 'customer' AND owner_id = :a AND purpose = 'deposit'),
		  0::numeric, 'no deposit was applied that was never paid in');
SELECT recharge(:a, '1000.00 CNY', 'wechat', 'xr-a-2', '2027-01-05');
SELECT tick('2027-01-05 01:00+08');
SELECT results_eq(format($$SELECT seq FROM contract_payment WHERE contract_id = %s AND paid_at IS NOT NULL ORDER BY seq$$, :ca),
				  $$VALUES (1), (2)$$, 'once the wallet covers it, the initial payment is taken, then January, in order');
SELECT is((SELECT deposit_left FROM contract WHERE contract_id = :ca), '112.80 CNY'::amount,
		  'the deposit paid in (165.60) less January''s share (52.80)');
SELECT is((SELECT count(*) FROM verify() WHERE NOT ok), 0::bigint, 'verify() is all ok (no deposit account below zero)');
-- 7. R-EXC-5: the reservation fee once per contract: February is late too (175.20 left), no second fee
SELECT tick('2027-02-05 00:00+08') IS NOT NULL AS ticked;
SELECT results_eq(format($$SELECT state, (SELECT count(*) FROM contract_fee f WHERE f.contract_id = %s) FROM contract WHERE contract_id = %s$$, :ca, :ca),
				  $$VALUES ('late', 1::bigint)$$, 'a second late payment: late again, but no second reservation fee');

-- 2. R-EXC-3: no schedule row below one cent: 31 days and a second is one payment; a one-second
-- piece before a month boundary joins the initial payment
SELECT open_customer('xr-b', 'CNY', '2026-11-01') AS b \gset
SELECT set_approved(:b, true);
SELECT create_contract(:b, :pv, 1, '1.00 CNY', '[2026-12-10 00:00+08, 2027-01-10 00:00:01+08)', '2026-11-20 10:00+08') AS cb \gset
SELECT results_eq(format($$SELECT seq, covers, customer_pays, kind FROM contract_schedule(%s)$$, :cb),
	$$VALUES (1, tstzrange('2026-12-10 00:00+08', '2027-01-10 00:00:01+08'), '744.00 CNY'::amount, 'initial')$$,
	'31 days and a second: one payment of 744.00, no 0.00 row');
SELECT pay_contract(:cb, '744.00 CNY', 'xr-b-wire', '2026-11-21 10:00+08') IS NOT NULL AS paid;
SELECT tick('2027-01-11 00:00+08');
SELECT results_eq(format($$SELECT k.state, u.approved FROM contract k JOIN customer u USING (customer_id) WHERE k.contract_id = %s$$, :cb),
				  $$VALUES ('completed', true)$$, 'paid in full, it completes: never late, no reservation fee, still approved');
SELECT create_contract(:b, :pv, 1, '1.00 CNY', '[2026-11-30 23:59:59+08, 2027-02-15 00:00+08)', '2026-11-20 10:00+08') AS cc \gset
SELECT results_eq(format($$SELECT seq, customer_pays, from_deposit, kind FROM contract_schedule(%s)$$, :cc),
	$$VALUES (1, '852.00 CNY'::amount, '0 CNY'::amount, 'initial'), (2, '669.60 CNY', '74.40 CNY', 'monthly'),
			 (3, '302.40 CNY', '33.60 CNY', 'final')$$,
	'the one second before January joins the initial payment');
SELECT is((SELECT count(*) FROM contract_payment WHERE micros(customer_pays) < 10000), 0::bigint, 'no row anywhere asks less than a cent');

-- 3. R-EXC-3: exchange_initial_days and exchange_deposit_rate are read at acceptance and kept by the contract
SELECT set_setting('exchange_initial_days', '14');
SELECT set_setting('exchange_deposit_rate', '0.20');
SELECT create_contract(:b, :pv, 1, '1.00 CNY', '[2027-03-01 00:00+08, 2027-05-01 00:00+08)', '2027-01-12 10:00+08') AS cd \gset
SELECT set_setting('exchange_initial_days', '31');
SELECT set_setting('exchange_deposit_rate', '0.10');
SELECT results_eq(format($$SELECT initial_days, deposit_rate, deposit FROM contract WHERE contract_id = %s$$, :cd),
				  $$VALUES (14, 0.20, '225.60 CNY'::amount)$$,
				  'a contract accepted with 14 days and 20 % keeps them: deposit 20 % of (61 - 14) x 24 h x 1.00 = 225.60');
SELECT results_eq(format($$SELECT seq, covers, customer_pays, from_deposit FROM contract_schedule(%s)$$, :cd),
	$$VALUES (1, tstzrange('2027-03-01 00:00+08', '2027-03-15 00:00+08'), '561.60 CNY'::amount, '0 CNY'::amount),
			 (2, tstzrange('2027-03-15 00:00+08', '2027-04-01 00:00+08'), '326.40 CNY', '81.60 CNY'),
			 (3, tstzrange('2027-04-01 00:00+08', '2027-05-01 00:00+08'), '576.00 CNY', '144.00 CNY')$$,
	'its schedule: 14 days + the deposit up front, 80 % of each piece paid, 20 % from the deposit');
SELECT results_eq(format($$SELECT initial_days, deposit_rate FROM contract WHERE contract_id = %s$$, :cc),
				  $$VALUES (31, 0.10)$$, 'a contract accepted before keeps 31 days and 10 %');

-- 8. R-EXC-1: delivery follows payment: an approved customer's unpaid contract does not start
SELECT open_customer('xr-d', 'CNY', '2026-11-01') AS d \gset
SELECT set_approved(:d, true);
SELECT create_contract(:d, :pv, 1, '1.00 CNY', '[2027-02-10 00:00+08, 2027-02-20 00:00+08)', '2027-02-09 10:00+08') AS ce \gset
SELECT tick('2027-02-10 01:00+08') IS NOT NULL AS ticked;
SELECT is(contract_state(:ce), 'pending', 'unpaid at the term start: still pending, not delivered');
SELECT pay_contract(:ce, '240.00 CNY', 'xr-d-wire', '2027-02-11 09:00+08') IS NOT NULL AS paid;
SELECT results_eq(format($$SELECT state, term FROM contract WHERE contract_id = %s$$, :ce),
	$$VALUES ('active', tstzrange('2027-02-10 00:00+08', '2027-02-20 00:00+08'))$$,
	'active once paid (within its grace: never late); the term does not move');
SELECT is((SELECT count(*) FROM contract_fee WHERE contract_id = :ce), 0::bigint, 'no reservation fee');

-- 7. R-EXC-5: evidence of initiation defers lateness by 3 business days, once
SELECT open_customer('xr-e', 'CNY', '2026-11-01') AS e \gset
SELECT set_approved(:e, true);
SELECT create_contract(:e, :pv, 1, '1.00 CNY', '[2027-02-15 00:00+08, 2027-02-25 00:00+08)', '2027-02-01 10:00+08') AS cf \gset
SELECT is((SELECT late_from FROM contract_payment WHERE contract_id = :cf), '2027-02-04 00:00+08'::timestamptz,
		  'accepted Mon Feb 1: late from Thu Feb 4 00:00');
SELECT lives_ok(format($$SELECT record_payment_initiated(%s, 'SWIFT MT103 ref 0042', '2027-02-03 15:00+08')$$, :cf),
				'the customer shows the wire it sent on Wed Feb 3');
SELECT is((SELECT late_from FROM contract_payment WHERE contract_id = :cf), '2027-02-09 00:00+08'::timestamptz,
		  'lateness deferred by 3 business days (Thu, Fri, Mon): from Tue Feb 9 00:00');
SELECT throws_ok(format($$SELECT record_payment_initiated(%s, 'again', '2027-02-04 10:00+08')$$, :cf), 'GB004', NULL,
				 'only once per payment');
SELECT tick('2027-02-08 23:00+08') IS NOT NULL AS ticked;
SELECT is(contract_state(:cf), 'pending', 'not late before the deferred instant');
SELECT throws_ok(format($$SELECT record_payment_initiated(%s, 'late proof', '2027-02-09 10:00+08')$$, :cf), 'GB004', NULL,
				 'too late once the payment is late');

-- 6. R-EXC-9: an overpayment to a provider is recovered from its next receipts before its wallet is credited
SELECT open_provider('xr-prov-o', 'CNY', '2026-11-01') AS po \gset
SELECT open_customer('xr-o', 'CNY', '2026-11-01') AS o \gset
SELECT set_approved(:o, true);
SET LOCAL ROLE gpubill_app;
SELECT throws_ok(format($$SELECT gpubill.record_provider_offset(%s, '100 CNY', 'x', '2027-03-01')$$, :po), '42501', NULL,
				 'only gpubill_admin records an offset');
RESET ROLE;
SELECT record_provider_offset(:po, '100.00 CNY', 'October invoice paid twice', '2027-03-01', 'xr-off-1') AS off \gset
SELECT is(record_provider_offset(:po, '100.00 CNY', 'October invoice paid twice', '2027-03-01', 'xr-off-1'), :off::bigint,
		  'idempotent on its request id');
SELECT results_eq(format($$SELECT balance, offset_outstanding FROM provider_wallet(%s)$$, :po),
	$$VALUES ('0.00 CNY'::amount, '100.00 CNY'::amount)$$, 'provider_wallet shows the outstanding offset');
SELECT create_contract(:o, :po, 1, '0.10 CNY', '[2027-03-10 00:00+08, 2027-03-20 00:00+08)', '2027-03-02 10:00+08') AS co \gset
SELECT pay_contract(:co, '24.00 CNY', 'xr-o-1', '2027-03-02 11:00+08') IS NOT NULL AS paid;
SELECT results_eq(format($$SELECT balance, commission_paid, offset_outstanding FROM provider_wallet(%s)$$, :po),
	$$VALUES ('0.00 CNY'::amount, '0.96 CNY'::amount, '76.96 CNY'::amount)$$,
	'24.00 received: 0.96 commission, the 23.04 net recovers the offset, nothing reaches the wallet');
SELECT create_contract(:o, :po, 10, '1.00 CNY', '[2027-03-10 00:00+08, 2027-03-20 00:00+08)', '2027-03-02 10:00+08') AS co2 \gset
SELECT pay_contract(:co2, '2400.00 CNY', 'xr-o-2', '2027-03-02 12:00+08') IS NOT NULL AS paid;
SELECT results_eq(format($$SELECT balance, offset_outstanding FROM provider_wallet(%s)$$, :po),
	$$VALUES ('2227.04 CNY'::amount, '0.00 CNY'::amount)$$,
	'2400.00 received: 96.00 commission, 76.96 recovers the rest of the offset, 2227.04 reaches the wallet');

-- 5. R-EXC-8: termination by reason
SELECT open_provider('xr-prov-t', 'CNY', '2026-11-01') AS pt \gset
SELECT open_customer('xr-t', 'CNY', '2026-11-01') AS tc \gset
SELECT set_approved(:tc, true);
SELECT create_contract(:tc, :pt, 1, '1.00 CNY', '[2027-03-01 00:00+08, 2027-04-20 00:00+08)', '2027-02-20 10:00+08') AS ct \gset
SELECT pay_contract(:ct, '789.60 CNY', 'xr-t-1', '2027-02-21 10:00+08') IS NOT NULL AS paid;
SELECT tick('2027-03-01 01:00+08') IS NOT NULL AS ticked;
SELECT throws_ok(format($$SELECT terminate_contract(%s, 'non_payment', '2027-03-21 00:00+08')$$, :ct), 'GB004', NULL,
				 'non_payment while nothing is late: GB004');
SELECT lives_ok(format($$SELECT terminate_contract(%s, 'provider', '2027-03-21 00:00+08')$$, :ct),
				'the provider suspends its listing on Mar 21');
SELECT results_eq(format($$SELECT k.state, k.end_reason, w.cash FROM contract k, wallet(%s) w WHERE k.contract_id = %s$$, :tc, :ct),
	$$VALUES ('terminated', 'provider', '309.60 CNY'::amount)$$,
	'the customer gets back the 11 undelivered days of March (264.00) and the unapplied deposit (45.60)');
SELECT results_eq(format($$SELECT balance, commission_paid FROM provider_wallet(%s)$$, :pt),
	$$VALUES ('460.80 CNY'::amount, '29.76 CNY'::amount)$$,
	'the provider gives back 253.44 of the 714.24 it received; the exchange returns its 10.56 of commission');
-- a provider wallet that cannot cover it: the platform advances it and recovers it from the next receipts
SELECT open_provider('xr-prov-s', 'CNY', '2026-11-01') AS ps \gset
SELECT record_provider_offset(:ps, '1000.00 CNY', 'earlier overpayment', '2027-02-01') IS NOT NULL AS offset;
SELECT create_contract(:tc, :ps, 1, '1.00 CNY', '[2027-03-01 00:00+08, 2027-04-20 00:00+08)', '2027-02-20 10:00+08') AS cs \gset
SELECT pay_contract(:cs, '789.60 CNY', 'xr-s-1', '2027-02-21 10:00+08') IS NOT NULL AS paid;
SELECT tick('2027-03-01 02:00+08') IS NOT NULL AS ticked;
SELECT terminate_contract(:cs, 'provider', '2027-03-21 00:00+08');
SELECT is((SELECT cash FROM wallet(:tc)), '619.20 CNY'::amount, 'the customer is refunded in full all the same (309.60 more)');
SELECT results_eq(format($$SELECT balance, offset_outstanding FROM provider_wallet(%s)$$, :ps),
	$$VALUES ('0.00 CNY'::amount, '539.20 CNY'::amount)$$,
	'the empty wallet gave nothing: 253.44 more is recovered from the provider''s next receipts (285.76 + 253.44)');
SELECT is((SELECT count(*) FROM verify() WHERE NOT ok), 0::bigint, 'verify() is all ok after the terminations');
SELECT * FROM finish();
ROLLBACK;
