/*
 * 60_clock_state.sql — the clock's state every layer reads: how far each
 * job of tick has gone (clock_state: a month's storage once settled may not
 * change), and the customers a pass of tick works on (R-CLK-6).
 *
 * tick does its work in passes over a scope of customers: ids lo..hi,
 * except those in skip (customers whose work failed and is retried alone).
 * A pass that fails is rolled back and its scope split in two, until the
 * customer whose rows fail is found; every other customer is settled.
 * Every step of a pass filters its customers with in_scope(), which the
 * planner inlines (a plain SQL expression, no function call per row).
 *
 * Map (scripts/file-map.pl):
 * Internals: all_customers, in_scope.
 * Tables: clock_state.
 * Types: tick_scope.
 * Uses: nothing.
 */

CREATE TYPE @extschema@.tick_scope AS (
	lo		bigint,			/* the lowest customer id of the pass */
	hi		bigint,			/* the highest */
	skip	bigint[]		/* customers left out: their work is retried one by one */
);
COMMENT ON TYPE @extschema@.tick_scope IS 'The customers of a pass of tick: ids lo..hi except skip (R-CLK-6)';

CREATE FUNCTION @extschema@.in_scope(customer bigint, s @extschema@.tick_scope) RETURNS boolean
	LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$ SELECT customer BETWEEN (s).lo AND (s).hi AND customer <> ALL (coalesce((s).skip, '{}')) $$;
COMMENT ON FUNCTION @extschema@.in_scope(bigint, @extschema@.tick_scope) IS 'Whether a customer belongs to the scope of a pass of tick';

-- every customer: the scope of a tick without failures
CREATE FUNCTION @extschema@.all_customers() RETURNS @extschema@.tick_scope
	LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$ SELECT ROW(-9223372036854775808, 9223372036854775807, '{}'::bigint[])::@extschema@.tick_scope $$;
COMMENT ON FUNCTION @extschema@.all_customers() IS 'The scope of every customer';

-- how far each job of the clock has gone (tick's own state)
CREATE TABLE @extschema@.clock_state (
	job			text PRIMARY KEY,
	done_until	timestamptz NOT NULL
);
COMMENT ON TABLE @extschema@.clock_state IS 'The instant up to which tick has done a job (storage steps, alert checks)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.clock_state', '');
