/*
 * 30_outages.sql — outages and compensation (R-PRT-8, R-PRT-6).
 *
 * An outage is a stretch [started, ended) in which a machine did not serve
 * its instances.  Unnotified outages compensate every customer that was
 * charged for the window: outage_compensation_multiple x the fees charged
 * for it (each order line counted by the seconds it shares with the window),
 * rounded half away from zero to cents, paid in cash.  The platform pays the
 * customer from its compensation account and recovers the same sum from the
 * partner's income: withdrawable falls by it (R-PRT-2).  Maintenance
 * registered in advance (notified) is neither compensated nor counted; more
 * than max_unnotified_outages_per_month unnotified outages starting in one
 * calendar month (billing time zone) revoke the partner's qualification.
 * A machine taken offline by force is an outage of kind forced_offline from
 * that instant on (see 84_machine_lifecycle.sql); it is not counted.
 *
 * Map (scripts/file-map.pl):
 * API: report_outage.
 * Internals: compensate, lock_outage_renters, revoke_partner.
 * Tables: outage, outage_compensation, outage_outbox.
 * Uses: 1_types, 2_base, 3_ledger, 4_parties, 5_customers.
 */

CREATE TABLE @extschema@.outage (
	outage_id	bigint PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	machine_id	bigint NOT NULL,
	partner_id	bigint NOT NULL,			/* party key */
	kind		text NOT NULL CHECK (kind IN ('outage', 'maintenance', 'forced_offline')),
	started		timestamptz NOT NULL,
	ended		timestamptz NOT NULL,		/* infinity for a forced offline */
	reported_at	timestamptz NOT NULL,
	CHECK (started < ended)
);
CREATE INDEX outage_machine_idx ON @extschema@.outage (machine_id, started);
CREATE INDEX outage_partner_idx ON @extschema@.outage (partner_id, started);
COMMENT ON TABLE @extschema@.outage IS 'An outage of a machine: unnotified (compensated, counted), maintenance notified in advance, or a forced offline; append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.outage', '');
SELECT @extschema@.make_append_only('@extschema@.outage');

CREATE TABLE @extschema@.outage_outbox (
	outage_id	bigint PRIMARY KEY,
	partner_id	bigint NOT NULL
);
CREATE INDEX outage_outbox_partner_idx ON @extschema@.outage_outbox (partner_id);
COMMENT ON TABLE @extschema@.outage_outbox IS 'Unnotified outages of machines homed here whose compensation the proxy has yet to push to the other partitions (issue 18)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.outage_outbox', '');

CREATE TABLE @extschema@.outage_compensation (
	outage_id	bigint NOT NULL,
	instance_id	bigint NOT NULL,
	customer_id	bigint NOT NULL,			/* party keys: the customer paid, the partner charged */
	partner_id	bigint NOT NULL,
	fees		@extschema@.amount NOT NULL,	/* charged for the window (or the held hour lost) */
	amount		@extschema@.amount NOT NULL CHECK (@extschema@.micros(amount) > 0),
	at			timestamptz NOT NULL,
	PRIMARY KEY (outage_id, instance_id)
);
CREATE INDEX outage_compensation_customer_idx ON @extschema@.outage_compensation (customer_id);
CREATE INDEX outage_compensation_partner_idx ON @extschema@.outage_compensation (partner_id, at);
COMMENT ON TABLE @extschema@.outage_compensation IS 'The compensation of one instance''s customer for an outage: the fees of the window and the sum paid in cash; append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.outage_compensation', '');
SELECT @extschema@.make_append_only('@extschema@.outage_compensation');

/*
 * Compensate the customers of a machine for an outage window (their wallets
 * locked by the caller): per instance (of only_instances, or all), multiple
 * x (the fees charged for the window + the held hours of
 * lost_hold_instances), rounded to cents.
 */
CREATE FUNCTION @extschema@.compensate(outage bigint, machine bigint, win tstzrange, only_instances bigint[],
										lost_hold_instances bigint[], t timestamptz) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	multiple numeric := (@extschema@.partner_settings()).outage_compensation_multiple;
	cfg @extschema@.payg_settings := @extschema@.payg_settings();
	m @extschema@.machine;
	cur text;
	comp_account bigint;
	income_account bigint;
	r record;
	n integer := 0;
