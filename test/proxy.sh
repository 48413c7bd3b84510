#!/usr/bin/env bash
# TAP: gpubill's API on a proxy database behind PL/Proxy (issue 17, part 1).
#  - src/proxy/20_routes.sql is what scripts/proxy-routes.sql makes of
#    gpubill's catalogue (regenerated here);
#  - every function of gpubill granted to gpubill_app or gpubill_reader has a
#    twin on the proxy: the same name, parameter names, defaults and result
#    (tick() included: every partition's tick, counters added);
#  - the acceptance scenario (test/fixtures/proxy_scenario.sql: recharges,
#    vouchers, holds, refunds, partners and machines, PAYG and prepaid
#    instances stopped, started, resized and released, storage, a month of
#    daily ticks; an outage, a forced offline, a partner rated to 0, a
#    withdrawal; commission tiers, contracts, resales across partitions and
#    a provider offset through March) gives on 1, 2 and 4 partitions what it gives on one
#    database, the customers spread over every partition by the hash of
#    their reference, each id on the partition that drew it; verify() runs on
#    every partition (and compares digests and GPU claims); the customers'
#    views read every partition's rows and equal one database's, ids aside
#    (an offset recovered from another partition's receipts: by its sums);
#  - one payment id credits one customer across partitions (R-LED-5);
#  - set_setting() through the proxy sets every partition, and verify()
#    through it compares the partitions' settings digests.
# Needs a running cluster (PGHOST/PGPORT/PGUSER) with postgresql-15-plproxy,
# as scripts/test.sh provides.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/cluster.sh	# cluster_partitions
export PGOPTIONS="-c client_min_messages=warning"
. scripts/tap.sh
fresh() { psql -qX -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null; }

fresh gpubill_px_one
q gpubill_px_one -c 'CREATE EXTENSION gpubill' >/dev/null
routes=$(q gpubill_px_one -f scripts/proxy-routes.sql)
ok "$(diff <(printf '%s\n' "$routes") src/proxy/20_routes.sql >/dev/null && echo same || echo differs)" "same" \
	"src/proxy/20_routes.sql is what scripts/proxy-routes.sql makes of gpubill's catalogue"
want=$(q gpubill_px_one -f test/fixtures/proxy_scenario.sql)
# the customers' views, without the ids a partition draws: the same rows on one database and through the proxy
views="SELECT 'customer_statement ' || md5(string_agg(t::text, '|' ORDER BY t::text)) FROM (SELECT month, recharged, vouchers_granted, charged, refunded, closing_cash FROM gpubill.customer_statement) t
	UNION ALL SELECT 'transfers ' || md5(string_agg(t::text, '|' ORDER BY t::text)) FROM (SELECT at, kind, amount, object_type, debit_owner_kind, debit_purpose, credit_owner_kind, credit_purpose FROM gpubill.transfers
		WHERE kind <> 'offset' AND 'exchange' NOT IN (debit_purpose, credit_purpose)) t
	UNION ALL SELECT 'exchange and offsets ' || string_agg(t::text, ' ' ORDER BY t::text) FROM (	/* recovered elsewhere behind a proxy: the same sums */
		SELECT gpubill.currency(amount), sum(CASE WHEN credit_purpose = 'exchange' THEN gpubill.micros(amount) ELSE -gpubill.micros(amount) END)
				   FILTER (WHERE 'exchange' IN (debit_purpose, credit_purpose)),
			   sum(gpubill.micros(amount)) FILTER (WHERE kind = 'offset') FROM gpubill.transfers GROUP BY 1) t
	UNION ALL SELECT 'instance_usage ' || md5(string_agg(t::text, '|' ORDER BY t::text)) FROM (SELECT hour, seconds, charged, voucher_paid, cash_paid FROM gpubill.instance_usage) t
	UNION ALL SELECT 'lifecycle_events ' || md5(string_agg(t::text, '|' ORDER BY t::text)) FROM (SELECT kind, subject_type, due_at, created_at, cancelled_at, acked_at FROM gpubill.lifecycle_events) t
	UNION ALL SELECT 'open_alerts ' || md5(string_agg(t::text, '|' ORDER BY t::text)) FROM (SELECT kind, subject_type, raised_at FROM gpubill.open_alerts) t
	UNION ALL SELECT 'arrears ' || count(*) FROM gpubill.arrears
	UNION ALL SELECT 'partner_statement ' || md5(string_agg(t::text, '|' ORDER BY t::text)) FROM (SELECT month, gross, fees, voucher_paid, income, deposits, compensation, withdrawn, withdrawable FROM gpubill.partner_statement) t
	UNION ALL SELECT 'platform_revenue ' || md5(string_agg(t::text, '|' ORDER BY t::text)) FROM (SELECT * FROM gpubill.platform_revenue) t
	UNION ALL SELECT 'accounts ' || md5(string_agg(t::text, '|' ORDER BY t::text)) FROM (SELECT owner_kind, purpose, currency, balance, balance_exact FROM gpubill.accounts) t
	UNION ALL SELECT 'bi ' || string_agg(t::text, ' ' ORDER BY t::text) FROM (
		SELECT 'customer_statement', currency, sum(charged), sum(closing_cash) FROM gpubill_bi.customer_statement GROUP BY 2
		UNION ALL SELECT 'partner_statement', currency, sum(income), sum(withdrawable) FROM gpubill_bi.partner_statement GROUP BY 2
		UNION ALL SELECT 'platform_revenue', currency, sum(service_fees), sum(vouchers_spent) FROM gpubill_bi.platform_revenue GROUP BY 2
		UNION ALL SELECT 'wallets', currency, sum(cash), sum(available) FROM gpubill_bi.wallets GROUP BY 2
		UNION ALL SELECT 'accounts', currency, sum(balance), count(*) FROM gpubill_bi.accounts GROUP BY 2) t"
