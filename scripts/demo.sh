#!/usr/bin/env bash
# demo.sh — build gpubill, start a throwaway cluster and print a tour.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/cluster.sh
cluster_prepare
trap cluster_stop EXIT
cluster_start
psql -q -c "CREATE EXTENSION gpubill"
psql -X -q -f scripts/demo.sql
