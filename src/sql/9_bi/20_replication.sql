/*
 * 20_replication.sql — a BI replica by logical replication (issue 16).
 * create_publication(name) publishes exactly gpubill's data tables — those
 * pg_dump keeps (pg_extension_config_dump), the journal's partitioned tables
 * through their root — and none of the tables CREATE EXTENSION fills (the
 * setting defaults, the state machines' transitions), which a subscriber's
 * own CREATE EXTENSION already holds.  A subscriber installs the same
 * version of gpubill, subscribes, and reads every view; it never writes
 * (no tick, no API call): the README says how.
 *
 * Map (scripts/file-map.pl):
 * API: create_publication.
 * Uses: 2_base.
 */

CREATE FUNCTION @extschema@.create_publication(name text DEFAULT 'gpubill_data')
	RETURNS integer
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	tables text;
	n integer;
BEGIN
	IF NOT @extschema@.is_admin() THEN
		RAISE EXCEPTION 'publications may be created only by gpubill_admin' USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF name IS NULL OR name = '' THEN
		RAISE EXCEPTION 'a publication needs a name' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT pg_catalog.string_agg(c.oid::regclass::text, ', ' ORDER BY c.relname), pg_catalog.count(*)
	INTO tables, n
	FROM pg_catalog.pg_class c
	WHERE c.oid IN (SELECT pg_catalog.unnest(e.extconfig) FROM pg_catalog.pg_extension e WHERE e.extname = 'gpubill')
	  AND c.relkind IN ('r', 'p') AND NOT c.relispartition;	/* tables and the journal's roots, not sequences */
	EXECUTE pg_catalog.format('CREATE PUBLICATION %I FOR TABLE %s WITH (publish_via_partition_root = true)', name, tables);
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.create_publication(text) IS 'Publish exactly gpubill''s data tables (the journal through its root) for a BI replica by logical replication; returns how many; gpubill_admin only (issue 16)';
