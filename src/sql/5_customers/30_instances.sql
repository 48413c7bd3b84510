/*
 * 30_instances.sql — instances and their state machine (R-PAYG-3, R-PAYG-6).
 *
 *   running -> stopped -> running ...      (stop, start)
 *   stopped -> released                    (release, or tick 10 days after stop)
 *   running -> expired -> running/released (weekly and monthly terms)
 * A prepaid instance (weekly, monthly, or a one_time package) has paid up
 * to term_end; tick renews or ends it there.
 * The allowed transitions live in instance_transition and a trigger enforces
 * them for every writer.
 *
 * Map (scripts/file-map.pl):
 * Internals: payg_hold.
 * Tables: instance, instance_transition, order_line, order_line_default.
 * Uses: 1_types, 2_base, 3_ledger.
 */

-- R-PAYG-1: the hold of a PAYG run: its hourly fee, rounded to cents, x payg_hold_hours
CREATE FUNCTION @extschema@.payg_hold(hourly_fee @extschema@.amount, s @extschema@.payg_settings) RETURNS @extschema@.amount
	LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$ SELECT @extschema@.round(hourly_fee, 2) * (s).payg_hold_hours $$;
COMMENT ON FUNCTION @extschema@.payg_hold(@extschema@.amount, @extschema@.payg_settings) IS 'R-PAYG-1: the hold of a PAYG run: the hourly fee rounded to cents x payg_hold_hours (placed at creation and at each settlement)';

CREATE TABLE @extschema@.instance (
	instance_id	bigint PRIMARY KEY,
	customer_id	bigint NOT NULL,			/* party key; its wallet is locked first */
	machine_id	bigint NOT NULL,
	partner_id	bigint NOT NULL,
	gpus		integer NOT NULL CHECK (gpus > 0),
	billing		text NOT NULL CHECK (billing IN ('payg', 'weekly', 'monthly')),
	product		text NOT NULL CHECK (product IN ('per_second', 'usage_hourly', 'one_time')),	/* the machine's */
	auto_renew	boolean NOT NULL DEFAULT false,
	state		text NOT NULL CHECK (state IN ('running', 'stopped', 'expired', 'released')),
	hourly_fee	@extschema@.amount NOT NULL,	/* price x GPUs x discount, fixed at each start */
	cash_only	boolean NOT NULL,				/* the machine refuses vouchers */
	hold_id		bigint,							/* the running hour's freeze */
	billed_until timestamptz NOT NULL,			/* usage is charged up to here */
	next_settle_at timestamptz,				/* the next hourly settlement, while running */
	stopped_at	timestamptz,
	stop_reason	text CHECK (stop_reason IN ('requested', 'insufficient_balance', 'expired', 'package_end', 'released',
								'machine_offline', 'machine_end')),
	run_started_at timestamptz,				/* the current run began (usage_hourly minimum) */
	term_end	timestamptz,				/* prepaid: paid up to here */
	term_anchor	timestamptz,				/* prepaid: the first term began (months count from it) */
	term_count	integer,					/* prepaid: terms paid since term_anchor */
	created_at	timestamptz NOT NULL,
	last_event_at timestamptz NOT NULL
) WITH (fillfactor = 70);
CREATE INDEX instance_due_idx ON @extschema@.instance (next_settle_at) WHERE state = 'running';
CREATE INDEX instance_customer_idx ON @extschema@.instance (customer_id);
CREATE INDEX instance_machine_idx ON @extschema@.instance (machine_id);	/* capacity; an outage's customers, released too */
CREATE INDEX instance_stopped_idx ON @extschema@.instance (stopped_at) WHERE state IN ('stopped', 'expired');
CREATE INDEX instance_term_idx ON @extschema@.instance (term_end) WHERE state = 'running' AND term_end IS NOT NULL;
COMMENT ON TABLE @extschema@.instance IS 'A customer''s instance on a machine: its billing, state and how far it has been charged';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.instance', '');

CREATE TABLE @extschema@.instance_transition (
	from_state	text NOT NULL,
	to_state	text NOT NULL,
	PRIMARY KEY (from_state, to_state)
);
INSERT INTO @extschema@.instance_transition VALUES
	('running', 'stopped'), ('stopped', 'running'), ('stopped', 'released'),
	('running', 'expired'), ('expired', 'running'), ('expired', 'released');
COMMENT ON TABLE @extschema@.instance_transition IS 'The allowed state changes of an instance';

CREATE TRIGGER instance_state_machine AFTER UPDATE ON @extschema@.instance
	FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state) EXECUTE FUNCTION @extschema@.check_transition('instance_transition', 'instance_id');

-- order lines: every charge on a machine, split per R-PRT-3; append-only
CREATE TABLE @extschema@.order_line (
	line_id		bigint NOT NULL DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	customer_id	bigint NOT NULL,
	instance_id	bigint NOT NULL,
	machine_id	bigint NOT NULL,
	partner_id	bigint NOT NULL,
	kind		text NOT NULL CHECK (kind IN ('payg', 'payg_stop', 'weekly', 'monthly', 'package')),
	usage		tstzrange NOT NULL,				/* the usage charged */
	seconds		bigint NOT NULL CHECK (seconds >= 0),
	hourly_fee	@extschema@.amount NOT NULL,
	charge		@extschema@.amount NOT NULL,	/* the order's price (R-PAYG-4 rounding) */
	voucher_paid @extschema@.amount NOT NULL,
	cash_paid	@extschema@.amount NOT NULL,	/* the actual payment */
	partner_income @extschema@.amount NOT NULL,
	platform_fee @extschema@.amount NOT NULL,
	at			timestamptz NOT NULL,
	recorded_at	timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
	CHECK (charge = voucher_paid + cash_paid AND cash_paid = partner_income + platform_fee)
) PARTITION BY RANGE (at);					/* a partition per billing month (3_ledger/25_months.sql) */
/* the default partition: months without a partition, and the template of the months' keys and indexes */
CREATE TABLE @extschema@.order_line_default PARTITION OF @extschema@.order_line (
	PRIMARY KEY (line_id),
	UNIQUE (instance_id, usage)				/* a stretch of usage is charged once (in each month's partition) */
) DEFAULT;
COMMENT ON TABLE @extschema@.order_line_default IS 'The order lines of months without a partition of their own; the template of the months'' partitions';
CREATE INDEX order_line_customer_idx ON @extschema@.order_line_default (customer_id);
CREATE INDEX order_line_partner_idx ON @extschema@.order_line_default (partner_id, at);	/* a partner's income by month */
COMMENT ON TABLE @extschema@.order_line IS 'An order line: the charge for a stretch of an instance''s usage and its split into voucher part, actual payment, partner income and platform fee (R-PRT-3); append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.order_line', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.order_line_default', '');
SELECT @extschema@.make_append_only('@extschema@.order_line');
SELECT @extschema@.make_append_only('@extschema@.order_line_default');
