-- pgTAP: the payment schedule of exchange contracts (the pure part of issue 6)
-- R-EXC-2 R-EXC-3
BEGIN;
SET LOCAL search_path = gpubill, public;
SET LOCAL TimeZone = 'Asia/Shanghai';
SELECT plan(14);

-- R-EXC-3: a 90-day contract at 10.00/h, by hand: total 2160 h x 10 = 21600; the first 31 days 7440;
-- the rest 14160, its deposit 1416; pieces Jan 10-Feb 1 (528 h), February (672 h), Mar 1-10 (216 h)
SELECT results_eq(
	$$SELECT seq, due_at, covers, customer_pays, from_deposit, kind
	  FROM gpubill.schedule_of('10.00 USD', '[2026-12-10 00:00+08, 2027-03-10 00:00+08)', 'Asia/Shanghai')$$,
	$$VALUES (1, '2026-12-10 00:00+08'::timestamptz, '[2026-12-10 00:00+08, 2027-01-10 00:00+08)'::tstzrange,
			  '8856.00 USD'::gpubill.amount, '0.00 USD'::gpubill.amount, 'initial'),
			 (2, '2027-01-01 00:00+08', '[2027-01-10 00:00+08, 2027-02-01 00:00+08)', '4752.00 USD', '528.00 USD', 'monthly'),
			 (3, '2027-02-01 00:00+08', '[2027-02-01 00:00+08, 2027-03-01 00:00+08)', '6048.00 USD', '672.00 USD', 'monthly'),
			 (4, '2027-03-01 00:00+08', '[2027-03-01 00:00+08, 2027-03-10 00:00+08)', '1944.00 USD', '216.00 USD', 'final')$$,
	'90 days: initial 7440 + deposit 1416; each piece 90% paid on the 1st of its month, 10% from the deposit');

-- R-EXC-2: up to 31 days, one payment of the full value at the start
SELECT results_eq(
	$$SELECT seq, due_at, customer_pays, from_deposit, kind
	  FROM gpubill.schedule_of('2.50 USD', '[2026-12-10 09:30+08, 2027-01-10 09:30+08)', 'Asia/Shanghai')$$,
	$$VALUES (1, '2026-12-10 09:30+08'::timestamptz, '1860.00 USD'::gpubill.amount, '0.00 USD'::gpubill.amount, 'full')$$,
	'exactly 31 days: one full payment of 744 h x 2.50');
-- 31 days + 1 hour: the hour is the only (final) piece and takes the whole deposit
SELECT results_eq(
	$$SELECT seq, due_at, covers, customer_pays, from_deposit, kind
	  FROM gpubill.schedule_of('10.00 USD', '[2026-12-10 00:00+08, 2027-01-10 01:00+08)', 'Asia/Shanghai')$$,
	$$VALUES (1, '2026-12-10 00:00+08'::timestamptz, '[2026-12-10 00:00+08, 2027-01-10 00:00+08)'::tstzrange,
			  '7441.00 USD'::gpubill.amount, '0.00 USD'::gpubill.amount, 'initial'),
			 (2, '2027-01-01 00:00+08', '[2027-01-10 00:00+08, 2027-01-10 01:00+08)', '9.00 USD', '1.00 USD', 'final')$$,
	'31 days + 1 hour: initial 7440 + 1.00 deposit, then a final hour of 9.00 + 1.00 from the deposit');
-- a start on the 31st: 31 days later is Mar 3 (January has 31 days, February 28)
SELECT results_eq(
	$$SELECT due_at, covers, kind
	  FROM gpubill.schedule_of('1.00 USD', '[2027-01-31 10:00+08, 2027-05-15 00:00+08)', 'Asia/Shanghai') WHERE seq > 1$$,
	$$VALUES ('2027-03-01 00:00+08'::timestamptz, '[2027-03-03 10:00+08, 2027-04-01 00:00+08)'::tstzrange, 'monthly'),
			 ('2027-04-01 00:00+08', '[2027-04-01 00:00+08, 2027-05-01 00:00+08)', 'monthly'),
			 ('2027-05-01 00:00+08', '[2027-05-01 00:00+08, 2027-05-15 00:00+08)', 'final')$$,
	'from Jan 31: the initial 31 days end on Mar 3; the first piece is due on Mar 1');
-- February of a leap year: 29 days
SELECT results_eq(
	$$SELECT covers, customer_pays + from_deposit
	  FROM gpubill.schedule_of('1.00 USD', '[2027-12-20 00:00+08, 2028-03-15 00:00+08)', 'Asia/Shanghai') WHERE seq > 1$$,
	$$VALUES ('[2028-01-20 00:00+08, 2028-02-01 00:00+08)'::tstzrange, '288.00 USD'::gpubill.amount),
			 ('[2028-02-01 00:00+08, 2028-03-01 00:00+08)', '696.00 USD'),
			 ('[2028-03-01 00:00+08, 2028-03-15 00:00+08)', '336.00 USD')$$,
	'February 2028 has 29 days: a piece of 696 hours');
