-- pgTAP: exchange contracts: acceptance, payments from wallets and direct, commission, late fees, termination
-- R-EXC-1 R-EXC-2 R-EXC-3 R-EXC-4 R-EXC-5 R-CLK-1 R-BI-2
BEGIN;
SET LOCAL search_path = gpubill, public;
SET LOCAL TimeZone = 'Asia/Shanghai';
SELECT plan(73);

SELECT open_provider('ex-prov', 'USD', '2026-11-01') AS pv \gset
SELECT open_customer('ex-b', 'USD', '2026-11-01') AS b \gset
SELECT recharge(:b, '20000.00 USD', 'stripe', 'ex-b-1', '2026-11-01') IS NOT NULL AS funded;
SELECT open_customer('ex-poor', 'USD', '2026-11-01') AS poor \gset
SELECT recharge(:poor, '100.00 USD', 'stripe', 'ex-poor-1', '2026-11-01') IS NOT NULL AS funded;
SELECT open_customer('ex-a', 'USD', '2026-11-01') AS a \gset
SELECT set_approved(:a, true);
SELECT open_customer('ex-t', 'USD', '2026-11-01') AS tc \gset
SELECT recharge(:tc, '813.60 USD', 'stripe', 'ex-t-1', '2026-11-01') IS NOT NULL AS funded;
SELECT is((SELECT is_provider FROM partner WHERE partner_id = :pv), true, 'a provider is a partner with an exchange wallet');

-- R-EXC-1: a prefunded customer's contract is accepted only if the initial payment is available
SELECT throws_ok(format($$SELECT gpubill.create_contract(%s, %s, 1, '10.00 USD', '[2026-12-10 00:00+08, 2027-03-10 00:00+08)', '2026-11-20 10:00+08')$$, :poor, :pv),
				 'GB001', NULL, 'an initial payment of 8856.00 with 100.00 available raises GB001');
SELECT is((SELECT count(*) FROM contract), 0::bigint, 'and accepts nothing');
SELECT is((SELECT held FROM wallet(:poor)), '0.00 USD'::amount, 'and holds nothing');
SELECT create_contract(:b, :pv, 1, '10.00 USD', '[2026-12-10 00:00+08, 2027-03-10 00:00+08)', '2026-11-20 10:00+08', 'ex-ct-b') AS cb \gset
SELECT results_eq(format($$SELECT state, total, deposit, approved FROM gpubill.contract WHERE contract_id = %s$$, :cb),
	$$VALUES ('pending', '21600.00 USD'::gpubill.amount, '1416.00 USD'::gpubill.amount, false)$$,
	'accepted, pending until the start: total 21600, deposit 1416');
SELECT results_eq(format($$SELECT held, cash FROM gpubill.wallet(%s)$$, :b),
	$$VALUES ('8856.00 USD'::gpubill.amount, '20000.00 USD'::gpubill.amount)$$, 'the initial payment is held, nothing moves yet');
SELECT results_eq(format($$SELECT seq, due_at, customer_pays, from_deposit, kind FROM gpubill.contract_schedule(%s)$$, :cb),
	$$SELECT seq, due_at, customer_pays, from_deposit, kind FROM gpubill.schedule_of('10.00 USD', '[2026-12-10 00:00+08, 2027-03-10 00:00+08)', 'Asia/Shanghai')$$,
	'contract_schedule is the schedule of its price and term');
SELECT is(create_contract(:b, :pv, 1, '10.00 USD', '[2026-12-10 00:00+08, 2027-03-10 00:00+08)', '2026-11-20 10:00+08', 'ex-ct-b'),
		  :cb::bigint, 'the same request id returns the same contract');
SELECT throws_ok(format($$SELECT gpubill.create_contract(%s, %s, 2, '10.00 USD', '[2026-12-10 00:00+08, 2027-03-10 00:00+08)', '2026-11-20 10:00+08', 'ex-ct-b')$$, :b, :pv),
				 'GB005', NULL, 'reused with other arguments: GB005');
-- bad input
SELECT throws_ok(format($$SELECT gpubill.create_contract(%s, %s, 1, '10.00 USD', '[2026-11-19 00:00+08, 2026-12-19 00:00+08)', '2026-11-20 10:00+08')$$, :b, :pv),
				 'GB004', NULL, 'a term starting before the acceptance raises GB004');
