# tap.sh — the TAP helpers of the shell tests (test/*.sh), sourced by each:
#   ok HAVE WANT DESCRIPTION   one test: "ok n" if HAVE equals WANT, else
#                              "not ok n" with both (the plan, "1..$n", is
#                              printed by the script at its end)
#   q DB [psql options]        psql on DB, unaligned, tuples only, stopping
#                              at the first error
n=0
ok() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3"; echo "#   have: $1" | head -8; echo "#   want: $2" | head -3; fi; }
q() { local db=$1; shift; psql -qXAt -d "$db" -v ON_ERROR_STOP=1 "$@"; }
