/*
 * 90_views.sql — views for BI on the partner and platform side
 * (R-BI-1, R-BI-2): months and days of the billing time zone; everything
 * derives from order lines and the journal.
 *
 * Map (scripts/file-map.pl):
 * API: partner_statement, platform_revenue.
 * Uses: 1_types, 2_base, 3_ledger, 5_customers.
 */

CREATE VIEW @extschema@.partner_statement AS
WITH lines AS (
	SELECT o.partner_id, (pg_catalog.date_trunc('month', o.at AT TIME ZONE @extschema@.billing_timezone()))::date AS month,
		   @extschema@.sum(o.charge) AS gross, @extschema@.sum(o.platform_fee) AS fees,
		   @extschema@.sum(o.voucher_paid) AS voucher_paid, @extschema@.sum(o.partner_income) AS income
	FROM @extschema@.order_line o
	GROUP BY 1, 2
), moves AS (
	SELECT x.partner_id, (pg_catalog.date_trunc('month', x.at AT TIME ZONE @extschema@.billing_timezone()))::date AS month,
		   @extschema@.sum(CASE WHEN x.credit_account = d.account_id THEN x.amount ELSE -x.amount END)
			   FILTER (WHERE d.account_id IN (x.debit_account, x.credit_account)) AS deposits,
		   @extschema@.sum(x.amount) FILTER (WHERE x.kind = 'compensation') AS compensation,
		   @extschema@.sum(x.amount) FILTER (WHERE x.credit_account = w.account_id) AS withdrawn
	FROM @extschema@.transfer x
	JOIN @extschema@.partner p ON p.partner_id = x.partner_id
	JOIN @extschema@.account d ON (d.owner_kind, d.owner_id, d.purpose, d.currency) = ('partner', p.partner_id, 'deposit', p.currency)
	JOIN @extschema@.account w ON (w.owner_kind, w.owner_id, w.purpose, w.currency) = ('world', 0, 'payouts', p.currency)
	WHERE x.partner_id IS NOT NULL
	GROUP BY 1, 2
), months AS (
	SELECT coalesce(l.partner_id, m.partner_id) AS partner, coalesce(l.month, m.month) AS month,
		   coalesce(l.gross, z.z) AS gross, coalesce(l.fees, z.z) AS fees, coalesce(l.voucher_paid, z.z) AS voucher_paid,
		   coalesce(l.income, z.z) AS income, coalesce(m.deposits, z.z) AS deposits,
		   coalesce(m.compensation, z.z) AS compensation, coalesce(m.withdrawn, z.z) AS withdrawn, z.z
	FROM lines l
	FULL JOIN moves m ON m.partner_id = l.partner_id AND m.month = l.month
	JOIN @extschema@.partner p ON p.partner_id = coalesce(l.partner_id, m.partner_id)
	CROSS JOIN LATERAL (SELECT @extschema@.zero(p.currency) AS z) z
)
SELECT s.partner, s.month, s.gross, s.fees, s.voucher_paid, s.income, s.deposits, s.compensation, s.withdrawn,
	   GREATEST(@extschema@.sum(s.income - s.deposits - s.withdrawn - s.compensation)
					OVER (PARTITION BY s.partner ORDER BY s.month), s.z) AS withdrawable
FROM months s;
COMMENT ON VIEW @extschema@.partner_statement IS 'One row per partner and month (billing time zone) with activity: gross charged on its machines, platform fees, the voucher-paid part, its income (gross = voucher_paid + fees + income), deposits moved (refunds negative), compensation deducted, paid out (withdrawals and deposit refunds), and withdrawable once the month is over (R-PRT-2, R-PRT-3)';

CREATE VIEW @extschema@.platform_revenue AS
WITH legs AS (
	SELECT x.at, x.kind, x.credit_account AS account_id, x.amount FROM @extschema@.transfer x
	UNION ALL
	SELECT x.at, x.kind, x.debit_account, -x.amount FROM @extschema@.transfer x
)
SELECT (l.at AT TIME ZONE @extschema@.billing_timezone())::date AS day, a.currency,
	   coalesce(@extschema@.sum(l.amount) FILTER (WHERE a.purpose = 'fee'), z.z) AS service_fees,
	   coalesce(@extschema@.sum(l.amount) FILTER (WHERE a.purpose = 'commission'), z.z) AS commissions,
	   coalesce(@extschema@.sum(l.amount) FILTER (WHERE a.purpose = 'voucher_breakage'), z.z) AS voucher_breakage,
	   coalesce(-@extschema@.sum(l.amount) FILTER (WHERE a.purpose = 'compensation' AND @extschema@.micros(l.amount) < 0), z.z)
		   AS compensation_paid,
	   coalesce(@extschema@.sum(l.amount) FILTER (WHERE a.purpose = 'compensation' AND @extschema@.micros(l.amount) > 0), z.z)
		   AS compensation_recovered,
	   coalesce(@extschema@.sum(l.amount) FILTER (WHERE a.purpose = 'voucher_expense' AND l.kind = 'voucher_spend'), z.z)
		   AS vouchers_spent,
	   coalesce(@extschema@.sum(l.amount) FILTER (WHERE a.purpose = 'forfeit'), z.z) AS forfeits
FROM legs l
JOIN @extschema@.account a ON a.account_id = l.account_id AND a.owner_kind = 'platform'
CROSS JOIN LATERAL (SELECT @extschema@.zero(a.currency) AS z) z
GROUP BY 1, 2, z.z;
COMMENT ON VIEW @extschema@.platform_revenue IS 'One row per day (billing time zone) and currency with platform movements: service fees (order lines and storage, net of reversals), commissions, voucher breakage, compensation paid to customers and recovered from partners, usage paid by vouchers (the platform''s voucher expense, R-PRT-3) and forfeits';
