#!/usr/bin/env bash
# TAP: kill -9 while money moves (issue 11; R-CLK-2, R-LED-5, R-LED-3).
# The database runs with synchronous_commit = on, so a call acknowledged to
# its client is durable.  Four clients make money calls — recharges (each
# with its own external id), vouchers and PAYG instances with request ids —
# and a fifth ticks an hour at a time; each writes down every call the server
# acknowledged.  A backend is killed with SIGKILL mid-work (the postmaster
# then restarts every backend, and what is not on disk is lost).  After
# recovery every acknowledged call is in the journal, no call moved money
# twice (a retry of each acknowledged request moves nothing), the next tick
# completes the work exactly once, and verify() is all ok.
# Needs a running cluster (PGHOST/PGPORT/PGUSER), as scripts/test.sh provides.
set -euo pipefail
db=gpubill_crash
. "$(dirname "$0")/../scripts/tap.sh"
q() { psql -qXAt -d "$db" -v ON_ERROR_STOP=1 "$@"; }
echo "1..8"

PGOPTIONS="-c client_min_messages=warning" psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" \
	-c "ALTER DATABASE $db SET synchronous_commit = on" >/dev/null
q >/dev/null <<'SQL'
CREATE EXTENSION gpubill;
SET search_path = gpubill;
SELECT set_setting('payg_limit_instances', '1000');
SELECT open_partner('crash-owner', 'CNY', '2026-11-01');
SELECT list_machine((SELECT partner_id FROM partner), 100000, '1.00 CNY', '2030-01-01', at => '2026-11-01');
SELECT open_customer('crash-' || i, 'CNY', '2026-11-01') FROM generate_series(1, 40) i;
SELECT recharge(customer_id, '100000 CNY', 'wechat', 'crash-setup-' || customer_id, '2026-11-01') FROM customer;
-- the witness: one instance that runs throughout, settled by every tick
SELECT create_instance((SELECT min(customer_id) FROM customer), (SELECT machine_id FROM machine), 1, at => '2026-11-02 00:00+08');
SQL
ok "$(q -c "SHOW synchronous_commit")" "on" "the crash database commits synchronously"
read -r cmin cmax <<<"$(q -c "SELECT min(customer_id) || ' ' || max(customer_id) FROM gpubill.customer")"
machine=$(q -c "SELECT machine_id FROM gpubill.machine")
witness=$(q -c "SELECT min(instance_id) FROM gpubill.instance")
dir=$(mktemp -d)
chmod 755 "$dir"
trap '[ -d "$dir" ] && touch "$dir/stop"; true' EXIT	# the clients stop with the test, whatever ends it

