/*
 * 20_internal.sql — building blocks of the money-moving functions.
 * Not callable by PUBLIC; the API functions (SECURITY DEFINER) use them.
 *
 * Lock order (R-LED-6): a money movement locks its customer's wallet row
 * first and nothing else of another customer; platform, partner and world
 * accounts are never locked or updated (their balances are journal sums).
 *
 * Map (scripts/file-map.pl):
 * Internals: account_of, begin_request, check_amount, customer_time,
 *   default_currency, funds_cover, ledger_account, lock_wallet, lock_wallets,
 *   open_currency, partner_time.
 * Uses: 1_types, 2_base.
 */

CREATE FUNCTION @extschema@.default_currency() RETURNS text
	AS 'MODULE_PATHNAME', 'gpubill_default_currency_fn' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.default_currency() IS 'The setting gpubill.default_currency';

-- the id of an account, created on first use
CREATE FUNCTION @extschema@.ledger_account(kind text, owner bigint, purpose text, cur text) RETURNS bigint
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	id bigint;
BEGIN
	SELECT a.account_id INTO id FROM @extschema@.account a
	WHERE a.owner_kind = kind AND a.owner_id = owner AND a.purpose = ledger_account.purpose AND a.currency = cur;
	IF id IS NULL THEN
		INSERT INTO @extschema@.account (owner_kind, owner_id, purpose, currency)
		VALUES (kind, owner, ledger_account.purpose, cur)
		ON CONFLICT DO NOTHING
		RETURNING account_id INTO id;
		IF id IS NULL THEN
			SELECT a.account_id INTO id FROM @extschema@.account a
			WHERE a.owner_kind = kind AND a.owner_id = owner AND a.purpose = ledger_account.purpose AND a.currency = cur;
		END IF;
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.ledger_account(text, bigint, text, text) IS 'Id of the account of an owner, purpose and currency, created on first use';

-- the account of an owner, purpose and currency, or NULL (plpgsql: its plan
-- is cached for the session, unlike a SQL function that cannot be inlined)
CREATE FUNCTION @extschema@.account_of(kind text, owner bigint, purpose text, cur text) RETURNS bigint
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	RETURN (SELECT a.account_id FROM @extschema@.account a
			WHERE a.owner_kind = kind AND a.owner_id = owner AND a.purpose = account_of.purpose AND a.currency = cur);
END
$$;
COMMENT ON FUNCTION @extschema@.account_of(text, bigint, text, text) IS 'Id of an existing account of an owner, purpose and currency';

-- the platform's and world's accounts of a currency, created with the first party using it
CREATE FUNCTION @extschema@.open_currency(cur text) RETURNS void
	LANGUAGE sql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
	SELECT @extschema@.ledger_account(k, 0, p, cur)
	FROM (VALUES ('platform', 'fee'), ('platform', 'voucher_expense'), ('platform', 'voucher_breakage'),
				 ('platform', 'commission'), ('platform', 'compensation'), ('platform', 'forfeit'),
				 ('platform', 'receivable'), ('platform', 'clearing'), ('world', 'payments_in'), ('world', 'payouts')) v(k, p)
$$;
COMMENT ON FUNCTION @extschema@.open_currency(text) IS 'Create the platform''s and the world''s accounts of a currency';


-- lock a customer's wallet (always the first lock of a money movement)
CREATE FUNCTION @extschema@.lock_wallet(customer bigint) RETURNS @extschema@.wallet
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	w @extschema@.wallet;
BEGIN
	SELECT * INTO w FROM @extschema@.wallet WHERE customer_id = customer FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown customer: %', customer USING ERRCODE = 'no_data_found';
	END IF;
	RETURN w;
END
$$;
COMMENT ON FUNCTION @extschema@.lock_wallet(bigint) IS 'Lock and return a customer''s wallet row; unknown customer raises P0002';

-- lock the wallets of customers, in customer order (before any machine or instance)
CREATE FUNCTION @extschema@.lock_wallets(customers bigint[]) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	PERFORM pg_catalog.count(*) FROM (SELECT FROM @extschema@.wallet w WHERE w.customer_id = ANY (customers)
									  ORDER BY w.customer_id FOR UPDATE) locked;
END
$$;
COMMENT ON FUNCTION @extschema@.lock_wallets(bigint[]) IS 'Lock the wallets of customers in customer order';

