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
 *   capture_staged(at, ...)  the set form of the voucher-first capture
 *                            and the next holds (PAYG settlement): its
 *                            legs, holds and wallets written in one
 *                            statement, each wallet moved once, as a
 *                            settlement of 100 000 instances needs
 *                            (bench/README.md).
 * A leg of zero moves nothing and is skipped.  The caller holds the wallet
 * locks of the customers whose legs it posts (R-LED-6).
 *
 * The voucher-first capture with the income/fee split (R-RCH-4, R-PRT-3)
 * is here once (voucher_share, capture_income), used by the row form
 * (capture: holds, prepaid charges) and the set form (capture_staged, which
 * also places the next holds of PAYG instances with the one funds check,
 * funds_cover).
 *
 * Map (scripts/file-map.pl):
 * Internals: capture, capture_income, capture_stage_columns, capture_staged,
 *   leg, leg_delta, move_wallets, open_wallet, post_staged_transfers,
 *   post_transfers, prepare_session_tables, voucher_share.
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
 * settles; gpubill_leg, legs staged for post_staged_transfers.  A layer
 * above adds its own (more), checked in the same catalog query — among them
 * the stage of capture_staged, pg_temp.gpubill_capture, with the columns of
 * capture_stage_columns() and the caller's own after them.
 */
CREATE FUNCTION @extschema@.prepare_session_tables(more text[] DEFAULT '{}') RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	PERFORM @extschema@.session_tables(more || ARRAY[
		['gpubill_settling', 'customer_id bigint PRIMARY KEY'],
		['gpubill_pass', 'customer_id bigint PRIMARY KEY'],
		['gpubill_locked', 'customer_id bigint PRIMARY KEY'],
		['gpubill_leg', 'LIKE @extschema@.transfer INCLUDING DEFAULTS']]);
END
$$;
COMMENT ON FUNCTION @extschema@.prepare_session_tables(text[]) IS 'Create (or check) the ledger''s temporary tables (customers tick locked, its current pass, a settlement''s customers, the legs staged for post_staged_transfers) and those of the caller''s layer given as {name, column list}, in one check';

/*
 * The columns of the stage of capture_staged (pg_temp.gpubill_capture), one
 * row per charge, filled by the caller (who adds its own columns after
 * these): customer_id and seq (the order vouchers and holds go in within a
 * customer; seq is also the id of the next hold's object); the charge; the
 * hold it is captured from (its amount and cash-only flag as read by the
 * caller: a stage has no statistics, so no join with the history of holds);
 * the partner's income account (NULL: all to the platform's fee) and the
 * service fee rate; the id of the charge's object; the ids of its income and
 * fee legs, drawn by the caller in its order (a leg that turns out zero
 * leaves its id unused); the next hold to place after it (amount and id;
 * NULL: none); cash-only or not.  What all rows share — the instant, the
 * kinds of the objects — is given to capture_staged.  capture_staged writes
 * voucher_part and voucher_leg_id where vouchers pay, and clears
 * next_hold_id where the next hold is refused.  The split, computed once per
 * row: the caller stages it as if no voucher paid — cash the charge, income
 * capture_income(charge, income_account, fee_rate) — and capture_staged
 * splits again the rows vouchers pay (a generated column would do the same
 * at twice the cost: 100 000 rows, 0.1 s).  Amounts first and booleans
 * last: no padding.
 */
CREATE FUNCTION @extschema@.capture_stage_columns() RETURNS text
	LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
	SELECT 'charge @extschema@.amount NOT NULL, hold_amount @extschema@.amount, next_hold @extschema@.amount, '
		   'voucher_part @extschema@.amount, cash @extschema@.amount NOT NULL, income @extschema@.amount NOT NULL, '
		   'customer_id bigint NOT NULL, seq bigint NOT NULL, hold_id bigint, income_account bigint, '
		   'fee_rate numeric NOT NULL, object_id bigint NOT NULL, income_leg_id bigint NOT NULL, fee_leg_id bigint NOT NULL, '
		   'next_hold_id bigint, voucher_leg_id bigint, cash_only boolean NOT NULL, hold_cash_only boolean'
