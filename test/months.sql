-- The journal by billing month (issue 14): transfers and order lines are
-- partitioned by the month of their business time in the billing time zone;
-- tick makes the partitions of its month and the two after it, each month
-- once; a month whose rows reached the default partition first keeps them
-- there; every partition is append-only (R-LED-4); a transfer is reversed
-- once across months; the journal and verify() are unchanged (R-LED-1, R-LED-3).
BEGIN;
SELECT plan(31);
SET search_path = gpubill, public;
SET TimeZone = 'UTC';

CREATE TEMP VIEW parts AS
SELECT c.relname::text AS part, pg_get_expr(c.relpartbound, c.oid) AS bound
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent IN ('gpubill.transfer'::regclass, 'gpubill.order_line'::regclass);

SELECT is(ARRAY(SELECT part FROM parts ORDER BY 1), ARRAY['order_line_default', 'transfer_default'],
		  'a new install has the default partitions only');

SELECT open_partner('mo-owner', 'CNY', '2026-11-01') AS owner \gset
SELECT open_customer('mo-alice', 'CNY', '2026-11-01') AS alice \gset
SELECT recharge(:alice, '100000 CNY', 'wechat', 'mo-1', '2026-11-01') AS r1 \gset
SELECT is((SELECT tableoid::regclass::text FROM transfer WHERE kind = 'recharge' AND customer_id = :alice),
		  'transfer_default', 'a transfer of a month without a partition lands in the default partition');

-- tick makes its month and the two after it
SELECT ok(tick('2026-12-05 00:00+08') IS NOT NULL, 'tick in December');
SELECT is(ARRAY(SELECT part FROM parts ORDER BY 1),
		  ARRAY['order_line_2026_12', 'order_line_2027_01', 'order_line_2027_02', 'order_line_default',
				'transfer_2026_12', 'transfer_2027_01', 'transfer_2027_02', 'transfer_default'],
		  'tick made the partitions of December and the two months after it, for both journal tables');
SELECT is((SELECT bound FROM parts WHERE part = 'transfer_2026_12'),
		  $$FOR VALUES FROM ('2026-11-30 16:00:00+00') TO ('2026-12-31 16:00:00+00')$$,
		  'a partition holds a calendar month of the billing time zone (Asia/Shanghai)');
SELECT is(obj_description('gpubill.transfer_2026_12'::regclass, 'pg_class'),
		  'The rows of transfer of the billing month 2026-12 (Asia/Shanghai)', 'and says so');
SELECT is((SELECT count(*) FROM parts), 8::bigint, 'a second tick makes nothing more') FROM (SELECT tick('2026-12-05 01:00+08')) x;

-- rows land in their month's partition, at the month's edges too
SELECT recharge(:alice, '10 CNY', 'wechat', 'mo-2', '2026-12-31 23:59:59+08') AS r2 \gset
SELECT recharge(:alice, '10 CNY', 'wechat', 'mo-3', '2027-01-01 00:00+08') AS r3 \gset
SELECT is(ARRAY(SELECT tableoid::regclass::text FROM transfer WHERE object_id IN (:r2, :r3) AND kind = 'recharge' ORDER BY at),
		  ARRAY['transfer_2026_12', 'transfer_2027_01'], 'the last second of December in December, midnight in January');
SELECT list_machine(:owner, 8, '2.00 CNY', '2027-12-31', at => '2026-12-05 00:00+08') AS m \gset
SELECT create_instance(:alice, :m, 1, at => '2026-12-05 10:00+08') AS i \gset
SELECT ok(tick('2026-12-05 12:00+08') IS NOT NULL, 'two hours settled');
SELECT is(ARRAY(SELECT DISTINCT tableoid::regclass::text FROM order_line WHERE instance_id = :i),
		  ARRAY['order_line_2026_12'], 'order lines land in their month''s partition');
SELECT is((SELECT count(*) FROM ONLY transfer_default), 1::bigint, 'the default partition keeps only the November recharge');

-- a month whose rows are in the default partition already keeps them there, and tick does not fail
SELECT recharge(:alice, '10 CNY', 'wechat', 'mo-4', '2027-03-02 00:00+08') AS r4 \gset
SELECT is((SELECT tableoid::regclass::text FROM transfer WHERE object_id = :r4 AND kind = 'recharge'), 'transfer_default',
		  'a recharge dated in March, before March has a partition, lands in the default partition');
