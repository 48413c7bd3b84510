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
#include "miscadmin.h"
#include "utils/builtins.h"
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

/*
 * calling_role() -> name: the role the caller acts as, as set by SET ROLE,
 * also inside SECURITY DEFINER functions (where current_user is the owner)
 */
PG_FUNCTION_INFO_V1(gpubill_calling_role);
Datum
gpubill_calling_role(PG_FUNCTION_ARGS)
{
	char	   *name = GetUserNameFromId(GetOuterUserId(), false);

	PG_RETURN_DATUM(DirectFunctionCall1(namein, CStringGetDatum(name)));
}

/*
 * default_currency() -> text: gpubill.default_currency (loading the library
 * first, so the setting is never an unknown placeholder)
 */
PG_FUNCTION_INFO_V1(gpubill_default_currency_fn);
Datum
gpubill_default_currency_fn(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(gpubill_default_currency));
}
