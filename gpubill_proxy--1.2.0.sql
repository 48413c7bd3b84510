/*
 * gpubill_proxy — gpubill's API on a proxy database (issue 17).  Built by
 * the Makefile from gpubill's types layer (src/sql/1_types: the C types and
 * calculators, usable here without gpubill's tables), gpubill's roles
 * (src/sql/2_base/10_roles.sql) and the files of src/proxy: the partitions'
 * configuration and the routes, one PL/Proxy function per API function,
 * each with the signature of gpubill's own.
 *
 * On each partition k of n:  CREATE EXTENSION gpubill; SELECT gpubill.provision_partition(k, n);
 * On the proxy:              CREATE EXTENSION gpubill_proxy CASCADE;
 *                            SELECT gpubill.configure_partitions(ARRAY['<conninfo of p0>', ...]);
 */

\echo Use "CREATE EXTENSION gpubill_proxy CASCADE" to load this file. \quit
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
 * 10_partitions.sql — the partitions behind the proxy (issue 17).  Their
 * connection strings, in partition order, make the PL/Proxy cluster
 * gpubill_partitions (SQL/MED: a foreign server of the plproxy wrapper); a
 * call is routed to the partition that drew its key (partition_of(id) =
 * id / 2^48), a new party to the partition its external reference hashes
 * to.  PL/Proxy connects to a partition as the caller's login role (it adds
 * user= to the connection string): gpubill's roles are checked there.
 */

-- the partition an id was drawn on (as gpubill's own partition_of)
CREATE FUNCTION @extschema@.partition_of(id bigint) RETURNS integer
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	AS $$ SELECT (id >> 48)::integer $$;
COMMENT ON FUNCTION @extschema@.partition_of(bigint) IS 'The partition (shard) an id was drawn on: id / 2^48 (issue 17)';

CREATE TABLE @extschema@.proxy_partition (
	partition	integer PRIMARY KEY CHECK (partition >= 0),
	conninfo	text NOT NULL CHECK (conninfo <> '')
);
COMMENT ON TABLE @extschema@.proxy_partition IS 'The partitions behind the proxy, in order: partition k''s connection string (configure_partitions)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.proxy_partition', '');

CREATE FUNCTION @extschema@.configure_partitions(conninfos text[])
	RETURNS integer
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	n integer := coalesce(pg_catalog.cardinality(conninfos), 0);
	opts text;
BEGIN
	IF NOT @extschema@.is_admin() THEN
		RAISE EXCEPTION 'partitions may be configured only by gpubill_admin' USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF n < 1 OR (n & (n - 1)) <> 0 THEN
		RAISE EXCEPTION 'the number of partitions must be a power of two, not %', n USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF EXISTS (SELECT FROM pg_catalog.unnest(conninfos) c WHERE c IS NULL OR c = '') THEN
		RAISE EXCEPTION 'a partition''s connection string must not be empty' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	DELETE FROM @extschema@.proxy_partition;
	INSERT INTO @extschema@.proxy_partition (partition, conninfo)
	SELECT k - 1, conninfos[k] FROM pg_catalog.generate_subscripts(conninfos, 1) k;
	SELECT pg_catalog.string_agg(pg_catalog.format('p%s %L', p.partition, p.conninfo), ', ' ORDER BY p.partition) INTO opts
	FROM @extschema@.proxy_partition p;
	DROP SERVER IF EXISTS gpubill_partitions CASCADE;
	EXECUTE 'CREATE SERVER gpubill_partitions FOREIGN DATA WRAPPER plproxy OPTIONS (' || opts || ')';
	CREATE USER MAPPING FOR PUBLIC SERVER gpubill_partitions;
	GRANT USAGE ON FOREIGN SERVER gpubill_partitions TO gpubill_app, gpubill_reader, gpubill_admin;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.configure_partitions(text[]) IS 'The partitions behind the proxy: partition k''s connection string is conninfos[k + 1] (n a power of two); makes the PL/Proxy cluster gpubill_partitions; gpubill_admin only (issue 17)';
