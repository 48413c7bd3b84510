/*-------------------------------------------------------------------------
 *
 * amount_ops.c
 *	  Arithmetic, comparison, hashing, rounding and conversions of amount
 *	  (R-AMT-3, R-AMT-4).
 *
 * Sums and differences are checked 64-bit integer arithmetic.  Products and
 * quotients with numeric are computed exactly and rounded once, half away
 * from zero, to 6 decimals (products in 128-bit integers when the factor
 * has at most 18 digits, else in numeric: the same result).  Mixing currencies in arithmetic, in
 * min/max and in the aggregates raises GB003.  Comparisons never raise: they
 * order by currency code, then value, so equality across currencies is
 * false and indexes, ORDER BY, DISTINCT, GROUP BY, joins and the planner's
 * histogram estimates (which call < on stored values) work on any column.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "common/int.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/memutils.h"

#include "amount.h"
#include "gpubill.h"

/* ---------- helpers shared with the other C files ---------- */

/*
 * Raise GB003 unless both amounts have the same currency.
 */
void
AmountCheckCurrency(const Amount *a, const Amount *b)
{
	if (memcmp(a->currency, b->currency, CURRENCY_LEN) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_GB_CURRENCY_MISMATCH),
				 errmsg("currency mismatch: %s and %s", a->currency, b->currency),
				 errhint("Convert amounts to one currency before combining them.")));
}

static void
ReportOutOfRange(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("amount out of range"),
			 errdetail("An amount lies between -9223372036854.775807 and 9223372036854.775807.")));
}

/*
 * Narrow a 128-bit micro-unit value to the amount range or raise 22003.
 */
int64
MicrosCheckRange(int128 micros)
{
	if (micros > (int128) AMOUNT_MAX_MICROS || micros < (int128) AMOUNT_MIN_MICROS)
		ReportOutOfRange();
	return (int64) micros;
}

/*
 * num / den rounded half away from zero, as a checked amount value.
 */
int64
MicrosRoundDiv(int128 num, int128 den)
{
	int128		q,
				r;

	if (den == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DIVISION_BY_ZERO),
				 errmsg("division by zero")));
	if (den < 0)
	{
		num = -num;
		den = -den;
	}
	q = num / den;				/* truncates toward zero */
	r = num % den;				/* has the sign of num */
	if (r < 0)
		r = -r;
	if (r >= den - r)			/* 2r >= den, without overflow */
		q += (num < 0) ? -1 : 1;
	return MicrosCheckRange(q);
}

/*
 * Round a micro-unit value half away from zero to a multiple of unit.
 */
int64
MicrosRoundToUnit(int64 micros, int64 unit)
{
	return MicrosCheckRange((int128) MicrosRoundDiv(micros, unit) * unit);
}

/*
 * The exact value of micros / 10^6 as numeric.
 */
Numeric
MicrosToNumeric(int64 micros)
{
	return int64_div_fast_to_numeric(micros, AMOUNT_SCALE);
}

/*
 * Refuse NaN and infinities where an amount is computed.
 */
void
NumericCheckFinite(Numeric num, const char *what)
{
	if (numeric_is_nan(num) || numeric_is_inf(num))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite number", what)));
}

/*
 * An integral numeric of micro-units to int64, or raise 22003.
 */
static int64
MicrosFromIntegralNumeric(Numeric micros)
{
	static Numeric max_micros = NULL;

	if (max_micros == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		max_micros = int64_to_numeric(AMOUNT_MAX_MICROS);
		MemoryContextSwitchTo(old);
	}
	if (DatumGetInt32(DirectFunctionCall2(numeric_cmp,
										  DirectFunctionCall1(numeric_abs, NumericGetDatum(micros)),
										  NumericGetDatum(max_micros))) > 0)
		ReportOutOfRange();
	return DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(micros)));
}

static int
NumericSign(Datum num)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, num,
											 NumericGetDatum(int64_to_numeric(0))));
}

/*
 * A numeric of units to micro-units.  round_digits < 0: the value must have
 * at most 6 decimals, else 22P02; otherwise it is rounded half away from
 * zero to round_digits decimals (0..6).
 */
