-- pgTAP: weekly and monthly prepaid instances, conversion, expiry and renewal; usage-hourly and one-time products
-- R-PRE-1 R-PRE-2 R-PRE-3 R-PRE-4 R-PRE-5 R-PAYG-7 R-PAYG-6 R-PAYG-4 R-CLK-1 R-CLK-5 R-ALR-2 R-PRT-3 R-SEC-3
BEGIN;
SET LOCAL search_path = gpubill, public;
SET LOCAL TimeZone = 'Asia/Shanghai';
SELECT plan(57);

SELECT open_partner('pre-owner', 'CNY', '2026-01-01') AS owner \gset
SELECT list_machine(:owner, 8, '2.00 CNY', '2027-06-01', week_price_per_gpu => '200.00 CNY',
					month_price_per_gpu => '700.00 CNY', at => '2026-01-01') AS m \gset
SELECT list_machine(:owner, 8, '2.00 CNY', '2027-06-01', at => '2026-01-01') AS m_hourly_only \gset
SELECT list_machine(:owner, 4, '1.20 CNY', '2027-06-01', billing => 'usage_hourly', at => '2026-01-01') AS m_uh \gset
SELECT list_machine(:owner, 4, '1.50 CNY', '2027-06-01', billing => 'one_time', package_hours => 5, at => '2026-01-01') AS m_pkg \gset
SELECT open_customer('pre-rich', 'CNY', '2026-01-01') AS rich \gset
SELECT recharge(:rich, '10000.00 CNY', 'wechat', 'pre-rich-1', '2026-01-01') IS NOT NULL AS funded;
SELECT set_discount(:rich, 0.9);

-- R-PRE-1: the whole term is paid at purchase: price per GPU x GPUs x discount
SELECT create_instance(:rich, :m, 2, 'monthly', true, at => '2026-01-31 10:00+08') AS im \gset
SELECT results_eq(format($$SELECT kind, charge, cash_paid, partner_income, platform_fee FROM gpubill.order_line WHERE instance_id = %s$$, :im),
	$$VALUES ('monthly', '1260.00 CNY'::gpubill.amount, '1260.00 CNY'::gpubill.amount, '1008.00 CNY'::gpubill.amount, '252.00 CNY'::gpubill.amount)$$,
	'a month of 2 GPUs at 700 with 10% off is 1260, split 1008 income / 252 fee');
SELECT is((SELECT cash FROM wallet(:rich)), '8740.00 CNY'::amount, 'paid from cash at once');
SELECT is((SELECT held FROM wallet(:rich)), '0.00 CNY'::amount, 'a prepaid instance holds nothing');
SELECT is(instance_state(:im), 'running', 'the prepaid instance runs');

-- R-PRE-2: months are calendar months from the first term, clamped at the month's end
SELECT is((SELECT upper(usage) FROM order_line WHERE instance_id = :im), '2026-02-28 10:00+08'::timestamptz, 'Jan 31 + 1 month = Feb 28');
SELECT is(tick('2026-02-28 10:00+08')->'terms'->>'renewed', '1', 'auto-renew renews at the term end');
SELECT is((SELECT max(upper(usage)) FROM order_line WHERE instance_id = :im), '2026-03-31 10:00+08'::timestamptz,
		  'the second month ends Mar 31: months count from the first term');

-- R-PRE-3: no configuration change and no stop during a term
SELECT throws_ok(format($$SELECT gpubill.resize_instance(%s, 1, '2026-03-01 10:00+08')$$, :im), 'GB004', NULL,
				 'resizing during a prepaid term raises GB004');
SELECT throws_ok(format($$SELECT gpubill.stop_instance(%s, '2026-03-01 10:00+08')$$, :im), 'GB004', NULL,
				 'stopping during a prepaid term raises GB004');

-- R-PRE-5: 72 h before expiry an instance_expiring alert, once
SELECT set_auto_renew(:im, false);
SELECT tick('2026-03-28 09:59+08') IS NOT NULL AS ticked;
SELECT is((SELECT count(*) FROM open_alerts WHERE kind = 'instance_expiring' AND subject_id = :im), 0::bigint, 'no alert before 72 h');
SELECT tick('2026-03-28 10:00+08') IS NOT NULL AS ticked;
SELECT tick('2026-03-29 10:00+08') IS NOT NULL AS ticked;
SELECT results_eq(format($$SELECT kind, raised_at FROM gpubill.open_alerts WHERE subject_id = %s$$, :im),
	$$VALUES ('instance_expiring', '2026-03-28 10:00+08'::timestamptz)$$, 'instance_expiring 72 h before the end, once');
