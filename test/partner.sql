-- pgTAP: partner deposits, withdrawable income and monthly withdrawals
-- R-PRT-2 R-PRT-4 R-PRT-3 R-PRT-7 R-RAT-3 R-LED-7
BEGIN;
SET LOCAL search_path = gpubill, public;
SET LOCAL TimeZone = 'Asia/Shanghai';
SELECT plan(30);

SELECT set_setting('machine_deposit', '5.00');
SELECT open_partner('prt-owner', 'CNY', '2026-10-01') AS p \gset
-- R-PRT-2: the deposit moves at listing from income (which may go below zero) to the deposit account
SELECT list_machine(:p, 4, '10.00 CNY', '2027-12-01', at => '2026-10-01 12:00+08') AS m \gset
SELECT results_eq(format($$SELECT kind, amount, debit_purpose, credit_purpose, object_type, object_id FROM gpubill.transfers WHERE partner_id = %s$$, :p),
	format($$VALUES ('deposit', '5.00 CNY'::gpubill.amount, 'income', 'deposit', 'machine', %s::bigint)$$, :m),
	'listing moves the deposit from the partner''s income to its deposit account');
SELECT results_eq(format($$SELECT purpose, balance FROM gpubill.accounts WHERE owner_kind = 'partner' AND owner_id = %s ORDER BY purpose$$, :p),
	$$VALUES ('deposit', '5.00 CNY'::gpubill.amount), ('income', '-5.00 CNY')$$, 'income goes below zero: it covers the deposit first');

SELECT open_customer('prt-c', 'CNY', '2026-10-01') AS c \gset
SELECT recharge(:c, '1000.00 CNY', 'wechat', 'prt-c-1', '2026-10-01') IS NOT NULL AS funded;
SELECT create_instance(:c, :m, 1, at => '2026-10-31 22:00+08') AS i \gset
SELECT tick('2026-11-01 02:00+08') IS NOT NULL AS ticked;
SELECT stop_instance(:i, '2026-11-01 02:00+08');
-- 4 hours at 10.00: income 8.00 each; the one settled at 23:00 on Oct 31 is October's
SELECT is(withdrawable(:p, '2026-10-31 23:30+08'), '0.00 CNY'::amount, 'nothing earned before October: withdrawable is 0, not negative');
SELECT is(withdrawable(:p, '2026-11-15 10:00+08'), '3.00 CNY'::amount, 'in November: October''s 8.00 income less the 5.00 deposit');
SELECT is(withdrawable(:p, '2026-11-30 23:59:59+08'), '3.00 CNY'::amount, 'November''s income is not withdrawable in November');
SELECT is(withdrawable(:p, '2026-12-01 00:00+08'), '27.00 CNY'::amount, 'from 00:00 on Dec 1 (billing time zone) it is');

-- R-PRT-4: at most one withdrawal per calendar month, never above withdrawable, payout due in 5 working days
SELECT throws_ok(format($$SELECT gpubill.request_withdrawal(%s, '3.01 CNY', '2026-11-15 10:00+08')$$, :p), 'GB001', NULL,
				 'more than withdrawable raises GB001');
SELECT request_withdrawal(:p, '3.00 CNY', '2026-11-15 10:00+08', 'wd-1') AS w1 \gset
SELECT results_eq(format($$SELECT kind, due_at FROM gpubill.lifecycle_events WHERE subject_type = 'withdrawal' AND subject_id = %s$$, :w1),
	$$VALUES ('payout_due', '2026-11-20 10:00+08'::timestamptz)$$, 'payout due 5 working days later (Sunday -> Friday)');
SELECT is(request_withdrawal(:p, '3.00 CNY', '2026-11-15 10:00+08', 'wd-1'), :w1::bigint, 'a repeated request id returns the same withdrawal');
SELECT throws_ok(format($$SELECT gpubill.request_withdrawal(%s, '0.01 CNY', '2026-11-30 23:00+08')$$, :p), 'GB002', NULL,
				 'a second withdrawal in the month raises GB002');
