/*
 * 25_months.sql — the journal by billing month.
 *
 * The journal's tables (transfer, and the customers' order_line: every
 * partitioned table of the extension) are partitioned by the business time
 * `at`, a partition per calendar month of the billing time zone:
 * <table>_YYYY_MM holds [first instant of the month, first instant of the
 * next).  A row of a month without a partition of its own lands in
 * <table>_default, so no write ever fails for want of a partition.  The
 * default partition is also the template of the months': its keys and
 * indexes are copied to each (the tables themselves have none, so that
 * pg_restore, attaching a month's partition it made with its indexes,
 * does not make them twice).
 *
 * tick makes the partitions of its month and of the two after it ahead of
 * time (add_journal_months), in its last step, which waits at most 200 ms
 * for its locks: attaching a partition locks the table's default partition
 * (calls writing there wait for tick's commit), never the other months.  A month whose rows are already
 * in the default partition (written before its partition was made: a
 * backfill, simulated time) keeps them there and gets no partition.  A
 * month's partitions can be detached and archived once the month is closed
 * (README, "Months").
 *
 * Map (scripts/file-map.pl):
 * API: closed_until, journal_balances.
 * Internals: active_holds, add_journal_month, add_journal_months,
 *   archive_journal_month, carry_holds, check_open, close_ledger_month,
 *   freeze_journal_month, journal_base, journal_partitions_ending_by,
 *   journal_tables, keep_billing_timezone, ledger_month_digest, month_bounds,
 *   month_lock_key, rollup_sum.
 * Tables: account_month, archived_month, closed_month, hold_carry.
 * Uses: 1_types, 2_base.
 */

-- the journal's tables: the extension's tables partitioned by month of at
CREATE FUNCTION @extschema@.journal_tables() RETURNS SETOF regclass
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
	SELECT c.oid::regclass FROM pg_catalog.pg_partitioned_table p JOIN pg_catalog.pg_class c ON c.oid = p.partrelid
	WHERE c.relnamespace = '@extschema@'::regnamespace
	ORDER BY c.relname
$$;
COMMENT ON FUNCTION @extschema@.journal_tables() IS 'The journal''s tables: the extension''s tables partitioned by the billing month of at (transfer, order_line)';

/*
 * The journal's month partitions attached and ending by t, found by their
 * bounds, not their names (one made under another billing_timezone may
 * straddle two months): closing freezes them, archiving detaches them.
 */
CREATE FUNCTION @extschema@.journal_partitions_ending_by(t timestamptz)
	RETURNS TABLE (tbl regclass, part regclass, qualified text)
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
	SELECT j.tbl, c.oid::regclass, pg_catalog.format('%I.%I', n.nspname, c.relname)
	FROM @extschema@.journal_tables() j(tbl)
	JOIN pg_catalog.pg_inherits i ON i.inhparent = j.tbl
	JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
	JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
	WHERE pg_catalog.pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
	  AND pg_catalog.substring(pg_catalog.pg_get_expr(c.relpartbound, c.oid), $re$TO \('([^']*)'\)$re$)::timestamptz <= t
	ORDER BY 3
$$;
COMMENT ON FUNCTION @extschema@.journal_partitions_ending_by(timestamptz) IS 'The journal''s month partitions attached and ending by t (by their bounds): what closing freezes and archiving detaches';

/*
 * The partitions of the billing month holding t, for every journal table
 * that has none and whose default partition holds no row of that month.
 * Returns the partitions made.
 */
CREATE FUNCTION @extschema@.add_journal_month(t timestamptz) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	tz text := @extschema@.billing_timezone();
	month @extschema@.billing_period := @extschema@.billing_period('month', t, tz);
	lo timestamptz := @extschema@.lower(month);
	hi timestamptz := @extschema@.upper(month);
	suffix text := pg_catalog.to_char(lo AT TIME ZONE tz, 'YYYY_MM');
	tbl regclass;
	part text;
	def regclass;
	taken boolean;
	made integer := 0;
