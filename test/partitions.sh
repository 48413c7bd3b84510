#!/usr/bin/env bash
# TAP: this database as partition k of n (issue 17, part 1: shard ids).
# provision_partition(k, n) on a fresh database, then billing data of every
# kind (test/fixtures/billing.sql): every id drawn — each table's key and
# each column drawn from the id sequences — lies in k * 2^48 + 1 ..
# (k + 1) * 2^48 - 1 and partition_of() routes it back to k; for partition 0
# of 1 (a single database), 0 of 4 and 3 of 4.  Bad arguments are 22023;
# a database holding rows is refused (GB004); provisioning again the same
# way is no change; set_setting('shard_id', k) works on a fresh database.
# Needs a running cluster (PGHOST/PGPORT/PGUSER), as scripts/test.sh provides.
set -euo pipefail
cd "$(dirname "$0")/.."
export PGOPTIONS="-c client_min_messages=warning"
db=gpubill_partition
. scripts/tap.sh
q() { psql -qXAt -d $db -v ON_ERROR_STOP=1 "$@"; }
fresh() { psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null; q -c 'CREATE EXTENSION gpubill'; }
# the ids drawn: every bigint column of a table's key, and every column whose default draws from an id sequence
ids_sql="SELECT string_agg(format('SELECT %L AS col, %I AS id FROM %s', c.relname || '.' || a.attname, a.attname, c.oid::regclass), ' UNION ALL ')
	FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid = 'int8'::regtype
	LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
	WHERE c.relnamespace = 'gpubill'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
	  AND (pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%id_seq%'
		   OR a.attnum = ANY ((SELECT k.conkey FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')::int2[])
		   OR (c.relname, a.attname) IN (('transfer', 'transfer_id'), ('order_line', 'line_id')))"

for kn in "0 1" "0 4" "3 4"; do
	set -- $kn
	k=$1 parts=$2
	fresh
	q -c "BEGIN" -c "SET LOCAL ROLE gpubill_admin" -c "SELECT gpubill.provision_partition($k, $parts)" -c "COMMIT" >/dev/null
	if [ $parts -gt 1 ]; then	# no proxy here: the providers' monthly volumes it would push (R-EXC-4; the fixture's stay below its 100000 tier)
		q -c "SELECT count(gpubill.apply_volumes(m::date, '2026-01-01', '[]')) FROM generate_series(timestamp '2026-01-01', '2027-12-01', '1 month') m" >/dev/null
	fi
	q -f test/fixtures/billing.sql >/dev/null
	union=$(q -c "$ids_sql")
	lo=$((k * 281474976710656 + 1)); hi=$(((k + 1) * 281474976710656 - 1))
	out=$(q -c "SELECT count(*) || ' ids in ' || count(DISTINCT split_part(col, '.', 1)) || ' tables; outside: '
		|| coalesce(string_agg(DISTINCT col, ', ') FILTER (WHERE id NOT BETWEEN $lo AND $hi OR gpubill.partition_of(id) <> $k), 'none')
		FROM ($union) x WHERE id IS NOT NULL")
	ok "$(sed 's/^[0-9]* ids in [0-9]* tables; //' <<<"$out")" "outside: none" "partition $k of $parts: every id drawn lies in $k·2^48 + 1 .. and routes back to $k ($out)"
	ok "$(q -c "SELECT partition || '/' || partitions FROM gpubill.partition_identity")" "$k/$parts" "partition $k of $parts: recorded"
done
ok "$(q -c "SELECT gpubill.provision_partition(3, 4)" 2>&1)" "" "provisioning again the same way is no change"
ok "$(q -c "SELECT gpubill.provision_partition(1, 4)" 2>&1 | grep -o 'cannot become partition 1 of 4: it holds billing rows')" \
	"cannot become partition 1 of 4: it holds billing rows" "a database holding billing rows is refused (GB004)"
fresh
for bad in "0, 3" "4, 4" "-1, 2" "0, 0" "NULL, 2"; do
	ok "$(q -c "SELECT gpubill.provision_partition($bad)" 2>&1 | grep -c 'must be a power of two\|is not one of 0 to' || true)" "1" \
		"provision_partition($bad) is refused (22023)"
done
ok "$(q -c "BEGIN" -c "SET LOCAL ROLE gpubill_app" -c "SELECT gpubill.provision_partition(0, 2)" 2>&1 | grep -c 'permission denied for function provision_partition' || true)" "1" \
	"gpubill_app may not provision a partition"
fresh
ok "$(q -c "SELECT gpubill.set_setting('shard_id', '1')" -c "SELECT nextval('gpubill.id_seq') = 281474976710657" | grep -v '^$')" "t" \
	"set_setting('shard_id', '1') on a fresh database: the next id is 2^48 + 1"
psql -qX -d postgres -c "DROP DATABASE $db" >/dev/null
echo "1..$n"
