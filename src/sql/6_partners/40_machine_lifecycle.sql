/*
 * 40_machine_lifecycle.sql — delisting, taking offline and removing machines
 * (R-PRT-5, R-PRT-6), and what tick does for them.
 *
 * Delisting stops new rentals only.  Taking a machine offline while an
 * instance runs on it is refused (GB004) unless forced; forced, each running
 * instance is settled up to the instant and stopped (machine_offline), and
 * its customer compensated (R-PRT-8) for what it had paid beyond that
 * instant: multiple x the prepaid term or package left (by the second), and
 * for a PAYG instance the held hour(s) it loses.  A machine is removed once
 * every instance on it is released; when a partner has removed every
 * machine its deposits go back to its income, the part that is withdrawable
 * is paid out (deposit_refund_due in 10 days), and its qualification ends a
 * calendar month later (qualification_end_due, cancelled by a new listing).
 *
 * Locks: the partner, then the customers' wallets (customer order), then the
 * machine, then the instances — never a wallet after a machine.
 *
 * Map (scripts/file-map.pl):
 * API: delist_machine, remove_machine, set_vouchers_allowed, take_offline.
 * Internals: alert_migrate_data, delist_ending_machines, end_qualifications,
 *   force_offline, lock_machines, refund_deposits, renters_elsewhere.
 * Uses: 1_types, 2_base, 3_ledger, 4_parties, 5_customers.
 */