int64
NumericToMicros(Numeric num, int round_digits)
{
	Numeric		scaled;
	Numeric		rounded;

	NumericCheckFinite(num, "an amount");
	scaled = DatumGetNumeric(DirectFunctionCall2(numeric_mul,
												 NumericGetDatum(num),
												 NumericGetDatum(int64_to_numeric(AMOUNT_UNIT))));
	rounded = DatumGetNumeric(DirectFunctionCall2(numeric_round,
												  NumericGetDatum(scaled),
												  Int32GetDatum(round_digits < 0 ? 0 : round_digits - AMOUNT_SCALE)));
	if (round_digits < 0 &&
		!DatumGetBool(DirectFunctionCall2(numeric_eq,
										  NumericGetDatum(scaled),
										  NumericGetDatum(rounded))))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type %s: \"%s\"", "amount",
						DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(num)))),
				 errdetail("An amount has at most 6 decimal places; it is never rounded on input.")));
	return MicrosFromIntegralNumeric(rounded);
}

/*
 * A finite numeric of at most 18 digits, 18 of them at most after the
 * point, as an exact integer scaled by 10^scale; false for any other.  The
 * last few factors seen are remembered by their bytes: settlement applies
 * the same few (a fee rate, the hold hours) to every instance.
 */
#define SCALED_FACTORS		4
#define SCALED_FACTOR_BYTES	32
#define SCALED_MAX_DIGITS	18

typedef struct ScaledFactor
{
	int			len;			/* of bytes; 0: unused */
	char		bytes[SCALED_FACTOR_BYTES];
	bool		exact;
	int64		scaled;
	int			scale;
} ScaledFactor;

static bool
NumericToScaled(Numeric factor, int64 *scaled, int *scale)
{
	static ScaledFactor seen[SCALED_FACTORS];
	static int	next_slot = 0;
	const char *data = VARDATA_ANY(factor);
	int			len = VARSIZE_ANY_EXHDR(factor);
	char	   *text;
	const char *c;
	int64		value = 0;
	int			digits = 0;
	int			decimals = 0;
	bool		exact = true;
	bool		negative = false;
	bool		after_point = false;
	int			i;

	for (i = 0; i < SCALED_FACTORS; i++)
		if (seen[i].len == len && len > 0 && memcmp(seen[i].bytes, data, len) == 0)
		{
			*scaled = seen[i].scaled;
			*scale = seen[i].scale;
			return seen[i].exact;
		}

	text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(factor)));
	for (c = text; *c != '\0'; c++)
	{
		if (*c == '-')
			negative = true;
		else if (*c == '.')
			after_point = true;
		else if (*c >= '0' && *c <= '9')
		{
			if (value > 0 || *c != '0')
				digits++;		/* significant digits: leading zeros aside */
			if (after_point)
				decimals++;
			if (digits > SCALED_MAX_DIGITS || decimals > SCALED_MAX_DIGITS)
			{
				exact = false;
				break;
			}
			value = value * 10 + (*c - '0');	/* below 10^18: no overflow */
		}
		else
		{
			exact = false;		/* numeric_out writes no other character for a finite value */
			break;
		}
	}
	pfree(text);
	*scaled = negative ? -value : value;
	*scale = decimals;
	if (len > 0 && len <= SCALED_FACTOR_BYTES)
	{
		ScaledFactor *slot = &seen[next_slot];

		next_slot = (next_slot + 1) % SCALED_FACTORS;
		memcpy(slot->bytes, data, len);
		slot->len = len;
		slot->exact = exact;
		slot->scaled = *scaled;
		slot->scale = *scale;
	}
	return exact;
}

/*
 * micros * factor, computed exactly and rounded half away from zero to
 * round_digits decimals (0..6).  A factor NumericToScaled makes exact is
 * multiplied in 128-bit integers (|micros| < 2^63, |scaled| < 10^18: the
 * product is below 2^123) and divided by the power of ten left, rounding
 * half away from zero — the result of the numeric computation, which any
 * other factor takes.
 */
int64
MicrosMulNumeric(int64 micros, Numeric factor, int round_digits)
{
	Numeric		product;
	int64		scaled;
	int			scale;

	NumericCheckFinite(factor, "a factor applied to an amount");
	if (round_digits >= 0 && round_digits <= AMOUNT_SCALE && NumericToScaled(factor, &scaled, &scale))
	{
		int128		den = 1;
		int128		unit = 1;
		int			i;

		for (i = 0; i < scale + AMOUNT_SCALE - round_digits; i++)
			den *= 10;			/* at most 10^24 */
		for (i = 0; i < AMOUNT_SCALE - round_digits; i++)
			unit *= 10;
		return MicrosCheckRange((int128) MicrosRoundDiv((int128) micros * scaled, den) * unit);
	}
	product = DatumGetNumeric(DirectFunctionCall2(numeric_mul,
												  NumericGetDatum(MicrosToNumeric(micros)),
												  NumericGetDatum(factor)));
	return NumericToMicros(product, round_digits);
}

