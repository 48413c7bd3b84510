#!/usr/bin/env bash
# TAP: a machine's GPUs claimed at its home behind the proxy (issue 17, item 5; R-PRT-1 across partitions).
#  - a 1-GPU machine rented by a customer on one partition is full for a
#    customer on another (GB002, the message of one database), nothing left;
#  - the claim is confirmed at the machine's home with the instance, the run
#    records its key on the customer's partition;
#  - a stopped run frees the GPU: the next rental drains the ended runs and
#    gets it; tick drains what is left; claims = running GPUs after it;
#  - a rental that fails on the customer's partition (GB001) releases its
#    claim; a repeated request is answered without a claim;
#  - a resize claims the new GPUs without counting the instance's own;
#  - claims a failed proxy left unconfirmed are confirmed if their run goes
#    on, released if not;
#  - pgbench through the proxy: customers on 4 partitions rent one 2-GPU
#    machine at once: exactly 2 rentals succeed and no sample after a rental
#    sees more than 2 GPUs running; then they rent and stop at once: the freed
#    GPUs are rented again, at most 2 run, claims = running GPUs after a tick.
# Needs a running cluster (PGHOST/PGPORT/PGUSER) with postgresql-15-plproxy.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/cluster.sh
export PGOPTIONS="-c client_min_messages=warning"
. scripts/tap.sh
px=$(cluster_partitions 4 gpubill_pk)
P=gpubill_pk_p
state() { q $px -c "SELECT coalesce((SELECT string_agg(machine_id || ':' || gpus, ',' ORDER BY machine_id) FROM gpubill.claimed_gpus_everywhere()), '-')
	|| ' / ' || coalesce((SELECT string_agg(machine_id || ':' || gpus, ',' ORDER BY machine_id) FROM (SELECT machine_id, sum(gpus) AS gpus FROM gpubill.running_gpus_everywhere() GROUP BY 1) r), '-')"; }
sqlstate() { q $px -c "DO \$\$ BEGIN PERFORM $1; RAISE WARNING 'none'; EXCEPTION WHEN OTHERS THEN RAISE WARNING '%', SQLSTATE; END \$\$" 2>&1 | sed -n 's/^WARNING: *//p'; }
bad_checks() { q $px -c "SELECT coalesce(string_agg(check_name, ', '), '') FROM gpubill.verify() WHERE NOT ok"; }

partner=$(q $px -c "SELECT gpubill.open_partner('pk-partner', 'CNY', '2026-11-01 00:00+08')")
small=$(q $px -c "SELECT gpubill.list_machine($partner, 1, '10.00 CNY', '2027-06-01 00:00+08', at => '2026-11-01 00:00+08')")
home=$(q $px -c "SELECT gpubill.partition_of($small)")
# two customers on each partition
declare -A on
for i in $(seq 1 64); do
	c=$(q $px -c "SELECT gpubill.open_customer('pk-c$i', 'CNY', '2026-11-01 00:00+08')")
	k=$(q $px -c "SELECT gpubill.partition_of($c)")
	[ -n "${on[$k,1]:-}" ] && [ -n "${on[$k,2]:-}" ] && continue
	if [ -z "${on[$k,1]:-}" ]; then on[$k,1]=$c; else on[$k,2]=$c; fi
	q $px -c "SELECT gpubill.recharge($c, '1000 CNY', 'alipay', 'pk-$c', '2026-11-01 00:00+08')" >/dev/null
done
all=$(for k in 0 1 2 3; do echo "${on[$k,1]:-} ${on[$k,2]:-}"; done | wc -w)
ok "$all" "8" "two customers on each of 4 partitions"
away=$(( (home + 1) % 4 )); far=$(( (home + 2) % 4 ))
a=${on[$away,1]}; b=${on[$far,1]}

# R-PRT-1: one GPU, two partitions
ia=$(q $px -c "SELECT gpubill.create_instance($a, $small, 1, at => '2026-11-02 00:00+08')")
ok "$(sqlstate "gpubill.create_instance($b, $small, 1, at => '2026-11-02 00:00+08')")" "GB002" \
	"the 1-GPU machine rented by a customer on partition $away is full for a customer on partition $far (GB002)"
ok "$(q $px -c "SELECT gpubill.create_instance($b, $small, 1, at => '2026-11-02 00:00+08')" 2>&1 | grep -o "machine $small has 0 of 1 GPUs free, 1 asked")" \
	"machine $small has 0 of 1 GPUs free, 1 asked" "with one database's message"
ok "$(q $P$far -c "SELECT count(*) FROM gpubill.instance WHERE customer_id = $b")" "0" "and nothing is left of the refused rental"
ok "$(q $P$home -c "SELECT gpus || ' ' || (instance_id = $ia) FROM gpubill.gpu_claim WHERE machine_id = $small")" "1 true" \
	"the claim at the machine's home is confirmed with the instance"
ok "$(q $P$away -c "SELECT count(*) FROM gpubill.run_claim WHERE instance_id = $ia AND NOT ended")" "1" "its run records the claim on the customer's partition"
ok "$(state)" "$small:1 / $small:1" "claims = running GPUs"

# a stopped run frees the GPU: the next rental drains it
q $px -c "SELECT gpubill.stop_instance($ia, '2026-11-02 01:00+08')" >/dev/null
ok "$(q $P$away -c "SELECT count(*) FROM gpubill.run_claim WHERE instance_id = $ia AND ended")" "1" "the stopped run is in its partition's outbox"
ib=$(q $px -c "SELECT gpubill.create_instance($b, $small, 1, at => '2026-11-02 01:00+08')")
ok "$(q $px -c "SELECT gpubill.instance_state($ib)") $(q $P$away -c "SELECT count(*) FROM gpubill.run_claim")" "running 0" \
	"the next rental drained the ended run and got the GPU"
ok "$(sqlstate "gpubill.start_instance($ia, '2026-11-02 02:00+08')")" "GB002" "starting the stopped instance again finds the machine full (GB002)"
q $px -c "SELECT gpubill.stop_instance($ib, '2026-11-02 02:00+08')" >/dev/null
q $px -c "SELECT gpubill.tick('2026-11-02 03:00+08')" >/dev/null
ok "$(state)" "- / -" "tick drains the ended runs: no claim, no running GPU"
q $px -c "SELECT gpubill.start_instance($ia, '2026-11-02 03:00+08')" >/dev/null
ok "$(state)" "$small:1 / $small:1" "a start claims the GPU again"

# a rental that fails on the customer's partition releases its claim; a repeated request claims nothing
poor=$(q $px -c "SELECT gpubill.open_customer('pk-poor', 'CNY', '2026-11-01 00:00+08')")
big=$(q $px -c "SELECT gpubill.list_machine($partner, 4, '10.00 CNY', '2027-06-01 00:00+08', at => '2026-11-01 00:00+08')")
ok "$(sqlstate "gpubill.create_instance($poor, $big, 1, at => '2026-11-02 03:00+08')")" "GB001" "a customer without funds is refused on its partition (GB001)"
ok "$(state)" "$small:1 / $small:1" "and the claim it took at the machine's home is released"
c2=${on[$far,2]}
r1=$(q $px -c "SELECT gpubill.create_instance($c2, $big, 4, at => '2026-11-02 03:00+08', request_id => 'pk-r1')")
ok "$(q $px -c "SELECT gpubill.create_instance($c2, $big, 4, at => '2026-11-02 03:00+08', request_id => 'pk-r1')")" "$r1" \
	"a repeated request on a full machine returns the same instance"
ok "$(state)" "$small:1,$big:4 / $small:1,$big:4" "without a second claim"

# resize: the instance's own claim is not counted
q $px -c "SELECT gpubill.resize_instance($r1, 2, '2026-11-02 04:00+08')" >/dev/null
ok "$(state)" "$small:1,$big:2 / $small:1,$big:2" "a resize from 4 to 2 GPUs leaves one claim of 2"
q $px -c "SELECT gpubill.resize_instance($r1, 4, '2026-11-02 05:00+08')" >/dev/null
ok "$(state)" "$small:1,$big:4 / $small:1,$big:4" "and back to 4: the instance's own 2 are not counted against it"
ok "$(sqlstate "gpubill.resize_instance($r1, 5, '2026-11-02 05:00+08')")" "GB002" "5 GPUs of a 4-GPU machine are refused (GB002)"
ok "$(state)" "$small:1,$big:4 / $small:1,$big:4" "and the claims stay"

# claims a failed proxy left: one whose run started (confirmed), one whose rental never came (released)
c3=${on[$far,1]}
bighome=$(q $px -c "SELECT gpubill.partition_of($big)")
q $px -c "SELECT gpubill.stop_instance($r1, '2026-11-02 06:00+08')" >/dev/null
q $px -c "SELECT gpubill.drain_gpu_releases()" >/dev/null
q $P$bighome -c "SELECT gpubill.claim_gpus($big, 1, 'lost-1', $c3), gpubill.claim_gpus($big, 1, 'lost-2', $c3)" >/dev/null
lost=$(q $P$far -c "SELECT instance FROM gpubill.create_instance_claimed('lost-1', $c3, $big, 1, 'payg', false, '2026-11-02 06:00+08', NULL)")
ok "$(q $px -c "SELECT gpubill.resolve_unconfirmed_claims('5 minutes')")" "0" "claims younger than the grace are left alone"
ok "$(q $px -c "SELECT gpubill.resolve_unconfirmed_claims('0 seconds')")" "2" "older ones are resolved"
ok "$(q $P$bighome -c "SELECT string_agg(claim_key || '=' || coalesce((instance_id = $lost)::text, '-'), ' ') FROM gpubill.gpu_claim WHERE machine_id = $big")" \
	"lost-1=true" "the claim whose run started is confirmed with its instance, the other released"
ok "$(bad_checks)" "" "verify() through the proxy is all ok (GPU claims cover the running GPUs)"
# a late confirmation: after its run ended and was drained it brings nothing back; while its run goes on it does
q $P$bighome -c "SELECT gpubill.claim_gpus($big, 1, 'late-1', $c2)" >/dev/null
late=$(q $P$far -c "SELECT instance FROM gpubill.create_instance_claimed('late-1', $c2, $big, 1, 'payg', false, '2026-11-02 07:00+08', NULL)")
q $px -c "SELECT gpubill.stop_instance($late, '2026-11-02 07:30+08')" -c "SELECT gpubill.drain_gpu_releases()" >/dev/null
q $px -c "SELECT gpubill.confirm_claim('late-1', $late, $big, $c2, 1)" >/dev/null
ok "$(q $P$bighome -c "SELECT count(*) FROM gpubill.gpu_claim WHERE claim_key = 'late-1'")" "0" \
	"a confirmation that comes after its run ended and was drained does not bring the claim back"
q $P$bighome -c "SELECT gpubill.claim_gpus($big, 1, 'late-2', $c2)" >/dev/null
late=$(q $P$far -c "SELECT instance FROM gpubill.create_instance_claimed('late-2', $c2, $big, 1, 'payg', false, '2026-11-02 08:00+08', NULL)")
q $P$bighome -c "SELECT gpubill.release_gpu_claims(ARRAY['late-2'])" >/dev/null
q $px -c "SELECT gpubill.confirm_claim('late-2', $late, $big, $c2, 1)" >/dev/null
ok "$(q $P$bighome -c "SELECT count(*) FROM gpubill.gpu_claim WHERE claim_key = 'late-2' AND instance_id = $late")" "1" \
	"one whose claim was released while its run goes on puts it back"
q $px -c "SELECT gpubill.stop_instance($late, '2026-11-02 08:30+08')" -c "SELECT gpubill.drain_gpu_releases()" >/dev/null


# pgbench through the proxy: 8 customers on 4 partitions rent one 2-GPU machine at once, then rent and stop
pair=$(q $px -c "SELECT gpubill.list_machine($partner, 2, '1.00 CNY', '2027-06-01 00:00+08', at => '2026-11-01 00:00+08')")
renters=$(for k in 0 1 2 3; do echo -n "${on[$k,1]},${on[$k,2]},"; done | sed 's/,$//')
q $px >/dev/null <<SQL
DROP TABLE IF EXISTS public.rented, public.overcommit;
CREATE TABLE public.rented (instance_id bigint PRIMARY KEY);
CREATE TABLE public.overcommit (seen bigint);
-- stops: the share of steps that stop a rented instance (0: rentals only)
CREATE OR REPLACE FUNCTION public.rent_step(stops float8) RETURNS text LANGUAGE plpgsql AS \$\$
DECLARE
	c bigint := (ARRAY[$renters])[1 + floor(random() * 8)::int];
	i bigint;
	used bigint;
BEGIN
	IF random() >= stops THEN
		i := gpubill.create_instance(c, $pair, 1, at => '2026-11-03 00:00+08');
		INSERT INTO public.rented VALUES (i);
		IF stops = 0 THEN	/* with rentals only, the running GPUs only grow: a sample never counts one twice */
			SELECT sum(r.gpus) INTO used FROM gpubill.running_gpus_everywhere() r WHERE r.machine_id = $pair;
			IF used > 2 THEN
				INSERT INTO public.overcommit VALUES (used);
			END IF;
		END IF;
		RETURN 'rented';
	END IF;
	SELECT r.instance_id INTO i FROM public.rented r ORDER BY random() LIMIT 1;
	IF i IS NOT NULL AND gpubill.instance_state(i) = 'running' THEN
		PERFORM gpubill.stop_instance(i, '2026-11-03 00:00+08');
	END IF;
	RETURN 'stopped';
EXCEPTION WHEN SQLSTATE 'GB002' OR SQLSTATE 'GB004' THEN
	RETURN 'refused';
END
\$\$;
SQL
dir=$(mktemp -d); chmod 755 "$dir"
echo "SELECT public.rent_step(0);" >"$dir/rent.sql"
pgbench -n -c 6 -j 2 -t 20 -f "$dir/rent.sql" $px >"$dir/pgbench.log" 2>&1 || cat "$dir/pgbench.log" >&2
ok "$(grep -o 'number of failed transactions: [0-9]*' "$dir/pgbench.log" || grep -c 'aborted' "$dir/pgbench.log")" "number of failed transactions: 0" \
	"6 pgbench clients renting one 2-GPU machine through the proxy (120 tries): no transaction failed"
ok "$(q $px -c "SELECT (SELECT count(*) FROM public.rented) || ' ' || (SELECT count(*) FROM public.overcommit)") $(q $px -c "SELECT sum(gpus) FROM gpubill.running_gpus_everywhere() WHERE machine_id = $pair")" \
	"2 0 2" "exactly 2 rentals succeeded, no sample saw more than 2 GPUs running, 2 run at the end"
echo "SELECT public.rent_step(0.5);" >"$dir/rent.sql"
pgbench -n -c 6 -j 2 -t 40 -f "$dir/rent.sql" $px >"$dir/pgbench.log" 2>&1 || cat "$dir/pgbench.log" >&2
ok "$(grep -o 'number of failed transactions: [0-9]*' "$dir/pgbench.log" || grep -c 'aborted' "$dir/pgbench.log")" "number of failed transactions: 0" \
	"6 pgbench clients renting and stopping through the proxy (240 steps): no transaction failed"
ok "$(q $px -c "SELECT count(*) > 4 FROM public.rented")" "t" "the GPUs freed by stops were rented again"
q $px -c "SELECT gpubill.tick('2026-11-03 00:00+08')" >/dev/null
ok "$(q $px -c "SELECT coalesce(sum(gpus), 0) <= 2 FROM gpubill.running_gpus_everywhere() WHERE machine_id = $pair")" "t" "at the end the machine runs at most 2 GPUs"
s=$(state); ok "$(awk -F' / ' '{ print ($1 == $2) ? "equal" : $0 }' <<<"$s")" "equal" "and after the tick the claims equal the running GPUs of every machine ($s)"
ok "$(bad_checks)" "" "verify() through the proxy is all ok"

rm -rf "$dir"
for d in gpubill_pk_proxy gpubill_pk_p0 gpubill_pk_p1 gpubill_pk_p2 gpubill_pk_p3; do
	psql -qX -d postgres -c "DROP DATABASE $d WITH (FORCE)" >/dev/null
done
echo "1..$n"
