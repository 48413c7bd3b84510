/*
 * 85_refund.sql — a customer's refund (withdrawal) of unused recharges
 * (R-REF-1, R-REF-2).
 *
 * Refundable = real recharges - used (cash and vouchers) - invoiced - what
 * earlier refunds paid or forfeited, at least 0, at most cash.  It leaves
 * through the original channels, newest recharge first; the account is
 * emptied: the rest of the cash goes to the platform (forfeit), remaining
 * vouchers are forfeited to voucher breakage.  The payout is due within 7
 * working days (Mon-Fri, billing time zone).
 *
 * Map (scripts/file-map.pl):
 * API: request_refund.
 * Internals: refundable, reverses_used, used_kind.
 * Tables: refund, refund_part.
 * Uses: 1_types, 2_base, 3_ledger.
 */

CREATE TABLE @extschema@.refund (
	refund_id	bigint PRIMARY KEY,
	customer_id	bigint NOT NULL,
	amount		@extschema@.amount NOT NULL,			/* paid out */
	forfeited_cash @extschema@.amount NOT NULL,
	forfeited_vouchers @extschema@.amount NOT NULL,
	at			timestamptz NOT NULL,
	due_at		timestamptz NOT NULL				/* payout due by */
);
CREATE INDEX refund_customer_idx ON @extschema@.refund (customer_id);
COMMENT ON TABLE @extschema@.refund IS 'A customer''s refund: paid out, forfeited, payout due (R-REF-2), append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.refund', '');

CREATE TABLE @extschema@.refund_part (
	refund_id	bigint NOT NULL,
	recharge_id	bigint NOT NULL,
	customer_id	bigint NOT NULL,
	channel		text NOT NULL,
	amount		@extschema@.amount NOT NULL CHECK (@extschema@.micros(amount) > 0),
	PRIMARY KEY (refund_id, recharge_id)
);
COMMENT ON TABLE @extschema@.refund_part IS 'The part of a refund paid back through the channel of one recharge (newest first), append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.refund_part', '');

SELECT @extschema@.make_append_only('@extschema@.refund');
SELECT @extschema@.make_append_only('@extschema@.refund_part');


-- R-REF-1: the kinds of transfer that use a customer's money (what is used is not refundable)
CREATE FUNCTION @extschema@.used_kind(kind text) RETURNS boolean
	LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$ SELECT kind IN ('income', 'fee', 'voucher_spend', 'storage', 'charge') $$;
COMMENT ON FUNCTION @extschema@.used_kind(text) IS 'R-REF-1: whether a transfer of this kind uses the customer''s money (not refundable): charges, fees, vouchers spent, storage';

-- a reversal gives back what its original used: whether the original was of a used kind
CREATE FUNCTION @extschema@.reverses_used(original bigint) RETURNS boolean
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$ SELECT @extschema@.used_kind(v.kind) FROM @extschema@.reversal v WHERE v.reverses = original $$;	/* the original's kind, kept with the reversal */
COMMENT ON FUNCTION @extschema@.reverses_used(bigint) IS 'Whether the transfer a reversal reverses used the customer''s money (R-REF-1)';

-- R-REF-1: what a customer may have refunded now (wallet locked by the caller)
CREATE FUNCTION @extschema@.refundable(w @extschema@.wallet) RETURNS @extschema@.amount
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	z @extschema@.amount := @extschema@.zero(@extschema@.currency(w.cash));
	used @extschema@.amount;
	before @extschema@.amount;
	r @extschema@.amount;
	since timestamptz := @extschema@.closed_until();	/* the closed months come from their roll-up (issue 14) */
BEGIN
	SELECT coalesce(@extschema@.sum(k.used), z) INTO used
	FROM @extschema@.customer_month k WHERE k.customer_id = w.customer_id AND since IS NOT NULL;
	SELECT used + coalesce(@extschema@.sum(CASE WHEN x.reverses IS NULL THEN x.amount ELSE -x.amount END), z) INTO used
	FROM @extschema@.transfer x
	WHERE x.customer_id = w.customer_id AND x.at >= coalesce(since, '-infinity')
	  AND CASE WHEN x.reverses IS NULL THEN @extschema@.used_kind(x.kind) ELSE @extschema@.reverses_used(x.reverses) END
	  AND (x.debit_account IN (w.cash_account, w.voucher_account) OR x.credit_account IN (w.cash_account, w.voucher_account));
	SELECT coalesce(@extschema@.sum(f.amount + f.forfeited_cash), z) INTO before
	FROM @extschema@.refund f WHERE f.customer_id = w.customer_id;
	r := w.recharged - used - w.invoiced - before;
	RETURN LEAST(GREATEST(r, z), GREATEST(w.cash, z));
END
$$;
COMMENT ON FUNCTION @extschema@.refundable(@extschema@.wallet) IS 'Real recharges - used (cash and vouchers) - invoiced - earlier refunds, between 0 and cash (R-REF-1)';

