/*
 * 10_machines.sql — machines listed by partners (R-PRT-1, R-PRT-2) and their
 * state machine (R-PRT-5, R-PRT-6):
 *
 *   listed -> delisted            no new rentals; stopped instances may start
 *   listed | delisted -> offline  nothing runs or starts on it
 *   any -> removed                once every instance on it is released
 * The allowed transitions live in machine_transition and a trigger enforces
 * them for every writer; the functions are in 84_machine_lifecycle.sql.
 *
 * Map (scripts/file-map.pl):
 * API: list_machine.
 * Internals: delist_at, find_machine.
 * Tables: machine, machine_transition.
 * Uses: 1_types, 2_base, 3_ledger, 4_parties.
 */

-- R-PRT-5: a machine is delisted at its owner end time less delist_before_end_days
CREATE FUNCTION @extschema@.delist_at(owner_end_time timestamptz, s @extschema@.partner_settings) RETURNS timestamptz
	LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$ SELECT owner_end_time - (s).delist_before_end_days * interval '1 day' $$;
COMMENT ON FUNCTION @extschema@.delist_at(timestamptz, @extschema@.partner_settings) IS 'R-PRT-5: when a machine is delisted: its owner end time less delist_before_end_days (no new rentals or terms beyond it)';

CREATE TABLE @extschema@.machine (
	machine_id	bigint PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	partner_id	bigint NOT NULL REFERENCES @extschema@.partner,
	gpus		integer NOT NULL CHECK (gpus > 0),
	price_per_gpu_hour @extschema@.amount NOT NULL CHECK (@extschema@.micros(price_per_gpu_hour) > 0),
	week_price_per_gpu @extschema@.amount CHECK (@extschema@.micros(week_price_per_gpu) > 0),
	month_price_per_gpu @extschema@.amount CHECK (@extschema@.micros(month_price_per_gpu) > 0),
	owner_end_time timestamptz NOT NULL,
	vouchers_allowed boolean NOT NULL,
	billing		text NOT NULL CHECK (billing IN ('per_second', 'usage_hourly', 'one_time')),
	package_hours integer NOT NULL CHECK (package_hours > 0),
	state		text NOT NULL DEFAULT 'listed' CHECK (state IN ('listed', 'delisted', 'offline', 'removed')),
	end_notice_at timestamptz,				/* R-PRT-5: tick delisted it and sent migrate_data alerts */
	created_at	timestamptz NOT NULL,
	last_event_at timestamptz NOT NULL,
	version		bigint NOT NULL DEFAULT 0		/* catalog_version_seq at its home partition (issue 17) */
);
CREATE INDEX machine_partner_idx ON @extschema@.machine (partner_id);
CREATE INDEX machine_end_idx ON @extschema@.machine (owner_end_time) WHERE end_notice_at IS NULL AND state <> 'removed';
COMMENT ON TABLE @extschema@.machine IS 'A machine a partner lists: GPUs, prices, owner end time, vouchers allowed, billing kind';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.machine', '');

-- a machine by id, locked if asked; unknown raises P0002
CREATE FUNCTION @extschema@.find_machine(machine bigint, lock boolean) RETURNS @extschema@.machine
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	m @extschema@.machine;
BEGIN
	IF lock THEN
		SELECT * INTO m FROM @extschema@.machine k WHERE k.machine_id = machine FOR UPDATE;
	ELSE
		SELECT * INTO m FROM @extschema@.machine k WHERE k.machine_id = machine;
	END IF;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown machine: %', machine USING ERRCODE = 'no_data_found';
	END IF;
	RETURN m;
END
$$;
COMMENT ON FUNCTION @extschema@.find_machine(bigint, boolean) IS 'A machine by id (locked if asked); unknown id raises P0002';

CREATE TABLE @extschema@.machine_transition (
	from_state	text NOT NULL,
	to_state	text NOT NULL,
	PRIMARY KEY (from_state, to_state)
);
INSERT INTO @extschema@.machine_transition VALUES
	('listed', 'delisted'), ('listed', 'offline'), ('delisted', 'offline'),
	('listed', 'removed'), ('delisted', 'removed'), ('offline', 'removed');
