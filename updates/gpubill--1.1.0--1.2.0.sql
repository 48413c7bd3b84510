/*
 * gpubill 1.1.0 -> 1.2.0 (issue 17): past one machine.  Partitions: a
 * database provisioned as partition k of n (src/sql/4_parties/20_partitions.sql);
 * shard ids that start on a fresh database.
 */
\echo Use "ALTER EXTENSION gpubill UPDATE TO '1.2.0'" to load this file. \quit

CREATE OR REPLACE FUNCTION @extschema@.move_sequence_to_shard(seq regclass, shard bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	lo bigint := shard * 281474976710656 + 1;
	hi bigint := (shard + 1) * 281474976710656 - 1;
	last bigint;
BEGIN
	EXECUTE pg_catalog.format('SELECT last_value FROM %s', seq) INTO last;
	/* START too: a sequence's start must lie within its bounds (issue 17: shard 1 of a fresh database) */
	EXECUTE pg_catalog.format('ALTER SEQUENCE %s MINVALUE %s MAXVALUE %s START WITH %s RESTART WITH %s', seq, lo, hi, lo,
		CASE WHEN last >= lo AND last < hi THEN last + 1 ELSE lo END);
END
$$;
COMMENT ON FUNCTION @extschema@.move_sequence_to_shard(regclass, bigint) IS 'Confine a sequence to the id range of a shard: shard * 2^48 + 1 .. (shard + 1) * 2^48 - 1';

CREATE TABLE @extschema@.partition_identity (
	one			boolean PRIMARY KEY DEFAULT true CHECK (one),	/* one row */
	partition	integer NOT NULL,
	partitions	integer NOT NULL,
	provisioned_at timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
	CHECK (partitions >= 1 AND partitions <= 32768 AND (partitions & (partitions - 1)) = 0),
	CHECK (partition >= 0 AND partition < partitions)
);
COMMENT ON TABLE @extschema@.partition_identity IS 'This database as partition k of n (issue 17); no row: partition 0 of 1';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.partition_identity', '');

CREATE OR REPLACE FUNCTION @extschema@.partition_of(id bigint) RETURNS integer
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	AS $$ SELECT (id >> 48)::integer $$;
COMMENT ON FUNCTION @extschema@.partition_of(bigint) IS 'The partition (shard) an id was drawn on: id / 2^48 (issue 17)';

CREATE OR REPLACE FUNCTION @extschema@.provision_partition(k integer, n integer)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	tbl regclass;
	taken boolean;
	cur @extschema@.partition_identity;
BEGIN
	IF NOT @extschema@.is_admin() THEN
		RAISE EXCEPTION 'partitions may be provisioned only by gpubill_admin' USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF n IS NULL OR n < 1 OR n > 32768 OR (n & (n - 1)) <> 0 THEN
		RAISE EXCEPTION 'the number of partitions must be a power of two from 1 to 32768, not %', n
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF k IS NULL OR k < 0 OR k >= n THEN
		RAISE EXCEPTION 'partition % is not one of 0 to %', k, n - 1 USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT * INTO cur FROM @extschema@.partition_identity FOR UPDATE;
	IF FOUND AND (cur.partition, cur.partitions) = (k, n) THEN
		RETURN;		/* provisioned so already */
	END IF;
	/* before any billing row: ids already drawn would lie outside the partition's range */
	FOR tbl IN SELECT c.oid::regclass FROM pg_catalog.pg_class c
			   WHERE c.oid IN (SELECT pg_catalog.unnest(e.extconfig) FROM pg_catalog.pg_extension e WHERE e.extname = 'gpubill')
				 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
				 AND c.relname NOT IN ('settings', 'clock_state', 'partition_identity') LOOP
		EXECUTE pg_catalog.format('SELECT EXISTS (SELECT FROM %s)', tbl) INTO taken;
		IF taken THEN
			RAISE EXCEPTION 'this database cannot become partition % of %: it holds billing rows (%)', k, n, tbl
				USING ERRCODE = 'GB004',
					  HINT = CASE WHEN FOUND THEN pg_catalog.format('It is partition %s of %s.', cur.partition, cur.partitions)
								  ELSE 'Provision a partition before its first row.' END;
		END IF;
	END LOOP;
	PERFORM @extschema@.set_setting('shard_id', k::text);
	INSERT INTO @extschema@.partition_identity AS p (partition, partitions) VALUES (k, n)
	ON CONFLICT (one) DO UPDATE SET partition = excluded.partition, partitions = excluded.partitions,
									provisioned_at = excluded.provisioned_at;
END
$$;
COMMENT ON FUNCTION @extschema@.provision_partition(integer, integer) IS 'Make this database partition k of n (n a power of two): its ids k * 2^48 + 1 .. (k + 1) * 2^48 - 1; refused once it holds billing rows (GB004); gpubill_admin only (issue 17)';

REVOKE EXECUTE ON FUNCTION @extschema@.provision_partition(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.provision_partition(integer, integer) TO gpubill_admin;
REVOKE ALL ON @extschema@.partition_identity FROM PUBLIC;

-- R-LED-5 across partitions: the registry of payment ids (issue 17)
CREATE TABLE @extschema@.payment_claim (
	channel		text NOT NULL,
	external_id	text NOT NULL,
	customer_id	bigint NOT NULL,
	claimed_at	timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
	PRIMARY KEY (channel, external_id)
);
COMMENT ON TABLE @extschema@.payment_claim IS 'The partitions'' registry of payment ids (on partition 0): the customer each (channel, external id) credits (R-LED-5, issue 17)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.payment_claim', '');
SELECT @extschema@.make_append_only('@extschema@.payment_claim');
REVOKE ALL ON @extschema@.payment_claim FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.claim_payment(channel text, external_id text, customer bigint)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
#variable_conflict use_column
BEGIN
	IF channel IS NULL OR external_id IS NULL OR customer IS NULL THEN
		RAISE EXCEPTION 'a payment claim needs a channel, an external id and a customer' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO @extschema@.payment_claim AS c (channel, external_id, customer_id) VALUES ($1, $2, $3)
	ON CONFLICT ON CONSTRAINT payment_claim_pkey DO NOTHING;
	RETURN (SELECT c.customer_id FROM @extschema@.payment_claim c WHERE c.channel = $1 AND c.external_id = $2);
END
$$;
COMMENT ON FUNCTION @extschema@.claim_payment(text, text, bigint) IS 'Claim a payment id (channel, external id) for a customer in the partitions'' registry; returns the customer it credits, the first to claim it (R-LED-5, issue 17)';

REVOKE EXECUTE ON FUNCTION @extschema@.claim_payment(text, text, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.claim_payment(text, text, bigint) TO gpubill_app;

-- one set of settings on every partition (issue 17)
CREATE OR REPLACE FUNCTION @extschema@.settings_digest() RETURNS text
	LANGUAGE sql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	SELECT pg_catalog.md5(pg_catalog.string_agg(d.key || '=' || coalesce(s.value, d.value), E'\n' ORDER BY d.key))
	FROM @extschema@.setting_defaults d LEFT JOIN @extschema@.settings s USING (key)
	WHERE d.key <> 'shard_id'	/* each partition's own */
$$;
COMMENT ON FUNCTION @extschema@.settings_digest() IS 'An md5 of every setting''s value but shard_id: the partitions behind a proxy agree when their digests do (issue 17)';

REVOKE EXECUTE ON FUNCTION @extschema@.settings_digest() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.settings_digest() TO gpubill_app, gpubill_reader, gpubill_admin;

-- the journal's month partitions found once, by their bounds, for closing and archiving
CREATE OR REPLACE FUNCTION @extschema@.journal_partitions_ending_by(t timestamptz)
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

CREATE OR REPLACE FUNCTION @extschema@.freeze_journal_month(m date) RETURNS integer
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

CREATE OR REPLACE FUNCTION @extschema@.archive_journal_month(m date, t timestamptz) RETURNS integer
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


-- partners and machines on every partition: versions, the queue, the copies (issue 17)
CREATE SEQUENCE @extschema@.catalog_version_seq MINVALUE 1;
COMMENT ON SEQUENCE @extschema@.catalog_version_seq IS 'Versions of the partners and machines homed here: every change takes the next (their copies on other partitions follow the greater, issue 17)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.catalog_version_seq', '');
REVOKE ALL ON @extschema@.catalog_version_seq FROM PUBLIC;
ALTER TABLE @extschema@.partner ADD COLUMN version bigint NOT NULL DEFAULT 0;
ALTER TABLE @extschema@.machine ADD COLUMN version bigint NOT NULL DEFAULT 0;

CREATE TABLE @extschema@.catalog_outbox (
	kind		text NOT NULL CHECK (kind IN ('partner', 'machine')),
	id			bigint NOT NULL,
	version		bigint NOT NULL,
	PRIMARY KEY (kind, id)
);
COMMENT ON TABLE @extschema@.catalog_outbox IS 'Partners and machines homed here changed since the proxy last pushed them to the other partitions: the version to push (issue 17); a queue, not dumped: requeue_catalog() after a restore';
REVOKE ALL ON @extschema@.catalog_outbox FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.alert_migrate_data(machines bigint[]) RETURNS void
	LANGUAGE sql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
	INSERT INTO @extschema@.alert (kind, customer_id, partner_id, subject_type, subject_id, condition, raised_at, payload)
	SELECT 'migrate_data', i.customer_id, m.partner_id, 'instance', i.instance_id, m.owner_end_time::text, m.end_notice_at,
		   pg_catalog.jsonb_build_object('machine', m.machine_id, 'owner_end_time', m.owner_end_time)
	FROM @extschema@.machine m JOIN @extschema@.instance i ON i.machine_id = m.machine_id
	WHERE m.machine_id = ANY (machines) AND m.end_notice_at IS NOT NULL AND i.state <> 'released'
	ON CONFLICT DO NOTHING
$$;
COMMENT ON FUNCTION @extschema@.alert_migrate_data(bigint[]) IS 'R-PRT-5: a migrate_data alert to each customer with an instance not released on machines given notice of their end';

CREATE OR REPLACE FUNCTION @extschema@.delist_ending_machines(t timestamptz) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	cfg @extschema@.partner_settings := @extschema@.partner_settings();
	due bigint[];
BEGIN
	WITH due AS (
		UPDATE @extschema@.machine m
		SET state = CASE WHEN m.state = 'listed' THEN 'delisted' ELSE m.state END,
			end_notice_at = GREATEST(@extschema@.delist_at(m.owner_end_time, cfg), m.created_at),
			last_event_at = GREATEST(m.last_event_at, @extschema@.delist_at(m.owner_end_time, cfg))
		WHERE m.end_notice_at IS NULL AND m.state <> 'removed' AND @extschema@.delist_at(m.owner_end_time, cfg) <= t
		RETURNING m.machine_id
	)
	SELECT pg_catalog.array_agg(d.machine_id) INTO due FROM due d;
	PERFORM @extschema@.alert_migrate_data(due);
	UPDATE @extschema@.alert a SET closed_at = GREATEST(a.raised_at, i.last_event_at)
	FROM @extschema@.instance i
	WHERE a.kind = 'migrate_data' AND a.closed_at IS NULL AND a.subject_type = 'instance'
	  AND i.instance_id = a.subject_id AND i.state = 'released';
	RETURN coalesce(pg_catalog.cardinality(due), 0);
END
$$;
COMMENT ON FUNCTION @extschema@.delist_ending_machines(timestamptz) IS 'Delist machines from their owner end time less delist_before_end_days, alert migrate_data to their customers, close the alerts of released instances (R-PRT-5)';

CREATE OR REPLACE FUNCTION @extschema@.this_partition() RETURNS integer
	LANGUAGE sql STABLE PARALLEL SAFE
	AS $$ SELECT coalesce((SELECT p.partition FROM @extschema@.partition_identity p), 0) $$;
COMMENT ON FUNCTION @extschema@.this_partition() IS 'This database''s partition (0 unless provisioned otherwise; issue 17)';

CREATE OR REPLACE FUNCTION @extschema@.catalog_version() RETURNS trigger
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	AS $$
DECLARE
	id bigint := (pg_catalog.to_jsonb(NEW) ->> TG_ARGV[0])::bigint;
	me @extschema@.partition_identity;
	derived text[] := '{state,end_notice_at,last_event_at}';
BEGIN
	IF pg_catalog.current_setting('gpubill_catalog.applying', true) = 'on' THEN
		RETURN NEW;
	END IF;
	SELECT * INTO me FROM @extschema@.partition_identity;
	IF @extschema@.partition_of(id) = coalesce(me.partition, 0) THEN
		IF TG_OP = 'UPDATE' THEN
			IF pg_catalog.to_jsonb(NEW) = pg_catalog.to_jsonb(OLD) THEN
				RETURN NEW;
			END IF;
			NEW.version := pg_catalog.nextval('@extschema@.catalog_version_seq');
		END IF;		/* a new row keeps its version: 0, or the one a restored dump gives */
		IF coalesce(me.partitions, 1) > 1 THEN
			INSERT INTO @extschema@.catalog_outbox AS o (kind, id, version) VALUES (TG_TABLE_NAME, id, NEW.version)
			ON CONFLICT ON CONSTRAINT catalog_outbox_pkey DO UPDATE SET version = GREATEST(o.version, excluded.version);
		END IF;
		RETURN NEW;
	END IF;
	/* R-PRT-5: every partition's tick gives notice of a machine's end alike, for its own customers' alerts */
	IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'machine'
	   AND pg_catalog.to_jsonb(OLD) ->> 'end_notice_at' IS NULL AND pg_catalog.to_jsonb(NEW) ->> 'end_notice_at' IS NOT NULL
	   AND pg_catalog.to_jsonb(NEW) - derived = pg_catalog.to_jsonb(OLD) - derived THEN
		RETURN NEW;
	END IF;
	RAISE EXCEPTION '% % is a copy of partition %''s: it changes there', TG_TABLE_NAME, id, @extschema@.partition_of(id)
		USING ERRCODE = 'GB004', HINT = 'Call through the proxy: it routes the call to the partner''s partition.';
END
$$;
COMMENT ON FUNCTION @extschema@.catalog_version() IS 'Trigger: a partner or machine changed at home takes the next version (queued for the other partitions); a copy changes only by apply_catalog (issue 17)';

CREATE TRIGGER partner_catalog_version BEFORE INSERT OR UPDATE ON @extschema@.partner
	FOR EACH ROW EXECUTE FUNCTION @extschema@.catalog_version('partner_id');
CREATE TRIGGER machine_catalog_version BEFORE INSERT OR UPDATE ON @extschema@.machine
	FOR EACH ROW EXECUTE FUNCTION @extschema@.catalog_version('machine_id');

CREATE OR REPLACE FUNCTION @extschema@.catalog_changes()
	RETURNS TABLE (kind text, id bigint, version bigint, "row" jsonb)
	LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	SELECT o.kind, o.id, x.version, x.r
	FROM @extschema@.catalog_outbox o
	CROSS JOIN LATERAL (SELECT p.version, pg_catalog.to_jsonb(p) FROM @extschema@.partner p
						WHERE o.kind = 'partner' AND p.partner_id = o.id
						UNION ALL
						SELECT m.version, pg_catalog.to_jsonb(m) FROM @extschema@.machine m
						WHERE o.kind = 'machine' AND m.machine_id = o.id) x(version, r)
	ORDER BY o.kind = 'machine', o.id		/* a machine's partner first */
$$;
COMMENT ON FUNCTION @extschema@.catalog_changes() IS 'The partners and machines homed here not yet pushed to the other partitions: kind, id, version and the row (issue 17)';

CREATE OR REPLACE FUNCTION @extschema@.apply_catalog(changes jsonb)
	RETURNS integer
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	me integer := @extschema@.this_partition();
	tbl text;
	key text;
	cols text;
	vals text;
	n integer;
	total integer := 0;
	p @extschema@.partner;
	noticed bigint[];
BEGIN
	IF changes IS NULL OR pg_catalog.jsonb_typeof(changes) <> 'array' THEN
		RAISE EXCEPTION 'catalogue changes are a JSON array of {kind, id, version, row}' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM pg_catalog.set_config('gpubill_catalog.applying', 'on', true);
	FOREACH tbl IN ARRAY ARRAY['partner', 'machine'] LOOP	/* a machine's partner first */
		key := tbl || '_id';
		SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum),
			   pg_catalog.string_agg('excluded.' || pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols, vals
		FROM pg_catalog.pg_attribute a
		WHERE a.attrelid = ('@extschema@.' || tbl)::regclass AND a.attnum > 0 AND NOT a.attisdropped;
		EXECUTE pg_catalog.format(
			'INSERT INTO @extschema@.%1$I AS t (%3$s) '
			'SELECT %3$s FROM pg_catalog.jsonb_array_elements($1) e, '
			'LATERAL pg_catalog.jsonb_populate_record(NULL::@extschema@.%1$I, e -> ''row'') r '
			'WHERE e ->> ''kind'' = %1$L AND @extschema@.partition_of(r.%2$I) <> $2 ORDER BY r.%2$I '
			'ON CONFLICT (%2$I) DO UPDATE SET (%3$s) = ROW(%4$s) WHERE t.version < excluded.version',
			tbl, key, cols, vals)
			USING changes, me;
		GET DIAGNOSTICS n = ROW_COUNT;
		total := total + n;
	END LOOP;
	/* a partner's accounts here, for the income its machines earn from this partition's customers */
	FOR p IN SELECT r.* FROM pg_catalog.jsonb_array_elements(changes) e,
				 LATERAL pg_catalog.jsonb_populate_record(NULL::@extschema@.partner, e -> 'row') r
			 WHERE e ->> 'kind' = 'partner' AND @extschema@.partition_of(r.partner_id) <> me LOOP
		PERFORM @extschema@.open_currency(p.currency);
		PERFORM @extschema@.ledger_account('partner', p.partner_id, 'income', p.currency);
		PERFORM @extschema@.ledger_account('partner', p.partner_id, 'deposit', p.currency);
		IF p.is_provider THEN
			PERFORM @extschema@.ledger_account('partner', p.partner_id, 'exchange', p.currency);
		END IF;
	END LOOP;
	/* R-PRT-5: a machine given notice of its end at home alerts this partition's customers on it */
	noticed := ARRAY(SELECT (e ->> 'id')::bigint FROM pg_catalog.jsonb_array_elements(changes) e
					 WHERE e ->> 'kind' = 'machine' AND e -> 'row' ->> 'end_notice_at' IS NOT NULL
					   AND @extschema@.partition_of((e ->> 'id')::bigint) <> me);
	PERFORM @extschema@.alert_migrate_data(noticed);
	PERFORM pg_catalog.set_config('gpubill_catalog.applying', 'off', true);
	RETURN total;
END
$$;
COMMENT ON FUNCTION @extschema@.apply_catalog(jsonb) IS 'Apply partners and machines pushed from their home partitions (catalog_changes of another partition): a copy follows the greater version, home rows stay; returns the rows written (issue 17)';

CREATE OR REPLACE FUNCTION @extschema@.catalog_pushed(changes jsonb)
	RETURNS integer
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	n integer;
BEGIN
	DELETE FROM @extschema@.catalog_outbox o
	USING pg_catalog.jsonb_to_recordset(changes) c(kind text, id bigint, version bigint)
	WHERE o.kind = c.kind AND o.id = c.id AND o.version = c.version;	/* changed again since: pushed next time */
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.catalog_pushed(jsonb) IS 'Forget the outbox rows pushed to every partition (those of catalog_changes still at the version pushed); returns how many (issue 17)';

CREATE OR REPLACE FUNCTION @extschema@.requeue_catalog()
	RETURNS integer
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	me integer := @extschema@.this_partition();
	n integer;
BEGIN
	IF NOT @extschema@.is_admin() THEN
		RAISE EXCEPTION 'the catalogue is requeued only by gpubill_admin' USING ERRCODE = 'insufficient_privilege';
	END IF;
	INSERT INTO @extschema@.catalog_outbox AS o (kind, id, version)
	SELECT 'partner', p.partner_id, p.version FROM @extschema@.partner p WHERE @extschema@.partition_of(p.partner_id) = me
	UNION ALL
	SELECT 'machine', m.machine_id, m.version FROM @extschema@.machine m WHERE @extschema@.partition_of(m.machine_id) = me
	ON CONFLICT ON CONSTRAINT catalog_outbox_pkey DO UPDATE SET version = GREATEST(o.version, excluded.version);
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.requeue_catalog() IS 'Queue every partner and machine homed here to be pushed to every partition again (after a restore); gpubill_admin only; returns how many (issue 17)';

CREATE OR REPLACE FUNCTION @extschema@.catalog_digest()
	RETURNS text
	LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	SELECT pg_catalog.md5(coalesce((SELECT pg_catalog.string_agg(pg_catalog.to_jsonb(p)::text, '|' ORDER BY p.partner_id)
									FROM @extschema@.partner p), '')
						  || '#' || coalesce((SELECT pg_catalog.string_agg(pg_catalog.to_jsonb(m)::text, '|' ORDER BY m.machine_id)
											  FROM @extschema@.machine m), ''))
$$;
COMMENT ON FUNCTION @extschema@.catalog_digest() IS 'An md5 of every partner and machine row, home and copies: equal on every partition once the pushes are through (issue 17)';

REVOKE EXECUTE ON FUNCTION @extschema@.alert_migrate_data(bigint[]), @extschema@.catalog_version(),
	@extschema@.catalog_changes(), @extschema@.apply_catalog(jsonb), @extschema@.catalog_pushed(jsonb),
	@extschema@.requeue_catalog(), @extschema@.catalog_digest() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.catalog_changes(), @extschema@.apply_catalog(jsonb), @extschema@.catalog_pushed(jsonb)
TO gpubill_app, gpubill_admin;
GRANT EXECUTE ON FUNCTION @extschema@.catalog_digest() TO gpubill_app, gpubill_reader, gpubill_admin;
GRANT EXECUTE ON FUNCTION @extschema@.requeue_catalog() TO gpubill_admin;

-- a machine's GPUs claimed at its home behind the proxy (issue 17)
CREATE TABLE @extschema@.gpu_claim (
	claim_key	text PRIMARY KEY,
	machine_id	bigint NOT NULL,			/* homed here */
	customer_id	bigint NOT NULL,			/* the renter, on any partition */
	gpus		integer NOT NULL CHECK (gpus > 0),
	instance_id	bigint,						/* once confirmed */
	claimed_at	timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp()
);
CREATE INDEX gpu_claim_machine_idx ON @extschema@.gpu_claim (machine_id);
CREATE INDEX gpu_claim_instance_idx ON @extschema@.gpu_claim (instance_id);
CREATE INDEX gpu_claim_unconfirmed_idx ON @extschema@.gpu_claim (claimed_at) WHERE instance_id IS NULL;
COMMENT ON TABLE @extschema@.gpu_claim IS 'GPUs of a machine homed here claimed by a rental through the proxy, until its run ends (R-PRT-1 across partitions, issue 17)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.gpu_claim', '');
REVOKE ALL ON @extschema@.gpu_claim FROM PUBLIC;

CREATE TABLE @extschema@.run_claim (
	claim_key	text PRIMARY KEY,
	instance_id	bigint NOT NULL,			/* a customer's here */
	machine_id	bigint NOT NULL,
	gpus		integer NOT NULL CHECK (gpus > 0),
	ended		boolean NOT NULL DEFAULT false
);
CREATE INDEX run_claim_instance_idx ON @extschema@.run_claim (instance_id) WHERE NOT ended;
CREATE INDEX run_claim_ended_idx ON @extschema@.run_claim (claim_key) WHERE ended;
COMMENT ON TABLE @extschema@.run_claim IS 'The claim key an instance''s run started under; ended runs are the outbox of GPUs to release at the machine''s home (issue 17)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.run_claim', '');
REVOKE ALL ON @extschema@.run_claim FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.run_claim_trigger() RETURNS trigger
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	AS $$
DECLARE
	k text := pg_catalog.current_setting('gpubill_claim.key', true);
