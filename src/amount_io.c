/*-------------------------------------------------------------------------
 *
 * amount_io.c
 *	  Text and binary input/output of the amount type (R-AMT-1, R-AMT-2).
 *
 * Accepted text forms, with optional surrounding white space:
 *		12.5 CNY		CNY 12.5		-0.0004 CNY		12.5 (default currency)
 * A number is an optional sign, one or more digits, and optionally a point
 * followed by one to six digits.  Anything else (exponents, thousands
 * separators, more than six decimals, NaN, Infinity, lower-case or
 * malformed currencies, white space inside the number) is refused: an
 * amount is never rounded on input.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/int.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"

#include "amount.h"
#include "gpubill.h"

/* outcome of parsing a text amount */
typedef enum AmountParseResult
{
	AMOUNT_PARSE_OK,
	AMOUNT_PARSE_SYNTAX,
	AMOUNT_PARSE_DECIMALS,
	AMOUNT_PARSE_RANGE
} AmountParseResult;

/*
 * Is cur[0..len) a currency code: exactly three upper-case ASCII letters?
 */
bool
CurrencyIsValid(const char *cur, int len)
{
	int			i;

	if (len != CURRENCY_LEN)
		return false;
	for (i = 0; i < CURRENCY_LEN; i++)
		if (cur[i] < 'A' || cur[i] > 'Z')
			return false;
	return true;
}

/*
 * Copy a currency given as text into dst (4 bytes), or raise 22023.
 */
void
CurrencyFromText(text *t, char *dst)
{
	int			len = VARSIZE_ANY_EXHDR(t);
	const char *p = VARDATA_ANY(t);

	if (!CurrencyIsValid(p, len))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid currency code: \"%s\"", text_to_cstring(t)),
				 errdetail("A currency is three upper-case letters, such as CNY, USD or EUR.")));
	memcpy(dst, p, CURRENCY_LEN);
	dst[CURRENCY_LEN] = '\0';
}

/*
 * Build a palloc'd amount; the caller guarantees a valid currency and range.
 */
Amount *
AmountMake(int64 micros, const char *currency)
{
	Amount	   *result = (Amount *) palloc0(sizeof(Amount));

	Assert(micros != PG_INT64_MIN);
	result->micros = micros;
	memcpy(result->currency, currency, CURRENCY_LEN);
	return result;
}

static inline bool
IsSpace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/*
 * Parse the number at *pp: [+-]digits[.digits].  Advances *pp past it.
 * Sets *micros to the value when it is in range.
 */
static AmountParseResult
ParseNumber(const char **pp, int64 *micros)
{
	const char *p = *pp;
	bool		neg = false;
	uint64		value = 0;
	bool		overflow = false;
	int			ndigits = 0;
	int			nfrac = 0;

	if (*p == '+' || *p == '-')
		neg = (*p++ == '-');

	for (; *p >= '0' && *p <= '9'; p++, ndigits++)
	{
		if (pg_mul_u64_overflow(value, 10, &value) ||
			pg_add_u64_overflow(value, *p - '0', &value))
			overflow = true;
	}
	if (ndigits == 0)
		return AMOUNT_PARSE_SYNTAX;

	if (*p == '.')
	{
		p++;
		for (; *p >= '0' && *p <= '9'; p++, nfrac++)
		{
			if (nfrac < AMOUNT_SCALE &&
				(pg_mul_u64_overflow(value, 10, &value) ||
				 pg_add_u64_overflow(value, *p - '0', &value)))
				overflow = true;
		}
		if (nfrac == 0)
			return AMOUNT_PARSE_SYNTAX;
	}
	*pp = p;
	if (nfrac > AMOUNT_SCALE)
		return AMOUNT_PARSE_DECIMALS;

	for (; nfrac < AMOUNT_SCALE; nfrac++)
		if (pg_mul_u64_overflow(value, 10, &value))
			overflow = true;

	if (overflow || value > (uint64) AMOUNT_MAX_MICROS)
		return AMOUNT_PARSE_RANGE;
	*micros = neg ? -(int64) value : (int64) value;
	return AMOUNT_PARSE_OK;
}

/*
 * Parse a currency code at *pp: three upper-case letters ending the word.
 */
static bool
ParseCurrency(const char **pp, char *dst)
{
	const char *p = *pp;
	int			len = 0;

	while (p[len] != '\0' && !IsSpace(p[len]))
		len++;
	if (!CurrencyIsValid(p, len))
		return false;
	memcpy(dst, p, CURRENCY_LEN);
	dst[CURRENCY_LEN] = '\0';
	*pp = p + len;
	return true;
}

