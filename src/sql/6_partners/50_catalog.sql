/*
 * 50_catalog.sql — partners and machines on every partition (issue 17).
 *
 * Behind a proxy a partner and its machines live at the partner's home
 * partition (the one that drew their ids); every other partition holds a
 * copy, so that its customers rent the machines, its instances reference
 * them and its settlements pay their partners' income there.  Each change at
 * home takes the next version (catalog_version_seq; a new row is version 0)
 * and, on a partition of more than one, a row in catalog_outbox.  The proxy pulls the outbox
 * (catalog_changes), applies the rows to every partition (apply_catalog: a
 * copy follows the greater version; home rows are never overwritten) and
 * then empties what it pushed (catalog_pushed) — after every catalogue act
 * routed through it, and at every tick, so a push that failed is repaired
 * by the next.  A copy changes only so; the one change a partition derives
 * itself is tick's notice of a machine's end (R-PRT-5), the same on every
 * partition; anything else is refused (GB004).  A copy whose voucher
 * permission changes makes its partition's running instances follow it from
 * the home's instant, as set_vouchers_allowed does there (R-PRT-1).
 * catalog_digest() is equal
 * on every partition once the pushes are through (verify on the proxy).
 * A single database is partition 0 of 1: every row is home, nothing is
 * queued.  The queue is not dumped (a restore re-inserts every row, and
 * would queue it twice): after restoring a partition, requeue_catalog()
 * queues every row homed there, and the next tick pushes them again.
 *
 * Map (scripts/file-map.pl):
 * API: apply_catalog, catalog_changes, catalog_digest, catalog_pushed,
 *   requeue_catalog.
 * Internals: catalog_version, this_partition.
 * Tables: catalog_outbox.
 * Uses: 2_base, 3_ledger, 4_parties, 5_customers.
 */

CREATE TABLE @extschema@.catalog_outbox (
	kind		text NOT NULL CHECK (kind IN ('partner', 'machine')),
	id			bigint NOT NULL,
	version		bigint NOT NULL,
	PRIMARY KEY (kind, id)
);
COMMENT ON TABLE @extschema@.catalog_outbox IS 'Partners and machines homed here changed since the proxy last pushed them to the other partitions: the version to push (issue 17); a queue, not dumped: requeue_catalog() after a restore';

CREATE FUNCTION @extschema@.this_partition() RETURNS integer
	LANGUAGE sql STABLE PARALLEL SAFE
	AS $$ SELECT coalesce((SELECT p.partition FROM @extschema@.partition_identity p), 0) $$;
COMMENT ON FUNCTION @extschema@.this_partition() IS 'This database''s partition (0 unless provisioned otherwise; issue 17)';

/*
 * Before a partner or machine row is written: at home it takes the next
 * version (and is queued for the other partitions when there are any); a
 * copy is written by apply_catalog only, but for tick's notice of a
 * machine's end.  TG_ARGV[0] names the id column.
 */
CREATE FUNCTION @extschema@.catalog_version() RETURNS trigger
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	AS $$
DECLARE
	id bigint := (pg_catalog.to_jsonb(NEW) ->> TG_ARGV[0])::bigint;
	me @extschema@.partition_identity;
	derived text[] := '{state,end_notice_at,last_event_at}';
BEGIN
	IF pg_catalog.current_setting('gpubill_catalog.applying', true) = 'on' THEN
		RETURN NEW;
	END IF;
	SELECT * INTO me FROM @extschema@.partition_identity;
	IF @extschema@.partition_of(id) = coalesce(me.partition, 0) THEN
		IF TG_OP = 'UPDATE' THEN
			IF pg_catalog.to_jsonb(NEW) = pg_catalog.to_jsonb(OLD) THEN
				RETURN NEW;
			END IF;
			NEW.version := pg_catalog.nextval('@extschema@.catalog_version_seq');
		END IF;		/* a new row keeps its version: 0, or the one a restored dump gives */
		IF coalesce(me.partitions, 1) > 1 THEN
			INSERT INTO @extschema@.catalog_outbox AS o (kind, id, version) VALUES (TG_TABLE_NAME, id, NEW.version)
			ON CONFLICT ON CONSTRAINT catalog_outbox_pkey DO UPDATE SET version = GREATEST(o.version, excluded.version);
		END IF;
		RETURN NEW;
	END IF;
	/* R-PRT-5: every partition's tick gives notice of a machine's end alike, for its own customers' alerts */
	IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'machine'
	   AND pg_catalog.to_jsonb(OLD) ->> 'end_notice_at' IS NULL AND pg_catalog.to_jsonb(NEW) ->> 'end_notice_at' IS NOT NULL
	   AND pg_catalog.to_jsonb(NEW) - derived = pg_catalog.to_jsonb(OLD) - derived THEN
		RETURN NEW;
	END IF;
	RAISE EXCEPTION '% % is a copy of partition %''s: it changes there', TG_TABLE_NAME, id, @extschema@.partition_of(id)
		USING ERRCODE = 'GB004', HINT = 'Call through the proxy: it routes the call to the partner''s partition.';
