-- pgTAP: machine lifecycle, outages and compensation, deposit refunds, partner and platform views
-- R-PRT-5 R-PRT-6 R-PRT-7 R-PRT-8 R-PRT-2 R-PRT-3 R-BI-1 R-BI-2 R-CLK-1
BEGIN;
SET LOCAL search_path = gpubill, public;
SET LOCAL TimeZone = 'Asia/Shanghai';
SELECT plan(76);

SELECT set_setting('machine_deposit', '100.00');

-- R-PRT-8: more than 3 unnotified outages starting in one calendar month revoke the qualification
SELECT open_partner('mx-flaky', 'CNY', '2026-10-01') AS p2 \gset
SELECT list_machine(:p2, 2, '5.00 CNY', '2027-12-01', at => '2026-10-01') AS m2 \gset
SELECT report_outage(:m2, '2026-10-03 01:00+08', '2026-10-03 01:10+08', false, '2026-10-03 02:00+08') IS NOT NULL AS reported;
SELECT report_outage(:m2, '2026-10-04 01:00+08', '2026-10-04 01:10+08', false, '2026-10-04 02:00+08') IS NOT NULL AS reported;
SELECT report_outage(:m2, '2026-10-05 01:00+08', '2026-10-05 01:10+08', false, '2026-10-05 02:00+08') IS NOT NULL AS reported;
SELECT report_outage(:m2, '2026-10-20 01:00+08', '2026-10-20 05:00+08', true, '2026-10-06 02:00+08') AS maint \gset
SELECT report_outage(:m2, '2026-11-01 00:10+08', '2026-11-01 00:20+08', false, '2026-11-01 01:00+08') IS NOT NULL AS reported;
SELECT is((SELECT qualification FROM partner WHERE partner_id = :p2), 'qualified',
		  'three unnotified outages in October, maintenance announced in advance and one in November: still qualified');
SELECT is((SELECT kind FROM outage WHERE outage_id = :maint), 'maintenance', 'a notified outage is maintenance');
SELECT report_outage(:m2, '2026-10-31 23:50+08', '2026-11-01 00:05+08', false, '2026-11-01 01:00+08') IS NOT NULL AS reported;
SELECT results_eq(format($$SELECT p.qualification, m.state FROM gpubill.partner p JOIN gpubill.machine m USING (partner_id) WHERE p.partner_id = %s$$, :p2),
	$$VALUES ('revoked', 'delisted')$$,
	'a fourth starting 23:50 on Oct 31 (billing time zone) revokes the qualification; its machine takes no new rentals');
SELECT throws_ok(format($$SELECT gpubill.list_machine(%s, 1, '1.00 CNY', '2027-12-01', at => '2026-11-02')$$, :p2), 'GB006', NULL,
				 'a revoked partner cannot list (GB006)');

-- R-PRT-7: at rating 0 every machine goes offline by force: running instances stop, customers compensated
SELECT open_partner('mx-rated', 'CNY', '2026-10-01') AS p4 \gset
SELECT list_machine(:p4, 2, '5.00 CNY', '2027-12-01', at => '2026-10-01') AS m4 \gset
SELECT open_customer('mx-e', 'CNY', '2026-10-01') AS e \gset
SELECT recharge(:e, '1000.00 CNY', 'wechat', 'mx-e-1', '2026-10-01') IS NOT NULL AS funded;
SELECT create_instance(:e, :m4, 1, at => '2026-10-05 10:00+08') AS ie \gset
SELECT is(rate_partner(:p4, -3000, 'fraud', '2026-10-05 10:20+08'), '0.5'::rating, 'day one: capped at -3000 points');
SELECT is(rate_partner(:p4, -3000, 'fraud', '2026-10-06 10:20+08'), '0'::rating, 'day two: 0');
SELECT results_eq(format($$SELECT state, stop_reason, stopped_at, billed_until FROM gpubill.instance WHERE instance_id = %s$$, :ie),
	$$VALUES ('stopped', 'machine_offline', '2026-10-06 10:20+08'::timestamptz, '2026-10-06 10:20+08'::timestamptz)$$,
	'the running instance is settled up to that instant and stopped');
