/*
 * 42_resale_check.sql — the checks of a resale's two sides (R-EXC-6,
 * issue 18), written once: verify() checks the resales a database holds
 * both sides of; the proxy's verify (this file is part of gpubill_proxy
 * too) checks every resale over all partitions.
 *
 * A side (resale_sides): the reseller's (the resold contract, the contract
 * it was resold as, the new price of its months done — what clearing paid
 * out for them —, settled when every month is done), the buyer's (the new
 * contract and what its customer paid into clearing, settled when
 * completed) or a resale still between its steps.  Every resale has both
 * sides (or is pending), and once both are settled the exchange's clearing
 * nets to zero over them: the buyer paid in what the months paid out.
 *
 * Map (scripts/file-map.pl):
 * Internals: check_resale_sides.
 * Types: resale_side.
 * Uses: 4_parties.
 */

CREATE TYPE @extschema@.resale_side AS (
	contract_id	bigint,			/* the resold contract */
	side		text,			/* reseller | buyer | pending */
	new_contract_id bigint,		/* the contract it was resold as */
	clearing	bigint,			/* micros: + paid into the exchange's clearing (journal), - paid out of it (the months done) */
	settled		boolean			/* nothing more moves through clearing on this side */
);
COMMENT ON TYPE @extschema@.resale_side IS 'One side of a resale as a database holds it: the reseller''s, the buyer''s, or pending (issue 18)';

-- local: only the resales whose both sides are on this database (the proxy checks the others)
CREATE FUNCTION @extschema@.check_resale_sides(sides @extschema@.resale_side[], local boolean)
	RETURNS TABLE (check_name text, ok boolean, detail text)
	LANGUAGE plpgsql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	/* plpgsql: in the proxy this file comes before its partition_of */
	RETURN QUERY
	WITH g AS (
		SELECT s.contract_id,
			   pg_catalog.max(s.new_contract_id) FILTER (WHERE s.side = 'reseller') AS sold_as,
			   pg_catalog.max(s.new_contract_id) FILTER (WHERE s.side = 'buyer') AS bought_as,
			   pg_catalog.bool_or(s.side = 'pending') AS pending,
			   pg_catalog.count(*) FILTER (WHERE s.side <> 'pending' AND s.settled) = 2 AS settled,
			   pg_catalog.sum(s.clearing) AS net
		FROM pg_catalog.unnest(sides) s
		WHERE NOT local OR s.side = 'pending' OR @extschema@.partition_of(s.contract_id) = @extschema@.partition_of(s.new_contract_id)
		GROUP BY 1
	)
	SELECT 'every resale has both its sides', pg_catalog.count(*) = 0,
		   pg_catalog.count(*) || ' resales found on one side only' || coalesce(': ' || pg_catalog.string_agg(g.contract_id::text, ', '), '')
	FROM g WHERE g.sold_as IS DISTINCT FROM g.bought_as AND NOT (g.pending AND g.sold_as IS NULL)
	UNION ALL
	SELECT 'the clearing of every settled resale nets to zero', pg_catalog.count(*) = 0,
		   pg_catalog.count(*) || ' settled resales whose clearing does not net to zero'
		   || coalesce(': ' || pg_catalog.string_agg(g.contract_id || ' (' || g.net || ' micros)', ', '), '')
	FROM g WHERE g.settled AND g.net <> 0;
END
$$;
COMMENT ON FUNCTION @extschema@.check_resale_sides(@extschema@.resale_side[], boolean) IS 'Every resale has both its sides, and a settled one''s clearing nets to zero (local: only those whose both sides are here) (R-EXC-6, issue 18)';
