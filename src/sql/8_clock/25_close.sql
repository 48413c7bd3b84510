/*
 * 25_close.sql — period close (issue 14): a billing month is closed once,
 * in order, when tick has done all its work (tick on the clock closes the
 * month before last by itself: the settings period_close_months and
 * period_close_days set the delay).  Every layer writes its roll-ups of the month (the
 * ledger's account months, the customers' statements and instance hours,
 * the partners' statements and the platform's days), the digest of them
 * all is kept in closed_month, and the month's journal is never written
 * again (the door refuses it, GB004; its partitions refuse every insert).
 * Closing is idempotent (a closed month is skipped) and crash-safe (one
 * transaction: all of a month's roll-ups and its closed_month row, or none).
 *
 * tick closes months only on the clock — called without at, as pg_cron
 * calls it: a tick given its time (a simulation, a backfill, a test
 * replaying months) leaves them open, so that it may still write in past
 * months; close_period closes them then.
 *
 * A month is not closed while tick has not run past its end, while a
 * customer's work is failing (tick_failure: it may still settle in the
 * month), or while a call dated in it is writing (the month's advisory
 * lock, taken shared by every write).
 *
 * Map (scripts/file-map.pl):
 * API: archive_month, close_period.
 * Internals: admin_month, close_months.
 * Uses: 2_base, 3_ledger, 5_customers, 6_partners.
 */

/*
 * Close every open month up to the one whose first day is last, at t.
 * strict: a month that may not close yet raises GB004 (close_period);
 * else the months stop there quietly (tick).  Returns the months closed.
 */
CREATE FUNCTION @extschema@.close_months(last date, t timestamptz, strict boolean) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	m date;
	b record;
	why text;
	first_at timestamptz;
	digest text;
	lock_wait text;
	n integer := 0;
BEGIN
	SELECT (c.month + interval '1 month')::date INTO m FROM @extschema@.closed_month c ORDER BY c.month DESC LIMIT 1;
	IF m IS NULL THEN	/* nothing closed yet: from the month of the journal's first row */
		first_at := LEAST((SELECT pg_catalog.min(x.at) FROM @extschema@.transfer x),
						  (SELECT pg_catalog.min(o.at) FROM @extschema@.order_line o));
		m := coalesce((pg_catalog.date_trunc('month', first_at AT TIME ZONE @extschema@.billing_timezone()))::date, last);
	END IF;
	WHILE m <= last LOOP
		b := @extschema@.month_bounds(m);
		why := CASE
			WHEN b.ends_at > t THEN pg_catalog.format('the month %s is not over at %s', pg_catalog.to_char(m, 'YYYY-MM'), t)
			WHEN coalesce((SELECT k.done_until FROM @extschema@.clock_state k WHERE k.job = 'tick'), '-infinity') < b.ends_at
				THEN pg_catalog.format('tick has not run past the end of %s', pg_catalog.to_char(m, 'YYYY-MM'))
			WHEN EXISTS (SELECT FROM @extschema@.tick_failure f WHERE f.closed_at IS NULL AND f.customer_id IS NOT NULL)
				THEN 'a customer''s work is failing (tick_failures): it may still settle in the month'
			WHEN NOT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('gpubill.month'), @extschema@.month_lock_key(b.starts_at))
				THEN pg_catalog.format('a call dated in %s is writing', pg_catalog.to_char(m, 'YYYY-MM'))
			END;
		IF why IS NOT NULL THEN
			IF strict THEN
				RAISE EXCEPTION 'the billing month % cannot be closed: %', pg_catalog.to_char(m, 'YYYY-MM'), why
					USING ERRCODE = 'GB004';
			END IF;
			EXIT;
		END IF;
		digest := pg_catalog.md5(@extschema@.close_ledger_month(m) || @extschema@.close_customer_month(m)
								 || @extschema@.close_partner_month(m));
		INSERT INTO @extschema@.closed_month (month, starts_at, ends_at, at, digest, usage_digest)
		VALUES (m, b.starts_at, b.ends_at, t, digest, @extschema@.instance_hour_digest(m));
		/* its partitions refuse every insert; a reader holding one is not waited for (the door refuses anyway) */
		BEGIN
			lock_wait := pg_catalog.current_setting('lock_timeout');
			PERFORM pg_catalog.set_config('lock_timeout', '200ms', true);
			PERFORM @extschema@.freeze_journal_month(m);
			PERFORM pg_catalog.set_config('lock_timeout', lock_wait, true);
		EXCEPTION WHEN lock_not_available THEN
			NULL;
		END;
		n := n + 1;
		m := (m + interval '1 month')::date;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.close_months(date, timestamptz, boolean) IS 'Close the open billing months up to last, in order: each layer''s roll-ups, the digest, the journal frozen; strict raises GB004 on a month that may not close yet (issue 14)';

-- the month an admin's call closes or archives up to (its first day), under tick's own lock:
-- no tick runs meanwhile, and no two such calls at once
CREATE FUNCTION @extschema@.admin_month(month date, done text) RETURNS date
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	IF NOT @extschema@.is_admin() THEN
		RAISE EXCEPTION 'months may be % only by gpubill_admin', done USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF month IS NULL THEN
		RAISE EXCEPTION 'a month must be given' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('gpubill.tick'));
	RETURN pg_catalog.date_trunc('month', month)::date;
END
$$;
COMMENT ON FUNCTION @extschema@.admin_month(date, text) IS 'Check an admin''s call on months (gpubill_admin, a month given), take tick''s lock; the month''s first day';

CREATE FUNCTION @extschema@.close_period(month date, at timestamptz DEFAULT NULL) RETURNS integer
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := @extschema@.api_time(at);
BEGIN
	RETURN @extschema@.close_months(@extschema@.admin_month(month, 'closed'), t, true);
END
$$;
COMMENT ON FUNCTION @extschema@.close_period(date, timestamptz) IS 'Close the billing months up to the one holding month (the first not closed first): their roll-ups are written once and their journal never again; returns the months closed; GB004 if one may not close yet; gpubill_admin only (issue 14)';

/*
 * Archive the closed months up to the one holding month, in order, once:
 * their journal partitions are detached (to be dumped and dropped by the
 * DBA); their roll-ups stay, and every read of the journal —
 * verify(full => true) included — starts after the last archived month.
 * Detaching a partition locks the journal's table for a moment: run it
 * at a quiet hour (the caller's lock_timeout applies).
 */
CREATE FUNCTION @extschema@.archive_month(month date, at timestamptz DEFAULT NULL) RETURNS integer
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := @extschema@.api_time(at);
	last date;
	m date;
	n integer := 0;
BEGIN
	last := @extschema@.admin_month(month, 'archived');
	IF NOT EXISTS (SELECT FROM @extschema@.closed_month c WHERE c.month = last) THEN
		RAISE EXCEPTION 'the billing month % cannot be archived: it is not closed', pg_catalog.to_char(last, 'YYYY-MM')
			USING ERRCODE = 'GB004', HINT = 'close_period closes it.';
	END IF;
	FOR m IN SELECT c.month FROM @extschema@.closed_month c
			 WHERE c.month <= last AND NOT EXISTS (SELECT FROM @extschema@.archived_month a WHERE a.month = c.month)
			 ORDER BY c.month LOOP
		n := n + @extschema@.archive_journal_month(m, t);
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.archive_month(date, timestamptz) IS 'Archive the closed billing months up to the one holding month: their journal partitions detached (dump and drop them), their roll-ups kept, the journal read after them; returns the months archived; GB004 if it is not closed; gpubill_admin only (issue 14)';
