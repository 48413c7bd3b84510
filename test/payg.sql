-- pgTAP: pay-as-you-go instances, hourly settlement and the clock, in simulated time
-- R-PAYG-1 R-PAYG-2 R-PAYG-3 R-PAYG-4 R-PAYG-5 R-PAYG-6 R-PRT-1 R-PRT-3 R-CLK-1 R-CLK-2 R-CLK-5
BEGIN;
SET LOCAL search_path = gpubill, public;
SET LOCAL TimeZone = 'Asia/Shanghai';
SELECT plan(67);

SELECT open_partner('payg-owner', 'CNY', '2026-11-01') AS owner \gset
SELECT list_machine(:owner, 16, '2.00 CNY', '2027-12-01', at => '2026-11-01') AS m4 \gset
SELECT list_machine(:owner, 1, '3.00 CNY', '2027-12-01', vouchers_allowed => false, at => '2026-11-01') AS m_cash \gset
SELECT open_customer('payg-rich', 'CNY', '2026-11-01') AS rich \gset
SELECT recharge(:rich, '1000.00 CNY', 'wechat', 'payg-rich-1', '2026-11-01') IS NOT NULL AS funded;

-- R-PAYG-1: creation freezes one hour of price x GPUs x discount
SELECT set_discount(:rich, 0.9);
SELECT create_instance(:rich, :m4, 2, at => '2026-11-02 10:00:00+08') AS i1 \gset
SELECT is((SELECT hourly_fee FROM instance WHERE instance_id = :i1), '3.60 CNY'::amount, 'hourly fee = 2.00 x 2 GPUs x 0.9');
SELECT is((SELECT held FROM wallet(:rich)), '3.60 CNY'::amount, 'one hour of the fee is held');
SELECT is(instance_state(:i1), 'running', 'a new instance runs');

-- R-PAYG-4: settlement on the hour, by the second, rounded to cents, captured from the hold
SELECT is(tick('2026-11-02 10:59:59+08')->'payg'->>'settled', '0', 'nothing is due before the hour');
SELECT is(tick('2026-11-02 11:00:00+08')->'payg'->>'settled', '1', 'the hour is settled exactly on the hour');
SELECT results_eq(format($$SELECT lower(usage), upper(usage), seconds, charge FROM gpubill.order_line WHERE instance_id = %s$$, :i1),
	$$VALUES ('2026-11-02 10:00+08'::timestamptz, '2026-11-02 11:00+08'::timestamptz, 3600::bigint, '3.60 CNY'::gpubill.amount)$$,
	'a full first hour costs the hourly fee');
SELECT is((SELECT held FROM wallet(:rich)), '3.60 CNY'::amount, 'the next hour is held again');
SELECT is((SELECT cash FROM wallet(:rich)), '996.40 CNY'::amount, 'and the charge left the cash');

-- an hour-boundary table: creation at :59:59, on the hour, and just after it
SELECT create_instance(:rich, :m4, 1, at => '2026-11-02 11:59:59+08') AS i_5959 \gset
SELECT create_instance(:rich, :m4, 1, at => '2026-11-02 12:00:00.000001+08') AS i_after \gset
SELECT tick('2026-11-02 13:00+08') IS NOT NULL AS ticked;
SELECT results_eq(format($$SELECT instance_id, seconds, charge FROM gpubill.order_line WHERE instance_id IN (%s, %s)
						   ORDER BY lower(usage), instance_id$$, :i_5959, :i_after),
	format($$VALUES (%s::bigint, 1::bigint, '0.00 CNY'::gpubill.amount),
					(%s::bigint, 3600::bigint, '1.80 CNY'::gpubill.amount),
					(%s::bigint, 3599::bigint, '1.80 CNY'::gpubill.amount)$$, :i_5959, :i_5959, :i_after),
	'created at 11:59:59: 1 s at 12:00 (0.0005 rounds to 0.00), then whole hours; created just after 12:00: 3599 whole seconds');

