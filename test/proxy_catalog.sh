#!/usr/bin/env bash
# TAP: partners and machines on every partition behind the proxy (issue 17, item 4).
#  - a partner opened and a machine listed through the proxy live at the
#    partner's home partition and are copied to every partition, with the
#    home's version; nothing stays queued;
#  - a customer on another partition rents the machine through the proxy and
#    its settlement pays the partner's income there (its accounts were
#    opened with the copy);
#  - a copy is changed only from its home: a call on another partition is
#    refused (GB004) and leaves nothing;
#  - a change made at home without the proxy is found by verify() through
#    the proxy (catalogue digests differ) and pushed by the next tick;
#  - tick through the proxy is refused (GB004) while the partitions'
#    settings differ, and runs once set_setting() repaired them;
#  - tick's notice of a machine's end (R-PRT-5) alerts the customers on every
#    partition, and leaves every copy equal to its home.
# Needs a running cluster (PGHOST/PGPORT/PGUSER) with postgresql-15-plproxy.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/cluster.sh
export PGOPTIONS="-c client_min_messages=warning"
. scripts/tap.sh
px=$(cluster_partitions 2 gpubill_pc)
P=gpubill_pc_p
on_each() { for k in 0 1; do q $P$k -c "$1"; done | paste -sd' ' -; }
digests() { on_each "SELECT gpubill.catalog_digest()" | tr ' ' '\n' | sort -u | wc -l; }
unqueued() { on_each "SELECT count(*) FROM gpubill.catalog_outbox"; }
bad_checks() { q $px -c "SELECT coalesce(string_agg(check_name, ', '), '') FROM gpubill.verify() WHERE NOT ok"; }

# a partner at home on one partition, a customer on the other
partner=$(q $px -c "SELECT gpubill.open_partner('pc-partner', 'CNY', '2026-11-01 00:00+08')")
home=$(q $px -c "SELECT gpubill.partition_of($partner)")
other=$((1 - home))
for i in $(seq 1 20); do
	c=$(q $px -c "SELECT gpubill.open_customer('pc-customer-$i', 'CNY', '2026-11-01 00:00+08')")
	[ "$(q $px -c "SELECT gpubill.partition_of($c)")" = "$other" ] && break
done
ok "$(q $px -c "SELECT gpubill.partition_of($c)")" "$other" "a customer on the partition that is not the partner's home"
ok "$(on_each "SELECT count(*) FROM gpubill.partner WHERE partner_id = $partner")" "1 1" \
	"the partner opened through the proxy is on every partition"
machine=$(q $px -c "SELECT gpubill.list_machine($partner, 1, '10.00 CNY', '2026-11-25 00:00+08', at => '2026-11-01 00:00+08')")
ok "$(q $px -c "SELECT gpubill.partition_of($machine)")" "$home" "the machine is drawn at its partner's home"
ok "$(on_each "SELECT version || ' ' || state FROM gpubill.machine WHERE machine_id = $machine" | awk '{ print ($1 == $3) ? "same version" : $0 }')" \
	"same version" "the machine listed through the proxy is copied to the other partition with its home's version"
ok "$(unqueued)" "0 0" "nothing stays queued once pushed"
ok "$(digests)" "1" "the partitions' catalogue digests agree"
ok "$(q $P$other -c "SELECT count(*) FROM gpubill.accounts WHERE owner_kind = 'partner' AND owner_id = $partner")" "2" \
	"the copy opened the partner's income and deposit accounts on the other partition"

# a customer on the other partition rents the machine through the proxy; its settlement pays the partner there
q $px -c "SELECT gpubill.recharge($c, '5000 CNY', 'alipay', 'pc-1', '2026-11-01 00:00+08')" >/dev/null
inst=$(q $px -c "SELECT gpubill.create_instance($c, $machine, 1, at => '2026-11-01 01:00+08')")
ok "$(q $px -c "SELECT gpubill.partition_of($inst)")" "$other" "a customer rents a machine homed on another partition through the proxy"
q $px -c "SELECT gpubill.tick('2026-11-01 03:00+08')" >/dev/null
ok "$(q $P$other -c "SELECT balance::text FROM gpubill.accounts WHERE owner_kind = 'partner' AND owner_id = $partner AND purpose = 'income'")" "16.00 CNY" \
	"its two hours settled pay the partner's income on the customer's partition (2 x 10.00 less the 20% fee)"

# a copy changes only at home
out=$(q $P$other -c "SELECT gpubill.delist_machine($machine, '2026-11-01 04:00+08')" 2>&1 || true)
ok "$(grep -o "machine $machine is a copy of partition $home's: it changes there" <<<"$out")" \
	"machine $machine is a copy of partition $home's: it changes there" "a catalogue act on a copy is refused (GB004)"
ok "$(q $P$other -c "SELECT state FROM gpubill.machine WHERE machine_id = $machine")" "listed" "and leaves the copy as it was"
sqlstate=$(q $P$other -c "DO \$\$ BEGIN PERFORM gpubill.rate_partner($partner, 5, 'r-1', '2026-11-01 04:00+08'); EXCEPTION WHEN OTHERS THEN RAISE WARNING '%', SQLSTATE; END \$\$" 2>&1 | grep -o 'GB[0-9]*' || true)
ok "$sqlstate" "GB004" "rating a partner on a partition that holds its copy is refused with GB004"

