-- pgTAP: the reporting interface for BI tools (issue 16).  gpubill_bi's views
-- have no gpubill type and no range: money is numeric next to a currency,
-- every view with money has its currency, and a tool-style SUM ... GROUP BY
-- currency gives each currency's own total — the same as the journal's and as
-- gpubill's views (R-BI-2) — over customers and partners in two currencies.
BEGIN;
SET LOCAL search_path = gpubill, public;
SET LOCAL TimeZone = 'Asia/Shanghai';
SELECT plan(14);

-- two currencies: a CNY and a USD partner, customer, machine, instances; a day of ticks; a withdrawal
SELECT open_partner('bi-owner-cny', 'CNY', '2026-11-01') AS pc \gset
SELECT open_partner('bi-owner-usd', 'USD', '2026-11-01') AS pu \gset
SELECT list_machine(:pc, 8, '2.00 CNY', '2027-12-01', at => '2026-11-01') AS mc \gset
SELECT list_machine(:pu, 8, '0.50 USD', '2027-12-01', at => '2026-11-01') AS mu \gset
SELECT open_customer('bi-cny-' || i, 'CNY', '2026-11-01') FROM generate_series(1, 3) i;
SELECT open_customer('bi-usd-' || i, 'USD', '2026-11-01') FROM generate_series(1, 2) i;
SELECT recharge(customer_id, amount(100 + customer_id % 7, currency(cash)), 'alipay', 'bi-' || customer_id, '2026-11-01 08:00+08')
FROM wallet;
SELECT create_instance(w.customer_id, CASE currency(w.cash) WHEN 'CNY' THEN :mc ELSE :mu END, 1, at => '2026-11-01 09:30+08')
FROM wallet w;
SELECT count(tick(t)) FROM generate_series('2026-11-01 10:00+08'::timestamptz, '2026-11-02 09:00+08', '1 hour') t;
SELECT stop_instance(min(instance_id), '2026-11-02 09:20+08') FROM instance;

-- the types: plain SQL only
SELECT is(ARRAY(SELECT c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
				FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
				JOIN pg_type t ON t.oid = a.atttypid
				WHERE c.relnamespace = 'gpubill_bi'::regnamespace
				  AND (t.typnamespace = 'gpubill'::regnamespace OR t.typtype IN ('r', 'm', 'c') OR t.typcategory NOT IN ('N', 'S', 'D', 'B'))),
		  '{}'::text[], 'no column of gpubill_bi is of a gpubill type, a range or a composite: numbers, text, dates, booleans');
SELECT is(ARRAY(SELECT c.relname::text FROM pg_class c WHERE c.relnamespace = 'gpubill_bi'::regnamespace
				AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.atttypid = 'numeric'::regtype)
				AND NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'currency')),
		  '{}'::text[], 'every view with money has its currency');
SELECT is((SELECT count(*) FROM pg_class WHERE relnamespace = 'gpubill_bi'::regnamespace AND relkind = 'v'), 9::bigint,
		  'nine views: customer and partner statements, platform revenue, instance usage, accounts, transfers, arrears, contract receivables, wallets');

-- each currency its own total: the journal's
SELECT results_eq($$SELECT currency, kind, sum(amount) FROM gpubill_bi.transfers GROUP BY 1, 2 ORDER BY 1, 2$$,
				  $$SELECT gpubill.currency(amount), kind, sum(gpubill.to_numeric(amount)) FROM gpubill.transfer GROUP BY 1, 2 ORDER BY 1, 2$$,
				  'transfers: each currency''s total of each kind is the journal''s');
SELECT is(ARRAY(SELECT DISTINCT currency FROM gpubill_bi.transfers ORDER BY 1), ARRAY['CNY', 'USD'], 'in two currencies');
SELECT is((SELECT count(*) FROM (SELECT currency FROM gpubill_bi.accounts GROUP BY currency HAVING sum(balance) <> 0) x), 0::bigint,
		  'accounts: each currency''s balances sum to zero (double entry)');
SELECT results_eq($$SELECT currency, sum(charged), sum(recharged) FROM gpubill_bi.customer_statement GROUP BY 1 ORDER BY 1$$,
				  $$SELECT currency(charged), to_numeric(sum(charged)), to_numeric(sum(recharged))
					FROM gpubill.customer_statement GROUP BY 1 ORDER BY 1$$,
				  'customer_statement: a tool''s SUM(charged) GROUP BY currency is gpubill''s per-currency sum');
SELECT results_eq($$SELECT currency, sum(charged) FROM gpubill_bi.customer_statement GROUP BY 1 ORDER BY 1$$,
				  $$SELECT gpubill.currency(amount), sum(gpubill.to_numeric(amount)) FROM gpubill.transfer
					WHERE kind IN ('income', 'fee', 'voucher_spend', 'storage') GROUP BY 1 ORDER BY 1$$,
				  'and the journal''s charges');
SELECT results_eq($$SELECT currency, sum(gross), sum(income), sum(fees) FROM gpubill_bi.partner_statement GROUP BY 1 ORDER BY 1$$,
				  $$SELECT currency(gross), to_numeric(sum(gross)), to_numeric(sum(income)), to_numeric(sum(fees))
					FROM gpubill.partner_statement GROUP BY 1 ORDER BY 1$$,
				  'partner_statement: each currency''s gross, income and fees');
SELECT results_eq($$SELECT currency, sum(service_fees) FROM gpubill_bi.platform_revenue GROUP BY 1 ORDER BY 1$$,
				  $$SELECT gpubill.currency(amount), sum(gpubill.to_numeric(amount)) FROM gpubill.transfer WHERE kind = 'fee' GROUP BY 1 ORDER BY 1$$,
				  'platform_revenue: each currency''s service fees are the journal''s fee transfers');
SELECT results_eq($$SELECT currency, sum(seconds), sum(charged) FROM gpubill_bi.instance_usage GROUP BY 1 ORDER BY 1$$,
				  $$SELECT currency(charged), sum(seconds), to_numeric(sum(charged)) FROM gpubill.instance_usage GROUP BY 1 ORDER BY 1$$,
				  'instance_usage: each currency''s seconds and charges');
SELECT results_eq($$SELECT currency, sum(cash), sum(available) FROM gpubill_bi.wallets GROUP BY 1 ORDER BY 1$$,
				  $$SELECT currency(f.cash), to_numeric(sum(f.cash)), to_numeric(sum(f.available)) FROM gpubill.wallet w,
					LATERAL gpubill.wallet(w.customer_id) f GROUP BY 1 ORDER BY 1$$,
				  'wallets: each currency''s cash and available, as wallet() gives them');

-- who reads it
SET LOCAL ROLE gpubill_reader;
SELECT lives_ok($$SELECT count(*) FROM gpubill_bi.customer_statement, gpubill_bi.transfers LIMIT 1$$, 'gpubill_reader reads gpubill_bi');
RESET ROLE;
SET LOCAL ROLE gpubill_app;
SELECT throws_ok($$SELECT count(*) FROM gpubill_bi.transfers$$, '42501', NULL, 'gpubill_app does not (a BI role is a reader)');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
