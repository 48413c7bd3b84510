#!/usr/bin/env bash
# TAP: upgrades keep live billing data (issue 15).
#
# The released versions' install scripts are frozen in updates/ (checked
# against updates/SHA256SUMS), and the current version's script, built from
# src/sql, is its frozen copy once released (a change after a release must
# ship as an update). From every earlier release: install it from its frozen
# script, load billing data (test/fixtures/billing.sql), run ALTER EXTENSION gpubill
# UPDATE from a session whose search_path an unprivileged role filled with
# decoys (contrib/seg's security test), and compare with a fresh install of
# the current version: the catalogue (test/fixtures/catalog.sql) identical; the data
# kept, equal to the same data restored into a fresh install; verify(full)
# all ok; the next tick the same as on the fresh install with restored data.
# Needs a running cluster (PGHOST/PGPORT/PGUSER), as scripts/test.sh provides.
set -euo pipefail
cd "$(dirname "$0")/.."
export PGOPTIONS="-c client_min_messages=warning"
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
V=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" gpubill.control)
n=0
ok() {	# ok <0|1 (1 = ok)> <description> [details shown on failure]
	n=$((n + 1))
	if [ "$1" = 1 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; [ -z "${3:-}" ] || printf '%s\n' "$3" | head -40 | sed 's/^/#   /'; fi
}
is() { if [ "$1" = "$2" ]; then ok 1 "$3"; else ok 0 "$3" "$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$1") || true)"; fi; }
q() { psql -qXAt -v ON_ERROR_STOP=1 -d "$@"; }
fresh_db() { psql -qX -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null; }

# the released versions, oldest first: their frozen install scripts
mapfile -t releases < <(ls updates/ | sed -n 's/^gpubill--\([^-]*\)\.sql$/\1/p' | sort -V)
listed=$(sed 's/^[0-9a-f]*  *//' updates/SHA256SUMS | sort | tr '\n' ' ')
frozen=$(for r in "${releases[@]}"; do echo "gpubill--$r.sql"; done | sort | tr '\n' ' ')
is "$listed" "$frozen" "every released version's install script is listed in updates/SHA256SUMS (${#releases[@]} releases)"
sums=$(cd updates && sha256sum -c --quiet SHA256SUMS 2>&1) && ok 1 "the released versions' install scripts are unchanged" ||
	ok 0 "the released versions' install scripts are unchanged" "$sums"

[ -f "gpubill--$V.sql" ] || make -s PG_CONFIG="$PG_CONFIG" "gpubill--$V.sql" >/dev/null
if [ -f "updates/gpubill--$V.sql" ]; then
	cmp -s "gpubill--$V.sql" "updates/gpubill--$V.sql" &&
		ok 1 "$V is released: the script built from src/sql is its frozen copy (a change since ships as an update)" ||
		ok 0 "$V is released: the script built from src/sql is its frozen copy (a change since ships as an update)" \
			"$(diff "updates/gpubill--$V.sql" "gpubill--$V.sql" | head -20)"
else
	ok 1 "$V is not released yet: its script is built from src/sql # (frozen when released)"
fi
grep -q "^## $V " CHANGELOG.md && ok 1 "CHANGELOG.md has a section for $V" || ok 0 "CHANGELOG.md has a section for $V"

# the catalogue of a fresh install of the current version
fresh_db gpubill_up_fresh
q gpubill_up_fresh -c 'CREATE EXTENSION gpubill' >/dev/null
fresh_catalog=$(q gpubill_up_fresh -f test/fixtures/catalog.sql)
# the comparison sees a change (it is not vacuous)
changed=$(q gpubill_up_fresh -c "BEGIN" -c "COMMENT ON FUNCTION gpubill.tick(timestamptz) IS 'changed'" -f test/fixtures/catalog.sql -c "ROLLBACK")
[ "$changed" != "$fresh_catalog" ] && ok 1 "the catalogue comparison sees a changed comment" || ok 0 "the catalogue comparison sees a changed comment"

for r in "${releases[@]}"; do
	[ "$r" != "$V" ] || continue
	[ "$(printf '%s\n%s\n' "$r" "$V" | sort -V | head -1)" = "$r" ] || continue	# older releases only
	old=gpubill_up_old
	restored=gpubill_up_restored
	fresh_db $old
	fresh_db $restored
	dump=$(mktemp /tmp/gpubill_up.XXXXXX)

	q $old -c "CREATE EXTENSION gpubill VERSION '$r'" -f test/fixtures/billing.sql >/dev/null
	is "$(q $old -c "SELECT extversion FROM pg_extension WHERE extname = 'gpubill'")" "$r" "$r: installed from its frozen script, billing data loaded"
	before=$(q $old -f test/fixtures/fingerprint.sql)
	pg_dump -Fc -d $old -f "$dump"

	# an unprivileged role with CREATE on the database and on public fills a schema with decoys that raise
	q $old >/dev/null <<'SQL'
DO $$ BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'regress_gpubill_hijacker') THEN
		CREATE ROLE regress_gpubill_hijacker;
	END IF;
