/*
 * 50_calendar.sql — the billing calendar: periods of the billing_period
 * type aligned to a time zone, by default the setting billing_timezone
 * (R-PER-1..4), and working days in it (payout and refund due dates,
 * payment grace).
 *
 * Map (scripts/file-map.pl):
 * Internals: add_term, add_working_days, billing_period, next, prev.
 * Uses: 1_types.
 */

-- the periods of a unit (R-PER-1, R-PER-2)
CREATE FUNCTION @extschema@.billing_period(unit text, ts timestamptz, tz text DEFAULT @extschema@.billing_timezone())
	RETURNS @extschema@.billing_period
	AS 'MODULE_PATHNAME', 'billing_period_make' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.billing_period(text, timestamptz, text) IS 'The period of a unit containing ts, aligned to the calendar of tz (default: the billing time zone)';
CREATE FUNCTION @extschema@.next(p @extschema@.billing_period, tz text DEFAULT @extschema@.billing_timezone())
	RETURNS @extschema@.billing_period
	AS 'MODULE_PATHNAME', 'billing_period_next' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.next(@extschema@.billing_period, text) IS 'The period after p; day, week and month periods must be aligned to tz';
CREATE FUNCTION @extschema@.prev(p @extschema@.billing_period, tz text DEFAULT @extschema@.billing_timezone())
	RETURNS @extschema@.billing_period
	AS 'MODULE_PATHNAME', 'billing_period_prev' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.prev(@extschema@.billing_period, text) IS 'The period before p; day, week and month periods must be aligned to tz';

-- calendar arithmetic (R-PER-3, R-PER-4)
CREATE FUNCTION @extschema@.add_term(ts timestamptz, unit text, n integer, tz text DEFAULT @extschema@.billing_timezone())
	RETURNS timestamptz
	AS 'MODULE_PATHNAME', 'billing_add_term' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.add_term(timestamptz, text, integer, text) IS 'ts plus n units in the calendar of tz: months clamp to the month''s end, weeks are 7 x 24 h';


-- t plus n working days (Mon-Fri) in the billing time zone, same local time
CREATE FUNCTION @extschema@.add_working_days(t timestamptz, n integer) RETURNS timestamptz
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	tz text := @extschema@.billing_timezone();
	d timestamp := t AT TIME ZONE tz;
	left_ integer := n;
BEGIN
	WHILE left_ > 0 LOOP
		d := d + interval '1 day';
		IF EXTRACT(isodow FROM d) < 6 THEN
			left_ := left_ - 1;
		END IF;
	END LOOP;
	RETURN d AT TIME ZONE tz;
END
$$;
COMMENT ON FUNCTION @extschema@.add_working_days(timestamptz, integer) IS 'An instant plus n working days (Monday to Friday) in the billing time zone';