SELECT results_eq(format($$SELECT fees, amount FROM gpubill.outage_compensation WHERE instance_id = %s$$, :ie),
	$$VALUES ('5.00 CNY'::gpubill.amount, '5.00 CNY'::gpubill.amount)$$, 'its customer gets the held hour it lost (5.00)');
SELECT results_eq(format($$SELECT qualification, (SELECT state FROM gpubill.machine WHERE machine_id = %s) FROM gpubill.partner WHERE partner_id = %s$$, :m4, :p4),
	$$VALUES ('terminated', 'offline')$$, 'terminated, machine offline');

-- the main partner: one machine, a PAYG and a weekly customer
SELECT open_partner('mx-owner', 'CNY', '2026-10-01') AS p \gset
SELECT list_machine(:p, 4, '10.00 CNY', '2027-12-01', week_price_per_gpu => '1000.00 CNY', at => '2026-10-01 12:00+08') AS m \gset
SELECT open_customer('mx-c', 'CNY', '2026-10-01') AS c \gset
SELECT recharge(:c, '5000.00 CNY', 'wechat', 'mx-c-1', '2026-10-01') IS NOT NULL AS funded;
SELECT open_customer('mx-d', 'CNY', '2026-10-01') AS d \gset
SELECT recharge(:d, '5000.00 CNY', 'wechat', 'mx-d-1', '2026-10-01') IS NOT NULL AS funded;
SELECT grant_voucher(:d, '50.00 CNY', NULL, '2026-10-01') IS NOT NULL AS granted;
SELECT create_instance(:c, :m, 1, at => '2026-10-02 10:00+08') AS i \gset
SELECT create_instance(:d, :m, 1, 'weekly', at => '2026-10-02 10:00+08') AS j \gset
SELECT tick('2026-10-02 12:00+08') IS NOT NULL AS ticked;

-- R-PRT-8: an outage 11:30-12:15 reported at 12:30
SELECT report_outage(:m, '2026-10-02 11:30+08', '2026-10-02 12:15+08', false, '2026-10-02 12:30+08') AS o1 \gset
SELECT results_eq(format($$SELECT kind, usage, charge FROM gpubill.order_line WHERE instance_id = %s ORDER BY line_id$$, :i),
	$$VALUES ('payg', '[2026-10-02 10:00+08,2026-10-02 11:00+08)'::tstzrange, '10.00 CNY'::gpubill.amount),
			 ('payg', '[2026-10-02 11:00+08,2026-10-02 12:00+08)', '10.00 CNY'),
			 ('payg', '[2026-10-02 12:00+08,2026-10-02 12:30+08)', '5.00 CNY')$$,
	'the PAYG instance is first settled up to the report (12:30)');
SELECT results_eq(format($$SELECT state, next_settle_at, (SELECT amount FROM gpubill.hold h WHERE h.hold_id = i.hold_id) FROM gpubill.instance i WHERE instance_id = %s$$, :i),
	$$VALUES ('running', '2026-10-02 13:00+08'::timestamptz, '10.00 CNY'::gpubill.amount)$$, 'and runs on, an hour held again');
SELECT results_eq(format($$SELECT instance_id, customer_id, fees, amount FROM gpubill.outage_compensation WHERE outage_id = %s ORDER BY instance_id$$, :o1),
	format($$VALUES (%s::bigint, %s::bigint, '7.50 CNY'::gpubill.amount, '7.50 CNY'::gpubill.amount),
					(%s, %s, '4.464286 CNY', '4.46 CNY')$$, :i, :c, :j, :d),
	'each customer gets 1.0 x the fees charged for the window: 5.00 + 2.50 by the second; 45 min of a 1000.00 week (voucher part included), rounded to cents');
