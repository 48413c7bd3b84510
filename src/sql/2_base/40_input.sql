/*
 * 40_input.sql — checks of the input every API function shares (R-SEC-3,
 * R-CLK-5): business times are finite and in the supported range, text
 * identifiers have a length limit.  Bad input raises 22023 before anything
 * is locked or written.
 *
 * Map (scripts/file-map.pl):
 * Internals: api_time, call_time, check_gpus, check_term, check_text,
 *   check_time.
 * Uses: nothing.
 */

-- R-SEC-3: a business time is finite and within 2000-01-01 .. 2200-01-01 (UTC):
-- every loop over hours, days and months between two such times is bounded
CREATE FUNCTION @extschema@.check_time(ts timestamptz, what text) RETURNS timestamptz
	LANGUAGE plpgsql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
BEGIN
	IF ts IS NOT NULL AND (ts < '2000-01-01 00:00:00+00' OR ts >= '2200-01-01 00:00:00+00') THEN
		RAISE EXCEPTION '% must be a finite time from 2000-01-01 to 2200-01-01: %', what, ts
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN ts;
END
$$;
COMMENT ON FUNCTION @extschema@.check_time(timestamptz, text) IS 'Raise 22023 unless a time is NULL or finite and within 2000-01-01 .. 2200-01-01 (R-SEC-3); returns it';

-- the business time of a call: at, or now() when it is omitted (R-CLK-5)
CREATE FUNCTION @extschema@.api_time(at timestamptz) RETURNS timestamptz
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$ SELECT @extschema@.check_time(coalesce(at, pg_catalog.now()), 'at') $$;
COMMENT ON FUNCTION @extschema@.api_time(timestamptz) IS 'The business time of a call: at (checked by check_time), or now() when omitted';

-- the time of a call on an object: an explicit at before the object's last
-- event is refused; a defaulted one is max(now(), last event) (R-CLK-5)
CREATE FUNCTION @extschema@.call_time(at timestamptz, last_event timestamptz, what text) RETURNS timestamptz
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	IF at IS NULL THEN
		RETURN GREATEST(pg_catalog.now(), last_event);
	END IF;
	PERFORM @extschema@.check_time(at, 'at');
	IF at < last_event THEN
		RAISE EXCEPTION '% cannot act at %, before its last event at %', what, at, last_event
			USING ERRCODE = 'GB004', HINT = 'Business time only moves forward for an object; omit at to act now.';
	END IF;
	RETURN at;
END
$$;
COMMENT ON FUNCTION @extschema@.call_time(timestamptz, timestamptz, text) IS 'The business time of a call on an object (R-CLK-5)';

-- R-SEC-3: a text identifier (external reference, request id, reason) is at most max_length characters
CREATE FUNCTION @extschema@.check_text(val text, what text, max_length integer DEFAULT 200) RETURNS text
	LANGUAGE plpgsql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
BEGIN
	IF pg_catalog.length(val) > max_length THEN
		RAISE EXCEPTION '% is too long (at most % characters)', what, max_length
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = pg_catalog.format('It has %s characters.', pg_catalog.length(val));
	END IF;
	RETURN val;
END
$$;
COMMENT ON FUNCTION @extschema@.check_text(text, text, integer) IS 'Raise 22023 when a text identifier is longer than max_length characters (R-SEC-3); returns it';

-- R-SEC-3: a contract term is a non-empty [start, end) of business times
CREATE FUNCTION @extschema@.check_term(term tstzrange) RETURNS void
	LANGUAGE plpgsql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
BEGIN
	IF term IS NULL OR pg_catalog.isempty(term) OR pg_catalog.lower_inf(term) OR pg_catalog.upper_inf(term)
	   OR NOT pg_catalog.lower_inc(term) OR pg_catalog.upper_inc(term) THEN
		RAISE EXCEPTION 'a contract term must be a non-empty [start, end) range with both bounds: %', coalesce(term::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.check_time(pg_catalog.lower(term), 'the term''s start');
	PERFORM @extschema@.check_time(pg_catalog.upper(term), 'the term''s end');
END
$$;
COMMENT ON FUNCTION @extschema@.check_term(tstzrange) IS 'Raise 22023 unless a contract term is a non-empty [start, end) range of business times (R-SEC-3)';

-- R-SEC-3, R-PAYG-1, R-EXC-2: a GPU count is positive (and, for a machine, at most most)
CREATE FUNCTION @extschema@.check_gpus(gpus integer, most integer DEFAULT NULL) RETURNS integer
	LANGUAGE plpgsql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
BEGIN
	IF gpus IS NULL OR gpus <= 0 THEN
		RAISE EXCEPTION 'GPU count must be positive: %', coalesce(gpus::text, 'NULL') USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF gpus > most THEN
		RAISE EXCEPTION 'GPU count must be at most %: %', most, gpus USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN gpus;
END
$$;
COMMENT ON FUNCTION @extschema@.check_gpus(integer, integer) IS 'Raise 22023 unless a GPU count is positive and at most most (R-SEC-3): instances, resizes, contracts and machines; returns it';
