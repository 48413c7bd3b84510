/*
 * 35_outage_steps.sql — an outage's compensation on every partition (issue
 * 18; R-PRT-8 across partitions).
 *
 * report_outage runs at the machine's home: it checks and records the
 * outage, compensates the home's customers, counts the partner's outages
 * (revoking past the limit).  Behind a proxy the machine's other renters
 * live on other partitions, so an unnotified outage is queued there
 * (outage_outbox) and the proxy pushes it: apply_outage on every other
 * partition records a copy of the outage and compensates that partition's
 * customers the same way (their wallets locked, their instances settled up
 * to the report's instant, multiple x the fees of the window), once — the
 * copy and its compensation commit together, so a repeated push does
 * nothing; then outage_pushed empties the queue.  The proxy pushes after
 * report_outage and at every tick.  A withdrawal of the partner waits
 * (GB004) while any of its outages is still queued, so it never counts
 * income that a reported outage's compensation is about to take back.
 * A machine taken offline by force (take_offline, a rating of 0) is queued
 * the same way as its outage of kind forced_offline: apply_outage stops the
 * partition's running instances on it and compensates them as
 * force_offline does at the home.  Maintenance (notified) compensates
 * nobody and stays at the home.
 *
 * Map (scripts/file-map.pl):
 * API: apply_outage, outage_changes, outage_pushed.
 * Uses: 4_parties, 5_customers.
 */

CREATE FUNCTION @extschema@.outage_changes()
	RETURNS TABLE (outage_id bigint, "row" jsonb)
	LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	SELECT q.outage_id, pg_catalog.to_jsonb(o) FROM @extschema@.outage_outbox q JOIN @extschema@.outage o USING (outage_id)
	ORDER BY q.outage_id
$$;
COMMENT ON FUNCTION @extschema@.outage_changes() IS 'The outages homed here whose compensation is not yet on every partition (issue 18)';

CREATE FUNCTION @extschema@.apply_outage(changes jsonb)
	RETURNS integer
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	me integer := coalesce((SELECT k.partition FROM @extschema@.partition_identity k), 0);
	o @extschema@.outage;
	affected bigint[];
	inst bigint;
	iv @extschema@.instance;
	lost bigint[];
	n integer := 0;
BEGIN
	IF changes IS NULL OR pg_catalog.jsonb_typeof(changes) <> 'array' THEN
		RAISE EXCEPTION 'outages are a JSON array of {outage_id, row}' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR o IN SELECT r.* FROM pg_catalog.jsonb_array_elements(changes) e,
				 LATERAL pg_catalog.jsonb_populate_record(NULL::@extschema@.outage, e -> 'row') r
			 WHERE @extschema@.partition_of(r.outage_id) <> me AND r.kind IN ('outage', 'forced_offline') ORDER BY r.outage_id LOOP
		INSERT INTO @extschema@.outage SELECT (o).* ON CONFLICT DO NOTHING;
		CONTINUE WHEN NOT FOUND;		/* applied before, with its compensation */
		IF o.kind = 'forced_offline' THEN
			/* as force_offline: this partition's running instances on the machine stop (at the instant, or at their
			   last event if they were settled past it) and their customers are compensated for what they lose */
			PERFORM @extschema@.lock_machines(ARRAY[o.machine_id]);
			affected := ARRAY(SELECT k.instance_id FROM @extschema@.instance k
							  WHERE k.machine_id = o.machine_id AND k.state = 'running' ORDER BY k.instance_id FOR UPDATE);
			lost := '{}';
			FOREACH inst IN ARRAY affected LOOP
				SELECT * INTO iv FROM @extschema@.instance k WHERE k.instance_id = inst;
				PERFORM @extschema@.halt_instance(inst, GREATEST(o.started, iv.last_event_at), 'machine_offline');
				IF iv.hold_id IS NOT NULL
				   AND (SELECT k.stop_reason FROM @extschema@.instance k WHERE k.instance_id = inst) = 'machine_offline' THEN
					lost := lost || inst;
				END IF;
			END LOOP;
			n := n + @extschema@.compensate(o.outage_id, o.machine_id, pg_catalog.tstzrange(o.started, 'infinity'), affected, lost,
											o.started);
			CONTINUE;
		END IF;
		/* as report_outage: the affected renters locked, settled up to the report */
		affected := @extschema@.lock_outage_renters(o.machine_id, pg_catalog.tstzrange(o.started, o.ended));
		FOREACH inst IN ARRAY affected LOOP
			PERFORM @extschema@.settle_interim(inst, o.reported_at);
		END LOOP;
		n := n + @extschema@.compensate(o.outage_id, o.machine_id, pg_catalog.tstzrange(o.started, o.ended), affected, '{}', o.reported_at);
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.apply_outage(jsonb) IS 'Record outages reported at their machines'' homes and compensate this partition''s customers for them, once; returns the instances compensated (R-PRT-8, issue 18)';

CREATE FUNCTION @extschema@.outage_pushed(outages bigint[])
	RETURNS integer
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	n integer;
BEGIN
	DELETE FROM @extschema@.outage_outbox q WHERE q.outage_id = ANY (outages);
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.outage_pushed(bigint[]) IS 'Forget the outages whose compensation is on every partition; returns how many (issue 18)';