SELECT results_eq(format($$SELECT customer_id, partner_id, debit_purpose, credit_purpose, amount FROM gpubill.transfers WHERE kind = 'compensation' AND object_id = %s ORDER BY transfer_id$$, :o1),
	format($$VALUES (%s::bigint, NULL::bigint, 'compensation', 'cash', '7.50 CNY'::gpubill.amount),
					(NULL, %s, 'income', 'compensation', '7.50 CNY'),
					(%s, NULL, 'compensation', 'cash', '4.46 CNY'),
					(NULL, %s, 'income', 'compensation', '4.46 CNY')$$, :c, :p, :d, :p),
	'paid in cash by the platform, recovered from the partner''s income');
SELECT is(report_outage(:m, '2026-10-02 11:30+08', '2026-10-02 12:15+08', false, '2026-10-02 12:30+08'), :o1::bigint,
		  'the same report again returns the same outage');
SELECT is((SELECT count(*) FROM outage_compensation WHERE outage_id = :o1), 2::bigint, 'and compensates nobody twice');
-- bad input: nothing is left behind
SELECT count(*) AS outages_before FROM outage \gset
SELECT throws_ok(format($$SELECT gpubill.report_outage(%s, '2026-10-02 12:00+08', '2026-10-02 12:20+08', false, '2026-10-02 12:30+08')$$, :m),
				 'GB004', NULL, 'an outage overlapping one reported raises GB004');
SELECT throws_ok(format($$SELECT gpubill.report_outage(%s, '2026-10-02 12:20+08', '2026-10-02 13:00+08', false, '2026-10-02 12:30+08')$$, :m),
				 'GB004', NULL, 'an unnotified outage not yet over raises GB004');
SELECT throws_ok(format($$SELECT gpubill.report_outage(%s, '2026-10-02 12:20+08', '2026-10-02 12:20+08', false, '2026-10-02 12:30+08')$$, :m),
				 '22023', NULL, 'an outage that ends when it starts raises 22023');
SELECT throws_ok($$SELECT gpubill.report_outage(-1, '2026-10-02 12:20+08', '2026-10-02 12:25+08', false, '2026-10-02 12:30+08')$$,
				 'P0002', NULL, 'an unknown machine raises P0002');
-- R-PRT-8: maintenance only in advance: declared once it began (or after it), it is refused
SELECT throws_ok(format($$SELECT gpubill.report_outage(%s, '2026-10-02 12:00+08', '2026-10-02 12:10+08', true, '2026-10-02 12:30+08')$$, :m),
				 'GB004', 'maintenance must be announced before it starts: 2026-10-02 12:30:00+08 is not before 2026-10-02 12:00:00+08',
				 'maintenance declared after the fact raises GB004');
SELECT throws_ok(format($$SELECT gpubill.report_outage(%s, '2026-10-02 12:30+08', '2026-10-02 12:40+08', true, '2026-10-02 12:30+08')$$, :m),
				 'GB004', NULL, 'and so does maintenance declared at the instant it starts');
SELECT is((SELECT count(*) FROM outage), :outages_before::bigint, 'the refused reports left nothing');
-- notified maintenance: neither compensated nor counted
SELECT report_outage(:m, '2026-10-02 13:10+08', '2026-10-02 13:20+08', true, '2026-10-02 12:40+08') AS o_maint \gset
SELECT is((SELECT count(*) FROM outage_compensation WHERE outage_id = :o_maint), 0::bigint, 'maintenance announced in advance compensates nobody');

SELECT stop_instance(:i, '2026-10-02 14:00+08');
SELECT release_instance(:j, '2026-10-02 20:00+08');
SELECT report_outage(:m, '2026-10-02 21:00+08', '2026-10-02 22:00+08', false, '2026-10-02 23:00+08') AS o3 \gset
SELECT is((SELECT count(*) FROM outage_compensation WHERE outage_id = :o3), 0::bigint,
		  'an outage after the week was released and the PAYG run stopped compensates nobody (the week''s line still covers it)');

