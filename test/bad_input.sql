-- Bad input to every API function (issue 11, R-SEC-3, SPEC section 9): NULL,
-- zero, negative, wrong currency, unknown id, time travel, bad enum, huge
-- value, reused request id — each refused with its SQLSTATE, and nothing
-- written by any of them.
BEGIN;
SELECT plan(2);
SET search_path = gpubill, public;

SELECT open_partner('bi-owner', 'CNY', '2026-11-01') AS p \gset
SELECT open_provider('bi-dc', 'CNY', '2026-11-01') AS dc \gset
SELECT open_customer('bi-c', 'CNY', '2026-11-01') AS c \gset
SELECT open_customer('bi-u', 'USD', '2026-11-01') AS u \gset
SELECT recharge(:c, '1000 CNY', 'wechat', 'bi-1', '2026-11-01') AS rc \gset
SELECT grant_voucher(:c, '5 CNY', NULL, '2026-11-01', 'bi-v') AS v \gset
SELECT list_machine(:p, 8, '2.00 CNY', '2027-12-31', at => '2026-11-10') AS m \gset
SELECT create_instance(:c, :m, 1, at => '2026-11-23 10:00+08', request_id => 'bi-i') AS i \gset
SELECT place_hold(:c, '3 CNY', at => '2026-11-23 10:00+08') AS h \gset
SELECT create_contract(:c, :dc, 1, '1.00 CNY', '[2026-12-10 00:00+08, 2026-12-20 00:00+08)', '2026-11-23 10:30+08') AS ct \gset
SELECT transfer_id AS tr FROM transfer ORDER BY transfer_id LIMIT 1 \gset

CREATE TEMP VIEW written AS
SELECT (SELECT count(*) FROM transfer) AS transfers, (SELECT count(*) FROM hold) AS holds,
	   (SELECT count(*) FROM hold_end) AS hold_ends, (SELECT count(*) FROM instance) AS instances,
	   (SELECT count(*) FROM storage_level) AS levels, (SELECT count(*) FROM outage) AS outages,
	   (SELECT count(*) FROM contract) AS contracts, (SELECT count(*) FROM request) AS requests,
	   (SELECT count(*) FROM customer) AS customers, (SELECT count(*) FROM partner) AS partners,
	   (SELECT count(*) FROM machine) AS machines, (SELECT count(*) FROM invoice) AS invoices,
	   (SELECT count(*) FROM rating_event) AS ratings, (SELECT count(*) FROM withdrawal) AS withdrawals,
	   (SELECT count(*) FROM refund) AS refunds, (SELECT count(*) FROM settings) AS settings,
	   (SELECT pg_catalog.md5(pg_catalog.string_agg(x::text, ',' ORDER BY x.customer_id)) FROM wallet x) AS wallets,
	   (SELECT pg_catalog.md5(pg_catalog.string_agg(x::text, ',' ORDER BY x.instance_id)) FROM instance x) AS instance_rows,
	   (SELECT pg_catalog.md5(pg_catalog.string_agg(x::text, ',' ORDER BY x.machine_id)) FROM machine x) AS machine_rows,
	   (SELECT pg_catalog.md5(pg_catalog.string_agg(x::text, ',' ORDER BY x.customer_id)) FROM customer x) AS customer_rows;
CREATE TEMP TABLE before AS SELECT * FROM written;

