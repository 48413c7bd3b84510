-- Behind a transaction-pooling connection pooler (issue 16, R-RCH-1): session
-- state set by an earlier transaction may be another client's.  gpubill acts
-- on a role switched with SET LOCAL ROLE (or SET ROLE) in the call's own
-- transaction, never on one a SET ROLE of an earlier transaction left
-- (42501); a party opened without a currency takes gpubill.default_currency
-- only when it was not SET by an earlier transaction (22023).  Each line
-- below is its own transaction, as a pooler's clients' are.
\set SHOW_CONTEXT never
SET search_path = gpubill, public;
SELECT open_customer('pl-b2b', 'CNY', '2026-11-01') AS c \gset

-- a SET ROLE of an earlier transaction: gpubill's admin acts refuse it, other calls do not need it
SET ROLE gpubill_admin;
SELECT set_b2b(:c, true);
SELECT recharge(:c, '10 CNY', 'bank_transfer', 'pl-bank-1', '2026-11-02');
SELECT recharge(:c, '10 CNY', 'wechat', 'pl-wx-1', '2026-11-02') IS NOT NULL AS wechat_recharged;
RESET ROLE;

-- SET LOCAL ROLE inside the transaction is the caller's, and does not outlive it
BEGIN;
SET LOCAL ROLE gpubill_admin;
SELECT set_b2b(:c, true);
SELECT recharge(:c, '10 CNY', 'bank_transfer', 'pl-bank-1', '2026-11-02') IS NOT NULL AS bank_transfer_recorded;
COMMIT;
SELECT current_user, (SELECT recharged FROM wallet w WHERE w.customer_id = :c) AS recharged;
-- so is a SET ROLE of the same transaction
BEGIN;
SET ROLE gpubill_admin;
SELECT set_setting('service_fee_rate', '0.21');
ROLLBACK;
-- and a role granted by logging in (or by ALTER ROLE ... SET role) is no session state
SELECT is_admin() AS postgres_is_admin;

-- a default currency SET by an earlier transaction: not for opening a party
SET gpubill.default_currency = 'USD';
SELECT open_customer('pl-usd-1', NULL, '2026-11-01');
SELECT open_partner('pl-usd-2', NULL, '2026-11-01');
SELECT open_customer('pl-usd-3', 'USD', '2026-11-01') IS NOT NULL AS opened_with_its_currency;
BEGIN;
SET LOCAL gpubill.default_currency = 'USD';
SELECT open_customer('pl-usd-4', NULL, '2026-11-01') IS NOT NULL AS opened_with_set_local;
COMMIT;
RESET gpubill.default_currency;
SELECT open_customer('pl-cny-1', NULL, '2026-11-01') IS NOT NULL AS opened_with_the_default;
SELECT c.external_ref, currency(w.cash) FROM customer c JOIN wallet w USING (customer_id)
WHERE c.external_ref LIKE 'pl-%' ORDER BY 1;
