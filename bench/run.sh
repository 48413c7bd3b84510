#!/usr/bin/env bash
# bench/run.sh — run a benchmark on a throwaway cluster and print its figures.
#   bash bench/run.sh aggregates [rows]     sum/avg of amount vs bigint vs numeric
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-aggregates}

. scripts/cluster.sh
cluster_prepare
trap cluster_stop EXIT
cluster_start "work_mem = 64MB"
psql -q -c "CREATE EXTENSION gpubill"

case "$what" in
	aggregates)
		psql -X -v rows="${2:-10000000}" -f bench/aggregates.sql ;;
	*)
		echo "unknown benchmark: $what" >&2; exit 2 ;;
esac
