/*
 * 40_resale.sql — reselling the rest of a contract (R-EXC-6,
 * R-EXC-7).
 *
 * resell_contract takes effect at E, the next calendar-month start (billing
 * time zone) after `at`: the remaining term [E, end) becomes a new contract
 * of the new customer at the new price with its own schedule; the original
 * schedule's payments due from E on are cancelled for the reseller, and the
 * original contract is resold at E.  The provider still receives the
 * original price: what the new customer pays goes to the platform's
 * clearing account, and at the start of each calendar month from E on tick
 * pays the provider that month's original price (less commission) from it.
 * Per month, the new price of the month minus the original one is:
 *   above: paid to the reseller as a premium (less commission);
 *   below: taken from the reseller's unapplied deposit into clearing.
 * At E what is left of the reseller's deposit beyond the differences still
 * to come (and the applications of its payments still unpaid) is refunded to
 * it, less commission.  A resale below the original price that the deposit
 * cannot cover whole is refused (GB004).  A month's original price is that
 * of the original payments due from E on that cover it and are not paid
 * yet: time the reseller already paid for (a contract paid in full, the rest
 * of its initial 31 days, or a payment due from E on that it made early)
 * costs the provider nothing more, so the new customer's payment for it
 * goes to the reseller.  A payment and a resale of one contract serialise
 * on its row: paid first, the month is the reseller's; resold first, the
 * payment finds nothing left to pay (GB004).
 *
 * Map (scripts/file-map.pl):
 * API: resell_contract.
 * Internals: apply_resale, contract_work, pay_reseller, plan_resale,
 *   run_resales.
 * Tables: resale_month.
 * Uses: 1_types, 2_base, 3_ledger.
 */

CREATE TABLE @extschema@.resale_month (
	contract_id	bigint NOT NULL,			/* the resold (original) contract */
	seq			integer NOT NULL,
	reseller_id	bigint NOT NULL,			/* party key: the original customer */
	due_at		timestamptz NOT NULL,		/* the month's start */
	covers		tstzrange NOT NULL,
	original	@extschema@.amount NOT NULL,	/* what the provider receives for it */
	resold		@extschema@.amount NOT NULL,	/* the new contract's price of it */
	done_at		timestamptz,
	PRIMARY KEY (contract_id, seq)
);
CREATE INDEX resale_month_due_idx ON @extschema@.resale_month (due_at) WHERE done_at IS NULL;
COMMENT ON TABLE @extschema@.resale_month IS 'A calendar month of a resold contract''s remaining term: the provider''s original price and the new price; settled by tick at its start';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.resale_month', '');

