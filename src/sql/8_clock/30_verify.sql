/*
 * 30_verify.sql — verify(): every layer's invariants, one row per check
 * (R-LED-3).  Here, after every layer, as tick is: it runs the checks each
 * layer keeps with its own tables.
 *
 * verify() reads the open months of the journal and the closed months'
 * roll-ups, checked against the digest kept when each closed (issue 14): its
 * time grows with the open months, not with history.  verify(full => true)
 * re-checks everything from the whole journal, the closed months' roll-ups
 * recomputed from it included.
 *
 * Map (scripts/file-map.pl):
 * API: verify.
 * Internals: verify_months.
 * Uses: 1_types, 3_ledger, 5_customers, 6_partners, 7_exchange.
 */

CREATE FUNCTION @extschema@.verify_months(whole boolean)
	RETURNS TABLE (check_name text, ok boolean, detail text)
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	WITH base AS (	/* full: the journal is read after the last archived month */
		SELECT coalesce(b.month, '-infinity') AS archived, b.since,
			   coalesce((b.month + interval '1 month')::date, '-infinity') AS first_day
		FROM @extschema@.journal_base(true) b
	)
	/* the hours of use, as many rows as the order lines, only when full: verify() stays flat in history */
	SELECT 'closed months'' roll-ups match their digests', count(*) = 0,
		   count(*) || ' closed months whose roll-ups changed since they closed'
		   || coalesce(': ' || string_agg(pg_catalog.to_char(c.month, 'YYYY-MM'), ', ' ORDER BY c.month), '')
	FROM @extschema@.closed_month c
	WHERE c.digest <> pg_catalog.md5(@extschema@.ledger_month_digest(c.month) || @extschema@.customer_month_digest(c.month)
									 || @extschema@.partner_month_digest(c.month))
	   OR whole AND c.usage_digest <> @extschema@.instance_hour_digest(c.month)
	UNION ALL
	SELECT 'closed months follow each other, their balances carried', count(*) = 0,
		   count(*) || ' accounts or months out of sequence'
		   || coalesce(': ' || string_agg(x.what, ', '), '')
	FROM (SELECT pg_catalog.to_char(c.month, 'YYYY-MM') AS what FROM @extschema@.closed_month c
		  WHERE c.month > (SELECT pg_catalog.min(k.month) FROM @extschema@.closed_month k)
			AND NOT EXISTS (SELECT FROM @extschema@.closed_month p WHERE p.month = (c.month - interval '1 month')::date)
		  UNION ALL
		  SELECT pg_catalog.format('%s in %s', k.account_id, pg_catalog.to_char(k.month, 'YYYY-MM'))
		  FROM @extschema@.account_month k
		  LEFT JOIN @extschema@.account_month p ON p.account_id = k.account_id AND p.month = (k.month - interval '1 month')::date
		  WHERE whole AND k.closing <> coalesce(p.closing, 0) + k.credits - k.debits) x	/* else: the digests vouch for it */
	UNION ALL
	/* full: the closed months' roll-ups are what the journal gives */
	SELECT 'closed months'' closing balances equal the journal', count(*) = 0,
		   count(*) || ' accounts whose closing balance differs from the journal'
		   || coalesce(': ' || string_agg(coalesce(k.account_id, j.account_id)::text, ', '), '')
	FROM (SELECT a.account_id, a.closing FROM @extschema@.account_month a
		  WHERE whole AND a.month = (SELECT pg_catalog.max(c.month) FROM @extschema@.closed_month c) AND a.closing <> 0) k
	FULL JOIN (SELECT l.account_id, pg_catalog.sum(l.micros) AS closing	/* the last archived month's roll-up and the journal after it */
			   FROM (SELECT a.account_id, a.closing AS micros FROM @extschema@.account_month a
					 WHERE whole AND a.month = (SELECT b.month FROM @extschema@.journal_base(true) b)
					 UNION ALL
					 SELECT t.credit_account AS account_id, @extschema@.micros(t.amount)::numeric AS micros
					 FROM @extschema@.transfer t
					 WHERE whole AND t.at >= (SELECT b.since FROM @extschema@.journal_base(true) b) AND t.at < @extschema@.closed_until()
					 UNION ALL
					 SELECT t.debit_account, -@extschema@.micros(t.amount)::numeric
					 FROM @extschema@.transfer t
					 WHERE whole AND t.at >= (SELECT b.since FROM @extschema@.journal_base(true) b) AND t.at < @extschema@.closed_until()) l
			   GROUP BY l.account_id HAVING pg_catalog.sum(l.micros) <> 0) j ON j.account_id = k.account_id
	WHERE k.closing IS DISTINCT FROM j.closing
	UNION ALL
	SELECT 'closed months'' statements equal the journal', count(*) = 0,
		   count(*) || ' roll-up rows that differ from the journal' || coalesce(': ' || string_agg(d.what, ', '), '')
	/* the months after the last archived one (their journal is in the database) */
	FROM (SELECT 'customer ' || x.customer_id AS what FROM (
			  (SELECT k.customer_id, k.month, k.recharged, k.vouchers_granted, k.charged, k.refunded, k.cash_change, k.used
			   FROM @extschema@.customer_month k WHERE whole AND k.month > (SELECT f.archived FROM base f)
			   EXCEPT ALL
			   SELECT * FROM @extschema@.customer_movements((SELECT f.since FROM base f), @extschema@.closed_until()) WHERE whole)
			  UNION ALL
			  (SELECT * FROM @extschema@.customer_movements((SELECT f.since FROM base f), @extschema@.closed_until()) WHERE whole
			   EXCEPT ALL
			   SELECT k.customer_id, k.month, k.recharged, k.vouchers_granted, k.charged, k.refunded, k.cash_change, k.used
			   FROM @extschema@.customer_month k WHERE whole AND k.month > (SELECT f.archived FROM base f))) x
		  UNION ALL
		  SELECT 'partner ' || x.partner_id FROM (
			  (SELECT k.partner_id, k.month, k.gross, k.fees, k.voucher_paid, k.income, k.deposits, k.compensation, k.withdrawn
			   FROM @extschema@.partner_month k WHERE whole AND k.month > (SELECT f.archived FROM base f)
			   EXCEPT ALL
			   SELECT p.partner, p.month, p.gross, p.fees, p.voucher_paid, p.income, p.deposits, p.compensation, p.withdrawn
			   FROM @extschema@.partner_movements((SELECT f.since FROM base f), @extschema@.closed_until()) p WHERE whole)
			  UNION ALL
			  (SELECT p.partner, p.month, p.gross, p.fees, p.voucher_paid, p.income, p.deposits, p.compensation, p.withdrawn
			   FROM @extschema@.partner_movements((SELECT f.since FROM base f), @extschema@.closed_until()) p WHERE whole
			   EXCEPT ALL
			   SELECT k.partner_id, k.month, k.gross, k.fees, k.voucher_paid, k.income, k.deposits, k.compensation, k.withdrawn
			   FROM @extschema@.partner_month k WHERE whole AND k.month > (SELECT f.archived FROM base f))) x
		  UNION ALL
		  SELECT 'platform day ' || x.day FROM (
			  (SELECT d.day, d.currency, d.service_fees, d.commissions, d.voucher_breakage, d.compensation_paid,
					  d.compensation_recovered, d.vouchers_spent, d.forfeits
			   FROM @extschema@.platform_day d WHERE whole AND d.day >= (SELECT f.first_day FROM base f)
			   EXCEPT ALL
			   SELECT * FROM @extschema@.platform_days((SELECT f.since FROM base f), @extschema@.closed_until()) WHERE whole)
			  UNION ALL
			  (SELECT * FROM @extschema@.platform_days((SELECT f.since FROM base f), @extschema@.closed_until()) WHERE whole
			   EXCEPT ALL
			   SELECT d.day, d.currency, d.service_fees, d.commissions, d.voucher_breakage, d.compensation_paid,
					  d.compensation_recovered, d.vouchers_spent, d.forfeits
			   FROM @extschema@.platform_day d WHERE whole AND d.day >= (SELECT f.first_day FROM base f))) x
		  UNION ALL
		  SELECT 'instance ' || x.instance_id FROM (
			  (SELECT h.instance_id, h.customer_id, h.hour, h.seconds, h.charged, h.voucher_paid, h.cash_paid
			   FROM @extschema@.instance_hour h WHERE whole AND h.month > (SELECT f.archived FROM base f)
			   EXCEPT ALL
			   SELECT i.* FROM @extschema@.closed_month c
			   CROSS JOIN LATERAL @extschema@.instance_hours(c.starts_at, c.ends_at) i WHERE whole AND c.month > (SELECT f.archived FROM base f))
			  UNION ALL
			  (SELECT i.* FROM @extschema@.closed_month c
			   CROSS JOIN LATERAL @extschema@.instance_hours(c.starts_at, c.ends_at) i WHERE whole AND c.month > (SELECT f.archived FROM base f)
			   EXCEPT ALL
			   SELECT h.instance_id, h.customer_id, h.hour, h.seconds, h.charged, h.voucher_paid, h.cash_paid
			   FROM @extschema@.instance_hour h WHERE whole AND h.month > (SELECT f.archived FROM base f))) x) d
$$;
COMMENT ON FUNCTION @extschema@.verify_months(boolean) IS 'The closed months'' invariants (issue 14): roll-ups unchanged since closing (digest), months in sequence with balances carried; full: the roll-ups recomputed from the journal';

CREATE FUNCTION @extschema@.verify(full boolean DEFAULT false)
	RETURNS TABLE (check_name text, ok boolean, detail text)
	LANGUAGE sql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	SET jit = off			/* compiling the plan of every month's partition costs more than the read */
	AS $$
	SELECT * FROM @extschema@.verify_ledger(coalesce($1, false))
	UNION ALL
	SELECT * FROM @extschema@.verify_customers(coalesce($1, false))
	UNION ALL
	SELECT * FROM @extschema@.verify_exchange(coalesce($1, false))
	UNION ALL
	SELECT * FROM @extschema@.verify_months(coalesce($1, false))
$$;
COMMENT ON FUNCTION @extschema@.verify(boolean) IS 'Check every invariant (R-LED-3): the ledger''s, the customers'', the exchange''s and the closed months'', one row per check with ok and a detail; the open months and the closed months'' roll-ups, or (full) the whole journal';
