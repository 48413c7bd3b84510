/*-------------------------------------------------------------------------
 *
 * period.c
 *	  The billing_period type and calendar arithmetic (R-PER-1..4).
 *
 * Periods are aligned to the calendar of an IANA time zone: seconds on the
 * second, hours on the local hour, days at local 00:00, weeks on Monday
 * 00:00, months on the 1st at 00:00.  The zone is not stored in the value
 * (the text form is "[lower,upper) unit"); next() and prev() of day, week
 * and month periods take the zone and refuse a period not aligned to it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "common/int.h"
#include "libpq/pqformat.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/numeric.h"
#include "utils/rangetypes.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "gpubill.h"
#include "period.h"

static const char *const unit_names[] = {"second", "hour", "day", "week", "month"};

#define NUM_UNITS	lengthof(unit_names)

/* ---------- helpers ---------- */

static int
UnitFromName(const char *name, int len)
{
	int			i;

	for (i = 0; i < (int) NUM_UNITS; i++)
		if ((int) strlen(unit_names[i]) == len && strncmp(name, unit_names[i], len) == 0)
			return i;
	return -1;
}

static PeriodUnit
UnitFromText(text *t)
{
	int			unit = UnitFromName(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));

	if (unit < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid billing period unit: \"%s\"", text_to_cstring(t)),
				 errhint("Valid units are second, hour, day, week and month.")));
	return (PeriodUnit) unit;
}

static void ReportTimestampOutOfRange(void) pg_attribute_noreturn();
static void ReportTermOutOfRange(int32 n) pg_attribute_noreturn();

static pg_tz *
ZoneFromText(text *t)
{
	char	   *name = text_to_cstring(t);
	pg_tz	   *tz = pg_tzset(name);

	if (tz == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time zone \"%s\" not recognized", name)));
	return tz;
}

static void
ReportTimestampOutOfRange(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
			 errmsg("timestamp out of range")));
}

/* add_term past the timestamp range: the arithmetic overflows (22003) */
static void
ReportTermOutOfRange(int32 n)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("a term of %d units ends outside the timestamp range", n)));
}

static void
CheckFinite(TimestampTz ts)
{
	if (TIMESTAMP_NOT_FINITE(ts))
		ReportTimestampOutOfRange();
}

/* floor(x / step) * step for any sign of x */
static inline int64
FloorTo(int64 x, int64 step)
{
	int64		r = x % step;

	return r < 0 ? x - r - step : x - r;
}

static int64
AddChecked(int64 a, int64 b)
{
	int64		r;

	if (pg_add_s64_overflow(a, b, &r) || !IS_VALID_TIMESTAMP(r))
		ReportTimestampOutOfRange();
	return r;
}

/* local broken-down time of ts in tz; *offset gets seconds west of UTC */
static void
ToLocal(TimestampTz ts, pg_tz *tz, struct pg_tm *tm, fsec_t *fsec, int *offset)
{
	CheckFinite(ts);
	if (timestamp2tm(ts, offset, tm, fsec, NULL, tz) != 0)
		ReportTimestampOutOfRange();
}

/* the instant of local time tm + fsec in tz */
static TimestampTz
FromLocal(struct pg_tm *tm, fsec_t fsec, pg_tz *tz)
{
	int			offset = DetermineTimeZoneOffset(tm, tz);
	TimestampTz result;

	if (tm2timestamp(tm, fsec, &offset, &result) != 0 || !IS_VALID_TIMESTAMP(result))
		ReportTimestampOutOfRange();
	return result;
}