-- validate an amount of a movement: positive, in the account's currency
CREATE FUNCTION @extschema@.check_amount(amt @extschema@.amount, cur text, what text) RETURNS void
	LANGUAGE plpgsql IMMUTABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	IF amt IS NULL THEN
		RAISE EXCEPTION '% must not be null', what USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF @extschema@.currency(amt) <> cur THEN
		RAISE EXCEPTION 'currency mismatch: % is in %, the account in %', what, @extschema@.currency(amt), cur
			USING ERRCODE = 'GB003';
	END IF;
	IF @extschema@.micros(amt) <= 0 THEN
		RAISE EXCEPTION '% must be positive: %', what, amt USING ERRCODE = 'invalid_parameter_value';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.check_amount(@extschema@.amount, text, text) IS 'Raise 22023 unless an amount is positive, GB003 unless it is in the currency';

/*
 * Idempotency (R-LED-5).  Reserves the id the call will return.  With a
 * request id seen before: the same arguments return the first call's id in
 * done (and nothing is to be moved); other arguments raise GB005.
 */
CREATE FUNCTION @extschema@.begin_request(fn text, request_id text, customer bigint, partner bigint,
										   args jsonb, at timestamptz, OUT id bigint, OUT done boolean)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	first_args jsonb;
BEGIN
	id := pg_catalog.nextval('@extschema@.id_seq');
	done := false;
	IF request_id IS NULL THEN
		RETURN;
	END IF;
	PERFORM @extschema@.check_text(request_id, 'request id');
	INSERT INTO @extschema@.request (fn, request_id, customer_id, partner_id, args, result, at)
	VALUES (fn, request_id, customer, partner, args, id, at)
	ON CONFLICT DO NOTHING;
	IF FOUND THEN
		RETURN;
	END IF;
	SELECT r.args, r.result INTO first_args, id
	FROM @extschema@.request r WHERE r.fn = begin_request.fn AND r.request_id = begin_request.request_id;
	IF first_args IS DISTINCT FROM args THEN
		RAISE EXCEPTION 'request id "%" was already used with other arguments', request_id
			USING ERRCODE = 'GB005',
				  DETAIL = pg_catalog.format('First call of %s: %s. This call: %s.', fn, first_args, args);
	END IF;
	done := true;
END
$$;
COMMENT ON FUNCTION @extschema@.begin_request(text, text, bigint, bigint, jsonb, timestamptz) IS 'Idempotency: reserve the result id of a call, or find the first call of its request id (GB005 if its arguments differ)';

-- R-CLK-5: the business time of a call on a customer or partner: not before it was opened
CREATE FUNCTION @extschema@.customer_time(at timestamptz, customer bigint) RETURNS timestamptz
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$ SELECT @extschema@.call_time(at, (SELECT k.created_at FROM @extschema@.customer k WHERE k.customer_id = customer),
									  'customer ' || customer) $$;
COMMENT ON FUNCTION @extschema@.customer_time(timestamptz, bigint) IS 'The business time of a call on a customer: at, not before the customer was opened (GB004); omitted, max(now(), opening) (R-CLK-5)';

CREATE FUNCTION @extschema@.partner_time(at timestamptz, partner bigint) RETURNS timestamptz
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$ SELECT @extschema@.call_time(at, (SELECT k.created_at FROM @extschema@.partner k WHERE k.partner_id = partner),
									  'partner ' || partner) $$;
COMMENT ON FUNCTION @extschema@.partner_time(timestamptz, bigint) IS 'The business time of a call on a partner: at, not before the partner was opened (GB004); omitted, max(now(), opening) (R-CLK-5)';

/*
 * R-LED-2: funds cover an amount when cash is not below zero, every hold
 * and the amount fit in cash + vouchers, and the cash-only holds and the
 * part of the amount that must be paid in cash (all of a cash-only hold or
 * contract payment, the cash part of a charge, nothing of a hold vouchers
 * may pay) fit in cash.  The one funds check: holds (one and set-based),
 * prepaid charges and contract payments use it.
 */
CREATE FUNCTION @extschema@.funds_cover(cash @extschema@.amount, vouchers @extschema@.amount, held @extschema@.amount,
										cash_held @extschema@.amount, amt @extschema@.amount, cash_part @extschema@.amount)
	RETURNS boolean
	LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$ SELECT @extschema@.micros(cash) >= 0 AND cash + vouchers - held >= amt AND cash - cash_held >= cash_part $$;
COMMENT ON FUNCTION @extschema@.funds_cover(@extschema@.amount, @extschema@.amount, @extschema@.amount, @extschema@.amount, @extschema@.amount, @extschema@.amount) IS 'R-LED-2: whether funds cover an amount: cash not below zero, all holds and the amount within cash + vouchers, cash-only holds and the amount''s cash part within cash';
