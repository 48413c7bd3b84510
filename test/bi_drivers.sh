#!/usr/bin/env bash
# TAP: BI drivers read gpubill_bi's money as numbers (issue 16).  Through
# psqlODBC (pyodbc) and pgjdbc, as a BI tool: the driver's catalogue reports
# gpubill_bi's money columns as numeric (gpubill's own views' amount columns
# as text or other: why gpubill_bi exists), and a generated SUM(...) GROUP BY
# currency returns each currency's exact total, the journal's.
# Needs a running cluster listening on 127.0.0.1 (PGPORT, PGUSER), as
# scripts/test.sh provides; odbc-postgresql, python3-pyodbc, a JDK and
# libpostgresql-jdbc-java (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export PGOPTIONS="-c client_min_messages=warning"
db=gpubill_bi_drivers
. scripts/tap.sh
psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
psql -qX -d $db -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION gpubill' -f test/fixtures/two_currencies.sql >/dev/null
psql -qX -d $db -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'regress_gpubill_bi') THEN
	CREATE ROLE regress_gpubill_bi LOGIN IN ROLE gpubill_reader; END IF; END \$\$" >/dev/null
# the journal's total of the customers' charges, per currency (what the tools must find)
want=$(psql -qXAt -d $db -c "SELECT 'sum ' || string_agg(c || '=' || s, ' ' ORDER BY c) FROM (
	SELECT gpubill.currency(amount) AS c, sum(gpubill.to_numeric(amount)) AS s FROM gpubill.transfer
	WHERE kind IN ('income', 'fee', 'voucher_spend', 'storage') GROUP BY 1) x")

odbc=$(/usr/bin/python3 clients/bi/odbc_sum.py \
	"DRIVER={PostgreSQL Unicode};SERVER=127.0.0.1;PORT=$PGPORT;DATABASE=$db;UID=regress_gpubill_bi" 2>&1 || true)
ok "$(grep '^gpubill_bi' <<<"$odbc" || echo "$odbc")" "gpubill_bi.customer_statement types currency=text charged=numeric closing_cash=numeric" \
	"ODBC: gpubill_bi's money columns are numeric, the currency text"
ok "$(grep '^gpubill\.' <<<"$odbc" | grep -c numeric || true)" "0" "ODBC: gpubill's own amount columns are not (a tool cannot sum them)"
ok "$(grep '^sum' <<<"$odbc" | sed 's/:Decimal//g')" "$want" "ODBC: a tool's SUM(charged) GROUP BY currency is each currency's journal total, as Decimal"
ok "$(grep -c ':Decimal' <<<"$odbc" || true)" "1" "ODBC: the sums arrive as exact decimals"

jdbc=$(java -cp /usr/share/java/postgresql.jar clients/bi/JdbcSum.java \
	"jdbc:postgresql://127.0.0.1:$PGPORT/$db?user=regress_gpubill_bi" 2>&1 || true)
ok "$(grep '^gpubill_bi' <<<"$jdbc" || echo "$jdbc")" "gpubill_bi.customer_statement types currency=VARCHAR charged=NUMERIC closing_cash=NUMERIC" \
	"JDBC: gpubill_bi's money columns are NUMERIC, the currency VARCHAR"
ok "$(grep '^gpubill\.' <<<"$jdbc" | grep -c NUMERIC || true)" "0" "JDBC: gpubill's own amount columns are not"
ok "$(grep '^sum' <<<"$jdbc")" "$want" "JDBC: a tool's SUM(charged) GROUP BY currency, read with getBigDecimal, is each currency's journal total"

psql -qX -d postgres -c "DROP DATABASE $db" -c "DROP ROLE regress_gpubill_bi" >/dev/null
echo "1..$n"
