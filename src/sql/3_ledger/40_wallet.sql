/*
 * 40_wallet.sql — recharges, vouchers, the wallet, invoices (R-RCH-1..3).
 *
 * Map (scripts/file-map.pl):
 * API: grant_voucher, recharge, record_invoice, wallet.
 * Internals: drop_vouchers, expire_vouchers, refresh_wallet, spend_vouchers.
 * Uses: 1_types, 2_base.
 */

CREATE FUNCTION @extschema@.recharge(customer bigint, amt @extschema@.amount, channel text, external_id text,
									  at timestamptz DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := @extschema@.api_time(at);
	w @extschema@.wallet;
	cur text;
	r record;
	rate numeric;
	bonus @extschema@.amount;
	legs @extschema@.leg[];
BEGIN
	IF channel IS NULL OR channel NOT IN ('wechat', 'alipay', 'stripe', 'crypto', 'paypal', 'bank_transfer') THEN
		RAISE EXCEPTION 'unknown recharge channel: %', coalesce(channel, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Channels are wechat, alipay, stripe, crypto, paypal and bank_transfer.';
	END IF;
	IF external_id IS NULL OR external_id = '' THEN
		RAISE EXCEPTION 'external_id must not be empty' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.check_text(external_id, 'external_id');
	IF channel = 'bank_transfer' AND NOT @extschema@.is_admin() THEN
		RAISE EXCEPTION 'bank transfers may be recorded only by gpubill_admin'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = pg_catalog.format('The calling role is %s.', @extschema@.calling_role());
	END IF;
	w := @extschema@.lock_wallet(customer);
	t := @extschema@.customer_time(at, customer);
	IF channel = 'bank_transfer' AND NOT (SELECT k.b2b FROM @extschema@.customer k WHERE k.customer_id = customer) THEN
		RAISE EXCEPTION 'customer % is not a B2B customer: bank transfers are for B2B customers only', customer
			USING ERRCODE = 'GB004', HINT = 'gpubill_admin marks a customer B2B with set_b2b.';
	END IF;
	cur := @extschema@.currency(w.cash);
	PERFORM @extschema@.check_amount(amt, cur, 'recharge amount');

	/* (channel, external_id) is the request id: payment webhooks arrive twice (R-LED-5) */
	r := @extschema@.begin_request('recharge', channel || ':' || external_id, customer, NULL,
								   pg_catalog.jsonb_build_object('customer', customer, 'amount', amt::text), t);
	IF r.done THEN
		RETURN r.id;
	END IF;

	rate := @extschema@.channel_bonus_rate(channel);
	bonus := @extschema@.round(amt * rate, 2);
	INSERT INTO @extschema@.recharge (recharge_id, customer_id, channel, external_id, amount, bonus, at)
	VALUES (r.id, customer, channel, external_id, amt, bonus, t);
	legs := ARRAY[@extschema@.leg(customer, NULL, t, 'recharge', @extschema@.account_of('world', 0, 'payments_in', cur), w.cash_account,
								  amt, 'recharge', r.id, channel || ':' || external_id),
				  @extschema@.leg(customer, NULL, t, 'bonus', w.voucher_expense_account, w.voucher_account, bonus, 'recharge', r.id)];
	legs[1].transfer_id := pg_catalog.nextval('@extschema@.id_seq');	/* the recharge takes its id before its bonus voucher */
	IF @extschema@.micros(bonus) > 0 THEN
		/* R-RCH-2: the channel bonus is a voucher */
		INSERT INTO @extschema@.voucher (voucher_id, customer_id, amount, expires_at, at, recharge_id)
		VALUES (pg_catalog.nextval('@extschema@.id_seq'), customer, bonus, NULL, t, r.id);
		INSERT INTO @extschema@.voucher_left (voucher_id, customer_id, expires_at, amount)
		VALUES (pg_catalog.currval('@extschema@.id_seq'), customer, NULL, bonus);
	END IF;
	PERFORM @extschema@.post_transfers(legs);
	UPDATE @extschema@.wallet SET recharged = recharged + amt WHERE customer_id = customer;
	RETURN r.id;
END
$$;
COMMENT ON FUNCTION @extschema@.recharge(bigint, @extschema@.amount, text, text, timestamptz) IS 'Credit a real recharge from a payment channel, idempotent on (channel, external_id); bank_transfer only for gpubill_admin (R-RCH-1, R-RCH-2)';

CREATE FUNCTION @extschema@.grant_voucher(customer bigint, amt @extschema@.amount, expires_at timestamptz DEFAULT NULL,
										   at timestamptz DEFAULT NULL, request_id text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := @extschema@.api_time(at);
	w @extschema@.wallet;
	cur text;
	r record;
BEGIN
	w := @extschema@.lock_wallet(customer);
	t := @extschema@.customer_time(at, customer);
	cur := @extschema@.currency(w.cash);
	PERFORM @extschema@.check_amount(amt, cur, 'voucher amount');
	PERFORM @extschema@.check_time(expires_at, 'expires_at');
	IF expires_at IS NOT NULL AND expires_at <= t THEN
		RAISE EXCEPTION 'a voucher must expire after it is granted: % is not after %', expires_at, t
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	r := @extschema@.begin_request('grant_voucher', request_id, customer, NULL,
								   pg_catalog.jsonb_build_object('customer', customer, 'amount', amt::text,
																 'expires_at', expires_at), t);
	IF r.done THEN
		RETURN r.id;
	END IF;
	INSERT INTO @extschema@.voucher (voucher_id, customer_id, amount, expires_at, at)
	VALUES (r.id, customer, amt, expires_at, t);
	INSERT INTO @extschema@.voucher_left (voucher_id, customer_id, expires_at, amount) VALUES (r.id, customer, expires_at, amt);
	PERFORM @extschema@.post_transfers(ARRAY[
		@extschema@.leg(customer, NULL, t, 'voucher', w.voucher_expense_account, w.voucher_account, amt, 'voucher', r.id, request_id)]);
	IF grant_voucher.expires_at IS NOT NULL THEN
		UPDATE @extschema@.wallet SET voucher_expiry = LEAST(voucher_expiry, grant_voucher.expires_at) WHERE customer_id = customer;
	END IF;
	RETURN r.id;
END
$$;
COMMENT ON FUNCTION @extschema@.grant_voucher(bigint, @extschema@.amount, timestamptz, timestamptz, text) IS 'Grant a voucher, optionally expiring (R-RCH-3); vouchers are never withdrawable';

-- R-RCH-4: spend vouchers of a customer, earliest expiry first (under the wallet lock)
CREATE FUNCTION @extschema@.spend_vouchers(customer bigint, amt @extschema@.amount) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	IF @extschema@.micros(amt) <= 0 THEN
		RETURN;
	END IF;
	WITH lots AS (
		SELECT l.voucher_id, l.amount,
			   @extschema@.sum(l.amount) OVER (ORDER BY l.expires_at NULLS LAST, l.voucher_id) AS cum
		FROM @extschema@.voucher_left l WHERE l.customer_id = customer
	), spent AS (
		DELETE FROM @extschema@.voucher_left l USING lots x WHERE l.voucher_id = x.voucher_id AND x.cum <= amt
		RETURNING 1
	)
	UPDATE @extschema@.voucher_left l SET amount = x.cum - amt
	FROM lots x WHERE l.voucher_id = x.voucher_id AND x.cum - x.amount < amt AND x.cum > amt;
END
$$;
COMMENT ON FUNCTION @extschema@.spend_vouchers(bigint, @extschema@.amount) IS 'Take an amount from a customer''s vouchers, earliest expiry first (R-RCH-4)';

-- the vouchers of a customer whose voucher balance was posted away in full (a refund's forfeit)
CREATE FUNCTION @extschema@.drop_vouchers(customer bigint) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	DELETE FROM @extschema@.voucher_left l WHERE l.customer_id = customer;
	UPDATE @extschema@.wallet k SET voucher_expiry = NULL WHERE k.customer_id = customer AND k.voucher_expiry IS NOT NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.drop_vouchers(bigint) IS 'Forget what is left of a customer''s vouchers once its voucher balance was posted away in full';

/*
 * R-RCH-3: the remainder of vouchers expired by t is written off to the
 * platform's voucher breakage, at each voucher's expiry.  For the customers
 * given (whose wallets the caller has locked), or for all (tick: the wallets
 * are locked here, in customer order).
 */
CREATE FUNCTION @extschema@.expire_vouchers(t timestamptz, customers bigint[] DEFAULT NULL) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	legs @extschema@.leg[];
	touched bigint[];
BEGIN
	IF pg_catalog.cardinality(customers) = 0 THEN
		RETURN 0;	/* none of the customers given has a voucher expired (a settlement's usual case) */
	END IF;
	IF customers IS NULL THEN
		PERFORM pg_catalog.count(*) FROM (SELECT FROM @extschema@.wallet w
		WHERE w.customer_id IN (SELECT l.customer_id FROM @extschema@.voucher_left l WHERE l.expires_at <= t)
		ORDER BY w.customer_id FOR UPDATE) locked;	/* one row back, not one per row locked */
	END IF;
	WITH gone AS (
		DELETE FROM @extschema@.voucher_left l
		WHERE l.expires_at <= t AND (customers IS NULL OR l.customer_id = ANY (customers))
		RETURNING l.*
	)
	SELECT pg_catalog.array_agg(@extschema@.leg(g.customer_id, NULL, g.expires_at, 'voucher_expiry', w.voucher_account,
						@extschema@.account_of('platform', 0, 'voucher_breakage', @extschema@.currency(g.amount)),
						g.amount, 'voucher', g.voucher_id) ORDER BY g.customer_id, g.expires_at, g.voucher_id),
		   pg_catalog.array_agg(DISTINCT g.customer_id)
	INTO legs, touched
	FROM gone g JOIN @extschema@.wallet w USING (customer_id);
	IF legs IS NOT NULL THEN
		PERFORM @extschema@.post_transfers(legs);
		UPDATE @extschema@.wallet w
		SET voucher_expiry = (SELECT pg_catalog.min(l.expires_at) FROM @extschema@.voucher_left l
							  WHERE l.customer_id = w.customer_id AND l.expires_at > t)
		WHERE w.customer_id = ANY (touched);
	END IF;
	IF customers IS NOT NULL THEN
		UPDATE @extschema@.wallet w
		SET voucher_expiry = (SELECT pg_catalog.min(l.expires_at) FROM @extschema@.voucher_left l
							  WHERE l.customer_id = w.customer_id AND l.expires_at > t)
		WHERE w.customer_id = ANY (customers) AND w.voucher_expiry <= t;
	END IF;
	RETURN coalesce(pg_catalog.cardinality(touched), 0);
END
$$;
COMMENT ON FUNCTION @extschema@.expire_vouchers(timestamptz, bigint[]) IS 'Write off what is left of vouchers expired by t to the platform''s voucher breakage (R-RCH-3)';

-- a locked wallet brought up to t: holds and vouchers that expired by t are ended first
CREATE FUNCTION @extschema@.refresh_wallet(w @extschema@.wallet, t timestamptz) RETURNS @extschema@.wallet
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	IF w.hold_expiry <= t THEN
		w := @extschema@.expire_holds(w.customer_id, t);
	END IF;
	IF w.voucher_expiry <= t THEN
		PERFORM @extschema@.expire_vouchers(t, ARRAY[w.customer_id]);
		SELECT * INTO w FROM @extschema@.wallet k WHERE k.customer_id = w.customer_id;
	END IF;
	RETURN w;
END
$$;
COMMENT ON FUNCTION @extschema@.refresh_wallet(@extschema@.wallet, timestamptz) IS 'End the holds and vouchers of a locked wallet that expired by t; returns the wallet';

CREATE FUNCTION @extschema@.wallet(customer bigint)
	RETURNS TABLE (cash @extschema@.amount, vouchers @extschema@.amount, held @extschema@.amount,
				   available @extschema@.amount)
	LANGUAGE plpgsql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	RETURN QUERY
	SELECT w.cash, w.vouchers, w.held, w.cash + w.vouchers - w.held
	FROM @extschema@.wallet w WHERE w.customer_id = customer;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown customer: %', customer USING ERRCODE = 'no_data_found';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.wallet(bigint) IS 'A customer''s cash, vouchers, held (active holds) and available = cash + vouchers - held (R-RCH-4)';

CREATE FUNCTION @extschema@.record_invoice(customer bigint, amt @extschema@.amount, at timestamptz DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := @extschema@.api_time(at);
	w @extschema@.wallet;
	id bigint;
BEGIN
	w := @extschema@.lock_wallet(customer);
	t := @extschema@.customer_time(at, customer);
	PERFORM @extschema@.check_amount(amt, @extschema@.currency(w.cash), 'invoiced amount');
	INSERT INTO @extschema@.invoice (customer_id, amount, at) VALUES (customer, amt, t) RETURNING invoice_id INTO id;
	UPDATE @extschema@.wallet SET invoiced = invoiced + amt WHERE customer_id = customer;
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.record_invoice(bigint, @extschema@.amount, timestamptz) IS 'Record an amount invoiced to a customer; invoiced money is not refundable (R-REF-1)';
