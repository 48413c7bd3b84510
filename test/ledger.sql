-- pgTAP: the ledger core — journal, holds, wallets, idempotency, integrity
-- R-LED-1 R-LED-2 R-LED-3 R-LED-4 R-LED-5 R-LED-7 R-RCH-1 R-RCH-2 R-RCH-3 R-RCH-4 R-SEC-3
BEGIN;
SET LOCAL search_path = gpubill, public;
SELECT plan(77);

SELECT open_customer('t-alice', 'CNY', '2026-11-01 09:00+08') AS alice \gset
SELECT open_customer('t-bob', 'CNY', '2026-11-01 09:00+08') AS bob \gset
SELECT open_customer('t-carol', 'USD', '2026-11-01 09:00+08') AS carol \gset
SELECT open_partner('t-gpu-owner', 'CNY', '2026-11-01 09:00+08') AS owner \gset

-- parties own accounts by purpose (R-LED-1)
SELECT results_eq(format($$SELECT purpose, currency FROM gpubill.account WHERE owner_kind = 'customer' AND owner_id = %s ORDER BY 1$$, :alice),
	$$VALUES ('cash', 'CNY'), ('voucher', 'CNY')$$, 'a customer owns a cash and a voucher account');
SELECT results_eq(format($$SELECT purpose FROM gpubill.account WHERE owner_kind = 'partner' AND owner_id = %s ORDER BY 1$$, :owner),
	$$VALUES ('deposit'), ('income')$$, 'a partner owns income and deposit accounts');
SELECT is(open_customer('t-alice', 'CNY'), :alice::bigint, 'open_customer is idempotent on external_ref');
SELECT throws_ok($$SELECT gpubill.open_customer('t-alice', 'USD')$$, 'GB005', NULL,
				 'the same external_ref with another currency raises GB005');
SELECT throws_ok($$SELECT gpubill.open_customer('t-x', 'cny')$$, '22023', NULL, 'a malformed currency raises 22023');
SELECT throws_ok($$SELECT gpubill.open_customer('', 'CNY')$$, '22023', NULL, 'an empty external_ref raises 22023');

-- recharges (R-RCH-1), idempotent on (channel, external_id) (R-LED-5)
SELECT recharge(:alice, '100.00 CNY', 'wechat', 'wx-0001', '2026-11-01 10:00+08') AS r1 \gset
SELECT is(recharge(:alice, '100.00 CNY', 'wechat', 'wx-0001', '2026-11-01 10:05+08'), :r1::bigint,
		  'a repeated webhook returns the first recharge');
SELECT is((SELECT cash FROM wallet(:alice)), '100.00 CNY'::amount, 'and moves the money once');
SELECT throws_ok(format($$SELECT gpubill.recharge(%s, '90.00 CNY', 'wechat', 'wx-0001')$$, :alice), 'GB005', NULL,
				 'the same (channel, external_id) with another amount raises GB005');
SELECT throws_ok(format($$SELECT gpubill.recharge(%s, '100.00 CNY', 'wechat', 'wx-0001')$$, :bob), 'GB005', NULL,
				 'the same (channel, external_id) for another customer raises GB005');
SELECT isnt(recharge(:bob, '100.00 CNY', 'alipay', 'wx-0001', '2026-11-01 10:00+08'), :r1::bigint,
			'another channel with the same external id is another recharge');
SELECT throws_ok(format($$SELECT gpubill.recharge(%s, '10 USD', 'wechat', 'wx-usd')$$, :alice), 'GB003', NULL,
				 'a recharge in another currency raises GB003');
SELECT throws_ok(format($$SELECT gpubill.recharge(%s, '0 CNY', 'wechat', 'wx-zero')$$, :alice), '22023', NULL,
				 'a zero recharge raises 22023');
SELECT throws_ok(format($$SELECT gpubill.recharge(%s, '-5 CNY', 'wechat', 'wx-neg')$$, :alice), '22023', NULL,
				 'a negative recharge raises 22023');
SELECT throws_ok(format($$SELECT gpubill.recharge(%s, '5 CNY', 'cash_in_envelope', 'e-1')$$, :alice), '22023', NULL,
				 'an unknown channel raises 22023');
SELECT throws_ok($$SELECT gpubill.recharge(987654321, '5 CNY', 'wechat', 'wx-ghost')$$, 'P0002', NULL,
				 'an unknown customer raises P0002');