$$;
COMMENT ON FUNCTION @extschema@.capture_stage_columns() IS 'The columns the ledger reads and writes in the stage of capture_staged (pg_temp.gpubill_capture); a caller''s stage adds its own after them';


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
 * R-RCH-4, R-PRT-3: the split of a charge, once for both forms of the
 * capture.  voucher_share: the part vouchers pay — none when cash-only, else
 * as much of the charge as the vouchers left before it cover;
 * capture_income: the partner's part of the cash part, less the service fee
 * (fee_rate) — none without an income account (all to the platform's fee).
 */
CREATE FUNCTION @extschema@.voucher_share(charge @extschema@.amount, cash_only boolean, vouchers_before @extschema@.amount)
	RETURNS @extschema@.amount
	LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
	SELECT CASE WHEN cash_only THEN @extschema@.zero(@extschema@.currency(charge))
				ELSE LEAST(charge, GREATEST(vouchers_before, @extschema@.zero(@extschema@.currency(charge)))) END
$$;
COMMENT ON FUNCTION @extschema@.voucher_share(@extschema@.amount, boolean, @extschema@.amount) IS 'R-RCH-4: the part of a charge vouchers pay: none when cash-only, else as much as the vouchers left before it cover';

CREATE FUNCTION @extschema@.capture_income(cash_paid @extschema@.amount, income_account bigint, fee_rate numeric)
	RETURNS @extschema@.amount
	LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
	SELECT CASE WHEN income_account IS NULL OR @extschema@.micros(cash_paid) = 0 THEN @extschema@.zero(@extschema@.currency(cash_paid))
				ELSE @extschema@.partner_income(cash_paid, fee_rate) END
$$;
COMMENT ON FUNCTION @extschema@.capture_income(@extschema@.amount, bigint, numeric) IS 'R-PRT-3: the partner''s part of the cash paid for a charge, less the service fee; none without an income account (all to the platform''s fee)';

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
BEGIN
	voucher_paid := @extschema@.voucher_share(charge, cash_only, w.vouchers);
	cash_paid := charge - voucher_paid;
	partner_income := @extschema@.capture_income(cash_paid, income_account, fee_rate);
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
 * R-RCH-4, R-PRT-3, R-LED-2: the voucher-first capture and the next holds,
 * set form, over the charges staged in pg_temp.gpubill_capture
 * (capture_stage_columns; the caller holds their wallets' locks), at one
 * instant, their objects and those of their next holds of one kind each.
 *
 * 1. The split and the holds' verdict.  Vouchers pay first in seq order
 *    within a customer (a cash-only row takes none), the cash part split as
 *    in capture; then each next hold is placed if the funds left once every
 *    charge is captured and every hold ended cover it with the holds before
 *    it (funds_cover, seq order) — the first that does not fit refuses it and
 *    every later one, since the holds before only grow.  Most customers have
 *    no vouchers and funds for every hold: they are found from their totals
 *    (the vouchers pay the voucherable total as far as they go) and need no
 *    row-by-row pass; only the others' rows are split and judged in order,
 *    writing voucher_part (and its leg's id, drawn in customer and seq
 *    order) and clearing next_hold_id where refused.
 * 2. The door, set form, in one statement: the legs (ids drawn by the
 *    caller), the holds ended (captured up to their amount, or released when
 *    the charge is zero) and the next holds placed, the voucher lots spent
 *    (earliest expiry first), and each wallet moved once: cash and vouchers
 *    by what the posted legs moved (leg_delta over the legs summed by pair
 *    of accounts, from the stage: not read back from the journal), held by
 *    the holds ended and placed.
 * Returns the holds placed; the staged rows stay (the caller's due set,
 * with the split and the verdict) until the caller empties them.
 */
CREATE FUNCTION @extschema@.capture_staged(at timestamptz, object_type text, next_object_type text)
	RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	n integer;
BEGIN
	PERFORM @extschema@.check_open(at);	/* no closed month */
	WITH totals AS (
		SELECT s.customer_id, @extschema@.sum(s.charge) AS charged,
			   @extschema@.sum(s.charge) FILTER (WHERE NOT s.cash_only) AS voucherable,
			   @extschema@.sum(s.hold_amount) AS ended, @extschema@.sum(s.hold_amount) FILTER (WHERE s.hold_cash_only) AS cash_ended,
			   @extschema@.sum(s.next_hold) AS asked, @extschema@.sum(s.next_hold) FILTER (WHERE s.cash_only) AS cash_asked
		FROM pg_temp.gpubill_capture s GROUP BY s.customer_id
	), after AS (	/* each wallet once every charge is captured and every hold ended */
		SELECT t.customer_id, t.asked, z.z, w.vouchers, w.cash - (t.charged - v.paid) AS cash, w.vouchers - v.paid AS vouchers_after,
			   w.held - coalesce(t.ended, z.z) AS held, w.cash_held - coalesce(t.cash_ended, z.z) AS cash_held,
			   coalesce(t.cash_asked, z.z) AS cash_asked
		FROM totals t
		JOIN @extschema@.wallet w ON w.customer_id = t.customer_id
		CROSS JOIN LATERAL (SELECT @extschema@.zero(@extschema@.currency(t.charged)) AS z) z
		CROSS JOIN LATERAL (SELECT @extschema@.voucher_share(coalesce(t.voucherable, z.z), false, w.vouchers) AS paid) v
	), one_by_one AS (	/* vouchers to split, or holds that do not all fit */
		SELECT a.* FROM after a
		WHERE @extschema@.micros(a.vouchers) > 0
		   OR (a.asked IS NOT NULL AND NOT @extschema@.funds_cover(a.cash, a.vouchers_after, a.held, a.cash_held, a.asked, a.cash_asked))
	), judged AS (
		SELECT q.customer_id, q.seq, q.v, q.fits,
			   CASE WHEN @extschema@.micros(q.v) > 0 THEN pg_catalog.nextval('@extschema@.id_seq') END AS voucher_leg_id
		FROM (SELECT s.customer_id, s.seq,
					 @extschema@.voucher_share(s.charge, s.cash_only,
											   a.vouchers - coalesce(@extschema@.sum(s.charge) FILTER (WHERE NOT s.cash_only) OVER before, a.z)) AS v,
					 /* R-LED-2: each hold with the holds before it */
					 s.next_hold IS NULL
					 OR @extschema@.funds_cover(a.cash, a.vouchers_after, a.held + coalesce(@extschema@.sum(s.next_hold) OVER before, a.z),
												a.cash_held + coalesce(@extschema@.sum(s.next_hold) FILTER (WHERE s.cash_only) OVER before, a.z),
												s.next_hold, CASE WHEN s.cash_only THEN s.next_hold ELSE a.z END) AS fits
			  FROM pg_temp.gpubill_capture s
			  JOIN one_by_one a ON a.customer_id = s.customer_id
			  WINDOW before AS (PARTITION BY s.customer_id ORDER BY s.seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)) q
		ORDER BY q.customer_id, q.seq	/* the voucher legs' ids in this order: the same on any replay */
	)
	UPDATE pg_temp.gpubill_capture s
	SET voucher_part = j.v, cash = s.charge - j.v, income = @extschema@.capture_income(s.charge - j.v, s.income_account, s.fee_rate),
		voucher_leg_id = j.voucher_leg_id, next_hold_id = CASE WHEN j.fits THEN s.next_hold_id END
	FROM judged j
	WHERE s.customer_id = j.customer_id AND s.seq = j.seq;

	WITH moved AS (	/* the door, set form: the legs (the same three as in pairs below), and the wallets they move */
		INSERT INTO @extschema@.transfer AS tr (transfer_id, customer_id, at, kind, debit_account, credit_account, amount,
												object_type, object_id)
		SELECT coalesce(x.id, pg_catalog.nextval('@extschema@.id_seq')), s.customer_id, capture_staged.at, x.kind, x.debit, x.credit,
			   x.amount, capture_staged.object_type, s.object_id
		FROM pg_temp.gpubill_capture s
		JOIN @extschema@.wallet w ON w.customer_id = s.customer_id
		CROSS JOIN LATERAL (VALUES (s.voucher_leg_id, 'voucher_spend', w.voucher_account, w.voucher_expense_account, s.voucher_part),
								   (s.income_leg_id, 'income', w.cash_account, s.income_account, s.income),
								   (s.fee_leg_id, 'fee', w.cash_account, w.fee_account, s.cash - s.income)) x(id, kind, debit, credit, amount)
		WHERE @extschema@.micros(x.amount) > 0
	), sums AS MATERIALIZED (	/* one pass over the stage: by wallet and partner's income account */
		SELECT s.customer_id, s.income_account,
			   /* the legs posted: each of the three over the rows where it is not zero */
			   @extschema@.sum(s.voucher_part) FILTER (WHERE @extschema@.micros(s.voucher_part) > 0) AS v,
			   @extschema@.sum(s.income) FILTER (WHERE @extschema@.micros(s.income) > 0) AS income,
			   @extschema@.sum(s.cash - s.income) FILTER (WHERE @extschema@.micros(s.cash - s.income) > 0) AS fee,
			   /* the holds ended and placed */
			   @extschema@.sum(s.hold_amount) AS ended, @extschema@.sum(s.hold_amount) FILTER (WHERE s.hold_cash_only) AS cash_ended,
			   @extschema@.sum(s.next_hold) FILTER (WHERE s.next_hold_id IS NOT NULL) AS placed,
			   @extschema@.sum(s.next_hold) FILTER (WHERE s.next_hold_id IS NOT NULL AND s.cash_only) AS cash_placed
		FROM pg_temp.gpubill_capture s GROUP BY s.customer_id, s.income_account
	), pairs AS (	/* the legs posted, summed by wallet and pair of accounts */
		SELECT g.customer_id, x.debit, x.credit, x.amount
		FROM sums g
		JOIN @extschema@.wallet w ON w.customer_id = g.customer_id
		CROSS JOIN LATERAL (VALUES (w.voucher_account, w.voucher_expense_account, g.v), (w.cash_account, g.income_account, g.income),
								   (w.cash_account, w.fee_account, g.fee)) x(debit, credit, amount)
		WHERE x.amount IS NOT NULL
	), moves AS (	/* what the legs moved in each wallet's cash and vouchers (leg_delta) */
		SELECT p.customer_id,
			   @extschema@.sum(@extschema@.leg_delta(k.cash_account, p.debit, p.credit, p.amount)) AS cash,
			   @extschema@.sum(@extschema@.leg_delta(k.voucher_account, p.debit, p.credit, p.amount)) AS vouchers
		FROM pairs p
		JOIN @extschema@.wallet k ON k.customer_id = p.customer_id
		GROUP BY p.customer_id
	), ends AS (
		INSERT INTO @extschema@.hold_end (hold_id, customer_id, kind, captured, at)
		SELECT s.hold_id, s.customer_id, CASE WHEN @extschema@.micros(s.charge) > 0 THEN 'capture' ELSE 'release' END,
			   LEAST(s.charge, s.hold_amount), capture_staged.at	/* a charge beyond the hold is captured from the funds as well */
		FROM pg_temp.gpubill_capture s WHERE s.hold_id IS NOT NULL
	), placed AS (
		INSERT INTO @extschema@.hold (hold_id, customer_id, amount, cash_only, at, object_type, object_id)
		SELECT s.next_hold_id, s.customer_id, s.next_hold, s.cash_only, capture_staged.at, capture_staged.next_object_type, s.seq
		FROM pg_temp.gpubill_capture s WHERE s.next_hold_id IS NOT NULL
		RETURNING 1
	), spent AS (
		SELECT s.customer_id, @extschema@.sum(s.voucher_part) AS v
		FROM pg_temp.gpubill_capture s WHERE @extschema@.micros(s.voucher_part) > 0 GROUP BY s.customer_id
	), lots AS (
		SELECT l.voucher_id, l.amount, s.v,
			   @extschema@.sum(l.amount) OVER (PARTITION BY l.customer_id ORDER BY l.expires_at NULLS LAST, l.voucher_id) AS cum
		FROM @extschema@.voucher_left l JOIN spent s USING (customer_id)
	), vspent AS (	/* R-RCH-4: vouchers are spent earliest expiry first */
		DELETE FROM @extschema@.voucher_left l USING lots x WHERE l.voucher_id = x.voucher_id AND x.cum <= x.v
		RETURNING 1
	), vleft AS (
		UPDATE @extschema@.voucher_left l SET amount = x.cum - x.v
		FROM lots x WHERE l.voucher_id = x.voucher_id AND x.cum - x.amount < x.v AND x.cum > x.v
		RETURNING 1
	), held AS (	/* the holds ended and placed, by wallet */
		SELECT g.customer_id, @extschema@.sum(g.ended) AS ended, @extschema@.sum(g.cash_ended) AS cash_ended,
			   @extschema@.sum(g.placed) AS placed, @extschema@.sum(g.cash_placed) AS cash_placed
		FROM sums g GROUP BY g.customer_id
	), wallets AS (	/* one update per wallet */
		UPDATE @extschema@.wallet w
		SET cash = w.cash + coalesce(d.cash, @extschema@.zero(@extschema@.currency(w.cash))),
			vouchers = w.vouchers + coalesce(d.vouchers, @extschema@.zero(@extschema@.currency(w.cash))),
			held = w.held + coalesce(h.placed, @extschema@.zero(@extschema@.currency(w.cash)))
				   - coalesce(h.ended, @extschema@.zero(@extschema@.currency(w.cash))),
			cash_held = w.cash_held + coalesce(h.cash_placed, @extschema@.zero(@extschema@.currency(w.cash)))
						- coalesce(h.cash_ended, @extschema@.zero(@extschema@.currency(w.cash))),
			updated_at = GREATEST(w.updated_at, capture_staged.at)
		FROM held h
		LEFT JOIN moves d ON d.customer_id = h.customer_id
		WHERE w.customer_id = h.customer_id
		RETURNING 1
	)
	SELECT pg_catalog.count(*) INTO n FROM placed;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.capture_staged(timestamptz, text, text) IS 'The voucher-first capture and the next holds, set form, at one instant: pay the charges staged in pg_temp.gpubill_capture vouchers first in seq order per customer, split the cash part, end their holds, place the next holds that fit the funds in seq order, move each wallet once; returns the holds placed (R-RCH-4, R-PRT-3, R-LED-2)';
