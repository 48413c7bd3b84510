/*
 * 40_settlement.sql — pay-as-you-go settlement (R-PAYG-4, R-PAYG-5), set-based,
 * by phase.
 *
 * Two entry points choose the instances (the due set) and stage their
 * charges; the phases after them are shared (settle_staged):
 *   settle_boundary(b)            every running PAYG instance whose next
 *                                 hourly settlement is b (tick), of the
 *                                 customers whose wallets it locks;
 *   settle_instance(i, b, then)   one instance up to b: then 'interim' holds
 *                                 again as at a boundary (an outage report, a
 *                                 catch-up: settle_instance_until), 'convert'
 *                                 leaves it running without a hold (R-PRE-4),
 *                                 any other value stops it for that reason.
 * The phases: the usage since billed_until is charged (hourly fee x seconds
 * / 3600, rounded to cents; a usage_hourly run that ends at least ceil(hours)
 * x the hourly fee, R-PAYG-7) and captured from the instance's hold by the
 * ledger (capture_staged: vouchers first in instance order within a
 * customer unless the machine refuses them, the cash part split into partner
 * income and platform fee), written as order lines; then the next hour is
 * held (in the same ledger step: a customer's instances in instance order,
 * the first that does not fit refused with every later one) or the instance
 * stops at b (insufficient_balance).  Vouchers expired by b are written off first
 * (R-RCH-3).
 *
 * The due set is staged once, in the ledger's capture stage with what each
 * order line needs (pg_temp.gpubill_capture), so no step after the choice
 * reads the instance table by anything but its key: one instance settled
 * costs the same whatever the number of instances.
 *
 * Locks: the customers' wallets in customer order; an instance is locked by
 * its update, under its customer's wallet like in every API call (wallet,
 * then instance).
 *
 * Map (scripts/file-map.pl):
 * Internals: prepare_settlement_tables, run_end_charge, settle_boundary,
 *   settle_instance, settle_instance_until, settle_interim, settle_staged,
 *   usage_charge.
 * Uses: 1_types, 2_base, 3_ledger.
 */

-- R-PAYG-4: the usage of an instance from billed_until up to b, prorated by the second
CREATE FUNCTION @extschema@.usage_charge(hourly_fee @extschema@.amount, billed_until timestamptz, b timestamptz)
	RETURNS @extschema@.amount
	LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$ SELECT @extschema@.prorate(hourly_fee, pg_catalog.floor(EXTRACT(epoch FROM b - billed_until))::bigint) $$;
COMMENT ON FUNCTION @extschema@.usage_charge(@extschema@.amount, timestamptz, timestamptz) IS 'The charge of an instance''s usage from billed_until up to b: hourly fee x seconds / 3600, rounded to cents (R-PAYG-4)';

-- R-PAYG-7: what ends a usage_hourly run at b: at least ceil(hours) x the hourly fee over the run, less what it was charged
CREATE FUNCTION @extschema@.run_end_charge(instance bigint, hourly_fee @extschema@.amount, run_started_at timestamptz, b timestamptz)
	RETURNS @extschema@.amount
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
	SELECT @extschema@.round(hourly_fee * pg_catalog.ceil(EXTRACT(epoch FROM b - run_started_at) / 3600)::numeric, 2)
		   - coalesce((SELECT @extschema@.sum(o.charge) FROM @extschema@.order_line o
					   WHERE o.instance_id = instance AND pg_catalog.upper(o.usage) > run_started_at),
					  @extschema@.zero(@extschema@.currency(hourly_fee)))
$$;
COMMENT ON FUNCTION @extschema@.run_end_charge(bigint, @extschema@.amount, timestamptz, timestamptz) IS 'The charge that ends a usage_hourly run at b: at least ceil(hours) x the hourly fee over the run, less what the run was charged (R-PAYG-7)';

-- the settlement's session table: the ledger's capture stage with what each instance's order line needs
CREATE FUNCTION @extschema@.prepare_settlement_tables() RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	PERFORM @extschema@.prepare_session_tables(ARRAY[
		['gpubill_capture', @extschema@.capture_stage_columns()
							|| ', machine_id bigint NOT NULL, partner_id bigint NOT NULL, '
							   'hourly_fee @extschema@.amount NOT NULL, billed_until timestamptz NOT NULL']]);
END
$$;
COMMENT ON FUNCTION @extschema@.prepare_settlement_tables() IS 'Create (or check) the session tables of PAYG settlement: the ledger''s tables and its capture stage (pg_temp.gpubill_capture) with each instance''s order-line columns';