-- the months are those of the billing time zone
SELECT results_eq(
	$$SELECT due_at FROM gpubill.schedule_of('1.00 USD', '[2026-12-10 00:00+08, 2027-03-10 00:00+08)', 'America/New_York') WHERE seq = 2$$,
	$$VALUES ('2027-01-01 00:00-05'::timestamptz)$$, 'in New York the first piece is due at 00:00 New York time');

-- property: for random prices and terms, customers pay the total value to the cent, the deposit is used
-- exactly, the initial payment is initial_payment()'s, and the pieces tile the rest of the term
CREATE TEMP TABLE prop AS
SELECT k, gpubill.amount(round((0.01 + random() * 40)::numeric, 6), 'USD') AS price,
	   tstzrange(s, s + make_interval(secs => floor(random() * 200 * 86400 + 3600))) AS term
FROM (SELECT k, timestamptz '2026-12-01 00:00+08' + make_interval(secs => floor(random() * 400 * 86400)) AS s
	  FROM generate_series(1, 300) k) x;
CREATE TEMP TABLE prop_rows AS
SELECT p.k, p.price, p.term, r.* FROM prop p CROSS JOIN LATERAL gpubill.schedule_of(p.price, p.term, 'Asia/Shanghai') r;
SELECT is((SELECT count(*) FROM (SELECT k FROM prop_rows GROUP BY k, price, term
								 HAVING gpubill.sum(customer_pays) <> gpubill.prorate(price, extract(epoch FROM upper(term) - lower(term))::bigint)) x),
		  0::bigint, '300 random contracts: the customer pays the total contract value to the cent');
SELECT is((SELECT count(*) FROM (SELECT k FROM prop_rows GROUP BY k, price, term
								 HAVING gpubill.sum(customer_pays + from_deposit) FILTER (WHERE seq > 1)
										+ gpubill.prorate(price, least(31 * 86400, extract(epoch FROM upper(term) - lower(term))::bigint))
										<> gpubill.prorate(price, extract(epoch FROM upper(term) - lower(term))::bigint)) x),
		  0::bigint, 'the first 31 days plus every piece''s payment and deposit application are the total contract value');
SELECT is((SELECT count(*) FROM prop_rows r
		   WHERE r.seq = 1 AND r.customer_pays <> gpubill.initial_payment(r.price, r.term)), 0::bigint,
		  'the first payment is initial_payment()''s');
SELECT is((SELECT count(*) FROM (SELECT k FROM prop_rows GROUP BY k, price, term
								 HAVING count(*) > 1 AND gpubill.sum(from_deposit) <> gpubill.initial_payment(price, term)
									- gpubill.prorate(price, 31 * 86400)) x),
		  0::bigint, 'the deposit is applied exactly (the last piece takes the rounding residue)');
SELECT is((SELECT count(*) FROM (
			SELECT r.*, lag(upper(covers)) OVER (PARTITION BY k ORDER BY seq) AS prev_end,
				   max(seq) OVER (PARTITION BY k) AS last
			FROM prop_rows r) x
		   WHERE (seq > 1 AND (lower(covers) <> prev_end
							  OR due_at <> date_trunc('month', lower(covers) AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai'
							  OR kind <> CASE WHEN seq = last THEN 'final' ELSE 'monthly' END
							  OR gpubill.micros(customer_pays) < 0 OR gpubill.micros(from_deposit) < 0))
			  OR (seq = last AND upper(covers) <> upper(term))), 0::bigint,
		  'the pieces tile the term at month boundaries, due on the 1st at 00:00, monthly then final, nothing negative');

-- bad input
SELECT throws_ok($$SELECT * FROM gpubill.schedule_of('1.00 USD', '[2026-12-10 00:00:00.5+08, 2027-03-10 00:00+08)', 'Asia/Shanghai')$$,
				 '22023', NULL, 'a term not on whole seconds raises 22023');
SELECT throws_ok($$SELECT * FROM gpubill.schedule_of('0.00 USD', '[2026-12-10 00:00+08, 2027-03-10 00:00+08)', 'Asia/Shanghai')$$,
				 '22023', NULL, 'a price of zero raises 22023');
SELECT throws_ok($$SELECT * FROM gpubill.schedule_of('1.00 USD', '[2026-12-10 00:00+08,)', 'Asia/Shanghai')$$,
				 '22023', NULL, 'an open-ended term raises 22023');

SELECT * FROM finish();
ROLLBACK;
