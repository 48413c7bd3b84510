/*
 * gpubill — billing for GPU compute marketplaces, inside PostgreSQL.
 *
 * This install script is built by the Makefile from src/sql/N_layer/NN_topic.sql,
 * concatenated in order.  Edit those files, not the built script.  A
 * released version's script is kept frozen in updates/ and never edited:
 * a change after it ships as updates/gpubill--A--B.sql.
 *
 * Map (scripts/file-map.pl):
 * Uses: nothing.
 */

\echo Use "CREATE EXTENSION gpubill" to load this file. \quit
/*
 * 10_amount.sql — the amount type: exact money with a currency (R-AMT-1..6).
 *
 * Map (scripts/file-map.pl):
 * API: abs, amount, amount_add, amount_avg_final, amount_cmp,
 *   amount_div_amount, amount_div_numeric, amount_eq, amount_from_micros,
 *   amount_from_numeric, amount_ge, amount_gt, amount_hash,
 *   amount_hash_extended, amount_in, amount_larger, amount_le, amount_lt,
 *   amount_mul_numeric, amount_ne, amount_neg, amount_out, amount_recv,
 *   amount_send, amount_smaller, amount_sub, amount_sum_accum,
 *   amount_sum_combine, amount_sum_deserialize, amount_sum_final,
 *   amount_sum_serialize, currency, micros, numeric_mul_amount, round,
 *   to_numeric, zero.
 * Types: amount.
 * Uses: nothing.
 */

CREATE TYPE @extschema@.amount;

CREATE FUNCTION @extschema@.amount_in(cstring) RETURNS @extschema@.amount
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.amount_out(@extschema@.amount) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.amount_recv(internal) RETURNS @extschema@.amount
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.amount_send(@extschema@.amount) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.amount (
	INPUT = @extschema@.amount_in,
	OUTPUT = @extschema@.amount_out,
	RECEIVE = @extschema@.amount_recv,
	SEND = @extschema@.amount_send,
	INTERNALLENGTH = 16,
	ALIGNMENT = double,
	STORAGE = plain
);
COMMENT ON TYPE @extschema@.amount IS 'Exact money: 6 decimals (64-bit micro-units) and an ISO-4217 currency, e.g. ''12.50 CNY''';

COMMENT ON FUNCTION @extschema@.amount_in(cstring) IS 'Text input of amount; a bare number takes gpubill.default_currency';
COMMENT ON FUNCTION @extschema@.amount_out(@extschema@.amount) IS 'Canonical text output of amount';
COMMENT ON FUNCTION @extschema@.amount_recv(internal) IS 'Binary input of amount';
COMMENT ON FUNCTION @extschema@.amount_send(@extschema@.amount) IS 'Binary output of amount';

-- arithmetic (R-AMT-3)
CREATE FUNCTION @extschema@.amount_add(@extschema@.amount, @extschema@.amount) RETURNS @extschema@.amount
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.amount_add(@extschema@.amount, @extschema@.amount) IS 'Sum of two amounts of one currency';
CREATE FUNCTION @extschema@.amount_sub(@extschema@.amount, @extschema@.amount) RETURNS @extschema@.amount
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.amount_sub(@extschema@.amount, @extschema@.amount) IS 'Difference of two amounts of one currency';
CREATE FUNCTION @extschema@.amount_neg(@extschema@.amount) RETURNS @extschema@.amount
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.amount_neg(@extschema@.amount) IS 'Negated amount';
CREATE FUNCTION @extschema@.amount_mul_numeric(@extschema@.amount, numeric) RETURNS @extschema@.amount
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.amount_mul_numeric(@extschema@.amount, numeric) IS 'Amount times a number, rounded half away from zero to 6 decimals';
CREATE FUNCTION @extschema@.numeric_mul_amount(numeric, @extschema@.amount) RETURNS @extschema@.amount
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.numeric_mul_amount(numeric, @extschema@.amount) IS 'Number times an amount, rounded half away from zero to 6 decimals';
CREATE FUNCTION @extschema@.amount_div_numeric(@extschema@.amount, numeric) RETURNS @extschema@.amount
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.amount_div_numeric(@extschema@.amount, numeric) IS 'Amount divided by a number, rounded half away from zero to 6 decimals';
CREATE FUNCTION @extschema@.amount_div_amount(@extschema@.amount, @extschema@.amount) RETURNS numeric
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.amount_div_amount(@extschema@.amount, @extschema@.amount) IS 'Ratio of two amounts of one currency';

CREATE OPERATOR @extschema@.+ (
	LEFTARG = @extschema@.amount, RIGHTARG = @extschema@.amount,
	FUNCTION = @extschema@.amount_add, COMMUTATOR = OPERATOR(@extschema@.+)
);
COMMENT ON OPERATOR @extschema@.+ (@extschema@.amount, @extschema@.amount) IS 'add; currencies must match (GB003)';
CREATE OPERATOR @extschema@.- (
	LEFTARG = @extschema@.amount, RIGHTARG = @extschema@.amount,
	FUNCTION = @extschema@.amount_sub
);
COMMENT ON OPERATOR @extschema@.- (@extschema@.amount, @extschema@.amount) IS 'subtract; currencies must match (GB003)';
CREATE OPERATOR @extschema@.- (
	RIGHTARG = @extschema@.amount, FUNCTION = @extschema@.amount_neg
);
COMMENT ON OPERATOR @extschema@.- (NONE, @extschema@.amount) IS 'negate';
CREATE OPERATOR @extschema@.* (
	LEFTARG = @extschema@.amount, RIGHTARG = numeric,
	FUNCTION = @extschema@.amount_mul_numeric, COMMUTATOR = OPERATOR(@extschema@.*)
);
COMMENT ON OPERATOR @extschema@.* (@extschema@.amount, numeric) IS 'multiply, rounded half away from zero to 6 decimals';
CREATE OPERATOR @extschema@.* (
	LEFTARG = numeric, RIGHTARG = @extschema@.amount,
	FUNCTION = @extschema@.numeric_mul_amount, COMMUTATOR = OPERATOR(@extschema@.*)
);
COMMENT ON OPERATOR @extschema@.* (numeric, @extschema@.amount) IS 'multiply, rounded half away from zero to 6 decimals';
CREATE OPERATOR @extschema@./ (
	LEFTARG = @extschema@.amount, RIGHTARG = numeric,
	FUNCTION = @extschema@.amount_div_numeric
);
COMMENT ON OPERATOR @extschema@./ (@extschema@.amount, numeric) IS 'divide, rounded half away from zero to 6 decimals';
CREATE OPERATOR @extschema@./ (
	LEFTARG = @extschema@.amount, RIGHTARG = @extschema@.amount,
	FUNCTION = @extschema@.amount_div_amount
);
COMMENT ON OPERATOR @extschema@./ (@extschema@.amount, @extschema@.amount) IS 'ratio of two amounts as numeric';

-- comparison: a total order, by currency code and then value; never raises
CREATE FUNCTION @extschema@.amount_eq(@extschema@.amount, @extschema@.amount) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.amount_eq(@extschema@.amount, @extschema@.amount) IS 'Same currency and value';
CREATE FUNCTION @extschema@.amount_ne(@extschema@.amount, @extschema@.amount) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.amount_ne(@extschema@.amount, @extschema@.amount) IS 'Other currency or value';
CREATE FUNCTION @extschema@.amount_lt(@extschema@.amount, @extschema@.amount) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.amount_lt(@extschema@.amount, @extschema@.amount) IS 'Less than (order: currency code, then value)';
CREATE FUNCTION @extschema@.amount_le(@extschema@.amount, @extschema@.amount) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.amount_le(@extschema@.amount, @extschema@.amount) IS 'Less than or equal (order: currency code, then value)';
CREATE FUNCTION @extschema@.amount_gt(@extschema@.amount, @extschema@.amount) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.amount_gt(@extschema@.amount, @extschema@.amount) IS 'Greater than (order: currency code, then value)';
CREATE FUNCTION @extschema@.amount_ge(@extschema@.amount, @extschema@.amount) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.amount_ge(@extschema@.amount, @extschema@.amount) IS 'Greater than or equal (order: currency code, then value)';
CREATE FUNCTION @extschema@.amount_cmp(@extschema@.amount, @extschema@.amount) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.amount_cmp(@extschema@.amount, @extschema@.amount) IS 'btree order: currency, then value';
CREATE FUNCTION @extschema@.amount_hash(@extschema@.amount) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.amount_hash(@extschema@.amount) IS 'Hash of currency and value';
CREATE FUNCTION @extschema@.amount_hash_extended(@extschema@.amount, bigint) RETURNS bigint
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.amount_hash_extended(@extschema@.amount, bigint) IS 'Seeded 64-bit hash of currency and value';

CREATE OPERATOR @extschema@.= (
	LEFTARG = @extschema@.amount, RIGHTARG = @extschema@.amount, FUNCTION = @extschema@.amount_eq,
	COMMUTATOR = OPERATOR(@extschema@.=), NEGATOR = OPERATOR(@extschema@.<>),
	RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES
);
COMMENT ON OPERATOR @extschema@.= (@extschema@.amount, @extschema@.amount) IS 'equal: same currency and value';
CREATE OPERATOR @extschema@.<> (
	LEFTARG = @extschema@.amount, RIGHTARG = @extschema@.amount, FUNCTION = @extschema@.amount_ne,
	COMMUTATOR = OPERATOR(@extschema@.<>), NEGATOR = OPERATOR(@extschema@.=),
	RESTRICT = neqsel, JOIN = neqjoinsel
);
COMMENT ON OPERATOR @extschema@.<> (@extschema@.amount, @extschema@.amount) IS 'not equal';
CREATE OPERATOR @extschema@.< (
	LEFTARG = @extschema@.amount, RIGHTARG = @extschema@.amount, FUNCTION = @extschema@.amount_lt,
	COMMUTATOR = OPERATOR(@extschema@.>), NEGATOR = OPERATOR(@extschema@.>=),
	RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
COMMENT ON OPERATOR @extschema@.< (@extschema@.amount, @extschema@.amount) IS 'less than';
CREATE OPERATOR @extschema@.<= (
	LEFTARG = @extschema@.amount, RIGHTARG = @extschema@.amount, FUNCTION = @extschema@.amount_le,
	COMMUTATOR = OPERATOR(@extschema@.>=), NEGATOR = OPERATOR(@extschema@.>),
	RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
COMMENT ON OPERATOR @extschema@.<= (@extschema@.amount, @extschema@.amount) IS 'less than or equal';
CREATE OPERATOR @extschema@.> (
	LEFTARG = @extschema@.amount, RIGHTARG = @extschema@.amount, FUNCTION = @extschema@.amount_gt,
	COMMUTATOR = OPERATOR(@extschema@.<), NEGATOR = OPERATOR(@extschema@.<=),
	RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
COMMENT ON OPERATOR @extschema@.> (@extschema@.amount, @extschema@.amount) IS 'greater than';
CREATE OPERATOR @extschema@.>= (
	LEFTARG = @extschema@.amount, RIGHTARG = @extschema@.amount, FUNCTION = @extschema@.amount_ge,
	COMMUTATOR = OPERATOR(@extschema@.<=), NEGATOR = OPERATOR(@extschema@.<),
	RESTRICT = scalargesel, JOIN = scalargejoinsel
);
COMMENT ON OPERATOR @extschema@.>= (@extschema@.amount, @extschema@.amount) IS 'greater than or equal';

CREATE OPERATOR CLASS @extschema@.amount_ops
	DEFAULT FOR TYPE @extschema@.amount USING btree AS
		OPERATOR 1 @extschema@.<,
		OPERATOR 2 @extschema@.<=,
		OPERATOR 3 @extschema@.=,
		OPERATOR 4 @extschema@.>=,
		OPERATOR 5 @extschema@.>,
		FUNCTION 1 @extschema@.amount_cmp(@extschema@.amount, @extschema@.amount);
COMMENT ON OPERATOR CLASS @extschema@.amount_ops USING btree IS 'btree order of amount: currency, then value';

CREATE OPERATOR CLASS @extschema@.amount_hash_ops
	DEFAULT FOR TYPE @extschema@.amount USING hash AS
		OPERATOR 1 @extschema@.=,
		FUNCTION 1 @extschema@.amount_hash(@extschema@.amount),
		FUNCTION 2 @extschema@.amount_hash_extended(@extschema@.amount, bigint);
COMMENT ON OPERATOR CLASS @extschema@.amount_hash_ops USING hash IS 'hash of amount: currency and value';

-- helpers (R-AMT-4)
CREATE FUNCTION @extschema@.round(@extschema@.amount, integer) RETURNS @extschema@.amount
	AS 'MODULE_PATHNAME', 'amount_round' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.round(@extschema@.amount, integer) IS 'Round half away from zero to the given decimals (2.345 -> 2.35)';
CREATE FUNCTION @extschema@.abs(@extschema@.amount) RETURNS @extschema@.amount
	AS 'MODULE_PATHNAME', 'amount_abs' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.abs(@extschema@.amount) IS 'Absolute value';
CREATE FUNCTION @extschema@.currency(@extschema@.amount) RETURNS text
	AS 'MODULE_PATHNAME', 'amount_currency' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.currency(@extschema@.amount) IS 'ISO-4217 currency code of an amount';
CREATE FUNCTION @extschema@.to_numeric(@extschema@.amount) RETURNS numeric
	AS 'MODULE_PATHNAME', 'amount_to_numeric' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.to_numeric(@extschema@.amount) IS 'Exact value of an amount as numeric (6 decimals), without currency';
CREATE FUNCTION @extschema@.amount(numeric, text) RETURNS @extschema@.amount
	AS 'MODULE_PATHNAME', 'amount_from_numeric_currency' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.amount(numeric, text) IS 'Amount of a value and a currency; more than 6 decimals raise 22P02';
CREATE FUNCTION @extschema@.amount_from_numeric(numeric) RETURNS @extschema@.amount
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.amount_from_numeric(numeric) IS 'Amount of a value in the default currency (gpubill.default_currency)';
CREATE FUNCTION @extschema@.zero(text) RETURNS @extschema@.amount
	AS 'MODULE_PATHNAME', 'amount_zero' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.zero(text) IS 'Zero in a currency';
CREATE FUNCTION @extschema@.micros(@extschema@.amount) RETURNS bigint
	AS 'MODULE_PATHNAME', 'amount_micros' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.micros(@extschema@.amount) IS 'Value of an amount in millionths of its currency unit';
CREATE FUNCTION @extschema@.amount_from_micros(bigint, text) RETURNS @extschema@.amount
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.amount_from_micros(bigint, text) IS 'Amount of a count of millionths and a currency';

CREATE CAST (@extschema@.amount AS numeric) WITH FUNCTION @extschema@.to_numeric(@extschema@.amount);
COMMENT ON CAST (@extschema@.amount AS numeric) IS 'Exact value, currency dropped (explicit only)';
CREATE CAST (numeric AS @extschema@.amount) WITH FUNCTION @extschema@.amount_from_numeric(numeric);
COMMENT ON CAST (numeric AS @extschema@.amount) IS 'Value in the default currency; more than 6 decimals raise 22P02 (explicit only)';

-- aggregates (R-AMT-5)
CREATE FUNCTION @extschema@.amount_sum_accum(internal, @extschema@.amount) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.amount_sum_accum(internal, @extschema@.amount) IS 'Transition function of sum(amount) and avg(amount)';
CREATE FUNCTION @extschema@.amount_sum_combine(internal, internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.amount_sum_combine(internal, internal) IS 'Combine function of sum(amount) and avg(amount)';
CREATE FUNCTION @extschema@.amount_sum_serialize(internal) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.amount_sum_serialize(internal) IS 'Serialize a partial sum(amount) state';
CREATE FUNCTION @extschema@.amount_sum_deserialize(bytea, internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.amount_sum_deserialize(bytea, internal) IS 'Deserialize a partial sum(amount) state';
CREATE FUNCTION @extschema@.amount_sum_final(internal) RETURNS @extschema@.amount
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.amount_sum_final(internal) IS 'Final function of sum(amount)';
CREATE FUNCTION @extschema@.amount_avg_final(internal) RETURNS @extschema@.amount
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.amount_avg_final(internal) IS 'Final function of avg(amount)';
CREATE FUNCTION @extschema@.amount_smaller(@extschema@.amount, @extschema@.amount) RETURNS @extschema@.amount
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.amount_smaller(@extschema@.amount, @extschema@.amount) IS 'Smaller of two amounts of one currency';
CREATE FUNCTION @extschema@.amount_larger(@extschema@.amount, @extschema@.amount) RETURNS @extschema@.amount
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.amount_larger(@extschema@.amount, @extschema@.amount) IS 'Larger of two amounts of one currency';

CREATE AGGREGATE @extschema@.sum(@extschema@.amount) (
	SFUNC = @extschema@.amount_sum_accum, STYPE = internal, SSPACE = 32,
	FINALFUNC = @extschema@.amount_sum_final,
	COMBINEFUNC = @extschema@.amount_sum_combine,
	SERIALFUNC = @extschema@.amount_sum_serialize,
	DESERIALFUNC = @extschema@.amount_sum_deserialize,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.sum(@extschema@.amount) IS 'Exact sum of amounts of one currency (GB003 on mixed, 22003 on overflow)';
CREATE AGGREGATE @extschema@.avg(@extschema@.amount) (
	SFUNC = @extschema@.amount_sum_accum, STYPE = internal, SSPACE = 32,
	FINALFUNC = @extschema@.amount_avg_final,
	COMBINEFUNC = @extschema@.amount_sum_combine,
	SERIALFUNC = @extschema@.amount_sum_serialize,
	DESERIALFUNC = @extschema@.amount_sum_deserialize,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.avg(@extschema@.amount) IS 'Mean of amounts of one currency, rounded half away from zero to 6 decimals';
CREATE AGGREGATE @extschema@.min(@extschema@.amount) (
	SFUNC = @extschema@.amount_smaller, STYPE = @extschema@.amount,
	COMBINEFUNC = @extschema@.amount_smaller, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.min(@extschema@.amount) IS 'Smallest amount of one currency (GB003 on mixed)';
CREATE AGGREGATE @extschema@.max(@extschema@.amount) (
	SFUNC = @extschema@.amount_larger, STYPE = @extschema@.amount,
	COMBINEFUNC = @extschema@.amount_larger, PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.max(@extschema@.amount) IS 'Largest amount of one currency (GB003 on mixed)';
/*
 * 20_period.sql — the billing_period type and calendar arithmetic (R-PER-1..4).
 *
 * Map (scripts/file-map.pl):
 * API: billable_hours, billing_period_cmp, billing_period_contained_by,
 *   billing_period_contains, billing_period_eq, billing_period_ge,
 *   billing_period_gt, billing_period_hash, billing_period_in,
 *   billing_period_le, billing_period_lt, billing_period_ne,
 *   billing_period_out, billing_period_overlapped_by,
 *   billing_period_overlaps, billing_period_recv, billing_period_send, lower,
 *   overlap_seconds, seconds, to_tstzrange, unit, upper.
 * Types: billing_period.
 * Uses: nothing.
 */

CREATE TYPE @extschema@.billing_period;

CREATE FUNCTION @extschema@.billing_period_in(cstring) RETURNS @extschema@.billing_period
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.billing_period_out(@extschema@.billing_period) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.billing_period_recv(internal) RETURNS @extschema@.billing_period
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.billing_period_send(@extschema@.billing_period) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.billing_period (
	INPUT = @extschema@.billing_period_in,
	OUTPUT = @extschema@.billing_period_out,
	RECEIVE = @extschema@.billing_period_recv,
	SEND = @extschema@.billing_period_send,
	INTERNALLENGTH = 24,
	ALIGNMENT = double,
	STORAGE = plain
);
COMMENT ON TYPE @extschema@.billing_period IS 'A billed interval [lower, upper) of timestamptz with a unit: second, hour, day, week or month';

COMMENT ON FUNCTION @extschema@.billing_period_in(cstring) IS 'Text input of billing_period: "[lower,upper) unit"';
COMMENT ON FUNCTION @extschema@.billing_period_out(@extschema@.billing_period) IS 'Text output of billing_period in the session time zone';
COMMENT ON FUNCTION @extschema@.billing_period_recv(internal) IS 'Binary input of billing_period';
COMMENT ON FUNCTION @extschema@.billing_period_send(@extschema@.billing_period) IS 'Binary output of billing_period';

CREATE FUNCTION @extschema@.lower(p @extschema@.billing_period) RETURNS timestamptz
	AS 'MODULE_PATHNAME', 'billing_period_lower' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.lower(@extschema@.billing_period) IS 'Start of the period (inclusive)';
CREATE FUNCTION @extschema@.upper(p @extschema@.billing_period) RETURNS timestamptz
	AS 'MODULE_PATHNAME', 'billing_period_upper' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.upper(@extschema@.billing_period) IS 'End of the period (exclusive)';
CREATE FUNCTION @extschema@.unit(p @extschema@.billing_period) RETURNS text
	AS 'MODULE_PATHNAME', 'billing_period_unit' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.unit(@extschema@.billing_period) IS 'Unit of the period';
CREATE FUNCTION @extschema@.seconds(p @extschema@.billing_period) RETURNS bigint
	AS 'MODULE_PATHNAME', 'billing_period_seconds' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.seconds(@extschema@.billing_period) IS 'Length of the period in seconds';
CREATE FUNCTION @extschema@.to_tstzrange(p @extschema@.billing_period) RETURNS tstzrange
	AS 'MODULE_PATHNAME', 'billing_period_to_tstzrange' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.to_tstzrange(@extschema@.billing_period) IS 'The period as a [lower, upper) tstzrange';
CREATE CAST (@extschema@.billing_period AS tstzrange) WITH FUNCTION @extschema@.to_tstzrange(@extschema@.billing_period);
COMMENT ON CAST (@extschema@.billing_period AS tstzrange) IS 'The period as a [lower, upper) tstzrange';
CREATE FUNCTION @extschema@.overlap_seconds(p @extschema@.billing_period, r tstzrange) RETURNS bigint
	AS 'MODULE_PATHNAME', 'billing_period_overlap_seconds' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.overlap_seconds(@extschema@.billing_period, tstzrange) IS 'Whole seconds of the overlap of a period and a range (partial seconds are dropped)';

CREATE FUNCTION @extschema@.billing_period_contains(@extschema@.billing_period, timestamptz) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.billing_period_contains(@extschema@.billing_period, timestamptz) IS 'Does the period contain the instant';
CREATE FUNCTION @extschema@.billing_period_contained_by(timestamptz, @extschema@.billing_period) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.billing_period_contained_by(timestamptz, @extschema@.billing_period) IS 'Is the instant in the period';
CREATE FUNCTION @extschema@.billing_period_overlaps(@extschema@.billing_period, tstzrange) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.billing_period_overlaps(@extschema@.billing_period, tstzrange) IS 'Do the period and the range share an instant';
CREATE FUNCTION @extschema@.billing_period_overlapped_by(tstzrange, @extschema@.billing_period) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.billing_period_overlapped_by(tstzrange, @extschema@.billing_period) IS 'Do the range and the period share an instant';

CREATE OPERATOR @extschema@.@> (
	LEFTARG = @extschema@.billing_period, RIGHTARG = timestamptz,
	FUNCTION = @extschema@.billing_period_contains, COMMUTATOR = OPERATOR(@extschema@.<@),
	RESTRICT = contsel, JOIN = contjoinsel
);
COMMENT ON OPERATOR @extschema@.@> (@extschema@.billing_period, timestamptz) IS 'period contains instant';
CREATE OPERATOR @extschema@.<@ (
	LEFTARG = timestamptz, RIGHTARG = @extschema@.billing_period,
	FUNCTION = @extschema@.billing_period_contained_by, COMMUTATOR = OPERATOR(@extschema@.@>),
	RESTRICT = contsel, JOIN = contjoinsel
);
COMMENT ON OPERATOR @extschema@.<@ (timestamptz, @extschema@.billing_period) IS 'instant is in period';
CREATE OPERATOR @extschema@.&& (
	LEFTARG = @extschema@.billing_period, RIGHTARG = tstzrange,
	FUNCTION = @extschema@.billing_period_overlaps, COMMUTATOR = OPERATOR(@extschema@.&&),
	RESTRICT = areasel, JOIN = areajoinsel
);
COMMENT ON OPERATOR @extschema@.&& (@extschema@.billing_period, tstzrange) IS 'period overlaps range';
CREATE OPERATOR @extschema@.&& (
	LEFTARG = tstzrange, RIGHTARG = @extschema@.billing_period,
	FUNCTION = @extschema@.billing_period_overlapped_by, COMMUTATOR = OPERATOR(@extschema@.&&),
	RESTRICT = areasel, JOIN = areajoinsel
);
COMMENT ON OPERATOR @extschema@.&& (tstzrange, @extschema@.billing_period) IS 'range overlaps period';

-- equality and order, so periods can be grouped, sorted and indexed
CREATE FUNCTION @extschema@.billing_period_eq(@extschema@.billing_period, @extschema@.billing_period) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.billing_period_eq(@extschema@.billing_period, @extschema@.billing_period) IS 'Same bounds and unit';
CREATE FUNCTION @extschema@.billing_period_ne(@extschema@.billing_period, @extschema@.billing_period) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.billing_period_ne(@extschema@.billing_period, @extschema@.billing_period) IS 'Other bounds or unit';
CREATE FUNCTION @extschema@.billing_period_lt(@extschema@.billing_period, @extschema@.billing_period) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.billing_period_lt(@extschema@.billing_period, @extschema@.billing_period) IS 'Earlier (by lower, upper, unit)';
CREATE FUNCTION @extschema@.billing_period_le(@extschema@.billing_period, @extschema@.billing_period) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.billing_period_le(@extschema@.billing_period, @extschema@.billing_period) IS 'Earlier or equal';
CREATE FUNCTION @extschema@.billing_period_gt(@extschema@.billing_period, @extschema@.billing_period) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.billing_period_gt(@extschema@.billing_period, @extschema@.billing_period) IS 'Later (by lower, upper, unit)';
CREATE FUNCTION @extschema@.billing_period_ge(@extschema@.billing_period, @extschema@.billing_period) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.billing_period_ge(@extschema@.billing_period, @extschema@.billing_period) IS 'Later or equal';
CREATE FUNCTION @extschema@.billing_period_cmp(@extschema@.billing_period, @extschema@.billing_period) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.billing_period_cmp(@extschema@.billing_period, @extschema@.billing_period) IS 'btree order of periods';
CREATE FUNCTION @extschema@.billing_period_hash(@extschema@.billing_period) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.billing_period_hash(@extschema@.billing_period) IS 'Hash of a period';

CREATE OPERATOR @extschema@.= (
	LEFTARG = @extschema@.billing_period, RIGHTARG = @extschema@.billing_period,
	FUNCTION = @extschema@.billing_period_eq,
	COMMUTATOR = OPERATOR(@extschema@.=), NEGATOR = OPERATOR(@extschema@.<>),
	RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES
);
COMMENT ON OPERATOR @extschema@.= (@extschema@.billing_period, @extschema@.billing_period) IS 'equal';
CREATE OPERATOR @extschema@.<> (
	LEFTARG = @extschema@.billing_period, RIGHTARG = @extschema@.billing_period,
	FUNCTION = @extschema@.billing_period_ne,
	COMMUTATOR = OPERATOR(@extschema@.<>), NEGATOR = OPERATOR(@extschema@.=),
	RESTRICT = neqsel, JOIN = neqjoinsel
);
COMMENT ON OPERATOR @extschema@.<> (@extschema@.billing_period, @extschema@.billing_period) IS 'not equal';
CREATE OPERATOR @extschema@.< (
	LEFTARG = @extschema@.billing_period, RIGHTARG = @extschema@.billing_period,
	FUNCTION = @extschema@.billing_period_lt,
	COMMUTATOR = OPERATOR(@extschema@.>), NEGATOR = OPERATOR(@extschema@.>=),
	RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
COMMENT ON OPERATOR @extschema@.< (@extschema@.billing_period, @extschema@.billing_period) IS 'earlier';
CREATE OPERATOR @extschema@.<= (
	LEFTARG = @extschema@.billing_period, RIGHTARG = @extschema@.billing_period,
	FUNCTION = @extschema@.billing_period_le,
	COMMUTATOR = OPERATOR(@extschema@.>=), NEGATOR = OPERATOR(@extschema@.>),
	RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
COMMENT ON OPERATOR @extschema@.<= (@extschema@.billing_period, @extschema@.billing_period) IS 'earlier or equal';
CREATE OPERATOR @extschema@.> (
	LEFTARG = @extschema@.billing_period, RIGHTARG = @extschema@.billing_period,
	FUNCTION = @extschema@.billing_period_gt,
	COMMUTATOR = OPERATOR(@extschema@.<), NEGATOR = OPERATOR(@extschema@.<=),
	RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
COMMENT ON OPERATOR @extschema@.> (@extschema@.billing_period, @extschema@.billing_period) IS 'later';
CREATE OPERATOR @extschema@.>= (
	LEFTARG = @extschema@.billing_period, RIGHTARG = @extschema@.billing_period,
	FUNCTION = @extschema@.billing_period_ge,
	COMMUTATOR = OPERATOR(@extschema@.<=), NEGATOR = OPERATOR(@extschema@.<),
	RESTRICT = scalargesel, JOIN = scalargejoinsel
);
COMMENT ON OPERATOR @extschema@.>= (@extschema@.billing_period, @extschema@.billing_period) IS 'later or equal';

CREATE OPERATOR CLASS @extschema@.billing_period_ops
	DEFAULT FOR TYPE @extschema@.billing_period USING btree AS
		OPERATOR 1 @extschema@.<,
		OPERATOR 2 @extschema@.<=,
		OPERATOR 3 @extschema@.=,
		OPERATOR 4 @extschema@.>=,
		OPERATOR 5 @extschema@.>,
		FUNCTION 1 @extschema@.billing_period_cmp(@extschema@.billing_period, @extschema@.billing_period);
COMMENT ON OPERATOR CLASS @extschema@.billing_period_ops USING btree IS 'btree order of billing periods: lower, upper, unit';
CREATE OPERATOR CLASS @extschema@.billing_period_hash_ops
	DEFAULT FOR TYPE @extschema@.billing_period USING hash AS
		OPERATOR 1 @extschema@.=,
		FUNCTION 1 @extschema@.billing_period_hash(@extschema@.billing_period);
COMMENT ON OPERATOR CLASS @extschema@.billing_period_hash_ops USING hash IS 'hash of billing periods';

CREATE FUNCTION @extschema@.billable_hours(seconds bigint, rounding text) RETURNS numeric
	AS 'MODULE_PATHNAME', 'billing_billable_hours' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.billable_hours(bigint, text) IS 'Hours billed for seconds of usage: exact (seconds / 3600) or ceil (whole hours, at least 1 for any usage)';
/*
 * 30_rating.sql — the rating type: 0.000-5.000 as integer points (R-RAT-1..3).
 *
 * A rating is stored like an int4 (points 0..5000), so comparison and
 * hashing use PostgreSQL's own int4 functions.
 *
 * Map (scripts/file-map.pl):
 * API: points, points_add_rating, rating_add_points, rating_apply,
 *   rating_cmp, rating_eq, rating_from_points, rating_ge, rating_gt,
 *   rating_hash, rating_in, rating_le, rating_lt, rating_ne, rating_out,
 *   rating_recv, rating_send, rating_sub_points.
 * Types: rating.
 * Uses: nothing.
 */

CREATE TYPE @extschema@.rating;

CREATE FUNCTION @extschema@.rating_in(cstring) RETURNS @extschema@.rating
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.rating_out(@extschema@.rating) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.rating_recv(internal) RETURNS @extschema@.rating
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.rating_send(@extschema@.rating) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.rating (
	INPUT = @extschema@.rating_in,
	OUTPUT = @extschema@.rating_out,
	RECEIVE = @extschema@.rating_recv,
	SEND = @extschema@.rating_send,
	INTERNALLENGTH = 4,
	PASSEDBYVALUE,
	ALIGNMENT = int4,
	STORAGE = plain
);
COMMENT ON TYPE @extschema@.rating IS 'Partner rating 0.000-5.000, held as integer points 0..5000';

COMMENT ON FUNCTION @extschema@.rating_in(cstring) IS 'Text input of rating: at most 3 decimals, 0 to 5';
COMMENT ON FUNCTION @extschema@.rating_out(@extschema@.rating) IS 'Text output of rating with 3 decimals';
COMMENT ON FUNCTION @extschema@.rating_recv(internal) IS 'Binary input of rating';
COMMENT ON FUNCTION @extschema@.rating_send(@extschema@.rating) IS 'Binary output of rating';

CREATE FUNCTION @extschema@.points(@extschema@.rating) RETURNS integer
	AS 'MODULE_PATHNAME', 'rating_points' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.points(@extschema@.rating) IS 'Rating in points (1.000 = 1000)';
CREATE FUNCTION @extschema@.rating_from_points(integer) RETURNS @extschema@.rating
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rating_from_points(integer) IS 'Rating of a number of points; outside 0..5000 raises 22003';

CREATE FUNCTION @extschema@.rating_add_points(@extschema@.rating, integer) RETURNS @extschema@.rating
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rating_add_points(@extschema@.rating, integer) IS 'Rating plus points, clamped to 0..5000';
CREATE FUNCTION @extschema@.points_add_rating(integer, @extschema@.rating) RETURNS @extschema@.rating
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.points_add_rating(integer, @extschema@.rating) IS 'Points plus rating, clamped to 0..5000';
CREATE FUNCTION @extschema@.rating_sub_points(@extschema@.rating, integer) RETURNS @extschema@.rating
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rating_sub_points(@extschema@.rating, integer) IS 'Rating minus points, clamped to 0..5000';

CREATE OPERATOR @extschema@.+ (
	LEFTARG = @extschema@.rating, RIGHTARG = integer,
	FUNCTION = @extschema@.rating_add_points, COMMUTATOR = OPERATOR(@extschema@.+)
);
COMMENT ON OPERATOR @extschema@.+ (@extschema@.rating, integer) IS 'add points, clamped to 0..5000';
CREATE OPERATOR @extschema@.+ (
	LEFTARG = integer, RIGHTARG = @extschema@.rating,
	FUNCTION = @extschema@.points_add_rating, COMMUTATOR = OPERATOR(@extschema@.+)
);
COMMENT ON OPERATOR @extschema@.+ (integer, @extschema@.rating) IS 'add points, clamped to 0..5000';
CREATE OPERATOR @extschema@.- (
	LEFTARG = @extschema@.rating, RIGHTARG = integer,
	FUNCTION = @extschema@.rating_sub_points
);
COMMENT ON OPERATOR @extschema@.- (@extschema@.rating, integer) IS 'subtract points, clamped to 0..5000';

CREATE FUNCTION @extschema@.rating_eq(@extschema@.rating, @extschema@.rating) RETURNS boolean
	AS 'int4eq' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.rating_eq(@extschema@.rating, @extschema@.rating) IS 'Equal ratings';
CREATE FUNCTION @extschema@.rating_ne(@extschema@.rating, @extschema@.rating) RETURNS boolean
	AS 'int4ne' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.rating_ne(@extschema@.rating, @extschema@.rating) IS 'Different ratings';
CREATE FUNCTION @extschema@.rating_lt(@extschema@.rating, @extschema@.rating) RETURNS boolean
	AS 'int4lt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.rating_lt(@extschema@.rating, @extschema@.rating) IS 'Lower rating';
CREATE FUNCTION @extschema@.rating_le(@extschema@.rating, @extschema@.rating) RETURNS boolean
	AS 'int4le' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.rating_le(@extschema@.rating, @extschema@.rating) IS 'Lower or equal rating';
CREATE FUNCTION @extschema@.rating_gt(@extschema@.rating, @extschema@.rating) RETURNS boolean
	AS 'int4gt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.rating_gt(@extschema@.rating, @extschema@.rating) IS 'Higher rating';
CREATE FUNCTION @extschema@.rating_ge(@extschema@.rating, @extschema@.rating) RETURNS boolean
	AS 'int4ge' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.rating_ge(@extschema@.rating, @extschema@.rating) IS 'Higher or equal rating';
CREATE FUNCTION @extschema@.rating_cmp(@extschema@.rating, @extschema@.rating) RETURNS integer
	AS 'btint4cmp' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.rating_cmp(@extschema@.rating, @extschema@.rating) IS 'btree order of ratings';
CREATE FUNCTION @extschema@.rating_hash(@extschema@.rating) RETURNS integer
	AS 'hashint4' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.rating_hash(@extschema@.rating) IS 'Hash of a rating';

CREATE OPERATOR @extschema@.= (
	LEFTARG = @extschema@.rating, RIGHTARG = @extschema@.rating, FUNCTION = @extschema@.rating_eq,
	COMMUTATOR = OPERATOR(@extschema@.=), NEGATOR = OPERATOR(@extschema@.<>),
	RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES
);
COMMENT ON OPERATOR @extschema@.= (@extschema@.rating, @extschema@.rating) IS 'equal';
CREATE OPERATOR @extschema@.<> (
	LEFTARG = @extschema@.rating, RIGHTARG = @extschema@.rating, FUNCTION = @extschema@.rating_ne,
	COMMUTATOR = OPERATOR(@extschema@.<>), NEGATOR = OPERATOR(@extschema@.=),
	RESTRICT = neqsel, JOIN = neqjoinsel
);
COMMENT ON OPERATOR @extschema@.<> (@extschema@.rating, @extschema@.rating) IS 'not equal';
CREATE OPERATOR @extschema@.< (
	LEFTARG = @extschema@.rating, RIGHTARG = @extschema@.rating, FUNCTION = @extschema@.rating_lt,
	COMMUTATOR = OPERATOR(@extschema@.>), NEGATOR = OPERATOR(@extschema@.>=),
	RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
COMMENT ON OPERATOR @extschema@.< (@extschema@.rating, @extschema@.rating) IS 'less than';
CREATE OPERATOR @extschema@.<= (
	LEFTARG = @extschema@.rating, RIGHTARG = @extschema@.rating, FUNCTION = @extschema@.rating_le,
	COMMUTATOR = OPERATOR(@extschema@.>=), NEGATOR = OPERATOR(@extschema@.>),
	RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
COMMENT ON OPERATOR @extschema@.<= (@extschema@.rating, @extschema@.rating) IS 'less than or equal';
CREATE OPERATOR @extschema@.> (
	LEFTARG = @extschema@.rating, RIGHTARG = @extschema@.rating, FUNCTION = @extschema@.rating_gt,
	COMMUTATOR = OPERATOR(@extschema@.<), NEGATOR = OPERATOR(@extschema@.<=),
	RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
COMMENT ON OPERATOR @extschema@.> (@extschema@.rating, @extschema@.rating) IS 'greater than';
CREATE OPERATOR @extschema@.>= (
	LEFTARG = @extschema@.rating, RIGHTARG = @extschema@.rating, FUNCTION = @extschema@.rating_ge,
	COMMUTATOR = OPERATOR(@extschema@.<=), NEGATOR = OPERATOR(@extschema@.<),
	RESTRICT = scalargesel, JOIN = scalargejoinsel
);
COMMENT ON OPERATOR @extschema@.>= (@extschema@.rating, @extschema@.rating) IS 'greater than or equal';

CREATE OPERATOR CLASS @extschema@.rating_ops
	DEFAULT FOR TYPE @extschema@.rating USING btree AS
		OPERATOR 1 @extschema@.<,
		OPERATOR 2 @extschema@.<=,
		OPERATOR 3 @extschema@.=,
		OPERATOR 4 @extschema@.>=,
		OPERATOR 5 @extschema@.>,
		FUNCTION 1 @extschema@.rating_cmp(@extschema@.rating, @extschema@.rating);
COMMENT ON OPERATOR CLASS @extschema@.rating_ops USING btree IS 'btree order of ratings';
CREATE OPERATOR CLASS @extschema@.rating_hash_ops
	DEFAULT FOR TYPE @extschema@.rating USING hash AS
		OPERATOR 1 @extschema@.=,
		FUNCTION 1 @extschema@.rating_hash(@extschema@.rating);
COMMENT ON OPERATOR CLASS @extschema@.rating_hash_ops USING hash IS 'hash of ratings';

-- daily caps (R-RAT-3)
CREATE FUNCTION @extschema@.rating_apply(r @extschema@.rating, delta integer, gained_today integer,
										  lost_today integer, gain_cap integer, loss_cap integer)
	RETURNS @extschema@.rating
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rating_apply(@extschema@.rating, integer, integer, integer, integer, integer) IS 'Apply delta points within what the daily caps leave after gained_today and lost_today, clamped to 0..5000';
/*
 * 40_calc.sql — pure calculators (API.md "Pure calculators").
 * Every result is rounded once, half away from zero, to 2 decimals.
 *
 * Map (scripts/file-map.pl):
 * API: initial_payment, order_payment, partner_income, prorate.
 * Uses: nothing.
 */

CREATE FUNCTION @extschema@.order_payment(unit_price @extschema@.amount, gpus integer, hours numeric,
										   discount numeric, voucher_paid @extschema@.amount)
	RETURNS @extschema@.amount
	AS 'MODULE_PATHNAME', 'calc_order_payment' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.order_payment(@extschema@.amount, integer, numeric, numeric, @extschema@.amount) IS 'Actual payment of an order line: round2(unit price x GPUs x hours x discount) - voucher payment (R-PRT-3)';

CREATE FUNCTION @extschema@.partner_income(payment @extschema@.amount, fee_rate numeric)
	RETURNS @extschema@.amount
	AS 'MODULE_PATHNAME', 'calc_partner_income' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.partner_income(@extschema@.amount, numeric) IS 'Partner income of an actual payment: round2(payment x (1 - fee rate)) (R-PRT-3)';

CREATE FUNCTION @extschema@.prorate(hourly @extschema@.amount, seconds bigint)
	RETURNS @extschema@.amount
	AS 'MODULE_PATHNAME', 'calc_prorate' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.prorate(@extschema@.amount, bigint) IS 'Charge for seconds at an hourly fee: round2(hourly x seconds / 3600) (R-PAYG-4)';

CREATE FUNCTION @extschema@.initial_payment(price_per_hour @extschema@.amount, term tstzrange,
											 initial_days integer DEFAULT 31, deposit_rate numeric DEFAULT 0.10)
	RETURNS @extschema@.amount
	AS 'MODULE_PATHNAME', 'calc_initial_payment' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.initial_payment(@extschema@.amount, tstzrange, integer, numeric) IS 'Initial payment of a contract: the full value for a term up to initial_days, else the first initial_days plus the cancellation fee deposit (R-EXC-2, R-EXC-3)';
/*
 * 10_roles.sql — the roles of R-SEC-1, created if absent (roles belong to the
 * cluster, so they outlive DROP EXTENSION and are shared by databases).
 *   gpubill_admin   settings, bank transfers, reversals; also has gpubill_app
 *   gpubill_app     the API functions
 *   gpubill_reader  the views
 *
 * Map (scripts/file-map.pl):
 * Internals: calling_role, is_admin.
 * Uses: nothing.
 */
DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'gpubill_app') THEN
		CREATE ROLE gpubill_app NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'gpubill_reader') THEN
		CREATE ROLE gpubill_reader NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'gpubill_admin') THEN
		CREATE ROLE gpubill_admin NOLOGIN;
	END IF;
	IF NOT pg_catalog.pg_has_role('gpubill_admin', 'gpubill_app', 'MEMBER') THEN
		GRANT gpubill_app TO gpubill_admin;
	END IF;
	IF NOT pg_catalog.pg_has_role('gpubill_admin', 'gpubill_reader', 'MEMBER') THEN
		GRANT gpubill_reader TO gpubill_admin;
	END IF;
END
$$;

CREATE FUNCTION @extschema@.calling_role() RETURNS name
	AS 'MODULE_PATHNAME', 'gpubill_calling_role' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.calling_role() IS 'The role the caller acts as after SET ROLE, also inside SECURITY DEFINER functions';

CREATE FUNCTION @extschema@.is_admin() RETURNS boolean
	LANGUAGE sql STABLE PARALLEL SAFE CALLED ON NULL INPUT
	AS $$ SELECT pg_catalog.pg_has_role(@extschema@.calling_role(), 'gpubill_admin', 'MEMBER') $$;
COMMENT ON FUNCTION @extschema@.is_admin() IS 'Is the calling role (after SET ROLE) a member of gpubill_admin';
/*
 * 20_ids.sql — the sequences every gpubill id comes from.
 *
 * Ids come from one sequence (accounts from another, so that parties opened
 * together get consecutive ids); the setting shard_id moves both into a
 * range of their own (shard_id * 2^48 + n), so ids stay unique across
 * shards (SPEC section 10).
 *
 * Map (scripts/file-map.pl):
 * Uses: nothing.
 */

CREATE SEQUENCE @extschema@.id_seq MINVALUE 1 MAXVALUE 281474976710655;
COMMENT ON SEQUENCE @extschema@.id_seq IS 'Ids of every gpubill row; set_setting(''shard_id'', k) moves it to k * 2^48 + n';

CREATE SEQUENCE @extschema@.account_id_seq MINVALUE 1 MAXVALUE 281474976710655;
COMMENT ON SEQUENCE @extschema@.account_id_seq IS 'Ids of ledger accounts (apart, so that parties opened together get consecutive ids); moved with shard_id like id_seq';
/*
 * 30_settings.sql — billing settings (API.md "Settings").
 *
 * setting_defaults holds every known key with its default and its kind
 * (which values are valid); it belongs to the extension and is not dumped.
 * settings holds the values an operator changed with set_setting(); it is
 * registered with pg_extension_config_dump so pg_dump keeps it.
 *
 * Map (scripts/file-map.pl):
 * API: set_setting, setting.
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
/*
 * 40_input.sql — checks of the input every API function shares (R-SEC-3,
 * R-CLK-5): business times are finite and in the supported range, text
 * identifiers have a length limit.  Bad input raises 22023 before anything
 * is locked or written.
 *
 * Map (scripts/file-map.pl):
 * Internals: api_time, call_time, check_gpus, check_term, check_text,
 *   check_time.
 * Uses: nothing.
 */

-- R-SEC-3: a business time is finite and within 2000-01-01 .. 2200-01-01 (UTC):
-- every loop over hours, days and months between two such times is bounded
CREATE FUNCTION @extschema@.check_time(ts timestamptz, what text) RETURNS timestamptz
	LANGUAGE plpgsql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
BEGIN
	IF ts IS NOT NULL AND (ts < '2000-01-01 00:00:00+00' OR ts >= '2200-01-01 00:00:00+00') THEN
		RAISE EXCEPTION '% must be a finite time from 2000-01-01 to 2200-01-01: %', what, ts
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN ts;
END
$$;
COMMENT ON FUNCTION @extschema@.check_time(timestamptz, text) IS 'Raise 22023 unless a time is NULL or finite and within 2000-01-01 .. 2200-01-01 (R-SEC-3); returns it';

-- the business time of a call: at, or now() when it is omitted (R-CLK-5)
CREATE FUNCTION @extschema@.api_time(at timestamptz) RETURNS timestamptz
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$ SELECT @extschema@.check_time(coalesce(at, pg_catalog.now()), 'at') $$;
COMMENT ON FUNCTION @extschema@.api_time(timestamptz) IS 'The business time of a call: at (checked by check_time), or now() when omitted';

-- the time of a call on an object: an explicit at before the object's last
-- event is refused; a defaulted one is max(now(), last event) (R-CLK-5)
CREATE FUNCTION @extschema@.call_time(at timestamptz, last_event timestamptz, what text) RETURNS timestamptz
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	IF at IS NULL THEN
		RETURN GREATEST(pg_catalog.now(), last_event);
	END IF;
	PERFORM @extschema@.check_time(at, 'at');
	IF at < last_event THEN
		RAISE EXCEPTION '% cannot act at %, before its last event at %', what, at, last_event
			USING ERRCODE = 'GB004', HINT = 'Business time only moves forward for an object; omit at to act now.';
	END IF;
	RETURN at;
END
$$;
COMMENT ON FUNCTION @extschema@.call_time(timestamptz, timestamptz, text) IS 'The business time of a call on an object (R-CLK-5)';

-- R-SEC-3: a text identifier (external reference, request id, reason) is at most max_length characters
CREATE FUNCTION @extschema@.check_text(val text, what text, max_length integer DEFAULT 200) RETURNS text
	LANGUAGE plpgsql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
BEGIN
	IF pg_catalog.length(val) > max_length THEN
		RAISE EXCEPTION '% is too long (at most % characters)', what, max_length
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = pg_catalog.format('It has %s characters.', pg_catalog.length(val));
	END IF;
	RETURN val;
END
$$;
COMMENT ON FUNCTION @extschema@.check_text(text, text, integer) IS 'Raise 22023 when a text identifier is longer than max_length characters (R-SEC-3); returns it';

-- R-SEC-3: a contract term is a non-empty [start, end) of business times
CREATE FUNCTION @extschema@.check_term(term tstzrange) RETURNS void
	LANGUAGE plpgsql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
BEGIN
	IF term IS NULL OR pg_catalog.isempty(term) OR pg_catalog.lower_inf(term) OR pg_catalog.upper_inf(term)
	   OR NOT pg_catalog.lower_inc(term) OR pg_catalog.upper_inc(term) THEN
		RAISE EXCEPTION 'a contract term must be a non-empty [start, end) range with both bounds: %', coalesce(term::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.check_time(pg_catalog.lower(term), 'the term''s start');
	PERFORM @extschema@.check_time(pg_catalog.upper(term), 'the term''s end');
END
$$;
COMMENT ON FUNCTION @extschema@.check_term(tstzrange) IS 'Raise 22023 unless a contract term is a non-empty [start, end) range of business times (R-SEC-3)';

-- R-SEC-3, R-PAYG-1, R-EXC-2: a GPU count is positive (and, for a machine, at most most)
CREATE FUNCTION @extschema@.check_gpus(gpus integer, most integer DEFAULT NULL) RETURNS integer
	LANGUAGE plpgsql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
BEGIN
	IF gpus IS NULL OR gpus <= 0 THEN
		RAISE EXCEPTION 'GPU count must be positive: %', coalesce(gpus::text, 'NULL') USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF gpus > most THEN
		RAISE EXCEPTION 'GPU count must be at most %: %', most, gpus USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN gpus;
END
$$;
COMMENT ON FUNCTION @extschema@.check_gpus(integer, integer) IS 'Raise 22023 unless a GPU count is positive and at most most (R-SEC-3): instances, resizes, contracts and machines; returns it';
/*
 * 50_calendar.sql — the billing calendar: periods of the billing_period
 * type aligned to a time zone, by default the setting billing_timezone
 * (R-PER-1..4), and working days in it (payout and refund due dates,
 * payment grace).
 *
 * Map (scripts/file-map.pl):
 * Internals: add_term, add_working_days, billing_period, next, prev.
 * Uses: 1_types.
 */

-- the periods of a unit (R-PER-1, R-PER-2)
CREATE FUNCTION @extschema@.billing_period(unit text, ts timestamptz, tz text DEFAULT @extschema@.billing_timezone())
	RETURNS @extschema@.billing_period
	AS 'MODULE_PATHNAME', 'billing_period_make' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.billing_period(text, timestamptz, text) IS 'The period of a unit containing ts, aligned to the calendar of tz (default: the billing time zone)';
CREATE FUNCTION @extschema@.next(p @extschema@.billing_period, tz text DEFAULT @extschema@.billing_timezone())
	RETURNS @extschema@.billing_period
	AS 'MODULE_PATHNAME', 'billing_period_next' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.next(@extschema@.billing_period, text) IS 'The period after p; day, week and month periods must be aligned to tz';
CREATE FUNCTION @extschema@.prev(p @extschema@.billing_period, tz text DEFAULT @extschema@.billing_timezone())
	RETURNS @extschema@.billing_period
	AS 'MODULE_PATHNAME', 'billing_period_prev' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.prev(@extschema@.billing_period, text) IS 'The period before p; day, week and month periods must be aligned to tz';

-- calendar arithmetic (R-PER-3, R-PER-4)
CREATE FUNCTION @extschema@.add_term(ts timestamptz, unit text, n integer, tz text DEFAULT @extschema@.billing_timezone())
	RETURNS timestamptz
	AS 'MODULE_PATHNAME', 'billing_add_term' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.add_term(timestamptz, text, integer, text) IS 'ts plus n units in the calendar of tz: months clamp to the month''s end, weeks are 7 x 24 h';


-- t plus n working days (Mon-Fri) in the billing time zone, same local time
CREATE FUNCTION @extschema@.add_working_days(t timestamptz, n integer) RETURNS timestamptz
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	tz text := @extschema@.billing_timezone();
	d timestamp := t AT TIME ZONE tz;
	left_ integer := n;
BEGIN
	WHILE left_ > 0 LOOP
		d := d + interval '1 day';
		IF EXTRACT(isodow FROM d) < 6 THEN
			left_ := left_ - 1;
		END IF;
	END LOOP;
	RETURN d AT TIME ZONE tz;
END
$$;
COMMENT ON FUNCTION @extschema@.add_working_days(timestamptz, integer) IS 'An instant plus n working days (Monday to Friday) in the billing time zone';
/*
 * 60_clock_state.sql — the clock's state every layer reads: how far each
 * job of tick has gone (clock_state: a month's storage once settled may not
 * change), and the customers a pass of tick works on (R-CLK-6).
 *
 * tick does its work in passes over a scope of customers: ids lo..hi,
 * except those in skip (customers whose work failed and is retried alone).
 * A pass that fails is rolled back and its scope split in two, until the
 * customer whose rows fail is found; every other customer is settled.
 * Every step of a pass filters its customers with in_scope(), which the
 * planner inlines (a plain SQL expression, no function call per row).
 *
 * Map (scripts/file-map.pl):
 * Internals: all_customers, in_scope.
 * Tables: clock_state.
 * Types: tick_scope.
 * Uses: nothing.
 */

CREATE TYPE @extschema@.tick_scope AS (
	lo		bigint,			/* the lowest customer id of the pass */
	hi		bigint,			/* the highest */
	skip	bigint[]		/* customers left out: their work is retried one by one */
);
COMMENT ON TYPE @extschema@.tick_scope IS 'The customers of a pass of tick: ids lo..hi except skip (R-CLK-6)';

CREATE FUNCTION @extschema@.in_scope(customer bigint, s @extschema@.tick_scope) RETURNS boolean
	LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$ SELECT customer BETWEEN (s).lo AND (s).hi AND customer <> ALL (coalesce((s).skip, '{}')) $$;
COMMENT ON FUNCTION @extschema@.in_scope(bigint, @extschema@.tick_scope) IS 'Whether a customer belongs to the scope of a pass of tick';

-- every customer: the scope of a tick without failures
CREATE FUNCTION @extschema@.all_customers() RETURNS @extschema@.tick_scope
	LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$ SELECT ROW(-9223372036854775808, 9223372036854775807, '{}'::bigint[])::@extschema@.tick_scope $$;
COMMENT ON FUNCTION @extschema@.all_customers() IS 'The scope of every customer';

-- how far each job of the clock has gone (tick's own state)
CREATE TABLE @extschema@.clock_state (
	job			text PRIMARY KEY,
	done_until	timestamptz NOT NULL
);
COMMENT ON TABLE @extschema@.clock_state IS 'The instant up to which tick has done a job (storage steps, alert checks)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.clock_state', '');
/*
 * 70_session_tables.sql — the session's temporary tables that the set-based
 * steps stage their rows in (local buffers: no memory per row; rows gone at
 * commit), made by the layer that uses them with session_tables(shapes).
 * A look-alike made by the session's user is refused, since the owner would
 * write into it (and fire its triggers).
 *
 * Map (scripts/file-map.pl):
 * Internals: empty_stage, session_tables.
 * Uses: 1_types.
 */

CREATE FUNCTION @extschema@.session_tables(shapes text[]) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	me oid := CURRENT_USER::text::regrole;
	amount_type oid := '@extschema@.amount'::regtype::oid;
	t text;
	cols text;
	sig text;
	rel regclass;
BEGIN
	/* the shape is signed with the oid of the amount type: a table left by an extension dropped and
	   created again in this session (its amount columns dropped with the type) is made anew */
	IF (SELECT pg_catalog.bool_and(coalesce(
			(SELECT d.description = pg_catalog.md5(shapes[k][2] || ' ' || amount_type)
			 FROM pg_catalog.pg_class c
			 JOIN pg_catalog.pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_catalog.pg_class'::regclass AND d.objsubid = 0
			 WHERE c.oid = pg_catalog.to_regclass('pg_temp.' || shapes[k][1]) AND c.relowner = me), false))
		FROM pg_catalog.generate_subscripts(shapes, 1) k) THEN
		RETURN;		/* every table there, as made: one catalog query per call, by oid (no scan of pg_class) */
	END IF;
	FOR k IN 1 .. pg_catalog.array_length(shapes, 1) LOOP
		t := shapes[k][1];
		cols := shapes[k][2];
		sig := pg_catalog.md5(cols || ' ' || amount_type);
		rel := pg_catalog.to_regclass('pg_temp.' || t);
		IF rel IS NOT NULL THEN
			IF (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = rel) <> me THEN
				RAISE EXCEPTION 'pg_temp.% belongs to another role', t USING ERRCODE = 'insufficient_privilege',
					HINT = 'Drop the temporary table of that name in this session.';
			END IF;
			CONTINUE WHEN pg_catalog.obj_description(rel, 'pg_class') IS NOT DISTINCT FROM sig;
			EXECUTE pg_catalog.format('DROP TABLE pg_temp.%I', t);
		END IF;
		EXECUTE pg_catalog.format('CREATE TEMP TABLE %I (%s) ON COMMIT DELETE ROWS', t, cols);
		EXECUTE pg_catalog.format('COMMENT ON TABLE pg_temp.%I IS %L', t, sig);
		/* known empty: the planner then sizes the table by its pages when it plans a statement on it
		   (a few rows: index lookups into the big tables; a tick's many: hash joins), not as ten pages */
		EXECUTE pg_catalog.format('ANALYZE pg_temp.%I', t);
	END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.session_tables(text[]) IS 'Create (or check) temporary tables of the session, each given as {name, column list} and signed with its shape: one catalog query when all are there as made';

/*
 * Empty a stage: TRUNCATE when it held many rows (a tick's settlement), else
 * DELETE — TRUNCATE invalidates the session's plans of every statement on
 * the table, and one instance stopped would otherwise replan the
 * settlement's statements at each call.
 */
CREATE FUNCTION @extschema@.empty_stage(stage regclass, rows_staged bigint) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	IF rows_staged > 1000 THEN
		EXECUTE pg_catalog.format('TRUNCATE %s', stage);
	ELSE
		EXECUTE pg_catalog.format('DELETE FROM %s', stage);
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.empty_stage(regclass, bigint) IS 'Empty a temporary stage: TRUNCATE after many rows, DELETE after a few (no replanning of the session''s statements on it)';
/*
 * 10_schema.sql — parties, accounts, the journal, holds (R-LED-1..7).
 *
 * Every money movement is one row of `transfer`: an amount moving from a
 * debit account to a credit account (double entry in one row).  An account's
 * balance is credits minus debits.  Customers' balances are cached in
 * `wallet` (one row per customer, locked by every money movement of that
 * customer); platform, partner and world accounts have no cached balance
 * row: their totals are sums over the journal, so no single row is updated
 * by every transaction (R-LED-6, SPEC section 10).
 *
 * Every row carries its party key (customer_id or partner_id).  Ids come from
 * one sequence; the setting shard_id moves it into a range of its own
 * (shard_id * 2^48 + n), so ids stay unique across shards.
 *
 * Map (scripts/file-map.pl):
 * Internals: check_transition, make_append_only, refuse_change.
 * Tables: account, customer, hold, hold_end, invoice, partner, recharge,
 *   request, transfer, transfer_default, voucher, voucher_left, wallet.
 * Uses: 1_types, 2_base.
 */


CREATE TABLE @extschema@.customer (
	customer_id	bigint PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	external_ref text NOT NULL UNIQUE CHECK (external_ref <> ''),
	currency	text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	discount	numeric NOT NULL DEFAULT 1 CHECK (discount > 0 AND discount <= 1),
	approved	boolean NOT NULL DEFAULT false,
	b2b			boolean NOT NULL DEFAULT false,	/* may recharge by bank transfer (R-RCH-1) */
	created_at	timestamptz NOT NULL
);
COMMENT ON TABLE @extschema@.customer IS 'A customer: one row per customer, with its wallet currency and discount';

CREATE TABLE @extschema@.partner (
	partner_id	bigint PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	external_ref text NOT NULL UNIQUE CHECK (external_ref <> ''),
	currency	text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	is_provider	boolean NOT NULL DEFAULT false,
	rating		@extschema@.rating,				/* NULL until first rated: rating_initial (R-PRT-7) */
	qualification text NOT NULL DEFAULT 'qualified'
		CHECK (qualification IN ('qualified', 'terminated', 'revoked', 'ended')),
	created_at	timestamptz NOT NULL
);
COMMENT ON TABLE @extschema@.partner IS 'A partner (GPU owner) or exchange provider';


CREATE TABLE @extschema@.account (
	account_id	bigint PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.account_id_seq'),
	owner_kind	text NOT NULL CHECK (owner_kind IN ('customer', 'partner', 'platform', 'world')),
	owner_id	bigint NOT NULL,		/* customer or partner id; 0 for platform and world */
	purpose		text NOT NULL CHECK (purpose IN (
		'cash', 'voucher',												/* customer */
		'income', 'deposit', 'exchange',								/* partner */
		'fee', 'voucher_expense', 'voucher_breakage', 'commission',		/* platform */
		'compensation', 'forfeit', 'receivable', 'clearing',
		'payments_in', 'payouts')),										/* world */
	currency	text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	UNIQUE (owner_kind, owner_id, purpose, currency),
	CHECK ((owner_kind IN ('platform', 'world')) = (owner_id = 0))
);
COMMENT ON TABLE @extschema@.account IS 'A ledger account: an owner, a purpose and a currency';

/*
 * No foreign keys here: a wallet is updated twice in many transactions, and
 * PostgreSQL re-checks every foreign key of a row updated again in the
 * transaction that last updated it.  verify() checks the references instead.
 */
CREATE TABLE @extschema@.wallet (
	customer_id	bigint PRIMARY KEY,			/* the customer */
	cash_account bigint NOT NULL,			/* the customer's accounts */
	voucher_account bigint NOT NULL,
	fee_account	bigint NOT NULL,				/* the platform's, in this currency */
	voucher_expense_account bigint NOT NULL,	/* the platform's, in this currency */
	cash		@extschema@.amount NOT NULL,
	vouchers	@extschema@.amount NOT NULL,
	held		@extschema@.amount NOT NULL,	/* active holds */
	cash_held	@extschema@.amount NOT NULL,	/* active holds that may use cash only */
	recharged	@extschema@.amount NOT NULL,	/* real recharges, ever */
	invoiced	@extschema@.amount NOT NULL,	/* recorded invoices, ever */
	hold_expiry	timestamptz,				/* earliest expiry of an active hold */
	voucher_expiry timestamptz,				/* earliest expiry of a voucher with money left */
	updated_at	timestamptz NOT NULL,
	/* R-AMT-1, R-SEC-3: cash + vouchers (available before holds) stays in the amount range,
	   or every later hold would fail: the sum raises 22003 in the call that would leave it */
	CONSTRAINT wallet_funds_in_range CHECK (@extschema@.micros(cash + vouchers) IS NOT NULL)
) WITH (fillfactor = 50);					/* room for HOT updates: every movement updates its row */
COMMENT ON TABLE @extschema@.wallet IS 'Cached balances of a customer''s accounts, checked against the journal by verify(); the row every money movement of the customer locks';

CREATE TABLE @extschema@.transfer (
	transfer_id	bigint NOT NULL DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	customer_id	bigint,					/* party key of a customer's movement */
	partner_id	bigint,					/* party key of a partner-only movement */
	at			timestamptz NOT NULL,	/* business time */
	recorded_at	timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
	kind		text NOT NULL CHECK (kind IN ('recharge', 'bonus', 'voucher', 'charge', 'fee', 'income',
						'voucher_spend', 'voucher_expiry', 'deposit', 'withdrawal', 'refund', 'forfeit',
						'compensation', 'commission', 'reservation_fee', 'cancellation_fee',
						'reseller_refund', 'premium', 'payment', 'storage', 'reversal', 'deposit_refund', 'offset')),
	debit_account bigint NOT NULL,			/* an account (checked by verify: no foreign key, */
	credit_account bigint NOT NULL,		/* whose row lock would make the platform's accounts hot) */
	amount		@extschema@.amount NOT NULL CHECK (@extschema@.micros(amount) > 0),
	object_type	text,
	object_id	bigint,
	request_id	text,
	reverses	bigint,					/* the transfer this one reverses (checked by verify) */
	note		text,
	CHECK (debit_account <> credit_account),
	CHECK (customer_id IS NOT NULL OR partner_id IS NOT NULL)
) PARTITION BY RANGE (at);					/* a partition per billing month (25_months.sql) */
/*
 * The default partition: the rows of months without a partition of their
 * own, and the template of every month's partition — its keys and indexes
 * are copied to each (the journal's tables have none of their own, or
 * attaching a month restored by pg_restore would make them twice).
 */
CREATE TABLE @extschema@.transfer_default PARTITION OF @extschema@.transfer (PRIMARY KEY (transfer_id)) DEFAULT;
COMMENT ON TABLE @extschema@.transfer_default IS 'The journal''s transfers of months without a partition of their own; the template of the months'' partitions';
CREATE INDEX transfer_customer_idx ON @extschema@.transfer_default (customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX transfer_partner_idx ON @extschema@.transfer_default (partner_id) WHERE partner_id IS NOT NULL;
COMMENT ON TABLE @extschema@.transfer IS 'The journal: one row per money movement, append-only (R-LED-1, R-LED-4, R-LED-7)';

CREATE TABLE @extschema@.hold (
	hold_id		bigint PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	customer_id	bigint NOT NULL,		/* the wallet locked to place it */
	amount		@extschema@.amount NOT NULL CHECK (@extschema@.micros(amount) > 0),
	cash_only	boolean NOT NULL,		/* vouchers may not pay what it reserves */
	at			timestamptz NOT NULL,
	expires_at	timestamptz,
	recorded_at	timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
	object_type	text,
	object_id	bigint,
	request_id	text,
	CHECK (expires_at IS NULL OR expires_at > at)
);
CREATE INDEX hold_expiring_idx ON @extschema@.hold (customer_id, expires_at) WHERE expires_at IS NOT NULL;
COMMENT ON TABLE @extschema@.hold IS 'A reservation of a customer''s funds (two-phase, R-LED-2), append-only; its end is a hold_end row';

CREATE TABLE @extschema@.hold_end (
	hold_id		bigint PRIMARY KEY,		/* a hold ends once (verify checks the hold exists) */
	customer_id	bigint NOT NULL,
	kind		text NOT NULL CHECK (kind IN ('capture', 'release', 'expire')),
	captured	@extschema@.amount NOT NULL,	/* zero unless kind = capture */
	at			timestamptz NOT NULL,
	recorded_at	timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
	request_id	text,
	CHECK (kind = 'capture' OR @extschema@.micros(captured) = 0)
);
COMMENT ON TABLE @extschema@.hold_end IS 'How a hold ended: captured (all or part, the rest released), released or expired; append-only';

CREATE TABLE @extschema@.recharge (
	recharge_id	bigint PRIMARY KEY,
	customer_id	bigint NOT NULL REFERENCES @extschema@.customer,
	channel		text NOT NULL CHECK (channel IN ('wechat', 'alipay', 'stripe', 'crypto', 'paypal', 'bank_transfer')),
	external_id	text NOT NULL CHECK (external_id <> ''),
	amount		@extschema@.amount NOT NULL,
	bonus		@extschema@.amount NOT NULL,
	at			timestamptz NOT NULL,
	UNIQUE (channel, external_id)
);
CREATE INDEX recharge_customer_idx ON @extschema@.recharge (customer_id);
COMMENT ON TABLE @extschema@.recharge IS 'A real recharge through a payment channel (R-RCH-1), append-only';

CREATE TABLE @extschema@.voucher (
	voucher_id	bigint PRIMARY KEY,
	customer_id	bigint NOT NULL REFERENCES @extschema@.customer,
	amount		@extschema@.amount NOT NULL,
	expires_at	timestamptz,
	at			timestamptz NOT NULL,
	recharge_id	bigint REFERENCES @extschema@.recharge,	/* set for a channel bonus */
	CHECK (expires_at IS NULL OR expires_at > at)
);
CREATE INDEX voucher_customer_idx ON @extschema@.voucher (customer_id);
COMMENT ON TABLE @extschema@.voucher IS 'A voucher grant (R-RCH-3), append-only';

/*
 * What is left of each voucher, spent earliest expiry first (R-RCH-4): a
 * cache of the journal (verify() checks it sums to the wallet's vouchers).
 * A voucher spent to nothing or expired leaves the table.
 */
CREATE TABLE @extschema@.voucher_left (
	voucher_id	bigint PRIMARY KEY,		/* a voucher, or a reversal that gave vouchers back */
	customer_id	bigint NOT NULL,
	expires_at	timestamptz,
	amount		@extschema@.amount NOT NULL CHECK (@extschema@.micros(amount) > 0)
);
CREATE INDEX voucher_left_spend_idx ON @extschema@.voucher_left (customer_id, expires_at, voucher_id);
CREATE INDEX voucher_left_expiry_idx ON @extschema@.voucher_left (expires_at) WHERE expires_at IS NOT NULL;
COMMENT ON TABLE @extschema@.voucher_left IS 'The money left on each voucher of a customer, spent earliest expiry first (R-RCH-4)';

CREATE TABLE @extschema@.invoice (
	invoice_id	bigint PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	customer_id	bigint NOT NULL REFERENCES @extschema@.customer,
	amount		@extschema@.amount NOT NULL CHECK (@extschema@.micros(amount) > 0),
	at			timestamptz NOT NULL
);
CREATE INDEX invoice_customer_idx ON @extschema@.invoice (customer_id);
COMMENT ON TABLE @extschema@.invoice IS 'An amount invoiced to a customer: not refundable (R-REF-1), append-only';

CREATE TABLE @extschema@.request (
	fn			text NOT NULL,			/* the API function */
	request_id	text NOT NULL,
	customer_id	bigint,
	partner_id	bigint,
	args		jsonb NOT NULL,			/* the arguments, at aside */
	result		bigint,					/* the id the first call returned */
	at			timestamptz NOT NULL,
	PRIMARY KEY (fn, request_id)
);
COMMENT ON TABLE @extschema@.request IS 'Idempotency: the first call of each request id, its arguments and result (R-LED-5), append-only';

-- R-LED-4: journal, holds and their ends, recharges, vouchers, invoices and
-- requests are append-only, for every role.
CREATE FUNCTION @extschema@.refuse_change() RETURNS trigger
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	RAISE EXCEPTION '% on %.% is not allowed: the table is append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
		USING ERRCODE = 'GB004',
			  HINT = 'Correct a transfer with a new, reversing transfer.';
END
$$;
COMMENT ON FUNCTION @extschema@.refuse_change() IS 'Trigger function: refuses UPDATE, DELETE and TRUNCATE on append-only tables (R-LED-4)';

/*
 * The state machines (instance, machine, contract): a row's state changes
 * only as its table's transition table (TG_ARGV[0]) allows; TG_ARGV[1] names
 * the id column for the message.  An AFTER trigger with WHEN OLD.state IS
 * DISTINCT FROM NEW.state: only rows whose state changes pay for it (a
 * BEFORE UPDATE row trigger makes PostgreSQL 15 allocate per updated row in
 * the statement's memory — ExecUpdateLockMode — so tick's memory would grow
 * with the instances it settles).
 */
CREATE FUNCTION @extschema@.check_transition() RETURNS trigger
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	allowed boolean;
BEGIN
	EXECUTE pg_catalog.format('SELECT EXISTS (SELECT FROM %I.%I t WHERE t.from_state = $1 AND t.to_state = $2)',
							  TG_TABLE_SCHEMA, TG_ARGV[0])
	INTO allowed USING OLD.state, NEW.state;
	IF NOT allowed THEN
		RAISE EXCEPTION '% % cannot go from % to %', TG_TABLE_NAME, pg_catalog.to_jsonb(OLD) ->> TG_ARGV[1], OLD.state, NEW.state
			USING ERRCODE = 'GB004';
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.check_transition() IS 'Trigger function: refuses a state change the table''s transition table (first argument) does not allow';

-- R-LED-4: declare a table append-only: a row trigger refuses UPDATE and DELETE,
-- a statement trigger TRUNCATE (every append-only table is declared with it)
CREATE FUNCTION @extschema@.make_append_only(tbl regclass) RETURNS void
	LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
	AS $$
DECLARE
	name text := (SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = tbl);
BEGIN
	/* a partition has the row trigger of its table already (cloned); TRUNCATE of a partition by name
	   fires only the partition's own statement trigger */
	IF NOT (SELECT c.relispartition FROM pg_catalog.pg_class c WHERE c.oid = tbl) THEN
		EXECUTE pg_catalog.format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %s
								   FOR EACH ROW EXECUTE FUNCTION @extschema@.refuse_change()', name || '_append_only', tbl);
	END IF;
	EXECUTE pg_catalog.format('CREATE TRIGGER %I BEFORE TRUNCATE ON %s
							   FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.refuse_change()', name || '_no_truncate', tbl);
END
$$;
COMMENT ON FUNCTION @extschema@.make_append_only(regclass) IS 'Make a table append-only: UPDATE, DELETE and TRUNCATE raise GB004 for every role (R-LED-4)';

SELECT @extschema@.make_append_only(t)
FROM pg_catalog.unnest(ARRAY['@extschema@.transfer', '@extschema@.transfer_default', '@extschema@.hold', '@extschema@.hold_end', '@extschema@.recharge',
							 '@extschema@.voucher', '@extschema@.invoice', '@extschema@.request']::regclass[]) t;

-- pg_dump keeps the billing data (STYLE 11)
SELECT pg_catalog.pg_extension_config_dump('@extschema@.id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.account_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.customer', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.partner', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.account', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.wallet', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.transfer', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.transfer_default', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.hold', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.hold_end', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.recharge', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.voucher', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.voucher_left', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.invoice', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.request', '');
/*
 * 20_internal.sql — building blocks of the money-moving functions.
 * Not callable by PUBLIC; the API functions (SECURITY DEFINER) use them.
 *
 * Lock order (R-LED-6): a money movement locks its customer's wallet row
 * first and nothing else of another customer; platform, partner and world
 * accounts are never locked or updated (their balances are journal sums).
 *
 * Map (scripts/file-map.pl):
 * Internals: account_of, begin_request, check_amount, customer_time,
 *   default_currency, funds_cover, ledger_account, lock_wallet, lock_wallets,
 *   open_currency, partner_time.
 * Uses: 1_types, 2_base.
 */

CREATE FUNCTION @extschema@.default_currency() RETURNS text
	AS 'MODULE_PATHNAME', 'gpubill_default_currency_fn' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.default_currency() IS 'The setting gpubill.default_currency';

-- the id of an account, created on first use
CREATE FUNCTION @extschema@.ledger_account(kind text, owner bigint, purpose text, cur text) RETURNS bigint
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	id bigint;
BEGIN
	SELECT a.account_id INTO id FROM @extschema@.account a
	WHERE a.owner_kind = kind AND a.owner_id = owner AND a.purpose = ledger_account.purpose AND a.currency = cur;
	IF id IS NULL THEN
		INSERT INTO @extschema@.account (owner_kind, owner_id, purpose, currency)
		VALUES (kind, owner, ledger_account.purpose, cur)
		ON CONFLICT DO NOTHING
		RETURNING account_id INTO id;
		IF id IS NULL THEN
			SELECT a.account_id INTO id FROM @extschema@.account a
			WHERE a.owner_kind = kind AND a.owner_id = owner AND a.purpose = ledger_account.purpose AND a.currency = cur;
		END IF;
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.ledger_account(text, bigint, text, text) IS 'Id of the account of an owner, purpose and currency, created on first use';

-- the account of an owner, purpose and currency, or NULL (plpgsql: its plan
-- is cached for the session, unlike a SQL function that cannot be inlined)
CREATE FUNCTION @extschema@.account_of(kind text, owner bigint, purpose text, cur text) RETURNS bigint
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	RETURN (SELECT a.account_id FROM @extschema@.account a
			WHERE a.owner_kind = kind AND a.owner_id = owner AND a.purpose = account_of.purpose AND a.currency = cur);
END
$$;
COMMENT ON FUNCTION @extschema@.account_of(text, bigint, text, text) IS 'Id of an existing account of an owner, purpose and currency';

-- the platform's and world's accounts of a currency, created with the first party using it
CREATE FUNCTION @extschema@.open_currency(cur text) RETURNS void
	LANGUAGE sql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
	SELECT @extschema@.ledger_account(k, 0, p, cur)
	FROM (VALUES ('platform', 'fee'), ('platform', 'voucher_expense'), ('platform', 'voucher_breakage'),
				 ('platform', 'commission'), ('platform', 'compensation'), ('platform', 'forfeit'),
				 ('platform', 'receivable'), ('platform', 'clearing'), ('world', 'payments_in'), ('world', 'payouts')) v(k, p)
$$;
COMMENT ON FUNCTION @extschema@.open_currency(text) IS 'Create the platform''s and the world''s accounts of a currency';


-- lock a customer's wallet (always the first lock of a money movement)
CREATE FUNCTION @extschema@.lock_wallet(customer bigint) RETURNS @extschema@.wallet
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	w @extschema@.wallet;
BEGIN
	SELECT * INTO w FROM @extschema@.wallet WHERE customer_id = customer FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown customer: %', customer USING ERRCODE = 'no_data_found';
	END IF;
	RETURN w;
END
$$;
COMMENT ON FUNCTION @extschema@.lock_wallet(bigint) IS 'Lock and return a customer''s wallet row; unknown customer raises P0002';

-- lock the wallets of customers, in customer order (before any machine or instance)
CREATE FUNCTION @extschema@.lock_wallets(customers bigint[]) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	PERFORM pg_catalog.count(*) FROM (SELECT FROM @extschema@.wallet w WHERE w.customer_id = ANY (customers)
									  ORDER BY w.customer_id FOR UPDATE) locked;
END
$$;
COMMENT ON FUNCTION @extschema@.lock_wallets(bigint[]) IS 'Lock the wallets of customers in customer order';

-- validate an amount of a movement: positive, in the account's currency
CREATE FUNCTION @extschema@.check_amount(amt @extschema@.amount, cur text, what text) RETURNS void
	LANGUAGE plpgsql IMMUTABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	IF amt IS NULL THEN
		RAISE EXCEPTION '% must not be null', what USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF @extschema@.currency(amt) <> cur THEN
		RAISE EXCEPTION 'currency mismatch: % is in %, the account in %', what, @extschema@.currency(amt), cur
			USING ERRCODE = 'GB003';
	END IF;
	IF @extschema@.micros(amt) <= 0 THEN
		RAISE EXCEPTION '% must be positive: %', what, amt USING ERRCODE = 'invalid_parameter_value';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.check_amount(@extschema@.amount, text, text) IS 'Raise 22023 unless an amount is positive, GB003 unless it is in the currency';

/*
 * Idempotency (R-LED-5).  Reserves the id the call will return.  With a
 * request id seen before: the same arguments return the first call's id in
 * done (and nothing is to be moved); other arguments raise GB005.
 */
CREATE FUNCTION @extschema@.begin_request(fn text, request_id text, customer bigint, partner bigint,
										   args jsonb, at timestamptz, OUT id bigint, OUT done boolean)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	first_args jsonb;
BEGIN
	id := pg_catalog.nextval('@extschema@.id_seq');
	done := false;
	IF request_id IS NULL THEN
		RETURN;
	END IF;
	PERFORM @extschema@.check_text(request_id, 'request id');
	INSERT INTO @extschema@.request (fn, request_id, customer_id, partner_id, args, result, at)
	VALUES (fn, request_id, customer, partner, args, id, at)
	ON CONFLICT DO NOTHING;
	IF FOUND THEN
		RETURN;
	END IF;
	SELECT r.args, r.result INTO first_args, id
	FROM @extschema@.request r WHERE r.fn = begin_request.fn AND r.request_id = begin_request.request_id;
	IF first_args IS DISTINCT FROM args THEN
		RAISE EXCEPTION 'request id "%" was already used with other arguments', request_id
			USING ERRCODE = 'GB005',
				  DETAIL = pg_catalog.format('First call of %s: %s. This call: %s.', fn, first_args, args);
	END IF;
	done := true;
END
$$;
COMMENT ON FUNCTION @extschema@.begin_request(text, text, bigint, bigint, jsonb, timestamptz) IS 'Idempotency: reserve the result id of a call, or find the first call of its request id (GB005 if its arguments differ)';

-- R-CLK-5: the business time of a call on a customer or partner: not before it was opened
CREATE FUNCTION @extschema@.customer_time(at timestamptz, customer bigint) RETURNS timestamptz
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$ SELECT @extschema@.call_time(at, (SELECT k.created_at FROM @extschema@.customer k WHERE k.customer_id = customer),
									  'customer ' || customer) $$;
COMMENT ON FUNCTION @extschema@.customer_time(timestamptz, bigint) IS 'The business time of a call on a customer: at, not before the customer was opened (GB004); omitted, max(now(), opening) (R-CLK-5)';

CREATE FUNCTION @extschema@.partner_time(at timestamptz, partner bigint) RETURNS timestamptz
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$ SELECT @extschema@.call_time(at, (SELECT k.created_at FROM @extschema@.partner k WHERE k.partner_id = partner),
									  'partner ' || partner) $$;
COMMENT ON FUNCTION @extschema@.partner_time(timestamptz, bigint) IS 'The business time of a call on a partner: at, not before the partner was opened (GB004); omitted, max(now(), opening) (R-CLK-5)';

/*
 * R-LED-2: funds cover an amount when cash is not below zero, every hold
 * and the amount fit in cash + vouchers, and the cash-only holds and the
 * part of the amount that must be paid in cash (all of a cash-only hold or
 * contract payment, the cash part of a charge, nothing of a hold vouchers
 * may pay) fit in cash.  The one funds check: holds (one and set-based),
 * prepaid charges and contract payments use it.
 */
CREATE FUNCTION @extschema@.funds_cover(cash @extschema@.amount, vouchers @extschema@.amount, held @extschema@.amount,
										cash_held @extschema@.amount, amt @extschema@.amount, cash_part @extschema@.amount)
	RETURNS boolean
	LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$ SELECT @extschema@.micros(cash) >= 0 AND cash + vouchers - held >= amt AND cash - cash_held >= cash_part $$;
COMMENT ON FUNCTION @extschema@.funds_cover(@extschema@.amount, @extschema@.amount, @extschema@.amount, @extschema@.amount, @extschema@.amount, @extschema@.amount) IS 'R-LED-2: whether funds cover an amount: cash not below zero, all holds and the amount within cash + vouchers, cash-only holds and the amount''s cash part within cash';
/*
 * 25_months.sql — the journal by billing month.
 *
 * The journal's tables (transfer, and the customers' order_line: every
 * partitioned table of the extension) are partitioned by the business time
 * `at`, a partition per calendar month of the billing time zone:
 * <table>_YYYY_MM holds [first instant of the month, first instant of the
 * next).  A row of a month without a partition of its own lands in
 * <table>_default, so no write ever fails for want of a partition.  The
 * default partition is also the template of the months': its keys and
 * indexes are copied to each (the tables themselves have none, so that
 * pg_restore, attaching a month's partition it made with its indexes,
 * does not make them twice).
 *
 * tick makes the partitions of its month and of the two after it ahead of
 * time (add_journal_months), in its last step, which waits at most 200 ms
 * for its locks: attaching a partition locks the table's default partition
 * (calls writing there wait for tick's commit), never the other months.  A month whose rows are already
 * in the default partition (written before its partition was made: a
 * backfill, simulated time) keeps them there and gets no partition.  A
 * month's partitions can be detached and archived once the month is closed
 * (README, "Months").
 *
 * Map (scripts/file-map.pl):
 * API: closed_until, journal_balances.
 * Internals: active_holds, add_journal_month, add_journal_months,
 *   archive_journal_month, carry_holds, check_open, close_ledger_month,
 *   freeze_journal_month, journal_base, journal_tables,
 *   keep_billing_timezone, ledger_month_digest, month_bounds, month_lock_key,
 *   rollup_sum.
 * Tables: account_month, archived_month, closed_month, hold_carry.
 * Uses: 1_types, 2_base.
 */

-- the journal's tables: the extension's tables partitioned by month of at
CREATE FUNCTION @extschema@.journal_tables() RETURNS SETOF regclass
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
	SELECT c.oid::regclass FROM pg_catalog.pg_partitioned_table p JOIN pg_catalog.pg_class c ON c.oid = p.partrelid
	WHERE c.relnamespace = '@extschema@'::regnamespace
	ORDER BY c.relname
$$;
COMMENT ON FUNCTION @extschema@.journal_tables() IS 'The journal''s tables: the extension''s tables partitioned by the billing month of at (transfer, order_line)';

/*
 * The partitions of the billing month holding t, for every journal table
 * that has none and whose default partition holds no row of that month.
 * Returns the partitions made.
 */
CREATE FUNCTION @extschema@.add_journal_month(t timestamptz) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	tz text := @extschema@.billing_timezone();
	month @extschema@.billing_period := @extschema@.billing_period('month', t, tz);
	lo timestamptz := @extschema@.lower(month);
	hi timestamptz := @extschema@.upper(month);
	suffix text := pg_catalog.to_char(lo AT TIME ZONE tz, 'YYYY_MM');
	tbl regclass;
	part text;
	def regclass;
	taken boolean;
	made integer := 0;
BEGIN
	FOR tbl IN SELECT * FROM @extschema@.journal_tables() LOOP
		part := (SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = tbl) || '_' || suffix;
		CONTINUE WHEN pg_catalog.to_regclass(pg_catalog.format('@extschema@.%I', part)) IS NOT NULL;
		SELECT i.inhrelid::regclass INTO def
		FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = tbl AND pg_catalog.pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT';
		EXECUTE pg_catalog.format('SELECT EXISTS (SELECT FROM %s WHERE at >= $1 AND at < $2)', def) INTO taken USING lo, hi;
		CONTINUE WHEN taken;	/* the month stays in the default partition */
		/* made apart and attached: attaching locks the default partition, not the table (rows are written
		   meanwhile); keys and indexes are the default partition's (the journal's tables have none) */
		BEGIN
			EXECUTE pg_catalog.format('CREATE TABLE @extschema@.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)',
									  part, def);
			EXECUTE pg_catalog.format('ALTER TABLE %s ATTACH PARTITION @extschema@.%I FOR VALUES FROM (%L) TO (%L)', tbl, part, lo, hi);
		EXCEPTION WHEN check_violation OR invalid_object_definition THEN
			/* a row of the month reached the default partition while this waited for it, or a partition made
			   under another billing_timezone overlaps the month: the month stays in the default partition */
			CONTINUE;
		END;
		EXECUTE pg_catalog.format('COMMENT ON TABLE @extschema@.%I IS %L', part,
			pg_catalog.format('The rows of %s of the billing month %s (%s)', tbl, pg_catalog.to_char(lo AT TIME ZONE tz, 'YYYY-MM'), tz));
		IF EXISTS (SELECT FROM pg_catalog.pg_trigger g JOIN pg_catalog.pg_class c ON c.oid = g.tgrelid
				   WHERE g.tgrelid = tbl AND g.tgname = c.relname || '_no_truncate') THEN	/* append-only (R-LED-4) */
			PERFORM @extschema@.make_append_only(pg_catalog.format('@extschema@.%I', part)::regclass);
		END IF;
		made := made + 1;
	END LOOP;
	RETURN made;
END
$$;
COMMENT ON FUNCTION @extschema@.add_journal_month(timestamptz) IS 'Make the partitions of the billing month holding t for every journal table that has none (unless its default partition holds rows of that month); returns the partitions made';

-- the partitions of the billing month holding t and of the months after it, up to ahead months
CREATE FUNCTION @extschema@.add_journal_months(t timestamptz, ahead integer DEFAULT 2) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	tz text := @extschema@.billing_timezone();
	m @extschema@.billing_period := @extschema@.billing_period('month', t, tz);
	made integer := 0;
BEGIN
	IF ahead IS NULL OR ahead < 0 OR ahead > 120 THEN
		RAISE EXCEPTION 'ahead must be between 0 and 120 months, not %', ahead USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR k IN 0 .. ahead LOOP
		made := made + @extschema@.add_journal_month(@extschema@.lower(m));
		m := @extschema@.next(m, tz);
	END LOOP;
	RETURN made;
END
$$;
COMMENT ON FUNCTION @extschema@.add_journal_months(timestamptz, integer) IS 'Make the journal''s partitions of the billing month holding t and of the ahead months after it, where missing; returns the partitions made';

/*
 * Closed months (issue 14).  close_period (8_clock) closes a calendar month
 * of the billing time zone once: every layer writes the month's roll-ups
 * (here: each account's movements and closing balance), the digest of them
 * all is kept, and from then on no money moves in the month — the door
 * refuses a leg or a hold dated in it (GB004), and its partitions, if it
 * has them, refuse every insert (a CHECK constraint that no row meets, not
 * validated: the rows there stay).  Months close in order: the closed
 * months are all those before closed_until().  A late correction is a new
 * transfer in an open month that references the original (reverse_transfer).
 */
CREATE TABLE @extschema@.closed_month (
	month		date PRIMARY KEY,			/* the month's first day in the billing time zone */
	starts_at	timestamptz NOT NULL,
	ends_at		timestamptz NOT NULL UNIQUE,
	at			timestamptz NOT NULL,		/* the business time of the close */
	recorded_at	timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
	digest		text NOT NULL,				/* md5 of the month's balance and statement roll-ups (verify) */
	usage_digest text NOT NULL,				/* md5 of its hours of use, as many as its order lines (verify full) */
	CHECK (starts_at < ends_at AND at >= ends_at)
);
COMMENT ON TABLE @extschema@.closed_month IS 'A closed billing month: its bounds, when it was closed and the digest of its roll-ups; append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.closed_month', '');
SELECT @extschema@.make_append_only('@extschema@.closed_month');

/* a closed month's roll-ups were made with its bounds in the billing time zone: it is fixed from then on */
CREATE FUNCTION @extschema@.keep_billing_timezone() RETURNS trigger
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	/* a zone that gives every closed month the same bounds is no change (a restore inserts the setting after them) */
	IF EXISTS (SELECT FROM @extschema@.closed_month c
			   CROSS JOIN LATERAL (SELECT @extschema@.billing_period('month', c.starts_at, NEW.value) AS m) p
			   WHERE (@extschema@.lower(p.m), @extschema@.upper(p.m)) IS DISTINCT FROM (c.starts_at, c.ends_at)) THEN
		RAISE EXCEPTION 'billing_timezone cannot change once a billing month is closed'
			USING ERRCODE = 'GB004',
				  DETAIL = pg_catalog.format('The months up to %s are closed in %s.',
							pg_catalog.to_char((SELECT pg_catalog.max(c.month) FROM @extschema@.closed_month c), 'YYYY-MM'),
							@extschema@.billing_timezone());
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.keep_billing_timezone() IS 'Trigger: billing_timezone is refused a zone that gives a closed billing month other bounds (GB004)';
CREATE TRIGGER settings_keep_billing_timezone BEFORE INSERT OR UPDATE ON @extschema@.settings
	FOR EACH ROW WHEN (NEW.key = 'billing_timezone') EXECUTE FUNCTION @extschema@.keep_billing_timezone();

-- the end of the last closed month: no money moves before it (NULL: no month is closed)
CREATE FUNCTION @extschema@.closed_until() RETURNS timestamptz
	LANGUAGE sql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$ SELECT pg_catalog.max(c.ends_at) FROM @extschema@.closed_month c $$;
COMMENT ON FUNCTION @extschema@.closed_until() IS 'The end of the last closed billing month (NULL when none is): the journal is never written before it';

/*
 * Archived months: closed months whose partitions were detached from the
 * journal (archive_month, 8_clock) to be kept elsewhere.  Their roll-ups
 * stay; every read of the journal, verify(full => true) included, starts
 * after the last of them, from its roll-ups.
 */
CREATE TABLE @extschema@.archived_month (
	month		date PRIMARY KEY REFERENCES @extschema@.closed_month,
	ends_at		timestamptz NOT NULL UNIQUE,
	at			timestamptz NOT NULL,		/* the business time of the archiving */
	recorded_at	timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
	partitions	text[] NOT NULL				/* the tables detached: to be dumped and dropped */
);
COMMENT ON TABLE @extschema@.archived_month IS 'A closed billing month whose journal partitions were detached (archive_month): the journal is read from the end of the last; append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.archived_month', '');
SELECT @extschema@.make_append_only('@extschema@.archived_month');

/*
 * Where a read of the journal starts: the last month whose roll-ups it takes
 * (NULL: none) and the instant from which it reads the journal.  Full: the
 * last archived month (the journal before it is not in the database);
 * else the last closed month.
 */
CREATE FUNCTION @extschema@.journal_base(whole boolean, OUT month date, OUT since timestamptz)
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
	SELECT m.month, coalesce(m.ends_at, '-infinity')
	FROM (SELECT NULL::date AS month, NULL::timestamptz AS ends_at) z
	LEFT JOIN LATERAL (SELECT a.month, a.ends_at FROM @extschema@.archived_month a WHERE whole
					   UNION ALL
					   SELECT c.month, c.ends_at FROM @extschema@.closed_month c WHERE NOT whole
					   ORDER BY 1 DESC LIMIT 1) m ON true
$$;
COMMENT ON FUNCTION @extschema@.journal_base(boolean) IS 'Where a read of the journal starts: the month whose roll-ups it takes and the instant it reads from (full: after the last archived month; else after the last closed month)';

/*
 * Detach the partitions of the closed month m, once: every partition of
 * the journal that ends by the month's end and is still attached (a month
 * kept in the default partition stays there, unread).  The months before
 * it must be archived.
 */
CREATE FUNCTION @extschema@.archive_journal_month(m date, t timestamptz) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	c @extschema@.closed_month;
	part record;
	parts text[] := '{}';
BEGIN
	SELECT * INTO c FROM @extschema@.closed_month k WHERE k.month = m;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'the billing month % cannot be archived: it is not closed', pg_catalog.to_char(m, 'YYYY-MM')
			USING ERRCODE = 'GB004';
	END IF;
	IF EXISTS (SELECT FROM @extschema@.archived_month a WHERE a.month = m) THEN
		RETURN 0;
	END IF;
	FOR part IN
		SELECT t.tbl, c2.oid::regclass AS child
		FROM @extschema@.journal_tables() t(tbl)
		JOIN pg_catalog.pg_inherits i ON i.inhparent = t.tbl
		JOIN pg_catalog.pg_class c2 ON c2.oid = i.inhrelid
		WHERE pg_catalog.pg_get_expr(c2.relpartbound, c2.oid) <> 'DEFAULT'
		  AND pg_catalog.substring(pg_catalog.pg_get_expr(c2.relpartbound, c2.oid), $re$TO \('([^']*)'\)$re$)::timestamptz <= c.ends_at
		ORDER BY 2::text
	LOOP
		EXECUTE pg_catalog.format('ALTER TABLE %s DETACH PARTITION %s', part.tbl, part.child);
		parts := parts || (SELECT pg_catalog.format('%I.%I', n.nspname, c2.relname) FROM pg_catalog.pg_class c2
						   JOIN pg_catalog.pg_namespace n ON n.oid = c2.relnamespace WHERE c2.oid = part.child);
	END LOOP;
	INSERT INTO @extschema@.archived_month (month, ends_at, at, partitions) VALUES (m, c.ends_at, t, parts);
	RETURN 1;
END
$$;
COMMENT ON FUNCTION @extschema@.archive_journal_month(date, timestamptz) IS 'Detach the journal partitions of a closed month (those ending by its end) and record it archived; once';

-- the key of t's billing month among advisory locks (a writer holds it shared, close_period exclusive)
CREATE FUNCTION @extschema@.month_lock_key(t timestamptz) RETURNS integer
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$ SELECT pg_catalog.to_char(t AT TIME ZONE @extschema@.billing_timezone(), 'YYYYMM')::integer $$;
COMMENT ON FUNCTION @extschema@.month_lock_key(timestamptz) IS 'The billing month of t as an advisory lock key (YYYYMM)';

/*
 * The door's check: nothing is written at t if t falls in a closed month.
 * The writer holds its month's advisory lock shared to its commit, so a
 * month is never closed while a write dated in it is in flight, and a write
 * that waited for a close sees it.
 */
CREATE FUNCTION @extschema@.check_open(t timestamptz) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	until timestamptz;
BEGIN
	IF t IS NULL THEN
		RETURN;
	END IF;
	PERFORM pg_catalog.pg_advisory_xact_lock_shared(pg_catalog.hashtext('gpubill.month'), @extschema@.month_lock_key(t));
	until := @extschema@.closed_until();
	IF t < until THEN
		RAISE EXCEPTION 'the billing month of % is closed', t USING ERRCODE = 'GB004',
			DETAIL = pg_catalog.format('Months before %s are closed: their journal is never written again.', until),
			HINT = 'Record a correction in an open month (reverse_transfer references the original).';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.check_open(timestamptz) IS 'Refuse (GB004) a write dated in a closed billing month (issue 14)';

/*
 * Each account's month: what it moved (micro-units, numeric: the world's
 * and the platform's accounts sum every customer's and may leave the amount
 * range) and its balance at the month's end.  A row for every account that
 * moved in the month or holds a balance, so a month's closing balances are
 * its rows alone.
 */
CREATE TABLE @extschema@.account_month (
	month		date NOT NULL,
	account_id	bigint NOT NULL,
	owner_kind	text NOT NULL,				/* the account's party key */
	owner_id	bigint NOT NULL,
	debits		numeric NOT NULL,
	credits		numeric NOT NULL,
	closing		numeric NOT NULL,			/* credits minus debits, ever, at the month's end */
	PRIMARY KEY (month, account_id)
);
CREATE INDEX account_month_account_idx ON @extschema@.account_month (account_id, month);
COMMENT ON TABLE @extschema@.account_month IS 'A roll-up of a closed month: each account''s debits, credits and closing balance in micro-units; append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.account_month', '');
SELECT @extschema@.make_append_only('@extschema@.account_month');

/*
 * The holds still active at the end of each closed month (placed before
 * it, not ended before it): the active holds are those and the holds of
 * the open months, less those ended since — verify reads no closed month
 * of holds.
 */
CREATE TABLE @extschema@.hold_carry (
	month		date NOT NULL,
	hold_id		bigint NOT NULL,
	customer_id	bigint NOT NULL,
	PRIMARY KEY (month, hold_id)
);
COMMENT ON TABLE @extschema@.hold_carry IS 'A roll-up of a closed month: the holds active at its end; append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.hold_carry', '');
SELECT @extschema@.make_append_only('@extschema@.hold_carry');
CREATE INDEX hold_at_idx ON @extschema@.hold (at);
CREATE INDEX hold_end_at_idx ON @extschema@.hold_end (at);

-- the bounds of the billing month whose first day is m
CREATE FUNCTION @extschema@.month_bounds(m date, OUT starts_at timestamptz, OUT ends_at timestamptz)
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
	SELECT @extschema@.lower(p), @extschema@.upper(p)
	FROM (SELECT @extschema@.billing_period('month', m::timestamp AT TIME ZONE @extschema@.billing_timezone(),
											@extschema@.billing_timezone()) AS p) x
$$;
COMMENT ON FUNCTION @extschema@.month_bounds(date) IS 'The first instant of the billing month whose first day is m, and of the month after it';

-- the ledger's roll-up of month m (the month before it closed, or none): returns its digest
CREATE FUNCTION @extschema@.close_ledger_month(m date) RETURNS text
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	b record := @extschema@.month_bounds(m);
	prev date := (m - interval '1 month')::date;
BEGIN
	INSERT INTO @extschema@.account_month (month, account_id, owner_kind, owner_id, debits, credits, closing)
	SELECT m, a.account_id, a.owner_kind, a.owner_id, coalesce(v.debits, 0), coalesce(v.credits, 0),
		   coalesce(p.closing, 0) + coalesce(v.credits, 0) - coalesce(v.debits, 0)
	FROM (SELECT l.account_id, pg_catalog.sum(l.debits) AS debits, pg_catalog.sum(l.credits) AS credits
		  FROM (SELECT t.debit_account AS account_id, pg_catalog.sum(@extschema@.micros(t.amount)) AS debits, NULL::numeric AS credits
				FROM @extschema@.transfer t WHERE t.at >= b.starts_at AND t.at < b.ends_at GROUP BY 1
				UNION ALL
				SELECT t.credit_account, NULL, pg_catalog.sum(@extschema@.micros(t.amount))
				FROM @extschema@.transfer t WHERE t.at >= b.starts_at AND t.at < b.ends_at GROUP BY 1) l
		  GROUP BY l.account_id) v
	FULL JOIN (SELECT k.account_id, k.closing FROM @extschema@.account_month k WHERE k.month = prev AND k.closing <> 0) p
		ON p.account_id = v.account_id
	JOIN @extschema@.account a ON a.account_id = coalesce(v.account_id, p.account_id);
	PERFORM @extschema@.carry_holds(m);
	RETURN @extschema@.ledger_month_digest(m);
END
$$;
COMMENT ON FUNCTION @extschema@.close_ledger_month(date) IS 'Write the ledger''s roll-up of a closed month (each account''s debits, credits, closing balance); returns its digest';

-- a roll-up table's rows of month m, counted and their hashes summed (each column type's hash, no text): the digests' part
CREATE FUNCTION @extschema@.rollup_sum(tbl regclass, m date) RETURNS text
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
DECLARE
	result text;
BEGIN
	EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) || '':'' || coalesce(pg_catalog.sum(pg_catalog.hash_record(k)), 0)
							   FROM %s k WHERE k.month = $1', tbl) INTO result USING m;
	RETURN result;
END
$$;
COMMENT ON FUNCTION @extschema@.rollup_sum(regclass, date) IS 'The rows of a month in a roll-up table, counted and their hashes summed (the closed months'' digests)';

CREATE FUNCTION @extschema@.ledger_month_digest(m date) RETURNS text
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
	SELECT pg_catalog.md5(@extschema@.rollup_sum('@extschema@.account_month', m) || ';'
						  || @extschema@.rollup_sum('@extschema@.hold_carry', m))
$$;
COMMENT ON FUNCTION @extschema@.ledger_month_digest(date) IS 'The digest of the ledger''s roll-up of a month: its rows counted and their hashes summed (every column''s type''s hash; no text)';

-- the partitions of a closed month refuse every insert (a constraint no row meets, not validated); returns how many
CREATE FUNCTION @extschema@.freeze_journal_month(m date) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	b record := @extschema@.month_bounds(m);
	part regclass;
	n integer := 0;
BEGIN
	/* by their bounds, not their names: every month partition that ends by the month's end (one made
	   under another billing_timezone may straddle two months: it is frozen with the later one) */
	FOR part IN
		SELECT c.oid::regclass
		FROM @extschema@.journal_tables() t
		JOIN pg_catalog.pg_inherits i ON i.inhparent = t
		JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
		WHERE pg_catalog.pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
		  AND pg_catalog.substring(pg_catalog.pg_get_expr(c.relpartbound, c.oid), $re$TO \('([^']*)'\)$re$)::timestamptz <= b.ends_at
		  AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint k WHERE k.conrelid = c.oid AND k.conname = 'month_closed')
	LOOP
		EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT month_closed CHECK (false) NOT VALID', part);
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.freeze_journal_month(date) IS 'Make the partitions of a closed month refuse every insert (CHECK false, not validated)';


-- the holds active at the end of month m: those carried from the month before and those placed in m, not ended in m
CREATE FUNCTION @extschema@.carry_holds(m date) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	b record := @extschema@.month_bounds(m);
	first_close boolean := NOT EXISTS (SELECT FROM @extschema@.closed_month c WHERE c.month < m);
	n integer;
BEGIN
	INSERT INTO @extschema@.hold_carry (month, hold_id, customer_id)
	SELECT m, h.hold_id, h.customer_id
	FROM @extschema@.hold h
	WHERE h.at < b.ends_at
	  AND (first_close OR h.at >= b.starts_at
		   OR h.hold_id IN (SELECT c.hold_id FROM @extschema@.hold_carry c WHERE c.month = (m - interval '1 month')::date))
	  AND NOT EXISTS (SELECT FROM @extschema@.hold_end e WHERE e.hold_id = h.hold_id AND e.at < b.ends_at);
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.carry_holds(date) IS 'Write the holds active at the end of a closed month (carried from the month before, or placed in it)';

/*
 * Every account's journal balance (credits minus debits, micro-units as
 * numeric): the closing balances of the last closed month and the open
 * months' transfers (a read that does not grow with history); full, of the
 * last archived month (none: the whole journal) and the transfers after it.
 */
CREATE FUNCTION @extschema@.journal_balances(whole boolean) RETURNS TABLE (account_id bigint, balance numeric)
	LANGUAGE plpgsql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	SET plan_cache_mode = force_custom_plan	/* the bound known when planning: closed months not even planned */
	SET jit = off			/* compiling the plan of every month's partition costs more than the read */
	AS $$
#variable_conflict use_column
DECLARE
	last date;
	since timestamptz;
BEGIN
	SELECT b.month, b.since INTO last, since FROM @extschema@.journal_base(whole) b;
	RETURN QUERY
	WITH moved AS (	/* summed per account in bigint micro-units first (128-bit sums: exact, and 3x faster than numeric) */
		SELECT t.credit_account AS account_id, pg_catalog.sum(@extschema@.micros(t.amount)) AS micros
		FROM @extschema@.transfer t WHERE t.at >= since GROUP BY 1
		UNION ALL
		SELECT t.debit_account, -pg_catalog.sum(@extschema@.micros(t.amount))
		FROM @extschema@.transfer t WHERE t.at >= since GROUP BY 1
	)
	SELECT l.account_id, pg_catalog.sum(l.micros)
	FROM (SELECT k.account_id, k.closing AS micros FROM @extschema@.account_month k WHERE k.month = last
		  UNION ALL
		  SELECT m.account_id, m.micros FROM moved m) l
	GROUP BY l.account_id;
END
$$;
COMMENT ON FUNCTION @extschema@.journal_balances(boolean) IS 'Every account''s journal balance in micro-units: the closing balances of the last archived (full) or closed month plus the journal after it';

-- the holds active now: those carried from the last closed month (full: archived; none: every hold) and those placed after it
CREATE FUNCTION @extschema@.active_holds(whole boolean) RETURNS SETOF @extschema@.hold
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
	WITH last AS (
		SELECT b.month, b.since FROM @extschema@.journal_base(whole) b
	)
	SELECT h.* FROM @extschema@.hold h
	WHERE h.at >= (SELECT since FROM last)
	  AND NOT EXISTS (SELECT FROM @extschema@.hold_end e WHERE e.hold_id = h.hold_id)
	UNION ALL
	SELECT h.* FROM @extschema@.hold_carry c JOIN @extschema@.hold h ON h.hold_id = c.hold_id
	WHERE c.month = (SELECT month FROM last)
	  AND NOT EXISTS (SELECT FROM @extschema@.hold_end e WHERE e.hold_id = h.hold_id)
$$;
COMMENT ON FUNCTION @extschema@.active_holds(boolean) IS 'The holds not ended: those carried from the last archived (full) or closed month and those placed after it';
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
/*
 * 40_wallet.sql — recharges, vouchers, the wallet, invoices (R-RCH-1..3).
 *
 * Map (scripts/file-map.pl):
 * API: grant_voucher, recharge, record_invoice, wallet.
 * Internals: drop_vouchers, expire_vouchers, refresh_wallet, spend_vouchers.
 * Uses: 1_types, 2_base.
 */

CREATE FUNCTION @extschema@.recharge(customer bigint, amt @extschema@.amount, channel text, external_id text,
									  at timestamptz DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := @extschema@.api_time(at);
	w @extschema@.wallet;
	cur text;
	r record;
	rate numeric;
	bonus @extschema@.amount;
	legs @extschema@.leg[];
BEGIN
	IF channel IS NULL OR channel NOT IN ('wechat', 'alipay', 'stripe', 'crypto', 'paypal', 'bank_transfer') THEN
		RAISE EXCEPTION 'unknown recharge channel: %', coalesce(channel, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Channels are wechat, alipay, stripe, crypto, paypal and bank_transfer.';
	END IF;
	IF external_id IS NULL OR external_id = '' THEN
		RAISE EXCEPTION 'external_id must not be empty' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.check_text(external_id, 'external_id');
	IF channel = 'bank_transfer' AND NOT @extschema@.is_admin() THEN
		RAISE EXCEPTION 'bank transfers may be recorded only by gpubill_admin'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = pg_catalog.format('The calling role is %s.', @extschema@.calling_role());
	END IF;
	w := @extschema@.lock_wallet(customer);
	t := @extschema@.customer_time(at, customer);
	IF channel = 'bank_transfer' AND NOT (SELECT k.b2b FROM @extschema@.customer k WHERE k.customer_id = customer) THEN
		RAISE EXCEPTION 'customer % is not a B2B customer: bank transfers are for B2B customers only', customer
			USING ERRCODE = 'GB004', HINT = 'gpubill_admin marks a customer B2B with set_b2b.';
	END IF;
	cur := @extschema@.currency(w.cash);
	PERFORM @extschema@.check_amount(amt, cur, 'recharge amount');

	/* (channel, external_id) is the request id: payment webhooks arrive twice (R-LED-5) */
	r := @extschema@.begin_request('recharge', channel || ':' || external_id, customer, NULL,
								   pg_catalog.jsonb_build_object('customer', customer, 'amount', amt::text), t);
	IF r.done THEN
		RETURN r.id;
	END IF;

	rate := @extschema@.channel_bonus_rate(channel);
	bonus := @extschema@.round(amt * rate, 2);
	INSERT INTO @extschema@.recharge (recharge_id, customer_id, channel, external_id, amount, bonus, at)
	VALUES (r.id, customer, channel, external_id, amt, bonus, t);
	legs := ARRAY[@extschema@.leg(customer, NULL, t, 'recharge', @extschema@.account_of('world', 0, 'payments_in', cur), w.cash_account,
								  amt, 'recharge', r.id, channel || ':' || external_id),
				  @extschema@.leg(customer, NULL, t, 'bonus', w.voucher_expense_account, w.voucher_account, bonus, 'recharge', r.id)];
	legs[1].transfer_id := pg_catalog.nextval('@extschema@.id_seq');	/* the recharge takes its id before its bonus voucher */
	IF @extschema@.micros(bonus) > 0 THEN
		/* R-RCH-2: the channel bonus is a voucher */
		INSERT INTO @extschema@.voucher (voucher_id, customer_id, amount, expires_at, at, recharge_id)
		VALUES (pg_catalog.nextval('@extschema@.id_seq'), customer, bonus, NULL, t, r.id);
		INSERT INTO @extschema@.voucher_left (voucher_id, customer_id, expires_at, amount)
		VALUES (pg_catalog.currval('@extschema@.id_seq'), customer, NULL, bonus);
	END IF;
	PERFORM @extschema@.post_transfers(legs);
	UPDATE @extschema@.wallet SET recharged = recharged + amt WHERE customer_id = customer;
	RETURN r.id;
END
$$;
COMMENT ON FUNCTION @extschema@.recharge(bigint, @extschema@.amount, text, text, timestamptz) IS 'Credit a real recharge from a payment channel, idempotent on (channel, external_id); bank_transfer only for gpubill_admin (R-RCH-1, R-RCH-2)';

CREATE FUNCTION @extschema@.grant_voucher(customer bigint, amt @extschema@.amount, expires_at timestamptz DEFAULT NULL,
										   at timestamptz DEFAULT NULL, request_id text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := @extschema@.api_time(at);
	w @extschema@.wallet;
	cur text;
	r record;
BEGIN
	w := @extschema@.lock_wallet(customer);
	t := @extschema@.customer_time(at, customer);
	cur := @extschema@.currency(w.cash);
	PERFORM @extschema@.check_amount(amt, cur, 'voucher amount');
	PERFORM @extschema@.check_time(expires_at, 'expires_at');
	IF expires_at IS NOT NULL AND expires_at <= t THEN
		RAISE EXCEPTION 'a voucher must expire after it is granted: % is not after %', expires_at, t
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	r := @extschema@.begin_request('grant_voucher', request_id, customer, NULL,
								   pg_catalog.jsonb_build_object('customer', customer, 'amount', amt::text,
																 'expires_at', expires_at), t);
	IF r.done THEN
		RETURN r.id;
	END IF;
	INSERT INTO @extschema@.voucher (voucher_id, customer_id, amount, expires_at, at)
	VALUES (r.id, customer, amt, expires_at, t);
	INSERT INTO @extschema@.voucher_left (voucher_id, customer_id, expires_at, amount) VALUES (r.id, customer, expires_at, amt);
	PERFORM @extschema@.post_transfers(ARRAY[
		@extschema@.leg(customer, NULL, t, 'voucher', w.voucher_expense_account, w.voucher_account, amt, 'voucher', r.id, request_id)]);
	IF grant_voucher.expires_at IS NOT NULL THEN
		UPDATE @extschema@.wallet SET voucher_expiry = LEAST(voucher_expiry, grant_voucher.expires_at) WHERE customer_id = customer;
	END IF;
	RETURN r.id;
END
$$;
COMMENT ON FUNCTION @extschema@.grant_voucher(bigint, @extschema@.amount, timestamptz, timestamptz, text) IS 'Grant a voucher, optionally expiring (R-RCH-3); vouchers are never withdrawable';

-- R-RCH-4: spend vouchers of a customer, earliest expiry first (under the wallet lock)
CREATE FUNCTION @extschema@.spend_vouchers(customer bigint, amt @extschema@.amount) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	IF @extschema@.micros(amt) <= 0 THEN
		RETURN;
	END IF;
	WITH lots AS (
		SELECT l.voucher_id, l.amount,
			   @extschema@.sum(l.amount) OVER (ORDER BY l.expires_at NULLS LAST, l.voucher_id) AS cum
		FROM @extschema@.voucher_left l WHERE l.customer_id = customer
	), spent AS (
		DELETE FROM @extschema@.voucher_left l USING lots x WHERE l.voucher_id = x.voucher_id AND x.cum <= amt
		RETURNING 1
	)
	UPDATE @extschema@.voucher_left l SET amount = x.cum - amt
	FROM lots x WHERE l.voucher_id = x.voucher_id AND x.cum - x.amount < amt AND x.cum > amt;
END
$$;
COMMENT ON FUNCTION @extschema@.spend_vouchers(bigint, @extschema@.amount) IS 'Take an amount from a customer''s vouchers, earliest expiry first (R-RCH-4)';

-- the vouchers of a customer whose voucher balance was posted away in full (a refund's forfeit)
CREATE FUNCTION @extschema@.drop_vouchers(customer bigint) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	DELETE FROM @extschema@.voucher_left l WHERE l.customer_id = customer;
	UPDATE @extschema@.wallet k SET voucher_expiry = NULL WHERE k.customer_id = customer AND k.voucher_expiry IS NOT NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.drop_vouchers(bigint) IS 'Forget what is left of a customer''s vouchers once its voucher balance was posted away in full';

/*
 * R-RCH-3: the remainder of vouchers expired by t is written off to the
 * platform's voucher breakage, at each voucher's expiry.  For the customers
 * given (whose wallets the caller has locked), or for all (tick: the wallets
 * are locked here, in customer order).
 */
CREATE FUNCTION @extschema@.expire_vouchers(t timestamptz, customers bigint[] DEFAULT NULL) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	legs @extschema@.leg[];
	touched bigint[];
BEGIN
	IF pg_catalog.cardinality(customers) = 0 THEN
		RETURN 0;	/* none of the customers given has a voucher expired (a settlement's usual case) */
	END IF;
	IF customers IS NULL THEN
		PERFORM pg_catalog.count(*) FROM (SELECT FROM @extschema@.wallet w
		WHERE w.customer_id IN (SELECT l.customer_id FROM @extschema@.voucher_left l WHERE l.expires_at <= t)
		ORDER BY w.customer_id FOR UPDATE) locked;	/* one row back, not one per row locked */
	END IF;
	WITH gone AS (
		DELETE FROM @extschema@.voucher_left l
		WHERE l.expires_at <= t AND (customers IS NULL OR l.customer_id = ANY (customers))
		RETURNING l.*
	)
	SELECT pg_catalog.array_agg(@extschema@.leg(g.customer_id, NULL, g.expires_at, 'voucher_expiry', w.voucher_account,
						@extschema@.account_of('platform', 0, 'voucher_breakage', @extschema@.currency(g.amount)),
						g.amount, 'voucher', g.voucher_id) ORDER BY g.customer_id, g.expires_at, g.voucher_id),
		   pg_catalog.array_agg(DISTINCT g.customer_id)
	INTO legs, touched
	FROM gone g JOIN @extschema@.wallet w USING (customer_id);
	IF legs IS NOT NULL THEN
		PERFORM @extschema@.post_transfers(legs);
		UPDATE @extschema@.wallet w
		SET voucher_expiry = (SELECT pg_catalog.min(l.expires_at) FROM @extschema@.voucher_left l
							  WHERE l.customer_id = w.customer_id AND l.expires_at > t)
		WHERE w.customer_id = ANY (touched);
	END IF;
	IF customers IS NOT NULL THEN
		UPDATE @extschema@.wallet w
		SET voucher_expiry = (SELECT pg_catalog.min(l.expires_at) FROM @extschema@.voucher_left l
							  WHERE l.customer_id = w.customer_id AND l.expires_at > t)
		WHERE w.customer_id = ANY (customers) AND w.voucher_expiry <= t;
	END IF;
	RETURN coalesce(pg_catalog.cardinality(touched), 0);
END
$$;
COMMENT ON FUNCTION @extschema@.expire_vouchers(timestamptz, bigint[]) IS 'Write off what is left of vouchers expired by t to the platform''s voucher breakage (R-RCH-3)';

-- a locked wallet brought up to t: holds and vouchers that expired by t are ended first
CREATE FUNCTION @extschema@.refresh_wallet(w @extschema@.wallet, t timestamptz) RETURNS @extschema@.wallet
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	IF w.hold_expiry <= t THEN
		w := @extschema@.expire_holds(w.customer_id, t);
	END IF;
	IF w.voucher_expiry <= t THEN
		PERFORM @extschema@.expire_vouchers(t, ARRAY[w.customer_id]);
		SELECT * INTO w FROM @extschema@.wallet k WHERE k.customer_id = w.customer_id;
	END IF;
	RETURN w;
END
$$;
COMMENT ON FUNCTION @extschema@.refresh_wallet(@extschema@.wallet, timestamptz) IS 'End the holds and vouchers of a locked wallet that expired by t; returns the wallet';

CREATE FUNCTION @extschema@.wallet(customer bigint)
	RETURNS TABLE (cash @extschema@.amount, vouchers @extschema@.amount, held @extschema@.amount,
				   available @extschema@.amount)
	LANGUAGE plpgsql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	RETURN QUERY
	SELECT w.cash, w.vouchers, w.held, w.cash + w.vouchers - w.held
	FROM @extschema@.wallet w WHERE w.customer_id = customer;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown customer: %', customer USING ERRCODE = 'no_data_found';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.wallet(bigint) IS 'A customer''s cash, vouchers, held (active holds) and available = cash + vouchers - held (R-RCH-4)';

CREATE FUNCTION @extschema@.record_invoice(customer bigint, amt @extschema@.amount, at timestamptz DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := @extschema@.api_time(at);
	w @extschema@.wallet;
	id bigint;
BEGIN
	w := @extschema@.lock_wallet(customer);
	t := @extschema@.customer_time(at, customer);
	PERFORM @extschema@.check_amount(amt, @extschema@.currency(w.cash), 'invoiced amount');
	INSERT INTO @extschema@.invoice (customer_id, amount, at) VALUES (customer, amt, t) RETURNING invoice_id INTO id;
	UPDATE @extschema@.wallet SET invoiced = invoiced + amt WHERE customer_id = customer;
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.record_invoice(bigint, @extschema@.amount, timestamptz) IS 'Record an amount invoiced to a customer; invoiced money is not refundable (R-REF-1)';
/*
 * 50_holds.sql — two-phase holds (freezes) on a customer's funds (R-LED-2).
 *
 * place_hold reserves an amount: it lowers available, not the balances.  A
 * hold ends once: capture_hold moves all or part of it (vouchers first, where
 * the hold allows vouchers; then cash) and releases the rest; release_hold
 * frees it; a hold past its expiry ends as expired.  Funds are sufficient
 * when the cash-only holds fit in cash and all holds fit in cash + vouchers.
 * wallet.hold_expiry (the earliest expiry of an active hold) lets a movement
 * skip looking for expired holds when none can be due.
 *
 * Map (scripts/file-map.pl):
 * API: capture_hold, place_hold, release_hold.
 * Internals: end_hold, engine_hold_owner, expire_holds, hold_funds,
 *   hold_split, open_hold.
 * Uses: 1_types, 2_base.
 */

-- end the customer's holds that expired by t (under the wallet lock); returns the wallet
CREATE FUNCTION @extschema@.expire_holds(customer bigint, t timestamptz) RETURNS @extschema@.wallet
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	w @extschema@.wallet;
BEGIN
	WITH ended AS (
		INSERT INTO @extschema@.hold_end (hold_id, customer_id, kind, captured, at)
		SELECT h.hold_id, h.customer_id, 'expire', @extschema@.zero(@extschema@.currency(h.amount)), h.expires_at
		FROM @extschema@.hold h
		WHERE h.customer_id = customer AND h.expires_at <= t
		  AND NOT EXISTS (SELECT FROM @extschema@.hold_end e WHERE e.hold_id = h.hold_id)
		RETURNING hold_id
	), freed AS (
		SELECT @extschema@.sum(h.amount) AS amount,
			   @extschema@.sum(CASE WHEN h.cash_only THEN h.amount ELSE @extschema@.zero(@extschema@.currency(h.amount)) END) AS cash_amount
		FROM ended JOIN @extschema@.hold h USING (hold_id)
	)
	UPDATE @extschema@.wallet k
	SET held = k.held - coalesce(f.amount, @extschema@.zero(@extschema@.currency(k.held))),
		cash_held = k.cash_held - coalesce(f.cash_amount, @extschema@.zero(@extschema@.currency(k.held))),
		hold_expiry = (SELECT pg_catalog.min(h.expires_at) FROM @extschema@.hold h
					   WHERE h.customer_id = customer AND h.expires_at > t
						 AND NOT EXISTS (SELECT FROM @extschema@.hold_end e WHERE e.hold_id = h.hold_id))
	FROM freed f WHERE k.customer_id = customer
	RETURNING k.* INTO w;
	RETURN w;
END
$$;
COMMENT ON FUNCTION @extschema@.expire_holds(bigint, timestamptz) IS 'End a customer''s holds whose expiry has passed (called under the wallet lock); returns the wallet';

/*
 * R-SEC-3: holds gpubill places for its own objects (a PAYG run's hour, a
 * contract's initial payment) are ended by gpubill only: the public hold
 * functions refuse them, or a later settlement or tick would fail.
 */
CREATE FUNCTION @extschema@.engine_hold_owner(object_type text) RETURNS boolean
	LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$ SELECT object_type IN ('instance', 'contract') $$;
COMMENT ON FUNCTION @extschema@.engine_hold_owner(text) IS 'Whether holds of an object type belong to gpubill''s engine (instances, contracts): not placed or ended through the public hold functions';

-- R-LED-2: reserve funds of a customer (the engine's and the public door's common part)
CREATE FUNCTION @extschema@.hold_funds(customer bigint, amt @extschema@.amount, cash_only boolean,
									   expires_at timestamptz, object_type text, object_id bigint, at timestamptz,
									   request_id text)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	t timestamptz := coalesce(at, pg_catalog.now());
	w @extschema@.wallet;
	id bigint;
	done boolean;
BEGIN
	SELECT * INTO w FROM @extschema@.wallet k WHERE k.customer_id = customer FOR UPDATE;	/* the first lock */
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown customer: %', customer USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM @extschema@.check_open(t);	/* no hold is placed in a closed month */
	IF amt IS NULL OR @extschema@.currency(amt) <> @extschema@.currency(w.cash) OR @extschema@.micros(amt) <= 0 THEN
		PERFORM @extschema@.check_amount(amt, @extschema@.currency(w.cash), 'hold amount');
	END IF;
	IF cash_only IS NULL THEN
		RAISE EXCEPTION 'cash_only must not be null' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF expires_at IS NOT NULL AND expires_at <= t THEN
		RAISE EXCEPTION 'a hold must expire after it is placed: % is not after %', expires_at, t
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF request_id IS NULL THEN
		id := pg_catalog.nextval('@extschema@.id_seq');
	ELSE
		SELECT * INTO id, done FROM @extschema@.begin_request('place_hold', request_id, customer, NULL,
									   pg_catalog.jsonb_build_object('customer', customer, 'amount', amt::text,
											'cash_only', cash_only, 'expires_at', expires_at,
											'object_type', object_type, 'object_id', object_id), t);
		IF done THEN
			RETURN id;
		END IF;
	END IF;
	IF w.hold_expiry <= t OR w.voucher_expiry <= t THEN	/* rarely: no call on the hot path */
		w := @extschema@.refresh_wallet(w, t);
	END IF;
	IF NOT @extschema@.funds_cover(w.cash, w.vouchers, w.held, w.cash_held, amt,
								   CASE WHEN cash_only THEN amt ELSE @extschema@.zero(@extschema@.currency(amt)) END) THEN
		RAISE EXCEPTION 'insufficient funds: a hold of % needs more than is available', amt
			USING ERRCODE = 'GB001',
				  DETAIL = pg_catalog.format('cash %s, vouchers %s, held %s (cash only %s); vouchers %s.',
						w.cash, w.vouchers, w.held, w.cash_held, CASE WHEN cash_only THEN 'not usable' ELSE 'usable' END);
	END IF;
	INSERT INTO @extschema@.hold (hold_id, customer_id, amount, cash_only, at, expires_at, object_type, object_id, request_id)
	VALUES (id, customer, amt, cash_only, t, expires_at, object_type, object_id, request_id);
	UPDATE @extschema@.wallet k
	SET held = k.held + amt,
		cash_held = CASE WHEN cash_only THEN k.cash_held + amt ELSE k.cash_held END,
		hold_expiry = LEAST(k.hold_expiry, expires_at),
		updated_at = GREATEST(k.updated_at, t)
	WHERE k.customer_id = customer;
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.hold_funds(bigint, @extschema@.amount, boolean, timestamptz, text, bigint, timestamptz, text) IS 'Reserve funds of a customer: lowers available, not the balances; GB001 if not available (R-LED-2)';

CREATE FUNCTION @extschema@.place_hold(customer bigint, amt @extschema@.amount, cash_only boolean DEFAULT false,
										expires_at timestamptz DEFAULT NULL, object_type text DEFAULT NULL,
										object_id bigint DEFAULT NULL, at timestamptz DEFAULT NULL,
										request_id text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	IF @extschema@.engine_hold_owner(object_type) THEN
		RAISE EXCEPTION 'holds of an % are placed by gpubill itself', object_type USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Use another object_type for the holds of your own objects.';
	END IF;
	PERFORM @extschema@.check_text(object_type, 'object_type', 63);
	PERFORM @extschema@.check_time(expires_at, 'expires_at');
	RETURN @extschema@.hold_funds(customer, amt, cash_only, expires_at, object_type, object_id,
								  @extschema@.customer_time(at, customer), request_id);
END
$$;
COMMENT ON FUNCTION @extschema@.place_hold(bigint, @extschema@.amount, boolean, timestamptz, text, bigint, timestamptz, text) IS 'Reserve funds of a customer (a freeze): lowers available, not the balances; GB001 if not available (R-LED-2); holds of instances and contracts are gpubill''s own (22023)';

-- the hold to end and its locked wallet, checked: it exists and has not
-- expired at t (end_hold finds an earlier end); with a repeated request id,
-- done is true
CREATE FUNCTION @extschema@.open_hold(hold bigint, t timestamptz, fn text, request_id text, args jsonb,
									  OUT h @extschema@.hold, OUT w @extschema@.wallet, OUT done boolean)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	ended text;
BEGIN
	SELECT * INTO h FROM @extschema@.hold k WHERE k.hold_id = hold;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown hold: %', hold USING ERRCODE = 'no_data_found';
	END IF;
	IF @extschema@.engine_hold_owner(h.object_type) THEN
		RAISE EXCEPTION 'hold % belongs to % %: gpubill ends it itself', hold, h.object_type, h.object_id
			USING ERRCODE = 'GB004',
				  HINT = 'Stop, release or settle the instance, or let the contract run; its hold ends with it.';
	END IF;
	SELECT * INTO w FROM @extschema@.wallet k WHERE k.customer_id = h.customer_id FOR UPDATE;
	done := request_id IS NOT NULL AND (@extschema@.begin_request(fn, request_id, h.customer_id, NULL, args, t)).done;
	IF done THEN
		RETURN;
	END IF;
	IF h.expires_at <= t THEN
		RAISE EXCEPTION 'hold % expired at %', hold, h.expires_at USING ERRCODE = 'GB004';
	END IF;
	IF t < h.at THEN
		RAISE EXCEPTION 'hold % cannot end at %, before it was placed at %', hold, t, h.at USING ERRCODE = 'GB004';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.open_hold(bigint, timestamptz, text, text, jsonb) IS 'Lock the wallet of a hold, handle a repeated request, check the hold can still end';

-- record the end of a hold, once (a second end raises GB004), and free what it
-- reserved in the cached held (under the wallet lock); what a capture moves is
-- posted by capture
CREATE FUNCTION @extschema@.end_hold(hold bigint, customer bigint, kind text, captured @extschema@.amount,
									 t timestamptz, request_id text) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	ended text;
BEGIN
	INSERT INTO @extschema@.hold_end (hold_id, customer_id, kind, captured, at, request_id)
	VALUES (hold, customer, end_hold.kind, captured, t, request_id)
	ON CONFLICT (hold_id) DO NOTHING;
	IF NOT FOUND THEN
		SELECT e.kind INTO ended FROM @extschema@.hold_end e WHERE e.hold_id = hold;
		RAISE EXCEPTION 'hold % has already ended (%)', hold, ended USING ERRCODE = 'GB004';
	END IF;
	UPDATE @extschema@.wallet k
	SET held = k.held - h.amount,
		cash_held = CASE WHEN h.cash_only THEN k.cash_held - h.amount ELSE k.cash_held END,
		updated_at = GREATEST(k.updated_at, t)
	FROM @extschema@.hold h
	WHERE h.hold_id = hold AND k.customer_id = h.customer_id;
END
$$;
COMMENT ON FUNCTION @extschema@.end_hold(bigint, bigint, text, @extschema@.amount, timestamptz, text) IS 'Record how a hold ended and free what it reserved; a hold ends once (GB004)';

-- how a captured hold was paid, from the journal (for a repeated request)
CREATE FUNCTION @extschema@.hold_split(hold bigint, customer bigint)
	RETURNS TABLE (voucher_paid @extschema@.amount, cash_paid @extschema@.amount,
				   partner_income @extschema@.amount, platform_fee @extschema@.amount)
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
	SELECT coalesce(@extschema@.sum(amount) FILTER (WHERE kind = 'voucher_spend'), z),
		   coalesce(@extschema@.sum(amount) FILTER (WHERE kind IN ('income', 'fee')), z),
		   coalesce(@extschema@.sum(amount) FILTER (WHERE kind = 'income'), z),
		   coalesce(@extschema@.sum(amount) FILTER (WHERE kind = 'fee'), z)
	FROM (SELECT @extschema@.zero(@extschema@.currency(h.amount)) AS z FROM @extschema@.hold h WHERE h.hold_id = hold) zz
	LEFT JOIN @extschema@.transfer t
		ON t.customer_id = customer AND t.object_type = 'hold' AND t.object_id = hold
	GROUP BY z
$$;
/* the transfers of a captured hold, found in each month by the hold (not by all of the customer's transfers) */
CREATE INDEX transfer_hold_idx ON @extschema@.transfer_default (object_id) WHERE object_type = 'hold';
COMMENT ON FUNCTION @extschema@.hold_split(bigint, bigint) IS 'Voucher, cash, partner income and platform fee parts of a captured hold, from the journal';

CREATE FUNCTION @extschema@.capture_hold(hold bigint, amt @extschema@.amount, partner bigint DEFAULT NULL,
										  at timestamptz DEFAULT NULL, request_id text DEFAULT NULL)
	RETURNS TABLE (voucher_paid @extschema@.amount, cash_paid @extschema@.amount,
				   partner_income @extschema@.amount, platform_fee @extschema@.amount)
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := @extschema@.api_time(at);
	o record;
	h @extschema@.hold;
	w @extschema@.wallet;
	cur text;
	income_account bigint;
BEGIN
	o := @extschema@.open_hold(hold, t, 'capture_hold', request_id,
							   CASE WHEN request_id IS NOT NULL THEN
							   pg_catalog.jsonb_build_object('hold', hold, 'amount', amt::text, 'partner', partner) END);
	h := o.h;		/* unpacked once: fields of row variables are cheap to read */
	w := o.w;
	IF o.done THEN
		RETURN QUERY SELECT * FROM @extschema@.hold_split(hold, h.customer_id);
		RETURN;
	END IF;
	cur := @extschema@.currency(h.amount);
	IF amt IS NULL OR @extschema@.currency(amt) <> cur THEN
		PERFORM @extschema@.check_amount(amt, cur, 'captured amount');
	END IF;
	IF @extschema@.micros(amt) < 0 OR amt > h.amount THEN
		RAISE EXCEPTION 'a capture of % is outside the hold of %', amt, h.amount
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Capture between zero and the amount held.';
	END IF;
	IF partner IS NOT NULL THEN
		income_account := @extschema@.account_of('partner', partner, 'income', cur);
		IF income_account IS NULL THEN
			IF EXISTS (SELECT FROM @extschema@.partner p WHERE p.partner_id = partner) THEN
				RAISE EXCEPTION 'currency mismatch: partner % is not paid in %', partner, cur USING ERRCODE = 'GB003';
			END IF;
			RAISE EXCEPTION 'unknown partner: %', partner USING ERRCODE = 'no_data_found';
		END IF;
	END IF;

	IF w.hold_expiry <= t OR w.voucher_expiry <= t THEN	/* rarely: no call on the hot path */
		w := @extschema@.refresh_wallet(w, t);
	END IF;
	/* R-RCH-4, R-PRT-3: vouchers first where the hold allows them, then cash split into income and fee */
	PERFORM @extschema@.end_hold(hold, h.customer_id, 'capture', amt, t, request_id);
	RETURN QUERY SELECT * FROM @extschema@.capture(w, amt, h.cash_only, income_account,
												   (@extschema@.partner_settings()).service_fee_rate, 'hold', hold, t, request_id);
END
$$;
COMMENT ON FUNCTION @extschema@.capture_hold(bigint, @extschema@.amount, bigint, timestamptz, text) IS 'Capture all or part of a hold, vouchers first unless the hold is cash-only; the cash part goes to the partner''s income less the service fee, or to the platform; the rest is released (R-LED-2, R-RCH-4, R-PRT-3)';

CREATE FUNCTION @extschema@.release_hold(hold bigint, at timestamptz DEFAULT NULL, request_id text DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := @extschema@.api_time(at);
	o record;
	h @extschema@.hold;
BEGIN
	o := @extschema@.open_hold(hold, t, 'release_hold', request_id, pg_catalog.jsonb_build_object('hold', hold));
	h := o.h;
	IF o.done THEN
		RETURN;
	END IF;
	PERFORM @extschema@.end_hold(hold, h.customer_id, 'release', @extschema@.zero(@extschema@.currency(h.amount)),
								 t, request_id);
END
$$;
COMMENT ON FUNCTION @extschema@.release_hold(bigint, timestamptz, text) IS 'Free a hold without moving money (R-LED-2)';
/*
 * 60_reversal.sql — corrections are new, reversing transfers (R-LED-4).
 *
 * Map (scripts/file-map.pl):
 * API: reverse_transfer.
 * Tables: reversal.
 * Uses: 1_types, 2_base.
 */

CREATE FUNCTION @extschema@.reverse_transfer(transfer bigint, reason text, at timestamptz DEFAULT NULL,
											  request_id text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := @extschema@.api_time(at);
	x @extschema@.transfer;
	w @extschema@.wallet;
	r record;
	dcash @extschema@.amount;
	dvoucher @extschema@.amount;
BEGIN
	IF NOT @extschema@.is_admin() THEN
		RAISE EXCEPTION 'transfers may be reversed only by gpubill_admin' USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF reason IS NULL OR reason = '' THEN
		RAISE EXCEPTION 'a reversal needs a reason' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.check_text(reason, 'reason', 1000);
	SELECT * INTO x FROM @extschema@.transfer k WHERE k.transfer_id = transfer;
	IF NOT FOUND THEN
		IF EXISTS (SELECT FROM @extschema@.archived_month) THEN
			RAISE EXCEPTION 'unknown transfer: %', transfer USING ERRCODE = 'no_data_found',
				HINT = 'The transfers of archived months are not in the database.';
		END IF;
		RAISE EXCEPTION 'unknown transfer: %', transfer USING ERRCODE = 'no_data_found';
	END IF;
	IF x.customer_id IS NOT NULL THEN
		w := @extschema@.lock_wallet(x.customer_id);
	END IF;
	r := @extschema@.begin_request('reverse_transfer', request_id, x.customer_id, x.partner_id,
								   pg_catalog.jsonb_build_object('transfer', transfer, 'reason', reason), t);
	IF r.done THEN
		RETURN r.id;
	END IF;
	IF x.reverses IS NOT NULL THEN
		RAISE EXCEPTION 'transfer % is itself a reversal', transfer USING ERRCODE = 'GB004';
	END IF;
	IF EXISTS (SELECT FROM @extschema@.reversal k WHERE k.reverses = transfer) THEN
		RAISE EXCEPTION 'transfer % has already been reversed', transfer USING ERRCODE = 'GB004';
	END IF;
	IF x.customer_id IS NOT NULL THEN
		/* what the reversal does to the customer's cached balances */
		dcash := @extschema@.zero(@extschema@.currency(x.amount));
		dvoucher := dcash;
		IF x.debit_account = w.cash_account THEN dcash := x.amount; END IF;
		IF x.credit_account = w.cash_account THEN dcash := -x.amount; END IF;
		IF x.debit_account = w.voucher_account THEN dvoucher := x.amount; END IF;
		IF x.credit_account = w.voucher_account THEN dvoucher := -x.amount; END IF;
		IF @extschema@.micros(w.cash + dcash + w.vouchers + dvoucher - w.held) < 0
		   OR @extschema@.micros(w.vouchers + dvoucher) < 0 THEN
			RAISE EXCEPTION 'insufficient funds to reverse transfer %', transfer USING ERRCODE = 'GB001';
		END IF;
	END IF;
	INSERT INTO @extschema@.reversal (reverses, transfer_id, customer_id, partner_id, at, kind, amount)
	VALUES (transfer, r.id, x.customer_id, x.partner_id, t, x.kind, x.amount);
	PERFORM @extschema@.post_transfers(ARRAY[ROW(r.id, x.customer_id, x.partner_id, t, 'reversal', x.credit_account, x.debit_account,
			x.amount, x.object_type, x.object_id, request_id, transfer, reason)::@extschema@.leg]);
	IF x.customer_id IS NOT NULL THEN
		IF x.kind = 'recharge' THEN
			UPDATE @extschema@.wallet k SET recharged = k.recharged - x.amount WHERE k.customer_id = x.customer_id;
		END IF;
		/* vouchers taken back are spent earliest expiry first; vouchers given back never expire */
		IF @extschema@.micros(dvoucher) < 0 THEN
			PERFORM @extschema@.spend_vouchers(x.customer_id, -dvoucher);
		ELSIF @extschema@.micros(dvoucher) > 0 THEN
			INSERT INTO @extschema@.voucher_left (voucher_id, customer_id, expires_at, amount)
			VALUES (r.id, x.customer_id, NULL, dvoucher);
		END IF;
	END IF;
	RETURN r.id;
END
$$;
COMMENT ON FUNCTION @extschema@.reverse_transfer(bigint, text, timestamptz, text) IS 'Correct a transfer with a new transfer in the opposite direction that references it; once per transfer; gpubill_admin only (R-LED-4)';
CREATE INDEX transfer_reverses_idx ON @extschema@.transfer_default (reverses) WHERE reverses IS NOT NULL;

/*
 * A transfer is reversed once: the journal is partitioned by month, so a
 * unique index on it could not see a second reversal in another month; this
 * table's key does (and stops two reversals racing for a partner's transfer,
 * which no wallet lock orders).
 */
CREATE TABLE @extschema@.reversal (
	reverses	bigint PRIMARY KEY,		/* the transfer reversed */
	transfer_id	bigint NOT NULL,		/* the reversing transfer */
	customer_id	bigint,					/* the party keys of the transfer reversed */
	partner_id	bigint,
	at			timestamptz NOT NULL,
	kind		text NOT NULL,			/* the kind and amount of the transfer reversed: the wallets' */
	amount		@extschema@.amount NOT NULL	/* recharged is checked without the journal (archived months) */
);
COMMENT ON TABLE @extschema@.reversal IS 'Each transfer reversed, once, and the transfer that reversed it; append-only (R-LED-4)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.reversal', '');
SELECT @extschema@.make_append_only('@extschema@.reversal');
/*
 * 80_verify.sql — the ledger's invariants (R-LED-3), one row per check.
 * verify() (8_clock) runs these with the checks of the later layers.
 *
 * Map (scripts/file-map.pl):
 * Internals: account_balances, verify_ledger.
 * Uses: 1_types.
 */

CREATE FUNCTION @extschema@.verify_ledger(whole boolean)
	RETURNS TABLE (check_name text, ok boolean, detail text)
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	/*
	 * Balances in micro-units as numeric: the world's and the platform's
	 * accounts sum every customer's movements and may leave the amount range
	 * (R-AMT-1) — a check must never fail on them.  Not full: the closed
	 * months are read from their roll-ups (their closing balances, the holds
	 * active at their end), the journal from the end of the last on.
	 */
	WITH open_from AS (
		SELECT b.since AS at FROM @extschema@.journal_base(whole) b
	), balance AS (
		SELECT b.account_id, a.currency, b.balance
		FROM @extschema@.journal_balances(whole) b JOIN @extschema@.account a USING (account_id)
	), per_currency AS (
		SELECT currency, pg_catalog.sum(balance) AS total FROM balance GROUP BY currency
	), active AS (
		SELECT h.customer_id, @extschema@.sum(h.amount) AS held,
			   @extschema@.sum(h.amount) FILTER (WHERE h.cash_only) AS cash_held
		FROM @extschema@.active_holds(whole) h
		GROUP BY h.customer_id
	), lots AS (
		SELECT l.customer_id, @extschema@.sum(l.amount) AS vouchers FROM @extschema@.voucher_left l GROUP BY l.customer_id
	), journal_wallet AS (
		SELECT w.customer_id, w.cash, w.vouchers, w.held, w.cash_held,
			   coalesce(c.balance, 0) AS journal_cash,
			   coalesce(v.balance, 0) AS journal_vouchers,
			   coalesce(a.held, @extschema@.zero(@extschema@.currency(w.cash))) AS active_held,
			   coalesce(a.cash_held, @extschema@.zero(@extschema@.currency(w.cash))) AS active_cash_held,
			   coalesce(o.vouchers, @extschema@.zero(@extschema@.currency(w.cash))) AS lot_vouchers
		FROM @extschema@.wallet w
		LEFT JOIN lots o ON o.customer_id = w.customer_id
		LEFT JOIN balance c ON c.account_id = w.cash_account
		LEFT JOIN balance v ON v.account_id = w.voucher_account
		LEFT JOIN active a ON a.customer_id = w.customer_id
	)
	SELECT 'accounts sum to zero per currency', count(*) = 0,
		   coalesce(string_agg(currency || ' ' || (total / 1000000)::text, ', '), 'every currency sums to zero')
	FROM per_currency WHERE total <> 0
	UNION ALL
	SELECT 'transfers move between known accounts of their currency', count(*) = 0,
		   count(*) || ' transfers with an unknown account or in another currency than an account'
		   || coalesce(': ' || string_agg(t.transfer_id::text, ', '), '')
	FROM @extschema@.transfer t
	LEFT JOIN @extschema@.account d ON d.account_id = t.debit_account
	LEFT JOIN @extschema@.account c ON c.account_id = t.credit_account
	WHERE t.at >= (SELECT o.at FROM open_from o)
	  AND (d.account_id IS NULL OR c.account_id IS NULL
		   OR @extschema@.currency(t.amount) <> d.currency OR @extschema@.currency(t.amount) <> c.currency)
	UNION ALL
	SELECT 'wallets belong to their customer''s accounts', count(*) = 0,
		   count(*) || ' wallets with a wrong customer or account' || coalesce(': ' || string_agg(w.customer_id::text, ', '), '')
	FROM @extschema@.wallet w
	LEFT JOIN @extschema@.customer k ON k.customer_id = w.customer_id
	LEFT JOIN @extschema@.account c ON c.account_id = w.cash_account
	LEFT JOIN @extschema@.account v ON v.account_id = w.voucher_account
	LEFT JOIN @extschema@.account f ON f.account_id = w.fee_account
	LEFT JOIN @extschema@.account e ON e.account_id = w.voucher_expense_account
	WHERE k.customer_id IS NULL
	   OR c.account_id IS NULL OR (c.owner_kind, c.owner_id, c.purpose, c.currency) <> ('customer', w.customer_id, 'cash', k.currency)
	   OR v.account_id IS NULL OR (v.owner_kind, v.owner_id, v.purpose, v.currency) <> ('customer', w.customer_id, 'voucher', k.currency)
	   OR f.account_id IS NULL OR (f.owner_kind, f.purpose, f.currency) <> ('platform', 'fee', k.currency)
	   OR e.account_id IS NULL OR (e.owner_kind, e.purpose, e.currency) <> ('platform', 'voucher_expense', k.currency)
	   OR @extschema@.currency(w.cash) <> k.currency
	UNION ALL
	SELECT 'cached balances equal the journal', count(*) = 0,
		   count(*) || ' wallets differ from the journal' || coalesce(': ' || string_agg(customer_id::text, ', '), '')
	FROM journal_wallet WHERE @extschema@.micros(cash) <> journal_cash OR @extschema@.micros(vouchers) <> journal_vouchers
	UNION ALL
	SELECT 'held equals the active holds', count(*) = 0,
		   count(*) || ' wallets whose held differs from their active holds' || coalesce(': ' || string_agg(customer_id::text, ', '), '')
	FROM journal_wallet WHERE held <> active_held OR cash_held <> active_cash_held
	UNION ALL
	/* available may go below zero after holds were placed (a storage settlement, an
	   expired voucher): the next settlement then stops the instance; vouchers may not */
	SELECT 'vouchers and holds are not negative', count(*) = 0,
		   count(*) || ' wallets with negative vouchers or holds, or cash-only holds beyond all holds'
		   || coalesce(': ' || string_agg(customer_id::text, ', '), '')
	FROM journal_wallet
	WHERE @extschema@.micros(vouchers) < 0 OR @extschema@.micros(held) < 0 OR @extschema@.micros(cash_held) < 0
	   OR cash_held > held
	UNION ALL
	SELECT 'what is left of each voucher sums to the vouchers', count(*) = 0,
		   count(*) || ' wallets whose vouchers differ from the vouchers left' || coalesce(': ' || string_agg(customer_id::text, ', '), '')
	FROM journal_wallet WHERE vouchers <> lot_vouchers
	UNION ALL
	SELECT 'no hold captured beyond what it reserved', count(*) = 0,
		   count(*) || ' hold ends without their hold or captured beyond its amount'
		   || coalesce(': ' || string_agg(e.hold_id::text, ', '), '')
	FROM @extschema@.hold_end e LEFT JOIN @extschema@.hold h USING (hold_id)
	WHERE e.at >= (SELECT o.at FROM open_from o)
	  AND (h.hold_id IS NULL OR h.customer_id <> e.customer_id
	   OR @extschema@.currency(e.captured) <> @extschema@.currency(h.amount) OR e.captured > h.amount
	   OR @extschema@.micros(e.captured) < 0)
	UNION ALL
	/* each reversal is recorded once (reversal) with its reversing transfer, which mirrors the original
	   (its kind and amount kept in reversal) */
	SELECT 'reversals reverse an existing transfer', count(*) = 0,
		   count(*) || ' reversals without a matching original' || coalesce(': ' || string_agg(v.transfer_id::text, ', '), '')
	FROM @extschema@.reversal v
	LEFT JOIN @extschema@.transfer r ON r.transfer_id = v.transfer_id
	LEFT JOIN @extschema@.transfer o ON o.transfer_id = v.reverses
	WHERE v.at >= (SELECT f.at FROM open_from f)
	  AND (r.transfer_id IS NULL OR r.reverses IS DISTINCT FROM v.reverses OR r.amount <> v.amount
		   OR o.transfer_id IS NULL AND NOT EXISTS (SELECT FROM @extschema@.archived_month a)	/* else it may be archived */
		   OR o.debit_account <> r.credit_account OR o.credit_account <> r.debit_account OR o.amount <> r.amount OR o.kind <> v.kind)
	UNION ALL
	SELECT 'every reversing transfer is recorded as the reversal', count(*) = 0,
		   count(*) || ' reversing transfers without their reversal' || coalesce(': ' || string_agg(r.transfer_id::text, ', '), '')
	FROM @extschema@.transfer r
	WHERE r.reverses IS NOT NULL AND r.at >= (SELECT f.at FROM open_from f)
	  AND NOT EXISTS (SELECT FROM @extschema@.reversal v WHERE v.reverses = r.reverses AND v.transfer_id = r.transfer_id)
	UNION ALL
	SELECT 'recharged equals the recharges', count(*) = 0,
		   count(*) || ' wallets whose recharged total differs' || coalesce(': ' || string_agg(w.customer_id::text, ', '), '')
	FROM @extschema@.wallet w
	LEFT JOIN (SELECT l.customer_id, @extschema@.sum(l.amount) AS total
			   FROM (SELECT r.customer_id, r.amount FROM @extschema@.recharge r
					 UNION ALL
					 SELECT v.customer_id, -v.amount FROM @extschema@.reversal v WHERE v.kind = 'recharge') l
			   GROUP BY l.customer_id) r USING (customer_id)
	WHERE w.recharged <> coalesce(r.total, @extschema@.zero(@extschema@.currency(w.cash)))
$$;
COMMENT ON FUNCTION @extschema@.verify_ledger(boolean) IS 'The ledger''s invariants (R-LED-3): one row per check with ok and a detail';

-- the journal balance (credits minus debits, micro-units as numeric) of every account of a purpose that has moved
CREATE FUNCTION @extschema@.account_balances(purpose text, whole boolean) RETURNS TABLE (account_id bigint, balance numeric)
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
	SELECT b.account_id, b.balance FROM @extschema@.journal_balances(whole) b
	WHERE b.account_id IN (SELECT a.account_id FROM @extschema@.account a WHERE a.purpose = account_balances.purpose)
$$;
COMMENT ON FUNCTION @extschema@.account_balances(text, boolean) IS 'Journal balance of every account of a purpose that has moved, in micro-units (verify''s checks of later layers)';
/*
 * 90_views.sql — the journal for readers (R-LED-7, R-BI-2).
 *
 * Map (scripts/file-map.pl):
 * API: accounts, transfers.
 * Uses: 1_types.
 */

CREATE VIEW @extschema@.transfers AS
SELECT t.transfer_id, t.at, t.recorded_at, t.kind, t.debit_account, t.credit_account, t.amount,
	   t.object_type, t.object_id, t.request_id, t.customer_id, t.partner_id, t.reverses, t.note,
	   d.owner_kind AS debit_owner_kind, d.owner_id AS debit_owner_id, d.purpose AS debit_purpose,
	   c.owner_kind AS credit_owner_kind, c.owner_id AS credit_owner_id, c.purpose AS credit_purpose
FROM @extschema@.transfer t
JOIN @extschema@.account d ON d.account_id = t.debit_account
JOIN @extschema@.account c ON c.account_id = t.credit_account;
COMMENT ON VIEW @extschema@.transfers IS 'The journal, one row per transfer: an amount moving at a business time from a debit account to a credit account, with its kind, the object it belongs to and both accounts'' owners and purposes';

/*
 * Sums in numeric micro-units: the world's payments_in account holds minus
 * every recharge ever made and may leave the amount range (R-AMT-1); its
 * balance is then NULL and balance_exact still exact — the view never fails.
 * The closed months come from their closing balances (journal_balances).
 */
CREATE VIEW @extschema@.accounts AS
SELECT a.account_id, a.owner_kind, a.owner_id, a.purpose, a.currency,
	   CASE WHEN pg_catalog.abs(coalesce(j.balance, 0)) <= 9223372036854775807
			THEN @extschema@.amount(coalesce(j.balance, 0) / 1000000, a.currency) END AS balance,
	   coalesce(j.balance, 0) / 1000000 AS balance_exact
FROM @extschema@.account a
LEFT JOIN @extschema@.journal_balances(false) j ON j.account_id = a.account_id;
COMMENT ON VIEW @extschema@.accounts IS 'Every ledger account with its balance (credits minus debits) summed from the journal, a row per account; balance is NULL where it leaves the amount range, balance_exact (numeric, in currency units) never is';
/*
 * 10_parties.sql — customers and partners, their accounts and flags.
 *
 * Map (scripts/file-map.pl):
 * API: open_customer, open_partner, set_approved, set_b2b, set_discount.
 * Internals: lock_partner.
 * Uses: 1_types, 2_base, 3_ledger.
 */

CREATE FUNCTION @extschema@.open_customer(external_ref text, currency text DEFAULT NULL, at timestamptz DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	cur text := coalesce(currency, @extschema@.default_currency());
	t timestamptz := @extschema@.api_time(at);
	c @extschema@.customer;
	id bigint;
	cash bigint;
	voucher bigint;
BEGIN
	IF external_ref IS NULL OR external_ref = '' THEN
		RAISE EXCEPTION 'external_ref must not be empty' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.check_text(external_ref, 'external_ref');
	PERFORM @extschema@.zero(cur);		/* 22023 unless three upper-case letters */
	INSERT INTO @extschema@.customer AS k (external_ref, currency, created_at)
	VALUES (open_customer.external_ref, cur, t)
	ON CONFLICT ON CONSTRAINT customer_external_ref_key DO NOTHING
	RETURNING customer_id INTO id;
	IF id IS NULL THEN
		/* opened before: the same customer, if the currency agrees */
		SELECT * INTO c FROM @extschema@.customer k WHERE k.external_ref = open_customer.external_ref;
		IF c.currency <> cur THEN
			RAISE EXCEPTION 'customer "%" exists with currency %', external_ref, c.currency
				USING ERRCODE = 'GB005';
		END IF;
		RETURN c.customer_id;
	END IF;
	PERFORM @extschema@.open_currency(cur);
	cash := @extschema@.ledger_account('customer', id, 'cash', cur);
	voucher := @extschema@.ledger_account('customer', id, 'voucher', cur);
	PERFORM @extschema@.open_wallet(id, cash, voucher, cur, t);
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.open_customer(text, text, timestamptz) IS 'Open a customer with cash and voucher accounts in one currency (default gpubill.default_currency); idempotent on external_ref';

CREATE FUNCTION @extschema@.open_partner(external_ref text, currency text DEFAULT NULL, at timestamptz DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	cur text := coalesce(currency, @extschema@.default_currency());
	p @extschema@.partner;
	id bigint;
BEGIN
	IF external_ref IS NULL OR external_ref = '' THEN
		RAISE EXCEPTION 'external_ref must not be empty' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.check_text(external_ref, 'external_ref');
	PERFORM @extschema@.zero(cur);
	INSERT INTO @extschema@.partner (external_ref, currency, created_at)
	VALUES (open_partner.external_ref, cur, @extschema@.api_time(at))
	ON CONFLICT ON CONSTRAINT partner_external_ref_key DO NOTHING
	RETURNING partner_id INTO id;
	IF id IS NULL THEN
		SELECT * INTO p FROM @extschema@.partner k WHERE k.external_ref = open_partner.external_ref;
		IF p.currency <> cur THEN
			RAISE EXCEPTION 'partner "%" exists with currency %', external_ref, p.currency
				USING ERRCODE = 'GB005';
		END IF;
		RETURN p.partner_id;
	END IF;
	PERFORM @extschema@.open_currency(cur);
	PERFORM @extschema@.ledger_account('partner', id, 'income', cur);
	PERFORM @extschema@.ledger_account('partner', id, 'deposit', cur);
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.open_partner(text, text, timestamptz) IS 'Open a partner with income and deposit accounts in one currency; idempotent on external_ref';

CREATE FUNCTION @extschema@.set_discount(customer bigint, discount numeric)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	IF discount IS NULL OR discount::text = 'NaN' OR discount <= 0 OR discount > 1 THEN
		RAISE EXCEPTION 'discount must be greater than 0 and at most 1: %', discount
			USING ERRCODE = 'invalid_parameter_value', HINT = '1 means no discount, 0.9 means 10% off.';
	END IF;
	PERFORM @extschema@.lock_wallet(customer);
	UPDATE @extschema@.customer k SET discount = set_discount.discount WHERE k.customer_id = customer;
END
$$;
COMMENT ON FUNCTION @extschema@.set_discount(bigint, numeric) IS 'Set a customer''s discount factor (1 = none, 0.9 = 10% off); acts at once';

CREATE FUNCTION @extschema@.set_approved(customer bigint, approved boolean)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	IF approved IS NULL THEN
		RAISE EXCEPTION 'approved must not be null' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.lock_wallet(customer);
	UPDATE @extschema@.customer k SET approved = set_approved.approved WHERE k.customer_id = customer;
END
$$;
COMMENT ON FUNCTION @extschema@.set_approved(bigint, boolean) IS 'Mark a customer approved for direct payment of exchange contracts (R-EXC-1); acts at once';

CREATE FUNCTION @extschema@.set_b2b(customer bigint, b2b boolean)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	IF NOT @extschema@.is_admin() THEN
		RAISE EXCEPTION 'B2B customers are marked only by gpubill_admin' USING ERRCODE = 'insufficient_privilege',
			DETAIL = pg_catalog.format('The calling role is %s.', @extschema@.calling_role());
	END IF;
	IF b2b IS NULL THEN
		RAISE EXCEPTION 'b2b must not be null' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.lock_wallet(customer);
	UPDATE @extschema@.customer k SET b2b = set_b2b.b2b WHERE k.customer_id = customer;
END
$$;
COMMENT ON FUNCTION @extschema@.set_b2b(bigint, boolean) IS 'Mark a customer B2B: bank transfers may recharge it (R-RCH-1); admin; acts at once';

-- lock a partner (its withdrawals, ratings and listings are serialised on the row)
CREATE FUNCTION @extschema@.lock_partner(partner bigint) RETURNS @extschema@.partner
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	p @extschema@.partner;
BEGIN
	SELECT * INTO p FROM @extschema@.partner k WHERE k.partner_id = partner FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown partner: %', partner USING ERRCODE = 'no_data_found';
	END IF;
	RETURN p;
END
$$;
COMMENT ON FUNCTION @extschema@.lock_partner(bigint) IS 'Lock and return a partner''s row; unknown partner raises P0002';
/*
 * 10_machines.sql — machines listed by partners (R-PRT-1, R-PRT-2) and their
 * state machine (R-PRT-5, R-PRT-6):
 *
 *   listed -> delisted            no new rentals; stopped instances may start
 *   listed | delisted -> offline  nothing runs or starts on it
 *   any -> removed                once every instance on it is released
 * The allowed transitions live in machine_transition and a trigger enforces
 * them for every writer; the functions are in 84_machine_lifecycle.sql.
 *
 * Map (scripts/file-map.pl):
 * API: list_machine.
 * Internals: delist_at, find_machine.
 * Tables: machine, machine_transition.
 * Uses: 1_types, 2_base, 3_ledger, 4_parties.
 */

-- R-PRT-5: a machine is delisted at its owner end time less delist_before_end_days
CREATE FUNCTION @extschema@.delist_at(owner_end_time timestamptz, s @extschema@.partner_settings) RETURNS timestamptz
	LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$ SELECT owner_end_time - (s).delist_before_end_days * interval '1 day' $$;
COMMENT ON FUNCTION @extschema@.delist_at(timestamptz, @extschema@.partner_settings) IS 'R-PRT-5: when a machine is delisted: its owner end time less delist_before_end_days (no new rentals or terms beyond it)';

CREATE TABLE @extschema@.machine (
	machine_id	bigint PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	partner_id	bigint NOT NULL REFERENCES @extschema@.partner,
	gpus		integer NOT NULL CHECK (gpus > 0),
	price_per_gpu_hour @extschema@.amount NOT NULL CHECK (@extschema@.micros(price_per_gpu_hour) > 0),
	week_price_per_gpu @extschema@.amount CHECK (@extschema@.micros(week_price_per_gpu) > 0),
	month_price_per_gpu @extschema@.amount CHECK (@extschema@.micros(month_price_per_gpu) > 0),
	owner_end_time timestamptz NOT NULL,
	vouchers_allowed boolean NOT NULL,
	billing		text NOT NULL CHECK (billing IN ('per_second', 'usage_hourly', 'one_time')),
	package_hours integer NOT NULL CHECK (package_hours > 0),
	state		text NOT NULL DEFAULT 'listed' CHECK (state IN ('listed', 'delisted', 'offline', 'removed')),
	end_notice_at timestamptz,				/* R-PRT-5: tick delisted it and sent migrate_data alerts */
	created_at	timestamptz NOT NULL,
	last_event_at timestamptz NOT NULL
);
CREATE INDEX machine_partner_idx ON @extschema@.machine (partner_id);
CREATE INDEX machine_end_idx ON @extschema@.machine (owner_end_time) WHERE end_notice_at IS NULL AND state <> 'removed';
COMMENT ON TABLE @extschema@.machine IS 'A machine a partner lists: GPUs, prices, owner end time, vouchers allowed, billing kind';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.machine', '');

-- a machine by id, locked if asked; unknown raises P0002
CREATE FUNCTION @extschema@.find_machine(machine bigint, lock boolean) RETURNS @extschema@.machine
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	m @extschema@.machine;
BEGIN
	IF lock THEN
		SELECT * INTO m FROM @extschema@.machine k WHERE k.machine_id = machine FOR UPDATE;
	ELSE
		SELECT * INTO m FROM @extschema@.machine k WHERE k.machine_id = machine;
	END IF;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown machine: %', machine USING ERRCODE = 'no_data_found';
	END IF;
	RETURN m;
END
$$;
COMMENT ON FUNCTION @extschema@.find_machine(bigint, boolean) IS 'A machine by id (locked if asked); unknown id raises P0002';

CREATE TABLE @extschema@.machine_transition (
	from_state	text NOT NULL,
	to_state	text NOT NULL,
	PRIMARY KEY (from_state, to_state)
);
INSERT INTO @extschema@.machine_transition VALUES
	('listed', 'delisted'), ('listed', 'offline'), ('delisted', 'offline'),
	('listed', 'removed'), ('delisted', 'removed'), ('offline', 'removed');
COMMENT ON TABLE @extschema@.machine_transition IS 'The allowed state changes of a machine';

CREATE TRIGGER machine_state_machine AFTER UPDATE ON @extschema@.machine
	FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state) EXECUTE FUNCTION @extschema@.check_transition('machine_transition', 'machine_id');

CREATE FUNCTION @extschema@.list_machine(partner bigint, gpus integer, price_per_gpu_hour @extschema@.amount,
										  owner_end_time timestamptz, vouchers_allowed boolean DEFAULT true,
										  week_price_per_gpu @extschema@.amount DEFAULT NULL,
										  month_price_per_gpu @extschema@.amount DEFAULT NULL,
										  billing text DEFAULT 'per_second', at timestamptz DEFAULT NULL,
										  package_hours integer DEFAULT 24)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := @extschema@.api_time(at);
	p @extschema@.partner;
	cur text;
	id bigint;
	deposit @extschema@.amount;
BEGIN
	p := @extschema@.lock_partner(partner);
	t := @extschema@.partner_time(at, partner);
	cur := p.currency;
	IF p.qualification <> 'qualified' THEN
		RAISE EXCEPTION 'partner % is not qualified (%)', partner, p.qualification USING ERRCODE = 'GB006';
	END IF;
	PERFORM @extschema@.check_gpus(gpus, 10000000);
	PERFORM @extschema@.check_amount(price_per_gpu_hour, cur, 'price per GPU-hour');
	IF week_price_per_gpu IS NOT NULL THEN
		PERFORM @extschema@.check_amount(week_price_per_gpu, cur, 'price per GPU-week');
	END IF;
	IF month_price_per_gpu IS NOT NULL THEN
		PERFORM @extschema@.check_amount(month_price_per_gpu, cur, 'price per GPU-month');
	END IF;
	PERFORM @extschema@.check_time(owner_end_time, 'owner end time');
	IF owner_end_time IS NULL OR owner_end_time <= t THEN
		RAISE EXCEPTION 'owner end time must be after the listing: %', owner_end_time
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF billing IS NULL OR billing NOT IN ('per_second', 'usage_hourly', 'one_time') THEN
		RAISE EXCEPTION 'invalid billing kind: %', coalesce(billing, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Billing kinds are per_second, usage_hourly and one_time.';
	END IF;
	IF vouchers_allowed IS NULL OR package_hours IS NULL OR package_hours <= 0 OR package_hours > 8784 THEN
		RAISE EXCEPTION 'vouchers_allowed must not be null and package_hours must be from 1 to 8784 (a year)'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO @extschema@.machine (partner_id, gpus, price_per_gpu_hour, week_price_per_gpu, month_price_per_gpu,
									 owner_end_time, vouchers_allowed, billing, package_hours, created_at, last_event_at)
	VALUES (partner, gpus, price_per_gpu_hour, week_price_per_gpu, month_price_per_gpu,
			owner_end_time, vouchers_allowed, billing, package_hours, t, t)
	RETURNING machine_id INTO id;
	/* R-PRT-6: a partner that lists again before its qualification ended keeps it */
	UPDATE @extschema@.lifecycle_event e SET cancelled_at = t
	WHERE e.kind = 'qualification_end_due' AND e.subject_type = 'partner' AND e.subject_id = partner
	  AND e.cancelled_at IS NULL AND e.due_at > t;
	/* R-PRT-2: the deposit moves from the partner's income (which may go below zero) to its deposit account */
	deposit := @extschema@.amount((@extschema@.partner_settings()).machine_deposit, cur);
	IF @extschema@.micros(deposit) > 0 THEN
		PERFORM @extschema@.post_transfers(ARRAY[
			@extschema@.leg(NULL, partner, t, 'deposit', @extschema@.account_of('partner', partner, 'income', cur),
							@extschema@.account_of('partner', partner, 'deposit', cur), deposit, 'machine', id)]);
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.list_machine(bigint, integer, @extschema@.amount, timestamptz, boolean, @extschema@.amount, @extschema@.amount, text, timestamptz, integer) IS 'List a machine of a partner and move its deposit from the partner''s income (R-PRT-1, R-PRT-2)';
/*
 * 20_events.sql — lifecycle events (R-ALR-2, R-PAYG-6): what the platform
 * must do and when.  One row per subject, kind and due time, never
 * duplicated by a re-run; announced with NOTIFY gpubill_lifecycle (JSON).
 *
 * Map (scripts/file-map.pl):
 * API: ack_lifecycle_event, due_lifecycle_events, lifecycle_events.
 * Internals: announce_lifecycle_event, local_data_erase_at.
 * Tables: lifecycle_event.
 * Uses: 2_base.
 */

-- R-PAYG-6: local data of an instance may be erased local_data_hours after it stopped
CREATE FUNCTION @extschema@.local_data_erase_at(stopped_at timestamptz, s @extschema@.payg_settings) RETURNS timestamptz
	LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$ SELECT stopped_at + (s).local_data_hours * interval '1 hour' $$;
COMMENT ON FUNCTION @extschema@.local_data_erase_at(timestamptz, @extschema@.payg_settings) IS 'R-PAYG-6: when an instance''s local data may be erased: local_data_hours after it stopped or expired (the due time of its local_data_erase_due event)';

CREATE TABLE @extschema@.lifecycle_event (
	event_id	bigint PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	kind		text NOT NULL CHECK (kind IN ('local_data_erase_due', 'instance_release_due', 'storage_erase_due',
						'personal_data_erase_due', 'deposit_refund_due', 'payout_due', 'qualification_end_due')),
	customer_id	bigint,
	partner_id	bigint,
	subject_type text NOT NULL,
	subject_id	bigint NOT NULL,
	due_at		timestamptz NOT NULL,
	created_at	timestamptz NOT NULL,
	cancelled_at timestamptz,
	acked_at	timestamptz,
	UNIQUE (kind, subject_type, subject_id, due_at)
);
CREATE INDEX lifecycle_event_open_idx ON @extschema@.lifecycle_event (due_at) WHERE cancelled_at IS NULL AND acked_at IS NULL;
CREATE INDEX lifecycle_event_qualification_idx ON @extschema@.lifecycle_event (subject_id)
	WHERE kind = 'qualification_end_due' AND cancelled_at IS NULL;	/* tick ends qualifications */
COMMENT ON TABLE @extschema@.lifecycle_event IS 'A lifecycle event: something the platform must do for a subject from due_at on';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.lifecycle_event', '');

CREATE FUNCTION @extschema@.announce_lifecycle_event() RETURNS trigger
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	stack text;
BEGIN
	/* live events only: rows the extension's functions write (tick, the API); a restore's COPY or an
	   INSERT by hand writes the table directly, and announces nothing (issue 15) */
	GET DIAGNOSTICS stack = PG_CONTEXT;
	IF stack OPERATOR(pg_catalog.!~) E'\n(PL/pgSQL|SQL) function ' THEN
		RETURN NULL;
	END IF;
	PERFORM pg_catalog.pg_notify('gpubill_lifecycle', pg_catalog.json_build_object(
		'event_id', NEW.event_id, 'kind', NEW.kind, 'customer', NEW.customer_id, 'partner', NEW.partner_id,
		'subject_type', NEW.subject_type, 'subject_id', NEW.subject_id, 'due_at', NEW.due_at)::text);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.announce_lifecycle_event() IS 'Trigger function: NOTIFY gpubill_lifecycle with the new event as JSON, for an event the extension''s functions write (a restore announces none)';
CREATE TRIGGER lifecycle_event_announce AFTER INSERT ON @extschema@.lifecycle_event
	FOR EACH ROW EXECUTE FUNCTION @extschema@.announce_lifecycle_event();

CREATE VIEW @extschema@.lifecycle_events AS
SELECT event_id, kind, customer_id AS customer, partner_id AS partner, subject_type, subject_id, due_at,
	   created_at, cancelled_at, acked_at
FROM @extschema@.lifecycle_event;
COMMENT ON VIEW @extschema@.lifecycle_events IS 'Every lifecycle event, one row each: its kind, subject, due time and whether it was cancelled or acknowledged';

CREATE VIEW @extschema@.due_lifecycle_events AS
SELECT * FROM @extschema@.lifecycle_events
WHERE due_at <= pg_catalog.now() AND cancelled_at IS NULL AND acked_at IS NULL;
COMMENT ON VIEW @extschema@.due_lifecycle_events IS 'Lifecycle events due now, neither cancelled nor acknowledged: the platform''s to-do list';

CREATE FUNCTION @extschema@.ack_lifecycle_event(event bigint)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	UPDATE @extschema@.lifecycle_event e SET acked_at = coalesce(e.acked_at, pg_catalog.now())
	WHERE e.event_id = event;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown lifecycle event: %', event USING ERRCODE = 'no_data_found';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.ack_lifecycle_event(bigint) IS 'The platform has acted on a lifecycle event; acts at once';
/*
 * 30_instances.sql — instances and their state machine (R-PAYG-3, R-PAYG-6).
 *
 *   running -> stopped -> running ...      (stop, start)
 *   stopped -> released                    (release, or tick 10 days after stop)
 *   running -> expired -> running/released (weekly and monthly terms)
 * A prepaid instance (weekly, monthly, or a one_time package) has paid up
 * to term_end; tick renews or ends it there.
 * The allowed transitions live in instance_transition and a trigger enforces
 * them for every writer.
 *
 * Map (scripts/file-map.pl):
 * Internals: payg_hold.
 * Tables: instance, instance_transition, order_line, order_line_default.
 * Uses: 1_types, 2_base, 3_ledger.
 */

-- R-PAYG-1: the hold of a PAYG run: its hourly fee, rounded to cents, x payg_hold_hours
CREATE FUNCTION @extschema@.payg_hold(hourly_fee @extschema@.amount, s @extschema@.payg_settings) RETURNS @extschema@.amount
	LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$ SELECT @extschema@.round(hourly_fee, 2) * (s).payg_hold_hours $$;
COMMENT ON FUNCTION @extschema@.payg_hold(@extschema@.amount, @extschema@.payg_settings) IS 'R-PAYG-1: the hold of a PAYG run: the hourly fee rounded to cents x payg_hold_hours (placed at creation and at each settlement)';

CREATE TABLE @extschema@.instance (
	instance_id	bigint PRIMARY KEY,
	customer_id	bigint NOT NULL,			/* party key; its wallet is locked first */
	machine_id	bigint NOT NULL,
	partner_id	bigint NOT NULL,
	gpus		integer NOT NULL CHECK (gpus > 0),
	billing		text NOT NULL CHECK (billing IN ('payg', 'weekly', 'monthly')),
	product		text NOT NULL CHECK (product IN ('per_second', 'usage_hourly', 'one_time')),	/* the machine's */
	auto_renew	boolean NOT NULL DEFAULT false,
	state		text NOT NULL CHECK (state IN ('running', 'stopped', 'expired', 'released')),
	hourly_fee	@extschema@.amount NOT NULL,	/* price x GPUs x discount, fixed at each start */
	cash_only	boolean NOT NULL,				/* the machine refuses vouchers */
	hold_id		bigint,							/* the running hour's freeze */
	billed_until timestamptz NOT NULL,			/* usage is charged up to here */
	next_settle_at timestamptz,				/* the next hourly settlement, while running */
	stopped_at	timestamptz,
	stop_reason	text CHECK (stop_reason IN ('requested', 'insufficient_balance', 'expired', 'package_end', 'released',
								'machine_offline', 'machine_end')),
	run_started_at timestamptz,				/* the current run began (usage_hourly minimum) */
	term_end	timestamptz,				/* prepaid: paid up to here */
	term_anchor	timestamptz,				/* prepaid: the first term began (months count from it) */
	term_count	integer,					/* prepaid: terms paid since term_anchor */
	created_at	timestamptz NOT NULL,
	last_event_at timestamptz NOT NULL
) WITH (fillfactor = 70);
CREATE INDEX instance_due_idx ON @extschema@.instance (next_settle_at) WHERE state = 'running';
CREATE INDEX instance_customer_idx ON @extschema@.instance (customer_id);
CREATE INDEX instance_machine_idx ON @extschema@.instance (machine_id);	/* capacity; an outage's customers, released too */
CREATE INDEX instance_stopped_idx ON @extschema@.instance (stopped_at) WHERE state IN ('stopped', 'expired');
CREATE INDEX instance_term_idx ON @extschema@.instance (term_end) WHERE state = 'running' AND term_end IS NOT NULL;
COMMENT ON TABLE @extschema@.instance IS 'A customer''s instance on a machine: its billing, state and how far it has been charged';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.instance', '');

CREATE TABLE @extschema@.instance_transition (
	from_state	text NOT NULL,
	to_state	text NOT NULL,
	PRIMARY KEY (from_state, to_state)
);
INSERT INTO @extschema@.instance_transition VALUES
	('running', 'stopped'), ('stopped', 'running'), ('stopped', 'released'),
	('running', 'expired'), ('expired', 'running'), ('expired', 'released');
COMMENT ON TABLE @extschema@.instance_transition IS 'The allowed state changes of an instance';

CREATE TRIGGER instance_state_machine AFTER UPDATE ON @extschema@.instance
	FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state) EXECUTE FUNCTION @extschema@.check_transition('instance_transition', 'instance_id');

-- order lines: every charge on a machine, split per R-PRT-3; append-only
CREATE TABLE @extschema@.order_line (
	line_id		bigint NOT NULL DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	customer_id	bigint NOT NULL,
	instance_id	bigint NOT NULL,
	machine_id	bigint NOT NULL,
	partner_id	bigint NOT NULL,
	kind		text NOT NULL CHECK (kind IN ('payg', 'payg_stop', 'weekly', 'monthly', 'package')),
	usage		tstzrange NOT NULL,				/* the usage charged */
	seconds		bigint NOT NULL CHECK (seconds >= 0),
	hourly_fee	@extschema@.amount NOT NULL,
	charge		@extschema@.amount NOT NULL,	/* the order's price (R-PAYG-4 rounding) */
	voucher_paid @extschema@.amount NOT NULL,
	cash_paid	@extschema@.amount NOT NULL,	/* the actual payment */
	partner_income @extschema@.amount NOT NULL,
	platform_fee @extschema@.amount NOT NULL,
	at			timestamptz NOT NULL,
	recorded_at	timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
	CHECK (charge = voucher_paid + cash_paid AND cash_paid = partner_income + platform_fee)
) PARTITION BY RANGE (at);					/* a partition per billing month (3_ledger/25_months.sql) */
/* the default partition: months without a partition, and the template of the months' keys and indexes */
CREATE TABLE @extschema@.order_line_default PARTITION OF @extschema@.order_line (
	PRIMARY KEY (line_id),
	UNIQUE (instance_id, usage)				/* a stretch of usage is charged once (in each month's partition) */
) DEFAULT;
COMMENT ON TABLE @extschema@.order_line_default IS 'The order lines of months without a partition of their own; the template of the months'' partitions';
CREATE INDEX order_line_customer_idx ON @extschema@.order_line_default (customer_id);
CREATE INDEX order_line_partner_idx ON @extschema@.order_line_default (partner_id, at);	/* a partner's income by month */
COMMENT ON TABLE @extschema@.order_line IS 'An order line: the charge for a stretch of an instance''s usage and its split into voucher part, actual payment, partner income and platform fee (R-PRT-3); append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.order_line', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.order_line_default', '');
SELECT @extschema@.make_append_only('@extschema@.order_line');
SELECT @extschema@.make_append_only('@extschema@.order_line_default');
/*
 * 40_settlement.sql — pay-as-you-go settlement (R-PAYG-4, R-PAYG-5), set-based,
 * by phase.
 *
 * Two entry points choose the instances (the due set) and stage their
 * charges; the phases after them are shared (settle_staged):
 *   settle_boundary(b)            every running PAYG instance whose next
 *                                 hourly settlement is b (tick), of the
 *                                 customers whose wallets it locks;
 *   settle_instance(i, b, then)   one instance up to b: then 'interim' holds
 *                                 again as at a boundary (an outage report, a
 *                                 catch-up: settle_instance_until), 'convert'
 *                                 leaves it running without a hold (R-PRE-4),
 *                                 any other value stops it for that reason.
 * The phases: the usage since billed_until is charged (hourly fee x seconds
 * / 3600, rounded to cents; a usage_hourly run that ends at least ceil(hours)
 * x the hourly fee, R-PAYG-7) and captured from the instance's hold by the
 * ledger (capture_staged: vouchers first in instance order within a
 * customer unless the machine refuses them, the cash part split into partner
 * income and platform fee), written as order lines; then the next hour is
 * held (hold_staged: a customer's instances in instance order, the first
 * that does not fit refused with every later one) or the instance stops at
 * b (insufficient_balance).  Vouchers expired by b are written off first
 * (R-RCH-3).
 *
 * The due set is kept in pg_temp.gpubill_due (one row per instance, with
 * what its order line needs), so no step after the choice reads the
 * instance table by anything but its key: one instance settled costs the
 * same whatever the number of instances.
 *
 * Locks: the customers' wallets in customer order, then the instances in
 * instance order — the order every API call uses (wallet, then instance).
 *
 * Map (scripts/file-map.pl):
 * Internals: prepare_settlement_tables, run_end_charge, settle_boundary,
 *   settle_instance, settle_instance_until, settle_staged, usage_charge.
 * Uses: 1_types, 2_base, 3_ledger.
 */

-- R-PAYG-4: the usage of an instance from billed_until up to b, prorated by the second
CREATE FUNCTION @extschema@.usage_charge(hourly_fee @extschema@.amount, billed_until timestamptz, b timestamptz)
	RETURNS @extschema@.amount
	LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$ SELECT @extschema@.prorate(hourly_fee, pg_catalog.floor(EXTRACT(epoch FROM b - billed_until))::bigint) $$;
COMMENT ON FUNCTION @extschema@.usage_charge(@extschema@.amount, timestamptz, timestamptz) IS 'The charge of an instance''s usage from billed_until up to b: hourly fee x seconds / 3600, rounded to cents (R-PAYG-4)';

-- R-PAYG-7: what ends a usage_hourly run at b: at least ceil(hours) x the hourly fee over the run, less what it was charged
CREATE FUNCTION @extschema@.run_end_charge(instance bigint, hourly_fee @extschema@.amount, run_started_at timestamptz, b timestamptz)
	RETURNS @extschema@.amount
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
	SELECT @extschema@.round(hourly_fee * pg_catalog.ceil(EXTRACT(epoch FROM b - run_started_at) / 3600)::numeric, 2)
		   - coalesce((SELECT @extschema@.sum(o.charge) FROM @extschema@.order_line o
					   WHERE o.instance_id = instance AND pg_catalog.upper(o.usage) > run_started_at),
					  @extschema@.zero(@extschema@.currency(hourly_fee)))
$$;
COMMENT ON FUNCTION @extschema@.run_end_charge(bigint, @extschema@.amount, timestamptz, timestamptz) IS 'The charge that ends a usage_hourly run at b: at least ceil(hours) x the hourly fee over the run, less what the run was charged (R-PAYG-7)';

-- the settlement's session tables: the ledger's stages, and the due set with what the order lines need
CREATE FUNCTION @extschema@.prepare_settlement_tables() RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	PERFORM @extschema@.prepare_session_tables(ARRAY[
		['gpubill_due', 'instance_id bigint NOT NULL, customer_id bigint NOT NULL, machine_id bigint NOT NULL, '
						'partner_id bigint NOT NULL, hourly_fee @extschema@.amount NOT NULL, billed_until timestamptz NOT NULL, '
						'hold_id bigint NOT NULL, cash_only boolean NOT NULL, charge @extschema@.amount NOT NULL']]);
END
$$;
COMMENT ON FUNCTION @extschema@.prepare_settlement_tables() IS 'Create (or check) the session tables of PAYG settlement: the ledger''s stages and the due set (pg_temp.gpubill_due)';

/*
 * The shared phases, over what the entry point staged in
 * pg_temp.gpubill_capture: the charges of the due set (one row per
 * instance: seq is the instance id, object_id its order line's id) and, for
 * the instances that are to run on, the hold of their next hour.
 * Capture and order lines of kind line_kind; the next hours held; an
 * instance not held stops for unheld_reason, or (NULL: a conversion) runs
 * on without a hold.
 */
CREATE FUNCTION @extschema@.settle_staged(b timestamptz, line_kind text, unheld_reason text,
										   OUT settled integer, OUT stopped integer)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	cfg @extschema@.payg_settings := @extschema@.payg_settings();
	next_b timestamptz := @extschema@.upper(@extschema@.billing_period('hour', b, @extschema@.billing_timezone()));
BEGIN
	SELECT pg_catalog.count(*) INTO settled FROM pg_temp.gpubill_capture;

	/* 1. the usage up to b captured from the holds (the ledger's voucher-first capture), as order lines */
	INSERT INTO @extschema@.order_line (line_id, customer_id, instance_id, machine_id, partner_id, kind, usage, seconds,
										hourly_fee, charge, voucher_paid, cash_paid, partner_income, platform_fee, at)
	SELECT c.object_id, c.customer_id, i.instance_id, i.machine_id, i.partner_id, line_kind,
		   pg_catalog.tstzrange(i.billed_until, b, CASE WHEN x.seconds > 0 THEN '[)' ELSE '[]' END),
		   x.seconds, i.hourly_fee, c.charge, c.voucher_paid, c.cash_paid, c.partner_income, c.cash_paid - c.partner_income, b
	FROM @extschema@.capture_staged() c
	JOIN pg_temp.gpubill_due i ON i.instance_id = c.seq
	CROSS JOIN LATERAL (SELECT pg_catalog.floor(EXTRACT(epoch FROM b - i.billed_until))::bigint AS seconds) x
	WHERE x.seconds > 0 OR @extschema@.micros(c.charge) > 0;	/* a stop on the settlement instant charges nothing */

	/* 2. the next hours held (the ledger's holds, in instance order per customer); a stop holds nothing */
	IF EXISTS (SELECT FROM pg_temp.gpubill_capture c WHERE c.next_hold IS NOT NULL) THEN
		PERFORM @extschema@.hold_staged();
	END IF;

	/* 3. each instance moves on to the next hour with its hold, or stops (or, converted, runs on unheld) */
	WITH verdict AS (
		SELECT c.seq AS instance_id, c.next_hold_id AS new_hold, c.next_hold_id IS NOT NULL AS keep
		FROM pg_temp.gpubill_capture c
	), moved AS (
		UPDATE @extschema@.instance i
		SET billed_until = b, last_event_at = GREATEST(i.last_event_at, b), hold_id = v.new_hold,
			next_settle_at = CASE WHEN v.keep THEN next_b END,
			state = CASE WHEN v.keep OR unheld_reason IS NULL THEN i.state ELSE 'stopped' END,
			stopped_at = CASE WHEN v.keep OR unheld_reason IS NULL THEN i.stopped_at ELSE b END,
			stop_reason = CASE WHEN v.keep OR unheld_reason IS NULL THEN i.stop_reason ELSE unheld_reason END
		FROM verdict v
		WHERE i.instance_id = v.instance_id
		RETURNING i.instance_id, i.customer_id, i.state
	), stops AS (
		SELECT m.instance_id, m.customer_id FROM moved m WHERE m.state = 'stopped'
	)
	/* R-PAYG-6: local data may be erased a day after the stop */
	INSERT INTO @extschema@.lifecycle_event (kind, customer_id, subject_type, subject_id, due_at, created_at)
	SELECT 'local_data_erase_due', x.customer_id, 'instance', x.instance_id, @extschema@.local_data_erase_at(b, cfg), b FROM stops x
	ON CONFLICT DO NOTHING;
	GET DIAGNOSTICS stopped = ROW_COUNT;
	/* emptied for the next settlement of this transaction (TRUNCATE would replan these statements at every call) */
	PERFORM @extschema@.empty_stage('pg_temp.gpubill_capture', settled);
	PERFORM @extschema@.empty_stage('pg_temp.gpubill_due', settled);
END
$$;
COMMENT ON FUNCTION @extschema@.settle_staged(timestamptz, text, text) IS 'The shared phases of PAYG settlement over the staged charges: capture and order lines, the next hour held, instances moved on or stopped (R-PAYG-4, R-PAYG-5)';

/*
 * Every instance due at the boundary b.  The customers settled are those
 * whose wallets are locked here (an API call may make an instance due at b
 * while this runs: its customer is settled at its next call or tick,
 * wallet first), in the scope of tick's pass; they are kept in a temporary
 * table (local buffers: no memory per row).
 */
CREATE FUNCTION @extschema@.settle_boundary(b timestamptz, OUT settled integer, OUT stopped integer)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	fee_rate numeric := (@extschema@.partner_settings()).service_fee_rate;
	cfg @extschema@.payg_settings := @extschema@.payg_settings();
	r record;
BEGIN
	PERFORM @extschema@.prepare_settlement_tables();
	DELETE FROM pg_temp.gpubill_settling;
	INSERT INTO pg_temp.gpubill_settling
	SELECT w.customer_id FROM @extschema@.wallet w
	WHERE w.customer_id IN (SELECT i.customer_id FROM @extschema@.instance i WHERE i.state = 'running' AND i.next_settle_at = b)
	  AND w.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
	ORDER BY w.customer_id FOR UPDATE;
	PERFORM @extschema@.expire_vouchers(b, ARRAY(
		SELECT w.customer_id FROM @extschema@.wallet w
		WHERE w.voucher_expiry <= b AND w.customer_id IN (SELECT s.customer_id FROM pg_temp.gpubill_settling s)));
	PERFORM pg_catalog.count(*) FROM (SELECT FROM @extschema@.instance i
	WHERE i.state = 'running' AND i.billing = 'payg' AND i.next_settle_at = b
	  AND i.customer_id IN (SELECT s.customer_id FROM pg_temp.gpubill_settling s)
	ORDER BY i.instance_id FOR UPDATE) locked;	/* one row back, not one per row locked */
	/* the due set: each instance's charge up to b, and the hold of its next hour */
	WITH due AS (
		INSERT INTO pg_temp.gpubill_due AS n
		SELECT d.instance_id, d.customer_id, d.machine_id, d.partner_id, d.hourly_fee, d.billed_until, d.hold_id, d.cash_only,
			   @extschema@.usage_charge(d.hourly_fee, d.billed_until, b)
		FROM @extschema@.instance d
		WHERE d.state = 'running' AND d.billing = 'payg' AND d.hold_id IS NOT NULL AND d.next_settle_at = b
		  AND d.customer_id IN (SELECT s.customer_id FROM pg_temp.gpubill_settling s)
		RETURNING n.*
	)
	INSERT INTO pg_temp.gpubill_capture (customer_id, seq, at, charge, cash_only, hold_id, hold_amount, hold_cash_only,
										 income_account, fee_rate, object_type, object_id,
										 next_hold, next_hold_id, next_object_type, next_object_id)
	SELECT d.customer_id, d.instance_id, b, d.charge,
		   d.cash_only, d.hold_id, h.amount, h.cash_only, a.account_id, fee_rate, 'order_line', pg_catalog.nextval('@extschema@.id_seq'),
		   @extschema@.payg_hold(d.hourly_fee, cfg), pg_catalog.nextval('@extschema@.id_seq'), 'instance', d.instance_id
	FROM due d
	JOIN @extschema@.hold h ON h.hold_id = d.hold_id
	LEFT JOIN @extschema@.account a ON a.owner_kind = 'partner' AND a.owner_id = d.partner_id AND a.purpose = 'income'
								   AND a.currency = @extschema@.currency(d.hourly_fee)
	ORDER BY d.customer_id, d.instance_id;	/* the ids drawn in this order (nextval runs after the sort): the same on any replay */
	r := @extschema@.settle_staged(b, 'payg', 'insufficient_balance');
	settled := r.settled;
	stopped := r.stopped;
END
$$;
COMMENT ON FUNCTION @extschema@.settle_boundary(timestamptz) IS 'Settle every PAYG instance due at the hourly boundary b, of the customers of tick''s pass: charge, capture, hold the next hour or stop (R-PAYG-4, R-PAYG-5)';

/*
 * One running PAYG instance up to b (its wallet locked by the caller):
 * then 'interim' holds the next hour as at a boundary; 'convert' leaves it
 * running without a hold; any other value stops it for that reason, a
 * usage_hourly run charged at least its ceil(hours) (R-PAYG-7).
 */
CREATE FUNCTION @extschema@.settle_instance(instance bigint, b timestamptz, then_ text,
											 OUT settled integer, OUT stopped integer)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	fee_rate numeric := (@extschema@.partner_settings()).service_fee_rate;
	run_ends boolean := then_ <> 'interim';
	r record;
BEGIN
	PERFORM @extschema@.prepare_settlement_tables();
	PERFORM @extschema@.expire_vouchers(b, ARRAY(
		SELECT w.customer_id FROM @extschema@.wallet w
		WHERE w.voucher_expiry <= b
		  AND w.customer_id = (SELECT i.customer_id FROM @extschema@.instance i WHERE i.instance_id = instance)));
	WITH due AS (
		INSERT INTO pg_temp.gpubill_due AS n
		SELECT d.instance_id, d.customer_id, d.machine_id, d.partner_id, d.hourly_fee, d.billed_until, d.hold_id, d.cash_only,
			   CASE WHEN run_ends AND d.product = 'usage_hourly'
					THEN @extschema@.run_end_charge(d.instance_id, d.hourly_fee, d.run_started_at, b)
					ELSE @extschema@.usage_charge(d.hourly_fee, d.billed_until, b) END
		FROM (SELECT * FROM @extschema@.instance k
			  WHERE k.instance_id = instance AND k.state = 'running' AND k.billing = 'payg' AND k.hold_id IS NOT NULL
			  FOR UPDATE) d
		RETURNING n.*
	)
	INSERT INTO pg_temp.gpubill_capture (customer_id, seq, at, charge, cash_only, hold_id, hold_amount, hold_cash_only,
										 income_account, fee_rate, object_type, object_id,
										 next_hold, next_hold_id, next_object_type, next_object_id)
	SELECT d.customer_id, d.instance_id, b, d.charge,
		   d.cash_only, d.hold_id, h.amount, h.cash_only, a.account_id, fee_rate, 'order_line', pg_catalog.nextval('@extschema@.id_seq'),
		   /* interim: it runs on, on the hold of its next hour */
		   CASE WHEN NOT run_ends THEN @extschema@.payg_hold(d.hourly_fee, @extschema@.payg_settings()) END,
		   CASE WHEN NOT run_ends THEN pg_catalog.nextval('@extschema@.id_seq') END, 'instance', d.instance_id
	FROM due d
	JOIN @extschema@.hold h ON h.hold_id = d.hold_id
	LEFT JOIN @extschema@.account a ON a.owner_kind = 'partner' AND a.owner_id = d.partner_id AND a.purpose = 'income'
								   AND a.currency = @extschema@.currency(d.hourly_fee);
	r := @extschema@.settle_staged(b, CASE WHEN run_ends THEN 'payg_stop' ELSE 'payg' END,
								   CASE then_ WHEN 'interim' THEN 'insufficient_balance' WHEN 'convert' THEN NULL ELSE then_ END);
	settled := r.settled;
	stopped := r.stopped;
END
$$;
COMMENT ON FUNCTION @extschema@.settle_instance(bigint, timestamptz, text) IS 'Settle one PAYG instance up to b, then hold the next hour (interim), leave it running unheld (convert) or stop it for a reason (R-PAYG-4, R-PAYG-5, R-PAYG-7)';

-- every hourly boundary of one instance due up to t, each at its own instant, in time order (catch-up, R-CLK-1)
CREATE FUNCTION @extschema@.settle_instance_until(instance bigint, t timestamptz) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	b timestamptz;
	boundaries integer := 0;
BEGIN
	LOOP
		SELECT i.next_settle_at INTO b FROM @extschema@.instance i
		WHERE i.instance_id = instance AND i.state = 'running' AND i.next_settle_at <= t;
		EXIT WHEN b IS NULL;
		PERFORM @extschema@.settle_instance(instance, b, 'interim');
		boundaries := boundaries + 1;
	END LOOP;
	RETURN boundaries;
END
$$;
COMMENT ON FUNCTION @extschema@.settle_instance_until(bigint, timestamptz) IS 'Settle every hourly boundary of one instance due up to t, each at its own instant, in time order (R-CLK-1)';
/*
 * 50_instance_api.sql — creating, stopping, starting and releasing instances
 * (R-PAYG-1..6, R-PRT-1, R-CLK-5).  Every call locks the customer's wallet,
 * then the instance, and first settles every hourly boundary the instance
 * missed up to `at`, exactly as tick would have.
 *
 * Map (scripts/file-map.pl):
 * API: convert_instance, create_instance, instance_state, release_instance,
 *   resize_instance, set_auto_renew, start_instance, stop_instance.
 * Internals: check_capacity, check_not_in_arrears, check_payg_limits,
 *   halt_instance, hold_run, hourly_fee, lock_instance, lock_machine.
 * Uses: 1_types, 2_base, 3_ledger.
 */

-- lock an instance: its customer's wallet first, then the instance
CREATE FUNCTION @extschema@.lock_instance(instance bigint) RETURNS @extschema@.instance
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	i @extschema@.instance;
BEGIN
	SELECT * INTO i FROM @extschema@.instance k WHERE k.instance_id = instance;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown instance: %', instance USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM @extschema@.lock_wallet(i.customer_id);
	SELECT * INTO i FROM @extschema@.instance k WHERE k.instance_id = instance FOR UPDATE;
	RETURN i;
END
$$;
COMMENT ON FUNCTION @extschema@.lock_instance(bigint) IS 'Lock an instance''s wallet, then the instance; unknown id raises P0002';

-- R-PRT-1: the GPUs of a machine's running instances never exceed its GPUs
CREATE FUNCTION @extschema@.check_capacity(m @extschema@.machine, gpus integer, except_instance bigint) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	used integer;
BEGIN
	SELECT coalesce(pg_catalog.sum(i.gpus), 0) INTO used FROM @extschema@.instance i
	WHERE i.machine_id = m.machine_id AND i.state = 'running' AND i.instance_id IS DISTINCT FROM except_instance;
	IF used + gpus > m.gpus THEN
		RAISE EXCEPTION 'machine % has % of % GPUs free, % asked', m.machine_id, m.gpus - used, m.gpus, gpus
			USING ERRCODE = 'GB002';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.check_capacity(@extschema@.machine, integer, bigint) IS 'Raise GB002 unless a machine has the GPUs free (R-PRT-1)';

-- a machine locked for a rental (after the wallet), checked usable
CREATE FUNCTION @extschema@.lock_machine(machine bigint, cur text, for_start boolean, t timestamptz) RETURNS @extschema@.machine
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	m @extschema@.machine;
	delist_at timestamptz;
BEGIN
	m := @extschema@.find_machine(machine, true);
	IF m.state <> 'listed' AND NOT (for_start AND m.state = 'delisted') THEN
		RAISE EXCEPTION 'machine % is %', machine, m.state USING ERRCODE = 'GB004',
			HINT = 'New rentals need a listed machine; a delisted one still lets stopped instances start.';
	END IF;
	/* R-PRT-5: delisted from the owner end time less delist_before_end_days, whether or not tick has run */
	delist_at := @extschema@.delist_at(m.owner_end_time, @extschema@.partner_settings());
	IF t >= m.owner_end_time THEN
		RAISE EXCEPTION 'machine % reached its owner end time at %: nothing runs on it any more', machine, m.owner_end_time
			USING ERRCODE = 'GB004';
	END IF;
	IF NOT for_start AND t >= delist_at THEN
		RAISE EXCEPTION 'machine % is delisted from % (its owner end time less % days)', machine, delist_at,
			(@extschema@.partner_settings()).delist_before_end_days USING ERRCODE = 'GB004';
	END IF;
	IF @extschema@.currency(m.price_per_gpu_hour) <> cur THEN
		RAISE EXCEPTION 'currency mismatch: machine % is priced in %, the customer pays in %', machine,
			@extschema@.currency(m.price_per_gpu_hour), cur USING ERRCODE = 'GB003';
	END IF;
	RETURN m;
END
$$;
COMMENT ON FUNCTION @extschema@.lock_machine(bigint, text, boolean, timestamptz) IS 'Lock a machine for a rental at t and check it is listed and not due to be delisted (or delisted, for a start) and in the customer''s currency';

-- the hourly fee of GPUs on a machine for a customer (R-PAYG-1)
CREATE FUNCTION @extschema@.hourly_fee(m @extschema@.machine, customer bigint, gpus integer) RETURNS @extschema@.amount
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	RETURN m.price_per_gpu_hour * (gpus * (SELECT k.discount FROM @extschema@.customer k WHERE k.customer_id = customer));
END
$$;
COMMENT ON FUNCTION @extschema@.hourly_fee(@extschema@.machine, bigint, integer) IS 'Price per GPU-hour x GPUs x the customer''s discount (R-PAYG-1)';

-- R-PAYG-1: the hold of a PAYG run: the hourly fee, rounded to cents, x payg_hold_hours
CREATE FUNCTION @extschema@.hold_run(customer bigint, instance bigint, fee @extschema@.amount, cash_only boolean,
									  t timestamptz) RETURNS bigint
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	RETURN @extschema@.hold_funds(customer, @extschema@.payg_hold(fee, @extschema@.payg_settings()),
								  cash_only, NULL, 'instance', instance, t, NULL);
END
$$;
COMMENT ON FUNCTION @extschema@.hold_run(bigint, bigint, @extschema@.amount, boolean, timestamptz) IS 'Freeze the first hour(s) of a PAYG run (R-PAYG-1)';

-- R-PAYG-2: limits of PAYG instances by real recharges (bonuses and vouchers do not count)
CREATE FUNCTION @extschema@.check_payg_limits(w @extschema@.wallet, gpus integer, except_instance bigint) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	n integer;
	threshold @extschema@.amount := @extschema@.amount((@extschema@.payg_settings()).payg_multi_gpu_recharge_threshold,
													   @extschema@.currency(w.cash));
BEGIN
	SELECT pg_catalog.count(*) INTO n FROM @extschema@.instance i
	WHERE i.customer_id = w.customer_id AND i.billing = 'payg' AND i.state <> 'released'
	  AND i.instance_id IS DISTINCT FROM except_instance;
	IF @extschema@.micros(w.recharged) = 0 THEN
		IF n >= (@extschema@.payg_settings()).payg_limit_unrecharged_instances OR gpus > 1 THEN
			RAISE EXCEPTION 'a customer who never recharged may run % pay-as-you-go instance(s) of 1 GPU',
				(@extschema@.payg_settings()).payg_limit_unrecharged_instances
				USING ERRCODE = 'GB002', DETAIL = pg_catalog.format('%s instance(s) not released; %s GPU(s) asked.', n, gpus);
		END IF;
	ELSIF n >= (@extschema@.payg_settings()).payg_limit_instances THEN
		RAISE EXCEPTION 'at most % pay-as-you-go instances that are not released', (@extschema@.payg_settings()).payg_limit_instances
			USING ERRCODE = 'GB002';
	ELSIF gpus > 1 AND w.recharged < threshold THEN
		RAISE EXCEPTION 'instances of more than 1 GPU need % in real recharges', threshold
			USING ERRCODE = 'GB002', DETAIL = pg_catalog.format('Recharged so far: %s.', w.recharged);
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.check_payg_limits(@extschema@.wallet, integer, bigint) IS 'Raise GB002 when a PAYG instance of gpus GPUs would exceed the limits by real recharges (R-PAYG-2)';

-- R-ARR-1: in arrears, no instance is created or started
CREATE FUNCTION @extschema@.check_not_in_arrears(w @extschema@.wallet) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	IF @extschema@.micros(w.cash) < 0 THEN
		RAISE EXCEPTION 'customer % is in arrears (cash %)', w.customer_id, w.cash
			USING ERRCODE = 'GB001', HINT = 'A recharge repays the arrears first.';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.check_not_in_arrears(@extschema@.wallet) IS 'Raise GB001 when a customer''s cash is below zero (R-ARR-1)';

CREATE FUNCTION @extschema@.create_instance(customer bigint, machine bigint, gpus integer, billing text DEFAULT 'payg',
											 auto_renew boolean DEFAULT false, at timestamptz DEFAULT NULL,
											 request_id text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := @extschema@.api_time(at);
	w @extschema@.wallet;
	m @extschema@.machine;
	fee @extschema@.amount;
	id bigint;
	done boolean;
	hold bigint;
	timed boolean;
BEGIN
	w := @extschema@.lock_wallet(customer);
	IF billing IS NULL OR billing NOT IN ('payg', 'weekly', 'monthly') THEN
		RAISE EXCEPTION 'invalid billing: %', coalesce(billing, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Billing is payg, weekly or monthly.';
	END IF;
	PERFORM @extschema@.check_gpus(gpus);
	IF auto_renew IS NULL THEN
		RAISE EXCEPTION 'auto_renew must not be null' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	m := @extschema@.lock_machine(machine, @extschema@.currency(w.cash), false, t);
	/* R-CLK-5: not before the machine's last event (its listing, at the earliest) nor the customer's opening */
	t := @extschema@.call_time(at, GREATEST(m.last_event_at,
								(SELECT k.created_at FROM @extschema@.customer k WHERE k.customer_id = customer)),
							   'machine ' || machine);
	SELECT * INTO id, done FROM @extschema@.begin_request('create_instance', request_id, customer, m.partner_id,
		pg_catalog.jsonb_build_object('customer', customer, 'machine', machine, 'gpus', gpus, 'billing', billing,
									  'auto_renew', auto_renew), t);
	IF done THEN
		RETURN id;
	END IF;
	IF gpus > m.gpus THEN
		RAISE EXCEPTION 'machine % has % GPUs, % asked', machine, m.gpus, gpus USING ERRCODE = 'GB002';
	END IF;
	PERFORM @extschema@.check_not_in_arrears(w);
	IF billing = 'payg' THEN
		PERFORM @extschema@.check_payg_limits(w, gpus, NULL);
	END IF;
	PERFORM @extschema@.check_capacity(m, gpus, NULL);

	/* R-PAYG-1: hourly fee = price x GPUs x discount; one hour of it is frozen */
	fee := @extschema@.hourly_fee(m, customer, gpus);
	timed := billing = 'payg' AND m.billing <> 'one_time';
	IF timed THEN
		hold := @extschema@.hold_run(customer, id, fee, NOT m.vouchers_allowed, t);
	END IF;
	INSERT INTO @extschema@.instance (instance_id, customer_id, machine_id, partner_id, gpus, billing, product, auto_renew,
									  state, hourly_fee, cash_only, hold_id, billed_until, next_settle_at, run_started_at,
									  created_at, last_event_at)
	VALUES (id, customer, machine, m.partner_id, gpus, billing, m.billing, auto_renew, 'running', fee, NOT m.vouchers_allowed,
			hold, t, CASE WHEN timed THEN @extschema@.upper(@extschema@.billing_period('hour', t, @extschema@.billing_timezone())) END,
			t, t, t);
	IF NOT timed THEN
		/* R-PRE-1: a weekly or monthly term, or a one_time package (R-PAYG-7), is paid up front */
		PERFORM @extschema@.buy_term(id, t, false);
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.create_instance(bigint, bigint, integer, text, boolean, timestamptz, text) IS 'Create a running instance: PAYG freezes one hour of its fee (R-PAYG-1) within the limits by real recharges (R-PAYG-2); weekly and monthly pay the term up front (R-PRE-1); a one_time machine sells a package (R-PAYG-7); the GPUs must be free (R-PRT-1)';

-- settle a running PAYG instance up to t and stop it there (unless a
-- settlement on the way already stopped it for want of funds); a prepaid
-- instance just stops (no refund)
CREATE FUNCTION @extschema@.halt_instance(instance bigint, t timestamptz, reason text) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	i @extschema@.instance;
BEGIN
	SELECT * INTO i FROM @extschema@.instance k WHERE k.instance_id = instance;
	IF i.hold_id IS NOT NULL OR i.next_settle_at IS NOT NULL THEN
		PERFORM @extschema@.settle_instance_until(instance, t);
		IF (SELECT k.state FROM @extschema@.instance k WHERE k.instance_id = instance) = 'running' THEN
			/* R-PAYG-5: the partial hour is charged by the second */
			PERFORM @extschema@.settle_instance(instance, t, reason);
		END IF;
	ELSE
		UPDATE @extschema@.instance k SET state = 'stopped', stopped_at = t, stop_reason = reason
		WHERE k.instance_id = instance;
		INSERT INTO @extschema@.lifecycle_event (kind, customer_id, subject_type, subject_id, due_at, created_at)
		VALUES ('local_data_erase_due', i.customer_id, 'instance', instance,
				@extschema@.local_data_erase_at(t, @extschema@.payg_settings()), t)
		ON CONFLICT DO NOTHING;
	END IF;
	UPDATE @extschema@.instance k SET last_event_at = GREATEST(k.last_event_at, t) WHERE k.instance_id = instance;
END
$$;
COMMENT ON FUNCTION @extschema@.halt_instance(bigint, timestamptz, text) IS 'Stop a running instance at t: PAYG settles up to t first';

CREATE FUNCTION @extschema@.stop_instance(instance bigint, at timestamptz DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	i @extschema@.instance := @extschema@.lock_instance(instance);
	t timestamptz := @extschema@.call_time(at, i.last_event_at, 'instance ' || instance);
BEGIN
	IF i.state <> 'running' THEN
		RAISE EXCEPTION 'instance % is %', instance, i.state USING ERRCODE = 'GB004';
	END IF;
	IF i.billing <> 'payg' THEN
		RAISE EXCEPTION 'instance % is paid % up to %: it runs until then', instance, i.billing, i.term_end
			USING ERRCODE = 'GB004', HINT = 'Turn auto-renew off to let it expire, or release it.';
	END IF;
	PERFORM @extschema@.halt_instance(instance, t, 'requested');
END
$$;
COMMENT ON FUNCTION @extschema@.stop_instance(bigint, timestamptz) IS 'Stop a running PAYG instance: settle the hours it missed, charge the partial hour by the second, release its hold (R-PAYG-3, R-PAYG-5); a package stops without refund';

CREATE FUNCTION @extschema@.start_instance(instance bigint, at timestamptz DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	i @extschema@.instance := @extschema@.lock_instance(instance);
	t timestamptz := @extschema@.call_time(at, i.last_event_at, 'instance ' || instance);
	w @extschema@.wallet;
	m @extschema@.machine;
	fee @extschema@.amount;
	timed boolean;
BEGIN
	IF i.state NOT IN ('stopped', 'expired') THEN
		RAISE EXCEPTION 'instance % is %', instance, i.state USING ERRCODE = 'GB004',
			HINT = 'Only a stopped or expired instance can start.';
	END IF;
	SELECT * INTO w FROM @extschema@.wallet k WHERE k.customer_id = i.customer_id;
	PERFORM @extschema@.check_not_in_arrears(w);
	m := @extschema@.lock_machine(i.machine_id, @extschema@.currency(i.hourly_fee), true, t);
	t := @extschema@.call_time(at, GREATEST(i.last_event_at, m.last_event_at), 'machine ' || i.machine_id);
	PERFORM @extschema@.check_capacity(m, i.gpus, instance);
	fee := @extschema@.hourly_fee(m, i.customer_id, i.gpus);
	timed := i.billing = 'payg' AND i.product <> 'one_time';
	UPDATE @extschema@.instance k
	SET state = 'running', hourly_fee = fee, cash_only = NOT m.vouchers_allowed,
		hold_id = CASE WHEN timed THEN @extschema@.hold_run(i.customer_id, instance, fee, NOT m.vouchers_allowed, t) END,
		billed_until = t, run_started_at = t,
		next_settle_at = CASE WHEN timed THEN @extschema@.upper(@extschema@.billing_period('hour', t, @extschema@.billing_timezone())) END,
		stopped_at = NULL, stop_reason = NULL, last_event_at = t
	WHERE k.instance_id = instance;
	IF NOT timed THEN
		/* an expired term or an ended package starts with a new one, paid up front */
		PERFORM @extschema@.buy_term(instance, t, false);
	END IF;
	/* the data of a running instance is not to be erased */
	UPDATE @extschema@.lifecycle_event e SET cancelled_at = t
	WHERE e.subject_type = 'instance' AND e.subject_id = instance AND e.kind = 'local_data_erase_due'
	  AND e.cancelled_at IS NULL AND e.acked_at IS NULL AND e.due_at > t;
END
$$;
COMMENT ON FUNCTION @extschema@.start_instance(bigint, timestamptz) IS 'Start a stopped instance again: a new hour is frozen (R-PAYG-1, R-PAYG-5); an expired term or ended package buys a new one';

CREATE FUNCTION @extschema@.release_instance(instance bigint, at timestamptz DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	i @extschema@.instance := @extschema@.lock_instance(instance);
	t timestamptz := @extschema@.call_time(at, i.last_event_at, 'instance ' || instance);
BEGIN
	IF i.state = 'released' THEN
		RAISE EXCEPTION 'instance % is already released', instance USING ERRCODE = 'GB004';
	END IF;
	IF i.state = 'running' THEN
		PERFORM @extschema@.halt_instance(instance, t, 'released');
	END IF;
	UPDATE @extschema@.instance k SET state = 'released', last_event_at = GREATEST(k.last_event_at, t)
	WHERE k.instance_id = instance;
	INSERT INTO @extschema@.lifecycle_event (kind, customer_id, subject_type, subject_id, due_at, created_at)
	VALUES ('instance_release_due', i.customer_id, 'instance', instance, t, t)
	ON CONFLICT DO NOTHING;
END
$$;
COMMENT ON FUNCTION @extschema@.release_instance(bigint, timestamptz) IS 'Release an instance (stopping it first if it runs; a prepaid term is not refunded); it no longer counts toward any limit (R-PAYG-6)';

CREATE FUNCTION @extschema@.convert_instance(instance bigint, billing text, at timestamptz DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	i @extschema@.instance := @extschema@.lock_instance(instance);
	t timestamptz := @extschema@.call_time(at, i.last_event_at, 'instance ' || instance);
BEGIN
	IF billing IS NULL OR billing NOT IN ('weekly', 'monthly') THEN
		RAISE EXCEPTION 'invalid billing to convert to: %', coalesce(billing, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', HINT = 'A PAYG instance converts to weekly or monthly.';
	END IF;
	IF i.state <> 'running' OR i.billing <> 'payg' OR i.product = 'one_time' THEN
		RAISE EXCEPTION 'instance % is % (%, %): only a running PAYG instance converts', instance, i.state, i.billing, i.product
			USING ERRCODE = 'GB004';
	END IF;
	/* a machine without the term's price: buy_term raises 22023 (and everything is rolled back) */
	/* R-PRE-4: PAYG usage settled to t, the hold released, the term charged */
	PERFORM @extschema@.settle_instance_until(instance, t);
	IF (SELECT k.state FROM @extschema@.instance k WHERE k.instance_id = instance) <> 'running' THEN
		RAISE EXCEPTION 'instance % stopped for want of funds before %', instance, t USING ERRCODE = 'GB001';
	END IF;
	PERFORM @extschema@.settle_instance(instance, t, 'convert');
	UPDATE @extschema@.instance k SET billing = convert_instance.billing, next_settle_at = NULL, hold_id = NULL
	WHERE k.instance_id = instance;
	PERFORM @extschema@.buy_term(instance, t, false);
END
$$;
COMMENT ON FUNCTION @extschema@.convert_instance(bigint, text, timestamptz) IS 'Convert a running PAYG instance to weekly or monthly: usage settled to at, hold released, the term charged (R-PRE-4)';

CREATE FUNCTION @extschema@.resize_instance(instance bigint, gpus integer, at timestamptz DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	i @extschema@.instance := @extschema@.lock_instance(instance);
	t timestamptz := @extschema@.call_time(at, i.last_event_at, 'instance ' || instance);
	m @extschema@.machine;
	fee @extschema@.amount;
BEGIN
	PERFORM @extschema@.check_gpus(gpus);
	IF i.billing <> 'payg' OR i.product = 'one_time' THEN
		/* R-PRE-3 */
		RAISE EXCEPTION 'instance % is paid % (%): no configuration change for a prepaid instance', instance, i.billing, i.product
			USING ERRCODE = 'GB004';
	END IF;
	IF i.state <> 'running' THEN
		/* R-PAYG-6: a stopped instance permits only start and release */
		RAISE EXCEPTION 'instance % is %: only a running instance changes its GPUs', instance, i.state USING ERRCODE = 'GB004',
			HINT = 'Start it, then resize it.';
	END IF;
	/* R-PAYG-8: within the machine and the limits (GB002), wallet then machine locked */
	m := @extschema@.find_machine(i.machine_id, true);
	IF gpus > m.gpus THEN
		RAISE EXCEPTION 'machine % has % GPUs, % asked', m.machine_id, m.gpus, gpus USING ERRCODE = 'GB002';
	END IF;
	PERFORM @extschema@.check_capacity(m, gpus, instance);
	PERFORM @extschema@.check_payg_limits((SELECT w FROM @extschema@.wallet w WHERE w.customer_id = i.customer_id), gpus, instance);
	/* usage settled to t at the old fee (a usage_hourly run ends there: its minimum is charged), the hold released */
	PERFORM @extschema@.settle_instance_until(instance, t);
	IF (SELECT k.state FROM @extschema@.instance k WHERE k.instance_id = instance) <> 'running' THEN
		RAISE EXCEPTION 'instance % stopped for want of funds before %', instance, t USING ERRCODE = 'GB001';
	END IF;
	PERFORM @extschema@.settle_instance(instance, t, 'convert');
	/* the new fee held (GB001 if available cannot cover it: then nothing changes), billing on from t */
	fee := @extschema@.hourly_fee(m, i.customer_id, gpus);
	UPDATE @extschema@.instance k
	SET gpus = resize_instance.gpus, hourly_fee = fee,
		hold_id = @extschema@.hold_run(i.customer_id, instance, fee, k.cash_only, t),
		next_settle_at = @extschema@.upper(@extschema@.billing_period('hour', t, @extschema@.billing_timezone())),
		run_started_at = t, last_event_at = GREATEST(k.last_event_at, t)
	WHERE k.instance_id = instance;
END
$$;
COMMENT ON FUNCTION @extschema@.resize_instance(bigint, integer, timestamptz) IS 'Change the GPUs of a running PAYG instance: usage settled to at, the hold released, the new fee held (GB001, GB002: nothing changes) (R-PAYG-8); stopped and prepaid instances refuse (GB004)';

CREATE FUNCTION @extschema@.instance_state(instance bigint)
	RETURNS text
	LANGUAGE plpgsql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	s text;
BEGIN
	SELECT k.state INTO s FROM @extschema@.instance k WHERE k.instance_id = instance;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown instance: %', instance USING ERRCODE = 'no_data_found';
	END IF;
	RETURN s;
END
$$;
COMMENT ON FUNCTION @extschema@.instance_state(bigint) IS 'running | stopped | expired | released';

CREATE FUNCTION @extschema@.set_auto_renew(instance bigint, "on" boolean)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	IF "on" IS NULL THEN
		RAISE EXCEPTION 'auto-renew must not be null' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.lock_instance(instance);
	UPDATE @extschema@.instance k SET auto_renew = "on" WHERE k.instance_id = instance;
END
$$;
COMMENT ON FUNCTION @extschema@.set_auto_renew(bigint, boolean) IS 'Renew a prepaid instance at expiry when funds allow; acts at once';
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
/*
 * 70_storage.sql — cloud disk and NAS storage (R-STO-1..4) and arrears
 * (R-ARR-1..3).
 *
 * Storage is recorded as levels over time.  The excess over the free quota
 * accrues per GB-hour, exactly (by the second; storage_accrued shows the
 * month so far), except while the customer is in arrears (R-ARR-4: data is
 * kept free of charge until the arrears are repaid); the month's total is settled at 00:00 on the 1st in the
 * billing time zone, rounded to cents, from cash only, which may go below
 * zero: arrears.  Five days before that settlement the month's fee is
 * estimated and a low balance raises storage_balance_low.
 *
 * Map (scripts/file-map.pl):
 * API: set_storage.
 * Internals: arrears_repaid, estimate_storage, next_storage_step,
 *   note_arrears, repay_arrears, settle_storage, storage_usage.
 * Tables: arrears_period, storage_bill, storage_level.
 * Uses: 1_types, 2_base, 3_ledger.
 */

CREATE TABLE @extschema@.storage_level (
	customer_id	bigint NOT NULL,
	kind		text NOT NULL CHECK (kind IN ('disk', 'nas')),
	since		timestamptz NOT NULL,
	gb			numeric NOT NULL CHECK (gb >= 0),
	PRIMARY KEY (customer_id, kind, since)
);
COMMENT ON TABLE @extschema@.storage_level IS 'A customer''s cloud disk or NAS usage in GB from since on, until the next level (R-STO-1)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.storage_level', '');

CREATE TABLE @extschema@.storage_bill (
	bill_id		bigint PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	customer_id	bigint NOT NULL,
	month		date NOT NULL,				/* first day of the month billed, billing time zone */
	disk_gb_hours numeric NOT NULL,		/* excess over the free quota */
	nas_gb_hours numeric NOT NULL,
	amount		@extschema@.amount NOT NULL,
	at			timestamptz NOT NULL,		/* 00:00 on the 1st of the next month */
	UNIQUE (customer_id, month)
);
COMMENT ON TABLE @extschema@.storage_bill IS 'The monthly storage settlement of a customer (R-STO-2), once per month, append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.storage_bill', '');
SELECT @extschema@.make_append_only('@extschema@.storage_bill');

CREATE TABLE @extschema@.arrears_period (
	arrears_id	bigint PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	customer_id	bigint NOT NULL,
	since		timestamptz NOT NULL,
	repaid_at	timestamptz
);
CREATE UNIQUE INDEX arrears_open_idx ON @extschema@.arrears_period (customer_id) WHERE repaid_at IS NULL;
COMMENT ON TABLE @extschema@.arrears_period IS 'A stretch of time in which a customer''s cash was below zero (R-ARR-1)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.arrears_period', '');


CREATE FUNCTION @extschema@.set_storage(customer bigint, kind text, gb numeric, at timestamptz DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	last_at timestamptz;
	t timestamptz;
BEGIN
	PERFORM @extschema@.lock_wallet(customer);
	IF kind IS NULL OR kind NOT IN ('disk', 'nas') THEN
		RAISE EXCEPTION 'invalid storage kind: %', coalesce(kind, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Storage kinds are disk and nas.';
	END IF;
	/* R-SEC-3: a finite level up to max_storage_gb, or every later tick would fail on it */
	IF gb IS NULL OR gb::text IN ('NaN', 'Infinity', '-Infinity') OR gb < 0
	   OR gb > (@extschema@.storage_settings()).max_storage_gb THEN
		RAISE EXCEPTION 'storage must be from 0 to % GB: %', (@extschema@.storage_settings()).max_storage_gb, coalesce(gb::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', HINT = 'The largest level is the setting max_storage_gb.';
	END IF;
	SELECT pg_catalog.max(l.since) INTO last_at FROM @extschema@.storage_level l
	WHERE l.customer_id = customer AND l.kind = set_storage.kind;
	/* a level may not change a month already settled */
	last_at := GREATEST(last_at, (SELECT c.done_until FROM @extschema@.clock_state c WHERE c.job = 'storage'),
						(SELECT k.created_at FROM @extschema@.customer k WHERE k.customer_id = customer));
	t := @extschema@.call_time(at, coalesce(last_at, '-infinity'), 'the ' || kind || ' storage of customer ' || customer);
	INSERT INTO @extschema@.storage_level (customer_id, kind, since, gb) VALUES (customer, kind, t, gb)
	ON CONFLICT ON CONSTRAINT storage_level_pkey DO UPDATE SET gb = EXCLUDED.gb;
END
$$;
COMMENT ON FUNCTION @extschema@.set_storage(bigint, text, numeric, timestamptz) IS 'Record a customer''s disk or NAS usage in GB from at on (R-STO-1)';

-- excess GB-hours and the exact fee (unrounded) of each customer's storage in [f, u)
CREATE FUNCTION @extschema@.storage_usage(f timestamptz, u timestamptz, only_customer bigint DEFAULT NULL,
										   known_at timestamptz DEFAULT 'infinity')
	RETURNS TABLE (customer_id bigint, disk_gb_hours numeric, nas_gb_hours numeric, fee numeric)
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	free_disk numeric := (@extschema@.storage_settings()).free_disk_gb;
	free_nas numeric := (@extschema@.storage_settings()).free_nas_gb;
	disk_price numeric := (@extschema@.storage_settings()).disk_price_gb_hour;
	nas_price numeric := (@extschema@.storage_settings()).nas_price_gb_hour;
BEGIN
	RETURN QUERY
	SELECT x.customer_id, x.disk, x.nas, x.disk * disk_price + x.nas * nas_price
	FROM (SELECT l.customer_id,
				 coalesce(pg_catalog.sum(GREATEST(l.gb - free_disk, 0) * l.secs) FILTER (WHERE l.kind = 'disk'), 0) / 3600 AS disk,
				 coalesce(pg_catalog.sum(GREATEST(l.gb - free_nas, 0) * l.secs) FILTER (WHERE l.kind = 'nas'), 0) / 3600 AS nas
		  FROM (SELECT k.customer_id, k.kind, k.gb,
					   EXTRACT(epoch FROM LEAST(coalesce(k.until, 'infinity'), u) - GREATEST(k.since, f))
					   /* R-ARR-4: nothing accrues while the customer is in arrears */
					   - coalesce((SELECT pg_catalog.sum(EXTRACT(epoch FROM LEAST(coalesce(a.repaid_at, 'infinity'), coalesce(k.until, 'infinity'), u)
																		  - GREATEST(a.since, k.since, f)))
								   FROM @extschema@.arrears_period a
								   WHERE a.customer_id = k.customer_id AND a.since < LEAST(coalesce(k.until, 'infinity'), u)
									 AND coalesce(a.repaid_at, 'infinity') > GREATEST(k.since, f)), 0) AS secs
				FROM (SELECT s.*, pg_catalog.lead(s.since) OVER (PARTITION BY s.customer_id, s.kind ORDER BY s.since) AS until
					  FROM @extschema@.storage_level s
					  WHERE (only_customer IS NULL OR s.customer_id = only_customer) AND s.since < u
						AND s.since <= known_at) k
				WHERE coalesce(k.until, 'infinity') > f) l
		  GROUP BY l.customer_id) x;
END
$$;
COMMENT ON FUNCTION @extschema@.storage_usage(timestamptz, timestamptz, bigint, timestamptz) IS 'Excess disk and NAS GB-hours of each customer in [f, u) and their exact price (R-STO-2), from the levels recorded for instants up to known_at';

-- R-ARR-1: customers (wallets locked) whose cash went below zero at t are in arrears from t
CREATE FUNCTION @extschema@.note_arrears(t timestamptz, customers bigint[]) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	tz text := @extschema@.billing_timezone();
	n integer;
BEGIN
	WITH opened AS (
		INSERT INTO @extschema@.arrears_period (customer_id, since)
		SELECT w.customer_id, t FROM @extschema@.wallet w
		WHERE w.customer_id = ANY (customers) AND @extschema@.micros(w.cash) < 0
		ON CONFLICT (customer_id) WHERE repaid_at IS NULL DO NOTHING
		RETURNING customer_id, arrears_id
	), alerts AS (
		INSERT INTO @extschema@.alert (kind, customer_id, subject_type, subject_id, condition, raised_at, payload)
		SELECT 'storage_arrears', o.customer_id, 'customer', o.customer_id, '', t,
			   pg_catalog.jsonb_build_object('since', t, 'cash', w.cash::text)
		FROM opened o JOIN @extschema@.wallet w USING (customer_id)
		ON CONFLICT DO NOTHING
		RETURNING 1
	)
	/* R-ARR-3: unpaid at 12:00 on the 15th day (day D counts as the first) */
	INSERT INTO @extschema@.lifecycle_event (kind, customer_id, subject_type, subject_id, due_at, created_at)
	SELECT 'personal_data_erase_due', o.customer_id, 'customer', o.customer_id,
		   ((t AT TIME ZONE tz)::date + 14 + time '12:00') AT TIME ZONE tz, t
	FROM opened o
	ON CONFLICT DO NOTHING;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.note_arrears(timestamptz, bigint[]) IS 'Open arrears for customers whose cash is below zero at t: alert storage_arrears, personal data erasure due on day 15 (R-ARR-1, R-ARR-3)';

-- R-ARR-1, R-ARR-2: a recharge that brings cash back to zero or more ends the arrears
CREATE FUNCTION @extschema@.repay_arrears(customer bigint, t timestamptz) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	IF (SELECT @extschema@.micros(w.cash) FROM @extschema@.wallet w WHERE w.customer_id = customer) < 0 THEN
		RETURN;
	END IF;
	UPDATE @extschema@.arrears_period a SET repaid_at = t WHERE a.customer_id = customer AND a.repaid_at IS NULL;
	UPDATE @extschema@.lifecycle_event e SET cancelled_at = t
	WHERE e.subject_type = 'customer' AND e.subject_id = customer
	  AND e.kind IN ('storage_erase_due', 'personal_data_erase_due')
	  AND e.due_at > t AND e.cancelled_at IS NULL AND e.acked_at IS NULL;
	UPDATE @extschema@.alert a SET closed_at = t
	WHERE a.kind = 'storage_arrears' AND a.subject_type = 'customer' AND a.subject_id = customer AND a.closed_at IS NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.repay_arrears(bigint, timestamptz) IS 'End a customer''s arrears once cash is back at zero or more: pending erasures cancelled (R-ARR-1, R-ARR-2)';

/*
 * R-ARR-1: whatever brings a customer's cash from below zero back to zero
 * or more — a recharge first of all, an outage compensation, a contract's
 * refund, a reseller's premium, a reversal — ends its arrears, at the
 * wallet's time.  A trigger on the ledger's wallet, so the ledger (which
 * comes before this layer) need not know about arrears; it queues an event
 * only for the rows whose cash crosses zero.
 */
CREATE FUNCTION @extschema@.arrears_repaid() RETURNS trigger
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	PERFORM @extschema@.repay_arrears(NEW.customer_id, NEW.updated_at);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.arrears_repaid() IS 'Trigger: end a customer''s arrears when its cash is back at zero or more (R-ARR-1)';
CREATE TRIGGER arrears_repaid AFTER UPDATE OF cash ON @extschema@.wallet FOR EACH ROW
	WHEN (@extschema@.micros(OLD.cash) < 0 AND @extschema@.micros(NEW.cash) >= 0)
	EXECUTE FUNCTION @extschema@.arrears_repaid();

/*
 * R-STO-2, R-STO-3: settle the month that ends at m (00:00 on the 1st),
 * for every customer with storage in it: the fee leaves cash, which may go
 * below zero (arrears; R-ARR-2: storage erasure due at 00:00 on the 11th
 * unless repaid before).
 */
CREATE FUNCTION @extschema@.settle_storage(m timestamptz) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	tz text := @extschema@.billing_timezone();
	f timestamptz := ((m AT TIME ZONE tz) - interval '1 month') AT TIME ZONE tz;
	bill_month date := (f AT TIME ZONE tz)::date;
	n integer;
	short bigint[];
BEGIN
	PERFORM pg_catalog.count(*) FROM (SELECT FROM @extschema@.wallet w
	WHERE w.customer_id IN (SELECT l.customer_id FROM @extschema@.storage_level l WHERE l.since < m)
	  AND w.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
	ORDER BY w.customer_id FOR UPDATE) locked;	/* one row back, not one per row locked */
	WITH bills AS (
		INSERT INTO @extschema@.storage_bill (customer_id, month, disk_gb_hours, nas_gb_hours, amount, at)
		SELECT u.customer_id, bill_month, u.disk_gb_hours, u.nas_gb_hours,
			   @extschema@.amount(pg_catalog.round(u.fee, 2), @extschema@.currency(w.cash)), m
		FROM @extschema@.storage_usage(f, m) u JOIN @extschema@.wallet w USING (customer_id)
		WHERE u.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
		ON CONFLICT ON CONSTRAINT storage_bill_customer_id_month_key DO NOTHING
		RETURNING bill_id, customer_id, amount
	)
	INSERT INTO pg_temp.gpubill_leg (customer_id, at, kind, debit_account, credit_account, amount, object_type, object_id)
	SELECT b.customer_id, m, 'storage', w.cash_account, w.fee_account, b.amount, 'storage_bill', b.bill_id
	FROM bills b JOIN @extschema@.wallet w USING (customer_id)
	WHERE @extschema@.micros(b.amount) > 0;
	n := @extschema@.post_staged_transfers();	/* one transfer per customer billed */

	SELECT pg_catalog.array_agg(b.customer_id) INTO short
	FROM @extschema@.storage_bill b JOIN @extschema@.wallet w USING (customer_id)
	WHERE b.month = bill_month AND @extschema@.micros(b.amount) > 0 AND @extschema@.micros(w.cash) < 0
	  AND b.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc);
	IF short IS NOT NULL THEN
		PERFORM @extschema@.note_arrears(m, short);
		INSERT INTO @extschema@.lifecycle_event (kind, customer_id, subject_type, subject_id, due_at, created_at)
		SELECT 'storage_erase_due', c, 'customer', c, ((m AT TIME ZONE tz) + interval '10 days') AT TIME ZONE tz, m
		FROM pg_catalog.unnest(short) c
		ON CONFLICT DO NOTHING;
	END IF;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.settle_storage(timestamptz) IS 'Settle every customer''s storage of the month ending at m (R-STO-2, R-STO-3, R-ARR-2)';

-- R-STO-4: five days before the settlement at m, estimate the month's fee; alert when available is short
CREATE FUNCTION @extschema@.estimate_storage(e timestamptz, m timestamptz) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	tz text := @extschema@.billing_timezone();
	f timestamptz := ((m AT TIME ZONE tz) - interval '1 month') AT TIME ZONE tz;
	n integer;
BEGIN
	INSERT INTO @extschema@.alert (kind, customer_id, subject_type, subject_id, condition, raised_at, payload)
	SELECT 'storage_balance_low', w.customer_id, 'customer', w.customer_id, (f AT TIME ZONE tz)::date::text, e,
		   pg_catalog.jsonb_build_object('estimate', x.estimate::text, 'available', (w.cash + w.vouchers - w.held)::text,
										 'settles_at', m)
	FROM (SELECT customer_id, coalesce(a.fee, 0) + coalesce(b.fee, 0) AS fee
		  FROM @extschema@.storage_usage(f, e) a
		  FULL JOIN @extschema@.storage_usage(e, m, NULL, e) b USING (customer_id)) u	/* the levels at e last to the month's end */
	JOIN @extschema@.wallet w USING (customer_id)
	CROSS JOIN LATERAL (SELECT @extschema@.amount(pg_catalog.round(u.fee, 2), @extschema@.currency(w.cash)) AS estimate) x
	WHERE w.cash + w.vouchers - w.held < x.estimate AND w.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
	ON CONFLICT DO NOTHING;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.estimate_storage(timestamptz, timestamptz) IS 'Raise storage_balance_low for customers whose available funds are below the estimated storage fee of the month settled at m (R-STO-4)';

-- the storage steps due up to t, in time order (estimates and monthly settlements)
CREATE FUNCTION @extschema@.next_storage_step(after timestamptz, OUT step_at timestamptz, OUT settles boolean)
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	tz text := @extschema@.billing_timezone();
	m timestamptz := @extschema@.upper(@extschema@.billing_period('month', after, tz));
	e timestamptz := ((m AT TIME ZONE tz) - interval '5 days') AT TIME ZONE tz;
BEGIN
	IF e > after THEN
		step_at := e; settles := false;
	ELSE
		step_at := m; settles := true;
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.next_storage_step(timestamptz) IS 'The next storage step after an instant: the estimate 5 days before a month''s end, or the settlement at its end';
/*
 * 80_alerts.sql — alerts (R-ALR-1, R-ALR-2, R-PRE-5, R-STO-4, R-ARR-1).
 *
 * An alert is a row: one open alert per kind, subject and condition (a
 * re-run never duplicates it), closed when the condition ends.  Every new
 * alert is announced with NOTIFY gpubill_alert (JSON payload).
 *
 * Map (scripts/file-map.pl):
 * API: open_alerts.
 * Internals: announce_alert, check_alerts.
 * Tables: alert.
 * Uses: 1_types, 2_base, 3_ledger.
 */

CREATE TABLE @extschema@.alert (
	alert_id	bigint PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	kind		text NOT NULL CHECK (kind IN ('instance_expiring', 'balance_low', 'storage_balance_low',
											  'storage_arrears', 'migrate_data', 'tick_failure')),
	customer_id	bigint,
	partner_id	bigint,
	subject_type text NOT NULL,
	subject_id	bigint NOT NULL,
	condition	text NOT NULL DEFAULT '',	/* what makes it distinct: a term's end, a month */
	raised_at	timestamptz NOT NULL,
	payload		jsonb NOT NULL DEFAULT '{}',
	closed_at	timestamptz
);
CREATE UNIQUE INDEX alert_once_idx ON @extschema@.alert (kind, subject_type, subject_id, condition)
	WHERE closed_at IS NULL OR kind IN ('instance_expiring', 'storage_balance_low');
CREATE INDEX alert_customer_idx ON @extschema@.alert (customer_id);
COMMENT ON TABLE @extschema@.alert IS 'An alert to a customer or partner: one per kind, subject and condition, never duplicated by a re-run';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.alert', '');

CREATE FUNCTION @extschema@.announce_alert() RETURNS trigger
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	stack text;
BEGIN
	/* live events only: rows the extension's functions write (tick, the API); a restore's COPY or an
	   INSERT by hand writes the table directly, and announces nothing (issue 15) */
	GET DIAGNOSTICS stack = PG_CONTEXT;
	IF stack OPERATOR(pg_catalog.!~) E'\n(PL/pgSQL|SQL) function ' THEN
		RETURN NULL;
	END IF;
	PERFORM pg_catalog.pg_notify('gpubill_alert', pg_catalog.json_build_object(
		'alert_id', NEW.alert_id, 'kind', NEW.kind, 'customer', NEW.customer_id, 'partner', NEW.partner_id,
		'subject_type', NEW.subject_type, 'subject_id', NEW.subject_id, 'raised_at', NEW.raised_at,
		'payload', NEW.payload)::text);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.announce_alert() IS 'Trigger function: NOTIFY gpubill_alert with the new alert as JSON, for an alert the extension''s functions write (a restore announces none)';
CREATE TRIGGER alert_announce AFTER INSERT ON @extschema@.alert
	FOR EACH ROW EXECUTE FUNCTION @extschema@.announce_alert();

CREATE VIEW @extschema@.open_alerts AS
SELECT alert_id, kind, customer_id AS customer, partner_id AS partner, subject_type, subject_id, raised_at, payload
FROM @extschema@.alert
WHERE closed_at IS NULL;
COMMENT ON VIEW @extschema@.open_alerts IS 'Alerts whose condition still holds, one row each: kind, subject, when raised and details';

/*
 * R-ALR-1: balance_low when the next alert_horizon_hours of the running PAYG
 * instances and the storage of a customer cost more than available; closed
 * when no longer so.  R-PRE-5: instance_expiring 72 h before a term ends.
 */
CREATE FUNCTION @extschema@.check_alerts(t timestamptz, scope @extschema@.tick_scope, OUT balance_low integer, OUT expiring integer)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	horizon integer := (@extschema@.payg_settings()).alert_horizon_hours;
BEGIN
	WITH need AS (
		SELECT w.customer_id, n.need, w.cash + w.vouchers - w.held AS available,
			   w.cash + w.vouchers - w.held < n.need AS short
		FROM (SELECT coalesce(p.customer_id, s.customer_id) AS customer_id,
					 coalesce(p.need, @extschema@.zero(k.currency))
					 + @extschema@.amount(pg_catalog.round(coalesce(s.fee, 0), 2), k.currency) AS need
			  FROM (SELECT i.customer_id, @extschema@.sum(@extschema@.round(i.hourly_fee, 2)) * horizon AS need
					FROM @extschema@.instance i WHERE i.state = 'running' AND i.next_settle_at IS NOT NULL
					GROUP BY i.customer_id) p
			  FULL JOIN (SELECT u.customer_id, u.fee
						 FROM @extschema@.storage_usage(t, t + horizon * interval '1 hour', NULL, t) u
						 WHERE u.fee > 0) s USING (customer_id)
			  JOIN @extschema@.customer k ON k.customer_id = coalesce(p.customer_id, s.customer_id)) n
		JOIN @extschema@.wallet w USING (customer_id)
		WHERE @extschema@.in_scope(w.customer_id, scope)
	), closed AS (
		UPDATE @extschema@.alert a SET closed_at = t
		WHERE a.kind = 'balance_low' AND a.closed_at IS NULL AND @extschema@.in_scope(a.subject_id, scope)
		  AND NOT EXISTS (SELECT FROM need n WHERE n.customer_id = a.subject_id AND n.short)
		RETURNING 1
	)
	INSERT INTO @extschema@.alert (kind, customer_id, subject_type, subject_id, raised_at, payload)
	SELECT 'balance_low', n.customer_id, 'customer', n.customer_id, t,
		   pg_catalog.jsonb_build_object('next_hours', horizon, 'need', n.need::text, 'available', n.available::text)
	FROM need n
	WHERE n.short
	ON CONFLICT DO NOTHING;
	GET DIAGNOSTICS balance_low = ROW_COUNT;

	INSERT INTO @extschema@.alert (kind, customer_id, subject_type, subject_id, condition, raised_at, payload)
	SELECT 'instance_expiring', i.customer_id, 'instance', i.instance_id, i.term_end::text,
		   i.term_end - horizon * interval '1 hour',
		   pg_catalog.jsonb_build_object('billing', i.billing, 'term_end', i.term_end, 'auto_renew', i.auto_renew)
	FROM @extschema@.instance i
	WHERE i.state = 'running' AND i.billing <> 'payg' AND i.term_end - horizon * interval '1 hour' <= t AND i.term_end > t
	  AND @extschema@.in_scope(i.customer_id, scope)
	ON CONFLICT DO NOTHING;
	GET DIAGNOSTICS expiring = ROW_COUNT;
END
$$;
COMMENT ON FUNCTION @extschema@.check_alerts(timestamptz, @extschema@.tick_scope) IS 'Raise and close balance_low alerts (R-ALR-1) and raise instance_expiring alerts (R-PRE-5) as of t';
/*
 * 85_refund.sql — a customer's refund (withdrawal) of unused recharges
 * (R-REF-1, R-REF-2).
 *
 * Refundable = real recharges - used (cash and vouchers) - invoiced - what
 * earlier refunds paid or forfeited, at least 0, at most cash.  It leaves
 * through the original channels, newest recharge first; the account is
 * emptied: the rest of the cash goes to the platform (forfeit), remaining
 * vouchers are forfeited to voucher breakage.  The payout is due within 7
 * working days (Mon-Fri, billing time zone).
 *
 * Map (scripts/file-map.pl):
 * API: request_refund.
 * Internals: refundable, reverses_used, used_kind.
 * Tables: refund, refund_part.
 * Uses: 1_types, 2_base, 3_ledger.
 */

CREATE TABLE @extschema@.refund (
	refund_id	bigint PRIMARY KEY,
	customer_id	bigint NOT NULL,
	amount		@extschema@.amount NOT NULL,			/* paid out */
	forfeited_cash @extschema@.amount NOT NULL,
	forfeited_vouchers @extschema@.amount NOT NULL,
	at			timestamptz NOT NULL,
	due_at		timestamptz NOT NULL				/* payout due by */
);
CREATE INDEX refund_customer_idx ON @extschema@.refund (customer_id);
COMMENT ON TABLE @extschema@.refund IS 'A customer''s refund: paid out, forfeited, payout due (R-REF-2), append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.refund', '');

CREATE TABLE @extschema@.refund_part (
	refund_id	bigint NOT NULL,
	recharge_id	bigint NOT NULL,
	customer_id	bigint NOT NULL,
	channel		text NOT NULL,
	amount		@extschema@.amount NOT NULL CHECK (@extschema@.micros(amount) > 0),
	PRIMARY KEY (refund_id, recharge_id)
);
COMMENT ON TABLE @extschema@.refund_part IS 'The part of a refund paid back through the channel of one recharge (newest first), append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.refund_part', '');

SELECT @extschema@.make_append_only('@extschema@.refund');
SELECT @extschema@.make_append_only('@extschema@.refund_part');


-- R-REF-1: the kinds of transfer that use a customer's money (what is used is not refundable)
CREATE FUNCTION @extschema@.used_kind(kind text) RETURNS boolean
	LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$ SELECT kind IN ('income', 'fee', 'voucher_spend', 'storage', 'charge') $$;
COMMENT ON FUNCTION @extschema@.used_kind(text) IS 'R-REF-1: whether a transfer of this kind uses the customer''s money (not refundable): charges, fees, vouchers spent, storage';

-- a reversal gives back what its original used: whether the original was of a used kind
CREATE FUNCTION @extschema@.reverses_used(original bigint) RETURNS boolean
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$ SELECT @extschema@.used_kind(v.kind) FROM @extschema@.reversal v WHERE v.reverses = original $$;	/* the original's kind, kept with the reversal */
COMMENT ON FUNCTION @extschema@.reverses_used(bigint) IS 'Whether the transfer a reversal reverses used the customer''s money (R-REF-1)';

-- R-REF-1: what a customer may have refunded now (wallet locked by the caller)
CREATE FUNCTION @extschema@.refundable(w @extschema@.wallet) RETURNS @extschema@.amount
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	z @extschema@.amount := @extschema@.zero(@extschema@.currency(w.cash));
	used @extschema@.amount;
	before @extschema@.amount;
	r @extschema@.amount;
	since timestamptz := @extschema@.closed_until();	/* the closed months come from their roll-up (issue 14) */
BEGIN
	SELECT coalesce(@extschema@.sum(k.used), z) INTO used
	FROM @extschema@.customer_month k WHERE k.customer_id = w.customer_id AND since IS NOT NULL;
	SELECT used + coalesce(@extschema@.sum(CASE WHEN x.reverses IS NULL THEN x.amount ELSE -x.amount END), z) INTO used
	FROM @extschema@.transfer x
	WHERE x.customer_id = w.customer_id AND x.at >= coalesce(since, '-infinity')
	  AND CASE WHEN x.reverses IS NULL THEN @extschema@.used_kind(x.kind) ELSE @extschema@.reverses_used(x.reverses) END
	  AND (x.debit_account IN (w.cash_account, w.voucher_account) OR x.credit_account IN (w.cash_account, w.voucher_account));
	SELECT coalesce(@extschema@.sum(f.amount + f.forfeited_cash), z) INTO before
	FROM @extschema@.refund f WHERE f.customer_id = w.customer_id;
	r := w.recharged - used - w.invoiced - before;
	RETURN LEAST(GREATEST(r, z), GREATEST(w.cash, z));
END
$$;
COMMENT ON FUNCTION @extschema@.refundable(@extschema@.wallet) IS 'Real recharges - used (cash and vouchers) - invoiced - earlier refunds, between 0 and cash (R-REF-1)';

CREATE FUNCTION @extschema@.request_refund(customer bigint, at timestamptz DEFAULT NULL, request_id text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := @extschema@.api_time(at);
	w @extschema@.wallet;
	r record;
	cur text;
	z @extschema@.amount;
	amt @extschema@.amount;
	rest @extschema@.amount;
	part @extschema@.amount;
	forfeit_cash @extschema@.amount;
	rc record;
	due timestamptz;
	legs @extschema@.leg[] := '{}';
BEGIN
	w := @extschema@.lock_wallet(customer);
	t := @extschema@.customer_time(at, customer);
	cur := @extschema@.currency(w.cash);
	z := @extschema@.zero(cur);
	r := @extschema@.begin_request('request_refund', request_id, customer, NULL,
								   pg_catalog.jsonb_build_object('customer', customer), t);
	IF r.done THEN
		RETURN r.id;
	END IF;
	IF @extschema@.micros(w.recharged) = 0 THEN
		RAISE EXCEPTION 'customer % has never recharged: there is nothing to refund', customer USING ERRCODE = 'GB004';
	END IF;
	IF EXISTS (SELECT FROM @extschema@.instance i WHERE i.customer_id = customer AND i.state = 'running') THEN
		RAISE EXCEPTION 'customer % has running instances', customer USING ERRCODE = 'GB004',
			HINT = 'Stop or release them first: a refund empties the account.';
	END IF;
	IF w.hold_expiry <= t OR w.voucher_expiry <= t THEN	/* rarely: no call on the hot path */
		w := @extschema@.refresh_wallet(w, t);
	END IF;
	IF @extschema@.micros(w.held) > 0 THEN
		RAISE EXCEPTION 'customer % has % held', customer, w.held USING ERRCODE = 'GB004',
			HINT = 'Release or capture the holds first: a refund empties the account.';
	END IF;
	IF @extschema@.micros(w.cash) < 0 THEN
		RAISE EXCEPTION 'customer % is in arrears (cash %)', customer, w.cash USING ERRCODE = 'GB004';
	END IF;

	amt := @extschema@.refundable(w);
	IF @extschema@.micros(amt) = 0 THEN
		/* R-REF-2: consumption used up the recharges: no refund, and the balance stays usable */
		RAISE EXCEPTION 'nothing is refundable to customer %', customer USING ERRCODE = 'GB001',
			DETAIL = pg_catalog.format('Recharged %s, invoiced %s, refunded before %s; consumption has used up the rest. Cash %s and vouchers %s stay usable.',
				w.recharged, w.invoiced,
				coalesce((SELECT @extschema@.sum(f.amount + f.forfeited_cash) FROM @extschema@.refund f WHERE f.customer_id = customer), z),
				w.cash, w.vouchers);
	END IF;
	forfeit_cash := w.cash - amt;
	due := @extschema@.add_working_days(t, 7);
	INSERT INTO @extschema@.refund (refund_id, customer_id, amount, forfeited_cash, forfeited_vouchers, at, due_at)
	VALUES (r.id, customer, amt, forfeit_cash, w.vouchers, t, due);

	/* R-REF-2: out through the original channels, newest recharge first */
	rest := amt;
	FOR rc IN SELECT k.recharge_id, k.channel,
					 k.amount - coalesce((SELECT @extschema@.sum(p.amount) FROM @extschema@.refund_part p
										  WHERE p.recharge_id = k.recharge_id), z) AS open
			  FROM @extschema@.recharge k WHERE k.customer_id = customer
			  ORDER BY k.at DESC, k.recharge_id DESC LOOP
		EXIT WHEN @extschema@.micros(rest) <= 0;
		CONTINUE WHEN @extschema@.micros(rc.open) <= 0;
		part := LEAST(rest, rc.open);
		INSERT INTO @extschema@.refund_part (refund_id, recharge_id, customer_id, channel, amount)
		VALUES (r.id, rc.recharge_id, customer, rc.channel, part);
		legs := legs || @extschema@.leg(customer, NULL, t, 'refund', w.cash_account,
										@extschema@.account_of('world', 0, 'payouts', cur), part,
										'refund', r.id, request_id, rc.channel || ' recharge ' || rc.recharge_id);
		rest := rest - part;
	END LOOP;
	/* what is left is forfeited: the account is empty */
	PERFORM @extschema@.post_transfers(legs || ARRAY[
		@extschema@.leg(customer, NULL, t, 'forfeit', w.cash_account, @extschema@.account_of('platform', 0, 'forfeit', cur),
						forfeit_cash, 'refund', r.id),
		@extschema@.leg(customer, NULL, t, 'forfeit', w.voucher_account,
						@extschema@.account_of('platform', 0, 'voucher_breakage', cur), w.vouchers, 'refund', r.id)]);
	PERFORM @extschema@.drop_vouchers(customer);
	INSERT INTO @extschema@.lifecycle_event (kind, customer_id, subject_type, subject_id, due_at, created_at)
	VALUES ('personal_data_erase_due', customer, 'refund', r.id, t, t),
		   ('payout_due', customer, 'refund', r.id, due, t);
	RETURN r.id;
END
$$;
COMMENT ON FUNCTION @extschema@.request_refund(bigint, timestamptz, text) IS 'Refund what is refundable through the original channels (newest recharge first), forfeit the rest and the vouchers, empty the account; payout due in 7 working days (R-REF-1, R-REF-2)';
/*
 * 88_months.sql — the customers' roll-ups of closed months (issue 14):
 * customer_month, a customer's statement row of the month (customer_statement),
 * and instance_hour, the usage of each instance and hour charged in the
 * month (instance_usage).  The views read closed months from them and only
 * the open months from the journal, with the same functions (a month's rows
 * are written once, when the month closes, from what the views would show).
 *
 * Map (scripts/file-map.pl):
 * API: customer_movements, instance_hours.
 * Internals: close_customer_month, customer_month_digest,
 *   instance_hour_digest.
 * Tables: customer_month, instance_hour.
 * Uses: 1_types, 2_base, 3_ledger.
 */

/*
 * Each customer's movements by billing month, of the transfers dated in
 * [lo, hi): recharged, vouchers granted, charged (cash and vouchers, storage
 * included), refunded, and the change of cash.  Inlined by the planner; the
 * bounds are computed once (a month's partitions outside them are not read).
 */
CREATE FUNCTION @extschema@.customer_movements(lo timestamptz, hi timestamptz)
	RETURNS TABLE (customer bigint, month date, recharged @extschema@.amount, vouchers_granted @extschema@.amount,
				   charged @extschema@.amount, refunded @extschema@.amount, cash_change @extschema@.amount,
				   used @extschema@.amount)
	LANGUAGE plpgsql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	SET plan_cache_mode = force_custom_plan	/* the bounds known when planning: months outside them not even planned */
	SET jit = off			/* compiling the plan of every month's partition costs more than the read */
	AS $$
#variable_conflict use_column
BEGIN
	RETURN QUERY
	SELECT x.customer_id,
		   (pg_catalog.date_trunc('month', x.at AT TIME ZONE (SELECT @extschema@.billing_timezone())))::date,
		   coalesce(@extschema@.sum(x.amount) FILTER (WHERE x.kind = 'recharge'), z.z),
		   coalesce(@extschema@.sum(x.amount) FILTER (WHERE x.kind IN ('voucher', 'bonus')), z.z),
		   coalesce(@extschema@.sum(x.amount) FILTER (WHERE x.kind IN ('income', 'fee', 'voucher_spend', 'storage')), z.z),
		   coalesce(@extschema@.sum(x.amount) FILTER (WHERE x.kind = 'refund'), z.z),
		   coalesce(@extschema@.sum(CASE WHEN x.credit_account = w.cash_account THEN x.amount ELSE -x.amount END)
					FILTER (WHERE w.cash_account IN (x.debit_account, x.credit_account)), z.z),
		   /* R-REF-1: what the customer's money paid, not refundable (refundable) */
		   coalesce(@extschema@.sum(CASE WHEN x.reverses IS NULL THEN x.amount ELSE -x.amount END)
					FILTER (WHERE CASE WHEN x.reverses IS NULL THEN @extschema@.used_kind(x.kind)
									   ELSE @extschema@.reverses_used(x.reverses) END
							  AND (x.debit_account IN (w.cash_account, w.voucher_account)
								   OR x.credit_account IN (w.cash_account, w.voucher_account))), z.z)
	FROM @extschema@.transfer x
	JOIN @extschema@.wallet w ON w.customer_id = x.customer_id
	CROSS JOIN LATERAL (SELECT @extschema@.zero(@extschema@.currency(w.cash)) AS z) z
	WHERE x.at >= lo AND x.at < hi
	GROUP BY 1, 2, z.z;
END
$$;
COMMENT ON FUNCTION @extschema@.customer_movements(timestamptz, timestamptz) IS 'Each customer''s movements by billing month over the transfers dated in [lo, hi) (customer_statement, its roll-up)';

CREATE TABLE @extschema@.customer_month (
	customer_id	bigint NOT NULL,
	month		date NOT NULL,
	recharged	@extschema@.amount NOT NULL,
	vouchers_granted @extschema@.amount NOT NULL,
	charged		@extschema@.amount NOT NULL,
	refunded	@extschema@.amount NOT NULL,
	cash_change	@extschema@.amount NOT NULL,
	closing_cash @extschema@.amount NOT NULL,	/* cash at the month's end: the statements' running sum */
	used		@extschema@.amount NOT NULL,	/* what the customer's money paid: not refundable (R-REF-1) */
	PRIMARY KEY (customer_id, month)
);
CREATE INDEX customer_month_month_idx ON @extschema@.customer_month (month);
COMMENT ON TABLE @extschema@.customer_month IS 'A roll-up of a closed month: a customer''s statement row (customer_statement), written when the month closes; append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.customer_month', '');
SELECT @extschema@.make_append_only('@extschema@.customer_month');

-- the usage of each instance and hour over the order lines dated in [lo, hi) (instance_usage; inlined)
CREATE FUNCTION @extschema@.instance_hours(lo timestamptz, hi timestamptz)
	RETURNS TABLE (instance bigint, customer bigint, hour timestamptz, seconds bigint, charged @extschema@.amount,
				   voucher_paid @extschema@.amount, cash_paid @extschema@.amount)
	LANGUAGE plpgsql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	SET plan_cache_mode = force_custom_plan	/* the bounds known when planning: months outside them not even planned */
	SET jit = off			/* compiling the plan of every month's partition costs more than the read */
	AS $$
#variable_conflict use_column
BEGIN
	RETURN QUERY
	SELECT o.instance_id, o.customer_id,
		   pg_catalog.date_trunc('hour', pg_catalog.lower(o.usage) AT TIME ZONE (SELECT @extschema@.billing_timezone()))
			   AT TIME ZONE (SELECT @extschema@.billing_timezone()),
		   pg_catalog.sum(o.seconds)::bigint, @extschema@.sum(o.charge), @extschema@.sum(o.voucher_paid), @extschema@.sum(o.cash_paid)
	FROM @extschema@.order_line o
	WHERE o.at >= lo AND o.at < hi
	GROUP BY 1, 2, 3;
END
$$;
COMMENT ON FUNCTION @extschema@.instance_hours(timestamptz, timestamptz) IS 'The usage of each instance and hour of use over the order lines dated in [lo, hi) (instance_usage, its roll-up)';

/*
 * An hour of use is keyed by its start, the month by the order line's date:
 * a line dated in the next month (the settlement at midnight) adds to an
 * hour of the month before, so instance_usage sums the rows of both.
 */
CREATE TABLE @extschema@.instance_hour (
	month		date NOT NULL,				/* the month of the order lines' dates */
	instance_id	bigint NOT NULL,
	customer_id	bigint NOT NULL,
	hour		timestamptz NOT NULL,
	seconds		bigint NOT NULL,
	charged		@extschema@.amount NOT NULL,
	voucher_paid @extschema@.amount NOT NULL,
	cash_paid	@extschema@.amount NOT NULL,
	PRIMARY KEY (month, instance_id, hour)
);
CREATE INDEX instance_hour_hour_idx ON @extschema@.instance_hour (hour);
CREATE INDEX instance_hour_instance_idx ON @extschema@.instance_hour (instance_id);
COMMENT ON TABLE @extschema@.instance_hour IS 'A roll-up of a closed month: the usage of each instance and hour charged by the month''s order lines (instance_usage); append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.instance_hour', '');
SELECT @extschema@.make_append_only('@extschema@.instance_hour');

-- the customers' roll-ups of month m (the months before it closed): returns their digest
CREATE FUNCTION @extschema@.close_customer_month(m date) RETURNS text
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	b record := @extschema@.month_bounds(m);
BEGIN
	INSERT INTO @extschema@.customer_month (customer_id, month, recharged, vouchers_granted, charged, refunded,
											cash_change, closing_cash, used)
	SELECT s.customer, s.month, s.recharged, s.vouchers_granted, s.charged, s.refunded, s.cash_change,
		   coalesce(p.closing_cash, @extschema@.zero(@extschema@.currency(s.cash_change))) + s.cash_change, s.used
	FROM @extschema@.customer_movements(b.starts_at, b.ends_at) s
	LEFT JOIN LATERAL (SELECT k.closing_cash FROM @extschema@.customer_month k
					   WHERE k.customer_id = s.customer AND k.month < s.month ORDER BY k.month DESC LIMIT 1) p ON true;
	INSERT INTO @extschema@.instance_hour (month, instance_id, customer_id, hour, seconds, charged, voucher_paid, cash_paid)
	SELECT m, h.instance, h.customer, h.hour, h.seconds, h.charged, h.voucher_paid, h.cash_paid
	FROM @extschema@.instance_hours(b.starts_at, b.ends_at) h;
	RETURN @extschema@.customer_month_digest(m);	/* the hours: instance_hour_digest */
END
$$;
COMMENT ON FUNCTION @extschema@.close_customer_month(date) IS 'Write the customers'' roll-ups of a closed month (statement rows, instance hours); returns their digest';

CREATE FUNCTION @extschema@.customer_month_digest(m date) RETURNS text
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
	SELECT pg_catalog.md5(@extschema@.rollup_sum('@extschema@.customer_month', m))
$$;
COMMENT ON FUNCTION @extschema@.customer_month_digest(date) IS 'The digest of the customers'' statement roll-up of a month';

-- the hours of use are as many as the month's order lines: verify(full => true) checks their digest
CREATE FUNCTION @extschema@.instance_hour_digest(m date) RETURNS text
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
	SELECT pg_catalog.md5(@extschema@.rollup_sum('@extschema@.instance_hour', m))
$$;
COMMENT ON FUNCTION @extschema@.instance_hour_digest(date) IS 'The digest of the instance hours of a month''s order lines';
/*
 * 90_views.sql — views for BI on the customer side (R-BI-1, R-BI-2):
 * hours, days and months are those of the billing time zone; amounts are
 * amounts; everything derives from order lines and the journal.
 *
 * Map (scripts/file-map.pl):
 * API: arrears, customer_statement, instance_usage.
 * Uses: 1_types, 3_ledger.
 */

/*
 * Closed months come from their roll-ups (88_months.sql), the open months
 * from the journal dated from closed_until() on: a month's query reads one
 * month of roll-ups and the open months' partitions, whatever the history.
 */
CREATE VIEW @extschema@.instance_usage AS
SELECT u.instance, u.customer, u.hour, pg_catalog.sum(u.seconds)::bigint AS seconds,
	   @extschema@.sum(u.charged) AS charged, @extschema@.sum(u.voucher_paid) AS voucher_paid,
	   @extschema@.sum(u.cash_paid) AS cash_paid
FROM (SELECT h.instance_id AS instance, h.customer_id AS customer, h.hour, h.seconds, h.charged, h.voucher_paid, h.cash_paid
	  FROM @extschema@.instance_hour h
	  UNION ALL
	  SELECT o.instance, o.customer, o.hour, o.seconds, o.charged, o.voucher_paid, o.cash_paid
	  FROM @extschema@.instance_hours(coalesce(@extschema@.closed_until(), '-infinity'), 'infinity') o) u
GROUP BY 1, 2, 3;
COMMENT ON VIEW @extschema@.instance_usage IS 'One row per instance and hour (billing time zone) of use: seconds charged and the charge; a prepaid term counts in the hour it starts';

CREATE VIEW @extschema@.customer_statement AS
SELECT k.customer_id AS customer, k.month, k.recharged, k.vouchers_granted, k.charged, k.refunded, k.closing_cash
FROM @extschema@.customer_month k
UNION ALL
SELECT s.customer, s.month, s.recharged, s.vouchers_granted, s.charged, s.refunded,
	   coalesce(p.closing_cash, @extschema@.zero(@extschema@.currency(s.cash_change)))
	   + @extschema@.sum(s.cash_change) OVER (PARTITION BY s.customer ORDER BY s.month) AS closing_cash
FROM @extschema@.customer_movements(coalesce(@extschema@.closed_until(), '-infinity'), 'infinity') s
LEFT JOIN LATERAL (SELECT c.closing_cash FROM @extschema@.customer_month c
				   WHERE c.customer_id = s.customer ORDER BY c.month DESC LIMIT 1) p ON true;
COMMENT ON VIEW @extschema@.customer_statement IS 'One row per customer and month (billing time zone) with movements: recharged, vouchers granted, charged (cash and vouchers, storage included), refunded, and cash at the month''s end';

CREATE VIEW @extschema@.arrears AS
SELECT a.customer_id AS customer, a.since, -w.cash AS amount
FROM @extschema@.arrears_period a
JOIN @extschema@.wallet w USING (customer_id)
WHERE a.repaid_at IS NULL AND @extschema@.micros(w.cash) < 0;
COMMENT ON VIEW @extschema@.arrears IS 'One row per customer in arrears now: since when, and how much cash is owed';
/*
 * 95_verify.sql — the customers layer's invariants, one row per check
 * (verify() in 8_clock runs them with every layer's).
 *
 * Map (scripts/file-map.pl):
 * Internals: verify_customers.
 * Uses: 3_ledger.
 */

CREATE FUNCTION @extschema@.verify_customers(whole boolean)
	RETURNS TABLE (check_name text, ok boolean, detail text)
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	/* R-SEC-3: a running PAYG run has exactly one active hold, its own; no other instance has one */
	SELECT 'running PAYG instances have exactly one active hold of their own', count(*) = 0,
		   count(*) || ' instances with a missing, foreign or extra active hold'
		   || coalesce(': ' || string_agg(x.instance_id::text, ', '), '')
	FROM (SELECT i.instance_id, i.hold_id, a.holds, a.hold_ids,
				 i.state = 'running' AND i.billing = 'payg' AND i.product <> 'one_time' AS holds_one
		  FROM @extschema@.instance i
		  LEFT JOIN (SELECT h.object_id, count(*) AS holds, array_agg(h.hold_id) AS hold_ids
					 FROM @extschema@.active_holds(whole) h
					 WHERE h.object_type = 'instance'
					 GROUP BY h.object_id) a ON a.object_id = i.instance_id) x
	WHERE CASE WHEN x.holds_one THEN x.holds IS DISTINCT FROM 1 OR x.hold_ids[1] IS DISTINCT FROM x.hold_id
			   ELSE x.holds IS NOT NULL END
$$;
COMMENT ON FUNCTION @extschema@.verify_customers(boolean) IS 'The customers layer''s invariants (R-SEC-3): one row per check with ok and a detail';
/*
 * 10_money.sql — what a partner may withdraw, and withdrawals
 * (R-PRT-2, R-PRT-4).
 *
 * Withdrawable = cash income earned before the current month (billing time
 * zone; order lines' partner income) - deposits held (the deposit account's
 * balance) - withdrawn - compensation deducted; never below 0.  Deposits and
 * withdrawals are partner-keyed transfers; income is summed from order lines
 * (indexed by partner and time), never from one balance row.
 *
 * Map (scripts/file-map.pl):
 * API: request_withdrawal, withdrawable.
 * Internals: partner_money.
 * Tables: withdrawal.
 * Uses: 1_types, 2_base, 3_ledger, 4_parties, 5_customers.
 */

CREATE TABLE @extschema@.withdrawal (
	withdrawal_id bigint PRIMARY KEY,
	partner_id	bigint NOT NULL,
	month		date NOT NULL,				/* calendar month of the request, billing time zone */
	amount		@extschema@.amount NOT NULL CHECK (@extschema@.micros(amount) > 0),
	at			timestamptz NOT NULL,
	due_at		timestamptz NOT NULL,		/* payout due by: 5 working days */
	UNIQUE (partner_id, month)				/* R-PRT-4: at most one per month, whatever the races */
);
COMMENT ON TABLE @extschema@.withdrawal IS 'A partner''s withdrawal of income, at most one per calendar month (R-PRT-4), append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.withdrawal', '');
SELECT @extschema@.make_append_only('@extschema@.withdrawal');

-- the parts of withdrawable as of t (for the API and the statement)
CREATE FUNCTION @extschema@.partner_money(partner bigint, t timestamptz,
										  OUT income @extschema@.amount, OUT deposits @extschema@.amount,
										  OUT withdrawn @extschema@.amount, OUT compensation @extschema@.amount,
										  OUT withdrawable @extschema@.amount)
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	cur text;
	z @extschema@.amount;
	month_start timestamptz;
	deposit_account bigint;
	payouts bigint;
	since timestamptz := @extschema@.closed_until();	/* the closed months come from their roll-up (issue 14) */
	k record;
BEGIN
	SELECT p.currency INTO cur FROM @extschema@.partner p WHERE p.partner_id = partner;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown partner: %', partner USING ERRCODE = 'no_data_found';
	END IF;
	z := @extschema@.zero(cur);
	month_start := @extschema@.lower(@extschema@.billing_period('month', t, @extschema@.billing_timezone()));
	deposit_account := @extschema@.account_of('partner', partner, 'deposit', cur);
	payouts := @extschema@.account_of('world', 0, 'payouts', cur);
	IF since IS NULL OR t < since THEN
		since := '-infinity';		/* a time in a closed month: the whole journal */
	END IF;
	SELECT coalesce(@extschema@.sum(m.income), z) AS income, coalesce(@extschema@.sum(m.deposits), z) AS deposits,
		   coalesce(@extschema@.sum(m.withdrawn), z) AS withdrawn, coalesce(@extschema@.sum(m.compensation), z) AS compensation
	INTO k FROM @extschema@.partner_month m
	WHERE m.partner_id = partner AND since > '-infinity' AND @extschema@.currency(m.income) = cur;
	SELECT k.income + coalesce(@extschema@.sum(o.partner_income), z) INTO income
	FROM @extschema@.order_line o
	WHERE o.partner_id = partner AND o.at >= since AND o.at < month_start AND @extschema@.currency(o.charge) = cur;
	SELECT k.deposits + coalesce(@extschema@.sum(CASE WHEN x.credit_account = deposit_account THEN x.amount ELSE -x.amount END)
								 FILTER (WHERE deposit_account IN (x.debit_account, x.credit_account)), z),
		   k.withdrawn + coalesce(@extschema@.sum(x.amount) FILTER (WHERE x.credit_account = payouts), z),
		   k.compensation + coalesce(@extschema@.sum(x.amount) FILTER (WHERE x.kind = 'compensation'), z)
	INTO deposits, withdrawn, compensation
	FROM @extschema@.transfer x WHERE x.partner_id = partner AND x.at >= since AND x.at <= t;
	withdrawable := GREATEST(income - deposits - withdrawn - compensation, z);
END
$$;
COMMENT ON FUNCTION @extschema@.partner_money(bigint, timestamptz) IS 'A partner''s income before the month of t, deposits held, withdrawn, compensation deducted and withdrawable (R-PRT-2); the closed months from their roll-up, the open ones from the journal';

CREATE FUNCTION @extschema@.withdrawable(partner bigint, at timestamptz DEFAULT NULL)
	RETURNS @extschema@.amount
	LANGUAGE plpgsql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	RETURN (@extschema@.partner_money(partner, @extschema@.api_time(at))).withdrawable;
END
$$;
COMMENT ON FUNCTION @extschema@.withdrawable(bigint, timestamptz) IS 'Cash income up to the end of the previous month - deposits - withdrawn - compensation, at least 0 (R-PRT-2)';

CREATE FUNCTION @extschema@.request_withdrawal(partner bigint, amt @extschema@.amount, at timestamptz DEFAULT NULL,
												request_id text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := @extschema@.api_time(at);
	tz text := @extschema@.billing_timezone();
	cur text;
	r record;
	m record;
	wd_month date;
	due timestamptz;
BEGIN
	/* the partner row serialises its withdrawals */
	cur := (@extschema@.lock_partner(partner)).currency;
	t := @extschema@.partner_time(at, partner);
	PERFORM @extschema@.check_amount(amt, cur, 'withdrawal amount');
	r := @extschema@.begin_request('request_withdrawal', request_id, NULL, partner,
								   pg_catalog.jsonb_build_object('partner', partner, 'amount', amt::text), t);
	IF r.done THEN
		RETURN r.id;
	END IF;
	wd_month := (t AT TIME ZONE tz)::date - (EXTRACT(day FROM t AT TIME ZONE tz)::integer - 1);
	IF EXISTS (SELECT FROM @extschema@.withdrawal w WHERE w.partner_id = partner AND w.month = wd_month) THEN
		RAISE EXCEPTION 'partner % has already withdrawn in %', partner, pg_catalog.to_char(wd_month, 'YYYY-MM')
			USING ERRCODE = 'GB002', HINT = 'One withdrawal per calendar month (billing time zone).';
	END IF;
	m := @extschema@.partner_money(partner, t);
	IF amt > m.withdrawable THEN
		RAISE EXCEPTION 'insufficient funds: % asked, % withdrawable', amt, m.withdrawable USING ERRCODE = 'GB001',
			DETAIL = pg_catalog.format('Income before this month %s, deposits %s, withdrawn %s, compensation %s.',
									   m.income, m.deposits, m.withdrawn, m.compensation);
	END IF;
	due := @extschema@.add_working_days(t, 5);
	INSERT INTO @extschema@.withdrawal (withdrawal_id, partner_id, month, amount, at, due_at)
	VALUES (r.id, partner, wd_month, amt, t, due);
	PERFORM @extschema@.post_transfers(ARRAY[
		@extschema@.leg(NULL, partner, t, 'withdrawal', @extschema@.account_of('partner', partner, 'income', cur),
						@extschema@.account_of('world', 0, 'payouts', cur), amt, 'withdrawal', r.id, request_id)]);
	INSERT INTO @extschema@.lifecycle_event (kind, partner_id, subject_type, subject_id, due_at, created_at)
	VALUES ('payout_due', partner, 'withdrawal', r.id, due, t);
	RETURN r.id;
END
$$;
COMMENT ON FUNCTION @extschema@.request_withdrawal(bigint, @extschema@.amount, timestamptz, text) IS 'Withdraw partner income: at most once per calendar month (GB002), at most withdrawable (GB001); payout due in 5 working days (R-PRT-4)';
/*
 * 20_ratings.sql — partner ratings and qualification (R-PRT-7, R-RAT-3).
 *
 * A partner starts at rating_initial (3.5).  rate_partner applies points
 * within the daily caps (per day of the billing time zone: at most +500 and
 * -3000 points in total); every change is a rating_event row.  At 0 the
 * qualification is terminated: no new listings (GB006) and every machine
 * goes offline by force (its running instances stop, their customers are
 * compensated; no new rentals, no starts).  Level names by rating live in
 * the table partner_level (a settings table; empty means the defaults).
 *
 * Map (scripts/file-map.pl):
 * API: partner_level, partner_rating, rate_partner.
 * Internals: rating_apply.
 * Tables: partner_level, rating_event.
 * Uses: 1_types, 2_base, 3_ledger, 4_parties, 5_customers.
 */

-- R-RAT-3: a rating change within the daily caps of the settings
CREATE FUNCTION @extschema@.rating_apply(r @extschema@.rating, delta integer, gained_today integer, lost_today integer)
	RETURNS @extschema@.rating
	LANGUAGE sql STABLE STRICT PARALLEL SAFE
	AS $$
		SELECT @extschema@.rating_apply(r, delta, gained_today, lost_today,
			(@extschema@.partner_settings()).rating_daily_gain_cap,
			(@extschema@.partner_settings()).rating_daily_loss_cap)
	$$;
COMMENT ON FUNCTION @extschema@.rating_apply(@extschema@.rating, integer, integer, integer) IS 'Apply delta points within the daily caps of the settings rating_daily_gain_cap and rating_daily_loss_cap';

CREATE TABLE @extschema@.partner_level (
	level		text PRIMARY KEY,
	min_rating	@extschema@.rating NOT NULL UNIQUE
);
COMMENT ON TABLE @extschema@.partner_level IS 'Partner levels: a partner is at the highest level whose min_rating its rating reaches (R-PRT-7); empty = the defaults bronze 0, silver 3, gold 4, platinum 4.5 (kept out of the table so that pg_dump keeps only an operator''s rows)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.partner_level', '');

CREATE TABLE @extschema@.rating_event (
	event_id	bigint PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	partner_id	bigint NOT NULL,
	at			timestamptz NOT NULL,
	day			date NOT NULL,				/* billing time zone */
	points		integer NOT NULL,			/* asked */
	applied		integer NOT NULL,			/* after the daily caps and the 0..5000 clamp */
	rating		@extschema@.rating NOT NULL,	/* after */
	reason		text NOT NULL
);
CREATE INDEX rating_event_partner_day_idx ON @extschema@.rating_event (partner_id, day);
COMMENT ON TABLE @extschema@.rating_event IS 'A change of a partner''s rating: points asked, applied within the daily caps, the rating after, append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rating_event', '');
SELECT @extschema@.make_append_only('@extschema@.rating_event');

CREATE FUNCTION @extschema@.partner_rating(partner bigint)
	RETURNS @extschema@.rating
	LANGUAGE plpgsql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	r @extschema@.rating;
BEGIN
	SELECT coalesce(p.rating, (@extschema@.partner_settings()).rating_initial) INTO r
	FROM @extschema@.partner p WHERE p.partner_id = partner;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown partner: %', partner USING ERRCODE = 'no_data_found';
	END IF;
	RETURN r;
END
$$;
COMMENT ON FUNCTION @extschema@.partner_rating(bigint) IS 'A partner''s rating (rating_initial until first rated)';

CREATE FUNCTION @extschema@.rate_partner(partner bigint, points integer, reason text, at timestamptz DEFAULT NULL)
	RETURNS @extschema@.rating
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := @extschema@.api_time(at);
	p @extschema@.partner;
	old @extschema@.rating;
	new @extschema@.rating;
	d date;
	gained integer;
	lost integer;
BEGIN
	p := @extschema@.lock_partner(partner);
	t := @extschema@.partner_time(at, partner);
	IF points IS NULL OR reason IS NULL OR reason = '' THEN
		RAISE EXCEPTION 'points and a reason are required' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.check_text(reason, 'reason', 1000);
	IF p.qualification = 'terminated' THEN
		RAISE EXCEPTION 'partner % is terminated', partner USING ERRCODE = 'GB006';
	END IF;
	d := (t AT TIME ZONE @extschema@.billing_timezone())::date;
	SELECT coalesce(pg_catalog.sum(e.applied) FILTER (WHERE e.applied > 0), 0),
		   coalesce(-pg_catalog.sum(e.applied) FILTER (WHERE e.applied < 0), 0)
	INTO gained, lost
	FROM @extschema@.rating_event e WHERE e.partner_id = partner AND e.day = d;
	old := coalesce(p.rating, (@extschema@.partner_settings()).rating_initial);
	/* R-RAT-3: within what the day's caps leave */
	new := @extschema@.rating_apply(old, points, gained::integer, lost::integer,
									(@extschema@.partner_settings()).rating_daily_gain_cap,
									(@extschema@.partner_settings()).rating_daily_loss_cap);
	INSERT INTO @extschema@.rating_event (partner_id, at, day, points, applied, rating, reason)
	VALUES (partner, t, d, points, @extschema@.points(new) - @extschema@.points(old), new, reason);
	UPDATE @extschema@.partner k SET rating = new WHERE k.partner_id = partner;
	IF @extschema@.points(new) = 0 THEN
		/* R-PRT-7: at 0 the qualification is terminated and every machine goes offline */
		UPDATE @extschema@.partner k SET qualification = 'terminated' WHERE k.partner_id = partner;
		/* forced: running instances stop and their customers are compensated (R-PRT-6); the
		   wallets of all their customers first, then the machines, in order (R-LED-6) */
		PERFORM @extschema@.lock_machines(ARRAY(SELECT m.machine_id FROM @extschema@.machine m
												WHERE m.partner_id = partner AND m.state IN ('listed', 'delisted')));
		PERFORM @extschema@.force_offline(m.machine_id, GREATEST(t, m.last_event_at), at IS NULL)
		FROM @extschema@.machine m WHERE m.partner_id = partner AND m.state IN ('listed', 'delisted')
		ORDER BY m.machine_id;
	END IF;
	RETURN new;
END
$$;
COMMENT ON FUNCTION @extschema@.rate_partner(bigint, integer, text, timestamptz) IS 'Change a partner''s rating by points within the daily caps; at 0 the qualification is terminated and the machines go offline (R-PRT-7, R-RAT-3)';

CREATE FUNCTION @extschema@.partner_level(partner bigint)
	RETURNS text
	LANGUAGE plpgsql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	RETURN (SELECT l.level
			FROM (SELECT k.level, k.min_rating FROM @extschema@.partner_level k
				  UNION ALL
				  SELECT d.level, d.min_rating::@extschema@.rating
				  FROM (VALUES ('bronze', '0'), ('silver', '3'), ('gold', '4'), ('platinum', '4.5')) d(level, min_rating)
				  WHERE NOT EXISTS (SELECT FROM @extschema@.partner_level)) l
			WHERE l.min_rating <= @extschema@.partner_rating(partner) ORDER BY l.min_rating DESC LIMIT 1);
END
$$;
COMMENT ON FUNCTION @extschema@.partner_level(bigint) IS 'The level of a partner''s rating (table partner_level)';
/*
 * 30_outages.sql — outages and compensation (R-PRT-8, R-PRT-6).
 *
 * An outage is a stretch [started, ended) in which a machine did not serve
 * its instances.  Unnotified outages compensate every customer that was
 * charged for the window: outage_compensation_multiple x the fees charged
 * for it (each order line counted by the seconds it shares with the window),
 * rounded half away from zero to cents, paid in cash.  The platform pays the
 * customer from its compensation account and recovers the same sum from the
 * partner's income: withdrawable falls by it (R-PRT-2).  Maintenance
 * registered in advance (notified) is neither compensated nor counted; more
 * than max_unnotified_outages_per_month unnotified outages starting in one
 * calendar month (billing time zone) revoke the partner's qualification.
 * A machine taken offline by force is an outage of kind forced_offline from
 * that instant on (see 84_machine_lifecycle.sql); it is not counted.
 *
 * Map (scripts/file-map.pl):
 * API: report_outage.
 * Internals: compensate, revoke_partner.
 * Tables: outage, outage_compensation.
 * Uses: 1_types, 2_base, 3_ledger, 4_parties, 5_customers.
 */

CREATE TABLE @extschema@.outage (
	outage_id	bigint PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	machine_id	bigint NOT NULL,
	partner_id	bigint NOT NULL,			/* party key */
	kind		text NOT NULL CHECK (kind IN ('outage', 'maintenance', 'forced_offline')),
	started		timestamptz NOT NULL,
	ended		timestamptz NOT NULL,		/* infinity for a forced offline */
	reported_at	timestamptz NOT NULL,
	CHECK (started < ended)
);
CREATE INDEX outage_machine_idx ON @extschema@.outage (machine_id, started);
CREATE INDEX outage_partner_idx ON @extschema@.outage (partner_id, started);
COMMENT ON TABLE @extschema@.outage IS 'An outage of a machine: unnotified (compensated, counted), maintenance notified in advance, or a forced offline; append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.outage', '');
SELECT @extschema@.make_append_only('@extschema@.outage');

CREATE TABLE @extschema@.outage_compensation (
	outage_id	bigint NOT NULL,
	instance_id	bigint NOT NULL,
	customer_id	bigint NOT NULL,			/* party keys: the customer paid, the partner charged */
	partner_id	bigint NOT NULL,
	fees		@extschema@.amount NOT NULL,	/* charged for the window (or the held hour lost) */
	amount		@extschema@.amount NOT NULL CHECK (@extschema@.micros(amount) > 0),
	at			timestamptz NOT NULL,
	PRIMARY KEY (outage_id, instance_id)
);
CREATE INDEX outage_compensation_customer_idx ON @extschema@.outage_compensation (customer_id);
CREATE INDEX outage_compensation_partner_idx ON @extschema@.outage_compensation (partner_id, at);
COMMENT ON TABLE @extschema@.outage_compensation IS 'The compensation of one instance''s customer for an outage: the fees of the window and the sum paid in cash; append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.outage_compensation', '');
SELECT @extschema@.make_append_only('@extschema@.outage_compensation');

/*
 * Compensate the customers of a machine for an outage window (their wallets
 * locked by the caller): per instance (of only_instances, or all), multiple
 * x (the fees charged for the window + the held hours of
 * lost_hold_instances), rounded to cents.
 */
CREATE FUNCTION @extschema@.compensate(outage bigint, machine bigint, win tstzrange, only_instances bigint[],
										lost_hold_instances bigint[], t timestamptz) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	multiple numeric := (@extschema@.partner_settings()).outage_compensation_multiple;
	cfg @extschema@.payg_settings := @extschema@.payg_settings();
	m @extschema@.machine;
	cur text;
	comp_account bigint;
	income_account bigint;
	r record;
	n integer := 0;
BEGIN
	SELECT * INTO m FROM @extschema@.machine k WHERE k.machine_id = machine;
	cur := @extschema@.currency(m.price_per_gpu_hour);
	comp_account := @extschema@.account_of('platform', 0, 'compensation', cur);
	income_account := @extschema@.account_of('partner', m.partner_id, 'income', cur);
	FOR r IN
		SELECT x.instance_id, x.customer_id, x.fees,
			   pg_catalog.round(x.fees * multiple, 2) AS amount, w.cash_account
		FROM (SELECT i.instance_id, i.customer_id,
					 coalesce((SELECT pg_catalog.sum(@extschema@.micros(o.charge)::numeric
									* EXTRACT(epoch FROM LEAST(pg_catalog.upper(o.usage), pg_catalog.upper(win))
														 - GREATEST(pg_catalog.lower(o.usage), pg_catalog.lower(win)))
									/ o.seconds)
							   FROM @extschema@.order_line o
							   WHERE o.instance_id = i.instance_id AND o.usage && win AND o.seconds > 0), 0) / 1000000
					 + CASE WHEN i.instance_id = ANY (lost_hold_instances)
							THEN @extschema@.micros(@extschema@.payg_hold(i.hourly_fee, cfg))::numeric / 1000000
							ELSE 0 END AS fees
			  FROM @extschema@.instance i
			  WHERE i.machine_id = machine AND (only_instances IS NULL OR i.instance_id = ANY (only_instances))
				/* an instance created after the window, or released before it, was not affected */
				AND i.created_at < pg_catalog.upper(win) AND (i.state <> 'released' OR i.last_event_at > pg_catalog.lower(win))) x
		JOIN @extschema@.wallet w USING (customer_id)
		WHERE pg_catalog.round(x.fees * multiple, 2) > 0
		ORDER BY x.customer_id, x.instance_id
	LOOP
		INSERT INTO @extschema@.outage_compensation (outage_id, instance_id, customer_id, partner_id, fees, amount, at)
		VALUES (outage, r.instance_id, r.customer_id, m.partner_id, @extschema@.amount(pg_catalog.round(r.fees, 6), cur),
				@extschema@.amount(r.amount, cur), t);
		PERFORM @extschema@.post_transfers(ARRAY[
			/* the platform pays the customer in cash ... */
			@extschema@.leg(r.customer_id, NULL, t, 'compensation', comp_account, r.cash_account, @extschema@.amount(r.amount, cur),
							'outage', outage),
			/* ... and recovers it from the partner's income (R-PRT-2: deducted from withdrawable) */
			@extschema@.leg(NULL, m.partner_id, t, 'compensation', income_account, comp_account, @extschema@.amount(r.amount, cur),
							'outage', outage)]);
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.compensate(bigint, bigint, tstzrange, bigint[], bigint[], timestamptz) IS 'Pay the customers of a machine multiple x the fees charged for an outage window, recovered from the partner''s income (R-PRT-8)';

CREATE FUNCTION @extschema@.report_outage(machine bigint, started timestamptz, ended timestamptz,
										   notified boolean DEFAULT false, at timestamptz DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz;
	tz text := @extschema@.billing_timezone();
	m @extschema@.machine;
	p @extschema@.partner;
	win tstzrange;
	o @extschema@.outage;
	id bigint;
	inst bigint;
	customers bigint[];
	affected bigint[];
	month @extschema@.billing_period;
	counted integer;
BEGIN
	m := @extschema@.find_machine(machine, false);
	/* R-CLK-5: not reported before the machine's last event, nor starting before it was listed */
	t := @extschema@.call_time(at, m.last_event_at, 'machine ' || machine);
	PERFORM @extschema@.check_time(started, 'an outage''s start');
	PERFORM @extschema@.check_time(ended, 'an outage''s end');
	IF started IS NULL OR ended IS NULL OR notified IS NULL OR started >= ended OR NOT pg_catalog.isfinite(ended) THEN
		RAISE EXCEPTION 'an outage needs a start before its end and notified true or false: % to %', started, ended
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF notified AND t >= started THEN
		/* R-PRT-8: maintenance is announced before it starts, or it is an outage */
		RAISE EXCEPTION 'maintenance must be announced before it starts: % is not before %', t, started USING ERRCODE = 'GB004',
			HINT = 'Report it as an outage (notified => false): its customers are compensated.';
	END IF;
	IF started < m.created_at THEN
		RAISE EXCEPTION 'an outage of machine % cannot start at %, before it was listed at %', machine, started, m.created_at
			USING ERRCODE = 'GB004';
	END IF;
	IF NOT notified AND ended > t THEN
		RAISE EXCEPTION 'an outage ending % is reported at %, before it ended', ended, t USING ERRCODE = 'GB004',
			HINT = 'Report an outage once it is over; maintenance announced in advance is reported with notified => true.';
	END IF;
	/* the partner row serialises the reports (and the count) of its machines */
	p := @extschema@.lock_partner(m.partner_id);
	win := pg_catalog.tstzrange(started, ended);
	SELECT * INTO o FROM @extschema@.outage k
	WHERE k.machine_id = machine AND pg_catalog.tstzrange(k.started, k.ended) && win
	ORDER BY k.started LIMIT 1;
	IF FOUND THEN
		IF o.started = started AND o.ended = ended AND (o.kind = 'maintenance') = notified THEN
			RETURN o.outage_id;		/* the same report again: done once */
		END IF;
		RAISE EXCEPTION 'the outage overlaps outage % of machine % (% to %)', o.outage_id, machine, o.started, o.ended
			USING ERRCODE = 'GB004';
	END IF;
	INSERT INTO @extschema@.outage (machine_id, partner_id, kind, started, ended, reported_at)
	VALUES (machine, m.partner_id, CASE WHEN notified THEN 'maintenance' ELSE 'outage' END, started, ended, t)
	RETURNING outage_id INTO id;
	IF notified THEN
		RETURN id;
	END IF;

	/*
	 * R-LED-6: the affected customers' wallets first, in customer order, then
	 * their instances on the machine (those not created after the window nor
	 * released before it) in instance order; only these are settled up to t
	 * and compensated (R-PRT-8).  An instance of a customer whose wallet is
	 * not locked here is never touched.
	 */
	customers := ARRAY(SELECT DISTINCT i.customer_id FROM @extschema@.instance i
					   WHERE i.machine_id = machine AND i.created_at < ended
						 AND (i.state <> 'released' OR i.last_event_at > started)
					   ORDER BY 1);
	PERFORM @extschema@.lock_wallets(customers);
	affected := ARRAY(SELECT i.instance_id FROM @extschema@.instance i
					  WHERE i.machine_id = machine AND i.customer_id = ANY (customers) AND i.created_at < ended
						AND (i.state <> 'released' OR i.last_event_at > started)
					  ORDER BY i.instance_id FOR UPDATE);
	FOREACH inst IN ARRAY affected LOOP
		PERFORM @extschema@.settle_instance_until(inst, t);		/* nothing for an instance that does not run */
		IF EXISTS (SELECT FROM @extschema@.instance k
				   WHERE k.instance_id = inst AND k.state = 'running' AND k.hold_id IS NOT NULL AND k.billed_until < t) THEN
			PERFORM @extschema@.settle_instance(inst, t, 'interim');
		END IF;
	END LOOP;
	PERFORM @extschema@.compensate(id, machine, win, affected, '{}', t);

	/* R-PRT-8: more than max_unnotified_outages_per_month in a calendar month revoke the qualification */
	month := @extschema@.billing_period('month', report_outage.started, tz);
	SELECT pg_catalog.count(*) INTO counted FROM @extschema@.outage k
	WHERE k.partner_id = m.partner_id AND k.kind = 'outage'
	  AND k.started >= @extschema@.lower(month) AND k.started < @extschema@.upper(month);
	IF counted > (@extschema@.partner_settings()).max_unnotified_outages_per_month AND p.qualification = 'qualified' THEN
		PERFORM @extschema@.revoke_partner(m.partner_id, t);
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.report_outage(bigint, timestamptz, timestamptz, boolean, timestamptz) IS 'Record an outage of a machine: unnotified ones settle its instances up to at and compensate their customers from the partner''s income, and more than 3 in a month revoke the qualification; notified maintenance is only recorded (R-PRT-8)';

-- R-PRT-8: a revoked partner lists nothing new (GB006) and its listed machines take no new rentals
CREATE FUNCTION @extschema@.revoke_partner(partner bigint, t timestamptz) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	UPDATE @extschema@.partner k SET qualification = 'revoked' WHERE k.partner_id = partner;
	UPDATE @extschema@.machine m SET state = 'delisted', last_event_at = GREATEST(m.last_event_at, t)
	WHERE m.partner_id = partner AND m.state = 'listed';
END
$$;
COMMENT ON FUNCTION @extschema@.revoke_partner(bigint, timestamptz) IS 'Revoke a partner''s qualification: no new listings, its listed machines delisted (R-PRT-8)';
/*
 * 40_machine_lifecycle.sql — delisting, taking offline and removing machines
 * (R-PRT-5, R-PRT-6), and what tick does for them.
 *
 * Delisting stops new rentals only.  Taking a machine offline while an
 * instance runs on it is refused (GB004) unless forced; forced, each running
 * instance is settled up to the instant and stopped (machine_offline), and
 * its customer compensated (R-PRT-8) for what it had paid beyond that
 * instant: multiple x the prepaid term or package left (by the second), and
 * for a PAYG instance the held hour(s) it loses.  A machine is removed once
 * every instance on it is released; when a partner has removed every
 * machine its deposits go back to its income, the part that is withdrawable
 * is paid out (deposit_refund_due in 10 days), and its qualification ends a
 * calendar month later (qualification_end_due, cancelled by a new listing).
 *
 * Locks: the partner, then the customers' wallets (customer order), then the
 * machine, then the instances — never a wallet after a machine.
 *
 * Map (scripts/file-map.pl):
 * API: delist_machine, remove_machine, set_vouchers_allowed, take_offline.
 * Internals: delist_ending_machines, end_qualifications, force_offline,
 *   lock_machines, refund_deposits.
 * Uses: 1_types, 2_base, 3_ledger, 4_parties, 5_customers.
 */

CREATE FUNCTION @extschema@.delist_machine(machine bigint, at timestamptz DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	m @extschema@.machine;
	t timestamptz;
BEGIN
	m := @extschema@.find_machine(machine, true);
	t := @extschema@.call_time(at, m.last_event_at, 'machine ' || machine);
	IF m.state <> 'listed' THEN
		RAISE EXCEPTION 'machine % is %', machine, m.state USING ERRCODE = 'GB004', HINT = 'Only a listed machine is delisted.';
	END IF;
	UPDATE @extschema@.machine k SET state = 'delisted', last_event_at = t WHERE k.machine_id = machine;
END
$$;
COMMENT ON FUNCTION @extschema@.delist_machine(bigint, timestamptz) IS 'Delist a machine: no new rentals; running instances go on and stopped ones may start (R-PRT-6)';

/*
 * R-PRT-1: a partner changes whether vouchers pay on a machine, from at on.
 * Its running PAYG instances are first settled up to at under the old
 * permission (an interim settlement, as for an outage report); charges and
 * holds from at on follow the new one, while the holds already placed keep
 * what they reserved (cash only or not).  Wallets, then the machine.
 */
CREATE FUNCTION @extschema@.set_vouchers_allowed(machine bigint, allowed boolean, at timestamptz DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	m @extschema@.machine := @extschema@.find_machine(machine, false);
	t timestamptz;
	inst bigint;
BEGIN
	IF allowed IS NULL THEN
		RAISE EXCEPTION 'allowed must not be null' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.lock_machines(ARRAY[machine]);
	SELECT * INTO m FROM @extschema@.machine k WHERE k.machine_id = machine;
	t := @extschema@.call_time(at, m.last_event_at, 'machine ' || machine);
	IF at IS NULL THEN		/* R-CLK-5: a defaulted at follows the running instances' latest event */
		t := GREATEST(t, (SELECT pg_catalog.max(k.last_event_at) FROM @extschema@.instance k
						  WHERE k.machine_id = machine AND k.state = 'running'));
	END IF;
	IF m.state = 'removed' THEN
		RAISE EXCEPTION 'machine % is removed', machine USING ERRCODE = 'GB004';
	END IF;
	IF m.vouchers_allowed = allowed THEN
		RETURN;
	END IF;
	FOR inst IN SELECT k.instance_id FROM @extschema@.instance k
				WHERE k.machine_id = machine AND k.state = 'running' ORDER BY k.instance_id FOR UPDATE LOOP
		PERFORM @extschema@.call_time(t, (SELECT k.last_event_at FROM @extschema@.instance k WHERE k.instance_id = inst),
									  'instance ' || inst);
		PERFORM @extschema@.settle_instance_until(inst, t);
		IF EXISTS (SELECT FROM @extschema@.instance k
				   WHERE k.instance_id = inst AND k.state = 'running' AND k.hold_id IS NOT NULL AND k.billed_until < t) THEN
			PERFORM @extschema@.settle_instance(inst, t, 'interim');
		END IF;
	END LOOP;
	UPDATE @extschema@.instance k SET cash_only = NOT allowed, last_event_at = GREATEST(k.last_event_at, t)
	WHERE k.machine_id = machine AND k.state = 'running';
	UPDATE @extschema@.machine k SET vouchers_allowed = allowed, last_event_at = GREATEST(k.last_event_at, t)
	WHERE k.machine_id = machine;
END
$$;
COMMENT ON FUNCTION @extschema@.set_vouchers_allowed(bigint, boolean, timestamptz) IS 'Allow or refuse vouchers on a machine from at on: running instances settled up to at first, holds already placed keep what they reserved (R-PRT-1)';

/*
 * R-LED-6: lock machines for taking them offline: the wallets of the
 * customers running on them (customer order), then the machines (id order).
 * A rental that slipped in between the two adds a customer whose wallet
 * would now come out of order: then every lock taken here is given back
 * (the subtransaction is rolled back) and taken again, in order.  Once the
 * machines are locked no rental starts on them, so the set stays.  Returns
 * the customers.
 */
CREATE FUNCTION @extschema@.lock_machines(machines bigint[]) RETURNS bigint[]
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	customers bigint[];
BEGIN
	LOOP
		BEGIN
			customers := ARRAY(SELECT DISTINCT k.customer_id FROM @extschema@.instance k
							   WHERE k.machine_id = ANY (machines) AND k.state = 'running' ORDER BY 1);
			PERFORM @extschema@.lock_wallets(customers);
			PERFORM pg_catalog.count(*) FROM (SELECT FROM @extschema@.machine k WHERE k.machine_id = ANY (machines)
											  ORDER BY k.machine_id FOR UPDATE) locked;
			IF NOT EXISTS (SELECT FROM @extschema@.instance k
						   WHERE k.machine_id = ANY (machines) AND k.state = 'running' AND k.customer_id <> ALL (customers)) THEN
				RETURN customers;
			END IF;
			RAISE EXCEPTION 'a rental started meanwhile: lock again' USING ERRCODE = 'GB099';
		EXCEPTION WHEN SQLSTATE 'GB099' THEN
			NULL;	/* the locks of this round are given back; the next round takes them in order */
		END;
	END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.lock_machines(bigint[]) IS 'Lock the wallets of the customers running on machines, then the machines, in order; retried from scratch if a rental slipped in';

/*
 * Take a machine offline at t by force (the partner row locked by the
 * caller): its running instances are settled up to t, stopped and their
 * customers compensated.  Returns the number of instances stopped.  With
 * the caller's at omitted (defaulted), t moves to the latest event of those
 * instances, so that a concurrent caller never fails for time (R-CLK-5).
 */
CREATE FUNCTION @extschema@.force_offline(machine bigint, t timestamptz, defaulted boolean) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	customers bigint[];
	running bigint[];
	lost bigint[] := '{}';
	i @extschema@.instance;
	inst bigint;
	outage bigint;
BEGIN
	customers := @extschema@.lock_machines(ARRAY[machine]);	/* wallets before the machine */
	running := ARRAY(SELECT k.instance_id FROM @extschema@.instance k
					 WHERE k.machine_id = machine AND k.state = 'running' ORDER BY k.instance_id FOR UPDATE);
	IF defaulted THEN
		t := GREATEST(t, (SELECT pg_catalog.max(k.last_event_at) FROM @extschema@.instance k WHERE k.instance_id = ANY (running)));
	END IF;
	IF pg_catalog.cardinality(running) > 0 THEN
		INSERT INTO @extschema@.outage (machine_id, partner_id, kind, started, ended, reported_at)
		SELECT machine, k.partner_id, 'forced_offline', t, 'infinity', t FROM @extschema@.machine k WHERE k.machine_id = machine
		RETURNING outage_id INTO outage;
	END IF;
	FOREACH inst IN ARRAY running LOOP
		SELECT * INTO i FROM @extschema@.instance k WHERE k.instance_id = inst;
		PERFORM @extschema@.call_time(t, i.last_event_at, 'instance ' || inst);
		PERFORM @extschema@.halt_instance(inst, t, 'machine_offline');
		/* a PAYG run that was still running at t loses the hour(s) held for it */
		IF i.hold_id IS NOT NULL
		   AND (SELECT k.stop_reason FROM @extschema@.instance k WHERE k.instance_id = inst) = 'machine_offline' THEN
			lost := lost || inst;
		END IF;
	END LOOP;
	IF outage IS NOT NULL THEN
		PERFORM @extschema@.compensate(outage, machine, pg_catalog.tstzrange(t, 'infinity'), running, lost, t);
	END IF;
	UPDATE @extschema@.machine k SET state = 'offline', last_event_at = GREATEST(k.last_event_at, t)
	WHERE k.machine_id = machine;
	RETURN pg_catalog.cardinality(running);
END
$$;
COMMENT ON FUNCTION @extschema@.force_offline(bigint, timestamptz, boolean) IS 'Take a machine offline: its running instances settled, stopped (machine_offline) and their customers compensated (R-PRT-6, R-PRT-8)';

CREATE FUNCTION @extschema@.take_offline(machine bigint, force boolean DEFAULT false, at timestamptz DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	m @extschema@.machine;
	t timestamptz;
	n integer;
BEGIN
	m := @extschema@.find_machine(machine, false);
	IF force IS NULL THEN
		RAISE EXCEPTION 'force must not be null' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.lock_partner(m.partner_id);
	IF NOT force THEN
		m := @extschema@.find_machine(machine, true);
	END IF;
	t := @extschema@.call_time(at, m.last_event_at, 'machine ' || machine);
	IF m.state NOT IN ('listed', 'delisted') THEN
		RAISE EXCEPTION 'machine % is %', machine, m.state USING ERRCODE = 'GB004';
	END IF;
	IF NOT force THEN
		SELECT pg_catalog.count(*) INTO n FROM @extschema@.instance k WHERE k.machine_id = machine AND k.state = 'running';
		IF n > 0 THEN
			RAISE EXCEPTION 'machine % has % running instances', machine, n USING ERRCODE = 'GB004',
				HINT = 'Wait until they stop, or take it offline with force => true: they stop and their customers are compensated.';
		END IF;
		UPDATE @extschema@.machine k SET state = 'offline', last_event_at = t WHERE k.machine_id = machine;
	ELSE
		PERFORM @extschema@.force_offline(machine, t, at IS NULL);
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.take_offline(bigint, boolean, timestamptz) IS 'Take a machine offline: refused while an instance runs on it (GB004) unless forced; forced, they stop and their customers are compensated (R-PRT-6, R-PRT-8)';

CREATE FUNCTION @extschema@.remove_machine(machine bigint, at timestamptz DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	m @extschema@.machine;
	t timestamptz;
	n integer;
BEGIN
	m := @extschema@.find_machine(machine, false);
	/* the partner row serialises "every machine removed" */
	PERFORM @extschema@.lock_partner(m.partner_id);
	m := @extschema@.find_machine(machine, true);
	t := @extschema@.call_time(at, m.last_event_at, 'machine ' || machine);
	IF m.state = 'removed' THEN
		RAISE EXCEPTION 'machine % is already removed', machine USING ERRCODE = 'GB004';
	END IF;
	SELECT pg_catalog.count(*) INTO n FROM @extschema@.instance k WHERE k.machine_id = machine AND k.state <> 'released';
	IF n > 0 THEN
		RAISE EXCEPTION 'machine % still has % instances not released', machine, n USING ERRCODE = 'GB004',
			HINT = 'Customers release them; stopped and expired ones are released by tick after stopped_release_days.';
	END IF;
	UPDATE @extschema@.machine k SET state = 'removed', last_event_at = t WHERE k.machine_id = machine;
	IF NOT EXISTS (SELECT FROM @extschema@.machine k WHERE k.partner_id = m.partner_id AND k.state <> 'removed') THEN
		PERFORM @extschema@.refund_deposits(m.partner_id, t);
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.remove_machine(bigint, timestamptz) IS 'Remove a machine once every instance on it is released; the partner''s last one refunds the deposits and ends the qualification a month later (R-PRT-6)';

/*
 * R-PRT-6: a partner without machines gets its deposits back (locked by the
 * caller): deposit -> income; what that makes withdrawable (never more than
 * the deposits) is paid out, due in 10 days; the qualification ends a
 * calendar month later.
 */
CREATE FUNCTION @extschema@.refund_deposits(partner bigint, t timestamptz) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	cur text := (SELECT p.currency FROM @extschema@.partner p WHERE p.partner_id = partner);
	tz text := @extschema@.billing_timezone();
	before record;
	held @extschema@.amount;
	pay @extschema@.amount;
	refund bigint;
BEGIN
	SELECT * INTO before FROM @extschema@.partner_money(partner, t);
	held := before.deposits;
	IF @extschema@.micros(held) > 0 THEN
		refund := pg_catalog.nextval('@extschema@.id_seq');
		PERFORM @extschema@.post_transfers(ARRAY[
			ROW(refund, NULL, partner, t, 'deposit_refund', @extschema@.account_of('partner', partner, 'deposit', cur),
				@extschema@.account_of('partner', partner, 'income', cur), held, 'partner', partner, NULL, NULL, NULL)::@extschema@.leg]);
		pay := LEAST(held, (@extschema@.partner_money(partner, t)).withdrawable - before.withdrawable);
		IF @extschema@.micros(pay) > 0 THEN
			PERFORM @extschema@.post_transfers(ARRAY[
				@extschema@.leg(NULL, partner, t, 'deposit_refund', @extschema@.account_of('partner', partner, 'income', cur),
								@extschema@.account_of('world', 0, 'payouts', cur), pay, 'transfer', refund)]);
		END IF;
		INSERT INTO @extschema@.lifecycle_event (kind, partner_id, subject_type, subject_id, due_at, created_at)
		VALUES ('deposit_refund_due', partner, 'partner', partner, t + interval '10 days', t)
		ON CONFLICT DO NOTHING;
	END IF;
	IF (SELECT p.qualification FROM @extschema@.partner p WHERE p.partner_id = partner) = 'qualified' THEN
		INSERT INTO @extschema@.lifecycle_event (kind, partner_id, subject_type, subject_id, due_at, created_at)
		VALUES ('qualification_end_due', partner, 'partner', partner, ((t AT TIME ZONE tz) + interval '1 month') AT TIME ZONE tz, t)
		ON CONFLICT DO NOTHING;
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.refund_deposits(bigint, timestamptz) IS 'Move a partner''s deposits back to its income, pay out what that makes withdrawable, schedule the refund and the end of the qualification (R-PRT-6)';

/*
 * tick: from the owner end time less delist_before_end_days a machine is
 * delisted and each customer with an instance on it not yet released gets
 * a migrate_data alert, closed when that instance is released (R-PRT-5).
 */
CREATE FUNCTION @extschema@.delist_ending_machines(t timestamptz) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	cfg @extschema@.partner_settings := @extschema@.partner_settings();
	n integer;
BEGIN
	WITH due AS (
		UPDATE @extschema@.machine m
		SET state = CASE WHEN m.state = 'listed' THEN 'delisted' ELSE m.state END,
			end_notice_at = GREATEST(@extschema@.delist_at(m.owner_end_time, cfg), m.created_at),
			last_event_at = GREATEST(m.last_event_at, @extschema@.delist_at(m.owner_end_time, cfg))
		WHERE m.end_notice_at IS NULL AND m.state <> 'removed' AND @extschema@.delist_at(m.owner_end_time, cfg) <= t
		RETURNING m.machine_id, m.partner_id, m.owner_end_time, m.end_notice_at
	), alerts AS (
		INSERT INTO @extschema@.alert (kind, customer_id, partner_id, subject_type, subject_id, condition, raised_at, payload)
		SELECT 'migrate_data', i.customer_id, d.partner_id, 'instance', i.instance_id, d.owner_end_time::text, d.end_notice_at,
			   pg_catalog.jsonb_build_object('machine', d.machine_id, 'owner_end_time', d.owner_end_time)
		FROM due d JOIN @extschema@.instance i ON i.machine_id = d.machine_id
		WHERE i.state <> 'released'
		ON CONFLICT DO NOTHING
		RETURNING 1
	)
	SELECT pg_catalog.count(*) INTO n FROM due;
	UPDATE @extschema@.alert a SET closed_at = GREATEST(a.raised_at, i.last_event_at)
	FROM @extschema@.instance i
	WHERE a.kind = 'migrate_data' AND a.closed_at IS NULL AND a.subject_type = 'instance'
	  AND i.instance_id = a.subject_id AND i.state = 'released';
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.delist_ending_machines(timestamptz) IS 'Delist machines from their owner end time less delist_before_end_days, alert migrate_data to their customers, close the alerts of released instances (R-PRT-5)';

-- tick: qualifications whose end is due (and not cancelled by a new listing) end
CREATE FUNCTION @extschema@.end_qualifications(t timestamptz) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	n integer;
BEGIN
	UPDATE @extschema@.partner p SET qualification = 'ended'
	FROM @extschema@.lifecycle_event e
	WHERE e.kind = 'qualification_end_due' AND e.subject_type = 'partner' AND e.subject_id = p.partner_id
	  AND e.cancelled_at IS NULL AND e.due_at <= t AND p.qualification = 'qualified'
	  AND NOT EXISTS (SELECT FROM @extschema@.machine m WHERE m.partner_id = p.partner_id AND m.state <> 'removed');
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.end_qualifications(timestamptz) IS 'End the qualification of partners whose qualification_end_due has come (R-PRT-6)';
/*
 * 88_months.sql — the partners' and the platform's roll-ups of closed
 * months (issue 14): partner_month, a partner's statement row of the month
 * (partner_statement), and platform_day, the platform's revenue of each day
 * of the month (platform_revenue).  The views read closed months from them
 * and only the open months from the journal, with the same functions.
 *
 * Map (scripts/file-map.pl):
 * API: partner_movements, platform_days.
 * Internals: close_partner_month, partner_month_digest.
 * Tables: partner_month, platform_day.
 * Uses: 1_types, 2_base, 3_ledger, 5_customers.
 */

/*
 * Each partner's month over what is dated in [lo, hi): gross charged on its
 * machines, platform fees, the voucher-paid part, its income (order lines);
 * deposits moved, compensation deducted, paid out (its transfers); and the
 * month's change of what it may withdraw.  Inlined; the bounds computed once.
 */
CREATE FUNCTION @extschema@.partner_movements(lo timestamptz, hi timestamptz)
	RETURNS TABLE (partner bigint, month date, gross @extschema@.amount, fees @extschema@.amount,
				   voucher_paid @extschema@.amount, income @extschema@.amount, deposits @extschema@.amount,
				   compensation @extschema@.amount, withdrawn @extschema@.amount, change @extschema@.amount)
	LANGUAGE sql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	SET jit = off			/* compiling the plan of every month's partition costs more than the read */
	AS $$
	WITH lines AS (
		SELECT o.partner_id, (pg_catalog.date_trunc('month', o.at AT TIME ZONE (SELECT @extschema@.billing_timezone())))::date AS month,
			   @extschema@.sum(o.charge) AS gross, @extschema@.sum(o.platform_fee) AS fees,
			   @extschema@.sum(o.voucher_paid) AS voucher_paid, @extschema@.sum(o.partner_income) AS income
		FROM @extschema@.order_line o
		WHERE o.at >= (SELECT lo) AND o.at < (SELECT hi)
		GROUP BY 1, 2
	), moves AS (
		SELECT x.partner_id, (pg_catalog.date_trunc('month', x.at AT TIME ZONE (SELECT @extschema@.billing_timezone())))::date AS month,
			   @extschema@.sum(CASE WHEN x.credit_account = d.account_id THEN x.amount ELSE -x.amount END)
				   FILTER (WHERE d.account_id IN (x.debit_account, x.credit_account)) AS deposits,
			   @extschema@.sum(x.amount) FILTER (WHERE x.kind = 'compensation') AS compensation,
			   @extschema@.sum(x.amount) FILTER (WHERE x.credit_account = w.account_id) AS withdrawn
		FROM @extschema@.transfer x
		JOIN @extschema@.partner p ON p.partner_id = x.partner_id
		JOIN @extschema@.account d ON (d.owner_kind, d.owner_id, d.purpose, d.currency) = ('partner', p.partner_id, 'deposit', p.currency)
		JOIN @extschema@.account w ON (w.owner_kind, w.owner_id, w.purpose, w.currency) = ('world', 0, 'payouts', p.currency)
		WHERE x.partner_id IS NOT NULL AND x.at >= (SELECT lo) AND x.at < (SELECT hi)
		GROUP BY 1, 2
	)
	SELECT s.partner, s.month, s.gross, s.fees, s.voucher_paid, s.income, s.deposits, s.compensation, s.withdrawn,
		   s.income - s.deposits - s.withdrawn - s.compensation
	FROM (SELECT coalesce(l.partner_id, m.partner_id) AS partner, coalesce(l.month, m.month) AS month,
				 coalesce(l.gross, z.z) AS gross, coalesce(l.fees, z.z) AS fees, coalesce(l.voucher_paid, z.z) AS voucher_paid,
				 coalesce(l.income, z.z) AS income, coalesce(m.deposits, z.z) AS deposits,
				 coalesce(m.compensation, z.z) AS compensation, coalesce(m.withdrawn, z.z) AS withdrawn
		  FROM lines l
		  FULL JOIN moves m ON m.partner_id = l.partner_id AND m.month = l.month
		  JOIN @extschema@.partner p ON p.partner_id = coalesce(l.partner_id, m.partner_id)
		  CROSS JOIN LATERAL (SELECT @extschema@.zero(p.currency) AS z) z) s
$$;
COMMENT ON FUNCTION @extschema@.partner_movements(timestamptz, timestamptz) IS 'Each partner''s statement figures by billing month over what is dated in [lo, hi), and the change of what it may withdraw (partner_statement, its roll-up)';

CREATE TABLE @extschema@.partner_month (
	partner_id	bigint NOT NULL,
	month		date NOT NULL,
	gross		@extschema@.amount NOT NULL,
	fees		@extschema@.amount NOT NULL,
	voucher_paid @extschema@.amount NOT NULL,
	income		@extschema@.amount NOT NULL,
	deposits	@extschema@.amount NOT NULL,
	compensation @extschema@.amount NOT NULL,
	withdrawn	@extschema@.amount NOT NULL,
	running		@extschema@.amount NOT NULL,	/* income less deposits, withdrawn, compensation, ever, to the month's end */
	PRIMARY KEY (partner_id, month)
);
CREATE INDEX partner_month_month_idx ON @extschema@.partner_month (month);
COMMENT ON TABLE @extschema@.partner_month IS 'A roll-up of a closed month: a partner''s statement row (partner_statement), written when the month closes; append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.partner_month', '');
SELECT @extschema@.make_append_only('@extschema@.partner_month');

-- the platform's revenue of each day and currency over the transfers dated in [lo, hi) (platform_revenue; inlined)
CREATE FUNCTION @extschema@.platform_days(lo timestamptz, hi timestamptz)
	RETURNS TABLE (day date, currency text, service_fees @extschema@.amount, commissions @extschema@.amount,
				   voucher_breakage @extschema@.amount, compensation_paid @extschema@.amount,
				   compensation_recovered @extschema@.amount, vouchers_spent @extschema@.amount, forfeits @extschema@.amount)
	LANGUAGE plpgsql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL SAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	SET plan_cache_mode = force_custom_plan	/* the bounds known when planning: months outside them not even planned */
	SET jit = off			/* compiling the plan of every month's partition costs more than the read */
	AS $$
#variable_conflict use_column
BEGIN
	RETURN QUERY
	WITH legs AS (
		SELECT x.at, x.kind, x.credit_account AS account_id, x.amount FROM @extschema@.transfer x
		WHERE x.at >= lo AND x.at < hi
		UNION ALL
		SELECT x.at, x.kind, x.debit_account, -x.amount FROM @extschema@.transfer x
		WHERE x.at >= lo AND x.at < hi
	)
	SELECT (l.at AT TIME ZONE (SELECT @extschema@.billing_timezone()))::date, a.currency,
		   coalesce(@extschema@.sum(l.amount) FILTER (WHERE a.purpose = 'fee'), z.z),
		   coalesce(@extschema@.sum(l.amount) FILTER (WHERE a.purpose = 'commission'), z.z),
		   coalesce(@extschema@.sum(l.amount) FILTER (WHERE a.purpose = 'voucher_breakage'), z.z),
		   coalesce(-@extschema@.sum(l.amount) FILTER (WHERE a.purpose = 'compensation' AND @extschema@.micros(l.amount) < 0), z.z),
		   coalesce(@extschema@.sum(l.amount) FILTER (WHERE a.purpose = 'compensation' AND @extschema@.micros(l.amount) > 0), z.z),
		   coalesce(@extschema@.sum(l.amount) FILTER (WHERE a.purpose = 'voucher_expense' AND l.kind = 'voucher_spend'), z.z),
		   coalesce(@extschema@.sum(l.amount) FILTER (WHERE a.purpose = 'forfeit'), z.z)
	FROM legs l
	JOIN @extschema@.account a ON a.account_id = l.account_id AND a.owner_kind = 'platform'
	CROSS JOIN LATERAL (SELECT @extschema@.zero(a.currency) AS z) z
	GROUP BY 1, 2, z.z;
END
$$;
COMMENT ON FUNCTION @extschema@.platform_days(timestamptz, timestamptz) IS 'The platform''s revenue of each day and currency over the transfers dated in [lo, hi) (platform_revenue, its roll-up)';

CREATE TABLE @extschema@.platform_day (
	day			date NOT NULL,
	currency	text NOT NULL,
	month		date NOT NULL,				/* the closed month of the day */
	service_fees @extschema@.amount NOT NULL,
	commissions	@extschema@.amount NOT NULL,
	voucher_breakage @extschema@.amount NOT NULL,
	compensation_paid @extschema@.amount NOT NULL,
	compensation_recovered @extschema@.amount NOT NULL,
	vouchers_spent @extschema@.amount NOT NULL,
	forfeits	@extschema@.amount NOT NULL,
	PRIMARY KEY (day, currency)
);
CREATE INDEX platform_day_month_idx ON @extschema@.platform_day (month);
COMMENT ON TABLE @extschema@.platform_day IS 'A roll-up of a closed month: the platform''s revenue of a day and currency (platform_revenue); append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.platform_day', '');
SELECT @extschema@.make_append_only('@extschema@.platform_day');

-- the partners' and the platform's roll-ups of month m (the months before it closed): returns their digest
CREATE FUNCTION @extschema@.close_partner_month(m date) RETURNS text
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	b record := @extschema@.month_bounds(m);
BEGIN
	INSERT INTO @extschema@.partner_month (partner_id, month, gross, fees, voucher_paid, income, deposits, compensation,
										   withdrawn, running)
	SELECT s.partner, s.month, s.gross, s.fees, s.voucher_paid, s.income, s.deposits, s.compensation, s.withdrawn,
		   coalesce(p.running, @extschema@.zero(@extschema@.currency(s.change))) + s.change
	FROM @extschema@.partner_movements(b.starts_at, b.ends_at) s
	LEFT JOIN LATERAL (SELECT k.running FROM @extschema@.partner_month k
					   WHERE k.partner_id = s.partner AND k.month < s.month ORDER BY k.month DESC LIMIT 1) p ON true;
	INSERT INTO @extschema@.platform_day (day, currency, month, service_fees, commissions, voucher_breakage,
										  compensation_paid, compensation_recovered, vouchers_spent, forfeits)
	SELECT d.day, d.currency, m, d.service_fees, d.commissions, d.voucher_breakage, d.compensation_paid,
		   d.compensation_recovered, d.vouchers_spent, d.forfeits
	FROM @extschema@.platform_days(b.starts_at, b.ends_at) d;
	RETURN @extschema@.partner_month_digest(m);
END
$$;
COMMENT ON FUNCTION @extschema@.close_partner_month(date) IS 'Write the partners'' and the platform''s roll-ups of a closed month (statement rows, revenue by day); returns their digest';

CREATE FUNCTION @extschema@.partner_month_digest(m date) RETURNS text
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
	SELECT pg_catalog.md5(@extschema@.rollup_sum('@extschema@.partner_month', m) || ';'
						  || @extschema@.rollup_sum('@extschema@.platform_day', m))
$$;
COMMENT ON FUNCTION @extschema@.partner_month_digest(date) IS 'The digest of the partners'' and the platform''s roll-ups of a month';
/*
 * 90_views.sql — views for BI on the partner and platform side
 * (R-BI-1, R-BI-2): months and days of the billing time zone; everything
 * derives from order lines and the journal.
 *
 * Map (scripts/file-map.pl):
 * API: partner_statement, platform_revenue.
 * Uses: 1_types, 3_ledger.
 */

/*
 * Closed months come from their roll-ups (88_months.sql), the open months
 * from the journal dated from closed_until() on.
 */
CREATE VIEW @extschema@.partner_statement AS
SELECT k.partner_id AS partner, k.month, k.gross, k.fees, k.voucher_paid, k.income, k.deposits, k.compensation, k.withdrawn,
	   GREATEST(k.running, @extschema@.zero(@extschema@.currency(k.running))) AS withdrawable
FROM @extschema@.partner_month k
UNION ALL
SELECT s.partner, s.month, s.gross, s.fees, s.voucher_paid, s.income, s.deposits, s.compensation, s.withdrawn,
	   GREATEST(coalesce(p.running, @extschema@.zero(@extschema@.currency(s.change)))
				+ @extschema@.sum(s.change) OVER (PARTITION BY s.partner ORDER BY s.month),
				@extschema@.zero(@extschema@.currency(s.change)))
FROM @extschema@.partner_movements(coalesce(@extschema@.closed_until(), '-infinity'), 'infinity') s
LEFT JOIN LATERAL (SELECT c.running FROM @extschema@.partner_month c
				   WHERE c.partner_id = s.partner ORDER BY c.month DESC LIMIT 1) p ON true;
COMMENT ON VIEW @extschema@.partner_statement IS 'One row per partner and month (billing time zone) with activity: gross charged on its machines, platform fees, the voucher-paid part, its income (gross = voucher_paid + fees + income), deposits moved (refunds negative), compensation deducted, paid out (withdrawals and deposit refunds), and withdrawable once the month is over (R-PRT-2, R-PRT-3)';

CREATE VIEW @extschema@.platform_revenue AS
SELECT d.day, d.currency, d.service_fees, d.commissions, d.voucher_breakage, d.compensation_paid, d.compensation_recovered,
	   d.vouchers_spent, d.forfeits
FROM @extschema@.platform_day d
UNION ALL
SELECT d.day, d.currency, d.service_fees, d.commissions, d.voucher_breakage, d.compensation_paid, d.compensation_recovered,
	   d.vouchers_spent, d.forfeits
FROM @extschema@.platform_days(coalesce(@extschema@.closed_until(), '-infinity'), 'infinity') d;
COMMENT ON VIEW @extschema@.platform_revenue IS 'One row per day (billing time zone) and currency with platform movements: service fees (order lines and storage, net of reversals), commissions, voucher breakage, compensation paid to customers and recovered from partners, usage paid by vouchers (the platform''s voucher expense, R-PRT-3) and forfeits';
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
/*
 * 20_contracts.sql — compute exchange contracts (R-EXC-1..5): providers,
 * contracts and their payments.
 *
 * A provider is a partner (is_provider) with an exchange account, separate
 * from marketplace income.  A contract's schedule (86_exchange_schedule.sql)
 * is written out at acceptance as contract_payment rows; every payment the
 * provider receives is a contract_receipt (the exchange's order line) and
 * its transfers, keyed by the customer: the gross minus the commission to
 * the provider's exchange account, the commission to the platform.
 *
 * Approved customers pay with pay_contract (money from outside); the others
 * from their wallet: the initial (or full) payment is held at acceptance and
 * captured at the term start, later payments are taken by tick from their
 * due time on, only in full.  The deposit part of the initial payment waits
 * in the customer's deposit account and reaches the provider piece by piece
 * with the customer's payment of that piece.
 *
 *   pending -> active -> completed;  active <-> late (pending -> late: an
 *   approved customer's first payment late before the start);
 *   active | late -> terminated;  active -> resold
 *
 * Map (scripts/file-map.pl):
 * API: contract_schedule, contract_state, create_contract, open_provider,
 *   pay_contract, provider_wallet, record_provider_offset,
 *   set_commission_tiers, set_provider_commission.
 * Internals: accept_contract, commission_rate, late_from, lock_contract,
 *   pay_fee, pay_row, receive.
 * Tables: contract, contract_fee, contract_payment, contract_receipt,
 *   contract_transition, exchange_commission_tier, provider_commission,
 *   provider_offset.
 * Uses: 1_types, 2_base, 3_ledger, 4_parties.
 */

CREATE TABLE @extschema@.contract (
	contract_id	bigint PRIMARY KEY,
	customer_id	bigint NOT NULL,			/* party key; its wallet is locked first */
	provider_id	bigint NOT NULL,
	gpus		integer NOT NULL CHECK (gpus > 0),
	price_per_gpu_hour @extschema@.amount NOT NULL CHECK (@extschema@.micros(price_per_gpu_hour) > 0),
	term		tstzrange NOT NULL,
	total		@extschema@.amount NOT NULL,	/* the total contract value: what the customer pays in all */
	deposit		@extschema@.amount NOT NULL,	/* the cancellation fee deposit in the initial payment */
	deposit_left @extschema@.amount NOT NULL,	/* paid in and not yet applied (cached; the journal is the truth) */
	initial_days integer NOT NULL,			/* R-EXC-3: the settings at acceptance, for the life of the contract */
	deposit_rate numeric NOT NULL,
	approved	boolean NOT NULL,			/* the customer paid directly when it accepted */
	hold_id		bigint,						/* the held initial payment of a prefunded customer */
	state		text NOT NULL CHECK (state IN ('pending', 'active', 'late', 'terminated', 'resold', 'completed')),
	accepted_at	timestamptz NOT NULL,
	ended_at	timestamptz,
	end_reason	text,
	resold_from	bigint,						/* the contract whose remaining term this one is */
	resold_to	bigint,						/* the contract its remaining term was resold as */
	resale_at	timestamptz,				/* the resale takes effect (a calendar month's start) */
	last_event_at timestamptz NOT NULL
);
CREATE INDEX contract_customer_idx ON @extschema@.contract (customer_id);
CREATE INDEX contract_provider_idx ON @extschema@.contract (provider_id);
CREATE INDEX contract_open_idx ON @extschema@.contract (state) WHERE state IN ('pending', 'active', 'late');
COMMENT ON TABLE @extschema@.contract IS 'A compute exchange contract: a customer rents GPUs of a provider for a term at a price per GPU-hour';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.contract', '');

CREATE TABLE @extschema@.contract_transition (
	from_state	text NOT NULL,
	to_state	text NOT NULL,
	PRIMARY KEY (from_state, to_state)
);
INSERT INTO @extschema@.contract_transition VALUES
	('pending', 'active'), ('active', 'completed'), ('active', 'late'), ('late', 'active'),
	('active', 'terminated'), ('late', 'terminated'), ('active', 'resold'), ('late', 'resold'), ('pending', 'late'),
	('late', 'pending');		/* a late initial payment made before the term starts */
COMMENT ON TABLE @extschema@.contract_transition IS 'The allowed state changes of a contract';

CREATE TRIGGER contract_state_machine AFTER UPDATE ON @extschema@.contract
	FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state) EXECUTE FUNCTION @extschema@.check_transition('contract_transition', 'contract_id');

CREATE TABLE @extschema@.contract_payment (
	contract_id	bigint NOT NULL,
	seq			integer NOT NULL,
	customer_id	bigint NOT NULL,
	due_at		timestamptz NOT NULL,
	covers		tstzrange NOT NULL,
	customer_pays @extschema@.amount NOT NULL,
	from_deposit @extschema@.amount NOT NULL,
	kind		text NOT NULL CHECK (kind IN ('full', 'initial', 'monthly', 'final')),
	late_from	timestamptz NOT NULL,		/* R-EXC-5: unpaid from here on it is late */
	paid_at		timestamptz,
	late_at		timestamptz,				/* it became late (once) */
	cancelled_at timestamptz,				/* no longer due: terminated or resold */
	evidence	text,						/* R-EXC-5: the customer showed it initiated the payment */
	evidence_at	timestamptz,
	PRIMARY KEY (contract_id, seq)
);
CREATE INDEX contract_payment_due_idx ON @extschema@.contract_payment (due_at) WHERE paid_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX contract_payment_late_idx ON @extschema@.contract_payment (late_from) WHERE paid_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX contract_payment_customer_idx ON @extschema@.contract_payment (customer_id);
COMMENT ON TABLE @extschema@.contract_payment IS 'A payment of a contract''s schedule: due time, the stretch it covers, what the customer pays and what the deposit adds; paid, late or cancelled';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.contract_payment', '');

CREATE TABLE @extschema@.contract_receipt (
	receipt_id	bigint PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	contract_id	bigint NOT NULL,
	customer_id	bigint NOT NULL,			/* party keys */
	provider_id	bigint NOT NULL,
	seq			integer,					/* the schedule row paid, if any */
	kind		text NOT NULL CHECK (kind IN ('payment', 'deposit', 'reservation_fee', 'cancellation_fee', 'premium', 'reseller_refund')),
	gross		@extschema@.amount NOT NULL CHECK (@extschema@.micros(gross) > 0),
	commission	@extschema@.amount NOT NULL,
	rate		numeric NOT NULL,
	at			timestamptz NOT NULL,
	external_id	text
);
CREATE INDEX contract_receipt_contract_idx ON @extschema@.contract_receipt (contract_id);
CREATE INDEX contract_receipt_provider_idx ON @extschema@.contract_receipt (provider_id, at);
COMMENT ON TABLE @extschema@.contract_receipt IS 'Money a provider received for a contract: the gross, the commission deducted (R-EXC-4), append-only';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.contract_receipt', '');
SELECT @extschema@.make_append_only('@extschema@.contract_receipt');

-- R-EXC-4: commission tiers by the provider's volume received in the calendar month
CREATE TABLE @extschema@.exchange_commission_tier (
	min_volume	numeric PRIMARY KEY CHECK (min_volume >= 0),	/* in the provider's currency */
	rate		numeric NOT NULL CHECK (rate >= 0 AND rate <= 1)
);
COMMENT ON TABLE @extschema@.exchange_commission_tier IS 'Volume discounts on the exchange commission: from min_volume received by a provider in a calendar month on, its rate applies; empty = exchange_commission_rate for all';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.exchange_commission_tier', '');

-- R-EXC-9: what the exchange overpaid a provider, recovered from its next receipts
CREATE TABLE @extschema@.provider_offset (
	offset_id	bigint PRIMARY KEY,
	provider_id	bigint NOT NULL,			/* party key */
	amount		@extschema@.amount NOT NULL CHECK (@extschema@.micros(amount) > 0),
	recovered	@extschema@.amount NOT NULL,	/* cached: the offset transfers of it (checked by verify) */
	reason		text NOT NULL,
	at			timestamptz NOT NULL,
	CHECK (recovered <= amount AND @extschema@.micros(recovered) >= 0)
);
CREATE INDEX provider_offset_open_idx ON @extschema@.provider_offset (provider_id, offset_id) WHERE recovered < amount;
COMMENT ON TABLE @extschema@.provider_offset IS 'An amount the exchange overpaid a provider (R-EXC-9), deducted from its next receipts before its wallet is credited, until recovered';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.provider_offset', '');

CREATE FUNCTION @extschema@.record_provider_offset(provider bigint, amt @extschema@.amount, reason text,
													at timestamptz DEFAULT NULL, request_id text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	p @extschema@.partner;
	t timestamptz;
	r record;
BEGIN
	IF NOT @extschema@.is_admin() THEN
		RAISE EXCEPTION 'offsets are recorded only by gpubill_admin' USING ERRCODE = 'insufficient_privilege',
			DETAIL = pg_catalog.format('The calling role is %s.', @extschema@.calling_role());
	END IF;
	p := @extschema@.lock_partner(provider);
	IF NOT p.is_provider THEN
		RAISE EXCEPTION 'unknown provider: %', provider USING ERRCODE = 'no_data_found';
	END IF;
	t := @extschema@.partner_time(at, provider);
	PERFORM @extschema@.check_amount(amt, p.currency, 'offset');
	IF reason IS NULL OR reason = '' THEN
		RAISE EXCEPTION 'an offset needs a reason' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.check_text(reason, 'reason', 1000);
	r := @extschema@.begin_request('record_provider_offset', request_id, NULL, provider,
								   pg_catalog.jsonb_build_object('provider', provider, 'amount', amt::text, 'reason', reason), t);
	IF r.done THEN
		RETURN r.id;
	END IF;
	INSERT INTO @extschema@.provider_offset (offset_id, provider_id, amount, recovered, reason, at)
	VALUES (r.id, provider, amt, @extschema@.zero(p.currency), reason, t);
	RETURN r.id;
END
$$;
COMMENT ON FUNCTION @extschema@.record_provider_offset(bigint, @extschema@.amount, text, timestamptz, text) IS 'Record an amount overpaid to a provider, recovered from its next receipts before its wallet is credited (R-EXC-9); admin';

-- R-EXC-4: a negotiated commission rate of a provider, from an instant on
CREATE TABLE @extschema@.provider_commission (
	provider_id	bigint NOT NULL,			/* party key */
	from_at		timestamptz NOT NULL,
	rate		numeric NOT NULL CHECK (rate >= 0 AND rate <= 1),
	set_at		timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
	set_by		name NOT NULL,
	PRIMARY KEY (provider_id, from_at)
);
COMMENT ON TABLE @extschema@.provider_commission IS 'A commission rate negotiated with a provider, overriding the tiers from from_at on (R-EXC-4)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.provider_commission', '');

CREATE FUNCTION @extschema@.set_provider_commission(provider bigint, rate numeric, from_at timestamptz)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	IF NOT @extschema@.is_admin() THEN
		RAISE EXCEPTION 'commissions are negotiated only by gpubill_admin' USING ERRCODE = 'insufficient_privilege',
			DETAIL = pg_catalog.format('The calling role is %s.', @extschema@.calling_role());
	END IF;
	IF rate IS NULL OR rate::text = 'NaN' OR rate < 0 OR rate > 1 OR from_at IS NULL THEN
		RAISE EXCEPTION 'a commission rate from 0 to 1 and its start are needed: % from %', rate, from_at
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.check_time(from_at, 'from_at');
	IF NOT EXISTS (SELECT FROM @extschema@.partner p WHERE p.partner_id = provider AND p.is_provider) THEN
		RAISE EXCEPTION 'unknown provider: %', provider USING ERRCODE = 'no_data_found';
	END IF;
	INSERT INTO @extschema@.provider_commission AS k (provider_id, from_at, rate, set_by)
	VALUES (provider, from_at, rate, @extschema@.calling_role())
	ON CONFLICT ON CONSTRAINT provider_commission_pkey DO UPDATE SET rate = EXCLUDED.rate, set_at = EXCLUDED.set_at, set_by = EXCLUDED.set_by;
END
$$;
COMMENT ON FUNCTION @extschema@.set_provider_commission(bigint, numeric, timestamptz) IS 'Negotiate a provider''s commission rate from an instant on, overriding the tiers (R-EXC-4); admin';

-- R-EXC-4: the volume discount tiers, replaced as a whole: [{"from": "0 USD", "rate": 0.04}, ...]
CREATE FUNCTION @extschema@.set_commission_tiers(tiers jsonb)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	rows integer;
BEGIN
	IF NOT @extschema@.is_admin() THEN
		RAISE EXCEPTION 'commission tiers are set only by gpubill_admin' USING ERRCODE = 'insufficient_privilege',
			DETAIL = pg_catalog.format('The calling role is %s.', @extschema@.calling_role());
	END IF;
	IF tiers IS NULL OR pg_catalog.jsonb_typeof(tiers) <> 'array' THEN
		RAISE EXCEPTION 'commission tiers are a JSON array of {"from": amount, "rate": number}' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	BEGIN
		CREATE TEMP TABLE gpubill_tiers ON COMMIT DROP AS
		SELECT CASE WHEN pg_catalog.jsonb_typeof(e -> 'from') = 'number' THEN (e ->> 'from')::numeric
					ELSE @extschema@.to_numeric((e ->> 'from')::@extschema@.amount) END AS min_volume,
			   (e ->> 'rate')::numeric AS rate
		FROM pg_catalog.jsonb_array_elements(tiers) e;
	EXCEPTION WHEN data_exception OR invalid_text_representation THEN
		RAISE EXCEPTION 'commission tiers are a JSON array of {"from": amount, "rate": number}: %', tiers
			USING ERRCODE = 'invalid_parameter_value';
	END;
	IF EXISTS (SELECT FROM pg_temp.gpubill_tiers k WHERE k.min_volume IS NULL OR k.rate IS NULL OR k.min_volume < 0
			   OR k.rate::text = 'NaN' OR k.rate < 0 OR k.rate > 1)
	   OR (SELECT pg_catalog.count(DISTINCT k.min_volume) <> pg_catalog.count(*) FROM pg_temp.gpubill_tiers k) THEN
		RAISE EXCEPTION 'every tier needs a distinct "from" of at least 0 and a "rate" from 0 to 1: %', tiers
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	DELETE FROM @extschema@.exchange_commission_tier;
	INSERT INTO @extschema@.exchange_commission_tier (min_volume, rate) SELECT k.min_volume, k.rate FROM pg_temp.gpubill_tiers k;
	DROP TABLE pg_temp.gpubill_tiers;
END
$$;
COMMENT ON FUNCTION @extschema@.set_commission_tiers(jsonb) IS 'Replace the exchange commission''s volume discount tiers (R-EXC-4); admin; an empty array leaves exchange_commission_rate for all';

CREATE FUNCTION @extschema@.open_provider(external_ref text, currency text DEFAULT 'USD', at timestamptz DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	id bigint := @extschema@.open_partner(external_ref, coalesce(currency, 'USD'), at);
BEGIN
	UPDATE @extschema@.partner p SET is_provider = true WHERE p.partner_id = id AND NOT p.is_provider;
	PERFORM @extschema@.ledger_account('partner', id, 'exchange', coalesce(currency, 'USD'));
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.open_provider(text, text, timestamptz) IS 'Open an exchange provider: a partner with an exchange wallet (default USD); idempotent on external_ref';

CREATE FUNCTION @extschema@.provider_wallet(provider bigint)
	RETURNS TABLE (balance @extschema@.amount, commission_paid @extschema@.amount, offset_outstanding @extschema@.amount)
	LANGUAGE plpgsql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	p @extschema@.partner;
	acc bigint;
	z @extschema@.amount;
	last date;
	since timestamptz;
BEGIN
	SELECT * INTO p FROM @extschema@.partner k WHERE k.partner_id = provider AND k.is_provider;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown provider: %', provider USING ERRCODE = 'no_data_found';
	END IF;
	acc := @extschema@.account_of('partner', provider, 'exchange', p.currency);
	z := @extschema@.zero(p.currency);
	/*
	 * the wallet's closing balance of the last closed month (its roll-up),
	 * plus the open months' transfers of the provider's contracts: only they
	 * move the wallet, and they are keyed by customer (SPEC 10)
	 */
	SELECT c.month, c.ends_at INTO last, since FROM @extschema@.closed_month c ORDER BY c.month DESC LIMIT 1;
	RETURN QUERY
	SELECT @extschema@.amount(coalesce((SELECT k.closing FROM @extschema@.account_month k WHERE k.month = last AND k.account_id = acc), 0)
							  / 1000000, p.currency)
		   + coalesce((SELECT @extschema@.sum(CASE WHEN x.credit_account = acc THEN x.amount ELSE -x.amount END)
					   FROM @extschema@.contract c
					   JOIN @extschema@.transfer x ON x.object_type = 'contract' AND x.object_id = c.contract_id
					   WHERE c.provider_id = provider AND acc IN (x.credit_account, x.debit_account)
						 AND x.at >= coalesce(since, '-infinity')), z),
		   coalesce((SELECT @extschema@.sum(r.commission) FROM @extschema@.contract_receipt r
					 WHERE r.provider_id = provider AND r.kind NOT IN ('premium', 'reseller_refund')), z),
		   coalesce((SELECT @extschema@.sum(o.amount - o.recovered) FROM @extschema@.provider_offset o
					 WHERE o.provider_id = provider), z);
END
$$;
COMMENT ON FUNCTION @extschema@.provider_wallet(bigint) IS 'A provider''s exchange wallet: what it received net of commission, and the commission deducted (R-EXC-4)';
CREATE INDEX transfer_contract_idx ON @extschema@.transfer_default (object_id) WHERE object_type = 'contract';
CREATE INDEX transfer_offset_idx ON @extschema@.transfer_default (object_id) WHERE kind = 'offset';	/* verify: what each offset recovered */

-- R-EXC-4: the commission rate of a provider's next receipt at t
CREATE FUNCTION @extschema@.commission_rate(provider bigint, t timestamptz) RETURNS numeric
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	month @extschema@.billing_period;
	volume numeric;
	negotiated numeric;
BEGIN
	/* a negotiated rate overrides the tiers from its start on */
	negotiated := (SELECT k.rate FROM @extschema@.provider_commission k WHERE k.provider_id = provider AND k.from_at <= t
				   ORDER BY k.from_at DESC LIMIT 1);
	IF negotiated IS NOT NULL THEN
		RETURN negotiated;
	END IF;
	IF NOT EXISTS (SELECT FROM @extschema@.exchange_commission_tier) THEN
		RETURN (@extschema@.exchange_settings()).exchange_commission_rate;
	END IF;
	month := @extschema@.billing_period('month', t, @extschema@.billing_timezone());
	SELECT coalesce(pg_catalog.sum(@extschema@.micros(r.gross)), 0) / 1000000 INTO volume
	FROM @extschema@.contract_receipt r
	WHERE r.provider_id = provider AND r.at >= @extschema@.lower(month) AND r.at < @extschema@.upper(month)
	  AND r.kind NOT IN ('premium', 'reseller_refund');
	RETURN coalesce((SELECT k.rate FROM @extschema@.exchange_commission_tier k WHERE k.min_volume <= volume
					 ORDER BY k.min_volume DESC LIMIT 1),
					(@extschema@.exchange_settings()).exchange_commission_rate);
END
$$;
COMMENT ON FUNCTION @extschema@.commission_rate(bigint, timestamptz) IS 'The commission rate of a provider''s next receipt: the tier its month''s volume reached (R-EXC-4)';

/*
 * The provider of a contract receives gross from a source account: gross -
 * commission (rounded to cents) to its exchange account, the commission to
 * the platform; a receipt row and customer-keyed transfers.  A reseller's
 * premium or refund (R-EXC-6, R-EXC-7) goes the same way to the reseller's
 * cash (payee_account).  What the customer of a resold contract pays goes
 * whole to the platform's clearing account, from which tick pays the
 * provider and the reseller month by month (89_exchange_resale.sql).
 */
CREATE FUNCTION @extschema@.receive(c @extschema@.contract, seq integer, kind text, gross @extschema@.amount,
									 source bigint, t timestamptz, external_id text DEFAULT NULL,
									 payee_account bigint DEFAULT NULL) RETURNS bigint
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	cur text := @extschema@.currency(gross);
	rate numeric;
	commission @extschema@.amount;
	id bigint;
	net @extschema@.amount;
	recovered @extschema@.amount;
	take @extschema@.amount;
	o record;
BEGIN
	IF @extschema@.micros(gross) <= 0 THEN
		RETURN NULL;
	END IF;
	IF c.resold_from IS NOT NULL AND payee_account IS NULL THEN
		PERFORM @extschema@.post_transfers(ARRAY[
			@extschema@.leg(c.customer_id, NULL, t, 'payment', source, @extschema@.account_of('platform', 0, 'clearing', cur), gross,
							'contract', c.contract_id, external_id,
							pg_catalog.format('%s %s of resold contract %s, to clearing', kind, coalesce(seq::text, ''), c.contract_id))]);
		RETURN NULL;
	END IF;
	rate := @extschema@.commission_rate(c.provider_id, t);
	commission := @extschema@.amount(pg_catalog.round(@extschema@.micros(gross)::numeric * rate / 1000000, 2), cur);
	INSERT INTO @extschema@.contract_receipt (contract_id, customer_id, provider_id, seq, kind, gross, commission, rate, at, external_id)
	VALUES (c.contract_id, c.customer_id, c.provider_id, seq, kind, gross, commission, rate, t, external_id)
	RETURNING receipt_id INTO id;
	/* R-EXC-9: what the exchange overpaid the provider is recovered first, oldest offset first */
	net := gross - commission;
	recovered := @extschema@.zero(cur);
	IF payee_account IS NULL THEN
		FOR o IN SELECT k.offset_id, k.amount - k.recovered AS open FROM @extschema@.provider_offset k
				 WHERE k.provider_id = c.provider_id AND k.recovered < k.amount ORDER BY k.offset_id FOR UPDATE LOOP
			take := LEAST(o.open, net - recovered);
			EXIT WHEN @extschema@.micros(take) <= 0;
			PERFORM @extschema@.post_transfers(ARRAY[
				@extschema@.leg(c.customer_id, NULL, t, 'offset', source, @extschema@.account_of('platform', 0, 'receivable', cur), take,
								'provider_offset', o.offset_id, NULL,
								pg_catalog.format('recovered from receipt %s of contract %s', id, c.contract_id))]);
			UPDATE @extschema@.provider_offset k SET recovered = k.recovered + take WHERE k.offset_id = o.offset_id;
			recovered := recovered + take;
		END LOOP;
	END IF;
	PERFORM @extschema@.post_transfers(ARRAY[
		@extschema@.leg(c.customer_id, NULL, t, CASE kind WHEN 'deposit' THEN 'payment' ELSE kind END, source,
						coalesce(payee_account, @extschema@.account_of('partner', c.provider_id, 'exchange', cur)), net - recovered,
						'contract', c.contract_id, external_id,
						pg_catalog.format('%s %s of contract %s', kind, coalesce(seq::text, ''), c.contract_id)),
		@extschema@.leg(c.customer_id, NULL, t, 'commission', source, @extschema@.account_of('platform', 0, 'commission', cur),
						commission, 'contract', c.contract_id, external_id,
						pg_catalog.format('commission %s on receipt %s', rate, id))]);
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.receive(@extschema@.contract, integer, text, @extschema@.amount, bigint, timestamptz, text, bigint) IS 'Credit a provider (or a reseller) a receipt of a contract less the commission (R-EXC-4); a resold contract''s payments go to clearing';

/*
 * A schedule row paid from a source account (the customer's cash, or the
 * world's payments_in): the customer's part reaches the provider — for an
 * initial payment only the first days, the deposit going to the customer's
 * deposit account — and the piece's share of the deposit follows it.
 */
CREATE FUNCTION @extschema@.pay_row(c @extschema@.contract, r @extschema@.contract_payment, source bigint, t timestamptz,
									 external_id text DEFAULT NULL) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	cur text := @extschema@.currency(r.customer_pays);
	deposit_account bigint := @extschema@.ledger_account('customer', c.customer_id, 'deposit', cur);
	earlier integer;
BEGIN
	/* R-EXC-3: strictly in schedule order — a deposit is applied only once it was paid in */
	SELECT pg_catalog.min(p.seq) INTO earlier FROM @extschema@.contract_payment p
	WHERE p.contract_id = r.contract_id AND p.seq < r.seq AND p.paid_at IS NULL AND p.cancelled_at IS NULL;
	IF earlier IS NOT NULL THEN
		RAISE EXCEPTION 'payment % of contract % cannot be paid before payment %', r.seq, r.contract_id, earlier
			USING ERRCODE = 'GB004', HINT = 'A contract''s payments are made in schedule order.';
	END IF;
	IF r.kind = 'initial' THEN
		PERFORM @extschema@.receive(c, r.seq, 'payment', r.customer_pays - c.deposit, source, t, external_id);
		IF @extschema@.micros(c.deposit) > 0 THEN
			PERFORM @extschema@.post_transfers(ARRAY[
				@extschema@.leg(c.customer_id, NULL, t, 'deposit', source, deposit_account, c.deposit, 'contract', c.contract_id,
								external_id, 'cancellation fee deposit of contract ' || c.contract_id)]);
			UPDATE @extschema@.contract k SET deposit_left = k.deposit_left + c.deposit WHERE k.contract_id = c.contract_id;
		END IF;
	ELSE
		PERFORM @extschema@.receive(c, r.seq, 'payment', r.customer_pays, source, t, external_id);
		IF @extschema@.micros(r.from_deposit) > 0 THEN
			PERFORM @extschema@.receive(c, r.seq, 'deposit', r.from_deposit, deposit_account, t);
			UPDATE @extschema@.contract k SET deposit_left = k.deposit_left - r.from_deposit WHERE k.contract_id = c.contract_id;
		END IF;
	END IF;
	UPDATE @extschema@.contract_payment p SET paid_at = t WHERE p.contract_id = r.contract_id AND p.seq = r.seq;
	/* a late contract is active again once nothing late is unpaid (pending again, if its term has not begun);
	   R-EXC-1: delivery follows payment — a pending contract whose term has begun is active once its first payment is made */
	UPDATE @extschema@.contract k
	SET state = CASE WHEN t < pg_catalog.lower(k.term) THEN 'pending' ELSE 'active' END,
		last_event_at = GREATEST(k.last_event_at, t)
	WHERE k.contract_id = c.contract_id
	  AND (k.state = 'late' OR (k.state = 'pending' AND pg_catalog.lower(k.term) <= t))
	  AND NOT EXISTS (SELECT FROM @extschema@.contract_payment p
					  WHERE p.contract_id = c.contract_id AND p.paid_at IS NULL AND p.cancelled_at IS NULL
						AND (p.late_at IS NOT NULL OR p.seq = 1));
END
$$;
COMMENT ON FUNCTION @extschema@.pay_row(@extschema@.contract, @extschema@.contract_payment, bigint, timestamptz, text) IS 'Pay a schedule row of a contract from a source account: the provider receives it less commission, the deposit is set aside or applied';

-- R-EXC-5: unpaid from the end of the grace-th business day after the due day on, a payment is late
CREATE FUNCTION @extschema@.late_from(due timestamptz) RETURNS timestamptz
	LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	tz text := @extschema@.billing_timezone();
BEGIN
	/* 00:00 of the day after the grace-th working day after the due day */
	RETURN (pg_catalog.date_trunc('day', @extschema@.add_working_days(due,
				(@extschema@.exchange_settings()).payment_grace_business_days) AT TIME ZONE tz)
			+ interval '1 day') AT TIME ZONE tz;
END
$$;
COMMENT ON FUNCTION @extschema@.late_from(timestamptz) IS 'When a payment due at an instant is late: 00:00 after the payment_grace_business_days-th business day (Mon-Fri) after its due day (R-EXC-5)';

CREATE FUNCTION @extschema@.create_contract(customer bigint, provider bigint, gpus integer, price_per_gpu_hour @extschema@.amount,
											 term tstzrange, at timestamptz DEFAULT NULL, request_id text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := @extschema@.api_time(at);
	w @extschema@.wallet;
	k @extschema@.customer;
	p @extschema@.partner;
	r record;
BEGIN
	PERFORM @extschema@.check_term(term);
	w := @extschema@.lock_wallet(customer);
	SELECT * INTO k FROM @extschema@.customer c WHERE c.customer_id = customer;
	SELECT * INTO p FROM @extschema@.partner x WHERE x.partner_id = provider AND x.is_provider;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown provider: %', provider USING ERRCODE = 'no_data_found';
	END IF;
	IF p.qualification <> 'qualified' THEN
		RAISE EXCEPTION 'provider % is not qualified (%)', provider, p.qualification USING ERRCODE = 'GB006';
	END IF;
	t := @extschema@.call_time(at, GREATEST(k.created_at, p.created_at), 'customer ' || customer || ' and provider ' || provider);
	PERFORM @extschema@.check_amount(price_per_gpu_hour, p.currency, 'price per GPU-hour');
	IF p.currency <> k.currency THEN
		RAISE EXCEPTION 'currency mismatch: provider % is paid in %, customer % pays in %', provider, p.currency,
			customer, k.currency USING ERRCODE = 'GB003';
	END IF;
	PERFORM @extschema@.check_gpus(gpus);
	r := @extschema@.begin_request('create_contract', request_id, customer, provider,
		pg_catalog.jsonb_build_object('customer', customer, 'provider', provider, 'gpus', gpus,
									  'price_per_gpu_hour', price_per_gpu_hour::text, 'term', term::text), t);
	IF r.done THEN
		RETURN r.id;
	END IF;
	RETURN @extschema@.accept_contract(r.id, customer, provider, gpus, price_per_gpu_hour, term, t, NULL);
END
$$;
COMMENT ON FUNCTION @extschema@.create_contract(bigint, bigint, integer, @extschema@.amount, tstzrange, timestamptz, text) IS 'A customer accepts a contract of a provider: its schedule is written; a prefunded customer''s initial payment is held (GB001 if not available) (R-EXC-1..3)';

-- write a contract accepted at t and its schedule (the wallet locked by the caller)
CREATE FUNCTION @extschema@.accept_contract(id bigint, customer bigint, provider bigint, gpus integer,
											 price_per_gpu_hour @extschema@.amount, term tstzrange, t timestamptz,
											 resold_from bigint) RETURNS bigint
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	approved boolean := (SELECT c.approved FROM @extschema@.customer c WHERE c.customer_id = customer);
	z @extschema@.amount := @extschema@.zero(@extschema@.currency(price_per_gpu_hour));
	first_pays @extschema@.amount;
	hold bigint;
	/* R-EXC-3: the settings in force at acceptance; a later change does not alter this contract */
	days integer := (@extschema@.exchange_settings()).exchange_initial_days;
	rate numeric := (@extschema@.exchange_settings()).exchange_deposit_rate;
BEGIN
	IF term IS NULL OR pg_catalog.lower(term) < t THEN
		RAISE EXCEPTION 'a contract''s term must start at or after its acceptance (%): %', t, term USING ERRCODE = 'GB004';
	END IF;
	INSERT INTO @extschema@.contract_payment (contract_id, seq, customer_id, due_at, covers, customer_pays, from_deposit, kind, late_from)
	SELECT id, s.seq, customer, s.due_at, s.covers, s.customer_pays, s.from_deposit, s.kind,
		   /* R-EXC-5: an approved customer's first payment is late counted from the acceptance (the bidding period) */
		   @extschema@.late_from(CASE WHEN approved AND s.seq = 1 THEN t ELSE s.due_at END)
	FROM @extschema@.schedule_of(price_per_gpu_hour * gpus, term, @extschema@.billing_timezone(), days, rate) s;
	SELECT p.customer_pays INTO first_pays FROM @extschema@.contract_payment p WHERE p.contract_id = id AND p.seq = 1;
	IF NOT approved THEN
		/* R-EXC-1: accepted only if the initial payment is available; held until the term starts */
		hold := @extschema@.hold_funds(customer, first_pays, true, NULL, 'contract', id, t, NULL);
	END IF;
	INSERT INTO @extschema@.contract (contract_id, customer_id, provider_id, gpus, price_per_gpu_hour, term, total, deposit,
									  deposit_left, initial_days, deposit_rate, approved, hold_id, state, accepted_at, resold_from,
									  last_event_at)
	SELECT id, customer, provider, gpus, price_per_gpu_hour, term, @extschema@.sum(p.customer_pays),
		   coalesce(@extschema@.sum(p.from_deposit), z), z, days, rate,
		   approved, hold, 'pending', t, resold_from, t
	FROM @extschema@.contract_payment p WHERE p.contract_id = id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.accept_contract(bigint, bigint, bigint, integer, @extschema@.amount, tstzrange, timestamptz, bigint) IS 'Write an accepted contract and its schedule; hold a prefunded customer''s initial payment (R-EXC-1)';

CREATE FUNCTION @extschema@.lock_contract(contract bigint) RETURNS @extschema@.contract
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	c @extschema@.contract;
BEGIN
	SELECT * INTO c FROM @extschema@.contract k WHERE k.contract_id = contract;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown contract: %', contract USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM @extschema@.lock_wallet(c.customer_id);
	SELECT * INTO c FROM @extschema@.contract k WHERE k.contract_id = contract FOR UPDATE;
	RETURN c;
END
$$;
COMMENT ON FUNCTION @extschema@.lock_contract(bigint) IS 'Lock a contract''s wallet, then the contract; unknown id raises P0002';

CREATE FUNCTION @extschema@.contract_schedule(contract bigint)
	RETURNS TABLE (seq integer, due_at timestamptz, covers tstzrange, customer_pays @extschema@.amount,
				   from_deposit @extschema@.amount, kind text)
	LANGUAGE plpgsql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	IF NOT EXISTS (SELECT FROM @extschema@.contract c WHERE c.contract_id = contract) THEN
		RAISE EXCEPTION 'unknown contract: %', contract USING ERRCODE = 'no_data_found';
	END IF;
	RETURN QUERY SELECT p.seq, p.due_at, p.covers, p.customer_pays, p.from_deposit, p.kind
				 FROM @extschema@.contract_payment p WHERE p.contract_id = contract ORDER BY p.seq;
END
$$;
COMMENT ON FUNCTION @extschema@.contract_schedule(bigint) IS 'A contract''s payment schedule: full, or initial, monthly ... final (R-EXC-2, R-EXC-3)';

CREATE FUNCTION @extschema@.contract_state(contract bigint)
	RETURNS text
	LANGUAGE plpgsql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	s text;
BEGIN
	SELECT c.state INTO s FROM @extschema@.contract c WHERE c.contract_id = contract;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown contract: %', contract USING ERRCODE = 'no_data_found';
	END IF;
	RETURN s;
END
$$;
COMMENT ON FUNCTION @extschema@.contract_state(bigint) IS 'pending | active | late | terminated | resold | completed';

/*
 * R-EXC-1: an approved customer pays directly: the amount of its oldest
 * unpaid payment (a reservation fee owed first), money from outside;
 * idempotent on external_id.
 */
CREATE FUNCTION @extschema@.pay_contract(contract bigint, amt @extschema@.amount, external_id text, at timestamptz DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	c @extschema@.contract := @extschema@.lock_contract(contract);
	t timestamptz := @extschema@.call_time(at, c.last_event_at, 'contract ' || contract);
	cur text := @extschema@.currency(c.total);
	r record;
	row @extschema@.contract_payment;
	fee record;
	payments_in bigint := @extschema@.account_of('world', 0, 'payments_in', cur);
BEGIN
	IF external_id IS NULL OR external_id = '' THEN
		RAISE EXCEPTION 'a payment needs its external id' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.check_text(external_id, 'external_id');
	PERFORM @extschema@.check_amount(amt, cur, 'payment');
	r := @extschema@.begin_request('pay_contract', external_id, c.customer_id, c.provider_id,
		pg_catalog.jsonb_build_object('contract', contract, 'amount', amt::text), t);
	IF r.done THEN
		RETURN r.id;
	END IF;
	/* a reservation fee owed is paid first (R-EXC-5) */
	SELECT * INTO fee FROM @extschema@.contract_fee f
	WHERE f.contract_id = contract AND f.paid_at IS NULL ORDER BY f.fee_id LIMIT 1 FOR UPDATE;
	IF FOUND THEN
		IF amt <> fee.amount THEN
			RAISE EXCEPTION 'contract % owes a reservation fee of %, not %', contract, fee.amount, amt
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		PERFORM @extschema@.pay_fee(c, fee.fee_id, payments_in, t, external_id);
		RETURN r.id;
	END IF;
	IF NOT (SELECT k.approved FROM @extschema@.customer k WHERE k.customer_id = c.customer_id) THEN
		RAISE EXCEPTION 'customer % is not approved: its contract payments are taken from its wallet', c.customer_id
			USING ERRCODE = 'GB004';
	END IF;
	SELECT * INTO row FROM @extschema@.contract_payment p
	WHERE p.contract_id = contract AND p.paid_at IS NULL AND p.cancelled_at IS NULL ORDER BY p.seq LIMIT 1;
	IF NOT FOUND OR c.state NOT IN ('pending', 'active', 'late') THEN
		RAISE EXCEPTION 'contract % (%) has nothing to pay', contract, c.state USING ERRCODE = 'GB004';
	END IF;
	IF amt <> row.customer_pays THEN
		RAISE EXCEPTION 'payment % of contract % is %, not %', row.seq, contract, row.customer_pays, amt
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Payments are made in full, one at a time, in order.';
	END IF;
	PERFORM @extschema@.pay_row(c, row, payments_in, t, external_id);
	UPDATE @extschema@.contract k SET last_event_at = GREATEST(k.last_event_at, t) WHERE k.contract_id = contract;
	RETURN r.id;
END
$$;
COMMENT ON FUNCTION @extschema@.pay_contract(bigint, @extschema@.amount, text, timestamptz) IS 'An approved customer pays its next contract payment (or a reservation fee owed) directly, in full; idempotent on external_id (R-EXC-1)';

-- R-EXC-5: reservation fees charged for late payments; owed until paid
CREATE TABLE @extschema@.contract_fee (
	fee_id		bigint PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	contract_id	bigint NOT NULL,
	customer_id	bigint NOT NULL,
	seq			integer NOT NULL,			/* the late payment */
	amount		@extschema@.amount NOT NULL CHECK (@extschema@.micros(amount) > 0),
	charged_at	timestamptz NOT NULL,
	paid_at		timestamptz,
	UNIQUE (contract_id, seq)
);
CREATE INDEX contract_fee_customer_idx ON @extschema@.contract_fee (customer_id);
COMMENT ON TABLE @extschema@.contract_fee IS 'A reservation fee for a late contract payment: paid from the wallet at once, or owed (a receivable) until paid';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.contract_fee', '');

-- a reservation fee paid from a source: the receivable (if any) cleared, the provider credited less commission
CREATE FUNCTION @extschema@.pay_fee(c @extschema@.contract, fee bigint, source bigint, t timestamptz, external_id text)
	RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	f @extschema@.contract_fee;
BEGIN
	SELECT * INTO f FROM @extschema@.contract_fee k WHERE k.fee_id = fee;
	PERFORM @extschema@.receive(c, f.seq, 'reservation_fee', f.amount, source, t, external_id);
	UPDATE @extschema@.contract_fee k SET paid_at = t WHERE k.fee_id = fee;
END
$$;
COMMENT ON FUNCTION @extschema@.pay_fee(@extschema@.contract, bigint, bigint, timestamptz, text) IS 'Pay a reservation fee: the provider receives it less commission (R-EXC-5)';
/*
 * 30_contract_clock.sql — what tick does for contracts (R-EXC-1, R-EXC-5),
 * termination, and the receivables view.
 *
 * Contracts are few next to instances (a payment a month each), so tick
 * handles them one payment at a time, each under its customer's wallet
 * lock, in time order; everything it does is state-based (a row paid is no
 * longer due), so a re-run does nothing twice.
 *
 * Map (scripts/file-map.pl):
 * API: contract_receivables, record_payment_initiated, terminate_contract.
 * Internals: run_contracts.
 * Uses: 1_types, 2_base, 3_ledger, 4_parties.
 */

CREATE FUNCTION @extschema@.run_contracts(t timestamptz, OUT started integer, OUT collected integer,
										   OUT late integer, OUT completed integer)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	fee_rate numeric := (@extschema@.exchange_settings()).reservation_fee_rate;
	charge_fee boolean := (@extschema@.exchange_settings()).reservation_fee_on_late;
	revoke boolean := (@extschema@.exchange_settings()).revoke_approval_on_late;
	x record;
	c @extschema@.contract;
	r @extschema@.contract_payment;
	w @extschema@.wallet;
	amt @extschema@.amount;
	paid_at timestamptz;
	fee bigint;
BEGIN
	started := 0; collected := 0; late := 0; completed := 0;
	/* the wallets of the customers with contract work due are locked by tick, up front (contract_work) */

	/* R-EXC-1: at the term start a prefunded customer's held initial payment is captured */
	FOR x IN SELECT k.contract_id FROM @extschema@.contract k
			 WHERE k.state = 'pending' AND pg_catalog.lower(k.term) <= t AND k.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
			 ORDER BY pg_catalog.lower(k.term), k.contract_id LOOP
		c := @extschema@.lock_contract(x.contract_id);
		CONTINUE WHEN c.state <> 'pending';
		IF c.hold_id IS NOT NULL THEN
			SELECT * INTO r FROM @extschema@.contract_payment p WHERE p.contract_id = c.contract_id AND p.seq = 1;
			PERFORM @extschema@.end_hold(c.hold_id, c.customer_id, 'capture', r.customer_pays, pg_catalog.lower(c.term), NULL);
			SELECT * INTO w FROM @extschema@.wallet k WHERE k.customer_id = c.customer_id;
			PERFORM @extschema@.pay_row(c, r, w.cash_account, pg_catalog.lower(c.term));
		ELSIF EXISTS (SELECT FROM @extschema@.contract_payment p
					  WHERE p.contract_id = c.contract_id AND p.seq = 1 AND p.paid_at IS NULL AND p.cancelled_at IS NULL) THEN
			CONTINUE;	/* R-EXC-1: delivery follows payment — pending until the first payment is made; the term does not move */
		END IF;
		UPDATE @extschema@.contract k SET state = 'active', last_event_at = GREATEST(k.last_event_at, pg_catalog.lower(k.term))
		WHERE k.contract_id = c.contract_id;
		started := started + 1;
	END LOOP;

	/*
	 * R-EXC-1: payments due of customers who are not approved are taken from
	 * their wallet, only in full, as soon as it covers them (at the due time,
	 * or when the wallet last moved after it); a reservation fee owed first.
	 */
	FOR x IN SELECT 'fee' AS what, f.contract_id, f.fee_id AS id, f.charged_at AS due_at, f.amount, f.customer_id
			 FROM @extschema@.contract_fee f WHERE f.paid_at IS NULL AND f.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
			 UNION ALL
			 SELECT 'payment', p.contract_id, p.seq, p.due_at, p.customer_pays, p.customer_id
			 FROM @extschema@.contract_payment p
			 JOIN @extschema@.contract k ON k.contract_id = p.contract_id AND k.state IN ('active', 'late', 'resold')
			 JOIN @extschema@.customer u ON u.customer_id = p.customer_id AND NOT u.approved
			 WHERE p.paid_at IS NULL AND p.cancelled_at IS NULL AND (p.due_at <= t OR p.late_at IS NOT NULL)
			   AND p.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
			 ORDER BY customer_id, due_at, contract_id, id LOOP
		c := @extschema@.lock_contract(x.contract_id);
		SELECT * INTO w FROM @extschema@.wallet k WHERE k.customer_id = c.customer_id;
		amt := x.amount;
		/* R-EXC-1: a contract payment is taken in cash, in full */
		CONTINUE WHEN NOT @extschema@.funds_cover(w.cash, w.vouchers, w.held, w.cash_held, amt, amt);
		paid_at := LEAST(t, GREATEST(x.due_at, w.updated_at));
		IF x.what = 'fee' THEN
			CONTINUE WHEN (SELECT f.paid_at FROM @extschema@.contract_fee f WHERE f.fee_id = x.id) IS NOT NULL;
			PERFORM @extschema@.pay_fee(c, x.id, w.cash_account, paid_at, NULL);
		ELSE
			SELECT * INTO r FROM @extschema@.contract_payment p WHERE p.contract_id = x.contract_id AND p.seq = x.id;
			CONTINUE WHEN r.paid_at IS NOT NULL OR r.cancelled_at IS NOT NULL;
			/* R-EXC-1, R-EXC-3: strictly in schedule order — not while an earlier payment is unpaid */
			CONTINUE WHEN EXISTS (SELECT FROM @extschema@.contract_payment e
								  WHERE e.contract_id = x.contract_id AND e.seq < x.id AND e.paid_at IS NULL AND e.cancelled_at IS NULL);
			PERFORM @extschema@.pay_row(c, r, w.cash_account, paid_at);
		END IF;
		collected := collected + 1;
	END LOOP;

	/*
	 * R-EXC-5: a payment unpaid at the end of its grace is late: the contract
	 * is late until it is paid, a reservation fee is charged (from the wallet
	 * if it covers it in full, else owed) and the customer's approval revoked.
	 */
	FOR x IN SELECT p.contract_id, p.seq, p.late_from FROM @extschema@.contract_payment p
			 JOIN @extschema@.contract k ON k.contract_id = p.contract_id AND k.state IN ('pending', 'active', 'late')
			 WHERE p.paid_at IS NULL AND p.cancelled_at IS NULL AND p.late_at IS NULL AND p.late_from <= t
			   AND p.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
			 ORDER BY p.late_from, p.contract_id, p.seq LOOP
		c := @extschema@.lock_contract(x.contract_id);
		UPDATE @extschema@.contract_payment p SET late_at = x.late_from WHERE p.contract_id = x.contract_id AND p.seq = x.seq;
		UPDATE @extschema@.contract k SET state = 'late', last_event_at = GREATEST(k.last_event_at, x.late_from)
		WHERE k.contract_id = c.contract_id AND k.state <> 'late';
		/* R-EXC-5: the reservation fee at most once per contract, at its first late payment */
		IF charge_fee AND NOT EXISTS (SELECT FROM @extschema@.contract_fee f WHERE f.contract_id = c.contract_id) THEN
			amt := @extschema@.amount(pg_catalog.round(@extschema@.micros(c.total)::numeric * fee_rate / 1000000, 2),
									  @extschema@.currency(c.total));
			IF @extschema@.micros(amt) > 0 THEN
				INSERT INTO @extschema@.contract_fee (contract_id, customer_id, seq, amount, charged_at)
				VALUES (c.contract_id, c.customer_id, x.seq, amt, x.late_from)
				RETURNING fee_id INTO fee;
				SELECT * INTO w FROM @extschema@.wallet k WHERE k.customer_id = c.customer_id;
				IF @extschema@.funds_cover(w.cash, w.vouchers, w.held, w.cash_held, amt, amt) THEN
					PERFORM @extschema@.pay_fee(c, fee, w.cash_account, x.late_from, NULL);
				END IF;
			END IF;
		END IF;
		IF revoke THEN
			UPDATE @extschema@.customer k SET approved = false WHERE k.customer_id = c.customer_id AND k.approved;
		END IF;
		late := late + 1;
	END LOOP;

	/* R-EXC-1: a contract whose term is over and fully paid is completed */
	WITH done AS (
		UPDATE @extschema@.contract k SET state = 'completed', ended_at = pg_catalog.upper(k.term), end_reason = 'completed',
			last_event_at = GREATEST(k.last_event_at, pg_catalog.upper(k.term))
		WHERE k.state = 'active' AND pg_catalog.upper(k.term) <= t AND k.resold_to IS NULL AND k.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
		  AND NOT EXISTS (SELECT FROM @extschema@.contract_payment p
						  WHERE p.contract_id = k.contract_id AND p.paid_at IS NULL AND p.cancelled_at IS NULL)
		RETURNING 1
	)
	SELECT pg_catalog.count(*) INTO completed FROM done;
END
$$;
COMMENT ON FUNCTION @extschema@.run_contracts(timestamptz) IS 'Tick''s contract work up to t: terms that start, payments taken from wallets, late payments and their fees, completions (R-EXC-1, R-EXC-5)';

/*
 * R-EXC-8: terminate a contract.  non_payment, only while a payment is late:
 * nothing more falls due and the provider keeps the unapplied deposit as a
 * cancellation fee, less commission (R-EXC-5).  provider (the listing
 * removed, modified or suspended, or the provider's access ended): the
 * customer is not charged for compute not delivered — what it paid for the
 * time from t on (each paid row pro rata by the second, rounded to cents)
 * and the unapplied deposit go back to its cash; the provider's wallet
 * gives back what it received for that time net of the commission, the
 * exchange returns the commission; what the wallet cannot cover the
 * platform advances and recovers from the provider's next receipts (an
 * offset, R-EXC-9).  Locks: the provider, then the wallet and the contract.
 */
CREATE FUNCTION @extschema@.terminate_contract(contract bigint, reason text, at timestamptz DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	provider bigint := (SELECT k.provider_id FROM @extschema@.contract k WHERE k.contract_id = contract);
	c @extschema@.contract;
	t timestamptz;
	cur text;
	z @extschema@.amount;
	cash_account bigint;
	exchange_account bigint;
	commission_account bigint;
	receivable bigint;
	back @extschema@.amount;		/* what the provider's wallet gives back */
	comm @extschema@.amount;		/* what the exchange gives back of its commission */
	available @extschema@.amount;
	short @extschema@.amount;
	legs @extschema@.leg[];
	refunded @extschema@.amount;
	x record;
BEGIN
	IF reason IS NULL OR reason NOT IN ('non_payment', 'provider') THEN
		RAISE EXCEPTION 'invalid termination reason: %', coalesce(reason, 'NULL') USING ERRCODE = 'invalid_parameter_value',
			HINT = 'A contract is terminated for non_payment or by the provider.';
	END IF;
	IF provider IS NOT NULL THEN
		PERFORM @extschema@.lock_partner(provider);
	END IF;
	c := @extschema@.lock_contract(contract);
	t := @extschema@.call_time(at, c.last_event_at, 'contract ' || contract);
	cur := @extschema@.currency(c.total);
	z := @extschema@.zero(cur);
	IF c.state NOT IN ('active', 'late') THEN
		RAISE EXCEPTION 'contract % is %', contract, c.state USING ERRCODE = 'GB004',
			HINT = 'Only an active or late contract is terminated.';
	END IF;
	IF reason = 'non_payment' AND NOT EXISTS (SELECT FROM @extschema@.contract_payment p
											  WHERE p.contract_id = contract AND p.paid_at IS NULL AND p.cancelled_at IS NULL
												AND (p.late_at IS NOT NULL OR p.late_from <= t)) THEN
		RAISE EXCEPTION 'contract % has no late payment: it is not terminated for non-payment', contract USING ERRCODE = 'GB004';
	END IF;
	/* nothing more falls due */
	UPDATE @extschema@.contract_payment p SET cancelled_at = t
	WHERE p.contract_id = contract AND p.paid_at IS NULL AND p.cancelled_at IS NULL;
	IF reason = 'non_payment' THEN
		/* R-EXC-5: the provider keeps the unapplied deposit as a cancellation fee */
		IF @extschema@.micros(c.deposit_left) > 0 THEN
			PERFORM @extschema@.receive(c, NULL, 'cancellation_fee', c.deposit_left,
										@extschema@.account_of('customer', c.customer_id, 'deposit', cur), t);
		END IF;
	ELSE
		cash_account := (SELECT w.cash_account FROM @extschema@.wallet w WHERE w.customer_id = c.customer_id);
		exchange_account := @extschema@.account_of('partner', c.provider_id, 'exchange', cur);
		commission_account := @extschema@.account_of('platform', 0, 'commission', cur);
		receivable := @extschema@.account_of('platform', 0, 'receivable', cur);
		/* the unapplied deposit goes back to the customer's cash */
		legs := ARRAY[@extschema@.leg(c.customer_id, NULL, t, 'refund', @extschema@.account_of('customer', c.customer_id, 'deposit', cur),
									  cash_account, c.deposit_left, 'contract', contract, NULL,
									  'unapplied deposit returned: terminated by the provider')];
		/* what the provider received for time from t on, per receipt of a paid row, pro rata by the second */
		back := z; comm := z;
		FOR x IN SELECT r.gross, r.rate,
						@extschema@.round(r.gross * (EXTRACT(epoch FROM pg_catalog.upper(p.covers) - GREATEST(pg_catalog.lower(p.covers), t))
													 / EXTRACT(epoch FROM pg_catalog.upper(p.covers) - pg_catalog.lower(p.covers)))::numeric, 2) AS undelivered
				 FROM @extschema@.contract_payment p
				 JOIN @extschema@.contract_receipt r ON r.contract_id = p.contract_id AND r.seq = p.seq AND r.kind IN ('payment', 'deposit')
				 WHERE p.contract_id = contract AND p.paid_at IS NOT NULL AND pg_catalog.upper(p.covers) > t LOOP
			CONTINUE WHEN @extschema@.micros(x.undelivered) <= 0;
			comm := comm + @extschema@.amount(pg_catalog.round(@extschema@.micros(x.undelivered)::numeric * x.rate / 1000000, 2), cur);
			back := back + x.undelivered;
		END LOOP;
		back := back - comm;
		refunded := back + comm;
		IF @extschema@.micros(refunded) > 0 THEN
			/* the wallet covers what it can; the platform advances the rest and recovers it from the next receipts */
			available := GREATEST((SELECT w.balance FROM @extschema@.provider_wallet(c.provider_id) w), z);
			short := GREATEST(back - available, z);
			legs := legs
				|| @extschema@.leg(c.customer_id, NULL, t, 'refund', exchange_account, cash_account, back - short, 'contract', contract,
								   NULL, 'compute not delivered, given back by the provider')
				|| @extschema@.leg(c.customer_id, NULL, t, 'refund', receivable, cash_account, short, 'contract', contract, NULL,
								   'compute not delivered, advanced by the platform: recovered from the provider''s next receipts')
				|| @extschema@.leg(c.customer_id, NULL, t, 'refund', commission_account, cash_account, comm, 'contract', contract,
								   NULL, 'commission on compute not delivered, returned by the exchange');
			IF @extschema@.micros(short) > 0 THEN
				INSERT INTO @extschema@.provider_offset (offset_id, provider_id, amount, recovered, reason, at)
				VALUES (pg_catalog.nextval('@extschema@.id_seq'), c.provider_id, short, z,
						pg_catalog.format('refund of contract %s terminated by the provider beyond its wallet', contract), t);
			END IF;
		END IF;
		PERFORM @extschema@.post_transfers(legs);
	END IF;
	UPDATE @extschema@.contract k
	SET state = 'terminated', deposit_left = z, ended_at = t, end_reason = reason, last_event_at = t
	WHERE k.contract_id = contract;
END
$$;
COMMENT ON FUNCTION @extschema@.terminate_contract(bigint, text, timestamptz) IS 'Terminate a contract: for non_payment (a payment late) the provider keeps the unapplied deposit less commission; by the provider the customer gets back what it paid for time not delivered and the unapplied deposit (R-EXC-5, R-EXC-8)';

CREATE VIEW @extschema@.contract_receivables AS
SELECT p.contract_id AS contract, p.seq, p.customer_id AS customer, p.kind, p.due_at, p.covers, p.customer_pays,
	   CASE WHEN p.paid_at IS NOT NULL THEN p.customer_pays ELSE @extschema@.zero(@extschema@.currency(p.customer_pays)) END AS paid,
	   p.from_deposit, p.paid_at, p.late_from,
	   p.paid_at IS NULL AND p.cancelled_at IS NULL AND p.late_at IS NOT NULL AS overdue,
	   p.cancelled_at IS NOT NULL AS cancelled
FROM @extschema@.contract_payment p
UNION ALL
SELECT f.contract_id, f.seq, f.customer_id, 'reservation_fee', f.charged_at, NULL, f.amount,
	   CASE WHEN f.paid_at IS NOT NULL THEN f.amount ELSE @extschema@.zero(@extschema@.currency(f.amount)) END,
	   @extschema@.zero(@extschema@.currency(f.amount)), f.paid_at, f.charged_at, f.paid_at IS NULL, false
FROM @extschema@.contract_fee f;
COMMENT ON VIEW @extschema@.contract_receivables IS 'One row per payment a contract''s customer owes: its schedule rows (due time, what it pays, paid, overdue = unpaid and found late by tick after its grace) and reservation fees (overdue while owed)';

/*
 * R-EXC-5: an approved customer shows it initiated its oldest unpaid
 * payment before that payment is late: the lateness is deferred by
 * payment_evidence_grace_business_days (3) business days, once per payment.
 */
CREATE FUNCTION @extschema@.record_payment_initiated(contract bigint, evidence text, at timestamptz DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	c @extschema@.contract := @extschema@.lock_contract(contract);
	t timestamptz := @extschema@.call_time(at, c.last_event_at, 'contract ' || contract);
	tz text := @extschema@.billing_timezone();
	p @extschema@.contract_payment;
BEGIN
	IF evidence IS NULL OR evidence = '' THEN
		RAISE EXCEPTION 'a payment initiation needs its evidence' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.check_text(evidence, 'evidence', 1000);
	IF NOT (SELECT k.approved FROM @extschema@.customer k WHERE k.customer_id = c.customer_id) THEN
		RAISE EXCEPTION 'customer % is not approved: its payments are taken from its wallet', c.customer_id USING ERRCODE = 'GB004';
	END IF;
	SELECT * INTO p FROM @extschema@.contract_payment k
	WHERE k.contract_id = contract AND k.paid_at IS NULL AND k.cancelled_at IS NULL ORDER BY k.seq LIMIT 1 FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'contract % has no unpaid payment', contract USING ERRCODE = 'GB004';
	END IF;
	IF p.late_at IS NOT NULL OR p.late_from <= t THEN
		RAISE EXCEPTION 'payment % of contract % is late since %: too late to defer it', p.seq, contract, p.late_from
			USING ERRCODE = 'GB004';
	END IF;
	IF p.evidence IS NOT NULL THEN
		RAISE EXCEPTION 'payment % of contract % was already shown initiated at %', p.seq, contract, p.evidence_at
			USING ERRCODE = 'GB004';
	END IF;
	/* 00:00 after the payment_evidence_grace_business_days-th business day after its last day of grace */
	UPDATE @extschema@.contract_payment k
	SET evidence = record_payment_initiated.evidence, evidence_at = t,
		late_from = (pg_catalog.date_trunc('day', @extschema@.add_working_days(k.late_from - interval '1 day',
						(@extschema@.exchange_settings()).payment_evidence_grace_business_days) AT TIME ZONE tz)
					 + interval '1 day') AT TIME ZONE tz
	WHERE k.contract_id = contract AND k.seq = p.seq;
	UPDATE @extschema@.contract k SET last_event_at = GREATEST(k.last_event_at, t) WHERE k.contract_id = contract;
END
$$;
COMMENT ON FUNCTION @extschema@.record_payment_initiated(bigint, text, timestamptz) IS 'An approved customer records that it initiated its oldest unpaid payment: its lateness is deferred by payment_evidence_grace_business_days, once (R-EXC-5)';
/*
 * 40_resale.sql — reselling the rest of a contract (R-EXC-6,
 * R-EXC-7).
 *
 * resell_contract takes effect at E, the next calendar-month start (billing
 * time zone) after `at`: the remaining term [E, end) becomes a new contract
 * of the new customer at the new price with its own schedule; the original
 * schedule's payments due from E on are cancelled for the reseller, and the
 * original contract is resold at E.  The provider still receives the
 * original price: what the new customer pays goes to the platform's
 * clearing account, and at the start of each calendar month from E on tick
 * pays the provider that month's original price (less commission) from it.
 * Per month, the new price of the month minus the original one is:
 *   above: paid to the reseller as a premium (less commission);
 *   below: taken from the reseller's unapplied deposit into clearing.
 * At E what is left of the reseller's deposit beyond the differences still
 * to come (and the applications of its payments still unpaid) is refunded to
 * it, less commission.  A resale below the original price that the deposit
 * cannot cover whole is refused (GB004).  A month's original price is that
 * of the original payments due from E on that cover it and are not paid
 * yet: time the reseller already paid for (a contract paid in full, the rest
 * of its initial 31 days, or a payment due from E on that it made early)
 * costs the provider nothing more, so the new customer's payment for it
 * goes to the reseller.  A payment and a resale of one contract serialise
 * on its row: paid first, the month is the reseller's; resold first, the
 * payment finds nothing left to pay (GB004).
 *
 * Map (scripts/file-map.pl):
 * API: resell_contract.
 * Internals: contract_work, pay_reseller, run_resales.
 * Tables: resale_month.
 * Uses: 1_types, 2_base, 3_ledger.
 */

CREATE TABLE @extschema@.resale_month (
	contract_id	bigint NOT NULL,			/* the resold (original) contract */
	seq			integer NOT NULL,
	reseller_id	bigint NOT NULL,			/* party key: the original customer */
	due_at		timestamptz NOT NULL,		/* the month's start */
	covers		tstzrange NOT NULL,
	original	@extschema@.amount NOT NULL,	/* what the provider receives for it */
	resold		@extschema@.amount NOT NULL,	/* the new contract's price of it */
	done_at		timestamptz,
	PRIMARY KEY (contract_id, seq)
);
CREATE INDEX resale_month_due_idx ON @extschema@.resale_month (due_at) WHERE done_at IS NULL;
COMMENT ON TABLE @extschema@.resale_month IS 'A calendar month of a resold contract''s remaining term: the provider''s original price and the new price; settled by tick at its start';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.resale_month', '');

CREATE FUNCTION @extschema@.resell_contract(contract bigint, new_customer bigint, price_per_gpu_hour @extschema@.amount,
											 at timestamptz DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	c @extschema@.contract;
	t timestamptz;
	tz text := @extschema@.billing_timezone();
	cur text;
	z @extschema@.amount;
	e timestamptz;
	new_hour @extschema@.amount;
	needed @extschema@.amount;
	left_at_e @extschema@.amount;
	new_id bigint;
	months @extschema@.resale_month[];
BEGIN
	/* the one call on two customers: both wallets, in customer order, then the contract */
	PERFORM @extschema@.lock_wallets(ARRAY[(SELECT k.customer_id FROM @extschema@.contract k WHERE k.contract_id = contract),
										   new_customer]);
	c := @extschema@.lock_contract(contract);
	t := @extschema@.call_time(at, c.last_event_at, 'contract ' || contract);
	IF NOT EXISTS (SELECT FROM @extschema@.customer k WHERE k.customer_id = new_customer) THEN
		RAISE EXCEPTION 'unknown customer: %', new_customer USING ERRCODE = 'no_data_found';
	END IF;
	cur := @extschema@.currency(c.total);
	z := @extschema@.zero(cur);
	IF c.resold_to IS NOT NULL THEN
		IF (SELECT (n.customer_id, n.price_per_gpu_hour) = (new_customer, resell_contract.price_per_gpu_hour)
			FROM @extschema@.contract n WHERE n.contract_id = c.resold_to) THEN
			RETURN c.resold_to;		/* the same resale again */
		END IF;
		RAISE EXCEPTION 'contract % is already resold (as contract %)', contract, c.resold_to USING ERRCODE = 'GB004';
	END IF;
	IF c.resold_from IS NOT NULL THEN
		RAISE EXCEPTION 'contract % is itself a resale and is not resold again', contract USING ERRCODE = 'GB004';
	END IF;
	IF c.state <> 'active' THEN
		RAISE EXCEPTION 'contract % is %: only an active contract is resold', contract, c.state USING ERRCODE = 'GB004';
	END IF;
	IF new_customer = c.customer_id THEN
		RAISE EXCEPTION 'a contract is resold to another customer' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.check_amount(price_per_gpu_hour, cur, 'price per GPU-hour');
	IF (SELECT k.currency FROM @extschema@.customer k WHERE k.customer_id = new_customer) <> cur THEN
		RAISE EXCEPTION 'currency mismatch: contract % is in %, customer % pays in another currency', contract, cur, new_customer
			USING ERRCODE = 'GB003';
	END IF;
	/* R-EXC-6: effective at the next calendar-month boundary after at */
	e := @extschema@.upper(@extschema@.billing_period('month', t, tz));
	IF e >= pg_catalog.upper(c.term) THEN
		RAISE EXCEPTION 'contract % ends % : nothing is left to resell from %', contract, pg_catalog.upper(c.term), e
			USING ERRCODE = 'GB004';
	END IF;

	/* the months of the remaining term: the provider's original price, the new one */
	new_hour := price_per_gpu_hour * c.gpus;
	months := ARRAY(
	SELECT ROW(contract, m.n::integer, c.customer_id, m.b, pg_catalog.tstzrange(m.b, m.nb),
		   coalesce((SELECT @extschema@.sum(p.customer_pays + p.from_deposit) FROM @extschema@.contract_payment p
					 WHERE p.contract_id = contract AND p.due_at >= e AND p.cancelled_at IS NULL AND p.paid_at IS NULL
					   AND pg_catalog.lower(p.covers) >= m.b AND pg_catalog.lower(p.covers) < m.nb), z),
		   @extschema@.prorate(new_hour, EXTRACT(epoch FROM m.nb - e)::bigint) - @extschema@.prorate(new_hour, EXTRACT(epoch FROM m.b - e)::bigint),
		   NULL)::@extschema@.resale_month
	FROM (SELECT k.n, k.b, LEAST(pg_catalog.upper(c.term), (k.b AT TIME ZONE tz + interval '1 month') AT TIME ZONE tz) AS nb
		  FROM (SELECT g.n, ((e AT TIME ZONE tz) + (g.n - 1) * interval '1 month') AT TIME ZONE tz AS b
				FROM pg_catalog.generate_series(1, 1200) g(n)) k
		  WHERE k.b < pg_catalog.upper(c.term)) m
	ORDER BY m.n);
	/* R-EXC-6: below the original price the reseller's unapplied deposit must cover every difference */
	SELECT coalesce(@extschema@.sum(GREATEST(r.original - r.resold, z)), z) INTO needed FROM pg_catalog.unnest(months) r;
	SELECT c.deposit_left - coalesce(@extschema@.sum(p.from_deposit), z) INTO left_at_e FROM @extschema@.contract_payment p
	WHERE p.contract_id = contract AND p.due_at < e AND p.paid_at IS NULL AND p.cancelled_at IS NULL;
	IF needed > left_at_e THEN
		RAISE EXCEPTION 'the resale is % below the original price; the unapplied deposit at % is %', needed, e, left_at_e
			USING ERRCODE = 'GB004', HINT = 'A resale below the original price is funded from the reseller''s unapplied deposit.';
	END IF;

	/* the new contract: its customer accepts it now */
	new_id := @extschema@.accept_contract(pg_catalog.nextval('@extschema@.id_seq'), new_customer, c.provider_id, c.gpus,
										  price_per_gpu_hour, pg_catalog.tstzrange(e, pg_catalog.upper(c.term)), t, contract);
	INSERT INTO @extschema@.resale_month SELECT * FROM pg_catalog.unnest(months);
	UPDATE @extschema@.contract_payment p SET cancelled_at = t
	WHERE p.contract_id = contract AND p.due_at >= e AND p.paid_at IS NULL AND p.cancelled_at IS NULL;
	UPDATE @extschema@.contract k SET resold_to = new_id, resale_at = e, last_event_at = t WHERE k.contract_id = contract;
	RETURN new_id;
END
$$;
COMMENT ON FUNCTION @extschema@.resell_contract(bigint, bigint, @extschema@.amount, timestamptz) IS 'Resell the rest of a contract from the next calendar month on as a new contract; the provider keeps its original price, the reseller gets the difference above it, or funds it below from its deposit (R-EXC-6, R-EXC-7)';

-- credit a reseller a receipt (less commission) into its cash
CREATE FUNCTION @extschema@.pay_reseller(c @extschema@.contract, kind text, gross @extschema@.amount, source bigint,
										  t timestamptz) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	w @extschema@.wallet;
BEGIN
	SELECT * INTO w FROM @extschema@.wallet k WHERE k.customer_id = c.customer_id;
	PERFORM @extschema@.receive(c, NULL, kind, gross, source, t, NULL, w.cash_account);
END
$$;
COMMENT ON FUNCTION @extschema@.pay_reseller(@extschema@.contract, text, @extschema@.amount, bigint, timestamptz) IS 'Pay a reseller a premium or a deposit refund into its cash, less commission (R-EXC-6, R-EXC-7)';

-- tick: resales that take effect, and the months of resold contracts that start
CREATE FUNCTION @extschema@.run_resales(t timestamptz, OUT resold integer, OUT months integer)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	x record;
	c @extschema@.contract;
	z @extschema@.amount;
	deposit_account bigint;
	clearing bigint;
	refund @extschema@.amount;
	mo @extschema@.resale_month;
BEGIN
	resold := 0; months := 0;
	/* the resellers' wallets are locked by tick, up front (contract_work) */
	/* R-EXC-6: at E the original contract is resold and the reseller gets back the deposit it no longer needs */
	FOR x IN SELECT k.contract_id FROM @extschema@.contract k
			 WHERE k.resale_at <= t AND k.state IN ('active', 'late') AND k.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
			 ORDER BY k.resale_at, k.contract_id LOOP
		c := @extschema@.lock_contract(x.contract_id);
		z := @extschema@.zero(@extschema@.currency(c.total));
		deposit_account := @extschema@.account_of('customer', c.customer_id, 'deposit', @extschema@.currency(c.total));
		refund := c.deposit_left
				  - coalesce((SELECT @extschema@.sum(p.from_deposit) FROM @extschema@.contract_payment p
							  WHERE p.contract_id = c.contract_id AND p.paid_at IS NULL AND p.cancelled_at IS NULL), z)
				  - coalesce((SELECT @extschema@.sum(GREATEST(m.original - m.resold, z)) FROM @extschema@.resale_month m
							  WHERE m.contract_id = c.contract_id AND m.done_at IS NULL), z);
		IF @extschema@.micros(refund) > 0 THEN
			PERFORM @extschema@.pay_reseller(c, 'reseller_refund', refund, deposit_account, c.resale_at);
			UPDATE @extschema@.contract k SET deposit_left = k.deposit_left - refund WHERE k.contract_id = c.contract_id;
		END IF;
		UPDATE @extschema@.contract k SET state = 'resold', ended_at = k.resale_at, end_reason = 'resold',
			last_event_at = GREATEST(k.last_event_at, k.resale_at)
		WHERE k.contract_id = c.contract_id;
		resold := resold + 1;
	END LOOP;
	/* R-EXC-6, R-EXC-7: each month the provider gets its original price; the difference goes to or comes from the reseller */
	FOR x IN SELECT m.contract_id, m.seq FROM @extschema@.resale_month m
			 WHERE m.done_at IS NULL AND m.due_at <= t AND m.reseller_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
			 ORDER BY m.due_at, m.contract_id, m.seq LOOP
		c := @extschema@.lock_contract(x.contract_id);
		SELECT * INTO STRICT mo FROM @extschema@.resale_month m WHERE m.contract_id = x.contract_id AND m.seq = x.seq;
		CONTINUE WHEN mo.done_at IS NOT NULL;
		clearing := @extschema@.account_of('platform', 0, 'clearing', @extschema@.currency(c.total));
		deposit_account := @extschema@.account_of('customer', c.customer_id, 'deposit', @extschema@.currency(c.total));
		IF mo.original < mo.resold THEN
			PERFORM @extschema@.pay_reseller(c, 'premium', mo.resold - mo.original, clearing, mo.due_at);
		ELSIF mo.original > mo.resold THEN
			PERFORM @extschema@.post_transfers(ARRAY[
				@extschema@.leg(c.customer_id, NULL, mo.due_at, 'payment', deposit_account, clearing, mo.original - mo.resold,
								'contract', c.contract_id, NULL,
								pg_catalog.format('resale difference of month %s from the reseller''s deposit', mo.seq))]);
			UPDATE @extschema@.contract k SET deposit_left = k.deposit_left - (mo.original - mo.resold) WHERE k.contract_id = c.contract_id;
		END IF;
		PERFORM @extschema@.receive(c, NULL, 'payment', mo.original, clearing, mo.due_at);
		UPDATE @extschema@.resale_month m SET done_at = mo.due_at WHERE m.contract_id = x.contract_id AND m.seq = x.seq;
		months := months + 1;
	END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.run_resales(timestamptz) IS 'Tick''s resale work up to t: resales that take effect (deposit refunds) and the months that start (the provider''s original price, premiums, differences) (R-EXC-6, R-EXC-7)';

-- the customers with contract or resale work due by t: tick locks their wallets up front (R-LED-6)
CREATE FUNCTION @extschema@.contract_work(t timestamptz) RETURNS TABLE (customer_id bigint)
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
	AS $$
	SELECT k.customer_id FROM @extschema@.contract k WHERE k.state = 'pending' AND pg_catalog.lower(k.term) <= t
	UNION
	SELECT p.customer_id FROM @extschema@.contract_payment p
	WHERE p.paid_at IS NULL AND p.cancelled_at IS NULL AND p.due_at <= t
	UNION
	SELECT p.customer_id FROM @extschema@.contract_payment p	/* late (an approved customer's first payment: maybe before its due time) */
	WHERE p.paid_at IS NULL AND p.cancelled_at IS NULL AND (p.late_at IS NOT NULL OR p.late_from <= t)
	UNION
	SELECT f.customer_id FROM @extschema@.contract_fee f WHERE f.paid_at IS NULL
	UNION
	SELECT k.customer_id FROM @extschema@.contract k WHERE k.state = 'active' AND pg_catalog.upper(k.term) <= t
	UNION
	SELECT k.customer_id FROM @extschema@.contract k WHERE k.resale_at <= t AND k.state IN ('active', 'late')
	UNION
	SELECT m.reseller_id FROM @extschema@.resale_month m WHERE m.done_at IS NULL AND m.due_at <= t
$$;
COMMENT ON FUNCTION @extschema@.contract_work(timestamptz) IS 'Customers with contract work (starts, payments, late payments, fees, completions) or resale work due by t';
/*
 * 90_verify.sql — the exchange's invariants, one row per check (verify()
 * in 8_clock runs them with every layer's).
 *
 * Map (scripts/file-map.pl):
 * Internals: verify_exchange.
 * Uses: 1_types, 3_ledger.
 */

CREATE FUNCTION @extschema@.verify_exchange(whole boolean)
	RETURNS TABLE (check_name text, ok boolean, detail text)
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	WITH deposit AS MATERIALIZED (	/* the customers' deposit accounts' balances, once */
		SELECT a.owner_id AS customer_id, b.balance
		FROM @extschema@.account a JOIN @extschema@.account_balances('deposit', whole) b USING (account_id)
		WHERE a.owner_kind = 'customer' AND a.purpose = 'deposit'
	)
	SELECT 'contract deposits equal the customers'' deposit accounts', count(*) = 0,
		   count(*) || ' customers whose unapplied contract deposits differ from their deposit account'
		   || coalesce(': ' || string_agg(customer_id::text, ', '), '')
	FROM (SELECT c.customer_id, @extschema@.sum(c.deposit_left) AS deposit_left FROM @extschema@.contract c GROUP BY 1) k
	FULL JOIN deposit d USING (customer_id)
	WHERE coalesce(@extschema@.micros(k.deposit_left), 0) <> coalesce(d.balance, 0)
	UNION ALL
	/* R-EXC-9: what each offset recovered is what its offset transfers moved */
	SELECT 'provider offsets recovered equal their transfers', count(*) = 0,
		   count(*) || ' offsets whose recovered differs from the journal' || coalesce(': ' || string_agg(o.offset_id::text, ', '), '')
	FROM @extschema@.provider_offset o
	WHERE o.at >= (SELECT b.since FROM @extschema@.journal_base(true) b)	/* its recoveries are in the database */
	  AND @extschema@.micros(o.recovered) <> coalesce((SELECT pg_catalog.sum(@extschema@.micros(x.amount)) FROM @extschema@.transfer x
													  WHERE x.kind = 'offset' AND x.object_type = 'provider_offset'
														AND x.object_id = o.offset_id), 0)
	UNION ALL
	/* R-EXC-3: a deposit is applied only from what was paid in */
	SELECT 'no contract deposit account is below zero', count(*) = 0,
		   count(*) || ' customers whose contract deposit account is below zero'
		   || coalesce(': ' || string_agg(d.customer_id::text, ', '), '')
	FROM deposit d WHERE d.balance < 0
$$;
COMMENT ON FUNCTION @extschema@.verify_exchange(boolean) IS 'The exchange''s invariants (R-EXC-3, R-EXC-9): one row per check with ok and a detail';
/*
 * 20_tick.sql — tick(): all due work up to `at`, in time order (R-CLK-1..3),
 * one customer's failure never stopping it (R-CLK-6), and its pg_cron
 * schedule (R-CLK-4).
 *
 * A tick runs in one transaction: killed midway, it leaves nothing done, and
 * the next tick does the work exactly once (every step is state-based: what
 * was settled is no longer due).  A tick that finds another one running
 * returns at once.
 *
 * The customers' work is done in passes (tick_pass), each in a
 * subtransaction over a scope of customers (65_tick_scope.sql): first each
 * customer whose work failed before, alone; then everyone else in one pass.
 * A pass that fails is rolled back and its scope halved, until the one
 * customer whose rows fail is found: that failure is recorded (tick_failure,
 * a tick_failure alert, NOTIFY) and the customer is left out, while the
 * others are settled.  Deadlocks, serialization failures, lock timeouts,
 * cancels, resource and I/O errors are not a customer's fault: they abort
 * the tick as before, and the next tick does the work.
 *
 * Map (scripts/file-map.pl):
 * API: schedule_jobs, tick, tick_failures, unschedule_jobs.
 * Internals: add_counts, close_tick_failure, conninfo_quote,
 *   in_cron_database, note_tick_failure, tick_pass, tick_step,
 *   transient_error, try_pass.
 * Tables: tick_failure.
 * Uses: 1_types, 2_base, 3_ledger, 5_customers, 6_partners, 7_exchange.
 */

CREATE TABLE @extschema@.tick_failure (
	failure_id	bigint PRIMARY KEY DEFAULT pg_catalog.nextval('@extschema@.id_seq'),
	customer_id	bigint,						/* the customer whose work fails; NULL: a step for all */
	job			text NOT NULL,				/* customer | tick | delist_ending_machines | end_qualifications | close_months | journal_months */
	at			timestamptz NOT NULL,		/* the business time of the tick that first failed */
	sqlstate	text NOT NULL,
	message		text NOT NULL,
	storage_from timestamptz,				/* the storage steps the customer missed start after it */
	attempts	integer NOT NULL DEFAULT 1,
	first_seen	timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
	last_seen	timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
	closed_at	timestamptz					/* the business time of the tick that succeeded */
);
CREATE UNIQUE INDEX tick_failure_open_idx ON @extschema@.tick_failure (coalesce(customer_id, 0), job) WHERE closed_at IS NULL;
COMMENT ON TABLE @extschema@.tick_failure IS 'Work of tick that failed (R-CLK-6): per customer (retried alone at every tick) or per step; closed when it succeeds';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.tick_failure', '');

CREATE VIEW @extschema@.tick_failures AS
SELECT f.customer_id AS customer, f.job, f.at, f.sqlstate, f.message, f.first_seen, f.last_seen, f.attempts
FROM @extschema@.tick_failure f
WHERE f.closed_at IS NULL;
COMMENT ON VIEW @extschema@.tick_failures IS 'Open failures of tick, one row per customer (or step) whose work failed and is retried at every tick: the error and when it was first and last seen (R-CLK-6)';

-- whether an error is the customer's rows' fault, or transient / the server's
CREATE FUNCTION @extschema@.transient_error(state text) RETURNS boolean
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	AS $$ SELECT pg_catalog.left(state, 2) IN ('40', '53', '57', '58') OR state IN ('55P03', '55006') $$;
COMMENT ON FUNCTION @extschema@.transient_error(text) IS 'Errors tick does not blame on a customer''s rows: transaction rollbacks (deadlock, serialization), lock timeouts and objects in use, lack of resources, operator intervention, I/O errors; any other, corrupted data included, is the rows''';

-- record (or refresh) a failure of tick; a new one is an alert for the platform (NOTIFY gpubill_alert)
CREATE FUNCTION @extschema@.note_tick_failure(who bigint, what text, t timestamptz, state text, msg text,
											  storage_start timestamptz) RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	INSERT INTO @extschema@.tick_failure AS f (customer_id, job, at, sqlstate, message, storage_from)
	VALUES (who, what, t, state, msg, storage_start)
	ON CONFLICT (coalesce(customer_id, 0), job) WHERE closed_at IS NULL
	DO UPDATE SET sqlstate = EXCLUDED.sqlstate, message = EXCLUDED.message, attempts = f.attempts + 1,
				  last_seen = pg_catalog.statement_timestamp();
	INSERT INTO @extschema@.alert (kind, customer_id, subject_type, subject_id, condition, raised_at, payload)
	VALUES ('tick_failure', who, CASE WHEN who IS NULL THEN 'platform' ELSE 'customer' END, coalesce(who, 0), what, t,
			pg_catalog.jsonb_build_object('job', what, 'sqlstate', state, 'message', msg))
	ON CONFLICT DO NOTHING;
	RAISE WARNING 'gpubill tick: % failed (%: %); retried at every tick',
		CASE WHEN who IS NULL THEN what ELSE 'customer ' || who END, state, msg;
END
$$;
COMMENT ON FUNCTION @extschema@.note_tick_failure(bigint, text, timestamptz, text, text, timestamptz) IS 'Record a failure of tick''s work for a customer or a step, raise its alert (R-CLK-6)';

-- a failure that did not happen again is closed, with its alert
CREATE FUNCTION @extschema@.close_tick_failure(who bigint, what text, t timestamptz) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	n integer;
BEGIN
	UPDATE @extschema@.tick_failure f SET closed_at = t
	WHERE coalesce(f.customer_id, 0) = coalesce(who, 0) AND f.job = what AND f.closed_at IS NULL;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		UPDATE @extschema@.alert a SET closed_at = t
		WHERE a.kind = 'tick_failure' AND a.subject_id = coalesce(who, 0) AND a.condition = what AND a.closed_at IS NULL;
	END IF;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.close_tick_failure(bigint, text, timestamptz) IS 'Close the open failure of a customer or step and its alert (R-CLK-6)';

/*
 * A step of tick for all customers (delist_ending_machines,
 * end_qualifications, close_months, journal_months) in a subtransaction of its own: its
 * failure is recorded under its name and retried at the next tick
 * (R-CLK-6).  journal_months makes the journal's partitions of the months
 * not yet handled up to two months after t's, each month once (a month
 * whose rows are in the default partition already is not tried again);
 * it waits at most 200 ms for its locks (attaching a month locks the default
 * partition: calls writing there wait for tick's commit), else leaves the
 * work to the next tick.
 */
CREATE FUNCTION @extschema@.tick_step(job text, t timestamptz) RETURNS integer
	LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
	AS $$
DECLARE
	n integer := 0;
	state text;
	msg text;
	tz text;
	m @extschema@.billing_period;
	last_month timestamptz;
	lock_wait text;
BEGIN
	CASE job
		WHEN 'delist_ending_machines' THEN n := @extschema@.delist_ending_machines(t);
		WHEN 'end_qualifications' THEN n := @extschema@.end_qualifications(t);
		WHEN 'close_months' THEN	/* the months ended period_close_months and _days before t (issue 14) */
			tz := @extschema@.billing_timezone();
			n := @extschema@.close_months(
				(pg_catalog.date_trunc('month', (t - pg_catalog.make_interval(months => (@extschema@.period_settings()).period_close_months,
																			   days => (@extschema@.period_settings()).period_close_days))
											 AT TIME ZONE tz) - interval '1 month')::date, t, false);
		WHEN 'journal_months' THEN
			tz := @extschema@.billing_timezone();
			last_month := @extschema@.add_term(@extschema@.lower(@extschema@.billing_period('month', t, tz)), 'month', 2, tz);
			m := @extschema@.billing_period('month',
				GREATEST(t, (SELECT k.done_until FROM @extschema@.clock_state k WHERE k.job = 'journal_months')), tz);
			IF @extschema@.lower(m) > last_month THEN
				RETURN 0;
			END IF;
			lock_wait := pg_catalog.current_setting('lock_timeout');
			PERFORM pg_catalog.set_config('lock_timeout', '200ms', true);	/* below deadlock_timeout: never a deadlock */
			WHILE @extschema@.lower(m) <= last_month LOOP
				n := n + @extschema@.add_journal_month(@extschema@.lower(m));
				m := @extschema@.next(m, tz);
			END LOOP;
			PERFORM pg_catalog.set_config('lock_timeout', lock_wait, true);
			INSERT INTO @extschema@.clock_state AS k (job, done_until) VALUES ('journal_months', @extschema@.lower(m))
			ON CONFLICT ON CONSTRAINT clock_state_pkey DO UPDATE SET done_until = GREATEST(k.done_until, EXCLUDED.done_until);
	END CASE;
	PERFORM @extschema@.close_tick_failure(NULL, job, t);
	RETURN n;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
	IF job = 'journal_months' AND state = '55P03' THEN
		RETURN NULL;		/* a lock not granted in time: the next tick tries again */
	END IF;
	IF @extschema@.transient_error(state) THEN
		RAISE;
	END IF;
	PERFORM @extschema@.note_tick_failure(NULL, job, t, state, msg, NULL);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.tick_step(text, timestamptz) IS 'Run a step of tick for all customers on its own (machines delisted, qualifications ended, the journal''s months partitioned ahead); a failure is recorded under the step''s name (R-CLK-6)';

/*
 * One pass of tick over the customers of a scope, up to t: every boundary
 * due, each at its own instant, in time order — prepaid terms ending by it,
 * the storage step (estimate or monthly settlement) after storage_from, the
 * hourly PAYG settlement — then terms, vouchers and releases due at t, the
 * contract work and the alerts (when alerts is true or anything settled).
 */
CREATE FUNCTION @extschema@.tick_pass(t timestamptz, scope @extschema@.tick_scope, storage_from timestamptz, alerts boolean,
	OUT boundaries integer, OUT settled integer, OUT stopped integer, OUT renewed integer, OUT ended integer,
	OUT storage_bills integer, OUT storage_estimates integer, OUT vouchers_expired integer, OUT released integer,
	OUT contracts_started integer, OUT collected integer, OUT late integer, OUT completed integer,
	OUT resold integer, OUT resale_months integer, OUT balance_low integer, OUT expiring integer, OUT machine_ends integer)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	tz text := @extschema@.billing_timezone();
	release_after interval := (@extschema@.payg_settings()).stopped_release_days * interval '1 day';
	storage_done timestamptz := storage_from;
	pb timestamptz;
	me timestamptz;
	inst bigint;
	sb_at timestamptz;
	sb_settles boolean;
	b timestamptz;
	r record;
	last_report timestamptz := pg_catalog.clock_timestamp();
BEGIN
	boundaries := 0; settled := 0; stopped := 0; renewed := 0; ended := 0; storage_bills := 0;
	storage_estimates := 0; balance_low := 0; expiring := 0; machine_ends := 0;
	/* the customers of this pass: those tick locked up front, in the scope; every step keeps to them */
	DELETE FROM pg_temp.gpubill_pass;
	INSERT INTO pg_temp.gpubill_pass
	SELECT l.customer_id FROM pg_temp.gpubill_locked l WHERE @extschema@.in_scope(l.customer_id, scope);
	LOOP
		SELECT pg_catalog.min(i.next_settle_at) INTO pb FROM @extschema@.instance i
		WHERE i.state = 'running' AND i.next_settle_at IS NOT NULL AND i.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc);
		sb_at := NULL;
		IF storage_done IS NOT NULL THEN
			SELECT x.step_at, x.settles INTO sb_at, sb_settles FROM @extschema@.next_storage_step(storage_done) x;
		END IF;
		/* R-PRT-5: the owner end time of a machine something of this pass still runs on */
		SELECT pg_catalog.min(m.owner_end_time) INTO me
		FROM @extschema@.instance i JOIN @extschema@.machine m ON m.machine_id = i.machine_id
		WHERE i.state = 'running' AND m.owner_end_time <= t
		  AND i.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc);
		b := LEAST(pb, sb_at, me);
		EXIT WHEN b IS NULL OR b > t;

		r := @extschema@.end_terms(b);
		renewed := renewed + r.renewed;
		ended := ended + r.ended;
		IF sb_at = b THEN
			IF sb_settles THEN
				storage_bills := storage_bills + @extschema@.settle_storage(b);
			ELSE
				storage_estimates := storage_estimates
					+ @extschema@.estimate_storage(b, @extschema@.upper(@extschema@.billing_period('month', b, tz)));
			END IF;
			storage_done := b;
		END IF;
		IF me = b THEN
			/* R-PRT-5: at the owner end time every running instance on the machine stops, settled up to it */
			FOR inst IN SELECT i.instance_id FROM @extschema@.instance i JOIN @extschema@.machine m ON m.machine_id = i.machine_id
						WHERE i.state = 'running' AND m.owner_end_time = b
						  AND i.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
						ORDER BY i.instance_id LOOP
				PERFORM @extschema@.halt_instance(inst, b, 'machine_end');
				machine_ends := machine_ends + 1;
			END LOOP;
		END IF;
		IF pb = b THEN
			r := @extschema@.settle_boundary(b);
			boundaries := boundaries + 1;
			settled := settled + r.settled;
			stopped := stopped + r.stopped;
		END IF;
		IF pg_catalog.clock_timestamp() - last_report > interval '10 seconds' THEN
			/* progress of a long catch-up, to the server log and the client */
			RAISE LOG 'gpubill tick: % boundaries done, at %', boundaries, b;
			RAISE NOTICE 'gpubill tick: % boundaries done, at %', boundaries, b;
			last_report := pg_catalog.clock_timestamp();
		END IF;
	END LOOP;
	r := @extschema@.end_terms(t);
	renewed := renewed + r.renewed;
	ended := ended + r.ended;

	/* R-RCH-3: what is left of expired vouchers goes to voucher breakage (wallets locked in customer order) */
	vouchers_expired := @extschema@.expire_vouchers(t, ARRAY(
		SELECT w.customer_id FROM @extschema@.wallet w
		WHERE w.customer_id IN (SELECT l.customer_id FROM @extschema@.voucher_left l WHERE l.expires_at <= t)
		  AND w.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
		ORDER BY w.customer_id FOR UPDATE));

	/* R-PAYG-6, R-PRE-5: stopped and expired instances are released 10 days later */
	WITH due AS (
		SELECT i.instance_id FROM @extschema@.instance i
		WHERE i.state IN ('stopped', 'expired') AND i.stopped_at + release_after <= t AND i.customer_id IN (SELECT pc.customer_id FROM pg_temp.gpubill_pass pc)
		ORDER BY i.instance_id FOR UPDATE
	), rel AS (
		UPDATE @extschema@.instance i
		SET state = 'released', last_event_at = GREATEST(i.last_event_at, i.stopped_at + release_after)
		FROM due WHERE i.instance_id = due.instance_id
		RETURNING i.instance_id, i.customer_id, i.stopped_at + release_after AS due_at
	)
	INSERT INTO @extschema@.lifecycle_event (kind, customer_id, subject_type, subject_id, due_at, created_at)
	SELECT 'instance_release_due', x.customer_id, 'instance', x.instance_id, x.due_at, t FROM rel x
	ON CONFLICT DO NOTHING;
	GET DIAGNOSTICS released = ROW_COUNT;

	/* R-EXC-1, R-EXC-5: contracts that start, payments due, late payments, completions */
	r := @extschema@.run_contracts(t);
	contracts_started := r.started; collected := r.collected; late := r.late; completed := r.completed;
	/* R-EXC-6, R-EXC-7: resales that take effect, months of resold contracts */
	r := @extschema@.run_resales(t);
	resold := r.resold; resale_months := r.months;

	/* R-ALR-1, R-PRE-5: alerts as of t, once an hour (or after settlements) */
	IF alerts OR boundaries > 0 OR storage_bills > 0 THEN
		r := @extschema@.check_alerts(t, scope);
		balance_low := r.balance_low;
		expiring := r.expiring;
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.tick_pass(timestamptz, @extschema@.tick_scope, timestamptz, boolean) IS 'One pass of tick over a scope of customers up to t, in time order (R-CLK-1, R-CLK-6)';

-- a pass of tick in a subtransaction: its counters, or the error that rolled it back (a transient one is raised)
CREATE FUNCTION @extschema@.try_pass(t timestamptz, scope @extschema@.tick_scope, storage_from timestamptz, alerts boolean,
									 OUT counts jsonb, OUT state text, OUT msg text)
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	counts := pg_catalog.to_jsonb(@extschema@.tick_pass(t, scope, storage_from, alerts));
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
	IF @extschema@.transient_error(state) THEN
		RAISE;
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.try_pass(timestamptz, @extschema@.tick_scope, timestamptz, boolean) IS 'Run a pass of tick in a subtransaction: its counters, or the SQLSTATE and message of the error that rolled it back (R-CLK-6)';

CREATE FUNCTION @extschema@.tick(at timestamptz DEFAULT NULL)
	RETURNS jsonb
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := @extschema@.api_time(at);
	started timestamptz := pg_catalog.clock_timestamp();
	tz text;
	release_after interval;
	st text;
	msg text;
	storage_from timestamptz;
	storage_to timestamptz;
	step record;
	alerts boolean;
	alerted boolean := false;
	f record;
	r record;
	probe record;			/* the empty pass run at the first failure (r keeps the failing pass) */
	skip bigint[];
	los bigint[] := ARRAY[(@extschema@.all_customers()).lo];
	his bigint[] := ARRAY[(@extschema@.all_customers()).hi];
	lo bigint;
	hi bigint;
	n bigint;
	mid bigint;
	passes integer := 0;
	probed boolean := false;
	recovered integer := 0;
	failed integer := 0;
	global_failed boolean := false;
	machines_delisted integer;
	qualifications_ended integer;
	c jsonb := '{}';		/* the counters of every pass, summed */
BEGIN
	IF NOT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('gpubill.tick')) THEN
		RETURN pg_catalog.jsonb_build_object('at', t, 'skipped', 'another tick is running');
	END IF;
	PERFORM @extschema@.prepare_session_tables();
	/* R-CLK-6: settings broken behind set_setting's back fail the tick, recorded as its own failure */
	BEGIN
		tz := @extschema@.billing_timezone();
		release_after := (@extschema@.payg_settings()).stopped_release_days * interval '1 day';
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
		IF @extschema@.transient_error(st) THEN
			RAISE;
		END IF;
		PERFORM @extschema@.note_tick_failure(NULL, 'tick', t, st, msg, NULL);
		RETURN pg_catalog.jsonb_build_object('at', t, 'failures', pg_catalog.jsonb_build_object('tick', true, 'passes', 0),
			'ms', pg_catalog.round((EXTRACT(epoch FROM pg_catalog.clock_timestamp() - started) * 1000)::numeric, 1));
	END;

	/* tick's own progress: the storage steps done, the hourly alert check */
	SELECT k.done_until INTO storage_from FROM @extschema@.clock_state k WHERE k.job = 'storage' FOR UPDATE;
	IF storage_from IS NULL THEN
		SELECT pg_catalog.min(l.since) INTO storage_from FROM @extschema@.storage_level l;
		IF storage_from IS NOT NULL THEN
			INSERT INTO @extschema@.clock_state (job, done_until) VALUES ('storage', storage_from);
		END IF;
	END IF;
	alerts := coalesce((SELECT k.done_until FROM @extschema@.clock_state k WHERE k.job = 'alerts'), '-infinity')
			  < @extschema@.lower(@extschema@.billing_period('hour', t, tz));

	/*
	 * R-LED-6: the wallets of every customer with work due up to t, locked up
	 * front in customer order — the order of every call that takes several —
	 * and held to the end; the passes keep to these customers.  A customer
	 * whose work becomes due meanwhile (a call committed after this lock) is
	 * left to the next tick: a wallet locked later, out of order, could
	 * deadlock with a call holding it.
	 */
	DELETE FROM pg_temp.gpubill_locked;
	INSERT INTO pg_temp.gpubill_locked
	SELECT w.customer_id FROM @extschema@.wallet w
	WHERE w.customer_id IN (
		SELECT i.customer_id FROM @extschema@.instance i WHERE i.state = 'running' AND i.next_settle_at <= t
		UNION
		SELECT i.customer_id FROM @extschema@.instance i WHERE i.state = 'running' AND i.term_end <= t
		UNION
		SELECT i.customer_id FROM @extschema@.instance i JOIN @extschema@.machine m ON m.machine_id = i.machine_id
		WHERE i.state = 'running' AND m.owner_end_time <= t
		UNION
		SELECT i.customer_id FROM @extschema@.instance i
		WHERE i.state IN ('stopped', 'expired') AND i.stopped_at + release_after <= t
		UNION
		SELECT l.customer_id FROM @extschema@.voucher_left l WHERE l.expires_at <= t
		UNION
		SELECT l.customer_id FROM @extschema@.storage_level l
		WHERE storage_from IS NOT NULL AND (@extschema@.next_storage_step(storage_from)).step_at <= t
		UNION
		SELECT cw.customer_id FROM @extschema@.contract_work(t) cw
		UNION
		SELECT tf.customer_id FROM @extschema@.tick_failure tf WHERE tf.closed_at IS NULL AND tf.job = 'customer')
	ORDER BY w.customer_id FOR UPDATE;

	/* R-CLK-6: 1. customers whose work failed before, each alone, from where it stopped */
	FOR f IN SELECT k.customer_id, k.storage_from FROM @extschema@.tick_failure k
			 WHERE k.closed_at IS NULL AND k.job = 'customer' ORDER BY k.customer_id LOOP
		r := @extschema@.try_pass(t, ROW(f.customer_id, f.customer_id, '{}')::@extschema@.tick_scope,
								  coalesce(f.storage_from, storage_from), true);
		IF r.state IS NULL THEN
			c := @extschema@.add_counts(c, r.counts);
			PERFORM @extschema@.close_tick_failure(f.customer_id, 'customer', t);
			recovered := recovered + 1;
		ELSE
			PERFORM @extschema@.note_tick_failure(f.customer_id, 'customer', t, r.state, r.msg, f.storage_from);
		END IF;
	END LOOP;
	skip := ARRAY(SELECT k.customer_id FROM @extschema@.tick_failure k
				  WHERE k.closed_at IS NULL AND k.job = 'customer' ORDER BY 1);

	/* 2. everyone else in one pass; a pass that fails is halved until its customer is found */
	WHILE pg_catalog.cardinality(los) > 0 LOOP
		lo := los[pg_catalog.cardinality(los)];
		hi := his[pg_catalog.cardinality(his)];
		los := los[1:pg_catalog.cardinality(los) - 1];
		his := his[1:pg_catalog.cardinality(his) - 1];
		passes := passes + 1;
		r := @extschema@.try_pass(t, ROW(lo, hi, skip)::@extschema@.tick_scope, storage_from, alerts);
		IF r.state IS NULL THEN
			c := @extschema@.add_counts(c, r.counts);
			CONTINUE;
		END IF;
		IF NOT probed THEN
			/* at the first failure: does the pass fail without any customer?  Then none is to blame */
			probed := true;
			probe := @extschema@.try_pass(t, ROW(1, 0, '{}')::@extschema@.tick_scope, storage_from, alerts);
			IF probe.state IS NOT NULL THEN
				PERFORM @extschema@.note_tick_failure(NULL, 'tick', t, probe.state, probe.msg, NULL);
				global_failed := true;
				EXIT;
			END IF;
		END IF;
		SELECT pg_catalog.count(*), pg_catalog.min(w.customer_id) INTO n, mid FROM @extschema@.wallet w
		WHERE w.customer_id BETWEEN lo AND hi AND w.customer_id <> ALL (skip);
		IF n = 0 THEN
			/* no customer left, yet the empty pass did not fail: the tick's own, recorded as such */
			PERFORM @extschema@.note_tick_failure(NULL, 'tick', t, r.state, r.msg, NULL);
			global_failed := true;
			EXIT;
		ELSIF n = 1 THEN
			/* the one customer left is to blame */
			PERFORM @extschema@.note_tick_failure(mid, 'customer', t, r.state, r.msg, storage_from);
			skip := skip || mid;
			failed := failed + 1;
		ELSE
			SELECT w.customer_id INTO mid FROM @extschema@.wallet w
			WHERE w.customer_id BETWEEN lo AND hi AND w.customer_id <> ALL (skip)
			ORDER BY w.customer_id OFFSET (n - 1) / 2 LIMIT 1;
			los := los || (mid + 1) || lo;		/* lo..mid first */
			his := his || hi || mid;
		END IF;
	END LOOP;
	IF NOT global_failed THEN
		PERFORM @extschema@.close_tick_failure(NULL, 'tick', t);
	END IF;

	/* the storage steps and the alert check done for everyone not left out */
	IF storage_from IS NOT NULL AND NOT global_failed THEN
		storage_to := storage_from;
		LOOP
			step := @extschema@.next_storage_step(storage_to);
			EXIT WHEN step.step_at > t;
			storage_to := step.step_at;
		END LOOP;
		/* a level recorded after the wallets were locked is settled by the next tick: the steps stay due */
		IF NOT EXISTS (SELECT FROM @extschema@.storage_level l
					   WHERE l.since < storage_to
						 AND l.customer_id NOT IN (SELECT k.customer_id FROM pg_temp.gpubill_locked k)) THEN
			UPDATE @extschema@.clock_state k SET done_until = storage_to WHERE k.job = 'storage';
		END IF;
	END IF;
	IF NOT global_failed AND (alerts OR (c ->> 'boundaries')::integer > 0 OR (c ->> 'storage_bills')::integer > 0) THEN
		INSERT INTO @extschema@.clock_state (job, done_until) VALUES ('alerts', t)
		ON CONFLICT (job) DO UPDATE SET done_until = GREATEST(clock_state.done_until, EXCLUDED.done_until);
		alerted := true;
	END IF;

	/* partners' work, each step on its own */
	machines_delisted := @extschema@.tick_step('delist_ending_machines', t);	/* R-PRT-5 */
	qualifications_ended := @extschema@.tick_step('end_qualifications', t);		/* R-PRT-6 */
	/* tick's progress (period close waits for it), and the months due to close on the clock (issue 14) */
	IF NOT global_failed THEN
		INSERT INTO @extschema@.clock_state AS k (job, done_until) VALUES ('tick', t)
		ON CONFLICT ON CONSTRAINT clock_state_pkey DO UPDATE SET done_until = GREATEST(k.done_until, EXCLUDED.done_until);
	END IF;
	IF at IS NULL THEN	/* on the clock (pg_cron): a simulated or backfilling tick leaves months open (close_period) */
		PERFORM @extschema@.tick_step('close_months', t);
	END IF;
	/* the journal's months ahead, last: attaching a month locks the default partition to the end of
	   tick's transaction, and a call that wrote there must not wait for it while tick still needs
	   anything (the wallets are locked first by tick and by every call alike) */
	PERFORM @extschema@.tick_step('journal_months', t);

	RETURN pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
		'at', t,
		'payg', pg_catalog.jsonb_build_object('boundaries', c -> 'boundaries', 'settled', c -> 'settled',
											  'stopped_insufficient_balance', c -> 'stopped'),
		'terms', pg_catalog.jsonb_build_object('renewed', c -> 'renewed', 'ended', c -> 'ended'),
		'storage', pg_catalog.jsonb_build_object('settled', c -> 'storage_bills', 'estimate_alerts', c -> 'storage_estimates'),
		'vouchers_expired', c -> 'vouchers_expired',
		'released', c -> 'released',
		'machines_delisted', machines_delisted,
		'stopped_at_machine_end', c -> 'machine_ends',
		'qualifications_ended', qualifications_ended,
		'contracts', pg_catalog.jsonb_build_object('started', c -> 'contracts_started', 'collected', c -> 'collected',
												   'late', c -> 'late', 'completed', c -> 'completed',
												   'resold', c -> 'resold', 'resale_months', c -> 'resale_months'),
		'alerts', CASE WHEN alerted THEN pg_catalog.jsonb_build_object('balance_low', c -> 'balance_low',
																		'instance_expiring', c -> 'expiring') END,
		'failures', CASE WHEN failed > 0 OR recovered > 0 OR pg_catalog.cardinality(skip) > 0 OR global_failed THEN
						pg_catalog.jsonb_build_object('new', failed, 'recovered', recovered,
													  'customers_left_out', pg_catalog.cardinality(skip),
													  'tick', global_failed, 'passes', passes) END,
		'ms', pg_catalog.round((EXTRACT(epoch FROM pg_catalog.clock_timestamp() - started) * 1000)::numeric, 1)));
END
$$;
COMMENT ON FUNCTION @extschema@.tick(timestamptz) IS 'Do all due work up to at, in time order; idempotent; one customer''s failing rows are recorded and retried while everyone else is settled; returns a summary (R-CLK-1..3, R-CLK-6)';

-- the counters of two passes added (boundaries: the most of either, as passes walk the same instants)
CREATE FUNCTION @extschema@.add_counts(a jsonb, b jsonb) RETURNS jsonb
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	AS $$
	SELECT pg_catalog.jsonb_object_agg(k, CASE WHEN k = 'boundaries'
											   THEN GREATEST(coalesce((a ->> k)::integer, 0), coalesce((b ->> k)::integer, 0))
											   ELSE coalesce((a ->> k)::integer, 0) + coalesce((b ->> k)::integer, 0) END)
	FROM pg_catalog.jsonb_object_keys(b) k
$$;
COMMENT ON FUNCTION @extschema@.add_counts(jsonb, jsonb) IS 'Sum the counters of tick passes';

/*
 * R-CLK-4 with pg_cron anywhere (issue 16).  pg_cron keeps its jobs in one
 * database (cron.database_name, postgres by default) and runs each in the
 * database it names.  With pg_cron in this database, the job is scheduled
 * here; with pg_cron in another, gpubill reaches that database through
 * dblink (installed here) and schedules the job there for this database
 * (cron.schedule_in_database).  A job of this database is one whose command
 * runs gpubill.tick(), whatever its name: unschedule_jobs() finds those made
 * by hand too.
 */
-- a value of a libpq connection string, quoted
CREATE FUNCTION @extschema@.conninfo_quote(v text) RETURNS text
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	AS $$ SELECT '''' || pg_catalog.replace(pg_catalog.replace(v, E'\\', E'\\\\'), '''', E'\\''') || '''' $$;
COMMENT ON FUNCTION @extschema@.conninfo_quote(text) IS 'A value of a libpq connection string, quoted';

-- run sql (one bigint column) in pg_cron's database, through dblink, as this function's owner over the local socket
CREATE FUNCTION @extschema@.in_cron_database(sql text) RETURNS SETOF bigint
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	cron_db text := pg_catalog.current_setting('cron.database_name', true);
	link name := (SELECT n.nspname FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
				  WHERE e.extname = 'dblink');
	socket text := pg_catalog.btrim(pg_catalog.split_part(pg_catalog.current_setting('unix_socket_directories'), ',', 1));
BEGIN
	IF cron_db IS NULL THEN
		RAISE EXCEPTION 'pg_cron is not loaded' USING ERRCODE = 'object_not_in_prerequisite_state',
			HINT = 'Add pg_cron to shared_preload_libraries and CREATE EXTENSION pg_cron in the database named by cron.database_name.';
	END IF;
	IF link IS NULL THEN
		RAISE EXCEPTION 'pg_cron lives in the database %, and dblink is not installed in this one to reach it', cron_db
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = pg_catalog.format('CREATE EXTENSION dblink here, or run in %s: %s', cron_db, sql);
	END IF;
	RETURN QUERY EXECUTE pg_catalog.format('SELECT t.id FROM %I.dblink(%L, %L) AS t(id bigint)', link,
		pg_catalog.format('dbname=%s port=%s user=%s', @extschema@.conninfo_quote(cron_db),
						  @extschema@.conninfo_quote(pg_catalog.current_setting('port')), @extschema@.conninfo_quote(current_user))
		|| CASE WHEN coalesce(socket, '') <> '' THEN ' host=' || @extschema@.conninfo_quote(socket) ELSE '' END,
		sql);
END
$$;
COMMENT ON FUNCTION @extschema@.in_cron_database(text) IS 'Run a query of one bigint column in pg_cron''s database (cron.database_name) through dblink (issue 16)';

CREATE FUNCTION @extschema@.schedule_jobs()
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	IF NOT @extschema@.is_admin() THEN
		RAISE EXCEPTION 'the clock may be scheduled only by gpubill_admin' USING ERRCODE = 'insufficient_privilege';
	END IF;
	/* every minute: pg_cron 1.4 has no time zones; the billing time zone lives in gpubill */
	IF EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
		RETURN cron.schedule('gpubill-tick', '* * * * *', 'SELECT gpubill.tick()');
	END IF;
	RETURN (SELECT j FROM @extschema@.in_cron_database(pg_catalog.format(
		'SELECT cron.schedule_in_database(%L, %L, %L, %L)', 'gpubill-tick:' || pg_catalog.current_database(), '* * * * *',
		'SELECT gpubill.tick()', pg_catalog.current_database())) j);
END
$$;
COMMENT ON FUNCTION @extschema@.schedule_jobs() IS 'Install the pg_cron job that runs tick() every minute in this database, pg_cron living here or in another database (through dblink); gpubill_admin only (R-CLK-4)';

CREATE FUNCTION @extschema@.unschedule_jobs()
	RETURNS boolean
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	jobs text := pg_catalog.format('SELECT cron.unschedule(j.jobid)::integer::bigint FROM cron.job j WHERE j.database = %L AND j.command ~ %L',
								   pg_catalog.current_database(), 'gpubill\.tick\(');
	n bigint;
BEGIN
	IF NOT @extschema@.is_admin() THEN
		RAISE EXCEPTION 'the clock may be unscheduled only by gpubill_admin' USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
		EXECUTE 'SELECT pg_catalog.count(*) FROM (' || jobs || ') x' INTO n;
	ELSIF pg_catalog.current_setting('cron.database_name', true) IS NULL THEN
		RETURN false;		/* no pg_cron at all: no job */
	ELSE
		SELECT pg_catalog.count(*) INTO n FROM @extschema@.in_cron_database(jobs);
	END IF;
	RETURN n > 0;
END
$$;
COMMENT ON FUNCTION @extschema@.unschedule_jobs() IS 'Remove this database''s pg_cron jobs of tick() (any that runs gpubill.tick() here, whatever its name), pg_cron living here or in another database; gpubill_admin only (R-CLK-4)';
/*
 * 25_close.sql — period close (issue 14): a billing month is closed once,
 * in order, when tick has done all its work (tick on the clock closes the
 * month before last by itself: the settings period_close_months and
 * period_close_days set the delay).  Every layer writes its roll-ups of the month (the
 * ledger's account months, the customers' statements and instance hours,
 * the partners' statements and the platform's days), the digest of them
 * all is kept in closed_month, and the month's journal is never written
 * again (the door refuses it, GB004; its partitions refuse every insert).
 * Closing is idempotent (a closed month is skipped) and crash-safe (one
 * transaction: all of a month's roll-ups and its closed_month row, or none).
 *
 * tick closes months only on the clock — called without at, as pg_cron
 * calls it: a tick given its time (a simulation, a backfill, a test
 * replaying months) leaves them open, so that it may still write in past
 * months; close_period closes them then.
 *
 * A month is not closed while tick has not run past its end, while a
 * customer's work is failing (tick_failure: it may still settle in the
 * month), or while a call dated in it is writing (the month's advisory
 * lock, taken shared by every write).
 *
 * Map (scripts/file-map.pl):
 * API: archive_month, close_period.
 * Internals: admin_month, close_months.
 * Uses: 2_base, 3_ledger, 5_customers, 6_partners.
 */

/*
 * Close every open month up to the one whose first day is last, at t.
 * strict: a month that may not close yet raises GB004 (close_period);
 * else the months stop there quietly (tick).  Returns the months closed.
 */
CREATE FUNCTION @extschema@.close_months(last date, t timestamptz, strict boolean) RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
DECLARE
	m date;
	b record;
	why text;
	first_at timestamptz;
	digest text;
	lock_wait text;
	n integer := 0;
BEGIN
	SELECT (c.month + interval '1 month')::date INTO m FROM @extschema@.closed_month c ORDER BY c.month DESC LIMIT 1;
	IF m IS NULL THEN	/* nothing closed yet: from the month of the journal's first row */
		first_at := LEAST((SELECT pg_catalog.min(x.at) FROM @extschema@.transfer x),
						  (SELECT pg_catalog.min(o.at) FROM @extschema@.order_line o));
		m := coalesce((pg_catalog.date_trunc('month', first_at AT TIME ZONE @extschema@.billing_timezone()))::date, last);
	END IF;
	WHILE m <= last LOOP
		b := @extschema@.month_bounds(m);
		why := CASE
			WHEN b.ends_at > t THEN pg_catalog.format('the month %s is not over at %s', pg_catalog.to_char(m, 'YYYY-MM'), t)
			WHEN coalesce((SELECT k.done_until FROM @extschema@.clock_state k WHERE k.job = 'tick'), '-infinity') < b.ends_at
				THEN pg_catalog.format('tick has not run past the end of %s', pg_catalog.to_char(m, 'YYYY-MM'))
			WHEN EXISTS (SELECT FROM @extschema@.tick_failure f WHERE f.closed_at IS NULL AND f.customer_id IS NOT NULL)
				THEN 'a customer''s work is failing (tick_failures): it may still settle in the month'
			WHEN NOT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('gpubill.month'), @extschema@.month_lock_key(b.starts_at))
				THEN pg_catalog.format('a call dated in %s is writing', pg_catalog.to_char(m, 'YYYY-MM'))
			END;
		IF why IS NOT NULL THEN
			IF strict THEN
				RAISE EXCEPTION 'the billing month % cannot be closed: %', pg_catalog.to_char(m, 'YYYY-MM'), why
					USING ERRCODE = 'GB004';
			END IF;
			EXIT;
		END IF;
		digest := pg_catalog.md5(@extschema@.close_ledger_month(m) || @extschema@.close_customer_month(m)
								 || @extschema@.close_partner_month(m));
		INSERT INTO @extschema@.closed_month (month, starts_at, ends_at, at, digest, usage_digest)
		VALUES (m, b.starts_at, b.ends_at, t, digest, @extschema@.instance_hour_digest(m));
		/* its partitions refuse every insert; a reader holding one is not waited for (the door refuses anyway) */
		BEGIN
			lock_wait := pg_catalog.current_setting('lock_timeout');
			PERFORM pg_catalog.set_config('lock_timeout', '200ms', true);
			PERFORM @extschema@.freeze_journal_month(m);
			PERFORM pg_catalog.set_config('lock_timeout', lock_wait, true);
		EXCEPTION WHEN lock_not_available THEN
			NULL;
		END;
		n := n + 1;
		m := (m + interval '1 month')::date;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.close_months(date, timestamptz, boolean) IS 'Close the open billing months up to last, in order: each layer''s roll-ups, the digest, the journal frozen; strict raises GB004 on a month that may not close yet (issue 14)';

-- the month an admin's call closes or archives up to (its first day), under tick's own lock:
-- no tick runs meanwhile, and no two such calls at once
CREATE FUNCTION @extschema@.admin_month(month date, done text) RETURNS date
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	AS $$
BEGIN
	IF NOT @extschema@.is_admin() THEN
		RAISE EXCEPTION 'months may be % only by gpubill_admin', done USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF month IS NULL THEN
		RAISE EXCEPTION 'a month must be given' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('gpubill.tick'));
	RETURN pg_catalog.date_trunc('month', month)::date;
END
$$;
COMMENT ON FUNCTION @extschema@.admin_month(date, text) IS 'Check an admin''s call on months (gpubill_admin, a month given), take tick''s lock; the month''s first day';

CREATE FUNCTION @extschema@.close_period(month date, at timestamptz DEFAULT NULL) RETURNS integer
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := @extschema@.api_time(at);
BEGIN
	RETURN @extschema@.close_months(@extschema@.admin_month(month, 'closed'), t, true);
END
$$;
COMMENT ON FUNCTION @extschema@.close_period(date, timestamptz) IS 'Close the billing months up to the one holding month (the first not closed first): their roll-ups are written once and their journal never again; returns the months closed; GB004 if one may not close yet; gpubill_admin only (issue 14)';

/*
 * Archive the closed months up to the one holding month, in order, once:
 * their journal partitions are detached (to be dumped and dropped by the
 * DBA); their roll-ups stay, and every read of the journal —
 * verify(full => true) included — starts after the last archived month.
 * Detaching a partition locks the journal's table for a moment: run it
 * at a quiet hour (the caller's lock_timeout applies).
 */
CREATE FUNCTION @extschema@.archive_month(month date, at timestamptz DEFAULT NULL) RETURNS integer
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := @extschema@.api_time(at);
	last date;
	m date;
	n integer := 0;
BEGIN
	last := @extschema@.admin_month(month, 'archived');
	IF NOT EXISTS (SELECT FROM @extschema@.closed_month c WHERE c.month = last) THEN
		RAISE EXCEPTION 'the billing month % cannot be archived: it is not closed', pg_catalog.to_char(last, 'YYYY-MM')
			USING ERRCODE = 'GB004', HINT = 'close_period closes it.';
	END IF;
	FOR m IN SELECT c.month FROM @extschema@.closed_month c
			 WHERE c.month <= last AND NOT EXISTS (SELECT FROM @extschema@.archived_month a WHERE a.month = c.month)
			 ORDER BY c.month LOOP
		n := n + @extschema@.archive_journal_month(m, t);
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.archive_month(date, timestamptz) IS 'Archive the closed billing months up to the one holding month: their journal partitions detached (dump and drop them), their roll-ups kept, the journal read after them; returns the months archived; GB004 if it is not closed; gpubill_admin only (issue 14)';
/*
 * 30_verify.sql — verify(): every layer's invariants, one row per check
 * (R-LED-3).  Here, after every layer, as tick is: it runs the checks each
 * layer keeps with its own tables.
 *
 * verify() reads the open months of the journal and the closed months'
 * roll-ups, checked against the digest kept when each closed (issue 14): its
 * time grows with the open months, not with history.  verify(full => true)
 * re-checks everything from the whole journal, the closed months' roll-ups
 * recomputed from it included.
 *
 * Map (scripts/file-map.pl):
 * API: verify.
 * Internals: verify_months.
 * Uses: 1_types, 3_ledger, 5_customers, 6_partners, 7_exchange.
 */

CREATE FUNCTION @extschema@.verify_months(whole boolean)
	RETURNS TABLE (check_name text, ok boolean, detail text)
	LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	WITH base AS (	/* full: the journal is read after the last archived month */
		SELECT coalesce(b.month, '-infinity') AS archived, b.since,
			   coalesce((b.month + interval '1 month')::date, '-infinity') AS first_day
		FROM @extschema@.journal_base(true) b
	)
	/* the hours of use, as many rows as the order lines, only when full: verify() stays flat in history */
	SELECT 'closed months'' roll-ups match their digests', count(*) = 0,
		   count(*) || ' closed months whose roll-ups changed since they closed'
		   || coalesce(': ' || string_agg(pg_catalog.to_char(c.month, 'YYYY-MM'), ', ' ORDER BY c.month), '')
	FROM @extschema@.closed_month c
	WHERE c.digest <> pg_catalog.md5(@extschema@.ledger_month_digest(c.month) || @extschema@.customer_month_digest(c.month)
									 || @extschema@.partner_month_digest(c.month))
	   OR whole AND c.usage_digest <> @extschema@.instance_hour_digest(c.month)
	UNION ALL
	SELECT 'closed months follow each other, their balances carried', count(*) = 0,
		   count(*) || ' accounts or months out of sequence'
		   || coalesce(': ' || string_agg(x.what, ', '), '')
	FROM (SELECT pg_catalog.to_char(c.month, 'YYYY-MM') AS what FROM @extschema@.closed_month c
		  WHERE c.month > (SELECT pg_catalog.min(k.month) FROM @extschema@.closed_month k)
			AND NOT EXISTS (SELECT FROM @extschema@.closed_month p WHERE p.month = (c.month - interval '1 month')::date)
		  UNION ALL
		  SELECT pg_catalog.format('%s in %s', k.account_id, pg_catalog.to_char(k.month, 'YYYY-MM'))
		  FROM @extschema@.account_month k
		  LEFT JOIN @extschema@.account_month p ON p.account_id = k.account_id AND p.month = (k.month - interval '1 month')::date
		  WHERE whole AND k.closing <> coalesce(p.closing, 0) + k.credits - k.debits) x	/* else: the digests vouch for it */
	UNION ALL
	/* full: the closed months' roll-ups are what the journal gives */
	SELECT 'closed months'' closing balances equal the journal', count(*) = 0,
		   count(*) || ' accounts whose closing balance differs from the journal'
		   || coalesce(': ' || string_agg(coalesce(k.account_id, j.account_id)::text, ', '), '')
	FROM (SELECT a.account_id, a.closing FROM @extschema@.account_month a
		  WHERE whole AND a.month = (SELECT pg_catalog.max(c.month) FROM @extschema@.closed_month c) AND a.closing <> 0) k
	FULL JOIN (SELECT l.account_id, pg_catalog.sum(l.micros) AS closing	/* the last archived month's roll-up and the journal after it */
			   FROM (SELECT a.account_id, a.closing AS micros FROM @extschema@.account_month a
					 WHERE whole AND a.month = (SELECT b.month FROM @extschema@.journal_base(true) b)
					 UNION ALL
					 SELECT t.credit_account AS account_id, @extschema@.micros(t.amount)::numeric AS micros
					 FROM @extschema@.transfer t
					 WHERE whole AND t.at >= (SELECT b.since FROM @extschema@.journal_base(true) b) AND t.at < @extschema@.closed_until()
					 UNION ALL
					 SELECT t.debit_account, -@extschema@.micros(t.amount)::numeric
					 FROM @extschema@.transfer t
					 WHERE whole AND t.at >= (SELECT b.since FROM @extschema@.journal_base(true) b) AND t.at < @extschema@.closed_until()) l
			   GROUP BY l.account_id HAVING pg_catalog.sum(l.micros) <> 0) j ON j.account_id = k.account_id
	WHERE k.closing IS DISTINCT FROM j.closing
	UNION ALL
	SELECT 'closed months'' statements equal the journal', count(*) = 0,
		   count(*) || ' roll-up rows that differ from the journal' || coalesce(': ' || string_agg(d.what, ', '), '')
	/* the months after the last archived one (their journal is in the database) */
	FROM (SELECT 'customer ' || x.customer_id AS what FROM (
			  (SELECT k.customer_id, k.month, k.recharged, k.vouchers_granted, k.charged, k.refunded, k.cash_change, k.used
			   FROM @extschema@.customer_month k WHERE whole AND k.month > (SELECT f.archived FROM base f)
			   EXCEPT ALL
			   SELECT * FROM @extschema@.customer_movements((SELECT f.since FROM base f), @extschema@.closed_until()) WHERE whole)
			  UNION ALL
			  (SELECT * FROM @extschema@.customer_movements((SELECT f.since FROM base f), @extschema@.closed_until()) WHERE whole
			   EXCEPT ALL
			   SELECT k.customer_id, k.month, k.recharged, k.vouchers_granted, k.charged, k.refunded, k.cash_change, k.used
			   FROM @extschema@.customer_month k WHERE whole AND k.month > (SELECT f.archived FROM base f))) x
		  UNION ALL
		  SELECT 'partner ' || x.partner_id FROM (
			  (SELECT k.partner_id, k.month, k.gross, k.fees, k.voucher_paid, k.income, k.deposits, k.compensation, k.withdrawn
			   FROM @extschema@.partner_month k WHERE whole AND k.month > (SELECT f.archived FROM base f)
			   EXCEPT ALL
			   SELECT p.partner, p.month, p.gross, p.fees, p.voucher_paid, p.income, p.deposits, p.compensation, p.withdrawn
			   FROM @extschema@.partner_movements((SELECT f.since FROM base f), @extschema@.closed_until()) p WHERE whole)
			  UNION ALL
			  (SELECT p.partner, p.month, p.gross, p.fees, p.voucher_paid, p.income, p.deposits, p.compensation, p.withdrawn
			   FROM @extschema@.partner_movements((SELECT f.since FROM base f), @extschema@.closed_until()) p WHERE whole
			   EXCEPT ALL
			   SELECT k.partner_id, k.month, k.gross, k.fees, k.voucher_paid, k.income, k.deposits, k.compensation, k.withdrawn
			   FROM @extschema@.partner_month k WHERE whole AND k.month > (SELECT f.archived FROM base f))) x
		  UNION ALL
		  SELECT 'platform day ' || x.day FROM (
			  (SELECT d.day, d.currency, d.service_fees, d.commissions, d.voucher_breakage, d.compensation_paid,
					  d.compensation_recovered, d.vouchers_spent, d.forfeits
			   FROM @extschema@.platform_day d WHERE whole AND d.day >= (SELECT f.first_day FROM base f)
			   EXCEPT ALL
			   SELECT * FROM @extschema@.platform_days((SELECT f.since FROM base f), @extschema@.closed_until()) WHERE whole)
			  UNION ALL
			  (SELECT * FROM @extschema@.platform_days((SELECT f.since FROM base f), @extschema@.closed_until()) WHERE whole
			   EXCEPT ALL
			   SELECT d.day, d.currency, d.service_fees, d.commissions, d.voucher_breakage, d.compensation_paid,
					  d.compensation_recovered, d.vouchers_spent, d.forfeits
			   FROM @extschema@.platform_day d WHERE whole AND d.day >= (SELECT f.first_day FROM base f))) x
		  UNION ALL
		  SELECT 'instance ' || x.instance_id FROM (
			  (SELECT h.instance_id, h.customer_id, h.hour, h.seconds, h.charged, h.voucher_paid, h.cash_paid
			   FROM @extschema@.instance_hour h WHERE whole AND h.month > (SELECT f.archived FROM base f)
			   EXCEPT ALL
			   SELECT i.* FROM @extschema@.closed_month c
			   CROSS JOIN LATERAL @extschema@.instance_hours(c.starts_at, c.ends_at) i WHERE whole AND c.month > (SELECT f.archived FROM base f))
			  UNION ALL
			  (SELECT i.* FROM @extschema@.closed_month c
			   CROSS JOIN LATERAL @extschema@.instance_hours(c.starts_at, c.ends_at) i WHERE whole AND c.month > (SELECT f.archived FROM base f)
			   EXCEPT ALL
			   SELECT h.instance_id, h.customer_id, h.hour, h.seconds, h.charged, h.voucher_paid, h.cash_paid
			   FROM @extschema@.instance_hour h WHERE whole AND h.month > (SELECT f.archived FROM base f))) x) d
$$;
COMMENT ON FUNCTION @extschema@.verify_months(boolean) IS 'The closed months'' invariants (issue 14): roll-ups unchanged since closing (digest), months in sequence with balances carried; full: the roll-ups recomputed from the journal';

CREATE FUNCTION @extschema@.verify(full boolean DEFAULT false)
	RETURNS TABLE (check_name text, ok boolean, detail text)
	LANGUAGE sql STABLE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	SET jit = off			/* compiling the plan of every month's partition costs more than the read */
	AS $$
	SELECT * FROM @extschema@.verify_ledger(coalesce($1, false))
	UNION ALL
	SELECT * FROM @extschema@.verify_customers(coalesce($1, false))
	UNION ALL
	SELECT * FROM @extschema@.verify_exchange(coalesce($1, false))
	UNION ALL
	SELECT * FROM @extschema@.verify_months(coalesce($1, false))
$$;
COMMENT ON FUNCTION @extschema@.verify(boolean) IS 'Check every invariant (R-LED-3): the ledger''s, the customers'', the exchange''s and the closed months'', one row per check with ok and a detail; the open months and the closed months'' roll-ups, or (full) the whole journal';
/*
 * 10_views.sql — the reporting interface for BI tools (issue 16).  The
 * schema gpubill_bi holds the statement views in plain SQL types: every
 * money value is numeric (exact, six decimals at most) next to a currency
 * column, and one number never adds two currencies — a tool's generated
 * SUM(...) GROUP BY currency is right.  Ranges are split into their bounds.
 * Point a BI tool at this schema only (gpubill_reader may read it); the
 * views read the same rows as gpubill's own (closed months from their
 * roll-ups).
 *
 * Map (scripts/file-map.pl):
 * Uses: 1_types, 3_ledger, 5_customers, 6_partners, 7_exchange.
 */

CREATE SCHEMA gpubill_bi;
COMMENT ON SCHEMA gpubill_bi IS 'gpubill for BI tools: the statement views with money as numeric next to its currency (issue 16)';

CREATE VIEW gpubill_bi.customer_statement AS
SELECT s.customer, s.month, @extschema@.currency(s.closing_cash) AS currency,
	   @extschema@.to_numeric(s.recharged) AS recharged, @extschema@.to_numeric(s.vouchers_granted) AS vouchers_granted,
	   @extschema@.to_numeric(s.charged) AS charged, @extschema@.to_numeric(s.refunded) AS refunded,
	   @extschema@.to_numeric(s.closing_cash) AS closing_cash
FROM @extschema@.customer_statement s;
COMMENT ON VIEW gpubill_bi.customer_statement IS 'customer_statement for BI: one row per customer and billing month, money as numeric in the customer''s currency';

CREATE VIEW gpubill_bi.partner_statement AS
SELECT s.partner, s.month, @extschema@.currency(s.gross) AS currency,
	   @extschema@.to_numeric(s.gross) AS gross, @extschema@.to_numeric(s.fees) AS fees,
	   @extschema@.to_numeric(s.voucher_paid) AS voucher_paid, @extschema@.to_numeric(s.income) AS income,
	   @extschema@.to_numeric(s.deposits) AS deposits, @extschema@.to_numeric(s.compensation) AS compensation,
	   @extschema@.to_numeric(s.withdrawn) AS withdrawn, @extschema@.to_numeric(s.withdrawable) AS withdrawable
FROM @extschema@.partner_statement s;
COMMENT ON VIEW gpubill_bi.partner_statement IS 'partner_statement for BI: one row per partner and billing month, money as numeric in the partner''s currency';

CREATE VIEW gpubill_bi.platform_revenue AS
SELECT r.day, r.currency,
	   @extschema@.to_numeric(r.service_fees) AS service_fees, @extschema@.to_numeric(r.commissions) AS commissions,
	   @extschema@.to_numeric(r.voucher_breakage) AS voucher_breakage,
	   @extschema@.to_numeric(r.compensation_paid) AS compensation_paid,
	   @extschema@.to_numeric(r.compensation_recovered) AS compensation_recovered,
	   @extschema@.to_numeric(r.vouchers_spent) AS vouchers_spent, @extschema@.to_numeric(r.forfeits) AS forfeits
FROM @extschema@.platform_revenue r;
COMMENT ON VIEW gpubill_bi.platform_revenue IS 'platform_revenue for BI: one row per day and currency, money as numeric';

CREATE VIEW gpubill_bi.instance_usage AS
SELECT u.instance, u.customer, u.hour, @extschema@.currency(u.charged) AS currency, u.seconds,
	   @extschema@.to_numeric(u.charged) AS charged, @extschema@.to_numeric(u.voucher_paid) AS voucher_paid,
	   @extschema@.to_numeric(u.cash_paid) AS cash_paid
FROM @extschema@.instance_usage u;
COMMENT ON VIEW gpubill_bi.instance_usage IS 'instance_usage for BI: one row per instance and hour of use, money as numeric in the customer''s currency';

CREATE VIEW gpubill_bi.accounts AS
SELECT a.account_id, a.owner_kind, a.owner_id, a.purpose, a.currency, a.balance_exact AS balance
FROM @extschema@.accounts a;
COMMENT ON VIEW gpubill_bi.accounts IS 'accounts for BI: every account''s journal balance as numeric in its currency (exact, also beyond the amount range)';

CREATE VIEW gpubill_bi.transfers AS
SELECT t.transfer_id, t.at, t.recorded_at, t.kind, @extschema@.currency(t.amount) AS currency,
	   @extschema@.to_numeric(t.amount) AS amount, t.debit_account, t.credit_account, t.object_type, t.object_id,
	   t.request_id, t.customer_id, t.partner_id, t.reverses, t.note, t.debit_owner_kind, t.debit_owner_id, t.debit_purpose,
	   t.credit_owner_kind, t.credit_owner_id, t.credit_purpose
FROM @extschema@.transfers t;
COMMENT ON VIEW gpubill_bi.transfers IS 'The journal for BI: one row per transfer, its amount as numeric next to its currency';

CREATE VIEW gpubill_bi.arrears AS
SELECT a.customer, a.since, @extschema@.currency(a.amount) AS currency, @extschema@.to_numeric(a.amount) AS amount
FROM @extschema@.arrears a;
COMMENT ON VIEW gpubill_bi.arrears IS 'arrears for BI: one row per customer in arrears, what is owed as numeric in its currency';

CREATE VIEW gpubill_bi.contract_receivables AS
SELECT r.contract, r.seq, r.customer, r.kind, r.due_at, pg_catalog.lower(r.covers) AS covers_from,
	   pg_catalog.upper(r.covers) AS covers_until, @extschema@.currency(r.customer_pays) AS currency,
	   @extschema@.to_numeric(r.customer_pays) AS customer_pays, @extschema@.to_numeric(r.paid) AS paid,
	   @extschema@.to_numeric(r.from_deposit) AS from_deposit, r.paid_at, r.late_from, r.overdue, r.cancelled
FROM @extschema@.contract_receivables r;
COMMENT ON VIEW gpubill_bi.contract_receivables IS 'contract_receivables for BI: what contracts'' customers owe, money as numeric in the contract''s currency, the time covered as two bounds';

CREATE VIEW gpubill_bi.wallets AS
SELECT w.customer_id AS customer, @extschema@.currency(w.cash) AS currency, @extschema@.to_numeric(w.cash) AS cash,
	   @extschema@.to_numeric(w.vouchers) AS vouchers, @extschema@.to_numeric(w.held) AS held,
	   @extschema@.to_numeric(w.cash + w.vouchers - w.held) AS available, @extschema@.to_numeric(w.recharged) AS recharged
FROM @extschema@.wallet w;
COMMENT ON VIEW gpubill_bi.wallets IS 'Each customer''s wallet for BI: cash, vouchers, held and available as numeric in its currency (cached balances, checked by verify())';
/*
 * 20_replication.sql — a BI replica by logical replication (issue 16).
 * create_publication(name) publishes exactly gpubill's data tables — those
 * pg_dump keeps (pg_extension_config_dump), the journal's partitioned tables
 * through their root — and none of the tables CREATE EXTENSION fills (the
 * setting defaults, the state machines' transitions), which a subscriber's
 * own CREATE EXTENSION already holds.  A subscriber installs the same
 * version of gpubill, subscribes, and reads every view; it never writes
 * (no tick, no API call): the README says how.
 *
 * Map (scripts/file-map.pl):
 * API: create_publication.
 * Uses: 2_base.
 */

CREATE FUNCTION @extschema@.create_publication(name text DEFAULT 'gpubill_data')
	RETURNS integer
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	tables text;
	n integer;
BEGIN
	IF NOT @extschema@.is_admin() THEN
		RAISE EXCEPTION 'publications may be created only by gpubill_admin' USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF name IS NULL OR name = '' THEN
		RAISE EXCEPTION 'a publication needs a name' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT pg_catalog.string_agg(c.oid::regclass::text, ', ' ORDER BY c.relname), pg_catalog.count(*)
	INTO tables, n
	FROM pg_catalog.pg_class c
	WHERE c.oid IN (SELECT pg_catalog.unnest(e.extconfig) FROM pg_catalog.pg_extension e WHERE e.extname = 'gpubill')
	  AND c.relkind IN ('r', 'p') AND NOT c.relispartition;	/* tables and the journal's roots, not sequences */
	EXECUTE pg_catalog.format('CREATE PUBLICATION %I FOR TABLE %s WITH (publish_via_partition_root = true)', name, tables);
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.create_publication(text) IS 'Publish exactly gpubill''s data tables (the journal through its root) for a BI replica by logical replication; returns how many; gpubill_admin only (issue 16)';
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
			   AND (p.prosecdef OR l.lanname = 'plpgsql' OR p.proname IN ('open_currency', 'hold_split', 'contract_work')) LOOP
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
	@extschema@.create_publication(text)
TO gpubill_admin;

-- settings are readable by every gpubill role (billing_timezone(), rating_apply)
REVOKE EXECUTE ON FUNCTION @extschema@.setting(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.setting(text) TO gpubill_app, gpubill_reader, gpubill_admin;

-- readers: views only
GRANT SELECT ON @extschema@.transfers, @extschema@.accounts, @extschema@.lifecycle_events,
	@extschema@.due_lifecycle_events, @extschema@.open_alerts, @extschema@.instance_usage,
	@extschema@.customer_statement, @extschema@.arrears, @extschema@.partner_statement,
	@extschema@.platform_revenue, @extschema@.contract_receivables, @extschema@.tick_failures TO gpubill_reader;
-- BI tools (issue 16): the reporting schema, read by gpubill_reader (and the admin)
GRANT USAGE ON SCHEMA gpubill_bi TO gpubill_reader, gpubill_admin;
GRANT SELECT ON ALL TABLES IN SCHEMA gpubill_bi TO gpubill_reader, gpubill_admin;
-- what the views call for the open months (issue 14): the journal's figures from the end of the closed months on
GRANT EXECUTE ON FUNCTION @extschema@.closed_until(), @extschema@.journal_balances(boolean),
	@extschema@.customer_movements(timestamptz, timestamptz),
	@extschema@.instance_hours(timestamptz, timestamptz), @extschema@.partner_movements(timestamptz, timestamptz),
	@extschema@.platform_days(timestamptz, timestamptz) TO gpubill_reader, gpubill_app, gpubill_admin;
