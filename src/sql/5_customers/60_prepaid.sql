/*
 * 60_prepaid.sql — terms paid up front: weekly and monthly instances
 * (R-PRE-1..5) and one_time packages (R-PAYG-7).
 *
 * A term is charged whole at its start as one order line (vouchers first
 * where the machine allows them, the cash part split per R-PRT-3).  A week
 * is 168 hours; months count from the first term's start in the billing
 * time zone (Jan 31 + 1 month = Feb 28, + 2 months = Mar 31).  At the end of
 * a term tick renews it (auto-renew and funds) or ends it: a weekly or
 * monthly instance becomes expired, a package stops (package_end).
 *
 * Map (scripts/file-map.pl):
 * Internals: buy_term, charge_line, end_terms, term_end_at.
 * Uses: 1_types, 2_base, 3_ledger.
 */

-- charge a customer once for a stretch of an instance (under the wallet lock):
-- the whole charge must be available now, else GB001 and nothing is written
CREATE FUNCTION @extschema@.charge_line(i @extschema@.instance, kind text, usage tstzrange, charge @extschema@.amount,
										 t timestamptz) RETURNS bigint
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	w @extschema@.wallet;
	line bigint := pg_catalog.nextval('@extschema@.id_seq');
	p record;
BEGIN
	SELECT * INTO w FROM @extschema@.wallet k WHERE k.customer_id = i.customer_id;
	IF w.hold_expiry <= t OR w.voucher_expiry <= t THEN	/* rarely: no call on the hot path */
		w := @extschema@.refresh_wallet(w, t);
	END IF;
	/* R-RCH-4, R-PRT-3: the ledger's capture; R-LED-2: the funds checked with the cash part it took (an error undoes it) */
	p := @extschema@.capture(w, charge, i.cash_only,
							 @extschema@.account_of('partner', i.partner_id, 'income', @extschema@.currency(charge)),
							 (@extschema@.partner_settings()).service_fee_rate, 'order_line', line, t);
	IF NOT @extschema@.funds_cover(w.cash, w.vouchers, w.held, w.cash_held, charge, p.cash_paid) THEN
		RAISE EXCEPTION 'insufficient funds: % is to be paid up front', charge
			USING ERRCODE = 'GB001',
				  DETAIL = pg_catalog.format('cash %s, vouchers %s (%s), held %s.', w.cash, w.vouchers,
						CASE WHEN i.cash_only THEN 'not usable on this machine' ELSE 'usable' END, w.held);
	END IF;
	INSERT INTO @extschema@.order_line (line_id, customer_id, instance_id, machine_id, partner_id, kind, usage, seconds,
										hourly_fee, charge, voucher_paid, cash_paid, partner_income, platform_fee, at)
	VALUES (line, i.customer_id, i.instance_id, i.machine_id, i.partner_id, kind, usage,
			EXTRACT(epoch FROM pg_catalog.upper(usage) - pg_catalog.lower(usage))::bigint,
			i.hourly_fee, charge, p.voucher_paid, p.cash_paid, p.partner_income, p.platform_fee, t);
	RETURN line;
END
$$;
COMMENT ON FUNCTION @extschema@.charge_line(@extschema@.instance, text, tstzrange, @extschema@.amount, timestamptz) IS 'Charge a customer up front for a stretch of an instance: an order line split per R-PRT-3, vouchers first unless cash-only; GB001 if not available';

-- the end of the n-th term counted from anchor (R-PRE-2)
CREATE FUNCTION @extschema@.term_end_at(billing text, anchor timestamptz, n integer, package_hours integer)
	RETURNS timestamptz
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	tz text := @extschema@.billing_timezone();
BEGIN
	RETURN CASE billing
		WHEN 'weekly' THEN anchor + n * 168 * interval '1 hour'
		WHEN 'monthly' THEN ((anchor AT TIME ZONE tz) + n * interval '1 month') AT TIME ZONE tz
		ELSE anchor + n * package_hours * interval '1 hour' END;
END
$$;
COMMENT ON FUNCTION @extschema@.term_end_at(text, timestamptz, integer, integer) IS 'End of the n-th prepaid term from anchor: n x 168 h, n calendar months in the billing time zone (end-of-month clamp), or n packages';

/*
 * Pay the next term of an instance (locked with its wallet by the caller):
 * its first term from t, or (renewal) the term after term_end.  A term may
 * not end after the machine's owner end time less delist_before_end_days
 * (GB004); the price is the machine's price x GPUs x the customer's
 * discount, rounded to cents.
 */
CREATE FUNCTION @extschema@.buy_term(instance bigint, t timestamptz, renewal boolean) RETURNS bigint
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	i @extschema@.instance;
	m @extschema@.machine;
	discount numeric;
	unit @extschema@.amount;
	price @extschema@.amount;
	kind text;
	n integer;
	anchor timestamptz;
	s timestamptz;
	e timestamptz;
	latest timestamptz;
