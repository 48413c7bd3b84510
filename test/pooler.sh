#!/usr/bin/env bash
# TAP: the API through pgbouncer in transaction mode (issue 16, R-RCH-1).
#  1. three clients at once — psycopg 3, pgjdbc, node-postgres — run the
#     parity scenario (clients/scenario.sql) through pgbouncer, each in its
#     database: psql's results and journal;
#  2. one server connection shared by five clients: a careless client's
#     session SET ROLE gpubill_admin and SET gpubill.default_currency leak to
#     the others (pgbouncer resets nothing between transactions), and gpubill
#     acts on neither (42501, 22023); a client switching role per transaction
#     with SET LOCAL ROLE records its bank transfer, and the role ends with
#     its transaction.
# Needs a running cluster (PGHOST, PGPORT, PGUSER) listening on 127.0.0.1, as
# scripts/test.sh provides; pgbouncer and the clients (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export PGOPTIONS="-c client_min_messages=warning"
. scripts/tap.sh
fresh() { psql -qX -d postgres -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" >/dev/null; psql -qX -d "$1" -c 'CREATE EXTENSION gpubill'; }
journal() { psql -qXAt -d "$1" -c 'SET gpubill_test.business_only = on' -f test/fixtures/fingerprint.sql | md5sum; }

# pgbouncer, transaction pooling, on the loopback (it refuses to run as root: as postgres)
dir=$(mktemp -d /tmp/gpubill_bouncer.XXXXXX)
chmod 755 "$dir"
port=$((PGPORT + 1000))
cat >"$dir/pgbouncer.ini" <<INI
[databases]
gpubill_pool_shared = host=$PGHOST port=$PGPORT pool_size=1
* = host=$PGHOST port=$PGPORT pool_size=2
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/users.txt
pool_mode = transaction
max_client_conn = 100
ignore_startup_parameters = extra_float_digits,options
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
echo "\"$PGUSER\" \"\"" >"$dir/users.txt"
as_pg() { if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$dir"; runuser -u postgres -- "$@"; else "$@"; fi; }
as_pg pgbouncer -d "$dir/pgbouncer.ini"
trap 'kill "$(cat "$dir/pgbouncer.pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$dir"' EXIT
until psql -qXAt -h 127.0.0.1 -p $port -d postgres -c 'SELECT 1' >/dev/null 2>&1; do sleep 0.1; done

# 1. the parity scenario from three clients at once
fresh gpubill_pool_psql
want=$(psql -qX -d gpubill_pool_psql -v ON_ERROR_STOP=1 -f clients/scenario.sql | tail -3)
want_journal=$(journal gpubill_pool_psql)
classes=$(mktemp -d)
javac -cp /usr/share/java/postgresql.jar -d "$classes" clients/java/*.java
[ -d clients/node/node_modules/pg ] || (cd clients/node && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
for c in py java node; do fresh gpubill_pool_$c; done
GPUBILL_POOLED=1 /usr/bin/python3 clients/python/scenario.py "host=127.0.0.1 port=$port dbname=gpubill_pool_py user=$PGUSER" >"$dir/py.out" 2>&1 &
java -cp "/usr/share/java/postgresql.jar:$classes" Scenario \
	"jdbc:postgresql://127.0.0.1:$port/gpubill_pool_java?user=$PGUSER&stringtype=unspecified&prepareThreshold=0" >"$dir/java.out" 2>&1 &
node clients/node/scenario.js "postgresql://$PGUSER@127.0.0.1:$port/gpubill_pool_node" >"$dir/node.out" 2>&1 &
wait
for c in py java node; do
	ok "$(cat "$dir/$c.out")" "$want" "through pgbouncer, $c: reads back psql's cash, rating and billing month"
	ok "$(journal gpubill_pool_$c)" "$want_journal" "through pgbouncer, $c: psql's journal"
	psql -qX -d postgres -c "DROP DATABASE gpubill_pool_$c WITH (FORCE)" >/dev/null
done
psql -qX -d postgres -c "DROP DATABASE gpubill_pool_psql WITH (FORCE)" >/dev/null
rm -rf "$classes"

# 2. five clients on one server connection
fresh gpubill_pool_shared
out=$(/usr/bin/python3 - "host=127.0.0.1 port=$port dbname=gpubill_pool_shared user=$PGUSER" <<'PY' 2>&1 || true
import sys
import psycopg
dsn = sys.argv[1]
connect = lambda: psycopg.connect(dsn, autocommit=True, prepare_threshold=None)
careless, b, admin, d, e = (connect() for _ in range(5))
one = lambda conn, sql, *args: conn.execute(sql, args).fetchone()[0]
def refused(conn, sql, *args):
    try:
        conn.execute(sql, args)
        return "done"
    except psycopg.Error as err:
        return err.sqlstate
c = one(b, "SELECT gpubill.open_customer('pool-b2b', 'CNY', '2026-11-01')")
careless.execute("SET ROLE gpubill_admin")                    # session state, on the shared server connection
print("leaked role", one(b, "SELECT current_user"))            # another client sees it: pgbouncer resets nothing
print("admin act on the leaked role", refused(b, "SELECT gpubill.set_b2b(%s, true)", c))
print("bank transfer on the leaked role", refused(d, "SELECT gpubill.recharge(%s, '5 CNY', 'bank_transfer', 'pool-bank-0', '2026-11-02')", c))
print("wechat recharge", refused(d, "SELECT gpubill.recharge(%s, '5 CNY', 'wechat', 'pool-wx-1', '2026-11-02')", c))
for k in range(1, 4):                                          # the admin client: its role per transaction
    with admin.transaction():
        admin.execute("SET LOCAL ROLE gpubill_admin")
        admin.execute("SELECT gpubill.set_b2b(%s, true)", (c,))
        admin.execute("SELECT gpubill.recharge(%s, '10 CNY', 'bank_transfer', %s, '2026-11-02')", (c, f"pool-bank-{k}"))
    print(f"admin transaction {k}: after it, another client's role is", one(e, "SELECT current_user"))
careless.execute("RESET ROLE")
careless.execute("SET gpubill.default_currency = 'USD'")
print("party without a currency", refused(e, "SELECT gpubill.open_customer('pool-usd?', NULL, '2026-11-01')"))
print("party with its currency", refused(e, "SELECT gpubill.open_customer('pool-usd', 'USD', '2026-11-01')"))
print("recharged", one(b, "SELECT recharged FROM gpubill.wallet w WHERE customer_id = %s", c))
PY
)
ok "$(sed -n 1p <<<"$out")" "leaked role gpubill_admin" "a careless client's session SET ROLE leaks to another client through the pooler"
ok "$(sed -n 2p <<<"$out")" "admin act on the leaked role 42501" "gpubill does not act on it: an admin act is refused (42501)"
ok "$(sed -n 3p <<<"$out")" "bank transfer on the leaked role 42501" "nor is a bank transfer recorded on it (R-RCH-1)"
ok "$(sed -n 4p <<<"$out")" "wechat recharge done" "calls that need no role go on"
ok "$(sed -n 5,7p <<<"$out" | sort -u)" "$(printf 'admin transaction %s: after it, another client%ss role is gpubill_admin\n' 1 "'" 2 "'" 3 "'" | sort -u)" \
	"the admin client records three bank transfers with SET LOCAL ROLE; after each the connection is back to what it was"
ok "$(sed -n 8p <<<"$out")" "party without a currency 22023" "a leaked session SET gpubill.default_currency does not open another client's party in USD (22023)"
ok "$(sed -n 9p <<<"$out")" "party with its currency done" "a party with its currency given opens"
ok "$(sed -n 10p <<<"$out")" "recharged 35.00 CNY" "the wallet holds the wechat recharge and the three bank transfers, nothing else"
psql -qX -d postgres -c "DROP DATABASE gpubill_pool_shared WITH (FORCE)" >/dev/null 2>&1 || true
echo "1..$n"
