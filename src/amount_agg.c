/*-------------------------------------------------------------------------
 *
 * amount_agg.c
 *	  sum() and avg() of amount with parallel combine (R-AMT-5).
 *
 * The transition state is a 128-bit sum of micro-units, a row count and the
 * currency, updated in place.  Overflow of the amount range is checked when
 * the result is produced (a 128-bit sum cannot overflow on the way), so a
 * parallel plan gives exactly the serial result.  min() and max() use
 * amount_smaller/amount_larger and need no state of their own.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "libpq/pqformat.h"
#include "utils/builtins.h"

#include "amount.h"
#include "gpubill.h"

typedef struct AmountAggState
{
	int128		sum;			/* of micro-units */
	int64		count;			/* non-null inputs */
	char		currency[4];	/* of the inputs, empty before the first */
} AmountAggState;

static AmountAggState *
NewAggState(FunctionCallInfo fcinfo)
{
	MemoryContext aggcontext;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "aggregate function called in non-aggregate context");
	return (AmountAggState *) MemoryContextAllocZero(aggcontext, sizeof(AmountAggState));
}

static void
CheckAggCurrency(AmountAggState *state, const char *currency)
{
	if (state->currency[0] == '\0')
		memcpy(state->currency, currency, CURRENCY_LEN + 1);
	else if (memcmp(state->currency, currency, CURRENCY_LEN) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_GB_CURRENCY_MISMATCH),
				 errmsg("currency mismatch: %s and %s", state->currency, currency),
				 errhint("Aggregate each currency separately, for example with GROUP BY currency(...).")));
}

/*
 * transition function of sum(amount) and avg(amount)
 */
PG_FUNCTION_INFO_V1(amount_sum_accum);
Datum
amount_sum_accum(PG_FUNCTION_ARGS)
{
	AmountAggState *state = PG_ARGISNULL(0) ? NewAggState(fcinfo)
		: (AmountAggState *) PG_GETARG_POINTER(0);

	if (!PG_ARGISNULL(1))
	{
		Amount	   *a = PG_GETARG_AMOUNT_P(1);

		if (unlikely(memcmp(state->currency, a->currency, CURRENCY_LEN) != 0))
			CheckAggCurrency(state, a->currency);
		state->sum += a->micros;
		state->count++;
	}
	PG_RETURN_POINTER(state);
}

/*
 * combine function: merges a partial state into another
 */
PG_FUNCTION_INFO_V1(amount_sum_combine);
Datum
amount_sum_combine(PG_FUNCTION_ARGS)
{
	AmountAggState *s1 = PG_ARGISNULL(0) ? NULL : (AmountAggState *) PG_GETARG_POINTER(0);
	AmountAggState *s2 = PG_ARGISNULL(1) ? NULL : (AmountAggState *) PG_GETARG_POINTER(1);

	if (s2 == NULL || s2->count == 0)
	{
		if (s1 == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(s1);
	}
	if (s1 == NULL)
	{
		s1 = NewAggState(fcinfo);
		*s1 = *s2;
		PG_RETURN_POINTER(s1);
	}
	if (s1->count > 0)
		CheckAggCurrency(s1, s2->currency);
	else
		memcpy(s1->currency, s2->currency, CURRENCY_LEN + 1);
	s1->sum += s2->sum;
	s1->count += s2->count;
	PG_RETURN_POINTER(s1);
}

/*
 * serialize a partial state for a parallel worker
 */
PG_FUNCTION_INFO_V1(amount_sum_serialize);
Datum
amount_sum_serialize(PG_FUNCTION_ARGS)
{
	AmountAggState *state;
	StringInfoData buf;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "aggregate function called in non-aggregate context");
	state = (AmountAggState *) PG_GETARG_POINTER(0);

	pq_begintypsend(&buf);
	pq_sendint64(&buf, (int64) (state->sum >> 64));
	pq_sendint64(&buf, (int64) (uint64) state->sum);
	pq_sendint64(&buf, state->count);
	pq_sendbytes(&buf, state->currency, CURRENCY_LEN);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * deserialize a partial state
 */
PG_FUNCTION_INFO_V1(amount_sum_deserialize);
Datum
amount_sum_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *sstate;
	AmountAggState *state;
	StringInfoData buf;
	int64		hi;
	uint64		lo;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "aggregate function called in non-aggregate context");
	sstate = PG_GETARG_BYTEA_PP(0);
	state = (AmountAggState *) palloc0(sizeof(AmountAggState));

	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, VARDATA_ANY(sstate), VARSIZE_ANY_EXHDR(sstate));
	hi = pq_getmsgint64(&buf);
	lo = (uint64) pq_getmsgint64(&buf);
	state->sum = (int128) (((uint128) (uint64) hi << 64) | lo);
	state->count = pq_getmsgint64(&buf);
	memcpy(state->currency, pq_getmsgbytes(&buf, CURRENCY_LEN), CURRENCY_LEN);
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(state);
}

/*
 * final function of sum(amount): NULL for no rows, 22003 on overflow
 */
PG_FUNCTION_INFO_V1(amount_sum_final);
Datum
amount_sum_final(PG_FUNCTION_ARGS)
{
	AmountAggState *state = PG_ARGISNULL(0) ? NULL : (AmountAggState *) PG_GETARG_POINTER(0);

	if (state == NULL || state->count == 0)
		PG_RETURN_NULL();
	PG_RETURN_AMOUNT_P(AmountMake(MicrosCheckRange(state->sum), state->currency));
}

/*
 * final function of avg(amount): rounded half away from zero to 6 decimals
 */
PG_FUNCTION_INFO_V1(amount_avg_final);
Datum
amount_avg_final(PG_FUNCTION_ARGS)
{
	AmountAggState *state = PG_ARGISNULL(0) ? NULL : (AmountAggState *) PG_GETARG_POINTER(0);

	if (state == NULL || state->count == 0)
		PG_RETURN_NULL();
	PG_RETURN_AMOUNT_P(AmountMake(MicrosRoundDiv(state->sum, state->count), state->currency));
}
