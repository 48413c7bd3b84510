/*
 * 30_journal.sql — the one door for money (R-LED-1, R-LED-3).
 *
 * Every journal transfer is written here and nowhere else, and so is every
 * change of a customer's cached cash and vouchers: the wallet deltas are
 * summed from leg_delta over the legs posted (the accounts each leg
 * touches), so "cached wallet = journal" holds by construction, not by each
 * caller writing both halves.
 *   post_transfers(legs)     the row form: a few legs of one call;
 *   post_staged_transfers()  the set form: legs staged in pg_temp.gpubill_leg
 *                            (local buffers, no memory per row), posted in
 *                            one statement (storage settlement);
 *   capture_staged()         the set form of the voucher-first capture
 *                            (PAYG settlement): its legs posted and its
 *                            wallets moved in the statement that computes
 *                            them, as a settlement of 100 000 instances
 *                            needs (bench/README.md).
 * A leg of zero moves nothing and is skipped.  The caller holds the wallet
 * locks of the customers whose legs it posts (R-LED-6).
 *
 * The voucher-first capture with the income/fee split (R-RCH-4, R-PRT-3)
 * is here once, in a row form (capture: holds, prepaid charges) and the
 * set form; so is the set form of holds (hold_staged: the next hour of
 * PAYG instances) and the one funds check they use (funds_cover).
 *
 * Map (scripts/file-map.pl):
 * Internals: capture, capture_staged, hold_staged, leg, leg_delta,
 *   move_wallets, open_wallet, post_staged_transfers, post_transfers,
 *   prepare_session_tables.
 * Types: leg, wallet_move.
 * Uses: 1_types, 2_base.
 */

CREATE TYPE @extschema@.leg AS (
	transfer_id	bigint,				/* NULL: drawn from id_seq */
	customer_id	bigint,
	partner_id	bigint,
	at			timestamptz,
	kind		text,
	debit_account bigint,
	credit_account bigint,
	amount		@extschema@.amount,
	object_type	text,
	object_id	bigint,
	request_id	text,
	reverses	bigint,
	note		text
);
COMMENT ON TYPE @extschema@.leg IS 'One money movement to post: a transfer row before it is written';

-- a leg of a customer's (customer set) or a partner's (partner set) movement
CREATE FUNCTION @extschema@.leg(customer bigint, partner bigint, at timestamptz, kind text, debit bigint, credit bigint,
								amt @extschema@.amount, object_type text, object_id bigint,
								request_id text DEFAULT NULL, note text DEFAULT NULL)
	RETURNS @extschema@.leg
	LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$ SELECT ROW(NULL, customer, partner, at, kind, debit, credit, amt, object_type, object_id, request_id, NULL, note)::@extschema@.leg $$;
COMMENT ON FUNCTION @extschema@.leg(bigint, bigint, timestamptz, text, bigint, bigint, @extschema@.amount, text, bigint, text, text) IS 'A leg to post: amount from a debit to a credit account, keyed by its customer or partner';

-- a new customer's wallet: every cached balance zero
CREATE FUNCTION @extschema@.open_wallet(customer bigint, cash_account bigint, voucher_account bigint, cur text, t timestamptz)
	RETURNS void
	LANGUAGE sql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
	INSERT INTO @extschema@.wallet (customer_id, cash_account, voucher_account, fee_account, voucher_expense_account,
									cash, vouchers, held, cash_held, recharged, invoiced, hold_expiry, updated_at)
	SELECT customer, cash_account, voucher_account, @extschema@.account_of('platform', 0, 'fee', cur),
		   @extschema@.account_of('platform', 0, 'voucher_expense', cur), z, z, z, z, z, z, NULL, t
	FROM @extschema@.zero(cur) z
$$;
COMMENT ON FUNCTION @extschema@.open_wallet(bigint, bigint, bigint, text, timestamptz) IS 'Open a customer''s wallet: its accounts, every cached balance zero';

-- R-LED-3: what a leg does to an account's balance: a credit raises it, a debit lowers it
CREATE FUNCTION @extschema@.leg_delta(account bigint, debit_account bigint, credit_account bigint, amt @extschema@.amount)
	RETURNS @extschema@.amount
	LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
	SELECT CASE WHEN credit_account = account THEN amt WHEN debit_account = account THEN -amt
				ELSE @extschema@.zero(@extschema@.currency(amt)) END
