-- rating: text I/O, points, clamping, daily caps
-- R-RAT-1 R-RAT-2 R-RAT-3
\set SHOW_CONTEXT never
SET search_path = gpubill, public;

CREATE FUNCTION try_rating(input text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	RETURN input::rating::text;
EXCEPTION WHEN others THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- R-RAT-1 text I/O: at most 3 decimals, 0.000 to 5.000
SELECT input, try_rating(input) AS result FROM (VALUES
	('3.5'), ('0'), ('5'), ('5.000'), (' 4.25 '), ('+1.001'), ('-0'), ('0.000'),
	('5.001'), ('6'), ('-0.001'), ('-1'), ('99999999999'), ('3.5555'), ('3.'), ('.5'), (''),
	('abc'), ('3,5'), ('1e0'), ('NaN'), ('3 .5')) v(input);
SELECT '5.001'::rating;
SELECT '3.5555'::rating;

-- R-RAT-2 points, arithmetic clamped to [0, 5000], comparison and ordering
SELECT points('3.5'::rating) AS p, rating_from_points(4200) AS r,
	'3.5'::rating + 2000 AS clamped_high, '0.5'::rating - 900 AS clamped_low,
	100 + '4.95'::rating AS commuted, '3.5'::rating + (-300) AS minus,
	'3.5'::rating + 2147483647 AS huge, '3.5'::rating - 2147483647 AS huge_loss;
SELECT rating_from_points(5001);
SELECT rating_from_points(-1);
SELECT '3.5'::rating < '4'::rating AS lt, '3.5'::rating = '3.500'::rating AS eq,
	'3.5'::rating >= '4'::rating AS ge, '3.5'::rating <> '3.501'::rating AS ne;
SELECT r FROM (VALUES ('4.5'::rating), ('0'), ('3.5'), ('5'), ('3.5')) v(r) GROUP BY r ORDER BY r;

-- R-RAT-3 daily caps: gain at most 500 points a day, lose at most 3000 (settings)
SELECT rating_apply('3.5', 300, 0, 0) AS gain,
	rating_apply('3.5', 800, 0, 0) AS gain_capped,
	rating_apply('3.5', 300, 400, 0) AS gain_partly_left,
	rating_apply('3.5', 300, 500, 0) AS gain_none_left,
	rating_apply('3.5', 300, 900, 0) AS gain_over_cap,
	rating_apply('4.9', 500, 0, 0) AS gain_clamped_at_5,
	rating_apply('3.5', -1000, 0, 0) AS loss,
	rating_apply('3.5', -4000, 0, 0) AS loss_capped,
	rating_apply('3.5', -1000, 0, 2500) AS loss_partly_left,
	rating_apply('1.0', -2000, 0, 0) AS loss_clamped_at_0,
	rating_apply('3.5', 300, 0, 3000) AS gain_after_losses,
	rating_apply('3.5', 0, 0, 0) AS nothing;
BEGIN;
SELECT set_setting('rating_daily_gain_cap', '100');
SELECT rating_apply('3.5', 300, 0, 0) AS gain_with_cap_100,
	rating_apply('3.5', 300, 0, 0, 1000, 3000) AS explicit_caps;
ROLLBACK;
SELECT rating_apply('3.5', 300, -1, 0);
SELECT rating_apply('3.5', 300, 0, 0, -5, 0);
