/*
 * 88_months.sql — the customers' roll-ups of closed months (issue 14):
 * customer_month, a customer's statement row of the month (customer_statement),
 * and instance_hour, the usage of each instance and hour charged in the
 * month (instance_usage).  The views read closed months from them and only
 * the open months from the journal, with the same functions (a month's rows
 * are written once, when the month closes, from what the views would show).
 *
 * Map (scripts/file-map.pl):
 * API: customer_movements, instance_hours.
 * Internals: close_customer_month, customer_month_digest,
 *   instance_hour_digest.
 * Tables: customer_month, instance_hour.
 * Uses: 1_types, 2_base, 3_ledger.
 */

/*
 * Each customer's movements by billing month, of the transfers dated in
 * [lo, hi): recharged, vouchers granted, charged (cash and vouchers, storage
 * included), refunded, and the change of cash.  Inlined by the planner; the
 * bounds are computed once (a month's partitions outside them are not read).
 */
CREATE FUNCTION @extschema@.customer_movements(lo timestamptz, hi timestamptz)
	RETURNS TABLE (customer bigint, month date, recharged @extschema@.amount, vouchers_granted @extschema@.amount,
				   charged @extschema@.amount, refunded @extschema@.amount, cash_change @extschema@.amount,
				   used @extschema@.amount)
	LANGUAGE plpgsql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	SET plan_cache_mode = force_custom_plan	/* the bounds known when planning: months outside them not even planned */
	SET jit = off			/* compiling the plan of every month's partition costs more than the read */
	AS $$
#variable_conflict use_column
BEGIN
	RETURN QUERY
	SELECT x.customer_id,
		   (pg_catalog.date_trunc('month', x.at AT TIME ZONE (SELECT @extschema@.billing_timezone())))::date,
		   coalesce(@extschema@.sum(x.amount) FILTER (WHERE x.kind = 'recharge'), z.z),
		   coalesce(@extschema@.sum(x.amount) FILTER (WHERE x.kind IN ('voucher', 'bonus')), z.z),
		   coalesce(@extschema@.sum(x.amount) FILTER (WHERE x.kind IN ('income', 'fee', 'voucher_spend', 'storage')), z.z),
		   coalesce(@extschema@.sum(x.amount) FILTER (WHERE x.kind = 'refund'), z.z),
		   coalesce(@extschema@.sum(CASE WHEN x.credit_account = w.cash_account THEN x.amount ELSE -x.amount END)
					FILTER (WHERE w.cash_account IN (x.debit_account, x.credit_account)), z.z),
		   /* R-REF-1: what the customer's money paid, not refundable (refundable) */
		   coalesce(@extschema@.sum(CASE WHEN x.reverses IS NULL THEN x.amount ELSE -x.amount END)
					FILTER (WHERE CASE WHEN x.reverses IS NULL THEN @extschema@.used_kind(x.kind)
									   ELSE @extschema@.reverses_used(x.reverses) END
							  AND (x.debit_account IN (w.cash_account, w.voucher_account)
								   OR x.credit_account IN (w.cash_account, w.voucher_account))), z.z)
	FROM @extschema@.transfer x
	JOIN @extschema@.wallet w ON w.customer_id = x.customer_id
	CROSS JOIN LATERAL (SELECT @extschema@.zero(@extschema@.currency(w.cash)) AS z) z
	WHERE x.at >= lo AND x.at < hi
	GROUP BY 1, 2, z.z;
END
$$;
COMMENT ON FUNCTION @extschema@.customer_movements(timestamptz, timestamptz) IS 'Each customer''s movements by billing month over the transfers dated in [lo, hi) (customer_statement, its roll-up)';

CREATE TABLE @extschema@.customer_month (
	customer_id	bigint NOT NULL,
	month		date NOT NULL,
	recharged	@extschema@.amount NOT NULL,
	vouchers_granted @extschema@.amount NOT NULL,
	charged		@extschema@.amount NOT NULL,
	refunded	@extschema@.amount NOT NULL,
	cash_change	@extschema@.amount NOT NULL,
	closing_cash @extschema@.amount NOT NULL,	/* cash at the month's end: the statements' running sum */
	used		@extschema@.amount NOT NULL,	/* what the customer's money paid: not refundable (R-REF-1) */
	PRIMARY KEY (customer_id, month)
);
CREATE INDEX customer_month_month_idx ON @extschema@.customer_month (month);
COMMENT ON TABLE @extschema@.customer_month IS 'A roll-up of a closed month: a customer''s statement row (customer_statement), written when the month closes; append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.customer_month', '');
SELECT @extschema@.make_append_only('@extschema@.customer_month');

