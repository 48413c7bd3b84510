-- Period close (issue 14): a year of billing (2026) generated through the API,
-- then months closed; every statement view gives the same rows as before the
-- close and as the journal alone (R-BI-2); a closed month is never written
-- again (GB004, and its partitions refuse inserts); closing is idempotent and
-- waits for tick and for failing customers; tick closes the month before last
-- only on the clock; verify() stays all ok (R-LED-3, R-LED-4).
BEGIN;
SELECT plan(52);
SET search_path = gpubill, public;
SET TimeZone = 'UTC';
SELECT set_setting('channel_bonus_rate.alipay', '0.05');

-- the journal alone: the views as they were before roll-ups (every month from the journal)
CREATE TEMP VIEW journal_customer_statement AS
SELECT s.customer, s.month, s.recharged, s.vouchers_granted, s.charged, s.refunded,
	   sum(s.cash_change) OVER (PARTITION BY s.customer ORDER BY s.month) AS closing_cash
FROM customer_movements('-infinity', 'infinity') s;
CREATE TEMP VIEW journal_partner_statement AS
SELECT s.partner, s.month, s.gross, s.fees, s.voucher_paid, s.income, s.deposits, s.compensation, s.withdrawn,
	   GREATEST(sum(s.change) OVER (PARTITION BY s.partner ORDER BY s.month), zero(currency(s.change))) AS withdrawable
