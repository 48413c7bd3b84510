/*
 * 64_holds.sql — two-phase holds (freezes) on a customer's funds (R-LED-2).
 *
 * place_hold reserves an amount: it lowers available, not the balances.  A
 * hold ends once: capture_hold moves all or part of it (vouchers first, where
 * the hold allows vouchers; then cash) and releases the rest; release_hold
 * frees it; a hold past its expiry ends as expired.  Funds are sufficient
 * when the cash-only holds fit in cash and all holds fit in cash + vouchers.
 */

-- end the customer's holds that expired by t (under the wallet lock)
CREATE FUNCTION @extschema@.expire_holds(customer bigint, t timestamptz) RETURNS integer
	LANGUAGE plpgsql
	AS $$
DECLARE
	n integer;
BEGIN
	WITH ended AS (
		INSERT INTO @extschema@.hold_end (hold_id, customer_id, kind, captured, at)
		SELECT h.hold_id, h.customer_id, 'expire', @extschema@.zero(@extschema@.currency(h.amount)), h.expires_at
		FROM @extschema@.hold h
		WHERE h.customer_id = customer AND h.expires_at <= t
		  AND NOT EXISTS (SELECT FROM @extschema@.hold_end e WHERE e.hold_id = h.hold_id)
		RETURNING hold_id
	), freed AS (
		SELECT @extschema@.sum(h.amount) AS amount,
			   @extschema@.sum(CASE WHEN h.cash_only THEN h.amount ELSE @extschema@.zero(@extschema@.currency(h.amount)) END) AS cash_amount,
			   pg_catalog.count(*) AS n
		FROM ended JOIN @extschema@.hold h USING (hold_id)
	)
	UPDATE @extschema@.wallet w SET held = w.held - f.amount, cash_held = w.cash_held - f.cash_amount
	FROM freed f WHERE w.customer_id = customer AND f.n > 0;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.expire_holds(bigint, timestamptz) IS 'End a customer''s holds whose expiry has passed (called under the wallet lock)';