-- R-PRT-6: taking offline while an instance runs is refused unless forced
SELECT create_instance(:c, :m, 1, at => '2026-10-03 09:00+08') AS k \gset
SELECT throws_ok(format($$SELECT gpubill.take_offline(%s, at => '2026-10-03 10:00+08')$$, :m), 'GB004', NULL,
				 'taking offline a machine with a running instance raises GB004');
SELECT is((SELECT state FROM machine WHERE machine_id = :m), 'listed', 'and leaves it listed');
SELECT take_offline(:m, true, '2026-10-03 10:30+08');
SELECT results_eq(format($$SELECT kind, usage, charge FROM gpubill.order_line WHERE instance_id = %s ORDER BY line_id$$, :k),
	$$VALUES ('payg', '[2026-10-03 09:00+08,2026-10-03 10:00+08)'::tstzrange, '10.00 CNY'::gpubill.amount),
			 ('payg_stop', '[2026-10-03 10:00+08,2026-10-03 10:30+08)', '5.00 CNY')$$,
	'forced: the running instance is settled up to that instant');
SELECT results_eq(format($$SELECT state, stop_reason FROM gpubill.instance WHERE instance_id IN (%s, %s) ORDER BY instance_id$$, :i, :k),
	$$VALUES ('stopped', 'requested'), ('stopped', 'machine_offline')$$, 'and stopped (machine_offline)');
SELECT results_eq(format($$SELECT o.kind, c.instance_id, c.amount FROM gpubill.outage o JOIN gpubill.outage_compensation c USING (outage_id) WHERE o.machine_id = %s AND o.kind = 'forced_offline'$$, :m),
	format($$VALUES ('forced_offline', %s::bigint, '10.00 CNY'::gpubill.amount)$$, :k),
	'its customer is compensated for the held hour it lost; stopped and released instances are not');
SELECT is((SELECT state FROM machine WHERE machine_id = :m), 'offline', 'the machine is offline');
SELECT throws_ok(format($$SELECT gpubill.start_instance(%s, '2026-10-03 11:00+08')$$, :i), 'GB004', NULL,
				 'nothing starts on an offline machine');
SELECT throws_ok(format($$SELECT gpubill.take_offline(%s, true, '2026-10-03 11:00+08')$$, :m), 'GB004', NULL,
				 'an offline machine cannot go offline again');
SELECT throws_ok(format($$SELECT gpubill.delist_machine(%s, '2026-10-03 11:00+08')$$, :m), 'GB004', NULL,
				 'nor be delisted');
SELECT throws_ok(format($$SELECT gpubill.remove_machine(%s, '2026-10-03 11:00+08')$$, :m), 'GB004', NULL,
				 'a machine with instances not released cannot be removed');
SELECT release_instance(:i, '2026-10-04 10:00+08');
SELECT release_instance(:k, '2026-10-04 10:00+08');

-- R-PRT-2 with R-PRT-8: October's income less the deposit and the compensation
SELECT results_eq(format($$SELECT income, deposits, compensation, withdrawable FROM gpubill.partner_money(%s, '2026-11-02 10:00+08')$$, :p),
	$$VALUES ('804.00 CNY'::gpubill.amount, '100.00 CNY'::gpubill.amount, '21.96 CNY'::gpubill.amount, '682.04 CNY'::gpubill.amount)$$,
	'income 32 + 12 (PAYG) + 760 (the week''s cash part) - deposit 100 - compensation 21.96');

-- R-PRT-6: removing the last machine refunds the deposits and ends the qualification a month later
SELECT remove_machine(:m, '2026-11-02 10:00+08');
SELECT results_eq(format($$SELECT kind, debit_purpose, credit_purpose, amount FROM gpubill.transfers WHERE partner_id = %s AND kind = 'deposit_refund' ORDER BY transfer_id$$, :p),
	$$VALUES ('deposit_refund', 'deposit', 'income', '100.00 CNY'::gpubill.amount),
			 ('deposit_refund', 'income', 'payouts', '100.00 CNY')$$,
	'the deposit goes back to income and, being withdrawable, is paid out');
