-- pgTAP: vouchers in use (spending order, expiry write-off), USD credits, refunds, balance_low, instance usage
-- R-RCH-3 R-RCH-4 R-RCH-5 R-REF-1 R-REF-2 R-ALR-1 R-ALR-2 R-PAYG-4 R-BI-1 R-BI-2 R-CLK-1
BEGIN;
SET LOCAL search_path = gpubill, public;
SET LOCAL TimeZone = 'Asia/Shanghai';
SELECT plan(30);

SELECT open_partner('cust-owner', 'CNY', '2026-10-01') AS owner \gset
SELECT list_machine(:owner, 8, '0.10 CNY', '2027-12-01', at => '2026-10-01') AS m \gset
SELECT list_machine(:owner, 8, '1.00 CNY', '2027-12-01', vouchers_allowed => false, at => '2026-10-01') AS m_cash \gset

-- R-RCH-4: vouchers first, earliest expiry first; R-RCH-3: the rest written off at expiry
SELECT open_customer('cust-v', 'CNY', '2026-10-01') AS v \gset
SELECT recharge(:v, '100.00 CNY', 'wechat', 'cust-v-1', '2026-11-01') IS NOT NULL AS funded;
SELECT grant_voucher(:v, '10.00 CNY', '2026-11-06 00:00+08', '2026-11-01') AS va \gset
SELECT grant_voucher(:v, '10.00 CNY', NULL, '2026-11-01') AS vb \gset
SELECT grant_voucher(:v, '3.00 CNY', '2026-11-05 00:00+08', '2026-11-01') AS vc \gset
SELECT create_instance(:v, :m, 1, at => '2026-11-04 10:00+08') AS iv \gset
SELECT tick('2026-11-04 23:00+08') IS NOT NULL AS ticked;
SELECT results_eq(format($$SELECT voucher_id, amount FROM gpubill.voucher_left WHERE customer_id = %s ORDER BY voucher_id$$, :v),
	format($$VALUES (%s::bigint, '10.00 CNY'::gpubill.amount), (%s, '10.00 CNY'), (%s, '1.70 CNY')$$, :va, :vb, :vc),
	'13 hours of 0.10 were paid by the voucher that expires first');
SELECT tick('2026-11-05 00:00+08') IS NOT NULL AS ticked;
SELECT is((SELECT count(*) FROM voucher_left WHERE voucher_id = :vc), 0::bigint, 'at its expiry the rest of a voucher is written off');
SELECT results_eq(format($$SELECT at, amount FROM gpubill.transfer WHERE kind = 'voucher_expiry' AND customer_id = %s$$, :v),
	$$VALUES ('2026-11-05 00:00+08'::timestamptz, '1.70 CNY'::gpubill.amount)$$, 'voucher breakage of 1.70 at the expiry instant');
SELECT tick('2026-11-06 00:00+08') IS NOT NULL AS ticked;
SELECT results_eq(format($$SELECT at, amount FROM gpubill.transfer WHERE kind = 'voucher_expiry' AND customer_id = %s ORDER BY at$$, :v),
	$$VALUES ('2026-11-05 00:00+08'::timestamptz, '1.70 CNY'::gpubill.amount), ('2026-11-06 00:00+08', '7.60 CNY')$$,
	'the next voucher paid the 24 hours from the first expiry; 7.60 of it is written off (a voucher is not usable at its expiry)');
SELECT results_eq(format($$SELECT vouchers, cash FROM gpubill.wallet(%s)$$, :v),
	$$VALUES ('9.90 CNY'::gpubill.amount, '100.00 CNY'::gpubill.amount)$$, 'then the voucher without expiry pays; cash untouched');
SELECT is((SELECT sum(amount) FROM transfer WHERE kind = 'voucher_expiry' AND customer_id = :v),
		  (SELECT sum(amount) FROM transfers t JOIN accounts a ON a.account_id = t.credit_account WHERE a.purpose = 'voucher_breakage'
		   AND t.kind = 'voucher_expiry'), 'breakage is credited to the platform''s voucher breakage');
SELECT is((SELECT vouchers_paid FROM (SELECT sum(voucher_paid) AS vouchers_paid FROM order_line WHERE instance_id = :iv) x),
		  '3.80 CNY'::amount, 'order lines record the voucher part: 1.30 + 2.40 + 0.10');

SELECT open_customer('cust-idle', 'CNY', '2026-10-01') AS idle \gset
SELECT grant_voucher(:idle, '5.00 CNY', '2026-11-07 08:00+08', '2026-11-01') IS NOT NULL AS granted;
SELECT is(tick('2026-11-07 08:00+08')->>'vouchers_expired', '1', 'tick writes off vouchers of customers without instances');

