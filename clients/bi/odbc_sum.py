#!/usr/bin/python3
"""odbc_sum.py — what a BI tool does through ODBC (psqlODBC, Debian's odbc-postgresql):
read a view's column types from the driver's catalogue, then run a generated
SUM(...) GROUP BY currency.  Prints one line per fact, for test/bi_drivers.sh.

    /usr/bin/python3 clients/bi/odbc_sum.py 'DRIVER={PostgreSQL Unicode};SERVER=127.0.0.1;PORT=5432;DATABASE=billing;UID=bi'
"""
import sys

import pyodbc

conn = pyodbc.connect(sys.argv[1], autocommit=True)
cur = conn.cursor()
for schema, view in (("gpubill_bi", "customer_statement"), ("gpubill", "customer_statement")):
    types = {c.column_name: c.type_name for c in cur.columns(table=view, schema=schema)}
    print(f"{schema}.{view} types", " ".join(f"{k}={types[k]}" for k in ("currency", "charged", "closing_cash") if k in types))
# the query a tool generates for "sum of charged by currency"
rows = cur.execute('SELECT "currency", SUM("charged") AS "sum_charged" FROM "gpubill_bi"."customer_statement" '
                   'GROUP BY "currency" ORDER BY "currency"').fetchall()
print("sum", " ".join(f"{r[0]}={r[1]}:{type(r[1]).__name__}" for r in rows))
