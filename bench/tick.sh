#!/usr/bin/env bash
# bench/tick.sh — tick() at one hour boundary against a hand-written set-based
# lower bound doing the same writes, on one cluster, and the backend's memory.
#   bash bench/tick.sh [instances, default 100000] [memory instances, default 1000000]
# Part 1: n running PAYG instances (bench/tick_fixture.sql); five rounds,
# alternating, each in a transaction rolled back (and vacuumed) so that both
# start from the same state: tick('11:00') vs bench/tick_lower_bound.sql.
# Part 2: with n, m/4 and m instances, the private memory (RssAnon) of the backend is
# sampled while tick settles them, next to the figure for n: it must not grow
# with the number of rows.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
m=${2:-1000000}

. scripts/cluster.sh
cluster_prepare
trap cluster_stop EXIT
cluster_start "work_mem = '4MB'" "maintenance_work_mem = '256MB'" "max_wal_size = '8GB'" "autovacuum = off"

fixture() {
	PGOPTIONS="-c client_min_messages=warning" psql -qX -d postgres -c "DROP DATABASE IF EXISTS bench_tick" -c "CREATE DATABASE bench_tick"
	psql -qX -d bench_tick -v ON_ERROR_STOP=1 -c "CREATE EXTENSION gpubill" >/dev/null
	psql -qX -d bench_tick -v n="$1" -f bench/tick_fixture.sql >/dev/null
}
# ms of a script run in a transaction that is rolled back
timed() {
	psql -qXAt -d bench_tick -v ON_ERROR_STOP=1 <<SQL
BEGIN;
SELECT clock_timestamp() AS started \gset
$1
SELECT round(extract(epoch FROM clock_timestamp() - :'started') * 1000);
ROLLBACK;
SQL
	# each round starts alike: the last round's dead rows vacuumed, its dirty pages written (so no checkpoint falls inside a round)
	psql -qX -d bench_tick -c "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null
}
# memory of the backend running a tick: the largest total of its memory
# contexts (pg_log_backend_memory_contexts every 0.5 s, read back from the
# server log) and its peak RssAnon, both in kB
tick_memory() {
	local pid peak=0 kb ctx
	psql -qXAt -d bench_tick -c "BEGIN" -c "SELECT pg_backend_pid()" -c "SELECT pg_sleep(1)" \
		-c "SELECT gpubill.tick('2026-11-02 11:00+08')->'payg'->>'settled'" -c "ROLLBACK" >"$CLUSTER_DIR/mem.out" &
	sleep 0.5
	pid=$(head -1 "$CLUSTER_DIR/mem.out")
	while kill -0 "$pid" 2>/dev/null && [ "$(wc -l <"$CLUSTER_DIR/mem.out")" -lt 3 ]; do
		psql -qXAt -d postgres -c "SELECT pg_log_backend_memory_contexts($pid)" >/dev/null 2>&1 || true
		kb=$(awk '/^RssAnon/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
		[ "${kb:-0}" -gt "$peak" ] && peak=$kb
		sleep 0.5
	done
	wait
	ctx=$(sed -n "s/.*\[$pid\] LOG:  Grand total: \([0-9]*\) bytes.*/\1/p" "$CLUSTER_DIR/log/server.log" | sort -n | tail -1)
	echo "$((${ctx:-0} / 1024)) $peak $(sed -n 3p "$CLUSTER_DIR/mem.out")"
}

fixture "$n"
t=() l=()
for round in 1 2 3 4 5; do
	t+=("$(timed "SELECT gpubill.tick('2026-11-02 11:00+08') IS NOT NULL;" | tail -1)")
	l+=("$(timed "\\i bench/tick_lower_bound.sql" | tail -1)")
done
median() { printf '%s\n' "$@" | sort -g | sed -n 3p; }
tm=$(median "${t[@]}") lm=$(median "${l[@]}")
read -r ctx_n mem_n settled_n <<<"$(tick_memory)"

fixture "$((m / 4))"
read -r ctx_q mem_q settled_q <<<"$(tick_memory)"
fixture "$m"
read -r ctx_m mem_m settled_m <<<"$(tick_memory)"

echo "one hour boundary, $n running PAYG instances; median of 5 rounds in ms (rounds in brackets)"
printf '%-44s %8s  [%s]\n' "tick()" "$tm" "${t[*]}" "hand-written set-based lower bound" "$lm" "${l[*]}"
awk -v t="$tm" -v l="$lm" 'BEGIN { printf "tick / lower bound          = %.2f (target <= 1.30)\n", t / l }'
echo "backend memory during tick, by instances settled (largest memory-context total; peak RssAnon):"
printf '  %8s instances: %7s kB in contexts; RssAnon %7s kB\n' "$settled_n" "$ctx_n" "$mem_n" "$settled_q" "$ctx_q" "$mem_q" \
	"$settled_m" "$ctx_m" "$mem_m"
awk -v a="$ctx_q" -v b="$ctx_m" -v m="$m" 'BEGIN { printf "contexts at %d / at %d instances = %.2f (bounded by work_mem per plan node: no growth per row)\n", m, m / 4, b / a }'
