/*
 * 20_routes.sql — gpubill's API on the proxy: one PL/Proxy function per API
 * function, generated from gpubill's catalogue by scripts/proxy-routes.sql
 * (do not edit; test/proxy.sh regenerates it and requires it unchanged).
 */

CREATE FUNCTION @extschema@.ack_lifecycle_event(event bigint)
	RETURNS void
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(event); $$;
COMMENT ON FUNCTION @extschema@.ack_lifecycle_event(event bigint) IS '@extschema@.ack_lifecycle_event routed to the partition of event';
REVOKE EXECUTE ON FUNCTION @extschema@.ack_lifecycle_event(event bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ack_lifecycle_event(event bigint) TO gpubill_app;

CREATE FUNCTION @extschema@.capture_hold(hold bigint, amt @extschema@.amount, partner bigint DEFAULT NULL::bigint, at timestamp with time zone DEFAULT NULL::timestamp with time zone, request_id text DEFAULT NULL::text)
	RETURNS TABLE(voucher_paid @extschema@.amount, cash_paid @extschema@.amount, partner_income @extschema@.amount, platform_fee @extschema@.amount)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(hold); $$;
COMMENT ON FUNCTION @extschema@.capture_hold(hold bigint, amt @extschema@.amount, partner bigint, at timestamp with time zone, request_id text) IS '@extschema@.capture_hold routed to the partition of hold';
REVOKE EXECUTE ON FUNCTION @extschema@.capture_hold(hold bigint, amt @extschema@.amount, partner bigint, at timestamp with time zone, request_id text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.capture_hold(hold bigint, amt @extschema@.amount, partner bigint, at timestamp with time zone, request_id text) TO gpubill_app;

CREATE FUNCTION @extschema@.closed_until()
	RETURNS timestamp with time zone
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON 0; $$;
COMMENT ON FUNCTION @extschema@.closed_until() IS '@extschema@.closed_until routed to partition 0';
REVOKE EXECUTE ON FUNCTION @extschema@.closed_until() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.closed_until() TO gpubill_admin, gpubill_app, gpubill_reader;

CREATE FUNCTION @extschema@.contract_schedule(contract bigint)
	RETURNS TABLE(seq integer, due_at timestamp with time zone, covers tstzrange, customer_pays @extschema@.amount, from_deposit @extschema@.amount, kind text)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(contract); $$;
COMMENT ON FUNCTION @extschema@.contract_schedule(contract bigint) IS '@extschema@.contract_schedule routed to the partition of contract';
REVOKE EXECUTE ON FUNCTION @extschema@.contract_schedule(contract bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.contract_schedule(contract bigint) TO gpubill_app;

CREATE FUNCTION @extschema@.contract_state(contract bigint)
	RETURNS text
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(contract); $$;
COMMENT ON FUNCTION @extschema@.contract_state(contract bigint) IS '@extschema@.contract_state routed to the partition of contract';
REVOKE EXECUTE ON FUNCTION @extschema@.contract_state(contract bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.contract_state(contract bigint) TO gpubill_app;

CREATE FUNCTION @extschema@.convert_instance(instance bigint, billing text, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS void
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(instance); $$;
COMMENT ON FUNCTION @extschema@.convert_instance(instance bigint, billing text, at timestamp with time zone) IS '@extschema@.convert_instance routed to the partition of instance';
REVOKE EXECUTE ON FUNCTION @extschema@.convert_instance(instance bigint, billing text, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.convert_instance(instance bigint, billing text, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.create_contract(customer bigint, provider bigint, gpus integer, price_per_gpu_hour @extschema@.amount, term tstzrange, at timestamp with time zone DEFAULT NULL::timestamp with time zone, request_id text DEFAULT NULL::text)
	RETURNS bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(customer); $$;
COMMENT ON FUNCTION @extschema@.create_contract(customer bigint, provider bigint, gpus integer, price_per_gpu_hour @extschema@.amount, term tstzrange, at timestamp with time zone, request_id text) IS '@extschema@.create_contract routed to the partition of customer';
REVOKE EXECUTE ON FUNCTION @extschema@.create_contract(customer bigint, provider bigint, gpus integer, price_per_gpu_hour @extschema@.amount, term tstzrange, at timestamp with time zone, request_id text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.create_contract(customer bigint, provider bigint, gpus integer, price_per_gpu_hour @extschema@.amount, term tstzrange, at timestamp with time zone, request_id text) TO gpubill_app;

CREATE FUNCTION @extschema@.customer_movements(lo timestamp with time zone, hi timestamp with time zone)
	RETURNS TABLE(customer bigint, month date, recharged @extschema@.amount, vouchers_granted @extschema@.amount, charged @extschema@.amount, refunded @extschema@.amount, cash_change @extschema@.amount, used @extschema@.amount)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; $$;
COMMENT ON FUNCTION @extschema@.customer_movements(lo timestamp with time zone, hi timestamp with time zone) IS '@extschema@.customer_movements routed to every partition (rows concatenated)';
REVOKE EXECUTE ON FUNCTION @extschema@.customer_movements(lo timestamp with time zone, hi timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.customer_movements(lo timestamp with time zone, hi timestamp with time zone) TO gpubill_admin, gpubill_app, gpubill_reader;

CREATE FUNCTION @extschema@.delist_machine_at_home(machine bigint, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS void
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(machine); SELECT gpubill.delist_machine($1, $2); $$;
COMMENT ON FUNCTION @extschema@.delist_machine_at_home(machine bigint, at timestamp with time zone) IS '@extschema@.delist_machine routed to the partition of machine';
REVOKE EXECUTE ON FUNCTION @extschema@.delist_machine_at_home(machine bigint, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.delist_machine_at_home(machine bigint, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.delist_machine(machine bigint, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	PERFORM @extschema@.delist_machine_at_home($1, $2);
	PERFORM @extschema@.push_catalog(@extschema@.partition_of($1));
END
$$;
COMMENT ON FUNCTION @extschema@.delist_machine(machine bigint, at timestamp with time zone) IS '@extschema@.delist_machine through the proxy: at the partition of machine, then the partners and machines it changed pushed to every partition (issue 17)';
REVOKE EXECUTE ON FUNCTION @extschema@.delist_machine(machine bigint, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.delist_machine(machine bigint, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.grant_voucher(customer bigint, amt @extschema@.amount, expires_at timestamp with time zone DEFAULT NULL::timestamp with time zone, at timestamp with time zone DEFAULT NULL::timestamp with time zone, request_id text DEFAULT NULL::text)
	RETURNS bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(customer); $$;
COMMENT ON FUNCTION @extschema@.grant_voucher(customer bigint, amt @extschema@.amount, expires_at timestamp with time zone, at timestamp with time zone, request_id text) IS '@extschema@.grant_voucher routed to the partition of customer';
REVOKE EXECUTE ON FUNCTION @extschema@.grant_voucher(customer bigint, amt @extschema@.amount, expires_at timestamp with time zone, at timestamp with time zone, request_id text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.grant_voucher(customer bigint, amt @extschema@.amount, expires_at timestamp with time zone, at timestamp with time zone, request_id text) TO gpubill_app;

CREATE FUNCTION @extschema@.instance_hours(lo timestamp with time zone, hi timestamp with time zone)
	RETURNS TABLE(instance bigint, customer bigint, hour timestamp with time zone, seconds bigint, charged @extschema@.amount, voucher_paid @extschema@.amount, cash_paid @extschema@.amount)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; $$;
COMMENT ON FUNCTION @extschema@.instance_hours(lo timestamp with time zone, hi timestamp with time zone) IS '@extschema@.instance_hours routed to every partition (rows concatenated)';
REVOKE EXECUTE ON FUNCTION @extschema@.instance_hours(lo timestamp with time zone, hi timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.instance_hours(lo timestamp with time zone, hi timestamp with time zone) TO gpubill_admin, gpubill_app, gpubill_reader;

CREATE FUNCTION @extschema@.instance_state(instance bigint)
	RETURNS text
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(instance); $$;
COMMENT ON FUNCTION @extschema@.instance_state(instance bigint) IS '@extschema@.instance_state routed to the partition of instance';
REVOKE EXECUTE ON FUNCTION @extschema@.instance_state(instance bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.instance_state(instance bigint) TO gpubill_app;

CREATE FUNCTION @extschema@.journal_balances(whole boolean)
	RETURNS TABLE(account_id bigint, balance numeric)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; $$;
COMMENT ON FUNCTION @extschema@.journal_balances(whole boolean) IS '@extschema@.journal_balances routed to every partition (rows concatenated)';
REVOKE EXECUTE ON FUNCTION @extschema@.journal_balances(whole boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.journal_balances(whole boolean) TO gpubill_admin, gpubill_app, gpubill_reader;

CREATE FUNCTION @extschema@.list_machine_at_home(partner bigint, gpus integer, price_per_gpu_hour @extschema@.amount, owner_end_time timestamp with time zone, vouchers_allowed boolean DEFAULT true, week_price_per_gpu @extschema@.amount DEFAULT NULL::@extschema@.amount, month_price_per_gpu @extschema@.amount DEFAULT NULL::@extschema@.amount, billing text DEFAULT 'per_second'::text, at timestamp with time zone DEFAULT NULL::timestamp with time zone, package_hours integer DEFAULT 24)
	RETURNS bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(partner); SELECT gpubill.list_machine($1, $2, $3, $4, $5, $6, $7, $8, $9, $10); $$;
COMMENT ON FUNCTION @extschema@.list_machine_at_home(partner bigint, gpus integer, price_per_gpu_hour @extschema@.amount, owner_end_time timestamp with time zone, vouchers_allowed boolean, week_price_per_gpu @extschema@.amount, month_price_per_gpu @extschema@.amount, billing text, at timestamp with time zone, package_hours integer) IS '@extschema@.list_machine routed to the partition of partner';
REVOKE EXECUTE ON FUNCTION @extschema@.list_machine_at_home(partner bigint, gpus integer, price_per_gpu_hour @extschema@.amount, owner_end_time timestamp with time zone, vouchers_allowed boolean, week_price_per_gpu @extschema@.amount, month_price_per_gpu @extschema@.amount, billing text, at timestamp with time zone, package_hours integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.list_machine_at_home(partner bigint, gpus integer, price_per_gpu_hour @extschema@.amount, owner_end_time timestamp with time zone, vouchers_allowed boolean, week_price_per_gpu @extschema@.amount, month_price_per_gpu @extschema@.amount, billing text, at timestamp with time zone, package_hours integer) TO gpubill_app;

CREATE FUNCTION @extschema@.list_machine(partner bigint, gpus integer, price_per_gpu_hour @extschema@.amount, owner_end_time timestamp with time zone, vouchers_allowed boolean DEFAULT true, week_price_per_gpu @extschema@.amount DEFAULT NULL::@extschema@.amount, month_price_per_gpu @extschema@.amount DEFAULT NULL::@extschema@.amount, billing text DEFAULT 'per_second'::text, at timestamp with time zone DEFAULT NULL::timestamp with time zone, package_hours integer DEFAULT 24)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	r bigint;
BEGIN
	r := @extschema@.list_machine_at_home($1, $2, $3, $4, $5, $6, $7, $8, $9, $10);
	PERFORM @extschema@.push_catalog(@extschema@.partition_of($1));
	RETURN r;
END
$$;
COMMENT ON FUNCTION @extschema@.list_machine(partner bigint, gpus integer, price_per_gpu_hour @extschema@.amount, owner_end_time timestamp with time zone, vouchers_allowed boolean, week_price_per_gpu @extschema@.amount, month_price_per_gpu @extschema@.amount, billing text, at timestamp with time zone, package_hours integer) IS '@extschema@.list_machine through the proxy: at the partition of partner, then the partners and machines it changed pushed to every partition (issue 17)';
REVOKE EXECUTE ON FUNCTION @extschema@.list_machine(partner bigint, gpus integer, price_per_gpu_hour @extschema@.amount, owner_end_time timestamp with time zone, vouchers_allowed boolean, week_price_per_gpu @extschema@.amount, month_price_per_gpu @extschema@.amount, billing text, at timestamp with time zone, package_hours integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.list_machine(partner bigint, gpus integer, price_per_gpu_hour @extschema@.amount, owner_end_time timestamp with time zone, vouchers_allowed boolean, week_price_per_gpu @extschema@.amount, month_price_per_gpu @extschema@.amount, billing text, at timestamp with time zone, package_hours integer) TO gpubill_app;

CREATE FUNCTION @extschema@.open_customer(external_ref text, currency text DEFAULT NULL::text, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON pg_catalog.hashtext(external_ref); $$;
COMMENT ON FUNCTION @extschema@.open_customer(external_ref text, currency text, at timestamp with time zone) IS '@extschema@.open_customer routed to the partition of external_ref';
REVOKE EXECUTE ON FUNCTION @extschema@.open_customer(external_ref text, currency text, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.open_customer(external_ref text, currency text, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.open_partner_at_home(external_ref text, currency text DEFAULT NULL::text, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON pg_catalog.hashtext(external_ref); SELECT gpubill.open_partner($1, $2, $3); $$;
COMMENT ON FUNCTION @extschema@.open_partner_at_home(external_ref text, currency text, at timestamp with time zone) IS '@extschema@.open_partner routed to the partition of external_ref';
REVOKE EXECUTE ON FUNCTION @extschema@.open_partner_at_home(external_ref text, currency text, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.open_partner_at_home(external_ref text, currency text, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.open_partner(external_ref text, currency text DEFAULT NULL::text, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	r bigint;
BEGIN
	r := @extschema@.open_partner_at_home($1, $2, $3);
	PERFORM @extschema@.push_catalog(@extschema@.partition_of(r));
	RETURN r;
END
$$;
COMMENT ON FUNCTION @extschema@.open_partner(external_ref text, currency text, at timestamp with time zone) IS '@extschema@.open_partner through the proxy: at the partition of external_ref, then the partners and machines it changed pushed to every partition (issue 17)';
REVOKE EXECUTE ON FUNCTION @extschema@.open_partner(external_ref text, currency text, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.open_partner(external_ref text, currency text, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.open_provider_at_home(external_ref text, currency text DEFAULT 'USD'::text, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON pg_catalog.hashtext(external_ref); SELECT gpubill.open_provider($1, $2, $3); $$;
COMMENT ON FUNCTION @extschema@.open_provider_at_home(external_ref text, currency text, at timestamp with time zone) IS '@extschema@.open_provider routed to the partition of external_ref';
REVOKE EXECUTE ON FUNCTION @extschema@.open_provider_at_home(external_ref text, currency text, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.open_provider_at_home(external_ref text, currency text, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.open_provider(external_ref text, currency text DEFAULT 'USD'::text, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	r bigint;
BEGIN
	r := @extschema@.open_provider_at_home($1, $2, $3);
	PERFORM @extschema@.push_catalog(@extschema@.partition_of(r));
	RETURN r;
END
$$;
COMMENT ON FUNCTION @extschema@.open_provider(external_ref text, currency text, at timestamp with time zone) IS '@extschema@.open_provider through the proxy: at the partition of external_ref, then the partners and machines it changed pushed to every partition (issue 17)';
REVOKE EXECUTE ON FUNCTION @extschema@.open_provider(external_ref text, currency text, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.open_provider(external_ref text, currency text, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.partner_level(partner bigint)
	RETURNS text
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(partner); $$;
COMMENT ON FUNCTION @extschema@.partner_level(partner bigint) IS '@extschema@.partner_level routed to the partition of partner';
REVOKE EXECUTE ON FUNCTION @extschema@.partner_level(partner bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.partner_level(partner bigint) TO gpubill_app;

CREATE FUNCTION @extschema@.partner_movements(lo timestamp with time zone, hi timestamp with time zone)
	RETURNS TABLE(partner bigint, month date, gross @extschema@.amount, fees @extschema@.amount, voucher_paid @extschema@.amount, income @extschema@.amount, deposits @extschema@.amount, compensation @extschema@.amount, withdrawn @extschema@.amount, change @extschema@.amount)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; $$;
COMMENT ON FUNCTION @extschema@.partner_movements(lo timestamp with time zone, hi timestamp with time zone) IS '@extschema@.partner_movements routed to every partition (rows concatenated)';
REVOKE EXECUTE ON FUNCTION @extschema@.partner_movements(lo timestamp with time zone, hi timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.partner_movements(lo timestamp with time zone, hi timestamp with time zone) TO gpubill_admin, gpubill_app, gpubill_reader;

CREATE FUNCTION @extschema@.partner_rating(partner bigint)
	RETURNS @extschema@.rating
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(partner); $$;
COMMENT ON FUNCTION @extschema@.partner_rating(partner bigint) IS '@extschema@.partner_rating routed to the partition of partner';
REVOKE EXECUTE ON FUNCTION @extschema@.partner_rating(partner bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.partner_rating(partner bigint) TO gpubill_app;

CREATE FUNCTION @extschema@.place_hold(customer bigint, amt @extschema@.amount, cash_only boolean DEFAULT false, expires_at timestamp with time zone DEFAULT NULL::timestamp with time zone, object_type text DEFAULT NULL::text, object_id bigint DEFAULT NULL::bigint, at timestamp with time zone DEFAULT NULL::timestamp with time zone, request_id text DEFAULT NULL::text)
	RETURNS bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(customer); $$;
COMMENT ON FUNCTION @extschema@.place_hold(customer bigint, amt @extschema@.amount, cash_only boolean, expires_at timestamp with time zone, object_type text, object_id bigint, at timestamp with time zone, request_id text) IS '@extschema@.place_hold routed to the partition of customer';
REVOKE EXECUTE ON FUNCTION @extschema@.place_hold(customer bigint, amt @extschema@.amount, cash_only boolean, expires_at timestamp with time zone, object_type text, object_id bigint, at timestamp with time zone, request_id text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.place_hold(customer bigint, amt @extschema@.amount, cash_only boolean, expires_at timestamp with time zone, object_type text, object_id bigint, at timestamp with time zone, request_id text) TO gpubill_app;

CREATE FUNCTION @extschema@.platform_days(lo timestamp with time zone, hi timestamp with time zone)
	RETURNS TABLE(day date, currency text, service_fees @extschema@.amount, commissions @extschema@.amount, voucher_breakage @extschema@.amount, compensation_paid @extschema@.amount, compensation_recovered @extschema@.amount, vouchers_spent @extschema@.amount, forfeits @extschema@.amount)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; $$;
COMMENT ON FUNCTION @extschema@.platform_days(lo timestamp with time zone, hi timestamp with time zone) IS '@extschema@.platform_days routed to every partition (rows concatenated)';
REVOKE EXECUTE ON FUNCTION @extschema@.platform_days(lo timestamp with time zone, hi timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.platform_days(lo timestamp with time zone, hi timestamp with time zone) TO gpubill_admin, gpubill_app, gpubill_reader;

CREATE FUNCTION @extschema@.rate_partner_at_home(partner bigint, points integer, reason text, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS @extschema@.rating
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(partner); SELECT gpubill.rate_partner($1, $2, $3, $4); $$;
COMMENT ON FUNCTION @extschema@.rate_partner_at_home(partner bigint, points integer, reason text, at timestamp with time zone) IS '@extschema@.rate_partner routed to the partition of partner';
REVOKE EXECUTE ON FUNCTION @extschema@.rate_partner_at_home(partner bigint, points integer, reason text, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.rate_partner_at_home(partner bigint, points integer, reason text, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.rate_partner(partner bigint, points integer, reason text, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS @extschema@.rating
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	r @extschema@.rating;
BEGIN
	r := @extschema@.rate_partner_at_home($1, $2, $3, $4);
	PERFORM @extschema@.push_catalog(@extschema@.partition_of($1));
	RETURN r;
END
$$;
COMMENT ON FUNCTION @extschema@.rate_partner(partner bigint, points integer, reason text, at timestamp with time zone) IS '@extschema@.rate_partner through the proxy: at the partition of partner, then the partners and machines it changed pushed to every partition (issue 17)';
REVOKE EXECUTE ON FUNCTION @extschema@.rate_partner(partner bigint, points integer, reason text, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.rate_partner(partner bigint, points integer, reason text, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.record_invoice(customer bigint, amt @extschema@.amount, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(customer); $$;
COMMENT ON FUNCTION @extschema@.record_invoice(customer bigint, amt @extschema@.amount, at timestamp with time zone) IS '@extschema@.record_invoice routed to the partition of customer';
REVOKE EXECUTE ON FUNCTION @extschema@.record_invoice(customer bigint, amt @extschema@.amount, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.record_invoice(customer bigint, amt @extschema@.amount, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.record_payment_initiated(contract bigint, evidence text, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS void
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(contract); $$;
COMMENT ON FUNCTION @extschema@.record_payment_initiated(contract bigint, evidence text, at timestamp with time zone) IS '@extschema@.record_payment_initiated routed to the partition of contract';
REVOKE EXECUTE ON FUNCTION @extschema@.record_payment_initiated(contract bigint, evidence text, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.record_payment_initiated(contract bigint, evidence text, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.release_hold(hold bigint, at timestamp with time zone DEFAULT NULL::timestamp with time zone, request_id text DEFAULT NULL::text)
	RETURNS void
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(hold); $$;
COMMENT ON FUNCTION @extschema@.release_hold(hold bigint, at timestamp with time zone, request_id text) IS '@extschema@.release_hold routed to the partition of hold';
REVOKE EXECUTE ON FUNCTION @extschema@.release_hold(hold bigint, at timestamp with time zone, request_id text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.release_hold(hold bigint, at timestamp with time zone, request_id text) TO gpubill_app;

CREATE FUNCTION @extschema@.release_instance(instance bigint, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS void
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(instance); $$;
COMMENT ON FUNCTION @extschema@.release_instance(instance bigint, at timestamp with time zone) IS '@extschema@.release_instance routed to the partition of instance';
REVOKE EXECUTE ON FUNCTION @extschema@.release_instance(instance bigint, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.release_instance(instance bigint, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.remove_machine_at_home(machine bigint, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS void
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(machine); SELECT gpubill.remove_machine($1, $2); $$;
COMMENT ON FUNCTION @extschema@.remove_machine_at_home(machine bigint, at timestamp with time zone) IS '@extschema@.remove_machine routed to the partition of machine';
REVOKE EXECUTE ON FUNCTION @extschema@.remove_machine_at_home(machine bigint, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.remove_machine_at_home(machine bigint, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.remove_machine(machine bigint, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	PERFORM @extschema@.remove_machine_at_home($1, $2);
	PERFORM @extschema@.push_catalog(@extschema@.partition_of($1));
END
$$;
COMMENT ON FUNCTION @extschema@.remove_machine(machine bigint, at timestamp with time zone) IS '@extschema@.remove_machine through the proxy: at the partition of machine, then the partners and machines it changed pushed to every partition (issue 17)';
REVOKE EXECUTE ON FUNCTION @extschema@.remove_machine(machine bigint, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.remove_machine(machine bigint, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.report_outage_at_home(machine bigint, started timestamp with time zone, ended timestamp with time zone, notified boolean DEFAULT false, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(machine); SELECT gpubill.report_outage($1, $2, $3, $4, $5); $$;
COMMENT ON FUNCTION @extschema@.report_outage_at_home(machine bigint, started timestamp with time zone, ended timestamp with time zone, notified boolean, at timestamp with time zone) IS '@extschema@.report_outage routed to the partition of machine';
REVOKE EXECUTE ON FUNCTION @extschema@.report_outage_at_home(machine bigint, started timestamp with time zone, ended timestamp with time zone, notified boolean, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.report_outage_at_home(machine bigint, started timestamp with time zone, ended timestamp with time zone, notified boolean, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.report_outage(machine bigint, started timestamp with time zone, ended timestamp with time zone, notified boolean DEFAULT false, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	r bigint;
BEGIN
	r := @extschema@.report_outage_at_home($1, $2, $3, $4, $5);
	PERFORM @extschema@.push_catalog(@extschema@.partition_of($1));
	RETURN r;
END
$$;
COMMENT ON FUNCTION @extschema@.report_outage(machine bigint, started timestamp with time zone, ended timestamp with time zone, notified boolean, at timestamp with time zone) IS '@extschema@.report_outage through the proxy: at the partition of machine, then the partners and machines it changed pushed to every partition (issue 17)';
REVOKE EXECUTE ON FUNCTION @extschema@.report_outage(machine bigint, started timestamp with time zone, ended timestamp with time zone, notified boolean, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.report_outage(machine bigint, started timestamp with time zone, ended timestamp with time zone, notified boolean, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.request_refund(customer bigint, at timestamp with time zone DEFAULT NULL::timestamp with time zone, request_id text DEFAULT NULL::text)
	RETURNS bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(customer); $$;
COMMENT ON FUNCTION @extschema@.request_refund(customer bigint, at timestamp with time zone, request_id text) IS '@extschema@.request_refund routed to the partition of customer';
REVOKE EXECUTE ON FUNCTION @extschema@.request_refund(customer bigint, at timestamp with time zone, request_id text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.request_refund(customer bigint, at timestamp with time zone, request_id text) TO gpubill_app;

CREATE FUNCTION @extschema@.reverse_transfer(transfer bigint, reason text, at timestamp with time zone DEFAULT NULL::timestamp with time zone, request_id text DEFAULT NULL::text)
	RETURNS bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(transfer); $$;
COMMENT ON FUNCTION @extschema@.reverse_transfer(transfer bigint, reason text, at timestamp with time zone, request_id text) IS '@extschema@.reverse_transfer routed to the partition of transfer';
REVOKE EXECUTE ON FUNCTION @extschema@.reverse_transfer(transfer bigint, reason text, at timestamp with time zone, request_id text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.reverse_transfer(transfer bigint, reason text, at timestamp with time zone, request_id text) TO gpubill_admin;

CREATE FUNCTION @extschema@.set_approved(customer bigint, approved boolean)
	RETURNS void
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(customer); $$;
COMMENT ON FUNCTION @extschema@.set_approved(customer bigint, approved boolean) IS '@extschema@.set_approved routed to the partition of customer';
REVOKE EXECUTE ON FUNCTION @extschema@.set_approved(customer bigint, approved boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.set_approved(customer bigint, approved boolean) TO gpubill_app;

CREATE FUNCTION @extschema@.set_auto_renew(instance bigint, "on" boolean)
	RETURNS void
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(instance); $$;
COMMENT ON FUNCTION @extschema@.set_auto_renew(instance bigint, "on" boolean) IS '@extschema@.set_auto_renew routed to the partition of instance';
REVOKE EXECUTE ON FUNCTION @extschema@.set_auto_renew(instance bigint, "on" boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.set_auto_renew(instance bigint, "on" boolean) TO gpubill_app;

CREATE FUNCTION @extschema@.set_b2b(customer bigint, b2b boolean)
	RETURNS void
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(customer); $$;
COMMENT ON FUNCTION @extschema@.set_b2b(customer bigint, b2b boolean) IS '@extschema@.set_b2b routed to the partition of customer';
REVOKE EXECUTE ON FUNCTION @extschema@.set_b2b(customer bigint, b2b boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.set_b2b(customer bigint, b2b boolean) TO gpubill_admin;

CREATE FUNCTION @extschema@.set_discount(customer bigint, discount numeric)
	RETURNS void
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(customer); $$;
COMMENT ON FUNCTION @extschema@.set_discount(customer bigint, discount numeric) IS '@extschema@.set_discount routed to the partition of customer';
REVOKE EXECUTE ON FUNCTION @extschema@.set_discount(customer bigint, discount numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.set_discount(customer bigint, discount numeric) TO gpubill_app;

CREATE FUNCTION @extschema@.set_provider_commission(provider bigint, rate numeric, from_at timestamp with time zone)
	RETURNS void
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(provider); $$;
COMMENT ON FUNCTION @extschema@.set_provider_commission(provider bigint, rate numeric, from_at timestamp with time zone) IS '@extschema@.set_provider_commission routed to the partition of provider';
REVOKE EXECUTE ON FUNCTION @extschema@.set_provider_commission(provider bigint, rate numeric, from_at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.set_provider_commission(provider bigint, rate numeric, from_at timestamp with time zone) TO gpubill_admin;

CREATE FUNCTION @extschema@.set_storage(customer bigint, kind text, gb numeric, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS void
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(customer); $$;
COMMENT ON FUNCTION @extschema@.set_storage(customer bigint, kind text, gb numeric, at timestamp with time zone) IS '@extschema@.set_storage routed to the partition of customer';
REVOKE EXECUTE ON FUNCTION @extschema@.set_storage(customer bigint, kind text, gb numeric, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.set_storage(customer bigint, kind text, gb numeric, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.set_vouchers_allowed_at_home(machine bigint, allowed boolean, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS void
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(machine); SELECT gpubill.set_vouchers_allowed($1, $2, $3); $$;
COMMENT ON FUNCTION @extschema@.set_vouchers_allowed_at_home(machine bigint, allowed boolean, at timestamp with time zone) IS '@extschema@.set_vouchers_allowed routed to the partition of machine';
REVOKE EXECUTE ON FUNCTION @extschema@.set_vouchers_allowed_at_home(machine bigint, allowed boolean, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.set_vouchers_allowed_at_home(machine bigint, allowed boolean, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.set_vouchers_allowed(machine bigint, allowed boolean, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	PERFORM @extschema@.set_vouchers_allowed_at_home($1, $2, $3);
	PERFORM @extschema@.push_catalog(@extschema@.partition_of($1));
END
$$;
COMMENT ON FUNCTION @extschema@.set_vouchers_allowed(machine bigint, allowed boolean, at timestamp with time zone) IS '@extschema@.set_vouchers_allowed through the proxy: at the partition of machine, then the partners and machines it changed pushed to every partition (issue 17)';
REVOKE EXECUTE ON FUNCTION @extschema@.set_vouchers_allowed(machine bigint, allowed boolean, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.set_vouchers_allowed(machine bigint, allowed boolean, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.setting(key text)
	RETURNS text
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON 0; $$;
COMMENT ON FUNCTION @extschema@.setting(key text) IS '@extschema@.setting routed to partition 0';
REVOKE EXECUTE ON FUNCTION @extschema@.setting(key text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.setting(key text) TO gpubill_admin, gpubill_app, gpubill_reader;

CREATE FUNCTION @extschema@.settings_digest()
	RETURNS text
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON 0; $$;
COMMENT ON FUNCTION @extschema@.settings_digest() IS '@extschema@.settings_digest routed to partition 0';
REVOKE EXECUTE ON FUNCTION @extschema@.settings_digest() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.settings_digest() TO gpubill_admin, gpubill_app, gpubill_reader;

CREATE FUNCTION @extschema@.stop_instance(instance bigint, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS void
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(instance); $$;
COMMENT ON FUNCTION @extschema@.stop_instance(instance bigint, at timestamp with time zone) IS '@extschema@.stop_instance routed to the partition of instance';
REVOKE EXECUTE ON FUNCTION @extschema@.stop_instance(instance bigint, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.stop_instance(instance bigint, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.wallet(customer bigint)
	RETURNS TABLE(cash @extschema@.amount, vouchers @extschema@.amount, held @extschema@.amount, available @extschema@.amount)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(customer); $$;
COMMENT ON FUNCTION @extschema@.wallet(customer bigint) IS '@extschema@.wallet routed to the partition of customer';
REVOKE EXECUTE ON FUNCTION @extschema@.wallet(customer bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.wallet(customer bigint) TO gpubill_app;
CREATE FUNCTION @extschema@.arrears_rows()
	RETURNS TABLE(customer bigint, since timestamp with time zone, amount @extschema@.amount)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT * FROM @extschema@.arrears; $$;
COMMENT ON FUNCTION @extschema@.arrears_rows() IS '@extschema@.arrears of every partition';
REVOKE EXECUTE ON FUNCTION @extschema@.arrears_rows() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.arrears_rows() TO gpubill_reader;
CREATE VIEW @extschema@.arrears AS SELECT * FROM @extschema@.arrears_rows();
COMMENT ON VIEW @extschema@.arrears IS 'arrears through the proxy: every partition''s rows (issue 17)';
GRANT SELECT ON @extschema@.arrears TO gpubill_reader;

CREATE FUNCTION @extschema@.contract_receivables_rows()
	RETURNS TABLE(contract bigint, seq integer, customer bigint, kind text, due_at timestamp with time zone, covers tstzrange, customer_pays @extschema@.amount, paid @extschema@.amount, from_deposit @extschema@.amount, paid_at timestamp with time zone, late_from timestamp with time zone, overdue boolean, cancelled boolean)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT * FROM @extschema@.contract_receivables; $$;
COMMENT ON FUNCTION @extschema@.contract_receivables_rows() IS '@extschema@.contract_receivables of every partition';
REVOKE EXECUTE ON FUNCTION @extschema@.contract_receivables_rows() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.contract_receivables_rows() TO gpubill_reader;
CREATE VIEW @extschema@.contract_receivables AS SELECT * FROM @extschema@.contract_receivables_rows();
COMMENT ON VIEW @extschema@.contract_receivables IS 'contract_receivables through the proxy: every partition''s rows (issue 17)';
GRANT SELECT ON @extschema@.contract_receivables TO gpubill_reader;

CREATE FUNCTION @extschema@.customer_statement_rows()
	RETURNS TABLE(customer bigint, month date, recharged @extschema@.amount, vouchers_granted @extschema@.amount, charged @extschema@.amount, refunded @extschema@.amount, closing_cash @extschema@.amount)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT * FROM @extschema@.customer_statement; $$;
COMMENT ON FUNCTION @extschema@.customer_statement_rows() IS '@extschema@.customer_statement of every partition';
REVOKE EXECUTE ON FUNCTION @extschema@.customer_statement_rows() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.customer_statement_rows() TO gpubill_reader;
CREATE VIEW @extschema@.customer_statement AS SELECT * FROM @extschema@.customer_statement_rows();
COMMENT ON VIEW @extschema@.customer_statement IS 'customer_statement through the proxy: every partition''s rows (issue 17)';
GRANT SELECT ON @extschema@.customer_statement TO gpubill_reader;

CREATE FUNCTION @extschema@.due_lifecycle_events_rows()
	RETURNS TABLE(event_id bigint, kind text, customer bigint, partner bigint, subject_type text, subject_id bigint, due_at timestamp with time zone, created_at timestamp with time zone, cancelled_at timestamp with time zone, acked_at timestamp with time zone)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT * FROM @extschema@.due_lifecycle_events; $$;
COMMENT ON FUNCTION @extschema@.due_lifecycle_events_rows() IS '@extschema@.due_lifecycle_events of every partition';
REVOKE EXECUTE ON FUNCTION @extschema@.due_lifecycle_events_rows() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.due_lifecycle_events_rows() TO gpubill_reader;
CREATE VIEW @extschema@.due_lifecycle_events AS SELECT * FROM @extschema@.due_lifecycle_events_rows();
COMMENT ON VIEW @extschema@.due_lifecycle_events IS 'due_lifecycle_events through the proxy: every partition''s rows (issue 17)';
GRANT SELECT ON @extschema@.due_lifecycle_events TO gpubill_reader;

CREATE FUNCTION @extschema@.instance_usage_rows()
	RETURNS TABLE(instance bigint, customer bigint, hour timestamp with time zone, seconds bigint, charged @extschema@.amount, voucher_paid @extschema@.amount, cash_paid @extschema@.amount)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT * FROM @extschema@.instance_usage; $$;
COMMENT ON FUNCTION @extschema@.instance_usage_rows() IS '@extschema@.instance_usage of every partition';
REVOKE EXECUTE ON FUNCTION @extschema@.instance_usage_rows() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.instance_usage_rows() TO gpubill_reader;
CREATE VIEW @extschema@.instance_usage AS SELECT * FROM @extschema@.instance_usage_rows();
COMMENT ON VIEW @extschema@.instance_usage IS 'instance_usage through the proxy: every partition''s rows (issue 17)';
GRANT SELECT ON @extschema@.instance_usage TO gpubill_reader;

CREATE FUNCTION @extschema@.lifecycle_events_rows()
	RETURNS TABLE(event_id bigint, kind text, customer bigint, partner bigint, subject_type text, subject_id bigint, due_at timestamp with time zone, created_at timestamp with time zone, cancelled_at timestamp with time zone, acked_at timestamp with time zone)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT * FROM @extschema@.lifecycle_events; $$;
COMMENT ON FUNCTION @extschema@.lifecycle_events_rows() IS '@extschema@.lifecycle_events of every partition';
REVOKE EXECUTE ON FUNCTION @extschema@.lifecycle_events_rows() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.lifecycle_events_rows() TO gpubill_reader;
CREATE VIEW @extschema@.lifecycle_events AS SELECT * FROM @extschema@.lifecycle_events_rows();
COMMENT ON VIEW @extschema@.lifecycle_events IS 'lifecycle_events through the proxy: every partition''s rows (issue 17)';
GRANT SELECT ON @extschema@.lifecycle_events TO gpubill_reader;

CREATE FUNCTION @extschema@.open_alerts_rows()
	RETURNS TABLE(alert_id bigint, kind text, customer bigint, partner bigint, subject_type text, subject_id bigint, raised_at timestamp with time zone, payload jsonb)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT * FROM @extschema@.open_alerts; $$;
COMMENT ON FUNCTION @extschema@.open_alerts_rows() IS '@extschema@.open_alerts of every partition';
REVOKE EXECUTE ON FUNCTION @extschema@.open_alerts_rows() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.open_alerts_rows() TO gpubill_reader;
CREATE VIEW @extschema@.open_alerts AS SELECT * FROM @extschema@.open_alerts_rows();
COMMENT ON VIEW @extschema@.open_alerts IS 'open_alerts through the proxy: every partition''s rows (issue 17)';
GRANT SELECT ON @extschema@.open_alerts TO gpubill_reader;

CREATE FUNCTION @extschema@.tick_failures_rows()
	RETURNS TABLE(customer bigint, job text, at timestamp with time zone, sqlstate text, message text, first_seen timestamp with time zone, last_seen timestamp with time zone, attempts integer)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT * FROM @extschema@.tick_failures; $$;
COMMENT ON FUNCTION @extschema@.tick_failures_rows() IS '@extschema@.tick_failures of every partition';
REVOKE EXECUTE ON FUNCTION @extschema@.tick_failures_rows() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.tick_failures_rows() TO gpubill_reader;
CREATE VIEW @extschema@.tick_failures AS SELECT * FROM @extschema@.tick_failures_rows();
COMMENT ON VIEW @extschema@.tick_failures IS 'tick_failures through the proxy: every partition''s rows (issue 17)';
GRANT SELECT ON @extschema@.tick_failures TO gpubill_reader;

CREATE FUNCTION @extschema@.transfers_rows()
	RETURNS TABLE(transfer_id bigint, at timestamp with time zone, recorded_at timestamp with time zone, kind text, debit_account bigint, credit_account bigint, amount @extschema@.amount, object_type text, object_id bigint, request_id text, customer_id bigint, partner_id bigint, reverses bigint, note text, debit_owner_kind text, debit_owner_id bigint, debit_purpose text, credit_owner_kind text, credit_owner_id bigint, credit_purpose text)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT * FROM @extschema@.transfers; $$;
COMMENT ON FUNCTION @extschema@.transfers_rows() IS '@extschema@.transfers of every partition';
REVOKE EXECUTE ON FUNCTION @extschema@.transfers_rows() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.transfers_rows() TO gpubill_reader;
CREATE VIEW @extschema@.transfers AS SELECT * FROM @extschema@.transfers_rows();
COMMENT ON VIEW @extschema@.transfers IS 'transfers through the proxy: every partition''s rows (issue 17)';
GRANT SELECT ON @extschema@.transfers TO gpubill_reader;
