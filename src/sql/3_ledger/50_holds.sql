/*
 * 50_holds.sql — two-phase holds (freezes) on a customer's funds (R-LED-2).
 *
 * place_hold reserves an amount: it lowers available, not the balances.  A
 * hold ends once: capture_hold moves all or part of it (vouchers first, where
 * the hold allows vouchers; then cash) and releases the rest; release_hold
 * frees it; a hold past its expiry ends as expired.  Funds are sufficient
 * when the cash-only holds fit in cash and all holds fit in cash + vouchers.
 * wallet.hold_expiry (the earliest expiry of an active hold) lets a movement
 * skip looking for expired holds when none can be due.
 *
 * Map (scripts/file-map.pl):
 * API: capture_hold, place_hold, release_hold.
 * Internals: end_hold, engine_hold_owner, expire_holds, hold_funds,
 *   hold_split, open_hold.
 * Uses: 1_types, 2_base.
 */

-- end the customer's holds that expired by t (under the wallet lock); returns the wallet
CREATE FUNCTION @extschema@.expire_holds(customer bigint, t timestamptz) RETURNS @extschema@.wallet
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	w @extschema@.wallet;
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
			   @extschema@.sum(CASE WHEN h.cash_only THEN h.amount ELSE @extschema@.zero(@extschema@.currency(h.amount)) END) AS cash_amount
		FROM ended JOIN @extschema@.hold h USING (hold_id)
	)
	UPDATE @extschema@.wallet k
	SET held = k.held - coalesce(f.amount, @extschema@.zero(@extschema@.currency(k.held))),
		cash_held = k.cash_held - coalesce(f.cash_amount, @extschema@.zero(@extschema@.currency(k.held))),
		hold_expiry = (SELECT pg_catalog.min(h.expires_at) FROM @extschema@.hold h
					   WHERE h.customer_id = customer AND h.expires_at > t
						 AND NOT EXISTS (SELECT FROM @extschema@.hold_end e WHERE e.hold_id = h.hold_id))
	FROM freed f WHERE k.customer_id = customer
	RETURNING k.* INTO w;
	RETURN w;
END
$$;
COMMENT ON FUNCTION @extschema@.expire_holds(bigint, timestamptz) IS 'End a customer''s holds whose expiry has passed (called under the wallet lock); returns the wallet';

/*
 * R-SEC-3: holds gpubill places for its own objects (a PAYG run's hour, a
 * contract's initial payment) are ended by gpubill only: the public hold
 * functions refuse them, or a later settlement or tick would fail.
 */
CREATE FUNCTION @extschema@.engine_hold_owner(object_type text) RETURNS boolean
	LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$ SELECT object_type IN ('instance', 'contract') $$;
COMMENT ON FUNCTION @extschema@.engine_hold_owner(text) IS 'Whether holds of an object type belong to gpubill''s engine (instances, contracts): not placed or ended through the public hold functions';

-- R-LED-2: reserve funds of a customer (the engine's and the public door's common part)
CREATE FUNCTION @extschema@.hold_funds(customer bigint, amt @extschema@.amount, cash_only boolean,
									   expires_at timestamptz, object_type text, object_id bigint, at timestamptz,
									   request_id text)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	t timestamptz := coalesce(at, pg_catalog.now());
	w @extschema@.wallet;
	id bigint;
	done boolean;
BEGIN
	SELECT * INTO w FROM @extschema@.wallet k WHERE k.customer_id = customer FOR UPDATE;	/* the first lock */
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown customer: %', customer USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM @extschema@.check_open(t);	/* no hold is placed in a closed month */
	IF amt IS NULL OR @extschema@.currency(amt) <> @extschema@.currency(w.cash) OR @extschema@.micros(amt) <= 0 THEN
		PERFORM @extschema@.check_amount(amt, @extschema@.currency(w.cash), 'hold amount');
	END IF;
	IF cash_only IS NULL THEN
		RAISE EXCEPTION 'cash_only must not be null' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF expires_at IS NOT NULL AND expires_at <= t THEN
		RAISE EXCEPTION 'a hold must expire after it is placed: % is not after %', expires_at, t
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF request_id IS NULL THEN
		id := pg_catalog.nextval('@extschema@.id_seq');
	ELSE
		SELECT * INTO id, done FROM @extschema@.begin_request('place_hold', request_id, customer, NULL,
									   pg_catalog.jsonb_build_object('customer', customer, 'amount', amt::text,
											'cash_only', cash_only, 'expires_at', expires_at,
											'object_type', object_type, 'object_id', object_id), t);
		IF done THEN
			RETURN id;
		END IF;
	END IF;
	IF w.hold_expiry <= t OR w.voucher_expiry <= t THEN	/* rarely: no call on the hot path */
		w := @extschema@.refresh_wallet(w, t);
	END IF;
	IF NOT @extschema@.funds_cover(w.cash, w.vouchers, w.held, w.cash_held, amt,
								   CASE WHEN cash_only THEN amt ELSE @extschema@.zero(@extschema@.currency(amt)) END) THEN
		RAISE EXCEPTION 'insufficient funds: a hold of % needs more than is available', amt
			USING ERRCODE = 'GB001',
				  DETAIL = pg_catalog.format('cash %s, vouchers %s, held %s (cash only %s); vouchers %s.',
						w.cash, w.vouchers, w.held, w.cash_held, CASE WHEN cash_only THEN 'not usable' ELSE 'usable' END);
	END IF;
	INSERT INTO @extschema@.hold (hold_id, customer_id, amount, cash_only, at, expires_at, object_type, object_id, request_id)
	VALUES (id, customer, amt, cash_only, t, expires_at, object_type, object_id, request_id);
	UPDATE @extschema@.wallet k
	SET held = k.held + amt,
		cash_held = CASE WHEN cash_only THEN k.cash_held + amt ELSE k.cash_held END,
		hold_expiry = LEAST(k.hold_expiry, expires_at),
		updated_at = GREATEST(k.updated_at, t)
	WHERE k.customer_id = customer;
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.hold_funds(bigint, @extschema@.amount, boolean, timestamptz, text, bigint, timestamptz, text) IS 'Reserve funds of a customer: lowers available, not the balances; GB001 if not available (R-LED-2)';

