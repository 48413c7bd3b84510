/*
 * 30_settings.sql — billing settings (API.md "Settings").
 *
 * setting_defaults holds every known key with its default and its kind
 * (which values are valid); it belongs to the extension and is not dumped.
 * settings holds the values an operator changed with set_setting(); it is
 * registered with pg_extension_config_dump so pg_dump keeps it.
 *
 * Map (scripts/file-map.pl):
 * API: set_setting, setting, settings_digest.
 * Internals: billing_timezone, move_sequence_to_shard, setting_value.
 * Tables: setting_defaults, settings.
 * Uses: 1_types.
 */

CREATE TABLE @extschema@.setting_defaults (
	key			text PRIMARY KEY,
	value		text NOT NULL,
	kind		text NOT NULL CHECK (kind IN ('timezone', 'rate', 'money', 'count', 'multiple', 'bool', 'rating')),
	description text NOT NULL,
	min_value	numeric,			/* the range of a numeric kind (R-SEC-3) */
	max_value	numeric,
	CHECK (min_value <= max_value)
);
COMMENT ON TABLE @extschema@.setting_defaults IS 'Every billing setting gpubill knows: its default value, kind and range';

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
	('payment_evidence_grace_business_days', '3', 'count', 'Business days a recorded payment initiation defers lateness (R-EXC-5)'),
	('channel_bonus_rate.wechat', '0', 'rate', 'Voucher bonus rate of WeChat recharges (R-RCH-2)'),
	('channel_bonus_rate.alipay', '0', 'rate', 'Voucher bonus rate of Alipay recharges (R-RCH-2)'),
	('channel_bonus_rate.stripe', '0', 'rate', 'Voucher bonus rate of Stripe recharges (R-RCH-2)'),
	('channel_bonus_rate.crypto', '0', 'rate', 'Voucher bonus rate of crypto recharges (R-RCH-2)'),
	('channel_bonus_rate.paypal', '0', 'rate', 'Voucher bonus rate of PayPal recharges (R-RCH-2)'),
	('channel_bonus_rate.bank_transfer', '0', 'rate', 'Voucher bonus rate of bank transfers (R-RCH-2)'),
	('max_storage_gb', '1000000', 'count', 'Largest disk or NAS level set_storage accepts, in GB (R-STO-1, R-SEC-3)'),
	('shard_id', '0', 'count', 'This database''s shard: ids are shard_id * 2^48 + n, unique across shards (SPEC section 10)'),
	('period_close_months', '1', 'count', 'Months after a billing month''s end before tick closes it: 1 closes the month before last (issue 14)'),
	('period_close_days', '0', 'count', 'Days added to that delay before tick closes a month (issue 14)');

/*
 * R-SEC-3: the range of every numeric setting.  A value outside it would
 * make a later call or tick fail (a hold of 0 hours, a release 6 million
 * years after a stop, a deposit beyond the amount range), so set_setting
 * refuses it.  Money is in the account's currency.
 */
UPDATE @extschema@.setting_defaults d SET min_value = r.lo, max_value = r.hi
FROM (VALUES
	('service_fee_rate', 0, 1), ('exchange_commission_rate', 0, 1), ('exchange_deposit_rate', 0, 1),
	('reservation_fee_rate', 0, 1),
	('machine_deposit', 0, 1000000000), ('payg_multi_gpu_recharge_threshold', 0, 1000000000),
	('disk_price_gb_hour', 0, 1000), ('nas_price_gb_hour', 0, 1000),
	('payg_hold_hours', 1, 720), ('payg_limit_unrecharged_instances', 0, 1000000000), ('payg_limit_instances', 0, 1000000000),
	('free_disk_gb', 0, 1000000000), ('free_nas_gb', 0, 1000000000), ('max_storage_gb', 0, 1000000000),
	('alert_horizon_hours', 1, 8784), ('stopped_release_days', 0, 3660), ('local_data_hours', 0, 8784),
	('exchange_initial_days', 1, 366), ('payment_grace_business_days', 0, 260),
	('payment_evidence_grace_business_days', 0, 260),
	('rating_daily_gain_cap', 0, 5000), ('rating_daily_loss_cap', 0, 5000),
	('outage_compensation_multiple', 0, 100), ('max_unnotified_outages_per_month', 0, 10000),
	('delist_before_end_days', 0, 3660), ('shard_id', 0, 32767),
	('period_close_months', 0, 120), ('period_close_days', 0, 3660)
) r(key, lo, hi)
WHERE d.key = r.key;
UPDATE @extschema@.setting_defaults d SET min_value = 0, max_value = 1 WHERE d.key LIKE 'channel\_bonus\_rate.%';
ALTER TABLE @extschema@.setting_defaults ADD CONSTRAINT setting_defaults_range_check
	CHECK ((kind IN ('timezone', 'bool', 'rating')) = (min_value IS NULL AND max_value IS NULL));

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
LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	result text;
BEGIN
	IF key IS NULL THEN
		RAISE EXCEPTION 'a setting key must not be null' USING ERRCODE = 'invalid_parameter_value';
	END IF;
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
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT SECURITY DEFINER PARALLEL UNSAFE
SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
	d @extschema@.setting_defaults;
	ok boolean;
	n numeric;
