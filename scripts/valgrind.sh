#!/usr/bin/env bash
# valgrind.sh — run the pg_regress suite with the server under valgrind memcheck
# and fail if valgrind reports any error.  Slow (a few minutes); not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v valgrind >/dev/null || { [ "$(id -u)" -eq 0 ] && apt-get install -y -qq valgrind >/dev/null; }
. scripts/cluster.sh
cluster_prepare
trap cluster_stop EXIT

vglog=$(mktemp -d /tmp/gpubill-valgrind.XXXXXX)
chmod 777 "$vglog"
CLUSTER_WRAPPER="valgrind --quiet --error-exitcode=0 --leak-check=no --track-origins=yes --num-callers=30 --trace-children=yes --suppressions=$PWD/scripts/valgrind.supp --log-file=$vglog/vg.%p.log" \
	cluster_start "max_parallel_workers_per_gather = 2" "jit = off"

status=0
make -s installcheck PG_CONFIG="$PG_CONFIG" SKIP_PROVE=1 || { cat regression.diffs; status=1; }
cluster_stop

# Debian's PostgreSQL is not built with USE_VALGRIND: its own known reports
# (uninitialised padding written to the relcache init file, WAL, stats) show
# up.  An error counts against gpubill when any frame of its stack or of the
# allocation it points to is in gpubill.so; invalid reads, writes and frees
# count wherever they are.
awk '
	/^==[0-9]+== [A-Z]/ && !/^==[0-9]+== (at|by) / { if (rec != "") flush(); rec = $0 "\n"; next }
	/^==[0-9]+== *$/ { if (rec != "") flush(); next }
	{ if (rec != "") rec = rec $0 "\n" }
	function flush() {
		total++
		if (rec ~ /gpubill\.so/ || rec ~ /Invalid (read|write|free)|Mismatched free|overlap/) { ours++; printf "%s\n", rec }
		rec = ""
	}
	END { if (rec != "") flush(); printf "valgrind: %d error records, %d involve gpubill or memory safety\n", total, ours; exit (ours > 0) }
' "$vglog"/vg.*.log || status=1
rm -rf "$vglog"
exit $status
