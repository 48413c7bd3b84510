#!/usr/bin/env bash
# TAP: exchange contracts under real concurrency (R-EXC-1, R-EXC-6, R-LED-5):
# a payment webhook delivered to 8 sessions at once lands once; 8 sessions
# reselling one contract to 8 buyers at once make exactly one resale; a tick
# racing them leaves the journal balanced.
# Needs a running cluster (PGHOST/PGPORT/PGUSER), as scripts/test.sh provides.
set -euo pipefail
. "$(dirname "$0")/../scripts/barrier.sh"	# racing sessions released together
db=gpubill_contracts
sessions=8
. "$(dirname "$0")/../scripts/tap.sh"
q() { PGOPTIONS="-c search_path=gpubill,public" psql -qXAt -d "$db" -v ON_ERROR_STOP=1 "$@"; }
echo "1..5"

PGOPTIONS="-c client_min_messages=warning" psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
read -r approved prefunded <<<"$(q <<SQL | tail -1
CREATE EXTENSION gpubill;
SET search_path = gpubill, public;
SELECT open_provider('cc-prov', 'USD', '2026-09-01') AS pv \gset
SELECT open_customer('cc-a', 'USD', '2026-09-01') AS a \gset
SELECT set_approved(:a, true);
SELECT open_customer('cc-r', 'USD', '2026-09-01') AS r \gset
SELECT recharge(:r, '30000.00 USD', 'stripe', 'cc-r', '2026-09-01') IS NOT NULL;
SELECT recharge(open_customer('cc-buyer-' || i, 'USD', '2026-09-01'), '30000.00 USD', 'stripe', 'cc-b' || i, '2026-09-01')
FROM generate_series(1, $sessions) i;
SELECT create_contract(:a, :pv, 1, '10.00 USD', '[2026-12-01 00:00+08, 2027-03-31 00:00+08)', '2026-11-20 10:00+08') AS ca \gset
SELECT create_contract(:r, :pv, 1, '10.00 USD', '[2026-10-01 00:00+08, 2027-01-29 00:00+08)', '2026-09-20 10:00+08') AS cr \gset
SELECT tick('2026-11-02 00:00+08') IS NOT NULL;
SELECT :ca || ' ' || :cr;
SQL
)"
out=$(mktemp)
barrier_hold "$db" 4245
for i in $(seq 1 $sessions); do
	psql -qXAt -d "$db" -v VERBOSITY=sqlstate -c "SELECT pg_advisory_lock_shared(4245)" \
		-c "SELECT 'paid ' || gpubill.pay_contract($approved, '9576.00 USD', 'wire-1', '2026-11-21 10:00+08')" 2>&1 |
		grep -v '^$' | tail -1 >>"$out" &
done
barrier_release $sessions
wait
ok "$(sort -u "$out" | grep -c '^paid')/$(grep -c '^paid' "$out")" "1/$sessions" \
	"one webhook delivered to $sessions sessions at once: every call returns the same payment"
ok "$(q -c "SELECT count(*) || ' ' || sum(gross) FROM contract_receipt WHERE contract_id = $approved")" "1 7440.00 USD" \
	"the provider is credited once"

: >"$out"
barrier_hold "$db" 4246
for i in $(seq 1 $sessions); do
	psql -qXAt -d "$db" -v VERBOSITY=sqlstate -c "SELECT pg_advisory_lock_shared(4246)" \
		-c "SELECT 'resold ' || gpubill.resell_contract($prefunded, (SELECT customer_id FROM gpubill.customer WHERE external_ref = 'cc-buyer-$i'), '11.00 USD', '2026-11-10 10:00+08')" \
		2>&1 | grep -v '^$' | tail -1 >>"$out" &
done
psql -qXAt -d "$db" -c "SELECT pg_advisory_lock_shared(4246)" -c "SELECT gpubill.tick('2026-11-10 12:00+08')" >/dev/null &
barrier_release $((sessions + 1))
wait
ok "$(grep -c '^resold' "$out")/$(grep -c 'GB004' "$out")" "1/$((sessions - 1))" \
	"$sessions buyers at once: one resale, $((sessions - 1)) get GB004"
ok "$(q -c "SELECT count(*) FROM contract WHERE resold_from = $prefunded")/$(q -c "SELECT count(*) FROM hold h WHERE object_type = 'contract' AND NOT EXISTS (SELECT FROM hold_end e WHERE e.hold_id = h.hold_id)")" "1/1" \
	"one new contract, one initial payment held"
ok "$(q -c "SELECT count(*) FILTER (WHERE NOT ok) FROM gpubill.verify()")" "0" "verify() is all ok"
rm -f "$out"
