#!/usr/bin/env bash
# TAP: withdrawals of one partner raced from 8 sessions in one month (R-PRT-4):
# exactly one lands, the others get GB002, the journal moves the money once.
# Needs a running cluster (PGHOST/PGPORT/PGUSER), as scripts/test.sh provides.
set -euo pipefail
. "$(dirname "$0")/../scripts/barrier.sh"	# racing sessions released together
db=gpubill_withdrawals
sessions=8
. "$(dirname "$0")/../scripts/tap.sh"
q() { psql -qXAt -d "$db" -v ON_ERROR_STOP=1 "$@"; }
echo "1..3"

PGOPTIONS="-c client_min_messages=warning" psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
p=$(q <<'SQL' | tail -1
CREATE EXTENSION gpubill;
SET search_path = gpubill, public;
SELECT set_setting('machine_deposit', '0');
SELECT open_partner('wd-owner', 'CNY', '2026-10-01') AS p \gset
SELECT list_machine(:p, 4, '10.00 CNY', '2027-12-01', at => '2026-10-01') AS m \gset
SELECT open_customer('wd-c', 'CNY', '2026-10-01') AS c \gset
SELECT recharge(:c, '1000.00 CNY', 'wechat', 'wd-c-1', '2026-10-01') IS NOT NULL;
SELECT create_instance(:c, :m, 1, at => '2026-10-20 10:00+08') IS NOT NULL;
SELECT tick('2026-10-21 10:00+08') IS NOT NULL;
SELECT :p;
SQL
)
out=$(mktemp)
barrier_hold "$db" 4243
for i in $(seq 1 $sessions); do
	psql -qXAt -d "$db" -v VERBOSITY=sqlstate -c "SELECT pg_advisory_lock_shared(4243)" \
		-c "SELECT 'landed' FROM gpubill.request_withdrawal($p, '10.00 CNY', '2026-11-15 10:00+08', 'race-$i')" 2>&1 |
		grep -v '^$' | tail -1 >>"$out" &
done
barrier_release $sessions
wait
ok "$(grep -c '^landed' "$out")/$(grep -c 'GB002' "$out")" "1/$((sessions - 1))" \
	"$sessions sessions at once: one withdrawal lands, $((sessions - 1)) get GB002"
ok "$(q -c "SELECT count(*) || ' ' || gpubill.sum(amount) FROM gpubill.transfer WHERE kind = 'withdrawal'")" "1 10.00 CNY" \
	"the journal pays out once"
ok "$(q -c "SELECT count(*) FILTER (WHERE NOT ok) FROM gpubill.verify()")" "0" "verify() is all ok"
rm -f "$out"