END
$$;
COMMENT ON FUNCTION @extschema@.catalog_version() IS 'Trigger: a partner or machine changed at home takes the next version (queued for the other partitions); a copy changes only by apply_catalog (issue 17)';

CREATE TRIGGER partner_catalog_version BEFORE INSERT OR UPDATE ON @extschema@.partner
	FOR EACH ROW EXECUTE FUNCTION @extschema@.catalog_version('partner_id');
CREATE TRIGGER machine_catalog_version BEFORE INSERT OR UPDATE ON @extschema@.machine
	FOR EACH ROW EXECUTE FUNCTION @extschema@.catalog_version('machine_id');

CREATE FUNCTION @extschema@.catalog_changes()
	RETURNS TABLE (kind text, id bigint, version bigint, "row" jsonb)
	LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	SELECT o.kind, o.id, x.version, x.r
	FROM @extschema@.catalog_outbox o
	CROSS JOIN LATERAL (SELECT p.version, pg_catalog.to_jsonb(p) FROM @extschema@.partner p
						WHERE o.kind = 'partner' AND p.partner_id = o.id
						UNION ALL
						SELECT m.version, pg_catalog.to_jsonb(m) FROM @extschema@.machine m
						WHERE o.kind = 'machine' AND m.machine_id = o.id) x(version, r)
	ORDER BY o.kind = 'machine', o.id		/* a machine's partner first */
$$;
COMMENT ON FUNCTION @extschema@.catalog_changes() IS 'The partners and machines homed here not yet pushed to the other partitions: kind, id, version and the row (issue 17)';

CREATE FUNCTION @extschema@.apply_catalog(changes jsonb)
	RETURNS integer
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	me integer := @extschema@.this_partition();
	tbl text;
	key text;
	cols text;
	vals text;
	n integer;
	total integer := 0;
	p @extschema@.partner;
	noticed bigint[];
	flipped bigint[];
	x record;
	inst bigint;