-- R-BI-2: instance_usage per hour agrees with the order lines
SELECT is((SELECT count(*) FROM instance_usage WHERE instance = :iv), (SELECT count(*) FROM order_line WHERE instance_id = :iv), 'one usage row per hour of the instance');
SELECT is((SELECT sum(charged) FROM instance_usage WHERE instance = :iv), (SELECT sum(charge) FROM order_line WHERE instance_id = :iv),
		  'instance_usage sums to the order lines');

-- R-RCH-5: SubModel credits are a USD account, 1 credit = 1.00 USD
SELECT open_partner('cust-usd-owner', 'USD', '2026-10-01') AS usd_owner \gset
SELECT list_machine(:usd_owner, 2, '0.50 USD', '2027-12-01', at => '2026-10-01') AS m_usd \gset
SELECT open_customer('cust-credits', 'USD', '2026-10-01') AS cu \gset
SELECT recharge(:cu, '20.00 USD', 'stripe', 'cust-cu-1', '2026-11-01') IS NOT NULL AS funded;
SELECT create_instance(:cu, :m_usd, 1, at => '2026-11-01 10:00+08') AS iu \gset
SELECT tick('2026-11-01 11:00+08') IS NOT NULL AS ticked;
SELECT is((SELECT cash FROM wallet(:cu)), '19.50 USD'::amount, 'credits are spent as US dollars');
SELECT throws_ok(format($$SELECT gpubill.create_instance(%s, %s, 1, at => '2026-11-01 12:00+08')$$, :cu, :m), 'GB003', NULL,
				 'a USD customer on a CNY machine raises GB003');
SELECT throws_ok(format($$SELECT gpubill.recharge(%s, '5.00 CNY', 'stripe', 'cust-cu-2', '2026-11-01')$$, :cu), 'GB003', NULL,
				 'CNY into a USD account raises GB003');

-- R-ALR-1: balance_low when 72 h of running instances cost more than available; closed when funded
SELECT open_customer('cust-low', 'CNY', '2026-10-01') AS low \gset
SELECT recharge(:low, '50.00 CNY', 'wechat', 'cust-low-1', '2026-11-01') IS NOT NULL AS funded;
SELECT create_instance(:low, :m_cash, 1, at => '2026-11-01 10:00+08') AS il \gset
SELECT tick('2026-11-01 11:00+08') IS NOT NULL AS ticked;
SELECT results_eq(format($$SELECT kind, payload->>'need', payload->>'available' FROM gpubill.open_alerts WHERE customer = %s$$, :low),
	$$VALUES ('balance_low', '72.00 CNY', '48.00 CNY')$$, '72 h at 1.00 exceed the 48.00 available');
SELECT tick('2026-11-01 12:00+08') IS NOT NULL AS ticked;
SELECT is((SELECT count(*) FROM alert WHERE customer_id = :low), 1::bigint, 'one alert while it lasts');
SELECT recharge(:low, '100.00 CNY', 'wechat', 'cust-low-2', '2026-11-01 12:30+08') IS NOT NULL AS funded;
SELECT tick('2026-11-01 13:00+08') IS NOT NULL AS ticked;
SELECT is((SELECT count(*) FROM open_alerts WHERE customer = :low), 0::bigint, 'closed once funds cover 72 h');

-- R-REF-1, R-REF-2: refundable = recharges - used - invoiced; out newest recharge first; the rest forfeited
SELECT open_customer('cust-r', 'CNY', '2026-10-01') AS r \gset
SELECT throws_ok(format($$SELECT gpubill.request_refund(%s, '2026-11-01')$$, :r), 'GB004', NULL, 'never recharged: GB004');
SELECT recharge(:r, '100.00 CNY', 'wechat', 'cust-r-1', '2026-11-01 07:00+08') IS NOT NULL AS funded;
SELECT recharge(:r, '50.00 CNY', 'alipay', 'cust-r-2', '2026-11-02 09:00+08') IS NOT NULL AS funded;
SELECT grant_voucher(:r, '20.00 CNY', NULL, '2026-11-02 09:00+08') IS NOT NULL AS granted;
SELECT create_instance(:r, :m_cash, 1, at => '2026-11-03 00:00+08') AS ir \gset
SELECT throws_ok(format($$SELECT gpubill.request_refund(%s, '2026-11-03 01:00+08')$$, :r), 'GB004', NULL, 'with a running instance: GB004');
SELECT stop_instance(:ir, '2026-11-04 06:00+08');
SELECT record_invoice(:r, '10.00 CNY', '2026-11-05') IS NOT NULL AS invoiced;
SELECT request_refund(:r, '2026-11-06 10:00+08', 'refund-r-1') AS rf \gset
SELECT results_eq(format($$SELECT amount, forfeited_cash, forfeited_vouchers, due_at FROM gpubill.refund WHERE refund_id = %s$$, :rf),
	$$VALUES ('110.00 CNY'::gpubill.amount, '10.00 CNY'::gpubill.amount, '20.00 CNY'::gpubill.amount, '2026-11-17 10:00+08'::timestamptz)$$,
	'150 recharged - 30 used - 10 invoiced = 110 refunded; 10 cash and 20 vouchers forfeited; due 7 working days later (Fri -> Tue)');
