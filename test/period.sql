-- pgTAP: billing periods and calendar arithmetic against PostgreSQL's own calendar
-- R-PER-1 R-PER-2 R-PER-3 R-PER-4
BEGIN;
SET LOCAL search_path = gpubill, public;
SELECT plan(22);

-- every 7 minutes 13 seconds of 2026 (72 000 instants), in three zones
CREATE TEMP TABLE instants AS
SELECT tz, '2026-01-01 00:00+00'::timestamptz + i * interval '433 seconds' AS ts
FROM generate_series(0, 72000) i, unnest(ARRAY['Asia/Shanghai', 'America/New_York', 'Europe/London']) tz;

CREATE TEMP TABLE periods AS
SELECT tz, ts, unit, billing_period(unit, ts, tz) AS p
FROM instants, unnest(ARRAY['hour', 'day', 'week', 'month']) unit;

-- R-PER-2 alignment: lower bounds on the local hour, midnight, Monday, the 1st
SELECT is((SELECT count(*) FROM periods WHERE NOT (p @> ts)), 0::bigint,
		  'every period contains its timestamp');
SELECT is((SELECT count(*) FROM periods WHERE unit <> 'hour'
			AND lower(p) <> date_trunc(unit, ts, tz)), 0::bigint,
		  'day, week and month periods start where date_trunc(unit, ts, tz) says');
SELECT is((SELECT count(*) FROM periods WHERE unit = 'hour'
			AND (extract(minute FROM lower(p) AT TIME ZONE tz) <> 0
				 OR extract(second FROM lower(p) AT TIME ZONE tz) <> 0)), 0::bigint,
		  'hour periods start on the local hour');
SELECT is((SELECT count(*) FROM periods WHERE unit = 'hour' AND seconds(p) <> 3600), 0::bigint,
		  'hour periods last 3600 s, also across DST switches');
SELECT is((SELECT count(*) FROM periods WHERE unit = 'day' AND seconds(p) NOT IN (82800, 86400, 90000)), 0::bigint,
		  'days last 23, 24 or 25 h');
SELECT is((SELECT count(DISTINCT p) FROM periods WHERE unit = 'day' AND tz = 'America/New_York'
		   AND seconds(p) <> 86400), 2::bigint,
		  'New York has one 23 h and one 25 h day in 2026');
SELECT is((SELECT count(*) FROM periods WHERE unit = 'week'
			AND extract(isodow FROM lower(p) AT TIME ZONE tz) <> 1), 0::bigint,
		  'weeks start on Monday');
SELECT is((SELECT count(*) FROM periods WHERE unit = 'month'
			AND extract(day FROM lower(p) AT TIME ZONE tz) <> 1), 0::bigint,
		  'months start on the 1st');

-- R-PER-2 navigation: periods tile time without gaps or overlaps
SELECT is((SELECT count(*) FROM periods WHERE lower(next(p, tz)) <> upper(p) OR prev(next(p, tz), tz) <> p
			OR upper(prev(p, tz)) <> lower(p)), 0::bigint,
		  'next and prev tile time: next(p).lower = p.upper, prev(next(p)) = p');
SELECT is((SELECT count(*) FROM periods WHERE next(p, tz) <> billing_period(unit, upper(p), tz)), 0::bigint,
		  'next(p) is the period containing p.upper');
SELECT is((SELECT count(*) FROM (SELECT tz, unit, sum(seconds(p)) AS s
		   FROM (SELECT DISTINCT tz, unit, p FROM periods WHERE unit IN ('hour', 'day', 'month')
				 AND lower(p) >= '2026-02-01 00:00+00' AND upper(p) <= '2026-12-01 00:00+00') d
		   GROUP BY 1, 2) t
		   WHERE s <> (SELECT extract(epoch FROM (max(upper(p)) - min(lower(p))))::bigint
					   FROM periods q WHERE q.tz = t.tz AND q.unit = t.unit
						 AND lower(q.p) >= '2026-02-01 00:00+00' AND upper(q.p) <= '2026-12-01 00:00+00')), 0::bigint,
		  'the distinct periods of a unit cover their span exactly');
SELECT is((SELECT count(*) FROM periods WHERE p::tstzrange <> tstzrange(lower(p), upper(p), '[)')
			OR NOT (p && tstzrange(ts, NULL)) OR overlap_seconds(p, tstzrange(NULL, NULL)) <> seconds(p)), 0::bigint,
		  'cast to tstzrange, && and overlap_seconds agree with the bounds');
SELECT is((SELECT count(*) FROM periods WHERE p::text::billing_period <> p), 0::bigint,
		  'text output reads back as the same period');

-- R-PER-3 add_term: months and days follow the zone's calendar, like timestamptz + interval there
SET LOCAL TimeZone = 'America/New_York';
SELECT is((SELECT count(*) FROM instants, generate_series(-3, 14) n
		   WHERE tz = 'America/New_York' AND ts < '2026-03-01'
			 AND (add_term(ts, 'month', n, tz) <> ts + n * interval '1 month'
				  OR add_term(ts, 'day', n, tz) <> ts + n * interval '1 day')), 0::bigint,
		  'add_term month/day = timestamptz + interval in New York');
SET LOCAL TimeZone = 'Asia/Shanghai';
SELECT is((SELECT count(*) FROM instants, generate_series(-3, 14) n
		   WHERE tz = 'Asia/Shanghai' AND ts < '2026-03-01'
			 AND (add_term(ts, 'month', n) <> ts + n * interval '1 month'
				  OR add_term(ts, 'week', n) <> ts + n * interval '168 hours')), 0::bigint,
		  'add_term month/week in the billing time zone (default Asia/Shanghai)');
SELECT is(add_term('2026-01-31 10:00+08', 'month', 1), '2026-02-28 10:00+08'::timestamptz,
		  'Jan 31 + 1 month = Feb 28');
SELECT is(add_term('2028-01-31 10:00+08', 'month', 1), '2028-02-29 10:00+08'::timestamptz,
		  'Jan 31 + 1 month = Feb 29 in a leap year');
SELECT is(add_term('2026-03-07 10:00-05', 'week', 1, 'America/New_York'), '2026-03-14 11:00-04'::timestamptz,
		  'a week is 7 x 24 h, also across a DST switch');

-- R-PER-4 billable hours
SELECT is((SELECT count(*) FROM generate_series(0, 20000, 7) s
		   WHERE billable_hours(s, 'ceil') <> ceil(s / 3600.0)
			  OR billable_hours(s, 'exact') <> s::numeric / 3600), 0::bigint,
		  'billable_hours ceil and exact');
SELECT is(billable_hours(1, 'ceil'), 1::numeric, 'any positive usage is at least one hour');
SELECT throws_ok($$SELECT gpubill.billable_hours(60, 'round')$$, '22023', NULL, 'unknown rounding raises 22023');
SELECT throws_ok($$SELECT gpubill.billing_period('hour', now(), 'Nowhere/Void')$$, '22023', NULL,
				 'unknown time zone raises 22023');

SELECT * FROM finish();
ROLLBACK;
