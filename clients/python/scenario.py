#!/usr/bin/python3
"""scenario.py — clients/scenario.sql through psycopg 3 with gpubill_psycopg (issue 16).

The same calls with the same values, bound as parameters: amounts as
Amount objects in text (%t) and in binary (%b), read back in both formats.
Prints the three lines scenario.sql prints; test/clients.sh compares them
and the journal with psql's.

    /usr/bin/python3 clients/python/scenario.py 'host=127.0.0.1 port=5432 dbname=billing user=app'
"""
import os
import sys
from decimal import Decimal

import psycopg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpubill_psycopg import Amount, BillingPeriod, Rating, register  # noqa: E402

# behind a transaction-pooling pooler (pgbouncer before 1.21), no server-side prepared statements
pooled = os.environ.get("GPUBILL_POOLED") == "1"
with psycopg.connect(sys.argv[1], autocommit=True, prepare_threshold=None if pooled else 5) as conn:
    register(conn)
    conn.execute("SET search_path = gpubill, public")
    q = lambda sql, *args: conn.execute(sql, args).fetchone()[0]
    p = q("SELECT open_partner(%s, %s, %s)", "sc-owner", "CNY", "2026-11-01")
    m = q("SELECT list_machine(%s, %s, %t, %s, at => %s)", p, 4, Amount(Decimal("2.00"), "CNY"), "2027-12-01", "2026-11-01")
    c = q("SELECT open_customer(%s, %s, %s)", "sc-cust", "CNY", "2026-11-01")
    q("SELECT recharge(%s, %b, 'wechat', %s, %s) IS NOT NULL", c, Amount(Decimal("100.00"), "CNY"), "sc-r1", "2026-11-01 08:00+08")
    q("SELECT grant_voucher(%s, %t, %s, %s, %s) IS NOT NULL", c, Amount(Decimal("5.50"), "CNY"), "2026-12-01",
      "2026-11-01 08:00+08", "sc-v1")
    i = q("SELECT create_instance(%s, %s, %s, at => %s)", c, m, 2, "2026-11-01 09:30+08")
    q("SELECT tick(%s) IS NOT NULL AND tick(%s) IS NOT NULL", "2026-11-01 10:00+08", "2026-11-01 11:00+08")
    q("SELECT stop_instance(%s, %s) IS NULL", i, "2026-11-01 11:15+08")
    q("SELECT rate_partner(%s, %s, %s, %s)", p, 100, "sc", "2026-11-02")

    text_cash = conn.execute("SELECT cash FROM wallet(%s)", (c,)).fetchone()[0]
    binary_cash = conn.cursor(binary=True).execute("SELECT cash FROM wallet(%s)", (c,)).fetchone()[0]
    assert isinstance(text_cash, Amount) and text_cash == binary_cash, (text_cash, binary_cash)
    rating = conn.cursor(binary=True).execute("SELECT partner_rating(%s)", (p,)).fetchone()[0]
    assert isinstance(rating, Rating) and rating == conn.execute("SELECT partner_rating(%s)", (p,)).fetchone()[0]
    # a value round-trips exactly through both formats
    for fmt in ("%t", "%b"):
        back = conn.execute(f"SELECT {fmt}::gpubill.amount", (Amount(Decimal("-0.000001"), "USD"),)).fetchone()[0]
        assert back == Amount(Decimal("-0.000001"), "USD"), back
    period = conn.cursor(binary=True).execute("SELECT billing_period('month', %s)", ("2026-11-05 10:00+08",)).fetchone()[0]
    assert isinstance(period, BillingPeriod)
    assert period == conn.execute("SELECT billing_period('month', %s)", ("2026-11-05 10:00+08",)).fetchone()[0]
    print(f"cash {text_cash}")
    print(f"rating {rating}")
    print(f"period {int(period.lower.timestamp())} {int(period.upper.timestamp())} {period.unit}")
