/*
 * 15_withdrawal_steps.sql — a withdrawal in steps, for the proxy (issue 18;
 * R-PRT-2, R-PRT-4 across partitions).
 *
 * Behind a proxy a partner's income lies on every partition its customers
 * live on; what it may withdraw is the sum of every partition's parts
 * (partner_part), floored at zero once, on the proxy.  A withdrawal is a
 * saga of keyed, idempotent steps:
 *   1. begin_withdrawal at the partner's home: the partner locked, the
 *      month checked (GB002), none of its outages still to compensate on
 *      other partitions (GB004), a pending row — one per partner: the
 *      partner's money lock, so two withdrawals never count the same
 *      income — and the id the withdrawal will have;
 *   2. the proxy sums the parts of every partition as of the withdrawal's
 *      time;
 *   3. commit_withdrawal at the home: the withdrawal posted if the sum
 *      covers it, else refused ('refused': the proxy raises GB001) — the
 *      pending row goes either way, in the same transaction.
 * A step that fails leaves the pending row; the proxy's tick re-drives it
 * (pending_withdrawals), so it is committed or refused exactly once; a
 * retry with the request id finds the committed withdrawal.  One database
 * never uses this: request_withdrawal checks its own money.
 *
 * Map (scripts/file-map.pl):
 * API: begin_withdrawal, commit_withdrawal, partner_part,
 *   pending_withdrawals.
 * Tables: withdrawal_pending.
 * Uses: 1_types, 2_base, 3_ledger, 4_parties, 5_customers.
 */

CREATE TABLE @extschema@.withdrawal_pending (
	withdrawal_id bigint PRIMARY KEY,
	partner_id	bigint NOT NULL UNIQUE,		/* the partner's money lock: one at a time */
	month		date NOT NULL,
	amount		@extschema@.amount NOT NULL,
	at			timestamptz NOT NULL,
	request_id	text,
	began_at	timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp()	/* wall clock: the sweeper's grace */
);
COMMENT ON TABLE @extschema@.withdrawal_pending IS 'A withdrawal begun through the proxy and not yet committed or refused: the partner''s money lock (issue 18)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.withdrawal_pending', '');