/*
 * The shared phases, over the due set the entry point staged in
 * pg_temp.gpubill_capture (one row per instance: seq is the instance id,
 * object_id its order line's id; the ids drawn in customer and instance
 * order) with, for the instances that are to run on, the hold of their
 * next hour.  The ledger captures the charges and places the next holds
 * that fit (capture_staged); then the order lines of kind line_kind with the
 * split, and each instance moved on with its new hold — or, its hold
 * refused, stopped for unheld_reason (with its erase-due event), or (NULL: a
 * conversion) running on without a hold.
 */
CREATE FUNCTION @extschema@.settle_staged(b timestamptz, line_kind text, unheld_reason text,
										   OUT settled integer, OUT stopped integer)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	cfg @extschema@.payg_settings := @extschema@.payg_settings();
	next_b timestamptz := @extschema@.upper(@extschema@.billing_period('hour', b, @extschema@.billing_timezone()));
	held integer;
BEGIN
	/* 1. the usage up to b captured from the holds (the ledger's voucher-first capture), the next hours held */
	held := @extschema@.capture_staged(b, 'order_line', 'instance');

	/* 2. the order lines, with the ledger's split */
	INSERT INTO @extschema@.order_line (line_id, customer_id, instance_id, machine_id, partner_id, kind, usage, seconds,
										hourly_fee, charge, voucher_paid, cash_paid, partner_income, platform_fee, at)
	SELECT c.object_id, c.customer_id, c.seq, c.machine_id, c.partner_id, line_kind,
		   pg_catalog.tstzrange(c.billed_until, b, CASE WHEN x.seconds > 0 THEN '[)' ELSE '[]' END),
		   x.seconds, c.hourly_fee, c.charge, c.charge - c.cash, c.cash, c.income, c.cash - c.income, b
	FROM pg_temp.gpubill_capture c
	CROSS JOIN LATERAL (SELECT pg_catalog.floor(EXTRACT(epoch FROM b - c.billed_until))::bigint AS seconds) x
	WHERE x.seconds > 0 OR @extschema@.micros(c.charge) > 0;	/* a stop on the settlement instant charges nothing */

	/* 3. each instance moves on to the next hour with its hold, or stops (or, converted, runs on unheld) */
	UPDATE @extschema@.instance i
	SET billed_until = b, last_event_at = GREATEST(i.last_event_at, b), hold_id = c.next_hold_id,
		next_settle_at = CASE WHEN c.next_hold_id IS NOT NULL THEN next_b END,
		state = CASE WHEN c.next_hold_id IS NOT NULL OR unheld_reason IS NULL THEN i.state ELSE 'stopped' END,
		stopped_at = CASE WHEN c.next_hold_id IS NOT NULL OR unheld_reason IS NULL THEN i.stopped_at ELSE b END,
		stop_reason = CASE WHEN c.next_hold_id IS NOT NULL OR unheld_reason IS NULL THEN i.stop_reason ELSE unheld_reason END
	FROM pg_temp.gpubill_capture c
	WHERE i.instance_id = c.seq;
	GET DIAGNOSTICS settled = ROW_COUNT;
	stopped := 0;
	IF settled > held AND unheld_reason IS NOT NULL THEN
		/* R-PAYG-6: local data may be erased a day after the stop */
		INSERT INTO @extschema@.lifecycle_event (kind, customer_id, subject_type, subject_id, due_at, created_at)
		SELECT 'local_data_erase_due', c.customer_id, 'instance', c.seq, @extschema@.local_data_erase_at(b, cfg), b
		FROM pg_temp.gpubill_capture c
		WHERE c.next_hold_id IS NULL
		ON CONFLICT DO NOTHING;
		GET DIAGNOSTICS stopped = ROW_COUNT;
	END IF;
	/* emptied for the next settlement of this transaction (TRUNCATE would replan these statements at every call) */
	PERFORM @extschema@.empty_stage('pg_temp.gpubill_capture', settled);
END
$$;
COMMENT ON FUNCTION @extschema@.settle_staged(timestamptz, text, text) IS 'The shared phases of PAYG settlement over the staged due set: capture and next holds (the ledger), order lines, instances moved on or stopped (R-PAYG-4, R-PAYG-5)';

