-- Hardening (issue 11): bad input is refused up front with a stable SQLSTATE and
-- leaves nothing behind; no accepted call makes a later call or tick fail
-- (R-SEC-3, R-CLK-5, R-LED-3, R-LED-4, R-AMT-1).
BEGIN;
SELECT plan(98);
SET search_path = gpubill, public;

SELECT open_partner('h-owner', 'CNY', '2026-11-01') AS owner \gset
SELECT open_provider('h-dc', 'CNY', '2026-11-01') AS dc \gset
SELECT open_customer('h-alice', 'CNY', '2026-11-01') AS alice \gset
SELECT open_customer('h-bob', 'CNY', '2026-11-01') AS bob \gset
SELECT recharge(:alice, '1000 CNY', 'wechat', 'h-1', '2026-11-01');
SELECT recharge(:bob, '1000 CNY', 'wechat', 'h-2', '2026-11-01');
SELECT open_customer('h-carol', 'CNY', '2026-11-01') AS carol \gset
SELECT recharge(:carol, '1000 CNY', 'wechat', 'h-3', '2026-11-01');
SELECT list_machine(:owner, 8, '2.00 CNY', '2027-12-31', at => '2026-11-10 00:00+08') AS m \gset
SELECT create_instance(:alice, :m, 1, at => '2026-11-23 10:00+08') AS i \gset
SELECT hold_id AS ih FROM instance WHERE instance_id = :i \gset
SELECT create_contract(:alice, :dc, 1, '1.00 CNY', '[2026-12-10 00:00+08, 2026-12-20 00:00+08)', '2026-11-23 10:30+08') AS ct \gset
SELECT hold_id AS ch FROM contract WHERE contract_id = :ct \gset

-- a snapshot of everything written, to show a refused call wrote nothing
CREATE TEMP VIEW written AS
SELECT (SELECT count(*) FROM transfer) AS transfers, (SELECT count(*) FROM hold) AS holds,
	   (SELECT count(*) FROM hold_end) AS hold_ends, (SELECT count(*) FROM instance) AS instances,
	   (SELECT count(*) FROM storage_level) AS levels, (SELECT count(*) FROM outage) AS outages,
	   (SELECT count(*) FROM contract) AS contracts, (SELECT count(*) FROM request) AS requests,
	   (SELECT count(*) FROM customer) AS customers, (SELECT count(*) FROM machine) AS machines;
CREATE TEMP TABLE before AS SELECT * FROM written;

-- 1. R-SEC-3: the holds of instances and contracts are the engine's
SELECT throws_ok(format($$SELECT * FROM capture_hold(%s, '1 CNY')$$, :ih), 'GB004', NULL,
				 'capture_hold refuses the hold of a PAYG instance');
SELECT throws_ok(format($$SELECT release_hold(%s)$$, :ih), 'GB004', NULL, 'release_hold refuses the hold of a PAYG instance');
SELECT throws_ok(format($$SELECT release_hold(%s)$$, :ch), 'GB004', NULL, 'release_hold refuses the hold of a contract');
SELECT throws_ok(format($$SELECT * FROM capture_hold(%s, '1 CNY')$$, :ch), 'GB004', NULL, 'capture_hold refuses the hold of a contract');
SELECT throws_ok(format($$SELECT place_hold(%s, '1 CNY', false, NULL, 'instance', %s)$$, :alice, :i), '22023', NULL,
				 'place_hold refuses the object type instance');
SELECT throws_ok(format($$SELECT place_hold(%s, '1 CNY', false, NULL, 'contract', %s)$$, :alice, :ct), '22023', NULL,
				 'place_hold refuses the object type contract');
