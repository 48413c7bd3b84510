-- pgTAP: the pure calculators against exact numeric arithmetic
-- R-PAYG-4 R-PRT-3 R-EXC-2 R-EXC-3
BEGIN;
SET LOCAL search_path = gpubill, public;
SELECT setseed(0.7);
SELECT plan(12);

CREATE TEMP TABLE cases AS
SELECT amount_from_micros((random() * 50e6)::bigint, 'CNY') AS price,
	(1 + random() * 7)::int AS gpus,
	(random() * 400000)::bigint AS seconds,
	round((0.5 + random() * 0.5)::numeric, 2) AS discount,
	round(random()::numeric, 2) AS fee_rate
FROM generate_series(1, 5000);

-- R-PAYG-4 prorate = round2(hourly x seconds / 3600), half away from zero
SELECT is((SELECT count(*) FROM cases
		   WHERE to_numeric(prorate(price, seconds)) <> round(round(to_numeric(price), 30) * seconds / 3600, 2)), 0::bigint,
		  'prorate is the exact charge rounded half away from zero to cents');
SELECT is(prorate('1.00 CNY', 18), '0.01 CNY'::amount, 'half a cent rounds up');
SELECT is(prorate('-1.00 CNY', 18), '-0.01 CNY'::amount, 'minus half a cent rounds down');
-- hourly settlements of a whole hour add up to the hourly fee when the fee is in cents
SELECT is((SELECT count(*) FROM cases WHERE prorate(round(price, 2), 3600) <> round(price, 2)), 0::bigint,
		  'a full hour costs the hourly fee');

-- R-PRT-3 order lines: actual payment, partner income and platform fee
SELECT is((SELECT count(*) FROM cases
		   WHERE to_numeric(order_payment(price, gpus, seconds / 3600.0, discount, zero('CNY')))
				 <> round(to_numeric(price) * gpus * (seconds / 3600.0) * discount, 2)), 0::bigint,
		  'order_payment = round2(price x GPUs x hours x discount)');
SELECT is((SELECT count(*) FROM cases, LATERAL (SELECT order_payment(price, gpus, 2, discount, zero('CNY')) AS gross) g,
				LATERAL (SELECT order_payment(price, gpus, 2, discount, round(gross * 0.3, 2)) AS paid) p
		   WHERE paid <> gross - round(gross * 0.3, 2)), 0::bigint,
		  'the voucher-paid part is not part of the actual payment');
SELECT is((SELECT count(*) FROM cases, LATERAL (SELECT prorate(price, seconds) AS pay) p
		   WHERE to_numeric(partner_income(pay, fee_rate)) <> round(to_numeric(pay) * (1 - fee_rate), 2)
			  OR partner_income(pay, fee_rate) + (pay - partner_income(pay, fee_rate)) <> pay), 0::bigint,
		  'partner income = round2(payment x (1 - fee rate)); income + fee = payment');
SELECT is(partner_income('100.00 CNY', 0.20), '80.00 CNY'::amount, 'default fee rate 0.20 leaves 80%');
SELECT throws_ok($$SELECT gpubill.partner_income('1 CNY', 1.01)$$, '22023', NULL, 'a fee rate above 1 raises 22023');

-- R-EXC-2 R-EXC-3 initial payment: full value up to 31 days, else 31 days + 10% deposit of the rest
SELECT is((SELECT count(*) FROM cases, LATERAL (SELECT (1 + seconds % 2000) * interval '1 hour' AS len) l,
				LATERAL (SELECT tstzrange('2026-12-01 00:00+08', '2026-12-01 00:00+08'::timestamptz + len) AS term) t,
				LATERAL (SELECT round(to_numeric(price) * extract(epoch FROM len) / 3600, 2) AS total,
								round(to_numeric(price) * 744, 2) AS first) v
		   WHERE to_numeric(initial_payment(price, term))
				 <> CASE WHEN len <= interval '744 hours' THEN total
						 ELSE first + round((total - first) * 0.10, 2) END), 0::bigint,
		  'initial_payment matches the rule for terms of 1 to 2000 hours');
SELECT is(initial_payment('10.00 USD', tstzrange('2026-12-01', '2027-01-01')), '7440.00 USD'::amount,
		  'a 31-day term is paid in full');
SELECT is(initial_payment('10.00 USD', tstzrange('2026-12-01 00:00+08', '2027-03-01 00:00+08')), '8856.00 USD'::amount,
		  'a 90-day term: 744 h + 10% of 1416 h');

SELECT * FROM finish();
ROLLBACK;
