/*
 * 20_tick.sql — tick(): all due work up to `at`, in time order (R-CLK-1..3),
 * one customer's failure never stopping it (R-CLK-6); its pg_cron schedule
 * (R-CLK-4) is 2_base/15_cron.sql's.
 *
 * A tick runs in one transaction: killed midway, it leaves nothing done, and
 * the next tick does the work exactly once (every step is state-based: what
 * was settled is no longer due).  A tick that finds another one running
 * returns at once.
 *
 * The customers' work is done in passes (tick_pass), each in a
 * subtransaction over a scope of customers (65_tick_scope.sql): first each
 * customer whose work failed before, alone; then everyone else in one pass.
 * A pass that fails is rolled back and its scope halved, until the one
 * customer whose rows fail is found: that failure is recorded (tick_failure,
 * a tick_failure alert, NOTIFY) and the customer is left out, while the
 * others are settled.  Deadlocks, serialization failures, lock timeouts,
 * cancels, resource and I/O errors are not a customer's fault: they abort
 * the tick as before, and the next tick does the work.
 *
 * Map (scripts/file-map.pl):
 * API: tick, tick_failures.
 * Internals: add_counts, close_tick_failure, note_tick_failure, tick_pass,
 *   tick_step, transient_error, try_pass.
 * Tables: tick_failure.
 * Uses: 1_types, 2_base, 3_ledger, 5_customers, 6_partners, 7_exchange.
 */

CREATE TABLE @extschema@.tick_failure (
	failure_id	bigint PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	customer_id	bigint,						/* the customer whose work fails; NULL: a step for all */
	job			text NOT NULL,				/* customer | tick | delist_ending_machines | end_qualifications | close_months | journal_months */
	at			timestamptz NOT NULL,		/* the business time of the tick that first failed */
	sqlstate	text NOT NULL,
	message		text NOT NULL,
	storage_from timestamptz,				/* the storage steps the customer missed start after it */
	attempts	integer NOT NULL DEFAULT 1,
	first_seen	timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
	last_seen	timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
	closed_at	timestamptz					/* the business time of the tick that succeeded */
);
CREATE UNIQUE INDEX tick_failure_open_idx ON @extschema@.tick_failure (coalesce(customer_id, 0), job) WHERE closed_at IS NULL;
COMMENT ON TABLE @extschema@.tick_failure IS 'Work of tick that failed (R-CLK-6): per customer (retried alone at every tick) or per step; closed when it succeeds';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.tick_failure', '');

CREATE VIEW @extschema@.tick_failures AS
SELECT f.customer_id AS customer, f.job, f.at, f.sqlstate, f.message, f.first_seen, f.last_seen, f.attempts
FROM @extschema@.tick_failure f
WHERE f.closed_at IS NULL;
COMMENT ON VIEW @extschema@.tick_failures IS 'Open failures of tick, one row per customer (or step) whose work failed and is retried at every tick: the error and when it was first and last seen (R-CLK-6)';

-- whether an error is the customer's rows' fault, or transient / the server's
CREATE FUNCTION @extschema@.transient_error(state text) RETURNS boolean
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	AS $$ SELECT pg_catalog.left(state, 2) IN ('40', '53', '57', '58') OR state IN ('55P03', '55006') $$;
COMMENT ON FUNCTION @extschema@.transient_error(text) IS 'Errors tick does not blame on a customer''s rows: transaction rollbacks (deadlock, serialization), lock timeouts and objects in use, lack of resources, operator intervention, I/O errors; any other, corrupted data included, is the rows''';

