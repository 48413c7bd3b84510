/*
 * gpubill 1.0.0 -> 1.0.1 (issue 15).  NOTIFY for live events only: the
 * alert and lifecycle-event triggers announce the rows the extension's
 * functions write (tick, the API); a restore's COPY, or an INSERT by hand,
 * announces nothing.  Settlement draws its ids in customer and instance
 * order, whatever the rows' order on disk (a replay on a restored database
 * gives the same ids).  No table changes; no data is touched.
 */
\echo Use "ALTER EXTENSION gpubill UPDATE TO '1.0.1'" to load this file. \quit

CREATE OR REPLACE FUNCTION @extschema@.announce_lifecycle_event() RETURNS trigger
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	stack text;
BEGIN
	/* live events only: rows the extension's functions write (tick, the API); a restore's COPY or an
	   INSERT by hand writes the table directly, and announces nothing (issue 15) */
	GET DIAGNOSTICS stack = PG_CONTEXT;
	IF stack OPERATOR(pg_catalog.!~) E'\n(PL/pgSQL|SQL) function ' THEN
		RETURN NULL;
	END IF;
	PERFORM pg_catalog.pg_notify('gpubill_lifecycle', pg_catalog.json_build_object(
		'event_id', NEW.event_id, 'kind', NEW.kind, 'customer', NEW.customer_id, 'partner', NEW.partner_id,
		'subject_type', NEW.subject_type, 'subject_id', NEW.subject_id, 'due_at', NEW.due_at)::text);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.announce_lifecycle_event() IS 'Trigger function: NOTIFY gpubill_lifecycle with the new event as JSON, for an event the extension''s functions write (a restore announces none)';

CREATE OR REPLACE FUNCTION @extschema@.announce_alert() RETURNS trigger
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	stack text;
BEGIN
	/* live events only: rows the extension's functions write (tick, the API); a restore's COPY or an
	   INSERT by hand writes the table directly, and announces nothing (issue 15) */
	GET DIAGNOSTICS stack = PG_CONTEXT;
	IF stack OPERATOR(pg_catalog.!~) E'\n(PL/pgSQL|SQL) function ' THEN
		RETURN NULL;
	END IF;
	PERFORM pg_catalog.pg_notify('gpubill_alert', pg_catalog.json_build_object(
		'alert_id', NEW.alert_id, 'kind', NEW.kind, 'customer', NEW.customer_id, 'partner', NEW.partner_id,
		'subject_type', NEW.subject_type, 'subject_id', NEW.subject_id, 'raised_at', NEW.raised_at,
		'payload', NEW.payload)::text);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.announce_alert() IS 'Trigger function: NOTIFY gpubill_alert with the new alert as JSON, for an alert the extension''s functions write (a restore announces none)';

