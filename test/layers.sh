#!/usr/bin/env bash
# TAP: the shape of src/sql (issue 13) — layers in order, one door for money.
#  1. a file uses objects of its own and earlier layers only (scripts/check-layers.sh);
#  2. outside the ledger layer no file writes the journal, the wallets, the
#     holds or the vouchers' lots: it calls the ledger's functions;
#  3. inside the ledger, only the door (3_ledger/30_journal.sql) inserts
#     transfers and changes cached cash and vouchers (R-LED-1, R-LED-3);
#  4. every file's header ends with its map (API, internals, tables, layers
#     used), as scripts/file-map.pl generates it from the code;
#  5. settings are read through the typed accessor of their group
#     (2_base/35_setting_groups.sql), not key by key elsewhere;
#  6. each named rule check is one function whose COMMENT carries its rule
#     ID, so grep finds the one place.
# Needs no server.
set -euo pipefail
cd "$(dirname "$0")/.."
n=0
ok() { n=$((n + 1)); if [ -z "$1" ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; printf '%s\n' "$1" | sed 's/^/#   /'; fi; }
echo "1..6"

ok "$(bash scripts/check-layers.sh || true)" "no file uses an object of a later layer"

money='INSERT INTO @extschema@\.(transfer|wallet|hold|hold_end|voucher|voucher_left)\b|(UPDATE|DELETE FROM) @extschema@\.(transfer|wallet|hold|hold_end|voucher|voucher_left)\b'
ok "$(grep -nE "$money" $(ls src/sql/*/*.sql | grep -v '/3_ledger/') || true)" \
	"outside the ledger layer no file writes transfers, wallets, holds or vouchers"

door=src/sql/3_ledger/30_journal.sql
ok "$( { grep -nE 'INSERT INTO @extschema@\.transfer\b' src/sql/3_ledger/*.sql | grep -v "^$door:" || true
		 grep -nE '(SET|,)[[:space:]]*(cash|vouchers)[[:space:]]*=' src/sql/3_ledger/*.sql | grep -v "^$door:" || true; } )" \
	"in the ledger only the door inserts transfers and moves cached cash and vouchers"

ok "$(perl scripts/file-map.pl || true)" "every file's header maps its API, internals, tables and the layers it uses"

ok "$(grep -nE "setting_value\(|\.setting\('" $(ls src/sql/*/*.sql | grep -v '/2_base/') | grep -v 'GRANT\|REVOKE' || true)" \
	"outside the base layer settings are read through their group's typed accessor"

rules=""
for pair in funds_cover:R-LED-2 payg_hold:R-PAYG-1 usage_charge:R-PAYG-4 run_end_charge:R-PAYG-7 local_data_erase_at:R-PAYG-6 \
			delist_at:R-PRT-5 check_gpus:R-SEC-3 check_time:R-SEC-3; do
	fn=${pair%%:*} id=${pair#*:}
	defs=$(grep -l "CREATE FUNCTION @extschema@\.$fn(" src/sql/*/*.sql | wc -l)
	comment=$(grep -h "COMMENT ON FUNCTION @extschema@\.$fn(" src/sql/*/*.sql | grep -c -- "$id" || true)
	[ "$defs" = 1 ] && [ "$comment" = 1 ] || rules="$rules $fn ($id: $defs definitions, $comment comments citing it)"
done
ok "$rules" "each named rule is one function whose COMMENT cites its rule ID"