BEGIN
	FOR tbl IN SELECT * FROM @extschema@.journal_tables() LOOP
		part := (SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = tbl) || '_' || suffix;
		CONTINUE WHEN pg_catalog.to_regclass(pg_catalog.format('@extschema@.%I', part)) IS NOT NULL;
		SELECT i.inhrelid::regclass INTO def
		FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = tbl AND pg_catalog.pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT';
		EXECUTE pg_catalog.format('SELECT EXISTS (SELECT FROM %s WHERE at >= $1 AND at < $2)', def) INTO taken USING lo, hi;
		CONTINUE WHEN taken;	/* the month stays in the default partition */
		/* made apart and attached: attaching locks the default partition, not the table (rows are written
		   meanwhile); keys and indexes are the default partition's (the journal's tables have none) */
		BEGIN
			EXECUTE pg_catalog.format('CREATE TABLE @extschema@.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)',
									  part, def);
			EXECUTE pg_catalog.format('ALTER TABLE %s ATTACH PARTITION @extschema@.%I FOR VALUES FROM (%L) TO (%L)', tbl, part, lo, hi);
		EXCEPTION WHEN check_violation OR invalid_object_definition THEN
			/* a row of the month reached the default partition while this waited for it, or a partition made
			   under another billing_timezone overlaps the month: the month stays in the default partition */
			CONTINUE;
		END;
		EXECUTE pg_catalog.format('COMMENT ON TABLE @extschema@.%I IS %L', part,
			pg_catalog.format('The rows of %s of the billing month %s (%s)', tbl, pg_catalog.to_char(lo AT TIME ZONE tz, 'YYYY-MM'), tz));
		IF EXISTS (SELECT FROM pg_catalog.pg_trigger g JOIN pg_catalog.pg_class c ON c.oid = g.tgrelid
				   WHERE g.tgrelid = tbl AND g.tgname = c.relname || '_no_truncate') THEN	/* append-only (R-LED-4) */
			PERFORM @extschema@.make_append_only(pg_catalog.format('@extschema@.%I', part)::regclass);
		END IF;
		made := made + 1;
	END LOOP;
	RETURN made;
END
$$;
COMMENT ON FUNCTION @extschema@.add_journal_month(timestamptz) IS 'Make the partitions of the billing month holding t for every journal table that has none (unless its default partition holds rows of that month); returns the partitions made';

-- the partitions of the billing month holding t and of the months after it, up to ahead months
CREATE FUNCTION @extschema@.add_journal_months(t timestamptz, ahead integer DEFAULT 2) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	tz text := @extschema@.billing_timezone();
	m @extschema@.billing_period := @extschema@.billing_period('month', t, tz);
	made integer := 0;
BEGIN
	IF ahead IS NULL OR ahead < 0 OR ahead > 120 THEN
		RAISE EXCEPTION 'ahead must be between 0 and 120 months, not %', ahead USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR k IN 0 .. ahead LOOP
		made := made + @extschema@.add_journal_month(@extschema@.lower(m));
		m := @extschema@.next(m, tz);
	END LOOP;
	RETURN made;
END
$$;
COMMENT ON FUNCTION @extschema@.add_journal_months(timestamptz, integer) IS 'Make the journal''s partitions of the billing month holding t and of the ahead months after it, where missing; returns the partitions made';

/*
 * Closed months (issue 14).  close_period (8_clock) closes a calendar month
 * of the billing time zone once: every layer writes the month's roll-ups
 * (here: each account's movements and closing balance), the digest of them
 * all is kept, and from then on no money moves in the month — the door
 * refuses a leg or a hold dated in it (GB004), and its partitions, if it
 * has them, refuse every insert (a CHECK constraint that no row meets, not
 * validated: the rows there stay).  Months close in order: the closed
 * months are all those before closed_until().  A late correction is a new
 * transfer in an open month that references the original (reverse_transfer).
 */
CREATE TABLE @extschema@.closed_month (
	month		date PRIMARY KEY,			/* the month's first day in the billing time zone */
	starts_at	timestamptz NOT NULL,
	ends_at		timestamptz NOT NULL UNIQUE,
	at			timestamptz NOT NULL,		/* the business time of the close */
	recorded_at	timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
	digest		text NOT NULL,				/* md5 of the month's balance and statement roll-ups (verify) */
	usage_digest text NOT NULL,				/* md5 of its hours of use, as many as its order lines (verify full) */
	CHECK (starts_at < ends_at AND at >= ends_at)
);
COMMENT ON TABLE @extschema@.closed_month IS 'A closed billing month: its bounds, when it was closed and the digest of its roll-ups; append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.closed_month', '');
SELECT @extschema@.make_append_only('@extschema@.closed_month');

