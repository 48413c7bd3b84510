#!/usr/bin/env bash
# TAP: a machine taken offline by force while 10 sessions rent on it (R-PRT-6,
# R-PRT-8), three rounds: every rental either lands before the offline (and is
# stopped and compensated) or is refused with GB004; no deadlock, no instance
# left running, the journal balanced.
# Needs a running cluster (PGHOST/PGPORT/PGUSER), as scripts/test.sh provides.
set -euo pipefail
. "$(dirname "$0")/../scripts/barrier.sh"	# racing sessions released together
db=gpubill_offline
sessions=10
rounds=3
. "$(dirname "$0")/../scripts/tap.sh"
q() { PGOPTIONS="-c search_path=gpubill,public" psql -qXAt -d "$db" -v ON_ERROR_STOP=1 "$@"; }
echo "1..$((rounds * 2 + 3))"

PGOPTIONS="-c client_min_messages=warning" psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
q >/dev/null <<SQL
CREATE EXTENSION gpubill;
SET search_path = gpubill, public;
SELECT open_partner('off-owner', 'CNY', '2026-10-01') AS p \gset
SELECT list_machine(:p, 16, '10.00 CNY', '2027-12-01', at => '2026-10-01') FROM generate_series(1, $rounds);
SELECT recharge(open_customer('off-c' || i, 'CNY', '2026-10-01'), '1000.00 CNY', 'wechat', 'off-' || i, '2026-10-01')
FROM generate_series(1, $sessions * $rounds) i;
SQL
machines=($(q -c "SELECT machine_id FROM gpubill.machine ORDER BY machine_id"))
out=$(mktemp)
for r in $(seq 1 $rounds); do
	m=${machines[$((r - 1))]}
	: >"$out"
	barrier_hold "$db" 4244
	for i in $(seq 1 $sessions); do
		c=$(( (r - 1) * sessions + i ))
		psql -qXAt -d "$db" -v VERBOSITY=sqlstate -c "SELECT pg_advisory_lock_shared(4244)" \
			-c "SELECT pg_sleep(random() * 0.05)" \
			-c "SELECT 'landed' FROM gpubill.create_instance((SELECT customer_id FROM gpubill.customer WHERE external_ref = 'off-c$c'), $m, 1, at => '2026-11-10 10:00+08')" \
			2>&1 | grep -v '^$' | tail -1 >>"$out" &
	done
	psql -qXAt -d "$db" -v VERBOSITY=sqlstate -c "SELECT pg_advisory_lock_shared(4244)" -c "SELECT pg_sleep(0.02)" \
		-c "SELECT 'offline' FROM gpubill.take_offline($m, true, '2026-11-10 10:30+08')" 2>&1 | grep -v '^$' | tail -1 >>"$out" &
	barrier_release $((sessions + 1))
	wait
	landed=$(grep -c '^landed' "$out" || true)
	refused=$(grep -c 'GB004' "$out" || true)
	ok "$(grep -c '^offline' "$out")/$((landed + refused))" "1/$sessions" \
		"round $r: the offline lands; each of $sessions rentals lands ($landed) or gets GB004 ($refused), nothing else"
	ok "$(q -c "SELECT count(*) FILTER (WHERE i.state = 'stopped' AND i.stop_reason = 'machine_offline' AND c.amount = '10.00 CNY')
					|| '/' || count(*) FILTER (WHERE i.state = 'running')
				FROM gpubill.instance i LEFT JOIN gpubill.outage_compensation c USING (instance_id) WHERE i.machine_id = $m")" "$landed/0" \
		"round $r: every rental that landed was stopped and compensated its held hour; none runs"
done
ok "$(q -c "SELECT count(*) FROM gpubill.machine WHERE state = 'offline'")" "$rounds" "every machine is offline"
ok "$(q -c "SELECT gpubill.sum(amount) = (SELECT gpubill.sum(amount) FROM gpubill.outage_compensation)
			FROM gpubill.transfer WHERE kind = 'compensation' AND partner_id IS NOT NULL")" "t" \
	"the partner paid exactly the compensation"
ok "$(q -c "SELECT count(*) FILTER (WHERE NOT ok) FROM gpubill.verify()")" "0" "verify() is all ok"
rm -f "$out"
