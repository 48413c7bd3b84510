#!/usr/bin/env bash
# package.sh — build the Debian package postgresql-15-gpubill from this tree
# with dpkg-buildpackage and pg_buildext (debian/), in a copy of the tree under
# a temporary directory; prints the path of the .deb.  Needs debhelper and
# postgresql-server-dev-all (scripts/install-deps.sh installs them as root).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-$(mktemp -d /tmp/gpubill_deb.XXXXXX)}
mkdir -p "$out/gpubill"
# the tree as git sees it: tracked files and new ones not ignored (no build products)
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$out/gpubill"
(cd "$out/gpubill" && dpkg-buildpackage -us -uc -b >"$out/build.log" 2>&1) ||
	{ tail -40 "$out/build.log" >&2; exit 1; }
ls "$out"/postgresql-*-gpubill_*.deb
