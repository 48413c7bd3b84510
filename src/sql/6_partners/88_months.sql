/*
 * 88_months.sql — the partners' and the platform's roll-ups of closed
 * months (issue 14): partner_month, a partner's statement row of the month
 * (partner_statement), and platform_day, the platform's revenue of each day
 * of the month (platform_revenue).  The views read closed months from them
 * and only the open months from the journal, with the same functions.
 *
 * Map (scripts/file-map.pl):
 * API: partner_movements, platform_days.
 * Internals: close_partner_month, partner_month_digest.
 * Tables: partner_month, platform_day.
 * Uses: 1_types, 2_base, 3_ledger, 5_customers.
 */

/*
 * Each partner's month over what is dated in [lo, hi): gross charged on its
 * machines, platform fees, the voucher-paid part, its income (order lines);
 * deposits moved, compensation deducted, paid out (its transfers); and the
 * month's change of what it may withdraw.  Inlined; the bounds computed once.
 */
CREATE FUNCTION @extschema@.partner_movements(lo timestamptz, hi timestamptz)
	RETURNS TABLE (partner bigint, month date, gross @extschema@.amount, fees @extschema@.amount,
				   voucher_paid @extschema@.amount, income @extschema@.amount, deposits @extschema@.amount,
				   compensation @extschema@.amount, withdrawn @extschema@.amount, change @extschema@.amount)
	LANGUAGE sql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	SET jit = off			/* compiling the plan of every month's partition costs more than the read */
	AS $$
	WITH lines AS (
		SELECT o.partner_id, (pg_catalog.date_trunc('month', o.at AT TIME ZONE (SELECT @extschema@.billing_timezone())))::date AS month,
			   @extschema@.sum(o.charge) AS gross, @extschema@.sum(o.platform_fee) AS fees,
			   @extschema@.sum(o.voucher_paid) AS voucher_paid, @extschema@.sum(o.partner_income) AS income
		FROM @extschema@.order_line o
		WHERE o.at >= (SELECT lo) AND o.at < (SELECT hi)
		GROUP BY 1, 2
	), moves AS (
		SELECT x.partner_id, (pg_catalog.date_trunc('month', x.at AT TIME ZONE (SELECT @extschema@.billing_timezone())))::date AS month,
			   @extschema@.sum(CASE WHEN x.credit_account = d.account_id THEN x.amount ELSE -x.amount END)
				   FILTER (WHERE d.account_id IN (x.debit_account, x.credit_account)) AS deposits,
			   @extschema@.sum(x.amount) FILTER (WHERE x.kind = 'compensation') AS compensation,
			   @extschema@.sum(x.amount) FILTER (WHERE x.credit_account = w.account_id) AS withdrawn
		FROM @extschema@.transfer x
		JOIN @extschema@.partner p ON p.partner_id = x.partner_id
		JOIN @extschema@.account d ON (d.owner_kind, d.owner_id, d.purpose, d.currency) = ('partner', p.partner_id, 'deposit', p.currency)
		JOIN @extschema@.account w ON (w.owner_kind, w.owner_id, w.purpose, w.currency) = ('world', 0, 'payouts', p.currency)
		WHERE x.partner_id IS NOT NULL AND x.at >= (SELECT lo) AND x.at < (SELECT hi)
		  AND (x.kind = 'compensation' OR d.account_id IN (x.debit_account, x.credit_account) OR x.credit_account = w.account_id)
		GROUP BY 1, 2
	)
	SELECT s.partner, s.month, s.gross, s.fees, s.voucher_paid, s.income, s.deposits, s.compensation, s.withdrawn,
		   s.income - s.deposits - s.withdrawn - s.compensation
	FROM (SELECT coalesce(l.partner_id, m.partner_id) AS partner, coalesce(l.month, m.month) AS month,
				 coalesce(l.gross, z.z) AS gross, coalesce(l.fees, z.z) AS fees, coalesce(l.voucher_paid, z.z) AS voucher_paid,
				 coalesce(l.income, z.z) AS income, coalesce(m.deposits, z.z) AS deposits,
				 coalesce(m.compensation, z.z) AS compensation, coalesce(m.withdrawn, z.z) AS withdrawn
		  FROM lines l
		  FULL JOIN moves m ON m.partner_id = l.partner_id AND m.month = l.month
		  JOIN @extschema@.partner p ON p.partner_id = coalesce(l.partner_id, m.partner_id)
		  CROSS JOIN LATERAL (SELECT @extschema@.zero(p.currency) AS z) z) s
$$;
COMMENT ON FUNCTION @extschema@.partner_movements(timestamptz, timestamptz) IS 'Each partner''s statement figures by billing month over what is dated in [lo, hi), and the change of what it may withdraw (partner_statement, its roll-up)';

CREATE TABLE @extschema@.partner_month (
	partner_id	bigint NOT NULL,
	month		date NOT NULL,
	gross		@extschema@.amount NOT NULL,
	fees		@extschema@.amount NOT NULL,
	voucher_paid @extschema@.amount NOT NULL,
	income		@extschema@.amount NOT NULL,
	deposits	@extschema@.amount NOT NULL,
	compensation @extschema@.amount NOT NULL,
	withdrawn	@extschema@.amount NOT NULL,
	running		@extschema@.amount NOT NULL,	/* income less deposits, withdrawn, compensation, ever, to the month's end */
	PRIMARY KEY (partner_id, month)
);
CREATE INDEX partner_month_month_idx ON @extschema@.partner_month (month);
COMMENT ON TABLE @extschema@.partner_month IS 'A roll-up of a closed month: a partner''s statement row (partner_statement), written when the month closes; append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.partner_month', '');
SELECT @extschema@.make_append_only('@extschema@.partner_month');