SELECT results_eq(format($$SELECT kind, due_at FROM gpubill.lifecycle_events WHERE partner = %s ORDER BY due_at$$, :p),
	$$VALUES ('deposit_refund_due', '2026-11-12 10:00+08'::timestamptz), ('qualification_end_due', '2026-12-02 10:00+08')$$,
	'refund due within 10 days, qualification end a month later');
SELECT is(withdrawable(:p, '2026-11-02 10:00+08'), '682.04 CNY'::amount, 'withdrawable is unchanged by the refund paid out');
SELECT throws_ok(format($$SELECT gpubill.remove_machine(%s, '2026-11-03')$$, :m), 'GB004', NULL, 'a removed machine cannot be removed again');
SELECT is(tick('2026-12-02 09:59+08')->>'qualifications_ended', '0', 'not before the month is over');
SELECT is(tick('2026-12-02 10:00+08')->>'qualifications_ended', '1', 'then tick ends the qualification');
SELECT is((SELECT qualification FROM partner WHERE partner_id = :p), 'ended', 'ended');
SELECT throws_ok(format($$SELECT gpubill.list_machine(%s, 1, '1.00 CNY', '2027-12-01', at => '2026-12-03')$$, :p), 'GB006', NULL,
				 'a partner whose qualification ended cannot list (GB006)');

-- R-PRT-6: listing again before the month is over keeps the qualification; no income, nothing paid out
SELECT open_partner('mx-back', 'CNY', '2026-12-01') AS p3 \gset
SELECT list_machine(:p3, 1, '1.00 CNY', '2027-12-01', at => '2026-12-01') AS m3 \gset
SELECT remove_machine(:m3, '2026-12-05');
SELECT results_eq(format($$SELECT debit_purpose, credit_purpose, amount FROM gpubill.transfers WHERE partner_id = %s AND kind = 'deposit_refund'$$, :p3),
	$$VALUES ('deposit', 'income', '100.00 CNY'::gpubill.amount)$$, 'a deposit never covered by income goes back to income only');
SELECT list_machine(:p3, 1, '1.00 CNY', '2027-12-01', at => '2026-12-20') IS NOT NULL AS listed_again;
SELECT is((SELECT cancelled_at FROM lifecycle_event WHERE kind = 'qualification_end_due' AND subject_id = :p3), '2026-12-20'::timestamptz,
		  'the new listing cancels the end of the qualification');

-- R-PRT-5: from owner end - 10 days: no new rentals, tick delists and alerts migrate_data
SELECT open_partner('mx-ending', 'CNY', '2026-12-01') AS p5 \gset
SELECT list_machine(:p5, 4, '1.00 CNY', '2027-01-20 00:00+08', at => '2026-12-01') AS m5 \gset
SELECT open_customer('mx-f', 'CNY', '2026-12-01') AS f \gset
SELECT recharge(:f, '1000.00 CNY', 'wechat', 'mx-f-1', '2026-12-01') IS NOT NULL AS funded;
SELECT open_customer('mx-g', 'CNY', '2026-12-01') AS g \gset
SELECT recharge(:g, '1000.00 CNY', 'wechat', 'mx-g-1', '2026-12-01') IS NOT NULL AS funded;
SELECT open_customer('mx-h', 'CNY', '2026-12-01') AS h \gset
SELECT recharge(:h, '1000.00 CNY', 'wechat', 'mx-h-1', '2026-12-01') IS NOT NULL AS funded;
SELECT create_instance(:h, :m5, 1, at => '2026-12-05 10:00+08') AS ih \gset
SELECT release_instance(:ih, '2026-12-05 11:00+08');
SELECT create_instance(:g, :m5, 1, at => '2027-01-09 10:00+08') AS ig \gset
SELECT stop_instance(:ig, '2027-01-09 11:00+08');
SELECT create_instance(:f, :m5, 1, at => '2027-01-09 20:00+08') AS if_ \gset
SELECT throws_ok(format($$SELECT gpubill.create_instance(%s, %s, 1, at => '2027-01-10 00:00+08')$$, :h, :m5), 'GB004', NULL,
				 'a rental from owner end - 10 days raises GB004, tick or not');