SELECT lives_ok($$SELECT tick('2026-11-23 13:00+08')$$, 'tick runs after the refused hold calls');
SELECT is((SELECT state FROM instance WHERE instance_id = :i), 'running', 'the instance still runs on its own hold');
SELECT lives_ok(format($$SELECT stop_instance(%s, at => '2026-11-23 13:30+08')$$, :i), 'and it can be stopped');
SELECT create_instance(:alice, :m, 1, at => '2026-11-23 14:00+08') AS i2 \gset
SELECT is((SELECT count(*) FROM verify() WHERE NOT ok), 0::bigint, 'verify() is all ok');
-- verify() sees an instance whose hold was ended behind the engine's back
SAVEPOINT corrupt;
INSERT INTO hold_end (hold_id, customer_id, kind, captured, at)
SELECT hold_id, customer_id, 'release', '0 CNY', '2026-11-23 14:10+08' FROM instance WHERE instance_id = :i2;
SELECT is((SELECT ok FROM verify() WHERE check_name = 'running PAYG instances have exactly one active hold of their own'),
		  false, 'verify() reports a running PAYG instance without an active hold of its own');
ROLLBACK TO corrupt;
SELECT is((SELECT ok FROM verify() WHERE check_name = 'running PAYG instances have exactly one active hold of their own'),
		  true, 'and is ok again without the stray end');
DROP TABLE before;
CREATE TEMP TABLE before AS SELECT * FROM written;

-- 2. R-STO-1, R-SEC-3: storage levels are finite and bounded
SELECT throws_ok(format($$SELECT set_storage(%s, 'disk', 'NaN', '2026-11-23 15:00+08')$$, :alice), '22023', NULL, 'set_storage refuses NaN');
SELECT throws_ok(format($$SELECT set_storage(%s, 'disk', 'Infinity', '2026-11-23 15:00+08')$$, :alice), '22023', NULL, 'set_storage refuses Infinity');
SELECT throws_ok(format($$SELECT set_storage(%s, 'nas', -1, '2026-11-23 15:00+08')$$, :alice), '22023', NULL, 'set_storage refuses a negative size');
SELECT throws_ok(format($$SELECT set_storage(%s, 'disk', 1e15, '2026-11-23 15:00+08')$$, :alice), '22023', NULL,
				 'set_storage refuses a size beyond max_storage_gb');
SELECT lives_ok(format($$SELECT set_storage(%s, 'disk', 1000000, '2026-11-23 15:00+08')$$, :bob), 'the largest level is accepted');
SELECT lives_ok($$SELECT tick('2026-12-01 01:00+08')$$, 'and the month with it settles');
SELECT is((SELECT amount FROM storage_bill WHERE customer_id = :bob), '70800.00 CNY'::amount,
		  '1 000 000 GB for 177 h at 0.0004 (bob is in arrears now)');
DROP TABLE before;
CREATE TEMP TABLE before AS SELECT * FROM written;