-- this partition's part of a partner's money as of t, before the floor (withdrawable = the parts' sum, at least 0)
CREATE FUNCTION @extschema@.partner_part(partner bigint, at timestamptz,
										 OUT income @extschema@.amount, OUT deposits @extschema@.amount,
										 OUT withdrawn @extschema@.amount, OUT compensation @extschema@.amount)
	LANGUAGE plpgsql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	m record;
BEGIN
	IF at IS NULL THEN
		RAISE EXCEPTION 'a partner''s part needs its time' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	m := @extschema@.partner_money(partner, at);
	income := m.income;
	deposits := m.deposits;
	withdrawn := m.withdrawn;
	compensation := m.compensation;
END
$$;
COMMENT ON FUNCTION @extschema@.partner_part(bigint, timestamptz) IS 'This partition''s part of a partner''s money as of at: income before the month, deposits, withdrawn, compensation (no floor: the proxy sums the parts, then floors) (R-PRT-2, issue 18)';

CREATE FUNCTION @extschema@.begin_withdrawal(partner bigint, amt @extschema@.amount, at timestamptz, request_id text,
											 OUT withdrawal bigint, OUT t timestamptz, OUT done boolean)
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	tz text := @extschema@.billing_timezone();
	cur text;
	wd_month date;
	p @extschema@.withdrawal_pending;
BEGIN
	cur := (@extschema@.lock_partner($1)).currency;		/* the partner row serialises its withdrawals */
	IF @extschema@.partition_of($1) <> coalesce((SELECT k.partition FROM @extschema@.partition_identity k), 0) THEN
		RAISE EXCEPTION 'partner % is not homed on this partition', $1 USING ERRCODE = 'no_data_found';
	END IF;
	t := @extschema@.partner_time($3, $1);
	PERFORM @extschema@.check_amount($2, cur, 'withdrawal amount');
	IF $4 IS NOT NULL THEN
		PERFORM @extschema@.check_text($4, 'request id');
		SELECT r.result INTO withdrawal FROM @extschema@.request r WHERE r.fn = 'request_withdrawal' AND r.request_id = $4;
		IF FOUND THEN		/* committed before: the same withdrawal (its arguments are checked as one database does) */
			PERFORM @extschema@.begin_request('request_withdrawal', $4, NULL, $1,
											  pg_catalog.jsonb_build_object('partner', $1, 'amount', $2::text), t);
			done := true;
			RETURN;
		END IF;
		SELECT * INTO p FROM @extschema@.withdrawal_pending k WHERE k.request_id = $4;
		IF FOUND AND p.partner_id = $1 AND p.amount = $2 THEN	/* begun before: the same saga */
			withdrawal := p.withdrawal_id;
			t := p.at;
			done := false;
			RETURN;
		END IF;
	END IF;
	wd_month := (t AT TIME ZONE tz)::date - (EXTRACT(day FROM t AT TIME ZONE tz)::integer - 1);
	IF EXISTS (SELECT FROM @extschema@.withdrawal w WHERE w.partner_id = $1 AND w.month = wd_month) THEN
		RAISE EXCEPTION 'partner % has already withdrawn in %', $1, pg_catalog.to_char(wd_month, 'YYYY-MM')
			USING ERRCODE = 'GB002', HINT = 'One withdrawal per calendar month (billing time zone).';
	END IF;
	IF EXISTS (SELECT FROM @extschema@.outage_outbox q WHERE q.partner_id = $1) THEN
		RAISE EXCEPTION 'partner % has outages whose compensation is not yet on every partition', $1
			USING ERRCODE = 'GB004', HINT = 'The proxy pushes them before a withdrawal and at every tick; try again then.';
	END IF;
	IF EXISTS (SELECT FROM @extschema@.withdrawal_pending k WHERE k.partner_id = $1) THEN
		RAISE EXCEPTION 'partner % has a withdrawal in progress', $1
			USING ERRCODE = 'GB004', HINT = 'It is committed or refused by the next tick through the proxy; try again then.';
	END IF;
	withdrawal := pg_catalog.nextval('@extschema@.id_seq');
	INSERT INTO @extschema@.withdrawal_pending (withdrawal_id, partner_id, month, amount, at, request_id)
	VALUES (withdrawal, $1, wd_month, $2, t, $4);
	done := false;
END
$$;
COMMENT ON FUNCTION @extschema@.begin_withdrawal(bigint, @extschema@.amount, timestamptz, text) IS 'Step 1 of a withdrawal through the proxy, at the partner''s home: month checked (GB002), the partner''s money locked by a pending row (GB004 while another is in progress); returns its id and time, or the committed withdrawal of the same request id (done) (R-PRT-4, issue 18)';

-- step 3: given the sum of every partition's parts as of the withdrawal's time
CREATE FUNCTION @extschema@.commit_withdrawal(withdrawal bigint, income @extschema@.amount, deposits @extschema@.amount,
											  withdrawn @extschema@.amount, compensation @extschema@.amount)
	RETURNS text
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	p @extschema@.withdrawal_pending;
	cur text;
	left_ @extschema@.amount;
	due timestamptz;
BEGIN
	SELECT * INTO p FROM @extschema@.withdrawal_pending k WHERE k.withdrawal_id = $1;
	IF NOT FOUND THEN		/* committed or refused before: the saga is over */
		RETURN CASE WHEN EXISTS (SELECT FROM @extschema@.withdrawal w WHERE w.withdrawal_id = $1) THEN 'committed' ELSE 'refused' END;
	END IF;
	cur := (@extschema@.lock_partner(p.partner_id)).currency;
	SELECT * INTO p FROM @extschema@.withdrawal_pending k WHERE k.withdrawal_id = $1 FOR UPDATE;
	IF NOT FOUND THEN
		RETURN CASE WHEN EXISTS (SELECT FROM @extschema@.withdrawal w WHERE w.withdrawal_id = $1) THEN 'committed' ELSE 'refused' END;
	END IF;
	DELETE FROM @extschema@.withdrawal_pending k WHERE k.withdrawal_id = $1;
	left_ := GREATEST($2 - $3 - $4 - $5, @extschema@.zero(cur));
	IF p.amount > left_ THEN
		RETURN 'refused';
	END IF;
	IF p.request_id IS NOT NULL THEN
		INSERT INTO @extschema@.request (fn, request_id, customer_id, partner_id, args, result, at)
		VALUES ('request_withdrawal', p.request_id, NULL, p.partner_id,
				pg_catalog.jsonb_build_object('partner', p.partner_id, 'amount', p.amount::text), $1, p.at);
	END IF;
	due := @extschema@.add_working_days(p.at, 5);
	INSERT INTO @extschema@.withdrawal (withdrawal_id, partner_id, month, amount, at, due_at)
	VALUES ($1, p.partner_id, p.month, p.amount, p.at, due);
	PERFORM @extschema@.post_transfers(ARRAY[
		@extschema@.leg(NULL, p.partner_id, p.at, 'withdrawal', @extschema@.account_of('partner', p.partner_id, 'income', cur),
						@extschema@.account_of('world', 0, 'payouts', cur), p.amount, 'withdrawal', $1, p.request_id)]);
	INSERT INTO @extschema@.lifecycle_event (kind, partner_id, subject_type, subject_id, due_at, created_at)
	VALUES ('payout_due', p.partner_id, 'withdrawal', $1, due, p.at);
	RETURN 'committed';
END
$$;
COMMENT ON FUNCTION @extschema@.commit_withdrawal(bigint, @extschema@.amount, @extschema@.amount, @extschema@.amount, @extschema@.amount) IS 'Step 3 of a withdrawal through the proxy, at the partner''s home: posted if the parts'' sum (floored at zero) covers it, else refused; the pending row ends either way; idempotent (R-PRT-2, R-PRT-4, issue 18)';

CREATE FUNCTION @extschema@.pending_withdrawals(grace interval)
	RETURNS TABLE (withdrawal_id bigint, partner_id bigint, at timestamptz)
	LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	SELECT k.withdrawal_id, k.partner_id, k.at FROM @extschema@.withdrawal_pending k
	WHERE k.began_at < pg_catalog.statement_timestamp() - grace ORDER BY 1
$$;
COMMENT ON FUNCTION @extschema@.pending_withdrawals(interval) IS 'Withdrawals begun longer than grace ago (wall clock) and not ended: the proxy''s tick re-drives them (issue 18)';