-- the platform's revenue of each day and currency over the transfers dated in [lo, hi) (platform_revenue; inlined)
CREATE FUNCTION @extschema@.platform_days(lo timestamptz, hi timestamptz)
	RETURNS TABLE (day date, currency text, service_fees @extschema@.amount, commissions @extschema@.amount,
				   voucher_breakage @extschema@.amount, compensation_paid @extschema@.amount,
				   compensation_recovered @extschema@.amount, vouchers_spent @extschema@.amount, forfeits @extschema@.amount)
	LANGUAGE plpgsql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	SET plan_cache_mode = force_custom_plan	/* the bounds known when planning: months outside them not even planned */
	SET jit = off			/* compiling the plan of every month's partition costs more than the read */
	AS $$
#variable_conflict use_column
BEGIN
	RETURN QUERY
	WITH legs AS (
		SELECT x.at, x.kind, x.credit_account AS account_id, x.amount FROM @extschema@.transfer x
		WHERE x.at >= lo AND x.at < hi
		UNION ALL
		SELECT x.at, x.kind, x.debit_account, -x.amount FROM @extschema@.transfer x
		WHERE x.at >= lo AND x.at < hi
	)
	SELECT (l.at AT TIME ZONE (SELECT @extschema@.billing_timezone()))::date, a.currency,
		   coalesce(@extschema@.sum(l.amount) FILTER (WHERE a.purpose = 'fee'), z.z),
		   coalesce(@extschema@.sum(l.amount) FILTER (WHERE a.purpose = 'commission'), z.z),
		   coalesce(@extschema@.sum(l.amount) FILTER (WHERE a.purpose = 'voucher_breakage'), z.z),
		   coalesce(-@extschema@.sum(l.amount) FILTER (WHERE a.purpose = 'compensation' AND @extschema@.micros(l.amount) < 0), z.z),
		   coalesce(@extschema@.sum(l.amount) FILTER (WHERE a.purpose = 'compensation' AND @extschema@.micros(l.amount) > 0), z.z),
		   coalesce(@extschema@.sum(l.amount) FILTER (WHERE a.purpose = 'voucher_expense' AND l.kind = 'voucher_spend'), z.z),
		   coalesce(@extschema@.sum(l.amount) FILTER (WHERE a.purpose = 'forfeit'), z.z)
	FROM legs l
	JOIN @extschema@.account a ON a.account_id = l.account_id AND a.owner_kind = 'platform'
	CROSS JOIN LATERAL (SELECT @extschema@.zero(a.currency) AS z) z
	GROUP BY 1, 2, z.z;
END
$$;
COMMENT ON FUNCTION @extschema@.platform_days(timestamptz, timestamptz) IS 'The platform''s revenue of each day and currency over the transfers dated in [lo, hi) (platform_revenue, its roll-up)';

CREATE TABLE @extschema@.platform_day (
	day			date NOT NULL,
	currency	text NOT NULL,
	month		date NOT NULL,				/* the closed month of the day */
	service_fees @extschema@.amount NOT NULL,
	commissions	@extschema@.amount NOT NULL,
	voucher_breakage @extschema@.amount NOT NULL,
	compensation_paid @extschema@.amount NOT NULL,
	compensation_recovered @extschema@.amount NOT NULL,
	vouchers_spent @extschema@.amount NOT NULL,
	forfeits	@extschema@.amount NOT NULL,
	PRIMARY KEY (day, currency)
);
CREATE INDEX platform_day_month_idx ON @extschema@.platform_day (month);
COMMENT ON TABLE @extschema@.platform_day IS 'A roll-up of a closed month: the platform''s revenue of a day and currency (platform_revenue); append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.platform_day', '');
SELECT @extschema@.make_append_only('@extschema@.platform_day');

-- the partners' and the platform's roll-ups of month m (the months before it closed): returns their digest
CREATE FUNCTION @extschema@.close_partner_month(m date) RETURNS text
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	b record := @extschema@.month_bounds(m);
BEGIN
	INSERT INTO @extschema@.partner_month (partner_id, month, gross, fees, voucher_paid, income, deposits, compensation,
										   withdrawn, running)
	SELECT s.partner, s.month, s.gross, s.fees, s.voucher_paid, s.income, s.deposits, s.compensation, s.withdrawn,
		   coalesce(p.running, @extschema@.zero(@extschema@.currency(s.change))) + s.change
	FROM @extschema@.partner_movements(b.starts_at, b.ends_at) s
	LEFT JOIN LATERAL (SELECT k.running FROM @extschema@.partner_month k
					   WHERE k.partner_id = s.partner AND k.month < s.month ORDER BY k.month DESC LIMIT 1) p ON true;
	INSERT INTO @extschema@.platform_day (day, currency, month, service_fees, commissions, voucher_breakage,
										  compensation_paid, compensation_recovered, vouchers_spent, forfeits)
	SELECT d.day, d.currency, m, d.service_fees, d.commissions, d.voucher_breakage, d.compensation_paid,
		   d.compensation_recovered, d.vouchers_spent, d.forfeits
	FROM @extschema@.platform_days(b.starts_at, b.ends_at) d;
	RETURN @extschema@.partner_month_digest(m);
END
$$;
COMMENT ON FUNCTION @extschema@.close_partner_month(date) IS 'Write the partners'' and the platform''s roll-ups of a closed month (statement rows, revenue by day); returns their digest';

CREATE FUNCTION @extschema@.partner_month_digest(m date) RETURNS text
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
	SELECT pg_catalog.md5(@extschema@.rollup_sum('@extschema@.partner_month', m) || ';'
						  || @extschema@.rollup_sum('@extschema@.platform_day', m))
$$;
COMMENT ON FUNCTION @extschema@.partner_month_digest(date) IS 'The digest of the partners'' and the platform''s roll-ups of a month';
