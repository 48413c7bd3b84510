/*
 * 20_contracts.sql — compute exchange contracts (R-EXC-1..5): providers,
 * contracts and their payments.
 *
 * A provider is a partner (is_provider) with an exchange account, separate
 * from marketplace income.  A contract's schedule (86_exchange_schedule.sql)
 * is written out at acceptance as contract_payment rows; every payment the
 * provider receives is a contract_receipt (the exchange's order line) and
 * its transfers, keyed by the customer: the gross minus the commission to
 * the provider's exchange account, the commission to the platform.
 *
 * Approved customers pay with pay_contract (money from outside); the others
 * from their wallet: the initial (or full) payment is held at acceptance and
 * captured at the term start, later payments are taken by tick from their
 * due time on, only in full.  The deposit part of the initial payment waits
 * in the customer's deposit account and reaches the provider piece by piece
 * with the customer's payment of that piece.
 *
 *   pending -> active -> completed;  active <-> late (pending -> late: an
 *   approved customer's first payment late before the start);
 *   active | late -> terminated;  active -> resold;  active <-> resale_pending
 *   (a resale across partitions between its steps, 45_resale_steps.sql)
 *
 * Map (scripts/file-map.pl):
 * API: apply_volumes, contract_schedule, contract_state, create_contract,
 *   open_provider, pay_contract, provider_volumes, provider_wallet,
 *   record_provider_offset, set_commission_tiers, set_provider_commission,
 *   volume_months_missing.
 * Internals: accept_contract, commission_rate, late_from, lock_contract,
 *   month_before, pay_fee, pay_row, receive, settle_volumes,
 *   settle_volumes_due, volumes_from_proxy.
 * Tables: contract, contract_fee, contract_payment, contract_receipt,
 *   contract_transition, exchange_commission_tier, provider_commission,
 *   provider_offset, provider_volume, volume_month.
 * Uses: 1_types, 2_base, 3_ledger, 4_parties.
 */

CREATE TABLE @extschema@.contract (
	contract_id	bigint PRIMARY KEY,
	customer_id	bigint NOT NULL,			/* party key; its wallet is locked first */
	provider_id	bigint NOT NULL,
	gpus		integer NOT NULL CHECK (gpus > 0),
	price_per_gpu_hour @extschema@.amount NOT NULL CHECK (@extschema@.micros(price_per_gpu_hour) > 0),
	term		tstzrange NOT NULL,
	total		@extschema@.amount NOT NULL,	/* the total contract value: what the customer pays in all */
	deposit		@extschema@.amount NOT NULL,	/* the cancellation fee deposit in the initial payment */
	deposit_left @extschema@.amount NOT NULL,	/* paid in and not yet applied (cached; the journal is the truth) */
	initial_days integer NOT NULL,			/* R-EXC-3: the settings at acceptance, for the life of the contract */
	deposit_rate numeric NOT NULL,
	approved	boolean NOT NULL,			/* the customer paid directly when it accepted */
	hold_id		bigint,						/* the held initial payment of a prefunded customer */
	state		text NOT NULL CHECK (state IN ('pending', 'active', 'late', 'terminated', 'resold', 'completed', 'resale_pending')),
	accepted_at	timestamptz NOT NULL,
	ended_at	timestamptz,
	end_reason	text,
	resold_from	bigint,						/* the contract whose remaining term this one is */
	resold_to	bigint,						/* the contract its remaining term was resold as */
	resale_at	timestamptz,				/* the resale takes effect (a calendar month's start) */
	last_event_at timestamptz NOT NULL
);
CREATE INDEX contract_customer_idx ON @extschema@.contract (customer_id);
CREATE INDEX contract_provider_idx ON @extschema@.contract (provider_id);
CREATE INDEX contract_open_idx ON @extschema@.contract (state) WHERE state IN ('pending', 'active', 'late');
COMMENT ON TABLE @extschema@.contract IS 'A compute exchange contract: a customer rents GPUs of a provider for a term at a price per GPU-hour';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.contract', '');

CREATE TABLE @extschema@.contract_transition (
	from_state	text NOT NULL,
	to_state	text NOT NULL,
	PRIMARY KEY (from_state, to_state)
);
INSERT INTO @extschema@.contract_transition VALUES
	('pending', 'active'), ('active', 'completed'), ('active', 'late'), ('late', 'active'),
	('active', 'terminated'), ('late', 'terminated'), ('active', 'resold'), ('late', 'resold'), ('pending', 'late'),
	('late', 'pending'),		/* a late initial payment made before the term starts */
	('active', 'resale_pending'), ('resale_pending', 'active');	/* a resale across partitions, begun and ended (45_resale_steps.sql) */
COMMENT ON TABLE @extschema@.contract_transition IS 'The allowed state changes of a contract';

CREATE TRIGGER contract_state_machine AFTER UPDATE ON @extschema@.contract
	FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state) EXECUTE FUNCTION @extschema@.check_transition('contract_transition', 'contract_id');

CREATE TABLE @extschema@.contract_payment (
	contract_id	bigint NOT NULL,
	seq			integer NOT NULL,
	customer_id	bigint NOT NULL,
	due_at		timestamptz NOT NULL,
	covers		tstzrange NOT NULL,
	customer_pays @extschema@.amount NOT NULL,
	from_deposit @extschema@.amount NOT NULL,
	kind		text NOT NULL CHECK (kind IN ('full', 'initial', 'monthly', 'final')),
	late_from	timestamptz NOT NULL,		/* R-EXC-5: unpaid from here on it is late */
	paid_at		timestamptz,
	late_at		timestamptz,				/* it became late (once) */
	cancelled_at timestamptz,				/* no longer due: terminated or resold */
	evidence	text,						/* R-EXC-5: the customer showed it initiated the payment */
	evidence_at	timestamptz,
	PRIMARY KEY (contract_id, seq)
);
CREATE INDEX contract_payment_due_idx ON @extschema@.contract_payment (due_at) WHERE paid_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX contract_payment_late_idx ON @extschema@.contract_payment (late_from) WHERE paid_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX contract_payment_customer_idx ON @extschema@.contract_payment (customer_id);
COMMENT ON TABLE @extschema@.contract_payment IS 'A payment of a contract''s schedule: due time, the stretch it covers, what the customer pays and what the deposit adds; paid, late or cancelled';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.contract_payment', '');