/* the instant of local 00:00 of Julian day jd in tz */
static TimestampTz
LocalMidnight(int jd, pg_tz *tz)
{
	struct pg_tm tm;

	memset(&tm, 0, sizeof(tm));
	j2date(jd, &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
	tm.tm_isdst = -1;
	return FromLocal(&tm, 0, tz);
}

/* the period of unit containing ts in the calendar of tz */
static BillingPeriod *
PeriodContaining(PeriodUnit unit, TimestampTz ts, pg_tz *tz)
{
	BillingPeriod *p = (BillingPeriod *) palloc0(sizeof(BillingPeriod));
	struct pg_tm tm;
	fsec_t		fsec;
	int			offset;
	int			jd;

	CheckFinite(ts);
	p->unit = unit;
	switch (unit)
	{
		case PERIOD_SECOND:
			p->lower = FloorTo(ts, USECS_PER_SEC);
			p->upper = AddChecked(p->lower, USECS_PER_SEC);
			break;
		case PERIOD_HOUR:
			/* on the local hour, in the UTC offset in force at ts */
			ToLocal(ts, tz, &tm, &fsec, &offset);
			p->lower = FloorTo(ts - offset * USECS_PER_SEC, USECS_PER_HOUR) + offset * USECS_PER_SEC;
			p->upper = AddChecked(p->lower, USECS_PER_HOUR);
			break;
		case PERIOD_DAY:
		case PERIOD_WEEK:
		case PERIOD_MONTH:
			ToLocal(ts, tz, &tm, &fsec, &offset);
			jd = date2j(tm.tm_year, tm.tm_mon, tm.tm_mday);
			if (unit == PERIOD_DAY)
			{
				p->lower = LocalMidnight(jd, tz);
				p->upper = LocalMidnight(jd + 1, tz);
			}
			else if (unit == PERIOD_WEEK)
			{
				jd -= (j2day(jd) + 6) % 7;	/* back to Monday */
				p->lower = LocalMidnight(jd, tz);
				p->upper = LocalMidnight(jd + 7, tz);
			}
			else
			{
				p->lower = LocalMidnight(date2j(tm.tm_year, tm.tm_mon, 1), tz);
				p->upper = LocalMidnight(tm.tm_mon == 12 ? date2j(tm.tm_year + 1, 1, 1)
										 : date2j(tm.tm_year, tm.tm_mon + 1, 1), tz);
			}
			break;
	}
	if (!(p->lower <= ts && ts < p->upper))
		elog(ERROR, "billing period does not contain its timestamp");
	return p;
}

/* the fixed length of second and hour periods; 0 for calendar units */
static int64
FixedLength(PeriodUnit unit)
{
	return unit == PERIOD_SECOND ? USECS_PER_SEC : unit == PERIOD_HOUR ? USECS_PER_HOUR : 0;
}

/* refuse a value that no billing_period function could have made */
static void
CheckPeriod(const BillingPeriod *p, const char *input)
{
	const char *why = NULL;
	int64		len = FixedLength(p->unit);

	if (TIMESTAMP_NOT_FINITE(p->lower) || TIMESTAMP_NOT_FINITE(p->upper))
		why = "The bounds of a billing period are finite.";
	else if (p->lower >= p->upper)
		why = "The lower bound of a billing period is before its upper bound.";
	else if (p->lower % USECS_PER_SEC != 0 || p->upper % USECS_PER_SEC != 0)
		why = "The bounds of a billing period are whole seconds.";
	else if (len != 0 && p->upper - p->lower != len)
		why = p->unit == PERIOD_SECOND ? "A second period lasts one second."
			: "An hour period lasts one hour.";
	if (why != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type %s: \"%s\"", "billing_period", input),
				 errdetail("%s", why)));
}

/* ---------- I/O ---------- */

/*
 * A bound of billing_period text input: a malformed or out-of-range
 * timestamp is malformed input of the period (22P02), its own message kept
 * as the detail.  The error is caught only to be raised again at once.
 */
static TimestampTz
PeriodBoundIn(char *bound, const char *whole)
{
	MemoryContext context = CurrentMemoryContext;
	TimestampTz result = 0;

	PG_TRY();
	{
		result = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in,
														 CStringGetDatum(bound),
														 ObjectIdGetDatum(InvalidOid),
														 Int32GetDatum(-1)));
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(context);
		edata = CopyErrorData();
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type %s: \"%s\"", "billing_period", whole),
				 errdetail("Bound \"%s\": %s.", bound, edata->message)));
	}
	PG_END_TRY();
	return result;
}

/*
 * billing_period_in: "[lower,upper) unit"
 */
