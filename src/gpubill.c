/*-------------------------------------------------------------------------
 *
 * gpubill.c
 *	  Module magic and the settings (GUCs) of the gpubill extension.
 *
 * Billing settings that are data (fee rates, limits, the billing time zone)
 * live in the table gpubill.settings; only what the type input functions
 * need before any table can be read is a GUC.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "amount.h"
#include "gpubill.h"

PG_MODULE_MAGIC;

char	   *gpubill_default_currency = NULL;

void		_PG_init(void);

/*
 * Check hook of gpubill.default_currency: three upper-case letters.
 */
static bool
CheckDefaultCurrency(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || !CurrencyIsValid(*newval, strlen(*newval)))
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errdetail("A currency is three upper-case letters, such as CNY, USD or EUR.");
		return false;
	}
	return true;
}

void
_PG_init(void)
{
	DefineCustomStringVariable("gpubill.default_currency",
							   "Currency of amount literals written without one.",
							   "Three upper-case letters (ISO 4217), such as CNY, USD or EUR.",
							   &gpubill_default_currency,
							   "CNY",
							   PGC_USERSET,
							   0,
							   CheckDefaultCurrency, NULL, NULL);

	MarkGUCPrefixReserved("gpubill");
}
