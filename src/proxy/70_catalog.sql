/*
 * 70_catalog.sql — partners and machines on every partition (issue 17).  A
 * partner and its machines are written at the partner's home partition;
 * each change there is queued in its catalog_outbox with a new version.
 * sync_catalog() pulls a partition's queue, applies it on every partition
 * (each keeps the greater version; the home's own rows stay) and then
 * empties what it pushed.  The catalogue acts of 20_routes.sql push after
 * their call (push_catalog: a failure there is a warning, the act stands);
 * tick pushes every partition's queue before and after the partitions'
 * ticks, so a push that failed is repaired by the next tick.  verify()
 * compares the partitions' catalogue digests.
 */

CREATE FUNCTION @extschema@.catalog_changes_on(part integer)
	RETURNS TABLE (kind text, id bigint, version bigint, "row" jsonb)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON part; SELECT * FROM gpubill.catalog_changes(); $$;
COMMENT ON FUNCTION @extschema@.catalog_changes_on(integer) IS 'gpubill.catalog_changes of one partition: its partners and machines not yet pushed';

CREATE FUNCTION @extschema@.apply_catalog_everywhere(changes jsonb)
	RETURNS SETOF integer
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT gpubill.apply_catalog($1); $$;
COMMENT ON FUNCTION @extschema@.apply_catalog_everywhere(jsonb) IS 'gpubill.apply_catalog on every partition (the home keeps its own rows)';

CREATE FUNCTION @extschema@.catalog_pushed_on(part integer, changes jsonb)
	RETURNS integer
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON part; SELECT gpubill.catalog_pushed($2); $$;
COMMENT ON FUNCTION @extschema@.catalog_pushed_on(integer, jsonb) IS 'gpubill.catalog_pushed on one partition: the changes pushed leave its queue';

CREATE FUNCTION @extschema@.catalog_digests()
	RETURNS SETOF text
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT gpubill.catalog_digest(); $$;
COMMENT ON FUNCTION @extschema@.catalog_digests() IS 'Every partition''s catalogue digest (its partners and machines)';

-- push the queued changes of one partition (NULL: of every partition) to every partition; returns the rows pushed
CREATE FUNCTION @extschema@.sync_catalog(part integer DEFAULT NULL)
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
		SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(c) ORDER BY c.kind = 'machine', c.id) INTO changes
		FROM @extschema@.catalog_changes_on(k) c;
		CONTINUE WHEN changes IS NULL;
		PERFORM pg_catalog.count(*) FROM @extschema@.apply_catalog_everywhere(changes);
		PERFORM @extschema@.catalog_pushed_on(k, changes);
		total := total + pg_catalog.jsonb_array_length(changes);
	END LOOP;
	RETURN total;
END
$$;
COMMENT ON FUNCTION @extschema@.sync_catalog(integer) IS 'Push the partners and machines changed on a partition (default: on every partition) to every partition; returns how many rows (issue 17)';

-- after a catalogue act: push, and never fail the act for it (the next tick pushes again)
CREATE FUNCTION @extschema@.push_catalog(part integer)
	RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	PERFORM @extschema@.sync_catalog(part);
	PERFORM @extschema@.sync_outages(part);		/* an outage's compensation on every partition (75_outages.sql) */
EXCEPTION WHEN OTHERS THEN
	RAISE WARNING 'the partners and machines changed on partition % are not yet on every partition: %', part, SQLERRM
		USING HINT = 'The next tick through the proxy pushes them (or call sync_catalog()).';
END
$$;
COMMENT ON FUNCTION @extschema@.push_catalog(integer) IS 'sync_catalog(part) after a catalogue act; a failure is a warning, repaired by the next tick (issue 17)';

REVOKE EXECUTE ON FUNCTION @extschema@.catalog_changes_on(integer), @extschema@.apply_catalog_everywhere(jsonb),
	@extschema@.catalog_pushed_on(integer, jsonb), @extschema@.catalog_digests(), @extschema@.sync_catalog(integer),
	@extschema@.push_catalog(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.catalog_changes_on(integer), @extschema@.apply_catalog_everywhere(jsonb),
	@extschema@.catalog_pushed_on(integer, jsonb), @extschema@.sync_catalog(integer),
	@extschema@.push_catalog(integer) TO gpubill_app, gpubill_admin;
GRANT EXECUTE ON FUNCTION @extschema@.catalog_digests() TO gpubill_app, gpubill_reader, gpubill_admin;
