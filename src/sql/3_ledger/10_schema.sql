/*
 * 10_schema.sql — parties, accounts, the journal, holds (R-LED-1..7).
 *
 * Every money movement is one row of `transfer`: an amount moving from a
 * debit account to a credit account (double entry in one row).  An account's
 * balance is credits minus debits.  Customers' balances are cached in
 * `wallet` (one row per customer, locked by every money movement of that
 * customer); platform, partner and world accounts have no cached balance
 * row: their totals are sums over the journal, so no single row is updated
 * by every transaction (R-LED-6, SPEC section 10).
 *
 * Every row carries its party key (customer_id or partner_id).  Ids come from
 * one sequence; the setting shard_id moves it into a range of its own
 * (shard_id * 2^48 + n), so ids stay unique across shards.
 *
 * Map (scripts/file-map.pl):
 * Internals: check_transition, make_append_only, refuse_change.
 * Tables: account, customer, hold, hold_end, invoice, partner, recharge,
 *   request, transfer, transfer_default, voucher, voucher_left, wallet.
 * Uses: 1_types, 2_base.
 */


CREATE TABLE @extschema@.customer (
	customer_id	bigint PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	external_ref text NOT NULL UNIQUE CHECK (external_ref <> ''),
	currency	text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	discount	numeric NOT NULL DEFAULT 1 CHECK (discount > 0 AND discount <= 1),
	approved	boolean NOT NULL DEFAULT false,
	b2b			boolean NOT NULL DEFAULT false,	/* may recharge by bank transfer (R-RCH-1) */
	created_at	timestamptz NOT NULL
);
COMMENT ON TABLE @extschema@.customer IS 'A customer: one row per customer, with its wallet currency and discount';

CREATE TABLE @extschema@.partner (
	partner_id	bigint PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	external_ref text NOT NULL UNIQUE CHECK (external_ref <> ''),
	currency	text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	is_provider	boolean NOT NULL DEFAULT false,
	rating		@extschema@.rating,				/* NULL until first rated: rating_initial (R-PRT-7) */
	qualification text NOT NULL DEFAULT 'qualified'
		CHECK (qualification IN ('qualified', 'terminated', 'revoked', 'ended')),
	created_at	timestamptz NOT NULL,
	version		bigint NOT NULL DEFAULT 0		/* catalog_version_seq at its home partition (issue 17) */
);
COMMENT ON TABLE @extschema@.partner IS 'A partner (GPU owner) or exchange provider';


CREATE TABLE @extschema@.account (
	account_id	bigint PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.account_id_seq'),
	owner_kind	text NOT NULL CHECK (owner_kind IN ('customer', 'partner', 'platform', 'world')),
	owner_id	bigint NOT NULL,		/* customer or partner id; 0 for platform and world */
	purpose		text NOT NULL CHECK (purpose IN (
		'cash', 'voucher',												/* customer */
		'income', 'deposit', 'exchange',								/* partner */
		'fee', 'voucher_expense', 'voucher_breakage', 'commission',		/* platform */
		'compensation', 'forfeit', 'receivable', 'clearing',
		'payments_in', 'payouts')),										/* world */
	currency	text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	UNIQUE (owner_kind, owner_id, purpose, currency),
	CHECK ((owner_kind IN ('platform', 'world')) = (owner_id = 0))
);
COMMENT ON TABLE @extschema@.account IS 'A ledger account: an owner, a purpose and a currency';

/*
 * No foreign keys here: a wallet is updated twice in many transactions, and
 * PostgreSQL re-checks every foreign key of a row updated again in the
 * transaction that last updated it.  verify() checks the references instead.
 */
