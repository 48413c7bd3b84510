#!/usr/bin/python3
"""update-functions.py — the CREATE OR REPLACE FUNCTION text of named functions, from src/sql.

For an update script (updates/gpubill--A--B.sql): prints each function as
src/sql defines it — from its CREATE FUNCTION to the end of its COMMENT ON
FUNCTION — with CREATE OR REPLACE, so that the updated function is the one a
fresh install makes (test/upgrade.sh compares them).  A function whose
signature or return type changes must be dropped and created by hand.

    /usr/bin/python3 scripts/update-functions.py capture_staged settle_boundary >> updates/gpubill--1.0.0--1.0.1.sql
"""
import glob
import re
import sys

source = "".join(open(f).read() for f in sorted(glob.glob("src/sql/*/*.sql")))
for name in sys.argv[1:]:
    m = re.search(r"^CREATE FUNCTION @extschema@\." + re.escape(name) + r"\(", source, re.M)
    if not m:
        sys.exit(f"update-functions: no function {name} in src/sql")
    c = re.compile(r"^COMMENT ON FUNCTION @extschema@\." + re.escape(name) + r"\(.*?;\n", re.M | re.S).search(source, m.start())
    if not c:
        sys.exit(f"update-functions: no comment on {name}")
    text = source[m.start():c.end()]
    print("CREATE OR REPLACE FUNCTION" + text[len("CREATE FUNCTION"):])
