/*
 * 80_capacity.sql — a machine's GPUs claimed at its home before a rental
 * (issue 17, R-PRT-1 across partitions; the partitions' side is gpubill's
 * 58_gpu_claims.sql).  create_instance, start_instance and resize_instance
 * through the proxy:
 *   1. claim the GPUs at the machine's home under a fresh key (GB002 when
 *      they are not free, after draining the runs ended everywhere once);
 *   2. the rental on the customer's partition under that key;
 *   3. confirm the claim (or release it if the rental failed or started no
 *      run); a claim gone meanwhile (the run ended and was drained) is put
 *      back only while the run goes on.
 * A repeated create_instance request (its request id known on the
 * customer's partition) is answered there without a claim.  A bad argument
 * the partition refuses is routed without a claim, so it fails as on one
 * database.  tick() drains the runs ended on every partition (their claims
 * released at the homes) and resolves claims a failed proxy left
 * unconfirmed for longer than five minutes.  verify() checks that the
 * claims cover the running GPUs of every machine.
 */

-- the partitions' side of the protocol
CREATE FUNCTION @extschema@.claim_gpus(machine bigint, gpus integer, claim_key text, customer bigint, except_instance bigint,
										states text[])
	RETURNS void
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(machine); $$;
COMMENT ON FUNCTION @extschema@.claim_gpus(bigint, integer, text, bigint, bigint, text[]) IS 'gpubill.claim_gpus at the machine''s home';

CREATE FUNCTION @extschema@.confirm_gpu_claim(claim_key text, instance bigint, machine bigint, customer bigint, gpus integer,
											   reinstate boolean)
	RETURNS boolean
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(machine); $$;
COMMENT ON FUNCTION @extschema@.confirm_gpu_claim(text, bigint, bigint, bigint, integer, boolean) IS 'gpubill.confirm_gpu_claim at the machine''s home';

CREATE FUNCTION @extschema@.release_gpu_claims_on(part integer, claim_keys text[])
	RETURNS integer
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON part; SELECT gpubill.release_gpu_claims($2); $$;
COMMENT ON FUNCTION @extschema@.release_gpu_claims_on(integer, text[]) IS 'gpubill.release_gpu_claims on a machine home';

CREATE FUNCTION @extschema@.unconfirmed_claims_on(part integer, grace interval)
	RETURNS TABLE (claim_key text, customer_id bigint, machine_id bigint, gpus integer)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON part; SELECT * FROM gpubill.unconfirmed_claims($2); $$;
COMMENT ON FUNCTION @extschema@.unconfirmed_claims_on(integer, interval) IS 'gpubill.unconfirmed_claims of one partition';

CREATE FUNCTION @extschema@.create_instance_claimed(claim_key text, customer bigint, machine bigint, gpus integer, billing text,
													auto_renew boolean, at timestamptz, request_id text,
													OUT instance bigint, OUT claimed boolean)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(customer); $$;
COMMENT ON FUNCTION @extschema@.create_instance_claimed(text, bigint, bigint, integer, text, boolean, timestamptz, text) IS 'gpubill.create_instance_claimed on the customer''s partition';

CREATE FUNCTION @extschema@.start_instance_claimed(claim_key text, instance bigint, at timestamptz)
	RETURNS boolean
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(instance); $$;
COMMENT ON FUNCTION @extschema@.start_instance_claimed(text, bigint, timestamptz) IS 'gpubill.start_instance_claimed on the instance''s partition';

CREATE FUNCTION @extschema@.resize_instance_claimed(claim_key text, instance bigint, gpus integer, at timestamptz)
	RETURNS boolean
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(instance); $$;
COMMENT ON FUNCTION @extschema@.resize_instance_claimed(text, bigint, integer, timestamptz) IS 'gpubill.resize_instance_claimed on the instance''s partition';

CREATE FUNCTION @extschema@.instance_machine(instance bigint, OUT machine bigint, OUT customer bigint, OUT gpus integer, OUT state text)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(instance); $$;
COMMENT ON FUNCTION @extschema@.instance_machine(bigint) IS 'gpubill.instance_machine on the instance''s partition';