CREATE FUNCTION @extschema@.delist_machine(machine bigint, at timestamptz DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	m @extschema@.machine;
	t timestamptz;
BEGIN
	m := @extschema@.find_machine(machine, true);
	t := @extschema@.call_time(at, m.last_event_at, 'machine ' || machine);
	IF m.state <> 'listed' THEN
		RAISE EXCEPTION 'machine % is %', machine, m.state USING ERRCODE = 'GB004', HINT = 'Only a listed machine is delisted.';
	END IF;
	UPDATE @extschema@.machine k SET state = 'delisted', last_event_at = t WHERE k.machine_id = machine;
END
$$;
COMMENT ON FUNCTION @extschema@.delist_machine(bigint, timestamptz) IS 'Delist a machine: no new rentals; running instances go on and stopped ones may start (R-PRT-6)';

/*
 * R-PRT-1: a partner changes whether vouchers pay on a machine, from at on.
 * Its running PAYG instances are first settled up to at under the old
 * permission (an interim settlement, as for an outage report); charges and
 * holds from at on follow the new one, while the holds already placed keep
 * what they reserved (cash only or not).  Wallets, then the machine.
 */
CREATE FUNCTION @extschema@.set_vouchers_allowed(machine bigint, allowed boolean, at timestamptz DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	m @extschema@.machine := @extschema@.find_machine(machine, false);
	t timestamptz;
	inst bigint;
BEGIN
	IF allowed IS NULL THEN
		RAISE EXCEPTION 'allowed must not be null' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.lock_machines(ARRAY[machine]);
	SELECT * INTO m FROM @extschema@.machine k WHERE k.machine_id = machine;
	t := @extschema@.call_time(at, m.last_event_at, 'machine ' || machine);
	IF at IS NULL THEN		/* R-CLK-5: a defaulted at follows the running instances' latest event */
		t := GREATEST(t, (SELECT pg_catalog.max(k.last_event_at) FROM @extschema@.instance k
						  WHERE k.machine_id = machine AND k.state = 'running'));
	END IF;
	IF m.state = 'removed' THEN
		RAISE EXCEPTION 'machine % is removed', machine USING ERRCODE = 'GB004';
	END IF;
	IF m.vouchers_allowed = allowed THEN
		RETURN;
	END IF;
	FOR inst IN SELECT k.instance_id FROM @extschema@.instance k
				WHERE k.machine_id = machine AND k.state = 'running' ORDER BY k.instance_id FOR UPDATE LOOP
		PERFORM @extschema@.call_time(t, (SELECT k.last_event_at FROM @extschema@.instance k WHERE k.instance_id = inst),
									  'instance ' || inst);
		PERFORM @extschema@.settle_interim(inst, t);
	END LOOP;
	UPDATE @extschema@.instance k SET cash_only = NOT allowed, last_event_at = GREATEST(k.last_event_at, t)
	WHERE k.machine_id = machine AND k.state = 'running';
	UPDATE @extschema@.machine k SET vouchers_allowed = allowed, last_event_at = GREATEST(k.last_event_at, t)
	WHERE k.machine_id = machine;
END
$$;
COMMENT ON FUNCTION @extschema@.set_vouchers_allowed(bigint, boolean, timestamptz) IS 'Allow or refuse vouchers on a machine from at on: running instances settled up to at first, holds already placed keep what they reserved (R-PRT-1)';

/*
 * R-LED-6: lock machines for taking them offline: the wallets of the
 * customers running on them (customer order), then the machines (id order).
 * A rental that slipped in between the two adds a customer whose wallet
 * would now come out of order: then every lock taken here is given back
 * (the subtransaction is rolled back) and taken again, in order.  Once the
 * machines are locked no rental starts on them, so the set stays.  Returns
 * the customers.
 */
CREATE FUNCTION @extschema@.lock_machines(machines bigint[]) RETURNS bigint[]
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	customers bigint[];
BEGIN
	LOOP
		BEGIN
			customers := ARRAY(SELECT DISTINCT k.customer_id FROM @extschema@.instance k
							   WHERE k.machine_id = ANY (machines) AND k.state = 'running' ORDER BY 1);
			PERFORM @extschema@.lock_wallets(customers);
			PERFORM pg_catalog.count(*) FROM (SELECT FROM @extschema@.machine k WHERE k.machine_id = ANY (machines)
											  ORDER BY k.machine_id FOR UPDATE) locked;
			IF NOT EXISTS (SELECT FROM @extschema@.instance k
						   WHERE k.machine_id = ANY (machines) AND k.state = 'running' AND k.customer_id <> ALL (customers)) THEN
				RETURN customers;
			END IF;
			RAISE EXCEPTION 'a rental started meanwhile: lock again' USING ERRCODE = 'GB099';
		EXCEPTION WHEN SQLSTATE 'GB099' THEN
			NULL;	/* the locks of this round are given back; the next round takes them in order */
		END;
	END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.lock_machines(bigint[]) IS 'Lock the wallets of the customers running on machines, then the machines, in order; retried from scratch if a rental slipped in';

-- behind a proxy: the runs on a machine homed here that other partitions' customers claimed (0 on one database)
CREATE FUNCTION @extschema@.renters_elsewhere(machine bigint) RETURNS bigint
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
	SELECT pg_catalog.count(*) FROM @extschema@.gpu_claim c
	WHERE c.machine_id = machine
	  AND @extschema@.partition_of(c.customer_id) <> coalesce((SELECT k.partition FROM @extschema@.partition_identity k), 0)
$$;
COMMENT ON FUNCTION @extschema@.renters_elsewhere(bigint) IS 'The GPU claims on a machine homed here of customers on other partitions: runs there (issue 18)';

/*
 * Take a machine offline at t by force (the partner row locked by the
 * caller): its running instances are settled up to t, stopped and their
 * customers compensated.  Returns the number of instances stopped.  With
 * the caller's at omitted (defaulted), t moves to the latest event of those
 * instances, so that a concurrent caller never fails for time (R-CLK-5).
 */
CREATE FUNCTION @extschema@.force_offline(machine bigint, t timestamptz, defaulted boolean) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	customers bigint[];
	running bigint[];
	lost bigint[] := '{}';
	i @extschema@.instance;
	inst bigint;
	outage bigint;
BEGIN
	customers := @extschema@.lock_machines(ARRAY[machine]);	/* wallets before the machine */
	running := ARRAY(SELECT k.instance_id FROM @extschema@.instance k
					 WHERE k.machine_id = machine AND k.state = 'running' ORDER BY k.instance_id FOR UPDATE);
	IF defaulted THEN
		t := GREATEST(t, (SELECT pg_catalog.max(k.last_event_at) FROM @extschema@.instance k WHERE k.instance_id = ANY (running)));
	END IF;
	IF pg_catalog.cardinality(running) > 0 OR @extschema@.renters_elsewhere(machine) > 0 THEN
		INSERT INTO @extschema@.outage (machine_id, partner_id, kind, started, ended, reported_at)
		SELECT machine, k.partner_id, 'forced_offline', t, 'infinity', t FROM @extschema@.machine k WHERE k.machine_id = machine
		RETURNING outage_id INTO outage;
	END IF;
	FOREACH inst IN ARRAY running LOOP
		SELECT * INTO i FROM @extschema@.instance k WHERE k.instance_id = inst;
		PERFORM @extschema@.call_time(t, i.last_event_at, 'instance ' || inst);
		PERFORM @extschema@.halt_instance(inst, t, 'machine_offline');
		/* a PAYG run that was still running at t loses the hour(s) held for it */
		IF i.hold_id IS NOT NULL
		   AND (SELECT k.stop_reason FROM @extschema@.instance k WHERE k.instance_id = inst) = 'machine_offline' THEN
			lost := lost || inst;
		END IF;
	END LOOP;
	IF outage IS NOT NULL THEN
		PERFORM @extschema@.compensate(outage, machine, pg_catalog.tstzrange(t, 'infinity'), running, lost, t);
		IF (SELECT k.partitions FROM @extschema@.partition_identity k) > 1 THEN
			/* behind a proxy: the instances on the other partitions stop too (35_outage_steps.sql) */
			INSERT INTO @extschema@.outage_outbox (outage_id, partner_id)
			SELECT outage, k.partner_id FROM @extschema@.machine k WHERE k.machine_id = machine;
		END IF;
	END IF;
	UPDATE @extschema@.machine k SET state = 'offline', last_event_at = GREATEST(k.last_event_at, t)
	WHERE k.machine_id = machine;
	RETURN pg_catalog.cardinality(running);
END
$$;
COMMENT ON FUNCTION @extschema@.force_offline(bigint, timestamptz, boolean) IS 'Take a machine offline: its running instances settled, stopped (machine_offline) and their customers compensated (R-PRT-6, R-PRT-8)';

CREATE FUNCTION @extschema@.take_offline(machine bigint, force boolean DEFAULT false, at timestamptz DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	m @extschema@.machine;
	t timestamptz;
	n integer;
BEGIN
	m := @extschema@.find_machine(machine, false);
	IF force IS NULL THEN
		RAISE EXCEPTION 'force must not be null' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.lock_partner(m.partner_id);
	IF NOT force THEN
		m := @extschema@.find_machine(machine, true);
	END IF;
	t := @extschema@.call_time(at, m.last_event_at, 'machine ' || machine);
	IF m.state NOT IN ('listed', 'delisted') THEN
		RAISE EXCEPTION 'machine % is %', machine, m.state USING ERRCODE = 'GB004';
	END IF;
	IF NOT force THEN
		SELECT pg_catalog.count(*) + @extschema@.renters_elsewhere(machine) INTO n
		FROM @extschema@.instance k WHERE k.machine_id = machine AND k.state = 'running';
		IF n > 0 THEN
			RAISE EXCEPTION 'machine % has % running instances', machine, n USING ERRCODE = 'GB004',
				HINT = 'Wait until they stop, or take it offline with force => true: they stop and their customers are compensated.';
		END IF;
		UPDATE @extschema@.machine k SET state = 'offline', last_event_at = t WHERE k.machine_id = machine;
	ELSE
		PERFORM @extschema@.force_offline(machine, t, at IS NULL);
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.take_offline(bigint, boolean, timestamptz) IS 'Take a machine offline: refused while an instance runs on it (GB004) unless forced; forced, they stop and their customers are compensated (R-PRT-6, R-PRT-8)';

CREATE FUNCTION @extschema@.remove_machine(machine bigint, at timestamptz DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	m @extschema@.machine;
	t timestamptz;
	n integer;
BEGIN
	m := @extschema@.find_machine(machine, false);
	/* the partner row serialises "every machine removed" */
	PERFORM @extschema@.lock_partner(m.partner_id);
	m := @extschema@.find_machine(machine, true);
	t := @extschema@.call_time(at, m.last_event_at, 'machine ' || machine);
	IF m.state = 'removed' THEN
		RAISE EXCEPTION 'machine % is already removed', machine USING ERRCODE = 'GB004';
	END IF;
	SELECT pg_catalog.count(*) + @extschema@.renters_elsewhere(machine) INTO n
	FROM @extschema@.instance k WHERE k.machine_id = machine AND k.state <> 'released';
	IF n > 0 THEN
		RAISE EXCEPTION 'machine % still has % instances not released', machine, n USING ERRCODE = 'GB004',
			HINT = 'Customers release them; stopped and expired ones are released by tick after stopped_release_days.';
	END IF;
	UPDATE @extschema@.machine k SET state = 'removed', last_event_at = t WHERE k.machine_id = machine;
	IF NOT EXISTS (SELECT FROM @extschema@.machine k WHERE k.partner_id = m.partner_id AND k.state <> 'removed') THEN
		PERFORM @extschema@.refund_deposits(m.partner_id, t);
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.remove_machine(bigint, timestamptz) IS 'Remove a machine once every instance on it is released; the partner''s last one refunds the deposits and ends the qualification a month later (R-PRT-6)';

/*
 * R-PRT-6: a partner without machines gets its deposits back (locked by the
 * caller): deposit -> income; what that makes withdrawable (never more than
 * the deposits) is paid out, due in 10 days; the qualification ends a
 * calendar month later.
 */
CREATE FUNCTION @extschema@.refund_deposits(partner bigint, t timestamptz) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	cur text := (SELECT p.currency FROM @extschema@.partner p WHERE p.partner_id = partner);
	tz text := @extschema@.billing_timezone();
	before record;
	held @extschema@.amount;
	pay @extschema@.amount;
	refund bigint;
BEGIN
	SELECT * INTO before FROM @extschema@.partner_money(partner, t);
	held := before.deposits;
	IF @extschema@.micros(held) > 0 THEN
		refund := pg_catalog.nextval('@extschema@.id_seq');
		PERFORM @extschema@.post_transfers(ARRAY[
			ROW(refund, NULL, partner, t, 'deposit_refund', @extschema@.account_of('partner', partner, 'deposit', cur),
				@extschema@.account_of('partner', partner, 'income', cur), held, 'partner', partner, NULL, NULL, NULL)::@extschema@.leg]);
		pay := LEAST(held, (@extschema@.partner_money(partner, t)).withdrawable - before.withdrawable);
		IF @extschema@.micros(pay) > 0 THEN
			PERFORM @extschema@.post_transfers(ARRAY[
				@extschema@.leg(NULL, partner, t, 'deposit_refund', @extschema@.account_of('partner', partner, 'income', cur),
								@extschema@.account_of('world', 0, 'payouts', cur), pay, 'transfer', refund)]);
		END IF;
		INSERT INTO @extschema@.lifecycle_event (kind, partner_id, subject_type, subject_id, due_at, created_at)
		VALUES ('deposit_refund_due', partner, 'partner', partner, t + interval '10 days', t)
		ON CONFLICT DO NOTHING;
	END IF;
	IF (SELECT p.qualification FROM @extschema@.partner p WHERE p.partner_id = partner) = 'qualified' THEN
		INSERT INTO @extschema@.lifecycle_event (kind, partner_id, subject_type, subject_id, due_at, created_at)
		VALUES ('qualification_end_due', partner, 'partner', partner, ((t AT TIME ZONE tz) + interval '1 month') AT TIME ZONE tz, t)
		ON CONFLICT DO NOTHING;
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.refund_deposits(bigint, timestamptz) IS 'Move a partner''s deposits back to its income, pay out what that makes withdrawable, schedule the refund and the end of the qualification (R-PRT-6)';

-- R-PRT-5: each customer with an instance not yet released on machines given notice of their end gets a migrate_data alert (once)
CREATE FUNCTION @extschema@.alert_migrate_data(machines bigint[]) RETURNS void
	LANGUAGE sql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
	INSERT INTO @extschema@.alert (kind, customer_id, partner_id, subject_type, subject_id, condition, raised_at, payload)
	SELECT 'migrate_data', i.customer_id, m.partner_id, 'instance', i.instance_id, m.owner_end_time::text, m.end_notice_at,
		   pg_catalog.jsonb_build_object('machine', m.machine_id, 'owner_end_time', m.owner_end_time)
	FROM @extschema@.machine m JOIN @extschema@.instance i ON i.machine_id = m.machine_id
	WHERE m.machine_id = ANY (machines) AND m.end_notice_at IS NOT NULL AND i.state <> 'released'
	ON CONFLICT DO NOTHING
$$;
COMMENT ON FUNCTION @extschema@.alert_migrate_data(bigint[]) IS 'R-PRT-5: a migrate_data alert to each customer with an instance not released on machines given notice of their end';

/*
 * tick: from the owner end time less delist_before_end_days a machine is
 * delisted and each customer with an instance on it not yet released gets
 * a migrate_data alert, closed when that instance is released (R-PRT-5).
 */
CREATE FUNCTION @extschema@.delist_ending_machines(t timestamptz) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	cfg @extschema@.partner_settings := @extschema@.partner_settings();
	due bigint[];
BEGIN
	WITH due AS (
		UPDATE @extschema@.machine m
		SET state = CASE WHEN m.state = 'listed' THEN 'delisted' ELSE m.state END,
			end_notice_at = GREATEST(@extschema@.delist_at(m.owner_end_time, cfg), m.created_at),
			last_event_at = GREATEST(m.last_event_at, @extschema@.delist_at(m.owner_end_time, cfg))
		WHERE m.end_notice_at IS NULL AND m.state <> 'removed' AND @extschema@.delist_at(m.owner_end_time, cfg) <= t
		RETURNING m.machine_id
	)
	SELECT pg_catalog.array_agg(d.machine_id) INTO due FROM due d;
	PERFORM @extschema@.alert_migrate_data(due);
	UPDATE @extschema@.alert a SET closed_at = GREATEST(a.raised_at, i.last_event_at)
	FROM @extschema@.instance i
	WHERE a.kind = 'migrate_data' AND a.closed_at IS NULL AND a.subject_type = 'instance'
	  AND i.instance_id = a.subject_id AND i.state = 'released';
	RETURN coalesce(pg_catalog.cardinality(due), 0);
END
$$;
COMMENT ON FUNCTION @extschema@.delist_ending_machines(timestamptz) IS 'Delist machines from their owner end time less delist_before_end_days, alert migrate_data to their customers, close the alerts of released instances (R-PRT-5)';

-- tick: qualifications whose end is due (and not cancelled by a new listing) end
CREATE FUNCTION @extschema@.end_qualifications(t timestamptz) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	n integer;
BEGIN
	UPDATE @extschema@.partner p SET qualification = 'ended'
	FROM @extschema@.lifecycle_event e
	WHERE e.kind = 'qualification_end_due' AND e.subject_type = 'partner' AND e.subject_id = p.partner_id
	  AND e.cancelled_at IS NULL AND e.due_at <= t AND p.qualification = 'qualified'
	  AND NOT EXISTS (SELECT FROM @extschema@.machine m WHERE m.partner_id = p.partner_id AND m.state <> 'removed');
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.end_qualifications(timestamptz) IS 'End the qualification of partners whose qualification_end_due has come (R-PRT-6)';
