/*
 * 40_settlement.sql — pay-as-you-go settlement (R-PAYG-4, R-PAYG-5), set-based.
 *
 * settle_payg(b) settles, in a few statements, every running PAYG instance
 * whose next hourly settlement is b: the usage since billed_until is charged
 * (hourly fee x seconds / 3600, rounded to cents) and captured from the
 * instance's hold — vouchers first (in instance order within a customer)
 * unless the machine refuses them, the cash part split into partner income
 * and platform fee — as an order line and its transfers; then a new hold
 * for the next hour is placed, or, when the customer's funds cannot cover
 * it, the instance stops at b (insufficient_balance).  A customer's
 * instances are re-held in instance order; the first one that does not fit
 * stops, with every later one of that customer due at b.
 *
 * With stop_reason given it settles only the instance named, up to b, and
 * stops it instead of holding again (a stop in the middle of an hour); with
 * stop_reason 'convert' it leaves it running without a hold (R-PRE-4); with
 * 'interim' it holds again up to the next hour, as at a boundary (an outage
 * report settles the instance up to its time, R-PRT-8).
 * A usage_hourly run that ends is charged up to ceil(hours) x hourly fee
 * (R-PAYG-7).  Vouchers expired by b are written off first (R-RCH-3).
 *
 * Locks: the customers' wallets in customer order, then the instances in
 * instance order — the order every API call uses (wallet, then instance).
 *
 * Map (scripts/file-map.pl):
 * Internals: settle_payg, settle_payg_until.
 * Uses: 1_types, 2_base, 3_ledger.
 */

CREATE FUNCTION @extschema@.settle_payg(b timestamptz, only_instance bigint DEFAULT NULL, stop_reason text DEFAULT NULL,
										 OUT settled integer, OUT stopped integer)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET plan_cache_mode = force_custom_plan	/* a generic plan cannot see which CASE branch holds: seq scans */
	AS $$
DECLARE
	fee_rate numeric := @extschema@.setting_value('service_fee_rate')::numeric;
	hold_hours integer := @extschema@.setting_value('payg_hold_hours')::integer;
	next_b timestamptz := @extschema@.upper(@extschema@.billing_period('hour', b, @extschema@.setting_value('billing_timezone')));
	erase_after interval := @extschema@.setting_value('local_data_hours')::integer * interval '1 hour';