-- 4. R-SEC-3: every time is finite and in range (±infinity, year 1, year 3000)
SELECT throws_ok(q, '22023', NULL, 'refused: ' || q) FROM unnest(ARRAY[
	$$SELECT tick('infinity')$$,
	$$SELECT tick('-infinity')$$,
	$$SELECT tick('3000-01-01')$$,
	format($$SELECT request_refund(%s, at => 'infinity')$$, :bob),
	format($$SELECT request_refund(%s, at => '-infinity')$$, :bob),
	format($$SELECT create_contract(%s, %s, 1, '1 CNY', '[2027-01-01, 2027-02-01)', '-infinity')$$, :bob, :dc),
	format($$SELECT create_contract(%s, %s, 1, '1 CNY', '[2027-01-01, infinity)', '2026-12-01')$$, :bob, :dc),
	format($$SELECT create_contract(%s, %s, 1, '1 CNY', NULL, '2026-12-01')$$, :bob, :dc),
	format($$SELECT create_contract(%s, %s, 1, '1 CNY', 'empty', '2026-12-01')$$, :bob, :dc),
	format($$SELECT create_contract(%s, %s, 1, '1 CNY', '[2027-01-01, 2027-02-01]', '2026-12-01')$$, :bob, :dc),
	format($$SELECT create_instance(%s, %s, 1, at => 'infinity')$$, :bob, :m),
	format($$SELECT recharge(%s, '1 CNY', 'wechat', 'h-inf', 'infinity')$$, :bob),
	format($$SELECT grant_voucher(%s, '1 CNY', 'infinity', '2026-12-01')$$, :bob),
	format($$SELECT grant_voucher(%s, '1 CNY', NULL, '0001-01-01')$$, :bob),
	format($$SELECT place_hold(%s, '1 CNY', at => 'infinity')$$, :bob),
	format($$SELECT place_hold(%s, '1 CNY', expires_at => 'infinity')$$, :bob),
	format($$SELECT list_machine(%s, 1, '1 CNY', 'infinity')$$, :owner),
	format($$SELECT list_machine(%s, 1, '1 CNY', '2027-01-01', at => '-infinity')$$, :owner),
	format($$SELECT report_outage(%s, '-infinity', '2026-11-23 11:00+08')$$, :m),
	format($$SELECT report_outage(%s, '2026-11-23 10:10+08', 'infinity')$$, :m),
	format($$SELECT report_outage(%s, '2026-11-23 10:10+08', '2026-11-23 10:20+08', at => 'infinity')$$, :m),
	format($$SELECT stop_instance(%s, 'infinity')$$, :i2),
	format($$SELECT delist_machine(%s, 'infinity')$$, :m),
	format($$SELECT rate_partner(%s, 10, 'ok', 'infinity')$$, :owner),
	format($$SELECT request_withdrawal(%s, '1 CNY', 'infinity')$$, :owner),
	format($$SELECT withdrawable(%s, 'infinity')$$, :owner),
	format($$SELECT pay_contract(%s, '240 CNY', 'wire-inf', 'infinity')$$, :ct),
	$$SELECT open_customer('h-inf', 'CNY', 'infinity')$$,
	$$SELECT open_partner('h-inf', 'CNY', '-infinity')$$
]) q;
SELECT results_eq($$SELECT * FROM written$$, $$SELECT * FROM before$$, 'the refused calls wrote nothing');

-- 6. R-CLK-5: no time travel before the creation or last event of the object acted on
SELECT throws_ok(format($$SELECT create_instance(%s, %s, 1, at => '2026-11-05 00:00+08')$$, :bob, :m), 'GB004', NULL,
				 'create_instance before the machine was listed raises GB004');
SELECT throws_ok(format($$SELECT pay_contract(%s, '240 CNY', 'wire-early', '2026-11-20 00:00+08')$$, :ct), 'GB004', NULL,
				 'pay_contract before the contract was accepted raises GB004');
SELECT throws_ok(format($$SELECT report_outage(%s, '2026-11-05 00:00+08', '2026-11-05 01:00+08', at => '2026-11-20 00:00+08')$$, :m),
				 'GB004', NULL, 'report_outage of a window before the machine was listed raises GB004');
SELECT throws_ok(format($$SELECT report_outage(%s, '2026-11-10 01:00+08', '2026-11-10 02:00+08', at => '2026-11-09 00:00+08')$$, :m),
				 'GB004', NULL, 'report_outage dated before the machine was listed raises GB004');
SELECT throws_ok(q, 'GB004', NULL, 'before its party was opened: ' || left(q, 40)) FROM unnest(ARRAY[
	format($$SELECT recharge(%s, '1 CNY', 'wechat', 'h-early', '2026-10-01')$$, :bob),
	format($$SELECT grant_voucher(%s, '1 CNY', NULL, '2026-10-01')$$, :bob),
	format($$SELECT place_hold(%s, '1 CNY', at => '2026-10-01')$$, :bob),
	format($$SELECT set_storage(%s, 'nas', 1, '2026-10-01')$$, :carol),
	format($$SELECT list_machine(%s, 1, '1 CNY', '2027-01-01', at => '2026-10-01')$$, :owner),
	format($$SELECT rate_partner(%s, 1, 'early', '2026-10-01')$$, :owner),
	format($$SELECT request_withdrawal(%s, '1 CNY', '2026-10-01')$$, :owner),
	format($$SELECT create_contract(%s, %s, 1, '1 CNY', '[2026-10-10, 2026-10-20)', '2026-10-01')$$, :carol, :dc)
]) q;
SELECT results_eq($$SELECT * FROM written$$, $$SELECT * FROM before$$, 'the time travellers wrote nothing');