PG_FUNCTION_INFO_V1(billing_period_in);
Datum
billing_period_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	BillingPeriod *p = (BillingPeriod *) palloc0(sizeof(BillingPeriod));
	const char *s = str;
	const char *comma;
	const char *close;
	const char *unit;
	int			unitlen;
	int			u;

	while (isspace((unsigned char) *s))
		s++;
	comma = (*s == '[') ? strchr(s, ',') : NULL;
	close = comma ? strchr(comma, ')') : NULL;
	if (close == NULL || !isspace((unsigned char) close[1]))
		goto syntax;
	unit = close + 1;
	while (isspace((unsigned char) *unit))
		unit++;
	for (unitlen = 0; unit[unitlen] != '\0' && !isspace((unsigned char) unit[unitlen]); unitlen++)
		;
	u = UnitFromName(unit, unitlen);
	for (unit += unitlen; isspace((unsigned char) *unit); unit++)
		;
	if (u < 0 || *unit != '\0')
		goto syntax;

	p->unit = u;
	p->lower = PeriodBoundIn(pnstrdup(s + 1, comma - s - 1), str);
	p->upper = PeriodBoundIn(pnstrdup(comma + 1, close - comma - 1), str);
	CheckPeriod(p, str);
	PG_RETURN_PERIOD_P(p);

syntax:
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type %s: \"%s\"", "billing_period", str),
			 errhint("Write \"[lower,upper) unit\" with unit second, hour, day, week or month.")));
	PG_RETURN_NULL();			/* keep compiler quiet */
}

/*
 * billing_period_out: "[lower,upper) unit" in the session's DateStyle and TimeZone
 */
PG_FUNCTION_INFO_V1(billing_period_out);
Datum
billing_period_out(PG_FUNCTION_ARGS)
{
	BillingPeriod *p = PG_GETARG_PERIOD_P(0);
	char	   *lo = DatumGetCString(DirectFunctionCall1(timestamptz_out, TimestampTzGetDatum(p->lower)));
	char	   *hi = DatumGetCString(DirectFunctionCall1(timestamptz_out, TimestampTzGetDatum(p->upper)));

	PG_RETURN_CSTRING(psprintf("[%s,%s) %s", lo, hi, unit_names[p->unit]));
}

/*
 * billing_period_recv: binary input (int8 lower, int8 upper, int4 unit)
 */
PG_FUNCTION_INFO_V1(billing_period_recv);
Datum
billing_period_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	BillingPeriod *p = (BillingPeriod *) palloc0(sizeof(BillingPeriod));

	p->lower = pq_getmsgint64(buf);
	p->upper = pq_getmsgint64(buf);
	p->unit = pq_getmsgint(buf, 4);
	if (p->unit < 0 || p->unit >= (int) NUM_UNITS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid unit in external billing_period value")));
	CheckPeriod(p, "(binary)");
	PG_RETURN_PERIOD_P(p);
}

/*
 * billing_period_send: binary output
 */
PG_FUNCTION_INFO_V1(billing_period_send);
Datum
billing_period_send(PG_FUNCTION_ARGS)
{
	BillingPeriod *p = PG_GETARG_PERIOD_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint64(&buf, p->lower);
	pq_sendint64(&buf, p->upper);
	pq_sendint32(&buf, p->unit);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* ---------- construction and navigation ---------- */

/*
 * billing_period(unit, ts, tz): the period of unit containing ts
 */
PG_FUNCTION_INFO_V1(billing_period_make);
Datum
billing_period_make(PG_FUNCTION_ARGS)
{
	PeriodUnit	unit = UnitFromText(PG_GETARG_TEXT_PP(0));
	TimestampTz ts = PG_GETARG_TIMESTAMPTZ(1);
	pg_tz	   *tz = ZoneFromText(PG_GETARG_TEXT_PP(2));

	PG_RETURN_PERIOD_P(PeriodContaining(unit, ts, tz));
}

static void
ReportNotAligned(text *zone)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("billing period is not aligned to the calendar of time zone \"%s\"",
					text_to_cstring(zone)),
			 errhint("Pass the time zone the period was made in.")));
}

/*
 * next(p, tz): the period following p
 */
PG_FUNCTION_INFO_V1(billing_period_next);
Datum
billing_period_next(PG_FUNCTION_ARGS)
{
	BillingPeriod *p = PG_GETARG_PERIOD_P(0);
	int64		len = FixedLength(p->unit);
	BillingPeriod *n;

	if (len != 0)
	{
		n = (BillingPeriod *) palloc0(sizeof(BillingPeriod));
		n->unit = p->unit;
		n->lower = p->upper;
		n->upper = AddChecked(p->upper, len);
		PG_RETURN_PERIOD_P(n);
	}
	n = PeriodContaining(p->unit, p->upper, ZoneFromText(PG_GETARG_TEXT_PP(1)));
	if (n->lower != p->upper)
		ReportNotAligned(PG_GETARG_TEXT_PP(1));
	PG_RETURN_PERIOD_P(n);
}

