-- pgTAP: behaviour of the amount type
-- R-AMT-1 R-AMT-2 R-AMT-3 R-AMT-4 R-AMT-5 R-AMT-6
BEGIN;
SET LOCAL search_path = gpubill, public;
SELECT setseed(0.42);

CREATE TEMP TABLE bad_input (input text, sqlstate text);
INSERT INTO bad_input VALUES
	('', '22P02'), ('   ', '22P02'), ('CNY', '22P02'), ('12.5 cny', '22P02'), ('12.5 Cny', '22P02'),
	('12.5 CN', '22P02'), ('12.5 CNYY', '22P02'), ('12.5 C1Y', '22P02'), ('12.5 €', '22P02'),
	('12.5CNY', '22P02'), ('CNY12.5', '22P02'), ('1 2 CNY', '22P02'), ('12 .5 CNY', '22P02'),
	('12. 5 CNY', '22P02'), ('- 12 CNY', '22P02'), ('+-12 CNY', '22P02'), ('--12 CNY', '22P02'),
	('12- CNY', '22P02'), ('1e3 CNY', '22P02'), ('1E3 CNY', '22P02'), ('1.5e-2 CNY', '22P02'),
	('0.1234567 CNY', '22P02'), ('1.0000000 CNY', '22P02'), ('NaN', '22P02'), ('NaN CNY', '22P02'),
	('Infinity', '22P02'), ('-Infinity CNY', '22P02'), ('inf CNY', '22P02'), ('1,000.00 CNY', '22P02'),
	('1.000,00 CNY', '22P02'), ('.5 CNY', '22P02'), ('5. CNY', '22P02'), ('12.5 CNY USD', '22P02'),
	('CNY 12.5 CNY', '22P02'), ('USD CNY 1', '22P02'), ('$12.50', '22P02'), ('0x10 CNY', '22P02'),
	('12.5 usd', '22P02'), ('12_000 CNY', '22P02'), ('１２ CNY', '22P02'), ('12.5 CNY;', '22P02'),
	('(12.5) CNY', '22P02'), ('CNY -', '22P02'), ('-', '22P02'), ('.', '22P02'),
	('9223372036854.775808 CNY', '22003'), ('-9223372036854.775808 CNY', '22003'),
	('99999999999999999999 CNY', '22003'), ('10000000000000 CNY', '22003'),
	('-18446744073709551616 USD', '22003');

SELECT plan(
	(SELECT count(*)::int FROM bad_input) + 30
);

-- R-AMT-2 every malformed input is refused with its SQLSTATE
SELECT throws_ok(format('SELECT %L::gpubill.amount', input), sqlstate, NULL,
				 format('%s: %L', sqlstate, input))
FROM bad_input ORDER BY input;

-- R-AMT-1 R-AMT-2 round trip over many random values: text -> amount -> text
CREATE TEMP TABLE sample AS
SELECT amount_from_micros(
		CASE i % 4
			WHEN 0 THEN (random() * 2e18 - 1e18)::bigint * 9
			WHEN 1 THEN (random() * 2e12 - 1e12)::bigint
			WHEN 2 THEN (random() * 2000 - 1000)::bigint
			ELSE ((random() * 2e6 - 1e6)::bigint) * 10000
		END,
		(ARRAY['CNY', 'USD', 'EUR', 'JPY', 'XAU'])[1 + i % 5]) AS a,
	i
FROM generate_series(1, 20000) i;
INSERT INTO sample VALUES ('9223372036854.775807 CNY', 0), ('-9223372036854.775807 USD', -1), ('0 EUR', -2);

SELECT is((SELECT count(*) FROM sample WHERE a::text::amount <> a), 0::bigint,
		  'text -> amount -> text is the identity on 20003 values');
SELECT is((SELECT count(*) FROM sample WHERE a::text !~ '^-?[0-9]+\.[0-9]{2,6} [A-Z]{3}$'
											OR (a::text ~ '\.[0-9]{3,}' AND a::text ~ '0 [A-Z]{3}$')), 0::bigint,
		  'output is canonical: at least 2 decimals, no trailing zeros beyond 2');
SELECT is((SELECT count(*) FROM sample WHERE amount(to_numeric(a), currency(a)) <> a), 0::bigint,
		  'amount -> numeric -> amount is the identity');