COMMENT ON TABLE @extschema@.machine_transition IS 'The allowed state changes of a machine';

CREATE TRIGGER machine_state_machine AFTER UPDATE ON @extschema@.machine
	FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state) EXECUTE FUNCTION @extschema@.check_transition('machine_transition', 'machine_id');

CREATE FUNCTION @extschema@.list_machine(partner bigint, gpus integer, price_per_gpu_hour @extschema@.amount,
										  owner_end_time timestamptz, vouchers_allowed boolean DEFAULT true,
										  week_price_per_gpu @extschema@.amount DEFAULT NULL,
										  month_price_per_gpu @extschema@.amount DEFAULT NULL,
										  billing text DEFAULT 'per_second', at timestamptz DEFAULT NULL,
										  package_hours integer DEFAULT 24)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := @extschema@.api_time(at);
	p @extschema@.partner;
	cur text;
	id bigint;
	deposit @extschema@.amount;
BEGIN
	p := @extschema@.lock_partner(partner);
	t := @extschema@.partner_time(at, partner);
	cur := p.currency;
	IF p.qualification <> 'qualified' THEN
		RAISE EXCEPTION 'partner % is not qualified (%)', partner, p.qualification USING ERRCODE = 'GB006';
	END IF;
	PERFORM @extschema@.check_gpus(gpus, 10000000);
	PERFORM @extschema@.check_amount(price_per_gpu_hour, cur, 'price per GPU-hour');
	IF week_price_per_gpu IS NOT NULL THEN
		PERFORM @extschema@.check_amount(week_price_per_gpu, cur, 'price per GPU-week');
	END IF;
	IF month_price_per_gpu IS NOT NULL THEN
		PERFORM @extschema@.check_amount(month_price_per_gpu, cur, 'price per GPU-month');
	END IF;
	PERFORM @extschema@.check_time(owner_end_time, 'owner end time');
	IF owner_end_time IS NULL OR owner_end_time <= t THEN
		RAISE EXCEPTION 'owner end time must be after the listing: %', owner_end_time
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF billing IS NULL OR billing NOT IN ('per_second', 'usage_hourly', 'one_time') THEN
		RAISE EXCEPTION 'invalid billing kind: %', coalesce(billing, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Billing kinds are per_second, usage_hourly and one_time.';
	END IF;
	IF vouchers_allowed IS NULL OR package_hours IS NULL OR package_hours <= 0 OR package_hours > 8784 THEN
		RAISE EXCEPTION 'vouchers_allowed must not be null and package_hours must be from 1 to 8784 (a year)'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO @extschema@.machine (partner_id, gpus, price_per_gpu_hour, week_price_per_gpu, month_price_per_gpu,
									 owner_end_time, vouchers_allowed, billing, package_hours, created_at, last_event_at)
	VALUES (partner, gpus, price_per_gpu_hour, week_price_per_gpu, month_price_per_gpu,
			owner_end_time, vouchers_allowed, billing, package_hours, t, t)
	RETURNING machine_id INTO id;
	/* R-PRT-6: a partner that lists again before its qualification ended keeps it */
	UPDATE @extschema@.lifecycle_event e SET cancelled_at = t
	WHERE e.kind = 'qualification_end_due' AND e.subject_type = 'partner' AND e.subject_id = partner
	  AND e.cancelled_at IS NULL AND e.due_at > t;
	/* R-PRT-2: the deposit moves from the partner's income (which may go below zero) to its deposit account */
	deposit := @extschema@.amount((@extschema@.partner_settings()).machine_deposit, cur);
	IF @extschema@.micros(deposit) > 0 THEN
		PERFORM @extschema@.post_transfers(ARRAY[
			@extschema@.leg(NULL, partner, t, 'deposit', @extschema@.account_of('partner', partner, 'income', cur),
							@extschema@.account_of('partner', partner, 'deposit', cur), deposit, 'machine', id)]);
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.list_machine(bigint, integer, @extschema@.amount, timestamptz, boolean, @extschema@.amount, @extschema@.amount, text, timestamptz, integer) IS 'List a machine of a partner and move its deposit from the partner''s income (R-PRT-1, R-PRT-2)';