CREATE TABLE @extschema@.contract_receipt (
	receipt_id	bigint PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	contract_id	bigint NOT NULL,
	customer_id	bigint NOT NULL,			/* party keys */
	provider_id	bigint NOT NULL,
	seq			integer,					/* the schedule row paid, if any */
	kind		text NOT NULL CHECK (kind IN ('payment', 'deposit', 'reservation_fee', 'cancellation_fee', 'premium', 'reseller_refund')),
	gross		@extschema@.amount NOT NULL CHECK (@extschema@.micros(gross) > 0),
	commission	@extschema@.amount NOT NULL,
	rate		numeric NOT NULL,
	at			timestamptz NOT NULL,
	external_id	text
);
CREATE INDEX contract_receipt_contract_idx ON @extschema@.contract_receipt (contract_id);
CREATE INDEX contract_receipt_provider_idx ON @extschema@.contract_receipt (provider_id, at);
COMMENT ON TABLE @extschema@.contract_receipt IS 'Money a provider received for a contract: the gross, the commission deducted (R-EXC-4), append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.contract_receipt', '');
SELECT @extschema@.make_append_only('@extschema@.contract_receipt');

-- R-EXC-4: commission tiers by the provider's volume received in the calendar month
CREATE TABLE @extschema@.exchange_commission_tier (
	min_volume	numeric PRIMARY KEY CHECK (min_volume >= 0),	/* in the provider's currency */
	rate		numeric NOT NULL CHECK (rate >= 0 AND rate <= 1)
);
COMMENT ON TABLE @extschema@.exchange_commission_tier IS 'Volume discounts on the exchange commission: from min_volume received by a provider in a calendar month on, its rate applies; empty = exchange_commission_rate for all';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.exchange_commission_tier', '');

-- R-EXC-9: what the exchange overpaid a provider, recovered from its next receipts
CREATE TABLE @extschema@.provider_offset (
	offset_id	bigint PRIMARY KEY,
	provider_id	bigint NOT NULL,			/* party key */
	amount		@extschema@.amount NOT NULL CHECK (@extschema@.micros(amount) > 0),
	recovered	@extschema@.amount NOT NULL,	/* cached: the offset transfers of it (checked by verify) */
	reason		text NOT NULL,
	at			timestamptz NOT NULL,
	CHECK (recovered <= amount AND @extschema@.micros(recovered) >= 0)
);
CREATE INDEX provider_offset_open_idx ON @extschema@.provider_offset (provider_id, offset_id) WHERE recovered < amount;
COMMENT ON TABLE @extschema@.provider_offset IS 'An amount the exchange overpaid a provider (R-EXC-9), deducted from its next receipts before its wallet is credited, until recovered';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.provider_offset', '');

CREATE FUNCTION @extschema@.record_provider_offset(provider bigint, amt @extschema@.amount, reason text,
													at timestamptz DEFAULT NULL, request_id text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	p @extschema@.partner;
	t timestamptz;
	r record;
BEGIN
	IF NOT @extschema@.is_admin() THEN
		RAISE EXCEPTION 'offsets are recorded only by gpubill_admin' USING ERRCODE = 'insufficient_privilege',
			DETAIL = pg_catalog.format('The calling role is %s.', @extschema@.calling_role());
	END IF;
	p := @extschema@.lock_partner(provider);
	IF NOT p.is_provider THEN
		RAISE EXCEPTION 'unknown provider: %', provider USING ERRCODE = 'no_data_found';
	END IF;
	t := @extschema@.partner_time(at, provider);
	PERFORM @extschema@.check_amount(amt, p.currency, 'offset');
	IF reason IS NULL OR reason = '' THEN
		RAISE EXCEPTION 'an offset needs a reason' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.check_text(reason, 'reason', 1000);
	r := @extschema@.begin_request('record_provider_offset', request_id, NULL, provider,
								   pg_catalog.jsonb_build_object('provider', provider, 'amount', amt::text, 'reason', reason), t);
	IF r.done THEN
		RETURN r.id;
	END IF;
	INSERT INTO @extschema@.provider_offset (offset_id, provider_id, amount, recovered, reason, at)
	VALUES (r.id, provider, amt, @extschema@.zero(p.currency), reason, t);
	RETURN r.id;
END
$$;
COMMENT ON FUNCTION @extschema@.record_provider_offset(bigint, @extschema@.amount, text, timestamptz, text) IS 'Record an amount overpaid to a provider, recovered from its next receipts before its wallet is credited (R-EXC-9); admin';

-- R-EXC-4: a negotiated commission rate of a provider, from an instant on
CREATE TABLE @extschema@.provider_commission (
	provider_id	bigint NOT NULL,			/* party key */
	from_at		timestamptz NOT NULL,
	rate		numeric NOT NULL CHECK (rate >= 0 AND rate <= 1),
	set_at		timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
	set_by		name NOT NULL,
	PRIMARY KEY (provider_id, from_at)
);
COMMENT ON TABLE @extschema@.provider_commission IS 'A commission rate negotiated with a provider, overriding the tiers from from_at on (R-EXC-4)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.provider_commission', '');

CREATE FUNCTION @extschema@.set_provider_commission(provider bigint, rate numeric, from_at timestamptz)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	IF NOT @extschema@.is_admin() THEN
		RAISE EXCEPTION 'commissions are negotiated only by gpubill_admin' USING ERRCODE = 'insufficient_privilege',
			DETAIL = pg_catalog.format('The calling role is %s.', @extschema@.calling_role());
	END IF;
	IF rate IS NULL OR rate::text = 'NaN' OR rate < 0 OR rate > 1 OR from_at IS NULL THEN
		RAISE EXCEPTION 'a commission rate from 0 to 1 and its start are needed: % from %', rate, from_at
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.check_time(from_at, 'from_at');
	IF NOT EXISTS (SELECT FROM @extschema@.partner p WHERE p.partner_id = provider AND p.is_provider) THEN
		RAISE EXCEPTION 'unknown provider: %', provider USING ERRCODE = 'no_data_found';
	END IF;
	INSERT INTO @extschema@.provider_commission AS k (provider_id, from_at, rate, set_by)
	VALUES (provider, from_at, rate, @extschema@.calling_role())
	ON CONFLICT ON CONSTRAINT provider_commission_pkey DO UPDATE SET rate = EXCLUDED.rate, set_at = EXCLUDED.set_at, set_by = EXCLUDED.set_by;
