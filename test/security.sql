-- pgTAP: roles, privileges, SECURITY DEFINER hygiene, search_path hijacking
-- R-SEC-1 R-SEC-2 R-SEC-3
BEGIN;
SET LOCAL search_path = gpubill, public;
SELECT plan(18);

SELECT has_role('gpubill_admin', 'the extension creates gpubill_admin');
SELECT has_role('gpubill_app', 'the extension creates gpubill_app');
SELECT has_role('gpubill_reader', 'the extension creates gpubill_reader');
SELECT ok(pg_has_role('gpubill_admin', 'gpubill_app', 'MEMBER'), 'gpubill_admin can do what gpubill_app can');

-- R-SEC-2: every SECURITY DEFINER function pins search_path and is not executable by PUBLIC
SELECT is((SELECT count(*) FROM pg_proc p WHERE p.pronamespace = 'gpubill'::regnamespace AND p.prosecdef
		   AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, gpubill, pg_temp'], false)), 0::bigint,
		  'every SECURITY DEFINER function sets search_path = pg_catalog, gpubill, pg_temp');
SELECT is((SELECT string_agg(p.oid::regprocedure::text, ', ') FROM pg_proc p
		   WHERE p.pronamespace = 'gpubill'::regnamespace AND p.prosecdef
			 AND has_function_privilege('public', p.oid, 'EXECUTE')), NULL,
		  'no SECURITY DEFINER function is executable by PUBLIC');
SELECT is((SELECT string_agg(c.relname, ', ') FROM pg_class c
		   WHERE c.relnamespace = 'gpubill'::regnamespace AND c.relkind IN ('r', 'S')
			 AND (has_table_privilege('gpubill_app', c.oid, 'INSERT') OR has_table_privilege('gpubill_app', c.oid, 'UPDATE')
				  OR has_table_privilege('gpubill_app', c.oid, 'DELETE') OR has_table_privilege('gpubill_reader', c.oid, 'SELECT')
				  OR has_table_privilege('gpubill_app', c.oid, 'SELECT'))), NULL,
		  'no role but the owner reads or writes the tables directly (R-SEC-1)');

-- R-SEC-1 the app works through the API only
SELECT open_customer('sec-dave', 'CNY', '2026-11-01') AS dave \gset
SET LOCAL ROLE gpubill_app;
SELECT lives_ok(format($$SELECT gpubill.recharge(%s, '10 CNY', 'paypal', 'pp-sec-1')$$, :dave), 'gpubill_app calls the API');
SELECT throws_ok($$INSERT INTO gpubill.transfer (customer_id, at, kind, debit_account, credit_account, amount) VALUES (1, now(), 'recharge', 1, 2, '1 CNY')$$,
				 '42501', NULL, 'gpubill_app cannot write the journal');
SELECT throws_ok($$SELECT * FROM gpubill.wallet$$, '42501', NULL, 'gpubill_app cannot read tables directly');
SELECT throws_ok($$SELECT gpubill.set_setting('service_fee_rate', '0.5')$$, '42501', NULL,
				 'gpubill_app cannot change settings');
RESET ROLE;
SET LOCAL ROLE gpubill_reader;
SELECT lives_ok($$SELECT count(*) FROM gpubill.transfers$$, 'gpubill_reader reads the views');
SELECT throws_ok($$SELECT count(*) FROM gpubill.transfer$$, '42501', NULL, 'gpubill_reader cannot read tables');
SELECT throws_ok(format($$SELECT gpubill.recharge(%s, '10 CNY', 'paypal', 'pp-sec-2')$$, :dave), '42501', NULL,
				 'gpubill_reader cannot call the API');
RESET ROLE;
-- a temporary table the settlement would write into, made by the caller, is refused
SET LOCAL ROLE gpubill_app;
CREATE TEMP TABLE gpubill_settling (customer_id bigint);
SELECT throws_ok($$SELECT gpubill.tick('2026-11-05 10:00+08')$$, '42501', NULL,
				 'tick refuses a look-alike temporary table of the caller');
DROP TABLE pg_temp.gpubill_settling;
SELECT lives_ok($$SELECT gpubill.tick('2026-11-05 10:00+08')$$, 'and runs once it is gone');
RESET ROLE;

-- search_path hijacking (in the style of contrib/seg's security test): a
-- caller's schema with look-alike functions and operators changes nothing
CREATE SCHEMA evil;
CREATE FUNCTION evil.micros(gpubill.amount) RETURNS bigint LANGUAGE sql AS 'SELECT 1::bigint';
CREATE FUNCTION evil.zero(text) RETURNS gpubill.amount LANGUAGE sql AS $$SELECT '1000000 CNY'::gpubill.amount$$;
CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE sql AS $$SELECT '1999-01-01'::timestamptz$$;
CREATE FUNCTION evil.evil_add(gpubill.amount, gpubill.amount) RETURNS gpubill.amount LANGUAGE sql
	AS $$SELECT '999 CNY'::gpubill.amount$$;
CREATE OPERATOR evil.+ (LEFTARG = gpubill.amount, RIGHTARG = gpubill.amount, FUNCTION = evil.evil_add);
SET LOCAL search_path = evil, pg_temp, public, gpubill, pg_catalog;
SELECT recharge(:dave, '5.00 CNY', 'paypal', 'pp-sec-3', '2026-11-05 10:00+08') IS NOT NULL AS recharged;
SELECT is((SELECT cash FROM wallet(:dave)), '15.00 CNY'::amount, 'the API ignores look-alike objects on the caller''s search_path');
SET LOCAL search_path = gpubill, public;
SELECT is((SELECT count(*) FROM verify() WHERE NOT ok), 0::bigint, 'and the ledger stays consistent');

SELECT * FROM finish();
ROLLBACK;