BEGIN
	SELECT * INTO m FROM @extschema@.machine k WHERE k.machine_id = machine;
	cur := @extschema@.currency(m.price_per_gpu_hour);
	comp_account := @extschema@.account_of('platform', 0, 'compensation', cur);
	income_account := @extschema@.account_of('partner', m.partner_id, 'income', cur);
	FOR r IN
		SELECT x.instance_id, x.customer_id, x.fees,
			   pg_catalog.round(x.fees * multiple, 2) AS amount, w.cash_account
		FROM (SELECT i.instance_id, i.customer_id,
					 coalesce((SELECT pg_catalog.sum(@extschema@.micros(o.charge)::numeric
									* EXTRACT(epoch FROM LEAST(pg_catalog.upper(o.usage), pg_catalog.upper(win))
														 - GREATEST(pg_catalog.lower(o.usage), pg_catalog.lower(win)))
									/ o.seconds)
							   FROM @extschema@.order_line o
							   WHERE o.instance_id = i.instance_id AND o.usage && win AND o.seconds > 0), 0) / 1000000
					 + CASE WHEN i.instance_id = ANY (lost_hold_instances)
							THEN @extschema@.micros(@extschema@.payg_hold(i.hourly_fee, cfg))::numeric / 1000000
							ELSE 0 END AS fees
			  FROM @extschema@.instance i
			  WHERE i.machine_id = machine AND (only_instances IS NULL OR i.instance_id = ANY (only_instances))
				/* an instance created after the window, or released before it, was not affected */
				AND i.created_at < pg_catalog.upper(win) AND (i.state <> 'released' OR i.last_event_at > pg_catalog.lower(win))) x
		JOIN @extschema@.wallet w USING (customer_id)
		WHERE pg_catalog.round(x.fees * multiple, 2) > 0
		ORDER BY x.customer_id, x.instance_id
	LOOP
		INSERT INTO @extschema@.outage_compensation (outage_id, instance_id, customer_id, partner_id, fees, amount, at)
		VALUES (outage, r.instance_id, r.customer_id, m.partner_id, @extschema@.amount(pg_catalog.round(r.fees, 6), cur),
				@extschema@.amount(r.amount, cur), t);
		PERFORM @extschema@.post_transfers(ARRAY[
			/* the platform pays the customer in cash ... */
			@extschema@.leg(r.customer_id, NULL, t, 'compensation', comp_account, r.cash_account, @extschema@.amount(r.amount, cur),
							'outage', outage),
			/* ... and recovers it from the partner's income (R-PRT-2: deducted from withdrawable) */
			@extschema@.leg(NULL, m.partner_id, t, 'compensation', income_account, comp_account, @extschema@.amount(r.amount, cur),
							'outage', outage)]);
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.compensate(bigint, bigint, tstzrange, bigint[], bigint[], timestamptz) IS 'Pay the customers of a machine multiple x the fees charged for an outage window, recovered from the partner''s income (R-PRT-8)';

/*
 * R-LED-6: the renters an outage window affects, locked — their customers'
 * wallets first, in customer order, then their instances on the machine
 * (those not created after the window nor released before it) in instance
 * order.  An instance of a customer whose wallet is not locked here is
 * never touched.  Returns the instances.
 */
CREATE FUNCTION @extschema@.lock_outage_renters(machine bigint, win tstzrange) RETURNS bigint[]
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	customers bigint[];
BEGIN
	customers := ARRAY(SELECT DISTINCT i.customer_id FROM @extschema@.instance i
					   WHERE i.machine_id = machine AND i.created_at < pg_catalog.upper(win)
						 AND (i.state <> 'released' OR i.last_event_at > pg_catalog.lower(win))
					   ORDER BY 1);
	PERFORM @extschema@.lock_wallets(customers);
	RETURN ARRAY(SELECT i.instance_id FROM @extschema@.instance i
				 WHERE i.machine_id = machine AND i.customer_id = ANY (customers) AND i.created_at < pg_catalog.upper(win)
				   AND (i.state <> 'released' OR i.last_event_at > pg_catalog.lower(win))
				 ORDER BY i.instance_id FOR UPDATE);
END
$$;
COMMENT ON FUNCTION @extschema@.lock_outage_renters(bigint, tstzrange) IS 'Lock the renters an outage window of a machine affects, wallets first, then their instances; returns the instances (R-LED-6, R-PRT-8)';