-- auto-renew off: it expires at the end; data erasable 24 h later; released 10 days later
SELECT is(tick('2026-03-31 10:00+08')->'terms'->>'ended', '1', 'the term ends');
SELECT results_eq(format($$SELECT state, stop_reason, stopped_at FROM gpubill.instance WHERE instance_id = %s$$, :im),
	$$VALUES ('expired', 'expired', '2026-03-31 10:00+08'::timestamptz)$$, 'without auto-renew the instance expires');
SELECT is((SELECT count(*) FROM open_alerts WHERE subject_id = :im), 0::bigint, 'the expiring alert is closed at expiry');
SELECT results_eq(format($$SELECT due_at FROM gpubill.lifecycle_events WHERE subject_id = %s AND kind = 'local_data_erase_due'$$, :im),
	$$VALUES ('2026-04-01 10:00+08'::timestamptz)$$, 'local data erasable 24 h after expiry');
-- R-PRE-3, R-PAYG-6: an expired prepaid instance is not resized either; starting again buys a new term
SELECT throws_ok(format($$SELECT gpubill.resize_instance(%s, 1, '2026-04-02 10:00+08')$$, :im), 'GB004', NULL,
				 'resizing an expired prepaid instance raises GB004');
SELECT start_instance(:im, '2026-04-02 10:00+08');
SELECT results_eq(format($$SELECT charge, usage FROM gpubill.order_line WHERE instance_id = %s ORDER BY line_id DESC LIMIT 1$$, :im),
	$$VALUES ('1260.00 CNY'::gpubill.amount, tstzrange('2026-04-02 10:00+08', '2026-05-02 10:00+08'))$$,
	'an expired instance starts with a new month of its size');
SELECT is((SELECT count(*) FROM lifecycle_events WHERE subject_id = :im AND cancelled_at IS NOT NULL), 0::bigint,
		  'an erase already due is not cancelled');
SELECT tick('2026-05-02 10:00+08') IS NOT NULL AS ticked;
SELECT is(tick('2026-05-12 10:00+08')->>'released', '1', 'released 10 days after expiry');
SELECT is(instance_state(:im), 'released', 'the expired instance is released');

-- auto-renew on without funds: the instance expires
SELECT open_customer('pre-poor', 'CNY', '2026-01-01') AS poor \gset
SELECT recharge(:poor, '250.00 CNY', 'alipay', 'pre-poor-1', '2026-01-01') IS NOT NULL AS funded;
SELECT create_instance(:poor, :m, 1, 'weekly', true, at => '2026-01-05 09:00+08') AS iw \gset
SELECT is((SELECT upper(usage) FROM order_line WHERE instance_id = :iw), '2026-01-12 09:00+08'::timestamptz, 'a week is 7 x 24 h');
SELECT is((SELECT cash FROM wallet(:poor)), '50.00 CNY'::amount, 'the week cost 200');
SELECT tick('2026-01-12 09:00+08') IS NOT NULL AS ticked;
SELECT results_eq(format($$SELECT state, stop_reason FROM gpubill.instance WHERE instance_id = %s$$, :iw),
	$$VALUES ('expired', 'expired')$$, 'auto-renew without funds: expired');
SELECT is((SELECT cash FROM wallet(:poor)), '50.00 CNY'::amount, 'and nothing was charged');

-- R-PRE-1: insufficient funds: GB001, nothing created
SELECT count(*) AS instances_before FROM instance \gset
SELECT throws_ok(format($$SELECT gpubill.create_instance(%s, %s, 1, 'monthly', at => '2026-01-13 09:00+08')$$, :poor, :m), 'GB001', NULL,
				 'a month the customer cannot pay raises GB001');
SELECT is((SELECT count(*) FROM instance), :instances_before::bigint, 'and creates nothing');
-- bad input
SELECT throws_ok(format($$SELECT gpubill.create_instance(%s, %s, 1, 'weekly', at => '2026-01-13 09:00+08')$$, :rich, :m_hourly_only),
				 '22023', NULL, 'a machine without a week price refuses weekly');
SELECT throws_ok(format($$SELECT gpubill.create_instance(%s, %s, 1, 'yearly', at => '2026-01-13 09:00+08')$$, :rich, :m),
				 '22023', NULL, 'an unknown billing raises 22023');
-- a term may not end after the owner end time - 10 days
-- (listed here: the ticks above ran past its delisting)
SELECT list_machine(:owner, 8, '2.00 CNY', '2026-03-10', week_price_per_gpu => '200.00 CNY', at => '2026-01-01') AS m_ending \gset
SELECT throws_ok(format($$SELECT gpubill.create_instance(%s, %s, 1, 'weekly', at => '2026-02-24 00:00+08')$$, :rich, :m_ending),
				 'GB004', NULL, 'a week ending after owner end - 10 days raises GB004');
