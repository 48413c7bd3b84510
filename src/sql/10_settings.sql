/*
 * 10_settings.sql — billing settings (API.md "Settings").
 *
 * setting_defaults holds every known key with its default and its kind
 * (which values are valid); it belongs to the extension and is not dumped.
 * settings holds the values an operator changed with set_setting(); it is
 * registered with pg_extension_config_dump so pg_dump keeps it.
 */

CREATE TABLE @extschema@.setting_defaults (
	key			text PRIMARY KEY,
	value		text NOT NULL,
	kind		text NOT NULL CHECK (kind IN ('timezone', 'rate', 'money', 'count', 'multiple', 'bool', 'rating')),
	description text NOT NULL
);
COMMENT ON TABLE @extschema@.setting_defaults IS 'Every billing setting gpubill knows: its default value and kind';

INSERT INTO @extschema@.setting_defaults (key, value, kind, description) VALUES
	('billing_timezone', 'Asia/Shanghai', 'timezone', 'IANA time zone of the billing calendar (hours, days, months)'),
	('service_fee_rate', '0.20', 'rate', 'Platform share of a customer''s actual payment (R-PRT-3)'),
	('machine_deposit', '100.00', 'money', 'Deposit per listed machine, partner currency (R-PRT-2)'),
	('payg_hold_hours', '1', 'count', 'Hours of fee held while a pay-as-you-go instance runs (R-PAYG-1)'),
	('payg_limit_unrecharged_instances', '1', 'count', 'PAYG instances of a customer who never recharged (R-PAYG-2)'),
	('payg_limit_instances', '3', 'count', 'PAYG instances of a customer who recharged (R-PAYG-2)'),
	('payg_multi_gpu_recharge_threshold', '100.00', 'money', 'Real recharges needed for multi-GPU instances (R-PAYG-2)'),
	('free_disk_gb', '0', 'count', 'Free cloud disk quota in GB (R-STO-1)'),
	('free_nas_gb', '0', 'count', 'Free NAS quota in GB (R-STO-1)'),
	('disk_price_gb_hour', '0.0004', 'money', 'Price of excess cloud disk per GB-hour (R-STO-2)'),
	('nas_price_gb_hour', '0.0007', 'money', 'Price of excess NAS per GB-hour (R-STO-2)'),
	('alert_horizon_hours', '72', 'count', 'Look-ahead of balance_low and expiry alerts in hours (R-ALR-1)'),
	('stopped_release_days', '10', 'count', 'Days after stop or expiry until an instance is released (R-PAYG-6)'),
	('local_data_hours', '24', 'count', 'Hours after stop until local disk data may be erased (R-PAYG-6)'),
	('exchange_commission_rate', '0.04', 'rate', 'Commission on every payment a provider receives (R-EXC-4)'),
	('exchange_deposit_rate', '0.10', 'rate', 'Cancellation fee deposit share of the rest of a term (R-EXC-3)'),
	('exchange_initial_days', '31', 'count', 'Days paid by the initial payment of a contract (R-EXC-3)'),
	('reservation_fee_rate', '0.10', 'rate', 'Reservation fee on a late payment, share of contract value (R-EXC-5)'),
	('payment_grace_business_days', '2', 'count', 'Business days after the due day before a payment is late (R-EXC-5)'),
	('rating_initial', '3.5', 'rating', 'Rating of a new partner (R-PRT-7)'),
	('rating_daily_gain_cap', '500', 'count', 'Most rating points a partner gains per day (R-RAT-3)'),
	('rating_daily_loss_cap', '3000', 'count', 'Most rating points a partner loses per day (R-RAT-3)'),
	('outage_compensation_multiple', '1.0', 'multiple', 'Compensation as a multiple of fees charged in an outage (R-PRT-8)'),
	('max_unnotified_outages_per_month', '3', 'count', 'Unnotified outages per month before qualification is revoked (R-PRT-8)'),
	('delist_before_end_days', '10', 'count', 'Days before owner end time when a machine is delisted (R-PRT-5)'),
	('reservation_fee_on_late', 'true', 'bool', 'Charge a reservation fee on a late contract payment (R-EXC-5)'),
	('revoke_approval_on_late', 'true', 'bool', 'Revoke a customer''s approval on a late contract payment (R-EXC-5)'),
	('channel_bonus_rate.wechat', '0', 'rate', 'Voucher bonus rate of WeChat recharges (R-RCH-2)'),
	('channel_bonus_rate.alipay', '0', 'rate', 'Voucher bonus rate of Alipay recharges (R-RCH-2)'),
	('channel_bonus_rate.stripe', '0', 'rate', 'Voucher bonus rate of Stripe recharges (R-RCH-2)'),
	('channel_bonus_rate.crypto', '0', 'rate', 'Voucher bonus rate of crypto recharges (R-RCH-2)'),
	('channel_bonus_rate.paypal', '0', 'rate', 'Voucher bonus rate of PayPal recharges (R-RCH-2)'),
	('channel_bonus_rate.bank_transfer', '0', 'rate', 'Voucher bonus rate of bank transfers (R-RCH-2)'),
	('shard_id', '0', 'count', 'This database''s shard: ids are shard_id * 2^48 + n, unique across shards (SPEC section 10)');

