/*
 * 15_cron.sql — the clock's pg_cron job (R-CLK-4): schedule_jobs() and
 * unschedule_jobs().  Shared by gpubill and the proxy database's
 * gpubill_proxy (issue 18): in either, the job runs `SELECT gpubill.tick()`
 * in this database every minute — on the proxy, the tick of every
 * partition (schedule it there, not on the partitions).
 *
 * Map (scripts/file-map.pl):
 * API: schedule_jobs, unschedule_jobs.
 * Internals: conninfo_quote, in_cron_database.
 * Uses: nothing.
 */

/*
 * R-CLK-4 with pg_cron anywhere (issue 16).  pg_cron keeps its jobs in one
 * database (cron.database_name, postgres by default) and runs each in the
 * database it names.  With pg_cron in this database, the job is scheduled
 * here; with pg_cron in another, gpubill reaches that database through
 * dblink (installed here) and schedules the job there for this database
 * (cron.schedule_in_database).  A job of this database is one whose command
 * runs gpubill.tick(), whatever its name: unschedule_jobs() finds those made
 * by hand too.
 */
-- a value of a libpq connection string, quoted
CREATE FUNCTION @extschema@.conninfo_quote(v text) RETURNS text
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	AS $$ SELECT '''' || pg_catalog.replace(pg_catalog.replace(v, E'\\', E'\\\\'), '''', E'\\''') || '''' $$;
COMMENT ON FUNCTION @extschema@.conninfo_quote(text) IS 'A value of a libpq connection string, quoted';

-- run sql (one bigint column) in pg_cron's database, through dblink, as this function's owner over the local socket
CREATE FUNCTION @extschema@.in_cron_database(sql text) RETURNS SETOF bigint
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	cron_db text := pg_catalog.current_setting('cron.database_name', true);
	link name := (SELECT n.nspname FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
				  WHERE e.extname = 'dblink');
	socket text := pg_catalog.btrim(pg_catalog.split_part(pg_catalog.current_setting('unix_socket_directories'), ',', 1));
BEGIN
	IF cron_db IS NULL THEN
		RAISE EXCEPTION 'pg_cron is not loaded' USING ERRCODE = 'object_not_in_prerequisite_state',
			HINT = 'Add pg_cron to shared_preload_libraries and CREATE EXTENSION pg_cron in the database named by cron.database_name.';
	END IF;
	IF link IS NULL THEN
		RAISE EXCEPTION 'pg_cron lives in the database %, and dblink is not installed in this one to reach it', cron_db
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = pg_catalog.format('CREATE EXTENSION dblink here, or run in %s: %s', cron_db, sql);
	END IF;
	RETURN QUERY EXECUTE pg_catalog.format('SELECT t.id FROM %I.dblink(%L, %L) AS t(id bigint)', link,
		pg_catalog.format('dbname=%s port=%s user=%s', @extschema@.conninfo_quote(cron_db),
						  @extschema@.conninfo_quote(pg_catalog.current_setting('port')), @extschema@.conninfo_quote(current_user))
		|| CASE WHEN coalesce(socket, '') <> '' THEN ' host=' || @extschema@.conninfo_quote(socket) ELSE '' END,
		sql);
END
$$;
COMMENT ON FUNCTION @extschema@.in_cron_database(text) IS 'Run a query of one bigint column in pg_cron''s database (cron.database_name) through dblink (issue 16)';

CREATE FUNCTION @extschema@.schedule_jobs()
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	IF NOT @extschema@.is_admin() THEN
		RAISE EXCEPTION 'the clock may be scheduled only by gpubill_admin' USING ERRCODE = 'insufficient_privilege';
	END IF;
	/* every minute: pg_cron 1.4 has no time zones; the billing time zone lives in gpubill */
	IF EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
		RETURN cron.schedule('gpubill-tick', '* * * * *', 'SELECT gpubill.tick()');
	END IF;
	RETURN (SELECT j FROM @extschema@.in_cron_database(pg_catalog.format(
		'SELECT cron.schedule_in_database(%L, %L, %L, %L)', 'gpubill-tick:' || pg_catalog.current_database(), '* * * * *',
		'SELECT gpubill.tick()', pg_catalog.current_database())) j);
END
$$;
COMMENT ON FUNCTION @extschema@.schedule_jobs() IS 'Install the pg_cron job that runs tick() every minute in this database, pg_cron living here or in another database (through dblink); gpubill_admin only (R-CLK-4)';

CREATE FUNCTION @extschema@.unschedule_jobs()
	RETURNS boolean
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	jobs text := pg_catalog.format('SELECT cron.unschedule(j.jobid)::integer::bigint FROM cron.job j WHERE j.database = %L AND j.command ~ %L',
								   pg_catalog.current_database(), 'gpubill\.tick\(');
	n bigint;
BEGIN
	IF NOT @extschema@.is_admin() THEN
		RAISE EXCEPTION 'the clock may be unscheduled only by gpubill_admin' USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
		EXECUTE 'SELECT pg_catalog.count(*) FROM (' || jobs || ') x' INTO n;
	ELSIF pg_catalog.current_setting('cron.database_name', true) IS NULL THEN
		RETURN false;		/* no pg_cron at all: no job */
	ELSE
		SELECT pg_catalog.count(*) INTO n FROM @extschema@.in_cron_database(jobs);
	END IF;
	RETURN n > 0;
END
$$;
COMMENT ON FUNCTION @extschema@.unschedule_jobs() IS 'Remove this database''s pg_cron jobs of tick() (any that runs gpubill.tick() here, whatever its name), pg_cron living here or in another database; gpubill_admin only (R-CLK-4)';