$$;
COMMENT ON FUNCTION @extschema@.leg_delta(bigint, bigint, bigint, @extschema@.amount) IS 'R-LED-3: what a leg does to an account''s balance (credit +, debit -, else 0): every change of a cached balance is the sum of these over the legs posted';

CREATE TYPE @extschema@.wallet_move AS (
	customer_id	bigint,
	debit_account bigint,
	credit_account bigint,
	amount		@extschema@.amount,
	last_at		timestamptz
);
COMMENT ON TYPE @extschema@.wallet_move IS 'What posted legs moved between two accounts for a customer: the input of move_wallets';

/*
 * Both forms of the door end here: the cached cash and vouchers of the
 * customers whose cash or voucher accounts the posted legs touch (debits
 * lower, credits raise), and their wallets' updated_at.  The legs come
 * summed by customer and pair of accounts (a settlement's 200 000 legs are
 * a few per customer).
 */
CREATE FUNCTION @extschema@.move_wallets(moves @extschema@.wallet_move[]) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	UPDATE @extschema@.wallet w
	SET cash = w.cash + d.cash, vouchers = w.vouchers + d.vouchers, updated_at = GREATEST(w.updated_at, d.last_at)
	FROM (SELECT m.customer_id,
				 @extschema@.sum(@extschema@.leg_delta(k.cash_account, m.debit_account, m.credit_account, m.amount)) AS cash,
				 @extschema@.sum(@extschema@.leg_delta(k.voucher_account, m.debit_account, m.credit_account, m.amount)) AS vouchers,
				 pg_catalog.max(m.last_at) AS last_at
		  FROM pg_catalog.unnest(moves) m
		  JOIN @extschema@.wallet k ON k.customer_id = m.customer_id
		  WHERE m.debit_account IN (k.cash_account, k.voucher_account) OR m.credit_account IN (k.cash_account, k.voucher_account)
		  GROUP BY m.customer_id) d
	WHERE w.customer_id = d.customer_id;
END
$$;
COMMENT ON FUNCTION @extschema@.move_wallets(@extschema@.wallet_move[]) IS 'The door''s last step: move the cached cash and vouchers by what the posted legs moved (R-LED-3)';

/*
 * The row form: the transfers, then move_wallets.
 */
CREATE FUNCTION @extschema@.post_transfers(legs @extschema@.leg[]) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	n integer;
	moves @extschema@.wallet_move[];
BEGIN
	PERFORM @extschema@.check_open((SELECT pg_catalog.min(l.at) FROM pg_catalog.unnest(legs) l));	/* no closed month */
	WITH moved AS (
		INSERT INTO @extschema@.transfer (transfer_id, customer_id, partner_id, at, kind, debit_account, credit_account,
										  amount, object_type, object_id, request_id, reverses, note)
		SELECT coalesce(l.transfer_id, pg_catalog.nextval('@extschema@.id_seq')), l.customer_id, l.partner_id, l.at, l.kind,
			   l.debit_account, l.credit_account, l.amount, l.object_type, l.object_id, l.request_id, l.reverses, l.note
		FROM pg_catalog.unnest(legs) l
		WHERE @extschema@.micros(l.amount) <> 0
		RETURNING customer_id, at, debit_account, credit_account, amount
	)
	SELECT pg_catalog.sum(g.legs)::integer,
		   pg_catalog.array_agg(ROW(g.customer_id, g.debit_account, g.credit_account, g.amount, g.last_at)::@extschema@.wallet_move)
			   FILTER (WHERE g.customer_id IS NOT NULL)
	INTO n, moves
	FROM (SELECT m.customer_id, m.debit_account, m.credit_account, @extschema@.sum(m.amount) AS amount,
				 pg_catalog.max(m.at) AS last_at, pg_catalog.count(*) AS legs
		  FROM moved m GROUP BY m.customer_id, m.debit_account, m.credit_account) g;
	IF moves IS NOT NULL THEN
		PERFORM @extschema@.move_wallets(moves);
	END IF;
	RETURN coalesce(n, 0);
END
$$;
COMMENT ON FUNCTION @extschema@.post_transfers(@extschema@.leg[]) IS 'The door for money, row form: write the legs as transfers and move the cached cash and vouchers of the customers whose accounts they touch (R-LED-1, R-LED-3)';