END
$$;
COMMENT ON FUNCTION @extschema@.set_provider_commission(bigint, numeric, timestamptz) IS 'Negotiate a provider''s commission rate from an instant on, overriding the tiers (R-EXC-4); admin';

-- R-EXC-4: the volume discount tiers, replaced as a whole: [{"from": "0 USD", "rate": 0.04}, ...]
CREATE FUNCTION @extschema@.set_commission_tiers(tiers jsonb)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	rows integer;
BEGIN
	IF NOT @extschema@.is_admin() THEN
		RAISE EXCEPTION 'commission tiers are set only by gpubill_admin' USING ERRCODE = 'insufficient_privilege',
			DETAIL = pg_catalog.format('The calling role is %s.', @extschema@.calling_role());
	END IF;
	IF tiers IS NULL OR pg_catalog.jsonb_typeof(tiers) <> 'array' THEN
		RAISE EXCEPTION 'commission tiers are a JSON array of {"from": amount, "rate": number}' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	BEGIN
		CREATE TEMP TABLE gpubill_tiers ON COMMIT DROP AS
		SELECT CASE WHEN pg_catalog.jsonb_typeof(e -> 'from') = 'number' THEN (e ->> 'from')::numeric
					ELSE @extschema@.to_numeric((e ->> 'from')::@extschema@.amount) END AS min_volume,
			   (e ->> 'rate')::numeric AS rate
		FROM pg_catalog.jsonb_array_elements(tiers) e;
	EXCEPTION WHEN data_exception OR invalid_text_representation THEN
		RAISE EXCEPTION 'commission tiers are a JSON array of {"from": amount, "rate": number}: %', tiers
			USING ERRCODE = 'invalid_parameter_value';
	END;
	IF EXISTS (SELECT FROM pg_temp.gpubill_tiers k WHERE k.min_volume IS NULL OR k.rate IS NULL OR k.min_volume < 0
			   OR k.rate::text = 'NaN' OR k.rate < 0 OR k.rate > 1)
	   OR (SELECT pg_catalog.count(DISTINCT k.min_volume) <> pg_catalog.count(*) FROM pg_temp.gpubill_tiers k) THEN
		RAISE EXCEPTION 'every tier needs a distinct "from" of at least 0 and a "rate" from 0 to 1: %', tiers
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	DELETE FROM @extschema@.exchange_commission_tier;
	INSERT INTO @extschema@.exchange_commission_tier (min_volume, rate) SELECT k.min_volume, k.rate FROM pg_temp.gpubill_tiers k;
	DROP TABLE pg_temp.gpubill_tiers;
END
$$;
COMMENT ON FUNCTION @extschema@.set_commission_tiers(jsonb) IS 'Replace the exchange commission''s volume discount tiers (R-EXC-4); admin; an empty array leaves exchange_commission_rate for all';

