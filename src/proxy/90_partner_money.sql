/*
 * 90_partner_money.sql — a partner's money across partitions (issue 18;
 * R-PRT-2, R-PRT-4; the partitions' side is gpubill's
 * 6_partners/15_withdrawal_steps.sql).  A partner's income lies on every
 * partition its customers live on: withdrawable() on the proxy sums every
 * partition's parts (partner_part) as of one instant and floors the sum at
 * zero once.  request_withdrawal() is a saga: begin at the partner's home
 * (month check, the partner's money lock), the parts summed as of the
 * withdrawal's time, commit or refuse at the home (GB001 with one
 * database's message).  tick() re-drives a withdrawal a failure left
 * pending for five minutes: committed or refused, once.
 */

CREATE FUNCTION @extschema@.partner_part_everywhere(partner bigint, at timestamptz)
	RETURNS TABLE (income @extschema@.amount, deposits @extschema@.amount, withdrawn @extschema@.amount, compensation @extschema@.amount)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT * FROM gpubill.partner_part($1, $2); $$;
COMMENT ON FUNCTION @extschema@.partner_part_everywhere(bigint, timestamptz) IS 'gpubill.partner_part of every partition';

CREATE FUNCTION @extschema@.begin_withdrawal(partner bigint, amt @extschema@.amount, at timestamptz, request_id text,
											 OUT withdrawal bigint, OUT t timestamptz, OUT done boolean)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(partner); $$;
COMMENT ON FUNCTION @extschema@.begin_withdrawal(bigint, @extschema@.amount, timestamptz, text) IS 'gpubill.begin_withdrawal at the partner''s home';

CREATE FUNCTION @extschema@.commit_withdrawal(withdrawal bigint, income @extschema@.amount, deposits @extschema@.amount,
											  withdrawn @extschema@.amount, compensation @extschema@.amount)
	RETURNS text
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(withdrawal); $$;
COMMENT ON FUNCTION @extschema@.commit_withdrawal(bigint, @extschema@.amount, @extschema@.amount, @extschema@.amount, @extschema@.amount) IS 'gpubill.commit_withdrawal at the partner''s home (where the withdrawal''s id was drawn)';

CREATE FUNCTION @extschema@.pending_withdrawals_on(part integer, grace interval)
	RETURNS TABLE (withdrawal_id bigint, partner_id bigint, at timestamptz)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON part; SELECT * FROM gpubill.pending_withdrawals($2); $$;
COMMENT ON FUNCTION @extschema@.pending_withdrawals_on(integer, interval) IS 'gpubill.pending_withdrawals of one partition';

-- a partner's money as of t: every partition's parts summed
CREATE FUNCTION @extschema@.partner_sum(partner bigint, t timestamptz,
										OUT income @extschema@.amount, OUT deposits @extschema@.amount,
										OUT withdrawn @extschema@.amount, OUT compensation @extschema@.amount)
	LANGUAGE sql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	SELECT @extschema@.sum(p.income), @extschema@.sum(p.deposits), @extschema@.sum(p.withdrawn), @extschema@.sum(p.compensation)
	FROM @extschema@.partner_part_everywhere(partner, t) p
$$;
COMMENT ON FUNCTION @extschema@.partner_sum(bigint, timestamptz) IS 'A partner''s income before the month of t, deposits, withdrawn and compensation: every partition''s parts summed (R-PRT-2, issue 18)';

