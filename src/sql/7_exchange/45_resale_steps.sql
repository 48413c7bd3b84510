/*
 * 45_resale_steps.sql — a resale in steps, for the proxy (issue 18;
 * R-EXC-6, R-EXC-7 across partitions).
 *
 * Behind a proxy the reseller and the buyer may live on two partitions:
 * the resold contract on the reseller's, the new contract on the buyer's.
 * A resale is then a saga of keyed, idempotent steps:
 *   1. begin_resale on the reseller's partition: every check one database
 *      makes (but the buyer's), the months planned, the contract
 *      resale_pending — no payment, termination, other resale or clock
 *      work touches it — and a resale_step row, the saga's key;
 *   2. accept_resale on the buyer's partition: the buyer checked (P0002,
 *      GB003), the new contract accepted (its initial payment held, GB001)
 *      and a resale_acceptance row under the saga's key.  This is the
 *      decision: accepted here, the resale happens;
 *   3. commit_resale on the reseller's partition: the months written, the
 *      original payments from E on cancelled, the contract resold (active
 *      until E) — or abandon_resale, the contract active again, when the
 *      buyer's partition has no acceptance.
 * An acceptance that failed, or that the proxy could not see, is decided by
 * decide_resale at the buyer's partition: it finds the acceptance, or writes
 * an abandoned one under the saga's key so that no late acceptance can
 * follow; the proxy then commits or abandons at the reseller's.  A resale
 * left pending (a partition out of reach) is re-driven by the proxy's tick.
 * The exchange's clearing: the new customer pays into the clearing account
 * of its partition, the provider and the reseller are paid from the
 * clearing account of the reseller's; resale_sides and the proxy's verify
 * check that every resale is on both sides and that a settled one nets to
 * zero over the partitions.  One database never uses the steps.
 *
 * Map (scripts/file-map.pl):
 * API: abandon_resale, accept_resale, begin_resale, commit_resale,
 *   decide_resale, pending_resales, resale_sides.
 * Internals: lock_resale, refuse_resale_pending.
 * Tables: resale_acceptance, resale_step.
 * Uses: 1_types, 2_base, 3_ledger.
 */

CREATE TABLE @extschema@.resale_step (
	resale_id	bigint PRIMARY KEY,			/* the saga's key, drawn on the reseller's partition */
	contract_id	bigint NOT NULL,
	reseller_id	bigint NOT NULL,			/* party key */
	buyer_id	bigint NOT NULL,			/* on another partition */
	price_per_gpu_hour @extschema@.amount NOT NULL,
	at			timestamptz NOT NULL,		/* the resale's time (E is the next month's start) */
	state		text NOT NULL CHECK (state IN ('pending', 'committed', 'abandoned')),
	new_contract_id bigint,					/* committed: the buyer's contract */
	began_at	timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp()	/* wall clock: the sweeper's grace */
);
CREATE UNIQUE INDEX resale_step_pending_idx ON @extschema@.resale_step (contract_id) WHERE state = 'pending';
CREATE INDEX resale_step_contract_idx ON @extschema@.resale_step (contract_id);
COMMENT ON TABLE @extschema@.resale_step IS 'A resale to a customer of another partition, on the reseller''s partition: pending between its steps, then committed or abandoned (issue 18)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.resale_step', '');

CREATE TABLE @extschema@.resale_acceptance (
	resale_id	bigint PRIMARY KEY,			/* the saga's key */
	buyer_id	bigint NOT NULL,			/* party key */
	contract_id	bigint NOT NULL,			/* the resold contract, on the reseller's partition */
	new_contract_id bigint,					/* NULL: abandoned, no acceptance may follow */
	decided_at	timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp()
);
COMMENT ON TABLE @extschema@.resale_acceptance IS 'The buyer''s partition''s decision on a resale across partitions: accepted as new_contract_id, or abandoned (issue 18)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.resale_acceptance', '');

-- a contract between the steps of a resale is left alone (GB004)
CREATE FUNCTION @extschema@.refuse_resale_pending(c @extschema@.contract) RETURNS void
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
DECLARE
	s @extschema@.resale_step;
