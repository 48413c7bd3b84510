/*-------------------------------------------------------------------------
 *
 * gpubill.h
 *	  Shared declarations of the gpubill extension: SQLSTATEs and settings.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GPUBILL_H
#define GPUBILL_H

#include "postgres.h"

/* sums and products of money are computed in 128-bit integers */
#ifndef HAVE_INT128
#error "gpubill needs a compiler with 128-bit integers (int128)"
#endif

/* gpubill's own SQLSTATEs (SPEC section 9) */
#define ERRCODE_GB_INSUFFICIENT_FUNDS	MAKE_SQLSTATE('G','B','0','0','1')
#define ERRCODE_GB_LIMIT_EXCEEDED		MAKE_SQLSTATE('G','B','0','0','2')
#define ERRCODE_GB_CURRENCY_MISMATCH	MAKE_SQLSTATE('G','B','0','0','3')
#define ERRCODE_GB_INVALID_STATE		MAKE_SQLSTATE('G','B','0','0','4')
#define ERRCODE_GB_REQUEST_REUSED		MAKE_SQLSTATE('G','B','0','0','5')
#define ERRCODE_GB_NOT_QUALIFIED		MAKE_SQLSTATE('G','B','0','0','6')

/* GUC gpubill.default_currency: currency of bare amount literals */
extern char *gpubill_default_currency;

#endif							/* GPUBILL_H */
