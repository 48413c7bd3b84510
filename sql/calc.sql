-- pure calculators: order_payment, partner_income, prorate, initial_payment
-- R-PRT-3 R-PAYG-4 R-EXC-2 R-EXC-3 R-AMT-3
\set SHOW_CONTEXT never
SET search_path = gpubill, public;
SET TimeZone = 'Asia/Shanghai';

-- R-PAYG-4 prorate: hourly fee x seconds / 3600, rounded half away from zero to cents
SELECT prorate('3.60 CNY', 3600) AS full_hour, prorate('3.60 CNY', 1800) AS half_hour,
	prorate('1.00 CNY', 18) AS exactly_half_cent, prorate('1.00 CNY', 17) AS below_half_cent,
	prorate('1.00 CNY', 1) AS one_second, prorate('2.99 USD', 1234) AS odd,
	prorate('-1.00 CNY', 18) AS negative_fee, prorate('1.00 CNY', 0) AS zero;
SELECT prorate('1 CNY', -1);
SELECT prorate('9223372036854 CNY', 7200);

-- R-PRT-3 order line: unit price x GPUs x hours x discount - voucher payment
SELECT order_payment('2.50 CNY', 2, 3, 1, '0 CNY') AS plain,
	order_payment('2.50 CNY', 2, 3, 0.9, '1.00 CNY') AS discounted_with_voucher,
	order_payment('1.99 CNY', 1, 0.5, 0.85, '0 CNY') AS rounded_half_away,
	order_payment('1.99 CNY', 3, 1.5, 1, '8.96 CNY') AS all_voucher;
SELECT order_payment('2.50 CNY', 2, 3, 1, '1 USD');
SELECT order_payment('2.50 CNY', 0, 3, 1, '0 CNY');
SELECT order_payment('2.50 CNY', 1, -1, 1, '0 CNY');
SELECT order_payment('2.50 CNY', 1, 1, 1.1, '0 CNY');
SELECT order_payment('2.50 CNY', 1, 1, 0, '0 CNY');
SELECT order_payment('2.50 CNY', 1, 1, 1, '3 CNY');
SELECT order_payment('-2.50 CNY', 1, 1, 1, '0 CNY');
SELECT order_payment('2.50 CNY', 1, 'NaN', 1, '0 CNY');

-- R-PRT-3 partner income = round2(payment x (1 - fee rate)); the platform fee is the rest
SELECT partner_income('10.00 CNY', 0.2) AS income, '10.00 CNY'::amount - partner_income('10.00 CNY', 0.2) AS fee,
	partner_income('0.03 CNY', 0.2) AS tiny, partner_income('0.05 CNY', 0.1) AS half_cent,
	partner_income('-0.05 CNY', 0.1) AS reversal, partner_income('7.77 USD', 0) AS no_fee,
	partner_income('7.77 USD', 1) AS all_fee;
SELECT partner_income('10 CNY', 1.5);
SELECT partner_income('10 CNY', -0.1);

-- R-EXC-2 a term of at most 31 days is paid in full at the start
SELECT initial_payment('10.00 USD', tstzrange('2026-12-01', '2026-12-31')) AS days_30,
	initial_payment('10.00 USD', tstzrange('2026-12-01', '2027-01-01')) AS days_31,
	initial_payment('0.333333 USD', tstzrange('2026-12-01', '2026-12-01 00:30')) AS half_hour;
-- R-EXC-3 longer: the first 31 days plus 10% of the price of the rest
SELECT initial_payment('10.00 USD', tstzrange('2026-12-01', '2027-03-01')) AS three_months,
	initial_payment('10.00 USD', tstzrange('2026-12-01', '2027-12-01'), 31, 0.10) AS one_year,
	initial_payment('10.00 USD', tstzrange('2026-12-01', '2027-03-01'), 14, 0.25) AS other_terms,
	initial_payment('0.015 USD', tstzrange('2026-12-01', '2027-01-01 01:00')) AS deposit_rounding;
SELECT initial_payment('10 USD', 'empty');
SELECT initial_payment('10 USD', tstzrange('2026-12-01', NULL));
SELECT initial_payment('0 USD', tstzrange('2026-12-01', '2027-01-01'));
SELECT initial_payment('10 USD', tstzrange('2026-12-01', '2027-01-01'), 0);
SELECT initial_payment('10 USD', tstzrange('2026-12-01', '2027-01-01'), 31, 2);
-- overflow: a term spanning the timestamp range, or more initial days than the term (issue 11)
SELECT initial_payment('1 CNY', tstzrange('4713-01-01 BC', '294276-01-01'));
SELECT initial_payment('1 CNY', tstzrange('2026-01-01', '2027-01-01'), 2147483647);
SELECT initial_payment('1 CNY', tstzrange('2026-01-01', '2027-01-01'), 200);
SELECT initial_payment('1000000 CNY', tstzrange('2026-01-01', '3026-01-01'));
