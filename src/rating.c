/*-------------------------------------------------------------------------
 *
 * rating.c
 *	  The rating type: a partner's score 0.000-5.000 held as integer points
 *	  0..5000 (R-RAT-1..3).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/int.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"

#include "gpubill.h"

#define RATING_MAX_POINTS	5000
#define RATING_DECIMALS		3

#define PG_GETARG_RATING(n)	PG_GETARG_INT32(n)
#define PG_RETURN_RATING(x)	PG_RETURN_INT32(x)

static void
ReportRatingRange(const char *value)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("value \"%s\" is out of range for type %s", value, "rating"),
			 errdetail("A rating lies between 0.000 and 5.000.")));
}

static int32
ClampPoints(int64 points)
{
	return (int32) Max(0, Min(RATING_MAX_POINTS, points));
}

/*
 * rating_in: "3.5" -> 3.500; at most 3 decimals, 0..5
 */
PG_FUNCTION_INFO_V1(rating_in);
Datum
rating_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	const char *p = str;
	bool		neg = false;
	int64		points = 0;
	int			ndigits = 0;
	int			nfrac = 0;

	while (isspace((unsigned char) *p))
		p++;
	if (*p == '+' || *p == '-')
		neg = (*p++ == '-');
	for (; isdigit((unsigned char) *p); p++, ndigits++)
		points = Min(points * 10 + (*p - '0'), PG_INT32_MAX);
	if (*p == '.')
	{
		for (p++; isdigit((unsigned char) *p); p++, nfrac++)
			if (nfrac < RATING_DECIMALS)
				points = Min(points * 10 + (*p - '0'), PG_INT32_MAX);
		if (nfrac == 0)
			ndigits = 0;
	}
	while (isspace((unsigned char) *p))
		p++;
	if (ndigits == 0 || *p != '\0' || nfrac > RATING_DECIMALS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type %s: \"%s\"", "rating", str),
				 errhint("Write a number from 0 to 5 with at most 3 decimals, such as '3.5'.")));
	for (; nfrac < RATING_DECIMALS; nfrac++)
		points = Min(points * 10, PG_INT32_MAX);
	if (points > RATING_MAX_POINTS || (neg && points != 0))
		ReportRatingRange(str);
	PG_RETURN_RATING((int32) points);
}

/*
 * rating_out: three decimals
 */
PG_FUNCTION_INFO_V1(rating_out);
Datum
rating_out(PG_FUNCTION_ARGS)
{
	int32		points = PG_GETARG_RATING(0);

	PG_RETURN_CSTRING(psprintf("%d.%03d", points / 1000, points % 1000));
}

/*
 * rating_recv: binary input, int4 points
 */
PG_FUNCTION_INFO_V1(rating_recv);
Datum
rating_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int32		points = pq_getmsgint(buf, 4);

	if (points < 0 || points > RATING_MAX_POINTS)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value is out of range for type %s", "rating")));
	PG_RETURN_RATING(points);
}

/*
 * rating_send: binary output
 */
PG_FUNCTION_INFO_V1(rating_send);
Datum
rating_send(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint32(&buf, PG_GETARG_RATING(0));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * rating_from_points(int) -> rating; outside 0..5000 raises 22003
 */
PG_FUNCTION_INFO_V1(rating_from_points);
Datum
rating_from_points(PG_FUNCTION_ARGS)
{
	int32		points = PG_GETARG_INT32(0);

	if (points < 0 || points > RATING_MAX_POINTS)
		ReportRatingRange(psprintf("%d points", points));
	PG_RETURN_RATING(points);
}

/*
 * rating + int (points), clamped to 0..5000
 */
PG_FUNCTION_INFO_V1(rating_add_points);
Datum
rating_add_points(PG_FUNCTION_ARGS)
{
	PG_RETURN_RATING(ClampPoints((int64) PG_GETARG_RATING(0) + PG_GETARG_INT32(1)));
}

/*
 * int + rating, clamped to 0..5000
 */
PG_FUNCTION_INFO_V1(points_add_rating);
Datum
points_add_rating(PG_FUNCTION_ARGS)
{
	PG_RETURN_RATING(ClampPoints((int64) PG_GETARG_INT32(0) + PG_GETARG_RATING(1)));
}

/*
 * rating - int (points), clamped to 0..5000
 */
PG_FUNCTION_INFO_V1(rating_sub_points);
Datum
rating_sub_points(PG_FUNCTION_ARGS)
{
	PG_RETURN_RATING(ClampPoints((int64) PG_GETARG_RATING(0) - PG_GETARG_INT32(1)));
}

/*
 * rating_apply(r, delta, gained_today, lost_today, gain_cap, loss_cap):
 * applies delta points within what the daily caps leave (R-RAT-3)
 */
PG_FUNCTION_INFO_V1(rating_apply);
Datum
rating_apply(PG_FUNCTION_ARGS)
{
	int32		points = PG_GETARG_RATING(0);
	int32		delta = PG_GETARG_INT32(1);
	int32		gained = PG_GETARG_INT32(2);
	int32		lost = PG_GETARG_INT32(3);
	int32		gain_cap = PG_GETARG_INT32(4);
	int32		loss_cap = PG_GETARG_INT32(5);
	int64		applied;

	if (gained < 0 || lost < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("points gained and lost today must not be negative"),
				 errdetail("Points lost are counted as a positive number.")));
	if (gain_cap < 0 || loss_cap < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("daily rating caps must not be negative")));

	if (delta >= 0)
		applied = Min((int64) delta, Max((int64) 0, (int64) gain_cap - gained));
	else
		applied = -Min(-(int64) delta, Max((int64) 0, (int64) loss_cap - lost));
	PG_RETURN_RATING(ClampPoints(points + applied));
}

/*
 * points(rating) -> int
 */
PG_FUNCTION_INFO_V1(rating_points);
Datum
rating_points(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PG_GETARG_RATING(0));
}
