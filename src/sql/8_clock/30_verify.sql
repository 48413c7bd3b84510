/*
 * 30_verify.sql — verify(): every layer's invariants, one row per check
 * (R-LED-3).  Here, after every layer, as tick is: it runs the checks each
 * layer keeps with its own tables.
 *
 * Map (scripts/file-map.pl):
 * API: verify.
 * Uses: 3_ledger, 5_customers, 7_exchange.
 */

CREATE FUNCTION @extschema@.verify()
	RETURNS TABLE (check_name text, ok boolean, detail text)
	LANGUAGE sql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	SELECT * FROM @extschema@.verify_ledger()
	UNION ALL
	SELECT * FROM @extschema@.verify_customers()
	UNION ALL
	SELECT * FROM @extschema@.verify_exchange()
$$;
COMMENT ON FUNCTION @extschema@.verify() IS 'Check every invariant (R-LED-3): the ledger''s, the customers'' and the exchange''s, one row per check with ok and a detail';
