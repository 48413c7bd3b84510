/*
 * 50_clock.sql — tick() through the proxy (issues 17 and 18): every
 * partition's tick, in parallel (PL/Proxy runs RUN ON ALL concurrently),
 * each its own transaction and idempotent; the counters of their summaries
 * added.  When a partition is out of reach (or its tick fails), each
 * partition ticks on its own and the failed ones are skipped
 * (skipped_partitions in the summary, and a warning); the others' work
 * stands, and a skipped one catches up at its next tick.  Scheduled with
 * pg_cron in the proxy database by schedule_jobs() (2_base/15_cron.sql,
 * shared with gpubill): one clock for every partition, whose own
 * databases then need no job.  With a partition out of reach, the others
 * are held to the settings digest the partitions last agreed on (kept in
 * proxy_partition).  Refused (GB004) while the
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

CREATE FUNCTION @extschema@.tick_on(part integer, at timestamptz)
	RETURNS jsonb
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON part; SELECT gpubill.tick($2); $$;
COMMENT ON FUNCTION @extschema@.tick_on(integer, timestamptz) IS 'gpubill.tick on one partition';

CREATE FUNCTION @extschema@.settings_digest_on(part integer)
	RETURNS text
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON part; SELECT gpubill.settings_digest(); $$;
COMMENT ON FUNCTION @extschema@.settings_digest_on(integer) IS 'gpubill.settings_digest of one partition';

-- the sweepers after the partitions' ticks; one that fails (a partition out of reach) is a warning, repeated next tick
CREATE FUNCTION @extschema@.tick_sweep(at timestamptz DEFAULT NULL) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	step text;
BEGIN
	FOREACH step IN ARRAY ARRAY['sync_catalog()', 'sync_outages()', 'drain_gpu_releases()', 'resolve_unconfirmed_claims()', 'redrive_withdrawals()',
								  'redrive_resales()', 'recover_offsets($1)'] LOOP
		BEGIN
			EXECUTE 'SELECT @extschema@.' || step USING at;
		EXCEPTION WHEN OTHERS THEN
			RAISE WARNING 'tick: % failed: %', step, SQLERRM USING HINT = 'The next tick repeats it.';
		END;
	END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.tick_sweep(timestamptz) IS 'After the partitions'' ticks: push the catalogue, release the GPUs of ended runs, resolve unconfirmed claims, finish pending withdrawals and resales, recover providers'' offsets from other partitions (as of at); a step that fails is a warning (issue 18)';

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
	k integer;
	skipped jsonb := '{}';
	seen text[] := '{}';
	d text;
BEGIN
	BEGIN
		/* every partition in reach: their ticks in parallel */
		SELECT pg_catalog.count(DISTINCT x.digest), pg_catalog.count(*) INTO digests, parts FROM @extschema@.settings_digests() x(digest);
		IF digests <> 1 THEN
			RAISE EXCEPTION 'the partitions'' settings differ (% different digests over % partitions): no tick', digests, parts
				USING ERRCODE = 'GB004', HINT = 'Set the settings again through the proxy (set_setting sets them on every partition).';
		END IF;
		UPDATE @extschema@.proxy_partition p SET settings_digest = x.digest			/* agreed: what a partition alone is held to */
		FROM (SELECT pg_catalog.min(y.digest) AS digest FROM @extschema@.settings_digests() y(digest)) x
		WHERE p.settings_digest IS DISTINCT FROM x.digest;
		PERFORM @extschema@.sync_catalog();
		PERFORM @extschema@.sync_outages();		/* an outage compensated before the later hours are settled */
		PERFORM @extschema@.push_volumes($1);	/* R-EXC-4: a month's tiers before its first receipts */
		FOR one IN SELECT * FROM @extschema@.tick_everywhere($1) LOOP
			total := @extschema@.add_summaries(total, one);
		END LOOP;
	EXCEPTION WHEN SQLSTATE 'GB004' THEN
		RAISE;
	WHEN OTHERS THEN
		/* a partition out of reach (or failing): each partition on its own, the failed ones skipped; a tick is
		   idempotent, so those already ticked above do nothing more, and a skipped one catches up next time */
		total := NULL;
		FOR k IN SELECT p.partition FROM @extschema@.proxy_partition p ORDER BY 1 LOOP
			BEGIN
				d := @extschema@.settings_digest_on(k);
				seen := seen || d;
			EXCEPTION WHEN OTHERS THEN
				skipped := skipped || pg_catalog.jsonb_build_object(k::text, SQLERRM);
			END;
		END LOOP;
		IF (SELECT pg_catalog.count(DISTINCT x) FROM pg_catalog.unnest(seen || (SELECT pg_catalog.array_agg(DISTINCT p.settings_digest)
																			  FROM @extschema@.proxy_partition p
																			  WHERE p.settings_digest IS NOT NULL)) x) > 1 THEN
			RAISE EXCEPTION 'the partitions'' settings differ (those in reach from each other or from the ones last agreed): no tick'
				USING ERRCODE = 'GB004', HINT = 'Set the settings again through the proxy (set_setting sets them on every partition).';
		END IF;
		BEGIN
			PERFORM @extschema@.sync_outages();
		EXCEPTION WHEN OTHERS THEN
			NULL;		/* a partition out of reach: its renters' compensation waits, the outage stays queued */
		END;
		BEGIN
			PERFORM @extschema@.push_volumes($1);
		EXCEPTION WHEN OTHERS THEN
			NULL;		/* a partition out of reach: the month's volumes cannot be summed; its receipts wait (GB004) */
		END;
		FOR k IN SELECT p.partition FROM @extschema@.proxy_partition p WHERE NOT skipped ? p.partition::text ORDER BY 1 LOOP
			BEGIN
				total := @extschema@.add_summaries(total, @extschema@.tick_on(k, $1));
			EXCEPTION WHEN OTHERS THEN
				skipped := skipped || pg_catalog.jsonb_build_object(k::text, SQLERRM);
			END;
		END LOOP;
		IF total IS NULL THEN
			RAISE EXCEPTION 'no partition could tick: %', skipped USING ERRCODE = 'connection_failure';
		END IF;
		RAISE WARNING 'tick skipped partitions %: they catch up at their next tick', skipped;
		total := total || pg_catalog.jsonb_build_object('skipped_partitions', skipped);
	END;
	PERFORM @extschema@.tick_sweep($1);
	RETURN total;
END
$$;
COMMENT ON FUNCTION @extschema@.tick(timestamp with time zone) IS 'gpubill.tick through the proxy: every partition''s tick in parallel, their counters added (issue 17); a partition out of reach skipped (skipped_partitions) and caught up at its next tick; then the sweepers (issue 18)';
REVOKE EXECUTE ON FUNCTION @extschema@.tick(timestamp with time zone), @extschema@.tick_on(integer, timestamptz),
	@extschema@.settings_digest_on(integer), @extschema@.tick_sweep(timestamptz), @extschema@.in_cron_database(text),
	@extschema@.schedule_jobs(), @extschema@.unschedule_jobs() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.tick(timestamp with time zone), @extschema@.tick_on(integer, timestamptz),
	@extschema@.settings_digest_on(integer), @extschema@.tick_sweep(timestamptz) TO gpubill_app;
GRANT EXECUTE ON FUNCTION @extschema@.schedule_jobs(), @extschema@.unschedule_jobs() TO gpubill_admin;
