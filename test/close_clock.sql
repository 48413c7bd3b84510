-- Period close on the clock (issue 14): tick called without at, as pg_cron
-- calls it, closes every month up to the month before last of now (the
-- settings period_close_months and period_close_days set the delay); the
-- statements are unchanged; a call dated in a closed month is refused (GB004).
BEGIN;
SELECT plan(7);
SET search_path = gpubill, public;

SELECT open_customer('cc-1', 'CNY', now() - interval '5 months') AS c \gset
SELECT recharge(:c, '100 CNY', 'wechat', 'cc-' || k, now() - k * interval '1 month') FROM generate_series(1, 4) k;
CREATE TEMP TABLE before_cs AS SELECT * FROM customer_statement;

SELECT set_setting('period_close_months', '3');
SELECT ok(tick() IS NOT NULL, 'a tick on the clock');
SELECT is(closed_until(), (SELECT starts_at FROM month_bounds((date_trunc('month', now() AT TIME ZONE billing_timezone())
																- interval '3 months')::date)),
		  'with period_close_months = 3, every month that ended three months ago is closed');
SELECT set_setting('period_close_months', '1');
SELECT ok(tick() IS NOT NULL, 'tick again, the setting back to its default');
SELECT is(closed_until(), (SELECT starts_at FROM month_bounds((date_trunc('month', now() AT TIME ZONE billing_timezone())
																- interval '1 month')::date)),
		  'the month before last is closed: the last month and this one are open');
SELECT is((SELECT count(*) FROM (SELECT * FROM customer_statement EXCEPT ALL SELECT * FROM before_cs) d), 0::bigint,
		  'the statements are unchanged');
SELECT throws_ok(format($$SELECT gpubill.recharge(%s, '1 CNY', 'wechat', 'cc-late', now() - interval '3 months')$$, :c),
				 'GB004', NULL, 'a recharge dated three months ago is refused');
SELECT is(ARRAY(SELECT check_name FROM verify() WHERE NOT ok), '{}'::text[], 'verify() is all ok');

SELECT * FROM finish();
ROLLBACK;