BEGIN
	/*
	 * The customers settled are those whose wallets are locked here (an API
	 * call may make an instance due at b while this runs: its customer is
	 * settled by the next round of settle_payg_until, wallet first).  A tick
	 * keeps them in a temporary table (local buffers: no memory per row).
	 */
	PERFORM @extschema@.prepare_session_tables();
	IF only_instance IS NULL THEN
		DELETE FROM pg_temp.gpubill_settling;
		INSERT INTO pg_temp.gpubill_settling
		SELECT w.customer_id FROM @extschema@.wallet w
		WHERE w.customer_id IN (SELECT i.customer_id FROM @extschema@.instance i WHERE i.state = 'running' AND i.next_settle_at = b)
		  AND w.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
		ORDER BY w.customer_id FOR UPDATE;
	END IF;
	PERFORM @extschema@.expire_vouchers(b, ARRAY(
		SELECT w.customer_id FROM @extschema@.wallet w
		WHERE w.voucher_expiry <= b
		  AND (CASE WHEN only_instance IS NULL THEN w.customer_id IN (SELECT s.customer_id FROM pg_temp.gpubill_settling s)
					ELSE w.customer_id = (SELECT i.customer_id FROM @extschema@.instance i WHERE i.instance_id = only_instance) END)));
	PERFORM pg_catalog.count(*) FROM (SELECT FROM @extschema@.instance i
	WHERE i.state = 'running' AND i.billing = 'payg'
	  AND (CASE WHEN settle_payg.stop_reason IS NULL THEN i.next_settle_at = b ELSE i.instance_id = only_instance END)
	  AND (CASE WHEN only_instance IS NULL THEN i.customer_id IN (SELECT s.customer_id FROM pg_temp.gpubill_settling s)
				ELSE i.instance_id = only_instance END)
	ORDER BY i.instance_id FOR UPDATE) locked;	/* one row back, not one per row locked */

	/* 1. charge the usage up to b and capture it from the holds (the ledger's voucher-first capture) */
	INSERT INTO pg_temp.gpubill_capture (customer_id, seq, at, charge, cash_only, hold_id, income_account, fee_rate,
										 object_type, object_id)
	SELECT d.customer_id, d.instance_id, b,
		   CASE WHEN settle_payg.stop_reason IS NOT NULL AND settle_payg.stop_reason <> 'interim' AND d.product = 'usage_hourly' THEN
				/* R-PAYG-7: a run costs at least ceil(hours) x the hourly fee */
				@extschema@.round(d.hourly_fee * pg_catalog.ceil(EXTRACT(epoch FROM b - d.run_started_at) / 3600)::numeric, 2)
				- coalesce((SELECT @extschema@.sum(o.charge) FROM @extschema@.order_line o
							WHERE o.instance_id = d.instance_id AND pg_catalog.upper(o.usage) > d.run_started_at),
						   @extschema@.zero(@extschema@.currency(d.hourly_fee)))
		   ELSE @extschema@.prorate(d.hourly_fee, pg_catalog.floor(EXTRACT(epoch FROM b - d.billed_until))::bigint) END,
		   d.cash_only, d.hold_id, a.account_id, fee_rate, 'order_line', pg_catalog.nextval('@extschema@.id_seq')
	FROM @extschema@.instance d
	LEFT JOIN @extschema@.account a ON a.owner_kind = 'partner' AND a.owner_id = d.partner_id AND a.purpose = 'income'
								   AND a.currency = @extschema@.currency(d.hourly_fee)
	WHERE d.state = 'running' AND d.billing = 'payg' AND d.hold_id IS NOT NULL
	  AND (CASE WHEN settle_payg.stop_reason IS NULL THEN d.next_settle_at = b ELSE d.instance_id = only_instance END)
	  AND (CASE WHEN only_instance IS NULL THEN d.customer_id IN (SELECT s.customer_id FROM pg_temp.gpubill_settling s)
				ELSE d.instance_id = only_instance END);
	settled := @extschema@.capture_staged();
	INSERT INTO @extschema@.order_line (line_id, customer_id, instance_id, machine_id, partner_id, kind, usage, seconds,
										hourly_fee, charge, voucher_paid, cash_paid, partner_income, platform_fee, at)
	SELECT c.object_id, c.customer_id, i.instance_id, i.machine_id, i.partner_id,
		   CASE WHEN settle_payg.stop_reason IS NULL OR settle_payg.stop_reason = 'interim' THEN 'payg' ELSE 'payg_stop' END,
		   pg_catalog.tstzrange(i.billed_until, b, CASE WHEN x.seconds > 0 THEN '[)' ELSE '[]' END),
		   x.seconds, i.hourly_fee, c.charge, c.voucher_paid, c.cash_paid, c.partner_income, c.cash_paid - c.partner_income, b
	FROM pg_temp.gpubill_capture c
	JOIN @extschema@.instance i ON i.instance_id = c.seq
	CROSS JOIN LATERAL (SELECT pg_catalog.floor(EXTRACT(epoch FROM b - i.billed_until))::bigint AS seconds) x
	WHERE x.seconds > 0 OR @extschema@.micros(c.charge) > 0;	/* a stop on the settlement instant charges nothing */
	TRUNCATE pg_temp.gpubill_capture;

	/* 2. hold the next hour (the ledger's holds, in instance order per customer), or stop */
	IF settle_payg.stop_reason IS NULL OR settle_payg.stop_reason = 'interim' THEN
		INSERT INTO pg_temp.gpubill_hold_ask (customer_id, seq, at, amount, cash_only, object_type, object_id)
		SELECT i.customer_id, i.instance_id, b, @extschema@.round(i.hourly_fee, 2) * hold_hours, i.cash_only, 'instance', i.instance_id
		FROM @extschema@.instance i
		WHERE i.state = 'running' AND i.billing = 'payg'
		  AND (CASE WHEN settle_payg.stop_reason IS NULL THEN i.next_settle_at = b ELSE i.instance_id = only_instance END)
		  AND (CASE WHEN only_instance IS NULL THEN i.customer_id IN (SELECT s.customer_id FROM pg_temp.gpubill_settling s)
					ELSE i.instance_id = only_instance END);
		PERFORM @extschema@.hold_staged();
	END IF;
	WITH verdict AS (
		SELECT i.instance_id, a.hold_id AS new_hold, a.hold_id IS NOT NULL AS keep
		FROM @extschema@.instance i
		LEFT JOIN pg_temp.gpubill_hold_ask a ON a.seq = i.instance_id
		WHERE i.state = 'running' AND i.billing = 'payg'
		  AND (CASE WHEN settle_payg.stop_reason IS NULL THEN i.next_settle_at = b ELSE i.instance_id = only_instance END)
		  AND (CASE WHEN only_instance IS NULL THEN i.customer_id IN (SELECT s.customer_id FROM pg_temp.gpubill_settling s)
					ELSE i.instance_id = only_instance END)
	), moved AS (
		UPDATE @extschema@.instance i
		SET billed_until = b, last_event_at = GREATEST(i.last_event_at, b), hold_id = v.new_hold,
			next_settle_at = CASE WHEN v.keep THEN next_b END,
			state = CASE WHEN v.keep OR settle_payg.stop_reason = 'convert' THEN i.state ELSE 'stopped' END,
			stopped_at = CASE WHEN v.keep OR settle_payg.stop_reason = 'convert' THEN i.stopped_at ELSE b END,
			stop_reason = CASE WHEN v.keep OR settle_payg.stop_reason = 'convert' THEN i.stop_reason
							   WHEN settle_payg.stop_reason IS NULL OR settle_payg.stop_reason = 'interim' THEN 'insufficient_balance'
							   ELSE settle_payg.stop_reason END
		FROM verdict v
		WHERE i.instance_id = v.instance_id
		RETURNING i.instance_id, i.customer_id, i.state
	), stops AS (
		SELECT m.instance_id, m.customer_id FROM moved m WHERE m.state = 'stopped'
	)
	/* R-PAYG-6: local data may be erased a day after the stop */
	INSERT INTO @extschema@.lifecycle_event (kind, customer_id, subject_type, subject_id, due_at, created_at)
	SELECT 'local_data_erase_due', s.customer_id, 'instance', s.instance_id, b + erase_after, b FROM stops s
	ON CONFLICT DO NOTHING;
	GET DIAGNOSTICS stopped = ROW_COUNT;
	TRUNCATE pg_temp.gpubill_hold_ask;
END
$$;
COMMENT ON FUNCTION @extschema@.settle_payg(timestamptz, bigint, text) IS 'Settle the PAYG instances due at b (or stop one at b): charge, capture, hold the next hour or stop (R-PAYG-4, R-PAYG-5)';

-- every hourly boundary due up to t, in time order (catch-up, R-CLK-1)
CREATE FUNCTION @extschema@.settle_payg_until(t timestamptz, only_instance bigint DEFAULT NULL,
											   OUT boundaries integer, OUT settled integer, OUT stopped integer)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	b timestamptz;
	r record;
BEGIN
	boundaries := 0; settled := 0; stopped := 0;
	LOOP
		SELECT pg_catalog.min(i.next_settle_at) INTO b FROM @extschema@.instance i
		WHERE i.state = 'running' AND i.next_settle_at <= t AND (only_instance IS NULL OR i.instance_id = only_instance);
		EXIT WHEN b IS NULL;
		r := @extschema@.settle_payg(b, only_instance);
		boundaries := boundaries + 1;
		settled := settled + r.settled;
		stopped := stopped + r.stopped;
	END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.settle_payg_until(timestamptz, bigint) IS 'Settle every hourly boundary due up to t, each at its own instant, in time order';