-- the usage of each instance and hour over the order lines dated in [lo, hi) (instance_usage; inlined)
CREATE FUNCTION @extschema@.instance_hours(lo timestamptz, hi timestamptz)
	RETURNS TABLE (instance bigint, customer bigint, hour timestamptz, seconds bigint, charged @extschema@.amount,
				   voucher_paid @extschema@.amount, cash_paid @extschema@.amount)
	LANGUAGE plpgsql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	SET plan_cache_mode = force_custom_plan	/* the bounds known when planning: months outside them not even planned */
	SET jit = off			/* compiling the plan of every month's partition costs more than the read */
	AS $$
#variable_conflict use_column
BEGIN
	RETURN QUERY
	SELECT o.instance_id, o.customer_id,
		   pg_catalog.date_trunc('hour', pg_catalog.lower(o.usage) AT TIME ZONE (SELECT @extschema@.billing_timezone()))
			   AT TIME ZONE (SELECT @extschema@.billing_timezone()),
		   pg_catalog.sum(o.seconds)::bigint, @extschema@.sum(o.charge), @extschema@.sum(o.voucher_paid), @extschema@.sum(o.cash_paid)
	FROM @extschema@.order_line o
	WHERE o.at >= lo AND o.at < hi
	GROUP BY 1, 2, 3;
END
$$;
COMMENT ON FUNCTION @extschema@.instance_hours(timestamptz, timestamptz) IS 'The usage of each instance and hour of use over the order lines dated in [lo, hi) (instance_usage, its roll-up)';

/*
 * An hour of use is keyed by its start, the month by the order line's date:
 * a line dated in the next month (the settlement at midnight) adds to an
 * hour of the month before, so instance_usage sums the rows of both.
 */
CREATE TABLE @extschema@.instance_hour (
	month		date NOT NULL,				/* the month of the order lines' dates */
	instance_id	bigint NOT NULL,
	customer_id	bigint NOT NULL,
	hour		timestamptz NOT NULL,
	seconds		bigint NOT NULL,
	charged		@extschema@.amount NOT NULL,
	voucher_paid @extschema@.amount NOT NULL,
	cash_paid	@extschema@.amount NOT NULL,
	PRIMARY KEY (month, instance_id, hour)
);
CREATE INDEX instance_hour_hour_idx ON @extschema@.instance_hour (hour);
CREATE INDEX instance_hour_instance_idx ON @extschema@.instance_hour (instance_id);
COMMENT ON TABLE @extschema@.instance_hour IS 'A roll-up of a closed month: the usage of each instance and hour charged by the month''s order lines (instance_usage); append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.instance_hour', '');
SELECT @extschema@.make_append_only('@extschema@.instance_hour');

-- the customers' roll-ups of month m (the months before it closed): returns their digest
CREATE FUNCTION @extschema@.close_customer_month(m date) RETURNS text
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	b record := @extschema@.month_bounds(m);
BEGIN
	INSERT INTO @extschema@.customer_month (customer_id, month, recharged, vouchers_granted, charged, refunded,
											cash_change, closing_cash, used)
	SELECT s.customer, s.month, s.recharged, s.vouchers_granted, s.charged, s.refunded, s.cash_change,
		   coalesce(p.closing_cash, @extschema@.zero(@extschema@.currency(s.cash_change))) + s.cash_change, s.used
	FROM @extschema@.customer_movements(b.starts_at, b.ends_at) s
	LEFT JOIN LATERAL (SELECT k.closing_cash FROM @extschema@.customer_month k
					   WHERE k.customer_id = s.customer AND k.month < s.month ORDER BY k.month DESC LIMIT 1) p ON true;
	INSERT INTO @extschema@.instance_hour (month, instance_id, customer_id, hour, seconds, charged, voucher_paid, cash_paid)
	SELECT m, h.instance, h.customer, h.hour, h.seconds, h.charged, h.voucher_paid, h.cash_paid
	FROM @extschema@.instance_hours(b.starts_at, b.ends_at) h;
	RETURN @extschema@.customer_month_digest(m);	/* the hours: instance_hour_digest */
END
$$;
COMMENT ON FUNCTION @extschema@.close_customer_month(date) IS 'Write the customers'' roll-ups of a closed month (statement rows, instance hours); returns their digest';

CREATE FUNCTION @extschema@.customer_month_digest(m date) RETURNS text
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
	SELECT pg_catalog.md5(@extschema@.rollup_sum('@extschema@.customer_month', m))
$$;
COMMENT ON FUNCTION @extschema@.customer_month_digest(date) IS 'The digest of the customers'' statement roll-up of a month';

-- the hours of use are as many as the month's order lines: verify(full => true) checks their digest
CREATE FUNCTION @extschema@.instance_hour_digest(m date) RETURNS text
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
	SELECT pg_catalog.md5(@extschema@.rollup_sum('@extschema@.instance_hour', m))
$$;
COMMENT ON FUNCTION @extschema@.instance_hour_digest(date) IS 'The digest of the instance hours of a month''s order lines';