CREATE FUNCTION @extschema@.resell_contract(contract bigint, new_customer bigint, price_per_gpu_hour @extschema@.amount,
											 at timestamptz DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	c @extschema@.contract;
	t timestamptz;
	new_id bigint;
	months @extschema@.resale_month[];
BEGIN
	/* the one call on two customers: both wallets, in customer order, then the contract */
	PERFORM @extschema@.lock_wallets(ARRAY[(SELECT k.customer_id FROM @extschema@.contract k WHERE k.contract_id = contract),
										   new_customer]);
	c := @extschema@.lock_contract(contract);
	t := @extschema@.call_time(at, c.last_event_at, 'contract ' || contract);
	IF NOT EXISTS (SELECT FROM @extschema@.customer k WHERE k.customer_id = new_customer) THEN
		RAISE EXCEPTION 'unknown customer: %', new_customer USING ERRCODE = 'no_data_found';
	END IF;
	IF c.resold_to IS NOT NULL THEN
		IF (SELECT (n.customer_id, n.price_per_gpu_hour) = (new_customer, resell_contract.price_per_gpu_hour)
			FROM @extschema@.contract n WHERE n.contract_id = c.resold_to) THEN
			RETURN c.resold_to;		/* the same resale again */
		END IF;
		RAISE EXCEPTION 'contract % is already resold (as contract %)', contract, c.resold_to USING ERRCODE = 'GB004';
	END IF;
	months := @extschema@.plan_resale(c, new_customer, price_per_gpu_hour,
									  (SELECT k.currency FROM @extschema@.customer k WHERE k.customer_id = new_customer), t);
	/* the new contract: its customer accepts it now */
	new_id := @extschema@.accept_contract(pg_catalog.nextval('@extschema@.id_seq'), new_customer, c.provider_id, c.gpus,
										  price_per_gpu_hour, pg_catalog.tstzrange(months[1].due_at, pg_catalog.upper(c.term)), t, contract);
	PERFORM @extschema@.apply_resale(c, months, new_id, t);
	RETURN new_id;
END
$$;
COMMENT ON FUNCTION @extschema@.resell_contract(bigint, bigint, @extschema@.amount, timestamptz) IS 'Resell the rest of a contract from the next calendar month on as a new contract; the provider keeps its original price, the reseller gets the difference above it, or funds it below from its deposit (R-EXC-6, R-EXC-7)';

/*
 * The checks of a resale of c (locked) to new_customer at t, and the months
 * of its remaining term from E on: the provider's original price of each and
 * the new one.  buyer_currency NULL: the buyer lives on another partition,
 * which checks it when it accepts (45_resale_steps.sql).
 */
CREATE FUNCTION @extschema@.plan_resale(c @extschema@.contract, new_customer bigint, price_per_gpu_hour @extschema@.amount,
										buyer_currency text, t timestamptz) RETURNS @extschema@.resale_month[]
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	tz text := @extschema@.billing_timezone();
	cur text := @extschema@.currency(c.total);
	z @extschema@.amount := @extschema@.zero(@extschema@.currency(c.total));
	e timestamptz;
	new_hour @extschema@.amount;
	needed @extschema@.amount;
	left_at_e @extschema@.amount;
	months @extschema@.resale_month[];
BEGIN
	IF c.resold_from IS NOT NULL THEN
		RAISE EXCEPTION 'contract % is itself a resale and is not resold again', c.contract_id USING ERRCODE = 'GB004';
	END IF;
	PERFORM @extschema@.refuse_resale_pending(c);
	IF c.state <> 'active' THEN
		RAISE EXCEPTION 'contract % is %: only an active contract is resold', c.contract_id, c.state USING ERRCODE = 'GB004';
	END IF;
	IF new_customer = c.customer_id THEN
		RAISE EXCEPTION 'a contract is resold to another customer' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.check_amount(price_per_gpu_hour, cur, 'price per GPU-hour');
	IF buyer_currency <> cur THEN
		RAISE EXCEPTION 'currency mismatch: contract % is in %, customer % pays in another currency', c.contract_id, cur, new_customer
			USING ERRCODE = 'GB003';
	END IF;
	/* R-EXC-6: effective at the next calendar-month boundary after at */
	e := @extschema@.upper(@extschema@.billing_period('month', t, tz));
	IF e >= pg_catalog.upper(c.term) THEN
		RAISE EXCEPTION 'contract % ends % : nothing is left to resell from %', c.contract_id, pg_catalog.upper(c.term), e
			USING ERRCODE = 'GB004';
	END IF;

	/* the months of the remaining term: the provider's original price, the new one */
	new_hour := price_per_gpu_hour * c.gpus;
	months := ARRAY(
	SELECT ROW(c.contract_id, m.n::integer, c.customer_id, m.b, pg_catalog.tstzrange(m.b, m.nb),
		   coalesce((SELECT @extschema@.sum(p.customer_pays + p.from_deposit) FROM @extschema@.contract_payment p
					 WHERE p.contract_id = c.contract_id AND p.due_at >= e AND p.cancelled_at IS NULL AND p.paid_at IS NULL
					   AND pg_catalog.lower(p.covers) >= m.b AND pg_catalog.lower(p.covers) < m.nb), z),
		   @extschema@.prorate(new_hour, EXTRACT(epoch FROM m.nb - e)::bigint) - @extschema@.prorate(new_hour, EXTRACT(epoch FROM m.b - e)::bigint),
		   NULL)::@extschema@.resale_month
	FROM (SELECT k.n, k.b, LEAST(pg_catalog.upper(c.term), (k.b AT TIME ZONE tz + interval '1 month') AT TIME ZONE tz) AS nb
		  FROM (SELECT g.n, ((e AT TIME ZONE tz) + (g.n - 1) * interval '1 month') AT TIME ZONE tz AS b
				FROM pg_catalog.generate_series(1, 1200) g(n)) k
		  WHERE k.b < pg_catalog.upper(c.term)) m
	ORDER BY m.n);
	/* R-EXC-6: below the original price the reseller's unapplied deposit must cover every difference */
	SELECT coalesce(@extschema@.sum(GREATEST(r.original - r.resold, z)), z) INTO needed FROM pg_catalog.unnest(months) r;
	SELECT c.deposit_left - coalesce(@extschema@.sum(p.from_deposit), z) INTO left_at_e FROM @extschema@.contract_payment p
	WHERE p.contract_id = c.contract_id AND p.due_at < e AND p.paid_at IS NULL AND p.cancelled_at IS NULL;
	IF needed > left_at_e THEN
		RAISE EXCEPTION 'the resale is % below the original price; the unapplied deposit at % is %', needed, e, left_at_e
			USING ERRCODE = 'GB004', HINT = 'A resale below the original price is funded from the reseller''s unapplied deposit.';
	END IF;
	RETURN months;
END
$$;
COMMENT ON FUNCTION @extschema@.plan_resale(@extschema@.contract, bigint, @extschema@.amount, text, timestamptz) IS 'The checks of a resale and the months of the remaining term from the next calendar month on: the original and the new price of each (R-EXC-6, R-EXC-7)';

-- the reseller's side of a resale: its months written, its payments from E on cancelled, the contract resold from E
CREATE FUNCTION @extschema@.apply_resale(c @extschema@.contract, months @extschema@.resale_month[], new_id bigint, t timestamptz)
	RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	INSERT INTO @extschema@.resale_month SELECT * FROM pg_catalog.unnest(months);
	UPDATE @extschema@.contract_payment p SET cancelled_at = t
	WHERE p.contract_id = c.contract_id AND p.due_at >= months[1].due_at AND p.paid_at IS NULL AND p.cancelled_at IS NULL;
	UPDATE @extschema@.contract k
	SET resold_to = new_id, resale_at = months[1].due_at, last_event_at = GREATEST(k.last_event_at, t),
		state = CASE k.state WHEN 'resale_pending' THEN 'active' ELSE k.state END
	WHERE k.contract_id = c.contract_id;
END
$$;
COMMENT ON FUNCTION @extschema@.apply_resale(@extschema@.contract, @extschema@.resale_month[], bigint, timestamptz) IS 'The reseller''s side of a resale: the months written, the original payments from the effective time on cancelled, the contract resold as new_id from then (R-EXC-6)';

-- credit a reseller a receipt (less commission) into its cash
CREATE FUNCTION @extschema@.pay_reseller(c @extschema@.contract, kind text, gross @extschema@.amount, source bigint,
										  t timestamptz) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	w @extschema@.wallet;
BEGIN
	SELECT * INTO w FROM @extschema@.wallet k WHERE k.customer_id = c.customer_id;
	PERFORM @extschema@.receive(c, NULL, kind, gross, source, t, NULL, w.cash_account);
END
$$;
COMMENT ON FUNCTION @extschema@.pay_reseller(@extschema@.contract, text, @extschema@.amount, bigint, timestamptz) IS 'Pay a reseller a premium or a deposit refund into its cash, less commission (R-EXC-6, R-EXC-7)';

-- tick: resales that take effect, and the months of resold contracts that start
CREATE FUNCTION @extschema@.run_resales(t timestamptz, OUT resold integer, OUT months integer)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	x record;
	c @extschema@.contract;
	z @extschema@.amount;
	deposit_account bigint;
	clearing bigint;
	refund @extschema@.amount;
	mo @extschema@.resale_month;
BEGIN
	resold := 0; months := 0;
	/* the resellers' wallets are locked by tick, up front (contract_work) */
	/* R-EXC-6: at E the original contract is resold and the reseller gets back the deposit it no longer needs */
	FOR x IN SELECT k.contract_id FROM @extschema@.contract k
			 WHERE k.resale_at <= t AND k.state IN ('active', 'late') AND k.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
			 ORDER BY k.resale_at, k.contract_id LOOP
		c := @extschema@.lock_contract(x.contract_id);
		z := @extschema@.zero(@extschema@.currency(c.total));
		deposit_account := @extschema@.account_of('customer', c.customer_id, 'deposit', @extschema@.currency(c.total));
		refund := c.deposit_left
				  - coalesce((SELECT @extschema@.sum(p.from_deposit) FROM @extschema@.contract_payment p
							  WHERE p.contract_id = c.contract_id AND p.paid_at IS NULL AND p.cancelled_at IS NULL), z)
				  - coalesce((SELECT @extschema@.sum(GREATEST(m.original - m.resold, z)) FROM @extschema@.resale_month m
							  WHERE m.contract_id = c.contract_id AND m.done_at IS NULL), z);
		IF @extschema@.micros(refund) > 0 THEN
			PERFORM @extschema@.pay_reseller(c, 'reseller_refund', refund, deposit_account, c.resale_at);
			UPDATE @extschema@.contract k SET deposit_left = k.deposit_left - refund WHERE k.contract_id = c.contract_id;
		END IF;
		UPDATE @extschema@.contract k SET state = 'resold', ended_at = k.resale_at, end_reason = 'resold',
			last_event_at = GREATEST(k.last_event_at, k.resale_at)
		WHERE k.contract_id = c.contract_id;
		resold := resold + 1;
	END LOOP;
	/* R-EXC-6, R-EXC-7: each month the provider gets its original price; the difference goes to or comes from the reseller */
	FOR x IN SELECT m.contract_id, m.seq FROM @extschema@.resale_month m
			 WHERE m.done_at IS NULL AND m.due_at <= t AND m.reseller_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
			 ORDER BY m.due_at, m.contract_id, m.seq LOOP
		c := @extschema@.lock_contract(x.contract_id);
		SELECT * INTO STRICT mo FROM @extschema@.resale_month m WHERE m.contract_id = x.contract_id AND m.seq = x.seq;
		CONTINUE WHEN mo.done_at IS NOT NULL;
		clearing := @extschema@.account_of('platform', 0, 'clearing', @extschema@.currency(c.total));
		deposit_account := @extschema@.account_of('customer', c.customer_id, 'deposit', @extschema@.currency(c.total));
		IF mo.original < mo.resold THEN
			PERFORM @extschema@.pay_reseller(c, 'premium', mo.resold - mo.original, clearing, mo.due_at);
		ELSIF mo.original > mo.resold THEN
			PERFORM @extschema@.post_transfers(ARRAY[
				@extschema@.leg(c.customer_id, NULL, mo.due_at, 'payment', deposit_account, clearing, mo.original - mo.resold,
								'contract', c.contract_id, NULL,
								pg_catalog.format('resale difference of month %s from the reseller''s deposit', mo.seq))]);
			UPDATE @extschema@.contract k SET deposit_left = k.deposit_left - (mo.original - mo.resold) WHERE k.contract_id = c.contract_id;
		END IF;
		PERFORM @extschema@.receive(c, NULL, 'payment', mo.original, clearing, mo.due_at);
		UPDATE @extschema@.resale_month m SET done_at = mo.due_at WHERE m.contract_id = x.contract_id AND m.seq = x.seq;
		months := months + 1;
	END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.run_resales(timestamptz) IS 'Tick''s resale work up to t: resales that take effect (deposit refunds) and the months that start (the provider''s original price, premiums, differences) (R-EXC-6, R-EXC-7)';

-- the customers with contract or resale work due by t: tick locks their wallets up front (R-LED-6)
CREATE FUNCTION @extschema@.contract_work(t timestamptz) RETURNS TABLE (customer_id bigint)
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
	SELECT k.customer_id FROM @extschema@.contract k WHERE k.state = 'pending' AND pg_catalog.lower(k.term) <= t
	UNION
	SELECT p.customer_id FROM @extschema@.contract_payment p
	WHERE p.paid_at IS NULL AND p.cancelled_at IS NULL AND p.due_at <= t
	UNION
	SELECT p.customer_id FROM @extschema@.contract_payment p	/* late (an approved customer's first payment: maybe before its due time) */
	WHERE p.paid_at IS NULL AND p.cancelled_at IS NULL AND (p.late_at IS NOT NULL OR p.late_from <= t)
	UNION
	SELECT f.customer_id FROM @extschema@.contract_fee f WHERE f.paid_at IS NULL
	UNION
	SELECT k.customer_id FROM @extschema@.contract k WHERE k.state = 'active' AND pg_catalog.upper(k.term) <= t
	UNION
	SELECT k.customer_id FROM @extschema@.contract k WHERE k.resale_at <= t AND k.state IN ('active', 'late')
	UNION
	SELECT m.reseller_id FROM @extschema@.resale_month m WHERE m.done_at IS NULL AND m.due_at <= t
$$;
COMMENT ON FUNCTION @extschema@.contract_work(timestamptz) IS 'Customers with contract work (starts, payments, late payments, fees, completions) or resale work due by t';