REVOKE EXECUTE ON FUNCTION @extschema@.configure_partitions(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.configure_partitions(text[]) TO gpubill_admin;
GRANT USAGE ON SCHEMA @extschema@ TO gpubill_app, gpubill_reader, gpubill_admin;
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

CREATE FUNCTION @extschema@.create_instance(customer bigint, machine bigint, gpus integer, billing text DEFAULT 'payg'::text, auto_renew boolean DEFAULT false, at timestamp with time zone DEFAULT NULL::timestamp with time zone, request_id text DEFAULT NULL::text)
	RETURNS bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(customer); $$;
COMMENT ON FUNCTION @extschema@.create_instance(customer bigint, machine bigint, gpus integer, billing text, auto_renew boolean, at timestamp with time zone, request_id text) IS '@extschema@.create_instance routed to the partition of customer';
REVOKE EXECUTE ON FUNCTION @extschema@.create_instance(customer bigint, machine bigint, gpus integer, billing text, auto_renew boolean, at timestamp with time zone, request_id text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.create_instance(customer bigint, machine bigint, gpus integer, billing text, auto_renew boolean, at timestamp with time zone, request_id text) TO gpubill_app;

CREATE FUNCTION @extschema@.customer_movements(lo timestamp with time zone, hi timestamp with time zone)
	RETURNS TABLE(customer bigint, month date, recharged @extschema@.amount, vouchers_granted @extschema@.amount, charged @extschema@.amount, refunded @extschema@.amount, cash_change @extschema@.amount, used @extschema@.amount)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; $$;
COMMENT ON FUNCTION @extschema@.customer_movements(lo timestamp with time zone, hi timestamp with time zone) IS '@extschema@.customer_movements routed to every partition (rows concatenated)';
REVOKE EXECUTE ON FUNCTION @extschema@.customer_movements(lo timestamp with time zone, hi timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.customer_movements(lo timestamp with time zone, hi timestamp with time zone) TO gpubill_admin, gpubill_app, gpubill_reader;

CREATE FUNCTION @extschema@.delist_machine(machine bigint, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS void
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(machine); $$;
COMMENT ON FUNCTION @extschema@.delist_machine(machine bigint, at timestamp with time zone) IS '@extschema@.delist_machine routed to the partition of machine';
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

CREATE FUNCTION @extschema@.list_machine(partner bigint, gpus integer, price_per_gpu_hour @extschema@.amount, owner_end_time timestamp with time zone, vouchers_allowed boolean DEFAULT true, week_price_per_gpu @extschema@.amount DEFAULT NULL::@extschema@.amount, month_price_per_gpu @extschema@.amount DEFAULT NULL::@extschema@.amount, billing text DEFAULT 'per_second'::text, at timestamp with time zone DEFAULT NULL::timestamp with time zone, package_hours integer DEFAULT 24)
	RETURNS bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(partner); $$;
COMMENT ON FUNCTION @extschema@.list_machine(partner bigint, gpus integer, price_per_gpu_hour @extschema@.amount, owner_end_time timestamp with time zone, vouchers_allowed boolean, week_price_per_gpu @extschema@.amount, month_price_per_gpu @extschema@.amount, billing text, at timestamp with time zone, package_hours integer) IS '@extschema@.list_machine routed to the partition of partner';
REVOKE EXECUTE ON FUNCTION @extschema@.list_machine(partner bigint, gpus integer, price_per_gpu_hour @extschema@.amount, owner_end_time timestamp with time zone, vouchers_allowed boolean, week_price_per_gpu @extschema@.amount, month_price_per_gpu @extschema@.amount, billing text, at timestamp with time zone, package_hours integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.list_machine(partner bigint, gpus integer, price_per_gpu_hour @extschema@.amount, owner_end_time timestamp with time zone, vouchers_allowed boolean, week_price_per_gpu @extschema@.amount, month_price_per_gpu @extschema@.amount, billing text, at timestamp with time zone, package_hours integer) TO gpubill_app;

CREATE FUNCTION @extschema@.open_customer(external_ref text, currency text DEFAULT NULL::text, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON pg_catalog.hashtext(external_ref); $$;
COMMENT ON FUNCTION @extschema@.open_customer(external_ref text, currency text, at timestamp with time zone) IS '@extschema@.open_customer routed to the partition of external_ref';
REVOKE EXECUTE ON FUNCTION @extschema@.open_customer(external_ref text, currency text, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.open_customer(external_ref text, currency text, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.open_partner(external_ref text, currency text DEFAULT NULL::text, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON pg_catalog.hashtext(external_ref); $$;
COMMENT ON FUNCTION @extschema@.open_partner(external_ref text, currency text, at timestamp with time zone) IS '@extschema@.open_partner routed to the partition of external_ref';
REVOKE EXECUTE ON FUNCTION @extschema@.open_partner(external_ref text, currency text, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.open_partner(external_ref text, currency text, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.open_provider(external_ref text, currency text DEFAULT 'USD'::text, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON pg_catalog.hashtext(external_ref); $$;
COMMENT ON FUNCTION @extschema@.open_provider(external_ref text, currency text, at timestamp with time zone) IS '@extschema@.open_provider routed to the partition of external_ref';
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

CREATE FUNCTION @extschema@.pay_contract(contract bigint, amt @extschema@.amount, external_id text, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(contract); $$;
COMMENT ON FUNCTION @extschema@.pay_contract(contract bigint, amt @extschema@.amount, external_id text, at timestamp with time zone) IS '@extschema@.pay_contract routed to the partition of contract';
REVOKE EXECUTE ON FUNCTION @extschema@.pay_contract(contract bigint, amt @extschema@.amount, external_id text, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.pay_contract(contract bigint, amt @extschema@.amount, external_id text, at timestamp with time zone) TO gpubill_app;

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

CREATE FUNCTION @extschema@.provider_wallet(provider bigint)
	RETURNS TABLE(balance @extschema@.amount, commission_paid @extschema@.amount, offset_outstanding @extschema@.amount)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(provider); $$;
COMMENT ON FUNCTION @extschema@.provider_wallet(provider bigint) IS '@extschema@.provider_wallet routed to the partition of provider';
REVOKE EXECUTE ON FUNCTION @extschema@.provider_wallet(provider bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.provider_wallet(provider bigint) TO gpubill_app;

CREATE FUNCTION @extschema@.rate_partner(partner bigint, points integer, reason text, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS @extschema@.rating
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(partner); $$;
COMMENT ON FUNCTION @extschema@.rate_partner(partner bigint, points integer, reason text, at timestamp with time zone) IS '@extschema@.rate_partner routed to the partition of partner';
REVOKE EXECUTE ON FUNCTION @extschema@.rate_partner(partner bigint, points integer, reason text, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.rate_partner(partner bigint, points integer, reason text, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.recharge(customer bigint, amt @extschema@.amount, channel text, external_id text, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(customer); $$;
COMMENT ON FUNCTION @extschema@.recharge(customer bigint, amt @extschema@.amount, channel text, external_id text, at timestamp with time zone) IS '@extschema@.recharge routed to the partition of customer';
REVOKE EXECUTE ON FUNCTION @extschema@.recharge(customer bigint, amt @extschema@.amount, channel text, external_id text, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.recharge(customer bigint, amt @extschema@.amount, channel text, external_id text, at timestamp with time zone) TO gpubill_app;

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

CREATE FUNCTION @extschema@.remove_machine(machine bigint, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS void
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(machine); $$;
COMMENT ON FUNCTION @extschema@.remove_machine(machine bigint, at timestamp with time zone) IS '@extschema@.remove_machine routed to the partition of machine';
REVOKE EXECUTE ON FUNCTION @extschema@.remove_machine(machine bigint, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.remove_machine(machine bigint, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.report_outage(machine bigint, started timestamp with time zone, ended timestamp with time zone, notified boolean DEFAULT false, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(machine); $$;
COMMENT ON FUNCTION @extschema@.report_outage(machine bigint, started timestamp with time zone, ended timestamp with time zone, notified boolean, at timestamp with time zone) IS '@extschema@.report_outage routed to the partition of machine';
REVOKE EXECUTE ON FUNCTION @extschema@.report_outage(machine bigint, started timestamp with time zone, ended timestamp with time zone, notified boolean, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.report_outage(machine bigint, started timestamp with time zone, ended timestamp with time zone, notified boolean, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.request_refund(customer bigint, at timestamp with time zone DEFAULT NULL::timestamp with time zone, request_id text DEFAULT NULL::text)
	RETURNS bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(customer); $$;
COMMENT ON FUNCTION @extschema@.request_refund(customer bigint, at timestamp with time zone, request_id text) IS '@extschema@.request_refund routed to the partition of customer';
REVOKE EXECUTE ON FUNCTION @extschema@.request_refund(customer bigint, at timestamp with time zone, request_id text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.request_refund(customer bigint, at timestamp with time zone, request_id text) TO gpubill_app;

CREATE FUNCTION @extschema@.request_withdrawal(partner bigint, amt @extschema@.amount, at timestamp with time zone DEFAULT NULL::timestamp with time zone, request_id text DEFAULT NULL::text)
	RETURNS bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(partner); $$;
COMMENT ON FUNCTION @extschema@.request_withdrawal(partner bigint, amt @extschema@.amount, at timestamp with time zone, request_id text) IS '@extschema@.request_withdrawal routed to the partition of partner';
REVOKE EXECUTE ON FUNCTION @extschema@.request_withdrawal(partner bigint, amt @extschema@.amount, at timestamp with time zone, request_id text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.request_withdrawal(partner bigint, amt @extschema@.amount, at timestamp with time zone, request_id text) TO gpubill_app;

CREATE FUNCTION @extschema@.resell_contract(contract bigint, new_customer bigint, price_per_gpu_hour @extschema@.amount, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(contract); $$;
COMMENT ON FUNCTION @extschema@.resell_contract(contract bigint, new_customer bigint, price_per_gpu_hour @extschema@.amount, at timestamp with time zone) IS '@extschema@.resell_contract routed to the partition of contract';
REVOKE EXECUTE ON FUNCTION @extschema@.resell_contract(contract bigint, new_customer bigint, price_per_gpu_hour @extschema@.amount, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.resell_contract(contract bigint, new_customer bigint, price_per_gpu_hour @extschema@.amount, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.resize_instance(instance bigint, gpus integer, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS void
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(instance); $$;
COMMENT ON FUNCTION @extschema@.resize_instance(instance bigint, gpus integer, at timestamp with time zone) IS '@extschema@.resize_instance routed to the partition of instance';
REVOKE EXECUTE ON FUNCTION @extschema@.resize_instance(instance bigint, gpus integer, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.resize_instance(instance bigint, gpus integer, at timestamp with time zone) TO gpubill_app;

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

CREATE FUNCTION @extschema@.set_discount(customer bigint, discount numeric)
	RETURNS void
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(customer); $$;
COMMENT ON FUNCTION @extschema@.set_discount(customer bigint, discount numeric) IS '@extschema@.set_discount routed to the partition of customer';
REVOKE EXECUTE ON FUNCTION @extschema@.set_discount(customer bigint, discount numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.set_discount(customer bigint, discount numeric) TO gpubill_app;

CREATE FUNCTION @extschema@.set_storage(customer bigint, kind text, gb numeric, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS void
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(customer); $$;
COMMENT ON FUNCTION @extschema@.set_storage(customer bigint, kind text, gb numeric, at timestamp with time zone) IS '@extschema@.set_storage routed to the partition of customer';
REVOKE EXECUTE ON FUNCTION @extschema@.set_storage(customer bigint, kind text, gb numeric, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.set_storage(customer bigint, kind text, gb numeric, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.set_vouchers_allowed(machine bigint, allowed boolean, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS void
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(machine); $$;
COMMENT ON FUNCTION @extschema@.set_vouchers_allowed(machine bigint, allowed boolean, at timestamp with time zone) IS '@extschema@.set_vouchers_allowed routed to the partition of machine';
REVOKE EXECUTE ON FUNCTION @extschema@.set_vouchers_allowed(machine bigint, allowed boolean, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.set_vouchers_allowed(machine bigint, allowed boolean, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.setting(key text)
	RETURNS text
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON 0; $$;
COMMENT ON FUNCTION @extschema@.setting(key text) IS '@extschema@.setting routed to partition 0';
REVOKE EXECUTE ON FUNCTION @extschema@.setting(key text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.setting(key text) TO gpubill_admin, gpubill_app, gpubill_reader;

CREATE FUNCTION @extschema@.start_instance(instance bigint, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS void
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(instance); $$;
COMMENT ON FUNCTION @extschema@.start_instance(instance bigint, at timestamp with time zone) IS '@extschema@.start_instance routed to the partition of instance';
REVOKE EXECUTE ON FUNCTION @extschema@.start_instance(instance bigint, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.start_instance(instance bigint, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.stop_instance(instance bigint, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS void
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(instance); $$;
COMMENT ON FUNCTION @extschema@.stop_instance(instance bigint, at timestamp with time zone) IS '@extschema@.stop_instance routed to the partition of instance';
REVOKE EXECUTE ON FUNCTION @extschema@.stop_instance(instance bigint, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.stop_instance(instance bigint, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.take_offline(machine bigint, force boolean DEFAULT false, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS void
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(machine); $$;
COMMENT ON FUNCTION @extschema@.take_offline(machine bigint, force boolean, at timestamp with time zone) IS '@extschema@.take_offline routed to the partition of machine';
REVOKE EXECUTE ON FUNCTION @extschema@.take_offline(machine bigint, force boolean, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.take_offline(machine bigint, force boolean, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.terminate_contract(contract bigint, reason text, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS void
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(contract); $$;
COMMENT ON FUNCTION @extschema@.terminate_contract(contract bigint, reason text, at timestamp with time zone) IS '@extschema@.terminate_contract routed to the partition of contract';
REVOKE EXECUTE ON FUNCTION @extschema@.terminate_contract(contract bigint, reason text, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.terminate_contract(contract bigint, reason text, at timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.verify("full" boolean DEFAULT false)
	RETURNS TABLE(check_name text, ok boolean, detail text)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; $$;
COMMENT ON FUNCTION @extschema@.verify("full" boolean) IS '@extschema@.verify routed to every partition (rows concatenated)';
REVOKE EXECUTE ON FUNCTION @extschema@.verify("full" boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.verify("full" boolean) TO gpubill_app;

CREATE FUNCTION @extschema@.wallet(customer bigint)
	RETURNS TABLE(cash @extschema@.amount, vouchers @extschema@.amount, held @extschema@.amount, available @extschema@.amount)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(customer); $$;
COMMENT ON FUNCTION @extschema@.wallet(customer bigint) IS '@extschema@.wallet routed to the partition of customer';
REVOKE EXECUTE ON FUNCTION @extschema@.wallet(customer bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.wallet(customer bigint) TO gpubill_app;

CREATE FUNCTION @extschema@.withdrawable(partner bigint, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS @extschema@.amount
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(partner); $$;
COMMENT ON FUNCTION @extschema@.withdrawable(partner bigint, at timestamp with time zone) IS '@extschema@.withdrawable routed to the partition of partner';
REVOKE EXECUTE ON FUNCTION @extschema@.withdrawable(partner bigint, at timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.withdrawable(partner bigint, at timestamp with time zone) TO gpubill_app;