CREATE TABLE @extschema@.settings (
	key			text PRIMARY KEY REFERENCES @extschema@.setting_defaults (key),
	value		text NOT NULL,
	changed_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	changed_by	name NOT NULL
);
COMMENT ON TABLE @extschema@.settings IS 'Billing settings changed from their defaults, one row per changed key';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.settings', '');

CREATE FUNCTION @extschema@.setting(key text)
RETURNS text
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	result text;
BEGIN
	SELECT coalesce(s.value, d.value) INTO result
	FROM @extschema@.setting_defaults d
	LEFT JOIN @extschema@.settings s USING (key)
	WHERE d.key = setting.key;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown setting: "%"', key
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'The settings are listed in gpubill.setting_defaults.';
	END IF;
	RETURN result;
END
$$;
COMMENT ON FUNCTION @extschema@.setting(text) IS 'Current value of a billing setting; unknown key raises 22023';

CREATE FUNCTION @extschema@.set_setting(key text, value text)
RETURNS void
LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER PARALLEL UNSAFE
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	k text;
	ok boolean;
	n numeric;
BEGIN
	IF NOT @extschema@.is_admin() THEN
		RAISE EXCEPTION 'settings may be changed only by gpubill_admin'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = pg_catalog.format('The calling role is %s.', @extschema@.calling_role());
	END IF;
	SELECT d.kind INTO k FROM @extschema@.setting_defaults d WHERE d.key = set_setting.key;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown setting: "%"', key
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'The settings are listed in gpubill.setting_defaults.';
	END IF;

	BEGIN
		CASE k
			WHEN 'timezone' THEN
				PERFORM @extschema@.billing_period('hour', pg_catalog.now(), value);
				ok := true;
			WHEN 'rate' THEN
				n := value::numeric;
				ok := n >= 0 AND n <= 1;
			WHEN 'money' THEN
				n := value::numeric;
				ok := n >= 0 AND n = pg_catalog.round(n, 6);
			WHEN 'multiple' THEN
				n := value::numeric;
				ok := n >= 0;
			WHEN 'count' THEN
				ok := value::integer >= 0;
			WHEN 'bool' THEN
				ok := value::boolean IS NOT NULL;
			WHEN 'rating' THEN
				ok := value::@extschema@.rating IS NOT NULL;
		END CASE;
		IF n IS NOT NULL AND n::text IN ('NaN', 'Infinity', '-Infinity') THEN
			ok := false;
		END IF;
		IF key = 'shard_id' AND ok THEN
			ok := value::integer < 32768;
		END IF;
	EXCEPTION WHEN data_exception OR invalid_parameter_value OR invalid_text_representation THEN
		ok := false;
	END;
	IF NOT ok THEN
		RAISE EXCEPTION 'invalid value for setting "%": "%"', key, value
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = pg_catalog.format('The setting is of kind %s.', k);
	END IF;

	INSERT INTO @extschema@.settings AS s (key, value, changed_by) VALUES (key, value, @extschema@.calling_role())
	ON CONFLICT ON CONSTRAINT settings_pkey
	DO UPDATE SET value = excluded.value, changed_at = pg_catalog.now(), changed_by = @extschema@.calling_role();

	IF key = 'shard_id' THEN
		/* ids of this shard: shard_id * 2^48 + 1 .. (shard_id + 1) * 2^48 - 1 */
		PERFORM @extschema@.move_sequence_to_shard(seq, value::bigint)
		FROM unnest(ARRAY['@extschema@.id_seq', '@extschema@.account_id_seq']::regclass[]) seq;
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.set_setting(text, text) IS 'Change a billing setting; unknown key or bad value raises 22023';

CREATE FUNCTION @extschema@.move_sequence_to_shard(seq regclass, shard bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	lo bigint := shard * 281474976710656 + 1;
	hi bigint := (shard + 1) * 281474976710656 - 1;
	last bigint;
BEGIN
	EXECUTE pg_catalog.format('SELECT last_value FROM %s', seq) INTO last;
	EXECUTE pg_catalog.format('ALTER SEQUENCE %s MINVALUE %s MAXVALUE %s RESTART WITH %s', seq, lo, hi,
		CASE WHEN last >= lo AND last < hi THEN last + 1 ELSE lo END);
END
$$;
COMMENT ON FUNCTION @extschema@.move_sequence_to_shard(regclass, bigint) IS 'Confine a sequence to the id range of a shard: shard * 2^48 + 1 .. (shard + 1) * 2^48 - 1';

CREATE FUNCTION @extschema@.billing_timezone()
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE CALLED ON NULL INPUT
AS $$ SELECT @extschema@.setting('billing_timezone') $$;
COMMENT ON FUNCTION @extschema@.billing_timezone() IS 'The billing time zone (setting billing_timezone)';