SELECT is(withdrawable(:p, '2026-12-02 10:00+08'), '24.00 CNY'::amount, 'withdrawn amounts are deducted');
SELECT throws_ok(format($$SELECT gpubill.request_withdrawal(%s, '24.01 CNY', '2026-12-02 10:00+08')$$, :p), 'GB001', NULL,
				 'December: above withdrawable raises GB001');
SELECT lives_ok(format($$SELECT gpubill.request_withdrawal(%s, '24.00 CNY', '2026-12-02 10:00+08')$$, :p), 'December: the rest');
SELECT is(withdrawable(:p, '2026-12-02 10:00+08'), '0.00 CNY'::amount, 'nothing left');
-- bad input
SELECT throws_ok($$SELECT gpubill.request_withdrawal(-1, '1.00 CNY')$$, 'P0002', NULL, 'an unknown partner raises P0002');
SELECT throws_ok(format($$SELECT gpubill.request_withdrawal(%s, '1.00 USD', '2027-01-02 10:00+08')$$, :p), 'GB003', NULL,
				 'a withdrawal in another currency raises GB003');
SELECT throws_ok(format($$SELECT gpubill.request_withdrawal(%s, '0 CNY', '2027-01-02 10:00+08')$$, :p), '22023', NULL,
				 'a zero withdrawal raises 22023');

-- R-PRT-7, R-RAT-3: ratings start at 3.5 and change within daily caps (days of the billing time zone)
SELECT open_partner('prt-rated', 'CNY', '2026-10-01') AS pr \gset
SELECT list_machine(:pr, 2, '3.00 CNY', '2027-12-01', at => '2026-10-01') AS mr \gset
SELECT is(partner_rating(:pr), '3.5'::rating, 'a new partner is rated 3.500');
SELECT is(rate_partner(:pr, 800, 'great month', '2026-11-02 10:00+08'), '4.0'::rating, '+800 points on a day: capped at +500');
SELECT is(rate_partner(:pr, 100, 'more praise', '2026-11-02 23:59+08'), '4.0'::rating, 'the day''s gain cap is used up');
SELECT is(rate_partner(:pr, 100, 'next day', '2026-11-03 00:00+08'), '4.1'::rating, 'a new day (billing time zone) has its own cap');
SELECT is(partner_level(:pr), 'gold', 'the level follows the rating (default levels)');
INSERT INTO partner_level VALUES ('newcomer', '0'), ('trusted', '4.1');
SELECT is(partner_level(:pr), 'trusted', 'an operator''s rows in partner_level replace the defaults');
SELECT is(rate_partner(:pr, -4000, 'outages', '2026-11-04 10:00+08'), '1.1'::rating, '-4000 points on a day: capped at -3000');
SELECT is(rate_partner(:pr, -500, 'more outages', '2026-11-04 11:00+08'), '1.1'::rating, 'the day''s loss cap is used up');
SELECT results_eq(format($$SELECT points, applied FROM gpubill.rating_event WHERE partner_id = %s ORDER BY at$$, :pr),
	$$VALUES (800, 500), (100, 0), (100, 100), (-4000, -3000), (-500, 0)$$, 'every change is recorded with what was applied');
-- at 0: qualification terminated, machines offline, no new listing (GB006), no new rental
SELECT is(rate_partner(:pr, -2000, 'fraud', '2026-11-05 10:00+08'), '0'::rating, 'down to 0');
SELECT results_eq(format($$SELECT p.qualification, m.state FROM gpubill.partner p JOIN gpubill.machine m USING (partner_id) WHERE p.partner_id = %s$$, :pr),
	$$VALUES ('terminated', 'offline')$$, 'at 0 the qualification is terminated and every machine is offline');
SELECT throws_ok(format($$SELECT gpubill.list_machine(%s, 1, '1.00 CNY', '2027-12-01', at => '2026-11-06')$$, :pr), 'GB006', NULL,
				 'a terminated partner cannot list (GB006)');

SELECT results_eq($$SELECT count(*) FROM gpubill.verify() WHERE NOT ok$$, $$VALUES (0::bigint)$$, 'verify() is all ok');
SELECT * FROM finish();
ROLLBACK;
