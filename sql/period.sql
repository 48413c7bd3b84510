-- billing_period: text form, calendar alignment in any time zone, DST, errors
-- R-PER-1 R-PER-2 R-PER-3 R-PER-4
\set SHOW_CONTEXT never
SET search_path = gpubill, public;
SET DateStyle = ISO;
SET TimeZone = 'Asia/Shanghai';

CREATE FUNCTION try_period(input text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	RETURN input::billing_period::text;
EXCEPTION WHEN others THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- R-PER-1 text form and round trip
SELECT '[2026-11-23 10:00:00+08,2026-11-23 11:00:00+08) hour'::billing_period AS p;
SELECT ' [2026-11-01 00:00+08, 2026-12-01 00:00+08)  month '::billing_period AS p;
SELECT input, r.result FROM (VALUES
	('[2026-11-23 10:00+08,2026-11-23 11:00+08)'),
	('(2026-11-23 10:00+08,2026-11-23 11:00+08) hour'),
	('[2026-11-23 10:00+08,2026-11-23 11:00+08] hour'),
	('[2026-11-23 10:00+08,2026-11-23 11:00+08) hours'),
	('[2026-11-23 10:00+08,2026-11-23 11:00+08) Hour'),
	('[2026-11-23 10:00+08,2026-11-23 11:00+08) hour x'),
	('[2026-11-23 10:00+08,2026-11-23 11:00+08)hour'),
	('[2026-11-23 11:00+08,2026-11-23 10:00+08) day'),
	('[2026-11-23 10:00+08,2026-11-23 10:00+08) day'),
	('[2026-11-23 10:00+08,2026-11-23 12:00+08) hour'),
	('[2026-11-23 10:00:00+08,2026-11-23 10:00:02+08) second'),
	('[2026-11-23 10:00:00.5+08,2026-11-23 11:00:00.5+08) hour'),
	('[-infinity,2026-11-23 10:00+08) day'),
	('[2026-11-23 10:00+08,infinity) month'),
	('[yesterday-ish,2026-11-23 10:00+08) day'),
	('')) v(input)
CROSS JOIN LATERAL (SELECT try_period(input)) r(result);
SELECT '[2026-11-23 10:00+08,2026-11-23 12:00+08) hour'::billing_period;

-- R-PER-2 periods containing a timestamp, in the billing time zone (default Asia/Shanghai)
SELECT unit, billing_period(unit, '2026-11-23 10:30:15.25+08') AS p
FROM unnest(ARRAY['second', 'hour', 'day', 'week', 'month']) unit;
SELECT billing_period('month', '2026-12-31 23:59:59+08') AS dec, billing_period('month', '2027-01-01 00:00+08') AS jan,
	billing_period('month', '2028-02-15 12:00+08') AS leap_feb;
SELECT billing_period('hour', '2026-11-23 10:30+08', 'Asia/Kolkata') AS half_hour_zone;
SELECT billing_period('day', '2026-11-23 10:30+08', 'UTC') AS utc_day;

-- navigation and accessors
SELECT next(p) AS next, prev(p) AS prev, lower(p), upper(p), seconds(p), unit(p)
FROM (SELECT billing_period('month', '2026-12-10 12:00+08') AS p) s;
SELECT next(billing_period('hour', '2026-11-23 23:30+08')) AS next_hour,
	prev(billing_period('second', '2026-11-23 00:00:00+08')) AS prev_second,
	next(billing_period('week', '2026-12-30 12:00+08')) AS next_week;
SELECT next(billing_period('day', '2026-11-23 10:00+08'), 'America/New_York');

-- containment and overlap with tstzrange
SELECT p @> '2026-11-23 10:00+08'::timestamptz AS has_lower, p @> '2026-11-23 11:00+08'::timestamptz AS has_upper,
	'2026-11-23 10:59:59.999999+08'::timestamptz <@ p AS in_p,
	p && tstzrange('2026-11-23 11:00+08', '2026-11-23 12:00+08') AS touches_after,
	p && tstzrange('2026-11-23 09:00+08', '2026-11-23 10:00+08', '[]') AS touches_before_incl,
	tstzrange('2026-11-23 10:59+08', NULL) && p AS open_range,
	p::tstzrange AS as_range,
	overlap_seconds(p, tstzrange('2026-11-23 10:15+08', '2026-11-23 12:00+08')) AS ov1,
	overlap_seconds(p, tstzrange('2026-11-23 09:00+08', '2026-11-23 10:00:30.9+08')) AS ov_partial_second,
	overlap_seconds(p, tstzrange('2026-11-23 12:00+08', '2026-11-23 13:00+08')) AS ov_none,
	overlap_seconds(p, 'empty') AS ov_empty
FROM (SELECT billing_period('hour', '2026-11-23 10:30+08') AS p) s;

-- America/New_York across both DST switches and month ends
SET TimeZone = 'America/New_York';
SELECT ts, billing_period('day', ts, 'America/New_York') AS day, seconds(billing_period('day', ts, 'America/New_York')) AS secs
FROM unnest(ARRAY['2026-03-08 12:00-04', '2026-11-01 12:00-05', '2026-03-31 23:30-04', '2026-10-31 23:59:59-04']::timestamptz[]) ts;
SELECT ts, billing_period('hour', ts, 'America/New_York') AS hour
FROM unnest(ARRAY['2026-03-08 01:59:59-05', '2026-03-08 03:00-04', '2026-11-01 01:30-04', '2026-11-01 01:30-05']::timestamptz[]) ts;
SELECT billing_period('month', '2026-03-15', 'America/New_York') AS march, seconds(billing_period('month', '2026-03-15', 'America/New_York')) AS march_secs,
	billing_period('month', '2026-11-15', 'America/New_York') AS november, seconds(billing_period('month', '2026-11-15', 'America/New_York')) AS nov_secs,
	billing_period('week', '2026-03-10', 'America/New_York') AS dst_week, seconds(billing_period('week', '2026-03-10', 'America/New_York')) AS week_secs;
SELECT next(billing_period('day', '2026-03-07 12:00', 'America/New_York'), 'America/New_York') AS short_day,
	prev(billing_period('day', '2026-11-02 12:00', 'America/New_York'), 'America/New_York') AS long_day;
SET TimeZone = 'Asia/Shanghai';

-- R-PER-3 add_term: end-of-month clamp, weeks of 7 x 24 h
SELECT add_term('2026-01-31 10:00+08', 'month', 1) AS jan31_plus_1m,
	add_term('2028-01-31 10:00+08', 'month', 1) AS leap,
	add_term('2026-01-31 10:00+08', 'month', 2) AS jan31_plus_2m,
	add_term('2026-12-31 10:00+08', 'month', 2) AS over_year,
	add_term('2026-03-31 10:00+08', 'month', -1) AS minus_month,
	add_term('2026-11-23 10:00+08', 'week', 1) AS week,
	add_term('2026-11-23 10:00+08', 'day', 3) AS days,
	add_term('2026-11-23 10:00+08', 'hour', 5) AS hours,
	add_term('2026-11-23 10:00+08', 'second', 90) AS seconds;
SET TimeZone = 'America/New_York';
SELECT add_term('2026-03-07 10:00', 'week', 1, 'America/New_York') AS week_is_168h,
	add_term('2026-03-07 10:00', 'day', 7, 'America/New_York') AS seven_local_days,
	add_term('2026-02-08 10:00', 'month', 1, 'America/New_York') AS month_keeps_local_time;
SET TimeZone = 'Asia/Shanghai';

-- R-PER-4 billable hours
SELECT billable_hours(5400, 'exact') AS exact, billable_hours(5400, 'ceil') AS ceil,
	billable_hours(1, 'ceil') AS one_second, billable_hours(0, 'ceil') AS none, billable_hours(7200, 'ceil') AS two;

-- errors
SELECT billing_period('fortnight', now());
SELECT billing_period('hour', now(), 'Mars/Olympus');
SELECT billing_period('hour', 'infinity');
SELECT next(billing_period('month', '2026-11-23 10:00+08'), 'America/New_York');
SELECT add_term('2026-01-31', 'year', 1);
SELECT add_term('294270-01-01', 'month', 1200);
-- overflow of the count of units is an error (22003), never a wrapped date (issue 11)
SELECT add_term('2026-01-01 00:00+00', 'week', 2147483647);
SELECT add_term('2026-01-01 00:00+00', 'day', 2147483647);
SELECT add_term('2026-01-01 00:00+00', 'day', -2147483647);
SELECT add_term('2026-01-01 00:00+00', 'hour', -2147483647);
SELECT add_term('2026-01-01 00:00+00', 'month', -2147483647);
SELECT add_term('2026-01-01 00:00+00', 'second', 2147483647);   -- 68 years: in range
-- a malformed bound is malformed input of the period (22P02)
SELECT '[2026-13-45 10:00,2026-11-23 11:00) hour'::billing_period;
SELECT '[2026-11-23 10:00+08,yesterdayish) hour'::billing_period;
SELECT billable_hours(-1, 'ceil');
SELECT billable_hours(60, 'floor');