/* ---------- arithmetic ---------- */

/*
 * amount + amount
 */
PG_FUNCTION_INFO_V1(amount_add);
Datum
amount_add(PG_FUNCTION_ARGS)
{
	Amount	   *a = PG_GETARG_AMOUNT_P(0);
	Amount	   *b = PG_GETARG_AMOUNT_P(1);
	int64		r;

	AmountCheckCurrency(a, b);
	if (pg_add_s64_overflow(a->micros, b->micros, &r) || r == PG_INT64_MIN)
		ReportOutOfRange();
	PG_RETURN_AMOUNT_P(AmountMake(r, a->currency));
}

/*
 * amount - amount
 */
PG_FUNCTION_INFO_V1(amount_sub);
Datum
amount_sub(PG_FUNCTION_ARGS)
{
	Amount	   *a = PG_GETARG_AMOUNT_P(0);
	Amount	   *b = PG_GETARG_AMOUNT_P(1);
	int64		r;

	AmountCheckCurrency(a, b);
	if (pg_sub_s64_overflow(a->micros, b->micros, &r) || r == PG_INT64_MIN)
		ReportOutOfRange();
	PG_RETURN_AMOUNT_P(AmountMake(r, a->currency));
}

/*
 * - amount
 */
PG_FUNCTION_INFO_V1(amount_neg);
Datum
amount_neg(PG_FUNCTION_ARGS)
{
	Amount	   *a = PG_GETARG_AMOUNT_P(0);

	PG_RETURN_AMOUNT_P(AmountMake(-a->micros, a->currency));
}

/*
 * abs(amount)
 */
PG_FUNCTION_INFO_V1(amount_abs);
Datum
amount_abs(PG_FUNCTION_ARGS)
{
	Amount	   *a = PG_GETARG_AMOUNT_P(0);

	PG_RETURN_AMOUNT_P(AmountMake(a->micros < 0 ? -a->micros : a->micros, a->currency));
}

/*
 * amount * numeric, rounded half away from zero to 6 decimals
 */
PG_FUNCTION_INFO_V1(amount_mul_numeric);
Datum
amount_mul_numeric(PG_FUNCTION_ARGS)
{
	Amount	   *a = PG_GETARG_AMOUNT_P(0);
	Numeric		n = PG_GETARG_NUMERIC(1);

	PG_RETURN_AMOUNT_P(AmountMake(MicrosMulNumeric(a->micros, n, AMOUNT_SCALE), a->currency));
}

/*
 * numeric * amount, rounded half away from zero to 6 decimals
 */
PG_FUNCTION_INFO_V1(numeric_mul_amount);
Datum
numeric_mul_amount(PG_FUNCTION_ARGS)
{
	Numeric		n = PG_GETARG_NUMERIC(0);
	Amount	   *a = PG_GETARG_AMOUNT_P(1);

	PG_RETURN_AMOUNT_P(AmountMake(MicrosMulNumeric(a->micros, n, AMOUNT_SCALE), a->currency));
}

/*
 * amount / numeric: the exact quotient rounded half away from zero to 6
 * decimals, from an exact truncated quotient and remainder.
 */
PG_FUNCTION_INFO_V1(amount_div_numeric);
Datum
amount_div_numeric(PG_FUNCTION_ARGS)
{
	Amount	   *a = PG_GETARG_AMOUNT_P(0);
	Numeric		n = PG_GETARG_NUMERIC(1);
	Datum		dividend;
	Datum		divisor = NumericGetDatum(n);
	Datum		quotient;
	Datum		remainder;
	Datum		twice;
	int64		q;

	NumericCheckFinite(n, "a divisor of an amount");
	if (NumericSign(divisor) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DIVISION_BY_ZERO),
				 errmsg("division by zero")));

	dividend = NumericGetDatum(int64_to_numeric(a->micros));
	quotient = DirectFunctionCall2(numeric_div_trunc, dividend, divisor);
	remainder = DirectFunctionCall2(numeric_mod, dividend, divisor);
	twice = DirectFunctionCall2(numeric_add, remainder, remainder);
	if (DatumGetInt32(DirectFunctionCall2(numeric_cmp,
										  DirectFunctionCall1(numeric_abs, twice),
										  DirectFunctionCall1(numeric_abs, divisor))) >= 0)
	{
		/* away from zero: in the direction of the quotient's sign */
		int			sign = (a->micros < 0 ? -1 : 1) * NumericSign(divisor);

		quotient = DirectFunctionCall2(numeric_add, quotient,
									   NumericGetDatum(int64_to_numeric(sign)));
	}
	q = MicrosFromIntegralNumeric(DatumGetNumeric(quotient));
	PG_RETURN_AMOUNT_P(AmountMake(q, a->currency));
}

