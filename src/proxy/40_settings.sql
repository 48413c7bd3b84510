/*
 * 40_settings.sql — one set of settings on every partition (issue 17).  The
 * proxy's set_setting() sets a setting on every partition (each partition's
 * own set_setting: its checks, its admin rule); verify() on the proxy runs
 * every partition's checks and two more: that every partition's settings
 * digest is the same, and its catalogue digest (partners and machines,
 * 70_catalog.sql); and that the GPU claims at the machines' homes cover
 * the GPUs running on every partition (80_capacity.sql).  A partition that missed a change (it was down, the
 * call failed half-way) shows there until set_setting() is run again (it
 * is idempotent).
 */

CREATE FUNCTION @extschema@.set_setting_everywhere(key text, value text)
	RETURNS SETOF text
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT gpubill.set_setting($1, $2)::text; $$;
COMMENT ON FUNCTION @extschema@.set_setting_everywhere(text, text) IS 'gpubill.set_setting on every partition';
REVOKE EXECUTE ON FUNCTION @extschema@.set_setting_everywhere(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.set_setting_everywhere(text, text) TO gpubill_admin;

CREATE FUNCTION @extschema@.set_setting(key text, value text)
	RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	PERFORM pg_catalog.count(*) FROM @extschema@.set_setting_everywhere(key, value);
	UPDATE @extschema@.proxy_partition p SET settings_digest = x.digest	/* what a partition alone is held to (50_clock.sql) */
	FROM (SELECT pg_catalog.min(y.digest) AS digest FROM @extschema@.settings_digests() y(digest)
		  HAVING pg_catalog.count(DISTINCT y.digest) = 1) x;
END
$$;
COMMENT ON FUNCTION @extschema@.set_setting(text, text) IS 'gpubill.set_setting through the proxy: the setting changed on every partition (issue 17)';
REVOKE EXECUTE ON FUNCTION @extschema@.set_setting(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.set_setting(text, text) TO gpubill_admin;

CREATE FUNCTION @extschema@.settings_digests()
	RETURNS SETOF text
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT gpubill.settings_digest(); $$;
COMMENT ON FUNCTION @extschema@.settings_digests() IS 'Every partition''s settings digest';
REVOKE EXECUTE ON FUNCTION @extschema@.settings_digests() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.settings_digests() TO gpubill_app, gpubill_reader, gpubill_admin;

CREATE FUNCTION @extschema@.verify_everywhere("full" boolean)
	RETURNS TABLE(check_name text, ok boolean, detail text)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT * FROM gpubill.verify($1); $$;
COMMENT ON FUNCTION @extschema@.verify_everywhere(boolean) IS 'gpubill.verify on every partition, rows concatenated';
REVOKE EXECUTE ON FUNCTION @extschema@.verify_everywhere(boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.verify_everywhere(boolean) TO gpubill_admin, gpubill_app, gpubill_reader;

CREATE FUNCTION @extschema@.verify("full" boolean DEFAULT false)
	RETURNS TABLE(check_name text, ok boolean, detail text)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	RETURN QUERY
	SELECT v.check_name, v.ok, v.detail FROM @extschema@.verify_everywhere($1) v
	UNION ALL
	SELECT 'settings are the same on every partition', pg_catalog.count(DISTINCT d.digest) = 1,
		   pg_catalog.count(DISTINCT d.digest) || ' different settings digests over ' || pg_catalog.count(*) || ' partitions'
	FROM @extschema@.settings_digests() d(digest)
	UNION ALL
	SELECT 'partners and machines are the same on every partition', pg_catalog.count(DISTINCT d.digest) = 1,
		   pg_catalog.count(DISTINCT d.digest) || ' different catalogue digests over ' || pg_catalog.count(*) || ' partitions'
	FROM @extschema@.catalog_digests() d(digest)
	UNION ALL
	SELECT 'GPU claims cover the running GPUs of every machine', pg_catalog.count(*) FILTER (WHERE r.gpus > coalesce(c.gpus, 0)) = 0,
		   pg_catalog.count(*) FILTER (WHERE r.gpus > coalesce(c.gpus, 0)) || ' machines run more GPUs than they claimed; '
		   || coalesce(pg_catalog.sum(coalesce(c.gpus, 0) - coalesce(r.gpus, 0)), 0) || ' GPUs claimed by runs not (yet) released'
	FROM (SELECT x.machine_id, pg_catalog.sum(x.gpus) AS gpus FROM @extschema@.running_gpus_everywhere() x GROUP BY 1) r
	FULL JOIN @extschema@.claimed_gpus_everywhere() c USING (machine_id)
	UNION ALL
	/* R-EXC-6: every resale across partitions has both its sides, and a settled one's clearing nets to zero */
	SELECT k.check_name || ' (across partitions)', k.ok, k.detail
	FROM @extschema@.check_resale_sides(ARRAY(SELECT s FROM @extschema@.resale_sides_everywhere() s), false) k;
END
$$;
COMMENT ON FUNCTION @extschema@.verify(boolean) IS 'gpubill.verify through the proxy: every partition''s checks, that their settings and their partners and machines are the same (issue 17), GPU claims cover runs and every resale is on both its sides (issue 18)';
REVOKE EXECUTE ON FUNCTION @extschema@.verify(boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.verify(boolean) TO gpubill_app;
