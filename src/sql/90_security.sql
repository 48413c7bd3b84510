/*
 * 90_security.sql — who may do what (R-SEC-1, R-SEC-2).
 *
 * Tables are written only by their owner, through the SECURITY DEFINER API
 * functions (which pin search_path).  Nothing that changes data is
 * executable by PUBLIC.  gpubill_app calls the API; gpubill_admin also
 * changes settings and reverses transfers (checked inside those functions
 * against the calling role, so SET ROLE works); gpubill_reader reads views.
 * The types, operators and pure calculators stay usable by everyone.
 */

REVOKE ALL ON ALL TABLES IN SCHEMA @extschema@ FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA @extschema@ FROM PUBLIC;
GRANT USAGE ON SCHEMA @extschema@ TO gpubill_app, gpubill_reader, gpubill_admin;

-- internal building blocks: no one but the owner
REVOKE EXECUTE ON FUNCTION
	@extschema@.ledger_account(text, bigint, text, text),
	@extschema@.lock_wallet(bigint),
	@extschema@.check_amount(@extschema@.amount, text, text),
	@extschema@.begin_request(text, text, bigint, bigint, jsonb, timestamptz),
	@extschema@.expire_holds(bigint, timestamptz),
	@extschema@.open_hold(bigint, timestamptz, text, text, jsonb),
	@extschema@.account_of(text, bigint, text, text),
	@extschema@.open_currency(text),
	@extschema@.setting_value(text),
	@extschema@.hold_split(bigint, bigint),
	@extschema@.end_hold(bigint, bigint, text, @extschema@.amount, timestamptz, text),
	@extschema@.refuse_change(),
	@extschema@.move_sequence_to_shard(regclass, bigint),
	@extschema@.settle_payg(timestamptz, bigint, text),
	@extschema@.settle_payg_until(timestamptz, bigint),
	@extschema@.stop_payg(bigint, timestamptz, text),
	@extschema@.call_time(timestamptz, timestamptz, text),
	@extschema@.lock_instance(bigint),
	@extschema@.check_capacity(@extschema@.machine, integer, bigint),
	@extschema@.lock_machine(bigint, text, boolean),
	@extschema@.check_instance_transition(),
	@extschema@.announce_lifecycle_event(),
	@extschema@.schedule_jobs(),
	@extschema@.unschedule_jobs()
FROM PUBLIC;

-- the API (SECURITY DEFINER): gpubill_app and gpubill_admin only
REVOKE EXECUTE ON FUNCTION
	@extschema@.set_setting(text, text),
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
	@extschema@.reverse_transfer(bigint, text, timestamptz, text),
	@extschema@.verify(),
	@extschema@.list_machine(bigint, integer, @extschema@.amount, timestamptz, boolean, @extschema@.amount, @extschema@.amount, text, timestamptz, integer),
	@extschema@.create_instance(bigint, bigint, integer, text, boolean, timestamptz, text),
	@extschema@.stop_instance(bigint, timestamptz),
	@extschema@.start_instance(bigint, timestamptz),
	@extschema@.release_instance(bigint, timestamptz),
	@extschema@.instance_state(bigint),
	@extschema@.set_auto_renew(bigint, boolean),
	@extschema@.ack_lifecycle_event(bigint),
	@extschema@.tick(timestamptz)
FROM PUBLIC;
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
	@extschema@.verify(),
	@extschema@.list_machine(bigint, integer, @extschema@.amount, timestamptz, boolean, @extschema@.amount, @extschema@.amount, text, timestamptz, integer),
	@extschema@.create_instance(bigint, bigint, integer, text, boolean, timestamptz, text),
	@extschema@.stop_instance(bigint, timestamptz),
	@extschema@.start_instance(bigint, timestamptz),
	@extschema@.release_instance(bigint, timestamptz),
	@extschema@.instance_state(bigint),
	@extschema@.set_auto_renew(bigint, boolean),
	@extschema@.ack_lifecycle_event(bigint),
	@extschema@.tick(timestamptz)
TO gpubill_app;
GRANT EXECUTE ON FUNCTION @extschema@.schedule_jobs(), @extschema@.unschedule_jobs() TO gpubill_admin;
GRANT EXECUTE ON FUNCTION
	@extschema@.set_setting(text, text),
	@extschema@.reverse_transfer(bigint, text, timestamptz, text)
TO gpubill_admin;

-- settings are readable by every gpubill role (billing_timezone(), rating_apply)
REVOKE EXECUTE ON FUNCTION @extschema@.setting(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.setting(text) TO gpubill_app, gpubill_reader, gpubill_admin;

-- readers: views only
GRANT SELECT ON @extschema@.transfers, @extschema@.accounts, @extschema@.lifecycle_events,
	@extschema@.due_lifecycle_events TO gpubill_reader;