-- record (or refresh) a failure of tick; a new one is an alert for the platform (NOTIFY gpubill_alert)
CREATE FUNCTION @extschema@.note_tick_failure(who bigint, what text, t timestamptz, state text, msg text,
											  storage_start timestamptz) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	INSERT INTO @extschema@.tick_failure AS f (customer_id, job, at, sqlstate, message, storage_from)
	VALUES (who, what, t, state, msg, storage_start)
	ON CONFLICT (coalesce(customer_id, 0), job) WHERE closed_at IS NULL
	DO UPDATE SET sqlstate = EXCLUDED.sqlstate, message = EXCLUDED.message, attempts = f.attempts + 1,
				  last_seen = pg_catalog.statement_timestamp();
	INSERT INTO @extschema@.alert (kind, customer_id, subject_type, subject_id, condition, raised_at, payload)
	VALUES ('tick_failure', who, CASE WHEN who IS NULL THEN 'platform' ELSE 'customer' END, coalesce(who, 0), what, t,
			pg_catalog.jsonb_build_object('job', what, 'sqlstate', state, 'message', msg))
	ON CONFLICT DO NOTHING;
	RAISE WARNING 'gpubill tick: % failed (%: %); retried at every tick',
		CASE WHEN who IS NULL THEN what ELSE 'customer ' || who END, state, msg;
END
$$;
COMMENT ON FUNCTION @extschema@.note_tick_failure(bigint, text, timestamptz, text, text, timestamptz) IS 'Record a failure of tick''s work for a customer or a step, raise its alert (R-CLK-6)';

-- a failure that did not happen again is closed, with its alert
CREATE FUNCTION @extschema@.close_tick_failure(who bigint, what text, t timestamptz) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	n integer;
BEGIN
	UPDATE @extschema@.tick_failure f SET closed_at = t
	WHERE coalesce(f.customer_id, 0) = coalesce(who, 0) AND f.job = what AND f.closed_at IS NULL;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		UPDATE @extschema@.alert a SET closed_at = t
		WHERE a.kind = 'tick_failure' AND a.subject_id = coalesce(who, 0) AND a.condition = what AND a.closed_at IS NULL;
	END IF;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.close_tick_failure(bigint, text, timestamptz) IS 'Close the open failure of a customer or step and its alert (R-CLK-6)';

/*
 * A step of tick for all customers (delist_ending_machines,
 * end_qualifications, close_months, journal_months) in a subtransaction of its own: its
 * failure is recorded under its name and retried at the next tick
 * (R-CLK-6).  journal_months makes the journal's partitions of the months
 * not yet handled up to two months after t's, each month once (a month
 * whose rows are in the default partition already is not tried again);
 * it waits at most 200 ms for its locks (attaching a month locks the default
 * partition: calls writing there wait for tick's commit), else leaves the
 * work to the next tick.
 */
CREATE FUNCTION @extschema@.tick_step(job text, t timestamptz) RETURNS integer
	LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
	AS $$
DECLARE
	n integer := 0;
	state text;
	msg text;
	tz text;
	m @extschema@.billing_period;
	last_month timestamptz;
	lock_wait text;
BEGIN
	CASE job
		WHEN 'delist_ending_machines' THEN n := @extschema@.delist_ending_machines(t);
		WHEN 'end_qualifications' THEN n := @extschema@.end_qualifications(t);
		WHEN 'close_months' THEN	/* the months ended period_close_months and _days before t (issue 14) */
			tz := @extschema@.billing_timezone();
			n := @extschema@.close_months(
				(pg_catalog.date_trunc('month', (t - pg_catalog.make_interval(months => (@extschema@.period_settings()).period_close_months,
																			   days => (@extschema@.period_settings()).period_close_days))
											 AT TIME ZONE tz) - interval '1 month')::date, t, false);
		WHEN 'journal_months' THEN
			tz := @extschema@.billing_timezone();
			last_month := @extschema@.add_term(@extschema@.lower(@extschema@.billing_period('month', t, tz)), 'month', 2, tz);
			m := @extschema@.billing_period('month',
				GREATEST(t, (SELECT k.done_until FROM @extschema@.clock_state k WHERE k.job = 'journal_months')), tz);
			IF @extschema@.lower(m) > last_month THEN
				RETURN 0;
			END IF;
			lock_wait := pg_catalog.current_setting('lock_timeout');
			PERFORM pg_catalog.set_config('lock_timeout', '200ms', true);	/* below deadlock_timeout: never a deadlock */
			WHILE @extschema@.lower(m) <= last_month LOOP
				n := n + @extschema@.add_journal_month(@extschema@.lower(m));
				m := @extschema@.next(m, tz);
			END LOOP;
			PERFORM pg_catalog.set_config('lock_timeout', lock_wait, true);
			INSERT INTO @extschema@.clock_state AS k (job, done_until) VALUES ('journal_months', @extschema@.lower(m))
			ON CONFLICT ON CONSTRAINT clock_state_pkey DO UPDATE SET done_until = GREATEST(k.done_until, EXCLUDED.done_until);
	END CASE;
	PERFORM @extschema@.close_tick_failure(NULL, job, t);
	RETURN n;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
	IF job = 'journal_months' AND state = '55P03' THEN
		RETURN NULL;		/* a lock not granted in time: the next tick tries again */
	END IF;
	IF @extschema@.transient_error(state) THEN
		RAISE;
	END IF;
	PERFORM @extschema@.note_tick_failure(NULL, job, t, state, msg, NULL);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.tick_step(text, timestamptz) IS 'Run a step of tick for all customers on its own (machines delisted, qualifications ended, the journal''s months partitioned ahead); a failure is recorded under the step''s name (R-CLK-6)';

