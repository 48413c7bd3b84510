/*
 * 78_clock.sql — tick(): all due work up to `at`, in time order (R-CLK-1..3),
 * and its pg_cron schedule (R-CLK-4).
 *
 * A tick runs in one transaction: killed midway, it leaves nothing done, and
 * the next tick does the work exactly once (every step is state-based: what
 * was settled is no longer due).  A tick that finds another one running
 * returns at once.
 */

CREATE FUNCTION @extschema@.tick(at timestamptz DEFAULT NULL)
	RETURNS jsonb
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := coalesce(at, pg_catalog.now());
	started timestamptz := pg_catalog.clock_timestamp();
	payg record;
	released integer;
	release_after interval := @extschema@.setting_value('stopped_release_days')::integer * interval '1 day';
BEGIN
	IF NOT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('gpubill.tick')) THEN
		RETURN pg_catalog.jsonb_build_object('at', t, 'skipped', 'another tick is running');
	END IF;

	/* R-PAYG-4: every hourly settlement due, each at its own instant */
	payg := @extschema@.settle_payg_until(t);

	/* R-PAYG-6: stopped instances are released 10 days after the stop */
	WITH due AS (
		SELECT i.instance_id FROM @extschema@.instance i
		WHERE i.state = 'stopped' AND i.stopped_at + release_after <= t
		ORDER BY i.instance_id FOR UPDATE
	), rel AS (
		UPDATE @extschema@.instance i
		SET state = 'released', last_event_at = GREATEST(i.last_event_at, i.stopped_at + release_after)
		FROM due WHERE i.instance_id = due.instance_id
		RETURNING i.instance_id, i.customer_id, i.stopped_at + release_after AS due_at
	)
	INSERT INTO @extschema@.lifecycle_event (kind, customer_id, subject_type, subject_id, due_at, created_at)
	SELECT 'instance_release_due', r.customer_id, 'instance', r.instance_id, r.due_at, t FROM rel r
	ON CONFLICT DO NOTHING;
	GET DIAGNOSTICS released = ROW_COUNT;

	RETURN pg_catalog.jsonb_build_object(
		'at', t,
		'payg', pg_catalog.jsonb_build_object('boundaries', payg.boundaries, 'settled', payg.settled,
											  'stopped_insufficient_balance', payg.stopped),
		'released', released,
		'ms', pg_catalog.round((EXTRACT(epoch FROM pg_catalog.clock_timestamp() - started) * 1000)::numeric, 1));
END
$$;
COMMENT ON FUNCTION @extschema@.tick(timestamptz) IS 'Do all due work up to at, in time order; idempotent; returns a summary (R-CLK-1..3)';

CREATE FUNCTION @extschema@.schedule_jobs()
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
		RAISE EXCEPTION 'pg_cron is not installed in this database' USING ERRCODE = 'object_not_in_prerequisite_state',
			HINT = 'CREATE EXTENSION pg_cron in the database named by cron.database_name, and gpubill in the same database.';
	END IF;
	/* every minute: pg_cron 1.4 has no time zones; the billing time zone lives in gpubill */
	RETURN cron.schedule('gpubill-tick', '* * * * *', 'SELECT gpubill.tick()');
END
$$;
COMMENT ON FUNCTION @extschema@.schedule_jobs() IS 'Install the pg_cron job that runs tick() every minute (R-CLK-4)';

CREATE FUNCTION @extschema@.unschedule_jobs()
	RETURNS boolean
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
		RETURN false;
	END IF;
	IF NOT EXISTS (SELECT FROM cron.job WHERE jobname = 'gpubill-tick') THEN
		RETURN false;
	END IF;
	RETURN cron.unschedule('gpubill-tick');
END
$$;
COMMENT ON FUNCTION @extschema@.unschedule_jobs() IS 'Remove the pg_cron job of tick() (R-CLK-4)';
