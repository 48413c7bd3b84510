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