/*
 * One pass of tick over the customers of a scope, up to t: every boundary
 * due, each at its own instant, in time order — prepaid terms ending by it,
 * the storage step (estimate or monthly settlement) after storage_from, the
 * hourly PAYG settlement — then terms, vouchers and releases due at t, the
 * contract work and the alerts (when alerts is true or anything settled).
 */
CREATE FUNCTION @extschema@.tick_pass(t timestamptz, scope @extschema@.tick_scope, storage_from timestamptz, alerts boolean,
	OUT boundaries integer, OUT settled integer, OUT stopped integer, OUT renewed integer, OUT ended integer,
	OUT storage_bills integer, OUT storage_estimates integer, OUT vouchers_expired integer, OUT released integer,
	OUT contracts_started integer, OUT collected integer, OUT late integer, OUT completed integer,
	OUT resold integer, OUT resale_months integer, OUT balance_low integer, OUT expiring integer, OUT machine_ends integer)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	tz text := @extschema@.billing_timezone();
	release_after interval := (@extschema@.payg_settings()).stopped_release_days * interval '1 day';
	storage_done timestamptz := storage_from;
	pb timestamptz;
	me timestamptz;
	inst bigint;
	sb_at timestamptz;
	sb_settles boolean;
	b timestamptz;
	r record;
	last_report timestamptz := pg_catalog.clock_timestamp();
