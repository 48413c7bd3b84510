/*
 * 50_instance_api.sql — creating, stopping, starting and releasing instances
 * (R-PAYG-1..6, R-PRT-1, R-CLK-5).  Every call locks the customer's wallet,
 * then the instance, and first settles every hourly boundary the instance
 * missed up to `at`, exactly as tick would have.
 *
 * Map (scripts/file-map.pl):
 * API: convert_instance, create_instance, instance_state, release_instance,
 *   resize_instance, set_auto_renew, start_instance, stop_instance.
 * Internals: check_capacity, check_not_in_arrears, check_payg_limits,
 *   halt_instance, hold_run, hourly_fee, lock_instance, lock_machine.
 * Uses: 1_types, 2_base, 3_ledger.
 */

-- lock an instance: its customer's wallet first, then the instance
CREATE FUNCTION @extschema@.lock_instance(instance bigint) RETURNS @extschema@.instance
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	i @extschema@.instance;
BEGIN
	SELECT * INTO i FROM @extschema@.instance k WHERE k.instance_id = instance;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown instance: %', instance USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM @extschema@.lock_wallet(i.customer_id);
	SELECT * INTO i FROM @extschema@.instance k WHERE k.instance_id = instance FOR UPDATE;
	RETURN i;
END
$$;
COMMENT ON FUNCTION @extschema@.lock_instance(bigint) IS 'Lock an instance''s wallet, then the instance; unknown id raises P0002';

-- R-PRT-1: the GPUs of a machine's running instances never exceed its GPUs
CREATE FUNCTION @extschema@.check_capacity(m @extschema@.machine, gpus integer, except_instance bigint) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	used integer;
BEGIN
	SELECT coalesce(pg_catalog.sum(i.gpus), 0) INTO used FROM @extschema@.instance i
	WHERE i.machine_id = m.machine_id AND i.state = 'running' AND i.instance_id IS DISTINCT FROM except_instance;
	IF used + gpus > m.gpus THEN
		RAISE EXCEPTION 'machine % has % of % GPUs free, % asked', m.machine_id, m.gpus - used, m.gpus, gpus
			USING ERRCODE = 'GB002';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.check_capacity(@extschema@.machine, integer, bigint) IS 'Raise GB002 unless a machine has the GPUs free (R-PRT-1)';

-- a machine locked for a rental (after the wallet), checked usable
CREATE FUNCTION @extschema@.lock_machine(machine bigint, cur text, for_start boolean, t timestamptz) RETURNS @extschema@.machine
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	m @extschema@.machine;
	delist_at timestamptz;
BEGIN
	m := @extschema@.find_machine(machine, true);
	IF m.state <> 'listed' AND NOT (for_start AND m.state = 'delisted') THEN
		RAISE EXCEPTION 'machine % is %', machine, m.state USING ERRCODE = 'GB004',
			HINT = 'New rentals need a listed machine; a delisted one still lets stopped instances start.';
	END IF;
	/* R-PRT-5: delisted from the owner end time less delist_before_end_days, whether or not tick has run */
	delist_at := @extschema@.delist_at(m.owner_end_time, @extschema@.partner_settings());
	IF t >= m.owner_end_time THEN
		RAISE EXCEPTION 'machine % reached its owner end time at %: nothing runs on it any more', machine, m.owner_end_time
			USING ERRCODE = 'GB004';
	END IF;
	IF NOT for_start AND t >= delist_at THEN
		RAISE EXCEPTION 'machine % is delisted from % (its owner end time less % days)', machine, delist_at,
			(@extschema@.partner_settings()).delist_before_end_days USING ERRCODE = 'GB004';
	END IF;
	IF @extschema@.currency(m.price_per_gpu_hour) <> cur THEN
		RAISE EXCEPTION 'currency mismatch: machine % is priced in %, the customer pays in %', machine,
			@extschema@.currency(m.price_per_gpu_hour), cur USING ERRCODE = 'GB003';
	END IF;
	RETURN m;