-- 3. R-LED-6, R-PRT-8: an outage report settles and compensates only the customers it locked:
-- an instance created after the window is not touched
SELECT create_instance(:carol, :m, 1, at => '2026-12-01 02:10+08') AS bi \gset
SELECT billed_until AS bi_billed FROM instance WHERE instance_id = :bi \gset
SELECT lives_ok(format($$SELECT report_outage(%s, '2026-12-01 01:10+08', '2026-12-01 01:40+08', at => '2026-12-01 02:30+08')$$, :m),
				'an outage before carol''s instance is reported');
SELECT is((SELECT billed_until FROM instance WHERE instance_id = :bi), :'bi_billed'::timestamptz,
		  'carol''s instance, created after the window, is not settled by the report');
SELECT is((SELECT count(*) FROM outage_compensation WHERE customer_id = :carol), 0::bigint, 'nor compensated');
SELECT is((SELECT count(*) FROM outage_compensation WHERE customer_id = :alice), 1::bigint,
		  'alice, whose instance ran in the window, is compensated');
DROP TABLE before;
CREATE TEMP TABLE before AS SELECT * FROM written;

-- 10. R-SEC-3: text identifiers have a length limit (22023, not 54000)
SELECT throws_ok(q, '22023', NULL, 'too long: ' || left(q, 40)) FROM unnest(ARRAY[
	format($$SELECT open_customer(%L)$$, repeat('x', 10000)),
	format($$SELECT open_partner(%L)$$, repeat('x', 201)),
	format($$SELECT open_provider(%L)$$, repeat('x', 1000000)),
	format($$SELECT recharge(%s, '1 CNY', 'wechat', %L, '2026-12-01')$$, :bob, repeat('x', 10000)),
	format($$SELECT grant_voucher(%s, '1 CNY', NULL, '2026-12-01', %L)$$, :bob, repeat('x', 10000)),
	format($$SELECT create_instance(%s, %s, 1, at => '2026-12-01', request_id => %L)$$, :bob, :m, repeat('x', 1000000)),
	format($$SELECT pay_contract(%s, '240 CNY', %L, '2026-12-01')$$, :ct, repeat('x', 10000)),
	format($$SELECT rate_partner(%s, 1, %L, '2026-12-01')$$, :owner, repeat('x', 10000)),
	format($$SELECT place_hold(%s, '1 CNY', object_type => %L)$$, :bob, repeat('x', 100))
]) q;
SELECT results_eq($$SELECT * FROM written$$, $$SELECT * FROM before$$, 'the long texts wrote nothing');
SELECT throws_ok(format($$SELECT open_customer(%L)$$, repeat('x', 201)), '22023', 'external_ref is too long (at most 200 characters)',
				 'the message says the limit');
SELECT lives_ok(format($$SELECT open_customer(%L, 'CNY', '2026-12-01')$$, repeat('x', 200)), 'an external ref of 200 characters is accepted');

-- 5. R-AMT-1, R-LED-3: sums over the journal never overflow; a balance beyond the range is refused at the call
SELECT open_customer('h-rich-1', 'USD', '2026-12-01') AS rich1 \gset
SELECT open_customer('h-rich-2', 'USD', '2026-12-01') AS rich2 \gset
SELECT lives_ok(format($$SELECT recharge(%s, '5000000000000 USD', 'stripe', 'h-big-1', '2026-12-01')$$, :rich1), 'a recharge of 5e12');
SELECT lives_ok(format($$SELECT recharge(%s, '5000000000000 USD', 'stripe', 'h-big-2', '2026-12-01')$$, :rich2), 'another of 5e12');
SELECT is((SELECT count(*) FROM verify() WHERE NOT ok), 0::bigint, 'verify() is all ok with 1e13 in');
SELECT is((SELECT balance_exact FROM accounts WHERE owner_kind = 'world' AND purpose = 'payments_in' AND currency = 'USD'),
		  -10000000000000::numeric, 'accounts shows the world''s exact balance beyond the amount range');