SELECT is((SELECT count(*) FROM recharge WHERE external_id IN ('wx-usd', 'wx-zero', 'wx-neg', 'e-1', 'wx-ghost')), 0::bigint,
		  'refused recharges leave nothing behind');

-- bank transfers only for gpubill_admin, as seen after SET ROLE (R-RCH-1)
SET LOCAL ROLE gpubill_app;
SELECT throws_ok(format($$SELECT gpubill.recharge(%s, '500 CNY', 'bank_transfer', 'b2b-1')$$, :alice), '42501', NULL,
				 'gpubill_app may not record a bank transfer');
RESET ROLE;
SET LOCAL ROLE gpubill_admin;
SELECT throws_ok(format($$SELECT gpubill.recharge(%s, '500 CNY', 'bank_transfer', 'b2b-1', '2026-11-01 11:00+08')$$, :alice),
				 'GB004', NULL, 'a bank transfer to a customer that is not B2B raises GB004 (R-RCH-1)');
RESET ROLE;
SET LOCAL ROLE gpubill_app;
SELECT throws_ok(format($$SELECT gpubill.set_b2b(%s, true)$$, :alice), '42501', NULL, 'gpubill_app may not mark a customer B2B');
RESET ROLE;
SET LOCAL ROLE gpubill_admin;
SELECT lives_ok(format($$SELECT gpubill.set_b2b(%s, true)$$, :alice), 'gpubill_admin marks it B2B');
SELECT lives_ok(format($$SELECT gpubill.recharge(%s, '500 CNY', 'bank_transfer', 'b2b-1', '2026-11-01 11:00+08')$$, :alice),
				'gpubill_admin records a bank transfer to a B2B customer');
RESET ROLE;

-- channel bonus as a voucher (R-RCH-2)
SELECT set_setting('channel_bonus_rate.stripe', '0.05');
SELECT recharge(:bob, '33.33 CNY', 'stripe', 'st-1', '2026-11-01 12:00+08') AS r2 \gset
SELECT results_eq(format($$SELECT amount, expires_at FROM gpubill.voucher WHERE recharge_id = %s$$, :r2),
	$$VALUES ('1.67 CNY'::gpubill.amount, NULL::timestamptz)$$, 'a 5% bonus on 33.33 is a 1.67 voucher (rounded half away)');
SELECT results_eq(format($$SELECT cash, vouchers FROM gpubill.wallet(%s)$$, :bob),
	$$VALUES ('133.33 CNY'::gpubill.amount, '1.67 CNY'::gpubill.amount)$$, 'bonus vouchers are not cash');
SELECT is((SELECT recharged FROM gpubill.wallet WHERE customer_id = :bob), '133.33 CNY'::amount,
		  'only real recharges count as recharged');

-- vouchers with optional expiry (R-RCH-3)
SELECT grant_voucher(:alice, '20.00 CNY', '2026-12-01 00:00+08', '2026-11-01 12:00+08', 'promo-alice-1') AS v1 \gset
SELECT is(grant_voucher(:alice, '20.00 CNY', '2026-12-01 00:00+08', '2026-11-01 12:30+08', 'promo-alice-1'), :v1::bigint,
		  'grant_voucher with a request id is idempotent');
SELECT throws_ok(format($$SELECT gpubill.grant_voucher(%s, '25.00 CNY', NULL, NULL, 'promo-alice-1')$$, :alice), 'GB005', NULL,
				 'the same request id with another amount raises GB005');
SELECT throws_ok(format($$SELECT gpubill.grant_voucher(%s, '5 CNY', '2026-01-01', '2026-11-02')$$, :alice), '22023', NULL,
				 'a voucher expiring before it is granted raises 22023');
SELECT results_eq(format($$SELECT cash, vouchers, held, available FROM gpubill.wallet(%s)$$, :alice),
	$$VALUES ('600.00 CNY'::gpubill.amount, '20.00 CNY'::gpubill.amount, '0 CNY'::gpubill.amount, '620.00 CNY'::gpubill.amount)$$,
	'wallet: cash, vouchers, held, available');

