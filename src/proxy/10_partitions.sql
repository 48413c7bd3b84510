/*
 * 10_partitions.sql — the partitions behind the proxy (issue 17).  Their
 * connection strings, in partition order, make the PL/Proxy cluster
 * gpubill_partitions (SQL/MED: a foreign server of the plproxy wrapper); a
 * call is routed to the partition that drew its key (partition_of(id) =
 * id / 2^48), a new party to the partition its external reference hashes
 * to.  PL/Proxy connects to a partition as the caller's login role (it adds
 * user= to the connection string): gpubill's roles are checked there.
 */

-- the partition an id was drawn on (as gpubill's own partition_of)
CREATE FUNCTION @extschema@.partition_of(id bigint) RETURNS integer
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	AS $$ SELECT (id >> 48)::integer $$;
COMMENT ON FUNCTION @extschema@.partition_of(bigint) IS 'The partition (shard) an id was drawn on: id / 2^48 (issue 17)';

CREATE TABLE @extschema@.proxy_partition (
	partition	integer PRIMARY KEY CHECK (partition >= 0),
	conninfo	text NOT NULL CHECK (conninfo <> ''),
	settings_digest text				/* the partitions' settings digest when tick last found them agreeing (issue 18) */
);
COMMENT ON TABLE @extschema@.proxy_partition IS 'The partitions behind the proxy, in order: partition k''s connection string (configure_partitions)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.proxy_partition', '');

CREATE FUNCTION @extschema@.configure_partitions(conninfos text[])
	RETURNS integer
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	n integer := coalesce(pg_catalog.cardinality(conninfos), 0);
	opts text;
BEGIN
	IF NOT @extschema@.is_admin() THEN
		RAISE EXCEPTION 'partitions may be configured only by gpubill_admin' USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF n < 1 OR (n & (n - 1)) <> 0 THEN
		RAISE EXCEPTION 'the number of partitions must be a power of two, not %', n USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF EXISTS (SELECT FROM pg_catalog.unnest(conninfos) c WHERE c IS NULL OR c = '') THEN
		RAISE EXCEPTION 'a partition''s connection string must not be empty' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	DELETE FROM @extschema@.proxy_partition;
	INSERT INTO @extschema@.proxy_partition (partition, conninfo)
	SELECT k - 1, conninfos[k] FROM pg_catalog.generate_subscripts(conninfos, 1) k;
	SELECT pg_catalog.string_agg(pg_catalog.format('p%s %L', p.partition, p.conninfo), ', ' ORDER BY p.partition) INTO opts
	FROM @extschema@.proxy_partition p;
	DROP SERVER IF EXISTS gpubill_partitions CASCADE;
	EXECUTE 'CREATE SERVER gpubill_partitions FOREIGN DATA WRAPPER plproxy OPTIONS (' || opts || ')';
	CREATE USER MAPPING FOR PUBLIC SERVER gpubill_partitions;
	GRANT USAGE ON FOREIGN SERVER gpubill_partitions TO gpubill_app, gpubill_reader, gpubill_admin;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.configure_partitions(text[]) IS 'The partitions behind the proxy: partition k''s connection string is conninfos[k + 1] (n a power of two); makes the PL/Proxy cluster gpubill_partitions; gpubill_admin only (issue 17)';
REVOKE EXECUTE ON FUNCTION @extschema@.configure_partitions(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.configure_partitions(text[]) TO gpubill_admin;
GRANT USAGE ON SCHEMA @extschema@ TO gpubill_app, gpubill_reader, gpubill_admin;
