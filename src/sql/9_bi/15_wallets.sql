/*
 * 15_wallets.sql — each customer's wallet for BI tools (issue 16), from the
 * wallet table (cached balances, checked by verify()).  Apart from
 * 10_views.sql, which the proxy database shares: on the proxy, wallets are
 * every partition's rows (src/proxy/bi/10_wallets.sql).
 *
 * Map (scripts/file-map.pl):
 * Uses: 1_types, 3_ledger.
 */

CREATE VIEW gpubill_bi.wallets AS
SELECT w.customer_id AS customer, @extschema@.currency(w.cash) AS currency, @extschema@.to_numeric(w.cash) AS cash,
	   @extschema@.to_numeric(w.vouchers) AS vouchers, @extschema@.to_numeric(w.held) AS held,
	   @extschema@.to_numeric(w.cash + w.vouchers - w.held) AS available, @extschema@.to_numeric(w.recharged) AS recharged
FROM @extschema@.wallet w;
COMMENT ON VIEW gpubill_bi.wallets IS 'Each customer''s wallet for BI: cash, vouchers, held and available as numeric in its currency (cached balances, checked by verify())';
