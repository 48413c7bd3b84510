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
