-- pgTAP: reselling the rest of an exchange contract: below, equal and above the original price
-- R-EXC-6 R-EXC-7 R-EXC-4 R-EXC-1
BEGIN;
SET LOCAL search_path = gpubill, public;
SET LOCAL TimeZone = 'Asia/Shanghai';
SELECT plan(34);

-- four resellers, each with a 120-day contract at 10.00/h from Dec 1 (initial 7440 + deposit 2136; January 6696 + 744
-- from the deposit; February 6720, March 7200 at the original price), and four buyers of the rest
SELECT open_provider('rs-prov', 'USD', '2026-11-01') AS pv \gset
CREATE TEMP TABLE who (name text PRIMARY KEY, customer bigint, contract bigint);
INSERT INTO who SELECT n, open_customer('rs-' || n, 'USD', '2026-11-01'), NULL
FROM unnest(ARRAY['below', 'equal', 'above', 'refused', 'buyer-below', 'buyer-equal', 'buyer-above', 'buyer-refused']) n;
SELECT count(recharge(customer, '20000.00 USD', 'stripe', 'rs-' || name, '2026-11-01')) AS funded FROM who;
UPDATE who SET contract = create_contract(customer, :pv, 1, '10.00 USD', '[2026-12-01 00:00+08, 2027-03-31 00:00+08)', '2026-11-20 10:00+08')
WHERE name NOT LIKE 'buyer-%';
SELECT contract AS c_below FROM who WHERE name = 'below' \gset
SELECT contract AS c_equal FROM who WHERE name = 'equal' \gset
SELECT contract AS c_above FROM who WHERE name = 'above' \gset
SELECT contract AS c_refused FROM who WHERE name = 'refused' \gset
SELECT customer AS below FROM who WHERE name = 'below' \gset
SELECT customer AS above FROM who WHERE name = 'above' \gset
SELECT customer AS buyer_below FROM who WHERE name = 'buyer-below' \gset
SELECT customer AS buyer_equal FROM who WHERE name = 'buyer-equal' \gset
SELECT customer AS buyer_above FROM who WHERE name = 'buyer-above' \gset
SELECT customer AS buyer_refused FROM who WHERE name = 'buyer-refused' \gset
SELECT tick('2027-01-05 00:00+08') IS NOT NULL AS ticked;

-- R-EXC-6: effective at the next calendar-month boundary; the rest becomes a new contract with its own schedule
SELECT resell_contract(:c_below, :buyer_below, '9.50 USD', '2027-01-05 10:00+08') AS n_below \gset
SELECT results_eq(format($$SELECT customer_id, term, state, resold_from FROM gpubill.contract WHERE contract_id = %s$$, :n_below),
	format($$VALUES (%s::bigint, '[2027-02-01 00:00+08, 2027-03-31 00:00+08)'::tstzrange, 'pending', %s::bigint)$$, :buyer_below, :c_below),
	'resold on Jan 5: the new contract runs from Feb 1 to the original end, pending until then');
SELECT results_eq(format($$SELECT seq, due_at, customer_pays, from_deposit, kind FROM gpubill.contract_schedule(%s)$$, :n_below),
	$$SELECT seq, due_at, customer_pays, from_deposit, kind FROM gpubill.schedule_of('9.50 USD', '[2027-02-01 00:00+08, 2027-03-31 00:00+08)', 'Asia/Shanghai')$$,
	'its own schedule (R-EXC-2/3) at the new price');
SELECT results_eq(format($$SELECT seq, cancelled_at IS NOT NULL FROM gpubill.contract_payment WHERE contract_id = %s ORDER BY seq$$, :c_below),
	$$VALUES (1, false), (2, false), (3, true), (4, true)$$, 'the reseller owes nothing due from Feb 1 on');
SELECT results_eq(format($$SELECT due_at, original, resold FROM gpubill.resale_month WHERE contract_id = %s ORDER BY seq$$, :c_below),
	$$VALUES ('2027-02-01 00:00+08'::timestamptz, '6720.00 USD'::gpubill.amount, '6384.00 USD'::gpubill.amount),
			 ('2027-03-01 00:00+08', '7200.00 USD', '6840.00 USD')$$,
	'per month the provider''s original price and the new one');