-- binary send/recv: COPY out and in with FORMAT binary
CREATE TEMP TABLE sample_copy (a amount, i int);
DO $$
DECLARE
	f text := current_setting('data_directory') || '/gpubill_amount_test.bin';
BEGIN
	EXECUTE format('COPY sample TO %L WITH (FORMAT binary)', f);
	EXECUTE format('COPY sample_copy FROM %L WITH (FORMAT binary)', f);
END $$;
SELECT is((SELECT count(*) FROM sample s JOIN sample_copy c USING (i) WHERE s.a = c.a), 20003::bigint,
		  'send -> recv is the identity on 20003 values');

-- R-AMT-3 arithmetic against exact numeric arithmetic
CREATE TEMP TABLE pairs AS
SELECT amount_from_micros((random() * 2e15 - 1e15)::bigint, 'CNY') AS a,
	amount_from_micros((random() * 2e15 - 1e15)::bigint, 'CNY') AS b,
	round((random() * 20 - 10)::numeric, (random() * 12)::int) AS n
FROM generate_series(1, 5000);
SELECT is((SELECT count(*) FROM pairs WHERE to_numeric(a + b) <> to_numeric(a) + to_numeric(b)
											OR to_numeric(a - b) <> to_numeric(a) - to_numeric(b)
											OR (a + b) - b <> a OR -(-a) <> a), 0::bigint,
		  'sums and differences are exact');
SELECT is((SELECT count(*) FROM pairs WHERE to_numeric(a * n) <> round(to_numeric(a) * n, 6)
											OR n * a <> a * n), 0::bigint,
		  'amount * numeric is the exact product rounded half away from zero to 6 decimals');
-- (the oracle divides at 30 decimals, so that rounding to 6 happens once)
SELECT is((SELECT count(*) FROM pairs WHERE n <> 0 AND to_numeric(a / n) <> round(round(to_numeric(a), 30) / n, 6)), 0::bigint,
		  'amount / numeric is the quotient rounded half away from zero to 6 decimals');
SELECT is((SELECT count(*) FROM pairs WHERE b <> zero('CNY') AND a / b <> to_numeric(a) / to_numeric(b)), 0::bigint,
		  'amount / amount is the numeric ratio');
SELECT is('0.000005 CNY'::amount / 10, '0.000001 CNY'::amount, 'a quotient half-way is rounded away from zero');
SELECT is('-0.000005 CNY'::amount / 10, '-0.000001 CNY'::amount, 'a negative quotient half-way is rounded away from zero');
SELECT throws_ok($$SELECT '1 CNY'::gpubill.amount + '1 USD'::gpubill.amount$$, 'GB003', NULL,
				 'adding currencies raises GB003');
SELECT throws_ok($$SELECT '9000000000000 CNY'::gpubill.amount + '9000000000000 CNY'::gpubill.amount$$, '22003', NULL,
				 'overflow raises 22003');
SELECT throws_ok($$SELECT '9000000000000 CNY'::gpubill.amount * 1.5$$, '22003', NULL,
				 'product overflow raises 22003');
SELECT is((SELECT count(*) FROM pairs WHERE (a < b) <> (to_numeric(a) < to_numeric(b))
											OR (a = b) <> (to_numeric(a) = to_numeric(b))), 0::bigint,
		  'comparisons agree with numeric within a currency');
SELECT ok('1000 CNY'::amount < '1 USD'::amount AND '1 CNY'::amount <> '1 USD'::amount,
		  'across currencies: a total order by currency code, equality false');

-- R-AMT-4 rounding and helpers
SELECT is(round('2.345 CNY'::amount, 2), '2.35 CNY'::amount, 'round 2.345 -> 2.35');
SELECT is(round('-2.345 CNY'::amount, 2), '-2.35 CNY'::amount, 'round -2.345 -> -2.35');
SELECT is((SELECT count(*) FROM pairs WHERE to_numeric(round(a, 2)) <> round(to_numeric(a), 2)
											OR to_numeric(round(a, 0)) <> round(to_numeric(a), 0)), 0::bigint,
		  'round(amount, d) agrees with numeric round (half away from zero)');
SELECT is(abs('-1.5 EUR'::amount)::text || currency('1 EUR'::amount) || zero('JPY')::text,
		  '1.50 EUREUR0.00 JPY', 'abs, currency and zero');

