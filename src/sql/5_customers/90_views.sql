/*
 * 90_views.sql — views for BI on the customer side (R-BI-1, R-BI-2):
 * hours, days and months are those of the billing time zone; amounts are
 * amounts; everything derives from order lines and the journal.
 *
 * Map (scripts/file-map.pl):
 * API: arrears, customer_statement, instance_usage.
 * Uses: 1_types, 2_base, 3_ledger.
 */

CREATE VIEW @extschema@.instance_usage AS
SELECT o.instance_id AS instance, o.customer_id AS customer,
	   pg_catalog.date_trunc('hour', pg_catalog.lower(o.usage) AT TIME ZONE @extschema@.billing_timezone())
		   AT TIME ZONE @extschema@.billing_timezone() AS hour,
	   pg_catalog.sum(o.seconds)::bigint AS seconds,
	   @extschema@.sum(o.charge) AS charged,
	   @extschema@.sum(o.voucher_paid) AS voucher_paid,
	   @extschema@.sum(o.cash_paid) AS cash_paid
FROM @extschema@.order_line o
GROUP BY 1, 2, 3;
COMMENT ON VIEW @extschema@.instance_usage IS 'One row per instance and hour (billing time zone) of use: seconds charged and the charge; a prepaid term counts in the hour it starts';

CREATE VIEW @extschema@.customer_statement AS
SELECT s.customer, s.month, s.recharged, s.vouchers_granted, s.charged, s.refunded,
	   @extschema@.sum(s.cash_change) OVER (PARTITION BY s.customer ORDER BY s.month) AS closing_cash
FROM (SELECT x.customer_id AS customer,
			 (pg_catalog.date_trunc('month', x.at AT TIME ZONE @extschema@.billing_timezone()))::date AS month,
			 coalesce(@extschema@.sum(x.amount) FILTER (WHERE x.kind = 'recharge'), z.z) AS recharged,
			 coalesce(@extschema@.sum(x.amount) FILTER (WHERE x.kind IN ('voucher', 'bonus')), z.z) AS vouchers_granted,
			 coalesce(@extschema@.sum(x.amount) FILTER (WHERE x.kind IN ('income', 'fee', 'voucher_spend', 'storage')), z.z) AS charged,
			 coalesce(@extschema@.sum(x.amount) FILTER (WHERE x.kind = 'refund'), z.z) AS refunded,
			 coalesce(@extschema@.sum(CASE WHEN x.credit_account = w.cash_account THEN x.amount ELSE -x.amount END)
					  FILTER (WHERE w.cash_account IN (x.debit_account, x.credit_account)), z.z) AS cash_change
	  FROM @extschema@.transfer x
	  JOIN @extschema@.wallet w ON w.customer_id = x.customer_id
	  CROSS JOIN LATERAL (SELECT @extschema@.zero(@extschema@.currency(w.cash)) AS z) z
	  GROUP BY 1, 2, z.z) s;
COMMENT ON VIEW @extschema@.customer_statement IS 'One row per customer and month (billing time zone) with movements: recharged, vouchers granted, charged (cash and vouchers, storage included), refunded, and cash at the month''s end';

CREATE VIEW @extschema@.arrears AS
SELECT a.customer_id AS customer, a.since, -w.cash AS amount
FROM @extschema@.arrears_period a
JOIN @extschema@.wallet w USING (customer_id)
WHERE a.repaid_at IS NULL AND @extschema@.micros(w.cash) < 0;
COMMENT ON VIEW @extschema@.arrears IS 'One row per customer in arrears now: since when, and how much cash is owed';
