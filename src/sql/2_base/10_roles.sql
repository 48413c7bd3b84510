/*
 * 10_roles.sql — the roles of R-SEC-1, created if absent (roles belong to the
 * cluster, so they outlive DROP EXTENSION and are shared by databases).
 *   gpubill_admin   settings, bank transfers, reversals; also has gpubill_app
 *   gpubill_app     the API functions
 *   gpubill_reader  the views
 *
 * Map (scripts/file-map.pl):
 * Internals: calling_role, is_admin.
 * Uses: nothing.
 */
DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'gpubill_app') THEN
		CREATE ROLE gpubill_app NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'gpubill_reader') THEN
		CREATE ROLE gpubill_reader NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'gpubill_admin') THEN
		CREATE ROLE gpubill_admin NOLOGIN;
	END IF;
	IF NOT pg_catalog.pg_has_role('gpubill_admin', 'gpubill_app', 'MEMBER') THEN
		GRANT gpubill_app TO gpubill_admin;
	END IF;
	IF NOT pg_catalog.pg_has_role('gpubill_admin', 'gpubill_reader', 'MEMBER') THEN
		GRANT gpubill_reader TO gpubill_admin;
	END IF;
END
$$;

CREATE FUNCTION @extschema@.calling_role() RETURNS name
	AS 'MODULE_PATHNAME', 'gpubill_calling_role' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.calling_role() IS 'The role the caller acts as after SET ROLE, also inside SECURITY DEFINER functions';

CREATE FUNCTION @extschema@.is_admin() RETURNS boolean
	LANGUAGE sql STABLE PARALLEL SAFE CALLED ON NULL INPUT
	AS $$ SELECT pg_catalog.pg_has_role(@extschema@.calling_role(), 'gpubill_admin', 'MEMBER') $$;
COMMENT ON FUNCTION @extschema@.is_admin() IS 'Is the calling role (after SET ROLE) a member of gpubill_admin';
