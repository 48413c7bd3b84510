/*
 * 20_partitions.sql — this database as partition k of n (issue 17).  A
 * platform past one server runs gpubill on n partition databases behind
 * PL/Proxy; each is provisioned once, before its first row: its ids are
 * k * 2^48 + 1 .. (k + 1) * 2^48 - 1 (the setting shard_id), unique across
 * partitions, and partition_of(id) routes any id back to k.  A single
 * database is partition 0 of 1 and needs nothing of this.
 *
 * Map (scripts/file-map.pl):
 * API: claim_payment, provision_partition.
 * Internals: partition_of.
 * Tables: partition_identity, payment_claim.
 * Uses: 2_base, 3_ledger.
 */

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

-- the partition an id was drawn on (its shard: the id's bits above 2^48)
CREATE FUNCTION @extschema@.partition_of(id bigint) RETURNS integer
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	AS $$ SELECT (id >> 48)::integer $$;
COMMENT ON FUNCTION @extschema@.partition_of(bigint) IS 'The partition (shard) an id was drawn on: id / 2^48 (issue 17)';

CREATE FUNCTION @extschema@.provision_partition(k integer, n integer)
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

/*
 * R-LED-5 across partitions: one payment (channel, external id) credits one
 * customer.  Each partition refuses a payment id used twice on it; the
 * proxy first claims the id in this registry, kept on partition 0 (a single
 * database never uses it), and refuses an id claimed by another customer
 * (GB005, as a single database does).
 */
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

CREATE FUNCTION @extschema@.claim_payment(channel text, external_id text, customer bigint)
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
