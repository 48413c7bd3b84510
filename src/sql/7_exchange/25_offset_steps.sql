/*
 * 25_offset_steps.sql — a provider's offsets recovered from its receipts on
 * other partitions, for the proxy (issue 18; R-EXC-9 across partitions).
 *
 * An offset (record_provider_offset) lives at the provider's home
 * partition, and receive() there recovers it from the provider's receipts
 * before its wallet is credited, as on one database.  Behind a proxy the
 * provider also receives on every partition its customers live on; those
 * receipts are offered to its open offsets by a saga of keyed, idempotent
 * steps, run by the proxy's tick:
 *   0. when the offset is recorded through the proxy, watch_offset on every
 *      other partition notes the provider's last receipt there: only later
 *      ones are its "next receipts" (as on one database, in the order they
 *      are recorded, whatever their dates);
 *   1. begin_offset_recovery at the home: a pending recovery (one per
 *      provider at a time), the offsets' outstanding and their ids;
 *   2. offer_receipts on every other partition: the provider's receipts
 *      recorded after the earliest open offset was (watched: a partition
 *      out of reach then watches from its first offer) and not offered
 *      before, each offered once (its net after commission, up to what is
 *      still outstanding), marked under the recovery's key — a re-drive
 *      finds them;
 *   3. commit_offset_recovery at the home: what the partitions offered
 *      recovered, oldest offset first, as offset transfers from the
 *      provider's exchange account (at the home: the provider's wallet is
 *      the sum of every partition's part) to the platform's receivable.
 * A step that fails leaves the recovery pending; the next tick runs the
 * same saga again (each step finds what it did).  A receipt on another
 * partition is thus deducted at the proxy's next tick rather than at once
 * (with several offsets open, every receipt after the earliest one is
 * offered to all of them, oldest first); the provider's wallet through the
 * proxy is the same once it has run.  One database never uses the steps.
 *
 * Map (scripts/file-map.pl):
 * API: begin_offset_recovery, commit_offset_recovery, offer_receipts,
 *   open_offsets, watch_offset.
 * Tables: offset_offer, offset_recovery, offset_watch.
 * Uses: 1_types, 2_base, 3_ledger, 4_parties.
 */

CREATE TABLE @extschema@.offset_recovery (
	recovery_id	bigint PRIMARY KEY,			/* the saga's key, drawn at the provider's home */
	provider_id	bigint NOT NULL,			/* party key */
	offsets		bigint[] NOT NULL,			/* the open offsets when begun */
	outstanding	@extschema@.amount NOT NULL,	/* the offsets' outstanding when begun */
	at			timestamptz NOT NULL,		/* the recovery's time */
	recovered	@extschema@.amount,			/* committed: what was recovered */
	began_at	timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp()	/* wall clock: the sweeper's grace */
);
CREATE UNIQUE INDEX offset_recovery_pending_idx ON @extschema@.offset_recovery (provider_id) WHERE recovered IS NULL;
COMMENT ON TABLE @extschema@.offset_recovery IS 'A recovery of a provider''s offsets from its receipts on other partitions, at its home: pending, then committed with what was recovered (issue 18)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.offset_recovery', '');

CREATE TABLE @extschema@.offset_offer (
	receipt_id	bigint PRIMARY KEY,			/* a receipt of this partition, offered once */
	provider_id	bigint NOT NULL,			/* party key */
	recovery_id	bigint NOT NULL,			/* the recovery it was offered to (drawn at the home) */
	offered		@extschema@.amount NOT NULL	/* of its net, what the recovery could still take */
);
CREATE INDEX offset_offer_recovery_idx ON @extschema@.offset_offer (recovery_id);
COMMENT ON TABLE @extschema@.offset_offer IS 'A provider''s receipt on this partition offered to the open offsets at its home, once (issue 18)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.offset_offer', '');

CREATE TABLE @extschema@.offset_watch (
	offset_id	bigint PRIMARY KEY,			/* an offset at the provider's home */
	provider_id	bigint NOT NULL,			/* party key */
	after_receipt bigint NOT NULL			/* the provider's last receipt here when the offset was recorded */
);
COMMENT ON TABLE @extschema@.offset_watch IS 'An offset recorded at its provider''s home, seen from this partition: its next receipts here are those after after_receipt (issue 18)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.offset_watch', '');