-- R-AMT-2 the default currency comes from the GUC, settable per database or role
SET LOCAL gpubill.default_currency = 'EUR';
SELECT is('7'::amount, '7 EUR'::amount, 'a bare number takes gpubill.default_currency');
SELECT is(7::numeric::amount, '7 EUR'::amount, 'numeric::amount takes gpubill.default_currency');
SELECT throws_ok($$SET LOCAL gpubill.default_currency = 'eur'$$, '22023', NULL,
				 'a lower-case default currency is refused');
RESET gpubill.default_currency;

-- R-AMT-5 aggregates against numeric
SELECT is((SELECT sum(a)::numeric FROM pairs), (SELECT sum(to_numeric(a)) FROM pairs), 'sum is exact');
SELECT is((SELECT avg(a)::numeric FROM pairs), (SELECT round(avg(to_numeric(a)), 6) FROM pairs),
		  'avg is the mean rounded to 6 decimals');
SELECT throws_ok($$SELECT gpubill.sum(x) FROM (VALUES ('1 CNY'::gpubill.amount), ('1 USD')) v(x)$$,
				 'GB003', NULL, 'sum over mixed currencies raises GB003');

-- R-AMT-6 every C function is immutable (or stable where it reads a setting) and parallel safe
SELECT is((SELECT count(*) FROM pg_proc p
		   WHERE p.pronamespace = 'gpubill'::regnamespace
			 AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')
			 AND (p.provolatile = 'v' OR p.proparallel <> 's')), 0::bigint,
		  'no C function is volatile or parallel unsafe');

-- R-AMT-3 R-AMT-4 amount * numeric in 128-bit integers (factors of at most 18 digits) and in numeric (longer
-- ones) gives the exact product rounded once half away from zero: against numeric's own arithmetic, over
-- random amounts, halves exactly, negative factors, and factors remembered or not (more than four in turn)
CREATE TEMP TABLE factors (f numeric);
INSERT INTO factors VALUES (0.2), (0.8), (1), (24), (0.5), (-0.5), (0.000001), (0.0000005), (-1.5), (3.14159265358979),
	(0.123456789012345678), (0.1234567890123456789), (1.00000000000000000000001), (99999.999999999), (0), (-0.333333),
	(12345678901234.5678);
CREATE TEMP TABLE products AS
SELECT a, f, to_numeric(a) * f AS exact
FROM (SELECT a FROM sample UNION ALL SELECT amount_from_micros(m, 'CNY')
	  FROM unnest(ARRAY[1, 5, -5, 15, 25, -25, 499999, 500000, 1000001, 9223372036854775807, -9223372036854775807]::bigint[]) m) x
CROSS JOIN factors;
SELECT is((SELECT count(*) FROM products
		   WHERE CASE WHEN abs(round(exact, 6)) <= 9223372036854.775807	/* CASE: checked only in range */
					  THEN a * f IS DISTINCT FROM amount_from_micros((round(exact, 6) * 1000000)::bigint, currency(a))
						   OR f * a IS DISTINCT FROM a * f
					  ELSE false END),
		  0::bigint, 'amount * numeric is the exact product rounded half away from zero to 6 decimals, every factor');
SELECT is((SELECT count(*) FROM products
		   WHERE CASE WHEN f BETWEEN 0 AND 1 AND abs(round(to_numeric(a) * (1 - f), 2)) <= 9223372036854.775807
					  THEN partner_income(a, f)
						   IS DISTINCT FROM amount_from_micros((round(to_numeric(a) * (1 - f), 2) * 1000000)::bigint, currency(a))
					  ELSE false END),
		  0::bigint, 'partner_income(payment, rate) is round2(payment x (1 - rate)), every rate');
CREATE FUNCTION pg_temp.product_state(a gpubill.amount, f numeric) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	PERFORM a * f;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE;
END $$;
SELECT results_eq($$SELECT DISTINCT pg_temp.product_state(a, f) FROM products WHERE abs(round(exact, 6)) > 9223372036854.775807$$,
				  $$VALUES ('22003'::text)$$, 'every product beyond the range raises 22003, whichever the path');
SELECT throws_ok($$SELECT '9223372036854.775807 CNY'::gpubill.amount * 24$$, '22003', NULL,
				 'a product beyond the range raises 22003 in the integer path too');
SELECT * FROM finish();
ROLLBACK;