CREATE FUNCTION @extschema@.report_outage(machine bigint, started timestamptz, ended timestamptz,
										   notified boolean DEFAULT false, at timestamptz DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz;
	tz text := @extschema@.billing_timezone();
	m @extschema@.machine;
	p @extschema@.partner;
	win tstzrange;
	o @extschema@.outage;
	id bigint;
	inst bigint;
	affected bigint[];
	month @extschema@.billing_period;
	counted integer;
BEGIN
	m := @extschema@.find_machine(machine, false);
	/* R-CLK-5: not reported before the machine's last event, nor starting before it was listed */
	t := @extschema@.call_time(at, m.last_event_at, 'machine ' || machine);
	PERFORM @extschema@.check_time(started, 'an outage''s start');
	PERFORM @extschema@.check_time(ended, 'an outage''s end');
	IF started IS NULL OR ended IS NULL OR notified IS NULL OR started >= ended OR NOT pg_catalog.isfinite(ended) THEN
		RAISE EXCEPTION 'an outage needs a start before its end and notified true or false: % to %', started, ended
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF notified AND t >= started THEN
		/* R-PRT-8: maintenance is announced before it starts, or it is an outage */
		RAISE EXCEPTION 'maintenance must be announced before it starts: % is not before %', t, started USING ERRCODE = 'GB004',
			HINT = 'Report it as an outage (notified => false): its customers are compensated.';
	END IF;
	IF started < m.created_at THEN
		RAISE EXCEPTION 'an outage of machine % cannot start at %, before it was listed at %', machine, started, m.created_at
			USING ERRCODE = 'GB004';
	END IF;
	IF NOT notified AND ended > t THEN
		RAISE EXCEPTION 'an outage ending % is reported at %, before it ended', ended, t USING ERRCODE = 'GB004',
			HINT = 'Report an outage once it is over; maintenance announced in advance is reported with notified => true.';
	END IF;
	/* the partner row serialises the reports (and the count) of its machines */
	p := @extschema@.lock_partner(m.partner_id);
	win := pg_catalog.tstzrange(started, ended);
	SELECT * INTO o FROM @extschema@.outage k
	WHERE k.machine_id = machine AND pg_catalog.tstzrange(k.started, k.ended) && win
	ORDER BY k.started LIMIT 1;
	IF FOUND THEN
		IF o.started = started AND o.ended = ended AND (o.kind = 'maintenance') = notified THEN
			RETURN o.outage_id;		/* the same report again: done once */
		END IF;
		RAISE EXCEPTION 'the outage overlaps outage % of machine % (% to %)', o.outage_id, machine, o.started, o.ended
			USING ERRCODE = 'GB004';
	END IF;
	INSERT INTO @extschema@.outage (machine_id, partner_id, kind, started, ended, reported_at)
	VALUES (machine, m.partner_id, CASE WHEN notified THEN 'maintenance' ELSE 'outage' END, started, ended, t)
	RETURNING outage_id INTO id;
	IF notified THEN
		RETURN id;
	END IF;

	/*
	 * R-LED-6: the affected customers' wallets first, in customer order, then
	 * their instances on the machine (those not created after the window nor
	 * released before it) in instance order; only these are settled up to t
	 * and compensated (R-PRT-8).  An instance of a customer whose wallet is
	 * not locked here is never touched.
	 */
	affected := @extschema@.lock_outage_renters(machine, win);
	FOREACH inst IN ARRAY affected LOOP
		PERFORM @extschema@.settle_interim(inst, t);
	END LOOP;
	PERFORM @extschema@.compensate(id, machine, win, affected, '{}', t);
	IF (SELECT k.partitions FROM @extschema@.partition_identity k) > 1 THEN
		/* behind a proxy: the machine's renters on the other partitions too (35_outage_steps.sql) */
		INSERT INTO @extschema@.outage_outbox (outage_id, partner_id) VALUES (id, m.partner_id);
	END IF;

	/* R-PRT-8: more than max_unnotified_outages_per_month in a calendar month revoke the qualification */
	month := @extschema@.billing_period('month', report_outage.started, tz);
	SELECT pg_catalog.count(*) INTO counted FROM @extschema@.outage k
	WHERE k.partner_id = m.partner_id AND k.kind = 'outage'
	  AND k.started >= @extschema@.lower(month) AND k.started < @extschema@.upper(month);
	IF counted > (@extschema@.partner_settings()).max_unnotified_outages_per_month AND p.qualification = 'qualified' THEN
		PERFORM @extschema@.revoke_partner(m.partner_id, t);
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.report_outage(bigint, timestamptz, timestamptz, boolean, timestamptz) IS 'Record an outage of a machine: unnotified ones settle its instances up to at and compensate their customers from the partner''s income, and more than 3 in a month revoke the qualification; notified maintenance is only recorded (R-PRT-8)';

-- R-PRT-8: a revoked partner lists nothing new (GB006) and its listed machines take no new rentals
CREATE FUNCTION @extschema@.revoke_partner(partner bigint, t timestamptz) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	UPDATE @extschema@.partner k SET qualification = 'revoked' WHERE k.partner_id = partner;
	UPDATE @extschema@.machine m SET state = 'delisted', last_event_at = GREATEST(m.last_event_at, t)
	WHERE m.partner_id = partner AND m.state = 'listed';
END
$$;
COMMENT ON FUNCTION @extschema@.revoke_partner(bigint, timestamptz) IS 'Revoke a partner''s qualification: no new listings, its listed machines delisted (R-PRT-8)';