SELECT throws_ok(format($$SELECT gpubill.create_contract(%s, %s, 1, '10.00 CNY', '[2026-12-10 00:00+08, 2026-12-19 00:00+08)', '2026-11-20 10:00+08')$$, :b, :pv),
				 'GB003', NULL, 'a price in another currency raises GB003');
SELECT throws_ok(format($$SELECT gpubill.create_contract(%s, -1, 1, '10.00 USD', '[2026-12-10 00:00+08, 2026-12-19 00:00+08)', '2026-11-20 10:00+08')$$, :b),
				 'P0002', NULL, 'an unknown provider raises P0002');
SELECT throws_ok(format($$SELECT gpubill.create_contract(%s, %s, 0, '10.00 USD', '[2026-12-10 00:00+08, 2026-12-19 00:00+08)', '2026-11-20 10:00+08')$$, :b, :pv),
				 '22023', NULL, 'zero GPUs raise 22023');
SELECT is((SELECT count(*) FROM contract), 1::bigint, 'the refused contracts left nothing');

-- an approved customer's 45-day contract: pays directly; a 60-day contract of a customer who will not pay
SELECT create_contract(:a, :pv, 1, '1.00 USD', '[2026-12-07 00:00+08, 2027-01-21 00:00+08)', '2026-12-01 10:00+08') AS ca \gset
SELECT is((SELECT held FROM wallet(:a)), '0.00 USD'::amount, 'an approved customer''s contract holds nothing');
SELECT create_contract(:tc, :pv, 1, '1.00 USD', '[2027-01-01 00:00+08, 2027-03-02 00:00+08)', '2026-12-15 10:00+08') AS ct \gset
SELECT open_customer('ex-a2', 'USD', '2026-11-01') AS a2 \gset
SELECT set_approved(:a2, true);
SELECT create_contract(:a2, :pv, 1, '1.00 USD', '[2026-12-26 00:00+08, 2027-01-25 00:00+08)', '2026-12-01 10:00+08') AS ca2 \gset
SELECT results_eq(format($$SELECT late_from FROM gpubill.contract_payment WHERE contract_id = %s ORDER BY seq$$, :ca),
	$$VALUES ('2026-12-04 00:00+08'::timestamptz), ('2027-01-06 00:00+08')$$,
	'R-EXC-5: an approved customer''s initial payment is late counted from the acceptance (Tue -> Fri 00:00); the final one due Friday Jan 1 is late from Wednesday');
SELECT results_eq($$SELECT gpubill.late_from('2026-11-29 10:00+08'), gpubill.late_from('2026-12-02 10:00+08'), gpubill.late_from('2027-01-01 00:00+08')$$,
	$$VALUES ('2026-12-02 00:00+08'::timestamptz, '2026-12-05 00:00+08'::timestamptz, '2027-01-06 00:00+08'::timestamptz)$$,
	'due Sunday: late from Wednesday; due Wednesday 10:00: from Saturday; due Friday: from Wednesday');
SELECT throws_ok(format($$SELECT gpubill.pay_contract(%s, '777.59 USD', 'ex-a-1', '2026-12-03 10:00+08')$$, :ca), '22023', NULL,
				 'a payment is made in full: 777.59 of 777.60 raises 22023');
SELECT pay_contract(:ca, '777.60 USD', 'ex-a-1', '2026-12-03 10:00+08') AS pa1 \gset
SELECT is(pay_contract(:ca, '777.60 USD', 'ex-a-1', '2026-12-03 10:00+08'), :pa1::bigint, 'the same external id pays once');
SELECT results_eq(format($$SELECT kind, gross, commission FROM gpubill.contract_receipt WHERE contract_id = %s$$, :ca),
	$$VALUES ('payment', '744.00 USD'::gpubill.amount, '29.76 USD'::gpubill.amount)$$,
	'R-EXC-4: the provider receives the first 31 days less 4% commission; the deposit 33.60 waits');
SELECT throws_ok(format($$SELECT gpubill.pay_contract(%s, '813.60 USD', 'ex-t-x', '2026-12-16')$$, :ct), 'GB004', NULL,
				 'a customer who is not approved pays from its wallet (GB004)');

