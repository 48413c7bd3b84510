/*-------------------------------------------------------------------------
 *
 * amount.h
 *	  The amount type: exact money, 6 decimals, with an ISO-4217 currency.
 *
 * An amount is a signed 64-bit count of micro-units (1 unit = 1 000 000
 * micro-units) plus a three-letter upper-case currency code.  The range is
 * symmetric, +/- 9223372036854.775807: INT64_MIN is never a valid amount, so
 * negation and abs() cannot overflow.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GPUBILL_AMOUNT_H
#define GPUBILL_AMOUNT_H

#include "postgres.h"
#include "fmgr.h"
#include "utils/numeric.h"

#include "gpubill.h"

#define AMOUNT_SCALE		6
#define AMOUNT_UNIT			INT64CONST(1000000)
#define AMOUNT_MAX_MICROS	PG_INT64_MAX
#define AMOUNT_MIN_MICROS	(-PG_INT64_MAX)
#define CURRENCY_LEN		3

typedef struct Amount
{
	int64		micros;			/* value in millionths of a unit */
	char		currency[4];	/* three upper-case ASCII letters, NUL */
	int32		reserved;		/* always zero */
} Amount;

#define DatumGetAmountP(X)		((Amount *) DatumGetPointer(X))
#define AmountPGetDatum(X)		PointerGetDatum(X)
#define PG_GETARG_AMOUNT_P(n)	DatumGetAmountP(PG_GETARG_DATUM(n))
#define PG_RETURN_AMOUNT_P(x)	return AmountPGetDatum(x)

/* amount_io.c */
extern Datum amount_out(PG_FUNCTION_ARGS);
extern bool CurrencyIsValid(const char *cur, int len);
extern void CurrencyFromText(text *t, char *dst);
extern Amount *AmountMake(int64 micros, const char *currency);

/* amount_ops.c */
extern void AmountCheckCurrency(const Amount *a, const Amount *b);
extern int64 MicrosCheckRange(int128 micros);
extern int64 MicrosRoundDiv(int128 num, int128 den);
extern int64 MicrosRoundToUnit(int64 micros, int64 unit);
extern Numeric MicrosToNumeric(int64 micros);
extern int64 NumericToMicros(Numeric num, int round_digits);
extern int64 MicrosMulNumeric(int64 micros, Numeric factor, int round_digits);
extern void NumericCheckFinite(Numeric num, const char *what);

#endif							/* GPUBILL_AMOUNT_H */