/*
 * The ledger's temporary tables (session_tables): gpubill_locked, the
 * customers whose wallets tick locked up front; gpubill_pass, those of them
 * in the current pass; gpubill_settling, those a settlement at one instant
 * settles; gpubill_leg, legs staged for post_staged_transfers;
 * gpubill_capture, charges staged for capture_staged, each with the next
 * hold to place after it, if any (hold_staged).  A layer above adds its own
 * (more), checked in the same catalog query.
 */
CREATE FUNCTION @extschema@.prepare_session_tables(more text[] DEFAULT '{}') RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	PERFORM @extschema@.session_tables(more || ARRAY[
		['gpubill_settling', 'customer_id bigint PRIMARY KEY'],
		['gpubill_pass', 'customer_id bigint PRIMARY KEY'],
		['gpubill_locked', 'customer_id bigint PRIMARY KEY'],
		['gpubill_leg', 'LIKE @extschema@.transfer INCLUDING DEFAULTS'],
		['gpubill_capture', 'customer_id bigint NOT NULL, seq bigint NOT NULL, at timestamptz NOT NULL, '
							'charge @extschema@.amount NOT NULL, cash_only boolean NOT NULL, '
							'hold_id bigint, hold_amount @extschema@.amount, hold_cash_only boolean, '
							'income_account bigint, fee_rate numeric NOT NULL, object_type text, object_id bigint, '
							'next_hold @extschema@.amount, next_hold_id bigint, next_object_type text, next_object_id bigint']]);
END
$$;
COMMENT ON FUNCTION @extschema@.prepare_session_tables(text[]) IS 'Create (or check) the ledger''s temporary tables (customers tick locked, its current pass, a settlement''s customers, and the legs, charges and holds staged for the ledger''s set forms) and those of the caller''s layer given as {name, column list}, in one check';


/*
 * The set form: the legs staged in pg_temp.gpubill_leg, in one statement
 * as in the row form; the stage is emptied.  Returns the transfers written.
 */
CREATE FUNCTION @extschema@.post_staged_transfers() RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	n integer;
	moves @extschema@.wallet_move[];
BEGIN
	PERFORM @extschema@.check_open((SELECT pg_catalog.min(l.at) FROM pg_temp.gpubill_leg l));	/* no closed month */
	WITH moved AS (
		INSERT INTO @extschema@.transfer (transfer_id, customer_id, partner_id, at, kind, debit_account, credit_account,
										  amount, object_type, object_id, request_id, reverses, note)
		SELECT coalesce(l.transfer_id, pg_catalog.nextval('@extschema@.id_seq')), l.customer_id, l.partner_id, l.at, l.kind,
			   l.debit_account, l.credit_account, l.amount, l.object_type, l.object_id, l.request_id, l.reverses, l.note
		FROM pg_temp.gpubill_leg l
		WHERE @extschema@.micros(l.amount) <> 0
		RETURNING customer_id, at, debit_account, credit_account, amount
	)
	SELECT pg_catalog.sum(g.legs)::integer,
		   pg_catalog.array_agg(ROW(g.customer_id, g.debit_account, g.credit_account, g.amount, g.last_at)::@extschema@.wallet_move)
			   FILTER (WHERE g.customer_id IS NOT NULL)
	INTO n, moves
	FROM (SELECT m.customer_id, m.debit_account, m.credit_account, @extschema@.sum(m.amount) AS amount,
				 pg_catalog.max(m.at) AS last_at, pg_catalog.count(*) AS legs
		  FROM moved m GROUP BY m.customer_id, m.debit_account, m.credit_account) g;
	IF moves IS NOT NULL THEN
		PERFORM @extschema@.move_wallets(moves);
	END IF;
	PERFORM @extschema@.empty_stage('pg_temp.gpubill_leg', n);
	RETURN coalesce(n, 0);
END
$$;
COMMENT ON FUNCTION @extschema@.post_staged_transfers() IS 'The door for money, set form: post the legs staged in pg_temp.gpubill_leg and move the cached balances they touch (R-LED-1, R-LED-3)';