BEGIN
	IF TG_OP = 'UPDATE' AND OLD.state = 'running' THEN
		UPDATE @extschema@.run_claim r SET ended = true WHERE r.instance_id = OLD.instance_id AND NOT r.ended;
	END IF;
	IF NEW.state = 'running' AND k IS NOT NULL AND k <> '' THEN
		INSERT INTO @extschema@.run_claim (claim_key, instance_id, machine_id, gpus)
		VALUES (k, NEW.instance_id, NEW.machine_id, NEW.gpus);
		PERFORM pg_catalog.set_config('gpubill_claim.key', '', true);	/* one run per key */
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.run_claim_trigger() IS 'Trigger: an instance''s run that ends marks its GPU claim ended; a run started under a claim key records it (issue 17)';

CREATE TRIGGER instance_run_claim_start AFTER INSERT ON @extschema@.instance
	FOR EACH ROW WHEN (NEW.state = 'running') EXECUTE FUNCTION @extschema@.run_claim_trigger();
CREATE TRIGGER instance_run_claim_change AFTER UPDATE ON @extschema@.instance
	FOR EACH ROW WHEN ((OLD.state = 'running' OR NEW.state = 'running')
					   AND (OLD.state IS DISTINCT FROM NEW.state OR OLD.run_started_at IS DISTINCT FROM NEW.run_started_at
							OR OLD.gpus <> NEW.gpus))
	EXECUTE FUNCTION @extschema@.run_claim_trigger();

