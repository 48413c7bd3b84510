#!/usr/bin/env bash
# install-deps.sh — install what gpubill needs to build and test, when it is missing.
# As root: apt-get installs the packages (without Debian's default cluster).
# As another user: only checks, and says what to install.
set -euo pipefail

PGV=${PGV:-15}
# clang: the C is also built with it (warnings as errors); debhelper and
# postgresql-server-dev-all: the Debian package (test/package.sh); the real
# clients the tests drive (issue 16): psqlODBC with pyodbc, psycopg 3, a JDK
# with pgjdbc, pgbouncer (node-postgres comes from npm: clients/node)
pkgs=(build-essential clang "postgresql-$PGV" "postgresql-server-dev-$PGV" "postgresql-$PGV-cron"
      "postgresql-$PGV-pgtap" libtap-parser-sourcehandler-pgtap-perl
      dpkg-dev debhelper postgresql-server-dev-all
      odbc-postgresql unixodbc python3-pyodbc python3-psycopg default-jdk-headless libpostgresql-jdbc-java pgbouncer
      "postgresql-$PGV-plproxy")

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}" >&2
	echo "install-deps: run as root: apt-get install ${missing[*]}" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}"
# Debian's postgresql package would create and start a cluster 15/main: we do not want it.
mkdir -p /etc/postgresql-common/createcluster.d
echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/gpubill.conf
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