/*
 * R-RCH-4, R-PRT-3: the voucher-first capture, row form.  A charge of a
 * customer (whose wallet the caller locked and passes, refreshed) is paid
 * with vouchers first — unless cash_only — then cash; the cash part goes to
 * the partner's income account less the service fee (fee_rate), or, with
 * no income account, all to the platform's fee.  Spends the voucher lots.
 */
CREATE FUNCTION @extschema@.capture(w @extschema@.wallet, charge @extschema@.amount, cash_only boolean, income_account bigint,
									fee_rate numeric, object_type text, object_id bigint, t timestamptz,
									request_id text DEFAULT NULL,
									OUT voucher_paid @extschema@.amount, OUT cash_paid @extschema@.amount,
									OUT partner_income @extschema@.amount, OUT platform_fee @extschema@.amount)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	z @extschema@.amount := @extschema@.zero(@extschema@.currency(charge));
BEGIN
	voucher_paid := CASE WHEN cash_only THEN z ELSE LEAST(charge, GREATEST(w.vouchers, z)) END;
	cash_paid := charge - voucher_paid;
	partner_income := CASE WHEN income_account IS NULL OR @extschema@.micros(cash_paid) = 0 THEN z
						   ELSE @extschema@.partner_income(cash_paid, fee_rate) END;
	platform_fee := cash_paid - partner_income;
	PERFORM @extschema@.post_transfers(ARRAY[
		@extschema@.leg(w.customer_id, NULL, t, 'voucher_spend', w.voucher_account, w.voucher_expense_account, voucher_paid,
						object_type, object_id, request_id),
		@extschema@.leg(w.customer_id, NULL, t, 'income', w.cash_account, income_account, partner_income,
						object_type, object_id, request_id),
		@extschema@.leg(w.customer_id, NULL, t, 'fee', w.cash_account, w.fee_account, platform_fee,
						object_type, object_id, request_id)]);
	PERFORM @extschema@.spend_vouchers(w.customer_id, voucher_paid);
END
$$;
COMMENT ON FUNCTION @extschema@.capture(@extschema@.wallet, @extschema@.amount, boolean, bigint, numeric, text, bigint, timestamptz, text) IS 'Pay a charge vouchers first (unless cash-only), the cash part split into partner income and platform fee (R-RCH-4, R-PRT-3): the capture of holds and prepaid charges';

/*
 * R-RCH-4, R-PRT-3, R-LED-2: the voucher-first capture, set form, over the
 * charges staged in pg_temp.gpubill_capture (one row per (customer_id,
 * seq); the caller holds their wallets' locks).  Vouchers pay first in seq
 * order within a customer (a cash-only row takes none); the cash part is
 * split as in capture; a row's hold, if any, ends — captured up to its
 * amount, or released when the charge is zero (the stage carries the hold's
 * amount and cash-only flag as read with the due set: a stage has no
 * statistics, and a join with the whole history of holds planned for the
 * hundreds of rows it is assumed to hold would cost a call that stops one
 * instance a scan of every hold).  Returns the split of each row; the
 * staged rows stay (the caller's due set) until it empties them.
 */