/*
 * prev(p, tz): the period preceding p
 */
PG_FUNCTION_INFO_V1(billing_period_prev);
Datum
billing_period_prev(PG_FUNCTION_ARGS)
{
	BillingPeriod *p = PG_GETARG_PERIOD_P(0);
	int64		len = FixedLength(p->unit);
	BillingPeriod *n;

	if (len != 0)
	{
		n = (BillingPeriod *) palloc0(sizeof(BillingPeriod));
		n->unit = p->unit;
		n->lower = AddChecked(p->lower, -len);
		n->upper = p->lower;
		PG_RETURN_PERIOD_P(n);
	}
	n = PeriodContaining(p->unit, AddChecked(p->lower, -1), ZoneFromText(PG_GETARG_TEXT_PP(1)));
	if (n->upper != p->lower)
		ReportNotAligned(PG_GETARG_TEXT_PP(1));
	PG_RETURN_PERIOD_P(n);
}

/*
 * lower(p)
 */
PG_FUNCTION_INFO_V1(billing_period_lower);
Datum
billing_period_lower(PG_FUNCTION_ARGS)
{
	PG_RETURN_TIMESTAMPTZ(PG_GETARG_PERIOD_P(0)->lower);
}

/*
 * upper(p)
 */
PG_FUNCTION_INFO_V1(billing_period_upper);
Datum
billing_period_upper(PG_FUNCTION_ARGS)
{
	PG_RETURN_TIMESTAMPTZ(PG_GETARG_PERIOD_P(0)->upper);
}

/*
 * unit(p) -> text
 */
PG_FUNCTION_INFO_V1(billing_period_unit);
Datum
billing_period_unit(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(unit_names[PG_GETARG_PERIOD_P(0)->unit]));
}

/*
 * seconds(p) -> bigint: the length of p
 */
PG_FUNCTION_INFO_V1(billing_period_seconds);
Datum
billing_period_seconds(PG_FUNCTION_ARGS)
{
	BillingPeriod *p = PG_GETARG_PERIOD_P(0);

	PG_RETURN_INT64((p->upper - p->lower) / USECS_PER_SEC);
}

/* ---------- ranges ---------- */

static TypeCacheEntry *
RangeTypeCache(FunctionCallInfo fcinfo)
{
	TypeCacheEntry *typcache = (TypeCacheEntry *) fcinfo->flinfo->fn_extra;

	if (typcache == NULL)
	{
		typcache = lookup_type_cache(TSTZRANGEOID, TYPECACHE_RANGE_INFO);
		fcinfo->flinfo->fn_extra = typcache;
	}
	return typcache;
}

static RangeType *
PeriodToRange(TypeCacheEntry *typcache, const BillingPeriod *p)
{
	RangeBound	lower;
	RangeBound	upper;

	lower.val = TimestampTzGetDatum(p->lower);
	lower.infinite = false;
	lower.inclusive = true;
	lower.lower = true;
	upper.val = TimestampTzGetDatum(p->upper);
	upper.infinite = false;
	upper.inclusive = false;
	upper.lower = false;
#if PG_VERSION_NUM >= 160000
	return make_range(typcache, &lower, &upper, false, NULL);
#else
	return make_range(typcache, &lower, &upper, false);
#endif
}

/*
 * p::tstzrange -> [lower, upper)
 */
PG_FUNCTION_INFO_V1(billing_period_to_tstzrange);
Datum
billing_period_to_tstzrange(PG_FUNCTION_ARGS)
{
	PG_RETURN_RANGE_P(PeriodToRange(RangeTypeCache(fcinfo), PG_GETARG_PERIOD_P(0)));
}

/*
 * p @> timestamptz
 */
PG_FUNCTION_INFO_V1(billing_period_contains);
Datum
billing_period_contains(PG_FUNCTION_ARGS)
{
	BillingPeriod *p = PG_GETARG_PERIOD_P(0);
	TimestampTz ts = PG_GETARG_TIMESTAMPTZ(1);

	PG_RETURN_BOOL(p->lower <= ts && ts < p->upper);
}

/*
 * timestamptz <@ p
 */
PG_FUNCTION_INFO_V1(billing_period_contained_by);
Datum
billing_period_contained_by(PG_FUNCTION_ARGS)
{
	TimestampTz ts = PG_GETARG_TIMESTAMPTZ(0);
	BillingPeriod *p = PG_GETARG_PERIOD_P(1);

	PG_RETURN_BOOL(p->lower <= ts && ts < p->upper);
}

