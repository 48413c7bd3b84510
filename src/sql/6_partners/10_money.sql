/*
 * 10_money.sql — what a partner may withdraw, and withdrawals
 * (R-PRT-2, R-PRT-4).
 *
 * Withdrawable = cash income earned before the current month (billing time
 * zone; order lines' partner income) - deposits held (the deposit account's
 * balance) - withdrawn - compensation deducted; never below 0.  Deposits and
 * withdrawals are partner-keyed transfers; income is summed from order lines
 * (indexed by partner and time), never from one balance row.
 *
 * Map (scripts/file-map.pl):
 * API: request_withdrawal, withdrawable.
 * Internals: partner_money.
 * Tables: withdrawal.
 * Uses: 1_types, 2_base, 3_ledger, 4_parties, 5_customers.
 */

CREATE TABLE @extschema@.withdrawal (
	withdrawal_id bigint PRIMARY KEY,
	partner_id	bigint NOT NULL,
	month		date NOT NULL,				/* calendar month of the request, billing time zone */
	amount		@extschema@.amount NOT NULL CHECK (@extschema@.micros(amount) > 0),
	at			timestamptz NOT NULL,
	due_at		timestamptz NOT NULL,		/* payout due by: 5 working days */
	UNIQUE (partner_id, month)				/* R-PRT-4: at most one per month, whatever the races */
);
COMMENT ON TABLE @extschema@.withdrawal IS 'A partner''s withdrawal of income, at most one per calendar month (R-PRT-4), append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.withdrawal', '');
SELECT @extschema@.make_append_only('@extschema@.withdrawal');

-- the parts of withdrawable as of t (for the API and the statement)
CREATE FUNCTION @extschema@.partner_money(partner bigint, t timestamptz,
										  OUT income @extschema@.amount, OUT deposits @extschema@.amount,
										  OUT withdrawn @extschema@.amount, OUT compensation @extschema@.amount,
										  OUT withdrawable @extschema@.amount)
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	cur text;
	z @extschema@.amount;
	month_start timestamptz;
	deposit_account bigint;
	payouts bigint;
	since timestamptz := @extschema@.closed_until();	/* the closed months come from their roll-up (issue 14) */
	k record;
BEGIN
	SELECT p.currency INTO cur FROM @extschema@.partner p WHERE p.partner_id = partner;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown partner: %', partner USING ERRCODE = 'no_data_found';
	END IF;
	z := @extschema@.zero(cur);
	month_start := @extschema@.lower(@extschema@.billing_period('month', t, @extschema@.billing_timezone()));
	deposit_account := @extschema@.account_of('partner', partner, 'deposit', cur);
	payouts := @extschema@.account_of('world', 0, 'payouts', cur);
	IF since IS NULL OR t < since THEN
		since := '-infinity';		/* a time in a closed month: the whole journal */
	END IF;
	SELECT coalesce(@extschema@.sum(m.income), z) AS income, coalesce(@extschema@.sum(m.deposits), z) AS deposits,
		   coalesce(@extschema@.sum(m.withdrawn), z) AS withdrawn, coalesce(@extschema@.sum(m.compensation), z) AS compensation
	INTO k FROM @extschema@.partner_month m
	WHERE m.partner_id = partner AND since > '-infinity' AND @extschema@.currency(m.income) = cur;
	SELECT k.income + coalesce(@extschema@.sum(o.partner_income), z) INTO income
	FROM @extschema@.order_line o
	WHERE o.partner_id = partner AND o.at >= since AND o.at < month_start AND @extschema@.currency(o.charge) = cur;
	SELECT k.deposits + coalesce(@extschema@.sum(CASE WHEN x.credit_account = deposit_account THEN x.amount ELSE -x.amount END)
								 FILTER (WHERE deposit_account IN (x.debit_account, x.credit_account)), z),
		   k.withdrawn + coalesce(@extschema@.sum(x.amount) FILTER (WHERE x.credit_account = payouts), z),
		   k.compensation + coalesce(@extschema@.sum(x.amount) FILTER (WHERE x.kind = 'compensation'), z)
	INTO deposits, withdrawn, compensation
	FROM @extschema@.transfer x WHERE x.partner_id = partner AND x.at >= since AND x.at <= t;
	withdrawable := GREATEST(income - deposits - withdrawn - compensation, z);