-- the terms start: the held initial payment is captured
SELECT is(tick('2026-12-10 00:00+08')->'contracts'->>'started', '2', 'two contracts start');
SELECT results_eq(format($$SELECT gpubill.contract_state(%s), gpubill.contract_state(%s)$$, :cb, :ca), $$VALUES ('active', 'active')$$,
				  'active');
SELECT results_eq(format($$SELECT cash, held FROM gpubill.wallet(%s)$$, :b),
	$$VALUES ('11144.00 USD'::gpubill.amount, '0.00 USD'::gpubill.amount)$$, 'the hold is captured at the start');
-- R-EXC-5: an approved customer who does not pay within the grace after accepting is late before the term starts
SELECT results_eq(format($$SELECT gpubill.contract_state(%s), (SELECT approved FROM gpubill.customer WHERE customer_id = %s),
								  (SELECT amount FROM gpubill.contract_fee WHERE contract_id = %s)$$, :ca2, :a2, :ca2),
	$$VALUES ('late', false, '72.00 USD'::gpubill.amount)$$,
	'accepted Tue Dec 1, unpaid on Fri Dec 4 00:00: late while pending, a fee of 72.00 owed, approval revoked');
SELECT recharge(:a2, '1000.00 USD', 'stripe', 'ex-a2-1', '2026-12-12 10:00+08') IS NOT NULL AS funded;
SELECT is(tick('2026-12-12 12:00+08')->'contracts'->>'collected', '2', 'the fee and the late payment are taken from the wallet, before the due time');
SELECT is(contract_state(:ca2), 'pending', 'paid before its term: pending again, until the term starts (R-EXC-1)');
SELECT tick('2026-12-26 00:00+08') IS NOT NULL AS ticked;
SELECT is(contract_state(:ca2), 'active', 'active from the start of its term');
SELECT results_eq(format($$SELECT kind, gross, commission FROM gpubill.contract_receipt WHERE contract_id = %s$$, :cb),
	$$VALUES ('payment', '7440.00 USD'::gpubill.amount, '297.60 USD'::gpubill.amount)$$, 'the provider receives 7440 less 297.60');
SELECT results_eq(format($$SELECT balance FROM gpubill.accounts WHERE owner_kind = 'customer' AND owner_id = %s AND purpose = 'deposit'$$, :b),
	$$VALUES ('1416.00 USD'::gpubill.amount)$$, 'the deposit waits in the customer''s deposit account');

-- R-EXC-1: later payments are taken from the wallet at their due time
SELECT is(tick('2027-01-01 00:00+08')->'contracts'->>'collected', '1', 'B''s January payment is collected at 00:00 on Jan 1');
SELECT results_eq(format($$SELECT kind, gross, commission FROM gpubill.contract_receipt WHERE contract_id = %s AND seq = 2 ORDER BY receipt_id$$, :cb),
	$$VALUES ('payment', '4752.00 USD'::gpubill.amount, '190.08 USD'::gpubill.amount), ('deposit', '528.00 USD', '21.12 USD')$$,
	'the customer''s 4752 and 528 from the deposit reach the provider, each less 4%');
SELECT results_eq(format($$SELECT paid_at FROM gpubill.contract_payment WHERE contract_id = %s AND seq = 2$$, :cb),
	$$VALUES ('2027-01-01 00:00+08'::timestamptz)$$, 'paid at its due time');
SELECT is(contract_state(:ca), 'active', 'the approved customer''s final payment is not taken from its wallet');

-- R-EXC-5: the approved customer does not pay by Jan 5: late, a reservation fee, approval revoked
SELECT is(tick('2027-01-05 23:59+08')->'contracts'->>'late', '0', 'not late during the grace');
SELECT is(tick('2027-01-06 00:00+08')->'contracts'->>'late', '1', 'late from Wednesday 00:00');
SELECT results_eq(format($$SELECT gpubill.contract_state(%s), (SELECT approved FROM gpubill.customer WHERE customer_id = %s)$$, :ca, :a),
	$$VALUES ('late', false)$$, 'the contract is late and the customer no longer approved');
SELECT results_eq(format($$SELECT amount, paid_at FROM gpubill.contract_fee WHERE contract_id = %s$$, :ca),
	$$VALUES ('108.00 USD'::gpubill.amount, NULL::timestamptz)$$, 'a reservation fee of 10% of 1080.00, owed: the wallet cannot cover it');