BEGIN
	IF c.state = 'resale_pending' THEN
		SELECT * INTO s FROM @extschema@.resale_step k WHERE k.contract_id = c.contract_id AND k.state = 'pending';
		RAISE EXCEPTION 'contract % is being resold', c.contract_id USING ERRCODE = 'GB004',
			DETAIL = pg_catalog.format('Resale %s to customer %s is between its steps.', s.resale_id, s.buyer_id),
			HINT = 'The proxy completes or abandons it, at the latest at its next tick; try again then.';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.refuse_resale_pending(@extschema@.contract) IS 'Refuse (GB004) to act on a contract while a resale across partitions is between its steps';

-- step 1, on the reseller's partition
CREATE FUNCTION @extschema@.begin_resale(contract bigint, new_customer bigint, price_per_gpu_hour @extschema@.amount, at timestamptz,
										 OUT resale bigint, OUT t timestamptz, OUT provider bigint, OUT gpus integer,
										 OUT term tstzrange, OUT new_contract bigint)
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	c @extschema@.contract;
	s @extschema@.resale_step;
	months @extschema@.resale_month[];
BEGIN
	c := @extschema@.lock_contract($1);
	provider := c.provider_id;
	gpus := c.gpus;
	/* the same resale again: the saga under way, or its result */
	SELECT * INTO s FROM @extschema@.resale_step k
	WHERE k.contract_id = $1 AND k.state IN ('pending', 'committed') AND k.buyer_id = $2 AND k.price_per_gpu_hour = $3;
	IF FOUND THEN
		resale := s.resale_id;
		t := s.at;
		new_contract := s.new_contract_id;
		term := pg_catalog.tstzrange(@extschema@.upper(@extschema@.billing_period('month', s.at, @extschema@.billing_timezone())),
									 pg_catalog.upper(c.term));
		RETURN;
	END IF;
	t := @extschema@.call_time($4, c.last_event_at, 'contract ' || $1);
	IF $2 IS NULL THEN
		RAISE EXCEPTION 'unknown customer: %', $2 USING ERRCODE = 'no_data_found';
	END IF;
	IF c.resold_to IS NOT NULL THEN
		RAISE EXCEPTION 'contract % is already resold (as contract %)', $1, c.resold_to USING ERRCODE = 'GB004';
	END IF;
	IF EXISTS (SELECT FROM @extschema@.customer k WHERE k.customer_id = $2) THEN
		RAISE EXCEPTION 'customer % lives on this partition: the resale is made at once (resell_contract)', $2
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	months := @extschema@.plan_resale(c, $2, $3, NULL, t);	/* every check but the buyer's */
	resale := pg_catalog.nextval('@extschema@.id_seq');
	INSERT INTO @extschema@.resale_step (resale_id, contract_id, reseller_id, buyer_id, price_per_gpu_hour, at, state)
	VALUES (resale, $1, c.customer_id, $2, $3, t, 'pending');
	UPDATE @extschema@.contract k SET state = 'resale_pending', last_event_at = t WHERE k.contract_id = $1;
	term := pg_catalog.tstzrange(months[1].due_at, pg_catalog.upper(c.term));
	new_contract := NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.begin_resale(bigint, bigint, @extschema@.amount, timestamptz) IS 'Step 1 of a resale across partitions, on the reseller''s: one database''s checks but the buyer''s, the contract resale_pending; returns the saga''s key and what the buyer''s partition accepts, or the result of the same resale made before (R-EXC-6, issue 18)';

-- step 2, on the buyer's partition: the decision
CREATE FUNCTION @extschema@.accept_resale(resale bigint, contract bigint, new_customer bigint, provider bigint, gpus integer,
										  price_per_gpu_hour @extschema@.amount, term tstzrange, t timestamptz)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	a @extschema@.resale_acceptance;
	cur text;
	id bigint;