BEGIN
	boundaries := 0; settled := 0; stopped := 0; renewed := 0; ended := 0; storage_bills := 0;
	storage_estimates := 0; balance_low := 0; expiring := 0; machine_ends := 0;
	/* the customers of this pass: those tick locked up front, in the scope; every step keeps to them */
	DELETE FROM pg_temp.gpubill_pass;
	INSERT INTO pg_temp.gpubill_pass
	SELECT l.customer_id FROM pg_temp.gpubill_locked l WHERE @extschema@.in_scope(l.customer_id, scope);
	LOOP
		SELECT i.next_settle_at INTO pb FROM @extschema@.instance i		/* the earliest: the due index read in order */
		WHERE i.state = 'running' AND i.next_settle_at IS NOT NULL AND i.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
		ORDER BY i.next_settle_at LIMIT 1;
		sb_at := NULL;
		IF storage_done IS NOT NULL THEN
			SELECT x.step_at, x.settles INTO sb_at, sb_settles FROM @extschema@.next_storage_step(storage_done) x;
		END IF;
		/* R-PRT-5: the owner end time of a machine something of this pass still runs on */
		SELECT pg_catalog.min(m.owner_end_time) INTO me
		FROM @extschema@.instance i JOIN @extschema@.machine m ON m.machine_id = i.machine_id
		WHERE i.state = 'running' AND m.owner_end_time <= t
		  AND i.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc);
		b := LEAST(pb, sb_at, me);
		EXIT WHEN b IS NULL OR b > t;

		r := @extschema@.end_terms(b);
		renewed := renewed + r.renewed;
		ended := ended + r.ended;
		IF sb_at = b THEN
			IF sb_settles THEN
				storage_bills := storage_bills + @extschema@.settle_storage(b);
			ELSE
				storage_estimates := storage_estimates
					+ @extschema@.estimate_storage(b, @extschema@.upper(@extschema@.billing_period('month', b, tz)));
			END IF;
			storage_done := b;
		END IF;
		IF me = b THEN
			/* R-PRT-5: at the owner end time every running instance on the machine stops, settled up to it */
			FOR inst IN SELECT i.instance_id FROM @extschema@.instance i JOIN @extschema@.machine m ON m.machine_id = i.machine_id
						WHERE i.state = 'running' AND m.owner_end_time = b
						  AND i.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
						ORDER BY i.instance_id LOOP
				PERFORM @extschema@.halt_instance(inst, b, 'machine_end');
				machine_ends := machine_ends + 1;
			END LOOP;
		END IF;
		IF pb = b THEN
			r := @extschema@.settle_boundary(b);
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

	/* R-RCH-3: what is left of expired vouchers goes to voucher breakage (wallets locked in customer order) */
	vouchers_expired := @extschema@.expire_vouchers(t, ARRAY(
		SELECT w.customer_id FROM @extschema@.wallet w
		WHERE w.customer_id IN (SELECT l.customer_id FROM @extschema@.voucher_left l WHERE l.expires_at <= t)
		  AND w.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
		ORDER BY w.customer_id FOR UPDATE));

	/* R-PAYG-6, R-PRE-5: stopped and expired instances are released 10 days later */
	WITH due AS (
		SELECT i.instance_id FROM @extschema@.instance i
		WHERE i.state IN ('stopped', 'expired') AND i.stopped_at + release_after <= t AND i.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
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

	/* R-EXC-1, R-EXC-5: contracts that start, payments due, late payments, completions */
	r := @extschema@.run_contracts(t);
	contracts_started := r.started; collected := r.collected; late := r.late; completed := r.completed;
	/* R-EXC-6, R-EXC-7: resales that take effect, months of resold contracts */
	r := @extschema@.run_resales(t);
	resold := r.resold; resale_months := r.months;

	/* R-ALR-1, R-PRE-5: alerts as of t, once an hour (or after settlements) */
	IF alerts OR boundaries > 0 OR storage_bills > 0 THEN
		r := @extschema@.check_alerts(t, scope);
		balance_low := r.balance_low;
		expiring := r.expiring;
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.tick_pass(timestamptz, @extschema@.tick_scope, timestamptz, boolean) IS 'One pass of tick over a scope of customers up to t, in time order (R-CLK-1, R-CLK-6)';

-- a pass of tick in a subtransaction: its counters, or the error that rolled it back (a transient one is raised)
CREATE FUNCTION @extschema@.try_pass(t timestamptz, scope @extschema@.tick_scope, storage_from timestamptz, alerts boolean,
									 OUT counts jsonb, OUT state text, OUT msg text)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	counts := pg_catalog.to_jsonb(@extschema@.tick_pass(t, scope, storage_from, alerts));
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
	IF @extschema@.transient_error(state) THEN
		RAISE;
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.try_pass(timestamptz, @extschema@.tick_scope, timestamptz, boolean) IS 'Run a pass of tick in a subtransaction: its counters, or the SQLSTATE and message of the error that rolled it back (R-CLK-6)';

CREATE FUNCTION @extschema@.tick(at timestamptz DEFAULT NULL)
	RETURNS jsonb
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := @extschema@.api_time(at);
	started timestamptz := pg_catalog.clock_timestamp();
	tz text;
	release_after interval;
	st text;
	msg text;
	storage_from timestamptz;
	storage_to timestamptz;
	step record;
	alerts boolean;
	alerted boolean := false;
	f record;
	r record;
	probe record;			/* the empty pass run at the first failure (r keeps the failing pass) */
	skip bigint[];
	los bigint[] := ARRAY[(@extschema@.all_customers()).lo];
	his bigint[] := ARRAY[(@extschema@.all_customers()).hi];
	lo bigint;
	hi bigint;
	n bigint;
	mid bigint;
	passes integer := 0;
	probed boolean := false;
	recovered integer := 0;
	failed integer := 0;
	global_failed boolean := false;
	machines_delisted integer;
	qualifications_ended integer;
	c jsonb := '{}';		/* the counters of every pass, summed */
BEGIN
	IF NOT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('gpubill.tick')) THEN
		RETURN pg_catalog.jsonb_build_object('at', t, 'skipped', 'another tick is running');
	END IF;
	PERFORM @extschema@.prepare_session_tables();
	/* R-CLK-6: settings broken behind set_setting's back fail the tick, recorded as its own failure */
	BEGIN
		tz := @extschema@.billing_timezone();
		release_after := (@extschema@.payg_settings()).stopped_release_days * interval '1 day';
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
		IF @extschema@.transient_error(st) THEN
			RAISE;
		END IF;
		PERFORM @extschema@.note_tick_failure(NULL, 'tick', t, st, msg, NULL);
		RETURN pg_catalog.jsonb_build_object('at', t, 'failures', pg_catalog.jsonb_build_object('tick', true, 'passes', 0),
			'ms', pg_catalog.round((EXTRACT(epoch FROM pg_catalog.clock_timestamp() - started) * 1000)::numeric, 1));
	END;

	/* R-EXC-4: the providers' volumes of the month before are final at its first tick (one database) */
	PERFORM @extschema@.settle_volumes_due(t);

	/* tick's own progress: the storage steps done, the hourly alert check */
	SELECT k.done_until INTO storage_from FROM @extschema@.clock_state k WHERE k.job = 'storage' FOR UPDATE;
	IF storage_from IS NULL THEN
		SELECT pg_catalog.min(l.since) INTO storage_from FROM @extschema@.storage_level l;
		IF storage_from IS NOT NULL THEN
			INSERT INTO @extschema@.clock_state (job, done_until) VALUES ('storage', storage_from);
		END IF;
	END IF;
	alerts := coalesce((SELECT k.done_until FROM @extschema@.clock_state k WHERE k.job = 'alerts'), '-infinity')
			  < @extschema@.lower(@extschema@.billing_period('hour', t, tz));

	/*
	 * R-LED-6: the wallets of every customer with work due up to t, locked up
	 * front in customer order — the order of every call that takes several —
	 * and held to the end; the passes keep to these customers.  A customer
	 * whose work becomes due meanwhile (a call committed after this lock) is
	 * left to the next tick: a wallet locked later, out of order, could
	 * deadlock with a call holding it.
	 */
	DELETE FROM pg_temp.gpubill_locked;
	INSERT INTO pg_temp.gpubill_locked
	SELECT w.customer_id FROM @extschema@.wallet w
	WHERE w.customer_id IN (
		SELECT i.customer_id FROM @extschema@.instance i WHERE i.state = 'running' AND i.next_settle_at <= t
		UNION
		SELECT i.customer_id FROM @extschema@.instance i WHERE i.state = 'running' AND i.term_end <= t
		UNION
		SELECT i.customer_id FROM @extschema@.instance i JOIN @extschema@.machine m ON m.machine_id = i.machine_id
		WHERE i.state = 'running' AND m.owner_end_time <= t
		UNION
		SELECT i.customer_id FROM @extschema@.instance i
		WHERE i.state IN ('stopped', 'expired') AND i.stopped_at + release_after <= t
		UNION
		SELECT l.customer_id FROM @extschema@.voucher_left l WHERE l.expires_at <= t
		UNION
		SELECT l.customer_id FROM @extschema@.storage_level l
		WHERE storage_from IS NOT NULL AND (@extschema@.next_storage_step(storage_from)).step_at <= t
		UNION
		SELECT cw.customer_id FROM @extschema@.contract_work(t) cw
		UNION
		SELECT tf.customer_id FROM @extschema@.tick_failure tf WHERE tf.closed_at IS NULL AND tf.job = 'customer')
	ORDER BY w.customer_id FOR UPDATE;

	/* R-CLK-6: 1. customers whose work failed before, each alone, from where it stopped */
	FOR f IN SELECT k.customer_id, k.storage_from FROM @extschema@.tick_failure k
			 WHERE k.closed_at IS NULL AND k.job = 'customer' ORDER BY k.customer_id LOOP
		r := @extschema@.try_pass(t, ROW(f.customer_id, f.customer_id, '{}')::@extschema@.tick_scope,
								  coalesce(f.storage_from, storage_from), true);
		IF r.state IS NULL THEN
			c := @extschema@.add_counts(c, r.counts);
			PERFORM @extschema@.close_tick_failure(f.customer_id, 'customer', t);
			recovered := recovered + 1;
		ELSE
			PERFORM @extschema@.note_tick_failure(f.customer_id, 'customer', t, r.state, r.msg, f.storage_from);
		END IF;
	END LOOP;
	skip := ARRAY(SELECT k.customer_id FROM @extschema@.tick_failure k
				  WHERE k.closed_at IS NULL AND k.job = 'customer' ORDER BY 1);

	/* 2. everyone else in one pass; a pass that fails is halved until its customer is found */
	WHILE pg_catalog.cardinality(los) > 0 LOOP
		lo := los[pg_catalog.cardinality(los)];
		hi := his[pg_catalog.cardinality(his)];
		los := los[1:pg_catalog.cardinality(los) - 1];
		his := his[1:pg_catalog.cardinality(his) - 1];
		passes := passes + 1;
		r := @extschema@.try_pass(t, ROW(lo, hi, skip)::@extschema@.tick_scope, storage_from, alerts);
		IF r.state IS NULL THEN
			c := @extschema@.add_counts(c, r.counts);
			CONTINUE;
		END IF;
		IF NOT probed THEN
			/* at the first failure: does the pass fail without any customer?  Then none is to blame */
			probed := true;
			probe := @extschema@.try_pass(t, ROW(1, 0, '{}')::@extschema@.tick_scope, storage_from, alerts);
			IF probe.state IS NOT NULL THEN
				PERFORM @extschema@.note_tick_failure(NULL, 'tick', t, probe.state, probe.msg, NULL);
				global_failed := true;
				EXIT;
			END IF;
		END IF;
		SELECT pg_catalog.count(*), pg_catalog.min(w.customer_id) INTO n, mid FROM @extschema@.wallet w
		WHERE w.customer_id BETWEEN lo AND hi AND w.customer_id <> ALL (skip);
		IF n = 0 THEN
			/* no customer left, yet the empty pass did not fail: the tick's own, recorded as such */
			PERFORM @extschema@.note_tick_failure(NULL, 'tick', t, r.state, r.msg, NULL);
			global_failed := true;
			EXIT;
		ELSIF n = 1 THEN
			/* the one customer left is to blame */
			PERFORM @extschema@.note_tick_failure(mid, 'customer', t, r.state, r.msg, storage_from);
			skip := skip || mid;
			failed := failed + 1;
		ELSE
			SELECT w.customer_id INTO mid FROM @extschema@.wallet w
			WHERE w.customer_id BETWEEN lo AND hi AND w.customer_id <> ALL (skip)
			ORDER BY w.customer_id OFFSET (n - 1) / 2 LIMIT 1;
			los := los || (mid + 1) || lo;		/* lo..mid first */
			his := his || hi || mid;
		END IF;
	END LOOP;
	IF NOT global_failed THEN
		PERFORM @extschema@.close_tick_failure(NULL, 'tick', t);
	END IF;

	/* the storage steps and the alert check done for everyone not left out */
	IF storage_from IS NOT NULL AND NOT global_failed THEN
		storage_to := storage_from;
		LOOP
			step := @extschema@.next_storage_step(storage_to);
			EXIT WHEN step.step_at > t;
			storage_to := step.step_at;
		END LOOP;
		/* a level recorded after the wallets were locked is settled by the next tick: the steps stay due */
		IF NOT EXISTS (SELECT FROM @extschema@.storage_level l
					   WHERE l.since < storage_to
						 AND l.customer_id NOT IN (SELECT k.customer_id FROM pg_temp.gpubill_locked k)) THEN
			UPDATE @extschema@.clock_state k SET done_until = storage_to WHERE k.job = 'storage';
		END IF;
	END IF;
	IF NOT global_failed AND (alerts OR (c ->> 'boundaries')::integer > 0 OR (c ->> 'storage_bills')::integer > 0) THEN
		INSERT INTO @extschema@.clock_state (job, done_until) VALUES ('alerts', t)
		ON CONFLICT (job) DO UPDATE SET done_until = GREATEST(clock_state.done_until, EXCLUDED.done_until);
		alerted := true;
	END IF;

	/* partners' work, each step on its own */
	machines_delisted := @extschema@.tick_step('delist_ending_machines', t);	/* R-PRT-5 */
	qualifications_ended := @extschema@.tick_step('end_qualifications', t);		/* R-PRT-6 */
	/* tick's progress (period close waits for it), and the months due to close on the clock (issue 14) */
	IF NOT global_failed THEN
		INSERT INTO @extschema@.clock_state AS k (job, done_until) VALUES ('tick', t)
		ON CONFLICT ON CONSTRAINT clock_state_pkey DO UPDATE SET done_until = GREATEST(k.done_until, EXCLUDED.done_until);
	END IF;
	IF at IS NULL THEN	/* on the clock (pg_cron): a simulated or backfilling tick leaves months open (close_period) */
		PERFORM @extschema@.tick_step('close_months', t);
	END IF;
	/* the journal's months ahead, last: attaching a month locks the default partition to the end of
	   tick's transaction, and a call that wrote there must not wait for it while tick still needs
	   anything (the wallets are locked first by tick and by every call alike) */
	PERFORM @extschema@.tick_step('journal_months', t);

	RETURN pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
		'at', t,
		'payg', pg_catalog.jsonb_build_object('boundaries', c -> 'boundaries', 'settled', c -> 'settled',
											  'stopped_insufficient_balance', c -> 'stopped'),
		'terms', pg_catalog.jsonb_build_object('renewed', c -> 'renewed', 'ended', c -> 'ended'),
		'storage', pg_catalog.jsonb_build_object('settled', c -> 'storage_bills', 'estimate_alerts', c -> 'storage_estimates'),
		'vouchers_expired', c -> 'vouchers_expired',
		'released', c -> 'released',
		'machines_delisted', machines_delisted,
		'stopped_at_machine_end', c -> 'machine_ends',
		'qualifications_ended', qualifications_ended,
		'contracts', pg_catalog.jsonb_build_object('started', c -> 'contracts_started', 'collected', c -> 'collected',
												   'late', c -> 'late', 'completed', c -> 'completed',
												   'resold', c -> 'resold', 'resale_months', c -> 'resale_months'),
		'alerts', CASE WHEN alerted THEN pg_catalog.jsonb_build_object('balance_low', c -> 'balance_low',
																		'instance_expiring', c -> 'expiring') END,
		'failures', CASE WHEN failed > 0 OR recovered > 0 OR pg_catalog.cardinality(skip) > 0 OR global_failed THEN
						pg_catalog.jsonb_build_object('new', failed, 'recovered', recovered,
													  'customers_left_out', pg_catalog.cardinality(skip),
													  'tick', global_failed, 'passes', passes) END,
		'ms', pg_catalog.round((EXTRACT(epoch FROM pg_catalog.clock_timestamp() - started) * 1000)::numeric, 1)));
END
$$;
COMMENT ON FUNCTION @extschema@.tick(timestamptz) IS 'Do all due work up to at, in time order; idempotent; one customer''s failing rows are recorded and retried while everyone else is settled; returns a summary (R-CLK-1..3, R-CLK-6)';

-- the counters of two passes added (boundaries: the most of either, as passes walk the same instants)
CREATE FUNCTION @extschema@.add_counts(a jsonb, b jsonb) RETURNS jsonb
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	AS $$
	SELECT pg_catalog.jsonb_object_agg(k, CASE WHEN k = 'boundaries'
											   THEN GREATEST(coalesce((a ->> k)::integer, 0), coalesce((b ->> k)::integer, 0))
											   ELSE coalesce((a ->> k)::integer, 0) + coalesce((b ->> k)::integer, 0) END)
	FROM pg_catalog.jsonb_object_keys(b) k
$$;
COMMENT ON FUNCTION @extschema@.add_counts(jsonb, jsonb) IS 'Sum the counters of tick passes';