SELECT lives_ok(format($$SELECT gpubill.create_instance(%s, %s, 1, 'weekly', at => '2026-02-21 00:00+08')$$, :rich, :m_ending),
				'a week ending exactly at owner end - 10 days is allowed');

-- R-PRE-4: PAYG converted to weekly: usage settled to that instant, hold released, the week charged
SELECT create_instance(:rich, :m, 1, at => '2026-06-01 10:00+08') AS ip \gset
SELECT convert_instance(:ip, 'weekly', '2026-06-01 12:30+08');
SELECT results_eq(format($$SELECT kind, seconds, charge FROM gpubill.order_line WHERE instance_id = %s ORDER BY line_id$$, :ip),
	$$VALUES ('payg', 3600::bigint, '1.80 CNY'::gpubill.amount), ('payg', 3600::bigint, '1.80 CNY'::gpubill.amount),
			 ('payg_stop', 1800::bigint, '0.90 CNY'::gpubill.amount), ('weekly', 604800::bigint, '180.00 CNY'::gpubill.amount)$$,
	'two hours and a half settled, then a week of 1 GPU at 200 with 10% off');
SELECT is((SELECT held FROM wallet(:rich)), '0.00 CNY'::amount, 'the PAYG hold is released');
SELECT results_eq(format($$SELECT state, billing, next_settle_at, term_end FROM gpubill.instance WHERE instance_id = %s$$, :ip),
	$$VALUES ('running', 'weekly', NULL::timestamptz, '2026-06-08 12:30+08'::timestamptz)$$, 'the instance runs on the week');
SELECT is(tick('2026-06-02 10:00+08')->'payg'->>'settled', '0', 'a converted instance is no longer settled hourly');
SELECT throws_ok(format($$SELECT gpubill.convert_instance(%s, 'monthly', '2026-06-03 10:00+08')$$, :ip), 'GB004', NULL,
				 'only a running PAYG instance converts');

-- R-PAYG-7 usage_hourly: a run costs ceil(hours) x hourly fee; hourly settlements as usual, the stop charges the rest
SELECT create_instance(:rich, :m_uh, 1, at => '2026-07-01 10:30+08') AS iu \gset
SELECT tick('2026-07-01 12:00+08') IS NOT NULL AS ticked;
SELECT stop_instance(:iu, '2026-07-01 12:15+08');
SELECT results_eq(format($$SELECT kind, seconds, charge FROM gpubill.order_line WHERE instance_id = %s ORDER BY line_id$$, :iu),
	$$VALUES ('payg', 1800::bigint, '0.54 CNY'::gpubill.amount), ('payg', 3600::bigint, '1.08 CNY'::gpubill.amount),
			 ('payg_stop', 900::bigint, '0.54 CNY'::gpubill.amount)$$,
	'1 h 45 min costs 2 hours: 0.54 + 1.08 settled, the stop charges the remaining 0.54');
SELECT start_instance(:iu, '2026-07-01 13:00+08');
SELECT stop_instance(:iu, '2026-07-01 13:00:01+08');
SELECT is((SELECT charge FROM order_line WHERE instance_id = :iu ORDER BY line_id DESC LIMIT 1), '1.08 CNY'::amount,
		  'a run of one second costs a whole hour');
SELECT start_instance(:iu, '2026-07-01 13:30+08');
SELECT tick('2026-07-01 14:00+08') IS NOT NULL AS ticked;
SELECT stop_instance(:iu, '2026-07-01 14:00+08');
SELECT results_eq(format($$SELECT seconds, charge FROM gpubill.order_line WHERE instance_id = %s AND at >= '2026-07-01 13:30+08' ORDER BY line_id$$, :iu),
	$$VALUES (1800::bigint, '0.54 CNY'::gpubill.amount), (0::bigint, '0.54 CNY'::gpubill.amount)$$,
	'a stop on the hour after half an hour still charges the whole hour');

-- R-PAYG-7 one_time: package_hours x hourly fee once at creation, no hold; it stops when the package ends
SELECT create_instance(:rich, :m_pkg, 2, at => '2026-08-01 10:00+08') AS ik \gset
SELECT results_eq(format($$SELECT kind, usage, charge FROM gpubill.order_line WHERE instance_id = %s$$, :ik),
	$$VALUES ('package', tstzrange('2026-08-01 10:00+08', '2026-08-01 15:00+08'), '13.50 CNY'::gpubill.amount)$$,
	'5 hours of 2 GPUs at 1.50 with 10% off, paid once');