CREATE FUNCTION @extschema@.withdrawable(partner bigint, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS @extschema@.amount
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	s record;
BEGIN
	SELECT * INTO s FROM @extschema@.partner_sum(partner, coalesce(at, pg_catalog.now()));
	RETURN GREATEST(s.income - s.deposits - s.withdrawn - s.compensation, @extschema@.zero(@extschema@.currency(s.income)));
END
$$;
COMMENT ON FUNCTION @extschema@.withdrawable(bigint, timestamp with time zone) IS 'gpubill.withdrawable through the proxy: every partition''s parts as of at summed, then floored at zero once (R-PRT-2, issue 18)';

-- steps 2 and 3 of a begun withdrawal: the parts summed as of its time, committed or refused at the home
CREATE FUNCTION @extschema@.finish_withdrawal(withdrawal bigint, partner bigint, t timestamptz,
											  OUT status text, OUT income @extschema@.amount, OUT deposits @extschema@.amount,
											  OUT withdrawn @extschema@.amount, OUT compensation @extschema@.amount)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	SELECT * INTO income, deposits, withdrawn, compensation FROM @extschema@.partner_sum(partner, t);
	status := @extschema@.commit_withdrawal(withdrawal, income, deposits, withdrawn, compensation);
END
$$;
COMMENT ON FUNCTION @extschema@.finish_withdrawal(bigint, bigint, timestamptz) IS 'Steps 2 and 3 of a withdrawal through the proxy: every partition''s parts summed as of its time, then committed or refused at the partner''s home';

CREATE FUNCTION @extschema@.request_withdrawal(partner bigint, amt @extschema@.amount,
											   at timestamp with time zone DEFAULT NULL::timestamp with time zone,
											   request_id text DEFAULT NULL::text)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	b record;
	f record;
BEGIN
	IF partner IS NOT NULL THEN
		PERFORM @extschema@.push_catalog(@extschema@.partition_of(partner));	/* its outages compensated everywhere first */
	END IF;
	SELECT * INTO b FROM @extschema@.begin_withdrawal(partner, amt, at, request_id);
	IF b.done THEN
		RETURN b.withdrawal;
	END IF;
	SELECT * INTO f FROM @extschema@.finish_withdrawal(b.withdrawal, partner, b.t);
	IF f.status <> 'committed' THEN
		RAISE EXCEPTION 'insufficient funds: % asked, % withdrawable', amt,
			GREATEST(f.income - f.deposits - f.withdrawn - f.compensation, @extschema@.zero(@extschema@.currency(amt)))
			USING ERRCODE = 'GB001',
				  DETAIL = pg_catalog.format('Income before this month %s, deposits %s, withdrawn %s, compensation %s.',
											 f.income, f.deposits, f.withdrawn, f.compensation);
	END IF;
	RETURN b.withdrawal;
END
$$;
COMMENT ON FUNCTION @extschema@.request_withdrawal(bigint, @extschema@.amount, timestamp with time zone, text) IS 'gpubill.request_withdrawal through the proxy: begun at the partner''s home (GB002 a second in a month), every partition''s parts summed, committed or refused there (GB001) (R-PRT-4 across partitions, issue 18)';

-- withdrawals a failure left pending longer than grace: finished (committed or refused) once; returns how many
CREATE FUNCTION @extschema@.redrive_withdrawals(grace interval DEFAULT '5 minutes')
	RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	k integer;
	w record;
	total integer := 0;
BEGIN
	FOR k IN SELECT p.partition FROM @extschema@.proxy_partition p ORDER BY 1 LOOP
		FOR w IN SELECT * FROM @extschema@.pending_withdrawals_on(k, grace) LOOP
			PERFORM @extschema@.finish_withdrawal(w.withdrawal_id, w.partner_id, w.at);
			total := total + 1;
		END LOOP;
	END LOOP;
	RETURN total;
END
$$;
COMMENT ON FUNCTION @extschema@.redrive_withdrawals(interval) IS 'Finish the withdrawals left pending longer than grace (a failure between the steps): committed if the parts cover them, else refused; returns how many (issue 18)';

REVOKE EXECUTE ON FUNCTION @extschema@.partner_part_everywhere(bigint, timestamptz),
	@extschema@.begin_withdrawal(bigint, @extschema@.amount, timestamptz, text),
	@extschema@.commit_withdrawal(bigint, @extschema@.amount, @extschema@.amount, @extschema@.amount, @extschema@.amount),
	@extschema@.pending_withdrawals_on(integer, interval), @extschema@.partner_sum(bigint, timestamptz),
	@extschema@.withdrawable(bigint, timestamptz), @extschema@.finish_withdrawal(bigint, bigint, timestamptz),
	@extschema@.request_withdrawal(bigint, @extschema@.amount, timestamptz, text),
	@extschema@.redrive_withdrawals(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.partner_part_everywhere(bigint, timestamptz),
	@extschema@.begin_withdrawal(bigint, @extschema@.amount, timestamptz, text),
	@extschema@.commit_withdrawal(bigint, @extschema@.amount, @extschema@.amount, @extschema@.amount, @extschema@.amount),
	@extschema@.pending_withdrawals_on(integer, interval), @extschema@.partner_sum(bigint, timestamptz),
	@extschema@.withdrawable(bigint, timestamptz), @extschema@.finish_withdrawal(bigint, bigint, timestamptz),
	@extschema@.request_withdrawal(bigint, @extschema@.amount, timestamptz, text),
	@extschema@.redrive_withdrawals(interval) TO gpubill_app;