# a client: calls until told to stop; an acknowledged call is written down
client() {
	local k=$1 i=0 c
	while [ ! -f "$dir/stop" ]; do
		i=$((i + 1))
		c=$((cmin + (i * 7 + k) % (cmax - cmin + 1)))
		case $((i % 3)) in
			0) psql -qXAt -d "$db" -c "SELECT gpubill.recharge($c, '1.25 CNY', 'alipay', 'crash-$k-$i', '2026-11-02')" \
				>/dev/null 2>&1 && echo "recharge alipay:crash-$k-$i" >>"$dir/ack.$k" ;;
			1) psql -qXAt -d "$db" -c "SELECT gpubill.grant_voucher($c, '0.50 CNY', NULL, '2026-11-02', 'v-$k-$i')" \
				>/dev/null 2>&1 && echo "grant_voucher v-$k-$i" >>"$dir/ack.$k" ;;
			2) psql -qXAt -d "$db" -c "SELECT gpubill.create_instance($c, $machine, 1, at => '2026-11-02 00:00+08', request_id => 'i-$k-$i')" \
				>/dev/null 2>&1 && echo "create_instance i-$k-$i" >>"$dir/ack.$k" ;;
		esac
	done
}
ticker() {
	local h=0
	while [ ! -f "$dir/stop" ]; do
		h=$((h + 1))
		if psql -qXAt -d "$db" -c "SELECT gpubill.tick(timestamptz '2026-11-02 00:00+08' + $h * interval '1 hour')" >/dev/null 2>&1; then
			echo "$h" >>"$dir/ticks"
		else
			h=$((h - 1)); sleep 0.2
		fi
	done
}
for k in 1 2 3 4; do client $k & done
ticker &
sleep 4
# kill the backend of a tick at work (or any busy one); a backend that ended
# between the look and the kill is looked for again
pid=
killed=
for _ in $(seq 1 200); do
	pid=$(q -c "SELECT pid FROM pg_stat_activity WHERE datname = '$db' AND state = 'active' AND pid <> pg_backend_pid()
				ORDER BY (query LIKE '%tick(%') DESC LIMIT 1")
	acked_before=$(cat "$dir"/ack.* 2>/dev/null | wc -l)
	if [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; then
		killed=$pid
		break
	fi
	sleep 0.05
done
pid=$killed
sleep 3
touch "$dir/stop"
wait || true
for _ in $(seq 1 60); do
	q -c "SELECT 1" >/dev/null 2>&1 && break
	sleep 0.5
done
ok "$([ -n "$pid" ] && [ "$acked_before" -gt 0 ] && echo killed)" "killed" \
	"a busy backend was killed with SIGKILL after $acked_before acknowledged calls"
ok "$(q -c "SELECT 1")" "1" "the cluster recovered"

# every acknowledged call is there
cat "$dir"/ack.* >"$dir/acked"
q -c "CREATE TABLE public.acked (fn text, request_id text)"
q -c "\\copy public.acked FROM '$dir/acked' (DELIMITER ' ')"
ok "$(q -c "SELECT count(*) FROM public.acked a WHERE NOT EXISTS (SELECT FROM gpubill.request r
			WHERE r.fn = a.fn AND r.request_id = a.request_id)")" "0" \
	"every acknowledged call of the $(wc -l <"$dir/acked") is in the database"
ok "$(q -c "SELECT count(*) FROM public.acked a JOIN gpubill.request r ON r.fn = a.fn AND r.request_id = a.request_id
			WHERE NOT EXISTS (SELECT FROM gpubill.transfer t WHERE t.object_id = r.result AND t.customer_id = r.customer_id)
			  AND NOT EXISTS (SELECT FROM gpubill.instance i WHERE i.instance_id = r.result)")" "0" \
	"and its money moved (a recharge or voucher transfer, an instance with its hold)"
last=$(tail -n 1 "$dir/ticks" 2>/dev/null || echo 0)
ok "$(q -c "SELECT count(*) FROM gpubill.order_line o
			WHERE o.instance_id = $witness AND upper(o.usage) = timestamptz '2026-11-02 00:00+08' + $last * interval '1 hour'")" "1" \
	"the last acknowledged tick (hour $last) is in the journal"

# a retry of every acknowledged call moves nothing; the next tick completes the work once
before=$(q -c "SELECT count(*) FROM gpubill.transfer")
q -c "SELECT count(gpubill.recharge(r.customer_id, '1.25 CNY', 'alipay', split_part(r.request_id, ':', 2), '2026-11-02'))
	  FROM gpubill.request r WHERE r.fn = 'recharge' AND r.request_id LIKE 'alipay:crash-%'" >/dev/null
q -c "SELECT count(gpubill.grant_voucher(r.customer_id, '0.50 CNY', NULL, '2026-11-02', r.request_id))
	  FROM gpubill.request r WHERE r.fn = 'grant_voucher'" >/dev/null
ok "$(q -c "SELECT count(*) - $before FROM gpubill.transfer")" "0" "retrying every acknowledged payment moves nothing"
q -c "SELECT gpubill.tick(timestamptz '2026-11-02 00:00+08' + ($last + 2) * interval '1 hour')" >/dev/null
ok "$(q -c "SELECT count(*) FROM gpubill.order_line a JOIN gpubill.order_line b
			ON a.instance_id = b.instance_id AND a.line_id < b.line_id
			AND lower(a.usage) < upper(b.usage) AND lower(b.usage) < upper(a.usage)") $(q -c "SELECT count(*) FILTER (WHERE NOT ok) FROM gpubill.verify()")" \
	"0 0" "after the next tick no usage is charged twice and verify() is all ok"
[ -n "${KEEP:-}" ] || rm -rf "$dir"; echo "# $dir"
