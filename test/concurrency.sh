#!/usr/bin/env bash
# TAP: the ledger under real concurrency (R-LED-5, R-LED-6, R-LED-3).
#  - 8 pgbench clients move money of 4 shared customers to 3 partners at once;
#    verify() stays all ok and every total is exact;
#  - 8 sessions released at the same instant send one request id: it lands once.
# Needs a running cluster (PGHOST/PGPORT/PGUSER), as scripts/test.sh provides.
set -euo pipefail
. "$(dirname "$0")/../scripts/barrier.sh"	# racing sessions released together
db=gpubill_concurrency
clients=8
per_client=150

PGOPTIONS="-c client_min_messages=warning" psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
psql -qX -d $db -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE EXTENSION gpubill;
CREATE EXTENSION pgtap;
DO $$ BEGIN
	CREATE ROLE gpubill_test_app LOGIN IN ROLE gpubill_app;
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
SELECT gpubill.open_customer('conc-' || i, 'CNY', '2026-11-01') FROM generate_series(1, 5) i;
SELECT gpubill.open_partner('conc-partner-' || i, 'CNY', '2026-11-01') FROM generate_series(1, 3) i;
SQL
ids() { psql -qXAt -d $db -c "SELECT string_agg($1::text, ' ' ORDER BY $1) FROM $2"; }
read -r c1 c2 c3 c4 c5 <<<"$(ids customer_id gpubill.customer)"
read -r p1 p2 p3 <<<"$(ids partner_id gpubill.partner)"

# 1. the ledger mix from 8 clients at once, as gpubill_app
pgbench -n -c $clients -j 2 -t $per_client -U gpubill_test_app \
	-D c1=$c1 -D c2=$c2 -D c3=$c3 -D c4=$c4 -D p1=$p1 -D p2=$p2 -D p3=$p3 \
	-f test/pgbench/ledger_mix.sql $db >"${TMPDIR:-/tmp}/gpubill_conc_pgbench.log" 2>&1 ||
	{ cat "${TMPDIR:-/tmp}/gpubill_conc_pgbench.log" >&2; }

# 2. one request id from 8 sessions released at one instant
race() {	# race SQL-of-session-i: runs 8 sessions behind a barrier, prints their results
	barrier_hold $db 4242
	for i in $(seq 1 $clients); do
		psql -qXAt -d $db -U gpubill_test_app -v VERBOSITY=terse -c "SELECT pg_advisory_lock_shared(4242);" \
			-c "$(printf "$1" "$i")" 2>&1 | grep -v '^$' | tail -1 &
	done
	barrier_release $clients
	wait
}
same_customer=$(race "SELECT gpubill.recharge($c5, '7.00 CNY', 'alipay', 'same-webhook')" | sort | uniq -c | wc -l)
other_customers=$(race "SELECT gpubill.recharge((ARRAY[$c1,$c2,$c3,$c4,$c1,$c2,$c3,$c4])[%s], '9.00 CNY', 'crypto', 'same-tx')" |
	grep -c 'already used with other arguments' || true)

psql -qXAt -d $db -v clients=$clients -v per_client=$per_client -v c5=$c5 \
	-v same_customer="$same_customer" -v other_customers="$other_customers" <<'SQL'
SET search_path = gpubill, public;
SELECT plan(9);
\set n :clients * :per_client
SELECT is((SELECT count(*) FROM verify() WHERE NOT ok), 0::bigint, 'verify() is all ok after 8 concurrent clients');
SELECT is((SELECT count(*) FROM recharge WHERE channel = 'stripe'), (:clients * :per_client)::bigint,
		  'every transaction of every client landed');
SELECT is((SELECT sum(amount) FROM recharge WHERE channel = 'stripe'), amount(10.00 * :clients * :per_client, 'CNY'),
		  'recharges total exactly 10.00 per transaction');
SELECT is((SELECT sum(cash + vouchers) FROM wallet w JOIN customer c USING (customer_id) WHERE c.external_ref IN ('conc-1', 'conc-2', 'conc-3', 'conc-4')),
		  amount((10.00 + 1.00 - 3.00) * :clients * :per_client, 'CNY')
		  + (SELECT sum(amount) FROM recharge WHERE channel = 'crypto'),
		  'customers keep exactly 8.00 per transaction (10 recharged + 1 voucher - 3 captured), plus the raced recharge');
SELECT is((SELECT sum(held) FROM wallet), '0 CNY'::amount, 'no hold is left active');
SELECT is((SELECT sum(amount) FROM transfer WHERE kind IN ('income', 'fee', 'voucher_spend')),
		  amount(3.00 * :clients * :per_client, 'CNY'), 'captures total exactly 3.00 per transaction');
SELECT is((SELECT sum(a.balance) FROM accounts a WHERE a.owner_kind = 'partner' AND a.purpose = 'income')
		   + (SELECT sum(a.balance) FROM accounts a WHERE a.owner_kind = 'platform' AND a.purpose = 'fee'),
		  (SELECT sum(amount) FROM transfer WHERE kind IN ('income', 'fee')),
		  'partner income and platform fee add up to the cash captured');
SELECT is((SELECT count(*)::int FROM recharge WHERE external_id = 'same-webhook') * 100 + :same_customer, 101,
		  '8 sessions sending one webhook at once: one recharge, one answer for all');
SELECT is((SELECT count(*)::int FROM recharge WHERE external_id = 'same-tx') * 100 + :other_customers, 100 + 6,
		  'one transaction id claimed for several customers at once: lands once, the others get GB005');
SELECT * FROM finish();
SQL
