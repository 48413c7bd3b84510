/*
 * 20_ratings.sql — partner ratings and qualification (R-PRT-7, R-RAT-3).
 *
 * A partner starts at rating_initial (3.5).  rate_partner applies points
 * within the daily caps (per day of the billing time zone: at most +500 and
 * -3000 points in total); every change is a rating_event row.  At 0 the
 * qualification is terminated: no new listings (GB006) and every machine
 * goes offline by force (its running instances stop, their customers are
 * compensated; no new rentals, no starts).  Level names by rating live in
 * the table partner_level (a settings table; empty means the defaults).
 *
 * Map (scripts/file-map.pl):
 * API: partner_level, partner_rating, rate_partner.
 * Internals: rating_apply.
 * Tables: partner_level, rating_event.
 * Uses: 1_types, 2_base, 3_ledger, 4_parties, 5_customers.
 */

-- R-RAT-3: a rating change within the daily caps of the settings
CREATE FUNCTION @extschema@.rating_apply(r @extschema@.rating, delta integer, gained_today integer, lost_today integer)
	RETURNS @extschema@.rating
	LANGUAGE sql STABLE STRICT PARALLEL SAFE
	AS $$
		SELECT @extschema@.rating_apply(r, delta, gained_today, lost_today,
			(@extschema@.partner_settings()).rating_daily_gain_cap,
			(@extschema@.partner_settings()).rating_daily_loss_cap)
	$$;
COMMENT ON FUNCTION @extschema@.rating_apply(@extschema@.rating, integer, integer, integer) IS 'Apply delta points within the daily caps of the settings rating_daily_gain_cap and rating_daily_loss_cap';

CREATE TABLE @extschema@.partner_level (
	level		text PRIMARY KEY,
	min_rating	@extschema@.rating NOT NULL UNIQUE
);
COMMENT ON TABLE @extschema@.partner_level IS 'Partner levels: a partner is at the highest level whose min_rating its rating reaches (R-PRT-7); empty = the defaults bronze 0, silver 3, gold 4, platinum 4.5 (kept out of the table so that pg_dump keeps only an operator''s rows)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.partner_level', '');

CREATE TABLE @extschema@.rating_event (
	event_id	bigint PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	partner_id	bigint NOT NULL,
	at			timestamptz NOT NULL,
	day			date NOT NULL,				/* billing time zone */
	points		integer NOT NULL,			/* asked */
	applied		integer NOT NULL,			/* after the daily caps and the 0..5000 clamp */
	rating		@extschema@.rating NOT NULL,	/* after */
	reason		text NOT NULL
);
CREATE INDEX rating_event_partner_day_idx ON @extschema@.rating_event (partner_id, day);
COMMENT ON TABLE @extschema@.rating_event IS 'A change of a partner''s rating: points asked, applied within the daily caps, the rating after, append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rating_event', '');
SELECT @extschema@.make_append_only('@extschema@.rating_event');

CREATE FUNCTION @extschema@.partner_rating(partner bigint)
	RETURNS @extschema@.rating
	LANGUAGE plpgsql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	r @extschema@.rating;
BEGIN
	SELECT coalesce(p.rating, (@extschema@.partner_settings()).rating_initial) INTO r
	FROM @extschema@.partner p WHERE p.partner_id = partner;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown partner: %', partner USING ERRCODE = 'no_data_found';
	END IF;
	RETURN r;
END
$$;
COMMENT ON FUNCTION @extschema@.partner_rating(bigint) IS 'A partner''s rating (rating_initial until first rated)';

CREATE FUNCTION @extschema@.rate_partner(partner bigint, points integer, reason text, at timestamptz DEFAULT NULL)
	RETURNS @extschema@.rating
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := @extschema@.api_time(at);
	p @extschema@.partner;
	old @extschema@.rating;
	new @extschema@.rating;
	d date;
	gained integer;
	lost integer;
BEGIN
	p := @extschema@.lock_partner(partner);
	t := @extschema@.partner_time(at, partner);
	IF points IS NULL OR reason IS NULL OR reason = '' THEN
		RAISE EXCEPTION 'points and a reason are required' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.check_text(reason, 'reason', 1000);
	IF p.qualification = 'terminated' THEN
		RAISE EXCEPTION 'partner % is terminated', partner USING ERRCODE = 'GB006';
	END IF;
	d := (t AT TIME ZONE @extschema@.billing_timezone())::date;
	SELECT coalesce(pg_catalog.sum(e.applied) FILTER (WHERE e.applied > 0), 0),
		   coalesce(-pg_catalog.sum(e.applied) FILTER (WHERE e.applied < 0), 0)
	INTO gained, lost
	FROM @extschema@.rating_event e WHERE e.partner_id = partner AND e.day = d;
	old := coalesce(p.rating, (@extschema@.partner_settings()).rating_initial);
	/* R-RAT-3: within what the day's caps leave */
	new := @extschema@.rating_apply(old, points, gained::integer, lost::integer,
									(@extschema@.partner_settings()).rating_daily_gain_cap,
									(@extschema@.partner_settings()).rating_daily_loss_cap);
	INSERT INTO @extschema@.rating_event (partner_id, at, day, points, applied, rating, reason)
	VALUES (partner, t, d, points, @extschema@.points(new) - @extschema@.points(old), new, reason);
	UPDATE @extschema@.partner k SET rating = new WHERE k.partner_id = partner;
	IF @extschema@.points(new) = 0 THEN
		/* R-PRT-7: at 0 the qualification is terminated and every machine goes offline */
		UPDATE @extschema@.partner k SET qualification = 'terminated' WHERE k.partner_id = partner;
		/* forced: running instances stop and their customers are compensated (R-PRT-6); the
		   wallets of all their customers first, then the machines, in order (R-LED-6) */
		PERFORM @extschema@.lock_machines(ARRAY(SELECT m.machine_id FROM @extschema@.machine m
												WHERE m.partner_id = partner AND m.state IN ('listed', 'delisted')));
		PERFORM @extschema@.force_offline(m.machine_id, GREATEST(t, m.last_event_at), at IS NULL)
		FROM @extschema@.machine m WHERE m.partner_id = partner AND m.state IN ('listed', 'delisted')
		ORDER BY m.machine_id;
	END IF;
	RETURN new;
END
$$;
COMMENT ON FUNCTION @extschema@.rate_partner(bigint, integer, text, timestamptz) IS 'Change a partner''s rating by points within the daily caps; at 0 the qualification is terminated and the machines go offline (R-PRT-7, R-RAT-3)';

CREATE FUNCTION @extschema@.partner_level(partner bigint)
	RETURNS text
	LANGUAGE plpgsql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	RETURN (SELECT l.level
			FROM (SELECT k.level, k.min_rating FROM @extschema@.partner_level k
				  UNION ALL
				  SELECT d.level, d.min_rating::@extschema@.rating
				  FROM (VALUES ('bronze', '0'), ('silver', '3'), ('gold', '4'), ('platinum', '4.5')) d(level, min_rating)
				  WHERE NOT EXISTS (SELECT FROM @extschema@.partner_level)) l
			WHERE l.min_rating <= @extschema@.partner_rating(partner) ORDER BY l.min_rating DESC LIMIT 1);
END
$$;
COMMENT ON FUNCTION @extschema@.partner_level(bigint) IS 'The level of a partner''s rating (table partner_level)';
