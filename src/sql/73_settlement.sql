/*
 * 73_settlement.sql — pay-as-you-go settlement (R-PAYG-4, R-PAYG-5), set-based.
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
 */

/*
 * The session's tables of customers (local buffers: no memory per row):
 * gpubill_locked, the customers whose wallets tick locked up front;
 * gpubill_pass, those of them in the scope of the current pass; and
 * gpubill_settling, those a settlement at one instant settles.  A
 * look-alike made by the session's user is refused, since the owner would
 * write into it (and fire its triggers).
 */
CREATE FUNCTION @extschema@.prepare_settling() RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['gpubill_settling', 'gpubill_pass', 'gpubill_locked'] LOOP
		IF pg_catalog.to_regclass('pg_temp.' || t) IS NULL THEN
			EXECUTE pg_catalog.format('CREATE TEMP TABLE %I (customer_id bigint PRIMARY KEY) ON COMMIT DELETE ROWS', t);
		ELSIF (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = ('pg_temp.' || t)::regclass)
			  <> (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = CURRENT_USER) THEN
			RAISE EXCEPTION 'pg_temp.% belongs to another role', t USING ERRCODE = 'insufficient_privilege',
				HINT = 'Drop the temporary table of that name in this session.';
		END IF;
	END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.prepare_settling() IS 'Create (or check) the session''s temporary tables of the customers tick locked, of its current pass and of a settlement';

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
	PERFORM @extschema@.prepare_settling();
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

	/* 1. charge the usage up to b and capture it from the holds */
	WITH due AS (
		SELECT i.instance_id, i.customer_id, i.machine_id, i.partner_id, i.hourly_fee, i.cash_only, i.billed_until,
			   i.product, i.run_started_at,
			   i.hold_id, h.amount AS hold_amount, h.cash_only AS hold_cash_only,	/* the hold keeps what it reserved */
			   @extschema@.zero(@extschema@.currency(i.hourly_fee)) AS z,
			   pg_catalog.floor(EXTRACT(epoch FROM b - i.billed_until))::bigint AS seconds,
			   w.vouchers, w.cash_account, w.voucher_account, w.fee_account, w.voucher_expense_account,
			   a.account_id AS income_account
		FROM @extschema@.instance i
		JOIN @extschema@.hold h ON h.hold_id = i.hold_id
		JOIN @extschema@.wallet w ON w.customer_id = i.customer_id
		LEFT JOIN @extschema@.account a ON a.owner_kind = 'partner' AND a.owner_id = i.partner_id AND a.purpose = 'income'
									   AND a.currency = @extschema@.currency(i.hourly_fee)
		WHERE i.state = 'running' AND i.billing = 'payg'
		  AND (CASE WHEN settle_payg.stop_reason IS NULL THEN i.next_settle_at = b ELSE i.instance_id = only_instance END)
		  AND (CASE WHEN only_instance IS NULL THEN i.customer_id IN (SELECT s.customer_id FROM pg_temp.gpubill_settling s)
					ELSE i.instance_id = only_instance END)
	), charged AS (
		SELECT d.*,
			   CASE WHEN settle_payg.stop_reason IS NOT NULL AND settle_payg.stop_reason <> 'interim' AND d.product = 'usage_hourly' THEN
					/* R-PAYG-7: a run costs at least ceil(hours) x the hourly fee */
					@extschema@.round(d.hourly_fee * pg_catalog.ceil(EXTRACT(epoch FROM b - d.run_started_at) / 3600)::numeric, 2)
					- coalesce((SELECT @extschema@.sum(o.charge) FROM @extschema@.order_line o
								WHERE o.instance_id = d.instance_id AND pg_catalog.upper(o.usage) > d.run_started_at), d.z)
			   ELSE @extschema@.prorate(d.hourly_fee, d.seconds) END AS charge
		FROM due d
	), split AS (	/* vouchers first, in instance order within a customer (the window only where there are vouchers) */
		SELECT c.*, c.z AS v FROM charged c WHERE @extschema@.micros(c.vouchers) <= 0
		UNION ALL
		SELECT c.*,
			   CASE WHEN c.cash_only THEN c.z
					ELSE LEAST(c.charge, GREATEST(c.vouchers - coalesce(@extschema@.sum(c.charge) FILTER (WHERE NOT c.cash_only)
									OVER (PARTITION BY c.customer_id ORDER BY c.instance_id
										  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), c.z), c.z)) END
		FROM charged c WHERE @extschema@.micros(c.vouchers) > 0
	), paid AS (
		SELECT s.*, s.charge - s.v AS cash, @extschema@.partner_income(s.charge - s.v, fee_rate) AS income,
			   s.seconds > 0 OR @extschema@.micros(s.charge) > 0 AS has_line,	/* a stop on the settlement instant charges nothing */
			   pg_catalog.nextval('@extschema@.id_seq') AS line_id
		FROM split s
	), lines AS (
		INSERT INTO @extschema@.order_line (line_id, customer_id, instance_id, machine_id, partner_id, kind, usage, seconds,
											hourly_fee, charge, voucher_paid, cash_paid, partner_income, platform_fee, at)
		SELECT p.line_id, p.customer_id, p.instance_id, p.machine_id, p.partner_id,
			   CASE WHEN settle_payg.stop_reason IS NULL OR settle_payg.stop_reason = 'interim' THEN 'payg' ELSE 'payg_stop' END,
			   pg_catalog.tstzrange(p.billed_until, b, CASE WHEN p.seconds > 0 THEN '[)' ELSE '[]' END),
			   p.seconds, p.hourly_fee, p.charge, p.v, p.cash, p.income, p.cash - p.income, b
		FROM paid p
		WHERE p.has_line
		RETURNING 1
	), moves AS (
		INSERT INTO @extschema@.transfer (customer_id, at, kind, debit_account, credit_account, amount, object_type, object_id)
		SELECT p.customer_id, b, x.kind, x.debit, x.credit, x.amount, 'order_line', p.line_id
		FROM paid p
		CROSS JOIN LATERAL (VALUES ('voucher_spend', p.voucher_account, p.voucher_expense_account, p.v),
								   ('income', p.cash_account, p.income_account, p.income),
								   ('fee', p.cash_account, p.fee_account, p.cash - p.income)) x(kind, debit, credit, amount)
		WHERE p.has_line AND @extschema@.micros(x.amount) > 0
		RETURNING 1
	), ends AS (
		INSERT INTO @extschema@.hold_end (hold_id, customer_id, kind, captured, at)
		SELECT p.hold_id, p.customer_id, CASE WHEN @extschema@.micros(p.charge) > 0 THEN 'capture' ELSE 'release' END,
			   LEAST(p.charge, p.hold_amount), b		/* a usage_hourly remainder beyond the hold is charged as well */
		FROM paid p
		RETURNING 1
	), vsum AS (
		SELECT p.customer_id, @extschema@.sum(p.v) AS v FROM paid p GROUP BY p.customer_id
	), lots AS (
		SELECT l.voucher_id, l.amount, s.v,
			   @extschema@.sum(l.amount) OVER (PARTITION BY l.customer_id ORDER BY l.expires_at NULLS LAST, l.voucher_id) AS cum
		FROM @extschema@.voucher_left l JOIN vsum s USING (customer_id)
		WHERE @extschema@.micros(s.v) > 0
	), vspent AS (	/* R-RCH-4: vouchers are spent earliest expiry first */
		DELETE FROM @extschema@.voucher_left l USING lots x WHERE l.voucher_id = x.voucher_id AND x.cum <= x.v
		RETURNING 1
	), vleft AS (
		UPDATE @extschema@.voucher_left l SET amount = x.cum - x.v
		FROM lots x WHERE l.voucher_id = x.voucher_id AND x.cum - x.amount < x.v AND x.cum > x.v
		RETURNING 1
	), wallets AS (
		UPDATE @extschema@.wallet w
		SET cash = w.cash - t.cash, vouchers = w.vouchers - t.v, held = w.held - t.held,
			cash_held = w.cash_held - t.cash_held, updated_at = GREATEST(w.updated_at, b)
		FROM (SELECT p.customer_id, @extschema@.sum(p.cash) AS cash, @extschema@.sum(p.v) AS v,
					 @extschema@.sum(p.hold_amount) AS held,
					 @extschema@.sum(CASE WHEN p.hold_cash_only THEN p.hold_amount ELSE p.z END) AS cash_held
			  FROM paid p GROUP BY p.customer_id) t
		WHERE w.customer_id = t.customer_id
		RETURNING 1
	)
	SELECT pg_catalog.count(*) INTO settled FROM paid;

	/* 2. hold the next hour, or stop: the same instances (their holds have ended), one update each */
	WITH settled AS (
		SELECT i.instance_id, i.customer_id, i.partner_id, i.cash_only,
			   @extschema@.round(i.hourly_fee, 2) * hold_hours AS need, @extschema@.zero(@extschema@.currency(i.hourly_fee)) AS z,
			   w.cash, w.vouchers, w.held, w.cash_held
		FROM @extschema@.instance i JOIN @extschema@.wallet w USING (customer_id)
		WHERE i.state = 'running' AND i.billing = 'payg'
		  AND (CASE WHEN settle_payg.stop_reason IS NULL THEN i.next_settle_at = b ELSE i.instance_id = only_instance END)
		  AND (CASE WHEN only_instance IS NULL THEN i.customer_id IN (SELECT s.customer_id FROM pg_temp.gpubill_settling s)
					ELSE i.instance_id = only_instance END)
	), fits AS (
		SELECT s.*,
			   (settle_payg.stop_reason IS NULL OR settle_payg.stop_reason = 'interim')
			   AND @extschema@.micros(s.cash) >= 0
			   AND @extschema@.sum(s.need) OVER w <= s.cash + s.vouchers - s.held
			   AND @extschema@.sum(CASE WHEN s.cash_only THEN s.need ELSE s.z END) OVER w <= s.cash - s.cash_held AS ok
		FROM settled s
		WINDOW w AS (PARTITION BY s.customer_id ORDER BY s.instance_id)
	), verdict AS (
		SELECT k.*, CASE WHEN k.keep THEN pg_catalog.nextval('@extschema@.id_seq') END AS new_hold	/* no join of CTEs below */
		FROM (SELECT f.*, pg_catalog.bool_and(f.ok) OVER (PARTITION BY f.customer_id ORDER BY f.instance_id) AS keep
			  FROM fits f) k
	), new_holds AS (
		INSERT INTO @extschema@.hold (hold_id, customer_id, amount, cash_only, at, object_type, object_id)
		SELECT v.new_hold, v.customer_id, v.need, v.cash_only, b, 'instance', v.instance_id
		FROM verdict v WHERE v.keep
		RETURNING hold_id, object_id AS instance_id, customer_id, amount, cash_only
	), held AS (
		UPDATE @extschema@.wallet w SET held = w.held + t.held, cash_held = w.cash_held + t.cash_held
		FROM (SELECT n.customer_id, @extschema@.sum(n.amount) AS held,
					 @extschema@.sum(CASE WHEN n.cash_only THEN n.amount ELSE n.amount - n.amount END) AS cash_held
			  FROM new_holds n GROUP BY n.customer_id) t
		WHERE w.customer_id = t.customer_id
		RETURNING 1
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
