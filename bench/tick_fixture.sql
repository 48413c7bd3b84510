-- bench/tick_fixture.sql — :n running PAYG instances, 100 per customer, due at
-- 2026-11-02 11:00+08, as create_instance leaves them (a hold of one hour each,
-- the wallet's held raised), in a system that ticked a quarter hour before
-- (the journal's months made: tick at the boundary does only the boundary's
-- work).  Customers, accounts and recharges go through the API; the
-- instances are inserted set-based, for speed (psql -v n=100000).
\set ON_ERROR_STOP on
SET search_path = gpubill, public;
SELECT set_setting('payg_limit_instances', '1000000');
SELECT open_partner('bench-owner', 'CNY', '2026-11-01') AS owner \gset
SELECT list_machine(:owner, 10000000, '1.00 CNY', '2030-01-01', at => '2026-11-01') AS m \gset
SELECT count(open_customer('bench-' || i, 'CNY', '2026-11-01')) AS customers FROM generate_series(1, (:n + 99) / 100) i;
SELECT count(recharge(customer_id, '100000.00 CNY', 'wechat', 'bench-' || customer_id, '2026-11-01')) AS recharges FROM customer;
CREATE TEMP TABLE fix AS
SELECT nextval('gpubill.id_seq') AS instance_id, nextval('gpubill.id_seq') AS hold_id, c.customer_id
FROM (SELECT customer_id, row_number() OVER (ORDER BY customer_id) AS k FROM customer) c
CROSS JOIN generate_series(1, 100) j
WHERE (c.k - 1) * 100 + j <= :n;
INSERT INTO hold (hold_id, customer_id, amount, cash_only, at, object_type, object_id)
SELECT hold_id, customer_id, '1.00 CNY', false, '2026-11-02 10:30+08', 'instance', instance_id FROM fix;
INSERT INTO instance (instance_id, customer_id, machine_id, partner_id, gpus, billing, product, auto_renew, state, hourly_fee,
					  cash_only, hold_id, billed_until, next_settle_at, run_started_at, created_at, last_event_at)
SELECT instance_id, customer_id, :m, :owner, 1, 'payg', 'per_second', false, 'running', '1.00 CNY', false, hold_id,
	   '2026-11-02 10:30+08', '2026-11-02 11:00+08', '2026-11-02 10:30+08', '2026-11-02 10:30+08', '2026-11-02 10:30+08'
FROM fix;
UPDATE wallet w SET held = w.held + x.n * '1.00 CNY'::amount
FROM (SELECT customer_id, count(*)::numeric AS n FROM fix GROUP BY 1) x WHERE w.customer_id = x.customer_id;
-- a system that has been ticking: its last tick a quarter hour before (the journal's months made, the clock's state kept)
SELECT tick('2026-11-02 10:45+08') IS NOT NULL AS ticked_before;
VACUUM ANALYZE;
CHECKPOINT;
