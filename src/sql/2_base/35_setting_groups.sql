/*
 * 35_setting_groups.sql — typed accessors of the settings, one per group of
 * rules: each reads its group's keys in one query (settings_object) and
 * returns them typed (jsonb_populate_record: the type's fields are the
 * keys), so a rule reads a setting in one place (grep the key) and a set-based
 * statement reads it once, not once per row.  billing_timezone() is the
 * calendar's, channel_bonus_rate(channel) the recharges'.
 *
 * Map (scripts/file-map.pl):
 * Internals: channel_bonus_rate, exchange_settings, partner_settings,
 *   payg_settings, period_settings, settings_object, storage_settings.
 * Types: exchange_settings, partner_settings, payg_settings, period_settings,
 *   storage_settings.
 * Uses: 1_types.
 */

-- the current values of some settings, as one object (keys of the group's type, so the accessors below
-- populate their record from it; every key is named where it is read)
CREATE FUNCTION @extschema@.settings_object(keys text[]) RETURNS jsonb
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
BEGIN
	RETURN (SELECT pg_catalog.jsonb_object_agg(d.key, coalesce(s.value, d.value))
			FROM @extschema@.setting_defaults d LEFT JOIN @extschema@.settings s ON s.key = d.key
			WHERE d.key = ANY (keys));
END
$$;
COMMENT ON FUNCTION @extschema@.settings_object(text[]) IS 'The current values of settings, as a jsonb object of key and text value (the typed accessors populate their record from it)';

CREATE TYPE @extschema@.payg_settings AS (
	payg_hold_hours	integer,
	payg_limit_unrecharged_instances	integer,
	payg_limit_instances	integer,
	payg_multi_gpu_recharge_threshold	numeric,
	stopped_release_days	integer,
	local_data_hours	integer,
	alert_horizon_hours	integer
);
COMMENT ON TYPE @extschema@.payg_settings IS 'The settings of pay-as-you-go instances, their release and alerts (R-PAYG-1, R-PAYG-2, R-PAYG-6, R-ALR-1)';

CREATE FUNCTION @extschema@.payg_settings() RETURNS @extschema@.payg_settings
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
BEGIN
	RETURN pg_catalog.jsonb_populate_record(NULL::@extschema@.payg_settings,
		@extschema@.settings_object(ARRAY['payg_hold_hours', 'payg_limit_unrecharged_instances', 'payg_limit_instances', 'payg_multi_gpu_recharge_threshold', 'stopped_release_days', 'local_data_hours', 'alert_horizon_hours']));
END
$$;
COMMENT ON FUNCTION @extschema@.payg_settings() IS 'The settings of pay-as-you-go instances, their release and alerts (R-PAYG-1, R-PAYG-2, R-PAYG-6, R-ALR-1), typed';

CREATE TYPE @extschema@.storage_settings AS (
	free_disk_gb	numeric,
	free_nas_gb	numeric,
	disk_price_gb_hour	numeric,
	nas_price_gb_hour	numeric,
	max_storage_gb	numeric
);
COMMENT ON TYPE @extschema@.storage_settings IS 'The settings of storage (R-STO-1, R-STO-2)';

CREATE FUNCTION @extschema@.storage_settings() RETURNS @extschema@.storage_settings
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
BEGIN
	RETURN pg_catalog.jsonb_populate_record(NULL::@extschema@.storage_settings,
		@extschema@.settings_object(ARRAY['free_disk_gb', 'free_nas_gb', 'disk_price_gb_hour', 'nas_price_gb_hour', 'max_storage_gb']));
END
$$;
COMMENT ON FUNCTION @extschema@.storage_settings() IS 'The settings of storage (R-STO-1, R-STO-2), typed';

CREATE TYPE @extschema@.partner_settings AS (
	service_fee_rate	numeric,
	machine_deposit	numeric,
	rating_initial	@extschema@.rating,
	rating_daily_gain_cap	integer,
	rating_daily_loss_cap	integer,
	outage_compensation_multiple	numeric,
	max_unnotified_outages_per_month	integer,
	delist_before_end_days	integer
);
COMMENT ON TYPE @extschema@.partner_settings IS 'The settings of partners: the service fee, deposits, ratings, outages, the end of machines (R-PRT-2, R-PRT-3, R-PRT-5, R-PRT-7, R-PRT-8, R-RAT-3)';

CREATE FUNCTION @extschema@.partner_settings() RETURNS @extschema@.partner_settings
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
BEGIN
	RETURN pg_catalog.jsonb_populate_record(NULL::@extschema@.partner_settings,
		@extschema@.settings_object(ARRAY['service_fee_rate', 'machine_deposit', 'rating_initial', 'rating_daily_gain_cap', 'rating_daily_loss_cap', 'outage_compensation_multiple', 'max_unnotified_outages_per_month', 'delist_before_end_days']));
END
$$;
COMMENT ON FUNCTION @extschema@.partner_settings() IS 'The settings of partners: the service fee, deposits, ratings, outages, the end of machines (R-PRT-2, R-PRT-3, R-PRT-5, R-PRT-7, R-PRT-8, R-RAT-3), typed';

CREATE TYPE @extschema@.exchange_settings AS (
	exchange_commission_rate	numeric,
	exchange_deposit_rate	numeric,
	exchange_initial_days	integer,
	reservation_fee_rate	numeric,
	payment_grace_business_days	integer,
	reservation_fee_on_late	boolean,
	revoke_approval_on_late	boolean,
	payment_evidence_grace_business_days	integer
);
COMMENT ON TYPE @extschema@.exchange_settings IS 'The settings of the compute exchange (R-EXC-3, R-EXC-4, R-EXC-5)';

CREATE FUNCTION @extschema@.exchange_settings() RETURNS @extschema@.exchange_settings
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
BEGIN
	RETURN pg_catalog.jsonb_populate_record(NULL::@extschema@.exchange_settings,
		@extschema@.settings_object(ARRAY['exchange_commission_rate', 'exchange_deposit_rate', 'exchange_initial_days', 'reservation_fee_rate', 'payment_grace_business_days', 'reservation_fee_on_late', 'revoke_approval_on_late', 'payment_evidence_grace_business_days']));
END
$$;
COMMENT ON FUNCTION @extschema@.exchange_settings() IS 'The settings of the compute exchange (R-EXC-3, R-EXC-4, R-EXC-5), typed';

CREATE TYPE @extschema@.period_settings AS (
	period_close_months	integer,
	period_close_days	integer
);
COMMENT ON TYPE @extschema@.period_settings IS 'The settings of period close: how long after a month''s end tick closes it (issue 14)';

CREATE FUNCTION @extschema@.period_settings() RETURNS @extschema@.period_settings
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
BEGIN
	RETURN pg_catalog.jsonb_populate_record(NULL::@extschema@.period_settings,
		@extschema@.settings_object(ARRAY['period_close_months', 'period_close_days']));
END
$$;
COMMENT ON FUNCTION @extschema@.period_settings() IS 'The settings of period close (issue 14), typed';

-- R-RCH-2: the voucher bonus rate of a recharge channel
CREATE FUNCTION @extschema@.channel_bonus_rate(channel text) RETURNS numeric
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
BEGIN
	RETURN @extschema@.setting_value('channel_bonus_rate.' || channel)::numeric;
END
$$;
COMMENT ON FUNCTION @extschema@.channel_bonus_rate(text) IS 'The voucher bonus rate of a recharge channel (setting channel_bonus_rate.<channel>, R-RCH-2)';
