#!/usr/bin/env bash
# TAP: a BI replica by logical replication (issue 16).  Two clusters of the
# tests' installation: a primary (wal_level = logical) publishes gpubill's
# data tables with create_publication(); a subscriber installs the same
# gpubill and subscribes; after a simulated day on the primary (two
# currencies, hourly ticks, a closed month) every view of gpubill and of
# gpubill_bi reads the same rows on both, and verify() is all ok there.
# Needs the tests' installation on PATH (as scripts/test.sh provides).
set -euo pipefail
cd "$(dirname "$0")/.."
export PGOPTIONS="-c client_min_messages=warning"
. scripts/tap.sh
bindir=$(dirname "$(command -v pg_ctl)")
work=$(mktemp -d /tmp/gpubill_repl.XXXXXX)
chmod 755 "$work"
as_pg() { if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
base=${PGPORT:-54329}
start() {	# start <name> <port> [conf lines...]
	local name=$1 port=$2
	shift 2
	mkdir -p "$work/$name" "$work/sock"
	[ "$(id -u)" -ne 0 ] || chown postgres: "$work/$name" "$work/sock"
	as_pg "$bindir/initdb" -D "$work/$name" -U postgres -E UTF8 --locale=C.UTF-8 --auth=trust >/dev/null
	{ echo "listen_addresses = ''"; echo "port = $port"; echo "unix_socket_directories = '$work/sock'"; echo "fsync = off"
	  for f in "$@"; do echo "$f"; done; } >>"$work/$name/postgresql.conf"
	as_pg "$bindir/pg_ctl" -D "$work/$name" -l "$work/sock/$name.log" -w start >/dev/null
}
primary=$((base + 2000))
replica=$((base + 2001))
stop() { for c in primary replica; do [ -f "$work/$c/postmaster.pid" ] && as_pg "$bindir/pg_ctl" -D "$work/$c" -m immediate -w stop >/dev/null 2>&1; done; rm -rf "$work"; }
trap stop EXIT
start primary $primary "wal_level = logical" "max_wal_senders = 4" "max_replication_slots = 4"
start replica $replica "max_logical_replication_workers = 4"
p() { psql -qXAt -h "$work/sock" -p $primary -U postgres -v ON_ERROR_STOP=1 "$@"; }
r() { psql -qXAt -h "$work/sock" -p $replica -U postgres -v ON_ERROR_STOP=1 "$@"; }
p -d postgres -c "CREATE DATABASE billing" >/dev/null
r -d postgres -c "CREATE DATABASE billing_bi" >/dev/null
p -d billing -c "CREATE EXTENSION gpubill" >/dev/null
r -d billing_bi -c "CREATE EXTENSION gpubill" >/dev/null

tables=$(p -d billing -c "BEGIN" -c "SET LOCAL ROLE gpubill_admin" -c "SELECT gpubill.create_publication('gpubill_data')" -c "COMMIT" | grep -E '^[0-9]+$')
ok "$tables" "$(p -d billing -c "SELECT count(*) FROM pg_extension e, unnest(e.extconfig) c JOIN pg_class k ON k.oid = c
	WHERE e.extname = 'gpubill' AND k.relkind IN ('r', 'p') AND NOT k.relispartition")" \
	"create_publication() publishes every data table of gpubill ($tables), the journal through its root"
ok "$(p -d billing -c "SELECT count(*) FROM pg_publication_tables WHERE pubname = 'gpubill_data' AND tablename IN ('setting_defaults', 'machine_transition', 'instance_transition', 'contract_transition')")" \
	"0" "and none of the tables CREATE EXTENSION fills"
r -d billing_bi -c "CREATE SUBSCRIPTION gpubill_bi CONNECTION 'host=$work/sock port=$primary user=postgres dbname=billing' PUBLICATION gpubill_data" >/dev/null

# a simulated day on the primary, a month closed
p -d billing -f test/fixtures/two_currencies.sql >/dev/null
p -d billing -c "SELECT gpubill.tick('2026-12-02 00:00+08') IS NOT NULL" -c "SELECT gpubill.close_period('2026-11-01', '2026-12-02 00:00+08')" >/dev/null

views="gpubill.customer_statement gpubill.partner_statement gpubill.platform_revenue gpubill.instance_usage gpubill.accounts
	gpubill.transfers gpubill.arrears gpubill.contract_receivables gpubill.open_alerts gpubill.lifecycle_events
	gpubill_bi.customer_statement gpubill_bi.partner_statement gpubill_bi.platform_revenue gpubill_bi.instance_usage
	gpubill_bi.accounts gpubill_bi.transfers gpubill_bi.wallets"
snapshot() { for v in $views; do echo "$v $("$@" -d "${DB}" -c "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM $v t")"; done; }
want=$(DB=billing snapshot p)
have=
for _ in $(seq 1 120); do	# the replica catches up (the initial copy, then the stream)
	have=$(DB=billing_bi snapshot r)
	[ "$have" = "$want" ] && break
	sleep 0.5
done
ok "$have" "$want" "every view of gpubill and gpubill_bi reads the same rows on the replica as on the primary"
ok "$(r -d billing_bi -c "SELECT count(*) FROM gpubill.transfer")" "$(p -d billing -c "SELECT count(*) FROM gpubill.transfer")" \
	"the replica holds the primary's journal"
ok "$(r -d billing_bi -c "SELECT count(*) FROM gpubill.closed_month")" "1" "and its closed month, read from the roll-ups"
ok "$(r -d billing_bi -c "SELECT string_agg(check_name, ', ') FROM gpubill.verify(full => true) WHERE NOT ok")" "" \
	"verify(full => true) is all ok on the replica"
r -d billing_bi -c "DROP SUBSCRIPTION gpubill_bi" >/dev/null
echo "1..$n"