CREATE FUNCTION @extschema@.request_refund(customer bigint, at timestamptz DEFAULT NULL, request_id text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := @extschema@.api_time(at);
	w @extschema@.wallet;
	r record;
	cur text;
	z @extschema@.amount;
	amt @extschema@.amount;
	rest @extschema@.amount;
	part @extschema@.amount;
	forfeit_cash @extschema@.amount;
	rc record;
	due timestamptz;
	legs @extschema@.leg[] := '{}';
BEGIN
	w := @extschema@.lock_wallet(customer);
	t := @extschema@.customer_time(at, customer);
	cur := @extschema@.currency(w.cash);
	z := @extschema@.zero(cur);
	r := @extschema@.begin_request('request_refund', request_id, customer, NULL,
								   pg_catalog.jsonb_build_object('customer', customer), t);
	IF r.done THEN
		RETURN r.id;
	END IF;
	IF @extschema@.micros(w.recharged) = 0 THEN
		RAISE EXCEPTION 'customer % has never recharged: there is nothing to refund', customer USING ERRCODE = 'GB004';
	END IF;
	IF EXISTS (SELECT FROM @extschema@.instance i WHERE i.customer_id = customer AND i.state = 'running') THEN
		RAISE EXCEPTION 'customer % has running instances', customer USING ERRCODE = 'GB004',
			HINT = 'Stop or release them first: a refund empties the account.';
	END IF;
	IF w.hold_expiry <= t OR w.voucher_expiry <= t THEN	/* rarely: no call on the hot path */
		w := @extschema@.refresh_wallet(w, t);
	END IF;
	IF @extschema@.micros(w.held) > 0 THEN
		RAISE EXCEPTION 'customer % has % held', customer, w.held USING ERRCODE = 'GB004',
			HINT = 'Release or capture the holds first: a refund empties the account.';
	END IF;
	IF @extschema@.micros(w.cash) < 0 THEN
		RAISE EXCEPTION 'customer % is in arrears (cash %)', customer, w.cash USING ERRCODE = 'GB004';
	END IF;

	amt := @extschema@.refundable(w);
	IF @extschema@.micros(amt) = 0 THEN
		/* R-REF-2: consumption used up the recharges: no refund, and the balance stays usable */
		RAISE EXCEPTION 'nothing is refundable to customer %', customer USING ERRCODE = 'GB001',
			DETAIL = pg_catalog.format('Recharged %s, invoiced %s, refunded before %s; consumption has used up the rest. Cash %s and vouchers %s stay usable.',
				w.recharged, w.invoiced,
				coalesce((SELECT @extschema@.sum(f.amount + f.forfeited_cash) FROM @extschema@.refund f WHERE f.customer_id = customer), z),
				w.cash, w.vouchers);
	END IF;
	forfeit_cash := w.cash - amt;
	due := @extschema@.add_working_days(t, 7);
	INSERT INTO @extschema@.refund (refund_id, customer_id, amount, forfeited_cash, forfeited_vouchers, at, due_at)
	VALUES (r.id, customer, amt, forfeit_cash, w.vouchers, t, due);

	/* R-REF-2: out through the original channels, newest recharge first */
	rest := amt;
	FOR rc IN SELECT k.recharge_id, k.channel,
					 k.amount - coalesce((SELECT @extschema@.sum(p.amount) FROM @extschema@.refund_part p
										  WHERE p.recharge_id = k.recharge_id), z) AS open
			  FROM @extschema@.recharge k WHERE k.customer_id = customer
			  ORDER BY k.at DESC, k.recharge_id DESC LOOP
		EXIT WHEN @extschema@.micros(rest) <= 0;
		CONTINUE WHEN @extschema@.micros(rc.open) <= 0;
		part := LEAST(rest, rc.open);
		INSERT INTO @extschema@.refund_part (refund_id, recharge_id, customer_id, channel, amount)
		VALUES (r.id, rc.recharge_id, customer, rc.channel, part);
		legs := legs || @extschema@.leg(customer, NULL, t, 'refund', w.cash_account,
										@extschema@.account_of('world', 0, 'payouts', cur), part,
										'refund', r.id, request_id, rc.channel || ' recharge ' || rc.recharge_id);
		rest := rest - part;
	END LOOP;
	/* what is left is forfeited: the account is empty */
	PERFORM @extschema@.post_transfers(legs || ARRAY[
		@extschema@.leg(customer, NULL, t, 'forfeit', w.cash_account, @extschema@.account_of('platform', 0, 'forfeit', cur),
						forfeit_cash, 'refund', r.id),
		@extschema@.leg(customer, NULL, t, 'forfeit', w.voucher_account,
						@extschema@.account_of('platform', 0, 'voucher_breakage', cur), w.vouchers, 'refund', r.id)]);
	PERFORM @extschema@.drop_vouchers(customer);
	INSERT INTO @extschema@.lifecycle_event (kind, customer_id, subject_type, subject_id, due_at, created_at)
	VALUES ('personal_data_erase_due', customer, 'refund', r.id, t, t),
		   ('payout_due', customer, 'refund', r.id, due, t);
	RETURN r.id;
END
$$;
COMMENT ON FUNCTION @extschema@.request_refund(bigint, timestamptz, text) IS 'Refund what is refundable through the original channels (newest recharge first), forfeit the rest and the vouchers, empty the account; payout due in 7 working days (R-REF-1, R-REF-2)';
