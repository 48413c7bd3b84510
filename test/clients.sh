#!/usr/bin/env bash
# TAP: the clients' parity scenario (issue 16).  clients/scenario.sql run by
# psql, and the same calls with bound parameters through psycopg 3
# (clients/python), pgjdbc in text and in binary transfer (clients/java) and
# node-postgres (clients/node): each prints the same cash (amount), rating
# and billing month, and its database ends with the same journal and tables
# as psql's (but the wall-clock times rows were recorded at).
# Needs a running cluster listening on 127.0.0.1 (PGPORT, PGUSER), as
# scripts/test.sh provides; python3-psycopg, a JDK with libpostgresql-jdbc-java,
# node with npm (clients/node's pg comes from the npm registry).
set -euo pipefail
cd "$(dirname "$0")/.."
export PGOPTIONS="-c client_min_messages=warning"
. scripts/tap.sh
fresh() { psql -qX -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null; psql -qX -d "$1" -c 'CREATE EXTENSION gpubill'; }
journal() { psql -qXAt -d "$1" -c 'SET gpubill_test.business_only = on' -f test/fixtures/fingerprint.sql | md5sum; }

fresh gpubill_sc_psql
want=$(psql -qX -d gpubill_sc_psql -v ON_ERROR_STOP=1 -f clients/scenario.sql | tail -3)
want_journal=$(journal gpubill_sc_psql)
ok "$(grep -c '^cash 98.50 CNY$' <<<"$want")" "1" "psql: the scenario leaves 98.50 CNY of cash (100.00 recharged, 5.50 of vouchers, 1 h 45 min of 2 GPUs at 2.00)"

classes=$(mktemp -d)
javac -cp /usr/share/java/postgresql.jar -d "$classes" clients/java/*.java
[ -d clients/node/node_modules/pg ] || (cd clients/node && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
run() {	# run <label> <database> <command...>
	local label=$1 db=$2
	shift 2
	fresh "$db"
	local out
	out=$("$@" 2>&1 || true)
	ok "$out" "$want" "$label: reads back the same cash, rating and billing month as psql"
	ok "$(journal "$db")" "$want_journal" "$label: the same journal and tables as psql's"
	psql -qX -d postgres -c "DROP DATABASE $db" >/dev/null
}
url=127.0.0.1:$PGPORT
run "psycopg 3 (amounts bound in text and binary)" gpubill_sc_py /usr/bin/python3 clients/python/scenario.py "host=127.0.0.1 port=$PGPORT dbname=gpubill_sc_py user=$PGUSER"
run "pgjdbc, text transfer (PGamount, stringtype=unspecified, gpubill.amount(?, ?))" gpubill_sc_java \
	java -cp "/usr/share/java/postgresql.jar:$classes" Scenario "jdbc:postgresql://$url/gpubill_sc_java?user=$PGUSER&stringtype=unspecified"
run "pgjdbc, binary transfer" gpubill_sc_javab \
	java -cp "/usr/share/java/postgresql.jar:$classes" Scenario "jdbc:postgresql://$url/gpubill_sc_javab?user=$PGUSER&stringtype=unspecified" binary
run "node-postgres" gpubill_sc_node node clients/node/scenario.js "postgresql://$PGUSER@$url/gpubill_sc_node"
rm -rf "$classes"
psql -qX -d postgres -c "DROP DATABASE gpubill_sc_psql" >/dev/null
echo "1..$n"