static AmountParseResult
ParseAmount(const char *str, Amount *result)
{
	const char *p = str;
	AmountParseResult r;

	memset(result, 0, sizeof(Amount));
	while (IsSpace(*p))
		p++;

	if (*p >= 'A' && *p <= 'Z')
	{
		/* CUR number */
		if (!ParseCurrency(&p, result->currency) || !IsSpace(*p))
			return AMOUNT_PARSE_SYNTAX;
		while (IsSpace(*p))
			p++;
		r = ParseNumber(&p, &result->micros);
		if (r == AMOUNT_PARSE_SYNTAX)
			return r;
	}
	else
	{
		/* number [CUR] */
		r = ParseNumber(&p, &result->micros);
		if (r == AMOUNT_PARSE_SYNTAX)
			return r;
		if (IsSpace(*p))
		{
			while (IsSpace(*p))
				p++;
			if (*p != '\0' && !ParseCurrency(&p, result->currency))
				return AMOUNT_PARSE_SYNTAX;
		}
		if (result->currency[0] == '\0')
			memcpy(result->currency, gpubill_default_currency, CURRENCY_LEN + 1);
	}

	while (IsSpace(*p))
		p++;
	if (*p != '\0')
		return AMOUNT_PARSE_SYNTAX;
	return r;
}

/* input errors: soft (ereturn) where PostgreSQL 16+ supports it */
#if PG_VERSION_NUM >= 160000
#define AMOUNT_INPUT_ERROR(...)	ereturn(fcinfo->context, (Datum) 0, __VA_ARGS__)
#else
#define AMOUNT_INPUT_ERROR(...)	ereport(ERROR, __VA_ARGS__)
#endif

/*
 * amount_in: text to amount.  STABLE: a bare number takes the currency from
 * gpubill.default_currency.
 */
PG_FUNCTION_INFO_V1(amount_in);
Datum
amount_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	Amount	   *result = (Amount *) palloc(sizeof(Amount));
	AmountParseResult r = ParseAmount(str, result);

	if (r == AMOUNT_PARSE_SYNTAX)
		AMOUNT_INPUT_ERROR((errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
							errmsg("invalid input syntax for type %s: \"%s\"", "amount", str),
							errhint("Write a number with at most 6 decimals and a currency, such as '12.50 CNY' or 'USD -0.0004'.")));
	if (r == AMOUNT_PARSE_DECIMALS)
		AMOUNT_INPUT_ERROR((errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
							errmsg("invalid input syntax for type %s: \"%s\"", "amount", str),
							errdetail("An amount has at most 6 decimal places; it is never rounded on input.")));
	if (r == AMOUNT_PARSE_RANGE)
		AMOUNT_INPUT_ERROR((errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							errmsg("value \"%s\" is out of range for type %s", str, "amount"),
							errdetail("An amount lies between -9223372036854.775807 and 9223372036854.775807.")));
	PG_RETURN_AMOUNT_P(result);
}

/*
 * amount_out: canonical text, at least 2 decimals, zeros beyond 2 trimmed.
 */
PG_FUNCTION_INFO_V1(amount_out);
Datum
amount_out(PG_FUNCTION_ARGS)
{
	Amount	   *a = PG_GETARG_AMOUNT_P(0);
	uint64		u = a->micros < 0 ? -(uint64) a->micros : (uint64) a->micros;
	char		frac[AMOUNT_SCALE + 1];
	int			nfrac = AMOUNT_SCALE;

	snprintf(frac, sizeof(frac), "%06d", (int) (u % AMOUNT_UNIT));
	while (nfrac > 2 && frac[nfrac - 1] == '0')
		nfrac--;
	frac[nfrac] = '\0';

	PG_RETURN_CSTRING(psprintf("%s" UINT64_FORMAT ".%s %s",
							   a->micros < 0 ? "-" : "",
							   u / (uint64) AMOUNT_UNIT, frac, a->currency));
}

/*
 * amount_recv: binary input, int8 micro-units then 3 currency bytes.
 */
PG_FUNCTION_INFO_V1(amount_recv);
Datum
amount_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int64		micros = pq_getmsgint64(buf);
	const char *cur = pq_getmsgbytes(buf, CURRENCY_LEN);

	if (!CurrencyIsValid(cur, CURRENCY_LEN))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid currency in external amount value")));
	if (micros == PG_INT64_MIN)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value is out of range for type %s", "amount")));
	PG_RETURN_AMOUNT_P(AmountMake(micros, cur));
}

/*
 * amount_send: binary output.
 */
PG_FUNCTION_INFO_V1(amount_send);
Datum
amount_send(PG_FUNCTION_ARGS)
{
	Amount	   *a = PG_GETARG_AMOUNT_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint64(&buf, a->micros);
	pq_sendbytes(&buf, a->currency, CURRENCY_LEN);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}