END
$$;
COMMENT ON FUNCTION @extschema@.partner_money(bigint, timestamptz) IS 'A partner''s income before the month of t, deposits held, withdrawn, compensation deducted and withdrawable (R-PRT-2); the closed months from their roll-up, the open ones from the journal';

CREATE FUNCTION @extschema@.withdrawable(partner bigint, at timestamptz DEFAULT NULL)
	RETURNS @extschema@.amount
	LANGUAGE plpgsql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	RETURN (@extschema@.partner_money(partner, @extschema@.api_time(at))).withdrawable;
END
$$;
COMMENT ON FUNCTION @extschema@.withdrawable(bigint, timestamptz) IS 'Cash income up to the end of the previous month - deposits - withdrawn - compensation, at least 0 (R-PRT-2)';

CREATE FUNCTION @extschema@.request_withdrawal(partner bigint, amt @extschema@.amount, at timestamptz DEFAULT NULL,
												request_id text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := @extschema@.api_time(at);
	tz text := @extschema@.billing_timezone();
	cur text;
	r record;
	m record;
	wd_month date;
	due timestamptz;
BEGIN
	/* the partner row serialises its withdrawals */
	cur := (@extschema@.lock_partner(partner)).currency;
	t := @extschema@.partner_time(at, partner);
	PERFORM @extschema@.check_amount(amt, cur, 'withdrawal amount');
	r := @extschema@.begin_request('request_withdrawal', request_id, NULL, partner,
								   pg_catalog.jsonb_build_object('partner', partner, 'amount', amt::text), t);
	IF r.done THEN
		RETURN r.id;
	END IF;
	wd_month := (t AT TIME ZONE tz)::date - (EXTRACT(day FROM t AT TIME ZONE tz)::integer - 1);
	IF EXISTS (SELECT FROM @extschema@.withdrawal w WHERE w.partner_id = partner AND w.month = wd_month) THEN
		RAISE EXCEPTION 'partner % has already withdrawn in %', partner, pg_catalog.to_char(wd_month, 'YYYY-MM')
			USING ERRCODE = 'GB002', HINT = 'One withdrawal per calendar month (billing time zone).';
	END IF;
	m := @extschema@.partner_money(partner, t);
	IF amt > m.withdrawable THEN
		RAISE EXCEPTION 'insufficient funds: % asked, % withdrawable', amt, m.withdrawable USING ERRCODE = 'GB001',
			DETAIL = pg_catalog.format('Income before this month %s, deposits %s, withdrawn %s, compensation %s.',
									   m.income, m.deposits, m.withdrawn, m.compensation);
	END IF;
	due := @extschema@.add_working_days(t, 5);
	INSERT INTO @extschema@.withdrawal (withdrawal_id, partner_id, month, amount, at, due_at)
	VALUES (r.id, partner, wd_month, amt, t, due);
	PERFORM @extschema@.post_transfers(ARRAY[
		@extschema@.leg(NULL, partner, t, 'withdrawal', @extschema@.account_of('partner', partner, 'income', cur),
						@extschema@.account_of('world', 0, 'payouts', cur), amt, 'withdrawal', r.id, request_id)]);
	INSERT INTO @extschema@.lifecycle_event (kind, partner_id, subject_type, subject_id, due_at, created_at)
	VALUES ('payout_due', partner, 'withdrawal', r.id, due, t);
	RETURN r.id;
END
$$;
COMMENT ON FUNCTION @extschema@.request_withdrawal(bigint, @extschema@.amount, timestamptz, text) IS 'Withdraw partner income: at most once per calendar month (GB002), at most withdrawable (GB001); payout due in 5 working days (R-PRT-4)';
