#!/usr/bin/env bash
# TAP: pg_dump of a database with billing data (ledger, instances, outages,
# ratings, exchange contracts and a resale; the journal's months as
# partitions; a closed month in a billing time zone not the default), restored into a fresh
# database, keeps every row and verify() stays all ok (STYLE 11, R-LED-3).
# Needs a running cluster (PGHOST/PGPORT/PGUSER), as scripts/test.sh provides.
set -euo pipefail
src=gpubill_dump_src
dst=gpubill_dump_dst
export PGOPTIONS="-c client_min_messages=warning"
for db in $src $dst; do psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null; done

psql -qX -d $src -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE EXTENSION gpubill;
SET search_path = gpubill, public;
SELECT set_setting('service_fee_rate', '0.25');
SELECT set_setting('billing_timezone', 'Europe/Berlin');
SELECT set_setting('channel_bonus_rate.wechat', '0.10');
-- the journal's months: October to December get partitions of their own (issue 14); a recharge
-- dated before any tick stays in the default partitions
SELECT recharge(open_customer('dump-early', 'CNY', '2026-09-01'), '10 CNY', 'wechat', 'dump-early', '2026-09-01');
SELECT tick('2026-10-31 12:00+08') IS NOT NULL;
SELECT open_customer('dump-' || i, 'CNY', '2026-11-01') FROM generate_series(1, 20) i;
SELECT open_partner('dump-partner', 'CNY', '2026-11-01');
SELECT recharge(customer_id, amount(customer_id % 7 * 10 + 50, 'CNY'), 'wechat', 'dump-wx-' || customer_id, '2026-11-02')
FROM customer;
SELECT grant_voucher(customer_id, '5 CNY', '2026-12-01', '2026-11-02', 'dump-v-' || customer_id) FROM customer;
SELECT capture_hold(place_hold(customer_id, '20 CNY', false, NULL, 'order', customer_id, '2026-11-03'),
					'12.34 CNY', (SELECT partner_id FROM partner), '2026-11-03 01:00')
FROM customer WHERE customer_id % 2 = 0;
SELECT place_hold(customer_id, '7 CNY', true, '2026-11-10', NULL, NULL, '2026-11-03') FROM customer WHERE customer_id % 3 = 0;
SELECT reverse_transfer((SELECT min(transfer_id) FROM transfer WHERE kind = 'fee'), 'dump test', '2026-11-04');
-- machines, instances, an outage, ratings, a withdrawal; contracts, a resale, tiers
INSERT INTO partner_level VALUES ('new', '0'), ('top', '4.2');
SELECT list_machine((SELECT partner_id FROM partner), 8, '1.00 CNY', '2027-12-01', week_price_per_gpu => '100 CNY', at => '2026-11-01');
SELECT create_instance(customer_id, (SELECT min(machine_id) FROM machine), 1, at => '2026-11-05 10:00+08')
FROM customer WHERE customer_id % 5 = 0;
SELECT tick('2026-11-05 13:00+08') IS NOT NULL;
SELECT report_outage((SELECT min(machine_id) FROM machine), '2026-11-05 11:00+08', '2026-11-05 11:30+08', false, '2026-11-05 12:30+08');
SELECT rate_partner((SELECT partner_id FROM partner), 100, 'dump', '2026-11-05');
SELECT request_withdrawal((SELECT partner_id FROM partner), '0.01 CNY', '2026-12-02') WHERE withdrawable((SELECT partner_id FROM partner), '2026-12-02') >= '0.01 CNY';
INSERT INTO exchange_commission_tier VALUES (0, 0.04), (100000, 0.03);
SELECT open_provider('dump-prov', 'CNY', '2026-11-01');
SELECT recharge(open_customer('dump-lab', 'CNY', '2026-11-01'), '5000 CNY', 'wechat', 'dump-lab', '2026-11-01');
SELECT recharge(open_customer('dump-lab2', 'CNY', '2026-11-01'), '5000 CNY', 'wechat', 'dump-lab2', '2026-11-01');
SELECT create_contract((SELECT customer_id FROM customer WHERE external_ref = 'dump-lab'), (SELECT partner_id FROM partner WHERE is_provider),
					   1, '1.00 CNY', '[2026-11-06 00:00+08, 2027-02-06 00:00+08)', '2026-11-05 14:00+08');
SELECT tick('2026-11-06 00:00+08') IS NOT NULL;
SELECT resell_contract((SELECT contract_id FROM contract), (SELECT customer_id FROM customer WHERE external_ref = 'dump-lab2'),
					   '1.20 CNY', '2026-11-07');
-- September and October closed (issue 14): restored, their roll-ups match their digests, in Berlin's months
SELECT close_period('2026-10-01', '2026-11-07');
SQL

# a fingerprint of every billing table and the id sequence
fingerprint() {
	psql -qXAt -d "$1" <<'SQL'
SELECT string_agg(format('%s:%s:%s', c.relname,
	(xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM gpubill.%I', c.relname), false, true, '')))[1],
	(xpath('/row/h/text()', query_to_xml(format('SELECT md5(string_agg(t::text, ''|'' ORDER BY t::text)) AS h FROM gpubill.%I t', c.relname), false, true, '')))[1]),
	' ' ORDER BY c.relname)
FROM pg_class c WHERE c.relnamespace = 'gpubill'::regnamespace AND c.relkind = 'r'
UNION ALL SELECT 'id_seq:' || last_value FROM gpubill.id_seq;
SQL
}
before=$(fingerprint $src | tr '\n' ' ')
dump=$(mktemp /tmp/gpubill_dump.XXXXXX)
pg_dump -Fc -d $src -f "$dump"
pg_restore -d $dst "$dump" 2>"$dump.err" || true
after=$(fingerprint $dst | tr '\n' ' ')

psql -qXAt -d $dst -v before="$before" -v after="$after" -v errors="$(grep -c . "$dump.err" || true)" <<'SQL'
CREATE EXTENSION IF NOT EXISTS pgtap;
SET search_path = gpubill, public;
SELECT plan(10);
SELECT is(:'errors'::text, '0', 'pg_restore reports no error');
SELECT is(:'after'::text, :'before'::text, 'every billing table and the id sequence are restored row for row');
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
