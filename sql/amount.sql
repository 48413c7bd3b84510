-- amount: text I/O, canonical output, malformed input, operators, helpers
-- R-AMT-1 R-AMT-2 R-AMT-3 R-AMT-4 R-AMT-6
\set SHOW_CONTEXT never
SET search_path = gpubill, public;
SET extra_float_digits = 0;

-- a helper that shows the SQLSTATE and message of a failing conversion
CREATE FUNCTION try_amount(input text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	RETURN input::amount::text;
EXCEPTION WHEN others THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- R-AMT-2 accepted forms and canonical output (at least 2 decimals, zeros beyond trimmed)
SELECT input, input::amount AS amount FROM (VALUES
	('12.5 CNY'), ('CNY 12.5'), ('-0.0004 CNY'), ('12.5'), ('  12.5 CNY  '), (E'12.5\tCNY'),
	('+1 USD'), ('007.50 EUR'), ('EUR -0.000001'), ('0 XYZ'), ('-0 CNY'), ('1.000000 CNY'),
	('123456.789 USD'), ('0.10 CNY'), ('5 JPY'),
	('9223372036854.775807 CNY'), ('-9223372036854.775807 CNY')) v(input);

-- R-AMT-2 malformed input: 22P02 for syntax and more than 6 decimals, 22003 for range
SELECT input, try_amount(input) AS result FROM (VALUES
	(''), ('   '), ('CNY'), ('12.5 cny'), ('12.5 Cny'), ('12.5 CN'), ('12.5 CNYY'), ('12.5 C1Y'),
	('12.5 €'), ('12.5CNY'), ('CNY12.5'), ('1 2 CNY'), ('12 .5 CNY'), ('12. 5 CNY'),
	('- 12 CNY'), ('+-12 CNY'), ('--12 CNY'), ('12- CNY'), ('1e3 CNY'), ('1E3 CNY'),
	('1.5e-2 CNY'), ('0.1234567 CNY'), ('1.0000000 CNY'), ('NaN'), ('NaN CNY'), ('Infinity'),
	('-Infinity CNY'), ('inf CNY'), ('1,000.00 CNY'), ('1.000,00 CNY'), ('.5 CNY'), ('5. CNY'),
	('12.5 CNY USD'), ('CNY 12.5 CNY'), ('USD CNY 1'), ('$12.50'), ('0x10 CNY'), ('12.5 usd'),
	('12_000 CNY'), ('１２ CNY'), ('12.5 CNY;'), ('(12.5) CNY'), ('CNY -'), ('-'), ('.'),
	('9223372036854.775808 CNY'), ('-9223372036854.775808 CNY'), ('99999999999999999999 CNY'),
	('10000000000000 CNY'), ('99999999999999999999999999999999.1234567 CNY')) v(input);

-- the full error report of each kind
SELECT '12.5 cny'::amount;
SELECT '0.1234567 CNY'::amount;
SELECT '10000000000000 CNY'::amount;

-- R-AMT-2 the default currency is a setting (per database or role with ALTER ... SET)
SET gpubill.default_currency = 'USD';
SELECT '12'::amount, 12.5::amount;
SET gpubill.default_currency = 'usd';
SET gpubill.default_currency = 'EURO';
RESET gpubill.default_currency;
SELECT '12'::amount;
-- per database (and likewise per role), taking effect in new sessions
SELECT current_database() AS dbname \gset
ALTER DATABASE :"dbname" SET gpubill.default_currency = 'EUR';
\c
SELECT '12'::gpubill.amount, current_setting('gpubill.default_currency');
ALTER DATABASE :"dbname" RESET gpubill.default_currency;
\c
SET search_path = gpubill, public;
SELECT '12'::amount;

-- R-AMT-3 arithmetic; currencies must match; overflow is an error
SELECT '0.1 CNY'::amount + '0.2 CNY' AS sum, '1 CNY'::amount - '2.5 CNY' AS diff, -'3.25 USD'::amount AS neg;
SELECT '1 CNY'::amount + '1 USD';
SELECT '1 CNY'::amount - '1 USD';
SELECT '9223372036854.775807 CNY'::amount + '0.000001 CNY';
SELECT '-9223372036854.775807 CNY'::amount - '0.000001 CNY';

-- products and quotients: exact, rounded half away from zero to 6 decimals
SELECT '2.345 CNY'::amount * 1.5 AS a, 1.5 * '2.345 CNY'::amount AS b,
	'0.000001 CNY'::amount * 0.5 AS half_up, '-0.000001 CNY'::amount * 0.5 AS half_down,
	'0.000001 CNY'::amount * 0.4999999999 AS below_half,
	'10 CNY'::amount / 3 AS third, '-10 CNY'::amount / 3 AS neg_third,
	'0.000001 CNY'::amount / 2 AS q_half, '-0.000001 CNY'::amount / -2 AS q_half2,
	'0.000001 CNY'::amount / -2 AS q_half_neg, '1 CNY'::amount / 3000000.0000001 AS tiny;
SELECT '10 CNY'::amount / '4 CNY'::amount AS ratio;
SELECT '10 CNY'::amount / '4 USD'::amount;
SELECT '10 CNY'::amount / 0;
SELECT '10 CNY'::amount / '0 CNY'::amount;
SELECT '9223372036854 CNY'::amount * 2;
SELECT '1 CNY'::amount * 'NaN'::numeric;
SELECT '1 CNY'::amount / 'Infinity'::numeric;

-- comparison: a total order by currency code, then value; it never raises, so
-- indexes and planner estimates work on columns holding several currencies
SELECT '1 CNY'::amount = '1.000 CNY' AS eq, '1 CNY'::amount = '1 USD' AS eq_other,
	'1 CNY'::amount <> '1 USD' AS ne, '1 CNY'::amount < '2 CNY' AS lt, '2 CNY'::amount <= '2 CNY' AS le,
	'3 CNY'::amount > '2 CNY' AS gt, '2 CNY'::amount >= '3 CNY' AS ge;
SELECT '2 CNY'::amount < '1 USD' AS cny_before_usd, '1 EUR'::amount < '-5 USD' AS eur_before_usd,
	'1 CNY'::amount >= '2 USD' AS ge_other;

-- R-AMT-4 round half away from zero, abs, currency, conversions, zero
SELECT round('2.345 CNY'::amount, 2) AS r1, round('-2.345 CNY'::amount, 2) AS r2,
	round('2.344999 CNY'::amount, 2) AS r3, round('2.5 CNY'::amount, 0) AS r4,
	round('-2.5 CNY'::amount, 0) AS r5, round('1234.5 CNY'::amount, -2) AS r6,
	round('1.234567 CNY'::amount, 9) AS r7, round('4999999999999 CNY'::amount, -13) AS r8;
SELECT round('9223372036854.775807 CNY'::amount, 2);
SELECT round('9223372036854.775807 CNY'::amount, -13);
SELECT abs('-3.5 EUR'::amount), currency('3.5 EUR'::amount), to_numeric('-3.5 EUR'::amount),
	amount(12.345, 'USD'), zero('EUR'), micros('1.5 CNY'::amount), amount_from_micros(-1, 'USD');
SELECT amount(1.2345678, 'USD');
SELECT amount(1.5, 'usd');
SELECT zero('EURO');
SELECT amount(10000000000000, 'USD');
SELECT amount('NaN'::numeric, 'USD');
SELECT '12.5 CNY'::amount::numeric AS to_num, 12.5::amount AS from_num, 1.0000000::amount AS trailing_zeros;
SELECT 1.0000001::amount;

-- R-AMT-6 volatility, strictness and parallel safety of the C functions
SELECT p.proname, p.provolatile, p.proisstrict, p.proparallel
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'gpubill' AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')
  AND (p.provolatile <> 'i' OR p.proparallel <> 's' OR NOT p.proisstrict)
ORDER BY 1, 2;