SELECT results_eq(format($$SELECT channel, amount FROM gpubill.refund_part WHERE refund_id = %s ORDER BY amount$$, :rf),
	$$VALUES ('alipay', '50.00 CNY'::gpubill.amount), ('wechat', '60.00 CNY')$$, 'newest recharge first: 50 by Alipay, 60 by WeChat');
SELECT results_eq(format($$SELECT cash, vouchers FROM gpubill.wallet(%s)$$, :r),
	$$VALUES ('0.00 CNY'::gpubill.amount, '0.00 CNY'::gpubill.amount)$$, 'the account is emptied');
SELECT results_eq(format($$SELECT kind, due_at FROM gpubill.lifecycle_events WHERE subject_type = 'refund' AND subject_id = %s ORDER BY due_at$$, :rf),
	$$VALUES ('personal_data_erase_due', '2026-11-06 10:00+08'::timestamptz), ('payout_due', '2026-11-17 10:00+08')$$,
	'personal data erasure raised; payout due');
SELECT is(request_refund(:r, '2026-11-06 10:00+08', 'refund-r-1'), :rf::bigint, 'the same request id returns the same refund');
-- R-REF-2: consumption beyond the recharges: no refund, and the balance stays usable
SELECT open_customer('cust-spender', 'CNY', '2026-10-01') AS sp \gset
SELECT recharge(:sp, '10.00 CNY', 'wechat', 'cust-sp-1', '2026-11-01') IS NOT NULL AS funded;
SELECT grant_voucher(:sp, '20.00 CNY', NULL, '2026-11-01') IS NOT NULL AS granted;
SELECT * FROM capture_hold(place_hold(:sp, '15.00 CNY', at => '2026-11-02'), '15.00 CNY', :owner, '2026-11-02');
SELECT throws_ok(format($$SELECT gpubill.request_refund(%s, '2026-11-03')$$, :sp), 'GB001', NULL,
				 'used 15 of 10 recharged: nothing is refundable, GB001');
SELECT results_eq(format($$SELECT cash, vouchers FROM gpubill.wallet(%s)$$, :sp),
	$$VALUES ('10.00 CNY'::gpubill.amount, '5.00 CNY'::gpubill.amount)$$, 'and nothing changes: cash and vouchers stay');
SELECT lives_ok(format($$SELECT gpubill.place_hold(%s, '14 CNY', at => '2026-11-04')$$, :sp), 'the balance is still usable');

-- R-BI-1, R-BI-2: every view says what a row is, is readable by gpubill_reader, and months are billing-time-zone months
SELECT is((SELECT count(*) FROM pg_class c WHERE c.relnamespace = 'gpubill'::regnamespace AND c.relkind = 'v'
		   AND obj_description(c.oid, 'pg_class') IS NULL), 0::bigint, 'every view has a COMMENT');
SELECT is((SELECT count(*) FROM pg_class c WHERE c.relnamespace = 'gpubill'::regnamespace AND c.relkind = 'v'
		   AND NOT has_table_privilege('gpubill_reader', c.oid, 'SELECT')), 0::bigint,
		  'gpubill_reader may read every view');
SET LOCAL TimeZone = 'UTC';
SELECT is((SELECT array_agg(month) FROM customer_statement WHERE customer = :r), ARRAY['2026-11-01'::date],
		  'a recharge at 07:00+08 on Nov 1 (Oct 31 UTC) counts in November of the billing time zone, whatever the session''s');
SELECT results_eq($$SELECT count(*) FROM gpubill.verify() WHERE NOT ok$$, $$VALUES (0::bigint)$$, 'verify() is all ok');
SELECT * FROM finish();
ROLLBACK;