CREATE OR REPLACE FUNCTION @extschema@.capture_staged()
	RETURNS TABLE (customer_id bigint, seq bigint, object_id bigint, charge @extschema@.amount,
				   voucher_paid @extschema@.amount, cash_paid @extschema@.amount, partner_income @extschema@.amount)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	PERFORM @extschema@.check_open((SELECT pg_catalog.min(s.at) FROM pg_temp.gpubill_capture s));	/* no closed month */
	RETURN QUERY
	WITH staged AS (
		SELECT s.customer_id, s.seq, s.at, s.charge, s.cash_only, s.hold_id, s.income_account, s.fee_rate,
			   s.object_type, s.object_id, @extschema@.zero(@extschema@.currency(s.charge)) AS z,
			   w.vouchers, w.cash_account, w.voucher_account, w.fee_account, w.voucher_expense_account,
			   s.hold_amount, s.hold_cash_only	/* the hold keeps what it reserved */
		FROM pg_temp.gpubill_capture s
		JOIN @extschema@.wallet w ON w.customer_id = s.customer_id
	), split AS (	/* vouchers first, in seq order within a customer (the window only where there are vouchers) */
		SELECT c.*, c.z AS v FROM staged c WHERE @extschema@.micros(c.vouchers) <= 0
		UNION ALL
		SELECT c.*,
			   CASE WHEN c.cash_only THEN c.z
					ELSE LEAST(c.charge, GREATEST(c.vouchers - coalesce(@extschema@.sum(c.charge) FILTER (WHERE NOT c.cash_only)
									OVER (PARTITION BY c.customer_id ORDER BY c.seq
										  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), c.z), c.z)) END
		FROM staged c WHERE @extschema@.micros(c.vouchers) > 0
	), paid AS (
		SELECT s.*, s.charge - s.v AS cash,
			   CASE WHEN s.income_account IS NULL OR @extschema@.micros(s.charge - s.v) = 0 THEN s.z
					ELSE @extschema@.partner_income(s.charge - s.v, s.fee_rate) END AS income
		FROM split s
	), moved AS (	/* the door, set form: the legs, and below the wallets they move */
		INSERT INTO @extschema@.transfer AS tr (customer_id, at, kind, debit_account, credit_account, amount, object_type, object_id)
		SELECT p.customer_id, p.at, x.kind, x.debit, x.credit, x.amount, p.object_type, p.object_id
		FROM paid p
		CROSS JOIN LATERAL (VALUES (1, 'voucher_spend', p.voucher_account, p.voucher_expense_account, p.v),
								   (2, 'income', p.cash_account, p.income_account, p.income),
								   (3, 'fee', p.cash_account, p.fee_account, p.cash - p.income)) x(leg, kind, debit, credit, amount)
		WHERE @extschema@.micros(x.amount) > 0
		ORDER BY p.customer_id, p.seq, x.leg	/* ids in this order, whatever the rows' order on disk: a replay, on a restored database too, gives the same */
		RETURNING tr.customer_id, tr.debit_account, tr.credit_account, tr.amount
	), ends AS (
		INSERT INTO @extschema@.hold_end (hold_id, customer_id, kind, captured, at)
		SELECT p.hold_id, p.customer_id, CASE WHEN @extschema@.micros(p.charge) > 0 THEN 'capture' ELSE 'release' END,
			   LEAST(p.charge, p.hold_amount), p.at		/* a charge beyond the hold is captured from the funds as well */
		FROM paid p WHERE p.hold_id IS NOT NULL
		RETURNING 1
	), vsum AS (
		SELECT p.customer_id, @extschema@.sum(p.v) AS v FROM paid p GROUP BY p.customer_id
	), lots AS (
		SELECT l.voucher_id, l.amount, s.v,
			   @extschema@.sum(l.amount) OVER (PARTITION BY l.customer_id ORDER BY l.expires_at NULLS LAST, l.voucher_id) AS cum
		FROM @extschema@.voucher_left l JOIN vsum s USING (customer_id)
		WHERE @extschema@.micros(s.v) > 0
	), vspent AS (	/* R-RCH-4: vouchers are spent earliest expiry first */
		DELETE FROM @extschema@.voucher_left l USING lots x WHERE l.voucher_id = x.voucher_id AND x.cum <= x.v
		RETURNING 1
	), vleft AS (
		UPDATE @extschema@.voucher_left l SET amount = x.cum - x.v
		FROM lots x WHERE l.voucher_id = x.voucher_id AND x.cum - x.amount < x.v AND x.cum > x.v
		RETURNING 1
	), moves AS (	/* what the legs moved in each wallet's cash and vouchers (leg_delta) */
		SELECT m.customer_id,
			   @extschema@.sum(@extschema@.leg_delta(k.cash_account, m.debit_account, m.credit_account, m.amount)) AS cash,
			   @extschema@.sum(@extschema@.leg_delta(k.voucher_account, m.debit_account, m.credit_account, m.amount)) AS vouchers
		FROM moved m JOIN @extschema@.wallet k ON k.customer_id = m.customer_id
		GROUP BY m.customer_id
	), wallets AS (	/* one update per wallet: the moves and the holds ended */
		UPDATE @extschema@.wallet w
		SET cash = w.cash + coalesce(d.cash, t.z), vouchers = w.vouchers + coalesce(d.vouchers, t.z),
			held = w.held - t.held, cash_held = w.cash_held - t.cash_held, updated_at = GREATEST(w.updated_at, t.last_at)
		FROM (SELECT p.customer_id, @extschema@.min(p.z) AS z, @extschema@.sum(coalesce(p.hold_amount, p.z)) AS held,
					 @extschema@.sum(CASE WHEN p.hold_cash_only THEN p.hold_amount ELSE p.z END) AS cash_held,
					 pg_catalog.max(p.at) AS last_at
			  FROM paid p GROUP BY p.customer_id) t
		LEFT JOIN moves d ON d.customer_id = t.customer_id
		WHERE w.customer_id = t.customer_id
		RETURNING 1
	)
	SELECT p.customer_id, p.seq, p.object_id, p.charge, p.v, p.cash, p.income FROM paid p;