BEGIN
	IF $1 IS NULL OR $2 IS NULL OR $4 IS NULL OR $5 IS NULL OR $7 IS NULL OR $8 IS NULL THEN
		RAISE EXCEPTION 'a resale''s acceptance needs its key, contract, provider, GPUs, term and time' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.lock_wallet($3);		/* P0002: unknown customer */
	cur := (SELECT k.currency FROM @extschema@.customer k WHERE k.customer_id = $3);
	SELECT * INTO a FROM @extschema@.resale_acceptance k WHERE k.resale_id = $1;
	IF FOUND THEN
		IF a.new_contract_id IS NULL THEN
			RAISE EXCEPTION 'resale % of contract % was abandoned', $1, $2 USING ERRCODE = 'GB004',
				HINT = 'Resell the contract again.';
		END IF;
		RETURN a.new_contract_id;		/* accepted before */
	END IF;
	IF cur <> @extschema@.currency($6) THEN
		RAISE EXCEPTION 'currency mismatch: contract % is in %, customer % pays in another currency', $2, @extschema@.currency($6), $3
			USING ERRCODE = 'GB003';
	END IF;
	PERFORM @extschema@.check_amount($6, cur, 'price per GPU-hour');
	id := @extschema@.accept_contract(pg_catalog.nextval('@extschema@.id_seq'), $3, $4, $5, $6, $7, $8, $2);
	INSERT INTO @extschema@.resale_acceptance (resale_id, buyer_id, contract_id, new_contract_id) VALUES ($1, $3, $2, id);
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.accept_resale(bigint, bigint, bigint, bigint, integer, @extschema@.amount, tstzrange, timestamptz) IS 'Step 2 of a resale across partitions, on the buyer''s: the buyer accepts the new contract (GB001 if its initial payment is not available) under the saga''s key; idempotent; refused once abandoned (issue 18)';

-- after a failure: the decision of the buyer's partition, abandoned if nothing was accepted
CREATE FUNCTION @extschema@.decide_resale(resale bigint, contract bigint, new_customer bigint)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	PERFORM FROM @extschema@.wallet w WHERE w.customer_id = $3 FOR UPDATE;	/* after an acceptance under way */
	INSERT INTO @extschema@.resale_acceptance (resale_id, buyer_id, contract_id, new_contract_id)
	VALUES ($1, $3, $2, NULL) ON CONFLICT (resale_id) DO NOTHING;
	RETURN (SELECT k.new_contract_id FROM @extschema@.resale_acceptance k WHERE k.resale_id = $1);
END
$$;
COMMENT ON FUNCTION @extschema@.decide_resale(bigint, bigint, bigint) IS 'The buyer''s partition''s decision on a resale: its new contract if accepted, else NULL — and then abandoned for good (issue 18)';

-- a resale's step row, once its contract (and the reseller's wallet) is locked: the steps that end it serialise there
CREATE FUNCTION @extschema@.lock_resale(resale bigint) RETURNS @extschema@.resale_step
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	s @extschema@.resale_step;
BEGIN
	SELECT * INTO s FROM @extschema@.resale_step k WHERE k.resale_id = resale;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown resale: %', resale USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM @extschema@.lock_contract(s.contract_id);
	SELECT * INTO STRICT s FROM @extschema@.resale_step k WHERE k.resale_id = resale;
	RETURN s;
END
$$;
COMMENT ON FUNCTION @extschema@.lock_resale(bigint) IS 'Lock a resale''s contract (and its reseller''s wallet) and return its step row as it is then; unknown id raises P0002';

-- step 3, on the reseller's partition
CREATE FUNCTION @extschema@.commit_resale(resale bigint, new_contract bigint)
	RETURNS text
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	s @extschema@.resale_step := @extschema@.lock_resale($1);
	c @extschema@.contract := @extschema@.lock_contract(s.contract_id);
BEGIN
	IF s.state = 'committed' AND s.new_contract_id = $2 THEN
		RETURN 'committed';
	ELSIF s.state <> 'pending' OR $2 IS NULL THEN
		RAISE EXCEPTION 'resale % is %, not committed as contract %', $1, s.state, $2 USING ERRCODE = 'GB004';
	END IF;
	/* the contract as it was begun: nothing has touched it since */
	c.state := 'active';
	PERFORM @extschema@.apply_resale(c, @extschema@.plan_resale(c, s.buyer_id, s.price_per_gpu_hour, NULL, s.at), $2, s.at);
	UPDATE @extschema@.resale_step k SET state = 'committed', new_contract_id = $2 WHERE k.resale_id = $1;
	RETURN 'committed';
END
$$;
COMMENT ON FUNCTION @extschema@.commit_resale(bigint, bigint) IS 'Step 3 of a resale the buyer''s partition accepted, on the reseller''s: the months written, the original payments from E on cancelled, the contract resold as new_contract from E; idempotent (R-EXC-6, issue 18)';