END
$$;
COMMENT ON FUNCTION @extschema@.lock_machine(bigint, text, boolean, timestamptz) IS 'Lock a machine for a rental at t and check it is listed and not due to be delisted (or delisted, for a start) and in the customer''s currency';

-- the hourly fee of GPUs on a machine for a customer (R-PAYG-1)
CREATE FUNCTION @extschema@.hourly_fee(m @extschema@.machine, customer bigint, gpus integer) RETURNS @extschema@.amount
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	RETURN m.price_per_gpu_hour * (gpus * (SELECT k.discount FROM @extschema@.customer k WHERE k.customer_id = customer));
END
$$;
COMMENT ON FUNCTION @extschema@.hourly_fee(@extschema@.machine, bigint, integer) IS 'Price per GPU-hour x GPUs x the customer''s discount (R-PAYG-1)';

-- R-PAYG-1: the hold of a PAYG run: the hourly fee, rounded to cents, x payg_hold_hours
CREATE FUNCTION @extschema@.hold_run(customer bigint, instance bigint, fee @extschema@.amount, cash_only boolean,
									  t timestamptz) RETURNS bigint
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	RETURN @extschema@.hold_funds(customer, @extschema@.payg_hold(fee, @extschema@.payg_settings()),
								  cash_only, NULL, 'instance', instance, t, NULL);
END
$$;
COMMENT ON FUNCTION @extschema@.hold_run(bigint, bigint, @extschema@.amount, boolean, timestamptz) IS 'Freeze the first hour(s) of a PAYG run (R-PAYG-1)';

-- R-PAYG-2: limits of PAYG instances by real recharges (bonuses and vouchers do not count)
CREATE FUNCTION @extschema@.check_payg_limits(w @extschema@.wallet, gpus integer, except_instance bigint) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	n integer;
	threshold @extschema@.amount := @extschema@.amount((@extschema@.payg_settings()).payg_multi_gpu_recharge_threshold,
													   @extschema@.currency(w.cash));
BEGIN
	SELECT pg_catalog.count(*) INTO n FROM @extschema@.instance i
	WHERE i.customer_id = w.customer_id AND i.billing = 'payg' AND i.state <> 'released'
	  AND i.instance_id IS DISTINCT FROM except_instance;
	IF @extschema@.micros(w.recharged) = 0 THEN
		IF n >= (@extschema@.payg_settings()).payg_limit_unrecharged_instances OR gpus > 1 THEN
			RAISE EXCEPTION 'a customer who never recharged may run % pay-as-you-go instance(s) of 1 GPU',
				(@extschema@.payg_settings()).payg_limit_unrecharged_instances
				USING ERRCODE = 'GB002', DETAIL = pg_catalog.format('%s instance(s) not released; %s GPU(s) asked.', n, gpus);
		END IF;
	ELSIF n >= (@extschema@.payg_settings()).payg_limit_instances THEN
		RAISE EXCEPTION 'at most % pay-as-you-go instances that are not released', (@extschema@.payg_settings()).payg_limit_instances
			USING ERRCODE = 'GB002';
	ELSIF gpus > 1 AND w.recharged < threshold THEN
		RAISE EXCEPTION 'instances of more than 1 GPU need % in real recharges', threshold
			USING ERRCODE = 'GB002', DETAIL = pg_catalog.format('Recharged so far: %s.', w.recharged);
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.check_payg_limits(@extschema@.wallet, integer, bigint) IS 'Raise GB002 when a PAYG instance of gpus GPUs would exceed the limits by real recharges (R-PAYG-2)';

-- R-ARR-1: in arrears, no instance is created or started
CREATE FUNCTION @extschema@.check_not_in_arrears(w @extschema@.wallet) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	IF @extschema@.micros(w.cash) < 0 THEN
		RAISE EXCEPTION 'customer % is in arrears (cash %)', w.customer_id, w.cash
			USING ERRCODE = 'GB001', HINT = 'A recharge repays the arrears first.';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.check_not_in_arrears(@extschema@.wallet) IS 'Raise GB001 when a customer''s cash is below zero (R-ARR-1)';

