/*
 * 10_views.sql — the reporting interface for BI tools (issue 16).  The
 * schema gpubill_bi holds the statement views in plain SQL types: every
 * money value is numeric (exact, six decimals at most) next to a currency
 * column, and one number never adds two currencies — a tool's generated
 * SUM(...) GROUP BY currency is right.  Ranges are split into their bounds.
 * Point a BI tool at this schema only (gpubill_reader may read it); the
 * views read the same rows as gpubill's own (closed months from their
 * roll-ups).  The proxy database (issue 18) builds the same views, from
 * this file, over its own gpubill views (the sums of the partitions);
 * wallets, read from the wallet table, is 15_wallets.sql's.
 *
 * Map (scripts/file-map.pl):
 * Uses: 1_types, 3_ledger, 5_customers, 6_partners, 7_exchange.
 */

CREATE SCHEMA gpubill_bi;
COMMENT ON SCHEMA gpubill_bi IS 'gpubill for BI tools: the statement views with money as numeric next to its currency (issue 16)';

CREATE VIEW gpubill_bi.customer_statement AS
SELECT s.customer, s.month, @extschema@.currency(s.closing_cash) AS currency,
	   @extschema@.to_numeric(s.recharged) AS recharged, @extschema@.to_numeric(s.vouchers_granted) AS vouchers_granted,
	   @extschema@.to_numeric(s.charged) AS charged, @extschema@.to_numeric(s.refunded) AS refunded,
	   @extschema@.to_numeric(s.closing_cash) AS closing_cash
FROM @extschema@.customer_statement s;
COMMENT ON VIEW gpubill_bi.customer_statement IS 'customer_statement for BI: one row per customer and billing month, money as numeric in the customer''s currency';

CREATE VIEW gpubill_bi.partner_statement AS
SELECT s.partner, s.month, @extschema@.currency(s.gross) AS currency,
	   @extschema@.to_numeric(s.gross) AS gross, @extschema@.to_numeric(s.fees) AS fees,
	   @extschema@.to_numeric(s.voucher_paid) AS voucher_paid, @extschema@.to_numeric(s.income) AS income,
	   @extschema@.to_numeric(s.deposits) AS deposits, @extschema@.to_numeric(s.compensation) AS compensation,
	   @extschema@.to_numeric(s.withdrawn) AS withdrawn, @extschema@.to_numeric(s.withdrawable) AS withdrawable
FROM @extschema@.partner_statement s;
COMMENT ON VIEW gpubill_bi.partner_statement IS 'partner_statement for BI: one row per partner and billing month, money as numeric in the partner''s currency';

CREATE VIEW gpubill_bi.platform_revenue AS
SELECT r.day, r.currency,
	   @extschema@.to_numeric(r.service_fees) AS service_fees, @extschema@.to_numeric(r.commissions) AS commissions,
	   @extschema@.to_numeric(r.voucher_breakage) AS voucher_breakage,
	   @extschema@.to_numeric(r.compensation_paid) AS compensation_paid,
	   @extschema@.to_numeric(r.compensation_recovered) AS compensation_recovered,
	   @extschema@.to_numeric(r.vouchers_spent) AS vouchers_spent, @extschema@.to_numeric(r.forfeits) AS forfeits
FROM @extschema@.platform_revenue r;
COMMENT ON VIEW gpubill_bi.platform_revenue IS 'platform_revenue for BI: one row per day and currency, money as numeric';

CREATE VIEW gpubill_bi.instance_usage AS
SELECT u.instance, u.customer, u.hour, @extschema@.currency(u.charged) AS currency, u.seconds,
	   @extschema@.to_numeric(u.charged) AS charged, @extschema@.to_numeric(u.voucher_paid) AS voucher_paid,
	   @extschema@.to_numeric(u.cash_paid) AS cash_paid
FROM @extschema@.instance_usage u;
COMMENT ON VIEW gpubill_bi.instance_usage IS 'instance_usage for BI: one row per instance and hour of use, money as numeric in the customer''s currency';

CREATE VIEW gpubill_bi.accounts AS
SELECT a.account_id, a.owner_kind, a.owner_id, a.purpose, a.currency, a.balance_exact AS balance
FROM @extschema@.accounts a;
COMMENT ON VIEW gpubill_bi.accounts IS 'accounts for BI: every account''s journal balance as numeric in its currency (exact, also beyond the amount range)';

CREATE VIEW gpubill_bi.transfers AS
SELECT t.transfer_id, t.at, t.recorded_at, t.kind, @extschema@.currency(t.amount) AS currency,
	   @extschema@.to_numeric(t.amount) AS amount, t.debit_account, t.credit_account, t.object_type, t.object_id,
	   t.request_id, t.customer_id, t.partner_id, t.reverses, t.note, t.debit_owner_kind, t.debit_owner_id, t.debit_purpose,
	   t.credit_owner_kind, t.credit_owner_id, t.credit_purpose
FROM @extschema@.transfers t;
COMMENT ON VIEW gpubill_bi.transfers IS 'The journal for BI: one row per transfer, its amount as numeric next to its currency';

CREATE VIEW gpubill_bi.arrears AS
SELECT a.customer, a.since, @extschema@.currency(a.amount) AS currency, @extschema@.to_numeric(a.amount) AS amount
FROM @extschema@.arrears a;
COMMENT ON VIEW gpubill_bi.arrears IS 'arrears for BI: one row per customer in arrears, what is owed as numeric in its currency';

CREATE VIEW gpubill_bi.contract_receivables AS
SELECT r.contract, r.seq, r.customer, r.kind, r.due_at, pg_catalog.lower(r.covers) AS covers_from,
	   pg_catalog.upper(r.covers) AS covers_until, @extschema@.currency(r.customer_pays) AS currency,
	   @extschema@.to_numeric(r.customer_pays) AS customer_pays, @extschema@.to_numeric(r.paid) AS paid,
	   @extschema@.to_numeric(r.from_deposit) AS from_deposit, r.paid_at, r.late_from, r.overdue, r.cancelled
FROM @extschema@.contract_receivables r;
COMMENT ON VIEW gpubill_bi.contract_receivables IS 'contract_receivables for BI: what contracts'' customers owe, money as numeric in the contract''s currency, the time covered as two bounds';