/*
 * Every instance due at the boundary b.  The customers settled are those
 * whose wallets are locked here (an API call may make an instance due at b
 * while this runs: its customer is settled at its next call or tick,
 * wallet first), in the scope of tick's pass; they are kept in a temporary
 * table (local buffers: no memory per row).  The instances need no lock of
 * their own: every call locks an instance only after its customer's wallet
 * (lock_instance, lock_machines, lock_wallets), and these wallets are held.
 */
CREATE FUNCTION @extschema@.settle_boundary(b timestamptz, OUT settled integer, OUT stopped integer)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	fee_rate numeric := (@extschema@.partner_settings()).service_fee_rate;
	cfg @extschema@.payg_settings := @extschema@.payg_settings();
	r record;
BEGIN
	PERFORM @extschema@.prepare_settlement_tables();
	DELETE FROM pg_temp.gpubill_settling;
	INSERT INTO pg_temp.gpubill_settling
	SELECT w.customer_id FROM @extschema@.wallet w
	WHERE w.customer_id IN (SELECT i.customer_id FROM @extschema@.instance i WHERE i.state = 'running' AND i.next_settle_at = b)
	  AND w.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
	ORDER BY w.customer_id FOR UPDATE;
	PERFORM @extschema@.expire_vouchers(b, ARRAY(
		SELECT w.customer_id FROM @extschema@.wallet w
		WHERE w.voucher_expiry <= b AND w.customer_id IN (SELECT s.customer_id FROM pg_temp.gpubill_settling s)));
	/* the due set: each instance's charge up to b, its hold, and the hold of its next hour */
	INSERT INTO pg_temp.gpubill_capture (customer_id, seq, charge, cash_only, hold_id, hold_amount, hold_cash_only,
										 income_account, fee_rate, cash, income, object_id, income_leg_id, fee_leg_id, next_hold, next_hold_id,
										 machine_id, partner_id, hourly_fee, billed_until)
	SELECT d.customer_id, d.instance_id, d.charge,
		   d.cash_only, d.hold_id, h.amount, h.cash_only, a.account_id, fee_rate,
		   d.charge, @extschema@.capture_income(d.charge, a.account_id, fee_rate),	/* the split as if no voucher paid */
		   pg_catalog.nextval('@extschema@.id_seq'),
		   pg_catalog.nextval('@extschema@.id_seq'), pg_catalog.nextval('@extschema@.id_seq'),
		   @extschema@.payg_hold(d.hourly_fee, cfg), pg_catalog.nextval('@extschema@.id_seq'),
		   d.machine_id, d.partner_id, d.hourly_fee, d.billed_until
	FROM (SELECT k.*, @extschema@.usage_charge(k.hourly_fee, k.billed_until, b) AS charge
		  FROM @extschema@.instance k
		  WHERE k.state = 'running' AND k.billing = 'payg' AND k.next_settle_at = b
			AND k.customer_id IN (SELECT s.customer_id FROM pg_temp.gpubill_settling s)
		  OFFSET 0) d	/* each charge computed once */
	JOIN @extschema@.hold h ON h.hold_id = d.hold_id
	LEFT JOIN @extschema@.account a ON a.owner_kind = 'partner' AND a.owner_id = d.partner_id AND a.purpose = 'income'
								   AND a.currency = @extschema@.currency(d.hourly_fee)
	ORDER BY d.customer_id, d.instance_id;	/* the ids drawn in this order (nextval runs after the sort): the same on any replay */
	r := @extschema@.settle_staged(b, 'payg', 'insufficient_balance');
	settled := r.settled;
	stopped := r.stopped;
END
$$;
COMMENT ON FUNCTION @extschema@.settle_boundary(timestamptz) IS 'Settle every PAYG instance due at the hourly boundary b, of the customers of tick''s pass: charge, capture, hold the next hour or stop (R-PAYG-4, R-PAYG-5)';

/*
 * One running PAYG instance up to b (its wallet locked by the caller):
 * then 'interim' holds the next hour as at a boundary; 'convert' leaves it
 * running without a hold; any other value stops it for that reason, a
 * usage_hourly run charged at least its ceil(hours) (R-PAYG-7).
 */
CREATE FUNCTION @extschema@.settle_instance(instance bigint, b timestamptz, then_ text,
											 OUT settled integer, OUT stopped integer)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	fee_rate numeric := (@extschema@.partner_settings()).service_fee_rate;
	run_ends boolean := then_ <> 'interim';
	r record;
