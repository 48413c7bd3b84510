/*
 * 60_reversal.sql — corrections are new, reversing transfers (R-LED-4).
 *
 * Map (scripts/file-map.pl):
 * API: reverse_transfer.
 * Tables: reversal.
 * Uses: 1_types, 2_base.
 */

CREATE FUNCTION @extschema@.reverse_transfer(transfer bigint, reason text, at timestamptz DEFAULT NULL,
											  request_id text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := @extschema@.api_time(at);
	x @extschema@.transfer;
	w @extschema@.wallet;
	r record;
	dcash @extschema@.amount;
	dvoucher @extschema@.amount;
BEGIN
	IF NOT @extschema@.is_admin() THEN
		RAISE EXCEPTION 'transfers may be reversed only by gpubill_admin' USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF reason IS NULL OR reason = '' THEN
		RAISE EXCEPTION 'a reversal needs a reason' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.check_text(reason, 'reason', 1000);
	SELECT * INTO x FROM @extschema@.transfer k WHERE k.transfer_id = transfer;
	IF NOT FOUND THEN
		IF EXISTS (SELECT FROM @extschema@.archived_month) THEN
			RAISE EXCEPTION 'unknown transfer: %', transfer USING ERRCODE = 'no_data_found',
				HINT = 'The transfers of archived months are not in the database.';
		END IF;
		RAISE EXCEPTION 'unknown transfer: %', transfer USING ERRCODE = 'no_data_found';
	END IF;
	IF x.customer_id IS NOT NULL THEN
		w := @extschema@.lock_wallet(x.customer_id);
	END IF;
	r := @extschema@.begin_request('reverse_transfer', request_id, x.customer_id, x.partner_id,
								   pg_catalog.jsonb_build_object('transfer', transfer, 'reason', reason), t);
	IF r.done THEN
		RETURN r.id;
	END IF;
	IF x.reverses IS NOT NULL THEN
		RAISE EXCEPTION 'transfer % is itself a reversal', transfer USING ERRCODE = 'GB004';
	END IF;
	IF EXISTS (SELECT FROM @extschema@.reversal k WHERE k.reverses = transfer) THEN
		RAISE EXCEPTION 'transfer % has already been reversed', transfer USING ERRCODE = 'GB004';
	END IF;
	IF x.customer_id IS NOT NULL THEN
		/* what the reversal does to the customer's cached balances */
		dcash := @extschema@.zero(@extschema@.currency(x.amount));
		dvoucher := dcash;
		IF x.debit_account = w.cash_account THEN dcash := x.amount; END IF;
		IF x.credit_account = w.cash_account THEN dcash := -x.amount; END IF;
		IF x.debit_account = w.voucher_account THEN dvoucher := x.amount; END IF;
		IF x.credit_account = w.voucher_account THEN dvoucher := -x.amount; END IF;
		IF @extschema@.micros(w.cash + dcash + w.vouchers + dvoucher - w.held) < 0
		   OR @extschema@.micros(w.vouchers + dvoucher) < 0 THEN
			RAISE EXCEPTION 'insufficient funds to reverse transfer %', transfer USING ERRCODE = 'GB001';
		END IF;
	END IF;
	INSERT INTO @extschema@.reversal (reverses, transfer_id, customer_id, partner_id, at, kind, amount)
	VALUES (transfer, r.id, x.customer_id, x.partner_id, t, x.kind, x.amount);
	PERFORM @extschema@.post_transfers(ARRAY[ROW(r.id, x.customer_id, x.partner_id, t, 'reversal', x.credit_account, x.debit_account,
			x.amount, x.object_type, x.object_id, request_id, transfer, reason)::@extschema@.leg]);
	IF x.customer_id IS NOT NULL THEN
		IF x.kind = 'recharge' THEN
			UPDATE @extschema@.wallet k SET recharged = k.recharged - x.amount WHERE k.customer_id = x.customer_id;
		END IF;
		/* vouchers taken back are spent earliest expiry first; vouchers given back never expire */
		IF @extschema@.micros(dvoucher) < 0 THEN
			PERFORM @extschema@.spend_vouchers(x.customer_id, -dvoucher);
		ELSIF @extschema@.micros(dvoucher) > 0 THEN
			INSERT INTO @extschema@.voucher_left (voucher_id, customer_id, expires_at, amount)
			VALUES (r.id, x.customer_id, NULL, dvoucher);
		END IF;
	END IF;
	RETURN r.id;
END
$$;
COMMENT ON FUNCTION @extschema@.reverse_transfer(bigint, text, timestamptz, text) IS 'Correct a transfer with a new transfer in the opposite direction that references it; once per transfer; gpubill_admin only (R-LED-4)';
CREATE INDEX transfer_reverses_idx ON @extschema@.transfer_default (reverses) WHERE reverses IS NOT NULL;

/*
 * A transfer is reversed once: the journal is partitioned by month, so a
 * unique index on it could not see a second reversal in another month; this
 * table's key does (and stops two reversals racing for a partner's transfer,
 * which no wallet lock orders).
 */
CREATE TABLE @extschema@.reversal (
	reverses	bigint PRIMARY KEY,		/* the transfer reversed */
	transfer_id	bigint NOT NULL,		/* the reversing transfer */
	customer_id	bigint,					/* the party keys of the transfer reversed */
	partner_id	bigint,
	at			timestamptz NOT NULL,
	kind		text NOT NULL,			/* the kind and amount of the transfer reversed: the wallets' */
	amount		@extschema@.amount NOT NULL	/* recharged is checked without the journal (archived months) */
);
COMMENT ON TABLE @extschema@.reversal IS 'Each transfer reversed, once, and the transfer that reversed it; append-only (R-LED-4)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.reversal', '');
SELECT @extschema@.make_append_only('@extschema@.reversal');
