/*
 * 90_views.sql — views for BI on the customer side (R-BI-1, R-BI-2):
 * hours, days and months are those of the billing time zone; amounts are
 * amounts; everything derives from order lines and the journal.
 *
 * Map (scripts/file-map.pl):
 * API: arrears, customer_statement, instance_usage.
 * Uses: 1_types, 3_ledger.
 */

/*
 * Closed months come from their roll-ups (88_months.sql), the open months
 * from the journal dated from closed_until() on: a month's query reads one
 * month of roll-ups and the open months' partitions, whatever the history.
 */
CREATE VIEW @extschema@.instance_usage AS
SELECT u.instance, u.customer, u.hour, pg_catalog.sum(u.seconds)::bigint AS seconds,
	   @extschema@.sum(u.charged) AS charged, @extschema@.sum(u.voucher_paid) AS voucher_paid,
	   @extschema@.sum(u.cash_paid) AS cash_paid
FROM (SELECT h.instance_id AS instance, h.customer_id AS customer, h.hour, h.seconds, h.charged, h.voucher_paid, h.cash_paid
	  FROM @extschema@.instance_hour h
	  UNION ALL
	  SELECT o.instance, o.customer, o.hour, o.seconds, o.charged, o.voucher_paid, o.cash_paid
	  FROM @extschema@.instance_hours(coalesce(@extschema@.closed_until(), '-infinity'), 'infinity') o) u
GROUP BY 1, 2, 3;
COMMENT ON VIEW @extschema@.instance_usage IS 'One row per instance and hour (billing time zone) of use: seconds charged and the charge; a prepaid term counts in the hour it starts';

CREATE VIEW @extschema@.customer_statement AS
SELECT k.customer_id AS customer, k.month, k.recharged, k.vouchers_granted, k.charged, k.refunded, k.closing_cash
FROM @extschema@.customer_month k
UNION ALL
SELECT s.customer, s.month, s.recharged, s.vouchers_granted, s.charged, s.refunded,
	   coalesce(p.closing_cash, @extschema@.zero(@extschema@.currency(s.cash_change)))
	   + @extschema@.sum(s.cash_change) OVER (PARTITION BY s.customer ORDER BY s.month) AS closing_cash
FROM @extschema@.customer_movements(coalesce(@extschema@.closed_until(), '-infinity'), 'infinity') s
LEFT JOIN LATERAL (SELECT c.closing_cash FROM @extschema@.customer_month c
				   WHERE c.customer_id = s.customer ORDER BY c.month DESC LIMIT 1) p ON true;
COMMENT ON VIEW @extschema@.customer_statement IS 'One row per customer and month (billing time zone) with movements: recharged, vouchers granted, charged (cash and vouchers, storage included), refunded, and cash at the month''s end';

CREATE VIEW @extschema@.arrears AS
SELECT a.customer_id AS customer, a.since, -w.cash AS amount
FROM @extschema@.arrears_period a
JOIN @extschema@.wallet w USING (customer_id)
WHERE a.repaid_at IS NULL AND @extschema@.micros(w.cash) < 0;
COMMENT ON VIEW @extschema@.arrears IS 'One row per customer in arrears now: since when, and how much cash is owed';
