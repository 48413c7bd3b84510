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