-- R-CLK-1: after hours without a tick, every boundary is settled at its own instant
SELECT is(tick('2026-11-02 18:00+08')->'payg'->>'boundaries', '5', 'five missed hours are five settlements');
SELECT results_eq(format($$SELECT upper(usage) FROM gpubill.order_line WHERE instance_id = %s ORDER BY 1$$, :i1),
	$$SELECT generate_series('2026-11-02 11:00+08'::timestamptz, '2026-11-02 18:00+08', '1 hour')$$,
	'each hour has its own order line, in time order');
-- R-CLK-2: tick twice = once
SELECT count(*) AS lines_before FROM order_line \gset
SELECT count(*) AS transfers_before FROM transfer \gset
SELECT is(tick('2026-11-02 18:00+08')->'payg'->>'settled', '0', 'a second tick at the same time settles nothing');
SELECT is((SELECT count(*) FROM order_line), :lines_before::bigint, 'and writes no order line');
SELECT is((SELECT count(*) FROM transfer), :transfers_before::bigint, 'and moves no money');

-- R-PAYG-5: stop mid-hour charges the partial hour by the second and releases the hold
SELECT stop_instance(:i1, '2026-11-02 18:20:30+08');
SELECT results_eq(format($$SELECT kind, seconds, charge FROM gpubill.order_line WHERE instance_id = %s AND kind = 'payg_stop'$$, :i1),
	$$VALUES ('payg_stop', 1230::bigint, '1.23 CNY'::gpubill.amount)$$, 'stop at 18:20:30 charges 1230 s = 1.23');
SELECT is(instance_state(:i1), 'stopped', 'the instance is stopped');
SELECT is((SELECT count(*) FROM hold h WHERE h.object_id = :i1 AND NOT EXISTS (SELECT FROM hold_end e WHERE e.hold_id = h.hold_id)),
		  0::bigint, 'its hold is released');
-- R-PAYG-3: a stopped instance costs nothing
SELECT tick('2026-11-02 23:00+08') IS NOT NULL AS ticked;
SELECT is((SELECT max(upper(usage)) FROM order_line WHERE instance_id = :i1), '2026-11-02 18:20:30+08'::timestamptz,
		  'no charge after the stop');
-- R-PAYG-6: a stopped instance permits only start and release; its data may be erased 24 h later
SELECT throws_ok(format($$SELECT gpubill.stop_instance(%s, '2026-11-03 09:00+08')$$, :i1), 'GB004', NULL,
				 'stopping a stopped instance raises GB004');
SELECT results_eq(format($$SELECT kind, due_at FROM gpubill.lifecycle_events WHERE subject_id = %s AND cancelled_at IS NULL$$, :i1),
	$$VALUES ('local_data_erase_due', '2026-11-03 18:20:30+08'::timestamptz)$$, 'local data erasable 24 h after the stop');

-- R-PAYG-5: start again: a new hold; the pending erase is cancelled
SELECT start_instance(:i1, '2026-11-03 09:15+08');
SELECT is(instance_state(:i1), 'running', 'a stopped instance starts again');
SELECT is((SELECT count(*) FROM lifecycle_events WHERE subject_id = :i1 AND cancelled_at IS NOT NULL), 1::bigint,
		  'starting cancels the pending erase');
SELECT is(tick('2026-11-03 10:00+08')->'payg'->>'boundaries', '11', 'the 11 hours since the last tick are settled');
SELECT is((SELECT seconds FROM order_line WHERE instance_id = :i1 AND lower(usage) = '2026-11-03 09:15+08'), 2700::bigint,
		  'billing restarts at the start');

-- R-CLK-5: an explicit at before the instance's last event is refused; a defaulted one is not
SELECT throws_ok(format($$SELECT gpubill.stop_instance(%s, '2026-11-03 09:59+08')$$, :i1), 'GB004', NULL,
				 'stop before the last settlement raises GB004');
SELECT is(instance_state(:i1), 'running', 'and changes nothing');