BEGIN
	IF NOT @extschema@.is_admin() THEN
		RAISE EXCEPTION 'settings may be changed only by gpubill_admin'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = pg_catalog.format('The calling role is %s.', @extschema@.calling_role());
	END IF;
	IF key IS NULL THEN
		RAISE EXCEPTION 'a setting key must not be null' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT * INTO d FROM @extschema@.setting_defaults k WHERE k.key = set_setting.key;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown setting: "%"', key
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'The settings are listed in gpubill.setting_defaults.';
	END IF;
	IF value IS NULL THEN
		RAISE EXCEPTION 'setting "%" must not be null', key USING ERRCODE = 'invalid_parameter_value';
	END IF;

	BEGIN
		CASE d.kind
			WHEN 'timezone' THEN
				PERFORM @extschema@.billing_period('hour', pg_catalog.now(), value);
				ok := true;
			WHEN 'bool' THEN
				ok := value::boolean IS NOT NULL;
			WHEN 'rating' THEN
				ok := value::@extschema@.rating IS NOT NULL;
			ELSE
				n := value::numeric;
				ok := n::text NOT IN ('NaN', 'Infinity', '-Infinity')
					  AND (d.kind <> 'count' OR n = pg_catalog.trunc(n))
					  AND (d.kind <> 'money' OR n = pg_catalog.round(n, 6));
		END CASE;
	EXCEPTION WHEN data_exception OR invalid_parameter_value OR invalid_text_representation THEN
		ok := false;
	END;
	IF NOT ok THEN
		RAISE EXCEPTION 'invalid value for setting "%": "%"', key, value
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = pg_catalog.format('The setting is of kind %s%s.', d.kind,
							CASE WHEN d.min_value IS NOT NULL THEN pg_catalog.format(', from %s to %s', d.min_value, d.max_value) END);
	END IF;
	IF n < d.min_value OR n > d.max_value THEN
		RAISE EXCEPTION 'setting "%" must be from % to %: "%"', key, d.min_value, d.max_value, value
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF d.kind = 'count' THEN
		value := n::bigint::text;		/* '10.0' is stored as 10: counts are read as integers */
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
	/* START too: a sequence's start must lie within its bounds (issue 17: shard 1 of a fresh database) */
	EXECUTE pg_catalog.format('ALTER SEQUENCE %s MINVALUE %s MAXVALUE %s START WITH %s RESTART WITH %s', seq, lo, hi, lo,
		CASE WHEN last >= lo AND last < hi THEN last + 1 ELSE lo END);
END
$$;
COMMENT ON FUNCTION @extschema@.move_sequence_to_shard(regclass, bigint) IS 'Confine a sequence to the id range of a shard: shard * 2^48 + 1 .. (shard + 1) * 2^48 - 1';

CREATE FUNCTION @extschema@.billing_timezone()
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE CALLED ON NULL INPUT
AS $$ SELECT @extschema@.setting('billing_timezone') $$;
COMMENT ON FUNCTION @extschema@.billing_timezone() IS 'The billing time zone (setting billing_timezone)';

-- every setting's value in one digest: partitions behind a proxy must agree on it (issue 17)
CREATE FUNCTION @extschema@.settings_digest() RETURNS text
	LANGUAGE sql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	SELECT pg_catalog.md5(pg_catalog.string_agg(d.key || '=' || coalesce(s.value, d.value), E'\n' ORDER BY d.key))
	FROM @extschema@.setting_defaults d LEFT JOIN @extschema@.settings s USING (key)
	WHERE d.key <> 'shard_id'	/* each partition's own */
$$;
COMMENT ON FUNCTION @extschema@.settings_digest() IS 'An md5 of every setting''s value but shard_id: the partitions behind a proxy agree when their digests do (issue 17)';

-- a setting's value for internal use (unknown keys are NULL)
CREATE FUNCTION @extschema@.setting_value(key text) RETURNS text
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	RETURN coalesce((SELECT s.value FROM @extschema@.settings s WHERE s.key = setting_value.key),
					(SELECT d.value FROM @extschema@.setting_defaults d WHERE d.key = setting_value.key));
END
$$;
COMMENT ON FUNCTION @extschema@.setting_value(text) IS 'A setting''s value for internal use';
