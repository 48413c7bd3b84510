/*
 * 70_storage.sql — cloud disk and NAS storage (R-STO-1..4) and arrears
 * (R-ARR-1..3).
 *
 * Storage is recorded as levels over time.  The excess over the free quota
 * accrues per GB-hour, exactly (by the second; storage_accrued shows the
 * month so far), except while the customer is in arrears (R-ARR-4: data is
 * kept free of charge until the arrears are repaid); the month's total is settled at 00:00 on the 1st in the
 * billing time zone, rounded to cents, from cash only, which may go below
 * zero: arrears.  Five days before that settlement the month's fee is
 * estimated and a low balance raises storage_balance_low.
 *
 * Map (scripts/file-map.pl):
 * API: set_storage.
 * Internals: arrears_repaid, estimate_storage, next_storage_step,
 *   note_arrears, repay_arrears, settle_storage, storage_usage.
 * Tables: arrears_period, storage_bill, storage_level.
 * Uses: 1_types, 2_base, 3_ledger.
 */

CREATE TABLE @extschema@.storage_level (
	customer_id	bigint NOT NULL,
	kind		text NOT NULL CHECK (kind IN ('disk', 'nas')),
	since		timestamptz NOT NULL,
	gb			numeric NOT NULL CHECK (gb >= 0),
	PRIMARY KEY (customer_id, kind, since)
);
COMMENT ON TABLE @extschema@.storage_level IS 'A customer''s cloud disk or NAS usage in GB from since on, until the next level (R-STO-1)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.storage_level', '');

CREATE TABLE @extschema@.storage_bill (
	bill_id		bigint PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	customer_id	bigint NOT NULL,
	month		date NOT NULL,				/* first day of the month billed, billing time zone */
	disk_gb_hours numeric NOT NULL,		/* excess over the free quota */
	nas_gb_hours numeric NOT NULL,
	amount		@extschema@.amount NOT NULL,
	at			timestamptz NOT NULL,		/* 00:00 on the 1st of the next month */
	UNIQUE (customer_id, month)
);
COMMENT ON TABLE @extschema@.storage_bill IS 'The monthly storage settlement of a customer (R-STO-2), once per month, append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.storage_bill', '');
SELECT @extschema@.make_append_only('@extschema@.storage_bill');

CREATE TABLE @extschema@.arrears_period (
	arrears_id	bigint PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	customer_id	bigint NOT NULL,
	since		timestamptz NOT NULL,
	repaid_at	timestamptz
);
CREATE UNIQUE INDEX arrears_open_idx ON @extschema@.arrears_period (customer_id) WHERE repaid_at IS NULL;
COMMENT ON TABLE @extschema@.arrears_period IS 'A stretch of time in which a customer''s cash was below zero (R-ARR-1)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.arrears_period', '');