SELECT ok(tick('2027-01-10 00:00+08') IS NOT NULL, 'tick in January');
SELECT ok(to_regclass('gpubill.transfer_2027_03') IS NULL, 'March gets no transfer partition: its rows are in the default');
SELECT ok(to_regclass('gpubill.order_line_2027_03') IS NOT NULL, 'order lines of March (none in the default) get theirs');
SELECT is((SELECT count(*) FROM tick_failure), 0::bigint, 'and no failure is recorded');
SELECT is((SELECT count(*) FROM transfer WHERE object_id = :r4 AND kind = 'recharge'), 1::bigint, 'the March recharge is still read');

-- R-LED-4: every partition is append-only
SELECT throws_ok($$UPDATE gpubill.transfer_2026_12 SET note = 'x'$$, 'GB004', NULL, 'UPDATE of a month''s partition is refused');
SELECT throws_ok($$DELETE FROM gpubill.order_line_2026_12$$, 'GB004', NULL, 'so is DELETE');
SELECT throws_ok($$TRUNCATE gpubill.transfer_2026_12$$, 'GB004', NULL, 'so is TRUNCATE of a partition by name');
SELECT throws_ok($$TRUNCATE gpubill.transfer$$, 'GB004', NULL, 'and of the journal');
SELECT throws_ok($$TRUNCATE gpubill.order_line_default$$, 'GB004', NULL, 'and of a default partition');

-- a transfer is reversed once, whatever the months of the reversals
SELECT transfer_id AS tr FROM transfer WHERE object_id = :r2 AND kind = 'recharge' \gset
SELECT reverse_transfer(:tr, 'duplicate payment', '2027-01-10 01:00+08') AS rev \gset
SELECT is((SELECT tableoid::regclass::text FROM transfer WHERE transfer_id = :rev), 'transfer_2027_01',
		  'a reversal of a December transfer in January is a January transfer');
SELECT throws_ok(format($$SELECT gpubill.reverse_transfer(%s, 'again', '2027-02-10 01:00+08')$$, :tr), 'GB004', NULL,
				 'a second reversal, in another month, is refused');
SELECT is((SELECT reversed_by FROM (SELECT transfer_id AS reversed_by FROM reversal WHERE reverses = :tr) x), :rev::bigint,
		  'the reversal is recorded once');

SELECT throws_ok($$SELECT gpubill.add_journal_months('2027-01-01', -1)$$, '22023', NULL, 'months ahead must not be negative');
SELECT is(ARRAY(SELECT check_name FROM verify() WHERE NOT ok), '{}'::text[], 'verify() is all ok');

-- billing_timezone changed before any month is closed (allowed: test/close.sql): a month partition
-- made under the old zone may overlap one of the new zone; the month stays in the default partition
SELECT set_setting('billing_timezone', 'Pacific/Auckland');
SELECT is(add_journal_months('2027-04-10 00:00+12', 0), 1,
		  'Auckland''s April gets its transfer partition; its order lines overlap Shanghai''s March: none, and no error');
SELECT is((SELECT bound FROM parts WHERE part = 'transfer_2027_04'),
		  $$FOR VALUES FROM ('2027-03-31 11:00:00+00') TO ('2027-04-30 12:00:00+00')$$, 'April in Auckland');
SELECT ok(to_regclass('gpubill.order_line_2027_04') IS NULL, 'order lines of April stay in the default partition');
-- closing a month freezes the partitions that end by its end, whatever their names
SELECT freeze_journal_month('2027-03-01');
SELECT is(ARRAY(SELECT c.relname::text FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid WHERE k.conname = 'month_closed' ORDER BY 1),
		  ARRAY['order_line_2026_12', 'order_line_2027_01', 'order_line_2027_02', 'transfer_2026_12', 'transfer_2027_01', 'transfer_2027_02'],
		  'Auckland''s March frozen: Shanghai''s months up to February; not Shanghai''s March, which ends in Auckland''s April');

SELECT * FROM finish();
ROLLBACK;