CREATE FUNCTION @extschema@.abandon_resale(resale bigint)
	RETURNS text
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	s @extschema@.resale_step := @extschema@.lock_resale($1);
BEGIN
	IF s.state = 'abandoned' THEN
		RETURN 'abandoned';
	ELSIF s.state <> 'pending' THEN
		RAISE EXCEPTION 'resale % is %: it is not abandoned', $1, s.state USING ERRCODE = 'GB004';
	END IF;
	UPDATE @extschema@.contract k SET state = 'active' WHERE k.contract_id = s.contract_id AND k.state = 'resale_pending';
	UPDATE @extschema@.resale_step k SET state = 'abandoned' WHERE k.resale_id = $1;
	RETURN 'abandoned';
END
$$;
COMMENT ON FUNCTION @extschema@.abandon_resale(bigint) IS 'End a resale the buyer''s partition did not accept, on the reseller''s: the contract active again as it was; idempotent (issue 18)';

CREATE FUNCTION @extschema@.pending_resales(grace interval)
	RETURNS TABLE (resale_id bigint, contract_id bigint, buyer_id bigint)
	LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	SELECT k.resale_id, k.contract_id, k.buyer_id FROM @extschema@.resale_step k
	WHERE k.state = 'pending' AND k.began_at < pg_catalog.statement_timestamp() - grace ORDER BY 1
$$;
COMMENT ON FUNCTION @extschema@.pending_resales(interval) IS 'Resales begun longer than grace ago (wall clock) and not ended: the proxy''s tick re-drives them (issue 18)';

/*
 * The resales this database holds a side of, for the checks of both sides
 * (verify here, the proxy's verify over every partition): the reseller's
 * side (the resold contract, its new contract, the new prices of the months
 * done — what clearing paid out for them —, settled when every month is
 * done), the buyer's (the new contract, what its customer paid into
 * clearing by the journal, settled when completed) and the pending resales
 * (not checked yet).  verify_exchange also checks each database's clearing
 * account against these months and payments.
 */
CREATE FUNCTION @extschema@.resale_sides()
	RETURNS SETOF @extschema@.resale_side
	LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	WITH clearing AS MATERIALIZED (
		SELECT x.object_id, pg_catalog.sum(CASE WHEN a.account_id = x.credit_account THEN @extschema@.micros(x.amount)
												 ELSE -@extschema@.micros(x.amount) END)::bigint AS net
		FROM @extschema@.account a
		JOIN @extschema@.transfer x ON x.object_type = 'contract' AND a.account_id IN (x.credit_account, x.debit_account)
		WHERE a.owner_kind = 'platform' AND a.purpose = 'clearing'
		GROUP BY 1
	), base AS (
		SELECT b.since FROM @extschema@.journal_base(true) b	/* a side whose journal was archived is not settled here */
	)
	SELECT c.contract_id, 'reseller', c.resold_to,
		   -coalesce((SELECT pg_catalog.sum(@extschema@.micros(m.resold)) FROM @extschema@.resale_month m
					  WHERE m.contract_id = c.contract_id AND m.done_at IS NOT NULL), 0)::bigint,
		   NOT EXISTS (SELECT FROM @extschema@.resale_month m WHERE m.contract_id = c.contract_id AND m.done_at IS NULL)
	FROM @extschema@.contract c
	WHERE c.resold_to IS NOT NULL
	UNION ALL
	SELECT c.resold_from, 'buyer', c.contract_id, coalesce(k.net, 0),
		   c.accepted_at >= (SELECT base.since FROM base) AND c.state = 'completed'
	FROM @extschema@.contract c LEFT JOIN clearing k ON k.object_id = c.contract_id
	WHERE c.resold_from IS NOT NULL
	UNION ALL
	SELECT s.contract_id, 'pending', NULL, 0, false FROM @extschema@.resale_step s WHERE s.state = 'pending'
$$;
COMMENT ON FUNCTION @extschema@.resale_sides() IS 'The resales this database holds a side of: the reseller''s (clearing paid out), the buyer''s (clearing paid in), the pending ones; checked by check_resale_sides (R-EXC-6, issue 18)';