-- two-phase holds (R-LED-2)
SELECT place_hold(:alice, '50.00 CNY', false, NULL, 'order', 42, '2026-11-01 13:00+08') AS h1 \gset
SELECT results_eq(format($$SELECT cash, vouchers, held, available FROM gpubill.wallet(%s)$$, :alice),
	$$VALUES ('600.00 CNY'::gpubill.amount, '20.00 CNY'::gpubill.amount, '50.00 CNY'::gpubill.amount, '570.00 CNY'::gpubill.amount)$$,
	'a hold lowers available, not the balances');
SELECT results_eq(format($$SELECT * FROM gpubill.capture_hold(%s, '30.00 CNY', %s, '2026-11-01 14:00+08')$$, :h1, :owner),
	$$VALUES ('20.00 CNY'::gpubill.amount, '10.00 CNY'::gpubill.amount, '8.00 CNY'::gpubill.amount, '2.00 CNY'::gpubill.amount)$$,
	'a partial capture pays vouchers first, then cash split into partner income and platform fee (R-RCH-4, R-PRT-3)');
SELECT results_eq(format($$SELECT cash, vouchers, held, available FROM gpubill.wallet(%s)$$, :alice),
	$$VALUES ('590.00 CNY'::gpubill.amount, '0 CNY'::gpubill.amount, '0 CNY'::gpubill.amount, '590.00 CNY'::gpubill.amount)$$,
	'the rest of the hold is released');
SELECT throws_ok(format($$SELECT * FROM gpubill.capture_hold(%s, '1 CNY')$$, :h1), 'GB004', NULL,
				 'a hold cannot be captured twice');
SELECT throws_ok(format($$SELECT gpubill.release_hold(%s)$$, :h1), 'GB004', NULL, 'nor released after its capture');

SELECT place_hold(:alice, '100.00 CNY', true, NULL, NULL, NULL, '2026-11-01 15:00+08') AS h2 \gset
SELECT throws_ok(format($$SELECT * FROM gpubill.capture_hold(%s, '100.01 CNY')$$, :h2), '22023', NULL,
				 'capturing more than the hold raises 22023');
SELECT throws_ok(format($$SELECT * FROM gpubill.capture_hold(%s, '1 USD')$$, :h2), 'GB003', NULL,
				 'capturing another currency raises GB003');
SELECT lives_ok(format($$SELECT gpubill.release_hold(%s, '2026-11-01 15:30+08')$$, :h2), 'a hold can be released');
SELECT throws_ok(format($$SELECT gpubill.release_hold(%s)$$, :h2), 'GB004', NULL, 'but only once');
SELECT throws_ok($$SELECT gpubill.release_hold(987654321)$$, 'P0002', NULL, 'an unknown hold raises P0002');

-- insufficient funds, cash-only holds (R-RCH-4)
SELECT grant_voucher(:bob, '50.00 CNY', NULL, '2026-11-01 16:00+08') IS NOT NULL AS granted;
SELECT throws_ok(format($$SELECT gpubill.place_hold(%s, '150.00 CNY', true)$$, :bob), 'GB001', NULL,
				 'a cash-only hold beyond cash raises GB001 even with vouchers');
SELECT lives_ok(format($$SELECT gpubill.place_hold(%s, '150.00 CNY', false, at => '2026-11-01 16:00+08')$$, :bob),
				'the same hold may use vouchers');
SELECT throws_ok(format($$SELECT gpubill.place_hold(%s, '35.01 CNY', false)$$, :bob), 'GB001', NULL,
				 'a hold beyond available raises GB001');
SELECT is((SELECT count(*) FROM hold WHERE customer_id = :bob), 1::bigint, 'refused holds leave nothing behind');

-- expiry
SELECT place_hold(:alice, '10.00 CNY', false, '2026-11-01 18:00+08', NULL, NULL, '2026-11-01 17:00+08') AS h3 \gset
SELECT throws_ok(format($$SELECT * FROM gpubill.capture_hold(%s, '5 CNY', NULL, '2026-11-01 18:00+08')$$, :h3), 'GB004', NULL,
				 'an expired hold cannot be captured');
SELECT is((SELECT kind FROM hold_end WHERE hold_id = :h3), NULL, 'the failed call left no end behind');
SELECT lives_ok(format($$SELECT gpubill.place_hold(%s, '1 CNY', at => '2026-11-01 19:00+08')$$, :alice),
				'a later movement of the customer ends expired holds');
