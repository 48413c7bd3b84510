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
