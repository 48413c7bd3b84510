/*
 * 30_contract_clock.sql — what tick does for contracts (R-EXC-1, R-EXC-5),
 * termination, and the receivables view.
 *
 * Contracts are few next to instances (a payment a month each), so tick
 * handles them one payment at a time, each under its customer's wallet
 * lock, in time order; everything it does is state-based (a row paid is no
 * longer due), so a re-run does nothing twice.
 *
 * Map (scripts/file-map.pl):
 * API: contract_receivables, record_payment_initiated, terminate_contract.
 * Internals: run_contracts.
 * Uses: 1_types, 2_base, 3_ledger, 4_parties.
 */

CREATE FUNCTION @extschema@.run_contracts(t timestamptz, OUT started integer, OUT collected integer,
										   OUT late integer, OUT completed integer)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	fee_rate numeric := (@extschema@.exchange_settings()).reservation_fee_rate;
	charge_fee boolean := (@extschema@.exchange_settings()).reservation_fee_on_late;
	revoke boolean := (@extschema@.exchange_settings()).revoke_approval_on_late;
	x record;
	c @extschema@.contract;
	r @extschema@.contract_payment;
	w @extschema@.wallet;
	amt @extschema@.amount;
	paid_at timestamptz;
	fee bigint;
BEGIN
	started := 0; collected := 0; late := 0; completed := 0;
	/* the wallets of the customers with contract work due are locked by tick, up front (contract_work) */

	/* R-EXC-1: at the term start a prefunded customer's held initial payment is captured */
	FOR x IN SELECT k.contract_id FROM @extschema@.contract k
			 WHERE k.state = 'pending' AND pg_catalog.lower(k.term) <= t AND k.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
			 ORDER BY pg_catalog.lower(k.term), k.contract_id LOOP
		c := @extschema@.lock_contract(x.contract_id);
		CONTINUE WHEN c.state <> 'pending';
		IF c.hold_id IS NOT NULL THEN
			SELECT * INTO r FROM @extschema@.contract_payment p WHERE p.contract_id = c.contract_id AND p.seq = 1;
			PERFORM @extschema@.end_hold(c.hold_id, c.customer_id, 'capture', r.customer_pays, pg_catalog.lower(c.term), NULL);
			SELECT * INTO w FROM @extschema@.wallet k WHERE k.customer_id = c.customer_id;
			PERFORM @extschema@.pay_row(c, r, w.cash_account, pg_catalog.lower(c.term));
		ELSIF EXISTS (SELECT FROM @extschema@.contract_payment p
					  WHERE p.contract_id = c.contract_id AND p.seq = 1 AND p.paid_at IS NULL AND p.cancelled_at IS NULL) THEN
			CONTINUE;	/* R-EXC-1: delivery follows payment — pending until the first payment is made; the term does not move */
		END IF;
		UPDATE @extschema@.contract k SET state = 'active', last_event_at = GREATEST(k.last_event_at, pg_catalog.lower(k.term))
		WHERE k.contract_id = c.contract_id;
		started := started + 1;
	END LOOP;

	/*
	 * R-EXC-1: payments due of customers who are not approved are taken from
	 * their wallet, only in full, as soon as it covers them (at the due time,
	 * or when the wallet last moved after it); a reservation fee owed first.
	 */
	FOR x IN SELECT 'fee' AS what, f.contract_id, f.fee_id AS id, f.charged_at AS due_at, f.amount, f.customer_id
			 FROM @extschema@.contract_fee f WHERE f.paid_at IS NULL AND f.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
			 UNION ALL
			 SELECT 'payment', p.contract_id, p.seq, p.due_at, p.customer_pays, p.customer_id
			 FROM @extschema@.contract_payment p
			 JOIN @extschema@.contract k ON k.contract_id = p.contract_id AND k.state IN ('active', 'late', 'resold')
			 JOIN @extschema@.customer u ON u.customer_id = p.customer_id AND NOT u.approved
			 WHERE p.paid_at IS NULL AND p.cancelled_at IS NULL AND (p.due_at <= t OR p.late_at IS NOT NULL)
			   AND p.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
			 ORDER BY customer_id, due_at, contract_id, id LOOP
		c := @extschema@.lock_contract(x.contract_id);
		SELECT * INTO w FROM @extschema@.wallet k WHERE k.customer_id = c.customer_id;
		amt := x.amount;
		/* R-EXC-1: a contract payment is taken in cash, in full */
		CONTINUE WHEN NOT @extschema@.funds_cover(w.cash, w.vouchers, w.held, w.cash_held, amt, amt);
		paid_at := LEAST(t, GREATEST(x.due_at, w.updated_at));
		IF x.what = 'fee' THEN
			CONTINUE WHEN (SELECT f.paid_at FROM @extschema@.contract_fee f WHERE f.fee_id = x.id) IS NOT NULL;
			PERFORM @extschema@.pay_fee(c, x.id, w.cash_account, paid_at, NULL);
		ELSE
			SELECT * INTO r FROM @extschema@.contract_payment p WHERE p.contract_id = x.contract_id AND p.seq = x.id;
			CONTINUE WHEN r.paid_at IS NOT NULL OR r.cancelled_at IS NOT NULL;
			/* R-EXC-1, R-EXC-3: strictly in schedule order — not while an earlier payment is unpaid */
			CONTINUE WHEN EXISTS (SELECT FROM @extschema@.contract_payment e
								  WHERE e.contract_id = x.contract_id AND e.seq < x.id AND e.paid_at IS NULL AND e.cancelled_at IS NULL);
			PERFORM @extschema@.pay_row(c, r, w.cash_account, paid_at);
		END IF;
		collected := collected + 1;
	END LOOP;

	/*
	 * R-EXC-5: a payment unpaid at the end of its grace is late: the contract
	 * is late until it is paid, a reservation fee is charged (from the wallet
	 * if it covers it in full, else owed) and the customer's approval revoked.
	 */
	FOR x IN SELECT p.contract_id, p.seq, p.late_from FROM @extschema@.contract_payment p
			 JOIN @extschema@.contract k ON k.contract_id = p.contract_id AND k.state IN ('pending', 'active', 'late')
			 WHERE p.paid_at IS NULL AND p.cancelled_at IS NULL AND p.late_at IS NULL AND p.late_from <= t
			   AND p.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
			 ORDER BY p.late_from, p.contract_id, p.seq LOOP
		c := @extschema@.lock_contract(x.contract_id);
		UPDATE @extschema@.contract_payment p SET late_at = x.late_from WHERE p.contract_id = x.contract_id AND p.seq = x.seq;
		UPDATE @extschema@.contract k SET state = 'late', last_event_at = GREATEST(k.last_event_at, x.late_from)
		WHERE k.contract_id = c.contract_id AND k.state <> 'late';
		/* R-EXC-5: the reservation fee at most once per contract, at its first late payment */
		IF charge_fee AND NOT EXISTS (SELECT FROM @extschema@.contract_fee f WHERE f.contract_id = c.contract_id) THEN
			amt := @extschema@.amount(pg_catalog.round(@extschema@.micros(c.total)::numeric * fee_rate / 1000000, 2),
									  @extschema@.currency(c.total));
			IF @extschema@.micros(amt) > 0 THEN
				INSERT INTO @extschema@.contract_fee (contract_id, customer_id, seq, amount, charged_at)
				VALUES (c.contract_id, c.customer_id, x.seq, amt, x.late_from)
				RETURNING fee_id INTO fee;
				SELECT * INTO w FROM @extschema@.wallet k WHERE k.customer_id = c.customer_id;
				IF @extschema@.funds_cover(w.cash, w.vouchers, w.held, w.cash_held, amt, amt) THEN
					PERFORM @extschema@.pay_fee(c, fee, w.cash_account, x.late_from, NULL);
				END IF;
			END IF;
		END IF;
		IF revoke THEN
			UPDATE @extschema@.customer k SET approved = false WHERE k.customer_id = c.customer_id AND k.approved;
		END IF;
		late := late + 1;
	END LOOP;

	/* R-EXC-1: a contract whose term is over and fully paid is completed */
	WITH done AS (
		UPDATE @extschema@.contract k SET state = 'completed', ended_at = pg_catalog.upper(k.term), end_reason = 'completed',
			last_event_at = GREATEST(k.last_event_at, pg_catalog.upper(k.term))
		WHERE k.state = 'active' AND pg_catalog.upper(k.term) <= t AND k.resold_to IS NULL AND k.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
		  AND NOT EXISTS (SELECT FROM @extschema@.contract_payment p
						  WHERE p.contract_id = k.contract_id AND p.paid_at IS NULL AND p.cancelled_at IS NULL)
		RETURNING 1
	)
	SELECT pg_catalog.count(*) INTO completed FROM done;
