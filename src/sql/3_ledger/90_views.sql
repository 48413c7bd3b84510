/*
 * 90_views.sql — the journal for readers (R-LED-7, R-BI-2).
 *
 * Map (scripts/file-map.pl):
 * API: accounts, transfers.
 * Uses: 1_types.
 */

CREATE VIEW @extschema@.transfers AS
SELECT t.transfer_id, t.at, t.recorded_at, t.kind, t.debit_account, t.credit_account, t.amount,
	   t.object_type, t.object_id, t.request_id, t.customer_id, t.partner_id, t.reverses, t.note,
	   d.owner_kind AS debit_owner_kind, d.owner_id AS debit_owner_id, d.purpose AS debit_purpose,
	   c.owner_kind AS credit_owner_kind, c.owner_id AS credit_owner_id, c.purpose AS credit_purpose
FROM @extschema@.transfer t
JOIN @extschema@.account d ON d.account_id = t.debit_account
JOIN @extschema@.account c ON c.account_id = t.credit_account;
COMMENT ON VIEW @extschema@.transfers IS 'The journal, one row per transfer: an amount moving at a business time from a debit account to a credit account, with its kind, the object it belongs to and both accounts'' owners and purposes';

/*
 * Sums in numeric micro-units: the world's payments_in account holds minus
 * every recharge ever made and may leave the amount range (R-AMT-1); its
 * balance is then NULL and balance_exact still exact — the view never fails.
 * The closed months come from their closing balances (journal_balances).
 */
CREATE VIEW @extschema@.accounts AS
SELECT a.account_id, a.owner_kind, a.owner_id, a.purpose, a.currency,
	   CASE WHEN pg_catalog.abs(coalesce(j.balance, 0)) <= 9223372036854775807
			THEN @extschema@.amount(coalesce(j.balance, 0) / 1000000, a.currency) END AS balance,
	   coalesce(j.balance, 0) / 1000000 AS balance_exact
FROM @extschema@.account a
LEFT JOIN @extschema@.journal_balances(false) j ON j.account_id = a.account_id;
COMMENT ON VIEW @extschema@.accounts IS 'Every ledger account with its balance (credits minus debits) summed from the journal, a row per account; balance is NULL where it leaves the amount range, balance_exact (numeric, in currency units) never is';