BEGIN
	SELECT * INTO i FROM @extschema@.instance k WHERE k.instance_id = instance;
	SELECT * INTO m FROM @extschema@.machine k WHERE k.machine_id = i.machine_id;
	SELECT k.discount INTO discount FROM @extschema@.customer k WHERE k.customer_id = i.customer_id;
	IF i.billing = 'payg' THEN
		kind := 'package';
		price := @extschema@.round(i.hourly_fee * m.package_hours, 2);
	ELSE
		kind := i.billing;
		unit := CASE i.billing WHEN 'weekly' THEN m.week_price_per_gpu ELSE m.month_price_per_gpu END;
		IF unit IS NULL THEN
			RAISE EXCEPTION 'machine % has no % price', m.machine_id, i.billing USING ERRCODE = 'invalid_parameter_value',
				HINT = 'list_machine sets week_price_per_gpu and month_price_per_gpu.';
		END IF;
		price := @extschema@.round(unit * (i.gpus * discount), 2);
	END IF;
	n := CASE WHEN renewal THEN i.term_count + 1 ELSE 1 END;
	anchor := CASE WHEN renewal THEN i.term_anchor ELSE t END;
	s := CASE WHEN renewal THEN i.term_end ELSE t END;
	e := @extschema@.term_end_at(i.billing, anchor, n, m.package_hours);
	latest := @extschema@.delist_at(m.owner_end_time, @extschema@.partner_settings());
	IF e > latest THEN
		RAISE EXCEPTION 'a term ending % would end after machine %''s owner end time less % days (%)', e, m.machine_id,
			(@extschema@.partner_settings()).delist_before_end_days, latest USING ERRCODE = 'GB004';
	END IF;
	PERFORM @extschema@.charge_line(i, kind, pg_catalog.tstzrange(s, e), price, t);
	UPDATE @extschema@.instance k
	SET term_end = e, term_anchor = anchor, term_count = n, billed_until = e, hold_id = NULL, next_settle_at = NULL,
		last_event_at = GREATEST(k.last_event_at, t)
	WHERE k.instance_id = instance;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.buy_term(bigint, timestamptz, boolean) IS 'Charge the next prepaid term of an instance (R-PRE-1, R-PRE-2, R-PRE-5; packages R-PAYG-7)';

/*
 * R-PRE-5: the terms that end by b, each at its own end, in time order:
 * renewed when auto-renew is on and the funds allow, else ended (weekly and
 * monthly: expired; packages: stopped).  Row by row: a renewal is at most
 * one per instance and week, and may fail alone (a subtransaction).
 */
CREATE FUNCTION @extschema@.end_terms(b timestamptz, OUT renewed integer, OUT ended integer)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	r record;
	cfg @extschema@.payg_settings := @extschema@.payg_settings();
BEGIN
	renewed := 0; ended := 0;
	FOR r IN SELECT i.instance_id, i.customer_id, i.term_end, i.billing, i.auto_renew FROM @extschema@.instance i
			 WHERE i.state = 'running' AND i.term_end <= b AND i.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
			 ORDER BY i.term_end, i.instance_id LOOP
		PERFORM @extschema@.lock_wallet(r.customer_id);
		PERFORM FROM @extschema@.instance k WHERE k.instance_id = r.instance_id AND k.state = 'running' FOR UPDATE;
		CONTINUE WHEN NOT FOUND;
		/* the term ends, renewed or not: its expiring alert is closed */
		UPDATE @extschema@.alert a SET closed_at = r.term_end
		WHERE a.kind = 'instance_expiring' AND a.subject_type = 'instance' AND a.subject_id = r.instance_id
		  AND a.closed_at IS NULL;
		IF r.billing <> 'payg' AND r.auto_renew THEN
			BEGIN
				PERFORM @extschema@.buy_term(r.instance_id, r.term_end, true);
				renewed := renewed + 1;
				CONTINUE;
			EXCEPTION WHEN SQLSTATE 'GB001' OR SQLSTATE 'GB004' THEN
				NULL;	/* no funds, or the machine's owner end time is near: the term ends */
			END;
		END IF;
		UPDATE @extschema@.instance k
		SET state = CASE WHEN r.billing = 'payg' THEN 'stopped' ELSE 'expired' END,
			stop_reason = CASE WHEN r.billing = 'payg' THEN 'package_end' ELSE 'expired' END,
			stopped_at = r.term_end, last_event_at = GREATEST(k.last_event_at, r.term_end)
		WHERE k.instance_id = r.instance_id;
		INSERT INTO @extschema@.lifecycle_event (kind, customer_id, subject_type, subject_id, due_at, created_at)
		VALUES ('local_data_erase_due', r.customer_id, 'instance', r.instance_id, @extschema@.local_data_erase_at(r.term_end, cfg), r.term_end)
		ON CONFLICT DO NOTHING;
		ended := ended + 1;
	END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.end_terms(timestamptz) IS 'Renew or end the prepaid terms that end by b, each at its own end (R-PRE-5)';