SELECT is(tick('2027-01-10 01:00+08')->>'machines_delisted', '1', 'tick delists the machine');
SELECT results_eq(format($$SELECT state, end_notice_at FROM gpubill.machine WHERE machine_id = %s$$, :m5),
	$$VALUES ('delisted', '2027-01-10 00:00+08'::timestamptz)$$, 'delisted as of owner end - 10 days');
SELECT results_eq(format($$SELECT customer, subject_id, raised_at FROM gpubill.open_alerts WHERE kind = 'migrate_data' ORDER BY subject_id$$),
	format($$VALUES (%s::bigint, %s::bigint, '2027-01-10 00:00+08'::timestamptz), (%s, %s, '2027-01-10 00:00+08')$$, :g, :ig, :f, :if_),
	'a migrate_data alert to each customer with an instance not released');
SELECT is(tick('2027-01-10 02:00+08')->>'machines_delisted', '0', 'a second tick delists nothing');
SELECT is((SELECT count(*) FROM alert WHERE kind = 'migrate_data'), 2::bigint, 'and alerts nobody twice');
SELECT lives_ok(format($$SELECT gpubill.start_instance(%s, '2027-01-10 02:00+08')$$, :ig), 'a stopped instance may still start');
SELECT release_instance(:if_, '2027-01-10 02:30+08');
SELECT tick('2027-01-10 03:00+08') IS NOT NULL AS ticked;
SELECT results_eq($$SELECT subject_id FROM gpubill.open_alerts WHERE kind = 'migrate_data'$$,
	format($$VALUES (%s::bigint)$$, :ig), 'the alert of a released instance is closed');

-- R-PRT-6: delisting stops new rentals only
SELECT open_partner('mx-delist', 'CNY', '2026-12-01') AS p6 \gset
SELECT list_machine(:p6, 4, '1.00 CNY', '2027-12-01', at => '2026-12-01') AS m6 \gset
SELECT create_instance(:f, :m6, 1, at => '2027-01-11 10:00+08') AS i6 \gset
SELECT delist_machine(:m6, '2027-01-11 11:00+08');
SELECT throws_ok(format($$SELECT gpubill.create_instance(%s, %s, 1, at => '2027-01-11 12:00+08')$$, :g, :m6), 'GB004', NULL,
				 'a delisted machine takes no new rental');
SELECT is(instance_state(:i6), 'running', 'the running instance goes on');
SELECT throws_ok(format($$SELECT gpubill.delist_machine(%s, '2027-01-11 12:00+08')$$, :m6), 'GB004', NULL, 'delisting twice raises GB004');
SELECT throws_ok(format($$SELECT gpubill.delist_machine(%s, '2027-01-11 10:59+08')$$, :m6), 'GB004', NULL,
				 'a machine''s time only moves forward');
SELECT throws_ok($$SELECT gpubill.take_offline(-1)$$, 'P0002', NULL, 'an unknown machine raises P0002');
SELECT throws_ok($$UPDATE gpubill.machine SET state = 'listed' WHERE state = 'offline'$$, 'GB004', NULL,
				 'the state machine is enforced for every writer');

-- R-BI-1, R-BI-2: the partner statement and platform revenue agree with the journal
SELECT results_eq(format($$SELECT month, gross, fees, voucher_paid, income, deposits, compensation, withdrawn, withdrawable FROM gpubill.partner_statement WHERE partner = %s ORDER BY month$$, :p),
	$$VALUES ('2026-10-01'::date, '1055.00 CNY'::gpubill.amount, '201.00 CNY'::gpubill.amount, '50.00 CNY'::gpubill.amount,
			  '804.00 CNY'::gpubill.amount, '100.00 CNY'::gpubill.amount, '21.96 CNY'::gpubill.amount, '0.00 CNY'::gpubill.amount,
			  '682.04 CNY'::gpubill.amount),
			 ('2026-11-01', '0.00 CNY', '0.00 CNY', '0.00 CNY', '0.00 CNY', '-100.00 CNY', '0.00 CNY', '100.00 CNY', '682.04 CNY')$$,
	'October: gross = voucher part + fees + income; November: the deposit refunded and paid out');