CREATE FUNCTION @extschema@.capture_staged()
	RETURNS TABLE (customer_id bigint, seq bigint, object_id bigint, charge @extschema@.amount,
				   voucher_paid @extschema@.amount, cash_paid @extschema@.amount, partner_income @extschema@.amount)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	PERFORM @extschema@.check_open((SELECT pg_catalog.min(s.at) FROM pg_temp.gpubill_capture s));	/* no closed month */
	RETURN QUERY
	WITH staged AS (
		SELECT s.customer_id, s.seq, s.at, s.charge, s.cash_only, s.hold_id, s.income_account, s.fee_rate,
			   s.object_type, s.object_id, @extschema@.zero(@extschema@.currency(s.charge)) AS z,
			   w.vouchers, w.cash_account, w.voucher_account, w.fee_account, w.voucher_expense_account,
			   s.hold_amount, s.hold_cash_only	/* the hold keeps what it reserved */
		FROM pg_temp.gpubill_capture s
		JOIN @extschema@.wallet w ON w.customer_id = s.customer_id
	), split AS (	/* vouchers first, in seq order within a customer (the window only where there are vouchers) */
		SELECT c.*, c.z AS v FROM staged c WHERE @extschema@.micros(c.vouchers) <= 0
		UNION ALL
		SELECT c.*,
			   CASE WHEN c.cash_only THEN c.z
					ELSE LEAST(c.charge, GREATEST(c.vouchers - coalesce(@extschema@.sum(c.charge) FILTER (WHERE NOT c.cash_only)
									OVER (PARTITION BY c.customer_id ORDER BY c.seq
										  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), c.z), c.z)) END
		FROM staged c WHERE @extschema@.micros(c.vouchers) > 0
	), paid AS (
		SELECT s.*, s.charge - s.v AS cash,
			   CASE WHEN s.income_account IS NULL OR @extschema@.micros(s.charge - s.v) = 0 THEN s.z
					ELSE @extschema@.partner_income(s.charge - s.v, s.fee_rate) END AS income
		FROM split s
	), moved AS (	/* the door, set form: the legs, and below the wallets they move */
		INSERT INTO @extschema@.transfer AS tr (customer_id, at, kind, debit_account, credit_account, amount, object_type, object_id)
		SELECT p.customer_id, p.at, x.kind, x.debit, x.credit, x.amount, p.object_type, p.object_id
		FROM paid p
		CROSS JOIN LATERAL (VALUES (1, 'voucher_spend', p.voucher_account, p.voucher_expense_account, p.v),
								   (2, 'income', p.cash_account, p.income_account, p.income),
								   (3, 'fee', p.cash_account, p.fee_account, p.cash - p.income)) x(leg, kind, debit, credit, amount)
		WHERE @extschema@.micros(x.amount) > 0
		ORDER BY p.customer_id, p.seq, x.leg	/* ids in this order, whatever the rows' order on disk: a replay, on a restored database too, gives the same */
		RETURNING tr.customer_id, tr.debit_account, tr.credit_account, tr.amount
	), ends AS (
		INSERT INTO @extschema@.hold_end (hold_id, customer_id, kind, captured, at)
		SELECT p.hold_id, p.customer_id, CASE WHEN @extschema@.micros(p.charge) > 0 THEN 'capture' ELSE 'release' END,
			   LEAST(p.charge, p.hold_amount), p.at		/* a charge beyond the hold is captured from the funds as well */
		FROM paid p WHERE p.hold_id IS NOT NULL
		RETURNING 1
	), vsum AS (
		SELECT p.customer_id, @extschema@.sum(p.v) AS v FROM paid p GROUP BY p.customer_id
	), lots AS (
		SELECT l.voucher_id, l.amount, s.v,
			   @extschema@.sum(l.amount) OVER (PARTITION BY l.customer_id ORDER BY l.expires_at NULLS LAST, l.voucher_id) AS cum
		FROM @extschema@.voucher_left l JOIN vsum s USING (customer_id)
		WHERE @extschema@.micros(s.v) > 0
	), vspent AS (	/* R-RCH-4: vouchers are spent earliest expiry first */
		DELETE FROM @extschema@.voucher_left l USING lots x WHERE l.voucher_id = x.voucher_id AND x.cum <= x.v
		RETURNING 1
	), vleft AS (
		UPDATE @extschema@.voucher_left l SET amount = x.cum - x.v
		FROM lots x WHERE l.voucher_id = x.voucher_id AND x.cum - x.amount < x.v AND x.cum > x.v
		RETURNING 1
	), moves AS (	/* what the legs moved in each wallet's cash and vouchers (leg_delta) */
		SELECT m.customer_id,
			   @extschema@.sum(@extschema@.leg_delta(k.cash_account, m.debit_account, m.credit_account, m.amount)) AS cash,
			   @extschema@.sum(@extschema@.leg_delta(k.voucher_account, m.debit_account, m.credit_account, m.amount)) AS vouchers
		FROM moved m JOIN @extschema@.wallet k ON k.customer_id = m.customer_id
		GROUP BY m.customer_id
	), wallets AS (	/* one update per wallet: the moves and the holds ended */
		UPDATE @extschema@.wallet w
		SET cash = w.cash + coalesce(d.cash, t.z), vouchers = w.vouchers + coalesce(d.vouchers, t.z),
			held = w.held - t.held, cash_held = w.cash_held - t.cash_held, updated_at = GREATEST(w.updated_at, t.last_at)
		FROM (SELECT p.customer_id, @extschema@.min(p.z) AS z, @extschema@.sum(coalesce(p.hold_amount, p.z)) AS held,
					 @extschema@.sum(CASE WHEN p.hold_cash_only THEN p.hold_amount ELSE p.z END) AS cash_held,
					 pg_catalog.max(p.at) AS last_at
			  FROM paid p GROUP BY p.customer_id) t
		LEFT JOIN moves d ON d.customer_id = t.customer_id
		WHERE w.customer_id = t.customer_id
		RETURNING 1
	)
	SELECT p.customer_id, p.seq, p.object_id, p.charge, p.v, p.cash, p.income FROM paid p;