SELECT results_eq(format($$SELECT kind, customer_pays, paid, overdue FROM gpubill.contract_receivables WHERE contract = %s AND paid = '0 USD' ORDER BY kind$$, :ca),
	$$VALUES ('final', '302.40 USD'::gpubill.amount, '0.00 USD'::gpubill.amount, true), ('reservation_fee', '108.00 USD', '0.00 USD', true)$$,
	'contract_receivables: the final payment and the fee are overdue');
SELECT throws_ok(format($$SELECT gpubill.pay_contract(%s, '302.40 USD', 'ex-a-2', '2027-01-06 10:00+08')$$, :ca), '22023', NULL,
				 'the fee owed is paid first');
SELECT lives_ok(format($$SELECT gpubill.pay_contract(%s, '108.00 USD', 'ex-a-fee', '2027-01-06 10:00+08')$$, :ca), 'the fee is paid directly');
SELECT results_eq(format($$SELECT kind, gross, commission FROM gpubill.contract_receipt WHERE contract_id = %s AND kind = 'reservation_fee'$$, :ca),
	$$VALUES ('reservation_fee', '108.00 USD'::gpubill.amount, '4.32 USD'::gpubill.amount)$$,
	'the provider is credited the fee, less commission, when it is paid');
SELECT throws_ok(format($$SELECT gpubill.pay_contract(%s, '302.40 USD', 'ex-a-2', '2027-01-06 10:00+08')$$, :ca), 'GB004', NULL,
				 'no longer approved: the late payment is taken from the wallet');
SELECT recharge(:a, '500.00 USD', 'stripe', 'ex-a-r1', '2027-01-07 10:00+08') IS NOT NULL AS funded;
SELECT is(tick('2027-01-07 11:00+08')->'contracts'->>'collected', '1', 'tick takes it once the wallet covers it');
SELECT results_eq(format($$SELECT gpubill.contract_state(%s), (SELECT paid_at FROM gpubill.contract_payment WHERE contract_id = %s AND seq = 2)$$, :ca, :ca),
	$$VALUES ('active', '2027-01-07 10:00+08'::timestamptz)$$, 'paid when the recharge arrived; the contract is active again');
SELECT is(tick('2027-01-21 00:00+08')->'contracts'->>'completed', '1', 'completed at the end of its term');

-- R-EXC-5: the customer who does not pay: late, then terminated; the provider keeps the unapplied deposit
SELECT is(tick('2027-02-04 00:00+08')->'contracts'->>'late', '1', 'T''s payment due Mon Feb 1 is late from Thu 00:00');
SELECT results_eq(format($$SELECT customer_pays, from_deposit, cancelled_at FROM gpubill.contract_payment WHERE contract_id = %s AND seq = 3$$, :ct),
	$$VALUES ('21.60 USD'::gpubill.amount, '2.40 USD'::gpubill.amount, NULL::timestamptz)$$, 'the last piece takes the deposit''s rounding residue');
SELECT terminate_contract(:ct, 'non_payment', '2027-02-05 10:00+08');
SELECT results_eq(format($$SELECT state, deposit_left FROM gpubill.contract WHERE contract_id = %s$$, :ct),
	$$VALUES ('terminated', '0.00 USD'::gpubill.amount)$$, 'terminated');
SELECT results_eq(format($$SELECT kind, gross, commission FROM gpubill.contract_receipt WHERE contract_id = %s AND kind = 'cancellation_fee'$$, :ct),
	$$VALUES ('cancellation_fee', '69.60 USD'::gpubill.amount, '2.78 USD'::gpubill.amount)$$,
	'the unapplied deposit 69.60 goes to the provider as a cancellation fee, less 4% rounded to cents');
SELECT is((SELECT count(*) FROM contract_payment WHERE contract_id = :ct AND cancelled_at IS NOT NULL), 2::bigint, 'no further payments fall due');
SELECT throws_ok(format($$SELECT gpubill.terminate_contract(%s, 'non_payment', '2027-02-06')$$, :ct), 'GB004', NULL, 'a terminated contract cannot be terminated');

