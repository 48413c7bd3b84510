#!/usr/bin/env bash
# cluster.sh — a throwaway PostgreSQL cluster with gpubill, for tests, demo and benchmarks.
# Source it, then:  cluster_start  ...  cluster_stop
# (and, for the partitions behind PL/Proxy of issue 17, cluster_partitions N after cluster_start)
#
# The server runs from a private copy of the PostgreSQL installation (binaries
# copied, everything else symlinked) into which gpubill is installed with
# DESTDIR: PostgreSQL finds its share and lib directories relative to its
# binary, so nothing outside the temporary directory is written, and a normal
# user can run it as well as root.  As root the server runs as `postgres`
# (initdb and postgres refuse root).  Unix socket only, in the temp dir.

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
CLUSTER_PORT=${CLUSTER_PORT:-54329}
CLUSTER_DB=${CLUSTER_DB:-gpubill_test}

# cluster_prepare: install missing packages, build the extension
cluster_prepare() {
	bash scripts/install-deps.sh
	make -s PG_CONFIG="$PG_CONFIG" >/dev/null
}

_as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

# cluster_start [extra postgresql.conf lines...]
cluster_start() {
	local bindir sharedir pkglibdir f
	bindir=$($PG_CONFIG --bindir)
	sharedir=$($PG_CONFIG --sharedir)
	pkglibdir=$($PG_CONFIG --pkglibdir)

	CLUSTER_DIR=$(mktemp -d /tmp/gpubill.XXXXXX)
	chmod 755 "$CLUSTER_DIR"
	local inst=$CLUSTER_DIR/inst
	mkdir -p "$inst$bindir" "$inst$pkglibdir" "$inst$sharedir/extension"
	cp -a "$bindir/." "$inst$bindir/"
	for f in "$pkglibdir"/*; do
		case "$(basename "$f")" in gpubill.so | bitcode) ;; *) ln -s "$f" "$inst$pkglibdir/" ;; esac
	done
	if [ -d "$pkglibdir/bitcode" ]; then
		mkdir -p "$inst$pkglibdir/bitcode"
		for f in "$pkglibdir"/bitcode/*; do
			case "$(basename "$f")" in gpubill*) ;; *) ln -s "$f" "$inst$pkglibdir/bitcode/" ;; esac
		done
	fi
	for f in "$sharedir"/*; do [ "$(basename "$f")" = extension ] || ln -s "$f" "$inst$sharedir/"; done
	for f in "$sharedir"/extension/*; do
		case "$(basename "$f")" in gpubill[.-]*) ;; *) ln -s "$f" "$inst$sharedir/extension/" ;; esac
	done
	make -s install PG_CONFIG="$PG_CONFIG" DESTDIR="$inst" >/dev/null

	CLUSTER_BIN=$inst$bindir
	mkdir -p "$CLUSTER_DIR/data" "$CLUSTER_DIR/sock" "$CLUSTER_DIR/log"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$CLUSTER_DIR/data" "$CLUSTER_DIR/sock" "$CLUSTER_DIR/log"
	_as_pg "$CLUSTER_BIN/initdb" -D "$CLUSTER_DIR/data" -U postgres -E UTF8 --locale=C.UTF-8 \
		--auth=trust >"$CLUSTER_DIR/log/initdb.log" 2>&1 || { cat "$CLUSTER_DIR/log/initdb.log"; return 1; }
	{
		echo "listen_addresses = ''"
		echo "port = $CLUSTER_PORT"
		echo "unix_socket_directories = '$CLUSTER_DIR/sock'"
		echo "fsync = off"
		echo "synchronous_commit = off"
		echo "full_page_writes = off"
		echo "shared_preload_libraries = 'pg_cron'"
		echo "cron.database_name = '$CLUSTER_DB'"
		echo "cron.host = '$CLUSTER_DIR/sock'"
		echo "max_connections = 100"
		echo "shared_buffers = 512MB"
		echo "max_worker_processes = 16"
		for f in "$@"; do echo "$f"; done
	} >>"$CLUSTER_DIR/data/postgresql.conf"
	# CLUSTER_WRAPPER (e.g. a valgrind command line) runs the server under a tool
	local postgres_exe=$CLUSTER_BIN/postgres
	if [ -n "${CLUSTER_WRAPPER:-}" ]; then
		postgres_exe=$CLUSTER_DIR/postgres-wrapper
		printf '#!/bin/sh\nexec %s %s "$@"\n' "$CLUSTER_WRAPPER" "$CLUSTER_BIN/postgres" >"$postgres_exe"
		chmod 755 "$postgres_exe"
	fi
	_as_pg "$CLUSTER_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/log/server.log" -p "$postgres_exe" \
		-t 300 -w start >/dev/null ||
		{ cat "$CLUSTER_DIR/log/server.log"; return 1; }

	export PGHOST=$CLUSTER_DIR/sock PGPORT=$CLUSTER_PORT PGUSER=postgres
	export PATH=$CLUSTER_BIN:$PATH
	createdb "$CLUSTER_DB"
	export PGDATABASE=$CLUSTER_DB
}

cluster_stop() {
	[ -n "${CLUSTER_DIR:-}" ] || return 0
	[ -n "${CLUSTER_BIN:-}" ] &&
		{ _as_pg "$CLUSTER_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true; }
	local d
	for d in "$CLUSTER_DIR"/data-*; do		# the second servers of cluster_server_start
		[ -d "$d" ] && { _as_pg "$CLUSTER_BIN/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1 || true; }
	done
	rm -rf "$CLUSTER_DIR"
	CLUSTER_DIR= CLUSTER_BIN=
}

# cluster_server_start NAME PORT: a second server of the same installation (data dir
# $CLUSTER_DIR/data-NAME, the same socket directory, its own port), with
# synchronous_commit on so that an immediate stop loses no acknowledged commit
# (issue 18's fault tests stop it with cluster_server_stop NAME immediate).
cluster_server_start() {
	local name=$1 port=$2 data=$CLUSTER_DIR/data-$1
	if [ ! -d "$data" ]; then
		mkdir -p "$data"
		[ "$(id -u)" -eq 0 ] && chown postgres: "$data"
		_as_pg "$CLUSTER_BIN/initdb" -D "$data" -U postgres -E UTF8 --locale=C.UTF-8 --auth=trust \
			>"$CLUSTER_DIR/log/initdb-$name.log" 2>&1 || { cat "$CLUSTER_DIR/log/initdb-$name.log"; return 1; }
		{
			echo "listen_addresses = ''"
			echo "port = $port"
			echo "unix_socket_directories = '$CLUSTER_DIR/sock'"
			echo "fsync = off"
			echo "synchronous_commit = on"
			echo "max_connections = 50"
		} >>"$data/postgresql.conf"
	fi
	_as_pg "$CLUSTER_BIN/pg_ctl" -D "$data" -l "$CLUSTER_DIR/log/server-$name.log" -t 120 -w start >/dev/null ||
		{ cat "$CLUSTER_DIR/log/server-$name.log"; return 1; }
}

# cluster_server_stop NAME [MODE]: stop it (fast, or immediate: as a crash)
cluster_server_stop() {
	_as_pg "$CLUSTER_BIN/pg_ctl" -D "$CLUSTER_DIR/data-$1" -m "${2:-fast}" -w stop >/dev/null
}

# cluster_partitions N [PREFIX]: in the running cluster, N partition databases PREFIX_p0 .. PREFIX_p(N-1)
# (gpubill, provisioned as partition k of N) and a proxy database PREFIX_proxy (gpubill_proxy,
# configured with them; issue 17). N a power of two. Prints the proxy database's name.
cluster_partitions() {
	local parts=$1 prefix=${2:-gpubill} k conninfos=
	for k in $(seq 0 $((parts - 1))); do
		PGOPTIONS="-c client_min_messages=warning" psql -qX -d postgres \
			-c "DROP DATABASE IF EXISTS ${prefix}_p$k WITH (FORCE)" -c "CREATE DATABASE ${prefix}_p$k" >/dev/null
		psql -qXAt -d "${prefix}_p$k" -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION gpubill' \
			-c "SELECT gpubill.provision_partition($k, $parts)" >/dev/null
		conninfos="$conninfos${conninfos:+, }'dbname=${prefix}_p$k host=$PGHOST port=$PGPORT'"
	done
	PGOPTIONS="-c client_min_messages=warning" psql -qX -d postgres \
		-c "DROP DATABASE IF EXISTS ${prefix}_proxy WITH (FORCE)" -c "CREATE DATABASE ${prefix}_proxy" >/dev/null
	PGOPTIONS="-c client_min_messages=warning" psql -qXAt -d "${prefix}_proxy" -v ON_ERROR_STOP=1 \
		-c 'CREATE EXTENSION gpubill_proxy CASCADE' -c "SELECT gpubill.configure_partitions(ARRAY[$conninfos])" >/dev/null
	echo "${prefix}_proxy"
}