/*
 * amount / amount -> numeric: to_numeric(a) / to_numeric(b), a ratio
 */
PG_FUNCTION_INFO_V1(amount_div_amount);
Datum
amount_div_amount(PG_FUNCTION_ARGS)
{
	Amount	   *a = PG_GETARG_AMOUNT_P(0);
	Amount	   *b = PG_GETARG_AMOUNT_P(1);

	AmountCheckCurrency(a, b);
	if (b->micros == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DIVISION_BY_ZERO),
				 errmsg("division by zero")));
	PG_RETURN_DATUM(DirectFunctionCall2(numeric_div,
										NumericGetDatum(MicrosToNumeric(a->micros)),
										NumericGetDatum(MicrosToNumeric(b->micros))));
}

/*
 * round(amount, digits): half away from zero; digits may be negative
 */
PG_FUNCTION_INFO_V1(amount_round);
Datum
amount_round(PG_FUNCTION_ARGS)
{
	Amount	   *a = PG_GETARG_AMOUNT_P(0);
	int32		digits = PG_GETARG_INT32(1);
	int64		unit = 1;
	int			i;

	if (digits >= AMOUNT_SCALE)
		PG_RETURN_AMOUNT_P(AmountMake(a->micros, a->currency));
	if (digits < AMOUNT_SCALE - 18)
	{
		/* the unit exceeds 10^18 micro-units: only huge values round up */
		if (a->micros >= INT64CONST(5000000000000000000) ||
			a->micros <= -INT64CONST(5000000000000000000))
			ReportOutOfRange();
		PG_RETURN_AMOUNT_P(AmountMake(0, a->currency));
	}
	for (i = digits; i < AMOUNT_SCALE; i++)
		unit *= 10;
	PG_RETURN_AMOUNT_P(AmountMake(MicrosRoundToUnit(a->micros, unit), a->currency));
}

/* ---------- comparison ---------- */

/*
 * Total order used by the btree class: currency first, then value.
 */
static inline int
AmountCmpTotal(const Amount *a, const Amount *b)
{
	int			c = memcmp(a->currency, b->currency, CURRENCY_LEN);

	if (c != 0)
		return c < 0 ? -1 : 1;
	if (a->micros != b->micros)
		return a->micros < b->micros ? -1 : 1;
	return 0;
}

/*
 * Comparison of two amounts of one currency (min, max); another raises GB003.
 */
static inline int
AmountCmpSameCurrency(const Amount *a, const Amount *b)
{
	AmountCheckCurrency(a, b);
	return AmountCmpTotal(a, b);
}

/*
 * btree support: total order, never raises
 */
PG_FUNCTION_INFO_V1(amount_cmp);
Datum
amount_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(AmountCmpTotal(PG_GETARG_AMOUNT_P(0), PG_GETARG_AMOUNT_P(1)));
}

/*
 * amount = amount: same currency and value
 */
PG_FUNCTION_INFO_V1(amount_eq);
Datum
amount_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(AmountCmpTotal(PG_GETARG_AMOUNT_P(0), PG_GETARG_AMOUNT_P(1)) == 0);
}

/*
 * amount <> amount
 */
PG_FUNCTION_INFO_V1(amount_ne);
Datum
amount_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(AmountCmpTotal(PG_GETARG_AMOUNT_P(0), PG_GETARG_AMOUNT_P(1)) != 0);
}

/*
 * amount < amount
 */
PG_FUNCTION_INFO_V1(amount_lt);
Datum
amount_lt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(AmountCmpTotal(PG_GETARG_AMOUNT_P(0), PG_GETARG_AMOUNT_P(1)) < 0);
}

/*
 * amount <= amount
 */
PG_FUNCTION_INFO_V1(amount_le);
Datum
amount_le(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(AmountCmpTotal(PG_GETARG_AMOUNT_P(0), PG_GETARG_AMOUNT_P(1)) <= 0);
}

/*
 * amount > amount
 */
PG_FUNCTION_INFO_V1(amount_gt);
Datum
amount_gt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(AmountCmpTotal(PG_GETARG_AMOUNT_P(0), PG_GETARG_AMOUNT_P(1)) > 0);
}

/*
 * amount >= amount
 */