SELECT is(resell_contract(:c_below, :buyer_below, '9.50 USD', '2027-01-05 10:00+08'), :n_below::bigint, 'the same resale again returns the same contract');
SELECT throws_ok(format($$SELECT gpubill.resell_contract(%s, %s, '9.00 USD', '2027-01-05 11:00+08')$$, :c_below, :buyer_below), 'GB004', NULL,
				 'a contract is resold once');
SELECT resell_contract(:c_equal, :buyer_equal, '10.00 USD', '2027-01-05 10:00+08') AS n_equal \gset
SELECT resell_contract(:c_above, :buyer_above, '12.00 USD', '2027-01-05 10:00+08') AS n_above \gset

-- R-EXC-6: below the original price the unapplied deposit must cover every difference
SELECT count(*) AS contracts_before FROM contract \gset
SELECT throws_ok(format($$SELECT gpubill.resell_contract(%s, %s, '8.00 USD', '2027-01-05 10:00+08')$$, :c_refused, :buyer_refused), 'GB004', NULL,
				 'at 8.00 the differences (2784.00) exceed the unapplied deposit (1392.00): GB004');
SELECT results_eq(format($$SELECT (SELECT count(*) FROM gpubill.contract), (SELECT held FROM gpubill.wallet(%s)), (SELECT resold_to FROM gpubill.contract WHERE contract_id = %s)$$, :buyer_refused, :c_refused),
	format($$VALUES (%s::bigint, '0.00 USD'::gpubill.amount, NULL::bigint)$$, :contracts_before), 'and leaves nothing behind');
-- bad input
SELECT throws_ok(format($$SELECT gpubill.resell_contract(%s, %s, '9.00 USD', '2027-01-05 10:00+08')$$, :c_refused, :below), 'GB001', NULL,
				 'a buyer who cannot cover the new initial payment (7279.20 with 3728.00) raises GB001 (R-EXC-1)');
SELECT throws_ok(format($$SELECT gpubill.resell_contract(%s, %s, '9.00 USD', '2027-01-05 10:00+08')$$, :c_refused,
						(SELECT customer FROM who WHERE name = 'refused')), '22023', NULL, 'reselling to oneself raises 22023');
SELECT throws_ok(format($$SELECT gpubill.resell_contract(%s, -1, '9.00 USD', '2027-01-05 10:00+08')$$, :c_refused), 'P0002', NULL,
				 'an unknown buyer raises P0002');

SELECT recharge((SELECT customer FROM who WHERE name = 'refused'), '20000.00 USD', 'stripe', 'rs-refused-2', '2027-01-10') IS NOT NULL AS funded;

-- at Feb 1 the resales take effect: deposits refunded beyond what the differences need, less commission
SELECT is(tick('2027-02-01 00:00+08')->'contracts'->>'resold', '3', 'three contracts are resold at Feb 1');
SELECT results_eq(format($$SELECT gpubill.contract_state(%s), gpubill.contract_state(%s), gpubill.contract_state(%s)$$, :c_below, :n_below, :n_above),
	$$VALUES ('resold', 'active', 'active')$$, 'the originals are resold, the new contracts active');
SELECT results_eq($$SELECT w.name, r.kind, r.gross, r.commission FROM gpubill.contract_receipt r JOIN who w ON w.contract = r.contract_id
				   WHERE r.kind IN ('reseller_refund', 'premium') AND r.at = '2027-02-01 00:00+08' ORDER BY w.name, r.kind$$,
	$$VALUES ('above', 'premium', '1344.00 USD'::gpubill.amount, '53.76 USD'::gpubill.amount),
			 ('above', 'reseller_refund', '1392.00 USD', '55.68 USD'),
			 ('below', 'reseller_refund', '696.00 USD', '27.84 USD'),
			 ('equal', 'reseller_refund', '1392.00 USD', '55.68 USD')$$,
	'below: 1392 - 696 still needed refunded; equal and above: all 1392; above: February''s premium 8064 - 6720');

SELECT tick('2027-03-31 00:00+08') IS NOT NULL AS ticked;
-- R-EXC-7: the provider always receives the original price
SELECT results_eq($$SELECT w.name, gpubill.sum(r.gross) FROM gpubill.contract_receipt r JOIN who w ON w.contract = r.contract_id
				   WHERE r.kind IN ('payment', 'deposit') GROUP BY w.name ORDER BY w.name$$,
	$$VALUES ('above', '28800.00 USD'::gpubill.amount), ('below', '28800.00 USD'), ('equal', '28800.00 USD'), ('refused', '28800.00 USD')$$,
	'the provider receives 28800.00 for every contract, resold or not');
