#!/usr/bin/env bash
# TAP: pg_dump of a database with billing data (ledger, instances, outages,
# ratings, exchange contracts and a resale; the journal's months as
# partitions; a closed month in a billing time zone not the default), restored into a fresh
# database, keeps every row and verify() stays all ok (STYLE 11, R-LED-3).
# Needs a running cluster (PGHOST/PGPORT/PGUSER), as scripts/test.sh provides.
set -euo pipefail
cd "$(dirname "$0")/.."
src=gpubill_dump_src
dst=gpubill_dump_dst
export PGOPTIONS="-c client_min_messages=warning"
for db in $src $dst; do psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null; done

psql -qX -d $src -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION gpubill' -f test/fixtures/billing.sql >/dev/null

# a fingerprint of every billing table and the id sequence
fingerprint() { psql -qXAt -d "$1" -f test/fixtures/fingerprint.sql; }
before=$(fingerprint $src | tr '\n' ' ')
dump=$(mktemp /tmp/gpubill_dump.XXXXXX)
pg_dump -Fc -d $src -f "$dump"

# a session of the restored database listens to gpubill's channels while the restore runs (issue 15: NOTIFY
# for live events only): it must hear nothing of the restored alerts and events, and then hear a live one
fifo=$(mktemp -u /tmp/gpubill_listen.XXXXXX)
mkfifo "$fifo"
heard=$(mktemp /tmp/gpubill_heard.XXXXXX)
psql -qXAt -d $dst <"$fifo" >"$heard" 2>&1 &
listener=$!
exec 3>"$fifo"
echo "LISTEN gpubill_alert; LISTEN gpubill_lifecycle; SELECT 'listening';" >&3
until grep -q listening "$heard"; do sleep 0.1; done
pg_restore -d $dst "$dump" 2>"$dump.err" || true
echo "SELECT 'restored';" >&3
until grep -q restored "$heard"; do sleep 0.1; done
after=$(fingerprint $dst | tr '\n' ' ')
psql -qXAt -d $dst -c "SELECT gpubill.stop_instance((SELECT min(instance_id) FROM gpubill.instance WHERE state = 'running'), '2026-11-07 10:00+08')" >/dev/null
echo "SELECT 'live';" >&3
exec 3>&-
wait $listener
# psql prints what it heard after the result of its next query
during_restore=$(sed -n '/^restored$/,/^live$/p' "$heard" | grep -c '^Asynchronous notification' || true)
after_live=$(sed -n '/^live$/,$p' "$heard" | grep -c '^Asynchronous notification "gpubill_lifecycle"' || true)
rm -f "$fifo" "$heard"

psql -qXAt -d $dst -v before="$before" -v after="$after" -v errors="$(grep -c . "$dump.err" || true)" \
	-v during_restore="$during_restore" -v after_live="$after_live" <<'SQL'
CREATE EXTENSION IF NOT EXISTS pgtap;
SET search_path = gpubill, public;
SELECT plan(13);
SELECT is(:'errors'::text, '0', 'pg_restore reports no error');
SELECT is(:'after'::text, :'before'::text, 'every billing table and the id sequence are restored row for row');
SELECT cmp_ok((SELECT count(*) FROM alert) + (SELECT count(*) FROM lifecycle_event), '>', 0::bigint,
			  'alerts and lifecycle events (some closed or cancelled) were restored');
SELECT is(:'during_restore'::int, 0, 'a session listening to the restored database heard none of them (NOTIFY for live events only)');
SELECT cmp_ok(:'after_live'::int, '>', 0, 'it hears a live event: an instance stopped after the restore');
SELECT cmp_ok((SELECT count(*) FROM transfer), '>', 0::bigint, 'the journal was restored');
SELECT cmp_ok((SELECT count(*) FROM transfer_2026_11), '>', 0::bigint, 'November''s partition with its rows');
SELECT is(ARRAY(SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
				WHERE i.inhparent = 'gpubill.transfer'::regclass ORDER BY 1),
		  ARRAY['transfer_2026_10', 'transfer_2026_11', 'transfer_2026_12', 'transfer_2027_01', 'transfer_default'],
		  'the journal''s months are partitions again, with the default partition');
SELECT is((SELECT count(*) FROM verify() WHERE NOT ok), 0::bigint, 'verify() is all ok on the restored database');
SELECT is(setting('service_fee_rate'), '0.25', 'changed settings are restored');
SELECT is(billing_timezone(), 'Europe/Berlin', 'the billing time zone too, after the closed months');
SELECT is(closed_until(), '2026-10-31 23:00+00'::timestamptz, 'the months closed up to the end of October in Berlin');
SELECT is((SELECT count(*) FROM verify(full => true) WHERE NOT ok), 0::bigint, 'verify(full => true) is all ok on the restored database');
SELECT * FROM finish();
SQL
cat "$dump.err" >&2
rm -f "$dump" "$dump.err"