want_views=$(q gpubill_px_one -c "$views")
# the API: gpubill's SECURITY DEFINER functions granted to its roles; on the proxy, its PL/Proxy functions
signature="p.proname || '(' || pg_get_function_arguments(p.oid) || ') -> ' || pg_get_function_result(p.oid)
	|| ' [' || coalesce((SELECT string_agg(r.rolname, ',' ORDER BY r.rolname) FROM aclexplode(p.proacl) x JOIN pg_roles r ON r.oid = x.grantee
						  WHERE r.rolname LIKE 'gpubill\_%'), '') || ']'"
api_one=$(q gpubill_px_one -c "SELECT $signature FROM pg_proc p WHERE p.pronamespace = 'gpubill'::regnamespace AND p.prosecdef
	AND (has_function_privilege('gpubill_app', p.oid, 'EXECUTE') OR has_function_privilege('gpubill_reader', p.oid, 'EXECUTE')
		 OR has_function_privilege('gpubill_admin', p.oid, 'EXECUTE') AND p.proargnames[1] IN ('customer', 'transfer', 'provider')
		 OR p.proname IN ('set_setting', 'close_period', 'archive_month', 'set_commission_tiers'))
	AND p.proname NOT IN ('apply_catalog', 'catalog_changes', 'catalog_pushed', 'catalog_digest',	/* the proxy's protocol with the partitions */
						  'claim_gpus', 'confirm_gpu_claim', 'release_gpu_claims', 'unconfirmed_claims', 'claimed_gpus',
						  'running_gpus', 'instance_machine', 'known_request', 'ended_runs', 'runs_drained', 'runs_of_claims', 'partner_part', 'begin_withdrawal', 'commit_withdrawal', 'pending_withdrawals',
						  'partner_statement_parts', 'outage_changes', 'apply_outage', 'outage_pushed',
							 'begin_resale', 'accept_resale', 'decide_resale', 'commit_resale', 'abandon_resale', 'pending_resales', 'resale_sides',
							 'provider_volumes', 'apply_volumes', 'volume_months_missing',
							 'open_offsets', 'begin_offset_recovery', 'offer_receipts', 'commit_offset_recovery', 'watch_offset')
	ORDER BY 1")
names=$(cut -d'(' -f1 <<<"$api_one" | sort -u | paste -sd, - | sed "s/,/','/g")
api="SELECT $signature FROM pg_proc p WHERE p.pronamespace = 'gpubill'::regnamespace AND p.proname IN ('$names') ORDER BY 1"

for parts in 1 2 4; do
	ok "$(cluster_partitions $parts gpubill_px)" "gpubill_px_proxy" "scripts/cluster.sh starts a proxy and $parts partitions"
	if [ $parts = 1 ]; then
		ok "$(q gpubill_px_proxy -c "$api")" "$api_one" \
			"every function gpubill grants to gpubill_app or gpubill_reader, every admin act keyed by a customer, transfer or provider, and the admin's acts on every partition have a twin on the proxy: name, parameters, defaults, result, grants ($(wc -l <<<"$api_one") functions)"
		ok "$(q gpubill_px_proxy -c "SELECT string_agg(relname, ' ' ORDER BY relname) FROM pg_class WHERE relnamespace = 'gpubill'::regnamespace AND relkind IN ('r', 'p')")" \
			"proxy_partition proxy_volume proxy_volume_fresh" \
			"the proxy holds no billing table (its tables: the partitions, and the providers' monthly volumes it summed and pushed)"
	fi
	ok "$(q gpubill_px_proxy -f test/fixtures/proxy_scenario.sql 2>&1)" "$want" \
		"through the proxy on $parts partitions: the customers' calls give what they give on one database"
	ok "$(q gpubill_px_proxy -c "$views" 2>&1)" "$want_views" \
		"through the proxy on $parts partitions: customer_statement, transfers, instance_usage, lifecycle_events, open_alerts, arrears the totals (partner_statement, platform_revenue, accounts) and the BI schema gpubill_bi read as on one database (ids aside)"
	spread=$(for k in $(seq 0 $((parts - 1))); do
		q gpubill_px_p$k -c "SELECT count(*) FILTER (WHERE gpubill.partition_of(customer_id) = $k) || '/' || count(*) FROM gpubill.customer WHERE external_ref LIKE 'pxs-%'"
	done | tr '\n' ' ')
	ok "$(awk '{ for (i = 1; i <= NF; i++) { split($i, a, "/"); if (a[1] != a[2] || a[2] == 0) bad++; t += a[2] } } END { print (bad ? "bad" : "ok") " " t }' <<<"$spread")" \
		"ok 16" "on $parts partitions every partition holds customers, each drawn there ($spread)"
	if [ $parts = 2 ]; then	# R-LED-5 across partitions: one payment id credits one customer
		a=$(q gpubill_px_p0 -c "SELECT min(customer_id) FROM gpubill.customer c JOIN gpubill.wallet w USING (customer_id) WHERE gpubill.currency(w.cash) = 'CNY'")
		b=$(q gpubill_px_p1 -c "SELECT min(customer_id) FROM gpubill.customer c JOIN gpubill.wallet w USING (customer_id) WHERE gpubill.currency(w.cash) = 'CNY'")
		cash() { q gpubill_px_proxy -c "SELECT (SELECT cash FROM gpubill.wallet($a))::text || ' / ' || (SELECT cash FROM gpubill.wallet($b))::text"; }
		before=$(cash)
		pay="SELECT gpubill.recharge(%s, '10 CNY', 'stripe', 'pay-42', '2026-11-02')"
		ok "$(q gpubill_px_proxy -c "SELECT gpubill.partition_of($a) <> gpubill.partition_of($b)")" "t" "two customers on different partitions"
		first=$(q gpubill_px_proxy -c "$(printf "$pay" $a)")
		ok "$(q gpubill_px_proxy -c "$(printf "$pay" $b)" 2>&1 | grep -o 'request id "stripe:pay-42" was already used with other arguments')" \
			'request id "stripe:pay-42" was already used with other arguments' \
			"the payment id stripe:pay-42 that credited one customer is refused for a customer on another partition (GB005)"
		ok "$(q gpubill_px_proxy -c "$(printf "$pay" $a)")" "$first" "a retry for the first customer is the same recharge"
		ok "$(q gpubill_px_proxy -c "SELECT ((SELECT cash FROM gpubill.wallet($a)) OPERATOR(gpubill.-) '10 CNY'::gpubill.amount)::text || ' / ' || (SELECT cash FROM gpubill.wallet($b))::text")" \
			"$before" "one payment credited one customer, once"
		ok "$(q gpubill_px_p0 -c "SELECT customer_id FROM gpubill.payment_claim WHERE (channel, external_id) = ('stripe', 'pay-42')")" "$a" \
			"partition 0's registry holds the payment id's customer"
		# one set of settings: set on every partition through the proxy; verify() there compares their digests
		same="SELECT ok FROM gpubill.verify() WHERE check_name = 'settings are the same on every partition'"
		ok "$(q gpubill_px_proxy -c "SELECT gpubill.set_setting('service_fee_rate', '0.25')" 2>&1)$(for k in 0 1; do
			q gpubill_px_p$k -c "SELECT ' ' || gpubill.setting('service_fee_rate')"; done | tr -d '\n')" " 0.25 0.25" \
			"set_setting() through the proxy changes the setting on every partition"
		ok "$(q gpubill_px_proxy -c "$same")/$(q gpubill_px_proxy -c "SELECT count(*) FILTER (WHERE NOT ok) FROM gpubill.verify()")" "t/0" \
			"verify() through the proxy: every partition's checks and the settings digests, all ok"
		q gpubill_px_p1 -c "SELECT gpubill.set_setting('service_fee_rate', '0.3')" >/dev/null
		ok "$(q gpubill_px_proxy -c "$same")" "f" "a partition whose settings differ is found by verify() through the proxy"
		q gpubill_px_proxy -c "SELECT gpubill.set_setting('service_fee_rate', '0.25')" >/dev/null
		ok "$(q gpubill_px_proxy -c "$same")" "t" "and set_setting() again through the proxy repairs it"
		# the admin's acts on every partition
		q gpubill_px_proxy -c "SELECT gpubill.set_commission_tiers('[{\"from\": 0, \"rate\": 0.05}, {\"from\": 100000, \"rate\": 0.04}]')" >/dev/null 2>&1 || true
		ok "$(for k in 0 1; do q gpubill_px_p$k -c "SELECT string_agg(min_volume || ':' || rate, ' ' ORDER BY min_volume) FROM gpubill.exchange_commission_tier"; done | tr '\n' '|')" \
			"0:0.05 100000:0.04|0:0.05 100000:0.04|" \
			"set_commission_tiers() through the proxy sets the same tiers on every partition"
		ok "$(q gpubill_px_proxy -c "SELECT gpubill.close_period('2026-11-01', '2026-12-02')")/$(for k in 0 1; do q gpubill_px_p$k -c "SELECT gpubill.closed_until()"; done | sort -u | wc -l)" \
			"1/1" "close_period() through the proxy closes November on every partition"
		ok "$(q gpubill_px_proxy -c "SELECT count(*) FILTER (WHERE NOT ok) FROM gpubill.verify(true)")" "0" \
			"verify(full => true) through the proxy is all ok after the close"
		# an admin act keyed by a transfer runs on the transfer's partition
		for i in $(seq 1 16); do	# a new customer on partition 1, recharged in the open month
			c1=$(q gpubill_px_proxy -c "SELECT gpubill.open_customer('pxs-rev-$i', 'CNY', '2026-12-01')")
			[ "$(q gpubill_px_proxy -c "SELECT gpubill.partition_of($c1)")" = 1 ] && break
		done
		rid=$(q gpubill_px_proxy -c "SELECT gpubill.recharge($c1, '10 CNY', 'alipay', 'pxs-rev', '2026-12-02')")
		tr=$(q gpubill_px_p1 -c "SELECT transfer_id FROM gpubill.transfer WHERE kind = 'recharge' AND object_id = $rid")
		ok "$(q gpubill_px_proxy -c "SELECT gpubill.reverse_transfer($tr, 'proxy test', '2026-12-02') IS NOT NULL" 2>&1)/$(q gpubill_px_p1 -c "SELECT count(*) FROM gpubill.reversal WHERE reverses = $tr")" \
			"t/1" "reverse_transfer() through the proxy reverses a transfer on its partition"
	fi
	for k in $(seq 0 $((parts - 1))); do psql -qX -d postgres -c "DROP DATABASE gpubill_px_p$k WITH (FORCE)" >/dev/null; done
done
ok "$(q gpubill_px_proxy -c "SELECT gpubill.configure_partitions(ARRAY['dbname=a', 'dbname=b', 'dbname=c'])" 2>&1 | grep -c 'must be a power of two' || true)" "1" \
	"three partitions are refused (22023)"
psql -qX -d postgres -c "DROP DATABASE gpubill_px_proxy WITH (FORCE)" -c "DROP DATABASE gpubill_px_one" >/dev/null
echo "1..$n"
