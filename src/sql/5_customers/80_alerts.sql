/*
 * 80_alerts.sql — alerts (R-ALR-1, R-ALR-2, R-PRE-5, R-STO-4, R-ARR-1).
 *
 * An alert is a row: one open alert per kind, subject and condition (a
 * re-run never duplicates it), closed when the condition ends.  Every new
 * alert is announced with NOTIFY gpubill_alert (JSON payload).
 *
 * Map (scripts/file-map.pl):
 * API: open_alerts.
 * Internals: announce_alert, check_alerts.
 * Tables: alert.
 * Uses: 1_types, 2_base, 3_ledger.
 */

CREATE TABLE @extschema@.alert (
	alert_id	bigint PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	kind		text NOT NULL CHECK (kind IN ('instance_expiring', 'balance_low', 'storage_balance_low',
											  'storage_arrears', 'migrate_data', 'tick_failure')),
	customer_id	bigint,
	partner_id	bigint,
	subject_type text NOT NULL,
	subject_id	bigint NOT NULL,
	condition	text NOT NULL DEFAULT '',	/* what makes it distinct: a term's end, a month */
	raised_at	timestamptz NOT NULL,
	payload		jsonb NOT NULL DEFAULT '{}',
	closed_at	timestamptz
);
CREATE UNIQUE INDEX alert_once_idx ON @extschema@.alert (kind, subject_type, subject_id, condition)
	WHERE closed_at IS NULL OR kind IN ('instance_expiring', 'storage_balance_low');
CREATE INDEX alert_customer_idx ON @extschema@.alert (customer_id);
COMMENT ON TABLE @extschema@.alert IS 'An alert to a customer or partner: one per kind, subject and condition, never duplicated by a re-run';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.alert', '');

CREATE FUNCTION @extschema@.announce_alert() RETURNS trigger
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
CREATE TRIGGER alert_announce AFTER INSERT ON @extschema@.alert
	FOR EACH ROW EXECUTE FUNCTION @extschema@.announce_alert();

CREATE VIEW @extschema@.open_alerts AS
SELECT alert_id, kind, customer_id AS customer, partner_id AS partner, subject_type, subject_id, raised_at, payload
FROM @extschema@.alert
WHERE closed_at IS NULL;
COMMENT ON VIEW @extschema@.open_alerts IS 'Alerts whose condition still holds, one row each: kind, subject, when raised and details';

/*
 * R-ALR-1: balance_low when the next alert_horizon_hours of the running PAYG
 * instances and the storage of a customer cost more than available; closed
 * when no longer so.  R-PRE-5: instance_expiring 72 h before a term ends.
 */
CREATE FUNCTION @extschema@.check_alerts(t timestamptz, scope @extschema@.tick_scope, OUT balance_low integer, OUT expiring integer)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	horizon integer := (@extschema@.payg_settings()).alert_horizon_hours;
BEGIN
	WITH need AS (
		SELECT w.customer_id, n.need, w.cash + w.vouchers - w.held AS available,
			   w.cash + w.vouchers - w.held < n.need AS short
		FROM (SELECT coalesce(p.customer_id, s.customer_id) AS customer_id,
					 coalesce(p.need, @extschema@.zero(k.currency))
					 + @extschema@.amount(pg_catalog.round(coalesce(s.fee, 0), 2), k.currency) AS need
			  FROM (SELECT i.customer_id, @extschema@.sum(@extschema@.round(i.hourly_fee, 2)) * horizon AS need
					FROM @extschema@.instance i WHERE i.state = 'running' AND i.next_settle_at IS NOT NULL
					GROUP BY i.customer_id) p
			  FULL JOIN (SELECT u.customer_id, u.fee
						 FROM @extschema@.storage_usage(t, t + horizon * interval '1 hour', NULL, t) u
						 WHERE u.fee > 0) s USING (customer_id)
			  JOIN @extschema@.customer k ON k.customer_id = coalesce(p.customer_id, s.customer_id)) n
		JOIN @extschema@.wallet w USING (customer_id)
		WHERE @extschema@.in_scope(w.customer_id, scope)
	), closed AS (
		UPDATE @extschema@.alert a SET closed_at = t
		WHERE a.kind = 'balance_low' AND a.closed_at IS NULL AND @extschema@.in_scope(a.subject_id, scope)
		  AND NOT EXISTS (SELECT FROM need n WHERE n.customer_id = a.subject_id AND n.short)
		RETURNING 1
	)
	INSERT INTO @extschema@.alert (kind, customer_id, subject_type, subject_id, raised_at, payload)
	SELECT 'balance_low', n.customer_id, 'customer', n.customer_id, t,
		   pg_catalog.jsonb_build_object('next_hours', horizon, 'need', n.need::text, 'available', n.available::text)
	FROM need n
	WHERE n.short
	ON CONFLICT DO NOTHING;
	GET DIAGNOSTICS balance_low = ROW_COUNT;

	INSERT INTO @extschema@.alert (kind, customer_id, subject_type, subject_id, condition, raised_at, payload)
	SELECT 'instance_expiring', i.customer_id, 'instance', i.instance_id, i.term_end::text,
		   i.term_end - horizon * interval '1 hour',
		   pg_catalog.jsonb_build_object('billing', i.billing, 'term_end', i.term_end, 'auto_renew', i.auto_renew)
	FROM @extschema@.instance i
	WHERE i.state = 'running' AND i.billing <> 'payg' AND i.term_end - horizon * interval '1 hour' <= t AND i.term_end > t
	  AND @extschema@.in_scope(i.customer_id, scope)
	ON CONFLICT DO NOTHING;
	GET DIAGNOSTICS expiring = ROW_COUNT;
END
$$;
COMMENT ON FUNCTION @extschema@.check_alerts(timestamptz, @extschema@.tick_scope) IS 'Raise and close balance_low alerts (R-ALR-1) and raise instance_expiring alerts (R-PRE-5) as of t';