CREATE FUNCTION @extschema@.known_request_on(customer bigint, fn text, request_id text)
	RETURNS boolean
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(customer); SELECT gpubill.known_request($2, $3); $$;
COMMENT ON FUNCTION @extschema@.known_request_on(bigint, text, text) IS 'gpubill.known_request on the customer''s partition';

CREATE FUNCTION @extschema@.ended_runs_on(part integer)
	RETURNS TABLE (claim_key text, machine_id bigint)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON part; SELECT * FROM gpubill.ended_runs(); $$;
COMMENT ON FUNCTION @extschema@.ended_runs_on(integer) IS 'gpubill.ended_runs of one partition: its outbox of GPUs to release';

CREATE FUNCTION @extschema@.runs_drained_on(part integer, claim_keys text[])
	RETURNS integer
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON part; SELECT gpubill.runs_drained($2); $$;
COMMENT ON FUNCTION @extschema@.runs_drained_on(integer, text[]) IS 'gpubill.runs_drained on one partition';

CREATE FUNCTION @extschema@.runs_of_claims_on(part integer, claim_keys text[])
	RETURNS TABLE (claim_key text, instance_id bigint, ended boolean)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON part; SELECT * FROM gpubill.runs_of_claims($2); $$;
COMMENT ON FUNCTION @extschema@.runs_of_claims_on(integer, text[]) IS 'gpubill.runs_of_claims on one partition';

CREATE FUNCTION @extschema@.claimed_gpus_everywhere()
	RETURNS TABLE (machine_id bigint, gpus bigint)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT * FROM gpubill.claimed_gpus(); $$;
COMMENT ON FUNCTION @extschema@.claimed_gpus_everywhere() IS 'gpubill.claimed_gpus of every partition (each machine at its home)';

CREATE FUNCTION @extschema@.running_gpus_everywhere()
	RETURNS TABLE (machine_id bigint, gpus bigint)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT * FROM gpubill.running_gpus(); $$;
COMMENT ON FUNCTION @extschema@.running_gpus_everywhere() IS 'gpubill.running_gpus of every partition (a machine''s on several)';

-- the rentals without a claim: a repeated request, or arguments the partition refuses
CREATE FUNCTION @extschema@.create_instance_on(customer bigint, machine bigint, gpus integer, billing text, auto_renew boolean,
											   at timestamptz, request_id text)
	RETURNS bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(customer); SELECT gpubill.create_instance($1, $2, $3, $4, $5, $6, $7); $$;
COMMENT ON FUNCTION @extschema@.create_instance_on(bigint, bigint, integer, text, boolean, timestamptz, text) IS 'gpubill.create_instance on the customer''s partition, without a claim';

CREATE FUNCTION @extschema@.start_instance_on(instance bigint, at timestamptz)
	RETURNS void
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(instance); SELECT gpubill.start_instance($1, $2); $$;
COMMENT ON FUNCTION @extschema@.start_instance_on(bigint, timestamptz) IS 'gpubill.start_instance on the instance''s partition, without a claim';

CREATE FUNCTION @extschema@.resize_instance_on(instance bigint, gpus integer, at timestamptz)
	RETURNS void
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(instance); SELECT gpubill.resize_instance($1, $2, $3); $$;
COMMENT ON FUNCTION @extschema@.resize_instance_on(bigint, integer, timestamptz) IS 'gpubill.resize_instance on the instance''s partition, without a claim';

-- release at their homes the claims of the runs ended on a partition (default: on every partition); returns how many
CREATE FUNCTION @extschema@.drain_gpu_releases(part integer DEFAULT NULL)
	RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	k integer;
	home integer;
	keys text[];
	machines bigint[];
	home_keys text[];
	total integer := 0;
