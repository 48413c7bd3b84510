/*
 * gpubill 1.0.1 -> 1.1.0 (issue 16): money that every client and BI tool
 * reads.  The schema gpubill_bi: the statement views with money as numeric
 * next to its currency (src/sql/9_bi/10_views.sql), read by gpubill_reader.
 */
\echo Use "ALTER EXTENSION gpubill UPDATE TO '1.1.0'" to load this file. \quit

CREATE SCHEMA gpubill_bi;
COMMENT ON SCHEMA gpubill_bi IS 'gpubill for BI tools: the statement views with money as numeric next to its currency (issue 16)';

CREATE VIEW gpubill_bi.customer_statement AS
SELECT s.customer, s.month, @extschema@.currency(s.closing_cash) AS currency,
	   @extschema@.to_numeric(s.recharged) AS recharged, @extschema@.to_numeric(s.vouchers_granted) AS vouchers_granted,
	   @extschema@.to_numeric(s.charged) AS charged, @extschema@.to_numeric(s.refunded) AS refunded,
	   @extschema@.to_numeric(s.closing_cash) AS closing_cash
FROM @extschema@.customer_statement s;
COMMENT ON VIEW gpubill_bi.customer_statement IS 'customer_statement for BI: one row per customer and billing month, money as numeric in the customer''s currency';

CREATE VIEW gpubill_bi.partner_statement AS
SELECT s.partner, s.month, @extschema@.currency(s.gross) AS currency,
	   @extschema@.to_numeric(s.gross) AS gross, @extschema@.to_numeric(s.fees) AS fees,
	   @extschema@.to_numeric(s.voucher_paid) AS voucher_paid, @extschema@.to_numeric(s.income) AS income,
	   @extschema@.to_numeric(s.deposits) AS deposits, @extschema@.to_numeric(s.compensation) AS compensation,
	   @extschema@.to_numeric(s.withdrawn) AS withdrawn, @extschema@.to_numeric(s.withdrawable) AS withdrawable
FROM @extschema@.partner_statement s;
COMMENT ON VIEW gpubill_bi.partner_statement IS 'partner_statement for BI: one row per partner and billing month, money as numeric in the partner''s currency';

CREATE VIEW gpubill_bi.platform_revenue AS
SELECT r.day, r.currency,
	   @extschema@.to_numeric(r.service_fees) AS service_fees, @extschema@.to_numeric(r.commissions) AS commissions,
	   @extschema@.to_numeric(r.voucher_breakage) AS voucher_breakage,
	   @extschema@.to_numeric(r.compensation_paid) AS compensation_paid,
	   @extschema@.to_numeric(r.compensation_recovered) AS compensation_recovered,
	   @extschema@.to_numeric(r.vouchers_spent) AS vouchers_spent, @extschema@.to_numeric(r.forfeits) AS forfeits
FROM @extschema@.platform_revenue r;
COMMENT ON VIEW gpubill_bi.platform_revenue IS 'platform_revenue for BI: one row per day and currency, money as numeric';

CREATE VIEW gpubill_bi.instance_usage AS
SELECT u.instance, u.customer, u.hour, @extschema@.currency(u.charged) AS currency, u.seconds,
	   @extschema@.to_numeric(u.charged) AS charged, @extschema@.to_numeric(u.voucher_paid) AS voucher_paid,
	   @extschema@.to_numeric(u.cash_paid) AS cash_paid
FROM @extschema@.instance_usage u;
COMMENT ON VIEW gpubill_bi.instance_usage IS 'instance_usage for BI: one row per instance and hour of use, money as numeric in the customer''s currency';

CREATE VIEW gpubill_bi.accounts AS
SELECT a.account_id, a.owner_kind, a.owner_id, a.purpose, a.currency, a.balance_exact AS balance
FROM @extschema@.accounts a;
COMMENT ON VIEW gpubill_bi.accounts IS 'accounts for BI: every account''s journal balance as numeric in its currency (exact, also beyond the amount range)';

CREATE VIEW gpubill_bi.transfers AS
SELECT t.transfer_id, t.at, t.recorded_at, t.kind, @extschema@.currency(t.amount) AS currency,
	   @extschema@.to_numeric(t.amount) AS amount, t.debit_account, t.credit_account, t.object_type, t.object_id,
	   t.request_id, t.customer_id, t.partner_id, t.reverses, t.note, t.debit_owner_kind, t.debit_owner_id, t.debit_purpose,
	   t.credit_owner_kind, t.credit_owner_id, t.credit_purpose
