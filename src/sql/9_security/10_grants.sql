/*
 * 10_grants.sql — who may do what (R-SEC-1, R-SEC-2).
 *
 * Tables are written only by their owner, through the SECURITY DEFINER API
 * functions (which pin search_path).  Nothing that changes data is
 * executable by PUBLIC.  gpubill_app calls the API; gpubill_admin also
 * changes settings and reverses transfers (checked inside those functions
 * against the calling role, so SET ROLE works); gpubill_reader reads views.
 * The types, operators and pure calculators stay usable by everyone.
 *
 * Map (scripts/file-map.pl):
 * Uses: 1_types, 2_base, 3_ledger, 4_parties, 5_customers, 6_partners,
 *   7_exchange, 8_clock, 9_bi.
 */

REVOKE ALL ON ALL TABLES IN SCHEMA @extschema@ FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA @extschema@ FROM PUBLIC;
GRANT USAGE ON SCHEMA @extschema@ TO gpubill_app, gpubill_reader, gpubill_admin;

-- internal building blocks (plpgsql, or SQL that writes) and the API (SECURITY
-- DEFINER): not PUBLIC; the grants below give the API to the roles
DO $$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
			 JOIN pg_catalog.pg_language l ON l.oid = p.prolang
			 WHERE p.pronamespace = '@extschema@'::regnamespace
			   AND (p.prosecdef OR l.lanname = 'plpgsql' OR p.proname IN ('open_currency', 'hold_split', 'contract_work', 'alert_migrate_data')) LOOP
		EXECUTE pg_catalog.format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
	END LOOP;
END
$$;

-- the API: gpubill_app and gpubill_admin only
GRANT EXECUTE ON FUNCTION
	@extschema@.open_customer(text, text, timestamptz),
	@extschema@.open_partner(text, text, timestamptz),
	@extschema@.set_discount(bigint, numeric),
	@extschema@.set_approved(bigint, boolean),
	@extschema@.recharge(bigint, @extschema@.amount, text, text, timestamptz),
	@extschema@.grant_voucher(bigint, @extschema@.amount, timestamptz, timestamptz, text),
	@extschema@.wallet(bigint),
	@extschema@.record_invoice(bigint, @extschema@.amount, timestamptz),
	@extschema@.place_hold(bigint, @extschema@.amount, boolean, timestamptz, text, bigint, timestamptz, text),
	@extschema@.capture_hold(bigint, @extschema@.amount, bigint, timestamptz, text),
	@extschema@.release_hold(bigint, timestamptz, text),
	@extschema@.verify(boolean),
	@extschema@.list_machine(bigint, integer, @extschema@.amount, timestamptz, boolean, @extschema@.amount, @extschema@.amount, text, timestamptz, integer),
	@extschema@.create_instance(bigint, bigint, integer, text, boolean, timestamptz, text),
	@extschema@.stop_instance(bigint, timestamptz),
	@extschema@.start_instance(bigint, timestamptz),
	@extschema@.release_instance(bigint, timestamptz),
	@extschema@.instance_state(bigint),
	@extschema@.set_auto_renew(bigint, boolean),
	@extschema@.convert_instance(bigint, text, timestamptz),
	@extschema@.resize_instance(bigint, integer, timestamptz),
	@extschema@.set_storage(bigint, text, numeric, timestamptz),
	@extschema@.request_refund(bigint, timestamptz, text),
	@extschema@.withdrawable(bigint, timestamptz),
	@extschema@.rate_partner(bigint, integer, text, timestamptz),
	@extschema@.partner_rating(bigint),
	@extschema@.partner_level(bigint),
	@extschema@.request_withdrawal(bigint, @extschema@.amount, timestamptz, text),
	@extschema@.delist_machine(bigint, timestamptz),
	@extschema@.set_vouchers_allowed(bigint, boolean, timestamptz),
	@extschema@.take_offline(bigint, boolean, timestamptz),
	@extschema@.remove_machine(bigint, timestamptz),
	@extschema@.report_outage(bigint, timestamptz, timestamptz, boolean, timestamptz),
	@extschema@.open_provider(text, text, timestamptz),
	@extschema@.provider_wallet(bigint),
	@extschema@.create_contract(bigint, bigint, integer, @extschema@.amount, tstzrange, timestamptz, text),
	@extschema@.contract_schedule(bigint),
	@extschema@.contract_state(bigint),
	@extschema@.pay_contract(bigint, @extschema@.amount, text, timestamptz),
	@extschema@.terminate_contract(bigint, text, timestamptz),
	@extschema@.record_payment_initiated(bigint, text, timestamptz),
	@extschema@.resell_contract(bigint, bigint, @extschema@.amount, timestamptz),
	@extschema@.ack_lifecycle_event(bigint),
	@extschema@.tick(timestamptz)