BEGIN
	FOR k IN SELECT p.partition FROM @extschema@.proxy_partition p WHERE part IS NULL OR p.partition = part ORDER BY 1 LOOP
		SELECT pg_catalog.array_agg(e.claim_key ORDER BY e.claim_key), pg_catalog.array_agg(e.machine_id ORDER BY e.claim_key)
		INTO keys, machines FROM @extschema@.ended_runs_on(k) e;
		CONTINUE WHEN keys IS NULL;
		FOR home, home_keys IN SELECT @extschema@.partition_of(u.machine), pg_catalog.array_agg(u.claim_key ORDER BY u.claim_key)
							   FROM ROWS FROM (pg_catalog.unnest(keys), pg_catalog.unnest(machines)) u(claim_key, machine) GROUP BY 1 ORDER BY 1 LOOP
			PERFORM @extschema@.release_gpu_claims_on(home, home_keys);
		END LOOP;
		total := total + @extschema@.runs_drained_on(k, keys);
	END LOOP;
	RETURN total;
END
$$;
COMMENT ON FUNCTION @extschema@.drain_gpu_releases(integer) IS 'Release at the machines'' homes the claims of the runs ended on a partition (default: every partition), then forget them there; returns how many (issue 17)';

-- claims a proxy left unconfirmed longer than grace: confirmed if their run started and goes on, else released
CREATE FUNCTION @extschema@.resolve_unconfirmed_claims(grace interval DEFAULT '5 minutes')
	RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	k integer;
	c record;
	run record;
	total integer := 0;
BEGIN
	FOR k IN SELECT p.partition FROM @extschema@.proxy_partition p ORDER BY 1 LOOP
		FOR c IN SELECT * FROM @extschema@.unconfirmed_claims_on(k, grace) LOOP
			SELECT * INTO run FROM @extschema@.runs_of_claims_on(@extschema@.partition_of(c.customer_id), ARRAY[c.claim_key]);
			IF FOUND AND NOT run.ended THEN
				PERFORM @extschema@.confirm_gpu_claim(c.claim_key, run.instance_id, c.machine_id, c.customer_id, c.gpus, false);
			ELSE
				PERFORM @extschema@.release_gpu_claims_on(k, ARRAY[c.claim_key]);
			END IF;
			total := total + 1;
		END LOOP;
	END LOOP;
	RETURN total;
END
$$;
COMMENT ON FUNCTION @extschema@.resolve_unconfirmed_claims(interval) IS 'Resolve the claims left unconfirmed longer than grace (a proxy failed between the steps): confirmed if their run goes on, else released; returns how many (issue 17)';

-- step 3: the claim is the run's; a claim gone meanwhile comes back only while its run goes on
CREATE FUNCTION @extschema@.confirm_claim(claim_key text, instance bigint, machine bigint, customer bigint, gpus integer)
	RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	run record;
BEGIN
	IF @extschema@.confirm_gpu_claim(claim_key, instance, machine, customer, gpus, false) THEN
		RETURN;
	END IF;
	/* gone: drained after its run ended, or resolved; put back first, then ask the run (a drain after this releases it) */
	PERFORM @extschema@.confirm_gpu_claim(claim_key, instance, machine, customer, gpus, true);
	SELECT * INTO run FROM @extschema@.runs_of_claims_on(@extschema@.partition_of(customer), ARRAY[claim_key]);
	IF NOT FOUND OR run.ended THEN
		PERFORM @extschema@.release_gpu_claims_on(@extschema@.partition_of(machine), ARRAY[claim_key]);
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.confirm_claim(text, bigint, bigint, bigint, integer) IS 'Confirm a claim at the machine''s home; one gone meanwhile is put back only while its run goes on (a late confirmation never holds a freed GPU)';

-- claim, and once more after draining the ended runs if the machine looked full
CREATE FUNCTION @extschema@.claim_or_drain(machine bigint, gpus integer, claim_key text, customer bigint, except_instance bigint,
											 states text[])
	RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	BEGIN
		PERFORM @extschema@.claim_gpus(machine, gpus, claim_key, customer, except_instance, states);
		RETURN;
	EXCEPTION WHEN SQLSTATE 'GB002' THEN
		PERFORM @extschema@.drain_gpu_releases();
	END;
	PERFORM @extschema@.claim_gpus(machine, gpus, claim_key, customer, except_instance, states);
END
$$;
COMMENT ON FUNCTION @extschema@.claim_or_drain(bigint, integer, text, bigint, bigint, text[]) IS 'Claim GPUs at a machine''s home; if they are not free, drain the ended runs and try once more (GB002 if still not free)';