/* a closed month's roll-ups were made with its bounds in the billing time zone: it is fixed from then on */
CREATE FUNCTION @extschema@.keep_billing_timezone() RETURNS trigger
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	/* a zone that gives every closed month the same bounds is no change (a restore inserts the setting after them) */
	IF EXISTS (SELECT FROM @extschema@.closed_month c
			   CROSS JOIN LATERAL (SELECT @extschema@.billing_period('month', c.starts_at, NEW.value) AS m) p
			   WHERE (@extschema@.lower(p.m), @extschema@.upper(p.m)) IS DISTINCT FROM (c.starts_at, c.ends_at)) THEN
		RAISE EXCEPTION 'billing_timezone cannot change once a billing month is closed'
			USING ERRCODE = 'GB004',
				  DETAIL = pg_catalog.format('The months up to %s are closed in %s.',
							pg_catalog.to_char((SELECT pg_catalog.max(c.month) FROM @extschema@.closed_month c), 'YYYY-MM'),
							@extschema@.billing_timezone());
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.keep_billing_timezone() IS 'Trigger: billing_timezone is refused a zone that gives a closed billing month other bounds (GB004)';
CREATE TRIGGER settings_keep_billing_timezone BEFORE INSERT OR UPDATE ON @extschema@.settings
	FOR EACH ROW WHEN (NEW.key = 'billing_timezone') EXECUTE FUNCTION @extschema@.keep_billing_timezone();

-- the end of the last closed month: no money moves before it (NULL: no month is closed)
CREATE FUNCTION @extschema@.closed_until() RETURNS timestamptz
	LANGUAGE sql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$ SELECT pg_catalog.max(c.ends_at) FROM @extschema@.closed_month c $$;
COMMENT ON FUNCTION @extschema@.closed_until() IS 'The end of the last closed billing month (NULL when none is): the journal is never written before it';

/*
 * Archived months: closed months whose partitions were detached from the
 * journal (archive_month, 8_clock) to be kept elsewhere.  Their roll-ups
 * stay; every read of the journal, verify(full => true) included, starts
 * after the last of them, from its roll-ups.
 */
CREATE TABLE @extschema@.archived_month (
	month		date PRIMARY KEY REFERENCES @extschema@.closed_month,
	ends_at		timestamptz NOT NULL UNIQUE,
	at			timestamptz NOT NULL,		/* the business time of the archiving */
	recorded_at	timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
	partitions	text[] NOT NULL				/* the tables detached: to be dumped and dropped */
);
COMMENT ON TABLE @extschema@.archived_month IS 'A closed billing month whose journal partitions were detached (archive_month): the journal is read from the end of the last; append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.archived_month', '');
SELECT @extschema@.make_append_only('@extschema@.archived_month');

/*
 * Where a read of the journal starts: the last month whose roll-ups it takes
 * (NULL: none) and the instant from which it reads the journal.  Full: the
 * last archived month (the journal before it is not in the database);
 * else the last closed month.
 */
CREATE FUNCTION @extschema@.journal_base(whole boolean, OUT month date, OUT since timestamptz)
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
	SELECT m.month, coalesce(m.ends_at, '-infinity')
	FROM (SELECT NULL::date AS month, NULL::timestamptz AS ends_at) z
	LEFT JOIN LATERAL (SELECT a.month, a.ends_at FROM @extschema@.archived_month a WHERE whole
					   UNION ALL
					   SELECT c.month, c.ends_at FROM @extschema@.closed_month c WHERE NOT whole
					   ORDER BY 1 DESC LIMIT 1) m ON true
$$;
COMMENT ON FUNCTION @extschema@.journal_base(boolean) IS 'Where a read of the journal starts: the month whose roll-ups it takes and the instant it reads from (full: after the last archived month; else after the last closed month)';

/*
 * Detach the partitions of the closed month m, once: every partition of
 * the journal that ends by the month's end and is still attached (a month
 * kept in the default partition stays there, unread).  The months before
 * it must be archived.
 */
CREATE FUNCTION @extschema@.archive_journal_month(m date, t timestamptz) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	c @extschema@.closed_month;
	part record;
	parts text[] := '{}';
