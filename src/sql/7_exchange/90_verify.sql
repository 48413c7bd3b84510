/*
 * 90_verify.sql — the exchange's invariants, one row per check (verify()
 * in 8_clock runs them with every layer's).
 *
 * Map (scripts/file-map.pl):
 * Internals: verify_exchange.
 * Uses: 1_types, 3_ledger.
 */

CREATE FUNCTION @extschema@.verify_exchange(whole boolean)
	RETURNS TABLE (check_name text, ok boolean, detail text)
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	WITH deposit AS MATERIALIZED (	/* the customers' deposit accounts' balances, once */
		SELECT a.owner_id AS customer_id, b.balance
		FROM @extschema@.account a JOIN @extschema@.account_balances('deposit', whole) b USING (account_id)
		WHERE a.owner_kind = 'customer' AND a.purpose = 'deposit'
	)
	SELECT 'contract deposits equal the customers'' deposit accounts', count(*) = 0,
		   count(*) || ' customers whose unapplied contract deposits differ from their deposit account'
		   || coalesce(': ' || string_agg(customer_id::text, ', '), '')
	FROM (SELECT c.customer_id, @extschema@.sum(c.deposit_left) AS deposit_left FROM @extschema@.contract c GROUP BY 1) k
	FULL JOIN deposit d USING (customer_id)
	WHERE coalesce(@extschema@.micros(k.deposit_left), 0) <> coalesce(d.balance, 0)
	UNION ALL
	/* R-EXC-9: what each offset recovered is what its offset transfers moved */
	SELECT 'provider offsets recovered equal their transfers', count(*) = 0,
		   count(*) || ' offsets whose recovered differs from the journal' || coalesce(': ' || string_agg(o.offset_id::text, ', '), '')
	FROM @extschema@.provider_offset o
	WHERE o.at >= (SELECT b.since FROM @extschema@.journal_base(true) b)	/* its recoveries are in the database */
	  AND @extschema@.micros(o.recovered) <> coalesce((SELECT pg_catalog.sum(@extschema@.micros(x.amount)) FROM @extschema@.transfer x
													  WHERE x.kind = 'offset' AND x.object_type = 'provider_offset'
														AND x.object_id = o.offset_id), 0)
	UNION ALL
	/* R-EXC-3: a deposit is applied only from what was paid in */
	SELECT 'no contract deposit account is below zero', count(*) = 0,
		   count(*) || ' customers whose contract deposit account is below zero'
		   || coalesce(': ' || string_agg(d.customer_id::text, ', '), '')
	FROM deposit d WHERE d.balance < 0
	UNION ALL
	/* R-EXC-6: the clearing account moves only for resales: what the buyers paid in, less the new price of the months
	   paid out — over what the journal holds from its base on (whole: after the archived months; else the open ones) */
	SELECT 'the exchange''s clearing equals what buyers paid in less the resale months paid out', count(*) = 0,
		   count(*) || ' currencies whose clearing differs' || coalesce(': ' || string_agg(k.currency || ' by ' || k.diff || ' micros', ', '), '')
	FROM (SELECT a.currency,
				 coalesce(pg_catalog.sum(CASE WHEN x.credit_account = a.account_id THEN @extschema@.micros(x.amount)
											  ELSE -@extschema@.micros(x.amount) END)
						  FILTER (WHERE NOT (x.object_type = 'contract'
											 AND x.object_id IN (SELECT c.contract_id FROM @extschema@.contract c WHERE c.resold_from IS NOT NULL))), 0)
				 + coalesce((SELECT pg_catalog.sum(@extschema@.micros(m.resold)) FROM @extschema@.resale_month m
							 WHERE m.done_at >= (SELECT j.since FROM @extschema@.journal_base(whole) j)
							   AND @extschema@.currency(m.resold) = a.currency), 0) AS diff
		  FROM @extschema@.account a
		  LEFT JOIN @extschema@.transfer x ON a.account_id IN (x.credit_account, x.debit_account)
										   AND x.at >= (SELECT j.since FROM @extschema@.journal_base(whole) j)
		  WHERE a.owner_kind = 'platform' AND a.purpose = 'clearing'
		  GROUP BY a.currency) k
	WHERE k.diff <> 0
	UNION ALL
	/* R-EXC-6: the resales whose both sides are here (the proxy's verify checks those across partitions) */
	SELECT k.check_name, k.ok, k.detail
	FROM @extschema@.check_resale_sides(ARRAY(SELECT s FROM @extschema@.resale_sides() s), true) k
$$;
COMMENT ON FUNCTION @extschema@.verify_exchange(boolean) IS 'The exchange''s invariants (R-EXC-3, R-EXC-6, R-EXC-9): one row per check with ok and a detail';
