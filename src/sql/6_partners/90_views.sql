/*
 * 90_views.sql — views for BI on the partner and platform side
 * (R-BI-1, R-BI-2): months and days of the billing time zone; everything
 * derives from order lines and the journal.
 *
 * Map (scripts/file-map.pl):
 * API: partner_statement, partner_statement_parts, partner_statement_running,
 *   platform_revenue.
 * Uses: 1_types, 3_ledger, 4_parties.
 */

/*
 * Closed months come from their roll-ups (88_months.sql), the open months
 * from the journal dated from closed_until() on.
 */
-- the statement's running figure before the floor: what the partitions behind a proxy add up (issue 18)
CREATE VIEW @extschema@.partner_statement_running AS
SELECT k.partner_id AS partner, k.month, k.gross, k.fees, k.voucher_paid, k.income, k.deposits, k.compensation, k.withdrawn,
	   k.running
FROM @extschema@.partner_month k
UNION ALL
SELECT s.partner, s.month, s.gross, s.fees, s.voucher_paid, s.income, s.deposits, s.compensation, s.withdrawn,
	   coalesce(p.running, @extschema@.zero(@extschema@.currency(s.change)))
	   + @extschema@.sum(s.change) OVER (PARTITION BY s.partner ORDER BY s.month)
FROM @extschema@.partner_movements(coalesce(@extschema@.closed_until(), '-infinity'), 'infinity') s
LEFT JOIN LATERAL (SELECT c.running FROM @extschema@.partner_month c
				   WHERE c.partner_id = s.partner ORDER BY c.month DESC LIMIT 1) p ON true;
COMMENT ON VIEW @extschema@.partner_statement_running IS 'partner_statement with running, what the partner may withdraw once the month is over before the floor at zero (R-PRT-2): the part a partition adds to the sum behind a proxy (issue 18)';

CREATE VIEW @extschema@.partner_statement AS
SELECT r.partner, r.month, r.gross, r.fees, r.voucher_paid, r.income, r.deposits, r.compensation, r.withdrawn,
	   GREATEST(r.running, @extschema@.zero(@extschema@.currency(r.running))) AS withdrawable
FROM @extschema@.partner_statement_running r;
COMMENT ON VIEW @extschema@.partner_statement IS 'One row per partner and month (billing time zone) with activity: gross charged on its machines, platform fees, the voucher-paid part, its income (gross = voucher_paid + fees + income), deposits moved (refunds negative), compensation deducted, paid out (withdrawals and deposit refunds), and withdrawable once the month is over (R-PRT-2, R-PRT-3)';

-- the statement's rows of this partition for the proxy, with the partition (issue 18)
CREATE FUNCTION @extschema@.partner_statement_parts()
	RETURNS TABLE (part integer, partner bigint, month date, gross @extschema@.amount, fees @extschema@.amount,
				   voucher_paid @extschema@.amount, income @extschema@.amount, deposits @extschema@.amount,
				   compensation @extschema@.amount, withdrawn @extschema@.amount, running @extschema@.amount)
	LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	SELECT coalesce((SELECT k.partition FROM @extschema@.partition_identity k), 0), r.*
	FROM @extschema@.partner_statement_running r
$$;
COMMENT ON FUNCTION @extschema@.partner_statement_parts() IS 'This partition''s partner_statement rows with their running figure before the floor, and the partition: the proxy sums them and floors once (R-PRT-2, issue 18)';

CREATE VIEW @extschema@.platform_revenue AS
SELECT d.day, d.currency, d.service_fees, d.commissions, d.voucher_breakage, d.compensation_paid, d.compensation_recovered,
	   d.vouchers_spent, d.forfeits
FROM @extschema@.platform_day d
UNION ALL
SELECT d.day, d.currency, d.service_fees, d.commissions, d.voucher_breakage, d.compensation_paid, d.compensation_recovered,
	   d.vouchers_spent, d.forfeits
FROM @extschema@.platform_days(coalesce(@extschema@.closed_until(), '-infinity'), 'infinity') d;
COMMENT ON VIEW @extschema@.platform_revenue IS 'One row per day (billing time zone) and currency with platform movements: service fees (order lines and storage, net of reversals), commissions, voucher breakage, compensation paid to customers and recovered from partners, usage paid by vouchers (the platform''s voucher expense, R-PRT-3) and forfeits';
