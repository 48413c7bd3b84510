/*
 * 20_events.sql — lifecycle events (R-ALR-2, R-PAYG-6): what the platform
 * must do and when.  One row per subject, kind and due time, never
 * duplicated by a re-run; announced with NOTIFY gpubill_lifecycle (JSON).
 *
 * Map (scripts/file-map.pl):
 * API: ack_lifecycle_event, due_lifecycle_events, lifecycle_events.
 * Internals: announce_lifecycle_event, local_data_erase_at.
 * Tables: lifecycle_event.
 * Uses: 2_base.
 */

-- R-PAYG-6: local data of an instance may be erased local_data_hours after it stopped
CREATE FUNCTION @extschema@.local_data_erase_at(stopped_at timestamptz, s @extschema@.payg_settings) RETURNS timestamptz
	LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$ SELECT stopped_at + (s).local_data_hours * interval '1 hour' $$;
COMMENT ON FUNCTION @extschema@.local_data_erase_at(timestamptz, @extschema@.payg_settings) IS 'R-PAYG-6: when an instance''s local data may be erased: local_data_hours after it stopped or expired (the due time of its local_data_erase_due event)';

CREATE TABLE @extschema@.lifecycle_event (
	event_id	bigint PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	kind		text NOT NULL CHECK (kind IN ('local_data_erase_due', 'instance_release_due', 'storage_erase_due',
						'personal_data_erase_due', 'deposit_refund_due', 'payout_due', 'qualification_end_due')),
	customer_id	bigint,
	partner_id	bigint,
	subject_type text NOT NULL,
	subject_id	bigint NOT NULL,
	due_at		timestamptz NOT NULL,
	created_at	timestamptz NOT NULL,
	cancelled_at timestamptz,
	acked_at	timestamptz,
	UNIQUE (kind, subject_type, subject_id, due_at)
);
CREATE INDEX lifecycle_event_open_idx ON @extschema@.lifecycle_event (due_at) WHERE cancelled_at IS NULL AND acked_at IS NULL;
CREATE INDEX lifecycle_event_qualification_idx ON @extschema@.lifecycle_event (subject_id)
	WHERE kind = 'qualification_end_due' AND cancelled_at IS NULL;	/* tick ends qualifications */
COMMENT ON TABLE @extschema@.lifecycle_event IS 'A lifecycle event: something the platform must do for a subject from due_at on';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.lifecycle_event', '');

CREATE FUNCTION @extschema@.announce_lifecycle_event() RETURNS trigger
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
CREATE TRIGGER lifecycle_event_announce AFTER INSERT ON @extschema@.lifecycle_event
	FOR EACH ROW EXECUTE FUNCTION @extschema@.announce_lifecycle_event();

CREATE VIEW @extschema@.lifecycle_events AS
SELECT event_id, kind, customer_id AS customer, partner_id AS partner, subject_type, subject_id, due_at,
	   created_at, cancelled_at, acked_at
FROM @extschema@.lifecycle_event;
COMMENT ON VIEW @extschema@.lifecycle_events IS 'Every lifecycle event, one row each: its kind, subject, due time and whether it was cancelled or acknowledged';

CREATE VIEW @extschema@.due_lifecycle_events AS
SELECT * FROM @extschema@.lifecycle_events
WHERE due_at <= pg_catalog.now() AND cancelled_at IS NULL AND acked_at IS NULL;
COMMENT ON VIEW @extschema@.due_lifecycle_events IS 'Lifecycle events due now, neither cancelled nor acknowledged: the platform''s to-do list';

CREATE FUNCTION @extschema@.ack_lifecycle_event(event bigint)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	UPDATE @extschema@.lifecycle_event e SET acked_at = coalesce(e.acked_at, pg_catalog.now())
	WHERE e.event_id = event;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown lifecycle event: %', event USING ERRCODE = 'no_data_found';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.ack_lifecycle_event(bigint) IS 'The platform has acted on a lifecycle event; acts at once';
