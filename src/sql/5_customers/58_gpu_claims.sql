/*
 * 58_gpu_claims.sql — a machine's GPUs claimed at its home partition (issue
 * 17, R-PRT-1 across partitions).
 *
 * One database checks capacity against its running instances (check_capacity).
 * Behind a proxy a machine's renters live on every partition, so its GPUs
 * are claimed first at the machine's home, in idempotent steps:
 *   1. claim_gpus at the home: the machine locked, the GPUs of its claims
 *      plus the new ones within its GPUs (GB002 as one database), a claim
 *      row under a key the proxy draws;
 *   2. the rental on the customer's partition (create, start, resize
 *      NAME_claimed): the run it starts records the key (run_claim);
 *   3. confirm_gpu_claim at the home (the claim is the instance's; its
 *      earlier runs' claims end), or release_gpu_claims if the rental
 *      failed or did not start a run.  A claim gone meanwhile (its run
 *      ended and was drained) is not brought back unless its run is found
 *      going on, so a late confirmation never resurrects a freed GPU.
 * A run that ends (stop, expiry, release, want of funds, resize) marks its
 * run_claim ended: that is the outbox the proxy drains at every tick, and
 * at once when a claim finds the machine full, releasing the claims at the
 * home.  A claim left unconfirmed by a proxy that died between the steps
 * is resolved by the tick after a grace (gpu_claim_grace: confirmed if its
 * run started, else released); a rental on a partition takes at most
 * lock_timeout and statement_timeout of a minute, so the grace is safe.
 * A single database never claims: no proxy draws keys.
 *
 * Map (scripts/file-map.pl):
 * API: claim_gpus, claimed_gpus, confirm_gpu_claim, create_instance_claimed,
 *   ended_runs, instance_machine, known_request, release_gpu_claims,
 *   resize_instance_claimed, running_gpus, runs_drained, runs_of_claims,
 *   start_instance_claimed, unconfirmed_claims.
 * Internals: run_claim_trigger, with_claim_key.
 * Tables: gpu_claim, run_claim.
 * Uses: 3_ledger, 4_parties.
 */

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

/*
 * After an instance is written: a run that ends marks its claim ended; a
 * run that starts under a claim key (with_claim_key) records it, once.
 */
CREATE FUNCTION @extschema@.run_claim_trigger() RETURNS trigger
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

-- at the machine's home: claim GPUs (GB002 when they are not free); idempotent on the key
CREATE FUNCTION @extschema@.claim_gpus(machine bigint, gpus integer, claim_key text, customer bigint,
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

-- at the machine's home: the claim is the instance's run (its earlier runs' claims end with it); false if the
-- claim is gone (drained, or resolved) — reinstate puts it back, for a run the caller found going on
CREATE FUNCTION @extschema@.confirm_gpu_claim(claim_key text, instance bigint, machine bigint, customer bigint, gpus integer,
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

CREATE FUNCTION @extschema@.release_gpu_claims(claim_keys text[])
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

CREATE FUNCTION @extschema@.unconfirmed_claims(grace interval)
	RETURNS TABLE (claim_key text, customer_id bigint, machine_id bigint, gpus integer)
	LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	SELECT c.claim_key, c.customer_id, c.machine_id, c.gpus FROM @extschema@.gpu_claim c
	WHERE c.instance_id IS NULL AND c.claimed_at < pg_catalog.statement_timestamp() - grace
	ORDER BY c.claim_key
$$;
COMMENT ON FUNCTION @extschema@.unconfirmed_claims(interval) IS 'At a machine''s home: claims left unconfirmed longer than grace (wall clock), for the proxy''s tick to resolve (issue 17)';

CREATE FUNCTION @extschema@.claimed_gpus()
	RETURNS TABLE (machine_id bigint, gpus bigint)
	LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$ SELECT c.machine_id, pg_catalog.sum(c.gpus)::bigint FROM @extschema@.gpu_claim c GROUP BY 1 ORDER BY 1 $$;
COMMENT ON FUNCTION @extschema@.claimed_gpus() IS 'The GPUs claimed per machine homed here (issue 17)';

CREATE FUNCTION @extschema@.running_gpus()
	RETURNS TABLE (machine_id bigint, gpus bigint)
	LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$ SELECT i.machine_id, pg_catalog.sum(i.gpus)::bigint FROM @extschema@.instance i WHERE i.state = 'running' GROUP BY 1 ORDER BY 1 $$;
COMMENT ON FUNCTION @extschema@.running_gpus() IS 'The GPUs of this partition''s running instances per machine (issue 17)';

-- on the customer's partition: run a rental under a claim key, within a minute's locks and statement
CREATE FUNCTION @extschema@.with_claim_key(claim_key text) RETURNS void
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

CREATE FUNCTION @extschema@.create_instance_claimed(claim_key text, customer bigint, machine bigint, gpus integer, billing text,
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

CREATE FUNCTION @extschema@.start_instance_claimed(claim_key text, instance bigint, at timestamptz)
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

CREATE FUNCTION @extschema@.resize_instance_claimed(claim_key text, instance bigint, gpus integer, at timestamptz)
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

CREATE FUNCTION @extschema@.instance_machine(instance bigint, OUT machine bigint, OUT customer bigint, OUT gpus integer, OUT state text)
	LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$ SELECT i.machine_id, i.customer_id, i.gpus, i.state FROM @extschema@.instance i WHERE i.instance_id = instance $$;
COMMENT ON FUNCTION @extschema@.instance_machine(bigint) IS 'An instance''s machine, customer, GPUs and state (NULLs if unknown): what the proxy claims before a start or resize (issue 17)';

CREATE FUNCTION @extschema@.known_request(fn text, request_id text)
	RETURNS boolean
	LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$ SELECT EXISTS (SELECT FROM @extschema@.request r WHERE r.fn = known_request.fn AND r.request_id = known_request.request_id) $$;
COMMENT ON FUNCTION @extschema@.known_request(text, text) IS 'Whether a request id of a function was seen here: the proxy repeats such a rental without claiming again (issue 17)';

CREATE FUNCTION @extschema@.ended_runs()
	RETURNS TABLE (claim_key text, machine_id bigint)
	LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$ SELECT r.claim_key, r.machine_id FROM @extschema@.run_claim r WHERE r.ended ORDER BY r.claim_key $$;
COMMENT ON FUNCTION @extschema@.ended_runs() IS 'The outbox: runs ended here whose claims the proxy has yet to release at their machines'' homes (issue 17)';

CREATE FUNCTION @extschema@.runs_drained(claim_keys text[])
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

CREATE FUNCTION @extschema@.runs_of_claims(claim_keys text[])
	RETURNS TABLE (claim_key text, instance_id bigint, ended boolean)
	LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$ SELECT r.claim_key, r.instance_id, r.ended FROM @extschema@.run_claim r WHERE r.claim_key = ANY (claim_keys) ORDER BY 1 $$;
COMMENT ON FUNCTION @extschema@.runs_of_claims(text[]) IS 'Which of these claim keys started a run here, and whether it ended: how the proxy resolves an unconfirmed claim (issue 17)';