-- step 0, on every other partition when the offset is recorded; idempotent
CREATE FUNCTION @extschema@.watch_offset(provider bigint, "offset" bigint)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	IF $1 IS NULL OR $2 IS NULL THEN
		RAISE EXCEPTION 'an offset is watched for its provider and id' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO @extschema@.offset_watch (offset_id, provider_id, after_receipt)
	VALUES ($2, $1, coalesce((SELECT pg_catalog.max(r.receipt_id) FROM @extschema@.contract_receipt r WHERE r.provider_id = $1), 0))
	ON CONFLICT (offset_id) DO NOTHING;
	RETURN (SELECT w.after_receipt FROM @extschema@.offset_watch w WHERE w.offset_id = $2);
END
$$;
COMMENT ON FUNCTION @extschema@.watch_offset(bigint, bigint) IS 'Step 0 of an offset across partitions: note the provider''s last receipt on this partition when the offset is recorded (once); its receipts after it are offered to the offset (R-EXC-9, issue 18)';

-- the providers homed here with an offset still outstanding or a recovery under way (the proxy's tick recovers them)
CREATE FUNCTION @extschema@.open_offsets()
	RETURNS TABLE (provider_id bigint)
	LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	SELECT o.provider_id FROM @extschema@.provider_offset o WHERE o.recovered < o.amount
	UNION
	SELECT k.provider_id FROM @extschema@.offset_recovery k WHERE k.recovered IS NULL
	ORDER BY 1
$$;
COMMENT ON FUNCTION @extschema@.open_offsets() IS 'The providers whose offsets on this partition are not yet recovered, or whose recovery is under way (R-EXC-9, issue 18)';

-- step 1, at the provider's home
CREATE FUNCTION @extschema@.begin_offset_recovery(provider bigint, at timestamptz,
												  OUT recovery bigint, OUT offsets bigint[], OUT outstanding @extschema@.amount)
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	r @extschema@.offset_recovery;
BEGIN
	PERFORM @extschema@.lock_partner($1);		/* serialises with record_provider_offset and another recovery */
	SELECT * INTO r FROM @extschema@.offset_recovery k WHERE k.provider_id = $1 AND k.recovered IS NULL;
	IF FOUND THEN		/* one under way: the same saga */
		recovery := r.recovery_id; offsets := r.offsets; outstanding := r.outstanding;
		RETURN;
	END IF;
	SELECT pg_catalog.array_agg(o.offset_id ORDER BY o.offset_id), @extschema@.sum(o.amount - o.recovered) INTO offsets, outstanding
	FROM @extschema@.provider_offset o WHERE o.provider_id = $1 AND o.recovered < o.amount;
	IF offsets IS NULL THEN
		recovery := NULL;		/* nothing to recover */
		RETURN;
	END IF;
	recovery := pg_catalog.nextval('@extschema@.id_seq');
	INSERT INTO @extschema@.offset_recovery (recovery_id, provider_id, offsets, outstanding, at)
	VALUES (recovery, $1, offsets, outstanding, coalesce($2, pg_catalog.now()));
END
$$;
COMMENT ON FUNCTION @extschema@.begin_offset_recovery(bigint, timestamptz) IS 'Step 1 of recovering a provider''s offsets from other partitions, at its home: a pending recovery (the one under way, if any) with the outstanding and the open offsets; NULL if nothing is outstanding (R-EXC-9, issue 18)';

-- step 2, on every other partition
CREATE FUNCTION @extschema@.offer_receipts(provider bigint, recovery bigint, offsets bigint[], up_to @extschema@.amount)
	RETURNS @extschema@.amount
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	z @extschema@.amount := @extschema@.zero(@extschema@.currency($4));
	after_ bigint;
BEGIN
	IF $1 IS NULL OR $2 IS NULL OR $3 IS NULL OR $4 IS NULL THEN
		RAISE EXCEPTION 'receipts are offered for a provider, a recovery, its offsets and an amount' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	/* two offers of one recovery (a re-drive) serialise on the provider's copy */
	PERFORM FROM @extschema@.partner p WHERE p.partner_id = $1 FOR UPDATE;
	IF NOT EXISTS (SELECT FROM @extschema@.offset_offer k WHERE k.recovery_id = $2) THEN	/* else offered before: the same answer */
		PERFORM @extschema@.watch_offset($1, o) FROM pg_catalog.unnest($3) o;	/* not watched yet (out of reach when recorded): from now */
		SELECT pg_catalog.min(w.after_receipt) INTO after_ FROM @extschema@.offset_watch w WHERE w.offset_id = ANY ($3);
		/* in the order recorded, each net whole while the running sum stays within up_to, the last one in part */
		INSERT INTO @extschema@.offset_offer (receipt_id, provider_id, recovery_id, offered)
		SELECT x.receipt_id, $1, $2, LEAST(x.net, $4 - (x.cum - x.net))
		FROM (SELECT r.receipt_id, r.gross - r.commission AS net,
					 @extschema@.sum(r.gross - r.commission) OVER (ORDER BY r.receipt_id) AS cum
			  FROM @extschema@.contract_receipt r
			  WHERE r.provider_id = $1 AND r.receipt_id > after_ AND r.kind NOT IN ('premium', 'reseller_refund')
				AND @extschema@.micros(r.gross - r.commission) > 0
				AND NOT EXISTS (SELECT FROM @extschema@.offset_offer k WHERE k.receipt_id = r.receipt_id)) x
		WHERE x.cum - x.net < $4;
	END IF;
	RETURN coalesce((SELECT @extschema@.sum(k.offered) FROM @extschema@.offset_offer k WHERE k.recovery_id = $2), z);
END
$$;
COMMENT ON FUNCTION @extschema@.offer_receipts(bigint, bigint, bigint[], @extschema@.amount) IS 'Step 2 of recovering a provider''s offsets, on another partition: its receipts recorded after the earliest of the offsets (watch_offset) and not offered before, each once, in the order recorded, up to up_to of their nets; the sum offered (the same again for the same recovery) (R-EXC-9, issue 18)';

-- step 3, at the provider's home
CREATE FUNCTION @extschema@.commit_offset_recovery(recovery bigint, offered @extschema@.amount)
	RETURNS @extschema@.amount
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	r @extschema@.offset_recovery;
	cur text;
	left_ @extschema@.amount;
	take @extschema@.amount;
	o record;
	exchange bigint;
	receivable bigint;
BEGIN
	SELECT * INTO r FROM @extschema@.offset_recovery k WHERE k.recovery_id = $1;
	IF NOT FOUND THEN
		RETURN NULL;		/* ended before with nothing offered (its row is not kept) */
	END IF;
	cur := (@extschema@.lock_partner(r.provider_id)).currency;
	SELECT * INTO r FROM @extschema@.offset_recovery k WHERE k.recovery_id = $1;
	IF NOT FOUND THEN
		RETURN NULL;
	ELSIF r.recovered IS NOT NULL THEN
		RETURN r.recovered;		/* committed before */
	ELSIF @extschema@.micros($2) <= 0 THEN
		DELETE FROM @extschema@.offset_recovery k WHERE k.recovery_id = $1;		/* nothing offered: no trace (a tick each) */
		RETURN @extschema@.zero(cur);
	END IF;
	exchange := @extschema@.account_of('partner', r.provider_id, 'exchange', cur);
	receivable := @extschema@.account_of('platform', 0, 'receivable', cur);
	left_ := $2;
	/* R-EXC-9: oldest offset first; what the home's own receipts recovered meanwhile is not taken twice */
	FOR o IN SELECT k.offset_id, k.amount - k.recovered AS open FROM @extschema@.provider_offset k
			 WHERE k.provider_id = r.provider_id AND k.recovered < k.amount ORDER BY k.offset_id FOR UPDATE LOOP
		take := LEAST(o.open, left_);
		EXIT WHEN @extschema@.micros(take) <= 0;
		PERFORM @extschema@.post_transfers(ARRAY[
			@extschema@.leg(NULL, r.provider_id, r.at, 'offset', exchange, receivable, take, 'provider_offset', o.offset_id, NULL,
							pg_catalog.format('recovered from receipts on other partitions (recovery %s)', $1))]);
		UPDATE @extschema@.provider_offset k SET recovered = k.recovered + take WHERE k.offset_id = o.offset_id;
		left_ := left_ - take;
	END LOOP;
	UPDATE @extschema@.offset_recovery k SET recovered = $2 - left_ WHERE k.recovery_id = $1;
	RETURN $2 - left_;
END
$$;
COMMENT ON FUNCTION @extschema@.commit_offset_recovery(bigint, @extschema@.amount) IS 'Step 3 of recovering a provider''s offsets, at its home: what the other partitions offered recovered, oldest offset first, from the provider''s exchange account to the platform''s receivable (nothing offered: the recovery leaves no row; NULL for one ended so); idempotent (R-EXC-9, issue 18)';