END $$;
SELECT format('GRANT CREATE ON DATABASE %I TO regress_gpubill_hijacker', current_database()) \gexec
GRANT CREATE ON SCHEMA public TO regress_gpubill_hijacker;
SET ROLE regress_gpubill_hijacker;
CREATE SCHEMA hijack;
CREATE FUNCTION hijack.decoy() RETURNS boolean LANGUAGE plpgsql AS
	$$ BEGIN RAISE EXCEPTION 'hijacked: a decoy of the search_path was called by %', current_user; END $$;
CREATE FUNCTION hijack.eq(text, text) RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN RETURN hijack.decoy(); END $$;
CREATE OPERATOR hijack.= (LEFTARG = text, RIGHTARG = text, PROCEDURE = hijack.eq);
CREATE FUNCTION hijack.eq_oid(oid, regclass) RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN RETURN hijack.decoy(); END $$;
CREATE OPERATOR hijack.= (LEFTARG = oid, RIGHTARG = regclass, PROCEDURE = hijack.eq_oid);
CREATE FUNCTION hijack.now() RETURNS timestamptz LANGUAGE plpgsql AS $$ BEGIN PERFORM hijack.decoy(); RETURN NULL; END $$;
CREATE FUNCTION hijack.md5(text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN PERFORM hijack.decoy(); RETURN NULL; END $$;
CREATE FUNCTION hijack.format(text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN PERFORM hijack.decoy(); RETURN NULL; END $$;
CREATE FUNCTION hijack.lower(text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN PERFORM hijack.decoy(); RETURN NULL; END $$;
CREATE FUNCTION hijack.coalesce_(text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN PERFORM hijack.decoy(); RETURN NULL; END $$;
CREATE FUNCTION public.setting(text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN PERFORM hijack.decoy(); RETURN NULL; END $$;
CREATE TABLE public.settings (key text, value text);
SQL
	planted=$(q $old -c "SET ROLE regress_gpubill_hijacker" \
		-c "CREATE FUNCTION gpubill.billing_timezone() RETURNS text LANGUAGE sql AS \$\$ SELECT 'UTC' \$\$" 2>&1 || true)
	case "$planted" in *"permission denied for schema gpubill"*) ok 1 "$r: the role cannot plant an object in the extension's schema" ;;
		*) ok 0 "$r: the role cannot plant an object in the extension's schema" "$planted" ;; esac

	# the update, by the superuser, from a session whose search_path puts the decoys before pg_catalog
	out=$(q $old -c "SET search_path = hijack, public, pg_catalog" -c "CREATE TEMP TABLE setting_defaults (key text)" \
		-c "ALTER EXTENSION gpubill UPDATE" 2>&1) &&
		ok 1 "$r: ALTER EXTENSION gpubill UPDATE runs from a hostile search_path without calling a decoy" ||
		ok 0 "$r: ALTER EXTENSION gpubill UPDATE runs from a hostile search_path without calling a decoy" "$out"
	is "$(q $old -c "SELECT extversion FROM pg_extension WHERE extname = 'gpubill'")" "$V" "$r: updated to $V"
	is "$(q $old -f test/fixtures/catalog.sql)" "$fresh_catalog" "$r: the catalogue equals a fresh install of $V (functions, tables, columns in order, constraints, indexes, triggers, views, types, operators, grants, comments)"
	after=$(q $old -f test/fixtures/fingerprint.sql)
	counts() { printf '%s\n' "$1" | tr ' ' '\n' | cut -d: -f1,2 | LC_ALL=C sort -t: -k1,1; }
	lost=$(LC_ALL=C join -t: -a1 <(counts "$before") <(counts "$after") | awk -F: '$3 == "" || $3 < $2')	# table:before:after
	is "$lost" "" "$r: every table keeps its rows (tables the update adds, and rows it adds to a table of allowed changes, aside)"

	# the same data restored into a fresh install of the current version
	pg_restore -d $restored "$dump" 2>"$dump.err" || true
	is "$(grep -c . "$dump.err" || true)" "0" "$r: its dump restores into a fresh install of $V" 
	is "$after" "$(q $restored -f test/fixtures/fingerprint.sql)" "$r: the upgraded data equal the data restored into a fresh install, row for row"
	is "$(q $old -c "SELECT string_agg(check_name, ', ') FROM gpubill.verify(full => true) WHERE NOT ok")" "" \
		"$r: verify(full => true) is all ok after the update"
	# the next tick, from the hostile search_path: the same on both
	tick="SET search_path = hijack, public, pg_catalog; SELECT (gpubill.tick('2026-11-08 00:00+08') - 'ms')::text"
	t_old=$(q $old -c "$tick" 2>&1 || true)
	t_restored=$(q $restored -c "$tick" 2>&1 || true)
	is "$t_old" "$t_restored" "$r: the next tick does the same work on the upgraded and on the fresh install ($t_old)"
	business="SET gpubill_test.business_only = on"	# the times rows were recorded differ: the two ticks ran apart
	is "$(q $old -c "$business" -f test/fixtures/fingerprint.sql)" "$(q $restored -c "$business" -f test/fixtures/fingerprint.sql)" \
		"$r: and leaves the same data (but the wall-clock times rows were recorded at)"

	rm -f "$dump" "$dump.err"
	psql -qX -d postgres -c "DROP DATABASE $old" -c "DROP DATABASE $restored" >/dev/null
done
psql -qX -d postgres -c "DROP DATABASE gpubill_up_fresh" -c "DROP ROLE IF EXISTS regress_gpubill_hijacker" >/dev/null
echo "1..$n"