BEGIN
	SELECT * INTO c FROM @extschema@.closed_month k WHERE k.month = m;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'the billing month % cannot be archived: it is not closed', pg_catalog.to_char(m, 'YYYY-MM')
			USING ERRCODE = 'GB004';
	END IF;
	IF EXISTS (SELECT FROM @extschema@.archived_month a WHERE a.month = m) THEN
		RETURN 0;
	END IF;
	FOR part IN SELECT * FROM @extschema@.journal_partitions_ending_by(c.ends_at) LOOP
		EXECUTE pg_catalog.format('ALTER TABLE %s DETACH PARTITION %s', part.tbl, part.part);
		parts := parts || part.qualified;
	END LOOP;
	INSERT INTO @extschema@.archived_month (month, ends_at, at, partitions) VALUES (m, c.ends_at, t, parts);
	RETURN 1;
END
$$;
COMMENT ON FUNCTION @extschema@.archive_journal_month(date, timestamptz) IS 'Detach the journal partitions of a closed month (those ending by its end) and record it archived; once';

-- the key of t's billing month among advisory locks (a writer holds it shared, close_period exclusive)
CREATE FUNCTION @extschema@.month_lock_key(t timestamptz) RETURNS integer
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$ SELECT pg_catalog.to_char(t AT TIME ZONE @extschema@.billing_timezone(), 'YYYYMM')::integer $$;
COMMENT ON FUNCTION @extschema@.month_lock_key(timestamptz) IS 'The billing month of t as an advisory lock key (YYYYMM)';

/*
 * The door's check: nothing is written at t if t falls in a closed month.
 * The writer holds its month's advisory lock shared to its commit, so a
 * month is never closed while a write dated in it is in flight, and a write
 * that waited for a close sees it.
 */
CREATE FUNCTION @extschema@.check_open(t timestamptz) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	until timestamptz;
BEGIN
	IF t IS NULL THEN
		RETURN;
	END IF;
	PERFORM pg_catalog.pg_advisory_xact_lock_shared(pg_catalog.hashtext('gpubill.month'), @extschema@.month_lock_key(t));
	until := @extschema@.closed_until();
	IF t < until THEN
		RAISE EXCEPTION 'the billing month of % is closed', t USING ERRCODE = 'GB004',
			DETAIL = pg_catalog.format('Months before %s are closed: their journal is never written again.', until),
			HINT = 'Record a correction in an open month (reverse_transfer references the original).';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.check_open(timestamptz) IS 'Refuse (GB004) a write dated in a closed billing month (issue 14)';

/*
 * Each account's month: what it moved (micro-units, numeric: the world's
 * and the platform's accounts sum every customer's and may leave the amount
 * range) and its balance at the month's end.  A row for every account that
 * moved in the month or holds a balance, so a month's closing balances are
 * its rows alone.
 */
CREATE TABLE @extschema@.account_month (
	month		date NOT NULL,
	account_id	bigint NOT NULL,
	owner_kind	text NOT NULL,				/* the account's party key */
	owner_id	bigint NOT NULL,
	debits		numeric NOT NULL,
	credits		numeric NOT NULL,
	closing		numeric NOT NULL,			/* credits minus debits, ever, at the month's end */
	PRIMARY KEY (month, account_id)
);
CREATE INDEX account_month_account_idx ON @extschema@.account_month (account_id, month);
COMMENT ON TABLE @extschema@.account_month IS 'A roll-up of a closed month: each account''s debits, credits and closing balance in micro-units; append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.account_month', '');
SELECT @extschema@.make_append_only('@extschema@.account_month');

/*
 * The holds still active at the end of each closed month (placed before
 * it, not ended before it): the active holds are those and the holds of
 * the open months, less those ended since — verify reads no closed month
 * of holds.
 */
CREATE TABLE @extschema@.hold_carry (
	month		date NOT NULL,
	hold_id		bigint NOT NULL,
	customer_id	bigint NOT NULL,
	PRIMARY KEY (month, hold_id)
);
COMMENT ON TABLE @extschema@.hold_carry IS 'A roll-up of a closed month: the holds active at its end; append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.hold_carry', '');
SELECT @extschema@.make_append_only('@extschema@.hold_carry');
CREATE INDEX hold_at_idx ON @extschema@.hold (at);
CREATE INDEX hold_end_at_idx ON @extschema@.hold_end (at);