FROM partner_movements('-infinity', 'infinity') s;
CREATE TEMP VIEW journal_platform_revenue AS SELECT * FROM platform_days('-infinity', 'infinity');
CREATE TEMP VIEW journal_instance_usage AS SELECT * FROM instance_hours('-infinity', 'infinity');
-- a view and its journal-only form give the same rows (both ways)
CREATE FUNCTION pg_temp.same(v text, j text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
	EXECUTE format('SELECT count(*) FROM ((SELECT * FROM %s EXCEPT ALL SELECT * FROM %s) UNION ALL (SELECT * FROM %s EXCEPT ALL SELECT * FROM %s)) d',
				   v, j, j, v) INTO n;
	RETURN n = 0;
END $$;

-- a year: each month a recharge (a bonus voucher in some), an instance run for a few hours and
-- stopped, storage, a tick at the month's start; a deposit, an outage, a withdrawal, a reversal
SELECT add_journal_months('2026-01-01 00:00+08', 12) AS partitions_ahead;	-- the year's months partitioned
SELECT open_partner('cl-owner', 'CNY', '2025-12-31 00:00+08') AS owner \gset
SELECT list_machine(:owner, 8, '3.00 CNY', '2030-01-01', at => '2026-01-01 00:00+08') AS m \gset
SELECT open_customer('cl-' || i, 'CNY', '2025-12-31 00:00+08') FROM generate_series(1, 3) i;
SELECT set_storage(customer_id, 'disk', 80, '2026-01-02 00:00+08') FROM customer WHERE external_ref = 'cl-1';
SELECT count(*) FROM (
	SELECT recharge(c.customer_id, amount(100 + 10 * k, 'CNY'), CASE WHEN k % 2 = 0 THEN 'alipay' ELSE 'wechat' END,
					format('cl-%s-%s', c.customer_id, k), make_timestamptz(2026, k, 3, 9, 0, 0, 'Asia/Shanghai'))
	FROM customer c CROSS JOIN generate_series(1, 12) k ORDER BY k, c.customer_id) x;
CREATE TEMP TABLE runs AS
SELECT c.customer_id, k, make_timestamptz(2026, k, 10, 10, 0, 0, 'Asia/Shanghai') AS started
FROM customer c CROSS JOIN generate_series(1, 12) k;
DO $$
DECLARE r record; i bigint;
BEGIN
	FOR r IN SELECT * FROM runs ORDER BY k, customer_id LOOP
		PERFORM gpubill.tick(date_trunc('month', r.started AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai');
		i := gpubill.create_instance(r.customer_id, (SELECT machine_id FROM gpubill.machine), 1, at => r.started);
		PERFORM gpubill.tick(r.started + interval '3 hours');
		PERFORM gpubill.stop_instance(i, r.started + interval '3 hours 20 minutes');
	END LOOP;
END $$;
-- an exchange contract paid in March: its provider's wallet (R-EXC-4)
SELECT open_provider('cl-prov', 'CNY', '2025-12-31 00:00+08') AS pv \gset
SELECT open_customer('cl-buyer', 'CNY', '2025-12-31 00:00+08') AS buyer \gset
SELECT set_approved(:buyer, true);
SELECT create_contract(:buyer, :pv, 1, '1.00 CNY', '[2026-03-10 00:00+08, 2026-03-20 00:00+08)', '2026-03-01 10:00+08') AS ct \gset
SELECT pay_contract(:ct, '240.00 CNY', 'cl-wire', '2026-03-02 10:00+08') IS NOT NULL AS paid;
SELECT report_outage(:m, '2026-06-10 10:30+08', '2026-06-10 11:00+08', false, '2026-06-10 12:00+08');
SELECT tick('2026-12-20 00:00+08') IS NOT NULL AS december;
SELECT request_withdrawal(:owner, '1.00 CNY', '2026-12-20 00:00+08');
SELECT reverse_transfer((SELECT min(transfer_id) FROM transfer WHERE kind = 'fee'), 'fee charged in error', '2026-12-20 01:00+08');
SELECT reverse_transfer((SELECT min(transfer_id) FROM transfer WHERE kind = 'recharge'), 'chargeback', '2026-12-20 02:00+08');
SELECT tick('2027-01-01 00:00+08') IS NOT NULL AS year_end;

SELECT cmp_ok((SELECT count(DISTINCT month) FROM customer_statement), '>=', 12::bigint, 'a year of statements');
CREATE TEMP TABLE before_cs AS SELECT * FROM customer_statement;
CREATE TEMP TABLE before_ps AS SELECT * FROM partner_statement;
CREATE TEMP TABLE before_pr AS SELECT * FROM platform_revenue;
CREATE TEMP TABLE before_iu AS SELECT * FROM instance_usage;
CREATE TEMP TABLE before_pm AS SELECT * FROM partner_money(:owner, '2026-12-21 00:00+08');
CREATE TEMP TABLE before_pw AS SELECT * FROM provider_wallet(:pv);
CREATE TEMP TABLE before_rf AS SELECT w.customer_id, refundable(w) AS refundable FROM wallet w;
SELECT ok(pg_temp.same('customer_statement', 'journal_customer_statement'), 'before any close: customer_statement is the journal''s');

-- who and when
SELECT throws_ok($$SET LOCAL ROLE gpubill_app; SELECT gpubill.close_period('2026-01-01', '2027-01-02')$$, '42501', NULL,
				 'close_period is for gpubill_admin');
RESET ROLE;
SELECT throws_ok($$SELECT gpubill.close_period(NULL, '2027-01-02')$$, '22023', NULL, 'a month must be given');
SELECT throws_ok($$SELECT gpubill.close_period('2027-01-01', '2027-01-20')$$, 'GB004',
				 'the billing month 2027-01 cannot be closed: the month 2027-01 is not over at 2027-01-20 00:00:00+00',
				 'a month not over does not close (the months before it do not either: one transaction)');
SELECT is((SELECT count(*) FROM closed_month), 0::bigint, 'nothing was closed');
SELECT throws_ok($$SELECT gpubill.close_period('2027-01-01', '2027-03-01')$$, 'GB004',
				 'the billing month 2027-01 cannot be closed: tick has not run past the end of 2027-01',
				 'nor a month tick has not run past');

-- close January to November
SELECT is(close_period('2026-11-15', '2027-01-02'), 11, 'close_period closes every month up to the one given, in order');
SELECT is(ARRAY(SELECT to_char(month, 'YYYY-MM') FROM closed_month ORDER BY month),
		  ARRAY(SELECT to_char(d, 'YYYY-MM') FROM generate_series('2026-01-01'::date, '2026-11-01', '1 month') d),
		  'January to November are closed');
SELECT is(closed_until(), '2026-11-30 16:00+00'::timestamptz, 'the journal is closed up to December (billing time zone)');
SELECT is(close_period('2026-11-01', '2027-01-02'), 0, 'closing again closes nothing');
SELECT throws_ok($$SELECT gpubill.set_setting('billing_timezone', 'Europe/Berlin')$$, 'GB004',
				 'billing_timezone cannot change once a billing month is closed', 'the billing time zone is fixed once a month is closed');
SELECT lives_ok($$SELECT gpubill.set_setting('billing_timezone', 'Asia/Shanghai')$$, 'setting it to its value is no change');
SELECT lives_ok($$SELECT gpubill.set_setting('billing_timezone', 'Asia/Chongqing')$$,
				'nor to a zone that gives every closed month the same bounds');

-- the views: the same rows as before, and as the journal alone
SELECT ok(pg_temp.same('customer_statement', 'before_cs'), 'customer_statement: the same rows as before the close');
SELECT ok(pg_temp.same('partner_statement', 'before_ps'), 'partner_statement: the same rows');
SELECT ok(pg_temp.same('platform_revenue', 'before_pr'), 'platform_revenue: the same rows');
SELECT ok(pg_temp.same('instance_usage', 'before_iu'), 'instance_usage: the same rows');
SELECT results_eq($$SELECT * FROM gpubill.partner_money($$ || :owner || $$, '2026-12-21 00:00+08')$$,
				  'SELECT * FROM before_pm', 'a partner''s money (withdrawable) is the same, its closed months from their roll-up (R-PRT-2)');
SELECT results_eq($$SELECT * FROM gpubill.provider_wallet($$ || :pv || $$)$$, 'SELECT * FROM before_pw',
				  'a provider''s wallet is the same, its closed months from their roll-up (R-EXC-4)');
SELECT results_eq('SELECT w.customer_id, gpubill.refundable(w) FROM gpubill.wallet w ORDER BY 1',
				  'SELECT * FROM before_rf ORDER BY 1', 'what each customer may have refunded is the same (R-REF-1)');
SELECT is((SELECT count(*) FROM customer_month), (SELECT count(*) FROM before_cs WHERE month < '2026-12-01'),
		  'the closed months'' statements are read from their roll-up');

-- a closed month is never written again
SELECT customer_id AS c1 FROM customer WHERE external_ref = 'cl-1' \gset
CREATE TEMP TABLE before_x AS SELECT count(*) AS transfers, (SELECT count(*) FROM hold) AS holds FROM transfer;
SELECT throws_ok(format($$SELECT gpubill.recharge(%s, '5 CNY', 'wechat', 'cl-late', '2026-11-20 00:00+08')$$, :c1), 'GB004',
				 'the billing month of 2026-11-19 16:00:00+00 is closed', 'a recharge dated in a closed month is refused');
SELECT throws_ok(format($$SELECT gpubill.place_hold(%s, '1 CNY', false, NULL, NULL, NULL, '2026-06-01 00:00+08')$$, :c1), 'GB004',
				 NULL, 'so is a hold');
SELECT throws_ok($$INSERT INTO gpubill.transfer_2026_06 SELECT * FROM gpubill.transfer_2026_06 LIMIT 1$$, '23514', NULL,
				 'a closed month''s partition refuses a row written behind the API');
SELECT results_eq($$SELECT count(*), (SELECT count(*) FROM gpubill.hold) FROM gpubill.transfer$$,
				  $$SELECT transfers, holds FROM before_x$$, 'nothing was written');
SELECT lives_ok(format($$SELECT gpubill.reverse_transfer(%s, 'late correction', '2026-12-21 00:00+08')$$,
					   (SELECT max(transfer_id) FROM transfer WHERE kind = 'fee' AND at < '2026-11-30 16:00+00')),
				'a late correction of a closed month''s transfer is a transfer of an open month');

-- December stays open: new activity shows from the journal, the closed months from the roll-ups
SELECT recharge(:c1, '7 CNY', 'wechat', 'cl-dec', '2026-12-22 00:00+08');
SELECT ok(pg_temp.same('customer_statement', 'journal_customer_statement'), 'customer_statement is still the journal''s');
SELECT ok(pg_temp.same('partner_statement', 'journal_partner_statement'), 'so is partner_statement');
SELECT ok(pg_temp.same('platform_revenue', 'journal_platform_revenue'), 'and platform_revenue');
SELECT ok(pg_temp.same('(SELECT instance, customer, hour, seconds, charged, voucher_paid, cash_paid FROM instance_usage) v',
					   '(SELECT instance, customer, hour, sum(seconds)::bigint, sum(charged), sum(voucher_paid), sum(cash_paid) FROM journal_instance_usage GROUP BY 1, 2, 3) j'),
	   'and instance_usage');
SELECT is(ARRAY(SELECT check_name FROM verify() WHERE NOT ok), '{}'::text[], 'verify() is all ok');

-- a failing customer's work keeps its months open
INSERT INTO tick_failure (customer_id, job, at, sqlstate, message) VALUES (:c1, 'customer', '2026-12-31', 'XX000', 'test');
SELECT throws_ok($$SELECT gpubill.close_period('2026-12-01', '2027-02-02')$$, 'GB004',
				 'the billing month 2026-12 cannot be closed: a customer''s work is failing (tick_failures): it may still settle in the month',
				 'a month does not close while a customer''s work is failing');
UPDATE tick_failure SET closed_at = '2027-02-01' WHERE customer_id = :c1;
SELECT is(close_period('2026-12-01', '2027-02-02'), 1, 'December closes once it is not');

SELECT is((SELECT count(*) FROM closed_month WHERE month = '2027-01-01'), 0::bigint,
		  'a tick given its time (a simulation) closes nothing itself (test/close_clock.sql: on the clock it does)');

SELECT is(ARRAY(SELECT check_name FROM verify(full => true) WHERE NOT ok), '{}'::text[],
		  'verify(full => true): the whole journal, the roll-ups recomputed from it, is all ok');

-- archiving: January's partitions detached, its roll-ups kept; the journal is read after it
SELECT throws_ok($$SET LOCAL ROLE gpubill_app; SELECT gpubill.archive_month('2026-01-01', '2027-02-02')$$, '42501', NULL,
				 'archive_month is for gpubill_admin');
RESET ROLE;
SELECT throws_ok($$SELECT gpubill.archive_month('2027-01-01', '2027-02-02')$$, 'GB004',
				 'the billing month 2027-01 cannot be archived: it is not closed', 'an open month is not archived');
SELECT throws_ok($$SELECT gpubill.archive_month(NULL, '2027-02-02')$$, '22023', NULL, 'a month must be given');
CREATE TEMP TABLE jan AS SELECT transfer_id FROM transfer WHERE at < '2026-01-31 16:00+00';
CREATE TEMP TABLE pre_cs AS SELECT * FROM customer_statement;
CREATE TEMP TABLE pre_ps AS SELECT * FROM partner_statement;
CREATE TEMP TABLE pre_pr AS SELECT * FROM platform_revenue;
CREATE TEMP TABLE pre_iu AS SELECT * FROM instance_usage;
SET LOCAL ROLE gpubill_admin;
SELECT is(archive_month('2026-01-20', '2027-02-02'), 1, 'gpubill_admin archives January');
RESET ROLE;
SELECT is(archive_month('2026-01-01', '2027-02-02'), 0, 'once');
SELECT is((SELECT partitions FROM archived_month WHERE month = '2026-01-01'), ARRAY['gpubill.order_line_2026_01', 'gpubill.transfer_2026_01'],
		  'its partitions are recorded, detached');
SELECT ok(NOT EXISTS (SELECT FROM pg_inherits WHERE inhrelid = 'gpubill.transfer_2026_01'::regclass)
		  AND (SELECT count(*) FROM transfer_2026_01) = (SELECT count(*) FROM jan), 'January is a table apart, with its rows, to be dumped and dropped');
SELECT is((SELECT count(*) FROM transfer t JOIN jan USING (transfer_id)), 0::bigint, 'the journal no longer has January');
SELECT is(ARRAY(SELECT check_name FROM verify(full => true) WHERE NOT ok), '{}'::text[],
		  'verify(full => true) starts after January, from its roll-ups (a reversal of January''s fee and recharge in December included)');
SELECT ok(pg_temp.same('customer_statement', 'pre_cs') AND pg_temp.same('partner_statement', 'pre_ps')
		  AND pg_temp.same('platform_revenue', 'pre_pr') AND pg_temp.same('instance_usage', 'pre_iu'),
		  'the statement views are unchanged');
SELECT throws_ok(format($$SELECT gpubill.reverse_transfer(%s, 'too late', '2027-01-10 00:00+08')$$, (SELECT max(transfer_id) FROM jan)),
				 'P0002', NULL, 'an archived transfer cannot be reversed: it is not in the database');

-- verify() reads the closed months' roll-ups against their digests; verify(full => true) the journal
-- (and the hours of use, as many as the order lines, which verify() leaves to it)
ALTER TABLE instance_hour DISABLE TRIGGER USER;
UPDATE instance_hour SET seconds = seconds + 1
WHERE (month, instance_id, hour) = (SELECT month, instance_id, hour FROM instance_hour WHERE month = '2026-02-01' LIMIT 1);
SELECT is(ARRAY(SELECT check_name FROM verify() WHERE NOT ok), '{}'::text[], 'an hour of use changed: verify() does not read them');
SELECT is(ARRAY(SELECT check_name FROM verify(full => true) WHERE NOT ok ORDER BY 1),
		  ARRAY['closed months'' roll-ups match their digests', 'closed months'' statements equal the journal'],
		  'verify(full => true) does');
ALTER TABLE customer_month DISABLE TRIGGER USER;
UPDATE customer_month SET charged = charged + '0.01 CNY' WHERE month = '2026-03-01' AND customer_id = :c1;
SELECT is(ARRAY(SELECT check_name FROM verify() WHERE NOT ok), ARRAY['closed months'' roll-ups match their digests'],
		  'a roll-up changed behind the triggers'' back: verify() finds it by its month''s digest');
SELECT is(ARRAY(SELECT check_name FROM verify(full => true) WHERE NOT ok ORDER BY 1),
		  ARRAY['closed months'' roll-ups match their digests', 'closed months'' statements equal the journal'],
		  'verify(full => true) finds it against the journal too');
ALTER TABLE transfer_2026_04 DISABLE TRIGGER USER, DROP CONSTRAINT month_closed;
UPDATE transfer_2026_04 SET amount = amount + '1 CNY' WHERE kind = 'recharge' AND customer_id = :c1;
SELECT ok((SELECT NOT ok FROM verify(full => true) WHERE check_name = 'closed months'' closing balances equal the journal'),
		  'a closed month''s transfer changed behind the triggers'' back: verify(full => true) finds it');

SELECT * FROM finish();
ROLLBACK;
