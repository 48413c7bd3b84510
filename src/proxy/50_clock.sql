/*
 * 50_clock.sql — tick() through the proxy (issue 17; the proxy's own clock,
 * its sweepers and a dead partition are issue 18): every partition's tick,
 * in parallel (PL/Proxy runs RUN ON ALL concurrently), each its own
 * transaction and idempotent; the counters of their summaries added.  A
 * partition whose tick fails fails the call; the others' work stands, and
 * the next tick catches the failed one up.  Refused (GB004) while the
 * partitions' settings differ: they would bill alike only by chance.  The
 * partners and machines changed on any partition are pushed to every
 * partition before (a push an act missed) and after the ticks (a machine a
 * tick delisted at its home).  Then the runs ended on every partition
 * release their GPU claims at the machines' homes, and claims a failed
 * proxy left unconfirmed are resolved (80_capacity.sql), and withdrawals
 * a failure left pending are finished (90_partner_money.sql).
 */

CREATE FUNCTION @extschema@.tick_everywhere(at timestamp with time zone)
	RETURNS SETOF jsonb
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT gpubill.tick($1); $$;
COMMENT ON FUNCTION @extschema@.tick_everywhere(timestamp with time zone) IS 'gpubill.tick on every partition, in parallel: their summaries';
REVOKE EXECUTE ON FUNCTION @extschema@.tick_everywhere(timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.tick_everywhere(timestamp with time zone) TO gpubill_app;

-- two tick summaries added: numbers summed (ms: the slowest), objects key by key, anything else the first's
CREATE FUNCTION @extschema@.add_summaries(a jsonb, b jsonb) RETURNS jsonb
	LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
	SELECT CASE
		WHEN a IS NULL THEN b
		WHEN b IS NULL THEN a
		WHEN pg_catalog.jsonb_typeof(a) = 'object' AND pg_catalog.jsonb_typeof(b) = 'object' THEN
			(SELECT pg_catalog.jsonb_object_agg(k, CASE WHEN k = 'ms' THEN pg_catalog.to_jsonb(GREATEST((a ->> k)::numeric, (b ->> k)::numeric))
														ELSE @extschema@.add_summaries(a -> k, b -> k) END)
			 FROM (SELECT pg_catalog.jsonb_object_keys(a) UNION SELECT pg_catalog.jsonb_object_keys(b)) x(k))
		WHEN pg_catalog.jsonb_typeof(a) = 'number' AND pg_catalog.jsonb_typeof(b) = 'number' THEN
			pg_catalog.to_jsonb(a::text::numeric + b::text::numeric)
		ELSE a END
$$;
COMMENT ON FUNCTION @extschema@.add_summaries(jsonb, jsonb) IS 'Two tick summaries added: their counters summed, ms the larger';

CREATE FUNCTION @extschema@.tick("at" timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS jsonb
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	total jsonb;
	one jsonb;
	digests integer;
	parts integer;
BEGIN
	SELECT pg_catalog.count(DISTINCT d.digest), pg_catalog.count(*) INTO digests, parts FROM @extschema@.settings_digests() d(digest);
	IF digests <> 1 THEN
		RAISE EXCEPTION 'the partitions'' settings differ (% different digests over % partitions): no tick', digests, parts
			USING ERRCODE = 'GB004', HINT = 'Set the settings again through the proxy (set_setting sets them on every partition).';
	END IF;
	PERFORM @extschema@.sync_catalog();
	FOR one IN SELECT * FROM @extschema@.tick_everywhere($1) LOOP
		total := @extschema@.add_summaries(total, one);
	END LOOP;
	PERFORM @extschema@.sync_catalog();
	PERFORM @extschema@.drain_gpu_releases();		/* the GPUs of the runs that ended, released at their homes */
	PERFORM @extschema@.resolve_unconfirmed_claims();
	PERFORM @extschema@.redrive_withdrawals();		/* withdrawals a failure left pending (90_partner_money.sql) */
	RETURN total;
END
$$;
COMMENT ON FUNCTION @extschema@.tick(timestamp with time zone) IS 'gpubill.tick through the proxy: every partition''s tick in parallel, their counters added (issue 17)';
REVOKE EXECUTE ON FUNCTION @extschema@.tick(timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.tick(timestamp with time zone) TO gpubill_app;