/*
 * tstzrange && p
 */
PG_FUNCTION_INFO_V1(billing_period_overlapped_by);
Datum
billing_period_overlapped_by(PG_FUNCTION_ARGS)
{
	TypeCacheEntry *typcache = RangeTypeCache(fcinfo);
	RangeType  *r = PG_GETARG_RANGE_P(0);

	PG_RETURN_BOOL(range_overlaps_internal(typcache, r, PeriodToRange(typcache, PG_GETARG_PERIOD_P(1))));
}

/*
 * p && tstzrange
 */
PG_FUNCTION_INFO_V1(billing_period_overlaps);
Datum
billing_period_overlaps(PG_FUNCTION_ARGS)
{
	TypeCacheEntry *typcache = RangeTypeCache(fcinfo);
	RangeType  *r = PG_GETARG_RANGE_P(1);

	PG_RETURN_BOOL(range_overlaps_internal(typcache, PeriodToRange(typcache, PG_GETARG_PERIOD_P(0)), r));
}

/*
 * overlap_seconds(p, tstzrange) -> bigint: whole seconds of the overlap
 */
PG_FUNCTION_INFO_V1(billing_period_overlap_seconds);
Datum
billing_period_overlap_seconds(PG_FUNCTION_ARGS)
{
	TypeCacheEntry *typcache = RangeTypeCache(fcinfo);
	RangeType  *r = PG_GETARG_RANGE_P(1);
	RangeType  *both;
	RangeBound	lower;
	RangeBound	upper;
	bool		empty;

	both = range_intersect_internal(typcache, PeriodToRange(typcache, PG_GETARG_PERIOD_P(0)), r);
	range_deserialize(typcache, both, &lower, &upper, &empty);
	if (empty)
		PG_RETURN_INT64(0);
	PG_RETURN_INT64((DatumGetTimestampTz(upper.val) - DatumGetTimestampTz(lower.val)) / USECS_PER_SEC);
}

/* ---------- comparison (btree and hash classes) ---------- */

static int
PeriodCmp(const BillingPeriod *a, const BillingPeriod *b)
{
	if (a->lower != b->lower)
		return a->lower < b->lower ? -1 : 1;
	if (a->upper != b->upper)
		return a->upper < b->upper ? -1 : 1;
	if (a->unit != b->unit)
		return a->unit < b->unit ? -1 : 1;
	return 0;
}

/*
 * btree support: by lower, upper, then unit
 */
PG_FUNCTION_INFO_V1(billing_period_cmp);
Datum
billing_period_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PeriodCmp(PG_GETARG_PERIOD_P(0), PG_GETARG_PERIOD_P(1)));
}

/*
 * p = p
 */
PG_FUNCTION_INFO_V1(billing_period_eq);
Datum
billing_period_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(PeriodCmp(PG_GETARG_PERIOD_P(0), PG_GETARG_PERIOD_P(1)) == 0);
}

/*
 * p <> p
 */
PG_FUNCTION_INFO_V1(billing_period_ne);
Datum
billing_period_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(PeriodCmp(PG_GETARG_PERIOD_P(0), PG_GETARG_PERIOD_P(1)) != 0);
}

/*
 * p < p
 */
PG_FUNCTION_INFO_V1(billing_period_lt);
Datum
billing_period_lt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(PeriodCmp(PG_GETARG_PERIOD_P(0), PG_GETARG_PERIOD_P(1)) < 0);
}

/*
 * p <= p
 */
PG_FUNCTION_INFO_V1(billing_period_le);
Datum
billing_period_le(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(PeriodCmp(PG_GETARG_PERIOD_P(0), PG_GETARG_PERIOD_P(1)) <= 0);
}

/*
 * p > p
 */
PG_FUNCTION_INFO_V1(billing_period_gt);
Datum
billing_period_gt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(PeriodCmp(PG_GETARG_PERIOD_P(0), PG_GETARG_PERIOD_P(1)) > 0);
}

/*
 * p >= p
 */
PG_FUNCTION_INFO_V1(billing_period_ge);
Datum
billing_period_ge(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(PeriodCmp(PG_GETARG_PERIOD_P(0), PG_GETARG_PERIOD_P(1)) >= 0);
}

/*
 * hash support
 */