CREATE FUNCTION @extschema@.place_hold(customer bigint, amt @extschema@.amount, cash_only boolean DEFAULT false,
										expires_at timestamptz DEFAULT NULL, object_type text DEFAULT NULL,
										object_id bigint DEFAULT NULL, at timestamptz DEFAULT NULL,
										request_id text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := coalesce(at, pg_catalog.now());
	w @extschema@.wallet;
	r record;
BEGIN
	w := @extschema@.lock_wallet(customer);
	PERFORM @extschema@.check_amount(amt, @extschema@.currency(w.cash), 'hold amount');
	IF cash_only IS NULL THEN
		RAISE EXCEPTION 'cash_only must not be null' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF expires_at IS NOT NULL AND expires_at <= t THEN
		RAISE EXCEPTION 'a hold must expire after it is placed: % is not after %', expires_at, t
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	r := @extschema@.begin_request('place_hold', request_id, customer, NULL,
								   pg_catalog.jsonb_build_object('customer', customer, 'amount', amt::text,
										'cash_only', cash_only, 'expires_at', expires_at,
										'object_type', object_type, 'object_id', object_id), t);
	IF r.done THEN
		RETURN r.id;
	END IF;
	IF @extschema@.expire_holds(customer, t) > 0 THEN
		SELECT * INTO w FROM @extschema@.wallet k WHERE k.customer_id = customer;
	END IF;
	IF @extschema@.micros(w.cash) < 0
	   OR w.cash + w.vouchers - w.held < amt
	   OR (cash_only AND w.cash - w.cash_held < amt) THEN
		RAISE EXCEPTION 'insufficient funds: a hold of % needs more than is available', amt
			USING ERRCODE = 'GB001',
				  DETAIL = pg_catalog.format('cash %s, vouchers %s, held %s (cash only %s); vouchers %s.',
						w.cash, w.vouchers, w.held, w.cash_held, CASE WHEN cash_only THEN 'not usable' ELSE 'usable' END);
	END IF;
	INSERT INTO @extschema@.hold (hold_id, customer_id, amount, cash_only, at, expires_at, object_type, object_id, request_id)
	VALUES (r.id, customer, amt, cash_only, t, expires_at, object_type, object_id, request_id);
	UPDATE @extschema@.wallet k
	SET held = k.held + amt,
		cash_held = CASE WHEN cash_only THEN k.cash_held + amt ELSE k.cash_held END,
		updated_at = GREATEST(k.updated_at, t)
	WHERE k.customer_id = customer;
	RETURN r.id;
END
$$;
COMMENT ON FUNCTION @extschema@.place_hold(bigint, @extschema@.amount, boolean, timestamptz, text, bigint, timestamptz, text) IS 'Reserve funds of a customer (a freeze): lowers available, not the balances; GB001 if not available (R-LED-2)';

-- the hold to end, checked: it exists, has not ended, has not expired at t
CREATE FUNCTION @extschema@.open_hold(hold bigint, t timestamptz) RETURNS @extschema@.hold
	LANGUAGE plpgsql
	AS $$
DECLARE
	h @extschema@.hold;
	e @extschema@.hold_end;
BEGIN
	SELECT * INTO h FROM @extschema@.hold k WHERE k.hold_id = hold;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown hold: %', hold USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM @extschema@.lock_wallet(h.customer_id);
	SELECT * INTO e FROM @extschema@.hold_end k WHERE k.hold_id = hold;
	IF FOUND THEN
		RAISE EXCEPTION 'hold % has already ended (%)', hold, e.kind USING ERRCODE = 'GB004';
	END IF;
	IF h.expires_at <= t THEN
		PERFORM @extschema@.expire_holds(h.customer_id, t);
		RAISE EXCEPTION 'hold % expired at %', hold, h.expires_at USING ERRCODE = 'GB004';
	END IF;
	IF t < h.at THEN
		RAISE EXCEPTION 'hold % cannot end at %, before it was placed at %', hold, t, h.at USING ERRCODE = 'GB004';
	END IF;
	RETURN h;
END
$$;
COMMENT ON FUNCTION @extschema@.open_hold(bigint, timestamptz) IS 'Lock the wallet of a hold and check the hold can still end';

-- how a captured hold was paid, from the journal (for a repeated request)
CREATE FUNCTION @extschema@.hold_split(hold bigint, customer bigint)
	RETURNS TABLE (voucher_paid @extschema@.amount, cash_paid @extschema@.amount,
				   partner_income @extschema@.amount, platform_fee @extschema@.amount)
	LANGUAGE sql STABLE
	AS $$
	SELECT coalesce(@extschema@.sum(amount) FILTER (WHERE kind = 'voucher_spend'), z),
		   coalesce(@extschema@.sum(amount) FILTER (WHERE kind IN ('income', 'fee')), z),
		   coalesce(@extschema@.sum(amount) FILTER (WHERE kind = 'income'), z),
		   coalesce(@extschema@.sum(amount) FILTER (WHERE kind = 'fee'), z)
	FROM (SELECT @extschema@.zero(@extschema@.currency(h.amount)) AS z FROM @extschema@.hold h WHERE h.hold_id = hold) zz
	LEFT JOIN @extschema@.transfer t
		ON t.customer_id = customer AND t.object_type = 'hold' AND t.object_id = hold
	GROUP BY z
$$;
COMMENT ON FUNCTION @extschema@.hold_split(bigint, bigint) IS 'Voucher, cash, partner income and platform fee parts of a captured hold, from the journal';

CREATE FUNCTION @extschema@.capture_hold(hold bigint, amt @extschema@.amount, partner bigint DEFAULT NULL,
										  at timestamptz DEFAULT NULL, request_id text DEFAULT NULL)
	RETURNS TABLE (voucher_paid @extschema@.amount, cash_paid @extschema@.amount,
				   partner_income @extschema@.amount, platform_fee @extschema@.amount)
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := coalesce(at, pg_catalog.now());
	h @extschema@.hold;
	w @extschema@.wallet;
	cur text;
	r record;
	v @extschema@.amount;
	c @extschema@.amount;
	income @extschema@.amount;
	partner_cur text;
BEGIN
	SELECT k.customer_id INTO w.customer_id FROM @extschema@.hold k WHERE k.hold_id = hold;
	IF FOUND THEN
		w := @extschema@.lock_wallet(w.customer_id);
		r := @extschema@.begin_request('capture_hold', request_id, w.customer_id, partner,
									   pg_catalog.jsonb_build_object('hold', hold, 'amount', amt::text, 'partner', partner), t);
		IF r.done THEN
			RETURN QUERY SELECT * FROM @extschema@.hold_split(hold, w.customer_id);
			RETURN;
		END IF;
	END IF;
	h := @extschema@.open_hold(hold, t);
	cur := @extschema@.currency(h.amount);
	income := @extschema@.zero(cur);
	IF amt IS NULL OR @extschema@.currency(amt) <> cur THEN
		PERFORM @extschema@.check_amount(amt, cur, 'captured amount');
	END IF;
	IF @extschema@.micros(amt) < 0 OR amt > h.amount THEN
		RAISE EXCEPTION 'a capture of % is outside the hold of %', amt, h.amount
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Capture between zero and the amount held.';
	END IF;
	IF partner IS NOT NULL THEN
		SELECT p.currency INTO partner_cur FROM @extschema@.partner p WHERE p.partner_id = partner;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'unknown partner: %', partner USING ERRCODE = 'no_data_found';
		END IF;
		IF partner_cur <> cur THEN
			RAISE EXCEPTION 'currency mismatch: the partner is paid in %, the hold is in %', partner_cur, cur
				USING ERRCODE = 'GB003';
		END IF;
	END IF;

	/* R-RCH-4: vouchers first where the hold allows them, then cash */
	v := CASE WHEN h.cash_only THEN @extschema@.zero(cur) ELSE LEAST(amt, GREATEST(w.vouchers, @extschema@.zero(cur))) END;
	c := amt - v;
	IF @extschema@.micros(v) > 0 THEN
		INSERT INTO @extschema@.transfer (customer_id, at, kind, debit_account, credit_account, amount, object_type, object_id, request_id)
		VALUES (h.customer_id, t, 'voucher_spend', w.voucher_account,
				@extschema@.ledger_account('platform', 0, 'voucher_expense', cur), v, 'hold', hold, request_id);
	END IF;
	IF @extschema@.micros(c) > 0 THEN
		/* R-PRT-3: the partner's income is the cash part less the service fee */
		income := CASE WHEN partner IS NULL THEN @extschema@.zero(cur)
					   ELSE @extschema@.partner_income(c, @extschema@.setting('service_fee_rate')::numeric) END;
		IF @extschema@.micros(income) > 0 THEN
			INSERT INTO @extschema@.transfer (customer_id, at, kind, debit_account, credit_account, amount, object_type, object_id, request_id)
			VALUES (h.customer_id, t, 'income', w.cash_account,
					@extschema@.ledger_account('partner', partner, 'income', cur), income, 'hold', hold, request_id);
		END IF;
		IF c > income THEN
			INSERT INTO @extschema@.transfer (customer_id, at, kind, debit_account, credit_account, amount, object_type, object_id, request_id)
			VALUES (h.customer_id, t, 'fee', w.cash_account,
					@extschema@.ledger_account('platform', 0, 'fee', cur), c - income, 'hold', hold, request_id);
		END IF;
	END IF;
	INSERT INTO @extschema@.hold_end (hold_id, customer_id, kind, captured, at, request_id)
	VALUES (hold, h.customer_id, 'capture', amt, t, request_id);
	UPDATE @extschema@.wallet k
	SET cash = k.cash - c, vouchers = k.vouchers - v, held = k.held - h.amount,
		cash_held = CASE WHEN h.cash_only THEN k.cash_held - h.amount ELSE k.cash_held END,
		updated_at = GREATEST(k.updated_at, t)
	WHERE k.customer_id = h.customer_id;
	RETURN QUERY SELECT v, c, income, c - income;
END
$$;
COMMENT ON FUNCTION @extschema@.capture_hold(bigint, @extschema@.amount, bigint, timestamptz, text) IS 'Capture all or part of a hold, vouchers first unless the hold is cash-only; the cash part goes to the partner''s income less the service fee, or to the platform; the rest is released (R-LED-2, R-RCH-4, R-PRT-3)';

CREATE FUNCTION @extschema@.release_hold(hold bigint, at timestamptz DEFAULT NULL, request_id text DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := coalesce(at, pg_catalog.now());
	h @extschema@.hold;
	customer bigint;
	r record;
BEGIN
	SELECT k.customer_id INTO customer FROM @extschema@.hold k WHERE k.hold_id = hold;
	IF FOUND AND request_id IS NOT NULL THEN
		PERFORM @extschema@.lock_wallet(customer);
		r := @extschema@.begin_request('release_hold', request_id, customer, NULL,
									   pg_catalog.jsonb_build_object('hold', hold), t);
		IF r.done THEN
			RETURN;
		END IF;
	END IF;
	h := @extschema@.open_hold(hold, t);
	INSERT INTO @extschema@.hold_end (hold_id, customer_id, kind, captured, at, request_id)
	VALUES (hold, h.customer_id, 'release', @extschema@.zero(@extschema@.currency(h.amount)), t, request_id);
	UPDATE @extschema@.wallet k
	SET held = k.held - h.amount,
		cash_held = CASE WHEN h.cash_only THEN k.cash_held - h.amount ELSE k.cash_held END,
		updated_at = GREATEST(k.updated_at, t)
	WHERE k.customer_id = h.customer_id;
END
$$;
COMMENT ON FUNCTION @extschema@.release_hold(bigint, timestamptz, text) IS 'Free a hold without moving money (R-LED-2)';
