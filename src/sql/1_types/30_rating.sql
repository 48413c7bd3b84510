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
