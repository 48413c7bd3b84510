/*
 * 95_verify.sql — the customers layer's invariants, one row per check
 * (verify() in 8_clock runs them with every layer's).
 *
 * Map (scripts/file-map.pl):
 * Internals: verify_customers.
 * Uses: 3_ledger.
 */

CREATE FUNCTION @extschema@.verify_customers(whole boolean)
	RETURNS TABLE (check_name text, ok boolean, detail text)
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	/* R-SEC-3: a running PAYG run has exactly one active hold, its own; no other instance has one */
	SELECT 'running PAYG instances have exactly one active hold of their own', count(*) = 0,
		   count(*) || ' instances with a missing, foreign or extra active hold'
		   || coalesce(': ' || string_agg(x.instance_id::text, ', '), '')
	FROM (SELECT i.instance_id, i.hold_id, a.holds, a.hold_ids,
				 i.state = 'running' AND i.billing = 'payg' AND i.product <> 'one_time' AS holds_one
		  FROM @extschema@.instance i
		  LEFT JOIN (SELECT h.object_id, count(*) AS holds, array_agg(h.hold_id) AS hold_ids
					 FROM @extschema@.active_holds(whole) h
					 WHERE h.object_type = 'instance'
					 GROUP BY h.object_id) a ON a.object_id = i.instance_id) x
	WHERE CASE WHEN x.holds_one THEN x.holds IS DISTINCT FROM 1 OR x.hold_ids[1] IS DISTINCT FROM x.hold_id
			   ELSE x.holds IS NOT NULL END
$$;
COMMENT ON FUNCTION @extschema@.verify_customers(boolean) IS 'The customers layer''s invariants (R-SEC-3): one row per check with ok and a detail';
