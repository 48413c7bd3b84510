-- demo.sql — a short printed tour of gpubill's types and calculators.
-- scripts/demo_market.sql then simulates a marketplace month.
\set ON_ERROR_STOP on
\pset footer off
\set SHOW_CONTEXT never
SET search_path = gpubill, public;
SET TimeZone = 'Asia/Shanghai';
SET DateStyle = ISO;

\echo '== amount: exact money with a currency'
SELECT '12.5 CNY'::amount AS "12.5 CNY", 'USD 0.1'::amount + 'USD 0.2' AS "0.1 + 0.2 USD",
	'10 CNY'::amount / 3 AS "10 CNY / 3", round('2.345 CNY'::amount, 2) AS "round 2.345",
	round('-2.345 CNY'::amount, 2) AS "round -2.345";
\echo 'Mixing currencies is an error (GB003):'
\set ON_ERROR_STOP off
SELECT '1 CNY'::amount + '1 USD'::amount;
\set ON_ERROR_STOP on

\echo '== billing_period: calendar-aligned intervals (billing time zone Asia/Shanghai)'
SELECT unit, billing_period(unit, '2026-11-23 10:30+08') AS period
FROM unnest(ARRAY['hour', 'day', 'week', 'month']) unit;
\echo 'A day in New York across the autumn DST switch lasts 25 hours:'
SET TimeZone = 'America/New_York';
SELECT billing_period('day', '2026-11-01 12:00-05', 'America/New_York') AS day,
	seconds(billing_period('day', '2026-11-01 12:00-05', 'America/New_York')) / 3600 AS hours;
SET TimeZone = 'Asia/Shanghai';
\echo 'A month after Jan 31 is Feb 28 (end-of-month clamp):'
SELECT add_term('2026-01-31 10:00+08', 'month', 1) AS "Jan 31 + 1 month";

\echo '== rating: 0.000 to 5.000, daily caps of +500 / -3000 points'
SELECT '3.5'::rating AS start, rating_apply('3.5', 800, 0, 0) AS "+800 (capped at +500)",
	rating_apply('3.5', -4000, 0, 0) AS "-4000 (capped at -3000)";

\echo '== calculators'
SELECT prorate('3.60 CNY', 1234) AS "20m34s at 3.60/h",
	order_payment('2.50 CNY', 2, 3, 0.9, '1.00 CNY') AS "2 GPUs x 3 h, 10% off, 1.00 voucher",
	partner_income('12.50 CNY', 0.20) AS "partner income (fee 20%)",
	initial_payment('8.00 USD', tstzrange('2026-12-01 00:00+08', '2027-06-01 00:00+08')) AS "contract initial payment";

\echo ''
\echo '== ledger: customers recharge, get vouchers, a freeze is captured'
SELECT open_customer('alice', 'CNY', '2026-11-01 09:00+08') AS alice \gset
SELECT open_customer('bob', 'CNY', '2026-11-01 09:00+08') AS bob \gset
SELECT open_partner('gpu-owner-1', 'CNY', '2026-11-01 09:00+08') AS owner \gset
SELECT set_setting('channel_bonus_rate.alipay', '0.05');
SELECT recharge(:alice, '200.00 CNY', 'wechat', 'wx-20261101-0001', '2026-11-01 10:00+08') AS alice_recharge,
	recharge(:bob, '50.00 CNY', 'alipay', 'ali-20261101-0042', '2026-11-01 10:05+08') AS bob_recharge;
\echo 'The payment webhook arrives twice: the second call returns the first recharge and moves nothing:'
SELECT recharge(:alice, '200.00 CNY', 'wechat', 'wx-20261101-0001', '2026-11-01 10:00:03+08') AS same_recharge;
SELECT grant_voucher(:alice, '2.00 CNY', '2026-12-01 00:00+08', '2026-11-01 10:10+08') AS voucher;
SELECT 'alice' AS customer, * FROM wallet(:alice) UNION ALL SELECT 'bob', * FROM wallet(:bob);
\echo 'An hour of a GPU is frozen (held), then 0.75 of it captured: vouchers first, then cash split 80/20:'
SELECT place_hold(:alice, '3.60 CNY', false, NULL, 'order', 1, '2026-11-01 11:00+08') AS hold \gset
SELECT * FROM wallet(:alice);
SELECT * FROM capture_hold(:hold, '2.70 CNY', :owner, '2026-11-01 11:45+08');
\echo 'Bob asks for more than he has:'
\set ON_ERROR_STOP off
SELECT place_hold(:bob, '100.00 CNY', true, at => '2026-11-01 12:00+08');
\set ON_ERROR_STOP on
\echo 'The journal:'
SELECT transfer_id, at, kind, amount, debit_owner_kind || ':' || debit_purpose AS debit,
	credit_owner_kind || ':' || credit_purpose AS credit
FROM transfers ORDER BY transfer_id;
\echo 'Account balances, summed from the journal (every currency sums to zero):'
SELECT owner_kind, owner_id, purpose, balance FROM accounts WHERE micros(balance) <> 0 ORDER BY owner_kind, owner_id, purpose;
SELECT check_name, ok FROM verify();
