# barrier.sh — release racing sessions at one instant, without sleeping on a
# guess (issue 13).  Source it, then:
#   barrier_hold DB KEY        a session takes pg_advisory_lock(KEY) and keeps it
#   ... start N racers, each running SELECT pg_advisory_lock_shared(KEY) first ...
#   barrier_release N          once N sessions wait on KEY (seen in pg_locks), unlock
# Both steps wait for a condition of the server (the lock granted; N waiters),
# polled every 10 ms, so the racers start together however slow the machine.

_barrier_count() {
	psql -qXAt -d "$BARRIER_DB" -c "SELECT count(*) FROM pg_catalog.pg_locks
		WHERE locktype = 'advisory' AND classid = 0 AND objid = $BARRIER_KEY AND objsubid = 1
		  AND database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()) AND $1"
}

barrier_hold() {
	BARRIER_DB=$1 BARRIER_KEY=$2
	BARRIER_FIFO=$(mktemp -u)
	mkfifo "$BARRIER_FIFO"
	psql -qXAt -d "$BARRIER_DB" -v ON_ERROR_STOP=1 <"$BARRIER_FIFO" >/dev/null &
	exec 8>"$BARRIER_FIFO"
	echo "SELECT pg_advisory_lock($BARRIER_KEY);" >&8
	_barrier_until "granted AND mode = 'ExclusiveLock'" 1
}

# wait until n locks of the key match a condition; after 60 s say so and go on
# (the test's own checks then fail, rather than CI hanging)
_barrier_until() {
	local tries=0
	until [ "$(_barrier_count "$1")" -ge "$2" ]; do
		tries=$((tries + 1))
		if [ "$tries" -ge 6000 ]; then
			echo "# barrier $BARRIER_KEY: $(_barrier_count "$1") of $2 sessions after 60 s" >&2
			return 0
		fi
		sleep 0.01
	done
}

barrier_release() {
	_barrier_until "NOT granted" "$1"
	echo "SELECT pg_advisory_unlock($BARRIER_KEY);" >&8
	exec 8>&-
	rm -f "$BARRIER_FIFO"
}