PG_FUNCTION_INFO_V1(billing_period_hash);
Datum
billing_period_hash(PG_FUNCTION_ARGS)
{
	return hash_any((const unsigned char *) PG_GETARG_PERIOD_P(0),
					offsetof(BillingPeriod, reserved));
}

/* ---------- calendar arithmetic ---------- */

/*
 * add_term(ts, unit, n, tz): ts plus n units; months clamp to the month's
 * end (Jan 31 + 1 month = Feb 28/29) and keep the local time of day, days
 * are local calendar days, weeks are 7 x 24 h (R-PER-3)
 */
PG_FUNCTION_INFO_V1(billing_add_term);
Datum
billing_add_term(PG_FUNCTION_ARGS)
{
	TimestampTz ts = PG_GETARG_TIMESTAMPTZ(0);
	PeriodUnit	unit = UnitFromText(PG_GETARG_TEXT_PP(1));
	int32		n = PG_GETARG_INT32(2);
	pg_tz	   *tz = ZoneFromText(PG_GETARG_TEXT_PP(3));
	struct pg_tm tm;
	fsec_t		fsec;
	int			offset;
	int64		months;
	int64		step;
	int64		jd;
	TimestampTz result;

	CheckFinite(ts);
	switch (unit)
	{
		case PERIOD_SECOND:
		case PERIOD_HOUR:
		case PERIOD_WEEK:
			step = unit == PERIOD_SECOND ? USECS_PER_SEC
				: unit == PERIOD_HOUR ? USECS_PER_HOUR : 7 * USECS_PER_DAY;
			if (pg_mul_s64_overflow((int64) n, step, &step) ||
				pg_add_s64_overflow(ts, step, &result) || !IS_VALID_TIMESTAMP(result))
				ReportTermOutOfRange(n);
			PG_RETURN_TIMESTAMPTZ(result);
		case PERIOD_DAY:
			ToLocal(ts, tz, &tm, &fsec, &offset);
			jd = (int64) date2j(tm.tm_year, tm.tm_mon, tm.tm_mday) + n;
			if (jd < 0 || jd > TIMESTAMP_END_JULIAN)
				ReportTermOutOfRange(n);
			j2date((int) jd, &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
			break;
		case PERIOD_MONTH:
			ToLocal(ts, tz, &tm, &fsec, &offset);
			months = (int64) tm.tm_year * 12 + (tm.tm_mon - 1) + n;
			if (months < 0 || months > (int64) 300000 * 12)
				ReportTermOutOfRange(n);
			tm.tm_year = (int) (months / 12);
			tm.tm_mon = (int) (months % 12) + 1;
			if (tm.tm_mday > day_tab[isleap(tm.tm_year)][tm.tm_mon - 1])
				tm.tm_mday = day_tab[isleap(tm.tm_year)][tm.tm_mon - 1];
			break;
	}
	tm.tm_isdst = -1;
	offset = DetermineTimeZoneOffset(&tm, tz);
	if (tm2timestamp(&tm, fsec, &offset, &result) != 0 || !IS_VALID_TIMESTAMP(result))
		ReportTermOutOfRange(n);
	PG_RETURN_TIMESTAMPTZ(result);
}

/*
 * billable_hours(seconds, rounding): exact = seconds / 3600; ceil = whole
 * hours, at least 1 for any positive usage (R-PER-4)
 */
PG_FUNCTION_INFO_V1(billing_billable_hours);
Datum
billing_billable_hours(PG_FUNCTION_ARGS)
{
	int64		seconds = PG_GETARG_INT64(0);
	char	   *rounding = text_to_cstring(PG_GETARG_TEXT_PP(1));

	if (seconds < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("seconds of usage must not be negative")));
	if (strcmp(rounding, "exact") == 0)
		PG_RETURN_DATUM(DirectFunctionCall2(numeric_div,
											NumericGetDatum(int64_to_numeric(seconds)),
											NumericGetDatum(int64_to_numeric(SECS_PER_HOUR))));
	if (strcmp(rounding, "ceil") == 0)
		PG_RETURN_NUMERIC(int64_to_numeric(seconds / SECS_PER_HOUR + (seconds % SECS_PER_HOUR != 0)));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid rounding: \"%s\"", rounding),
			 errhint("Valid roundings are exact and ceil.")));
	PG_RETURN_NULL();			/* keep compiler quiet */
}