CREATE FUNCTION @extschema@.open_provider(external_ref text, currency text DEFAULT 'USD', at timestamptz DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	id bigint := @extschema@.open_partner(external_ref, coalesce(currency, 'USD'), at);
BEGIN
	UPDATE @extschema@.partner p SET is_provider = true WHERE p.partner_id = id AND NOT p.is_provider;
	PERFORM @extschema@.ledger_account('partner', id, 'exchange', coalesce(currency, 'USD'));
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.open_provider(text, text, timestamptz) IS 'Open an exchange provider: a partner with an exchange wallet (default USD); idempotent on external_ref';

CREATE FUNCTION @extschema@.provider_wallet(provider bigint)
	RETURNS TABLE (balance @extschema@.amount, commission_paid @extschema@.amount, offset_outstanding @extschema@.amount)
	LANGUAGE plpgsql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	p @extschema@.partner;
	acc bigint;
	z @extschema@.amount;
	last date;
	since timestamptz;
BEGIN
	SELECT * INTO p FROM @extschema@.partner k WHERE k.partner_id = provider AND k.is_provider;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown provider: %', provider USING ERRCODE = 'no_data_found';
	END IF;
	acc := @extschema@.account_of('partner', provider, 'exchange', p.currency);
	z := @extschema@.zero(p.currency);
	/*
	 * the wallet's closing balance of the last closed month (its roll-up),
	 * plus the open months' transfers of the provider's contracts, keyed by
	 * customer (SPEC 10), less what its home recovered for its offsets from
	 * receipts on other partitions: only they move the wallet
	 */
	SELECT c.month, c.ends_at INTO last, since FROM @extschema@.closed_month c ORDER BY c.month DESC LIMIT 1;
	RETURN QUERY
	SELECT @extschema@.amount(coalesce((SELECT k.closing FROM @extschema@.account_month k WHERE k.month = last AND k.account_id = acc), 0)
							  / 1000000, p.currency)
		   + coalesce((SELECT @extschema@.sum(CASE WHEN x.credit_account = acc THEN x.amount ELSE -x.amount END)
					   FROM @extschema@.contract c
					   JOIN @extschema@.transfer x ON x.object_type = 'contract' AND x.object_id = c.contract_id
					   WHERE c.provider_id = provider AND acc IN (x.credit_account, x.debit_account)
						 AND x.at >= coalesce(since, '-infinity')), z)
		   /* its offsets recovered at its home from receipts on other partitions (25_offset_steps.sql) */
		   - coalesce((SELECT @extschema@.sum(x.amount)
					   FROM @extschema@.provider_offset o
					   JOIN @extschema@.transfer x ON x.kind = 'offset' AND x.object_type = 'provider_offset' AND x.object_id = o.offset_id
					   WHERE o.provider_id = provider AND x.debit_account = acc AND x.at >= coalesce(since, '-infinity')), z),
		   coalesce((SELECT @extschema@.sum(r.commission) FROM @extschema@.contract_receipt r
					 WHERE r.provider_id = provider AND r.kind NOT IN ('premium', 'reseller_refund')), z),
		   coalesce((SELECT @extschema@.sum(o.amount - o.recovered) FROM @extschema@.provider_offset o
					 WHERE o.provider_id = provider), z);
END
$$;
COMMENT ON FUNCTION @extschema@.provider_wallet(bigint) IS 'A provider''s exchange wallet: what it received net of commission, and the commission deducted (R-EXC-4)';
CREATE INDEX transfer_contract_idx ON @extschema@.transfer_default (object_id) WHERE object_type = 'contract';
CREATE INDEX transfer_offset_idx ON @extschema@.transfer_default (object_id) WHERE kind = 'offset';	/* verify: what each offset recovered */

/*
 * R-EXC-4: the tier of a calendar month is set by what the provider
 * received in the month before — its volume, final once the month is over:
 * the first tick of the next month (or its first receipt, if earlier)
 * settles every provider's volume of the month before it, from the receipts
 * recorded by then, and it does not change afterwards.  Behind a proxy a
 * provider's receipts lie on every partition: the proxy sums them and
 * pushes the same volumes to every partition (apply_volumes) before their
 * ticks; a partition never settles a month from its own part.
 */
CREATE TABLE @extschema@.volume_month (
	month		date PRIMARY KEY,			/* the month's first day (billing time zone) */
	settled_at	timestamptz NOT NULL		/* the tick or receipt (or the proxy's push) that settled it */
);
COMMENT ON TABLE @extschema@.volume_month IS 'A calendar month whose providers'' volumes are final (R-EXC-4): the tiers of the next month rest on them';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.volume_month', '');

CREATE TABLE @extschema@.provider_volume (
	month		date NOT NULL REFERENCES @extschema@.volume_month,
	provider_id	bigint NOT NULL,			/* party key */
	volume		numeric NOT NULL CHECK (volume > 0),	/* gross received in the month, in the provider's currency */
	PRIMARY KEY (month, provider_id)
);
COMMENT ON TABLE @extschema@.provider_volume IS 'What a provider received in a settled calendar month (premiums and reseller refunds aside): the volume its next month''s tier is chosen by (R-EXC-4); none = 0';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.provider_volume', '');

-- the first day of the calendar month before the one of t (billing time zone)
CREATE FUNCTION @extschema@.month_before(t timestamptz) RETURNS date
	LANGUAGE sql STABLE STRICT PARALLEL SAFE
	AS $$ SELECT (pg_catalog.date_trunc('month', t AT TIME ZONE @extschema@.billing_timezone()) - interval '1 month')::date $$;
COMMENT ON FUNCTION @extschema@.month_before(timestamptz) IS 'The first day of the calendar month before the one of t, in the billing time zone';

-- what each provider received in a month, on this database (the proxy sums the partitions')
CREATE FUNCTION @extschema@.provider_volumes(month date)
	RETURNS TABLE (provider_id bigint, volume numeric)
	LANGUAGE sql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	SELECT r.provider_id, pg_catalog.sum(@extschema@.micros(r.gross)) / 1000000
	FROM @extschema@.contract_receipt r
	WHERE r.at >= (month::timestamp AT TIME ZONE @extschema@.billing_timezone())
	  AND r.at < ((month + interval '1 month')::timestamp AT TIME ZONE @extschema@.billing_timezone())
	  AND r.kind NOT IN ('premium', 'reseller_refund')
	GROUP BY 1 ORDER BY 1
$$;
COMMENT ON FUNCTION @extschema@.provider_volumes(date) IS 'What each provider received in a calendar month on this database, premiums and reseller refunds aside (R-EXC-4); the proxy sums every partition''s';

-- settle a month's volumes once: from the given ones (the proxy's sums), else from this database's receipts
CREATE FUNCTION @extschema@.settle_volumes(m date, t timestamptz, volumes jsonb) RETURNS boolean
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	INSERT INTO @extschema@.volume_month (month, settled_at) VALUES (m, t) ON CONFLICT (month) DO NOTHING;
	IF NOT FOUND THEN
		RETURN false;		/* settled before (or by a concurrent call, now committed): it does not change */
	END IF;
	IF volumes IS NULL THEN
		INSERT INTO @extschema@.provider_volume (month, provider_id, volume)
		SELECT m, v.provider_id, v.volume FROM @extschema@.provider_volumes(m) v WHERE v.volume > 0;
	ELSE
		INSERT INTO @extschema@.provider_volume (month, provider_id, volume)
		SELECT m, (e ->> 'provider')::bigint, (e ->> 'volume')::numeric FROM pg_catalog.jsonb_array_elements(volumes) e
		WHERE (e ->> 'volume')::numeric > 0;
	END IF;
	RETURN true;
END
$$;
COMMENT ON FUNCTION @extschema@.settle_volumes(date, timestamptz, jsonb) IS 'Settle the providers'' volumes of a month once, from the given sums or from this database''s receipts; false if settled before (R-EXC-4)';

-- this database behind a proxy with other partitions: the proxy settles the volumes
CREATE FUNCTION @extschema@.volumes_from_proxy() RETURNS boolean
	LANGUAGE sql STABLE PARALLEL SAFE
	AS $$ SELECT coalesce((SELECT k.partitions > 1 FROM @extschema@.partition_identity k), false) $$;
COMMENT ON FUNCTION @extschema@.volumes_from_proxy() IS 'True on a partition of several: the providers'' volumes are summed and settled by the proxy, never from this partition''s part';

-- tick: at a month's first tick, the month before is settled (one database)
CREATE FUNCTION @extschema@.settle_volumes_due(t timestamptz) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	IF NOT @extschema@.volumes_from_proxy()
	   AND NOT EXISTS (SELECT FROM @extschema@.volume_month v WHERE v.month = @extschema@.month_before(t)) THEN
		PERFORM @extschema@.settle_volumes(@extschema@.month_before(t), t, NULL);
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.settle_volumes_due(timestamptz) IS 'At the first tick of a month, settle the providers'' volumes of the month before (one database; on partitions the proxy pushes them) (R-EXC-4)';

-- the proxy's push: the same sums on every partition
CREATE FUNCTION @extschema@.apply_volumes(month date, at timestamptz, volumes jsonb)
	RETURNS boolean
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	IF $1 IS NULL OR $2 IS NULL OR $3 IS NULL OR pg_catalog.jsonb_typeof($3) <> 'array'
	   OR $1 <> pg_catalog.date_trunc('month', $1)::date THEN
		RAISE EXCEPTION 'volumes are pushed for a month''s first day, at an instant, as a JSON array of {"provider", "volume"}'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN @extschema@.settle_volumes($1, $2, $3);
END
$$;
COMMENT ON FUNCTION @extschema@.apply_volumes(date, timestamptz, jsonb) IS 'The providers'' volumes of a month summed over the partitions by the proxy, settled here once; false if settled before (R-EXC-4, issue 18)';

-- the months from the one before since to the one before at that this partition has not settled
CREATE FUNCTION @extschema@.volume_months_missing(since timestamptz, at timestamptz)
	RETURNS SETOF date
	LANGUAGE sql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	SELECT m::date
	FROM pg_catalog.generate_series(@extschema@.month_before(since), @extschema@.month_before(at), interval '1 month') m
	WHERE NOT EXISTS (SELECT FROM @extschema@.volume_month v WHERE v.month = m::date)
	ORDER BY 1
$$;
COMMENT ON FUNCTION @extschema@.volume_months_missing(timestamptz, timestamptz) IS 'The months, from the one before since to the one before at, whose providers'' volumes this partition has not settled: the proxy pushes them (R-EXC-4, issue 18)';

-- R-EXC-4: the commission rate of a provider's receipt at t
CREATE FUNCTION @extschema@.commission_rate(provider bigint, t timestamptz) RETURNS numeric
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	prev date := @extschema@.month_before(t);
	negotiated numeric;
BEGIN
	/* a negotiated rate overrides the tiers from its start on */
	negotiated := (SELECT k.rate FROM @extschema@.provider_commission k WHERE k.provider_id = provider AND k.from_at <= t
				   ORDER BY k.from_at DESC LIMIT 1);
	IF negotiated IS NOT NULL THEN
		RETURN negotiated;
	END IF;
	IF NOT EXISTS (SELECT FROM @extschema@.exchange_commission_tier) THEN
		RETURN (@extschema@.exchange_settings()).exchange_commission_rate;
	END IF;
	/* the month before is final at the first tick or receipt of this one */
	IF NOT EXISTS (SELECT FROM @extschema@.volume_month v WHERE v.month = prev) THEN
		IF @extschema@.volumes_from_proxy() THEN
			RAISE EXCEPTION 'the commission tier of provider % is not known yet: the providers'' volumes of % are not settled on this partition',
				provider, pg_catalog.to_char(prev, 'YYYY-MM') USING ERRCODE = 'GB004',
				HINT = 'The proxy sums them over the partitions and pushes them at its tick and before a contract payment through it; try again through the proxy.';
		END IF;
		PERFORM @extschema@.settle_volumes(prev, t, NULL);
	END IF;
	RETURN coalesce((SELECT k.rate FROM @extschema@.exchange_commission_tier k
					 WHERE k.min_volume <= coalesce((SELECT v.volume FROM @extschema@.provider_volume v
													 WHERE v.month = prev AND v.provider_id = provider), 0)
					 ORDER BY k.min_volume DESC LIMIT 1),
					(@extschema@.exchange_settings()).exchange_commission_rate);
END
$$;
COMMENT ON FUNCTION @extschema@.commission_rate(bigint, timestamptz) IS 'The commission rate of a provider''s receipt at t: negotiated, else the tier its volume of the month before reached (R-EXC-4)';

/*
 * The provider of a contract receives gross from a source account: gross -
 * commission (rounded to cents) to its exchange account, the commission to
 * the platform; a receipt row and customer-keyed transfers.  A reseller's
 * premium or refund (R-EXC-6, R-EXC-7) goes the same way to the reseller's
 * cash (payee_account).  What the customer of a resold contract pays goes
 * whole to the platform's clearing account, from which tick pays the
 * provider and the reseller month by month (89_exchange_resale.sql).
 */
CREATE FUNCTION @extschema@.receive(c @extschema@.contract, seq integer, kind text, gross @extschema@.amount,
									 source bigint, t timestamptz, external_id text DEFAULT NULL,
									 payee_account bigint DEFAULT NULL) RETURNS bigint
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	cur text := @extschema@.currency(gross);
	rate numeric;
	commission @extschema@.amount;
	id bigint;
	net @extschema@.amount;
	recovered @extschema@.amount;
	take @extschema@.amount;
	o record;
BEGIN
	IF @extschema@.micros(gross) <= 0 THEN
		RETURN NULL;
	END IF;
	/* a resold contract's price goes to clearing (a reservation fee, R-EXC-5, is the provider's, as for any contract) */
	IF c.resold_from IS NOT NULL AND payee_account IS NULL AND kind <> 'reservation_fee' THEN
		PERFORM @extschema@.post_transfers(ARRAY[
			@extschema@.leg(c.customer_id, NULL, t, 'payment', source, @extschema@.account_of('platform', 0, 'clearing', cur), gross,
							'contract', c.contract_id, external_id,
							pg_catalog.format('%s %s of resold contract %s, to clearing', kind, coalesce(seq::text, ''), c.contract_id))]);
		RETURN NULL;
	END IF;
	rate := @extschema@.commission_rate(c.provider_id, t);
	commission := @extschema@.amount(pg_catalog.round(@extschema@.micros(gross)::numeric * rate / 1000000, 2), cur);
	INSERT INTO @extschema@.contract_receipt (contract_id, customer_id, provider_id, seq, kind, gross, commission, rate, at, external_id)
	VALUES (c.contract_id, c.customer_id, c.provider_id, seq, kind, gross, commission, rate, t, external_id)
	RETURNING receipt_id INTO id;
	/* R-EXC-9: what the exchange overpaid the provider is recovered first, oldest offset first */
	net := gross - commission;
	recovered := @extschema@.zero(cur);
	IF payee_account IS NULL THEN
		FOR o IN SELECT k.offset_id, k.amount - k.recovered AS open FROM @extschema@.provider_offset k
				 WHERE k.provider_id = c.provider_id AND k.recovered < k.amount ORDER BY k.offset_id FOR UPDATE LOOP
			take := LEAST(o.open, net - recovered);
			EXIT WHEN @extschema@.micros(take) <= 0;
			PERFORM @extschema@.post_transfers(ARRAY[
				@extschema@.leg(c.customer_id, NULL, t, 'offset', source, @extschema@.account_of('platform', 0, 'receivable', cur), take,
								'provider_offset', o.offset_id, NULL,
								pg_catalog.format('recovered from receipt %s of contract %s', id, c.contract_id))]);
			UPDATE @extschema@.provider_offset k SET recovered = k.recovered + take WHERE k.offset_id = o.offset_id;
			recovered := recovered + take;
		END LOOP;
	END IF;
	PERFORM @extschema@.post_transfers(ARRAY[
		@extschema@.leg(c.customer_id, NULL, t, CASE kind WHEN 'deposit' THEN 'payment' ELSE kind END, source,
						coalesce(payee_account, @extschema@.account_of('partner', c.provider_id, 'exchange', cur)), net - recovered,
						'contract', c.contract_id, external_id,
						pg_catalog.format('%s %s of contract %s', kind, coalesce(seq::text, ''), c.contract_id)),
		@extschema@.leg(c.customer_id, NULL, t, 'commission', source, @extschema@.account_of('platform', 0, 'commission', cur),
						commission, 'contract', c.contract_id, external_id,
						pg_catalog.format('commission %s on receipt %s', rate, id))]);
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.receive(@extschema@.contract, integer, text, @extschema@.amount, bigint, timestamptz, text, bigint) IS 'Credit a provider (or a reseller) a receipt of a contract less the commission (R-EXC-4); a resold contract''s payments go to clearing';

/*
 * A schedule row paid from a source account (the customer's cash, or the
 * world's payments_in): the customer's part reaches the provider — for an
 * initial payment only the first days, the deposit going to the customer's
 * deposit account — and the piece's share of the deposit follows it.
 */
CREATE FUNCTION @extschema@.pay_row(c @extschema@.contract, r @extschema@.contract_payment, source bigint, t timestamptz,
									 external_id text DEFAULT NULL) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	cur text := @extschema@.currency(r.customer_pays);
	deposit_account bigint := @extschema@.ledger_account('customer', c.customer_id, 'deposit', cur);
	earlier integer;
BEGIN
	/* R-EXC-3: strictly in schedule order — a deposit is applied only once it was paid in */
	SELECT pg_catalog.min(p.seq) INTO earlier FROM @extschema@.contract_payment p
	WHERE p.contract_id = r.contract_id AND p.seq < r.seq AND p.paid_at IS NULL AND p.cancelled_at IS NULL;
	IF earlier IS NOT NULL THEN
		RAISE EXCEPTION 'payment % of contract % cannot be paid before payment %', r.seq, r.contract_id, earlier
			USING ERRCODE = 'GB004', HINT = 'A contract''s payments are made in schedule order.';
	END IF;
	IF r.kind = 'initial' THEN
		PERFORM @extschema@.receive(c, r.seq, 'payment', r.customer_pays - c.deposit, source, t, external_id);
		IF @extschema@.micros(c.deposit) > 0 THEN
			PERFORM @extschema@.post_transfers(ARRAY[
				@extschema@.leg(c.customer_id, NULL, t, 'deposit', source, deposit_account, c.deposit, 'contract', c.contract_id,
								external_id, 'cancellation fee deposit of contract ' || c.contract_id)]);
			UPDATE @extschema@.contract k SET deposit_left = k.deposit_left + c.deposit WHERE k.contract_id = c.contract_id;
		END IF;
	ELSE
		PERFORM @extschema@.receive(c, r.seq, 'payment', r.customer_pays, source, t, external_id);
		IF @extschema@.micros(r.from_deposit) > 0 THEN
			PERFORM @extschema@.receive(c, r.seq, 'deposit', r.from_deposit, deposit_account, t);
			UPDATE @extschema@.contract k SET deposit_left = k.deposit_left - r.from_deposit WHERE k.contract_id = c.contract_id;
		END IF;
	END IF;
	UPDATE @extschema@.contract_payment p SET paid_at = t WHERE p.contract_id = r.contract_id AND p.seq = r.seq;
	/* a late contract is active again once nothing late is unpaid (pending again, if its term has not begun);
	   R-EXC-1: delivery follows payment — a pending contract whose term has begun is active once its first payment is made */
	UPDATE @extschema@.contract k
	SET state = CASE WHEN t < pg_catalog.lower(k.term) THEN 'pending' ELSE 'active' END,
		last_event_at = GREATEST(k.last_event_at, t)
	WHERE k.contract_id = c.contract_id
	  AND (k.state = 'late' OR (k.state = 'pending' AND pg_catalog.lower(k.term) <= t))
	  AND NOT EXISTS (SELECT FROM @extschema@.contract_payment p
					  WHERE p.contract_id = c.contract_id AND p.paid_at IS NULL AND p.cancelled_at IS NULL
						AND (p.late_at IS NOT NULL OR p.seq = 1));
END
$$;
COMMENT ON FUNCTION @extschema@.pay_row(@extschema@.contract, @extschema@.contract_payment, bigint, timestamptz, text) IS 'Pay a schedule row of a contract from a source account: the provider receives it less commission, the deposit is set aside or applied';

-- R-EXC-5: unpaid from the end of the grace-th business day after the due day on, a payment is late
CREATE FUNCTION @extschema@.late_from(due timestamptz) RETURNS timestamptz
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	tz text := @extschema@.billing_timezone();
BEGIN
	/* 00:00 of the day after the grace-th working day after the due day */
	RETURN (pg_catalog.date_trunc('day', @extschema@.add_working_days(due,
				(@extschema@.exchange_settings()).payment_grace_business_days) AT TIME ZONE tz)
			+ interval '1 day') AT TIME ZONE tz;
END
$$;
COMMENT ON FUNCTION @extschema@.late_from(timestamptz) IS 'When a payment due at an instant is late: 00:00 after the payment_grace_business_days-th business day (Mon-Fri) after its due day (R-EXC-5)';

CREATE FUNCTION @extschema@.create_contract(customer bigint, provider bigint, gpus integer, price_per_gpu_hour @extschema@.amount,
											 term tstzrange, at timestamptz DEFAULT NULL, request_id text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := @extschema@.api_time(at);
	w @extschema@.wallet;
	k @extschema@.customer;
	p @extschema@.partner;
	r record;
BEGIN
	PERFORM @extschema@.check_term(term);
	w := @extschema@.lock_wallet(customer);
	SELECT * INTO k FROM @extschema@.customer c WHERE c.customer_id = customer;
	SELECT * INTO p FROM @extschema@.partner x WHERE x.partner_id = provider AND x.is_provider;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown provider: %', provider USING ERRCODE = 'no_data_found';
	END IF;
	IF p.qualification <> 'qualified' THEN
		RAISE EXCEPTION 'provider % is not qualified (%)', provider, p.qualification USING ERRCODE = 'GB006';
	END IF;
	t := @extschema@.call_time(at, GREATEST(k.created_at, p.created_at), 'customer ' || customer || ' and provider ' || provider);
	PERFORM @extschema@.check_amount(price_per_gpu_hour, p.currency, 'price per GPU-hour');
	IF p.currency <> k.currency THEN
		RAISE EXCEPTION 'currency mismatch: provider % is paid in %, customer % pays in %', provider, p.currency,
			customer, k.currency USING ERRCODE = 'GB003';
	END IF;
	PERFORM @extschema@.check_gpus(gpus);
	r := @extschema@.begin_request('create_contract', request_id, customer, provider,
		pg_catalog.jsonb_build_object('customer', customer, 'provider', provider, 'gpus', gpus,
									  'price_per_gpu_hour', price_per_gpu_hour::text, 'term', term::text), t);
	IF r.done THEN
		RETURN r.id;
	END IF;
	RETURN @extschema@.accept_contract(r.id, customer, provider, gpus, price_per_gpu_hour, term, t, NULL);
END
$$;
COMMENT ON FUNCTION @extschema@.create_contract(bigint, bigint, integer, @extschema@.amount, tstzrange, timestamptz, text) IS 'A customer accepts a contract of a provider: its schedule is written; a prefunded customer''s initial payment is held (GB001 if not available) (R-EXC-1..3)';

-- write a contract accepted at t and its schedule (the wallet locked by the caller)
CREATE FUNCTION @extschema@.accept_contract(id bigint, customer bigint, provider bigint, gpus integer,
											 price_per_gpu_hour @extschema@.amount, term tstzrange, t timestamptz,
											 resold_from bigint) RETURNS bigint
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	approved boolean := (SELECT c.approved FROM @extschema@.customer c WHERE c.customer_id = customer);
	z @extschema@.amount := @extschema@.zero(@extschema@.currency(price_per_gpu_hour));
	first_pays @extschema@.amount;
	hold bigint;
	/* R-EXC-3: the settings in force at acceptance; a later change does not alter this contract */
	days integer := (@extschema@.exchange_settings()).exchange_initial_days;
	rate numeric := (@extschema@.exchange_settings()).exchange_deposit_rate;
BEGIN
	IF term IS NULL OR pg_catalog.lower(term) < t THEN
		RAISE EXCEPTION 'a contract''s term must start at or after its acceptance (%): %', t, term USING ERRCODE = 'GB004';
	END IF;
	INSERT INTO @extschema@.contract_payment (contract_id, seq, customer_id, due_at, covers, customer_pays, from_deposit, kind, late_from)
	SELECT id, s.seq, customer, s.due_at, s.covers, s.customer_pays, s.from_deposit, s.kind,
		   /* R-EXC-5: an approved customer's first payment is late counted from the acceptance (the bidding period) */
		   @extschema@.late_from(CASE WHEN approved AND s.seq = 1 THEN t ELSE s.due_at END)
	FROM @extschema@.schedule_of(price_per_gpu_hour * gpus, term, @extschema@.billing_timezone(), days, rate) s;
	SELECT p.customer_pays INTO first_pays FROM @extschema@.contract_payment p WHERE p.contract_id = id AND p.seq = 1;
	IF NOT approved THEN
		/* R-EXC-1: accepted only if the initial payment is available; held until the term starts */
		hold := @extschema@.hold_funds(customer, first_pays, true, NULL, 'contract', id, t, NULL);
	END IF;
	INSERT INTO @extschema@.contract (contract_id, customer_id, provider_id, gpus, price_per_gpu_hour, term, total, deposit,
									  deposit_left, initial_days, deposit_rate, approved, hold_id, state, accepted_at, resold_from,
									  last_event_at)
	SELECT id, customer, provider, gpus, price_per_gpu_hour, term, @extschema@.sum(p.customer_pays),
		   coalesce(@extschema@.sum(p.from_deposit), z), z, days, rate,
		   approved, hold, 'pending', t, resold_from, t
	FROM @extschema@.contract_payment p WHERE p.contract_id = id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.accept_contract(bigint, bigint, bigint, integer, @extschema@.amount, tstzrange, timestamptz, bigint) IS 'Write an accepted contract and its schedule; hold a prefunded customer''s initial payment (R-EXC-1)';

CREATE FUNCTION @extschema@.lock_contract(contract bigint) RETURNS @extschema@.contract
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	c @extschema@.contract;
BEGIN
	SELECT * INTO c FROM @extschema@.contract k WHERE k.contract_id = contract;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown contract: %', contract USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM @extschema@.lock_wallet(c.customer_id);
	SELECT * INTO c FROM @extschema@.contract k WHERE k.contract_id = contract FOR UPDATE;
	RETURN c;
END
$$;
COMMENT ON FUNCTION @extschema@.lock_contract(bigint) IS 'Lock a contract''s wallet, then the contract; unknown id raises P0002';

CREATE FUNCTION @extschema@.contract_schedule(contract bigint)
	RETURNS TABLE (seq integer, due_at timestamptz, covers tstzrange, customer_pays @extschema@.amount,
				   from_deposit @extschema@.amount, kind text)
	LANGUAGE plpgsql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	IF NOT EXISTS (SELECT FROM @extschema@.contract c WHERE c.contract_id = contract) THEN
		RAISE EXCEPTION 'unknown contract: %', contract USING ERRCODE = 'no_data_found';
	END IF;
	RETURN QUERY SELECT p.seq, p.due_at, p.covers, p.customer_pays, p.from_deposit, p.kind
				 FROM @extschema@.contract_payment p WHERE p.contract_id = contract ORDER BY p.seq;
END
$$;
COMMENT ON FUNCTION @extschema@.contract_schedule(bigint) IS 'A contract''s payment schedule: full, or initial, monthly ... final (R-EXC-2, R-EXC-3)';

CREATE FUNCTION @extschema@.contract_state(contract bigint)
	RETURNS text
	LANGUAGE plpgsql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	s text;
BEGIN
	SELECT c.state INTO s FROM @extschema@.contract c WHERE c.contract_id = contract;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown contract: %', contract USING ERRCODE = 'no_data_found';
	END IF;
	RETURN s;
END
$$;
COMMENT ON FUNCTION @extschema@.contract_state(bigint) IS 'pending | active | late | terminated | resold | completed | resale_pending (a resale across partitions in progress)';

/*
 * R-EXC-1: an approved customer pays directly: the amount of its oldest
 * unpaid payment (a reservation fee owed first), money from outside;
 * idempotent on external_id.
 */
CREATE FUNCTION @extschema@.pay_contract(contract bigint, amt @extschema@.amount, external_id text, at timestamptz DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	c @extschema@.contract := @extschema@.lock_contract(contract);
	t timestamptz := @extschema@.call_time(at, c.last_event_at, 'contract ' || contract);
	cur text := @extschema@.currency(c.total);
	r record;
	row @extschema@.contract_payment;
	fee record;
	payments_in bigint := @extschema@.account_of('world', 0, 'payments_in', cur);
BEGIN
	IF external_id IS NULL OR external_id = '' THEN
		RAISE EXCEPTION 'a payment needs its external id' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.check_text(external_id, 'external_id');
	PERFORM @extschema@.check_amount(amt, cur, 'payment');
	r := @extschema@.begin_request('pay_contract', external_id, c.customer_id, c.provider_id,
		pg_catalog.jsonb_build_object('contract', contract, 'amount', amt::text), t);
	IF r.done THEN
		RETURN r.id;
	END IF;
	PERFORM @extschema@.refuse_resale_pending(c);
	/* a reservation fee owed is paid first (R-EXC-5) */
	SELECT * INTO fee FROM @extschema@.contract_fee f
	WHERE f.contract_id = contract AND f.paid_at IS NULL ORDER BY f.fee_id LIMIT 1 FOR UPDATE;
	IF FOUND THEN
		IF amt <> fee.amount THEN
			RAISE EXCEPTION 'contract % owes a reservation fee of %, not %', contract, fee.amount, amt
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		PERFORM @extschema@.pay_fee(c, fee.fee_id, payments_in, t, external_id);
		RETURN r.id;
	END IF;
	IF NOT (SELECT k.approved FROM @extschema@.customer k WHERE k.customer_id = c.customer_id) THEN
		RAISE EXCEPTION 'customer % is not approved: its contract payments are taken from its wallet', c.customer_id
			USING ERRCODE = 'GB004';
	END IF;
	SELECT * INTO row FROM @extschema@.contract_payment p
	WHERE p.contract_id = contract AND p.paid_at IS NULL AND p.cancelled_at IS NULL ORDER BY p.seq LIMIT 1;
	IF NOT FOUND OR c.state NOT IN ('pending', 'active', 'late') THEN
		RAISE EXCEPTION 'contract % (%) has nothing to pay', contract, c.state USING ERRCODE = 'GB004';
	END IF;
	IF amt <> row.customer_pays THEN
		RAISE EXCEPTION 'payment % of contract % is %, not %', row.seq, contract, row.customer_pays, amt
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Payments are made in full, one at a time, in order.';
	END IF;
	PERFORM @extschema@.pay_row(c, row, payments_in, t, external_id);
	UPDATE @extschema@.contract k SET last_event_at = GREATEST(k.last_event_at, t) WHERE k.contract_id = contract;
	RETURN r.id;
END
$$;
COMMENT ON FUNCTION @extschema@.pay_contract(bigint, @extschema@.amount, text, timestamptz) IS 'An approved customer pays its next contract payment (or a reservation fee owed) directly, in full; idempotent on external_id (R-EXC-1)';

-- R-EXC-5: reservation fees charged for late payments; owed until paid
CREATE TABLE @extschema@.contract_fee (
	fee_id		bigint PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	contract_id	bigint NOT NULL,
	customer_id	bigint NOT NULL,
	seq			integer NOT NULL,			/* the late payment */
	amount		@extschema@.amount NOT NULL CHECK (@extschema@.micros(amount) > 0),
	charged_at	timestamptz NOT NULL,
	paid_at		timestamptz,
	UNIQUE (contract_id, seq)
);
CREATE INDEX contract_fee_customer_idx ON @extschema@.contract_fee (customer_id);
COMMENT ON TABLE @extschema@.contract_fee IS 'A reservation fee for a late contract payment: paid from the wallet at once, or owed (a receivable) until paid';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.contract_fee', '');

-- a reservation fee paid from a source: the receivable (if any) cleared, the provider credited less commission
CREATE FUNCTION @extschema@.pay_fee(c @extschema@.contract, fee bigint, source bigint, t timestamptz, external_id text)
	RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	f @extschema@.contract_fee;
BEGIN
	SELECT * INTO f FROM @extschema@.contract_fee k WHERE k.fee_id = fee;
	PERFORM @extschema@.receive(c, f.seq, 'reservation_fee', f.amount, source, t, external_id);
	UPDATE @extschema@.contract_fee k SET paid_at = t WHERE k.fee_id = fee;
END
$$;
COMMENT ON FUNCTION @extschema@.pay_fee(@extschema@.contract, bigint, bigint, timestamptz, text) IS 'Pay a reservation fee: the provider receives it less commission (R-EXC-5)';