CREATE FUNCTION @extschema@.create_instance(customer bigint, machine bigint, gpus integer, billing text DEFAULT 'payg',
											 auto_renew boolean DEFAULT false, at timestamptz DEFAULT NULL,
											 request_id text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := @extschema@.api_time(at);
	w @extschema@.wallet;
	m @extschema@.machine;
	fee @extschema@.amount;
	id bigint;
	done boolean;
	hold bigint;
	timed boolean;
BEGIN
	w := @extschema@.lock_wallet(customer);
	IF billing IS NULL OR billing NOT IN ('payg', 'weekly', 'monthly') THEN
		RAISE EXCEPTION 'invalid billing: %', coalesce(billing, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Billing is payg, weekly or monthly.';
	END IF;
	PERFORM @extschema@.check_gpus(gpus);
	IF auto_renew IS NULL THEN
		RAISE EXCEPTION 'auto_renew must not be null' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	m := @extschema@.lock_machine(machine, @extschema@.currency(w.cash), false, t);
	/* R-CLK-5: not before the machine's last event (its listing, at the earliest) nor the customer's opening */
	t := @extschema@.call_time(at, GREATEST(m.last_event_at,
								(SELECT k.created_at FROM @extschema@.customer k WHERE k.customer_id = customer)),
							   'machine ' || machine);
	SELECT * INTO id, done FROM @extschema@.begin_request('create_instance', request_id, customer, m.partner_id,
		pg_catalog.jsonb_build_object('customer', customer, 'machine', machine, 'gpus', gpus, 'billing', billing,
									  'auto_renew', auto_renew), t);
	IF done THEN
		RETURN id;
	END IF;
	IF gpus > m.gpus THEN
		RAISE EXCEPTION 'machine % has % GPUs, % asked', machine, m.gpus, gpus USING ERRCODE = 'GB002';
	END IF;
	PERFORM @extschema@.check_not_in_arrears(w);
	IF billing = 'payg' THEN
		PERFORM @extschema@.check_payg_limits(w, gpus, NULL);
	END IF;
	PERFORM @extschema@.check_capacity(m, gpus, NULL);

	/* R-PAYG-1: hourly fee = price x GPUs x discount; one hour of it is frozen */
	fee := @extschema@.hourly_fee(m, customer, gpus);
	timed := billing = 'payg' AND m.billing <> 'one_time';
	IF timed THEN
		hold := @extschema@.hold_run(customer, id, fee, NOT m.vouchers_allowed, t);
	END IF;
	INSERT INTO @extschema@.instance (instance_id, customer_id, machine_id, partner_id, gpus, billing, product, auto_renew,
									  state, hourly_fee, cash_only, hold_id, billed_until, next_settle_at, run_started_at,
									  created_at, last_event_at)
	VALUES (id, customer, machine, m.partner_id, gpus, billing, m.billing, auto_renew, 'running', fee, NOT m.vouchers_allowed,
			hold, t, CASE WHEN timed THEN @extschema@.upper(@extschema@.billing_period('hour', t, @extschema@.billing_timezone())) END,
			t, t, t);
	IF NOT timed THEN
		/* R-PRE-1: a weekly or monthly term, or a one_time package (R-PAYG-7), is paid up front */
		PERFORM @extschema@.buy_term(id, t, false);
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.create_instance(bigint, bigint, integer, text, boolean, timestamptz, text) IS 'Create a running instance: PAYG freezes one hour of its fee (R-PAYG-1) within the limits by real recharges (R-PAYG-2); weekly and monthly pay the term up front (R-PRE-1); a one_time machine sells a package (R-PAYG-7); the GPUs must be free (R-PRT-1)';

-- settle a running PAYG instance up to t and stop it there (unless a
-- settlement on the way already stopped it for want of funds); a prepaid
-- instance just stops (no refund)
CREATE FUNCTION @extschema@.halt_instance(instance bigint, t timestamptz, reason text) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	i @extschema@.instance;
BEGIN
	SELECT * INTO i FROM @extschema@.instance k WHERE k.instance_id = instance;
	IF i.hold_id IS NOT NULL OR i.next_settle_at IS NOT NULL THEN
		PERFORM @extschema@.settle_instance_until(instance, t);
		IF (SELECT k.state FROM @extschema@.instance k WHERE k.instance_id = instance) = 'running' THEN
			/* R-PAYG-5: the partial hour is charged by the second */
			PERFORM @extschema@.settle_instance(instance, t, reason);
		END IF;
	ELSE
		UPDATE @extschema@.instance k SET state = 'stopped', stopped_at = t, stop_reason = reason
		WHERE k.instance_id = instance;
		INSERT INTO @extschema@.lifecycle_event (kind, customer_id, subject_type, subject_id, due_at, created_at)
		VALUES ('local_data_erase_due', i.customer_id, 'instance', instance,
				@extschema@.local_data_erase_at(t, @extschema@.payg_settings()), t)
		ON CONFLICT DO NOTHING;
	END IF;
	UPDATE @extschema@.instance k SET last_event_at = GREATEST(k.last_event_at, t) WHERE k.instance_id = instance;
END
$$;
COMMENT ON FUNCTION @extschema@.halt_instance(bigint, timestamptz, text) IS 'Stop a running instance at t: PAYG settles up to t first';

CREATE FUNCTION @extschema@.stop_instance(instance bigint, at timestamptz DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	i @extschema@.instance := @extschema@.lock_instance(instance);
	t timestamptz := @extschema@.call_time(at, i.last_event_at, 'instance ' || instance);
BEGIN
	IF i.state <> 'running' THEN
		RAISE EXCEPTION 'instance % is %', instance, i.state USING ERRCODE = 'GB004';
	END IF;
	IF i.billing <> 'payg' THEN
		RAISE EXCEPTION 'instance % is paid % up to %: it runs until then', instance, i.billing, i.term_end
			USING ERRCODE = 'GB004', HINT = 'Turn auto-renew off to let it expire, or release it.';
	END IF;
	PERFORM @extschema@.halt_instance(instance, t, 'requested');
END
$$;
COMMENT ON FUNCTION @extschema@.stop_instance(bigint, timestamptz) IS 'Stop a running PAYG instance: settle the hours it missed, charge the partial hour by the second, release its hold (R-PAYG-3, R-PAYG-5); a package stops without refund';

CREATE FUNCTION @extschema@.start_instance(instance bigint, at timestamptz DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	i @extschema@.instance := @extschema@.lock_instance(instance);
	t timestamptz := @extschema@.call_time(at, i.last_event_at, 'instance ' || instance);
	w @extschema@.wallet;
	m @extschema@.machine;
	fee @extschema@.amount;
	timed boolean;
BEGIN
	IF i.state NOT IN ('stopped', 'expired') THEN
		RAISE EXCEPTION 'instance % is %', instance, i.state USING ERRCODE = 'GB004',
			HINT = 'Only a stopped or expired instance can start.';
	END IF;
	SELECT * INTO w FROM @extschema@.wallet k WHERE k.customer_id = i.customer_id;
	PERFORM @extschema@.check_not_in_arrears(w);
	m := @extschema@.lock_machine(i.machine_id, @extschema@.currency(i.hourly_fee), true, t);
	t := @extschema@.call_time(at, GREATEST(i.last_event_at, m.last_event_at), 'machine ' || i.machine_id);
	PERFORM @extschema@.check_capacity(m, i.gpus, instance);
	fee := @extschema@.hourly_fee(m, i.customer_id, i.gpus);
	timed := i.billing = 'payg' AND i.product <> 'one_time';
	UPDATE @extschema@.instance k
	SET state = 'running', hourly_fee = fee, cash_only = NOT m.vouchers_allowed,
		hold_id = CASE WHEN timed THEN @extschema@.hold_run(i.customer_id, instance, fee, NOT m.vouchers_allowed, t) END,
		billed_until = t, run_started_at = t,
		next_settle_at = CASE WHEN timed THEN @extschema@.upper(@extschema@.billing_period('hour', t, @extschema@.billing_timezone())) END,
		stopped_at = NULL, stop_reason = NULL, last_event_at = t
	WHERE k.instance_id = instance;
	IF NOT timed THEN
		/* an expired term or an ended package starts with a new one, paid up front */
		PERFORM @extschema@.buy_term(instance, t, false);
	END IF;
	/* the data of a running instance is not to be erased */
	UPDATE @extschema@.lifecycle_event e SET cancelled_at = t
	WHERE e.subject_type = 'instance' AND e.subject_id = instance AND e.kind = 'local_data_erase_due'
	  AND e.cancelled_at IS NULL AND e.acked_at IS NULL AND e.due_at > t;
END
$$;
COMMENT ON FUNCTION @extschema@.start_instance(bigint, timestamptz) IS 'Start a stopped instance again: a new hour is frozen (R-PAYG-1, R-PAYG-5); an expired term or ended package buys a new one';

CREATE FUNCTION @extschema@.release_instance(instance bigint, at timestamptz DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	i @extschema@.instance := @extschema@.lock_instance(instance);
	t timestamptz := @extschema@.call_time(at, i.last_event_at, 'instance ' || instance);
BEGIN
	IF i.state = 'released' THEN
		RAISE EXCEPTION 'instance % is already released', instance USING ERRCODE = 'GB004';
	END IF;
	IF i.state = 'running' THEN
		PERFORM @extschema@.halt_instance(instance, t, 'released');
	END IF;
	UPDATE @extschema@.instance k SET state = 'released', last_event_at = GREATEST(k.last_event_at, t)
	WHERE k.instance_id = instance;
	INSERT INTO @extschema@.lifecycle_event (kind, customer_id, subject_type, subject_id, due_at, created_at)
	VALUES ('instance_release_due', i.customer_id, 'instance', instance, t, t)
	ON CONFLICT DO NOTHING;
END
$$;
COMMENT ON FUNCTION @extschema@.release_instance(bigint, timestamptz) IS 'Release an instance (stopping it first if it runs; a prepaid term is not refunded); it no longer counts toward any limit (R-PAYG-6)';

CREATE FUNCTION @extschema@.convert_instance(instance bigint, billing text, at timestamptz DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	i @extschema@.instance := @extschema@.lock_instance(instance);
	t timestamptz := @extschema@.call_time(at, i.last_event_at, 'instance ' || instance);
BEGIN
	IF billing IS NULL OR billing NOT IN ('weekly', 'monthly') THEN
		RAISE EXCEPTION 'invalid billing to convert to: %', coalesce(billing, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', HINT = 'A PAYG instance converts to weekly or monthly.';
	END IF;
	IF i.state <> 'running' OR i.billing <> 'payg' OR i.product = 'one_time' THEN
		RAISE EXCEPTION 'instance % is % (%, %): only a running PAYG instance converts', instance, i.state, i.billing, i.product
			USING ERRCODE = 'GB004';
	END IF;
	/* a machine without the term's price: buy_term raises 22023 (and everything is rolled back) */
	/* R-PRE-4: PAYG usage settled to t, the hold released, the term charged */
	PERFORM @extschema@.settle_instance_until(instance, t);
	IF (SELECT k.state FROM @extschema@.instance k WHERE k.instance_id = instance) <> 'running' THEN
		RAISE EXCEPTION 'instance % stopped for want of funds before %', instance, t USING ERRCODE = 'GB001';
	END IF;
	PERFORM @extschema@.settle_instance(instance, t, 'convert');
	UPDATE @extschema@.instance k SET billing = convert_instance.billing, next_settle_at = NULL, hold_id = NULL
	WHERE k.instance_id = instance;
	PERFORM @extschema@.buy_term(instance, t, false);
END
$$;
COMMENT ON FUNCTION @extschema@.convert_instance(bigint, text, timestamptz) IS 'Convert a running PAYG instance to weekly or monthly: usage settled to at, hold released, the term charged (R-PRE-4)';

CREATE FUNCTION @extschema@.resize_instance(instance bigint, gpus integer, at timestamptz DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	i @extschema@.instance := @extschema@.lock_instance(instance);
	t timestamptz := @extschema@.call_time(at, i.last_event_at, 'instance ' || instance);
	m @extschema@.machine;
	fee @extschema@.amount;
BEGIN
	PERFORM @extschema@.check_gpus(gpus);
	IF i.billing <> 'payg' OR i.product = 'one_time' THEN
		/* R-PRE-3 */
		RAISE EXCEPTION 'instance % is paid % (%): no configuration change for a prepaid instance', instance, i.billing, i.product
			USING ERRCODE = 'GB004';
	END IF;
	IF i.state <> 'running' THEN
		/* R-PAYG-6: a stopped instance permits only start and release */
		RAISE EXCEPTION 'instance % is %: only a running instance changes its GPUs', instance, i.state USING ERRCODE = 'GB004',
			HINT = 'Start it, then resize it.';
	END IF;
	/* R-PAYG-8: within the machine and the limits (GB002), wallet then machine locked */
	m := @extschema@.find_machine(i.machine_id, true);
	IF gpus > m.gpus THEN
		RAISE EXCEPTION 'machine % has % GPUs, % asked', m.machine_id, m.gpus, gpus USING ERRCODE = 'GB002';
	END IF;
	PERFORM @extschema@.check_capacity(m, gpus, instance);
	PERFORM @extschema@.check_payg_limits((SELECT w FROM @extschema@.wallet w WHERE w.customer_id = i.customer_id), gpus, instance);
	/* usage settled to t at the old fee (a usage_hourly run ends there: its minimum is charged), the hold released */
	PERFORM @extschema@.settle_instance_until(instance, t);
	IF (SELECT k.state FROM @extschema@.instance k WHERE k.instance_id = instance) <> 'running' THEN
		RAISE EXCEPTION 'instance % stopped for want of funds before %', instance, t USING ERRCODE = 'GB001';
	END IF;
	PERFORM @extschema@.settle_instance(instance, t, 'convert');
	/* the new fee held (GB001 if available cannot cover it: then nothing changes), billing on from t */
	fee := @extschema@.hourly_fee(m, i.customer_id, gpus);
	UPDATE @extschema@.instance k
	SET gpus = resize_instance.gpus, hourly_fee = fee,
		hold_id = @extschema@.hold_run(i.customer_id, instance, fee, k.cash_only, t),
		next_settle_at = @extschema@.upper(@extschema@.billing_period('hour', t, @extschema@.billing_timezone())),
		run_started_at = t, last_event_at = GREATEST(k.last_event_at, t)
	WHERE k.instance_id = instance;
END
$$;
COMMENT ON FUNCTION @extschema@.resize_instance(bigint, integer, timestamptz) IS 'Change the GPUs of a running PAYG instance: usage settled to at, the hold released, the new fee held (GB001, GB002: nothing changes) (R-PAYG-8); stopped and prepaid instances refuse (GB004)';

CREATE FUNCTION @extschema@.instance_state(instance bigint)
	RETURNS text
	LANGUAGE plpgsql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	s text;
BEGIN
	SELECT k.state INTO s FROM @extschema@.instance k WHERE k.instance_id = instance;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown instance: %', instance USING ERRCODE = 'no_data_found';
	END IF;
	RETURN s;
END
$$;
COMMENT ON FUNCTION @extschema@.instance_state(bigint) IS 'running | stopped | expired | released';

CREATE FUNCTION @extschema@.set_auto_renew(instance bigint, "on" boolean)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	IF "on" IS NULL THEN
		RAISE EXCEPTION 'auto-renew must not be null' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.lock_instance(instance);
	UPDATE @extschema@.instance k SET auto_renew = "on" WHERE k.instance_id = instance;
END
$$;
COMMENT ON FUNCTION @extschema@.set_auto_renew(bigint, boolean) IS 'Renew a prepaid instance at expiry when funds allow; acts at once';