-- R-PAYG-4: when the next hour cannot be held, the instance stops at the settlement instant
SELECT open_customer('payg-poor', 'CNY', '2026-11-01') AS poor \gset
SELECT recharge(:poor, '5.00 CNY', 'alipay', 'payg-poor-1', '2026-11-01') IS NOT NULL AS funded;
SELECT create_instance(:poor, :m4, 1, at => '2026-11-04 10:30+08') AS ip \gset
SELECT tick('2026-11-04 14:00+08') IS NOT NULL AS ticked;
SELECT results_eq(format($$SELECT state, stop_reason, stopped_at FROM gpubill.instance WHERE instance_id = %s$$, :ip),
	$$VALUES ('stopped', 'insufficient_balance', '2026-11-04 13:00+08'::timestamptz)$$,
	'5.00: 1.00 at 11:00, 2.00 at 12:00 (2.00 still held), 2.00 at 13:00, then no funds: stopped at 13:00');
SELECT is((SELECT cash FROM wallet(:poor)), '0.00 CNY'::amount, 'every charge was taken, nothing more');

-- R-PAYG-2: limits by real recharges
SELECT open_customer('payg-new', 'CNY', '2026-11-01') AS newbie \gset
SELECT grant_voucher(:newbie, '50.00 CNY', NULL, '2026-11-01') IS NOT NULL AS vouchers_only;
SELECT lives_ok(format($$SELECT gpubill.create_instance(%s, %s, 1, at => '2026-11-05 10:00+08')$$, :newbie, :m4),
				'never recharged: one 1-GPU instance (vouchers pay)');
SELECT throws_ok(format($$SELECT gpubill.create_instance(%s, %s, 1, at => '2026-11-05 10:00+08')$$, :newbie, :m4), 'GB002', NULL,
				 'never recharged: a second instance raises GB002 (vouchers do not count as recharges)');
SELECT open_customer('payg-new2', 'CNY', '2026-11-01') AS newbie2 \gset
SELECT grant_voucher(:newbie2, '50.00 CNY', NULL, '2026-11-01') IS NOT NULL AS vouchers_only;
SELECT throws_ok(format($$SELECT gpubill.create_instance(%s, %s, 2, at => '2026-11-05 10:00+08')$$, :newbie2, :m4), 'GB002', NULL,
				 'never recharged: 2 GPUs raise GB002');
SELECT open_customer('payg-small', 'CNY', '2026-11-01') AS small \gset
SELECT recharge(:small, '99.99 CNY', 'stripe', 'payg-small-1', '2026-11-01') IS NOT NULL AS funded;
SELECT lives_ok(format($$SELECT gpubill.create_instance(%s, %s, 1, at => '2026-11-05 10:00+08')$$, :small, :m4), 'recharged 99.99: 1st');
SELECT lives_ok(format($$SELECT gpubill.create_instance(%s, %s, 1, at => '2026-11-05 10:00+08')$$, :small, :m4), '2nd');
SELECT throws_ok(format($$SELECT gpubill.create_instance(%s, %s, 2, at => '2026-11-05 10:00+08')$$, :small, :m_cash), 'GB002', NULL,
				 'recharged below 100: 2 GPUs raise GB002');
SELECT lives_ok(format($$SELECT gpubill.create_instance(%s, %s, 1, at => '2026-11-05 10:00+08')$$, :small, :m_cash), '3rd');
SELECT throws_ok(format($$SELECT gpubill.create_instance(%s, %s, 1, at => '2026-11-05 10:00+08')$$, :small, :m4), 'GB002', NULL,
				 'a 4th instance raises GB002');
SELECT open_customer('payg-big', 'CNY', '2026-11-01') AS big \gset
SELECT recharge(:big, '100.00 CNY', 'stripe', 'payg-big-1', '2026-11-01') IS NOT NULL AS funded;
SELECT lives_ok(format($$SELECT gpubill.create_instance(%s, %s, 3, at => '2026-11-05 10:00+08')$$, :big, :m4),
				'recharged exactly 100: 3 GPUs');

-- R-PRT-1: the GPUs of running instances never exceed the machine's
SELECT throws_ok(format($$SELECT gpubill.create_instance(%s, %s, 1, at => '2026-11-05 10:00+08')$$, :rich, :m_cash), 'GB002', NULL,
				 'a full machine raises GB002');
SELECT throws_ok(format($$SELECT gpubill.create_instance(%s, %s, 17, at => '2026-11-05 10:00+08')$$, :rich, :m4), 'GB002', NULL,
				 'more GPUs than the machine has raises GB002');

