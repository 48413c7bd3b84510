#!/usr/bin/env bash
# check-layers.sh — the layer order of src/sql holds (issue 13): a file may use
# objects of its own layer and of earlier layers only.  Layers are the folders
# src/sql/N_name, in the order the Makefile concatenates them.  An object is a
# function, table, view, type, sequence, domain or aggregate created as
# @extschema@.name; a use is any @extschema@.name in another file.
# Prints one line per use of a later layer's object; exits 1 if there is any.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(ls src/sql/*/*.sql | sort)
awk '
FNR == 1 { split(FILENAME, p, "/"); layer = p[3] }
{
	line = $0
	if (pass == 1) {
		if (match(line, /CREATE (OR REPLACE )?(UNLOGGED )?(FUNCTION|TABLE|VIEW|TYPE|SEQUENCE|DOMAIN|AGGREGATE) @extschema@\.[a-z_0-9]+/)) {
			def = substr(line, RSTART, RLENGTH); sub(/.*@extschema@\./, "", def)
			if (!(def in defined)) { defined[def] = layer; where[def] = FILENAME }
		}
		next
	}
	while (match(line, /@extschema@\.[a-z_0-9]+/)) {
		name = substr(line, RSTART + 12, RLENGTH - 12)
		line = substr(line, RSTART + RLENGTH)
		if ((name in defined) && defined[name] > layer) {
			printf "%s:%d uses %s of the later layer %s (%s)\n", FILENAME, FNR, name, defined[name], where[name]
			bad = 1
		}
	}
}
END { exit bad }
' pass=1 $files pass=2 $files