SELECT results_eq($$SELECT w.name, gpubill.sum(r.gross) FROM gpubill.contract_receipt r JOIN who w ON w.contract = r.contract_id
				   WHERE r.kind = 'premium' GROUP BY w.name$$,
	$$VALUES ('above', '2784.00 USD'::gpubill.amount)$$, 'above: the reseller gets 1344 + 1440 of premium');
SELECT results_eq(format($$SELECT gpubill.sum(amount) FILTER (WHERE credit_purpose = 'clearing') - gpubill.sum(amount) FILTER (WHERE debit_purpose = 'clearing')
						   FROM gpubill.transfers WHERE object_type = 'contract' AND object_id IN (%s, %s)$$, :c_below, :n_below),
	$$VALUES ('0.00 USD'::gpubill.amount)$$, 'below: the buyer''s payments and the reseller''s differences exactly pay the provider');
SELECT is((SELECT count(*) FROM contract WHERE state = 'completed' AND resold_from IS NOT NULL), 3::bigint, 'the new contracts complete');
SELECT results_eq($$SELECT owner_kind, purpose, balance FROM gpubill.accounts WHERE purpose IN ('clearing', 'deposit') AND owner_kind <> 'partner' AND gpubill.micros(balance) <> 0$$,
	$$SELECT NULL::text, NULL::text, NULL::gpubill.amount WHERE false$$, 'clearing and every deposit account are back at zero');
-- conservation: provider received + resellers received + commission = what customers paid
SELECT results_eq(
	$$SELECT gpubill.sum(amount) FILTER (WHERE debit_purpose IN ('cash', 'payments_in'))
	  FROM gpubill.transfers WHERE object_type = 'contract'$$,
	$$SELECT (SELECT balance FROM gpubill.provider_wallet((SELECT partner_id FROM gpubill.partner WHERE external_ref = 'rs-prov')))
			 + (SELECT gpubill.sum(gross - commission) FROM gpubill.contract_receipt WHERE kind IN ('premium', 'reseller_refund'))
			 + (SELECT gpubill.sum(commission) FROM gpubill.contract_receipt)$$,
	'customers paid = provider received + resellers received + commission');
SELECT results_eq(format($$SELECT (SELECT cash FROM gpubill.wallet(%s)), (SELECT cash FROM gpubill.wallet(%s))$$, :below, :above),
	$$VALUES ('20000.00 USD'::gpubill.amount - '16272.00 USD' + '668.16 USD', '20000.00 USD'::gpubill.amount - '16272.00 USD' + '1336.32 USD' + '1290.24 USD' + '1382.40 USD')$$,
	'the resellers'' wallets: paid 16272 until February, got back refund and premiums less commission');

-- a resale within the initial 31 days: the days the reseller prepaid go to it at the new price
SELECT open_customer('rs-early', 'USD', '2026-11-01') AS early \gset
SELECT recharge(:early, '20000.00 USD', 'stripe', 'rs-early', '2026-11-01') IS NOT NULL AS funded;
SELECT create_contract(:early, :pv, 1, '10.00 USD', '[2027-04-10 00:00+08, 2027-08-10 00:00+08)', '2027-04-01') AS c_early \gset
SELECT tick('2027-04-10 00:00+08') IS NOT NULL AS ticked;
SELECT recharge(open_customer('rs-early-buyer', 'USD', '2027-04-01'), '40000.00 USD', 'stripe', 'rs-early-buyer', '2027-04-01') IS NOT NULL AS funded;
SELECT resell_contract(:c_early, (SELECT customer_id FROM customer WHERE external_ref = 'rs-early-buyer'), '10.00 USD', '2027-04-20') AS n_early \gset
SELECT results_eq(format($$SELECT due_at, original, resold FROM gpubill.resale_month WHERE contract_id = %s ORDER BY seq$$, :c_early),
	$$VALUES ('2027-05-01 00:00+08'::timestamptz, '5040.00 USD'::gpubill.amount, '7440.00 USD'::gpubill.amount),
			 ('2027-06-01 00:00+08', '7200.00 USD', '7200.00 USD'), ('2027-07-01 00:00+08', '7440.00 USD', '7440.00 USD'),
			 ('2027-08-01 00:00+08', '2160.00 USD', '2160.00 USD')$$,
	'resold on Apr 20 from May 1, within the initial 31 days (to May 11): May is owed to the provider from May 11 only');
