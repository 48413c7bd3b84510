/*
 * 85_resale.sql — contract resale through the proxy (R-EXC-6, R-EXC-7;
 * the partitions' side is gpubill's 7_exchange/45_resale_steps.sql).
 * A resale between two customers of one partition runs there, as on one
 * database.  A resale to a customer of another partition is a saga:
 * begin_resale on the reseller's partition (every check but the buyer's,
 * the contract resale_pending), accept_resale on the buyer's (the new
 * contract, its initial payment held: the decision), commit_resale on the
 * reseller's.  When the acceptance fails — refused (GB001, GB003, P0002) or
 * out of reach — the buyer's partition decides (decide_resale: the
 * acceptance it has, or abandoned for good) and the reseller's follows
 * (commit or abandon); a refusal is then raised as one database raises it.
 * What a failure leaves pending the proxy's tick re-drives
 * (redrive_resales), so a resale is complete on both sides or absent from
 * both.  verify() checks it over every partition (check_resale_sides).
 */

CREATE FUNCTION @extschema@.resell_contract_at_home(contract bigint, new_customer bigint, price_per_gpu_hour @extschema@.amount,
													at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(contract); SELECT gpubill.resell_contract($1, $2, $3, $4); $$;
COMMENT ON FUNCTION @extschema@.resell_contract_at_home(bigint, bigint, @extschema@.amount, timestamp with time zone) IS 'gpubill.resell_contract on the contract''s partition';

CREATE FUNCTION @extschema@.begin_resale(contract bigint, new_customer bigint, price_per_gpu_hour @extschema@.amount, at timestamptz,
										 OUT resale bigint, OUT t timestamptz, OUT provider bigint, OUT gpus integer,
										 OUT term tstzrange, OUT new_contract bigint)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(contract); $$;
COMMENT ON FUNCTION @extschema@.begin_resale(bigint, bigint, @extschema@.amount, timestamptz) IS 'gpubill.begin_resale on the reseller''s partition';

CREATE FUNCTION @extschema@.accept_resale(resale bigint, contract bigint, new_customer bigint, provider bigint, gpus integer,
										  price_per_gpu_hour @extschema@.amount, term tstzrange, t timestamptz)
	RETURNS bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(new_customer); $$;
COMMENT ON FUNCTION @extschema@.accept_resale(bigint, bigint, bigint, bigint, integer, @extschema@.amount, tstzrange, timestamptz) IS 'gpubill.accept_resale on the buyer''s partition';

CREATE FUNCTION @extschema@.decide_resale(resale bigint, contract bigint, new_customer bigint)
	RETURNS bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(new_customer); $$;
COMMENT ON FUNCTION @extschema@.decide_resale(bigint, bigint, bigint) IS 'gpubill.decide_resale on the buyer''s partition';

CREATE FUNCTION @extschema@.commit_resale(resale bigint, new_contract bigint)
	RETURNS text
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(resale); $$;
COMMENT ON FUNCTION @extschema@.commit_resale(bigint, bigint) IS 'gpubill.commit_resale on the reseller''s partition (where the resale''s key was drawn)';

CREATE FUNCTION @extschema@.abandon_resale(resale bigint)
	RETURNS text
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(resale); $$;
COMMENT ON FUNCTION @extschema@.abandon_resale(bigint) IS 'gpubill.abandon_resale on the reseller''s partition (where the resale''s key was drawn)';

CREATE FUNCTION @extschema@.pending_resales_on(part integer, grace interval)
	RETURNS TABLE (resale_id bigint, contract_id bigint, buyer_id bigint)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON part; SELECT * FROM gpubill.pending_resales($2); $$;
COMMENT ON FUNCTION @extschema@.pending_resales_on(integer, interval) IS 'gpubill.pending_resales of one partition';

CREATE FUNCTION @extschema@.resale_sides_everywhere()
	RETURNS SETOF @extschema@.resale_side
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT * FROM gpubill.resale_sides(); $$;
COMMENT ON FUNCTION @extschema@.resale_sides_everywhere() IS 'gpubill.resale_sides of every partition';

-- a begun resale ended: as the buyer's partition decides, committed or abandoned at the reseller's
CREATE FUNCTION @extschema@.finish_resale(resale bigint, contract bigint, new_customer bigint)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	new_id bigint := @extschema@.decide_resale(resale, contract, new_customer);
BEGIN
	IF new_id IS NULL THEN
		PERFORM @extschema@.abandon_resale(resale);
	ELSE
		PERFORM @extschema@.commit_resale(resale, new_id);
	END IF;
	RETURN new_id;
END
$$;
COMMENT ON FUNCTION @extschema@.finish_resale(bigint, bigint, bigint) IS 'End a begun resale as the buyer''s partition decides: committed at the reseller''s if accepted (returns the new contract), else abandoned (NULL) (issue 18)';

CREATE FUNCTION @extschema@.resell_contract(contract bigint, new_customer bigint, price_per_gpu_hour @extschema@.amount,
											at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	b record;
	new_id bigint;
BEGIN
	IF contract IS NULL OR new_customer IS NULL
	   OR @extschema@.partition_of(contract) = @extschema@.partition_of(new_customer) THEN
		RETURN @extschema@.resell_contract_at_home(contract, new_customer, price_per_gpu_hour, at);
	END IF;
	SELECT * INTO b FROM @extschema@.begin_resale(contract, new_customer, price_per_gpu_hour, at);
	IF b.new_contract IS NOT NULL THEN
		RETURN b.new_contract;		/* the same resale, made before */
	END IF;
	BEGIN
		new_id := @extschema@.accept_resale(b.resale, contract, new_customer, b.provider, b.gpus, price_per_gpu_hour, b.term, b.t);
	EXCEPTION WHEN OTHERS THEN
		/* refused, or not seen: the buyer's partition decides, the reseller's follows; out of reach, tick re-drives */
		BEGIN
			PERFORM @extschema@.finish_resale(b.resale, contract, new_customer);
		EXCEPTION WHEN OTHERS THEN
			RAISE WARNING 'resale % is left pending: %', b.resale, SQLERRM
				USING HINT = 'The proxy''s tick completes or abandons it.';
		END;
		RAISE;
	END;
	PERFORM @extschema@.commit_resale(b.resale, new_id);
	RETURN new_id;
END
$$;
COMMENT ON FUNCTION @extschema@.resell_contract(bigint, bigint, @extschema@.amount, timestamp with time zone) IS 'gpubill.resell_contract through the proxy: at the contract''s partition when the buyer lives there; else a saga (begin at the reseller''s, accept at the buyer''s, commit or abandon), complete on both sides or on neither (R-EXC-6, issue 18)';

-- resales a failure left pending longer than grace: ended as the buyer's partition decides; returns how many
CREATE FUNCTION @extschema@.redrive_resales(grace interval DEFAULT '5 minutes')
	RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	k integer;
	r record;
	total integer := 0;
BEGIN
	FOR k IN SELECT p.partition FROM @extschema@.proxy_partition p ORDER BY 1 LOOP
		FOR r IN SELECT * FROM @extschema@.pending_resales_on(k, grace) LOOP
			PERFORM @extschema@.finish_resale(r.resale_id, r.contract_id, r.buyer_id);
			total := total + 1;
		END LOOP;
	END LOOP;
	RETURN total;
END
$$;
COMMENT ON FUNCTION @extschema@.redrive_resales(interval) IS 'End the resales left pending longer than grace (a failure between the steps): committed where the buyer''s partition accepted, else abandoned; returns how many (issue 18)';

REVOKE EXECUTE ON FUNCTION @extschema@.resell_contract_at_home(bigint, bigint, @extschema@.amount, timestamp with time zone),
	@extschema@.begin_resale(bigint, bigint, @extschema@.amount, timestamptz),
	@extschema@.accept_resale(bigint, bigint, bigint, bigint, integer, @extschema@.amount, tstzrange, timestamptz),
	@extschema@.decide_resale(bigint, bigint, bigint), @extschema@.commit_resale(bigint, bigint), @extschema@.abandon_resale(bigint),
	@extschema@.pending_resales_on(integer, interval), @extschema@.resale_sides_everywhere(),
	@extschema@.finish_resale(bigint, bigint, bigint), @extschema@.resell_contract(bigint, bigint, @extschema@.amount, timestamp with time zone),
	@extschema@.redrive_resales(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.resell_contract_at_home(bigint, bigint, @extschema@.amount, timestamp with time zone),
	@extschema@.begin_resale(bigint, bigint, @extschema@.amount, timestamptz),
	@extschema@.accept_resale(bigint, bigint, bigint, bigint, integer, @extschema@.amount, tstzrange, timestamptz),
	@extschema@.decide_resale(bigint, bigint, bigint), @extschema@.commit_resale(bigint, bigint), @extschema@.abandon_resale(bigint),
	@extschema@.pending_resales_on(integer, interval), @extschema@.finish_resale(bigint, bigint, bigint),
	@extschema@.resell_contract(bigint, bigint, @extschema@.amount, timestamp with time zone),
	@extschema@.redrive_resales(interval) TO gpubill_app;
GRANT EXECUTE ON FUNCTION @extschema@.resale_sides_everywhere() TO gpubill_app, gpubill_reader, gpubill_admin;