FROM @extschema@.transfers t;
COMMENT ON VIEW gpubill_bi.transfers IS 'The journal for BI: one row per transfer, its amount as numeric next to its currency';

CREATE VIEW gpubill_bi.arrears AS
SELECT a.customer, a.since, @extschema@.currency(a.amount) AS currency, @extschema@.to_numeric(a.amount) AS amount
FROM @extschema@.arrears a;
COMMENT ON VIEW gpubill_bi.arrears IS 'arrears for BI: one row per customer in arrears, what is owed as numeric in its currency';

CREATE VIEW gpubill_bi.contract_receivables AS
SELECT r.contract, r.seq, r.customer, r.kind, r.due_at, pg_catalog.lower(r.covers) AS covers_from,
	   pg_catalog.upper(r.covers) AS covers_until, @extschema@.currency(r.customer_pays) AS currency,
	   @extschema@.to_numeric(r.customer_pays) AS customer_pays, @extschema@.to_numeric(r.paid) AS paid,
	   @extschema@.to_numeric(r.from_deposit) AS from_deposit, r.paid_at, r.late_from, r.overdue, r.cancelled
FROM @extschema@.contract_receivables r;
COMMENT ON VIEW gpubill_bi.contract_receivables IS 'contract_receivables for BI: what contracts'' customers owe, money as numeric in the contract''s currency, the time covered as two bounds';

CREATE VIEW gpubill_bi.wallets AS
SELECT w.customer_id AS customer, @extschema@.currency(w.cash) AS currency, @extschema@.to_numeric(w.cash) AS cash,
	   @extschema@.to_numeric(w.vouchers) AS vouchers, @extschema@.to_numeric(w.held) AS held,
	   @extschema@.to_numeric(w.cash + w.vouchers - w.held) AS available, @extschema@.to_numeric(w.recharged) AS recharged
FROM @extschema@.wallet w;
COMMENT ON VIEW gpubill_bi.wallets IS 'Each customer''s wallet for BI: cash, vouchers, held and available as numeric in its currency (cached balances, checked by verify())';

GRANT USAGE ON SCHEMA gpubill_bi TO gpubill_reader, gpubill_admin;
GRANT SELECT ON ALL TABLES IN SCHEMA gpubill_bi TO gpubill_reader, gpubill_admin;

-- pg_cron anywhere (issue 16): the clock scheduled in pg_cron's database through dblink
CREATE OR REPLACE FUNCTION @extschema@.conninfo_quote(v text) RETURNS text
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	AS $$ SELECT '''' || pg_catalog.replace(pg_catalog.replace(v, E'\\', E'\\\\'), '''', E'\\''') || '''' $$;
COMMENT ON FUNCTION @extschema@.conninfo_quote(text) IS 'A value of a libpq connection string, quoted';

CREATE OR REPLACE FUNCTION @extschema@.in_cron_database(sql text) RETURNS SETOF bigint
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

CREATE OR REPLACE FUNCTION @extschema@.schedule_jobs()
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

CREATE OR REPLACE FUNCTION @extschema@.unschedule_jobs()
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

REVOKE EXECUTE ON FUNCTION @extschema@.in_cron_database(text) FROM PUBLIC;

-- a BI replica by logical replication (issue 16)
CREATE OR REPLACE FUNCTION @extschema@.create_publication(name text DEFAULT 'gpubill_data')
	RETURNS integer
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	tables text;
	n integer;
BEGIN
	IF NOT @extschema@.is_admin() THEN
		RAISE EXCEPTION 'publications may be created only by gpubill_admin' USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF name IS NULL OR name = '' THEN
		RAISE EXCEPTION 'a publication needs a name' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT pg_catalog.string_agg(c.oid::regclass::text, ', ' ORDER BY c.relname), pg_catalog.count(*)
	INTO tables, n
	FROM pg_catalog.pg_class c
	WHERE c.oid IN (SELECT pg_catalog.unnest(e.extconfig) FROM pg_catalog.pg_extension e WHERE e.extname = 'gpubill')
	  AND c.relkind IN ('r', 'p') AND NOT c.relispartition;	/* tables and the journal's roots, not sequences */
	EXECUTE pg_catalog.format('CREATE PUBLICATION %I FOR TABLE %s WITH (publish_via_partition_root = true)', name, tables);
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.create_publication(text) IS 'Publish exactly gpubill''s data tables (the journal through its root) for a BI replica by logical replication; returns how many; gpubill_admin only (issue 16)';

REVOKE EXECUTE ON FUNCTION @extschema@.create_publication(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.create_publication(text) TO gpubill_admin;