SELECT tick('2027-05-01 00:00+08') IS NOT NULL AS ticked;
SELECT results_eq(format($$SELECT kind, gross, commission FROM gpubill.contract_receipt WHERE contract_id = %s AND at = '2027-05-01 00:00+08' ORDER BY receipt_id$$, :c_early),
	$$VALUES ('reseller_refund', '2184.00 USD'::gpubill.amount, '87.36 USD'::gpubill.amount),
			 ('premium', '2400.00 USD', '96.00 USD'), ('payment', '5040.00 USD', '201.60 USD')$$,
	'at the same price: the deposit back, May 1-11 (prepaid by the reseller) paid to it, the rest of May to the provider');

-- R-EXC-7: a contract paid in full owes the provider nothing more: the buyer's payments all go to the reseller
SELECT customer AS equal FROM who WHERE name = 'equal' \gset
SELECT create_contract(:equal, :pv, 1, '1.00 USD', '[2027-04-20 00:00+08, 2027-05-20 00:00+08)', '2027-04-15') AS c_full \gset
SELECT tick('2027-04-20 00:00+08') IS NOT NULL AS ticked;
SELECT resell_contract(:c_full, :buyer_above, '2.00 USD', '2027-04-25') AS n_full \gset
SELECT tick('2027-05-01 00:00+08') IS NOT NULL AS ticked;
SELECT results_eq(format($$SELECT kind, gross, commission FROM gpubill.contract_receipt WHERE contract_id = %s ORDER BY receipt_id$$, :c_full),
	$$VALUES ('payment', '720.00 USD'::gpubill.amount, '28.80 USD'::gpubill.amount), ('premium', '912.00 USD', '36.48 USD')$$,
	'30 days at 1.00 paid in full to the provider; the 19 days resold at 2.00 (912.00) go to the reseller, less commission');
SELECT results_eq(format($$SELECT gpubill.contract_state(%s), gpubill.contract_state(%s)$$, :c_full, :n_full),
	$$VALUES ('resold', 'active')$$, 'resold at May 1');

SELECT tick('2027-08-10 00:00+08') IS NOT NULL AS ticked;
-- conservation for every contract and its resale: what its customers paid = what the provider and the reseller
-- received (each receipt's gross is the payee's part plus the commission)
SELECT is((SELECT count(*) FROM (
	SELECT o.contract_id,
		   (SELECT gpubill.sum(x.amount) FROM gpubill.transfer x JOIN gpubill.account a ON a.account_id = x.debit_account
			WHERE x.object_type = 'contract' AND x.object_id IN (o.contract_id, o.resold_to) AND a.purpose IN ('cash', 'payments_in')) AS paid,
		   (SELECT gpubill.sum(r.gross) FROM gpubill.contract_receipt r WHERE r.contract_id IN (o.contract_id, o.resold_to)) AS received
	FROM gpubill.contract o WHERE o.resold_from IS NULL AND o.state IN ('completed', 'resold')) s
	WHERE paid <> received), 0::bigint,
	'every contract (with its resale): customers paid = provider received + reseller received + commission');

-- R-EXC-6: a payment due from E on that the reseller made early is its own: the provider is not paid twice for the month
SELECT open_customer('rs-early-payer', 'USD', '2027-08-01') AS ep \gset
SELECT set_approved(:ep, true) IS NULL AS approved;
SELECT create_contract(:ep, :pv, 1, '1.00 USD', '[2027-09-01 00:00+08, 2027-12-31 00:00+08)', '2027-08-01') AS c_ep \gset
SELECT pay_contract(:c_ep, '960.00 USD', 'rs-ep-1', '2027-08-02') IS NOT NULL AS paid;
SELECT pay_contract(:c_ep, '648.00 USD', 'rs-ep-2', '2027-08-03') IS NOT NULL AS paid_early;	-- due Oct 1, paid in August
SELECT tick('2027-09-05 00:00+08') IS NOT NULL AS ticked;
SELECT recharge(open_customer('rs-ep-buyer', 'USD', '2027-08-01'), '10000.00 USD', 'stripe', 'rs-ep-buyer', '2027-08-01') IS NOT NULL AS funded;
SELECT resell_contract(:c_ep, (SELECT customer_id FROM customer WHERE external_ref = 'rs-ep-buyer'), '1.50 USD', '2027-09-10') AS n_ep \gset
SELECT results_eq(format($$SELECT due_at, original, resold FROM gpubill.resale_month WHERE contract_id = %s ORDER BY seq$$, :c_ep),
	$$VALUES ('2027-10-01 00:00+08'::timestamptz, '0.00 USD'::gpubill.amount, '1116.00 USD'::gpubill.amount),
			 ('2027-11-01 00:00+08', '720.00 USD', '1080.00 USD'), ('2027-12-01 00:00+08', '720.00 USD', '1080.00 USD')$$,
	'October was paid early by the reseller: it owes the provider nothing more, its new price goes to the reseller');
