#!/usr/bin/env bash
# TAP: the README's short tour runs as written against a fresh database, so
# that it stays true.  Lines marked "-- ERROR" are expected to fail and run
# apart; schedule_jobs() needs pg_cron's database and is left out.
# Needs a running cluster (PGHOST/PGPORT/PGUSER), as scripts/test.sh provides.
set -euo pipefail
db=gpubill_readme_tour
. "$(dirname "$0")/../scripts/tap.sh"
echo "1..2"
cd "$(dirname "$0")/.."

PGOPTIONS="-c client_min_messages=warning" psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
tour=$(mktemp)
awk '/^## A short tour/ { intour = 1 } intour && /^```sql/ { inblock = 1; next } inblock && /^```/ { exit } inblock' README.md >"$tour"
errors=$(grep -c -- '-- ERROR' "$tour" || true)
runs=$({ echo '\set ON_ERROR_STOP on'; grep -v -- '-- ERROR' "$tour" | grep -v 'schedule_jobs()'; } |
	psql -qX -d "$db" >/dev/null 2>"$tour.err" && echo ran || { cat "$tour.err" | sed 's/^/# /'; echo failed; })
ok "$runs" "ran" "the tour runs without an error ($(wc -l <"$tour") lines)"
failing=0
while IFS= read -r line; do
	if psql -qX -d "$db" -v ON_ERROR_STOP=1 -c "SET search_path = gpubill, public" -c "$line" >/dev/null 2>&1; then
		failing=$((failing + 1))
	fi
done < <(grep -- '-- ERROR' "$tour" | sed 's/ *-- ERROR.*//')
ok "$failing of $errors" "0 of $errors" "the lines it marks as errors fail"
rm -f "$tour" "$tour.err"