-- R-EXC-1: only in full; late; paid when funds come
SELECT tick('2027-03-01 00:00+08') IS NOT NULL AS ticked;
SELECT results_eq(format($$SELECT cash, (SELECT paid_at FROM gpubill.contract_payment WHERE contract_id = %s AND seq = 4) FROM gpubill.wallet(%s)$$, :cb, :b),
	$$VALUES ('344.00 USD'::gpubill.amount, NULL::timestamptz)$$, 'with 344.00 in the wallet the final 1944.00 is not taken, not even partly');
SELECT is(tick('2027-03-04 00:00+08')->'contracts'->>'late', '1', 'late from Thursday 00:00');
SELECT recharge(:b, '5000.00 USD', 'stripe', 'ex-b-2', '2027-03-05 10:00+08') IS NOT NULL AS funded;
SELECT is(tick('2027-03-05 11:00+08')->'contracts'->>'collected', '2', 'the fee owed, then the payment, are taken');
SELECT is(tick('2027-03-10 00:00+08')->'contracts'->>'completed', '1', 'completed');

-- conservation: for every contract, the provider's net receipts + commission + unapplied deposit = what customers paid
SELECT is((SELECT count(*) FROM (
		SELECT c.contract_id,
			   gpubill.sum(x.amount) FILTER (WHERE x.kind IN ('payment', 'reservation_fee', 'cancellation_fee', 'commission')
											AND x.debit_account <> d.account_id)
			   + coalesce(gpubill.sum(x.amount) FILTER (WHERE x.kind = 'deposit'), '0 USD') AS paid_in,
			   (SELECT gpubill.sum(r.gross) FROM gpubill.contract_receipt r WHERE r.contract_id = c.contract_id) + c.deposit_left AS out
		FROM gpubill.contract c
		JOIN gpubill.transfer x ON x.object_type = 'contract' AND x.object_id = c.contract_id
		JOIN gpubill.account d ON (d.owner_kind, d.owner_id, d.purpose, d.currency) = ('customer', c.customer_id, 'deposit', 'USD')
		GROUP BY c.contract_id, c.deposit_left) s WHERE paid_in <> out), 0::bigint,
	'every contract: provider received + commission + deposit not yet applied = customers paid');
SELECT results_eq(format($$SELECT balance + commission_paid FROM gpubill.provider_wallet(%s)$$, :pv),
	$$SELECT gpubill.sum(gross) FROM gpubill.contract_receipt$$, 'provider_wallet: balance + commission = the gross received');

-- R-EXC-4: tiered volume discounts on the commission, by the provider's volume in the month
SET LOCAL ROLE gpubill_app;
SELECT throws_ok($$SELECT gpubill.set_commission_tiers('[{"from": "0 USD", "rate": 0.04}]')$$, '42501', NULL,
				 'only gpubill_admin sets the tiers');
RESET ROLE;
SET LOCAL ROLE gpubill_admin;
SELECT throws_ok($$SELECT gpubill.set_commission_tiers('[{"from": "0 USD", "rate": 1.5}]')$$, '22023', NULL,
				 'a rate beyond 1 is refused');
SELECT lives_ok($$SELECT gpubill.set_commission_tiers('[{"from": "0 USD", "rate": 0.04}, {"from": "10000 USD", "rate": 0.03}]')$$,
				'gpubill_admin sets the tiers');
RESET ROLE;
SELECT open_provider('ex-prov2', 'USD', '2027-04-01') AS pv2 \gset
SELECT open_customer('ex-c2', 'USD', '2027-04-01') AS c2 \gset
SELECT set_approved(:c2, true);
SELECT create_contract(:c2, :pv2, 1, '20.00 USD', '[2027-04-10 00:00+08, 2027-05-11 00:00+08)', '2027-04-02') AS cx1 \gset
SELECT create_contract(:c2, :pv2, 1, '20.00 USD', '[2027-04-12 00:00+08, 2027-05-13 00:00+08)', '2027-04-02') AS cx2 \gset
SELECT pay_contract(:cx1, '14880.00 USD', 'ex-x-1', '2027-04-03') IS NOT NULL AS paid;
SELECT pay_contract(:cx2, '14880.00 USD', 'ex-x-2', '2027-04-03') IS NOT NULL AS paid;
SELECT results_eq(format($$SELECT rate, commission FROM gpubill.contract_receipt WHERE provider_id = %s ORDER BY receipt_id$$, :pv2),
	$$VALUES (0.04, '595.20 USD'::gpubill.amount), (0.04, '595.20 USD')$$,
	'31 days of 20.00/h paid in full, twice in April: 4% — the tier of April is set by March''s volume (none)');