SELECT tick('2027-12-31 00:00+08') IS NOT NULL AS ticked;
SELECT results_eq(format($$SELECT kind, gpubill.sum(gross) FROM gpubill.contract_receipt WHERE contract_id = %s GROUP BY kind ORDER BY kind$$, :c_ep),
	$$VALUES ('deposit', '72.00 USD'::gpubill.amount), ('payment', '2832.00 USD'), ('premium', '1836.00 USD'), ('reseller_refund', '144.00 USD')$$,
	'the provider receives the contract''s 2904.00 once (2832 + 72); the reseller all of October at the new price and the premiums');
SELECT results_eq($$SELECT balance FROM gpubill.accounts WHERE owner_kind = 'platform' AND purpose = 'clearing'$$,
	$$VALUES ('0.00 USD'::gpubill.amount)$$, 'and clearing is back at zero');

SELECT results_eq($$SELECT count(*) FROM gpubill.verify() WHERE NOT ok$$, $$VALUES (0::bigint)$$, 'verify() is all ok');

-- R-EXC-6: verify checks that every resale has both its sides and that a settled one's clearing nets to zero
SELECT is((SELECT count(*) FROM (SELECT s.contract_id FROM gpubill.resale_sides() s GROUP BY 1 HAVING count(*) FILTER (WHERE s.settled) = 2) x),
	6::bigint, 'the six resales of this file are settled on both sides');
SELECT x.tableoid::regclass AS part FROM gpubill.transfer x JOIN gpubill.account a ON a.account_id = x.credit_account
WHERE a.purpose = 'clearing' AND x.object_id = :n_ep ORDER BY x.transfer_id LIMIT 1 \gset
ALTER TABLE :part DISABLE TRIGGER USER;
UPDATE gpubill.transfer SET amount = amount + '0.01 USD'
WHERE transfer_id = (SELECT min(x.transfer_id) FROM gpubill.transfer x JOIN gpubill.account a ON a.account_id = x.credit_account
					 WHERE a.purpose = 'clearing' AND x.object_id = :n_ep);
SELECT results_eq($$SELECT ok, detail FROM gpubill.verify() WHERE check_name = 'the clearing of every settled resale nets to zero'$$,
	format($$VALUES (false, '1 settled resales whose clearing does not net to zero: %s (10000 micros)')$$, :c_ep),
	'a cent more paid into clearing for one resale: verify names it');
UPDATE gpubill.transfer SET amount = amount + '0.01 USD'
WHERE transfer_id = (SELECT min(x.transfer_id) FROM gpubill.transfer x JOIN gpubill.account a ON a.account_id = x.debit_account
					 WHERE a.purpose = 'clearing' AND x.object_id = :c_ep AND x.tableoid = :'part'::regclass);
SELECT results_eq($$SELECT ok, detail FROM gpubill.verify() WHERE check_name = 'the exchange''s clearing equals what buyers paid in less the resale months paid out'$$,
	$$VALUES (false, '1 currencies whose clearing differs: USD by -10000 micros')$$,
	'a cent more paid out of clearing than the resale months: verify names the currency');
UPDATE gpubill.contract SET resold_from = NULL WHERE contract_id = :n_ep;
SELECT results_eq($$SELECT ok, detail FROM gpubill.verify() WHERE check_name = 'every resale has both its sides'$$,
	format($$VALUES (false, '1 resales found on one side only: %s')$$, :c_ep),
	'a resale whose new contract does not name it: verify names it');
SELECT * FROM finish();
ROLLBACK;
