/*
 * 10_schedule.sql — the payment schedule of a compute exchange
 * contract (R-EXC-2, R-EXC-3), as a pure function of its price and term.
 *
 * P(d) = the price of the first d of the term, rounded to cents (prorate).
 * A term of at most initial_days x 24 h is one payment of P(term), due at
 * the start (full).  A longer one: the initial payment P(initial_days) +
 * the deposit, due at the start, where the deposit = deposit_rate x the
 * price of the rest rounded to cents (initial_payment() computes the same
 * sum); the rest is cut at calendar-month boundaries of the billing time
 * zone into pieces; a piece's price is P(its end) - P(its start), so that
 * the pieces add up to P(term) - P(initial_days) to the cent; of each piece
 * deposit_rate (rounded to cents) is applied from the deposit — the last
 * piece takes the rounding residue, so the deposit is used exactly — and the
 * customer pays the rest, due at 00:00 on the 1st of the piece's month
 * (monthly; the last one final).  Customers therefore pay P(term) in all.
 * No row asks less than a cent: such a stretch (a term of 31 days and a
 * second, a piece of one second before a month boundary) joins the row
 * before it.
 *
 * Map (scripts/file-map.pl):
 * Internals: schedule_of.
 * Uses: 1_types.
 */

CREATE FUNCTION @extschema@.schedule_of(price_per_hour @extschema@.amount, term tstzrange, tz text,
										  initial_days integer DEFAULT 31, deposit_rate numeric DEFAULT 0.10)
	RETURNS TABLE (seq integer, due_at timestamptz, covers tstzrange, customer_pays @extschema@.amount,
				   from_deposit @extschema@.amount, kind text)
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	s timestamptz := pg_catalog.lower(term);
	e timestamptz := pg_catalog.upper(term);
	z @extschema@.amount := @extschema@.zero(@extschema@.currency(price_per_hour));
	f timestamptz;
	first @extschema@.amount;
	deposit @extschema@.amount;
	applied @extschema@.amount;
	used @extschema@.amount;
	piece @extschema@.amount;
	b timestamptz;
	nb timestamptz;
	r_seq integer;				/* the row held back */
	r_due timestamptz;
	r_lo timestamptz;
	r_hi timestamptz;
	r_pays @extschema@.amount;
	r_dep @extschema@.amount;
	r_kind text;
BEGIN
	IF term IS NULL OR pg_catalog.isempty(term) OR NOT pg_catalog.isfinite(s) OR NOT pg_catalog.isfinite(e)
	   OR NOT pg_catalog.lower_inc(term) OR pg_catalog.upper_inc(term) THEN
		RAISE EXCEPTION 'a contract term must be a non-empty [start, end) range with finite bounds: %', term
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF EXTRACT(microseconds FROM s)::bigint % 1000000 <> 0 OR EXTRACT(microseconds FROM e)::bigint % 1000000 <> 0 THEN
		RAISE EXCEPTION 'a contract term starts and ends on whole seconds: %', term USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF @extschema@.micros(price_per_hour) <= 0 OR initial_days IS NULL OR initial_days <= 0
	   OR deposit_rate IS NULL OR deposit_rate < 0 OR deposit_rate > 1 THEN
		RAISE EXCEPTION 'the price must be positive, initial days positive and the deposit rate in [0, 1]'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	f := s + initial_days * 24 * interval '1 hour';
	IF e <= f THEN
		/* R-EXC-2: the full value, before delivery */
		RETURN QUERY SELECT 1, s, term, @extschema@.prorate(price_per_hour, EXTRACT(epoch FROM e - s)::bigint), z, 'full'::text;
		RETURN;
	END IF;
	/* R-EXC-3: the first initial_days and the deposit up front */
	first := @extschema@.prorate(price_per_hour, initial_days * 86400::bigint);
	deposit := @extschema@.initial_payment(price_per_hour, term, initial_days, deposit_rate) - first;
	/* each row is held back until the next one is known: a piece the customer would pay less than a cent for joins it */
	r_seq := 1; r_due := s; r_lo := s; r_hi := f; r_pays := first + deposit; r_dep := z; r_kind := 'initial';
	used := z;
	b := f;
	WHILE b < e LOOP
		nb := LEAST(e, (pg_catalog.date_trunc('month', b AT TIME ZONE tz) + interval '1 month') AT TIME ZONE tz);
		piece := @extschema@.prorate(price_per_hour, EXTRACT(epoch FROM nb - s)::bigint)
				 - @extschema@.prorate(price_per_hour, EXTRACT(epoch FROM b - s)::bigint);
		applied := CASE WHEN nb = e THEN deposit - used
						ELSE @extschema@.amount(pg_catalog.round(@extschema@.micros(piece)::numeric * deposit_rate / 1000000, 2),
												@extschema@.currency(piece)) END;
		used := used + applied;
		IF @extschema@.micros(piece - applied) < 10000 THEN
			/* less than a cent to pay: the stretch joins the row before (a final one makes it final) */
			r_hi := nb;
			r_pays := r_pays + (piece - applied);
			r_dep := r_dep + applied;
			IF nb = e AND r_kind = 'monthly' THEN
				r_kind := 'final';
			END IF;
		ELSE
			RETURN QUERY SELECT r_seq, r_due, pg_catalog.tstzrange(r_lo, r_hi), r_pays, r_dep, r_kind;
			r_seq := r_seq + 1; r_due := pg_catalog.date_trunc('month', b AT TIME ZONE tz) AT TIME ZONE tz;
			r_lo := b; r_hi := nb; r_pays := piece - applied; r_dep := applied;
			r_kind := CASE WHEN nb = e THEN 'final' ELSE 'monthly' END;
		END IF;
		b := nb;
	END LOOP;
	RETURN QUERY SELECT r_seq, r_due, pg_catalog.tstzrange(r_lo, r_hi), r_pays, r_dep, r_kind;
END
$$;
COMMENT ON FUNCTION @extschema@.schedule_of(@extschema@.amount, tstzrange, text, integer, numeric) IS 'The payment schedule of a contract''s price per hour and term: full, or initial + calendar-month pieces with the deposit applied (R-EXC-2, R-EXC-3)';
