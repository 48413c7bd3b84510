/*-------------------------------------------------------------------------
 *
 * calc.c
 *	  Pure billing calculators: order_payment, partner_income, prorate,
 *	  initial_payment (API.md "Pure calculators"; R-PRT-3, R-PAYG-4,
 *	  R-EXC-2, R-EXC-3).
 *
 * Every result is money charged or credited, so it is rounded once, half
 * away from zero, to 2 decimals (cents), from the exact value.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/int.h"
#include "datatype/timestamp.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/timestamp.h"
#include "utils/rangetypes.h"
#include "utils/typcache.h"

#include "amount.h"
#include "gpubill.h"

#define CENT_MICROS		INT64CONST(10000)
#define MONEY_DIGITS	2

static void
RequireParameter(bool ok, const char *message)
{
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s", message)));
}

static int
NumericCmpInt(Numeric n, int64 v)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(n),
											 NumericGetDatum(int64_to_numeric(v))));
}

/* canonical text of an amount, for messages */
static char *
AmountText(int64 micros, const char *currency)
{
	return DatumGetCString(DirectFunctionCall1(amount_out,
											   AmountPGetDatum(AmountMake(micros, currency))));
}

/* price in micro-units for usecs microseconds at micros per hour, in cents */
static int64
PriceOfDuration(int64 micros_per_hour, int64 usecs)
{
	return MicrosCheckRange((int128) MicrosRoundDiv((int128) micros_per_hour * usecs,
													(int128) USECS_PER_HOUR * CENT_MICROS) * CENT_MICROS);
}

/*
 * order_payment(unit_price, gpus, hours, discount, voucher_paid): the
 * customer's actual payment = round2(unit_price * gpus * hours * discount)
 * - voucher_paid (R-PRT-3)
 */
PG_FUNCTION_INFO_V1(calc_order_payment);
Datum
calc_order_payment(PG_FUNCTION_ARGS)
{
	Amount	   *price = PG_GETARG_AMOUNT_P(0);
	int32		gpus = PG_GETARG_INT32(1);
	Numeric		hours = PG_GETARG_NUMERIC(2);
	Numeric		discount = PG_GETARG_NUMERIC(3);
	Amount	   *voucher = PG_GETARG_AMOUNT_P(4);
	Datum		factor;
	int64		gross;

	AmountCheckCurrency(price, voucher);
	NumericCheckFinite(hours, "hours");
	NumericCheckFinite(discount, "a discount");
	RequireParameter(price->micros >= 0, "unit price must not be negative");
	RequireParameter(gpus > 0, "GPU count must be positive");
	RequireParameter(NumericCmpInt(hours, 0) >= 0, "hours must not be negative");
	RequireParameter(NumericCmpInt(discount, 0) > 0 && NumericCmpInt(discount, 1) <= 0,
					 "discount must be greater than 0 and at most 1");
	RequireParameter(voucher->micros >= 0, "voucher payment must not be negative");

	factor = DirectFunctionCall2(numeric_mul, NumericGetDatum(hours), NumericGetDatum(discount));
	factor = DirectFunctionCall2(numeric_mul, factor, NumericGetDatum(int64_to_numeric(gpus)));
	gross = MicrosMulNumeric(price->micros, DatumGetNumeric(factor), MONEY_DIGITS);
	if (voucher->micros > gross)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("voucher payment exceeds the order's price"),
				 errdetail("Vouchers paid %s of an order of %s.",
						   AmountText(voucher->micros, price->currency),
						   AmountText(gross, price->currency))));
	PG_RETURN_AMOUNT_P(AmountMake(gross - voucher->micros, price->currency));
}

/*
 * partner_income(payment, fee_rate) = round2(payment * (1 - fee_rate))
 */