CREATE FUNCTION @extschema@.create_instance(customer bigint, machine bigint, gpus integer, billing text DEFAULT 'payg'::text,
											auto_renew boolean DEFAULT false, at timestamp with time zone DEFAULT NULL::timestamp with time zone,
											request_id text DEFAULT NULL::text)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	k text := pg_catalog.gen_random_uuid()::text;
	r record;
BEGIN
	IF customer IS NULL OR machine IS NULL OR gpus IS NULL OR gpus <= 0
	   OR (request_id IS NOT NULL AND @extschema@.known_request_on(customer, 'create_instance', request_id)) THEN
		/* the partition refuses the arguments, or answers the repeated request as it did */
		RETURN @extschema@.create_instance_on(customer, machine, gpus, billing, auto_renew, at, request_id);
	END IF;
	PERFORM @extschema@.claim_or_drain(machine, gpus, k, customer, NULL, '{listed}');
	BEGIN
		SELECT * INTO r FROM @extschema@.create_instance_claimed(k, customer, machine, gpus, billing, auto_renew, at, request_id);
	EXCEPTION WHEN OTHERS THEN
		PERFORM @extschema@.release_gpu_claims_on(@extschema@.partition_of(machine), ARRAY[k]);
		RAISE;
	END;
	IF r.claimed THEN
		PERFORM @extschema@.confirm_claim(k, r.instance, machine, customer, gpus);
	ELSE
		PERFORM @extschema@.release_gpu_claims_on(@extschema@.partition_of(machine), ARRAY[k]);
	END IF;
	RETURN r.instance;
END
$$;
COMMENT ON FUNCTION @extschema@.create_instance(bigint, bigint, integer, text, boolean, timestamp with time zone, text) IS 'gpubill.create_instance through the proxy: the machine''s GPUs claimed at its home, the instance created on the customer''s partition, the claim confirmed (released if it failed) (R-PRT-1 across partitions, issue 17)';