CREATE OR REPLACE FUNCTION @extschema@.claim_gpus(machine bigint, gpus integer, claim_key text, customer bigint,
										except_instance bigint DEFAULT NULL, states text[] DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	m @extschema@.machine;
	used integer;
BEGIN
	IF machine IS NULL OR gpus IS NULL OR gpus <= 0 OR claim_key IS NULL OR claim_key = '' OR customer IS NULL THEN
		RAISE EXCEPTION 'a GPU claim needs a machine, a positive GPU count, a key and a customer' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF EXISTS (SELECT FROM @extschema@.gpu_claim c WHERE c.claim_key = $3) THEN
		RETURN;
	END IF;
	SELECT * INTO m FROM @extschema@.machine k WHERE k.machine_id = $1 FOR UPDATE;	/* serialises the claims of a machine */
	IF NOT FOUND OR @extschema@.partition_of($1) <> coalesce((SELECT p.partition FROM @extschema@.partition_identity p), 0) THEN
		RAISE EXCEPTION 'machine % is not homed on this partition', $1 USING ERRCODE = 'no_data_found';
	END IF;
	IF m.state <> ALL ($6) THEN		/* the home's state rules, whatever a copy still says */
		RAISE EXCEPTION 'machine % is %', $1, m.state USING ERRCODE = 'GB004',
			HINT = 'New rentals need a listed machine; a delisted one still lets stopped instances start.';
	END IF;
	SELECT coalesce(pg_catalog.sum(c.gpus), 0) INTO used FROM @extschema@.gpu_claim c
	WHERE c.machine_id = $1 AND ($5 IS NULL OR c.instance_id IS DISTINCT FROM $5);	/* unconfirmed claims count */
	IF used + $2 > m.gpus THEN
		RAISE EXCEPTION 'machine % has % of % GPUs free, % asked', $1, GREATEST(m.gpus - used, 0), m.gpus, $2
			USING ERRCODE = 'GB002';
	END IF;
	INSERT INTO @extschema@.gpu_claim (claim_key, machine_id, customer_id, gpus) VALUES ($3, $1, $4, $2);
END
$$;
COMMENT ON FUNCTION @extschema@.claim_gpus(bigint, integer, text, bigint, bigint, text[]) IS 'At a machine''s home: claim GPUs for a rental under a key (GB002 unless free; the claims of except_instance, resized, not counted; GB004 unless the machine is in one of states, when given); idempotent on the key (R-PRT-1, issue 17)';


CREATE OR REPLACE FUNCTION @extschema@.confirm_gpu_claim(claim_key text, instance bigint, machine bigint, customer bigint, gpus integer,
											   reinstate boolean DEFAULT false)
	RETURNS boolean
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
#variable_conflict use_column
BEGIN
	IF reinstate THEN
		INSERT INTO @extschema@.gpu_claim AS c (claim_key, machine_id, customer_id, gpus, instance_id) VALUES ($1, $3, $4, $5, $2)
		ON CONFLICT ON CONSTRAINT gpu_claim_pkey DO UPDATE SET instance_id = excluded.instance_id;
	ELSE
		UPDATE @extschema@.gpu_claim c SET instance_id = $2 WHERE c.claim_key = $1;
		IF NOT FOUND THEN
			RETURN false;
		END IF;
	END IF;
	DELETE FROM @extschema@.gpu_claim c WHERE c.instance_id = $2 AND c.claim_key <> $1;
	RETURN true;
END
$$;
COMMENT ON FUNCTION @extschema@.confirm_gpu_claim(text, bigint, bigint, bigint, integer, boolean) IS 'At a machine''s home: a claim is an instance''s run (its earlier runs'' claims end); false if the claim is gone, unless reinstate puts it back; idempotent (issue 17)';

CREATE OR REPLACE FUNCTION @extschema@.release_gpu_claims(claim_keys text[])
	RETURNS integer
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	n integer;
BEGIN
	DELETE FROM @extschema@.gpu_claim c WHERE c.claim_key = ANY (claim_keys);
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.release_gpu_claims(text[]) IS 'At a machine''s home: release claims (their runs ended or never started); idempotent; returns how many (issue 17)';

CREATE OR REPLACE FUNCTION @extschema@.unconfirmed_claims(grace interval)
	RETURNS TABLE (claim_key text, customer_id bigint, machine_id bigint, gpus integer)
	LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	SELECT c.claim_key, c.customer_id, c.machine_id, c.gpus FROM @extschema@.gpu_claim c
	WHERE c.instance_id IS NULL AND c.claimed_at < pg_catalog.statement_timestamp() - grace
	ORDER BY c.claim_key
$$;
COMMENT ON FUNCTION @extschema@.unconfirmed_claims(interval) IS 'At a machine''s home: claims left unconfirmed longer than grace (wall clock), for the proxy''s tick to resolve (issue 17)';

CREATE OR REPLACE FUNCTION @extschema@.claimed_gpus()
	RETURNS TABLE (machine_id bigint, gpus bigint)
	LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$ SELECT c.machine_id, pg_catalog.sum(c.gpus)::bigint FROM @extschema@.gpu_claim c GROUP BY 1 ORDER BY 1 $$;
COMMENT ON FUNCTION @extschema@.claimed_gpus() IS 'The GPUs claimed per machine homed here (issue 17)';

CREATE OR REPLACE FUNCTION @extschema@.running_gpus()
	RETURNS TABLE (machine_id bigint, gpus bigint)
	LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$ SELECT i.machine_id, pg_catalog.sum(i.gpus)::bigint FROM @extschema@.instance i WHERE i.state = 'running' GROUP BY 1 ORDER BY 1 $$;
COMMENT ON FUNCTION @extschema@.running_gpus() IS 'The GPUs of this partition''s running instances per machine (issue 17)';

CREATE OR REPLACE FUNCTION @extschema@.with_claim_key(claim_key text) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	IF claim_key IS NULL OR claim_key = '' THEN
		RAISE EXCEPTION 'a claimed rental needs its claim key' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM pg_catalog.set_config('gpubill_claim.key', claim_key, true);
	PERFORM pg_catalog.set_config('lock_timeout', '30s', true);
	PERFORM pg_catalog.set_config('statement_timeout', '60s', true);
END
$$;
COMMENT ON FUNCTION @extschema@.with_claim_key(text) IS 'The run this transaction starts records claim_key; its locks and statement take at most 30 s and 60 s (within the claims'' grace)';

CREATE OR REPLACE FUNCTION @extschema@.create_instance_claimed(claim_key text, customer bigint, machine bigint, gpus integer, billing text,
													auto_renew boolean, at timestamptz, request_id text,
													OUT instance bigint, OUT claimed boolean)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
#variable_conflict use_column
BEGIN
	PERFORM @extschema@.with_claim_key($1);
	instance := @extschema@.create_instance($2, $3, $4, $5, $6, $7, $8);
	claimed := EXISTS (SELECT FROM @extschema@.run_claim r WHERE r.claim_key = $1);
	PERFORM pg_catalog.set_config('gpubill_claim.key', '', true);
END
$$;
COMMENT ON FUNCTION @extschema@.create_instance_claimed(text, bigint, bigint, integer, text, boolean, timestamptz, text) IS 'create_instance under a GPU claim key: the instance and whether its run took the key (a repeated request does not) (issue 17)';

CREATE OR REPLACE FUNCTION @extschema@.start_instance_claimed(claim_key text, instance bigint, at timestamptz)
	RETURNS boolean
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
#variable_conflict use_column
BEGIN
	PERFORM @extschema@.with_claim_key($1);
	PERFORM @extschema@.start_instance($2, $3);
	PERFORM pg_catalog.set_config('gpubill_claim.key', '', true);
	RETURN EXISTS (SELECT FROM @extschema@.run_claim r WHERE r.claim_key = $1);
END
$$;
COMMENT ON FUNCTION @extschema@.start_instance_claimed(text, bigint, timestamptz) IS 'start_instance under a GPU claim key: whether its run took the key (issue 17)';

CREATE OR REPLACE FUNCTION @extschema@.resize_instance_claimed(claim_key text, instance bigint, gpus integer, at timestamptz)
	RETURNS boolean
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
#variable_conflict use_column
BEGIN
	PERFORM @extschema@.with_claim_key($1);
	PERFORM @extschema@.resize_instance($2, $3, $4);
	PERFORM pg_catalog.set_config('gpubill_claim.key', '', true);
	RETURN EXISTS (SELECT FROM @extschema@.run_claim r WHERE r.claim_key = $1);
END
$$;
COMMENT ON FUNCTION @extschema@.resize_instance_claimed(text, bigint, integer, timestamptz) IS 'resize_instance under a GPU claim key: whether its new run took the key (issue 17)';

CREATE OR REPLACE FUNCTION @extschema@.instance_machine(instance bigint, OUT machine bigint, OUT customer bigint, OUT gpus integer, OUT state text)
	LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$ SELECT i.machine_id, i.customer_id, i.gpus, i.state FROM @extschema@.instance i WHERE i.instance_id = instance $$;
COMMENT ON FUNCTION @extschema@.instance_machine(bigint) IS 'An instance''s machine, customer, GPUs and state (NULLs if unknown): what the proxy claims before a start or resize (issue 17)';

CREATE OR REPLACE FUNCTION @extschema@.known_request(fn text, request_id text)
	RETURNS boolean
	LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$ SELECT EXISTS (SELECT FROM @extschema@.request r WHERE r.fn = known_request.fn AND r.request_id = known_request.request_id) $$;
COMMENT ON FUNCTION @extschema@.known_request(text, text) IS 'Whether a request id of a function was seen here: the proxy repeats such a rental without claiming again (issue 17)';

CREATE OR REPLACE FUNCTION @extschema@.ended_runs()
	RETURNS TABLE (claim_key text, machine_id bigint)
	LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$ SELECT r.claim_key, r.machine_id FROM @extschema@.run_claim r WHERE r.ended ORDER BY r.claim_key $$;
COMMENT ON FUNCTION @extschema@.ended_runs() IS 'The outbox: runs ended here whose claims the proxy has yet to release at their machines'' homes (issue 17)';

CREATE OR REPLACE FUNCTION @extschema@.runs_drained(claim_keys text[])
	RETURNS integer
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	n integer;
BEGIN
	DELETE FROM @extschema@.run_claim r WHERE r.claim_key = ANY (claim_keys) AND r.ended;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.runs_drained(text[]) IS 'Forget ended runs whose claims were released at the home; returns how many (issue 17)';

CREATE OR REPLACE FUNCTION @extschema@.runs_of_claims(claim_keys text[])
	RETURNS TABLE (claim_key text, instance_id bigint, ended boolean)
	LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$ SELECT r.claim_key, r.instance_id, r.ended FROM @extschema@.run_claim r WHERE r.claim_key = ANY (claim_keys) ORDER BY 1 $$;
COMMENT ON FUNCTION @extschema@.runs_of_claims(text[]) IS 'Which of these claim keys started a run here, and whether it ended: how the proxy resolves an unconfirmed claim (issue 17)';

REVOKE EXECUTE ON FUNCTION @extschema@.run_claim_trigger(), @extschema@.claim_gpus(bigint, integer, text, bigint, bigint, text[]),
	@extschema@.confirm_gpu_claim(text, bigint, bigint, bigint, integer, boolean), @extschema@.release_gpu_claims(text[]),
	@extschema@.unconfirmed_claims(interval), @extschema@.claimed_gpus(), @extschema@.running_gpus(), @extschema@.with_claim_key(text),
	@extschema@.create_instance_claimed(text, bigint, bigint, integer, text, boolean, timestamptz, text),
	@extschema@.start_instance_claimed(text, bigint, timestamptz), @extschema@.resize_instance_claimed(text, bigint, integer, timestamptz),
	@extschema@.instance_machine(bigint), @extschema@.known_request(text, text), @extschema@.ended_runs(),
	@extschema@.runs_drained(text[]), @extschema@.runs_of_claims(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.claim_gpus(bigint, integer, text, bigint, bigint, text[]),
	@extschema@.confirm_gpu_claim(text, bigint, bigint, bigint, integer, boolean), @extschema@.release_gpu_claims(text[]),
	@extschema@.unconfirmed_claims(interval), @extschema@.create_instance_claimed(text, bigint, bigint, integer, text, boolean, timestamptz, text),
	@extschema@.start_instance_claimed(text, bigint, timestamptz), @extschema@.resize_instance_claimed(text, bigint, integer, timestamptz),
	@extschema@.instance_machine(bigint), @extschema@.known_request(text, text), @extschema@.ended_runs(),
	@extschema@.runs_drained(text[]), @extschema@.runs_of_claims(text[])
TO gpubill_app;
GRANT EXECUTE ON FUNCTION @extschema@.claimed_gpus(), @extschema@.running_gpus() TO gpubill_app, gpubill_reader, gpubill_admin;

-- a withdrawal in steps through the proxy: the partner's parts on every partition (issue 18)
CREATE TABLE @extschema@.withdrawal_pending (
	withdrawal_id bigint PRIMARY KEY,
	partner_id	bigint NOT NULL UNIQUE,		/* the partner's money lock: one at a time */
	month		date NOT NULL,
	amount		@extschema@.amount NOT NULL,
	at			timestamptz NOT NULL,
	request_id	text,
	began_at	timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp()	/* wall clock: the sweeper's grace */
);
COMMENT ON TABLE @extschema@.withdrawal_pending IS 'A withdrawal begun through the proxy and not yet committed or refused: the partner''s money lock (issue 18)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.withdrawal_pending', '');
REVOKE ALL ON @extschema@.withdrawal_pending FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.partner_part(partner bigint, at timestamptz,
										 OUT income @extschema@.amount, OUT deposits @extschema@.amount,
										 OUT withdrawn @extschema@.amount, OUT compensation @extschema@.amount)
	LANGUAGE plpgsql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	m record;
BEGIN
	IF at IS NULL THEN
		RAISE EXCEPTION 'a partner''s part needs its time' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	m := @extschema@.partner_money(partner, at);
	income := m.income;
	deposits := m.deposits;
	withdrawn := m.withdrawn;
	compensation := m.compensation;
END
$$;
COMMENT ON FUNCTION @extschema@.partner_part(bigint, timestamptz) IS 'This partition''s part of a partner''s money as of at: income before the month, deposits, withdrawn, compensation (no floor: the proxy sums the parts, then floors) (R-PRT-2, issue 18)';

CREATE OR REPLACE FUNCTION @extschema@.begin_withdrawal(partner bigint, amt @extschema@.amount, at timestamptz, request_id text,
											 OUT withdrawal bigint, OUT t timestamptz, OUT done boolean)
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	tz text := @extschema@.billing_timezone();
	cur text;
	wd_month date;
	p @extschema@.withdrawal_pending;
BEGIN
	cur := (@extschema@.lock_partner($1)).currency;		/* the partner row serialises its withdrawals */
	IF @extschema@.partition_of($1) <> coalesce((SELECT k.partition FROM @extschema@.partition_identity k), 0) THEN
		RAISE EXCEPTION 'partner % is not homed on this partition', $1 USING ERRCODE = 'no_data_found';
	END IF;
	t := @extschema@.partner_time($3, $1);
	PERFORM @extschema@.check_amount($2, cur, 'withdrawal amount');
	IF $4 IS NOT NULL THEN
		PERFORM @extschema@.check_text($4, 'request id');
		SELECT r.result INTO withdrawal FROM @extschema@.request r WHERE r.fn = 'request_withdrawal' AND r.request_id = $4;
		IF FOUND THEN		/* committed before: the same withdrawal (its arguments are checked as one database does) */
			PERFORM @extschema@.begin_request('request_withdrawal', $4, NULL, $1,
											  pg_catalog.jsonb_build_object('partner', $1, 'amount', $2::text), t);
			done := true;
			RETURN;
		END IF;
		SELECT * INTO p FROM @extschema@.withdrawal_pending k WHERE k.request_id = $4;
		IF FOUND AND p.partner_id = $1 AND p.amount = $2 THEN	/* begun before: the same saga */
			withdrawal := p.withdrawal_id;
			t := p.at;
			done := false;
			RETURN;
		END IF;
	END IF;
	wd_month := (t AT TIME ZONE tz)::date - (EXTRACT(day FROM t AT TIME ZONE tz)::integer - 1);
	IF EXISTS (SELECT FROM @extschema@.withdrawal w WHERE w.partner_id = $1 AND w.month = wd_month) THEN
		RAISE EXCEPTION 'partner % has already withdrawn in %', $1, pg_catalog.to_char(wd_month, 'YYYY-MM')
			USING ERRCODE = 'GB002', HINT = 'One withdrawal per calendar month (billing time zone).';
	END IF;
	IF EXISTS (SELECT FROM @extschema@.withdrawal_pending k WHERE k.partner_id = $1) THEN
		RAISE EXCEPTION 'partner % has a withdrawal in progress', $1
			USING ERRCODE = 'GB004', HINT = 'It is committed or refused by the next tick through the proxy; try again then.';
	END IF;
	withdrawal := pg_catalog.nextval('@extschema@.id_seq');
	INSERT INTO @extschema@.withdrawal_pending (withdrawal_id, partner_id, month, amount, at, request_id)
	VALUES (withdrawal, $1, wd_month, $2, t, $4);
	done := false;
END
$$;
COMMENT ON FUNCTION @extschema@.begin_withdrawal(bigint, @extschema@.amount, timestamptz, text) IS 'Step 1 of a withdrawal through the proxy, at the partner''s home: month checked (GB002), the partner''s money locked by a pending row (GB004 while another is in progress); returns its id and time, or the committed withdrawal of the same request id (done) (R-PRT-4, issue 18)';

CREATE OR REPLACE FUNCTION @extschema@.commit_withdrawal(withdrawal bigint, income @extschema@.amount, deposits @extschema@.amount,
											  withdrawn @extschema@.amount, compensation @extschema@.amount)
	RETURNS text
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	p @extschema@.withdrawal_pending;
	cur text;
	left_ @extschema@.amount;
	due timestamptz;
BEGIN
	SELECT * INTO p FROM @extschema@.withdrawal_pending k WHERE k.withdrawal_id = $1;
	IF NOT FOUND THEN		/* committed or refused before: the saga is over */
		RETURN CASE WHEN EXISTS (SELECT FROM @extschema@.withdrawal w WHERE w.withdrawal_id = $1) THEN 'committed' ELSE 'refused' END;
	END IF;
	cur := (@extschema@.lock_partner(p.partner_id)).currency;
	SELECT * INTO p FROM @extschema@.withdrawal_pending k WHERE k.withdrawal_id = $1 FOR UPDATE;
	IF NOT FOUND THEN
		RETURN CASE WHEN EXISTS (SELECT FROM @extschema@.withdrawal w WHERE w.withdrawal_id = $1) THEN 'committed' ELSE 'refused' END;
	END IF;
	DELETE FROM @extschema@.withdrawal_pending k WHERE k.withdrawal_id = $1;
	left_ := GREATEST($2 - $3 - $4 - $5, @extschema@.zero(cur));
	IF p.amount > left_ THEN
		RETURN 'refused';
	END IF;
	IF p.request_id IS NOT NULL THEN
		INSERT INTO @extschema@.request (fn, request_id, customer_id, partner_id, args, result, at)
		VALUES ('request_withdrawal', p.request_id, NULL, p.partner_id,
				pg_catalog.jsonb_build_object('partner', p.partner_id, 'amount', p.amount::text), $1, p.at);
	END IF;
	due := @extschema@.add_working_days(p.at, 5);
	INSERT INTO @extschema@.withdrawal (withdrawal_id, partner_id, month, amount, at, due_at)
	VALUES ($1, p.partner_id, p.month, p.amount, p.at, due);
	PERFORM @extschema@.post_transfers(ARRAY[
		@extschema@.leg(NULL, p.partner_id, p.at, 'withdrawal', @extschema@.account_of('partner', p.partner_id, 'income', cur),
						@extschema@.account_of('world', 0, 'payouts', cur), p.amount, 'withdrawal', $1, p.request_id)]);
	INSERT INTO @extschema@.lifecycle_event (kind, partner_id, subject_type, subject_id, due_at, created_at)
	VALUES ('payout_due', p.partner_id, 'withdrawal', $1, due, p.at);
	RETURN 'committed';
END
$$;
COMMENT ON FUNCTION @extschema@.commit_withdrawal(bigint, @extschema@.amount, @extschema@.amount, @extschema@.amount, @extschema@.amount) IS 'Step 3 of a withdrawal through the proxy, at the partner''s home: posted if the parts'' sum (floored at zero) covers it, else refused; the pending row ends either way; idempotent (R-PRT-2, R-PRT-4, issue 18)';

CREATE OR REPLACE FUNCTION @extschema@.pending_withdrawals(grace interval)
	RETURNS TABLE (withdrawal_id bigint, partner_id bigint, at timestamptz)
	LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	SELECT k.withdrawal_id, k.partner_id, k.at FROM @extschema@.withdrawal_pending k
	WHERE k.began_at < pg_catalog.statement_timestamp() - grace ORDER BY 1
$$;
COMMENT ON FUNCTION @extschema@.pending_withdrawals(interval) IS 'Withdrawals begun longer than grace ago (wall clock) and not ended: the proxy''s tick re-drives them (issue 18)';

REVOKE EXECUTE ON FUNCTION @extschema@.partner_part(bigint, timestamptz),
	@extschema@.begin_withdrawal(bigint, @extschema@.amount, timestamptz, text),
	@extschema@.commit_withdrawal(bigint, @extschema@.amount, @extschema@.amount, @extschema@.amount, @extschema@.amount),
	@extschema@.pending_withdrawals(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.partner_part(bigint, timestamptz),
	@extschema@.begin_withdrawal(bigint, @extschema@.amount, timestamptz, text),
	@extschema@.commit_withdrawal(bigint, @extschema@.amount, @extschema@.amount, @extschema@.amount, @extschema@.amount),
	@extschema@.pending_withdrawals(interval)
TO gpubill_app;

-- the partner statement's running figure before the floor, for the proxy's sums (issue 18)
-- the statement's running figure before the floor: what the partitions behind a proxy add up (issue 18)
CREATE VIEW @extschema@.partner_statement_running AS
SELECT k.partner_id AS partner, k.month, k.gross, k.fees, k.voucher_paid, k.income, k.deposits, k.compensation, k.withdrawn,
	   k.running
FROM @extschema@.partner_month k
UNION ALL
SELECT s.partner, s.month, s.gross, s.fees, s.voucher_paid, s.income, s.deposits, s.compensation, s.withdrawn,
	   coalesce(p.running, @extschema@.zero(@extschema@.currency(s.change)))
	   + @extschema@.sum(s.change) OVER (PARTITION BY s.partner ORDER BY s.month)
FROM @extschema@.partner_movements(coalesce(@extschema@.closed_until(), '-infinity'), 'infinity') s
LEFT JOIN LATERAL (SELECT c.running FROM @extschema@.partner_month c
				   WHERE c.partner_id = s.partner ORDER BY c.month DESC LIMIT 1) p ON true;
COMMENT ON VIEW @extschema@.partner_statement_running IS 'partner_statement with running, what the partner may withdraw once the month is over before the floor at zero (R-PRT-2): the part a partition adds to the sum behind a proxy (issue 18)';

CREATE OR REPLACE VIEW @extschema@.partner_statement AS
SELECT r.partner, r.month, r.gross, r.fees, r.voucher_paid, r.income, r.deposits, r.compensation, r.withdrawn,
	   GREATEST(r.running, @extschema@.zero(@extschema@.currency(r.running))) AS withdrawable
FROM @extschema@.partner_statement_running r;
COMMENT ON VIEW @extschema@.partner_statement IS 'One row per partner and month (billing time zone) with activity: gross charged on its machines, platform fees, the voucher-paid part, its income (gross = voucher_paid + fees + income), deposits moved (refunds negative), compensation deducted, paid out (withdrawals and deposit refunds), and withdrawable once the month is over (R-PRT-2, R-PRT-3)';

-- the statement's rows of this partition for the proxy, with the partition (issue 18)
CREATE OR REPLACE FUNCTION @extschema@.partner_statement_parts()
	RETURNS TABLE (part integer, partner bigint, month date, gross @extschema@.amount, fees @extschema@.amount,
				   voucher_paid @extschema@.amount, income @extschema@.amount, deposits @extschema@.amount,
				   compensation @extschema@.amount, withdrawn @extschema@.amount, running @extschema@.amount)
	LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	SELECT coalesce((SELECT k.partition FROM @extschema@.partition_identity k), 0), r.*
	FROM @extschema@.partner_statement_running r
$$;
COMMENT ON FUNCTION @extschema@.partner_statement_parts() IS 'This partition''s partner_statement rows with their running figure before the floor, and the partition: the proxy sums them and floors once (R-PRT-2, issue 18)';
REVOKE ALL ON @extschema@.partner_statement_running FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.partner_statement_parts() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.partner_statement_parts() TO gpubill_reader, gpubill_app, gpubill_admin;
GRANT SELECT ON @extschema@.partner_statement_running TO gpubill_reader;

-- an outage's compensation on every partition behind a proxy (issue 18)
CREATE TABLE @extschema@.outage_outbox (
	outage_id	bigint PRIMARY KEY,
	partner_id	bigint NOT NULL
);
CREATE INDEX outage_outbox_partner_idx ON @extschema@.outage_outbox (partner_id);
COMMENT ON TABLE @extschema@.outage_outbox IS 'Unnotified outages of machines homed here whose compensation the proxy has yet to push to the other partitions (issue 18)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.outage_outbox', '');
REVOKE ALL ON @extschema@.outage_outbox FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.report_outage(machine bigint, started timestamptz, ended timestamptz,
										   notified boolean DEFAULT false, at timestamptz DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz;
	tz text := @extschema@.billing_timezone();
	m @extschema@.machine;
	p @extschema@.partner;
	win tstzrange;
	o @extschema@.outage;
	id bigint;
	inst bigint;
	customers bigint[];
	affected bigint[];
	month @extschema@.billing_period;
	counted integer;
BEGIN
	m := @extschema@.find_machine(machine, false);
	/* R-CLK-5: not reported before the machine's last event, nor starting before it was listed */
	t := @extschema@.call_time(at, m.last_event_at, 'machine ' || machine);
	PERFORM @extschema@.check_time(started, 'an outage''s start');
	PERFORM @extschema@.check_time(ended, 'an outage''s end');
	IF started IS NULL OR ended IS NULL OR notified IS NULL OR started >= ended OR NOT pg_catalog.isfinite(ended) THEN
		RAISE EXCEPTION 'an outage needs a start before its end and notified true or false: % to %', started, ended
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF notified AND t >= started THEN
		/* R-PRT-8: maintenance is announced before it starts, or it is an outage */
		RAISE EXCEPTION 'maintenance must be announced before it starts: % is not before %', t, started USING ERRCODE = 'GB004',
			HINT = 'Report it as an outage (notified => false): its customers are compensated.';
	END IF;
	IF started < m.created_at THEN
		RAISE EXCEPTION 'an outage of machine % cannot start at %, before it was listed at %', machine, started, m.created_at
			USING ERRCODE = 'GB004';
	END IF;
	IF NOT notified AND ended > t THEN
		RAISE EXCEPTION 'an outage ending % is reported at %, before it ended', ended, t USING ERRCODE = 'GB004',
			HINT = 'Report an outage once it is over; maintenance announced in advance is reported with notified => true.';
	END IF;
	/* the partner row serialises the reports (and the count) of its machines */
	p := @extschema@.lock_partner(m.partner_id);
	win := pg_catalog.tstzrange(started, ended);
	SELECT * INTO o FROM @extschema@.outage k
	WHERE k.machine_id = machine AND pg_catalog.tstzrange(k.started, k.ended) && win
	ORDER BY k.started LIMIT 1;
	IF FOUND THEN
		IF o.started = started AND o.ended = ended AND (o.kind = 'maintenance') = notified THEN
			RETURN o.outage_id;		/* the same report again: done once */
		END IF;
		RAISE EXCEPTION 'the outage overlaps outage % of machine % (% to %)', o.outage_id, machine, o.started, o.ended
			USING ERRCODE = 'GB004';
	END IF;
	INSERT INTO @extschema@.outage (machine_id, partner_id, kind, started, ended, reported_at)
	VALUES (machine, m.partner_id, CASE WHEN notified THEN 'maintenance' ELSE 'outage' END, started, ended, t)
	RETURNING outage_id INTO id;
	IF notified THEN
		RETURN id;
	END IF;

	/*
	 * R-LED-6: the affected customers' wallets first, in customer order, then
	 * their instances on the machine (those not created after the window nor
	 * released before it) in instance order; only these are settled up to t
	 * and compensated (R-PRT-8).  An instance of a customer whose wallet is
	 * not locked here is never touched.
	 */
	customers := ARRAY(SELECT DISTINCT i.customer_id FROM @extschema@.instance i
					   WHERE i.machine_id = machine AND i.created_at < ended
						 AND (i.state <> 'released' OR i.last_event_at > started)
					   ORDER BY 1);
	PERFORM @extschema@.lock_wallets(customers);
	affected := ARRAY(SELECT i.instance_id FROM @extschema@.instance i
					  WHERE i.machine_id = machine AND i.customer_id = ANY (customers) AND i.created_at < ended
						AND (i.state <> 'released' OR i.last_event_at > started)
					  ORDER BY i.instance_id FOR UPDATE);
	FOREACH inst IN ARRAY affected LOOP
		PERFORM @extschema@.settle_instance_until(inst, t);		/* nothing for an instance that does not run */
		IF EXISTS (SELECT FROM @extschema@.instance k
				   WHERE k.instance_id = inst AND k.state = 'running' AND k.hold_id IS NOT NULL AND k.billed_until < t) THEN
			PERFORM @extschema@.settle_instance(inst, t, 'interim');
		END IF;
	END LOOP;
	PERFORM @extschema@.compensate(id, machine, win, affected, '{}', t);
	IF (SELECT k.partitions FROM @extschema@.partition_identity k) > 1 THEN
		/* behind a proxy: the machine's renters on the other partitions too (35_outage_steps.sql) */
		INSERT INTO @extschema@.outage_outbox (outage_id, partner_id) VALUES (id, m.partner_id);
	END IF;

	/* R-PRT-8: more than max_unnotified_outages_per_month in a calendar month revoke the qualification */
	month := @extschema@.billing_period('month', report_outage.started, tz);
	SELECT pg_catalog.count(*) INTO counted FROM @extschema@.outage k
	WHERE k.partner_id = m.partner_id AND k.kind = 'outage'
	  AND k.started >= @extschema@.lower(month) AND k.started < @extschema@.upper(month);
	IF counted > (@extschema@.partner_settings()).max_unnotified_outages_per_month AND p.qualification = 'qualified' THEN
		PERFORM @extschema@.revoke_partner(m.partner_id, t);
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.report_outage(bigint, timestamptz, timestamptz, boolean, timestamptz) IS 'Record an outage of a machine: unnotified ones settle its instances up to at and compensate their customers from the partner''s income, and more than 3 in a month revoke the qualification; notified maintenance is only recorded (R-PRT-8)';

CREATE OR REPLACE FUNCTION @extschema@.begin_withdrawal(partner bigint, amt @extschema@.amount, at timestamptz, request_id text,
											 OUT withdrawal bigint, OUT t timestamptz, OUT done boolean)
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
#variable_conflict use_column
DECLARE
	tz text := @extschema@.billing_timezone();
	cur text;
	wd_month date;
	p @extschema@.withdrawal_pending;
BEGIN
	cur := (@extschema@.lock_partner($1)).currency;		/* the partner row serialises its withdrawals */
	IF @extschema@.partition_of($1) <> coalesce((SELECT k.partition FROM @extschema@.partition_identity k), 0) THEN
		RAISE EXCEPTION 'partner % is not homed on this partition', $1 USING ERRCODE = 'no_data_found';
	END IF;
	t := @extschema@.partner_time($3, $1);
	PERFORM @extschema@.check_amount($2, cur, 'withdrawal amount');
	IF $4 IS NOT NULL THEN
		PERFORM @extschema@.check_text($4, 'request id');
		SELECT r.result INTO withdrawal FROM @extschema@.request r WHERE r.fn = 'request_withdrawal' AND r.request_id = $4;
		IF FOUND THEN		/* committed before: the same withdrawal (its arguments are checked as one database does) */
			PERFORM @extschema@.begin_request('request_withdrawal', $4, NULL, $1,
											  pg_catalog.jsonb_build_object('partner', $1, 'amount', $2::text), t);
			done := true;
			RETURN;
		END IF;
		SELECT * INTO p FROM @extschema@.withdrawal_pending k WHERE k.request_id = $4;
		IF FOUND AND p.partner_id = $1 AND p.amount = $2 THEN	/* begun before: the same saga */
			withdrawal := p.withdrawal_id;
			t := p.at;
			done := false;
			RETURN;
		END IF;
	END IF;
	wd_month := (t AT TIME ZONE tz)::date - (EXTRACT(day FROM t AT TIME ZONE tz)::integer - 1);
	IF EXISTS (SELECT FROM @extschema@.withdrawal w WHERE w.partner_id = $1 AND w.month = wd_month) THEN
		RAISE EXCEPTION 'partner % has already withdrawn in %', $1, pg_catalog.to_char(wd_month, 'YYYY-MM')
			USING ERRCODE = 'GB002', HINT = 'One withdrawal per calendar month (billing time zone).';
	END IF;
	IF EXISTS (SELECT FROM @extschema@.outage_outbox q WHERE q.partner_id = $1) THEN
		RAISE EXCEPTION 'partner % has outages whose compensation is not yet on every partition', $1
			USING ERRCODE = 'GB004', HINT = 'The proxy pushes them before a withdrawal and at every tick; try again then.';
	END IF;
	IF EXISTS (SELECT FROM @extschema@.withdrawal_pending k WHERE k.partner_id = $1) THEN
		RAISE EXCEPTION 'partner % has a withdrawal in progress', $1
			USING ERRCODE = 'GB004', HINT = 'It is committed or refused by the next tick through the proxy; try again then.';
	END IF;
	withdrawal := pg_catalog.nextval('@extschema@.id_seq');
	INSERT INTO @extschema@.withdrawal_pending (withdrawal_id, partner_id, month, amount, at, request_id)
	VALUES (withdrawal, $1, wd_month, $2, t, $4);
	done := false;
END
$$;
COMMENT ON FUNCTION @extschema@.begin_withdrawal(bigint, @extschema@.amount, timestamptz, text) IS 'Step 1 of a withdrawal through the proxy, at the partner''s home: month checked (GB002), the partner''s money locked by a pending row (GB004 while another is in progress); returns its id and time, or the committed withdrawal of the same request id (done) (R-PRT-4, issue 18)';

CREATE OR REPLACE FUNCTION @extschema@.outage_changes()
	RETURNS TABLE (outage_id bigint, "row" jsonb)
	LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	SELECT q.outage_id, pg_catalog.to_jsonb(o) FROM @extschema@.outage_outbox q JOIN @extschema@.outage o USING (outage_id)
	ORDER BY q.outage_id
$$;
COMMENT ON FUNCTION @extschema@.outage_changes() IS 'The outages homed here whose compensation is not yet on every partition (issue 18)';

CREATE OR REPLACE FUNCTION @extschema@.apply_outage(changes jsonb)
	RETURNS integer
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	me integer := coalesce((SELECT k.partition FROM @extschema@.partition_identity k), 0);
	o @extschema@.outage;
	customers bigint[];
	affected bigint[];
	inst bigint;
	n integer := 0;
BEGIN
	IF changes IS NULL OR pg_catalog.jsonb_typeof(changes) <> 'array' THEN
		RAISE EXCEPTION 'outages are a JSON array of {outage_id, row}' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR o IN SELECT r.* FROM pg_catalog.jsonb_array_elements(changes) e,
				 LATERAL pg_catalog.jsonb_populate_record(NULL::@extschema@.outage, e -> 'row') r
			 WHERE @extschema@.partition_of(r.outage_id) <> me AND r.kind = 'outage' ORDER BY r.outage_id LOOP
		INSERT INTO @extschema@.outage SELECT (o).* ON CONFLICT DO NOTHING;
		CONTINUE WHEN NOT FOUND;		/* applied before, with its compensation */
		/* as report_outage: the affected customers' wallets in order, their instances, settled up to the report */
		customers := ARRAY(SELECT DISTINCT i.customer_id FROM @extschema@.instance i
						   WHERE i.machine_id = o.machine_id AND i.created_at < o.ended
							 AND (i.state <> 'released' OR i.last_event_at > o.started)
						   ORDER BY 1);
		PERFORM @extschema@.lock_wallets(customers);
		affected := ARRAY(SELECT i.instance_id FROM @extschema@.instance i
						  WHERE i.machine_id = o.machine_id AND i.customer_id = ANY (customers) AND i.created_at < o.ended
							AND (i.state <> 'released' OR i.last_event_at > o.started)
						  ORDER BY i.instance_id FOR UPDATE);
		FOREACH inst IN ARRAY affected LOOP
			PERFORM @extschema@.settle_instance_until(inst, o.reported_at);
			IF EXISTS (SELECT FROM @extschema@.instance k
					   WHERE k.instance_id = inst AND k.state = 'running' AND k.hold_id IS NOT NULL AND k.billed_until < o.reported_at) THEN
				PERFORM @extschema@.settle_instance(inst, o.reported_at, 'interim');
			END IF;
		END LOOP;
		n := n + @extschema@.compensate(o.outage_id, o.machine_id, pg_catalog.tstzrange(o.started, o.ended), affected, '{}', o.reported_at);
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.apply_outage(jsonb) IS 'Record outages reported at their machines'' homes and compensate this partition''s customers for them, once; returns the instances compensated (R-PRT-8, issue 18)';

CREATE OR REPLACE FUNCTION @extschema@.outage_pushed(outages bigint[])
	RETURNS integer
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	n integer;
BEGIN
	DELETE FROM @extschema@.outage_outbox q WHERE q.outage_id = ANY (outages);
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.outage_pushed(bigint[]) IS 'Forget the outages whose compensation is on every partition; returns how many (issue 18)';

REVOKE EXECUTE ON FUNCTION @extschema@.outage_changes(), @extschema@.apply_outage(jsonb), @extschema@.outage_pushed(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.outage_changes(), @extschema@.apply_outage(jsonb), @extschema@.outage_pushed(bigint[])
TO gpubill_app, gpubill_admin;

-- a machine taken offline by force, on every partition behind a proxy (issue 18)
CREATE OR REPLACE FUNCTION @extschema@.renters_elsewhere(machine bigint) RETURNS bigint
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
	SELECT pg_catalog.count(*) FROM @extschema@.gpu_claim c
	WHERE c.machine_id = machine
	  AND @extschema@.partition_of(c.customer_id) <> coalesce((SELECT k.partition FROM @extschema@.partition_identity k), 0)
$$;
COMMENT ON FUNCTION @extschema@.renters_elsewhere(bigint) IS 'The GPU claims on a machine homed here of customers on other partitions: runs there (issue 18)';

CREATE OR REPLACE FUNCTION @extschema@.force_offline(machine bigint, t timestamptz, defaulted boolean) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	customers bigint[];
	running bigint[];
	lost bigint[] := '{}';
	i @extschema@.instance;
	inst bigint;
	outage bigint;
BEGIN
	customers := @extschema@.lock_machines(ARRAY[machine]);	/* wallets before the machine */
	running := ARRAY(SELECT k.instance_id FROM @extschema@.instance k
					 WHERE k.machine_id = machine AND k.state = 'running' ORDER BY k.instance_id FOR UPDATE);
	IF defaulted THEN
		t := GREATEST(t, (SELECT pg_catalog.max(k.last_event_at) FROM @extschema@.instance k WHERE k.instance_id = ANY (running)));
	END IF;
	IF pg_catalog.cardinality(running) > 0 OR @extschema@.renters_elsewhere(machine) > 0 THEN
		INSERT INTO @extschema@.outage (machine_id, partner_id, kind, started, ended, reported_at)
		SELECT machine, k.partner_id, 'forced_offline', t, 'infinity', t FROM @extschema@.machine k WHERE k.machine_id = machine
		RETURNING outage_id INTO outage;
	END IF;
	FOREACH inst IN ARRAY running LOOP
		SELECT * INTO i FROM @extschema@.instance k WHERE k.instance_id = inst;
		PERFORM @extschema@.call_time(t, i.last_event_at, 'instance ' || inst);
		PERFORM @extschema@.halt_instance(inst, t, 'machine_offline');
		/* a PAYG run that was still running at t loses the hour(s) held for it */
		IF i.hold_id IS NOT NULL
		   AND (SELECT k.stop_reason FROM @extschema@.instance k WHERE k.instance_id = inst) = 'machine_offline' THEN
			lost := lost || inst;
		END IF;
	END LOOP;
	IF outage IS NOT NULL THEN
		PERFORM @extschema@.compensate(outage, machine, pg_catalog.tstzrange(t, 'infinity'), running, lost, t);
		IF (SELECT k.partitions FROM @extschema@.partition_identity k) > 1 THEN
			/* behind a proxy: the instances on the other partitions stop too (35_outage_steps.sql) */
			INSERT INTO @extschema@.outage_outbox (outage_id, partner_id)
			SELECT outage, k.partner_id FROM @extschema@.machine k WHERE k.machine_id = machine;
		END IF;
	END IF;
	UPDATE @extschema@.machine k SET state = 'offline', last_event_at = GREATEST(k.last_event_at, t)
	WHERE k.machine_id = machine;
	RETURN pg_catalog.cardinality(running);
END
$$;
COMMENT ON FUNCTION @extschema@.force_offline(bigint, timestamptz, boolean) IS 'Take a machine offline: its running instances settled, stopped (machine_offline) and their customers compensated (R-PRT-6, R-PRT-8)';

CREATE OR REPLACE FUNCTION @extschema@.take_offline(machine bigint, force boolean DEFAULT false, at timestamptz DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	m @extschema@.machine;
	t timestamptz;
	n integer;
BEGIN
	m := @extschema@.find_machine(machine, false);
	IF force IS NULL THEN
		RAISE EXCEPTION 'force must not be null' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.lock_partner(m.partner_id);
	IF NOT force THEN
		m := @extschema@.find_machine(machine, true);
	END IF;
	t := @extschema@.call_time(at, m.last_event_at, 'machine ' || machine);
	IF m.state NOT IN ('listed', 'delisted') THEN
		RAISE EXCEPTION 'machine % is %', machine, m.state USING ERRCODE = 'GB004';
	END IF;
	IF NOT force THEN
		SELECT pg_catalog.count(*) + @extschema@.renters_elsewhere(machine) INTO n
		FROM @extschema@.instance k WHERE k.machine_id = machine AND k.state = 'running';
		IF n > 0 THEN
			RAISE EXCEPTION 'machine % has % running instances', machine, n USING ERRCODE = 'GB004',
				HINT = 'Wait until they stop, or take it offline with force => true: they stop and their customers are compensated.';
		END IF;
		UPDATE @extschema@.machine k SET state = 'offline', last_event_at = t WHERE k.machine_id = machine;
	ELSE
		PERFORM @extschema@.force_offline(machine, t, at IS NULL);
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.take_offline(bigint, boolean, timestamptz) IS 'Take a machine offline: refused while an instance runs on it (GB004) unless forced; forced, they stop and their customers are compensated (R-PRT-6, R-PRT-8)';

CREATE OR REPLACE FUNCTION @extschema@.apply_outage(changes jsonb)
	RETURNS integer
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	me integer := coalesce((SELECT k.partition FROM @extschema@.partition_identity k), 0);
	o @extschema@.outage;
	customers bigint[];
	affected bigint[];
	inst bigint;
	iv @extschema@.instance;
	lost bigint[];
	n integer := 0;
BEGIN
	IF changes IS NULL OR pg_catalog.jsonb_typeof(changes) <> 'array' THEN
		RAISE EXCEPTION 'outages are a JSON array of {outage_id, row}' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR o IN SELECT r.* FROM pg_catalog.jsonb_array_elements(changes) e,
				 LATERAL pg_catalog.jsonb_populate_record(NULL::@extschema@.outage, e -> 'row') r
			 WHERE @extschema@.partition_of(r.outage_id) <> me AND r.kind IN ('outage', 'forced_offline') ORDER BY r.outage_id LOOP
		INSERT INTO @extschema@.outage SELECT (o).* ON CONFLICT DO NOTHING;
		CONTINUE WHEN NOT FOUND;		/* applied before, with its compensation */
		IF o.kind = 'forced_offline' THEN
			/* as force_offline: this partition's running instances on the machine stop (at the instant, or at their
			   last event if they were settled past it) and their customers are compensated for what they lose */
			PERFORM @extschema@.lock_machines(ARRAY[o.machine_id]);
			affected := ARRAY(SELECT k.instance_id FROM @extschema@.instance k
							  WHERE k.machine_id = o.machine_id AND k.state = 'running' ORDER BY k.instance_id FOR UPDATE);
			lost := '{}';
			FOREACH inst IN ARRAY affected LOOP
				SELECT * INTO iv FROM @extschema@.instance k WHERE k.instance_id = inst;
				PERFORM @extschema@.halt_instance(inst, GREATEST(o.started, iv.last_event_at), 'machine_offline');
				IF iv.hold_id IS NOT NULL
				   AND (SELECT k.stop_reason FROM @extschema@.instance k WHERE k.instance_id = inst) = 'machine_offline' THEN
					lost := lost || inst;
				END IF;
			END LOOP;
			n := n + @extschema@.compensate(o.outage_id, o.machine_id, pg_catalog.tstzrange(o.started, 'infinity'), affected, lost,
											o.started);
			CONTINUE;
		END IF;
		/* as report_outage: the affected customers' wallets in order, their instances, settled up to the report */
		customers := ARRAY(SELECT DISTINCT i.customer_id FROM @extschema@.instance i
						   WHERE i.machine_id = o.machine_id AND i.created_at < o.ended
							 AND (i.state <> 'released' OR i.last_event_at > o.started)
						   ORDER BY 1);
		PERFORM @extschema@.lock_wallets(customers);
		affected := ARRAY(SELECT i.instance_id FROM @extschema@.instance i
						  WHERE i.machine_id = o.machine_id AND i.customer_id = ANY (customers) AND i.created_at < o.ended
							AND (i.state <> 'released' OR i.last_event_at > o.started)
						  ORDER BY i.instance_id FOR UPDATE);
		FOREACH inst IN ARRAY affected LOOP
			PERFORM @extschema@.settle_instance_until(inst, o.reported_at);
			IF EXISTS (SELECT FROM @extschema@.instance k
					   WHERE k.instance_id = inst AND k.state = 'running' AND k.hold_id IS NOT NULL AND k.billed_until < o.reported_at) THEN
				PERFORM @extschema@.settle_instance(inst, o.reported_at, 'interim');
			END IF;
		END LOOP;
		n := n + @extschema@.compensate(o.outage_id, o.machine_id, pg_catalog.tstzrange(o.started, o.ended), affected, '{}', o.reported_at);
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.apply_outage(jsonb) IS 'Record outages reported at their machines'' homes and compensate this partition''s customers for them, once; returns the instances compensated (R-PRT-8, issue 18)';


-- a machine's voucher permission and removal across partitions (issue 18)
CREATE OR REPLACE FUNCTION @extschema@.apply_catalog(changes jsonb)
	RETURNS integer
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	me integer := @extschema@.this_partition();
	tbl text;
	key text;
	cols text;
	vals text;
	n integer;
	total integer := 0;
	p @extschema@.partner;
	noticed bigint[];
	flipped bigint[];
	x record;
	inst bigint;
BEGIN
	IF changes IS NULL OR pg_catalog.jsonb_typeof(changes) <> 'array' THEN
		RAISE EXCEPTION 'catalogue changes are a JSON array of {kind, id, version, row}' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	/* R-PRT-1: copies whose voucher permission changes; their running instances follow it below, so the
	   wallets of their customers are locked first, then the machines (R-LED-6), before the copies are written */
	flipped := ARRAY(SELECT m.machine_id FROM pg_catalog.jsonb_array_elements(changes) e
					 JOIN @extschema@.machine m ON m.machine_id = (e ->> 'id')::bigint
					 WHERE e ->> 'kind' = 'machine' AND @extschema@.partition_of(m.machine_id) <> me
					   AND (e -> 'row' ->> 'vouchers_allowed')::boolean IS DISTINCT FROM m.vouchers_allowed
					   AND (e ->> 'version')::bigint > m.version
					 ORDER BY 1);
	IF pg_catalog.cardinality(flipped) > 0 THEN
		PERFORM @extschema@.lock_machines(flipped);
	END IF;
	PERFORM pg_catalog.set_config('gpubill_catalog.applying', 'on', true);
	FOREACH tbl IN ARRAY ARRAY['partner', 'machine'] LOOP	/* a machine's partner first */
		key := tbl || '_id';
		SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum),
			   pg_catalog.string_agg('excluded.' || pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols, vals
		FROM pg_catalog.pg_attribute a
		WHERE a.attrelid = ('@extschema@.' || tbl)::regclass AND a.attnum > 0 AND NOT a.attisdropped;
		EXECUTE pg_catalog.format(
			'INSERT INTO @extschema@.%1$I AS t (%3$s) '
			'SELECT %3$s FROM pg_catalog.jsonb_array_elements($1) e, '
			'LATERAL pg_catalog.jsonb_populate_record(NULL::@extschema@.%1$I, e -> ''row'') r '
			'WHERE e ->> ''kind'' = %1$L AND @extschema@.partition_of(r.%2$I) <> $2 ORDER BY r.%2$I '
			'ON CONFLICT (%2$I) DO UPDATE SET (%3$s) = ROW(%4$s) WHERE t.version < excluded.version',
			tbl, key, cols, vals)
			USING changes, me;
		GET DIAGNOSTICS n = ROW_COUNT;
		total := total + n;
	END LOOP;
	/* a partner's accounts here, for the income its machines earn from this partition's customers */
	FOR p IN SELECT r.* FROM pg_catalog.jsonb_array_elements(changes) e,
				 LATERAL pg_catalog.jsonb_populate_record(NULL::@extschema@.partner, e -> 'row') r
			 WHERE e ->> 'kind' = 'partner' AND @extschema@.partition_of(r.partner_id) <> me LOOP
		PERFORM @extschema@.open_currency(p.currency);
		PERFORM @extschema@.ledger_account('partner', p.partner_id, 'income', p.currency);
		PERFORM @extschema@.ledger_account('partner', p.partner_id, 'deposit', p.currency);
		IF p.is_provider THEN
			PERFORM @extschema@.ledger_account('partner', p.partner_id, 'exchange', p.currency);
		END IF;
	END LOOP;
	/* R-PRT-1: as set_vouchers_allowed at the home, from its instant (the machine's last event) on: each running
	   instance settled up to it under the old permission, then charged and held under the new one */
	FOR x IN SELECT m.machine_id, m.vouchers_allowed, m.last_event_at FROM @extschema@.machine m
			 WHERE m.machine_id = ANY (flipped) ORDER BY 1 LOOP
		FOR inst IN SELECT k.instance_id FROM @extschema@.instance k
					WHERE k.machine_id = x.machine_id AND k.state = 'running' AND k.cash_only = x.vouchers_allowed
					ORDER BY k.instance_id FOR UPDATE LOOP
			PERFORM @extschema@.settle_instance_until(inst, x.last_event_at);
			IF EXISTS (SELECT FROM @extschema@.instance k WHERE k.instance_id = inst AND k.state = 'running'
					   AND k.hold_id IS NOT NULL AND k.billed_until < x.last_event_at) THEN
				PERFORM @extschema@.settle_instance(inst, x.last_event_at, 'interim');
			END IF;
		END LOOP;
		UPDATE @extschema@.instance k SET cash_only = NOT x.vouchers_allowed, last_event_at = GREATEST(k.last_event_at, x.last_event_at)
		WHERE k.machine_id = x.machine_id AND k.state = 'running' AND k.cash_only = x.vouchers_allowed;
	END LOOP;
	/* R-PRT-5: a machine given notice of its end at home alerts this partition's customers on it */
	noticed := ARRAY(SELECT (e ->> 'id')::bigint FROM pg_catalog.jsonb_array_elements(changes) e
					 WHERE e ->> 'kind' = 'machine' AND e -> 'row' ->> 'end_notice_at' IS NOT NULL
					   AND @extschema@.partition_of((e ->> 'id')::bigint) <> me);
	PERFORM @extschema@.alert_migrate_data(noticed);
	PERFORM pg_catalog.set_config('gpubill_catalog.applying', 'off', true);
	RETURN total;
END
$$;
COMMENT ON FUNCTION @extschema@.apply_catalog(jsonb) IS 'Apply partners and machines pushed from their home partitions (catalog_changes of another partition): a copy follows the greater version, home rows stay; returns the rows written (issue 17)';

CREATE OR REPLACE FUNCTION @extschema@.remove_machine(machine bigint, at timestamptz DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	m @extschema@.machine;
	t timestamptz;
	n integer;
BEGIN
	m := @extschema@.find_machine(machine, false);
	/* the partner row serialises "every machine removed" */
	PERFORM @extschema@.lock_partner(m.partner_id);
	m := @extschema@.find_machine(machine, true);
	t := @extschema@.call_time(at, m.last_event_at, 'machine ' || machine);
	IF m.state = 'removed' THEN
		RAISE EXCEPTION 'machine % is already removed', machine USING ERRCODE = 'GB004';
	END IF;
	SELECT pg_catalog.count(*) + @extschema@.renters_elsewhere(machine) INTO n
	FROM @extschema@.instance k WHERE k.machine_id = machine AND k.state <> 'released';
	IF n > 0 THEN
		RAISE EXCEPTION 'machine % still has % instances not released', machine, n USING ERRCODE = 'GB004',
			HINT = 'Customers release them; stopped and expired ones are released by tick after stopped_release_days.';
	END IF;
	UPDATE @extschema@.machine k SET state = 'removed', last_event_at = t WHERE k.machine_id = machine;
	IF NOT EXISTS (SELECT FROM @extschema@.machine k WHERE k.partner_id = m.partner_id AND k.state <> 'removed') THEN
		PERFORM @extschema@.refund_deposits(m.partner_id, t);
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.remove_machine(bigint, timestamptz) IS 'Remove a machine once every instance on it is released; the partner''s last one refunds the deposits and ends the qualification a month later (R-PRT-6)';


-- review: the interim settlement before a change from t, and an outage's renters locked, each once
CREATE OR REPLACE FUNCTION @extschema@.settle_interim(instance bigint, t timestamptz) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	PERFORM @extschema@.settle_instance_until(instance, t);		/* nothing for an instance that does not run */
	IF EXISTS (SELECT FROM @extschema@.instance k
			   WHERE k.instance_id = instance AND k.state = 'running' AND k.hold_id IS NOT NULL AND k.billed_until < t) THEN
		PERFORM @extschema@.settle_instance(instance, t, 'interim');
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.settle_interim(bigint, timestamptz) IS 'Settle a running PAYG instance up to t (its boundaries, then the part hour as an interim settlement): before a change that acts from t (outage report, voucher permission)';

CREATE OR REPLACE FUNCTION @extschema@.lock_outage_renters(machine bigint, win tstzrange) RETURNS bigint[]
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	customers bigint[];
BEGIN
	customers := ARRAY(SELECT DISTINCT i.customer_id FROM @extschema@.instance i
					   WHERE i.machine_id = machine AND i.created_at < pg_catalog.upper(win)
						 AND (i.state <> 'released' OR i.last_event_at > pg_catalog.lower(win))
					   ORDER BY 1);
	PERFORM @extschema@.lock_wallets(customers);
	RETURN ARRAY(SELECT i.instance_id FROM @extschema@.instance i
				 WHERE i.machine_id = machine AND i.customer_id = ANY (customers) AND i.created_at < pg_catalog.upper(win)
				   AND (i.state <> 'released' OR i.last_event_at > pg_catalog.lower(win))
				 ORDER BY i.instance_id FOR UPDATE);
END
$$;
COMMENT ON FUNCTION @extschema@.lock_outage_renters(bigint, tstzrange) IS 'Lock the renters an outage window of a machine affects, wallets first, then their instances; returns the instances (R-LED-6, R-PRT-8)';

CREATE OR REPLACE FUNCTION @extschema@.set_vouchers_allowed(machine bigint, allowed boolean, at timestamptz DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	m @extschema@.machine := @extschema@.find_machine(machine, false);
	t timestamptz;
	inst bigint;
BEGIN
	IF allowed IS NULL THEN
		RAISE EXCEPTION 'allowed must not be null' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.lock_machines(ARRAY[machine]);
	SELECT * INTO m FROM @extschema@.machine k WHERE k.machine_id = machine;
	t := @extschema@.call_time(at, m.last_event_at, 'machine ' || machine);
	IF at IS NULL THEN		/* R-CLK-5: a defaulted at follows the running instances' latest event */
		t := GREATEST(t, (SELECT pg_catalog.max(k.last_event_at) FROM @extschema@.instance k
						  WHERE k.machine_id = machine AND k.state = 'running'));
	END IF;
	IF m.state = 'removed' THEN
		RAISE EXCEPTION 'machine % is removed', machine USING ERRCODE = 'GB004';
	END IF;
	IF m.vouchers_allowed = allowed THEN
		RETURN;
	END IF;
	FOR inst IN SELECT k.instance_id FROM @extschema@.instance k
				WHERE k.machine_id = machine AND k.state = 'running' ORDER BY k.instance_id FOR UPDATE LOOP
		PERFORM @extschema@.call_time(t, (SELECT k.last_event_at FROM @extschema@.instance k WHERE k.instance_id = inst),
									  'instance ' || inst);
		PERFORM @extschema@.settle_interim(inst, t);
	END LOOP;
	UPDATE @extschema@.instance k SET cash_only = NOT allowed, last_event_at = GREATEST(k.last_event_at, t)
	WHERE k.machine_id = machine AND k.state = 'running';
	UPDATE @extschema@.machine k SET vouchers_allowed = allowed, last_event_at = GREATEST(k.last_event_at, t)
	WHERE k.machine_id = machine;
END
$$;
COMMENT ON FUNCTION @extschema@.set_vouchers_allowed(bigint, boolean, timestamptz) IS 'Allow or refuse vouchers on a machine from at on: running instances settled up to at first, holds already placed keep what they reserved (R-PRT-1)';

CREATE OR REPLACE FUNCTION @extschema@.report_outage(machine bigint, started timestamptz, ended timestamptz,
										   notified boolean DEFAULT false, at timestamptz DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz;
	tz text := @extschema@.billing_timezone();
	m @extschema@.machine;
	p @extschema@.partner;
	win tstzrange;
	o @extschema@.outage;
	id bigint;
	inst bigint;
	affected bigint[];
	month @extschema@.billing_period;
	counted integer;
BEGIN
	m := @extschema@.find_machine(machine, false);
	/* R-CLK-5: not reported before the machine's last event, nor starting before it was listed */
	t := @extschema@.call_time(at, m.last_event_at, 'machine ' || machine);
	PERFORM @extschema@.check_time(started, 'an outage''s start');
	PERFORM @extschema@.check_time(ended, 'an outage''s end');
	IF started IS NULL OR ended IS NULL OR notified IS NULL OR started >= ended OR NOT pg_catalog.isfinite(ended) THEN
		RAISE EXCEPTION 'an outage needs a start before its end and notified true or false: % to %', started, ended
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF notified AND t >= started THEN
		/* R-PRT-8: maintenance is announced before it starts, or it is an outage */
		RAISE EXCEPTION 'maintenance must be announced before it starts: % is not before %', t, started USING ERRCODE = 'GB004',
			HINT = 'Report it as an outage (notified => false): its customers are compensated.';
	END IF;
	IF started < m.created_at THEN
		RAISE EXCEPTION 'an outage of machine % cannot start at %, before it was listed at %', machine, started, m.created_at
			USING ERRCODE = 'GB004';
	END IF;
	IF NOT notified AND ended > t THEN
		RAISE EXCEPTION 'an outage ending % is reported at %, before it ended', ended, t USING ERRCODE = 'GB004',
			HINT = 'Report an outage once it is over; maintenance announced in advance is reported with notified => true.';
	END IF;
	/* the partner row serialises the reports (and the count) of its machines */
	p := @extschema@.lock_partner(m.partner_id);
	win := pg_catalog.tstzrange(started, ended);
	SELECT * INTO o FROM @extschema@.outage k
	WHERE k.machine_id = machine AND pg_catalog.tstzrange(k.started, k.ended) && win
	ORDER BY k.started LIMIT 1;
	IF FOUND THEN
		IF o.started = started AND o.ended = ended AND (o.kind = 'maintenance') = notified THEN
			RETURN o.outage_id;		/* the same report again: done once */
		END IF;
		RAISE EXCEPTION 'the outage overlaps outage % of machine % (% to %)', o.outage_id, machine, o.started, o.ended
			USING ERRCODE = 'GB004';
	END IF;
	INSERT INTO @extschema@.outage (machine_id, partner_id, kind, started, ended, reported_at)
	VALUES (machine, m.partner_id, CASE WHEN notified THEN 'maintenance' ELSE 'outage' END, started, ended, t)
	RETURNING outage_id INTO id;
	IF notified THEN
		RETURN id;
	END IF;

	/*
	 * R-LED-6: the affected customers' wallets first, in customer order, then
	 * their instances on the machine (those not created after the window nor
	 * released before it) in instance order; only these are settled up to t
	 * and compensated (R-PRT-8).  An instance of a customer whose wallet is
	 * not locked here is never touched.
	 */
	affected := @extschema@.lock_outage_renters(machine, win);
	FOREACH inst IN ARRAY affected LOOP
		PERFORM @extschema@.settle_interim(inst, t);
	END LOOP;
	PERFORM @extschema@.compensate(id, machine, win, affected, '{}', t);
	IF (SELECT k.partitions FROM @extschema@.partition_identity k) > 1 THEN
		/* behind a proxy: the machine's renters on the other partitions too (35_outage_steps.sql) */
		INSERT INTO @extschema@.outage_outbox (outage_id, partner_id) VALUES (id, m.partner_id);
	END IF;

	/* R-PRT-8: more than max_unnotified_outages_per_month in a calendar month revoke the qualification */
	month := @extschema@.billing_period('month', report_outage.started, tz);
	SELECT pg_catalog.count(*) INTO counted FROM @extschema@.outage k
	WHERE k.partner_id = m.partner_id AND k.kind = 'outage'
	  AND k.started >= @extschema@.lower(month) AND k.started < @extschema@.upper(month);
	IF counted > (@extschema@.partner_settings()).max_unnotified_outages_per_month AND p.qualification = 'qualified' THEN
		PERFORM @extschema@.revoke_partner(m.partner_id, t);
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.report_outage(bigint, timestamptz, timestamptz, boolean, timestamptz) IS 'Record an outage of a machine: unnotified ones settle its instances up to at and compensate their customers from the partner''s income, and more than 3 in a month revoke the qualification; notified maintenance is only recorded (R-PRT-8)';

CREATE OR REPLACE FUNCTION @extschema@.apply_outage(changes jsonb)
	RETURNS integer
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	me integer := coalesce((SELECT k.partition FROM @extschema@.partition_identity k), 0);
	o @extschema@.outage;
	affected bigint[];
	inst bigint;
	iv @extschema@.instance;
	lost bigint[];
	n integer := 0;
BEGIN
	IF changes IS NULL OR pg_catalog.jsonb_typeof(changes) <> 'array' THEN
		RAISE EXCEPTION 'outages are a JSON array of {outage_id, row}' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR o IN SELECT r.* FROM pg_catalog.jsonb_array_elements(changes) e,
				 LATERAL pg_catalog.jsonb_populate_record(NULL::@extschema@.outage, e -> 'row') r
			 WHERE @extschema@.partition_of(r.outage_id) <> me AND r.kind IN ('outage', 'forced_offline') ORDER BY r.outage_id LOOP
		INSERT INTO @extschema@.outage SELECT (o).* ON CONFLICT DO NOTHING;
		CONTINUE WHEN NOT FOUND;		/* applied before, with its compensation */
		IF o.kind = 'forced_offline' THEN
			/* as force_offline: this partition's running instances on the machine stop (at the instant, or at their
			   last event if they were settled past it) and their customers are compensated for what they lose */
			PERFORM @extschema@.lock_machines(ARRAY[o.machine_id]);
			affected := ARRAY(SELECT k.instance_id FROM @extschema@.instance k
							  WHERE k.machine_id = o.machine_id AND k.state = 'running' ORDER BY k.instance_id FOR UPDATE);
			lost := '{}';
			FOREACH inst IN ARRAY affected LOOP
				SELECT * INTO iv FROM @extschema@.instance k WHERE k.instance_id = inst;
				PERFORM @extschema@.halt_instance(inst, GREATEST(o.started, iv.last_event_at), 'machine_offline');
				IF iv.hold_id IS NOT NULL
				   AND (SELECT k.stop_reason FROM @extschema@.instance k WHERE k.instance_id = inst) = 'machine_offline' THEN
					lost := lost || inst;
				END IF;
			END LOOP;
			n := n + @extschema@.compensate(o.outage_id, o.machine_id, pg_catalog.tstzrange(o.started, 'infinity'), affected, lost,
											o.started);
			CONTINUE;
		END IF;
		/* as report_outage: the affected renters locked, settled up to the report */
		affected := @extschema@.lock_outage_renters(o.machine_id, pg_catalog.tstzrange(o.started, o.ended));
		FOREACH inst IN ARRAY affected LOOP
			PERFORM @extschema@.settle_interim(inst, o.reported_at);
		END LOOP;
		n := n + @extschema@.compensate(o.outage_id, o.machine_id, pg_catalog.tstzrange(o.started, o.ended), affected, '{}', o.reported_at);
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.apply_outage(jsonb) IS 'Record outages reported at their machines'' homes and compensate this partition''s customers for them, once; returns the instances compensated (R-PRT-8, issue 18)';

CREATE OR REPLACE FUNCTION @extschema@.apply_catalog(changes jsonb)
	RETURNS integer
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	me integer := @extschema@.this_partition();
	tbl text;
	key text;
	cols text;
	vals text;
	n integer;
	total integer := 0;
	p @extschema@.partner;
	noticed bigint[];
	flipped bigint[];
	x record;
	inst bigint;
BEGIN
	IF changes IS NULL OR pg_catalog.jsonb_typeof(changes) <> 'array' THEN
		RAISE EXCEPTION 'catalogue changes are a JSON array of {kind, id, version, row}' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	/* R-PRT-1: copies whose voucher permission changes; their running instances follow it below, so the
	   wallets of their customers are locked first, then the machines (R-LED-6), before the copies are written */
	flipped := ARRAY(SELECT m.machine_id FROM pg_catalog.jsonb_array_elements(changes) e
					 JOIN @extschema@.machine m ON m.machine_id = (e ->> 'id')::bigint
					 WHERE e ->> 'kind' = 'machine' AND @extschema@.partition_of(m.machine_id) <> me
					   AND (e -> 'row' ->> 'vouchers_allowed')::boolean IS DISTINCT FROM m.vouchers_allowed
					   AND (e ->> 'version')::bigint > m.version
					 ORDER BY 1);
	IF pg_catalog.cardinality(flipped) > 0 THEN
		PERFORM @extschema@.lock_machines(flipped);
	END IF;
	PERFORM pg_catalog.set_config('gpubill_catalog.applying', 'on', true);
	FOREACH tbl IN ARRAY ARRAY['partner', 'machine'] LOOP	/* a machine's partner first */
		key := tbl || '_id';
		SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum),
			   pg_catalog.string_agg('excluded.' || pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols, vals
		FROM pg_catalog.pg_attribute a
		WHERE a.attrelid = ('@extschema@.' || tbl)::regclass AND a.attnum > 0 AND NOT a.attisdropped;
		EXECUTE pg_catalog.format(
			'INSERT INTO @extschema@.%1$I AS t (%3$s) '
			'SELECT %3$s FROM pg_catalog.jsonb_array_elements($1) e, '
			'LATERAL pg_catalog.jsonb_populate_record(NULL::@extschema@.%1$I, e -> ''row'') r '
			'WHERE e ->> ''kind'' = %1$L AND @extschema@.partition_of(r.%2$I) <> $2 ORDER BY r.%2$I '
			'ON CONFLICT (%2$I) DO UPDATE SET (%3$s) = ROW(%4$s) WHERE t.version < excluded.version',
			tbl, key, cols, vals)
			USING changes, me;
		GET DIAGNOSTICS n = ROW_COUNT;
		total := total + n;
	END LOOP;
	/* a partner's accounts here, for the income its machines earn from this partition's customers */
	FOR p IN SELECT r.* FROM pg_catalog.jsonb_array_elements(changes) e,
				 LATERAL pg_catalog.jsonb_populate_record(NULL::@extschema@.partner, e -> 'row') r
			 WHERE e ->> 'kind' = 'partner' AND @extschema@.partition_of(r.partner_id) <> me LOOP
		PERFORM @extschema@.open_currency(p.currency);
		PERFORM @extschema@.ledger_account('partner', p.partner_id, 'income', p.currency);
		PERFORM @extschema@.ledger_account('partner', p.partner_id, 'deposit', p.currency);
		IF p.is_provider THEN
			PERFORM @extschema@.ledger_account('partner', p.partner_id, 'exchange', p.currency);
		END IF;
	END LOOP;
	/* R-PRT-1: as set_vouchers_allowed at the home, from its instant (the machine's last event) on: each running
	   instance settled up to it under the old permission, then charged and held under the new one */
	FOR x IN SELECT m.machine_id, m.vouchers_allowed, m.last_event_at FROM @extschema@.machine m
			 WHERE m.machine_id = ANY (flipped) ORDER BY 1 LOOP
		FOR inst IN SELECT k.instance_id FROM @extschema@.instance k
					WHERE k.machine_id = x.machine_id AND k.state = 'running' AND k.cash_only = x.vouchers_allowed
					ORDER BY k.instance_id FOR UPDATE LOOP
			PERFORM @extschema@.settle_interim(inst, x.last_event_at);
		END LOOP;
		UPDATE @extschema@.instance k SET cash_only = NOT x.vouchers_allowed, last_event_at = GREATEST(k.last_event_at, x.last_event_at)
		WHERE k.machine_id = x.machine_id AND k.state = 'running' AND k.cash_only = x.vouchers_allowed;
	END LOOP;
	/* R-PRT-5: a machine given notice of its end at home alerts this partition's customers on it */
	noticed := ARRAY(SELECT (e ->> 'id')::bigint FROM pg_catalog.jsonb_array_elements(changes) e
					 WHERE e ->> 'kind' = 'machine' AND e -> 'row' ->> 'end_notice_at' IS NOT NULL
					   AND @extschema@.partition_of((e ->> 'id')::bigint) <> me);
	PERFORM @extschema@.alert_migrate_data(noticed);
	PERFORM pg_catalog.set_config('gpubill_catalog.applying', 'off', true);
	RETURN total;
END
$$;
COMMENT ON FUNCTION @extschema@.apply_catalog(jsonb) IS 'Apply partners and machines pushed from their home partitions (catalog_changes of another partition): a copy follows the greater version, home rows stay; returns the rows written (issue 17)';

REVOKE EXECUTE ON FUNCTION @extschema@.settle_interim(bigint, timestamptz), @extschema@.lock_outage_renters(bigint, tstzrange) FROM PUBLIC;

-- issue 18: a resale across partitions in steps (7_exchange/42_resale_check.sql, 45_resale_steps.sql); the contract state resale_pending
ALTER TABLE @extschema@.contract DROP CONSTRAINT contract_state_check,
	ADD CONSTRAINT contract_state_check CHECK (state IN ('pending', 'active', 'late', 'terminated', 'resold', 'completed', 'resale_pending'));
INSERT INTO @extschema@.contract_transition VALUES ('active', 'resale_pending'), ('resale_pending', 'active');
COMMENT ON FUNCTION @extschema@.contract_state(bigint) IS 'pending | active | late | terminated | resold | completed | resale_pending (a resale across partitions in progress)';
CREATE TYPE @extschema@.resale_side AS (
	contract_id	bigint,			/* the resold contract */
	side		text,			/* reseller | buyer | pending */
	new_contract_id bigint,		/* the contract it was resold as */
	clearing	bigint,			/* micros: + paid into the exchange's clearing (journal), - paid out of it (the months done) */
	settled		boolean			/* nothing more moves through clearing on this side */
);
COMMENT ON TYPE @extschema@.resale_side IS 'One side of a resale as a database holds it: the reseller''s, the buyer''s, or pending (issue 18)';

-- local: only the resales whose both sides are on this database (the proxy checks the others)
CREATE FUNCTION @extschema@.check_resale_sides(sides @extschema@.resale_side[], local boolean)
	RETURNS TABLE (check_name text, ok boolean, detail text)
	LANGUAGE plpgsql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	/* plpgsql: in the proxy this file comes before its partition_of */
	RETURN QUERY
	WITH g AS (
		SELECT s.contract_id,
			   pg_catalog.max(s.new_contract_id) FILTER (WHERE s.side = 'reseller') AS sold_as,
			   pg_catalog.max(s.new_contract_id) FILTER (WHERE s.side = 'buyer') AS bought_as,
			   pg_catalog.bool_or(s.side = 'pending') AS pending,
			   pg_catalog.count(*) FILTER (WHERE s.side <> 'pending' AND s.settled) = 2 AS settled,
			   pg_catalog.sum(s.clearing) AS net
		FROM pg_catalog.unnest(sides) s
		WHERE NOT local OR s.side = 'pending' OR @extschema@.partition_of(s.contract_id) = @extschema@.partition_of(s.new_contract_id)
		GROUP BY 1
	)
	SELECT 'every resale has both its sides', pg_catalog.count(*) = 0,
		   pg_catalog.count(*) || ' resales found on one side only' || coalesce(': ' || pg_catalog.string_agg(g.contract_id::text, ', '), '')
	FROM g WHERE g.sold_as IS DISTINCT FROM g.bought_as AND NOT (g.pending AND g.sold_as IS NULL)
	UNION ALL
	SELECT 'the clearing of every settled resale nets to zero', pg_catalog.count(*) = 0,
		   pg_catalog.count(*) || ' settled resales whose clearing does not net to zero'
		   || coalesce(': ' || pg_catalog.string_agg(g.contract_id || ' (' || g.net || ' micros)', ', '), '')
	FROM g WHERE g.settled AND g.net <> 0;
END
$$;
COMMENT ON FUNCTION @extschema@.check_resale_sides(@extschema@.resale_side[], boolean) IS 'Every resale has both its sides, and a settled one''s clearing nets to zero (local: only those whose both sides are here) (R-EXC-6, issue 18)';

CREATE TABLE @extschema@.resale_step (
	resale_id	bigint PRIMARY KEY,			/* the saga's key, drawn on the reseller's partition */
	contract_id	bigint NOT NULL,
	reseller_id	bigint NOT NULL,			/* party key */
	buyer_id	bigint NOT NULL,			/* on another partition */
	price_per_gpu_hour @extschema@.amount NOT NULL,
	at			timestamptz NOT NULL,		/* the resale's time (E is the next month's start) */
	state		text NOT NULL CHECK (state IN ('pending', 'committed', 'abandoned')),
	new_contract_id bigint,					/* committed: the buyer's contract */
	began_at	timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp()	/* wall clock: the sweeper's grace */
);
CREATE UNIQUE INDEX resale_step_pending_idx ON @extschema@.resale_step (contract_id) WHERE state = 'pending';
CREATE INDEX resale_step_contract_idx ON @extschema@.resale_step (contract_id);
COMMENT ON TABLE @extschema@.resale_step IS 'A resale to a customer of another partition, on the reseller''s partition: pending between its steps, then committed or abandoned (issue 18)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.resale_step', '');

CREATE TABLE @extschema@.resale_acceptance (
	resale_id	bigint PRIMARY KEY,			/* the saga's key */
	buyer_id	bigint NOT NULL,			/* party key */
	contract_id	bigint NOT NULL,			/* the resold contract, on the reseller's partition */
	new_contract_id bigint,					/* NULL: abandoned, no acceptance may follow */
	decided_at	timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp()
);
COMMENT ON TABLE @extschema@.resale_acceptance IS 'The buyer''s partition''s decision on a resale across partitions: accepted as new_contract_id, or abandoned (issue 18)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.resale_acceptance', '');

-- a contract between the steps of a resale is left alone (GB004)
CREATE FUNCTION @extschema@.refuse_resale_pending(c @extschema@.contract) RETURNS void
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
DECLARE
	s @extschema@.resale_step;
BEGIN
	IF c.state = 'resale_pending' THEN
		SELECT * INTO s FROM @extschema@.resale_step k WHERE k.contract_id = c.contract_id AND k.state = 'pending';
		RAISE EXCEPTION 'contract % is being resold', c.contract_id USING ERRCODE = 'GB004',
			DETAIL = pg_catalog.format('Resale %s to customer %s is between its steps.', s.resale_id, s.buyer_id),
			HINT = 'The proxy completes or abandons it, at the latest at its next tick; try again then.';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.refuse_resale_pending(@extschema@.contract) IS 'Refuse (GB004) to act on a contract while a resale across partitions is between its steps';

-- step 1, on the reseller's partition
CREATE FUNCTION @extschema@.begin_resale(contract bigint, new_customer bigint, price_per_gpu_hour @extschema@.amount, at timestamptz,
										 OUT resale bigint, OUT t timestamptz, OUT provider bigint, OUT gpus integer,
										 OUT term tstzrange, OUT new_contract bigint)
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	c @extschema@.contract;
	s @extschema@.resale_step;
	months @extschema@.resale_month[];
BEGIN
	c := @extschema@.lock_contract($1);
	provider := c.provider_id;
	gpus := c.gpus;
	/* the same resale again: the saga under way, or its result */
	SELECT * INTO s FROM @extschema@.resale_step k
	WHERE k.contract_id = $1 AND k.state IN ('pending', 'committed') AND k.buyer_id = $2 AND k.price_per_gpu_hour = $3;
	IF FOUND THEN
		resale := s.resale_id;
		t := s.at;
		new_contract := s.new_contract_id;
		term := pg_catalog.tstzrange(@extschema@.upper(@extschema@.billing_period('month', s.at, @extschema@.billing_timezone())),
									 pg_catalog.upper(c.term));
		RETURN;
	END IF;
	t := @extschema@.call_time($4, c.last_event_at, 'contract ' || $1);
	IF $2 IS NULL THEN
		RAISE EXCEPTION 'unknown customer: %', $2 USING ERRCODE = 'no_data_found';
	END IF;
	IF c.resold_to IS NOT NULL THEN
		RAISE EXCEPTION 'contract % is already resold (as contract %)', $1, c.resold_to USING ERRCODE = 'GB004';
	END IF;
	IF EXISTS (SELECT FROM @extschema@.customer k WHERE k.customer_id = $2) THEN
		RAISE EXCEPTION 'customer % lives on this partition: the resale is made at once (resell_contract)', $2
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	months := @extschema@.plan_resale(c, $2, $3, NULL, t);	/* every check but the buyer's */
	resale := pg_catalog.nextval('@extschema@.id_seq');
	INSERT INTO @extschema@.resale_step (resale_id, contract_id, reseller_id, buyer_id, price_per_gpu_hour, at, state)
	VALUES (resale, $1, c.customer_id, $2, $3, t, 'pending');
	UPDATE @extschema@.contract k SET state = 'resale_pending', last_event_at = t WHERE k.contract_id = $1;
	term := pg_catalog.tstzrange(months[1].due_at, pg_catalog.upper(c.term));
	new_contract := NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.begin_resale(bigint, bigint, @extschema@.amount, timestamptz) IS 'Step 1 of a resale across partitions, on the reseller''s: one database''s checks but the buyer''s, the contract resale_pending; returns the saga''s key and what the buyer''s partition accepts, or the result of the same resale made before (R-EXC-6, issue 18)';

-- step 2, on the buyer's partition: the decision
CREATE FUNCTION @extschema@.accept_resale(resale bigint, contract bigint, new_customer bigint, provider bigint, gpus integer,
										  price_per_gpu_hour @extschema@.amount, term tstzrange, t timestamptz)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	a @extschema@.resale_acceptance;
	cur text;
	id bigint;
BEGIN
	IF $1 IS NULL OR $2 IS NULL OR $4 IS NULL OR $5 IS NULL OR $7 IS NULL OR $8 IS NULL THEN
		RAISE EXCEPTION 'a resale''s acceptance needs its key, contract, provider, GPUs, term and time' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.lock_wallet($3);		/* P0002: unknown customer */
	cur := (SELECT k.currency FROM @extschema@.customer k WHERE k.customer_id = $3);
	SELECT * INTO a FROM @extschema@.resale_acceptance k WHERE k.resale_id = $1;
	IF FOUND THEN
		IF a.new_contract_id IS NULL THEN
			RAISE EXCEPTION 'resale % of contract % was abandoned', $1, $2 USING ERRCODE = 'GB004',
				HINT = 'Resell the contract again.';
		END IF;
		RETURN a.new_contract_id;		/* accepted before */
	END IF;
	IF cur <> @extschema@.currency($6) THEN
		RAISE EXCEPTION 'currency mismatch: contract % is in %, customer % pays in another currency', $2, @extschema@.currency($6), $3
			USING ERRCODE = 'GB003';
	END IF;
	PERFORM @extschema@.check_amount($6, cur, 'price per GPU-hour');
	id := @extschema@.accept_contract(pg_catalog.nextval('@extschema@.id_seq'), $3, $4, $5, $6, $7, $8, $2);
	INSERT INTO @extschema@.resale_acceptance (resale_id, buyer_id, contract_id, new_contract_id) VALUES ($1, $3, $2, id);
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.accept_resale(bigint, bigint, bigint, bigint, integer, @extschema@.amount, tstzrange, timestamptz) IS 'Step 2 of a resale across partitions, on the buyer''s: the buyer accepts the new contract (GB001 if its initial payment is not available) under the saga''s key; idempotent; refused once abandoned (issue 18)';

-- after a failure: the decision of the buyer's partition, abandoned if nothing was accepted
CREATE FUNCTION @extschema@.decide_resale(resale bigint, contract bigint, new_customer bigint)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	PERFORM FROM @extschema@.wallet w WHERE w.customer_id = $3 FOR UPDATE;	/* after an acceptance under way */
	INSERT INTO @extschema@.resale_acceptance (resale_id, buyer_id, contract_id, new_contract_id)
	VALUES ($1, $3, $2, NULL) ON CONFLICT (resale_id) DO NOTHING;
	RETURN (SELECT k.new_contract_id FROM @extschema@.resale_acceptance k WHERE k.resale_id = $1);
END
$$;
COMMENT ON FUNCTION @extschema@.decide_resale(bigint, bigint, bigint) IS 'The buyer''s partition''s decision on a resale: its new contract if accepted, else NULL — and then abandoned for good (issue 18)';

-- a resale's step row, once its contract (and the reseller's wallet) is locked: the steps that end it serialise there
CREATE FUNCTION @extschema@.lock_resale(resale bigint) RETURNS @extschema@.resale_step
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	s @extschema@.resale_step;
BEGIN
	SELECT * INTO s FROM @extschema@.resale_step k WHERE k.resale_id = resale;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown resale: %', resale USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM @extschema@.lock_contract(s.contract_id);
	SELECT * INTO STRICT s FROM @extschema@.resale_step k WHERE k.resale_id = resale;
	RETURN s;
END
$$;
COMMENT ON FUNCTION @extschema@.lock_resale(bigint) IS 'Lock a resale''s contract (and its reseller''s wallet) and return its step row as it is then; unknown id raises P0002';

-- step 3, on the reseller's partition
CREATE FUNCTION @extschema@.commit_resale(resale bigint, new_contract bigint)
	RETURNS text
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	s @extschema@.resale_step := @extschema@.lock_resale($1);
	c @extschema@.contract := @extschema@.lock_contract(s.contract_id);
BEGIN
	IF s.state = 'committed' AND s.new_contract_id = $2 THEN
		RETURN 'committed';
	ELSIF s.state <> 'pending' OR $2 IS NULL THEN
		RAISE EXCEPTION 'resale % is %, not committed as contract %', $1, s.state, $2 USING ERRCODE = 'GB004';
	END IF;
	/* the contract as it was begun: nothing has touched it since */
	c.state := 'active';
	PERFORM @extschema@.apply_resale(c, @extschema@.plan_resale(c, s.buyer_id, s.price_per_gpu_hour, NULL, s.at), $2, s.at);
	UPDATE @extschema@.resale_step k SET state = 'committed', new_contract_id = $2 WHERE k.resale_id = $1;
	RETURN 'committed';
END
$$;
COMMENT ON FUNCTION @extschema@.commit_resale(bigint, bigint) IS 'Step 3 of a resale the buyer''s partition accepted, on the reseller''s: the months written, the original payments from E on cancelled, the contract resold as new_contract from E; idempotent (R-EXC-6, issue 18)';

CREATE FUNCTION @extschema@.abandon_resale(resale bigint)
	RETURNS text
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	s @extschema@.resale_step := @extschema@.lock_resale($1);
BEGIN
	IF s.state = 'abandoned' THEN
		RETURN 'abandoned';
	ELSIF s.state <> 'pending' THEN
		RAISE EXCEPTION 'resale % is %: it is not abandoned', $1, s.state USING ERRCODE = 'GB004';
	END IF;
	UPDATE @extschema@.contract k SET state = 'active' WHERE k.contract_id = s.contract_id AND k.state = 'resale_pending';
	UPDATE @extschema@.resale_step k SET state = 'abandoned' WHERE k.resale_id = $1;
	RETURN 'abandoned';
END
$$;
COMMENT ON FUNCTION @extschema@.abandon_resale(bigint) IS 'End a resale the buyer''s partition did not accept, on the reseller''s: the contract active again as it was; idempotent (issue 18)';

CREATE FUNCTION @extschema@.pending_resales(grace interval)
	RETURNS TABLE (resale_id bigint, contract_id bigint, buyer_id bigint)
	LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	SELECT k.resale_id, k.contract_id, k.buyer_id FROM @extschema@.resale_step k
	WHERE k.state = 'pending' AND k.began_at < pg_catalog.statement_timestamp() - grace ORDER BY 1
$$;
COMMENT ON FUNCTION @extschema@.pending_resales(interval) IS 'Resales begun longer than grace ago (wall clock) and not ended: the proxy''s tick re-drives them (issue 18)';

/*
 * The resales this database holds a side of, for the checks of both sides
 * (verify here, the proxy's verify over every partition): the reseller's
 * side (the resold contract, its new contract, the new prices of the months
 * done — what clearing paid out for them —, settled when every month is
 * done), the buyer's (the new contract, what its customer paid into
 * clearing by the journal, settled when completed) and the pending resales
 * (not checked yet).  verify_exchange also checks each database's clearing
 * account against these months and payments.
 */
CREATE FUNCTION @extschema@.resale_sides()
	RETURNS SETOF @extschema@.resale_side
	LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	WITH clearing AS MATERIALIZED (
		SELECT x.object_id, pg_catalog.sum(CASE WHEN a.account_id = x.credit_account THEN @extschema@.micros(x.amount)
												 ELSE -@extschema@.micros(x.amount) END)::bigint AS net
		FROM @extschema@.account a
		JOIN @extschema@.transfer x ON x.object_type = 'contract' AND a.account_id IN (x.credit_account, x.debit_account)
		WHERE a.owner_kind = 'platform' AND a.purpose = 'clearing'
		GROUP BY 1
	), base AS (
		SELECT b.since FROM @extschema@.journal_base(true) b	/* a side whose journal was archived is not settled here */
	)
	SELECT c.contract_id, 'reseller', c.resold_to,
		   -coalesce((SELECT pg_catalog.sum(@extschema@.micros(m.resold)) FROM @extschema@.resale_month m
					  WHERE m.contract_id = c.contract_id AND m.done_at IS NOT NULL), 0)::bigint,
		   NOT EXISTS (SELECT FROM @extschema@.resale_month m WHERE m.contract_id = c.contract_id AND m.done_at IS NULL)
	FROM @extschema@.contract c
	WHERE c.resold_to IS NOT NULL
	UNION ALL
	SELECT c.resold_from, 'buyer', c.contract_id, coalesce(k.net, 0),
		   c.accepted_at >= (SELECT base.since FROM base) AND c.state = 'completed'
	FROM @extschema@.contract c LEFT JOIN clearing k ON k.object_id = c.contract_id
	WHERE c.resold_from IS NOT NULL
	UNION ALL
	SELECT s.contract_id, 'pending', NULL, 0, false FROM @extschema@.resale_step s WHERE s.state = 'pending'
$$;
COMMENT ON FUNCTION @extschema@.resale_sides() IS 'The resales this database holds a side of: the reseller''s (clearing paid out), the buyer''s (clearing paid in), the pending ones; checked by check_resale_sides (R-EXC-6, issue 18)';

CREATE OR REPLACE FUNCTION @extschema@.resell_contract(contract bigint, new_customer bigint, price_per_gpu_hour @extschema@.amount,
											 at timestamptz DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	c @extschema@.contract;
	t timestamptz;
	new_id bigint;
	months @extschema@.resale_month[];
BEGIN
	/* the one call on two customers: both wallets, in customer order, then the contract */
	PERFORM @extschema@.lock_wallets(ARRAY[(SELECT k.customer_id FROM @extschema@.contract k WHERE k.contract_id = contract),
										   new_customer]);
	c := @extschema@.lock_contract(contract);
	t := @extschema@.call_time(at, c.last_event_at, 'contract ' || contract);
	IF NOT EXISTS (SELECT FROM @extschema@.customer k WHERE k.customer_id = new_customer) THEN
		RAISE EXCEPTION 'unknown customer: %', new_customer USING ERRCODE = 'no_data_found';
	END IF;
	IF c.resold_to IS NOT NULL THEN
		IF (SELECT (n.customer_id, n.price_per_gpu_hour) = (new_customer, resell_contract.price_per_gpu_hour)
			FROM @extschema@.contract n WHERE n.contract_id = c.resold_to) THEN
			RETURN c.resold_to;		/* the same resale again */
		END IF;
		RAISE EXCEPTION 'contract % is already resold (as contract %)', contract, c.resold_to USING ERRCODE = 'GB004';
	END IF;
	months := @extschema@.plan_resale(c, new_customer, price_per_gpu_hour,
									  (SELECT k.currency FROM @extschema@.customer k WHERE k.customer_id = new_customer), t);
	/* the new contract: its customer accepts it now */
	new_id := @extschema@.accept_contract(pg_catalog.nextval('@extschema@.id_seq'), new_customer, c.provider_id, c.gpus,
										  price_per_gpu_hour, pg_catalog.tstzrange(months[1].due_at, pg_catalog.upper(c.term)), t, contract);
	PERFORM @extschema@.apply_resale(c, months, new_id, t);
	RETURN new_id;
END
$$;
COMMENT ON FUNCTION @extschema@.resell_contract(bigint, bigint, @extschema@.amount, timestamptz) IS 'Resell the rest of a contract from the next calendar month on as a new contract; the provider keeps its original price, the reseller gets the difference above it, or funds it below from its deposit (R-EXC-6, R-EXC-7)';

CREATE OR REPLACE FUNCTION @extschema@.plan_resale(c @extschema@.contract, new_customer bigint, price_per_gpu_hour @extschema@.amount,
										buyer_currency text, t timestamptz) RETURNS @extschema@.resale_month[]
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	tz text := @extschema@.billing_timezone();
	cur text := @extschema@.currency(c.total);
	z @extschema@.amount := @extschema@.zero(@extschema@.currency(c.total));
	e timestamptz;
	new_hour @extschema@.amount;
	needed @extschema@.amount;
	left_at_e @extschema@.amount;
	months @extschema@.resale_month[];
BEGIN
	IF c.resold_from IS NOT NULL THEN
		RAISE EXCEPTION 'contract % is itself a resale and is not resold again', c.contract_id USING ERRCODE = 'GB004';
	END IF;
	PERFORM @extschema@.refuse_resale_pending(c);
	IF c.state <> 'active' THEN
		RAISE EXCEPTION 'contract % is %: only an active contract is resold', c.contract_id, c.state USING ERRCODE = 'GB004';
	END IF;
	IF new_customer = c.customer_id THEN
		RAISE EXCEPTION 'a contract is resold to another customer' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.check_amount(price_per_gpu_hour, cur, 'price per GPU-hour');
	IF buyer_currency <> cur THEN
		RAISE EXCEPTION 'currency mismatch: contract % is in %, customer % pays in another currency', c.contract_id, cur, new_customer
			USING ERRCODE = 'GB003';
	END IF;
	/* R-EXC-6: effective at the next calendar-month boundary after at */
	e := @extschema@.upper(@extschema@.billing_period('month', t, tz));
	IF e >= pg_catalog.upper(c.term) THEN
		RAISE EXCEPTION 'contract % ends % : nothing is left to resell from %', c.contract_id, pg_catalog.upper(c.term), e
			USING ERRCODE = 'GB004';
	END IF;

	/* the months of the remaining term: the provider's original price, the new one */
	new_hour := price_per_gpu_hour * c.gpus;
	months := ARRAY(
	SELECT ROW(c.contract_id, m.n::integer, c.customer_id, m.b, pg_catalog.tstzrange(m.b, m.nb),
		   coalesce((SELECT @extschema@.sum(p.customer_pays + p.from_deposit) FROM @extschema@.contract_payment p
					 WHERE p.contract_id = c.contract_id AND p.due_at >= e AND p.cancelled_at IS NULL AND p.paid_at IS NULL
					   AND pg_catalog.lower(p.covers) >= m.b AND pg_catalog.lower(p.covers) < m.nb), z),
		   @extschema@.prorate(new_hour, EXTRACT(epoch FROM m.nb - e)::bigint) - @extschema@.prorate(new_hour, EXTRACT(epoch FROM m.b - e)::bigint),
		   NULL)::@extschema@.resale_month
	FROM (SELECT k.n, k.b, LEAST(pg_catalog.upper(c.term), (k.b AT TIME ZONE tz + interval '1 month') AT TIME ZONE tz) AS nb
		  FROM (SELECT g.n, ((e AT TIME ZONE tz) + (g.n - 1) * interval '1 month') AT TIME ZONE tz AS b
				FROM pg_catalog.generate_series(1, 1200) g(n)) k
		  WHERE k.b < pg_catalog.upper(c.term)) m
	ORDER BY m.n);
	/* R-EXC-6: below the original price the reseller's unapplied deposit must cover every difference */
	SELECT coalesce(@extschema@.sum(GREATEST(r.original - r.resold, z)), z) INTO needed FROM pg_catalog.unnest(months) r;
	SELECT c.deposit_left - coalesce(@extschema@.sum(p.from_deposit), z) INTO left_at_e FROM @extschema@.contract_payment p
	WHERE p.contract_id = c.contract_id AND p.due_at < e AND p.paid_at IS NULL AND p.cancelled_at IS NULL;
	IF needed > left_at_e THEN
		RAISE EXCEPTION 'the resale is % below the original price; the unapplied deposit at % is %', needed, e, left_at_e
			USING ERRCODE = 'GB004', HINT = 'A resale below the original price is funded from the reseller''s unapplied deposit.';
	END IF;
	RETURN months;
END
$$;
COMMENT ON FUNCTION @extschema@.plan_resale(@extschema@.contract, bigint, @extschema@.amount, text, timestamptz) IS 'The checks of a resale and the months of the remaining term from the next calendar month on: the original and the new price of each (R-EXC-6, R-EXC-7)';

CREATE OR REPLACE FUNCTION @extschema@.apply_resale(c @extschema@.contract, months @extschema@.resale_month[], new_id bigint, t timestamptz)
	RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	INSERT INTO @extschema@.resale_month SELECT * FROM pg_catalog.unnest(months);
	UPDATE @extschema@.contract_payment p SET cancelled_at = t
	WHERE p.contract_id = c.contract_id AND p.due_at >= months[1].due_at AND p.paid_at IS NULL AND p.cancelled_at IS NULL;
	UPDATE @extschema@.contract k
	SET resold_to = new_id, resale_at = months[1].due_at, last_event_at = GREATEST(k.last_event_at, t),
		state = CASE k.state WHEN 'resale_pending' THEN 'active' ELSE k.state END
	WHERE k.contract_id = c.contract_id;
END
$$;
COMMENT ON FUNCTION @extschema@.apply_resale(@extschema@.contract, @extschema@.resale_month[], bigint, timestamptz) IS 'The reseller''s side of a resale: the months written, the original payments from the effective time on cancelled, the contract resold as new_id from then (R-EXC-6)';

CREATE OR REPLACE FUNCTION @extschema@.pay_contract(contract bigint, amt @extschema@.amount, external_id text, at timestamptz DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	c @extschema@.contract := @extschema@.lock_contract(contract);
	t timestamptz := @extschema@.call_time(at, c.last_event_at, 'contract ' || contract);
	cur text := @extschema@.currency(c.total);
	r record;
	row @extschema@.contract_payment;
	fee record;
	payments_in bigint := @extschema@.account_of('world', 0, 'payments_in', cur);
BEGIN
	IF external_id IS NULL OR external_id = '' THEN
		RAISE EXCEPTION 'a payment needs its external id' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.check_text(external_id, 'external_id');
	PERFORM @extschema@.check_amount(amt, cur, 'payment');
	r := @extschema@.begin_request('pay_contract', external_id, c.customer_id, c.provider_id,
		pg_catalog.jsonb_build_object('contract', contract, 'amount', amt::text), t);
	IF r.done THEN
		RETURN r.id;
	END IF;
	PERFORM @extschema@.refuse_resale_pending(c);
	/* a reservation fee owed is paid first (R-EXC-5) */
	SELECT * INTO fee FROM @extschema@.contract_fee f
	WHERE f.contract_id = contract AND f.paid_at IS NULL ORDER BY f.fee_id LIMIT 1 FOR UPDATE;
	IF FOUND THEN
		IF amt <> fee.amount THEN
			RAISE EXCEPTION 'contract % owes a reservation fee of %, not %', contract, fee.amount, amt
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		PERFORM @extschema@.pay_fee(c, fee.fee_id, payments_in, t, external_id);
		RETURN r.id;
	END IF;
	IF NOT (SELECT k.approved FROM @extschema@.customer k WHERE k.customer_id = c.customer_id) THEN
		RAISE EXCEPTION 'customer % is not approved: its contract payments are taken from its wallet', c.customer_id
			USING ERRCODE = 'GB004';
	END IF;
	SELECT * INTO row FROM @extschema@.contract_payment p
	WHERE p.contract_id = contract AND p.paid_at IS NULL AND p.cancelled_at IS NULL ORDER BY p.seq LIMIT 1;
	IF NOT FOUND OR c.state NOT IN ('pending', 'active', 'late') THEN
		RAISE EXCEPTION 'contract % (%) has nothing to pay', contract, c.state USING ERRCODE = 'GB004';
	END IF;
	IF amt <> row.customer_pays THEN
		RAISE EXCEPTION 'payment % of contract % is %, not %', row.seq, contract, row.customer_pays, amt
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Payments are made in full, one at a time, in order.';
	END IF;
	PERFORM @extschema@.pay_row(c, row, payments_in, t, external_id);
	UPDATE @extschema@.contract k SET last_event_at = GREATEST(k.last_event_at, t) WHERE k.contract_id = contract;
	RETURN r.id;
END
$$;
COMMENT ON FUNCTION @extschema@.pay_contract(bigint, @extschema@.amount, text, timestamptz) IS 'An approved customer pays its next contract payment (or a reservation fee owed) directly, in full; idempotent on external_id (R-EXC-1)';

CREATE OR REPLACE FUNCTION @extschema@.terminate_contract(contract bigint, reason text, at timestamptz DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	provider bigint := (SELECT k.provider_id FROM @extschema@.contract k WHERE k.contract_id = contract);
	c @extschema@.contract;
	t timestamptz;
	cur text;
	z @extschema@.amount;
	cash_account bigint;
	exchange_account bigint;
	commission_account bigint;
	receivable bigint;
	back @extschema@.amount;		/* what the provider's wallet gives back */
	comm @extschema@.amount;		/* what the exchange gives back of its commission */
	available @extschema@.amount;
	short @extschema@.amount;
	legs @extschema@.leg[];
	refunded @extschema@.amount;
	x record;
BEGIN
	IF reason IS NULL OR reason NOT IN ('non_payment', 'provider') THEN
		RAISE EXCEPTION 'invalid termination reason: %', coalesce(reason, 'NULL') USING ERRCODE = 'invalid_parameter_value',
			HINT = 'A contract is terminated for non_payment or by the provider.';
	END IF;
	IF provider IS NOT NULL THEN
		PERFORM @extschema@.lock_partner(provider);
	END IF;
	c := @extschema@.lock_contract(contract);
	t := @extschema@.call_time(at, c.last_event_at, 'contract ' || contract);
	cur := @extschema@.currency(c.total);
	z := @extschema@.zero(cur);
	PERFORM @extschema@.refuse_resale_pending(c);
	IF c.state NOT IN ('active', 'late') THEN
		RAISE EXCEPTION 'contract % is %', contract, c.state USING ERRCODE = 'GB004',
			HINT = 'Only an active or late contract is terminated.';
	END IF;
	IF reason = 'non_payment' AND NOT EXISTS (SELECT FROM @extschema@.contract_payment p
											  WHERE p.contract_id = contract AND p.paid_at IS NULL AND p.cancelled_at IS NULL
												AND (p.late_at IS NOT NULL OR p.late_from <= t)) THEN
		RAISE EXCEPTION 'contract % has no late payment: it is not terminated for non-payment', contract USING ERRCODE = 'GB004';
	END IF;
	/* nothing more falls due */
	UPDATE @extschema@.contract_payment p SET cancelled_at = t
	WHERE p.contract_id = contract AND p.paid_at IS NULL AND p.cancelled_at IS NULL;
	IF reason = 'non_payment' THEN
		/* R-EXC-5: the provider keeps the unapplied deposit as a cancellation fee */
		IF @extschema@.micros(c.deposit_left) > 0 THEN
			PERFORM @extschema@.receive(c, NULL, 'cancellation_fee', c.deposit_left,
										@extschema@.account_of('customer', c.customer_id, 'deposit', cur), t);
		END IF;
	ELSE
		cash_account := (SELECT w.cash_account FROM @extschema@.wallet w WHERE w.customer_id = c.customer_id);
		exchange_account := @extschema@.account_of('partner', c.provider_id, 'exchange', cur);
		commission_account := @extschema@.account_of('platform', 0, 'commission', cur);
		receivable := @extschema@.account_of('platform', 0, 'receivable', cur);
		/* the unapplied deposit goes back to the customer's cash */
		legs := ARRAY[@extschema@.leg(c.customer_id, NULL, t, 'refund', @extschema@.account_of('customer', c.customer_id, 'deposit', cur),
									  cash_account, c.deposit_left, 'contract', contract, NULL,
									  'unapplied deposit returned: terminated by the provider')];
		/* what the provider received for time from t on, per receipt of a paid row, pro rata by the second */
		back := z; comm := z;
		FOR x IN SELECT r.gross, r.rate,
						@extschema@.round(r.gross * (EXTRACT(epoch FROM pg_catalog.upper(p.covers) - GREATEST(pg_catalog.lower(p.covers), t))
													 / EXTRACT(epoch FROM pg_catalog.upper(p.covers) - pg_catalog.lower(p.covers)))::numeric, 2) AS undelivered
				 FROM @extschema@.contract_payment p
				 JOIN @extschema@.contract_receipt r ON r.contract_id = p.contract_id AND r.seq = p.seq AND r.kind IN ('payment', 'deposit')
				 WHERE p.contract_id = contract AND p.paid_at IS NOT NULL AND pg_catalog.upper(p.covers) > t LOOP
			CONTINUE WHEN @extschema@.micros(x.undelivered) <= 0;
			comm := comm + @extschema@.amount(pg_catalog.round(@extschema@.micros(x.undelivered)::numeric * x.rate / 1000000, 2), cur);
			back := back + x.undelivered;
		END LOOP;
		back := back - comm;
		refunded := back + comm;
		IF @extschema@.micros(refunded) > 0 THEN
			/* the wallet covers what it can; the platform advances the rest and recovers it from the next receipts */
			available := GREATEST((SELECT w.balance FROM @extschema@.provider_wallet(c.provider_id) w), z);
			short := GREATEST(back - available, z);
			legs := legs
				|| @extschema@.leg(c.customer_id, NULL, t, 'refund', exchange_account, cash_account, back - short, 'contract', contract,
								   NULL, 'compute not delivered, given back by the provider')
				|| @extschema@.leg(c.customer_id, NULL, t, 'refund', receivable, cash_account, short, 'contract', contract, NULL,
								   'compute not delivered, advanced by the platform: recovered from the provider''s next receipts')
				|| @extschema@.leg(c.customer_id, NULL, t, 'refund', commission_account, cash_account, comm, 'contract', contract,
								   NULL, 'commission on compute not delivered, returned by the exchange');
			IF @extschema@.micros(short) > 0 THEN
				INSERT INTO @extschema@.provider_offset (offset_id, provider_id, amount, recovered, reason, at)
				VALUES (pg_catalog.nextval('@extschema@.id_seq'), c.provider_id, short, z,
						pg_catalog.format('refund of contract %s terminated by the provider beyond its wallet', contract), t);
			END IF;
		END IF;
		PERFORM @extschema@.post_transfers(legs);
	END IF;
	UPDATE @extschema@.contract k
	SET state = 'terminated', deposit_left = z, ended_at = t, end_reason = reason, last_event_at = t
	WHERE k.contract_id = contract;
END
$$;
COMMENT ON FUNCTION @extschema@.terminate_contract(bigint, text, timestamptz) IS 'Terminate a contract: for non_payment (a payment late) the provider keeps the unapplied deposit less commission; by the provider the customer gets back what it paid for time not delivered and the unapplied deposit (R-EXC-5, R-EXC-8)';

CREATE OR REPLACE FUNCTION @extschema@.verify_exchange(whole boolean)
	RETURNS TABLE (check_name text, ok boolean, detail text)
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	WITH deposit AS MATERIALIZED (	/* the customers' deposit accounts' balances, once */
		SELECT a.owner_id AS customer_id, b.balance
		FROM @extschema@.account a JOIN @extschema@.account_balances('deposit', whole) b USING (account_id)
		WHERE a.owner_kind = 'customer' AND a.purpose = 'deposit'
	)
	SELECT 'contract deposits equal the customers'' deposit accounts', count(*) = 0,
		   count(*) || ' customers whose unapplied contract deposits differ from their deposit account'
		   || coalesce(': ' || string_agg(customer_id::text, ', '), '')
	FROM (SELECT c.customer_id, @extschema@.sum(c.deposit_left) AS deposit_left FROM @extschema@.contract c GROUP BY 1) k
	FULL JOIN deposit d USING (customer_id)
	WHERE coalesce(@extschema@.micros(k.deposit_left), 0) <> coalesce(d.balance, 0)
	UNION ALL
	/* R-EXC-9: what each offset recovered is what its offset transfers moved */
	SELECT 'provider offsets recovered equal their transfers', count(*) = 0,
		   count(*) || ' offsets whose recovered differs from the journal' || coalesce(': ' || string_agg(o.offset_id::text, ', '), '')
	FROM @extschema@.provider_offset o
	WHERE o.at >= (SELECT b.since FROM @extschema@.journal_base(true) b)	/* its recoveries are in the database */
	  AND @extschema@.micros(o.recovered) <> coalesce((SELECT pg_catalog.sum(@extschema@.micros(x.amount)) FROM @extschema@.transfer x
													  WHERE x.kind = 'offset' AND x.object_type = 'provider_offset'
														AND x.object_id = o.offset_id), 0)
	UNION ALL
	/* R-EXC-3: a deposit is applied only from what was paid in */
	SELECT 'no contract deposit account is below zero', count(*) = 0,
		   count(*) || ' customers whose contract deposit account is below zero'
		   || coalesce(': ' || string_agg(d.customer_id::text, ', '), '')
	FROM deposit d WHERE d.balance < 0
	UNION ALL
	/* R-EXC-6: the clearing account moves only for resales: what the buyers paid in, less the new price of the months
	   paid out — over what the journal holds from its base on (whole: after the archived months; else the open ones) */
	SELECT 'the exchange''s clearing equals what buyers paid in less the resale months paid out', count(*) = 0,
		   count(*) || ' currencies whose clearing differs' || coalesce(': ' || string_agg(k.currency || ' by ' || k.diff || ' micros', ', '), '')
	FROM (SELECT a.currency,
				 coalesce(pg_catalog.sum(CASE WHEN x.credit_account = a.account_id THEN @extschema@.micros(x.amount)
											  ELSE -@extschema@.micros(x.amount) END)
						  FILTER (WHERE NOT (x.object_type = 'contract'
											 AND x.object_id IN (SELECT c.contract_id FROM @extschema@.contract c WHERE c.resold_from IS NOT NULL))), 0)
				 + coalesce((SELECT pg_catalog.sum(@extschema@.micros(m.resold)) FROM @extschema@.resale_month m
							 WHERE m.done_at >= (SELECT j.since FROM @extschema@.journal_base(whole) j)
							   AND @extschema@.currency(m.resold) = a.currency), 0) AS diff
		  FROM @extschema@.account a
		  LEFT JOIN @extschema@.transfer x ON a.account_id IN (x.credit_account, x.debit_account)
										   AND x.at >= (SELECT j.since FROM @extschema@.journal_base(whole) j)
		  WHERE a.owner_kind = 'platform' AND a.purpose = 'clearing'
		  GROUP BY a.currency) k
	WHERE k.diff <> 0
	UNION ALL
	/* R-EXC-6: the resales whose both sides are here (the proxy's verify checks those across partitions) */
	SELECT k.check_name, k.ok, k.detail
	FROM @extschema@.check_resale_sides(ARRAY(SELECT s FROM @extschema@.resale_sides() s), true) k
$$;
COMMENT ON FUNCTION @extschema@.verify_exchange(boolean) IS 'The exchange''s invariants (R-EXC-3, R-EXC-6, R-EXC-9): one row per check with ok and a detail';

REVOKE ALL ON @extschema@.resale_step, @extschema@.resale_acceptance FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.check_resale_sides(@extschema@.resale_side[], boolean),
	@extschema@.refuse_resale_pending(@extschema@.contract), @extschema@.lock_resale(bigint),
	@extschema@.begin_resale(bigint, bigint, @extschema@.amount, timestamptz),
	@extschema@.accept_resale(bigint, bigint, bigint, bigint, integer, @extschema@.amount, tstzrange, timestamptz),
	@extschema@.decide_resale(bigint, bigint, bigint), @extschema@.commit_resale(bigint, bigint), @extschema@.abandon_resale(bigint),
	@extschema@.pending_resales(interval), @extschema@.resale_sides(),
	@extschema@.plan_resale(@extschema@.contract, bigint, @extschema@.amount, text, timestamptz),
	@extschema@.apply_resale(@extschema@.contract, @extschema@.resale_month[], bigint, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.begin_resale(bigint, bigint, @extschema@.amount, timestamptz),
	@extschema@.accept_resale(bigint, bigint, bigint, bigint, integer, @extschema@.amount, tstzrange, timestamptz),
	@extschema@.decide_resale(bigint, bigint, bigint), @extschema@.commit_resale(bigint, bigint), @extschema@.abandon_resale(bigint),
	@extschema@.pending_resales(interval)
TO gpubill_app;
GRANT EXECUTE ON FUNCTION @extschema@.resale_sides() TO gpubill_app, gpubill_reader, gpubill_admin;

-- issue 18, R-EXC-4: a month's commission tier from the providers' volumes of the month before, settled once
CREATE TABLE @extschema@.volume_month (
	month		date PRIMARY KEY,			/* the month's first day (billing time zone) */
	settled_at	timestamptz NOT NULL		/* the tick or receipt (or the proxy's push) that settled it */
);
COMMENT ON TABLE @extschema@.volume_month IS 'A calendar month whose providers'' volumes are final (R-EXC-4): the tiers of the next month rest on them';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.volume_month', '');

CREATE TABLE @extschema@.provider_volume (
	month		date NOT NULL REFERENCES @extschema@.volume_month,
	provider_id	bigint NOT NULL,			/* party key */
	volume		numeric NOT NULL CHECK (volume > 0),	/* gross received in the month, in the provider's currency */
	PRIMARY KEY (month, provider_id)
);
COMMENT ON TABLE @extschema@.provider_volume IS 'What a provider received in a settled calendar month (premiums and reseller refunds aside): the volume its next month''s tier is chosen by (R-EXC-4); none = 0';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.provider_volume', '');

-- the first day of the calendar month before the one of t (billing time zone)
CREATE FUNCTION @extschema@.month_before(t timestamptz) RETURNS date
	LANGUAGE sql STABLE STRICT PARALLEL SAFE
	AS $$ SELECT (pg_catalog.date_trunc('month', t AT TIME ZONE @extschema@.billing_timezone()) - interval '1 month')::date $$;
COMMENT ON FUNCTION @extschema@.month_before(timestamptz) IS 'The first day of the calendar month before the one of t, in the billing time zone';

-- what each provider received in a month, on this database (the proxy sums the partitions')
CREATE FUNCTION @extschema@.provider_volumes(month date)
	RETURNS TABLE (provider_id bigint, volume numeric)
	LANGUAGE sql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	SELECT r.provider_id, pg_catalog.sum(@extschema@.micros(r.gross)) / 1000000
	FROM @extschema@.contract_receipt r
	WHERE r.at >= (month::timestamp AT TIME ZONE @extschema@.billing_timezone())
	  AND r.at < ((month + interval '1 month')::timestamp AT TIME ZONE @extschema@.billing_timezone())
	  AND r.kind NOT IN ('premium', 'reseller_refund')
	GROUP BY 1 ORDER BY 1
$$;
COMMENT ON FUNCTION @extschema@.provider_volumes(date) IS 'What each provider received in a calendar month on this database, premiums and reseller refunds aside (R-EXC-4); the proxy sums every partition''s';

-- settle a month's volumes once: from the given ones (the proxy's sums), else from this database's receipts
CREATE FUNCTION @extschema@.settle_volumes(m date, t timestamptz, volumes jsonb) RETURNS boolean
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	INSERT INTO @extschema@.volume_month (month, settled_at) VALUES (m, t) ON CONFLICT (month) DO NOTHING;
	IF NOT FOUND THEN
		RETURN false;		/* settled before (or by a concurrent call, now committed): it does not change */
	END IF;
	IF volumes IS NULL THEN
		INSERT INTO @extschema@.provider_volume (month, provider_id, volume)
		SELECT m, v.provider_id, v.volume FROM @extschema@.provider_volumes(m) v WHERE v.volume > 0;
	ELSE
		INSERT INTO @extschema@.provider_volume (month, provider_id, volume)
		SELECT m, (e ->> 'provider')::bigint, (e ->> 'volume')::numeric FROM pg_catalog.jsonb_array_elements(volumes) e
		WHERE (e ->> 'volume')::numeric > 0;
	END IF;
	RETURN true;
END
$$;
COMMENT ON FUNCTION @extschema@.settle_volumes(date, timestamptz, jsonb) IS 'Settle the providers'' volumes of a month once, from the given sums or from this database''s receipts; false if settled before (R-EXC-4)';

-- this database behind a proxy with other partitions: the proxy settles the volumes
CREATE FUNCTION @extschema@.volumes_from_proxy() RETURNS boolean
	LANGUAGE sql STABLE PARALLEL SAFE
	AS $$ SELECT coalesce((SELECT k.partitions > 1 FROM @extschema@.partition_identity k), false) $$;
COMMENT ON FUNCTION @extschema@.volumes_from_proxy() IS 'True on a partition of several: the providers'' volumes are summed and settled by the proxy, never from this partition''s part';

-- tick: at a month's first tick, the month before is settled (one database)
CREATE FUNCTION @extschema@.settle_volumes_due(t timestamptz) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	IF NOT @extschema@.volumes_from_proxy()
	   AND NOT EXISTS (SELECT FROM @extschema@.volume_month v WHERE v.month = @extschema@.month_before(t)) THEN
		PERFORM @extschema@.settle_volumes(@extschema@.month_before(t), t, NULL);
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.settle_volumes_due(timestamptz) IS 'At the first tick of a month, settle the providers'' volumes of the month before (one database; on partitions the proxy pushes them) (R-EXC-4)';

-- the proxy's push: the same sums on every partition
CREATE FUNCTION @extschema@.apply_volumes(month date, at timestamptz, volumes jsonb)
	RETURNS boolean
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	IF $1 IS NULL OR $2 IS NULL OR $3 IS NULL OR pg_catalog.jsonb_typeof($3) <> 'array'
	   OR $1 <> pg_catalog.date_trunc('month', $1)::date THEN
		RAISE EXCEPTION 'volumes are pushed for a month''s first day, at an instant, as a JSON array of {"provider", "volume"}'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN @extschema@.settle_volumes($1, $2, $3);
END
$$;
COMMENT ON FUNCTION @extschema@.apply_volumes(date, timestamptz, jsonb) IS 'The providers'' volumes of a month summed over the partitions by the proxy, settled here once; false if settled before (R-EXC-4, issue 18)';

-- the months from the one before since to the one before at that this partition has not settled
CREATE FUNCTION @extschema@.volume_months_missing(since timestamptz, at timestamptz)
	RETURNS SETOF date
	LANGUAGE sql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	SELECT m::date
	FROM pg_catalog.generate_series(@extschema@.month_before(since), @extschema@.month_before(at), interval '1 month') m
	WHERE NOT EXISTS (SELECT FROM @extschema@.volume_month v WHERE v.month = m::date)
	ORDER BY 1
$$;
COMMENT ON FUNCTION @extschema@.volume_months_missing(timestamptz, timestamptz) IS 'The months, from the one before since to the one before at, whose providers'' volumes this partition has not settled: the proxy pushes them (R-EXC-4, issue 18)';


CREATE OR REPLACE FUNCTION @extschema@.commission_rate(provider bigint, t timestamptz) RETURNS numeric
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	prev date := @extschema@.month_before(t);
	negotiated numeric;
BEGIN
	/* a negotiated rate overrides the tiers from its start on */
	negotiated := (SELECT k.rate FROM @extschema@.provider_commission k WHERE k.provider_id = provider AND k.from_at <= t
				   ORDER BY k.from_at DESC LIMIT 1);
	IF negotiated IS NOT NULL THEN
		RETURN negotiated;
	END IF;
	IF NOT EXISTS (SELECT FROM @extschema@.exchange_commission_tier) THEN
		RETURN (@extschema@.exchange_settings()).exchange_commission_rate;
	END IF;
	/* the month before is final at the first tick or receipt of this one */
	IF NOT EXISTS (SELECT FROM @extschema@.volume_month v WHERE v.month = prev) THEN
		IF @extschema@.volumes_from_proxy() THEN
			RAISE EXCEPTION 'the commission tier of provider % is not known yet: the providers'' volumes of % are not settled on this partition',
				provider, pg_catalog.to_char(prev, 'YYYY-MM') USING ERRCODE = 'GB004',
				HINT = 'The proxy sums them over the partitions and pushes them at its tick and before a contract payment through it; try again through the proxy.';
		END IF;
		PERFORM @extschema@.settle_volumes(prev, t, NULL);
	END IF;
	RETURN coalesce((SELECT k.rate FROM @extschema@.exchange_commission_tier k
					 WHERE k.min_volume <= coalesce((SELECT v.volume FROM @extschema@.provider_volume v
													 WHERE v.month = prev AND v.provider_id = provider), 0)
					 ORDER BY k.min_volume DESC LIMIT 1),
					(@extschema@.exchange_settings()).exchange_commission_rate);
END
$$;
COMMENT ON FUNCTION @extschema@.commission_rate(bigint, timestamptz) IS 'The commission rate of a provider''s receipt at t: negotiated, else the tier its volume of the month before reached (R-EXC-4)';

CREATE OR REPLACE FUNCTION @extschema@.tick(at timestamptz DEFAULT NULL)
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

CREATE OR REPLACE FUNCTION @extschema@.receive(c @extschema@.contract, seq integer, kind text, gross @extschema@.amount,
									 source bigint, t timestamptz, external_id text DEFAULT NULL,
									 payee_account bigint DEFAULT NULL) RETURNS bigint
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	cur text := @extschema@.currency(gross);
	rate numeric;
	commission @extschema@.amount;
	id bigint;
	net @extschema@.amount;
	recovered @extschema@.amount;
	take @extschema@.amount;
	o record;
BEGIN
	IF @extschema@.micros(gross) <= 0 THEN
		RETURN NULL;
	END IF;
	/* a resold contract's price goes to clearing (a reservation fee, R-EXC-5, is the provider's, as for any contract) */
	IF c.resold_from IS NOT NULL AND payee_account IS NULL AND kind <> 'reservation_fee' THEN
		PERFORM @extschema@.post_transfers(ARRAY[
			@extschema@.leg(c.customer_id, NULL, t, 'payment', source, @extschema@.account_of('platform', 0, 'clearing', cur), gross,
							'contract', c.contract_id, external_id,
							pg_catalog.format('%s %s of resold contract %s, to clearing', kind, coalesce(seq::text, ''), c.contract_id))]);
		RETURN NULL;
	END IF;
	rate := @extschema@.commission_rate(c.provider_id, t);
	commission := @extschema@.amount(pg_catalog.round(@extschema@.micros(gross)::numeric * rate / 1000000, 2), cur);
	INSERT INTO @extschema@.contract_receipt (contract_id, customer_id, provider_id, seq, kind, gross, commission, rate, at, external_id)
	VALUES (c.contract_id, c.customer_id, c.provider_id, seq, kind, gross, commission, rate, t, external_id)
	RETURNING receipt_id INTO id;
	/* R-EXC-9: what the exchange overpaid the provider is recovered first, oldest offset first */
	net := gross - commission;
	recovered := @extschema@.zero(cur);
	IF payee_account IS NULL THEN
		FOR o IN SELECT k.offset_id, k.amount - k.recovered AS open FROM @extschema@.provider_offset k
				 WHERE k.provider_id = c.provider_id AND k.recovered < k.amount ORDER BY k.offset_id FOR UPDATE LOOP
			take := LEAST(o.open, net - recovered);
			EXIT WHEN @extschema@.micros(take) <= 0;
			PERFORM @extschema@.post_transfers(ARRAY[
				@extschema@.leg(c.customer_id, NULL, t, 'offset', source, @extschema@.account_of('platform', 0, 'receivable', cur), take,
								'provider_offset', o.offset_id, NULL,
								pg_catalog.format('recovered from receipt %s of contract %s', id, c.contract_id))]);
			UPDATE @extschema@.provider_offset k SET recovered = k.recovered + take WHERE k.offset_id = o.offset_id;
			recovered := recovered + take;
		END LOOP;
	END IF;
	PERFORM @extschema@.post_transfers(ARRAY[
		@extschema@.leg(c.customer_id, NULL, t, CASE kind WHEN 'deposit' THEN 'payment' ELSE kind END, source,
						coalesce(payee_account, @extschema@.account_of('partner', c.provider_id, 'exchange', cur)), net - recovered,
						'contract', c.contract_id, external_id,
						pg_catalog.format('%s %s of contract %s', kind, coalesce(seq::text, ''), c.contract_id)),
		@extschema@.leg(c.customer_id, NULL, t, 'commission', source, @extschema@.account_of('platform', 0, 'commission', cur),
						commission, 'contract', c.contract_id, external_id,
						pg_catalog.format('commission %s on receipt %s', rate, id))]);
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.receive(@extschema@.contract, integer, text, @extschema@.amount, bigint, timestamptz, text, bigint) IS 'Credit a provider (or a reseller) a receipt of a contract less the commission (R-EXC-4); a resold contract''s payments go to clearing';

CREATE OR REPLACE FUNCTION @extschema@.provider_wallet(provider bigint)
	RETURNS TABLE (balance @extschema@.amount, commission_paid @extschema@.amount, offset_outstanding @extschema@.amount)
	LANGUAGE plpgsql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	p @extschema@.partner;
	acc bigint;
	z @extschema@.amount;
	last date;
	since timestamptz;
BEGIN
	SELECT * INTO p FROM @extschema@.partner k WHERE k.partner_id = provider AND k.is_provider;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown provider: %', provider USING ERRCODE = 'no_data_found';
	END IF;
	acc := @extschema@.account_of('partner', provider, 'exchange', p.currency);
	z := @extschema@.zero(p.currency);
	/*
	 * the wallet's closing balance of the last closed month (its roll-up),
	 * plus the open months' transfers of the provider's contracts, keyed by
	 * customer (SPEC 10), less what its home recovered for its offsets from
	 * receipts on other partitions: only they move the wallet
	 */
	SELECT c.month, c.ends_at INTO last, since FROM @extschema@.closed_month c ORDER BY c.month DESC LIMIT 1;
	RETURN QUERY
	SELECT @extschema@.amount(coalesce((SELECT k.closing FROM @extschema@.account_month k WHERE k.month = last AND k.account_id = acc), 0)
							  / 1000000, p.currency)
		   + coalesce((SELECT @extschema@.sum(CASE WHEN x.credit_account = acc THEN x.amount ELSE -x.amount END)
					   FROM @extschema@.contract c
					   JOIN @extschema@.transfer x ON x.object_type = 'contract' AND x.object_id = c.contract_id
					   WHERE c.provider_id = provider AND acc IN (x.credit_account, x.debit_account)
						 AND x.at >= coalesce(since, '-infinity')), z)
		   /* its offsets recovered at its home from receipts on other partitions (25_offset_steps.sql) */
		   - coalesce((SELECT @extschema@.sum(x.amount)
					   FROM @extschema@.provider_offset o
					   JOIN @extschema@.transfer x ON x.kind = 'offset' AND x.object_type = 'provider_offset' AND x.object_id = o.offset_id
					   WHERE o.provider_id = provider AND x.debit_account = acc AND x.at >= coalesce(since, '-infinity')), z),
		   coalesce((SELECT @extschema@.sum(r.commission) FROM @extschema@.contract_receipt r
					 WHERE r.provider_id = provider AND r.kind NOT IN ('premium', 'reseller_refund')), z),
		   coalesce((SELECT @extschema@.sum(o.amount - o.recovered) FROM @extschema@.provider_offset o
					 WHERE o.provider_id = provider), z);
END
$$;
COMMENT ON FUNCTION @extschema@.provider_wallet(bigint) IS 'A provider''s exchange wallet: what it received net of commission, and the commission deducted (R-EXC-4)';

REVOKE ALL ON @extschema@.volume_month, @extschema@.provider_volume FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.provider_volumes(date), @extschema@.settle_volumes(date, timestamptz, jsonb),
	@extschema@.settle_volumes_due(timestamptz), @extschema@.apply_volumes(date, timestamptz, jsonb),
	@extschema@.volume_months_missing(timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.provider_volumes(date), @extschema@.apply_volumes(date, timestamptz, jsonb),
	@extschema@.volume_months_missing(timestamptz, timestamptz)
TO gpubill_app;

-- issue 18, R-EXC-9: a provider's offsets recovered from its receipts on other partitions (7_exchange/25_offset_steps.sql)
CREATE TABLE @extschema@.offset_recovery (
	recovery_id	bigint PRIMARY KEY,			/* the saga's key, drawn at the provider's home */
	provider_id	bigint NOT NULL,			/* party key */
	offsets		bigint[] NOT NULL,			/* the open offsets when begun */
	outstanding	@extschema@.amount NOT NULL,	/* the offsets' outstanding when begun */
	at			timestamptz NOT NULL,		/* the recovery's time */
	recovered	@extschema@.amount,			/* committed: what was recovered */
	began_at	timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp()	/* wall clock: the sweeper's grace */
);
CREATE UNIQUE INDEX offset_recovery_pending_idx ON @extschema@.offset_recovery (provider_id) WHERE recovered IS NULL;
COMMENT ON TABLE @extschema@.offset_recovery IS 'A recovery of a provider''s offsets from its receipts on other partitions, at its home: pending, then committed with what was recovered (issue 18)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.offset_recovery', '');

CREATE TABLE @extschema@.offset_offer (
	receipt_id	bigint PRIMARY KEY,			/* a receipt of this partition, offered once */
	provider_id	bigint NOT NULL,			/* party key */
	recovery_id	bigint NOT NULL,			/* the recovery it was offered to (drawn at the home) */
	offered		@extschema@.amount NOT NULL	/* of its net, what the recovery could still take */
);
CREATE INDEX offset_offer_recovery_idx ON @extschema@.offset_offer (recovery_id);
COMMENT ON TABLE @extschema@.offset_offer IS 'A provider''s receipt on this partition offered to the open offsets at its home, once (issue 18)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.offset_offer', '');

CREATE TABLE @extschema@.offset_watch (
	offset_id	bigint PRIMARY KEY,			/* an offset at the provider's home */
	provider_id	bigint NOT NULL,			/* party key */
	after_receipt bigint NOT NULL			/* the provider's last receipt here when the offset was recorded */
);
COMMENT ON TABLE @extschema@.offset_watch IS 'An offset recorded at its provider''s home, seen from this partition: its next receipts here are those after after_receipt (issue 18)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.offset_watch', '');

-- step 0, on every other partition when the offset is recorded; idempotent
CREATE FUNCTION @extschema@.watch_offset(provider bigint, "offset" bigint)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	IF $1 IS NULL OR $2 IS NULL THEN
		RAISE EXCEPTION 'an offset is watched for its provider and id' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO @extschema@.offset_watch (offset_id, provider_id, after_receipt)
	VALUES ($2, $1, coalesce((SELECT pg_catalog.max(r.receipt_id) FROM @extschema@.contract_receipt r WHERE r.provider_id = $1), 0))
	ON CONFLICT (offset_id) DO NOTHING;
	RETURN (SELECT w.after_receipt FROM @extschema@.offset_watch w WHERE w.offset_id = $2);
END
$$;
COMMENT ON FUNCTION @extschema@.watch_offset(bigint, bigint) IS 'Step 0 of an offset across partitions: note the provider''s last receipt on this partition when the offset is recorded (once); its receipts after it are offered to the offset (R-EXC-9, issue 18)';

-- the providers homed here with an offset still outstanding or a recovery under way (the proxy's tick recovers them)
CREATE FUNCTION @extschema@.open_offsets()
	RETURNS TABLE (provider_id bigint)
	LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	SELECT o.provider_id FROM @extschema@.provider_offset o WHERE o.recovered < o.amount
	UNION
	SELECT k.provider_id FROM @extschema@.offset_recovery k WHERE k.recovered IS NULL
	ORDER BY 1
$$;
COMMENT ON FUNCTION @extschema@.open_offsets() IS 'The providers whose offsets on this partition are not yet recovered, or whose recovery is under way (R-EXC-9, issue 18)';

-- step 1, at the provider's home
CREATE FUNCTION @extschema@.begin_offset_recovery(provider bigint, at timestamptz,
												  OUT recovery bigint, OUT offsets bigint[], OUT outstanding @extschema@.amount)
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	r @extschema@.offset_recovery;
BEGIN
	PERFORM @extschema@.lock_partner($1);		/* serialises with record_provider_offset and another recovery */
	SELECT * INTO r FROM @extschema@.offset_recovery k WHERE k.provider_id = $1 AND k.recovered IS NULL;
	IF FOUND THEN		/* one under way: the same saga */
		recovery := r.recovery_id; offsets := r.offsets; outstanding := r.outstanding;
		RETURN;
	END IF;
	SELECT pg_catalog.array_agg(o.offset_id ORDER BY o.offset_id), @extschema@.sum(o.amount - o.recovered) INTO offsets, outstanding
	FROM @extschema@.provider_offset o WHERE o.provider_id = $1 AND o.recovered < o.amount;
	IF offsets IS NULL THEN
		recovery := NULL;		/* nothing to recover */
		RETURN;
	END IF;
	recovery := pg_catalog.nextval('@extschema@.id_seq');
	INSERT INTO @extschema@.offset_recovery (recovery_id, provider_id, offsets, outstanding, at)
	VALUES (recovery, $1, offsets, outstanding, coalesce($2, pg_catalog.now()));
END
$$;
COMMENT ON FUNCTION @extschema@.begin_offset_recovery(bigint, timestamptz) IS 'Step 1 of recovering a provider''s offsets from other partitions, at its home: a pending recovery (the one under way, if any) with the outstanding and the open offsets; NULL if nothing is outstanding (R-EXC-9, issue 18)';

-- step 2, on every other partition
CREATE FUNCTION @extschema@.offer_receipts(provider bigint, recovery bigint, offsets bigint[], up_to @extschema@.amount)
	RETURNS @extschema@.amount
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	z @extschema@.amount := @extschema@.zero(@extschema@.currency($4));
	after_ bigint;
BEGIN
	IF $1 IS NULL OR $2 IS NULL OR $3 IS NULL OR $4 IS NULL THEN
		RAISE EXCEPTION 'receipts are offered for a provider, a recovery, its offsets and an amount' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	/* two offers of one recovery (a re-drive) serialise on the provider's copy */
	PERFORM FROM @extschema@.partner p WHERE p.partner_id = $1 FOR UPDATE;
	IF NOT EXISTS (SELECT FROM @extschema@.offset_offer k WHERE k.recovery_id = $2) THEN	/* else offered before: the same answer */
		PERFORM @extschema@.watch_offset($1, o) FROM pg_catalog.unnest($3) o;	/* not watched yet (out of reach when recorded): from now */
		SELECT pg_catalog.min(w.after_receipt) INTO after_ FROM @extschema@.offset_watch w WHERE w.offset_id = ANY ($3);
		/* in the order recorded, each net whole while the running sum stays within up_to, the last one in part */
		INSERT INTO @extschema@.offset_offer (receipt_id, provider_id, recovery_id, offered)
		SELECT x.receipt_id, $1, $2, LEAST(x.net, $4 - (x.cum - x.net))
		FROM (SELECT r.receipt_id, r.gross - r.commission AS net,
					 @extschema@.sum(r.gross - r.commission) OVER (ORDER BY r.receipt_id) AS cum
			  FROM @extschema@.contract_receipt r
			  WHERE r.provider_id = $1 AND r.receipt_id > after_ AND r.kind NOT IN ('premium', 'reseller_refund')
				AND @extschema@.micros(r.gross - r.commission) > 0
				AND NOT EXISTS (SELECT FROM @extschema@.offset_offer k WHERE k.receipt_id = r.receipt_id)) x
		WHERE x.cum - x.net < $4;
	END IF;
	RETURN coalesce((SELECT @extschema@.sum(k.offered) FROM @extschema@.offset_offer k WHERE k.recovery_id = $2), z);
END
$$;
COMMENT ON FUNCTION @extschema@.offer_receipts(bigint, bigint, bigint[], @extschema@.amount) IS 'Step 2 of recovering a provider''s offsets, on another partition: its receipts recorded after the earliest of the offsets (watch_offset) and not offered before, each once, in the order recorded, up to up_to of their nets; the sum offered (the same again for the same recovery) (R-EXC-9, issue 18)';

-- step 3, at the provider's home
CREATE FUNCTION @extschema@.commit_offset_recovery(recovery bigint, offered @extschema@.amount)
	RETURNS @extschema@.amount
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	r @extschema@.offset_recovery;
	cur text;
	left_ @extschema@.amount;
	take @extschema@.amount;
	o record;
	exchange bigint;
	receivable bigint;
BEGIN
	SELECT * INTO r FROM @extschema@.offset_recovery k WHERE k.recovery_id = $1;
	IF NOT FOUND THEN
		RETURN NULL;		/* ended before with nothing offered (its row is not kept) */
	END IF;
	cur := (@extschema@.lock_partner(r.provider_id)).currency;
	SELECT * INTO r FROM @extschema@.offset_recovery k WHERE k.recovery_id = $1;
	IF NOT FOUND THEN
		RETURN NULL;
	ELSIF r.recovered IS NOT NULL THEN
		RETURN r.recovered;		/* committed before */
	ELSIF @extschema@.micros($2) <= 0 THEN
		DELETE FROM @extschema@.offset_recovery k WHERE k.recovery_id = $1;		/* nothing offered: no trace (a tick each) */
		RETURN @extschema@.zero(cur);
	END IF;
	exchange := @extschema@.account_of('partner', r.provider_id, 'exchange', cur);
	receivable := @extschema@.account_of('platform', 0, 'receivable', cur);
	left_ := $2;
	/* R-EXC-9: oldest offset first; what the home's own receipts recovered meanwhile is not taken twice */
	FOR o IN SELECT k.offset_id, k.amount - k.recovered AS open FROM @extschema@.provider_offset k
			 WHERE k.provider_id = r.provider_id AND k.recovered < k.amount ORDER BY k.offset_id FOR UPDATE LOOP
		take := LEAST(o.open, left_);
		EXIT WHEN @extschema@.micros(take) <= 0;
		PERFORM @extschema@.post_transfers(ARRAY[
			@extschema@.leg(NULL, r.provider_id, r.at, 'offset', exchange, receivable, take, 'provider_offset', o.offset_id, NULL,
							pg_catalog.format('recovered from receipts on other partitions (recovery %s)', $1))]);
		UPDATE @extschema@.provider_offset k SET recovered = k.recovered + take WHERE k.offset_id = o.offset_id;
		left_ := left_ - take;
	END LOOP;
	UPDATE @extschema@.offset_recovery k SET recovered = $2 - left_ WHERE k.recovery_id = $1;
	RETURN $2 - left_;
END
$$;
COMMENT ON FUNCTION @extschema@.commit_offset_recovery(bigint, @extschema@.amount) IS 'Step 3 of recovering a provider''s offsets, at its home: what the other partitions offered recovered, oldest offset first, from the provider''s exchange account to the platform''s receivable (nothing offered: the recovery leaves no row; NULL for one ended so); idempotent (R-EXC-9, issue 18)';
REVOKE ALL ON @extschema@.offset_recovery, @extschema@.offset_offer, @extschema@.offset_watch FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.open_offsets(), @extschema@.begin_offset_recovery(bigint, timestamptz),
	@extschema@.offer_receipts(bigint, bigint, bigint[], @extschema@.amount), @extschema@.commit_offset_recovery(bigint, @extschema@.amount),
	@extschema@.watch_offset(bigint, bigint)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.open_offsets(), @extschema@.begin_offset_recovery(bigint, timestamptz),
	@extschema@.offer_receipts(bigint, bigint, bigint[], @extschema@.amount), @extschema@.commit_offset_recovery(bigint, @extschema@.amount)
TO gpubill_app;
GRANT EXECUTE ON FUNCTION @extschema@.watch_offset(bigint, bigint) TO gpubill_app, gpubill_admin;

-- issue 18: a partner's statement rows only from its statement's movements
CREATE OR REPLACE FUNCTION @extschema@.partner_movements(lo timestamptz, hi timestamptz)
	RETURNS TABLE (partner bigint, month date, gross @extschema@.amount, fees @extschema@.amount,
				   voucher_paid @extschema@.amount, income @extschema@.amount, deposits @extschema@.amount,
				   compensation @extschema@.amount, withdrawn @extschema@.amount, change @extschema@.amount)
	LANGUAGE sql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	SET jit = off			/* compiling the plan of every month's partition costs more than the read */
	AS $$
	WITH lines AS (
		SELECT o.partner_id, (pg_catalog.date_trunc('month', o.at AT TIME ZONE (SELECT @extschema@.billing_timezone())))::date AS month,
			   @extschema@.sum(o.charge) AS gross, @extschema@.sum(o.platform_fee) AS fees,
			   @extschema@.sum(o.voucher_paid) AS voucher_paid, @extschema@.sum(o.partner_income) AS income
		FROM @extschema@.order_line o
		WHERE o.at >= (SELECT lo) AND o.at < (SELECT hi)
		GROUP BY 1, 2
	), moves AS (
		SELECT x.partner_id, (pg_catalog.date_trunc('month', x.at AT TIME ZONE (SELECT @extschema@.billing_timezone())))::date AS month,
			   @extschema@.sum(CASE WHEN x.credit_account = d.account_id THEN x.amount ELSE -x.amount END)
				   FILTER (WHERE d.account_id IN (x.debit_account, x.credit_account)) AS deposits,
			   @extschema@.sum(x.amount) FILTER (WHERE x.kind = 'compensation') AS compensation,
			   @extschema@.sum(x.amount) FILTER (WHERE x.credit_account = w.account_id) AS withdrawn
		FROM @extschema@.transfer x
		JOIN @extschema@.partner p ON p.partner_id = x.partner_id
		JOIN @extschema@.account d ON (d.owner_kind, d.owner_id, d.purpose, d.currency) = ('partner', p.partner_id, 'deposit', p.currency)
		JOIN @extschema@.account w ON (w.owner_kind, w.owner_id, w.purpose, w.currency) = ('world', 0, 'payouts', p.currency)
		WHERE x.partner_id IS NOT NULL AND x.at >= (SELECT lo) AND x.at < (SELECT hi)
		  AND (x.kind = 'compensation' OR d.account_id IN (x.debit_account, x.credit_account) OR x.credit_account = w.account_id)
		GROUP BY 1, 2
	)
	SELECT s.partner, s.month, s.gross, s.fees, s.voucher_paid, s.income, s.deposits, s.compensation, s.withdrawn,
		   s.income - s.deposits - s.withdrawn - s.compensation
	FROM (SELECT coalesce(l.partner_id, m.partner_id) AS partner, coalesce(l.month, m.month) AS month,
				 coalesce(l.gross, z.z) AS gross, coalesce(l.fees, z.z) AS fees, coalesce(l.voucher_paid, z.z) AS voucher_paid,
				 coalesce(l.income, z.z) AS income, coalesce(m.deposits, z.z) AS deposits,
				 coalesce(m.compensation, z.z) AS compensation, coalesce(m.withdrawn, z.z) AS withdrawn
		  FROM lines l
		  FULL JOIN moves m ON m.partner_id = l.partner_id AND m.month = l.month
		  JOIN @extschema@.partner p ON p.partner_id = coalesce(l.partner_id, m.partner_id)
		  CROSS JOIN LATERAL (SELECT @extschema@.zero(p.currency) AS z) z) s
$$;
COMMENT ON FUNCTION @extschema@.partner_movements(timestamptz, timestamptz) IS 'Each partner''s statement figures by billing month over what is dated in [lo, hi), and the change of what it may withdraw (partner_statement, its roll-up)';


-- issue 13: settlement's due set staged once (the ledger's capture stage with the order lines' columns);
-- the capture and the next holds in one ledger step, the split once (voucher_share, capture_income); the
-- ids of the legs drawn with the due set; tick's earliest boundary read from the due index
DROP FUNCTION @extschema@.hold_staged();
DROP FUNCTION @extschema@.capture_staged();
CREATE OR REPLACE FUNCTION @extschema@.prepare_session_tables(more text[] DEFAULT '{}') RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	PERFORM @extschema@.session_tables(more || ARRAY[
		['gpubill_settling', 'customer_id bigint PRIMARY KEY'],
		['gpubill_pass', 'customer_id bigint PRIMARY KEY'],
		['gpubill_locked', 'customer_id bigint PRIMARY KEY'],
		['gpubill_leg', 'LIKE @extschema@.transfer INCLUDING DEFAULTS']]);
END
$$;
COMMENT ON FUNCTION @extschema@.prepare_session_tables(text[]) IS 'Create (or check) the ledger''s temporary tables (customers tick locked, its current pass, a settlement''s customers, the legs staged for post_staged_transfers) and those of the caller''s layer given as {name, column list}, in one check';

CREATE OR REPLACE FUNCTION @extschema@.capture_stage_columns() RETURNS text
	LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
	SELECT 'charge @extschema@.amount NOT NULL, hold_amount @extschema@.amount, next_hold @extschema@.amount, '
		   'voucher_part @extschema@.amount, cash @extschema@.amount NOT NULL, income @extschema@.amount NOT NULL, '
		   'customer_id bigint NOT NULL, seq bigint NOT NULL, hold_id bigint, income_account bigint, '
		   'fee_rate numeric NOT NULL, object_id bigint NOT NULL, income_leg_id bigint NOT NULL, fee_leg_id bigint NOT NULL, '
		   'next_hold_id bigint, voucher_leg_id bigint, cash_only boolean NOT NULL, hold_cash_only boolean'
$$;
COMMENT ON FUNCTION @extschema@.capture_stage_columns() IS 'The columns the ledger reads and writes in the stage of capture_staged (pg_temp.gpubill_capture); a caller''s stage adds its own after them';

CREATE OR REPLACE FUNCTION @extschema@.voucher_share(charge @extschema@.amount, cash_only boolean, vouchers_before @extschema@.amount)
	RETURNS @extschema@.amount
	LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
	SELECT CASE WHEN cash_only THEN @extschema@.zero(@extschema@.currency(charge))
				ELSE LEAST(charge, GREATEST(vouchers_before, @extschema@.zero(@extschema@.currency(charge)))) END
$$;
COMMENT ON FUNCTION @extschema@.voucher_share(@extschema@.amount, boolean, @extschema@.amount) IS 'R-RCH-4: the part of a charge vouchers pay: none when cash-only, else as much as the vouchers left before it cover';

CREATE OR REPLACE FUNCTION @extschema@.capture_income(cash_paid @extschema@.amount, income_account bigint, fee_rate numeric)
	RETURNS @extschema@.amount
	LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
	SELECT CASE WHEN income_account IS NULL OR @extschema@.micros(cash_paid) = 0 THEN @extschema@.zero(@extschema@.currency(cash_paid))
				ELSE @extschema@.partner_income(cash_paid, fee_rate) END
$$;
COMMENT ON FUNCTION @extschema@.capture_income(@extschema@.amount, bigint, numeric) IS 'R-PRT-3: the partner''s part of the cash paid for a charge, less the service fee; none without an income account (all to the platform''s fee)';

CREATE OR REPLACE FUNCTION @extschema@.capture(w @extschema@.wallet, charge @extschema@.amount, cash_only boolean, income_account bigint,
									fee_rate numeric, object_type text, object_id bigint, t timestamptz,
									request_id text DEFAULT NULL,
									OUT voucher_paid @extschema@.amount, OUT cash_paid @extschema@.amount,
									OUT partner_income @extschema@.amount, OUT platform_fee @extschema@.amount)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	voucher_paid := @extschema@.voucher_share(charge, cash_only, w.vouchers);
	cash_paid := charge - voucher_paid;
	partner_income := @extschema@.capture_income(cash_paid, income_account, fee_rate);
	platform_fee := cash_paid - partner_income;
	PERFORM @extschema@.post_transfers(ARRAY[
		@extschema@.leg(w.customer_id, NULL, t, 'voucher_spend', w.voucher_account, w.voucher_expense_account, voucher_paid,
						object_type, object_id, request_id),
		@extschema@.leg(w.customer_id, NULL, t, 'income', w.cash_account, income_account, partner_income,
						object_type, object_id, request_id),
		@extschema@.leg(w.customer_id, NULL, t, 'fee', w.cash_account, w.fee_account, platform_fee,
						object_type, object_id, request_id)]);
	PERFORM @extschema@.spend_vouchers(w.customer_id, voucher_paid);
END
$$;
COMMENT ON FUNCTION @extschema@.capture(@extschema@.wallet, @extschema@.amount, boolean, bigint, numeric, text, bigint, timestamptz, text) IS 'Pay a charge vouchers first (unless cash-only), the cash part split into partner income and platform fee (R-RCH-4, R-PRT-3): the capture of holds and prepaid charges';

CREATE OR REPLACE FUNCTION @extschema@.capture_staged(at timestamptz, object_type text, next_object_type text)
	RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	n integer;
BEGIN
	PERFORM @extschema@.check_open(at);	/* no closed month */
	WITH totals AS (
		SELECT s.customer_id, @extschema@.sum(s.charge) AS charged,
			   @extschema@.sum(s.charge) FILTER (WHERE NOT s.cash_only) AS voucherable,
			   @extschema@.sum(s.hold_amount) AS ended, @extschema@.sum(s.hold_amount) FILTER (WHERE s.hold_cash_only) AS cash_ended,
			   @extschema@.sum(s.next_hold) AS asked, @extschema@.sum(s.next_hold) FILTER (WHERE s.cash_only) AS cash_asked
		FROM pg_temp.gpubill_capture s GROUP BY s.customer_id
	), after AS (	/* each wallet once every charge is captured and every hold ended */
		SELECT t.customer_id, t.asked, z.z, w.vouchers, w.cash - (t.charged - v.paid) AS cash, w.vouchers - v.paid AS vouchers_after,
			   w.held - coalesce(t.ended, z.z) AS held, w.cash_held - coalesce(t.cash_ended, z.z) AS cash_held,
			   coalesce(t.cash_asked, z.z) AS cash_asked
		FROM totals t
		JOIN @extschema@.wallet w ON w.customer_id = t.customer_id
		CROSS JOIN LATERAL (SELECT @extschema@.zero(@extschema@.currency(t.charged)) AS z) z
		CROSS JOIN LATERAL (SELECT @extschema@.voucher_share(coalesce(t.voucherable, z.z), false, w.vouchers) AS paid) v
	), one_by_one AS (	/* vouchers to split, or holds that do not all fit */
		SELECT a.* FROM after a
		WHERE @extschema@.micros(a.vouchers) > 0
		   OR (a.asked IS NOT NULL AND NOT @extschema@.funds_cover(a.cash, a.vouchers_after, a.held, a.cash_held, a.asked, a.cash_asked))
	), judged AS (
		SELECT q.customer_id, q.seq, q.v, q.fits,
			   CASE WHEN @extschema@.micros(q.v) > 0 THEN pg_catalog.nextval('@extschema@.id_seq') END AS voucher_leg_id
		FROM (SELECT s.customer_id, s.seq,
					 @extschema@.voucher_share(s.charge, s.cash_only,
											   a.vouchers - coalesce(@extschema@.sum(s.charge) FILTER (WHERE NOT s.cash_only) OVER before, a.z)) AS v,
					 /* R-LED-2: each hold with the holds before it */
					 s.next_hold IS NULL
					 OR @extschema@.funds_cover(a.cash, a.vouchers_after, a.held + coalesce(@extschema@.sum(s.next_hold) OVER before, a.z),
												a.cash_held + coalesce(@extschema@.sum(s.next_hold) FILTER (WHERE s.cash_only) OVER before, a.z),
												s.next_hold, CASE WHEN s.cash_only THEN s.next_hold ELSE a.z END) AS fits
			  FROM pg_temp.gpubill_capture s
			  JOIN one_by_one a ON a.customer_id = s.customer_id
			  WINDOW before AS (PARTITION BY s.customer_id ORDER BY s.seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)) q
		ORDER BY q.customer_id, q.seq	/* the voucher legs' ids in this order: the same on any replay */
	)
	UPDATE pg_temp.gpubill_capture s
	SET voucher_part = j.v, cash = s.charge - j.v, income = @extschema@.capture_income(s.charge - j.v, s.income_account, s.fee_rate),
		voucher_leg_id = j.voucher_leg_id, next_hold_id = CASE WHEN j.fits THEN s.next_hold_id END
	FROM judged j
	WHERE s.customer_id = j.customer_id AND s.seq = j.seq;

	WITH moved AS (	/* the door, set form: the legs (the same three as in pairs below), and the wallets they move */
		INSERT INTO @extschema@.transfer AS tr (transfer_id, customer_id, at, kind, debit_account, credit_account, amount,
												object_type, object_id)
		SELECT coalesce(x.id, pg_catalog.nextval('@extschema@.id_seq')), s.customer_id, capture_staged.at, x.kind, x.debit, x.credit,
			   x.amount, capture_staged.object_type, s.object_id
		FROM pg_temp.gpubill_capture s
		JOIN @extschema@.wallet w ON w.customer_id = s.customer_id
		CROSS JOIN LATERAL (VALUES (s.voucher_leg_id, 'voucher_spend', w.voucher_account, w.voucher_expense_account, s.voucher_part),
								   (s.income_leg_id, 'income', w.cash_account, s.income_account, s.income),
								   (s.fee_leg_id, 'fee', w.cash_account, w.fee_account, s.cash - s.income)) x(id, kind, debit, credit, amount)
		WHERE @extschema@.micros(x.amount) > 0
	), sums AS MATERIALIZED (	/* one pass over the stage: by wallet and partner's income account */
		SELECT s.customer_id, s.income_account,
			   /* the legs posted: each of the three over the rows where it is not zero */
			   @extschema@.sum(s.voucher_part) FILTER (WHERE @extschema@.micros(s.voucher_part) > 0) AS v,
			   @extschema@.sum(s.income) FILTER (WHERE @extschema@.micros(s.income) > 0) AS income,
			   @extschema@.sum(s.cash - s.income) FILTER (WHERE @extschema@.micros(s.cash - s.income) > 0) AS fee,
			   /* the holds ended and placed */
			   @extschema@.sum(s.hold_amount) AS ended, @extschema@.sum(s.hold_amount) FILTER (WHERE s.hold_cash_only) AS cash_ended,
			   @extschema@.sum(s.next_hold) FILTER (WHERE s.next_hold_id IS NOT NULL) AS placed,
			   @extschema@.sum(s.next_hold) FILTER (WHERE s.next_hold_id IS NOT NULL AND s.cash_only) AS cash_placed
		FROM pg_temp.gpubill_capture s GROUP BY s.customer_id, s.income_account
	), pairs AS (	/* the legs posted, summed by wallet and pair of accounts */
		SELECT g.customer_id, x.debit, x.credit, x.amount
		FROM sums g
		JOIN @extschema@.wallet w ON w.customer_id = g.customer_id
		CROSS JOIN LATERAL (VALUES (w.voucher_account, w.voucher_expense_account, g.v), (w.cash_account, g.income_account, g.income),
								   (w.cash_account, w.fee_account, g.fee)) x(debit, credit, amount)
		WHERE x.amount IS NOT NULL
	), moves AS (	/* what the legs moved in each wallet's cash and vouchers (leg_delta) */
		SELECT p.customer_id,
			   @extschema@.sum(@extschema@.leg_delta(k.cash_account, p.debit, p.credit, p.amount)) AS cash,
			   @extschema@.sum(@extschema@.leg_delta(k.voucher_account, p.debit, p.credit, p.amount)) AS vouchers
		FROM pairs p
		JOIN @extschema@.wallet k ON k.customer_id = p.customer_id
		GROUP BY p.customer_id
	), ends AS (
		INSERT INTO @extschema@.hold_end (hold_id, customer_id, kind, captured, at)
		SELECT s.hold_id, s.customer_id, CASE WHEN @extschema@.micros(s.charge) > 0 THEN 'capture' ELSE 'release' END,
			   LEAST(s.charge, s.hold_amount), capture_staged.at	/* a charge beyond the hold is captured from the funds as well */
		FROM pg_temp.gpubill_capture s WHERE s.hold_id IS NOT NULL
	), placed AS (
		INSERT INTO @extschema@.hold (hold_id, customer_id, amount, cash_only, at, object_type, object_id)
		SELECT s.next_hold_id, s.customer_id, s.next_hold, s.cash_only, capture_staged.at, capture_staged.next_object_type, s.seq
		FROM pg_temp.gpubill_capture s WHERE s.next_hold_id IS NOT NULL
		RETURNING 1
	), spent AS (
		SELECT s.customer_id, @extschema@.sum(s.voucher_part) AS v
		FROM pg_temp.gpubill_capture s WHERE @extschema@.micros(s.voucher_part) > 0 GROUP BY s.customer_id
	), lots AS (
		SELECT l.voucher_id, l.amount, s.v,
			   @extschema@.sum(l.amount) OVER (PARTITION BY l.customer_id ORDER BY l.expires_at NULLS LAST, l.voucher_id) AS cum
		FROM @extschema@.voucher_left l JOIN spent s USING (customer_id)
	), vspent AS (	/* R-RCH-4: vouchers are spent earliest expiry first */
		DELETE FROM @extschema@.voucher_left l USING lots x WHERE l.voucher_id = x.voucher_id AND x.cum <= x.v
		RETURNING 1
	), vleft AS (
		UPDATE @extschema@.voucher_left l SET amount = x.cum - x.v
		FROM lots x WHERE l.voucher_id = x.voucher_id AND x.cum - x.amount < x.v AND x.cum > x.v
		RETURNING 1
	), held AS (	/* the holds ended and placed, by wallet */
		SELECT g.customer_id, @extschema@.sum(g.ended) AS ended, @extschema@.sum(g.cash_ended) AS cash_ended,
			   @extschema@.sum(g.placed) AS placed, @extschema@.sum(g.cash_placed) AS cash_placed
		FROM sums g GROUP BY g.customer_id
	), wallets AS (	/* one update per wallet */
		UPDATE @extschema@.wallet w
		SET cash = w.cash + coalesce(d.cash, @extschema@.zero(@extschema@.currency(w.cash))),
			vouchers = w.vouchers + coalesce(d.vouchers, @extschema@.zero(@extschema@.currency(w.cash))),
			held = w.held + coalesce(h.placed, @extschema@.zero(@extschema@.currency(w.cash)))
				   - coalesce(h.ended, @extschema@.zero(@extschema@.currency(w.cash))),
			cash_held = w.cash_held + coalesce(h.cash_placed, @extschema@.zero(@extschema@.currency(w.cash)))
						- coalesce(h.cash_ended, @extschema@.zero(@extschema@.currency(w.cash))),
			updated_at = GREATEST(w.updated_at, capture_staged.at)
		FROM held h
		LEFT JOIN moves d ON d.customer_id = h.customer_id
		WHERE w.customer_id = h.customer_id
		RETURNING 1
	)
	SELECT pg_catalog.count(*) INTO n FROM placed;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.capture_staged(timestamptz, text, text) IS 'The voucher-first capture and the next holds, set form, at one instant: pay the charges staged in pg_temp.gpubill_capture vouchers first in seq order per customer, split the cash part, end their holds, place the next holds that fit the funds in seq order, move each wallet once; returns the holds placed (R-RCH-4, R-PRT-3, R-LED-2)';

CREATE OR REPLACE FUNCTION @extschema@.prepare_settlement_tables() RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	PERFORM @extschema@.prepare_session_tables(ARRAY[
		['gpubill_capture', @extschema@.capture_stage_columns()
							|| ', machine_id bigint NOT NULL, partner_id bigint NOT NULL, '
							   'hourly_fee @extschema@.amount NOT NULL, billed_until timestamptz NOT NULL']]);
END
$$;
COMMENT ON FUNCTION @extschema@.prepare_settlement_tables() IS 'Create (or check) the session tables of PAYG settlement: the ledger''s tables and its capture stage (pg_temp.gpubill_capture) with each instance''s order-line columns';

CREATE OR REPLACE FUNCTION @extschema@.settle_staged(b timestamptz, line_kind text, unheld_reason text,
										   OUT settled integer, OUT stopped integer)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	cfg @extschema@.payg_settings := @extschema@.payg_settings();
	next_b timestamptz := @extschema@.upper(@extschema@.billing_period('hour', b, @extschema@.billing_timezone()));
	held integer;
BEGIN
	/* 1. the usage up to b captured from the holds (the ledger's voucher-first capture), the next hours held */
	held := @extschema@.capture_staged(b, 'order_line', 'instance');

	/* 2. the order lines, with the ledger's split */
	INSERT INTO @extschema@.order_line (line_id, customer_id, instance_id, machine_id, partner_id, kind, usage, seconds,
										hourly_fee, charge, voucher_paid, cash_paid, partner_income, platform_fee, at)
	SELECT c.object_id, c.customer_id, c.seq, c.machine_id, c.partner_id, line_kind,
		   pg_catalog.tstzrange(c.billed_until, b, CASE WHEN x.seconds > 0 THEN '[)' ELSE '[]' END),
		   x.seconds, c.hourly_fee, c.charge, c.charge - c.cash, c.cash, c.income, c.cash - c.income, b
	FROM pg_temp.gpubill_capture c
	CROSS JOIN LATERAL (SELECT pg_catalog.floor(EXTRACT(epoch FROM b - c.billed_until))::bigint AS seconds) x
	WHERE x.seconds > 0 OR @extschema@.micros(c.charge) > 0;	/* a stop on the settlement instant charges nothing */

	/* 3. each instance moves on to the next hour with its hold, or stops (or, converted, runs on unheld) */
	UPDATE @extschema@.instance i
	SET billed_until = b, last_event_at = GREATEST(i.last_event_at, b), hold_id = c.next_hold_id,
		next_settle_at = CASE WHEN c.next_hold_id IS NOT NULL THEN next_b END,
		state = CASE WHEN c.next_hold_id IS NOT NULL OR unheld_reason IS NULL THEN i.state ELSE 'stopped' END,
		stopped_at = CASE WHEN c.next_hold_id IS NOT NULL OR unheld_reason IS NULL THEN i.stopped_at ELSE b END,
		stop_reason = CASE WHEN c.next_hold_id IS NOT NULL OR unheld_reason IS NULL THEN i.stop_reason ELSE unheld_reason END
	FROM pg_temp.gpubill_capture c
	WHERE i.instance_id = c.seq;
	GET DIAGNOSTICS settled = ROW_COUNT;
	stopped := 0;
	IF settled > held AND unheld_reason IS NOT NULL THEN
		/* R-PAYG-6: local data may be erased a day after the stop */
		INSERT INTO @extschema@.lifecycle_event (kind, customer_id, subject_type, subject_id, due_at, created_at)
		SELECT 'local_data_erase_due', c.customer_id, 'instance', c.seq, @extschema@.local_data_erase_at(b, cfg), b
		FROM pg_temp.gpubill_capture c
		WHERE c.next_hold_id IS NULL
		ON CONFLICT DO NOTHING;
		GET DIAGNOSTICS stopped = ROW_COUNT;
	END IF;
	/* emptied for the next settlement of this transaction (TRUNCATE would replan these statements at every call) */
	PERFORM @extschema@.empty_stage('pg_temp.gpubill_capture', settled);
END
$$;
COMMENT ON FUNCTION @extschema@.settle_staged(timestamptz, text, text) IS 'The shared phases of PAYG settlement over the staged due set: capture and next holds (the ledger), order lines, instances moved on or stopped (R-PAYG-4, R-PAYG-5)';

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
	/* the due set: each instance's charge up to b, its hold, and the hold of its next hour */
	INSERT INTO pg_temp.gpubill_capture (customer_id, seq, charge, cash_only, hold_id, hold_amount, hold_cash_only,
										 income_account, fee_rate, cash, income, object_id, income_leg_id, fee_leg_id, next_hold, next_hold_id,
										 machine_id, partner_id, hourly_fee, billed_until)
	SELECT d.customer_id, d.instance_id, d.charge,
		   d.cash_only, d.hold_id, h.amount, h.cash_only, a.account_id, fee_rate,
		   d.charge, @extschema@.capture_income(d.charge, a.account_id, fee_rate),	/* the split as if no voucher paid */
		   pg_catalog.nextval('@extschema@.id_seq'),
		   pg_catalog.nextval('@extschema@.id_seq'), pg_catalog.nextval('@extschema@.id_seq'),
		   @extschema@.payg_hold(d.hourly_fee, cfg), pg_catalog.nextval('@extschema@.id_seq'),
		   d.machine_id, d.partner_id, d.hourly_fee, d.billed_until
	FROM (SELECT k.*, @extschema@.usage_charge(k.hourly_fee, k.billed_until, b) AS charge
		  FROM @extschema@.instance k
		  WHERE k.state = 'running' AND k.billing = 'payg' AND k.next_settle_at = b
			AND k.customer_id IN (SELECT s.customer_id FROM pg_temp.gpubill_settling s)
		  OFFSET 0) d	/* each charge computed once */
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

CREATE OR REPLACE FUNCTION @extschema@.settle_instance(instance bigint, b timestamptz, then_ text,
											 OUT settled integer, OUT stopped integer)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	fee_rate numeric := (@extschema@.partner_settings()).service_fee_rate;
	run_ends boolean := then_ <> 'interim';
	r record;
BEGIN
	PERFORM @extschema@.prepare_settlement_tables();
	PERFORM @extschema@.expire_vouchers(b, ARRAY(
		SELECT w.customer_id FROM @extschema@.wallet w
		WHERE w.voucher_expiry <= b
		  AND w.customer_id = (SELECT i.customer_id FROM @extschema@.instance i WHERE i.instance_id = instance)));
	INSERT INTO pg_temp.gpubill_capture (customer_id, seq, charge, cash_only, hold_id, hold_amount, hold_cash_only,
										 income_account, fee_rate, cash, income, object_id, income_leg_id, fee_leg_id, next_hold, next_hold_id,
										 machine_id, partner_id, hourly_fee, billed_until)
	SELECT d.customer_id, d.instance_id, d.charge,
		   d.cash_only, d.hold_id, h.amount, h.cash_only, a.account_id, fee_rate,
		   d.charge, @extschema@.capture_income(d.charge, a.account_id, fee_rate),	/* the split as if no voucher paid */
		   pg_catalog.nextval('@extschema@.id_seq'),
		   pg_catalog.nextval('@extschema@.id_seq'), pg_catalog.nextval('@extschema@.id_seq'),
		   /* interim: it runs on, on the hold of its next hour */
		   CASE WHEN NOT run_ends THEN @extschema@.payg_hold(d.hourly_fee, @extschema@.payg_settings()) END,
		   CASE WHEN NOT run_ends THEN pg_catalog.nextval('@extschema@.id_seq') END,
		   d.machine_id, d.partner_id, d.hourly_fee, d.billed_until
	FROM (SELECT k.*, CASE WHEN run_ends AND k.product = 'usage_hourly'
						   THEN @extschema@.run_end_charge(k.instance_id, k.hourly_fee, k.run_started_at, b)
						   ELSE @extschema@.usage_charge(k.hourly_fee, k.billed_until, b) END AS charge
		  FROM (SELECT * FROM @extschema@.instance j
				WHERE j.instance_id = instance AND j.state = 'running' AND j.billing = 'payg' AND j.hold_id IS NOT NULL
				FOR UPDATE) k) d
	JOIN @extschema@.hold h ON h.hold_id = d.hold_id
	LEFT JOIN @extschema@.account a ON a.owner_kind = 'partner' AND a.owner_id = d.partner_id AND a.purpose = 'income'
								   AND a.currency = @extschema@.currency(d.hourly_fee);
	r := @extschema@.settle_staged(b, CASE WHEN run_ends THEN 'payg_stop' ELSE 'payg' END,
								   CASE then_ WHEN 'interim' THEN 'insufficient_balance' WHEN 'convert' THEN NULL ELSE then_ END);
	settled := r.settled;
	stopped := r.stopped;
END
$$;
COMMENT ON FUNCTION @extschema@.settle_instance(bigint, timestamptz, text) IS 'Settle one PAYG instance up to b, then hold the next hour (interim), leave it running unheld (convert) or stop it for a reason (R-PAYG-4, R-PAYG-5, R-PAYG-7)';

CREATE OR REPLACE FUNCTION @extschema@.tick_pass(t timestamptz, scope @extschema@.tick_scope, storage_from timestamptz, alerts boolean,
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

REVOKE EXECUTE ON FUNCTION @extschema@.capture_staged(timestamptz, text, text) FROM PUBLIC;