TO gpubill_app;
GRANT EXECUTE ON FUNCTION @extschema@.schedule_jobs(), @extschema@.unschedule_jobs() TO gpubill_admin;
GRANT EXECUTE ON FUNCTION
	@extschema@.set_setting(text, text),
	@extschema@.set_b2b(bigint, boolean),
	@extschema@.set_provider_commission(bigint, numeric, timestamptz),
	@extschema@.set_commission_tiers(jsonb),
	@extschema@.record_provider_offset(bigint, @extschema@.amount, text, timestamptz, text),
	@extschema@.reverse_transfer(bigint, text, timestamptz, text),
	@extschema@.close_period(date, timestamptz),
	@extschema@.archive_month(date, timestamptz),
	@extschema@.create_publication(text),
	@extschema@.provision_partition(integer, integer),
	@extschema@.requeue_catalog()
TO gpubill_admin;

-- settings are readable by every gpubill role (billing_timezone(), rating_apply)
REVOKE EXECUTE ON FUNCTION @extschema@.setting(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.setting(text), @extschema@.settings_digest() TO gpubill_app, gpubill_reader, gpubill_admin;

-- readers: views only
GRANT SELECT ON @extschema@.transfers, @extschema@.accounts, @extschema@.lifecycle_events,
	@extschema@.due_lifecycle_events, @extschema@.open_alerts, @extschema@.instance_usage,
	@extschema@.customer_statement, @extschema@.arrears, @extschema@.partner_statement,
	@extschema@.platform_revenue, @extschema@.contract_receivables, @extschema@.tick_failures TO gpubill_reader;
-- the partitions' registry of payment ids, claimed through the proxy (issue 17)
GRANT EXECUTE ON FUNCTION @extschema@.claim_payment(text, text, bigint) TO gpubill_app;
-- the partners and machines pushed to every partition by the proxy, as its caller (issue 17)
GRANT EXECUTE ON FUNCTION @extschema@.catalog_changes(), @extschema@.apply_catalog(jsonb), @extschema@.catalog_pushed(jsonb)
TO gpubill_app, gpubill_admin;
GRANT EXECUTE ON FUNCTION @extschema@.catalog_digest() TO gpubill_app, gpubill_reader, gpubill_admin;
-- a machine's GPUs claimed at its home by the proxy, as its caller (issue 17)
GRANT EXECUTE ON FUNCTION @extschema@.claim_gpus(bigint, integer, text, bigint, bigint, text[]),
	@extschema@.confirm_gpu_claim(text, bigint, bigint, bigint, integer, boolean), @extschema@.release_gpu_claims(text[]),
	@extschema@.unconfirmed_claims(interval), @extschema@.create_instance_claimed(text, bigint, bigint, integer, text, boolean, timestamptz, text),
	@extschema@.start_instance_claimed(text, bigint, timestamptz), @extschema@.resize_instance_claimed(text, bigint, integer, timestamptz),
	@extschema@.instance_machine(bigint), @extschema@.known_request(text, text), @extschema@.ended_runs(),
	@extschema@.runs_drained(text[]), @extschema@.runs_of_claims(text[])
TO gpubill_app;
GRANT EXECUTE ON FUNCTION @extschema@.claimed_gpus(), @extschema@.running_gpus() TO gpubill_app, gpubill_reader, gpubill_admin;
-- a partner's money summed and its withdrawals made in steps by the proxy, as its caller (issue 18)
GRANT EXECUTE ON FUNCTION @extschema@.partner_part(bigint, timestamptz),
	@extschema@.begin_withdrawal(bigint, @extschema@.amount, timestamptz, text),
	@extschema@.commit_withdrawal(bigint, @extschema@.amount, @extschema@.amount, @extschema@.amount, @extschema@.amount),
	@extschema@.pending_withdrawals(interval)
TO gpubill_app;
-- a resale across partitions made in steps by the proxy, as its caller (issue 18)
GRANT EXECUTE ON FUNCTION @extschema@.begin_resale(bigint, bigint, @extschema@.amount, timestamptz),
	@extschema@.accept_resale(bigint, bigint, bigint, bigint, integer, @extschema@.amount, tstzrange, timestamptz),
	@extschema@.decide_resale(bigint, bigint, bigint), @extschema@.commit_resale(bigint, bigint), @extschema@.abandon_resale(bigint),
	@extschema@.pending_resales(interval)
TO gpubill_app;
GRANT EXECUTE ON FUNCTION @extschema@.resale_sides() TO gpubill_app, gpubill_reader, gpubill_admin;
-- the providers' monthly volumes summed and pushed by the proxy, as its caller (issue 18, R-EXC-4)
GRANT EXECUTE ON FUNCTION @extschema@.provider_volumes(date), @extschema@.apply_volumes(date, timestamptz, jsonb),
	@extschema@.volume_months_missing(timestamptz, timestamptz)
TO gpubill_app;
-- a provider's offsets recovered from other partitions by the proxy, as its caller (issue 18, R-EXC-9)
GRANT EXECUTE ON FUNCTION @extschema@.open_offsets(), @extschema@.begin_offset_recovery(bigint, timestamptz),
	@extschema@.offer_receipts(bigint, bigint, bigint[], @extschema@.amount), @extschema@.commit_offset_recovery(bigint, @extschema@.amount)
TO gpubill_app;
GRANT EXECUTE ON FUNCTION @extschema@.watch_offset(bigint, bigint) TO gpubill_app, gpubill_admin;
-- BI tools (issue 16): the reporting schema, read by gpubill_reader (and the admin)
GRANT USAGE ON SCHEMA gpubill_bi TO gpubill_reader, gpubill_admin;
GRANT SELECT ON ALL TABLES IN SCHEMA gpubill_bi TO gpubill_reader, gpubill_admin;
-- what the views call for the open months (issue 14): the journal's figures from the end of the closed months on
GRANT EXECUTE ON FUNCTION @extschema@.closed_until(), @extschema@.journal_balances(boolean),
	@extschema@.customer_movements(timestamptz, timestamptz),
	@extschema@.instance_hours(timestamptz, timestamptz), @extschema@.partner_movements(timestamptz, timestamptz),
	@extschema@.platform_days(timestamptz, timestamptz) TO gpubill_reader, gpubill_app, gpubill_admin;
-- the partner statement's parts, summed by the proxy (issue 18)
GRANT EXECUTE ON FUNCTION @extschema@.partner_statement_parts() TO gpubill_reader, gpubill_app, gpubill_admin;
GRANT SELECT ON @extschema@.partner_statement_running TO gpubill_reader;
-- an outage's compensation pushed to every partition by the proxy, as its caller (issue 18)
GRANT EXECUTE ON FUNCTION @extschema@.outage_changes(), @extschema@.apply_outage(jsonb), @extschema@.outage_pushed(bigint[])
TO gpubill_app, gpubill_admin;
