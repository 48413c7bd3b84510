/*
 * 60_admin.sql — the admin's acts on every partition (issue 17): closing
 * and archiving billing months, and the commission tiers, run on each
 * partition (PL/Proxy's RUN ON ALL: in parallel, each its own transaction).
 * Each is idempotent: after a partition's failure the call fails, the
 * others' work stands, and the same call again completes it.
 */

CREATE FUNCTION @extschema@.close_period_everywhere(month date, at timestamp with time zone)
	RETURNS SETOF integer
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT gpubill.close_period($1, $2); $$;
COMMENT ON FUNCTION @extschema@.close_period_everywhere(date, timestamp with time zone) IS 'gpubill.close_period on every partition';
REVOKE EXECUTE ON FUNCTION @extschema@.close_period_everywhere(date, timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.close_period_everywhere(date, timestamp with time zone) TO gpubill_admin;

CREATE FUNCTION @extschema@.close_period(month date, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS integer
	LANGUAGE sql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$ SELECT pg_catalog.max(n) FROM @extschema@.close_period_everywhere($1, $2) n $$;
COMMENT ON FUNCTION @extschema@.close_period(date, timestamp with time zone) IS 'gpubill.close_period through the proxy: the months closed on every partition (the most any closed) (issue 17)';
REVOKE EXECUTE ON FUNCTION @extschema@.close_period(date, timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.close_period(date, timestamp with time zone) TO gpubill_admin;

CREATE FUNCTION @extschema@.archive_month_everywhere(month date, at timestamp with time zone)
	RETURNS SETOF integer
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT gpubill.archive_month($1, $2); $$;
COMMENT ON FUNCTION @extschema@.archive_month_everywhere(date, timestamp with time zone) IS 'gpubill.archive_month on every partition';
REVOKE EXECUTE ON FUNCTION @extschema@.archive_month_everywhere(date, timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.archive_month_everywhere(date, timestamp with time zone) TO gpubill_admin;

CREATE FUNCTION @extschema@.archive_month(month date, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS integer
	LANGUAGE sql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$ SELECT pg_catalog.max(n) FROM @extschema@.archive_month_everywhere($1, $2) n $$;
COMMENT ON FUNCTION @extschema@.archive_month(date, timestamp with time zone) IS 'gpubill.archive_month through the proxy: the months archived on every partition (the most any archived) (issue 17)';
REVOKE EXECUTE ON FUNCTION @extschema@.archive_month(date, timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.archive_month(date, timestamp with time zone) TO gpubill_admin;

CREATE FUNCTION @extschema@.set_commission_tiers_everywhere(tiers jsonb)
	RETURNS SETOF text
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT gpubill.set_commission_tiers($1)::text; $$;
COMMENT ON FUNCTION @extschema@.set_commission_tiers_everywhere(jsonb) IS 'gpubill.set_commission_tiers on every partition';
REVOKE EXECUTE ON FUNCTION @extschema@.set_commission_tiers_everywhere(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.set_commission_tiers_everywhere(jsonb) TO gpubill_admin;

CREATE FUNCTION @extschema@.set_commission_tiers(tiers jsonb)
	RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	PERFORM pg_catalog.count(*) FROM @extschema@.set_commission_tiers_everywhere(tiers);
END
$$;
COMMENT ON FUNCTION @extschema@.set_commission_tiers(jsonb) IS 'gpubill.set_commission_tiers through the proxy: the tiers set on every partition (issue 17)';
REVOKE EXECUTE ON FUNCTION @extschema@.set_commission_tiers(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.set_commission_tiers(jsonb) TO gpubill_admin;