SELECT results_eq(format($$SELECT (SELECT count(*) FROM gpubill.volume_month WHERE month = '2027-03-01'),
								   (SELECT count(*) FROM gpubill.provider_volume WHERE month = '2027-03-01' AND provider_id = %s)$$, :pv2),
	$$VALUES (1::bigint, 0::bigint)$$, 'March is settled (at the first April receipt), with no volume of this provider');
-- R-EXC-4: May's tier is set by April's volume (29760 >= 10000: 3%), settled at May's first tick
SELECT tick('2027-05-01 00:10+08') IS NOT NULL AS ticked;
SELECT results_eq(format($$SELECT volume FROM gpubill.provider_volume WHERE month = '2027-04-01' AND provider_id = %s$$, :pv2),
	$$VALUES (29760::numeric)$$, 'the first tick of May settles April''s volumes: 29760.00 received');
SELECT create_contract(:c2, :pv2, 1, '20.00 USD', '[2027-05-20 00:00+08, 2027-06-20 00:00+08)', '2027-05-02') AS cx4 \gset
SELECT pay_contract(:cx4, '14880.00 USD', 'ex-x-4', '2027-05-03') IS NOT NULL AS paid;
SELECT results_eq(format($$SELECT rate, commission FROM gpubill.contract_receipt WHERE contract_id = %s$$, :cx4),
	$$VALUES (0.03, '446.40 USD'::gpubill.amount)$$, 'a receipt in May: April''s volume is past 10000, 3%');
-- R-EXC-4: a negotiated rate overrides the tiers from its date
SET LOCAL ROLE gpubill_admin;
SELECT lives_ok(format($$SELECT gpubill.set_provider_commission(%s, 0.025, '2027-04-05')$$, :pv2), 'a negotiated 2.5% from Apr 5');
RESET ROLE;
SELECT create_contract(:c2, :pv2, 1, '20.00 USD', '[2027-05-14 00:00+08, 2027-06-14 00:00+08)', '2027-05-05') AS cx3 \gset
SELECT pay_contract(:cx3, '14880.00 USD', 'ex-x-3', '2027-05-06') IS NOT NULL AS paid;
SELECT is((SELECT rate FROM contract_receipt WHERE contract_id = :cx3), 0.025, 'the next receipt takes the negotiated rate');
SELECT is((SELECT volume FROM provider_volume WHERE month = '2027-04-01' AND provider_id = :pv2), 29760::numeric,
		  'April''s volume is final: later receipts do not change it');
SET LOCAL ROLE gpubill_app;
SELECT throws_ok(format($$SELECT gpubill.set_provider_commission(%s, 0.03, '2027-04-05')$$, :pv2), '42501', NULL,
				 'only gpubill_admin negotiates');
RESET ROLE;
SET LOCAL ROLE gpubill_admin;
SELECT lives_ok($$SELECT gpubill.set_commission_tiers('[]')$$, 'the tiers emptied');
RESET ROLE;

-- verify() checks the contracts' cached unapplied deposits against the journal
SAVEPOINT tamper;
UPDATE contract SET deposit_left = deposit_left + '1.00 USD' WHERE contract_id = :cb;
SELECT results_eq($$SELECT ok FROM gpubill.verify() WHERE check_name LIKE 'contract deposits%'$$, $$VALUES (false)$$,
				  'verify() sees a cached deposit that differs from the deposit account');
ROLLBACK TO SAVEPOINT tamper;

SET LOCAL ROLE gpubill_reader;
SELECT lives_ok($$SELECT count(*) FROM gpubill.contract_receivables$$, 'gpubill_reader reads contract_receivables');
RESET ROLE;
SELECT results_eq($$SELECT count(*) FROM gpubill.verify() WHERE NOT ok$$, $$VALUES (0::bigint)$$, 'verify() is all ok');
SELECT * FROM finish();
ROLLBACK;