SELECT is((SELECT count(*) FROM hold WHERE object_id = :ik), 0::bigint, 'a package places no hold');
SELECT is(tick('2026-08-01 14:59+08')->'terms'->>'ended', '0', 'the package runs to its end');
SELECT is(tick('2026-08-01 15:00+08')->'terms'->>'ended', '1', 'and stops there');
SELECT results_eq(format($$SELECT state, stop_reason FROM gpubill.instance WHERE instance_id = %s$$, :ik),
	$$VALUES ('stopped', 'package_end')$$, 'stopped by itself: package_end');
SELECT start_instance(:ik, '2026-08-02 09:00+08');
SELECT is((SELECT count(*) FROM order_line WHERE instance_id = :ik AND kind = 'package'), 2::bigint, 'starting again buys a new package');

-- R-PRE-2, R-PAYG-4 with a DST time zone: months are calendar months, weeks 168 h, hours are the zone's hours
SELECT set_setting('billing_timezone', 'Europe/Berlin');
SELECT create_instance(:rich, :m, 1, 'monthly', at => '2026-03-15 10:00+01') AS idm \gset
SELECT is((SELECT upper(usage) FROM order_line WHERE instance_id = :idm), '2026-04-15 10:00+02'::timestamptz,
		  'a month across the spring DST change ends at the same local time (743 hours)');
SELECT create_instance(:rich, :m, 1, 'weekly', at => '2026-03-25 10:00+01') AS idw \gset
SELECT is((SELECT upper(usage) FROM order_line WHERE instance_id = :idw), '2026-04-01 11:00+02'::timestamptz,
		  'a week across it is 168 hours: 11:00 local time');
SELECT create_instance(:rich, :m, 1, at => '2026-10-25 01:30+02') AS idp \gset
SELECT is(tick('2026-10-25 04:00+01')->'payg'->>'boundaries', '4', 'the autumn night has four hourly boundaries between 01:30 CEST and 04:00 CET');
SELECT results_eq(format($$SELECT upper(usage), seconds FROM gpubill.order_line WHERE instance_id = %s ORDER BY 1$$, :idp),
	$$VALUES ('2026-10-25 02:00+02'::timestamptz, 1800::bigint), ('2026-10-25 02:00+01', 3600), ('2026-10-25 03:00+01', 3600),
			 ('2026-10-25 04:00+01', 3600)$$, 'the repeated 02:00 hour is settled twice, each 3600 s');

-- bad input on the prepaid and conversion calls: a clear SQLSTATE, nothing written
SELECT count(*) AS lines_before FROM order_line \gset
SELECT throws_ok($$SELECT gpubill.convert_instance(-1, 'weekly')$$, 'P0002', NULL, 'converting an unknown instance raises P0002');
SELECT throws_ok(format($$SELECT gpubill.convert_instance(%s, NULL, '2026-10-25 05:00+01')$$, :idp), '22023', NULL,
				 'converting to NULL raises 22023');
SELECT throws_ok(format($$SELECT gpubill.convert_instance(%s, 'weekly', '2026-10-25 03:59+01')$$, :idp), 'GB004', NULL,
				 'converting at a time before the instance''s last event raises GB004');
SELECT create_instance(:rich, :m_uh, 1, at => '2026-10-25 05:00+01') AS irz \gset
SELECT stop_instance(:irz, '2026-10-25 05:30+01');
SELECT count(*) AS lines_before FROM order_line \gset
SELECT throws_ok(format($$SELECT gpubill.resize_instance(%s, 0, '2026-10-25 06:00+01')$$, :irz), '22023', NULL,
				 'resizing to 0 GPUs raises 22023');
SELECT throws_ok(format($$SELECT gpubill.resize_instance(%s, 2, '2026-10-25 06:00+01')$$, :irz), 'GB004', NULL,
				 'resizing a stopped instance raises GB004 (R-PAYG-6: only start and release)');
SELECT throws_ok(format($$SELECT gpubill.resize_instance(%s, 99, '2026-10-25 05:00+01')$$, :idp), 'GB002', NULL,
				 'resizing a running PAYG instance beyond its machine''s GPUs raises GB002');
SELECT throws_ok($$SELECT gpubill.request_refund(-1)$$, 'P0002', NULL, 'a refund for an unknown customer raises P0002');
SELECT is((SELECT count(*) FROM order_line), :lines_before::bigint, 'refused calls charged nothing');

SELECT results_eq($$SELECT count(*) FROM gpubill.verify() WHERE NOT ok$$, $$VALUES (0::bigint)$$, 'verify() is all ok');
SELECT * FROM finish();
ROLLBACK;