CREATE FUNCTION @extschema@.start_instance(instance bigint, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	k text := pg_catalog.gen_random_uuid()::text;
	i record;
	claimed boolean;
BEGIN
	IF instance IS NOT NULL THEN
		SELECT * INTO i FROM @extschema@.instance_machine(instance);
	END IF;
	IF i.state IS NULL OR i.state NOT IN ('stopped', 'expired') THEN
		PERFORM @extschema@.start_instance_on(instance, at);	/* the partition says why not */
		RETURN;
	END IF;
	PERFORM @extschema@.claim_or_drain(i.machine, i.gpus, k, i.customer, NULL, '{listed,delisted}');
	BEGIN
		claimed := @extschema@.start_instance_claimed(k, instance, at);
	EXCEPTION WHEN OTHERS THEN
		PERFORM @extschema@.release_gpu_claims_on(@extschema@.partition_of(i.machine), ARRAY[k]);
		RAISE;
	END;
	IF claimed THEN
		PERFORM @extschema@.confirm_claim(k, instance, i.machine, i.customer, i.gpus);
	ELSE
		PERFORM @extschema@.release_gpu_claims_on(@extschema@.partition_of(i.machine), ARRAY[k]);
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.start_instance(bigint, timestamp with time zone) IS 'gpubill.start_instance through the proxy: the machine''s GPUs claimed at its home first (issue 17)';

CREATE FUNCTION @extschema@.resize_instance(instance bigint, gpus integer, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	k text := pg_catalog.gen_random_uuid()::text;
	i record;
	claimed boolean;
BEGIN
	IF instance IS NOT NULL THEN
		SELECT * INTO i FROM @extschema@.instance_machine(instance);
	END IF;
	IF i.state IS DISTINCT FROM 'running' OR gpus IS NULL OR gpus <= 0 THEN
		PERFORM @extschema@.resize_instance_on(instance, gpus, at);	/* the partition says why not */
		RETURN;
	END IF;
	PERFORM @extschema@.claim_or_drain(i.machine, gpus, k, i.customer, instance, NULL);
	BEGIN
		claimed := @extschema@.resize_instance_claimed(k, instance, gpus, at);
	EXCEPTION WHEN OTHERS THEN
		PERFORM @extschema@.release_gpu_claims_on(@extschema@.partition_of(i.machine), ARRAY[k]);
		RAISE;
	END;
	IF claimed THEN
		PERFORM @extschema@.confirm_claim(k, instance, i.machine, i.customer, gpus);
	ELSE
		PERFORM @extschema@.release_gpu_claims_on(@extschema@.partition_of(i.machine), ARRAY[k]);
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.resize_instance(bigint, integer, timestamp with time zone) IS 'gpubill.resize_instance through the proxy: the new GPUs claimed at the machine''s home first (the instance''s own claim not counted) (issue 17)';

REVOKE EXECUTE ON FUNCTION @extschema@.claim_gpus(bigint, integer, text, bigint, bigint, text[]),
	@extschema@.confirm_gpu_claim(text, bigint, bigint, bigint, integer, boolean), @extschema@.release_gpu_claims_on(integer, text[]),
	@extschema@.confirm_claim(text, bigint, bigint, bigint, integer),
	@extschema@.unconfirmed_claims_on(integer, interval),
	@extschema@.create_instance_claimed(text, bigint, bigint, integer, text, boolean, timestamptz, text),
	@extschema@.start_instance_claimed(text, bigint, timestamptz), @extschema@.resize_instance_claimed(text, bigint, integer, timestamptz),
	@extschema@.instance_machine(bigint), @extschema@.known_request_on(bigint, text, text), @extschema@.ended_runs_on(integer),
	@extschema@.runs_drained_on(integer, text[]), @extschema@.runs_of_claims_on(integer, text[]),
	@extschema@.claimed_gpus_everywhere(), @extschema@.running_gpus_everywhere(),
	@extschema@.create_instance_on(bigint, bigint, integer, text, boolean, timestamptz, text),
	@extschema@.start_instance_on(bigint, timestamptz), @extschema@.resize_instance_on(bigint, integer, timestamptz),
	@extschema@.drain_gpu_releases(integer), @extschema@.resolve_unconfirmed_claims(interval),
	@extschema@.claim_or_drain(bigint, integer, text, bigint, bigint, text[]),
	@extschema@.create_instance(bigint, bigint, integer, text, boolean, timestamptz, text),
	@extschema@.start_instance(bigint, timestamptz), @extschema@.resize_instance(bigint, integer, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.claim_gpus(bigint, integer, text, bigint, bigint, text[]),
	@extschema@.confirm_gpu_claim(text, bigint, bigint, bigint, integer, boolean), @extschema@.release_gpu_claims_on(integer, text[]),
	@extschema@.confirm_claim(text, bigint, bigint, bigint, integer),
	@extschema@.unconfirmed_claims_on(integer, interval),
	@extschema@.create_instance_claimed(text, bigint, bigint, integer, text, boolean, timestamptz, text),
	@extschema@.start_instance_claimed(text, bigint, timestamptz), @extschema@.resize_instance_claimed(text, bigint, integer, timestamptz),
	@extschema@.instance_machine(bigint), @extschema@.known_request_on(bigint, text, text), @extschema@.ended_runs_on(integer),
	@extschema@.runs_drained_on(integer, text[]), @extschema@.runs_of_claims_on(integer, text[]),
	@extschema@.create_instance_on(bigint, bigint, integer, text, boolean, timestamptz, text),
	@extschema@.start_instance_on(bigint, timestamptz), @extschema@.resize_instance_on(bigint, integer, timestamptz),
	@extschema@.drain_gpu_releases(integer), @extschema@.resolve_unconfirmed_claims(interval),
	@extschema@.claim_or_drain(bigint, integer, text, bigint, bigint, text[]),
	@extschema@.create_instance(bigint, bigint, integer, text, boolean, timestamptz, text),
	@extschema@.start_instance(bigint, timestamptz), @extschema@.resize_instance(bigint, integer, timestamptz) TO gpubill_app;
GRANT EXECUTE ON FUNCTION @extschema@.claimed_gpus_everywhere(), @extschema@.running_gpus_everywhere()
	TO gpubill_app, gpubill_reader, gpubill_admin;
