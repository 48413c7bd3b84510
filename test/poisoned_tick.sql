-- R-CLK-6: one customer's rows never stop the clock.  Two customers are
-- poisoned behind the API's back (an instance's hold ended in the table, a
-- storage level of NaN); 48 hourly ticks settle every other customer exactly,
-- report the two (tick_failures, an alert each), retry them at every tick,
-- and the one healed catches up in time order, exactly once.
BEGIN;
SELECT plan(24);
SET search_path = gpubill, public;
SET client_min_messages = error;	-- the WARNING of each failure

SELECT open_partner('pt-owner', 'CNY', '2026-11-01') AS owner \gset
SELECT list_machine(:owner, 100, '1.00 CNY', '2027-12-31', at => '2026-11-01') AS m \gset
SELECT count(open_customer('pt-' || i, 'CNY', '2026-11-01')) FROM generate_series(1, 12) i;
SELECT count(recharge(customer_id, '500 CNY', 'wechat', 'pt-' || customer_id, '2026-11-01')) FROM customer;
SELECT count(create_instance(customer_id, :m, 1, at => '2026-11-23 10:00+08')) FROM customer;
SELECT min(customer_id) AS p, min(customer_id) + 5 AS q FROM customer \gset

-- poison p: the hold of its running instance ended (as the public hold API once allowed)
INSERT INTO hold_end (hold_id, customer_id, kind, captured, at)
SELECT hold_id, customer_id, 'release', '0 CNY', '2026-11-23 10:30+08' FROM instance WHERE customer_id = :p;
-- poison q: a storage level of NaN GB (as set_storage once accepted)
INSERT INTO storage_level (customer_id, kind, since, gb) VALUES (:q, 'disk', '2026-11-23 10:00+08', 'NaN');

SELECT lives_ok($$SELECT tick(h) FROM generate_series('2026-11-23 11:00+08'::timestamptz, '2026-11-25 10:00+08', '1 hour') h$$,
				'48 hourly ticks run with two poisoned customers');
SELECT is((SELECT count(*) FROM instance WHERE customer_id NOT IN (:p, :q) AND billed_until = '2026-11-25 10:00+08'),
		  10::bigint, 'every other customer is settled up to the last tick');
SELECT is((SELECT count(*) FROM order_line WHERE customer_id NOT IN (:p, :q)), 480::bigint,
		  'with one order line per hour each: 48 x 10');
SELECT is((SELECT sum(charge) FROM order_line WHERE customer_id NOT IN (:p, :q)), '480.00 CNY'::amount,
		  'each hour charged exactly once: 480 x 1.00');
SELECT set_eq($$SELECT customer, job FROM tick_failures$$, format($$VALUES (%s::bigint, 'customer'), (%s, 'customer')$$, :p, :q),
			  'the two poisoned customers are reported, and nothing else');
SELECT is((SELECT sqlstate FROM tick_failures WHERE customer = :p), '23505', 'p fails on its ended hold (23505)');
SELECT cmp_ok((SELECT attempts FROM tick_failures WHERE customer = :q), '>=', 48, 'q is retried at every tick');
SELECT is((SELECT count(*) FROM open_alerts WHERE kind = 'tick_failure' AND customer IN (:p, :q)), 2::bigint,
		  'an open tick_failure alert for each');
SELECT is((SELECT billed_until FROM instance WHERE customer_id = :q), '2026-11-23 10:00+08'::timestamptz,
		  'q''s instance waits where its failure began');

-- q is healed: the next tick catches it up in time order, exactly once
DELETE FROM storage_level WHERE customer_id = :q;
SELECT lives_ok($$SELECT tick('2026-11-25 10:30+08')$$, 'a tick after q was healed');
SELECT is((SELECT count(*) FROM tick_failures WHERE customer = :q), 0::bigint, 'q''s failure is closed');
SELECT is((SELECT count(*) FROM open_alerts WHERE kind = 'tick_failure' AND customer = :q), 0::bigint, 'and its alert');
SELECT results_eq(format($$SELECT count(*), sum(charge), min(lower(usage)), max(upper(usage)) FROM order_line WHERE customer_id = %s$$, :q),
				  $$VALUES (48::bigint, '48.00 CNY'::amount, '2026-11-23 10:00+08'::timestamptz, '2026-11-25 10:00+08'::timestamptz)$$,
				  'q is charged its 48 hours, each at its own instant');
SELECT lives_ok($$SELECT tick('2026-11-25 10:30+08')$$, 'the same tick again');
SELECT is((SELECT count(*) FROM order_line), 528::bigint, 'moves nothing twice: 11 x 48 lines');
SELECT is(ARRAY(SELECT check_name FROM verify() WHERE NOT ok ORDER BY 1),
		  ARRAY['held equals the active holds', 'running PAYG instances have exactly one active hold of their own'],
		  'verify() finds p''s poisoned hold (its wallet still counts it held), and nothing else');

-- a partners' step that fails (a machine row that refuses its update) is recorded under its name,
-- while the customers are settled; it closes when it succeeds again
SELECT list_machine(:owner, 1, '1.00 CNY', '2026-12-01 00:00+08', at => '2026-11-01') AS ending \gset
CREATE FUNCTION public.refuse_machine_data() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'machine % is poisoned', OLD.machine_id USING ERRCODE = '22000'; END $$;
CREATE TRIGGER poison BEFORE UPDATE ON machine FOR EACH ROW WHEN (OLD.machine_id = :ending)
	EXECUTE FUNCTION public.refuse_machine_data();
SELECT lives_ok($$SELECT tick('2026-11-25 11:00+08')$$, 'a tick whose delisting step fails');
SELECT is((SELECT sqlstate FROM tick_failures WHERE job = 'delist_ending_machines'), '22000',
		  'the step is reported under its name');
SELECT is((SELECT count(*) FROM instance WHERE customer_id <> :p AND billed_until = '2026-11-25 11:00+08'), 11::bigint,
		  'and every customer but p is settled');
DROP TRIGGER poison ON machine;
SELECT tick('2026-11-25 12:00+08');
SELECT is((SELECT count(*) FROM tick_failures WHERE job = 'delist_ending_machines'), 0::bigint,
		  'the step''s failure closes when it succeeds');

-- a failure that is no customer's (a setting every pass reads, broken behind set_setting's back)
-- is the tick's own: recorded once as job tick, no customer blamed, nothing half done
INSERT INTO settings (key, value, changed_by) VALUES ('alert_horizon_hours', 'seventy-two', 'test');
SELECT lives_ok($$SELECT tick('2026-11-25 13:00+08')$$, 'a tick whose every pass fails');
SELECT set_eq($$SELECT customer, job FROM tick_failures$$, format($$VALUES (%s::bigint, 'customer'), (NULL, 'tick')$$, :p),
			  'is recorded as the tick''s own failure, no customer blamed but p');
SELECT is((SELECT count(*) FROM order_line WHERE upper(usage) = '2026-11-25 13:00+08'), 0::bigint, 'and settled nothing');
DELETE FROM settings WHERE key = 'alert_horizon_hours';
SELECT tick('2026-11-25 13:00+08');
SELECT is((SELECT count(*) FROM order_line WHERE upper(usage) = '2026-11-25 13:00+08')
		  || ' ' || (SELECT count(*) FROM tick_failures WHERE job = 'tick'), '11 0',
		  'once repaired, the next tick settles the hour for the 11 and closes the tick''s failure');
SELECT * FROM finish();
ROLLBACK;