-- the bounds of the billing month whose first day is m
CREATE FUNCTION @extschema@.month_bounds(m date, OUT starts_at timestamptz, OUT ends_at timestamptz)
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
	SELECT @extschema@.lower(p), @extschema@.upper(p)
	FROM (SELECT @extschema@.billing_period('month', m::timestamp AT TIME ZONE @extschema@.billing_timezone(),
											@extschema@.billing_timezone()) AS p) x
$$;
COMMENT ON FUNCTION @extschema@.month_bounds(date) IS 'The first instant of the billing month whose first day is m, and of the month after it';

-- the ledger's roll-up of month m (the month before it closed, or none): returns its digest
CREATE FUNCTION @extschema@.close_ledger_month(m date) RETURNS text
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	b record := @extschema@.month_bounds(m);
	prev date := (m - interval '1 month')::date;
BEGIN
	INSERT INTO @extschema@.account_month (month, account_id, owner_kind, owner_id, debits, credits, closing)
	SELECT m, a.account_id, a.owner_kind, a.owner_id, coalesce(v.debits, 0), coalesce(v.credits, 0),
		   coalesce(p.closing, 0) + coalesce(v.credits, 0) - coalesce(v.debits, 0)
	FROM (SELECT l.account_id, pg_catalog.sum(l.debits) AS debits, pg_catalog.sum(l.credits) AS credits
		  FROM (SELECT t.debit_account AS account_id, pg_catalog.sum(@extschema@.micros(t.amount)) AS debits, NULL::numeric AS credits
				FROM @extschema@.transfer t WHERE t.at >= b.starts_at AND t.at < b.ends_at GROUP BY 1
				UNION ALL
				SELECT t.credit_account, NULL, pg_catalog.sum(@extschema@.micros(t.amount))
				FROM @extschema@.transfer t WHERE t.at >= b.starts_at AND t.at < b.ends_at GROUP BY 1) l
		  GROUP BY l.account_id) v
	FULL JOIN (SELECT k.account_id, k.closing FROM @extschema@.account_month k WHERE k.month = prev AND k.closing <> 0) p
		ON p.account_id = v.account_id
	JOIN @extschema@.account a ON a.account_id = coalesce(v.account_id, p.account_id);
	PERFORM @extschema@.carry_holds(m);
	RETURN @extschema@.ledger_month_digest(m);
END
$$;
COMMENT ON FUNCTION @extschema@.close_ledger_month(date) IS 'Write the ledger''s roll-up of a closed month (each account''s debits, credits, closing balance); returns its digest';

-- a roll-up table's rows of month m, counted and their hashes summed (each column type's hash, no text): the digests' part
CREATE FUNCTION @extschema@.rollup_sum(tbl regclass, m date) RETURNS text
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
DECLARE
	result text;
BEGIN
	EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) || '':'' || coalesce(pg_catalog.sum(pg_catalog.hash_record(k)), 0)
							   FROM %s k WHERE k.month = $1', tbl) INTO result USING m;
	RETURN result;
END
$$;
COMMENT ON FUNCTION @extschema@.rollup_sum(regclass, date) IS 'The rows of a month in a roll-up table, counted and their hashes summed (the closed months'' digests)';

CREATE FUNCTION @extschema@.ledger_month_digest(m date) RETURNS text
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
	SELECT pg_catalog.md5(@extschema@.rollup_sum('@extschema@.account_month', m) || ';'
						  || @extschema@.rollup_sum('@extschema@.hold_carry', m))
$$;
COMMENT ON FUNCTION @extschema@.ledger_month_digest(date) IS 'The digest of the ledger''s roll-up of a month: its rows counted and their hashes summed (every column''s type''s hash; no text)';

-- the partitions of a closed month refuse every insert (a constraint no row meets, not validated); returns how many
CREATE FUNCTION @extschema@.freeze_journal_month(m date) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	b record := @extschema@.month_bounds(m);
	part regclass;
	n integer := 0;
