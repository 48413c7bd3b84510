-- R-CLK-6: the one customer of a database poisoned behind the API's back.
-- The first pass fails with a single customer in scope, the empty pass run
-- to probe succeeds: the customer is blamed with the failing pass's own
-- error (once, the probe's result overwrote it and the record failed).
BEGIN;
SELECT plan(4);
SET search_path = gpubill, public;
SET client_min_messages = error;	-- the WARNING of the failure

SELECT open_partner('pa-owner', 'CNY', '2026-11-01') AS owner \gset
SELECT list_machine(:owner, 10, '1.00 CNY', '2027-12-31', at => '2026-11-01') AS m \gset
SELECT open_customer('pa-1', 'CNY', '2026-11-01') AS p \gset
SELECT recharge(:p, '100 CNY', 'wechat', 'pa-1', '2026-11-01');
SELECT create_instance(:p, :m, 1, at => '2026-11-23 10:00+08');
INSERT INTO hold_end (hold_id, customer_id, kind, captured, at)
SELECT hold_id, customer_id, 'release', '0 CNY', '2026-11-23 10:30+08' FROM instance WHERE customer_id = :p;

SELECT lives_ok($$SELECT tick('2026-11-23 11:00+08')$$, 'a tick whose only customer is poisoned runs');
SELECT results_eq(format($$SELECT customer, job, sqlstate FROM tick_failures$$),
				  format($$VALUES (%s::bigint, 'customer', '23505')$$, :p),
				  'the customer is blamed with the error of its own pass (23505), not the probe''s');
SELECT is((SELECT count(*) FROM open_alerts WHERE kind = 'tick_failure' AND customer = :p), 1::bigint, 'with its alert');
SELECT is((SELECT count(*) FROM order_line), 0::bigint, 'and nothing of it is half settled');

SELECT * FROM finish();
ROLLBACK;