SELECT is((SELECT kind FROM hold_end WHERE hold_id = :h3), 'expire', 'the hold ended as expired');

-- idempotent captures (R-LED-5)
SELECT place_hold(:alice, '10.00 CNY', at => '2026-11-01 20:00+08') AS h4 \gset
SELECT results_eq(format($$SELECT * FROM gpubill.capture_hold(%s, '4.00 CNY', %s, '2026-11-01 20:10+08', 'cap-h4')$$, :h4, :owner),
	format($$SELECT * FROM gpubill.capture_hold(%s, '4.00 CNY', %s, '2026-11-01 20:20+08', 'cap-h4')$$, :h4, :owner),
	'a repeated capture returns the first result');
SELECT is((SELECT count(*) FROM transfer WHERE object_type = 'hold' AND object_id = :h4), 2::bigint,
		  'and moves nothing again');
SELECT throws_ok(format($$SELECT * FROM gpubill.capture_hold(%s, '5.00 CNY', %s, NULL, 'cap-h4')$$, :h4, :owner), 'GB005', NULL,
				 'the same request id with another amount raises GB005');

-- every transfer records its times, kind and object (R-LED-7)
SELECT is((SELECT count(*) FROM transfers WHERE at IS NULL OR recorded_at IS NULL OR kind IS NULL OR object_type IS NULL),
		  0::bigint, 'transfers record at, recorded_at, kind and object');
SELECT results_eq(format($$SELECT kind, amount::text, debit_purpose, credit_owner_kind || ':' || credit_purpose
						   FROM gpubill.transfers WHERE object_type = 'hold' AND object_id = %s ORDER BY transfer_id$$, :h1),
	$$VALUES ('voucher_spend', '20.00 CNY', 'voucher', 'platform:voucher_expense'),
			 ('income', '8.00 CNY', 'cash', 'partner:income'),
			 ('fee', '2.00 CNY', 'cash', 'platform:fee')$$,
	'a capture''s transfers: voucher spend, partner income, platform fee');

-- the journal is the truth (R-LED-3)
SELECT is((SELECT count(*) FROM verify() WHERE NOT ok), 0::bigint, 'verify() is all ok');
SELECT is((SELECT count(*) FROM verify()), 22::bigint, 'verify() runs 22 checks');
SELECT is(ARRAY(SELECT check_name FROM verify(full => true) WHERE NOT ok), '{}'::text[],
		  'verify(full => true), the whole journal re-checked, is all ok too');
SELECT is((SELECT sum(balance) FROM accounts WHERE currency = 'CNY'), '0 CNY'::amount, 'CNY accounts sum to zero');

-- append-only for every role, also the owner (R-LED-4)
SELECT throws_ok($$UPDATE gpubill.transfer SET note = 'edited'$$, 'GB004', NULL, 'UPDATE of the journal raises');
SELECT throws_ok($$DELETE FROM gpubill.transfer$$, 'GB004', NULL, 'DELETE from the journal raises');
SELECT throws_ok($$TRUNCATE gpubill.transfer CASCADE$$, 'GB004', NULL, 'TRUNCATE of the journal raises');
SELECT throws_ok($$DELETE FROM gpubill.hold$$, 'GB004', NULL, 'DELETE from holds raises');
SELECT throws_ok($$UPDATE gpubill.hold_end SET kind = 'release'$$, 'GB004', NULL, 'UPDATE of hold ends raises');

-- corrections are reversing transfers (R-LED-4)
SELECT transfer_id AS fee_transfer FROM transfer WHERE object_type = 'hold' AND object_id = :h1 AND kind = 'fee' \gset
SELECT reverse_transfer(:fee_transfer, 'fee charged in error', '2026-11-02 09:00+08') AS rev \gset
SELECT results_eq(format($$SELECT reverses, debit_account, credit_account, amount FROM gpubill.transfer WHERE transfer_id = %s$$, :rev),
	format($$SELECT transfer_id, credit_account, debit_account, amount FROM gpubill.transfer WHERE transfer_id = %s$$, :fee_transfer),
	'a reversal moves the amount back and references the original');
SELECT throws_ok(format($$SELECT gpubill.reverse_transfer(%s, 'again')$$, :fee_transfer), 'GB004', NULL,
				 'a transfer is reversed at most once');