BEGIN
	PERFORM @extschema@.prepare_settlement_tables();
	PERFORM @extschema@.expire_vouchers(b, ARRAY(
		SELECT w.customer_id FROM @extschema@.wallet w
		WHERE w.voucher_expiry <= b
		  AND w.customer_id = (SELECT i.customer_id FROM @extschema@.instance i WHERE i.instance_id = instance)));
	INSERT INTO pg_temp.gpubill_capture (customer_id, seq, charge, cash_only, hold_id, hold_amount, hold_cash_only,
										 income_account, fee_rate, cash, income, object_id, income_leg_id, fee_leg_id, next_hold, next_hold_id,
										 machine_id, partner_id, hourly_fee, billed_until)
	SELECT d.customer_id, d.instance_id, d.charge,
		   d.cash_only, d.hold_id, h.amount, h.cash_only, a.account_id, fee_rate,
		   d.charge, @extschema@.capture_income(d.charge, a.account_id, fee_rate),	/* the split as if no voucher paid */
		   pg_catalog.nextval('@extschema@.id_seq'),
		   pg_catalog.nextval('@extschema@.id_seq'), pg_catalog.nextval('@extschema@.id_seq'),
		   /* interim: it runs on, on the hold of its next hour */
		   CASE WHEN NOT run_ends THEN @extschema@.payg_hold(d.hourly_fee, @extschema@.payg_settings()) END,
		   CASE WHEN NOT run_ends THEN pg_catalog.nextval('@extschema@.id_seq') END,
		   d.machine_id, d.partner_id, d.hourly_fee, d.billed_until
	FROM (SELECT k.*, CASE WHEN run_ends AND k.product = 'usage_hourly'
						   THEN @extschema@.run_end_charge(k.instance_id, k.hourly_fee, k.run_started_at, b)
						   ELSE @extschema@.usage_charge(k.hourly_fee, k.billed_until, b) END AS charge
		  FROM (SELECT * FROM @extschema@.instance j
				WHERE j.instance_id = instance AND j.state = 'running' AND j.billing = 'payg' AND j.hold_id IS NOT NULL
				FOR UPDATE) k) d
	JOIN @extschema@.hold h ON h.hold_id = d.hold_id
	LEFT JOIN @extschema@.account a ON a.owner_kind = 'partner' AND a.owner_id = d.partner_id AND a.purpose = 'income'
								   AND a.currency = @extschema@.currency(d.hourly_fee);
	r := @extschema@.settle_staged(b, CASE WHEN run_ends THEN 'payg_stop' ELSE 'payg' END,
								   CASE then_ WHEN 'interim' THEN 'insufficient_balance' WHEN 'convert' THEN NULL ELSE then_ END);
	settled := r.settled;
	stopped := r.stopped;
END
$$;
COMMENT ON FUNCTION @extschema@.settle_instance(bigint, timestamptz, text) IS 'Settle one PAYG instance up to b, then hold the next hour (interim), leave it running unheld (convert) or stop it for a reason (R-PAYG-4, R-PAYG-5, R-PAYG-7)';

-- every hourly boundary of one instance due up to t, each at its own instant, in time order (catch-up, R-CLK-1)
CREATE FUNCTION @extschema@.settle_instance_until(instance bigint, t timestamptz) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	b timestamptz;
	boundaries integer := 0;
BEGIN
	LOOP
		SELECT i.next_settle_at INTO b FROM @extschema@.instance i
		WHERE i.instance_id = instance AND i.state = 'running' AND i.next_settle_at <= t;
		EXIT WHEN b IS NULL;
		PERFORM @extschema@.settle_instance(instance, b, 'interim');
		boundaries := boundaries + 1;
	END LOOP;
	RETURN boundaries;
END
$$;
COMMENT ON FUNCTION @extschema@.settle_instance_until(bigint, timestamptz) IS 'Settle every hourly boundary of one instance due up to t, each at its own instant, in time order (R-CLK-1)';

-- one running PAYG instance settled up to t: its hourly boundaries, then the part of the hour up to t, its hold renewed
CREATE FUNCTION @extschema@.settle_interim(instance bigint, t timestamptz) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	PERFORM @extschema@.settle_instance_until(instance, t);		/* nothing for an instance that does not run */
	IF EXISTS (SELECT FROM @extschema@.instance k
			   WHERE k.instance_id = instance AND k.state = 'running' AND k.hold_id IS NOT NULL AND k.billed_until < t) THEN
		PERFORM @extschema@.settle_instance(instance, t, 'interim');
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.settle_interim(bigint, timestamptz) IS 'Settle a running PAYG instance up to t (its boundaries, then the part hour as an interim settlement): before a change that acts from t (outage report, voucher permission)';