PG_FUNCTION_INFO_V1(amount_ge);
Datum
amount_ge(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(AmountCmpTotal(PG_GETARG_AMOUNT_P(0), PG_GETARG_AMOUNT_P(1)) >= 0);
}

/*
 * smaller of two amounts of one currency (min aggregate)
 */
PG_FUNCTION_INFO_V1(amount_smaller);
Datum
amount_smaller(PG_FUNCTION_ARGS)
{
	Amount	   *a = PG_GETARG_AMOUNT_P(0);
	Amount	   *b = PG_GETARG_AMOUNT_P(1);

	PG_RETURN_AMOUNT_P(AmountCmpSameCurrency(a, b) <= 0 ? a : b);
}

/*
 * larger of two amounts of one currency (max aggregate)
 */
PG_FUNCTION_INFO_V1(amount_larger);
Datum
amount_larger(PG_FUNCTION_ARGS)
{
	Amount	   *a = PG_GETARG_AMOUNT_P(0);
	Amount	   *b = PG_GETARG_AMOUNT_P(1);

	PG_RETURN_AMOUNT_P(AmountCmpSameCurrency(a, b) >= 0 ? a : b);
}

/*
 * hash support: value and currency
 */
PG_FUNCTION_INFO_V1(amount_hash);
Datum
amount_hash(PG_FUNCTION_ARGS)
{
	Amount	   *a = PG_GETARG_AMOUNT_P(0);

	return hash_any((const unsigned char *) a, sizeof(int64) + CURRENCY_LEN);
}

/*
 * extended hash support (hash partitioning)
 */
PG_FUNCTION_INFO_V1(amount_hash_extended);
Datum
amount_hash_extended(PG_FUNCTION_ARGS)
{
	Amount	   *a = PG_GETARG_AMOUNT_P(0);

	return hash_any_extended((const unsigned char *) a, sizeof(int64) + CURRENCY_LEN,
							 PG_GETARG_INT64(1));
}

/* ---------- helpers and casts ---------- */

/*
 * currency(amount) -> text
 */
PG_FUNCTION_INFO_V1(amount_currency);
Datum
amount_currency(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text_with_len(PG_GETARG_AMOUNT_P(0)->currency, CURRENCY_LEN));
}

/*
 * to_numeric(amount) -> numeric, exact, scale 6
 */
PG_FUNCTION_INFO_V1(amount_to_numeric);
Datum
amount_to_numeric(PG_FUNCTION_ARGS)
{
	PG_RETURN_NUMERIC(MicrosToNumeric(PG_GETARG_AMOUNT_P(0)->micros));
}

/*
 * amount(numeric, currency): exact; more than 6 decimals raise 22P02
 */
PG_FUNCTION_INFO_V1(amount_from_numeric_currency);
Datum
amount_from_numeric_currency(PG_FUNCTION_ARGS)
{
	Numeric		n = PG_GETARG_NUMERIC(0);
	char		cur[4];

	CurrencyFromText(PG_GETARG_TEXT_PP(1), cur);
	PG_RETURN_AMOUNT_P(AmountMake(NumericToMicros(n, -1), cur));
}

/*
 * numeric::amount in the default currency (gpubill.default_currency)
 */
PG_FUNCTION_INFO_V1(amount_from_numeric);
Datum
amount_from_numeric(PG_FUNCTION_ARGS)
{
	Numeric		n = PG_GETARG_NUMERIC(0);

	PG_RETURN_AMOUNT_P(AmountMake(NumericToMicros(n, -1), gpubill_default_currency));
}

/*
 * zero(currency) -> amount
 */
PG_FUNCTION_INFO_V1(amount_zero);
Datum
amount_zero(PG_FUNCTION_ARGS)
{
	char		cur[4];

	CurrencyFromText(PG_GETARG_TEXT_PP(0), cur);
	PG_RETURN_AMOUNT_P(AmountMake(0, cur));
}

/*
 * micros(amount) -> bigint: the value in millionths
 */
PG_FUNCTION_INFO_V1(amount_micros);
Datum
amount_micros(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(PG_GETARG_AMOUNT_P(0)->micros);
}

/*
 * amount_from_micros(bigint, currency) -> amount
 */
PG_FUNCTION_INFO_V1(amount_from_micros);
Datum
amount_from_micros(PG_FUNCTION_ARGS)
{
	int64		micros = PG_GETARG_INT64(0);
	char		cur[4];

	CurrencyFromText(PG_GETARG_TEXT_PP(1), cur);
	if (micros == PG_INT64_MIN)
		ReportOutOfRange();
	PG_RETURN_AMOUNT_P(AmountMake(micros, cur));
}