-- released instances no longer count; 10 days after a stop tick releases (R-PAYG-6)
SELECT release_instance(instance_id, '2026-11-06 10:00+08') FROM instance WHERE customer_id = :newbie;
SELECT is((SELECT state FROM instance WHERE customer_id = :newbie), 'released', 'release_instance releases a running instance');
SELECT lives_ok(format($$SELECT gpubill.create_instance(%s, %s, 1, at => '2026-11-06 10:00+08')$$, :newbie, :m4),
				'a released instance does not count toward the limit');
SELECT stop_instance(:i_5959, '2026-11-06 10:00+08');
SELECT tick('2026-11-16 09:59:59+08') IS NOT NULL AS ticked;
SELECT is(instance_state(:i_5959), 'stopped', 'not released before 10 days');
SELECT isnt((tick('2026-11-16 10:00+08')->>'released')::int, 0, 'released 10 days after the stop');
SELECT is(instance_state(:i_5959), 'released', 'the stopped instance is released');
SELECT results_eq(format($$SELECT kind, due_at FROM gpubill.lifecycle_events WHERE subject_id = %s AND kind = 'instance_release_due'$$, :i_5959),
	$$VALUES ('instance_release_due', '2026-11-16 10:00+08'::timestamptz)$$, 'and instance_release_due is raised');
SELECT throws_ok(format($$SELECT gpubill.start_instance(%s)$$, :i_5959), 'GB004', NULL, 'a released instance cannot start');

-- R-RCH-4 / R-PRT-3: a machine refusing vouchers is paid in cash only
SELECT open_customer('payg-vouchers', 'CNY', '2026-11-01') AS vc \gset
SELECT recharge(:vc, '10.00 CNY', 'paypal', 'payg-vc-1', '2026-11-01') IS NOT NULL AS funded;
SELECT grant_voucher(:vc, '100.00 CNY', NULL, '2026-11-01') IS NOT NULL AS vouchers;
SELECT stop_instance(instance_id, '2026-11-20 09:00+08') FROM instance WHERE machine_id = :m_cash AND state = 'running';
SELECT create_instance(:vc, :m_cash, 1, at => '2026-11-20 10:00+08') AS icash \gset
SELECT tick('2026-11-20 12:00+08') IS NOT NULL AS ticked;
SELECT results_eq(format($$SELECT sum(voucher_paid), sum(cash_paid), sum(partner_income), sum(platform_fee)
						   FROM gpubill.order_line WHERE instance_id = %s$$, :icash),
	$$VALUES ('0 CNY'::gpubill.amount, '6.00 CNY'::gpubill.amount, '4.80 CNY'::gpubill.amount, '1.20 CNY'::gpubill.amount)$$,
	'vouchers are not used where the machine refuses them; cash splits 80/20');
SELECT is((SELECT held FROM wallet(:vc)), '3.00 CNY'::amount, 'and the next hour is held from cash (4.00 left)');

-- bad input: clear errors, nothing written
SELECT count(*) AS instances_before FROM instance \gset
SELECT throws_ok(format($$SELECT gpubill.create_instance(987654321, %s, 1)$$, :m4), 'P0002', NULL, 'unknown customer');
SELECT throws_ok(format($$SELECT gpubill.create_instance(%s, 987654321, 1)$$, :rich), 'P0002', NULL, 'unknown machine');
SELECT throws_ok(format($$SELECT gpubill.create_instance(%s, %s, 0)$$, :rich, :m4), '22023', NULL, 'zero GPUs');
SELECT throws_ok(format($$SELECT gpubill.create_instance(%s, %s, 1, 'hourly')$$, :rich, :m4), '22023', NULL, 'unknown billing');
SELECT open_customer('payg-usd', 'USD', '2026-11-01') AS usd \gset
SELECT throws_ok(format($$SELECT gpubill.create_instance(%s, %s, 1)$$, :usd, :m4), 'GB003', NULL, 'a USD customer on a CNY machine');
SELECT throws_ok($$SELECT gpubill.stop_instance(987654321)$$, 'P0002', NULL, 'unknown instance');
SELECT is((SELECT count(*) FROM instance), :instances_before::bigint, 'refused calls leave nothing behind');
SELECT is((SELECT count(*) FROM verify() WHERE NOT ok), 0::bigint, 'verify() is all ok');
SELECT is((SELECT sum(charge) FROM order_line), (SELECT sum(amount) FROM transfer WHERE object_type = 'order_line'),
		  'order lines agree with the journal');