CREATE TABLE @extschema@.wallet (
	customer_id	bigint PRIMARY KEY,			/* the customer */
	cash_account bigint NOT NULL,			/* the customer's accounts */
	voucher_account bigint NOT NULL,
	fee_account	bigint NOT NULL,				/* the platform's, in this currency */
	voucher_expense_account bigint NOT NULL,	/* the platform's, in this currency */
	cash		@extschema@.amount NOT NULL,
	vouchers	@extschema@.amount NOT NULL,
	held		@extschema@.amount NOT NULL,	/* active holds */
	cash_held	@extschema@.amount NOT NULL,	/* active holds that may use cash only */
	recharged	@extschema@.amount NOT NULL,	/* real recharges, ever */
	invoiced	@extschema@.amount NOT NULL,	/* recorded invoices, ever */
	hold_expiry	timestamptz,				/* earliest expiry of an active hold */
	voucher_expiry timestamptz,				/* earliest expiry of a voucher with money left */
	updated_at	timestamptz NOT NULL,
	/* R-AMT-1, R-SEC-3: cash + vouchers (available before holds) stays in the amount range,
	   or every later hold would fail: the sum raises 22003 in the call that would leave it */
	CONSTRAINT wallet_funds_in_range CHECK (@extschema@.micros(cash + vouchers) IS NOT NULL)
) WITH (fillfactor = 50);					/* room for HOT updates: every movement updates its row */
COMMENT ON TABLE @extschema@.wallet IS 'Cached balances of a customer''s accounts, checked against the journal by verify(); the row every money movement of the customer locks';

CREATE TABLE @extschema@.transfer (
	transfer_id	bigint NOT NULL DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	customer_id	bigint,					/* party key of a customer's movement */
	partner_id	bigint,					/* party key of a partner-only movement */
	at			timestamptz NOT NULL,	/* business time */
	recorded_at	timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
	kind		text NOT NULL CHECK (kind IN ('recharge', 'bonus', 'voucher', 'charge', 'fee', 'income',
						'voucher_spend', 'voucher_expiry', 'deposit', 'withdrawal', 'refund', 'forfeit',
						'compensation', 'commission', 'reservation_fee', 'cancellation_fee',
						'reseller_refund', 'premium', 'payment', 'storage', 'reversal', 'deposit_refund', 'offset')),
	debit_account bigint NOT NULL,			/* an account (checked by verify: no foreign key, */
	credit_account bigint NOT NULL,		/* whose row lock would make the platform's accounts hot) */
	amount		@extschema@.amount NOT NULL CHECK (@extschema@.micros(amount) > 0),
	object_type	text,
	object_id	bigint,
	request_id	text,
	reverses	bigint,					/* the transfer this one reverses (checked by verify) */
	note		text,
	CHECK (debit_account <> credit_account),
	CHECK (customer_id IS NOT NULL OR partner_id IS NOT NULL)
) PARTITION BY RANGE (at);					/* a partition per billing month (25_months.sql) */
/*
 * The default partition: the rows of months without a partition of their
 * own, and the template of every month's partition — its keys and indexes
 * are copied to each (the journal's tables have none of their own, or
 * attaching a month restored by pg_restore would make them twice).
 */
