/*
 * 75_outages.sql — an outage's compensation on every partition (issue 18;
 * the partitions' side is gpubill's 6_partners/35_outage_steps.sql).
 * report_outage runs at the machine's home (compensating the home's
 * customers, counting and revoking there) and queues an unnotified outage;
 * sync_outages() applies the queue on every partition (each compensates its
 * own customers, once) and then empties it.  push_catalog() — after every
 * catalogue act, report_outage among them — and tick() push it; a
 * withdrawal pushes its partner's home first, and waits while anything of
 * the partner is still queued.
 */

CREATE FUNCTION @extschema@.outage_changes_on(part integer)
	RETURNS TABLE (outage_id bigint, "row" jsonb)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON part; SELECT * FROM gpubill.outage_changes(); $$;
COMMENT ON FUNCTION @extschema@.outage_changes_on(integer) IS 'gpubill.outage_changes of one partition';

CREATE FUNCTION @extschema@.apply_outage_everywhere(changes jsonb)
	RETURNS SETOF integer
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT gpubill.apply_outage($1); $$;
COMMENT ON FUNCTION @extschema@.apply_outage_everywhere(jsonb) IS 'gpubill.apply_outage on every partition (the home skips its own)';

CREATE FUNCTION @extschema@.outage_pushed_on(part integer, outages bigint[])
	RETURNS integer
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON part; SELECT gpubill.outage_pushed($2); $$;
COMMENT ON FUNCTION @extschema@.outage_pushed_on(integer, bigint[]) IS 'gpubill.outage_pushed on one partition';

-- push the queued outages of a partition (NULL: of every partition) to every partition; returns how many
CREATE FUNCTION @extschema@.sync_outages(part integer DEFAULT NULL)
	RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	k integer;
	changes jsonb;
	total integer := 0;
BEGIN
	FOR k IN SELECT p.partition FROM @extschema@.proxy_partition p WHERE part IS NULL OR p.partition = part ORDER BY 1 LOOP
		SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(c) ORDER BY c.outage_id) INTO changes FROM @extschema@.outage_changes_on(k) c;
		CONTINUE WHEN changes IS NULL;
		PERFORM pg_catalog.count(*) FROM @extschema@.apply_outage_everywhere(changes);
		PERFORM @extschema@.outage_pushed_on(k, ARRAY(SELECT (e ->> 'outage_id')::bigint FROM pg_catalog.jsonb_array_elements(changes) e));
		total := total + pg_catalog.jsonb_array_length(changes);
	END LOOP;
	RETURN total;
END
$$;
COMMENT ON FUNCTION @extschema@.sync_outages(integer) IS 'Compensate on every partition the outages queued at their machines'' homes (default: every partition''s queue); returns how many outages (issue 18)';

REVOKE EXECUTE ON FUNCTION @extschema@.outage_changes_on(integer), @extschema@.apply_outage_everywhere(jsonb),
	@extschema@.outage_pushed_on(integer, bigint[]), @extschema@.sync_outages(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.outage_changes_on(integer), @extschema@.apply_outage_everywhere(jsonb),
	@extschema@.outage_pushed_on(integer, bigint[]), @extschema@.sync_outages(integer) TO gpubill_app, gpubill_admin;

/*
 * take_offline through the proxy: the runs ended everywhere drained first
 * (so a renter that has stopped does not count), then the act at the
 * machine's home — refused (GB004) while anyone runs on the machine, on any
 * partition (its GPU claims), unless forced — then the forced outage pushed:
 * the instances on every partition stop and are compensated.
 */
CREATE FUNCTION @extschema@.take_offline_at_home(machine bigint, force boolean DEFAULT false,
												 at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS void
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(machine); SELECT gpubill.take_offline($1, $2, $3); $$;
COMMENT ON FUNCTION @extschema@.take_offline_at_home(bigint, boolean, timestamp with time zone) IS 'gpubill.take_offline at the machine''s home';

CREATE FUNCTION @extschema@.take_offline(machine bigint, force boolean DEFAULT false,
										 at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	BEGIN
		PERFORM @extschema@.drain_gpu_releases();
	EXCEPTION WHEN OTHERS THEN
		NULL;		/* a partition out of reach: its ended runs still count */
	END;
	PERFORM @extschema@.take_offline_at_home($1, $2, $3);
	IF $1 IS NOT NULL THEN
		PERFORM @extschema@.push_catalog(@extschema@.partition_of($1));
	END IF;
	BEGIN
		PERFORM @extschema@.drain_gpu_releases();		/* the GPUs of the runs it stopped */
	EXCEPTION WHEN OTHERS THEN
		NULL;		/* the next tick drains them */
	END;
END
$$;
COMMENT ON FUNCTION @extschema@.take_offline(bigint, boolean, timestamp with time zone) IS 'gpubill.take_offline through the proxy: refused while anyone runs on the machine on any partition unless forced; forced, the instances on every partition stop and are compensated (R-PRT-6, R-PRT-8, issue 18)';
REVOKE EXECUTE ON FUNCTION @extschema@.take_offline_at_home(bigint, boolean, timestamp with time zone),
	@extschema@.take_offline(bigint, boolean, timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.take_offline_at_home(bigint, boolean, timestamp with time zone),
	@extschema@.take_offline(bigint, boolean, timestamp with time zone) TO gpubill_app;