SET LOCAL ROLE gpubill_app;
SELECT throws_ok(format($$SELECT gpubill.reverse_transfer(%s, 'app')$$, :r1), '42501', NULL,
				 'only gpubill_admin reverses transfers');
RESET ROLE;
SELECT is((SELECT count(*) FROM verify() WHERE NOT ok), 0::bigint, 'verify() is all ok after the reversal');

-- flags and invoices (act at once, take no at)
SELECT lives_ok(format($$SELECT gpubill.set_discount(%s, 0.85)$$, :bob), 'set_discount accepts 0.85');
SELECT is((SELECT discount FROM customer WHERE customer_id = :bob), 0.85, 'and records it');
SELECT throws_ok(format($$SELECT gpubill.set_discount(%s, 0)$$, :bob), '22023', NULL, 'a discount of 0 raises 22023');
SELECT throws_ok(format($$SELECT gpubill.set_discount(%s, 1.2)$$, :bob), '22023', NULL, 'a discount above 1 raises 22023');
SELECT throws_ok($$SELECT gpubill.set_discount(987654321, 0.9)$$, 'P0002', NULL, 'an unknown customer raises P0002');
SELECT lives_ok(format($$SELECT gpubill.set_approved(%s, true)$$, :bob), 'set_approved');
SELECT is((SELECT approved FROM customer WHERE customer_id = :bob), true, 'records approval');
SELECT record_invoice(:alice, '100.00 CNY', '2026-11-02 10:00+08') IS NOT NULL AS invoiced;
SELECT is((SELECT invoiced FROM gpubill.wallet WHERE customer_id = :alice), '100.00 CNY'::amount,
		  'record_invoice adds to the invoiced total (not refundable)');
SELECT throws_ok(format($$SELECT gpubill.record_invoice(%s, '-1 CNY')$$, :alice), '22023', NULL,
				 'a negative invoice raises 22023');

-- R-LED-2: one funds check for every hold.  Cash below its cash-only holds (a recharge reversed) covers
-- no new hold, not even one vouchers could pay — as the hourly re-holds of tick always refused
SELECT open_customer('l-dora', 'CNY', '2026-11-01') AS dora \gset
SELECT recharge(:dora, '60 CNY', 'wechat', 'l-dora-1', '2026-11-02') IS NOT NULL AS recharged;
SELECT recharge(:dora, '40 CNY', 'wechat', 'l-dora-2', '2026-11-02') AS dora_r2 \gset
SELECT grant_voucher(:dora, '100 CNY', NULL, '2026-11-02') IS NOT NULL AS granted;
SELECT place_hold(:dora, '80 CNY', true, NULL, 'order', 1, '2026-11-02 10:00+08') IS NOT NULL AS held;
SELECT reverse_transfer((SELECT transfer_id FROM transfer WHERE kind = 'recharge' AND object_id = :dora_r2), 'chargeback',
						'2026-11-02 11:00+08') IS NOT NULL AS reversed;
SELECT throws_ok(format($$SELECT gpubill.place_hold(%s, '20 CNY', false, NULL, 'order', 2, '2026-11-02 12:00+08')$$, :dora),
				 'GB001', NULL, 'cash 60 under 80 of cash-only holds: a hold vouchers may pay is refused too (GB001)');
SELECT ok(funds_cover('60 CNY', '100 CNY', '80 CNY', '0 CNY', '20 CNY', '0 CNY')
		  AND NOT funds_cover('60 CNY', '100 CNY', '80 CNY', '80 CNY', '20 CNY', '0 CNY')
		  AND NOT funds_cover('-1 CNY', '100 CNY', '0 CNY', '0 CNY', '1 CNY', '0 CNY')
		  AND NOT funds_cover('10 CNY', '0 CNY', '0 CNY', '0 CNY', '5 CNY', '11 CNY'),
		  'funds_cover: within cash + vouchers, cash-only holds and the cash part within cash, cash not below zero');

-- verify() notices a cache that disagrees with the journal
UPDATE wallet SET cash = cash + '0.01 CNY'::amount WHERE customer_id = :bob;
SELECT results_eq($$SELECT check_name FROM gpubill.verify() WHERE NOT ok$$,
	$$VALUES ('cached balances equal the journal')$$, 'verify() reports a tampered cached balance');

SELECT * FROM finish();
ROLLBACK;