SELECT is((SELECT withdrawable FROM partner_statement WHERE partner = :p AND month = '2026-10-01'), withdrawable(:p, '2026-11-01'),
		  'a month''s withdrawable is withdrawable(partner) at the start of the next');
SELECT results_eq(
	$$SELECT gpubill.sum(income), gpubill.sum(fees) , gpubill.sum(voucher_paid), gpubill.sum(deposits), gpubill.sum(compensation), gpubill.sum(withdrawn)
	  FROM gpubill.partner_statement$$,
	$$SELECT gpubill.sum(amount) FILTER (WHERE kind = 'income' AND credit_purpose = 'income'),
			 gpubill.sum(amount) FILTER (WHERE kind = 'fee' AND object_type = 'order_line'),
			 gpubill.sum(amount) FILTER (WHERE kind = 'voucher_spend' AND object_type = 'order_line'),
			 (SELECT gpubill.sum(balance) FROM gpubill.accounts WHERE owner_kind = 'partner' AND purpose = 'deposit'),
			 gpubill.sum(amount) FILTER (WHERE kind = 'compensation' AND partner_id IS NOT NULL),
			 gpubill.sum(amount) FILTER (WHERE partner_id IS NOT NULL AND credit_purpose = 'payouts')
	  FROM gpubill.transfers$$,
	'partner_statement sums to the journal');
SELECT results_eq(
	$$SELECT gpubill.sum(service_fees), gpubill.sum(voucher_breakage), gpubill.sum(compensation_paid), gpubill.sum(compensation_recovered),
			 gpubill.sum(vouchers_spent) FROM gpubill.platform_revenue$$,
	$$SELECT (SELECT gpubill.sum(balance) FROM gpubill.accounts WHERE owner_kind = 'platform' AND purpose = 'fee'),
			 (SELECT gpubill.sum(balance) FROM gpubill.accounts WHERE owner_kind = 'platform' AND purpose = 'voucher_breakage'),
			 (SELECT gpubill.sum(amount) FROM gpubill.transfers WHERE kind = 'compensation' AND customer_id IS NOT NULL),
			 (SELECT gpubill.sum(amount) FROM gpubill.transfers WHERE kind = 'compensation' AND partner_id IS NOT NULL),
			 (SELECT gpubill.sum(amount) FROM gpubill.transfers WHERE kind = 'voucher_spend')$$,
	'platform_revenue sums to the journal');
SELECT results_eq($$SELECT day, service_fees, compensation_paid FROM gpubill.platform_revenue WHERE day = '2026-10-03'$$,
	$$VALUES ('2026-10-03'::date, '3.00 CNY'::gpubill.amount, '10.00 CNY'::gpubill.amount)$$,
	'October 3: the fee of 15.00 charged and the forced offline''s 10.00');
SET LOCAL ROLE gpubill_reader;
SELECT lives_ok($$SELECT count(*) FROM gpubill.partner_statement UNION ALL SELECT count(*) FROM gpubill.platform_revenue$$,
				'gpubill_reader reads both views');
RESET ROLE;

