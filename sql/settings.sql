-- settings: defaults, changes, validation
\set SHOW_CONTEXT never
SET search_path = gpubill, public;

SELECT key, value FROM setting_defaults ORDER BY key;
SELECT setting('service_fee_rate') AS fee, setting('billing_timezone') AS tz, billing_timezone();
SELECT set_setting('service_fee_rate', '0.15');
SELECT setting('service_fee_rate');
SELECT set_setting('billing_timezone', 'America/New_York');
SELECT billing_timezone();
SELECT key, value FROM settings ORDER BY key;

-- bad keys and values: 22023, nothing changed
SELECT setting('no_such_key');
SELECT set_setting('no_such_key', '1');
SELECT set_setting('service_fee_rate', '1.5');
SELECT set_setting('service_fee_rate', 'abc');
SELECT set_setting('service_fee_rate', 'NaN');
SELECT set_setting('billing_timezone', 'Mars/Olympus');
SELECT set_setting('machine_deposit', '-1');
SELECT set_setting('machine_deposit', '1.0000001');
SELECT set_setting('payg_limit_instances', '2.5');
SELECT set_setting('payg_limit_instances', '-1');
SELECT set_setting('reservation_fee_on_late', 'perhaps');
SELECT set_setting('rating_initial', '5.5');
SELECT set_setting('outage_compensation_multiple', 'Infinity');
SELECT key, value FROM settings ORDER BY key;

-- back to the defaults for the tests that follow
DELETE FROM settings;
SELECT count(*) AS changed FROM settings;