SELECT is((SELECT balance FROM accounts WHERE owner_kind = 'world' AND purpose = 'payments_in' AND currency = 'USD'),
		  NULL, 'and no amount for it');
DROP TABLE before;
CREATE TEMP TABLE before AS SELECT * FROM written;
SELECT throws_ok(format($$SELECT recharge(%s, '5000000000000 USD', 'stripe', 'h-big-3', '2026-12-01')$$, :rich1), '22003', NULL,
				 'a recharge that takes the wallet beyond the amount range raises 22003');
SELECT throws_ok(format($$SELECT grant_voucher(%s, '9000000000000 USD', NULL, '2026-12-01')$$, :rich2), '22003', NULL,
				 'so does a voucher that takes cash + vouchers beyond it (available could not be computed)');
SELECT results_eq($$SELECT * FROM written$$, $$SELECT * FROM before$$, 'and nothing is written');

-- 8. R-LED-4: every table whose comment says append-only, and every partition of one (the journal's
-- months), refuses UPDATE, DELETE and TRUNCATE: the row trigger (a partition's is its table's,
-- cloned) and a TRUNCATE trigger of its own (TRUNCATE of a partition by name fires only its own)
SELECT is(ARRAY(SELECT c.relname::text FROM pg_class c
				JOIN pg_class r ON r.oid = coalesce(pg_partition_root(c.oid), c.oid)
				WHERE c.relnamespace = 'gpubill'::regnamespace AND c.relkind IN ('r', 'p')
				  AND obj_description(r.oid, 'pg_class') ILIKE '%append-only%'
				  AND (NOT EXISTS (SELECT FROM pg_trigger g WHERE g.tgrelid = c.oid AND g.tgname = r.relname || '_append_only')
					   OR NOT EXISTS (SELECT FROM pg_trigger g WHERE g.tgrelid = c.oid AND g.tgname = c.relname || '_no_truncate'))),
		  '{}'::text[], 'every append-only table and partition has its row and TRUNCATE triggers');
SELECT cmp_ok((SELECT count(*) FROM pg_class c WHERE c.relnamespace = 'gpubill'::regnamespace AND c.relkind IN ('r', 'p')
			   AND obj_description(c.oid, 'pg_class') ILIKE '%append-only%'), '>=', 17::bigint,
			  'at least the 17 append-only tables are declared so');
SELECT throws_ok($$UPDATE storage_bill SET amount = amount$$, 'GB004', NULL, 'UPDATE of storage_bill raises GB004');
SELECT throws_ok($$DELETE FROM storage_bill$$, 'GB004', NULL, 'DELETE from storage_bill raises GB004');
SELECT throws_ok($$TRUNCATE storage_bill$$, 'GB004', NULL, 'TRUNCATE of storage_bill raises GB004');
SELECT throws_ok($$TRUNCATE rating_event$$, 'GB004', NULL, 'TRUNCATE of rating_event raises GB004');

-- 9. C arithmetic: overflow raises 22003
SELECT throws_ok($$SELECT add_term('2026-01-01', 'week', 2147483647)$$, '22003', NULL, 'add_term of 2^31 weeks raises 22003');
SELECT throws_ok($$SELECT initial_payment('1 CNY', tstzrange('4713-01-01 BC', '294276-01-01'))$$, '22003', NULL,
				 'initial_payment over the timestamp range raises 22003');
SELECT throws_ok($$SELECT '[2026-13-45 10:00,2026-11-23 11:00) hour'::billing_period$$, '22P02', NULL,
				 'a malformed billing_period bound raises 22P02');

-- R-CLK-5: a forced offline with at omitted acts at the latest event of its instances (in simulated time here)
SELECT lives_ok(format($$SELECT take_offline(%s, true)$$, :m), 'a forced offline with at omitted does not fail for time');
SELECT is((SELECT count(*) FROM instance WHERE machine_id = :m AND state = 'running'), 0::bigint, 'and stops every instance');
SELECT is((SELECT count(*) FROM verify() WHERE NOT ok), 0::bigint, 'verify() is all ok at the end');
SELECT * FROM finish();
ROLLBACK;