CREATE FUNCTION @extschema@.set_storage(customer bigint, kind text, gb numeric, at timestamptz DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	last_at timestamptz;
	t timestamptz;
BEGIN
	PERFORM @extschema@.lock_wallet(customer);
	IF kind IS NULL OR kind NOT IN ('disk', 'nas') THEN
		RAISE EXCEPTION 'invalid storage kind: %', coalesce(kind, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Storage kinds are disk and nas.';
	END IF;
	/* R-SEC-3: a finite level up to max_storage_gb, or every later tick would fail on it */
	IF gb IS NULL OR gb::text IN ('NaN', 'Infinity', '-Infinity') OR gb < 0
	   OR gb > (@extschema@.storage_settings()).max_storage_gb THEN
		RAISE EXCEPTION 'storage must be from 0 to % GB: %', (@extschema@.storage_settings()).max_storage_gb, coalesce(gb::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', HINT = 'The largest level is the setting max_storage_gb.';
	END IF;
	SELECT pg_catalog.max(l.since) INTO last_at FROM @extschema@.storage_level l
	WHERE l.customer_id = customer AND l.kind = set_storage.kind;
	/* a level may not change a month already settled */
	last_at := GREATEST(last_at, (SELECT c.done_until FROM @extschema@.clock_state c WHERE c.job = 'storage'),
						(SELECT k.created_at FROM @extschema@.customer k WHERE k.customer_id = customer));
	t := @extschema@.call_time(at, coalesce(last_at, '-infinity'), 'the ' || kind || ' storage of customer ' || customer);
	INSERT INTO @extschema@.storage_level (customer_id, kind, since, gb) VALUES (customer, kind, t, gb)
	ON CONFLICT ON CONSTRAINT storage_level_pkey DO UPDATE SET gb = EXCLUDED.gb;
END
$$;
COMMENT ON FUNCTION @extschema@.set_storage(bigint, text, numeric, timestamptz) IS 'Record a customer''s disk or NAS usage in GB from at on (R-STO-1)';

-- excess GB-hours and the exact fee (unrounded) of each customer's storage in [f, u)
CREATE FUNCTION @extschema@.storage_usage(f timestamptz, u timestamptz, only_customer bigint DEFAULT NULL,
										   known_at timestamptz DEFAULT 'infinity')
	RETURNS TABLE (customer_id bigint, disk_gb_hours numeric, nas_gb_hours numeric, fee numeric)
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	free_disk numeric := (@extschema@.storage_settings()).free_disk_gb;
	free_nas numeric := (@extschema@.storage_settings()).free_nas_gb;
	disk_price numeric := (@extschema@.storage_settings()).disk_price_gb_hour;
	nas_price numeric := (@extschema@.storage_settings()).nas_price_gb_hour;
BEGIN
	RETURN QUERY
	SELECT x.customer_id, x.disk, x.nas, x.disk * disk_price + x.nas * nas_price
	FROM (SELECT l.customer_id,
				 coalesce(pg_catalog.sum(GREATEST(l.gb - free_disk, 0) * l.secs) FILTER (WHERE l.kind = 'disk'), 0) / 3600 AS disk,
				 coalesce(pg_catalog.sum(GREATEST(l.gb - free_nas, 0) * l.secs) FILTER (WHERE l.kind = 'nas'), 0) / 3600 AS nas
		  FROM (SELECT k.customer_id, k.kind, k.gb,
					   EXTRACT(epoch FROM LEAST(coalesce(k.until, 'infinity'), u) - GREATEST(k.since, f))
					   /* R-ARR-4: nothing accrues while the customer is in arrears */
					   - coalesce((SELECT pg_catalog.sum(EXTRACT(epoch FROM LEAST(coalesce(a.repaid_at, 'infinity'), coalesce(k.until, 'infinity'), u)
																		  - GREATEST(a.since, k.since, f)))
								   FROM @extschema@.arrears_period a
								   WHERE a.customer_id = k.customer_id AND a.since < LEAST(coalesce(k.until, 'infinity'), u)
									 AND coalesce(a.repaid_at, 'infinity') > GREATEST(k.since, f)), 0) AS secs
				FROM (SELECT s.*, pg_catalog.lead(s.since) OVER (PARTITION BY s.customer_id, s.kind ORDER BY s.since) AS until
					  FROM @extschema@.storage_level s
					  WHERE (only_customer IS NULL OR s.customer_id = only_customer) AND s.since < u
						AND s.since <= known_at) k
				WHERE coalesce(k.until, 'infinity') > f) l
		  GROUP BY l.customer_id) x;
END
$$;
COMMENT ON FUNCTION @extschema@.storage_usage(timestamptz, timestamptz, bigint, timestamptz) IS 'Excess disk and NAS GB-hours of each customer in [f, u) and their exact price (R-STO-2), from the levels recorded for instants up to known_at';

-- R-ARR-1: customers (wallets locked) whose cash went below zero at t are in arrears from t
CREATE FUNCTION @extschema@.note_arrears(t timestamptz, customers bigint[]) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	tz text := @extschema@.billing_timezone();
	n integer;
BEGIN
	WITH opened AS (
		INSERT INTO @extschema@.arrears_period (customer_id, since)
		SELECT w.customer_id, t FROM @extschema@.wallet w
		WHERE w.customer_id = ANY (customers) AND @extschema@.micros(w.cash) < 0
		ON CONFLICT (customer_id) WHERE repaid_at IS NULL DO NOTHING
		RETURNING customer_id, arrears_id
	), alerts AS (
		INSERT INTO @extschema@.alert (kind, customer_id, subject_type, subject_id, condition, raised_at, payload)
		SELECT 'storage_arrears', o.customer_id, 'customer', o.customer_id, '', t,
			   pg_catalog.jsonb_build_object('since', t, 'cash', w.cash::text)
		FROM opened o JOIN @extschema@.wallet w USING (customer_id)
		ON CONFLICT DO NOTHING
		RETURNING 1
	)
	/* R-ARR-3: unpaid at 12:00 on the 15th day (day D counts as the first) */
	INSERT INTO @extschema@.lifecycle_event (kind, customer_id, subject_type, subject_id, due_at, created_at)
	SELECT 'personal_data_erase_due', o.customer_id, 'customer', o.customer_id,
		   ((t AT TIME ZONE tz)::date + 14 + time '12:00') AT TIME ZONE tz, t
	FROM opened o
	ON CONFLICT DO NOTHING;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.note_arrears(timestamptz, bigint[]) IS 'Open arrears for customers whose cash is below zero at t: alert storage_arrears, personal data erasure due on day 15 (R-ARR-1, R-ARR-3)';

-- R-ARR-1, R-ARR-2: a recharge that brings cash back to zero or more ends the arrears
CREATE FUNCTION @extschema@.repay_arrears(customer bigint, t timestamptz) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	IF (SELECT @extschema@.micros(w.cash) FROM @extschema@.wallet w WHERE w.customer_id = customer) < 0 THEN
		RETURN;
	END IF;
	UPDATE @extschema@.arrears_period a SET repaid_at = t WHERE a.customer_id = customer AND a.repaid_at IS NULL;
	UPDATE @extschema@.lifecycle_event e SET cancelled_at = t
	WHERE e.subject_type = 'customer' AND e.subject_id = customer
	  AND e.kind IN ('storage_erase_due', 'personal_data_erase_due')
	  AND e.due_at > t AND e.cancelled_at IS NULL AND e.acked_at IS NULL;
	UPDATE @extschema@.alert a SET closed_at = t
	WHERE a.kind = 'storage_arrears' AND a.subject_type = 'customer' AND a.subject_id = customer AND a.closed_at IS NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.repay_arrears(bigint, timestamptz) IS 'End a customer''s arrears once cash is back at zero or more: pending erasures cancelled (R-ARR-1, R-ARR-2)';

/*
 * R-ARR-1: whatever brings a customer's cash from below zero back to zero
 * or more — a recharge first of all, an outage compensation, a contract's
 * refund, a reseller's premium, a reversal — ends its arrears, at the
 * wallet's time.  A trigger on the ledger's wallet, so the ledger (which
 * comes before this layer) need not know about arrears; it queues an event
 * only for the rows whose cash crosses zero.
 */
CREATE FUNCTION @extschema@.arrears_repaid() RETURNS trigger
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	PERFORM @extschema@.repay_arrears(NEW.customer_id, NEW.updated_at);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.arrears_repaid() IS 'Trigger: end a customer''s arrears when its cash is back at zero or more (R-ARR-1)';
CREATE TRIGGER arrears_repaid AFTER UPDATE OF cash ON @extschema@.wallet FOR EACH ROW
	WHEN (@extschema@.micros(OLD.cash) < 0 AND @extschema@.micros(NEW.cash) >= 0)
	EXECUTE FUNCTION @extschema@.arrears_repaid();

/*
 * R-STO-2, R-STO-3: settle the month that ends at m (00:00 on the 1st),
 * for every customer with storage in it: the fee leaves cash, which may go
 * below zero (arrears; R-ARR-2: storage erasure due at 00:00 on the 11th
 * unless repaid before).
 */
CREATE FUNCTION @extschema@.settle_storage(m timestamptz) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	tz text := @extschema@.billing_timezone();
	f timestamptz := ((m AT TIME ZONE tz) - interval '1 month') AT TIME ZONE tz;
	bill_month date := (f AT TIME ZONE tz)::date;
	n integer;
	short bigint[];
BEGIN
	PERFORM pg_catalog.count(*) FROM (SELECT FROM @extschema@.wallet w
	WHERE w.customer_id IN (SELECT l.customer_id FROM @extschema@.storage_level l WHERE l.since < m)
	  AND w.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
	ORDER BY w.customer_id FOR UPDATE) locked;	/* one row back, not one per row locked */
	WITH bills AS (
		INSERT INTO @extschema@.storage_bill (customer_id, month, disk_gb_hours, nas_gb_hours, amount, at)
		SELECT u.customer_id, bill_month, u.disk_gb_hours, u.nas_gb_hours,
			   @extschema@.amount(pg_catalog.round(u.fee, 2), @extschema@.currency(w.cash)), m
		FROM @extschema@.storage_usage(f, m) u JOIN @extschema@.wallet w USING (customer_id)
		WHERE u.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
		ON CONFLICT ON CONSTRAINT storage_bill_customer_id_month_key DO NOTHING
		RETURNING bill_id, customer_id, amount
	)
	INSERT INTO pg_temp.gpubill_leg (customer_id, at, kind, debit_account, credit_account, amount, object_type, object_id)
	SELECT b.customer_id, m, 'storage', w.cash_account, w.fee_account, b.amount, 'storage_bill', b.bill_id
	FROM bills b JOIN @extschema@.wallet w USING (customer_id)
	WHERE @extschema@.micros(b.amount) > 0;
	n := @extschema@.post_staged_transfers();	/* one transfer per customer billed */

	SELECT pg_catalog.array_agg(b.customer_id) INTO short
	FROM @extschema@.storage_bill b JOIN @extschema@.wallet w USING (customer_id)
	WHERE b.month = bill_month AND @extschema@.micros(b.amount) > 0 AND @extschema@.micros(w.cash) < 0
	  AND b.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc);
	IF short IS NOT NULL THEN
		PERFORM @extschema@.note_arrears(m, short);
		INSERT INTO @extschema@.lifecycle_event (kind, customer_id, subject_type, subject_id, due_at, created_at)
		SELECT 'storage_erase_due', c, 'customer', c, ((m AT TIME ZONE tz) + interval '10 days') AT TIME ZONE tz, m
		FROM pg_catalog.unnest(short) c
		ON CONFLICT DO NOTHING;
	END IF;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.settle_storage(timestamptz) IS 'Settle every customer''s storage of the month ending at m (R-STO-2, R-STO-3, R-ARR-2)';

-- R-STO-4: five days before the settlement at m, estimate the month's fee; alert when available is short
CREATE FUNCTION @extschema@.estimate_storage(e timestamptz, m timestamptz) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	tz text := @extschema@.billing_timezone();
	f timestamptz := ((m AT TIME ZONE tz) - interval '1 month') AT TIME ZONE tz;
	n integer;
BEGIN
	INSERT INTO @extschema@.alert (kind, customer_id, subject_type, subject_id, condition, raised_at, payload)
	SELECT 'storage_balance_low', w.customer_id, 'customer', w.customer_id, (f AT TIME ZONE tz)::date::text, e,
		   pg_catalog.jsonb_build_object('estimate', x.estimate::text, 'available', (w.cash + w.vouchers - w.held)::text,
										 'settles_at', m)
	FROM (SELECT customer_id, coalesce(a.fee, 0) + coalesce(b.fee, 0) AS fee
		  FROM @extschema@.storage_usage(f, e) a
		  FULL JOIN @extschema@.storage_usage(e, m, NULL, e) b USING (customer_id)) u	/* the levels at e last to the month's end */
	JOIN @extschema@.wallet w USING (customer_id)
	CROSS JOIN LATERAL (SELECT @extschema@.amount(pg_catalog.round(u.fee, 2), @extschema@.currency(w.cash)) AS estimate) x
	WHERE w.cash + w.vouchers - w.held < x.estimate AND w.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
	ON CONFLICT DO NOTHING;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.estimate_storage(timestamptz, timestamptz) IS 'Raise storage_balance_low for customers whose available funds are below the estimated storage fee of the month settled at m (R-STO-4)';

-- the storage steps due up to t, in time order (estimates and monthly settlements)
CREATE FUNCTION @extschema@.next_storage_step(after timestamptz, OUT step_at timestamptz, OUT settles boolean)
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	tz text := @extschema@.billing_timezone();
	m timestamptz := @extschema@.upper(@extschema@.billing_period('month', after, tz));
	e timestamptz := ((m AT TIME ZONE tz) - interval '5 days') AT TIME ZONE tz;
BEGIN
	IF e > after THEN
		step_at := e; settles := false;
	ELSE
		step_at := m; settles := true;
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.next_storage_step(timestamptz) IS 'The next storage step after an instant: the estimate 5 days before a month''s end, or the settlement at its end';