END
$$;
COMMENT ON FUNCTION @extschema@.run_contracts(timestamptz) IS 'Tick''s contract work up to t: terms that start, payments taken from wallets, late payments and their fees, completions (R-EXC-1, R-EXC-5)';

/*
 * R-EXC-8: terminate a contract.  non_payment, only while a payment is late:
 * nothing more falls due and the provider keeps the unapplied deposit as a
 * cancellation fee, less commission (R-EXC-5).  provider (the listing
 * removed, modified or suspended, or the provider's access ended): the
 * customer is not charged for compute not delivered — what it paid for the
 * time from t on (each paid row pro rata by the second, rounded to cents)
 * and the unapplied deposit go back to its cash; the provider's wallet
 * gives back what it received for that time net of the commission, the
 * exchange returns the commission; what the wallet cannot cover the
 * platform advances and recovers from the provider's next receipts (an
 * offset, R-EXC-9).  Locks: the provider, then the wallet and the contract.
 */
CREATE FUNCTION @extschema@.terminate_contract(contract bigint, reason text, at timestamptz DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	provider bigint := (SELECT k.provider_id FROM @extschema@.contract k WHERE k.contract_id = contract);
	c @extschema@.contract;
	t timestamptz;
	cur text;
	z @extschema@.amount;
	cash_account bigint;
	exchange_account bigint;
	commission_account bigint;
	receivable bigint;
	back @extschema@.amount;		/* what the provider's wallet gives back */
	comm @extschema@.amount;		/* what the exchange gives back of its commission */
	available @extschema@.amount;
	short @extschema@.amount;
	legs @extschema@.leg[];
	refunded @extschema@.amount;
	x record;
BEGIN
	IF reason IS NULL OR reason NOT IN ('non_payment', 'provider') THEN
		RAISE EXCEPTION 'invalid termination reason: %', coalesce(reason, 'NULL') USING ERRCODE = 'invalid_parameter_value',
			HINT = 'A contract is terminated for non_payment or by the provider.';
	END IF;
	IF provider IS NOT NULL THEN
		PERFORM @extschema@.lock_partner(provider);
	END IF;
	c := @extschema@.lock_contract(contract);
	t := @extschema@.call_time(at, c.last_event_at, 'contract ' || contract);
	cur := @extschema@.currency(c.total);
	z := @extschema@.zero(cur);
	PERFORM @extschema@.refuse_resale_pending(c);
	IF c.state NOT IN ('active', 'late') THEN
		RAISE EXCEPTION 'contract % is %', contract, c.state USING ERRCODE = 'GB004',
			HINT = 'Only an active or late contract is terminated.';
	END IF;
	IF reason = 'non_payment' AND NOT EXISTS (SELECT FROM @extschema@.contract_payment p
											  WHERE p.contract_id = contract AND p.paid_at IS NULL AND p.cancelled_at IS NULL
												AND (p.late_at IS NOT NULL OR p.late_from <= t)) THEN
		RAISE EXCEPTION 'contract % has no late payment: it is not terminated for non-payment', contract USING ERRCODE = 'GB004';
	END IF;
	/* nothing more falls due */
	UPDATE @extschema@.contract_payment p SET cancelled_at = t
	WHERE p.contract_id = contract AND p.paid_at IS NULL AND p.cancelled_at IS NULL;
	IF reason = 'non_payment' THEN
		/* R-EXC-5: the provider keeps the unapplied deposit as a cancellation fee */
		IF @extschema@.micros(c.deposit_left) > 0 THEN
			PERFORM @extschema@.receive(c, NULL, 'cancellation_fee', c.deposit_left,
										@extschema@.account_of('customer', c.customer_id, 'deposit', cur), t);
		END IF;
	ELSE
		cash_account := (SELECT w.cash_account FROM @extschema@.wallet w WHERE w.customer_id = c.customer_id);
		exchange_account := @extschema@.account_of('partner', c.provider_id, 'exchange', cur);
		commission_account := @extschema@.account_of('platform', 0, 'commission', cur);
		receivable := @extschema@.account_of('platform', 0, 'receivable', cur);
		/* the unapplied deposit goes back to the customer's cash */
		legs := ARRAY[@extschema@.leg(c.customer_id, NULL, t, 'refund', @extschema@.account_of('customer', c.customer_id, 'deposit', cur),
									  cash_account, c.deposit_left, 'contract', contract, NULL,
									  'unapplied deposit returned: terminated by the provider')];
		/* what the provider received for time from t on, per receipt of a paid row, pro rata by the second */
		back := z; comm := z;
		FOR x IN SELECT r.gross, r.rate,
						@extschema@.round(r.gross * (EXTRACT(epoch FROM pg_catalog.upper(p.covers) - GREATEST(pg_catalog.lower(p.covers), t))
													 / EXTRACT(epoch FROM pg_catalog.upper(p.covers) - pg_catalog.lower(p.covers)))::numeric, 2) AS undelivered
				 FROM @extschema@.contract_payment p
				 JOIN @extschema@.contract_receipt r ON r.contract_id = p.contract_id AND r.seq = p.seq AND r.kind IN ('payment', 'deposit')
				 WHERE p.contract_id = contract AND p.paid_at IS NOT NULL AND pg_catalog.upper(p.covers) > t LOOP
			CONTINUE WHEN @extschema@.micros(x.undelivered) <= 0;
			comm := comm + @extschema@.amount(pg_catalog.round(@extschema@.micros(x.undelivered)::numeric * x.rate / 1000000, 2), cur);
			back := back + x.undelivered;
		END LOOP;
		back := back - comm;
		refunded := back + comm;
		IF @extschema@.micros(refunded) > 0 THEN
			/* the wallet covers what it can; the platform advances the rest and recovers it from the next receipts */
			available := GREATEST((SELECT w.balance FROM @extschema@.provider_wallet(c.provider_id) w), z);
			short := GREATEST(back - available, z);
			legs := legs
				|| @extschema@.leg(c.customer_id, NULL, t, 'refund', exchange_account, cash_account, back - short, 'contract', contract,
								   NULL, 'compute not delivered, given back by the provider')
				|| @extschema@.leg(c.customer_id, NULL, t, 'refund', receivable, cash_account, short, 'contract', contract, NULL,
								   'compute not delivered, advanced by the platform: recovered from the provider''s next receipts')
				|| @extschema@.leg(c.customer_id, NULL, t, 'refund', commission_account, cash_account, comm, 'contract', contract,
								   NULL, 'commission on compute not delivered, returned by the exchange');
			IF @extschema@.micros(short) > 0 THEN
				INSERT INTO @extschema@.provider_offset (offset_id, provider_id, amount, recovered, reason, at)
				VALUES (pg_catalog.nextval('@extschema@.id_seq'), c.provider_id, short, z,
						pg_catalog.format('refund of contract %s terminated by the provider beyond its wallet', contract), t);
			END IF;
		END IF;
		PERFORM @extschema@.post_transfers(legs);
	END IF;
	UPDATE @extschema@.contract k
	SET state = 'terminated', deposit_left = z, ended_at = t, end_reason = reason, last_event_at = t
	WHERE k.contract_id = contract;
END
$$;
COMMENT ON FUNCTION @extschema@.terminate_contract(bigint, text, timestamptz) IS 'Terminate a contract: for non_payment (a payment late) the provider keeps the unapplied deposit less commission; by the provider the customer gets back what it paid for time not delivered and the unapplied deposit (R-EXC-5, R-EXC-8)';

CREATE VIEW @extschema@.contract_receivables AS
SELECT p.contract_id AS contract, p.seq, p.customer_id AS customer, p.kind, p.due_at, p.covers, p.customer_pays,
	   CASE WHEN p.paid_at IS NOT NULL THEN p.customer_pays ELSE @extschema@.zero(@extschema@.currency(p.customer_pays)) END AS paid,
	   p.from_deposit, p.paid_at, p.late_from,
	   p.paid_at IS NULL AND p.cancelled_at IS NULL AND p.late_at IS NOT NULL AS overdue,
	   p.cancelled_at IS NOT NULL AS cancelled
FROM @extschema@.contract_payment p
UNION ALL
SELECT f.contract_id, f.seq, f.customer_id, 'reservation_fee', f.charged_at, NULL, f.amount,
	   CASE WHEN f.paid_at IS NOT NULL THEN f.amount ELSE @extschema@.zero(@extschema@.currency(f.amount)) END,
	   @extschema@.zero(@extschema@.currency(f.amount)), f.paid_at, f.charged_at, f.paid_at IS NULL, false
FROM @extschema@.contract_fee f;
COMMENT ON VIEW @extschema@.contract_receivables IS 'One row per payment a contract''s customer owes: its schedule rows (due time, what it pays, paid, overdue = unpaid and found late by tick after its grace) and reservation fees (overdue while owed)';

/*
 * R-EXC-5: an approved customer shows it initiated its oldest unpaid
 * payment before that payment is late: the lateness is deferred by
 * payment_evidence_grace_business_days (3) business days, once per payment.
 */
CREATE FUNCTION @extschema@.record_payment_initiated(contract bigint, evidence text, at timestamptz DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	c @extschema@.contract := @extschema@.lock_contract(contract);
	t timestamptz := @extschema@.call_time(at, c.last_event_at, 'contract ' || contract);
	tz text := @extschema@.billing_timezone();
	p @extschema@.contract_payment;
BEGIN
	IF evidence IS NULL OR evidence = '' THEN
		RAISE EXCEPTION 'a payment initiation needs its evidence' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.check_text(evidence, 'evidence', 1000);
	IF NOT (SELECT k.approved FROM @extschema@.customer k WHERE k.customer_id = c.customer_id) THEN
		RAISE EXCEPTION 'customer % is not approved: its payments are taken from its wallet', c.customer_id USING ERRCODE = 'GB004';
	END IF;
	SELECT * INTO p FROM @extschema@.contract_payment k
	WHERE k.contract_id = contract AND k.paid_at IS NULL AND k.cancelled_at IS NULL ORDER BY k.seq LIMIT 1 FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'contract % has no unpaid payment', contract USING ERRCODE = 'GB004';
	END IF;
	IF p.late_at IS NOT NULL OR p.late_from <= t THEN
		RAISE EXCEPTION 'payment % of contract % is late since %: too late to defer it', p.seq, contract, p.late_from
			USING ERRCODE = 'GB004';
	END IF;
	IF p.evidence IS NOT NULL THEN
		RAISE EXCEPTION 'payment % of contract % was already shown initiated at %', p.seq, contract, p.evidence_at
			USING ERRCODE = 'GB004';
	END IF;
	/* 00:00 after the payment_evidence_grace_business_days-th business day after its last day of grace */
	UPDATE @extschema@.contract_payment k
	SET evidence = record_payment_initiated.evidence, evidence_at = t,
		late_from = (pg_catalog.date_trunc('day', @extschema@.add_working_days(k.late_from - interval '1 day',
						(@extschema@.exchange_settings()).payment_evidence_grace_business_days) AT TIME ZONE tz)
					 + interval '1 day') AT TIME ZONE tz
	WHERE k.contract_id = contract AND k.seq = p.seq;
	UPDATE @extschema@.contract k SET last_event_at = GREATEST(k.last_event_at, t) WHERE k.contract_id = contract;
END
$$;
COMMENT ON FUNCTION @extschema@.record_payment_initiated(bigint, text, timestamptz) IS 'An approved customer records that it initiated its oldest unpaid payment: its lateness is deferred by payment_evidence_grace_business_days, once (R-EXC-5)';