END
$$;
COMMENT ON FUNCTION @extschema@.capture_staged() IS 'The voucher-first capture, set form: pay the charges staged in pg_temp.gpubill_capture vouchers first in seq order per customer, split the cash part, end their holds; returns the split of each (R-RCH-4, R-PRT-3, R-LED-2)';

/*
 * R-LED-2: holds, set form: the next holds of the charges staged in
 * pg_temp.gpubill_capture (next_hold, cash-only as the charge, the id it is
 * to have, its object; wallets locked by the caller), placed after
 * capture_staged.  A customer's holds are granted in seq order while each
 * fits its funds together with those before it (funds_cover); the first
 * that does not fit refuses it and every later one of the customer.  A
 * refused hold's next_hold_id is cleared: what keeps its id was placed.
 * Returns the holds placed.
 */
CREATE FUNCTION @extschema@.hold_staged() RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	n integer;
BEGIN
	WITH asked AS (
		SELECT a.customer_id, a.seq, a.at, a.next_hold AS amount, a.cash_only, a.next_object_type AS object_type,
			   a.next_object_id AS object_id, a.next_hold_id AS hold_id,
			   @extschema@.zero(@extschema@.currency(a.next_hold)) AS z, w.cash, w.vouchers, w.held, w.cash_held,
			   CASE WHEN a.cash_only THEN a.next_hold ELSE @extschema@.zero(@extschema@.currency(a.next_hold)) END AS cash_part
		FROM pg_temp.gpubill_capture a JOIN @extschema@.wallet w ON w.customer_id = a.customer_id
		WHERE a.next_hold IS NOT NULL
	), fits AS (
		SELECT s.*,
			   /* R-LED-2: each hold with the holds before it */
			   @extschema@.funds_cover(s.cash, s.vouchers, s.held + (@extschema@.sum(s.amount) OVER w - s.amount),
									   s.cash_held + (@extschema@.sum(s.cash_part) OVER w - s.cash_part), s.amount, s.cash_part) AS ok
		FROM asked s
		WINDOW w AS (PARTITION BY s.customer_id ORDER BY s.seq)
	), judged AS (
		SELECT f.*, pg_catalog.bool_and(f.ok) OVER (PARTITION BY f.customer_id ORDER BY f.seq) AS keep
		FROM fits f
	), verdict AS (
		SELECT j.* FROM judged j WHERE j.keep
	), refused AS (
		UPDATE pg_temp.gpubill_capture a SET next_hold_id = NULL
		FROM judged j
		WHERE NOT j.keep AND a.customer_id = j.customer_id AND a.seq = j.seq
		RETURNING 1
	), new_holds AS (
		INSERT INTO @extschema@.hold (hold_id, customer_id, amount, cash_only, at, object_type, object_id)
		SELECT v.hold_id, v.customer_id, v.amount, v.cash_only, v.at, v.object_type, v.object_id
		FROM verdict v
		RETURNING 1
	), held AS (
		UPDATE @extschema@.wallet w
		SET held = w.held + t.held, cash_held = w.cash_held + t.cash_held, updated_at = GREATEST(w.updated_at, t.last_at)
		FROM (SELECT v.customer_id, @extschema@.sum(v.amount) AS held,
					 @extschema@.sum(CASE WHEN v.cash_only THEN v.amount ELSE v.z END) AS cash_held,
					 pg_catalog.max(v.at) AS last_at
			  FROM verdict v GROUP BY v.customer_id) t
		WHERE w.customer_id = t.customer_id
		RETURNING 1
	)
	SELECT pg_catalog.count(*) INTO n FROM new_holds;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.hold_staged() IS 'Holds, set form: place the next holds of the staged charges in seq order per customer while they fit its funds; the first that does not fit refuses the rest of the customer''s (R-LED-2)';