CREATE FUNCTION @extschema@.place_hold(customer bigint, amt @extschema@.amount, cash_only boolean DEFAULT false,
										expires_at timestamptz DEFAULT NULL, object_type text DEFAULT NULL,
										object_id bigint DEFAULT NULL, at timestamptz DEFAULT NULL,
										request_id text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	IF @extschema@.engine_hold_owner(object_type) THEN
		RAISE EXCEPTION 'holds of an % are placed by gpubill itself', object_type USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Use another object_type for the holds of your own objects.';
	END IF;
	PERFORM @extschema@.check_text(object_type, 'object_type', 63);
	PERFORM @extschema@.check_time(expires_at, 'expires_at');
	RETURN @extschema@.hold_funds(customer, amt, cash_only, expires_at, object_type, object_id,
								  @extschema@.customer_time(at, customer), request_id);
END
$$;
COMMENT ON FUNCTION @extschema@.place_hold(bigint, @extschema@.amount, boolean, timestamptz, text, bigint, timestamptz, text) IS 'Reserve funds of a customer (a freeze): lowers available, not the balances; GB001 if not available (R-LED-2); holds of instances and contracts are gpubill''s own (22023)';

-- the hold to end and its locked wallet, checked: it exists and has not
-- expired at t (end_hold finds an earlier end); with a repeated request id,
-- done is true
CREATE FUNCTION @extschema@.open_hold(hold bigint, t timestamptz, fn text, request_id text, args jsonb,
									  OUT h @extschema@.hold, OUT w @extschema@.wallet, OUT done boolean)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	ended text;
BEGIN
	SELECT * INTO h FROM @extschema@.hold k WHERE k.hold_id = hold;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown hold: %', hold USING ERRCODE = 'no_data_found';
	END IF;
	IF @extschema@.engine_hold_owner(h.object_type) THEN
		RAISE EXCEPTION 'hold % belongs to % %: gpubill ends it itself', hold, h.object_type, h.object_id
			USING ERRCODE = 'GB004',
				  HINT = 'Stop, release or settle the instance, or let the contract run; its hold ends with it.';
	END IF;
	SELECT * INTO w FROM @extschema@.wallet k WHERE k.customer_id = h.customer_id FOR UPDATE;
	done := request_id IS NOT NULL AND (@extschema@.begin_request(fn, request_id, h.customer_id, NULL, args, t)).done;
	IF done THEN
		RETURN;
	END IF;
	IF h.expires_at <= t THEN
		RAISE EXCEPTION 'hold % expired at %', hold, h.expires_at USING ERRCODE = 'GB004';
	END IF;
	IF t < h.at THEN
		RAISE EXCEPTION 'hold % cannot end at %, before it was placed at %', hold, t, h.at USING ERRCODE = 'GB004';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.open_hold(bigint, timestamptz, text, text, jsonb) IS 'Lock the wallet of a hold, handle a repeated request, check the hold can still end';

-- record the end of a hold, once (a second end raises GB004), and free what it
-- reserved in the cached held (under the wallet lock); what a capture moves is
-- posted by capture
CREATE FUNCTION @extschema@.end_hold(hold bigint, customer bigint, kind text, captured @extschema@.amount,
									 t timestamptz, request_id text) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	ended text;
BEGIN
	INSERT INTO @extschema@.hold_end (hold_id, customer_id, kind, captured, at, request_id)
	VALUES (hold, customer, end_hold.kind, captured, t, request_id)
	ON CONFLICT (hold_id) DO NOTHING;
	IF NOT FOUND THEN
		SELECT e.kind INTO ended FROM @extschema@.hold_end e WHERE e.hold_id = hold;
		RAISE EXCEPTION 'hold % has already ended (%)', hold, ended USING ERRCODE = 'GB004';
	END IF;
	UPDATE @extschema@.wallet k
	SET held = k.held - h.amount,
		cash_held = CASE WHEN h.cash_only THEN k.cash_held - h.amount ELSE k.cash_held END,
		updated_at = GREATEST(k.updated_at, t)
	FROM @extschema@.hold h
	WHERE h.hold_id = hold AND k.customer_id = h.customer_id;
END
$$;
COMMENT ON FUNCTION @extschema@.end_hold(bigint, bigint, text, @extschema@.amount, timestamptz, text) IS 'Record how a hold ended and free what it reserved; a hold ends once (GB004)';

-- how a captured hold was paid, from the journal (for a repeated request)
CREATE FUNCTION @extschema@.hold_split(hold bigint, customer bigint)
	RETURNS TABLE (voucher_paid @extschema@.amount, cash_paid @extschema@.amount,
				   partner_income @extschema@.amount, platform_fee @extschema@.amount)
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
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
/* the transfers of a captured hold, found in each month by the hold (not by all of the customer's transfers) */
CREATE INDEX transfer_hold_idx ON @extschema@.transfer_default (object_id) WHERE object_type = 'hold';
COMMENT ON FUNCTION @extschema@.hold_split(bigint, bigint) IS 'Voucher, cash, partner income and platform fee parts of a captured hold, from the journal';

CREATE FUNCTION @extschema@.capture_hold(hold bigint, amt @extschema@.amount, partner bigint DEFAULT NULL,
										  at timestamptz DEFAULT NULL, request_id text DEFAULT NULL)
	RETURNS TABLE (voucher_paid @extschema@.amount, cash_paid @extschema@.amount,
				   partner_income @extschema@.amount, platform_fee @extschema@.amount)
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := @extschema@.api_time(at);
	o record;
	h @extschema@.hold;
	w @extschema@.wallet;
	cur text;
	income_account bigint;
BEGIN
	o := @extschema@.open_hold(hold, t, 'capture_hold', request_id,
							   CASE WHEN request_id IS NOT NULL THEN
							   pg_catalog.jsonb_build_object('hold', hold, 'amount', amt::text, 'partner', partner) END);
	h := o.h;		/* unpacked once: fields of row variables are cheap to read */
	w := o.w;
	IF o.done THEN
		RETURN QUERY SELECT * FROM @extschema@.hold_split(hold, h.customer_id);
		RETURN;
	END IF;
	cur := @extschema@.currency(h.amount);
	IF amt IS NULL OR @extschema@.currency(amt) <> cur THEN
		PERFORM @extschema@.check_amount(amt, cur, 'captured amount');
	END IF;
	IF @extschema@.micros(amt) < 0 OR amt > h.amount THEN
		RAISE EXCEPTION 'a capture of % is outside the hold of %', amt, h.amount
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Capture between zero and the amount held.';
	END IF;
	IF partner IS NOT NULL THEN
		income_account := @extschema@.account_of('partner', partner, 'income', cur);
		IF income_account IS NULL THEN
			IF EXISTS (SELECT FROM @extschema@.partner p WHERE p.partner_id = partner) THEN
				RAISE EXCEPTION 'currency mismatch: partner % is not paid in %', partner, cur USING ERRCODE = 'GB003';
			END IF;
			RAISE EXCEPTION 'unknown partner: %', partner USING ERRCODE = 'no_data_found';
		END IF;
	END IF;

	IF w.hold_expiry <= t OR w.voucher_expiry <= t THEN	/* rarely: no call on the hot path */
		w := @extschema@.refresh_wallet(w, t);
	END IF;
	/* R-RCH-4, R-PRT-3: vouchers first where the hold allows them, then cash split into income and fee */
	PERFORM @extschema@.end_hold(hold, h.customer_id, 'capture', amt, t, request_id);
	RETURN QUERY SELECT * FROM @extschema@.capture(w, amt, h.cash_only, income_account,
												   (@extschema@.partner_settings()).service_fee_rate, 'hold', hold, t, request_id);
END
$$;
COMMENT ON FUNCTION @extschema@.capture_hold(bigint, @extschema@.amount, bigint, timestamptz, text) IS 'Capture all or part of a hold, vouchers first unless the hold is cash-only; the cash part goes to the partner''s income less the service fee, or to the platform; the rest is released (R-LED-2, R-RCH-4, R-PRT-3)';

CREATE FUNCTION @extschema@.release_hold(hold bigint, at timestamptz DEFAULT NULL, request_id text DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := @extschema@.api_time(at);
	o record;
	h @extschema@.hold;
BEGIN
	o := @extschema@.open_hold(hold, t, 'release_hold', request_id, pg_catalog.jsonb_build_object('hold', hold));
	h := o.h;
	IF o.done THEN
		RETURN;
	END IF;
	PERFORM @extschema@.end_hold(hold, h.customer_id, 'release', @extschema@.zero(@extschema@.currency(h.amount)),
								 t, request_id);
END
$$;
COMMENT ON FUNCTION @extschema@.release_hold(bigint, timestamptz, text) IS 'Free a hold without moving money (R-LED-2)';
