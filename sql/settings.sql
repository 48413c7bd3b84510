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
-- every key has a range: values that would break a later call or tick (issue 11, R-SEC-3)
SELECT set_setting('stopped_release_days', '2147483647');
SELECT set_setting('payg_hold_hours', '0');
SELECT set_setting('machine_deposit', '9223372036855');
SELECT set_setting('outage_compensation_multiple', '1e30');
SELECT set_setting('channel_bonus_rate.wechat', '1.01');
SELECT set_setting('shard_id', '32768');
SELECT set_setting(NULL, '1');
SELECT set_setting('service_fee_rate', NULL);
SELECT setting(NULL);
SELECT key, kind, min_value, max_value FROM setting_defaults WHERE min_value IS NOT NULL ORDER BY key;
-- a count written with decimals is stored as the integer it is
SELECT set_setting('local_data_hours', '12.0');
SELECT setting('local_data_hours');
SELECT key, value FROM settings ORDER BY key;

-- every declared key is read by some function (issue 12): a key nobody reads is a setting that does nothing
SELECT d.key FROM setting_defaults d
WHERE NOT EXISTS (SELECT FROM pg_proc p WHERE p.pronamespace = 'gpubill'::regnamespace
				  AND p.prosrc LIKE '%''' || CASE WHEN d.key LIKE '%.%' THEN split_part(d.key, '.', 1) || '.' ELSE d.key || '''' END || '%')
ORDER BY 1;

-- back to the defaults for the tests that follow
DELETE FROM settings;
SELECT count(*) AS changed FROM settings;
