#!/usr/bin/env bash
# TAP: the shape of src/sql (issue 13) — layers in order, one door for money.
#  1. a file uses objects of its own and earlier layers only (scripts/check-layers.sh);
#  2. outside the ledger layer no file writes the journal, the wallets, the
#     holds or the vouchers' lots: it calls the ledger's functions;
#  3. inside the ledger, only the door (3_ledger/30_journal.sql) inserts
#     transfers and changes cached cash and vouchers (R-LED-1, R-LED-3);
#  4. every file's header ends with its map (API, internals, tables, layers
#     used), as scripts/file-map.pl generates it from the code.
# Needs no server.
set -euo pipefail
cd "$(dirname "$0")/.."
n=0
ok() { n=$((n + 1)); if [ -z "$1" ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; printf '%s\n' "$1" | sed 's/^/#   /'; fi; }
echo "1..4"

ok "$(bash scripts/check-layers.sh || true)" "no file uses an object of a later layer"

money='INSERT INTO @extschema@\.(transfer|wallet|hold|hold_end|voucher|voucher_left)\b|(UPDATE|DELETE FROM) @extschema@\.(transfer|wallet|hold|hold_end|voucher|voucher_left)\b'
ok "$(grep -nE "$money" $(ls src/sql/*/*.sql | grep -v '/3_ledger/') || true)" \
	"outside the ledger layer no file writes transfers, wallets, holds or vouchers"

door=src/sql/3_ledger/30_journal.sql
ok "$( { grep -nE 'INSERT INTO @extschema@\.transfer\b' src/sql/3_ledger/*.sql | grep -v "^$door:" || true
		 grep -nE '(SET|,)[[:space:]]*(cash|vouchers)[[:space:]]*=' src/sql/3_ledger/*.sql | grep -v "^$door:" || true; } )" \
	"in the ledger only the door inserts transfers and moves cached cash and vouchers"

ok "$(perl scripts/file-map.pl || true)" "every file's header maps its API, internals, tables and the layers it uses"
