/*
 * 10_parties.sql — customers and partners, their accounts and flags.
 *
 * Map (scripts/file-map.pl):
 * API: open_customer, open_partner, set_approved, set_b2b, set_discount.
 * Internals: lock_partner.
 * Uses: 1_types, 2_base, 3_ledger.
 */

CREATE FUNCTION @extschema@.open_customer(external_ref text, currency text DEFAULT NULL, at timestamptz DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	cur text := coalesce(currency, @extschema@.default_currency());
	t timestamptz := @extschema@.api_time(at);
	c @extschema@.customer;
	id bigint;
	cash bigint;
	voucher bigint;
BEGIN
	IF external_ref IS NULL OR external_ref = '' THEN
		RAISE EXCEPTION 'external_ref must not be empty' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.check_text(external_ref, 'external_ref');
	PERFORM @extschema@.zero(cur);		/* 22023 unless three upper-case letters */
	INSERT INTO @extschema@.customer AS k (external_ref, currency, created_at)
	VALUES (open_customer.external_ref, cur, t)
	ON CONFLICT ON CONSTRAINT customer_external_ref_key DO NOTHING
	RETURNING customer_id INTO id;
	IF id IS NULL THEN
		/* opened before: the same customer, if the currency agrees */
		SELECT * INTO c FROM @extschema@.customer k WHERE k.external_ref = open_customer.external_ref;
		IF c.currency <> cur THEN
			RAISE EXCEPTION 'customer "%" exists with currency %', external_ref, c.currency
				USING ERRCODE = 'GB005';
		END IF;
		RETURN c.customer_id;
	END IF;
	PERFORM @extschema@.open_currency(cur);
	cash := @extschema@.ledger_account('customer', id, 'cash', cur);
	voucher := @extschema@.ledger_account('customer', id, 'voucher', cur);
	PERFORM @extschema@.open_wallet(id, cash, voucher, cur, t);
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.open_customer(text, text, timestamptz) IS 'Open a customer with cash and voucher accounts in one currency (default gpubill.default_currency); idempotent on external_ref';

CREATE FUNCTION @extschema@.open_partner(external_ref text, currency text DEFAULT NULL, at timestamptz DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	cur text := coalesce(currency, @extschema@.default_currency());
	p @extschema@.partner;
	id bigint;
BEGIN
	IF external_ref IS NULL OR external_ref = '' THEN
		RAISE EXCEPTION 'external_ref must not be empty' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.check_text(external_ref, 'external_ref');
	PERFORM @extschema@.zero(cur);
	INSERT INTO @extschema@.partner (external_ref, currency, created_at)
	VALUES (open_partner.external_ref, cur, @extschema@.api_time(at))
	ON CONFLICT ON CONSTRAINT partner_external_ref_key DO NOTHING
	RETURNING partner_id INTO id;
	IF id IS NULL THEN
		SELECT * INTO p FROM @extschema@.partner k WHERE k.external_ref = open_partner.external_ref;
		IF p.currency <> cur THEN
			RAISE EXCEPTION 'partner "%" exists with currency %', external_ref, p.currency
				USING ERRCODE = 'GB005';
		END IF;
		RETURN p.partner_id;
	END IF;
	PERFORM @extschema@.open_currency(cur);
	PERFORM @extschema@.ledger_account('partner', id, 'income', cur);
	PERFORM @extschema@.ledger_account('partner', id, 'deposit', cur);
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.open_partner(text, text, timestamptz) IS 'Open a partner with income and deposit accounts in one currency; idempotent on external_ref';

CREATE FUNCTION @extschema@.set_discount(customer bigint, discount numeric)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	IF discount IS NULL OR discount::text = 'NaN' OR discount <= 0 OR discount > 1 THEN
		RAISE EXCEPTION 'discount must be greater than 0 and at most 1: %', discount
			USING ERRCODE = 'invalid_parameter_value', HINT = '1 means no discount, 0.9 means 10% off.';
	END IF;
	PERFORM @extschema@.lock_wallet(customer);
	UPDATE @extschema@.customer k SET discount = set_discount.discount WHERE k.customer_id = customer;
END
$$;
COMMENT ON FUNCTION @extschema@.set_discount(bigint, numeric) IS 'Set a customer''s discount factor (1 = none, 0.9 = 10% off); acts at once';

CREATE FUNCTION @extschema@.set_approved(customer bigint, approved boolean)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	IF approved IS NULL THEN
		RAISE EXCEPTION 'approved must not be null' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.lock_wallet(customer);
	UPDATE @extschema@.customer k SET approved = set_approved.approved WHERE k.customer_id = customer;
END
$$;
COMMENT ON FUNCTION @extschema@.set_approved(bigint, boolean) IS 'Mark a customer approved for direct payment of exchange contracts (R-EXC-1); acts at once';

CREATE FUNCTION @extschema@.set_b2b(customer bigint, b2b boolean)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	IF NOT @extschema@.is_admin() THEN
		RAISE EXCEPTION 'B2B customers are marked only by gpubill_admin' USING ERRCODE = 'insufficient_privilege',
			DETAIL = pg_catalog.format('The calling role is %s.', @extschema@.calling_role());
	END IF;
	IF b2b IS NULL THEN
		RAISE EXCEPTION 'b2b must not be null' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.lock_wallet(customer);
	UPDATE @extschema@.customer k SET b2b = set_b2b.b2b WHERE k.customer_id = customer;
END
$$;
COMMENT ON FUNCTION @extschema@.set_b2b(bigint, boolean) IS 'Mark a customer B2B: bank transfers may recharge it (R-RCH-1); admin; acts at once';

-- lock a partner (its withdrawals, ratings and listings are serialised on the row)
CREATE FUNCTION @extschema@.lock_partner(partner bigint) RETURNS @extschema@.partner
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	p @extschema@.partner;
BEGIN
	SELECT * INTO p FROM @extschema@.partner k WHERE k.partner_id = partner FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown partner: %', partner USING ERRCODE = 'no_data_found';
	END IF;
	RETURN p;
END
$$;
COMMENT ON FUNCTION @extschema@.lock_partner(bigint) IS 'Lock and return a partner''s row; unknown partner raises P0002';