-- R-PRT-1: the voucher permission changes from an instant on; holds already placed keep what they reserved
SELECT open_partner('mx-vouchers', 'CNY', '2026-12-01') AS pv \gset
SELECT list_machine(:pv, 4, '2.00 CNY', '2027-12-01', at => '2026-12-01') AS mv \gset
SELECT open_customer('mx-v', 'CNY', '2026-12-01') AS cv \gset
SELECT recharge(:cv, '100.00 CNY', 'wechat', 'mx-v-1', '2026-12-01') IS NOT NULL AS funded;
SELECT grant_voucher(:cv, '10.00 CNY', NULL, '2026-12-01') IS NOT NULL AS granted;
SELECT create_instance(:cv, :mv, 1, at => '2026-12-02 10:00+08') AS iv \gset
SELECT lives_ok(format($$SELECT set_vouchers_allowed(%s, false, '2026-12-02 10:30+08')$$, :mv), 'vouchers refused from 10:30');
SELECT results_eq(format($$SELECT usage, voucher_paid, cash_paid FROM order_line WHERE instance_id = %s ORDER BY line_id$$, :iv),
	$$VALUES (tstzrange('2026-12-02 10:00+08', '2026-12-02 10:30+08'), '1.00 CNY'::amount, '0.00 CNY'::amount)$$,
	'the half hour before is settled under the old permission: vouchers pay');
SELECT tick('2026-12-02 12:00+08') IS NOT NULL AS ticked;
SELECT results_eq(format($$SELECT usage, voucher_paid, cash_paid FROM order_line WHERE instance_id = %s ORDER BY line_id OFFSET 1$$, :iv),
	$$VALUES (tstzrange('2026-12-02 10:30+08', '2026-12-02 11:00+08'), '0.00 CNY'::amount, '1.00 CNY'::amount),
			 (tstzrange('2026-12-02 11:00+08', '2026-12-02 12:00+08'), '0.00 CNY', '2.00 CNY')$$,
	'from 10:30 on cash pays');
SELECT results_eq(format($$SELECT cash_only FROM hold WHERE object_type = 'instance' AND object_id = %s ORDER BY hold_id$$, :iv),
	$$VALUES (false), (false), (true), (true)$$,
	'the holds placed before keep their reservation; the ones placed after are cash only');
SELECT throws_ok(format($$SELECT set_vouchers_allowed(%s, NULL)$$, :mv), '22023', NULL, 'NULL is refused (22023)');
SELECT throws_ok(format($$SELECT set_vouchers_allowed(%s, true, '2026-12-02 10:00+08')$$, :mv), 'GB004', NULL,
				 'before the machine''s last event: GB004');

-- R-PRT-5: nothing runs past the owner end time
SELECT list_machine(:pv, 2, '1.00 CNY', '2026-12-31 12:30+08', at => '2026-12-02') AS mend \gset
SELECT open_customer('mx-end', 'CNY', '2026-12-01') AS cend \gset
SELECT recharge(:cend, '1000.00 CNY', 'wechat', 'mx-end-1', '2026-12-01') IS NOT NULL AS funded;
SELECT create_instance(:cend, :mend, 1, at => '2026-12-20 10:00+08') AS iend \gset
SELECT tick('2026-12-31 14:00+08') IS NOT NULL AS ticked;
SELECT results_eq(format($$SELECT state, stop_reason, stopped_at, billed_until FROM instance WHERE instance_id = %s$$, :iend),
	$$VALUES ('stopped', 'machine_end', '2026-12-31 12:30+08'::timestamptz, '2026-12-31 12:30+08'::timestamptz)$$,
	'at the owner end time tick stops the running instance (machine_end), settled up to that instant');
SELECT is((SELECT max(upper(usage)) FROM order_line WHERE instance_id = :iend), '2026-12-31 12:30+08'::timestamptz,
		  'nothing is charged after it');
SELECT is((SELECT sum(charge) FROM order_line WHERE instance_id = :iend), '266.50 CNY'::amount,
		  '11 days, 2 hours and a half at 1.00');
SELECT throws_ok(format($$SELECT start_instance(%s, '2026-12-31 15:00+08')$$, :iend), 'GB004', NULL,
				 'a stopped instance does not start after the owner end time (GB004)');

SELECT results_eq($$SELECT count(*) FROM gpubill.verify() WHERE NOT ok$$, $$VALUES (0::bigint)$$, 'verify() is all ok');
SELECT * FROM finish();
ROLLBACK;