PG_FUNCTION_INFO_V1(calc_partner_income);
Datum
calc_partner_income(PG_FUNCTION_ARGS)
{
	Amount	   *payment = PG_GETARG_AMOUNT_P(0);
	Numeric		rate = PG_GETARG_NUMERIC(1);
	Datum		share;

	NumericCheckFinite(rate, "a fee rate");
	RequireParameter(NumericCmpInt(rate, 0) >= 0 && NumericCmpInt(rate, 1) <= 0,
					 "fee rate must be between 0 and 1");
	share = DirectFunctionCall2(numeric_sub, NumericGetDatum(int64_to_numeric(1)),
								NumericGetDatum(rate));
	PG_RETURN_AMOUNT_P(AmountMake(MicrosMulNumeric(payment->micros, DatumGetNumeric(share),
												   MONEY_DIGITS),
								  payment->currency));
}

/*
 * prorate(hourly, seconds) = round2(hourly * seconds / 3600) (R-PAYG-4)
 */
PG_FUNCTION_INFO_V1(calc_prorate);
Datum
calc_prorate(PG_FUNCTION_ARGS)
{
	Amount	   *hourly = PG_GETARG_AMOUNT_P(0);
	int64		seconds = PG_GETARG_INT64(1);

	RequireParameter(seconds >= 0, "seconds must not be negative");
	if (seconds > PG_INT64_MAX / USECS_PER_SEC)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("amount out of range")));
	PG_RETURN_AMOUNT_P(AmountMake(PriceOfDuration(hourly->micros, seconds * USECS_PER_SEC),
								  hourly->currency));
}

/*
 * initial_payment(price_per_hour, term, initial_days, deposit_rate): for a
 * term of at most initial_days x 24 h the full value; else the price of the
 * first initial_days x 24 h plus round2(deposit_rate x the price of the
 * rest) (R-EXC-2, R-EXC-3).  Prices of durations are rounded to cents.
 */
PG_FUNCTION_INFO_V1(calc_initial_payment);
Datum
calc_initial_payment(PG_FUNCTION_ARGS)
{
	Amount	   *price = PG_GETARG_AMOUNT_P(0);
	RangeType  *term = PG_GETARG_RANGE_P(1);
	int32		initial_days = PG_GETARG_INT32(2);
	Numeric		rate = PG_GETARG_NUMERIC(3);
	TypeCacheEntry *typcache;
	RangeBound	lower;
	RangeBound	upper;
	bool		empty;
	int64		term_usecs;
	int64		total;
	int64		first;
	int64		deposit;
	int64		result;

	typcache = range_get_typcache(fcinfo, RangeTypeGetOid(term));
	range_deserialize(typcache, term, &lower, &upper, &empty);
	RequireParameter(!empty && !lower.infinite && !upper.infinite &&
					 !TIMESTAMP_NOT_FINITE(DatumGetTimestampTz(lower.val)) &&
					 !TIMESTAMP_NOT_FINITE(DatumGetTimestampTz(upper.val)),
					 "contract term must be a non-empty range with finite bounds");
	RequireParameter(price->micros > 0, "price per hour must be positive");
	RequireParameter(initial_days > 0, "initial days must be positive");
	NumericCheckFinite(rate, "a deposit rate");
	RequireParameter(NumericCmpInt(rate, 0) >= 0 && NumericCmpInt(rate, 1) <= 0,
					 "deposit rate must be between 0 and 1");

	if (pg_sub_s64_overflow(DatumGetTimestampTz(upper.val), DatumGetTimestampTz(lower.val), &term_usecs))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("contract term is too long")));
	total = PriceOfDuration(price->micros, term_usecs);
	/* initial_days x 24 h in 128 bits: any int32 count of days fits */
	if ((int128) term_usecs <= (int128) initial_days * USECS_PER_DAY)
		PG_RETURN_AMOUNT_P(AmountMake(total, price->currency));

	first = PriceOfDuration(price->micros, (int64) initial_days * USECS_PER_DAY);
	deposit = MicrosMulNumeric(total - first, rate, MONEY_DIGITS);
	result = MicrosCheckRange((int128) first + deposit);
	PG_RETURN_AMOUNT_P(AmountMake(result, price->currency));
}
