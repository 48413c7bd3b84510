#!/usr/bin/env bash
# TAP: META.json follows the PGXN Meta Spec and agrees with the tree
# (scripts/check-meta.py); broken copies of it are caught (the checker is
# not a rubber stamp).
set -euo pipefail
cd "$(dirname "$0")/.."
py=/usr/bin/python3
echo "1..5"
if $py scripts/check-meta.py . >/tmp/meta.$$ 2>&1; then echo "ok 1 - META.json is valid"; else echo "not ok 1 - META.json is valid"; sed 's/^/# /' /tmp/meta.$$; fi
n=1
broken() {	# a copy of the tree's META.json changed by a Python expression on m; the checker must fail
	n=$((n + 1))
	local dir
	dir=$(mktemp -d)
	cp gpubill.control LICENSE README.md "$dir/"
	$py -c "import json,sys; m=json.load(open('META.json')); $1; json.dump(m, open('$dir/META.json','w'))"
	if $py scripts/check-meta.py "$dir" >/dev/null 2>&1; then echo "not ok $n - $2"; else echo "ok $n - $2"; fi
	rm -rf "$dir"
}
broken "del m['license']" "a META.json without a licence is refused"
broken "m['version'] = '1.0'" "a version that is not SemVer is refused"
broken "m['provides']['gpubill']['version'] = '9.9.9'" "a version that is not the control file's is refused"
broken "m['homepage'] = 'x'" "an unknown key is refused"
rm -f /tmp/meta.$$
