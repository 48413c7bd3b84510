#!/usr/bin/env bash
# TAP: the Debian package (issue 15).  dpkg-buildpackage -us -uc -b builds
# postgresql-15-gpubill from debian/ with pg_buildext (scripts/package.sh);
# installed with apt-get into the system's PostgreSQL 15, a cluster started
# from the system's binaries (not the tests' private copy) loads it: the
# README's tour runs against it, and 1.0.0 installed from the package
# updates to the current version; removing the package removes its files.
# As root only (it installs into the system); skipped otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then echo "1..0 # SKIP installs a package: root only"; exit 0; fi
n=0
ok() { n=$((n + 1)); if [ "$1" = 1 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; [ -z "${3:-}" ] || printf '%s\n' "$3" | head -30 | sed 's/^/#   /'; fi; }
V=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" gpubill.control)
bindir=/usr/lib/postgresql/15/bin
work=$(mktemp -d /tmp/gpubill_pkg.XXXXXX)
chmod 755 "$work"
cleanup() {
	[ -f "$work/data/postmaster.pid" ] && runuser -u postgres -- $bindir/pg_ctl -D "$work/data" -m immediate -w stop >/dev/null 2>&1 || true
	dpkg -r postgresql-15-gpubill >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

deb=$(bash scripts/package.sh "$work/build" 2>"$work/err") && ok 1 "dpkg-buildpackage builds $(basename "$deb")" ||
	{ ok 0 "dpkg-buildpackage builds the package" "$(cat "$work/err")"; echo "1..$n"; exit 0; }
files=$(dpkg-deb -c "$deb" | awk '{print $6}')
want="./usr/lib/postgresql/15/lib/gpubill.so ./usr/share/postgresql/15/extension/gpubill.control
./usr/share/postgresql/15/extension/gpubill--$V.sql ./usr/share/postgresql/15/extension/gpubill--1.0.0.sql"
missing=$(for f in $want; do grep -qx -- "$f" <<<"$files" || echo "$f"; done)
[ -z "$missing" ] && ok 1 "it holds the library, the control file, the $V script, the frozen releases and the updates" ||
	ok 0 "it holds the library, the control file, the $V script, the frozen releases and the updates" "missing: $missing"
out=$(DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$deb" 2>&1) &&
	ok 1 "apt-get installs it into the system's PostgreSQL 15" || ok 0 "apt-get installs it into the system's PostgreSQL 15" "$out"

# a cluster of the system's own binaries
mkdir -p "$work/data" "$work/sock" "$work/log"
chown postgres: "$work/data" "$work/sock" "$work/log"
runuser -u postgres -- $bindir/initdb -D "$work/data" -U postgres -E UTF8 --locale=C.UTF-8 --auth=trust >/dev/null
{
	echo "listen_addresses = ''"; echo "port = 54391"; echo "unix_socket_directories = '$work/sock'"; echo "fsync = off"
} >>"$work/data/postgresql.conf"
runuser -u postgres -- $bindir/pg_ctl -D "$work/data" -l "$work/log/server.log" -w start >/dev/null
export PGHOST=$work/sock PGPORT=54391 PGUSER=postgres PATH=$bindir:$PATH

tour=$(bash test/readme_tour.sh 2>&1)
grep -q '^not ok' <<<"$tour" && ok 0 "the README's tour runs against the packaged extension" "$tour" ||
	ok 1 "the README's tour runs against the packaged extension"
psql -qX -d postgres -c "CREATE DATABASE pkg" >/dev/null
loaded=$(psql -qXAt -d pkg -c "CREATE EXTENSION gpubill VERSION '1.0.0'" \
	-c "SELECT gpubill.amount('1.25', 'CNY')::text" -c "ALTER EXTENSION gpubill UPDATE" \
	-c "SELECT extversion FROM pg_extension WHERE extname = 'gpubill'" 2>&1 | tr '\n' ' ' || true)
[ "$loaded" = "1.25 CNY $V " ] && ok 1 "1.0.0 from the package works and updates to $V" ||
	ok 0 "1.0.0 from the package works and updates to $V" "$loaded"
runuser -u postgres -- $bindir/pg_ctl -D "$work/data" -m fast -w stop >/dev/null

dpkg -r postgresql-15-gpubill >/dev/null 2>&1
[ ! -e /usr/lib/postgresql/15/lib/gpubill.so ] && [ ! -e /usr/share/postgresql/15/extension/gpubill.control ] &&
	ok 1 "dpkg -r removes it" || ok 0 "dpkg -r removes it"
echo "1..$n"