-- each case: the call and the SQLSTATE it must raise
CREATE TEMP TABLE bad_call (fn text, call text, code text);
INSERT INTO bad_call VALUES
	('open_customer', $$SELECT open_customer(NULL)$$, '22023'),
	('open_customer', $$SELECT open_customer('')$$, '22023'),
	('open_customer', $$SELECT open_customer('bi-x', 'cny')$$, '22023'),
	('open_customer', $$SELECT open_customer('bi-c', 'USD')$$, 'GB005'),
	('open_partner', $$SELECT open_partner(NULL)$$, '22023'),
	('open_partner', $$SELECT open_partner('bi-x', 'EURO')$$, '22023'),
	('open_provider', $$SELECT open_provider('')$$, '22023'),
	('set_discount', format($$SELECT set_discount(%s, NULL)$$, :c), '22023'),
	('set_discount', format($$SELECT set_discount(%s, 0)$$, :c), '22023'),
	('set_discount', format($$SELECT set_discount(%s, -0.5)$$, :c), '22023'),
	('set_discount', format($$SELECT set_discount(%s, 1.5)$$, :c), '22023'),
	('set_discount', format($$SELECT set_discount(%s, 'NaN')$$, :c), '22023'),
	('set_discount', $$SELECT set_discount(-1, 0.9)$$, 'P0002'),
	('set_approved', format($$SELECT set_approved(%s, NULL)$$, :c), '22023'),
	('set_approved', $$SELECT set_approved(-1, true)$$, 'P0002'),
	('recharge', format($$SELECT recharge(%s, NULL, 'wechat', 'bi-r')$$, :c), '22023'),
	('recharge', format($$SELECT recharge(%s, '0 CNY', 'wechat', 'bi-r')$$, :c), '22023'),
	('recharge', format($$SELECT recharge(%s, '-1 CNY', 'wechat', 'bi-r')$$, :c), '22023'),
	('recharge', format($$SELECT recharge(%s, '1 USD', 'wechat', 'bi-r')$$, :c), 'GB003'),
	('recharge', $$SELECT recharge(-1, '1 CNY', 'wechat', 'bi-r')$$, 'P0002'),
	('recharge', format($$SELECT recharge(%s, '1 CNY', 'cash', 'bi-r')$$, :c), '22023'),
	('recharge', format($$SELECT recharge(%s, '1 CNY', NULL, 'bi-r')$$, :c), '22023'),
	('recharge', format($$SELECT recharge(%s, '1 CNY', 'wechat', NULL)$$, :c), '22023'),
	('recharge', format($$SELECT recharge(%s, '1 CNY', 'wechat', 'bi-1')$$, :u), 'GB003'),
	('recharge', format($$SELECT recharge(%s, '2 CNY', 'wechat', 'bi-1')$$, :c), 'GB005'),
	('recharge', format($$SELECT recharge(%s, '9223372036854 CNY', 'wechat', 'bi-huge')$$, :c), '22003'),
	('grant_voucher', format($$SELECT grant_voucher(%s, NULL)$$, :c), '22023'),
	('grant_voucher', format($$SELECT grant_voucher(%s, '-5 CNY')$$, :c), '22023'),
	('grant_voucher', format($$SELECT grant_voucher(%s, '5 EUR')$$, :c), 'GB003'),
	('grant_voucher', $$SELECT grant_voucher(-1, '5 CNY')$$, 'P0002'),
	('grant_voucher', format($$SELECT grant_voucher(%s, '5 CNY', '2026-11-01', '2026-11-02')$$, :c), '22023'),
	('grant_voucher', format($$SELECT grant_voucher(%s, '6 CNY', NULL, '2026-11-01', 'bi-v')$$, :c), 'GB005'),
	('wallet', $$SELECT * FROM wallet(-1)$$, 'P0002'),
	('record_invoice', format($$SELECT record_invoice(%s, NULL)$$, :c), '22023'),
	('record_invoice', format($$SELECT record_invoice(%s, '0 CNY')$$, :c), '22023'),
	('record_invoice', format($$SELECT record_invoice(%s, '1 USD')$$, :c), 'GB003'),
	('record_invoice', $$SELECT record_invoice(-1, '1 CNY')$$, 'P0002'),
	('request_refund', $$SELECT request_refund(-1)$$, 'P0002'),
	('request_refund', format($$SELECT request_refund(%s)$$, :u), 'GB004'),	-- never recharged: no refund to ask for
	('place_hold', format($$SELECT place_hold(%s, NULL)$$, :c), '22023'),
	('place_hold', format($$SELECT place_hold(%s, '0 CNY')$$, :c), '22023'),
	('place_hold', format($$SELECT place_hold(%s, '1 USD')$$, :c), 'GB003'),
	('place_hold', $$SELECT place_hold(-1, '1 CNY')$$, 'P0002'),
	('place_hold', format($$SELECT place_hold(%s, '1 CNY', NULL)$$, :c), '22023'),
	('place_hold', format($$SELECT place_hold(%s, '100000 CNY')$$, :c), 'GB001'),
	('capture_hold', $$SELECT * FROM capture_hold(-1, '1 CNY')$$, 'P0002'),
	('capture_hold', format($$SELECT * FROM capture_hold(%s, '4 CNY')$$, :h), '22023'),
	('capture_hold', format($$SELECT * FROM capture_hold(%s, '-1 CNY')$$, :h), '22023'),
	('capture_hold', format($$SELECT * FROM capture_hold(%s, '1 USD')$$, :h), 'GB003'),
	('capture_hold', format($$SELECT * FROM capture_hold(%s, NULL)$$, :h), '22023'),
	('capture_hold', format($$SELECT * FROM capture_hold(%s, '1 CNY', -1)$$, :h), 'P0002'),
	('capture_hold', format($$SELECT * FROM capture_hold(%s, '1 CNY', at => '2026-11-01')$$, :h), 'GB004'),
	('release_hold', $$SELECT release_hold(-1)$$, 'P0002'),
	('list_machine', $$SELECT list_machine(-1, 1, '1 CNY', '2027-01-01')$$, 'P0002'),
	('list_machine', format($$SELECT list_machine(%s, 0, '1 CNY', '2027-01-01')$$, :p), '22023'),
	('list_machine', format($$SELECT list_machine(%s, NULL, '1 CNY', '2027-01-01')$$, :p), '22023'),
	('list_machine', format($$SELECT list_machine(%s, 1, '0 CNY', '2027-01-01')$$, :p), '22023'),
	('list_machine', format($$SELECT list_machine(%s, 1, '1 USD', '2027-01-01')$$, :p), 'GB003'),
	('list_machine', format($$SELECT list_machine(%s, 1, '1 CNY', NULL)$$, :p), '22023'),
	('list_machine', format($$SELECT list_machine(%s, 1, '1 CNY', '2027-01-01', billing => 'hourly')$$, :p), '22023'),
	('list_machine', format($$SELECT list_machine(%s, 1, '1 CNY', '2027-01-01', package_hours => 0)$$, :p), '22023'),
	('list_machine', format($$SELECT list_machine(%s, 1, '1 CNY', '2027-01-01', package_hours => 2147483647)$$, :p), '22023'),
	('list_machine', format($$SELECT list_machine(%s, 2147483647, '1 CNY', '2027-01-01')$$, :p), '22023'),
	('list_machine', format($$SELECT list_machine(%s, 1, '1 CNY', '2027-01-01', week_price_per_gpu => '-1 CNY')$$, :p), '22023'),
	('delist_machine', $$SELECT delist_machine(-1)$$, 'P0002'),
	('delist_machine', format($$SELECT delist_machine(%s, '2026-11-05')$$, :m), 'GB004'),
	('take_offline', $$SELECT take_offline(-1)$$, 'P0002'),
	('take_offline', format($$SELECT take_offline(%s, NULL)$$, :m), '22023'),
	('take_offline', format($$SELECT take_offline(%s, false, '2026-11-23 11:00+08')$$, :m), 'GB004'),
	('remove_machine', $$SELECT remove_machine(-1)$$, 'P0002'),
	('remove_machine', format($$SELECT remove_machine(%s, '2026-11-23 11:00+08')$$, :m), 'GB004'),
	('report_outage', $$SELECT report_outage(-1, '2026-11-23 10:00+08', '2026-11-23 10:10+08')$$, 'P0002'),
	('report_outage', format($$SELECT report_outage(%s, '2026-11-23 10:10+08', '2026-11-23 10:00+08', at => '2026-11-23 11:00+08')$$, :m), '22023'),
	('report_outage', format($$SELECT report_outage(%s, NULL, '2026-11-23 10:00+08')$$, :m), '22023'),
	('report_outage', format($$SELECT report_outage(%s, '2026-11-23 10:00+08', '2026-11-23 10:10+08', NULL, '2026-11-23 11:00+08')$$, :m), '22023'),
	('report_outage', format($$SELECT report_outage(%s, '2026-11-23 10:00+08', '2026-11-23 12:00+08', at => '2026-11-23 11:00+08')$$, :m), 'GB004'),
	('rate_partner', $$SELECT rate_partner(-1, 10, 'x')$$, 'P0002'),
	('rate_partner', format($$SELECT rate_partner(%s, NULL, 'x')$$, :p), '22023'),
	('rate_partner', format($$SELECT rate_partner(%s, 10, '')$$, :p), '22023'),
	('partner_rating', $$SELECT partner_rating(-1)$$, 'P0002'),
	('withdrawable', $$SELECT withdrawable(-1)$$, 'P0002'),
	('request_withdrawal', $$SELECT request_withdrawal(-1, '1 CNY')$$, 'P0002'),
	('request_withdrawal', format($$SELECT request_withdrawal(%s, '0 CNY')$$, :p), '22023'),
	('request_withdrawal', format($$SELECT request_withdrawal(%s, '1 USD')$$, :p), 'GB003'),
	('request_withdrawal', format($$SELECT request_withdrawal(%s, '1 CNY', '2026-11-23')$$, :p), 'GB001'),
	('create_instance', format($$SELECT create_instance(-1, %s, 1)$$, :m), 'P0002'),
	('create_instance', format($$SELECT create_instance(%s, -1, 1)$$, :c), 'P0002'),
	('create_instance', format($$SELECT create_instance(%s, %s, 0, at => '2026-11-23 11:00+08')$$, :c, :m), '22023'),
	('create_instance', format($$SELECT create_instance(%s, %s, NULL, at => '2026-11-23 11:00+08')$$, :c, :m), '22023'),
	('create_instance', format($$SELECT create_instance(%s, %s, 2147483647, at => '2026-11-23 11:00+08')$$, :c, :m), 'GB002'),
	('create_instance', format($$SELECT create_instance(%s, %s, 1, 'daily', at => '2026-11-23 11:00+08')$$, :c, :m), '22023'),
	('create_instance', format($$SELECT create_instance(%s, %s, 1, auto_renew => NULL, at => '2026-11-23 11:00+08')$$, :c, :m), '22023'),
	('create_instance', format($$SELECT create_instance(%s, %s, 1, at => '2026-11-23 11:00+08')$$, :u, :m), 'GB003'),
	('create_instance', format($$SELECT create_instance(%s, %s, 2, at => '2026-11-23 11:00+08', request_id => 'bi-i')$$, :c, :m), 'GB005'),
	('create_instance', format($$SELECT create_instance(%s, %s, 1, 'weekly', at => '2026-11-23 11:00+08')$$, :c, :m), '22023'),
	('stop_instance', $$SELECT stop_instance(-1)$$, 'P0002'),
	('stop_instance', format($$SELECT stop_instance(%s, '2026-11-23 09:00+08')$$, :i), 'GB004'),
	('start_instance', format($$SELECT start_instance(%s, '2026-11-23 11:00+08')$$, :i), 'GB004'),
	('start_instance', $$SELECT start_instance(-1)$$, 'P0002'),
	('release_instance', $$SELECT release_instance(-1)$$, 'P0002'),
	('convert_instance', format($$SELECT convert_instance(%s, 'yearly', '2026-11-23 11:00+08')$$, :i), '22023'),
	('convert_instance', format($$SELECT convert_instance(%s, NULL, '2026-11-23 11:00+08')$$, :i), '22023'),
	('convert_instance', format($$SELECT convert_instance(%s, 'weekly', '2026-11-23 11:00+08')$$, :i), '22023'),
	('resize_instance', format($$SELECT resize_instance(%s, 0, '2026-11-23 11:00+08')$$, :i), '22023'),
	('resize_instance', format($$SELECT resize_instance(%s, 99, '2026-11-23 11:00+08')$$, :i), 'GB002'),
	('resize_instance', $$SELECT resize_instance(-1, 1)$$, 'P0002'),
	('set_auto_renew', format($$SELECT set_auto_renew(%s, NULL)$$, :i), '22023'),
	('set_auto_renew', $$SELECT set_auto_renew(-1, true)$$, 'P0002'),
	('instance_state', $$SELECT instance_state(-1)$$, 'P0002'),
	('set_storage', format($$SELECT set_storage(%s, 'ssd', 1)$$, :c), '22023'),
	('set_storage', format($$SELECT set_storage(%s, 'disk', NULL)$$, :c), '22023'),
	('set_storage', $$SELECT set_storage(-1, 'disk', 1)$$, 'P0002'),
	('create_contract', format($$SELECT create_contract(-1, %s, 1, '1 CNY', '[2027-01-01, 2027-02-01)', '2026-12-01')$$, :dc), 'P0002'),
	('create_contract', format($$SELECT create_contract(%s, -1, 1, '1 CNY', '[2027-01-01, 2027-02-01)', '2026-12-01')$$, :c), 'P0002'),
	('create_contract', format($$SELECT create_contract(%s, %s, 1, '1 CNY', '[2027-01-01, 2027-02-01)', '2026-12-01')$$, :c, :p), 'P0002'),
	('create_contract', format($$SELECT create_contract(%s, %s, 0, '1 CNY', '[2027-01-01, 2027-02-01)', '2026-12-01')$$, :c, :dc), '22023'),
	('create_contract', format($$SELECT create_contract(%s, %s, 1, '0 CNY', '[2027-01-01, 2027-02-01)', '2026-12-01')$$, :c, :dc), '22023'),
	('create_contract', format($$SELECT create_contract(%s, %s, 1, '1 USD', '[2027-01-01, 2027-02-01)', '2026-12-01')$$, :c, :dc), 'GB003'),
	('create_contract', format($$SELECT create_contract(%s, %s, 1, '1 CNY', '[2027-01-01, 2027-02-01)', '2026-12-01')$$, :u, :dc), 'GB003'),
	('create_contract', format($$SELECT create_contract(%s, %s, 1, '1 CNY', '[2026-11-01, 2027-02-01)', '2026-12-01')$$, :c, :dc), 'GB004'),
	('create_contract', format($$SELECT create_contract(%s, %s, 1, '1000000 CNY', '[2027-01-01, 2027-02-01)', '2026-12-01')$$, :c, :dc), 'GB001'),
	('contract_schedule', $$SELECT * FROM contract_schedule(-1)$$, 'P0002'),
	('contract_state', $$SELECT contract_state(-1)$$, 'P0002'),
	('pay_contract', $$SELECT pay_contract(-1, '1 CNY', 'w')$$, 'P0002'),
	('pay_contract', format($$SELECT pay_contract(%s, '1 CNY', NULL, '2026-12-01')$$, :ct), '22023'),
	('pay_contract', format($$SELECT pay_contract(%s, '1 USD', 'w', '2026-12-01')$$, :ct), 'GB003'),
	('pay_contract', format($$SELECT pay_contract(%s, '-1 CNY', 'w', '2026-12-01')$$, :ct), '22023'),
	('terminate_contract', $$SELECT terminate_contract(-1, 'provider')$$, 'P0002'),
	('terminate_contract', format($$SELECT terminate_contract(%s, 'boredom', '2026-12-01')$$, :ct), '22023'),
	('terminate_contract', format($$SELECT terminate_contract(%s, 'non_payment', '2026-12-01')$$, :ct), 'GB004'),
	('resell_contract', format($$SELECT resell_contract(-1, %s, '1 CNY')$$, :c), 'P0002'),
	('resell_contract', format($$SELECT resell_contract(%s, -1, '1 CNY', '2026-12-01')$$, :ct), 'P0002'),
	('provider_wallet', $$SELECT * FROM provider_wallet(-1)$$, 'P0002'),
	('ack_lifecycle_event', $$SELECT ack_lifecycle_event(-1)$$, 'P0002'),
	('tick', $$SELECT tick('-infinity')$$, '22023'),
	('set_setting', $$SELECT set_setting('service_fee_rate', '-0.1')$$, '22023'),
	('setting', $$SELECT setting('nope')$$, '22023'),
	('reverse_transfer', $$SELECT reverse_transfer(-1, 'x')$$, 'P0002'),
	('reverse_transfer', format($$SELECT reverse_transfer(%s, NULL)$$, :tr), '22023'),
	-- the proxy's protocol with a partition (issue 18): resale steps, volumes, offsets
	('begin_resale', format($$SELECT * FROM begin_resale(-1, %s, '1 CNY', '2026-12-01')$$, :c), 'P0002'),
	('begin_resale', format($$SELECT * FROM begin_resale(%s, NULL, '1 CNY', '2026-12-01')$$, :ct), 'P0002'),
	('begin_resale', format($$SELECT * FROM begin_resale(%s, %s, '1 CNY', '2026-12-01')$$, :ct, :u), '22023'),	-- a buyer here: resell_contract
	('accept_resale', format($$SELECT accept_resale(NULL, %s, %s, %s, 1, '1 CNY', '[2027-01-01, 2027-02-01)', '2026-12-01')$$, :ct, :c, :dc), '22023'),
	('accept_resale', format($$SELECT accept_resale(1, %s, -1, %s, 1, '1 CNY', '[2027-01-01, 2027-02-01)', '2026-12-01')$$, :ct, :dc), 'P0002'),
	('accept_resale', format($$SELECT accept_resale(1, %s, %s, %s, 1, '1 CNY', '[2027-01-01, 2027-02-01)', '2026-12-01')$$, :ct, :u, :dc), 'GB003'),
	('commit_resale', $$SELECT commit_resale(-1, 1)$$, 'P0002'),
	('abandon_resale', $$SELECT abandon_resale(-1)$$, 'P0002'),
	('apply_volumes', $$SELECT apply_volumes('2026-11-15', '2026-12-01', '[]')$$, '22023'),
	('apply_volumes', $$SELECT apply_volumes('2026-11-01', NULL, '[]')$$, '22023'),
	('apply_volumes', $$SELECT apply_volumes('2026-11-01', '2026-12-01', '{}')$$, '22023'),
	('begin_offset_recovery', $$SELECT * FROM begin_offset_recovery(-1, '2026-12-01')$$, 'P0002'),
	('offer_receipts', format($$SELECT offer_receipts(%s, NULL, '{1}', '1 CNY')$$, :dc), '22023'),
	('watch_offset', $$SELECT watch_offset(NULL, 1)$$, '22023');

-- run them all; list those that did not raise their code (or raised nothing)
CREATE TEMP TABLE outcome (fn text, call text, code text, got text);
DO $$
DECLARE
	b record;
	got text;
BEGIN
	FOR b IN SELECT * FROM bad_call LOOP
		BEGIN
			EXECUTE b.call;
			got := 'no error';
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS got = RETURNED_SQLSTATE;
		END;
		INSERT INTO outcome VALUES (b.fn, b.call, b.code, got);
	END LOOP;
END
$$;
SELECT is(ARRAY(SELECT fn || ': ' || call || ' raised ' || got || ', not ' || code FROM outcome WHERE got <> code),
		  '{}'::text[], (SELECT count(*) || ' bad calls to ' || count(DISTINCT fn) || ' API functions raise their SQLSTATE' FROM outcome));
SELECT results_eq($$SELECT * FROM written$$, $$SELECT * FROM before$$, 'and none of them wrote anything');
SELECT * FROM finish();
ROLLBACK;
