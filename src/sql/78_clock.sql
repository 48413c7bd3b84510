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
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := @extschema@.api_time(at);
	started timestamptz := pg_catalog.clock_timestamp();
	tz text := @extschema@.setting_value('billing_timezone');
	release_after interval := @extschema@.setting_value('stopped_release_days')::integer * interval '1 day';
	pb timestamptz;
	sb_at timestamptz;
	sb_settles boolean;
	storage_done timestamptz;
	b timestamptz;
	r record;
	boundaries integer := 0;
	settled integer := 0;
	stopped integer := 0;
	renewed integer := 0;
	ended integer := 0;
	storage_bills integer := 0;
	storage_estimates integer := 0;
	vouchers_expired integer := 0;
	released integer;
	machines_delisted integer;
	qualifications_ended integer;
	contracts record;
	resales record;
	alerts record;
	alerts_done jsonb;
	last_report timestamptz := pg_catalog.clock_timestamp();
BEGIN
	IF NOT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('gpubill.tick')) THEN
		RETURN pg_catalog.jsonb_build_object('at', t, 'skipped', 'another tick is running');
	END IF;
	PERFORM @extschema@.prepare_settling();

	/*
	 * R-CLK-1: every boundary due up to t, each at its own instant, in time
	 * order: prepaid terms ending by it, then the storage step (estimate or
	 * monthly settlement), then the hourly PAYG settlement.
	 */
	SELECT c.done_until INTO storage_done FROM @extschema@.clock_state c WHERE c.job = 'storage' FOR UPDATE;
	IF storage_done IS NULL THEN
		SELECT pg_catalog.min(l.since) INTO storage_done FROM @extschema@.storage_level l;
		IF storage_done IS NOT NULL THEN
			INSERT INTO @extschema@.clock_state (job, done_until) VALUES ('storage', storage_done);
		END IF;
	END IF;
	LOOP
		SELECT pg_catalog.min(i.next_settle_at) INTO pb FROM @extschema@.instance i
		WHERE i.state = 'running' AND i.next_settle_at IS NOT NULL;
		sb_at := NULL;
		IF storage_done IS NOT NULL THEN
			SELECT x.step_at, x.settles INTO sb_at, sb_settles FROM @extschema@.next_storage_step(storage_done) x;
		END IF;
		b := LEAST(pb, sb_at);
		EXIT WHEN b IS NULL OR b > t;

		r := @extschema@.end_terms(b);
		renewed := renewed + r.renewed;
		ended := ended + r.ended;
		IF sb_at = b THEN
			IF sb_settles THEN
				storage_bills := storage_bills + @extschema@.settle_storage(b);
			ELSE
				storage_estimates := storage_estimates + @extschema@.estimate_storage(b, @extschema@.upper(@extschema@.billing_period('month', b, tz)));
			END IF;
			storage_done := b;
			UPDATE @extschema@.clock_state c SET done_until = b WHERE c.job = 'storage';
		END IF;
		IF pb = b THEN
			r := @extschema@.settle_payg(b);
			boundaries := boundaries + 1;
			settled := settled + r.settled;
			stopped := stopped + r.stopped;
		END IF;
		IF pg_catalog.clock_timestamp() - last_report > interval '10 seconds' THEN
			/* progress of a long catch-up, to the server log and the client */
			RAISE LOG 'gpubill tick: % boundaries done, at %', boundaries, b;
			RAISE NOTICE 'gpubill tick: % boundaries done, at %', boundaries, b;
			last_report := pg_catalog.clock_timestamp();
		END IF;
	END LOOP;
	r := @extschema@.end_terms(t);
	renewed := renewed + r.renewed;
	ended := ended + r.ended;

	/* R-RCH-3: what is left of expired vouchers goes to voucher breakage */
	vouchers_expired := @extschema@.expire_vouchers(t);

	/* R-PAYG-6, R-PRE-5: stopped and expired instances are released 10 days later */
	WITH due AS (
		SELECT i.instance_id FROM @extschema@.instance i
		WHERE i.state IN ('stopped', 'expired') AND i.stopped_at + release_after <= t
		ORDER BY i.instance_id FOR UPDATE
	), rel AS (
		UPDATE @extschema@.instance i
		SET state = 'released', last_event_at = GREATEST(i.last_event_at, i.stopped_at + release_after)
		FROM due WHERE i.instance_id = due.instance_id
		RETURNING i.instance_id, i.customer_id, i.stopped_at + release_after AS due_at
	)
	INSERT INTO @extschema@.lifecycle_event (kind, customer_id, subject_type, subject_id, due_at, created_at)
	SELECT 'instance_release_due', x.customer_id, 'instance', x.instance_id, x.due_at, t FROM rel x
	ON CONFLICT DO NOTHING;
	GET DIAGNOSTICS released = ROW_COUNT;

	/* R-PRT-5: machines near their owner end time are delisted, their customers alerted */
	machines_delisted := @extschema@.delist_ending_machines(t);
	/* R-PRT-6: partners without machines for a month are no longer qualified */
	qualifications_ended := @extschema@.end_qualifications(t);
	/* R-EXC-1, R-EXC-5: contracts that start, payments due, late payments, completions */
	contracts := @extschema@.run_contracts(t);
	/* R-EXC-6, R-EXC-7: resales that take effect, months of resold contracts */
	resales := @extschema@.run_resales(t);

	/* R-ALR-1, R-PRE-5: alerts as of t, once an hour (or after settlements) */
	IF boundaries > 0 OR storage_bills > 0
	   OR coalesce((SELECT c.done_until FROM @extschema@.clock_state c WHERE c.job = 'alerts'), '-infinity')
		  < @extschema@.lower(@extschema@.billing_period('hour', t, tz)) THEN
		alerts := @extschema@.check_alerts(t);
		alerts_done := pg_catalog.jsonb_build_object('balance_low', alerts.balance_low, 'instance_expiring', alerts.expiring);
		INSERT INTO @extschema@.clock_state (job, done_until) VALUES ('alerts', t)
		ON CONFLICT (job) DO UPDATE SET done_until = GREATEST(clock_state.done_until, EXCLUDED.done_until);
	END IF;

	RETURN pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
		'at', t,
		'payg', pg_catalog.jsonb_build_object('boundaries', boundaries, 'settled', settled,
											  'stopped_insufficient_balance', stopped),
		'terms', pg_catalog.jsonb_build_object('renewed', renewed, 'ended', ended),
		'storage', pg_catalog.jsonb_build_object('settled', storage_bills, 'estimate_alerts', storage_estimates),
		'vouchers_expired', vouchers_expired,
		'released', released,
		'machines_delisted', machines_delisted,
		'qualifications_ended', qualifications_ended,
		'contracts', pg_catalog.jsonb_build_object('started', contracts.started, 'collected', contracts.collected,
												   'late', contracts.late, 'completed', contracts.completed,
												   'resold', resales.resold, 'resale_months', resales.months),
		'alerts', alerts_done,
		'ms', pg_catalog.round((EXTRACT(epoch FROM pg_catalog.clock_timestamp() - started) * 1000)::numeric, 1)));
END
$$;
COMMENT ON FUNCTION @extschema@.tick(timestamptz) IS 'Do all due work up to at, in time order; idempotent; returns a summary (R-CLK-1..3)';

CREATE FUNCTION @extschema@.schedule_jobs()
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
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
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
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
