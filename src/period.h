/*-------------------------------------------------------------------------
 *
 * period.h
 *	  The billing_period type: a half-open interval [lower, upper) of
 *	  timestamptz with a unit (R-PER-1).
 *
 *-------------------------------------------------------------------------
 */
#ifndef GPUBILL_PERIOD_H
#define GPUBILL_PERIOD_H

#include "postgres.h"
#include "datatype/timestamp.h"
#include "fmgr.h"

typedef enum PeriodUnit
{
	PERIOD_SECOND = 0,
	PERIOD_HOUR,
	PERIOD_DAY,
	PERIOD_WEEK,
	PERIOD_MONTH
} PeriodUnit;

typedef struct BillingPeriod
{
	TimestampTz lower;			/* inclusive */
	TimestampTz upper;			/* exclusive */
	int32		unit;			/* PeriodUnit */
	int32		reserved;		/* always zero */
} BillingPeriod;

#define DatumGetBillingPeriodP(X)	((BillingPeriod *) DatumGetPointer(X))
#define PG_GETARG_PERIOD_P(n)		DatumGetBillingPeriodP(PG_GETARG_DATUM(n))
#define PG_RETURN_PERIOD_P(x)		return PointerGetDatum(x)

#endif							/* GPUBILL_PERIOD_H */
