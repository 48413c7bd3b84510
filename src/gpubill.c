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
#include "utils/guc_tables.h"

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
 * Was the setting name given its value by a plain SET of an earlier
 * transaction of this session?  Behind a transaction-pooling connection
 * pooler that transaction may have been another client's (issue 16): such a
 * value is session state that leaked, not the caller's.  A SET or SET LOCAL
 * of the current transaction, ALTER DATABASE / ROLE ... SET and connection
 * options are the caller's.
 */
static bool
SetByAnEarlierTransaction(const char *name)
{
	struct config_generic **vars = get_guc_variables();
	int			n = GetNumConfigOptions();

	for (int i = 0; i < n; i++)
		if (pg_strcasecmp(vars[i]->name, name) == 0)
			return vars[i]->source == PGC_S_SESSION && vars[i]->stack == NULL;
	return false;
}

/*
 * calling_role() -> name: the role the caller acts as, as set by SET ROLE,
 * also inside SECURITY DEFINER functions (where current_user is the owner).
 * A role switched by a SET ROLE of an earlier transaction is refused (42501):
 * through a pooler it may be another client's, so gpubill's admin acts take
 * the role switched in their own transaction (SET LOCAL ROLE) or logged in
 * as (R-RCH-1).
 */
PG_FUNCTION_INFO_V1(gpubill_calling_role);
Datum
gpubill_calling_role(PG_FUNCTION_ARGS)
{
	char	   *name = GetUserNameFromId(GetOuterUserId(), false);

	if (OidIsValid(GetCurrentRoleId()) && SetByAnEarlierTransaction("role"))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("the role %s was switched by SET ROLE in an earlier transaction", name),
				 errdetail("Behind a transaction-pooling connection pooler it may be another client's: gpubill does not act on it."),
				 errhint("Switch the role inside the transaction with SET LOCAL ROLE, or log in as the role.")));
	PG_RETURN_DATUM(DirectFunctionCall1(namein, CStringGetDatum(name)));
}

/*
 * default_currency() -> text: gpubill.default_currency (loading the library
 * first, so the setting is never an unknown placeholder), for a party opened
 * without a currency.  A currency SET by an earlier transaction is refused
 * (22023): behind a pooler it may be another client's.
 */
PG_FUNCTION_INFO_V1(gpubill_default_currency_fn);
Datum
gpubill_default_currency_fn(PG_FUNCTION_ARGS)
{
	if (SetByAnEarlierTransaction("gpubill.default_currency"))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no currency given, and gpubill.default_currency (%s) was SET in an earlier transaction",
						gpubill_default_currency),
				 errdetail("Behind a transaction-pooling connection pooler it may be another client's."),
				 errhint("Pass the currency, or set the default with SET LOCAL, or per database or role with ALTER DATABASE / ALTER ROLE ... SET.")));
	PG_RETURN_TEXT_P(cstring_to_text(gpubill_default_currency));
}