BEGIN
	IF changes IS NULL OR pg_catalog.jsonb_typeof(changes) <> 'array' THEN
		RAISE EXCEPTION 'catalogue changes are a JSON array of {kind, id, version, row}' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	/* R-PRT-1: copies whose voucher permission changes; their running instances follow it below, so the
	   wallets of their customers are locked first, then the machines (R-LED-6), before the copies are written */
	flipped := ARRAY(SELECT m.machine_id FROM pg_catalog.jsonb_array_elements(changes) e
					 JOIN @extschema@.machine m ON m.machine_id = (e ->> 'id')::bigint
					 WHERE e ->> 'kind' = 'machine' AND @extschema@.partition_of(m.machine_id) <> me
					   AND (e -> 'row' ->> 'vouchers_allowed')::boolean IS DISTINCT FROM m.vouchers_allowed
					   AND (e ->> 'version')::bigint > m.version
					 ORDER BY 1);
	IF pg_catalog.cardinality(flipped) > 0 THEN
		PERFORM @extschema@.lock_machines(flipped);
	END IF;
	PERFORM pg_catalog.set_config('gpubill_catalog.applying', 'on', true);
	FOREACH tbl IN ARRAY ARRAY['partner', 'machine'] LOOP	/* a machine's partner first */
		key := tbl || '_id';
		SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum),
			   pg_catalog.string_agg('excluded.' || pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols, vals
		FROM pg_catalog.pg_attribute a
		WHERE a.attrelid = ('@extschema@.' || tbl)::regclass AND a.attnum > 0 AND NOT a.attisdropped;
		EXECUTE pg_catalog.format(
			'INSERT INTO @extschema@.%1$I AS t (%3$s) '
			'SELECT %3$s FROM pg_catalog.jsonb_array_elements($1) e, '
			'LATERAL pg_catalog.jsonb_populate_record(NULL::@extschema@.%1$I, e -> ''row'') r '
			'WHERE e ->> ''kind'' = %1$L AND @extschema@.partition_of(r.%2$I) <> $2 ORDER BY r.%2$I '
			'ON CONFLICT (%2$I) DO UPDATE SET (%3$s) = ROW(%4$s) WHERE t.version < excluded.version',
			tbl, key, cols, vals)
			USING changes, me;
		GET DIAGNOSTICS n = ROW_COUNT;
		total := total + n;
	END LOOP;
	/* a partner's accounts here, for the income its machines earn from this partition's customers */
	FOR p IN SELECT r.* FROM pg_catalog.jsonb_array_elements(changes) e,
				 LATERAL pg_catalog.jsonb_populate_record(NULL::@extschema@.partner, e -> 'row') r
			 WHERE e ->> 'kind' = 'partner' AND @extschema@.partition_of(r.partner_id) <> me LOOP
		PERFORM @extschema@.open_currency(p.currency);
		PERFORM @extschema@.ledger_account('partner', p.partner_id, 'income', p.currency);
		PERFORM @extschema@.ledger_account('partner', p.partner_id, 'deposit', p.currency);
		IF p.is_provider THEN
			PERFORM @extschema@.ledger_account('partner', p.partner_id, 'exchange', p.currency);
		END IF;
	END LOOP;
	/* R-PRT-1: as set_vouchers_allowed at the home, from its instant (the machine's last event) on: each running
	   instance settled up to it under the old permission, then charged and held under the new one */
	FOR x IN SELECT m.machine_id, m.vouchers_allowed, m.last_event_at FROM @extschema@.machine m
			 WHERE m.machine_id = ANY (flipped) ORDER BY 1 LOOP
		FOR inst IN SELECT k.instance_id FROM @extschema@.instance k
					WHERE k.machine_id = x.machine_id AND k.state = 'running' AND k.cash_only = x.vouchers_allowed
					ORDER BY k.instance_id FOR UPDATE LOOP
			PERFORM @extschema@.settle_interim(inst, x.last_event_at);
		END LOOP;
		UPDATE @extschema@.instance k SET cash_only = NOT x.vouchers_allowed, last_event_at = GREATEST(k.last_event_at, x.last_event_at)
		WHERE k.machine_id = x.machine_id AND k.state = 'running' AND k.cash_only = x.vouchers_allowed;
	END LOOP;
	/* R-PRT-5: a machine given notice of its end at home alerts this partition's customers on it */
	noticed := ARRAY(SELECT (e ->> 'id')::bigint FROM pg_catalog.jsonb_array_elements(changes) e
					 WHERE e ->> 'kind' = 'machine' AND e -> 'row' ->> 'end_notice_at' IS NOT NULL
					   AND @extschema@.partition_of((e ->> 'id')::bigint) <> me);
	PERFORM @extschema@.alert_migrate_data(noticed);
	PERFORM pg_catalog.set_config('gpubill_catalog.applying', 'off', true);
	RETURN total;
END
$$;
COMMENT ON FUNCTION @extschema@.apply_catalog(jsonb) IS 'Apply partners and machines pushed from their home partitions (catalog_changes of another partition): a copy follows the greater version, home rows stay; returns the rows written (issue 17)';

CREATE FUNCTION @extschema@.catalog_pushed(changes jsonb)
	RETURNS integer
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	n integer;
BEGIN
	DELETE FROM @extschema@.catalog_outbox o
	USING pg_catalog.jsonb_to_recordset(changes) c(kind text, id bigint, version bigint)
	WHERE o.kind = c.kind AND o.id = c.id AND o.version = c.version;	/* changed again since: pushed next time */
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.catalog_pushed(jsonb) IS 'Forget the outbox rows pushed to every partition (those of catalog_changes still at the version pushed); returns how many (issue 17)';

CREATE FUNCTION @extschema@.requeue_catalog()
	RETURNS integer
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	me integer := @extschema@.this_partition();
	n integer;
BEGIN
	IF NOT @extschema@.is_admin() THEN
		RAISE EXCEPTION 'the catalogue is requeued only by gpubill_admin' USING ERRCODE = 'insufficient_privilege';
	END IF;
	INSERT INTO @extschema@.catalog_outbox AS o (kind, id, version)
	SELECT 'partner', p.partner_id, p.version FROM @extschema@.partner p WHERE @extschema@.partition_of(p.partner_id) = me
	UNION ALL
	SELECT 'machine', m.machine_id, m.version FROM @extschema@.machine m WHERE @extschema@.partition_of(m.machine_id) = me
	ON CONFLICT ON CONSTRAINT catalog_outbox_pkey DO UPDATE SET version = GREATEST(o.version, excluded.version);
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.requeue_catalog() IS 'Queue every partner and machine homed here to be pushed to every partition again (after a restore); gpubill_admin only; returns how many (issue 17)';

CREATE FUNCTION @extschema@.catalog_digest()
	RETURNS text
	LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	SELECT pg_catalog.md5(coalesce((SELECT pg_catalog.string_agg(pg_catalog.to_jsonb(p)::text, '|' ORDER BY p.partner_id)
									FROM @extschema@.partner p), '')
						  || '#' || coalesce((SELECT pg_catalog.string_agg(pg_catalog.to_jsonb(m)::text, '|' ORDER BY m.machine_id)
											  FROM @extschema@.machine m), ''))
$$;
COMMENT ON FUNCTION @extschema@.catalog_digest() IS 'An md5 of every partner and machine row, home and copies: equal on every partition once the pushes are through (issue 17)';
