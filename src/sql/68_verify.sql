/*
 * 68_verify.sql — the ledger's invariants (R-LED-3), one row per check.
 */

CREATE FUNCTION @extschema@.verify()
	RETURNS TABLE (check_name text, ok boolean, detail text)
	LANGUAGE sql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	/*
	 * Balances in micro-units as numeric: the world's and the platform's
	 * accounts sum every customer's movements and may leave the amount range
	 * (R-AMT-1) — a check must never fail on them.
	 */
	WITH legs AS (
		SELECT credit_account AS account_id, @extschema@.micros(amount) AS micros FROM @extschema@.transfer
		UNION ALL
		SELECT debit_account, -@extschema@.micros(amount) FROM @extschema@.transfer
	), balance AS (
		SELECT l.account_id, a.currency, pg_catalog.sum(l.micros) AS balance
		FROM legs l JOIN @extschema@.account a USING (account_id)
		GROUP BY l.account_id, a.currency
	), per_currency AS (
		SELECT currency, pg_catalog.sum(balance) AS total FROM balance GROUP BY currency
	), active AS (
		SELECT h.customer_id, @extschema@.sum(h.amount) AS held,
			   @extschema@.sum(h.amount) FILTER (WHERE h.cash_only) AS cash_held
		FROM @extschema@.hold h
		WHERE NOT EXISTS (SELECT FROM @extschema@.hold_end e WHERE e.hold_id = h.hold_id)
		GROUP BY h.customer_id
	), lots AS (
		SELECT l.customer_id, @extschema@.sum(l.amount) AS vouchers FROM @extschema@.voucher_left l GROUP BY l.customer_id
	), journal_wallet AS (
		SELECT w.customer_id, w.cash, w.vouchers, w.held, w.cash_held,
			   coalesce(c.balance, 0) AS journal_cash,
			   coalesce(v.balance, 0) AS journal_vouchers,
			   coalesce(a.held, @extschema@.zero(@extschema@.currency(w.cash))) AS active_held,
			   coalesce(a.cash_held, @extschema@.zero(@extschema@.currency(w.cash))) AS active_cash_held,
			   coalesce(o.vouchers, @extschema@.zero(@extschema@.currency(w.cash))) AS lot_vouchers
		FROM @extschema@.wallet w
		LEFT JOIN lots o ON o.customer_id = w.customer_id
		LEFT JOIN balance c ON c.account_id = w.cash_account
		LEFT JOIN balance v ON v.account_id = w.voucher_account
		LEFT JOIN active a ON a.customer_id = w.customer_id
	)
	SELECT 'accounts sum to zero per currency', count(*) = 0,
		   coalesce(string_agg(currency || ' ' || (total / 1000000)::text, ', '), 'every currency sums to zero')
	FROM per_currency WHERE total <> 0
	UNION ALL
	SELECT 'transfers move between known accounts of their currency', count(*) = 0,
		   count(*) || ' transfers with an unknown account or in another currency than an account'
		   || coalesce(': ' || string_agg(t.transfer_id::text, ', '), '')
	FROM @extschema@.transfer t
	LEFT JOIN @extschema@.account d ON d.account_id = t.debit_account
	LEFT JOIN @extschema@.account c ON c.account_id = t.credit_account
	WHERE d.account_id IS NULL OR c.account_id IS NULL
	   OR @extschema@.currency(t.amount) <> d.currency OR @extschema@.currency(t.amount) <> c.currency
	UNION ALL
	SELECT 'wallets belong to their customer''s accounts', count(*) = 0,
		   count(*) || ' wallets with a wrong customer or account' || coalesce(': ' || string_agg(w.customer_id::text, ', '), '')
	FROM @extschema@.wallet w
	LEFT JOIN @extschema@.customer k ON k.customer_id = w.customer_id
	LEFT JOIN @extschema@.account c ON c.account_id = w.cash_account
	LEFT JOIN @extschema@.account v ON v.account_id = w.voucher_account
	LEFT JOIN @extschema@.account f ON f.account_id = w.fee_account
	LEFT JOIN @extschema@.account e ON e.account_id = w.voucher_expense_account
	WHERE k.customer_id IS NULL
	   OR c.account_id IS NULL OR (c.owner_kind, c.owner_id, c.purpose, c.currency) <> ('customer', w.customer_id, 'cash', k.currency)
	   OR v.account_id IS NULL OR (v.owner_kind, v.owner_id, v.purpose, v.currency) <> ('customer', w.customer_id, 'voucher', k.currency)
	   OR f.account_id IS NULL OR (f.owner_kind, f.purpose, f.currency) <> ('platform', 'fee', k.currency)
	   OR e.account_id IS NULL OR (e.owner_kind, e.purpose, e.currency) <> ('platform', 'voucher_expense', k.currency)
	   OR @extschema@.currency(w.cash) <> k.currency
	UNION ALL
	SELECT 'cached balances equal the journal', count(*) = 0,
		   count(*) || ' wallets differ from the journal' || coalesce(': ' || string_agg(customer_id::text, ', '), '')
	FROM journal_wallet WHERE @extschema@.micros(cash) <> journal_cash OR @extschema@.micros(vouchers) <> journal_vouchers
	UNION ALL
	SELECT 'held equals the active holds', count(*) = 0,
		   count(*) || ' wallets whose held differs from their active holds' || coalesce(': ' || string_agg(customer_id::text, ', '), '')
	FROM journal_wallet WHERE held <> active_held OR cash_held <> active_cash_held
	UNION ALL
	/* available may go below zero after holds were placed (a storage settlement, an
	   expired voucher): the next settlement then stops the instance; vouchers may not */
	SELECT 'vouchers and holds are not negative', count(*) = 0,
		   count(*) || ' wallets with negative vouchers or holds, or cash-only holds beyond all holds'
		   || coalesce(': ' || string_agg(customer_id::text, ', '), '')
	FROM journal_wallet
	WHERE @extschema@.micros(vouchers) < 0 OR @extschema@.micros(held) < 0 OR @extschema@.micros(cash_held) < 0
	   OR cash_held > held
	UNION ALL
	SELECT 'what is left of each voucher sums to the vouchers', count(*) = 0,
		   count(*) || ' wallets whose vouchers differ from the vouchers left' || coalesce(': ' || string_agg(customer_id::text, ', '), '')
	FROM journal_wallet WHERE vouchers <> lot_vouchers
	UNION ALL
	SELECT 'no hold captured beyond what it reserved', count(*) = 0,
		   count(*) || ' hold ends without their hold or captured beyond its amount'
		   || coalesce(': ' || string_agg(e.hold_id::text, ', '), '')
	FROM @extschema@.hold_end e LEFT JOIN @extschema@.hold h USING (hold_id)
	WHERE h.hold_id IS NULL OR h.customer_id <> e.customer_id
	   OR @extschema@.currency(e.captured) <> @extschema@.currency(h.amount) OR e.captured > h.amount
	   OR @extschema@.micros(e.captured) < 0
	UNION ALL
	SELECT 'reversals reverse an existing transfer', count(*) = 0,
		   count(*) || ' reversals without a matching original' || coalesce(': ' || string_agg(r.transfer_id::text, ', '), '')
	FROM @extschema@.transfer r LEFT JOIN @extschema@.transfer o ON o.transfer_id = r.reverses
	WHERE r.reverses IS NOT NULL
	  AND (o.transfer_id IS NULL OR o.debit_account <> r.credit_account OR o.credit_account <> r.debit_account
		   OR o.amount <> r.amount)
	UNION ALL
	SELECT 'contract deposits equal the customers'' deposit accounts', count(*) = 0,
		   count(*) || ' customers whose unapplied contract deposits differ from their deposit account'
		   || coalesce(': ' || string_agg(customer_id::text, ', '), '')
	FROM (SELECT c.customer_id, @extschema@.sum(c.deposit_left) AS deposit_left FROM @extschema@.contract c GROUP BY 1) k
	FULL JOIN (SELECT a.owner_id AS customer_id, b.balance FROM @extschema@.account a JOIN balance b USING (account_id)
			   WHERE a.owner_kind = 'customer' AND a.purpose = 'deposit') d USING (customer_id)
	WHERE coalesce(@extschema@.micros(k.deposit_left), 0) <> coalesce(d.balance, 0)
	UNION ALL
	/* R-EXC-9: what each offset recovered is what its offset transfers moved */
	SELECT 'provider offsets recovered equal their transfers', count(*) = 0,
		   count(*) || ' offsets whose recovered differs from the journal' || coalesce(': ' || string_agg(o.offset_id::text, ', '), '')
	FROM @extschema@.provider_offset o
	WHERE @extschema@.micros(o.recovered) <> coalesce((SELECT pg_catalog.sum(@extschema@.micros(x.amount)) FROM @extschema@.transfer x
													  WHERE x.kind = 'offset' AND x.object_type = 'provider_offset'
														AND x.object_id = o.offset_id), 0)
	UNION ALL
	/* R-EXC-3: a deposit is applied only from what was paid in */
	SELECT 'no contract deposit account is below zero', count(*) = 0,
		   count(*) || ' customers whose contract deposit account is below zero'
		   || coalesce(': ' || string_agg(a.owner_id::text, ', '), '')
	FROM @extschema@.account a JOIN balance b USING (account_id)
	WHERE a.owner_kind = 'customer' AND a.purpose = 'deposit' AND b.balance < 0
	UNION ALL
	/* R-SEC-3: a running PAYG run has exactly one active hold, its own; no other instance has one */
	SELECT 'running PAYG instances have exactly one active hold of their own', count(*) = 0,
		   count(*) || ' instances with a missing, foreign or extra active hold'
		   || coalesce(': ' || string_agg(x.instance_id::text, ', '), '')
	FROM (SELECT i.instance_id, i.hold_id, a.holds, a.hold_ids,
				 i.state = 'running' AND i.billing = 'payg' AND i.product <> 'one_time' AS holds_one
		  FROM @extschema@.instance i
		  LEFT JOIN (SELECT h.object_id, count(*) AS holds, array_agg(h.hold_id) AS hold_ids
					 FROM @extschema@.hold h
					 WHERE h.object_type = 'instance' AND NOT EXISTS (SELECT FROM @extschema@.hold_end e WHERE e.hold_id = h.hold_id)
					 GROUP BY h.object_id) a ON a.object_id = i.instance_id) x
	WHERE CASE WHEN x.holds_one THEN x.holds IS DISTINCT FROM 1 OR x.hold_ids[1] IS DISTINCT FROM x.hold_id
			   ELSE x.holds IS NOT NULL END
	UNION ALL
	SELECT 'recharged equals the recharges', count(*) = 0,
		   count(*) || ' wallets whose recharged total differs' || coalesce(': ' || string_agg(w.customer_id::text, ', '), '')
	FROM @extschema@.wallet w
	LEFT JOIN (SELECT r.customer_id, @extschema@.sum(r.amount) AS total FROM @extschema@.recharge r
			   WHERE NOT EXISTS (SELECT FROM @extschema@.transfer x
								 WHERE x.reverses IS NOT NULL AND x.object_type = 'recharge' AND x.object_id = r.recharge_id
								   AND x.kind = 'reversal' AND x.customer_id = r.customer_id
								   AND x.debit_account = (SELECT w2.cash_account FROM @extschema@.wallet w2 WHERE w2.customer_id = r.customer_id))
			   GROUP BY r.customer_id) r USING (customer_id)
	WHERE w.recharged <> coalesce(r.total, @extschema@.zero(@extschema@.currency(w.cash)))
$$;
COMMENT ON FUNCTION @extschema@.verify() IS 'Check the ledger''s invariants (R-LED-3): one row per check with ok and a detail';