BEGIN
	/* every month partition that ends by the month's end (one made under another billing_timezone
	   may straddle two months: it is frozen with the later one) and is not frozen yet */
	FOR part IN
		SELECT p.part FROM @extschema@.journal_partitions_ending_by(b.ends_at) p
		WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_constraint k WHERE k.conrelid = p.part AND k.conname = 'month_closed')
	LOOP
		EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT month_closed CHECK (false) NOT VALID', part);
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.freeze_journal_month(date) IS 'Make the partitions of a closed month refuse every insert (CHECK false, not validated)';


-- the holds active at the end of month m: those carried from the month before and those placed in m, not ended in m
CREATE FUNCTION @extschema@.carry_holds(m date) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	b record := @extschema@.month_bounds(m);
	first_close boolean := NOT EXISTS (SELECT FROM @extschema@.closed_month c WHERE c.month < m);
	n integer;
BEGIN
	INSERT INTO @extschema@.hold_carry (month, hold_id, customer_id)
	SELECT m, h.hold_id, h.customer_id
	FROM @extschema@.hold h
	WHERE h.at < b.ends_at
	  AND (first_close OR h.at >= b.starts_at
		   OR h.hold_id IN (SELECT c.hold_id FROM @extschema@.hold_carry c WHERE c.month = (m - interval '1 month')::date))
	  AND NOT EXISTS (SELECT FROM @extschema@.hold_end e WHERE e.hold_id = h.hold_id AND e.at < b.ends_at);
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.carry_holds(date) IS 'Write the holds active at the end of a closed month (carried from the month before, or placed in it)';

/*
 * Every account's journal balance (credits minus debits, micro-units as
 * numeric): the closing balances of the last closed month and the open
 * months' transfers (a read that does not grow with history); full, of the
 * last archived month (none: the whole journal) and the transfers after it.
 */
CREATE FUNCTION @extschema@.journal_balances(whole boolean) RETURNS TABLE (account_id bigint, balance numeric)
	LANGUAGE plpgsql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	SET plan_cache_mode = force_custom_plan	/* the bound known when planning: closed months not even planned */
	SET jit = off			/* compiling the plan of every month's partition costs more than the read */
	AS $$
#variable_conflict use_column
DECLARE
	last date;
	since timestamptz;
BEGIN
	SELECT b.month, b.since INTO last, since FROM @extschema@.journal_base(whole) b;
	RETURN QUERY
	WITH moved AS (	/* summed per account in bigint micro-units first (128-bit sums: exact, and 3x faster than numeric) */
		SELECT t.credit_account AS account_id, pg_catalog.sum(@extschema@.micros(t.amount)) AS micros
		FROM @extschema@.transfer t WHERE t.at >= since GROUP BY 1
		UNION ALL
		SELECT t.debit_account, -pg_catalog.sum(@extschema@.micros(t.amount))
		FROM @extschema@.transfer t WHERE t.at >= since GROUP BY 1
	)
	SELECT l.account_id, pg_catalog.sum(l.micros)
	FROM (SELECT k.account_id, k.closing AS micros FROM @extschema@.account_month k WHERE k.month = last
		  UNION ALL
		  SELECT m.account_id, m.micros FROM moved m) l
	GROUP BY l.account_id;
END
$$;
COMMENT ON FUNCTION @extschema@.journal_balances(boolean) IS 'Every account''s journal balance in micro-units: the closing balances of the last archived (full) or closed month plus the journal after it';

-- the holds active now: those carried from the last closed month (full: archived; none: every hold) and those placed after it
CREATE FUNCTION @extschema@.active_holds(whole boolean) RETURNS SETOF @extschema@.hold
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
	WITH last AS (
		SELECT b.month, b.since FROM @extschema@.journal_base(whole) b
	)
	SELECT h.* FROM @extschema@.hold h
	WHERE h.at >= (SELECT since FROM last)
	  AND NOT EXISTS (SELECT FROM @extschema@.hold_end e WHERE e.hold_id = h.hold_id)
	UNION ALL
	SELECT h.* FROM @extschema@.hold_carry c JOIN @extschema@.hold h ON h.hold_id = c.hold_id
	WHERE c.month = (SELECT month FROM last)
	  AND NOT EXISTS (SELECT FROM @extschema@.hold_end e WHERE e.hold_id = h.hold_id)
$$;
COMMENT ON FUNCTION @extschema@.active_holds(boolean) IS 'The holds not ended: those carried from the last archived (full) or closed month and those placed after it';