CREATE TABLE @extschema@.transfer_default PARTITION OF @extschema@.transfer (PRIMARY KEY (transfer_id)) DEFAULT;
COMMENT ON TABLE @extschema@.transfer_default IS 'The journal''s transfers of months without a partition of their own; the template of the months'' partitions';
CREATE INDEX transfer_customer_idx ON @extschema@.transfer_default (customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX transfer_partner_idx ON @extschema@.transfer_default (partner_id) WHERE partner_id IS NOT NULL;
COMMENT ON TABLE @extschema@.transfer IS 'The journal: one row per money movement, append-only (R-LED-1, R-LED-4, R-LED-7)';

CREATE TABLE @extschema@.hold (
	hold_id		bigint PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	customer_id	bigint NOT NULL,		/* the wallet locked to place it */
	amount		@extschema@.amount NOT NULL CHECK (@extschema@.micros(amount) > 0),
	cash_only	boolean NOT NULL,		/* vouchers may not pay what it reserves */
	at			timestamptz NOT NULL,
	expires_at	timestamptz,
	recorded_at	timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
	object_type	text,
	object_id	bigint,
	request_id	text,
	CHECK (expires_at IS NULL OR expires_at > at)
);
CREATE INDEX hold_expiring_idx ON @extschema@.hold (customer_id, expires_at) WHERE expires_at IS NOT NULL;
COMMENT ON TABLE @extschema@.hold IS 'A reservation of a customer''s funds (two-phase, R-LED-2), append-only; its end is a hold_end row';

CREATE TABLE @extschema@.hold_end (
	hold_id		bigint PRIMARY KEY,		/* a hold ends once (verify checks the hold exists) */
	customer_id	bigint NOT NULL,
	kind		text NOT NULL CHECK (kind IN ('capture', 'release', 'expire')),
	captured	@extschema@.amount NOT NULL,	/* zero unless kind = capture */
	at			timestamptz NOT NULL,
	recorded_at	timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
	request_id	text,
	CHECK (kind = 'capture' OR @extschema@.micros(captured) = 0)
);
COMMENT ON TABLE @extschema@.hold_end IS 'How a hold ended: captured (all or part, the rest released), released or expired; append-only';

CREATE TABLE @extschema@.recharge (
	recharge_id	bigint PRIMARY KEY,
	customer_id	bigint NOT NULL REFERENCES @extschema@.customer,
	channel		text NOT NULL CHECK (channel IN ('wechat', 'alipay', 'stripe', 'crypto', 'paypal', 'bank_transfer')),
	external_id	text NOT NULL CHECK (external_id <> ''),
	amount		@extschema@.amount NOT NULL,
	bonus		@extschema@.amount NOT NULL,
	at			timestamptz NOT NULL,
	UNIQUE (channel, external_id)
);
CREATE INDEX recharge_customer_idx ON @extschema@.recharge (customer_id);
COMMENT ON TABLE @extschema@.recharge IS 'A real recharge through a payment channel (R-RCH-1), append-only';

CREATE TABLE @extschema@.voucher (
	voucher_id	bigint PRIMARY KEY,
	customer_id	bigint NOT NULL REFERENCES @extschema@.customer,
	amount		@extschema@.amount NOT NULL,
	expires_at	timestamptz,
	at			timestamptz NOT NULL,
	recharge_id	bigint REFERENCES @extschema@.recharge,	/* set for a channel bonus */
	CHECK (expires_at IS NULL OR expires_at > at)
);
CREATE INDEX voucher_customer_idx ON @extschema@.voucher (customer_id);
COMMENT ON TABLE @extschema@.voucher IS 'A voucher grant (R-RCH-3), append-only';

/*
 * What is left of each voucher, spent earliest expiry first (R-RCH-4): a
 * cache of the journal (verify() checks it sums to the wallet's vouchers).
 * A voucher spent to nothing or expired leaves the table.
 */
CREATE TABLE @extschema@.voucher_left (
	voucher_id	bigint PRIMARY KEY,		/* a voucher, or a reversal that gave vouchers back */
	customer_id	bigint NOT NULL,
	expires_at	timestamptz,
	amount		@extschema@.amount NOT NULL CHECK (@extschema@.micros(amount) > 0)
);
CREATE INDEX voucher_left_spend_idx ON @extschema@.voucher_left (customer_id, expires_at, voucher_id);
CREATE INDEX voucher_left_expiry_idx ON @extschema@.voucher_left (expires_at) WHERE expires_at IS NOT NULL;
COMMENT ON TABLE @extschema@.voucher_left IS 'The money left on each voucher of a customer, spent earliest expiry first (R-RCH-4)';

CREATE TABLE @extschema@.invoice (
	invoice_id	bigint PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	customer_id	bigint NOT NULL REFERENCES @extschema@.customer,
	amount		@extschema@.amount NOT NULL CHECK (@extschema@.micros(amount) > 0),
	at			timestamptz NOT NULL
);
CREATE INDEX invoice_customer_idx ON @extschema@.invoice (customer_id);
COMMENT ON TABLE @extschema@.invoice IS 'An amount invoiced to a customer: not refundable (R-REF-1), append-only';

CREATE TABLE @extschema@.request (
	fn			text NOT NULL,			/* the API function */
	request_id	text NOT NULL,
	customer_id	bigint,
	partner_id	bigint,
	args		jsonb NOT NULL,			/* the arguments, at aside */
	result		bigint,					/* the id the first call returned */
	at			timestamptz NOT NULL,
	PRIMARY KEY (fn, request_id)
);
COMMENT ON TABLE @extschema@.request IS 'Idempotency: the first call of each request id, its arguments and result (R-LED-5), append-only';

-- R-LED-4: journal, holds and their ends, recharges, vouchers, invoices and
-- requests are append-only, for every role.
CREATE FUNCTION @extschema@.refuse_change() RETURNS trigger
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	RAISE EXCEPTION '% on %.% is not allowed: the table is append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
		USING ERRCODE = 'GB004',
			  HINT = 'Correct a transfer with a new, reversing transfer.';
END
$$;
COMMENT ON FUNCTION @extschema@.refuse_change() IS 'Trigger function: refuses UPDATE, DELETE and TRUNCATE on append-only tables (R-LED-4)';

/*
 * The state machines (instance, machine, contract): a row's state changes
 * only as its table's transition table (TG_ARGV[0]) allows; TG_ARGV[1] names
 * the id column for the message.  An AFTER trigger with WHEN OLD.state IS
 * DISTINCT FROM NEW.state: only rows whose state changes pay for it (a
 * BEFORE UPDATE row trigger makes PostgreSQL 15 allocate per updated row in
 * the statement's memory — ExecUpdateLockMode — so tick's memory would grow
 * with the instances it settles).
 */
CREATE FUNCTION @extschema@.check_transition() RETURNS trigger
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	allowed boolean;
BEGIN
	EXECUTE pg_catalog.format('SELECT EXISTS (SELECT FROM %I.%I t WHERE t.from_state = $1 AND t.to_state = $2)',
							  TG_TABLE_SCHEMA, TG_ARGV[0])
	INTO allowed USING OLD.state, NEW.state;
	IF NOT allowed THEN
		RAISE EXCEPTION '% % cannot go from % to %', TG_TABLE_NAME, pg_catalog.to_jsonb(OLD) ->> TG_ARGV[1], OLD.state, NEW.state
			USING ERRCODE = 'GB004';
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.check_transition() IS 'Trigger function: refuses a state change the table''s transition table (first argument) does not allow';

-- R-LED-4: declare a table append-only: a row trigger refuses UPDATE and DELETE,
-- a statement trigger TRUNCATE (every append-only table is declared with it)
CREATE FUNCTION @extschema@.make_append_only(tbl regclass) RETURNS void
	LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
	AS $$
DECLARE
	name text := (SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = tbl);
BEGIN
	/* a partition has the row trigger of its table already (cloned); TRUNCATE of a partition by name
	   fires only the partition's own statement trigger */
	IF NOT (SELECT c.relispartition FROM pg_catalog.pg_class c WHERE c.oid = tbl) THEN
		EXECUTE pg_catalog.format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %s
								   FOR EACH ROW EXECUTE FUNCTION @extschema@.refuse_change()', name || '_append_only', tbl);
	END IF;
	EXECUTE pg_catalog.format('CREATE TRIGGER %I BEFORE TRUNCATE ON %s
							   FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.refuse_change()', name || '_no_truncate', tbl);
END
$$;
COMMENT ON FUNCTION @extschema@.make_append_only(regclass) IS 'Make a table append-only: UPDATE, DELETE and TRUNCATE raise GB004 for every role (R-LED-4)';

SELECT @extschema@.make_append_only(t)
FROM pg_catalog.unnest(ARRAY['@extschema@.transfer', '@extschema@.transfer_default', '@extschema@.hold', '@extschema@.hold_end', '@extschema@.recharge',
							 '@extschema@.voucher', '@extschema@.invoice', '@extschema@.request']::regclass[]) t;

-- pg_dump keeps the billing data (STYLE 11)
SELECT pg_catalog.pg_extension_config_dump('@extschema@.id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.account_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.catalog_version_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.customer', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.partner', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.account', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.wallet', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.transfer', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.transfer_default', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.hold', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.hold_end', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.recharge', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.voucher', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.voucher_left', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.invoice', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.request', '');