# a change at home that missed the proxy: found by verify, pushed by the next tick
q $P$home -c "SELECT gpubill.delist_machine($machine, '2026-11-01 04:00+08')" >/dev/null
ok "$(bad_checks)" "partners and machines are the same on every partition" \
	"a machine delisted at home without the proxy: verify() through the proxy finds the copies differ"
q $px -c "SELECT gpubill.tick('2026-11-01 05:00+08')" >/dev/null
ok "$(on_each "SELECT state FROM gpubill.machine WHERE machine_id = $machine")" "delisted delisted" "the next tick through the proxy pushes it"
ok "$(on_each "SELECT version FROM gpubill.machine WHERE machine_id = $machine" | awk '{ print ($1 == $2 && $1 > 0) ? "newer, same" : $0 }')" \
	"newer, same" "the change took a new version at home, and the copy has it"
ok "$(bad_checks)" "" "verify() through the proxy is all ok again"

# settings that differ stop the clock
q $P$other -c "SELECT gpubill.set_setting('service_fee_rate', '0.25')" >/dev/null
out=$(q $px -c "SELECT gpubill.tick('2026-11-01 06:00+08')" 2>&1 || true)
ok "$(grep -o "the partitions' settings differ (2 different digests over 2 partitions): no tick" <<<"$out")" \
	"the partitions' settings differ (2 different digests over 2 partitions): no tick" \
	"tick through the proxy is refused while the partitions' settings differ"
ok "$(on_each "SELECT count(*) FROM gpubill.transfer WHERE at > '2026-11-01 05:00+08'")" "0 0" "and moved nothing"
q $px -c "SELECT gpubill.set_setting('service_fee_rate', '0.20')" >/dev/null
ok "$(q $px -c "SELECT (gpubill.tick('2026-11-01 06:00+08') -> 'payg' ->> 'settled')::int > 0")" "t" "set_setting() through the proxy repairs them: the tick runs"

# R-PRT-5: the notice of the machine's end alerts the customer on the other partition
q $px -c "SELECT gpubill.tick('2026-11-15 00:00+08')" >/dev/null
ok "$(q $P$other -c "SELECT count(*) FROM gpubill.alert WHERE kind = 'migrate_data' AND customer_id = $c")" "1" \
	"the machine's end notice (R-PRT-5) alerts its customer on the other partition"
ok "$(on_each "SELECT end_notice_at IS NOT NULL FROM gpubill.machine WHERE machine_id = $machine")" "t t" "every copy carries the notice"
ok "$(digests) $(unqueued)" "1 0 0" "and every copy equals its home, nothing queued"
ok "$(bad_checks)" "" "verify() through the proxy is all ok at the end"

# R-PRT-1 on every partition: the voucher permission changed at home; the renter elsewhere follows from that instant
q $px -c "SELECT gpubill.set_vouchers_allowed($machine, false, '2026-11-15 00:30+08')" >/dev/null
ok "$(q $P$other -c "SELECT cash_only FROM gpubill.instance WHERE instance_id = $inst") $(q $P$other -c "SELECT count(*) FROM gpubill.order_line WHERE instance_id = $inst AND upper(usage) = '2026-11-15 00:30+08'")" \
	"t 1" "vouchers refused on the machine at home: the instance on the other partition is settled up to that instant and is cash-only from it"
ok "$(q $px -c "SELECT gpubill.remove_machine($machine, '2026-11-15 01:00+08')" 2>&1 | grep -o 'still has 1 instances not released' || true)" \
	"still has 1 instances not released" "the machine is not removed while its renter on the other partition runs (GB004)"

# after a restore the queue (not dumped) is filled again by requeue_catalog(); pushing it again changes nothing
ok "$(q $P$home -c "SELECT gpubill.requeue_catalog()")" "2" "requeue_catalog() queues every partner and machine homed on the partition"
ok "$(q $px -c "SELECT gpubill.sync_catalog()") $(unqueued) $(digests)" "2 0 0 1" "sync_catalog() through the proxy pushes them again: nothing queued, the copies unchanged"
out=$(q $P$other -c "BEGIN; SET LOCAL ROLE gpubill_app; DO \$\$ BEGIN PERFORM gpubill.requeue_catalog(); EXCEPTION WHEN OTHERS THEN RAISE WARNING '%', SQLSTATE; END \$\$; COMMIT" 2>&1 || true)
ok "$(grep -o '42501' <<<"$out")" "42501" "requeue_catalog() is gpubill_admin's (42501 for gpubill_app)"

psql -qX -d postgres -c "DROP DATABASE gpubill_pc_proxy WITH (FORCE)" -c "DROP DATABASE gpubill_pc_p0 WITH (FORCE)" \
	-c "DROP DATABASE gpubill_pc_p1 WITH (FORCE)" >/dev/null
echo "1..$n"
