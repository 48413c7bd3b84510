/*
 * 80_verify.sql — the ledger's invariants (R-LED-3), one row per check.
 * verify() (8_clock) runs these with the checks of the later layers.
 *
 * Map (scripts/file-map.pl):
 * Internals: account_balances, verify_ledger.
 * Uses: 1_types.
 */

CREATE FUNCTION @extschema@.verify_ledger(whole boolean)
	RETURNS TABLE (check_name text, ok boolean, detail text)
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	/*
	 * Balances in micro-units as numeric: the world's and the platform's
	 * accounts sum every customer's movements and may leave the amount range
	 * (R-AMT-1) — a check must never fail on them.  Not full: the closed
	 * months are read from their roll-ups (their closing balances, the holds
	 * active at their end), the journal from the end of the last on.
	 */
	WITH open_from AS (
		SELECT b.since AS at FROM @extschema@.journal_base(whole) b
	), balance AS (
		SELECT b.account_id, a.currency, b.balance
		FROM @extschema@.journal_balances(whole) b JOIN @extschema@.account a USING (account_id)
	), per_currency AS (
		SELECT currency, pg_catalog.sum(balance) AS total FROM balance GROUP BY currency
	), active AS (
		SELECT h.customer_id, @extschema@.sum(h.amount) AS held,
			   @extschema@.sum(h.amount) FILTER (WHERE h.cash_only) AS cash_held
		FROM @extschema@.active_holds(whole) h
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
	WHERE t.at >= (SELECT o.at FROM open_from o)
	  AND (d.account_id IS NULL OR c.account_id IS NULL
		   OR @extschema@.currency(t.amount) <> d.currency OR @extschema@.currency(t.amount) <> c.currency)
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
	WHERE e.at >= (SELECT o.at FROM open_from o)
	  AND (h.hold_id IS NULL OR h.customer_id <> e.customer_id
	   OR @extschema@.currency(e.captured) <> @extschema@.currency(h.amount) OR e.captured > h.amount
	   OR @extschema@.micros(e.captured) < 0)
	UNION ALL
	/* each reversal is recorded once (reversal) with its reversing transfer, which mirrors the original
	   (its kind and amount kept in reversal) */
	SELECT 'reversals reverse an existing transfer', count(*) = 0,
		   count(*) || ' reversals without a matching original' || coalesce(': ' || string_agg(v.transfer_id::text, ', '), '')
	FROM @extschema@.reversal v
	LEFT JOIN @extschema@.transfer r ON r.transfer_id = v.transfer_id
	LEFT JOIN @extschema@.transfer o ON o.transfer_id = v.reverses
	WHERE v.at >= (SELECT f.at FROM open_from f)
	  AND (r.transfer_id IS NULL OR r.reverses IS DISTINCT FROM v.reverses OR r.amount <> v.amount
		   OR o.transfer_id IS NULL AND NOT EXISTS (SELECT FROM @extschema@.archived_month a)	/* else it may be archived */
		   OR o.debit_account <> r.credit_account OR o.credit_account <> r.debit_account OR o.amount <> r.amount OR o.kind <> v.kind)
	UNION ALL
	SELECT 'every reversing transfer is recorded as the reversal', count(*) = 0,
		   count(*) || ' reversing transfers without their reversal' || coalesce(': ' || string_agg(r.transfer_id::text, ', '), '')
	FROM @extschema@.transfer r
	WHERE r.reverses IS NOT NULL AND r.at >= (SELECT f.at FROM open_from f)
	  AND NOT EXISTS (SELECT FROM @extschema@.reversal v WHERE v.reverses = r.reverses AND v.transfer_id = r.transfer_id)
	UNION ALL
	SELECT 'recharged equals the recharges', count(*) = 0,
		   count(*) || ' wallets whose recharged total differs' || coalesce(': ' || string_agg(w.customer_id::text, ', '), '')
	FROM @extschema@.wallet w
	LEFT JOIN (SELECT l.customer_id, @extschema@.sum(l.amount) AS total
			   FROM (SELECT r.customer_id, r.amount FROM @extschema@.recharge r
					 UNION ALL
					 SELECT v.customer_id, -v.amount FROM @extschema@.reversal v WHERE v.kind = 'recharge') l
			   GROUP BY l.customer_id) r USING (customer_id)
	WHERE w.recharged <> coalesce(r.total, @extschema@.zero(@extschema@.currency(w.cash)))
$$;
COMMENT ON FUNCTION @extschema@.verify_ledger(boolean) IS 'The ledger''s invariants (R-LED-3): one row per check with ok and a detail';

-- the journal balance (credits minus debits, micro-units as numeric) of every account of a purpose that has moved
CREATE FUNCTION @extschema@.account_balances(purpose text, whole boolean) RETURNS TABLE (account_id bigint, balance numeric)
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
	SELECT b.account_id, b.balance FROM @extschema@.journal_balances(whole) b
	WHERE b.account_id IN (SELECT a.account_id FROM @extschema@.account a WHERE a.purpose = account_balances.purpose)
$$;
COMMENT ON FUNCTION @extschema@.account_balances(text, boolean) IS 'Journal balance of every account of a purpose that has moved, in micro-units (verify''s checks of later layers)';
