/*
 * 70_session_tables.sql — the session's temporary tables that the set-based
 * steps stage their rows in (local buffers: no memory per row; rows gone at
 * commit), made by the layer that uses them with session_tables(shapes).
 * A look-alike made by the session's user is refused, since the owner would
 * write into it (and fire its triggers).
 *
 * Map (scripts/file-map.pl):
 * Internals: empty_stage, session_tables.
 * Uses: 1_types.
 */

CREATE FUNCTION @extschema@.session_tables(shapes text[]) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	me oid := CURRENT_USER::text::regrole;
	amount_type oid := '@extschema@.amount'::regtype::oid;
	t text;
	cols text;
	sig text;
	rel regclass;
BEGIN
	/* the shape is signed with the oid of the amount type: a table left by an extension dropped and
	   created again in this session (its amount columns dropped with the type) is made anew */
	IF (SELECT pg_catalog.bool_and(coalesce(
			(SELECT d.description = pg_catalog.md5(shapes[k][2] || ' ' || amount_type)
			 FROM pg_catalog.pg_class c
			 JOIN pg_catalog.pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_catalog.pg_class'::regclass AND d.objsubid = 0
			 WHERE c.oid = pg_catalog.to_regclass('pg_temp.' || shapes[k][1]) AND c.relowner = me), false))
		FROM pg_catalog.generate_subscripts(shapes, 1) k) THEN
		RETURN;		/* every table there, as made: one catalog query per call, by oid (no scan of pg_class) */
	END IF;
	FOR k IN 1 .. pg_catalog.array_length(shapes, 1) LOOP
		t := shapes[k][1];
		cols := shapes[k][2];
		sig := pg_catalog.md5(cols || ' ' || amount_type);
		rel := pg_catalog.to_regclass('pg_temp.' || t);
		IF rel IS NOT NULL THEN
			IF (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = rel) <> me THEN
				RAISE EXCEPTION 'pg_temp.% belongs to another role', t USING ERRCODE = 'insufficient_privilege',
					HINT = 'Drop the temporary table of that name in this session.';
			END IF;
			CONTINUE WHEN pg_catalog.obj_description(rel, 'pg_class') IS NOT DISTINCT FROM sig;
			EXECUTE pg_catalog.format('DROP TABLE pg_temp.%I', t);
		END IF;
		EXECUTE pg_catalog.format('CREATE TEMP TABLE %I (%s) ON COMMIT DELETE ROWS', t, cols);
		EXECUTE pg_catalog.format('COMMENT ON TABLE pg_temp.%I IS %L', t, sig);
		/* known empty: the planner then sizes the table by its pages when it plans a statement on it
		   (a few rows: index lookups into the big tables; a tick's many: hash joins), not as ten pages */
		EXECUTE pg_catalog.format('ANALYZE pg_temp.%I', t);
	END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.session_tables(text[]) IS 'Create (or check) temporary tables of the session, each given as {name, column list} and signed with its shape: one catalog query when all are there as made';

/*
 * Empty a stage: TRUNCATE when it held many rows (a tick's settlement), else
 * DELETE — TRUNCATE invalidates the session's plans of every statement on
 * the table, and one instance stopped would otherwise replan the
 * settlement's statements at each call.
 */
CREATE FUNCTION @extschema@.empty_stage(stage regclass, rows_staged bigint) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	IF rows_staged > 1000 THEN
		EXECUTE pg_catalog.format('TRUNCATE %s', stage);
	ELSE
		EXECUTE pg_catalog.format('DELETE FROM %s', stage);
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.empty_stage(regclass, bigint) IS 'Empty a temporary stage: TRUNCATE after many rows, DELETE after a few (no replanning of the session''s statements on it)';
