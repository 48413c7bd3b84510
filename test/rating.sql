-- pgTAP: the rating type and its daily caps
-- R-RAT-1 R-RAT-2 R-RAT-3
BEGIN;
SET LOCAL search_path = gpubill, public;
SELECT plan(11);

SELECT is((SELECT count(*) FROM generate_series(0, 5000) p
		   WHERE rating_from_points(p)::text::rating <> rating_from_points(p)
			  OR points(rating_from_points(p)::text::rating) <> p
			  OR rating_from_points(p)::text <> to_char(p / 1000.0, 'FM0.000')), 0::bigint,
		  'all 5001 ratings read back from their text with 3 decimals');
SELECT is('3.5'::rating::text, '3.500', '3.5 reads as 3.500');
SELECT throws_ok($$SELECT '5.5'::gpubill.rating$$, '22003', NULL, 'above 5 is out of range');
SELECT throws_ok($$SELECT '-0.5'::gpubill.rating$$, '22003', NULL, 'below 0 is out of range');
SELECT throws_ok($$SELECT '2.0005'::gpubill.rating$$, '22P02', NULL, 'a fourth decimal is malformed, not rounded');

-- R-RAT-2 clamping
SELECT is((SELECT count(*) FROM generate_series(0, 5000, 250) p, generate_series(-6000, 6000, 125) d
		   WHERE points(rating_from_points(p) + d) <> greatest(0, least(5000, p + d))
			  OR points(rating_from_points(p) - d) <> greatest(0, least(5000, p - d))), 0::bigint,
		  'rating + points clamps to [0, 5000]');
SELECT is((SELECT count(*) FROM generate_series(0, 5000, 50) a, generate_series(0, 5000, 50) b
		   WHERE (rating_from_points(a) < rating_from_points(b)) <> (a < b)), 0::bigint,
		  'ratings order like their points');

-- R-RAT-3 a simulated day of rating events: gains stop at +500, losses at -3000
CREATE TEMP TABLE events (seq int, delta int);
INSERT INTO events VALUES (1, 200), (2, 200), (3, 200), (4, -1000), (5, 100), (6, -1500), (7, -1500), (8, -200), (9, 50);
CREATE TEMP TABLE day_log (seq int, r rating, gained int, lost int);
DO $$
DECLARE
	e record;
	r gpubill.rating := '3.5';
	g int := 0;
	l int := 0;
	n gpubill.rating;
BEGIN
	FOR e IN SELECT * FROM events ORDER BY seq LOOP
		n := gpubill.rating_apply(r, e.delta, g, l);
		IF gpubill.points(n) > gpubill.points(r) THEN g := g + gpubill.points(n) - gpubill.points(r); END IF;
		IF gpubill.points(n) < gpubill.points(r) THEN l := l + gpubill.points(r) - gpubill.points(n); END IF;
		r := n;
		INSERT INTO day_log VALUES (e.seq, r, g, l);
	END LOOP;
END $$;
SELECT results_eq($$SELECT seq, r::text, gained, lost FROM day_log ORDER BY seq$$,
	$$VALUES (1, '3.700', 200, 0), (2, '3.900', 400, 0), (3, '4.000', 500, 0), (4, '3.000', 500, 1000),
			 (5, '3.000', 500, 1000), (6, '1.500', 500, 2500), (7, '1.000', 500, 3000),
			 (8, '1.000', 500, 3000), (9, '1.000', 500, 3000)$$,
	'a day of events honours the gain cap of 500 and the loss cap of 3000');
SELECT is(rating_apply('0.2', -1000, 0, 0), '0'::rating, 'a loss stops at 0');
SELECT is(rating_apply('4.9', 400, 0, 0), '5'::rating, 'a gain stops at 5');
SELECT throws_ok($$SELECT gpubill.rating_apply('3.5', 1, -1, 0)$$, '22023', NULL,
				 'negative points gained today raise 22023');

SELECT * FROM finish();
ROLLBACK;