-- R-PAYG-8: a running PAYG instance is resized: usage settled at the old fee, the new fee held and billed
SELECT open_customer('payg-rs', 'CNY', '2026-11-01') AS rs \gset
SELECT recharge(:rs, '150.00 CNY', 'wechat', 'payg-rs-1', '2026-11-01') IS NOT NULL AS funded;
SELECT create_instance(:rs, :m4, 1, at => '2026-11-20 10:00+08') AS irs \gset
SELECT lives_ok(format($$SELECT resize_instance(%s, 3, '2026-11-20 10:30+08')$$, :irs), 'resized from 1 to 3 GPUs at 10:30');
SELECT results_eq(format($$SELECT kind, usage, charge FROM order_line WHERE instance_id = %s ORDER BY line_id$$, :irs),
	$$VALUES ('payg_stop', tstzrange('2026-11-20 10:00+08', '2026-11-20 10:30+08'), '1.00 CNY'::amount)$$,
	'the half hour at 2.00 is charged at the old fee');
SELECT results_eq(format($$SELECT gpus, hourly_fee, (SELECT held FROM wallet(%s)) FROM instance WHERE instance_id = %s$$, :rs, :irs),
	$$VALUES (3, '6.00 CNY'::amount, '6.00 CNY'::amount)$$, 'the new fee (3 x 2.00) is held');
SELECT tick('2026-11-20 11:00+08') IS NOT NULL AS ticked;
SELECT is((SELECT charge FROM order_line WHERE instance_id = :irs ORDER BY line_id DESC LIMIT 1), '3.00 CNY'::amount,
		  'the next half hour is billed at the new fee');
SELECT throws_ok(format($$SELECT resize_instance(%s, 17, '2026-11-20 11:10+08')$$, :irs), 'GB002', NULL,
				 'beyond the machine''s GPUs: GB002');
SELECT create_instance(:rich, :m4, 1, at => '2026-11-20 11:00+08') IS NOT NULL AS other;
SELECT throws_ok(format($$SELECT resize_instance(%s, 16, '2026-11-20 11:10+08')$$, :irs), 'GB002', NULL,
				 'beyond what the machine has free: GB002');
SELECT results_eq(format($$SELECT gpus, billed_until FROM instance WHERE instance_id = %s$$, :irs),
	$$VALUES (3, '2026-11-20 11:00+08'::timestamptz)$$, 'a refused resize changes nothing');
SELECT open_customer('payg-rs-poor', 'CNY', '2026-11-01') AS rp \gset
SELECT recharge(:rp, '100.00 CNY', 'wechat', 'payg-rp-1', '2026-11-01') IS NOT NULL AS funded;
SELECT create_instance(:rp, :m4, 1, at => '2026-11-20 10:00+08') AS irp \gset
SELECT place_hold(:rp, '96.00 CNY', at => '2026-11-20 10:00+08') IS NOT NULL AS mostly_held;
SELECT throws_ok(format($$SELECT resize_instance(%s, 3, '2026-11-20 10:30+08')$$, :irp), 'GB001', NULL,
				 'a new fee that available cannot cover: GB001');
SELECT results_eq(format($$SELECT i.gpus, i.billed_until, w.held FROM instance i, wallet(%s) w WHERE i.instance_id = %s$$, :rp, :irp),
	$$VALUES (1, '2026-11-20 10:00+08'::timestamptz, '98.00 CNY'::amount)$$, 'and nothing changes: no charge, the old hold');
SELECT is((SELECT count(*) FROM verify() WHERE NOT ok), 0::bigint, 'verify() is all ok after the resizes');

SELECT * FROM finish();
ROLLBACK;