END
$$;
COMMENT ON FUNCTION @extschema@.capture_staged() IS 'The voucher-first capture, set form: pay the charges staged in pg_temp.gpubill_capture vouchers first in seq order per customer, split the cash part, end their holds; returns the split of each (R-RCH-4, R-PRT-3, R-LED-2)';

CREATE OR REPLACE FUNCTION @extschema@.settle_boundary(b timestamptz, OUT settled integer, OUT stopped integer)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	fee_rate numeric := (@extschema@.partner_settings()).service_fee_rate;
	cfg @extschema@.payg_settings := @extschema@.payg_settings();
	r record;
BEGIN
	PERFORM @extschema@.prepare_settlement_tables();
	DELETE FROM pg_temp.gpubill_settling;
	INSERT INTO pg_temp.gpubill_settling
	SELECT w.customer_id FROM @extschema@.wallet w
	WHERE w.customer_id IN (SELECT i.customer_id FROM @extschema@.instance i WHERE i.state = 'running' AND i.next_settle_at = b)
	  AND w.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
	ORDER BY w.customer_id FOR UPDATE;
	PERFORM @extschema@.expire_vouchers(b, ARRAY(
		SELECT w.customer_id FROM @extschema@.wallet w
		WHERE w.voucher_expiry <= b AND w.customer_id IN (SELECT s.customer_id FROM pg_temp.gpubill_settling s)));
	PERFORM pg_catalog.count(*) FROM (SELECT FROM @extschema@.instance i
	WHERE i.state = 'running' AND i.billing = 'payg' AND i.next_settle_at = b
	  AND i.customer_id IN (SELECT s.customer_id FROM pg_temp.gpubill_settling s)
	ORDER BY i.instance_id FOR UPDATE) locked;	/* one row back, not one per row locked */
	/* the due set: each instance's charge up to b, and the hold of its next hour */
	WITH due AS (
		INSERT INTO pg_temp.gpubill_due AS n
		SELECT d.instance_id, d.customer_id, d.machine_id, d.partner_id, d.hourly_fee, d.billed_until, d.hold_id, d.cash_only,
			   @extschema@.usage_charge(d.hourly_fee, d.billed_until, b)
		FROM @extschema@.instance d
		WHERE d.state = 'running' AND d.billing = 'payg' AND d.hold_id IS NOT NULL AND d.next_settle_at = b
		  AND d.customer_id IN (SELECT s.customer_id FROM pg_temp.gpubill_settling s)
		RETURNING n.*
	)
	INSERT INTO pg_temp.gpubill_capture (customer_id, seq, at, charge, cash_only, hold_id, hold_amount, hold_cash_only,
										 income_account, fee_rate, object_type, object_id,
										 next_hold, next_hold_id, next_object_type, next_object_id)
	SELECT d.customer_id, d.instance_id, b, d.charge,
		   d.cash_only, d.hold_id, h.amount, h.cash_only, a.account_id, fee_rate, 'order_line', pg_catalog.nextval('@extschema@.id_seq'),
		   @extschema@.payg_hold(d.hourly_fee, cfg), pg_catalog.nextval('@extschema@.id_seq'), 'instance', d.instance_id
	FROM due d
	JOIN @extschema@.hold h ON h.hold_id = d.hold_id
	LEFT JOIN @extschema@.account a ON a.owner_kind = 'partner' AND a.owner_id = d.partner_id AND a.purpose = 'income'
								   AND a.currency = @extschema@.currency(d.hourly_fee)
	ORDER BY d.customer_id, d.instance_id;	/* the ids drawn in this order (nextval runs after the sort): the same on any replay */
	r := @extschema@.settle_staged(b, 'payg', 'insufficient_balance');
	settled := r.settled;
	stopped := r.stopped;
END
$$;
COMMENT ON FUNCTION @extschema@.settle_boundary(timestamptz) IS 'Settle every PAYG instance due at the hourly boundary b, of the customers of tick''s pass: charge, capture, hold the next hour or stop (R-PAYG-4, R-PAYG-5)';

