"""gpubill_psycopg — psycopg 3 adapters for gpubill's types (issue 16).

gpubill.amount      <-> Amount(value: Decimal, currency: str)
gpubill.rating      <-> Rating (a Decimal with three decimals)
gpubill.billing_period -> BillingPeriod(lower, upper: datetime, unit: str)

Text and binary, both ways for amounts and ratings (periods are read):

    import psycopg
    from gpubill_psycopg import Amount, register
    with psycopg.connect(dsn) as conn:
        register(conn)
        conn.execute("SELECT gpubill.recharge(%s, %s, 'wechat', %s)", (customer, Amount(Decimal("100.00"), "CNY"), "ext-1"))
        cash = conn.execute("SELECT cash FROM gpubill.wallet(%s)", (customer,)).fetchone()[0]   # Amount('96.40', 'CNY')

Without the adapters, the idiom is text: bind '100.00 CNY' (a str) with
%s::gpubill.amount, read gpubill.to_numeric(x) and gpubill.currency(x).
"""
import datetime
import struct
from decimal import Decimal
from typing import NamedTuple

from psycopg.adapt import Dumper, Loader
from psycopg.pq import Format
from psycopg.types import TypeInfo

__all__ = ["Amount", "Rating", "BillingPeriod", "register"]

MICROS = Decimal(1000000)
PG_EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
UNITS = ("second", "hour", "day", "week", "month")


class Amount(NamedTuple):
    """An exact amount of money: at most 6 decimals, a 3-letter currency."""
    value: Decimal
    currency: str

    def __str__(self):
        return f"{self.value} {self.currency}"

    def micros(self) -> int:
        m = Decimal(self.value) * MICROS
        if m != m.to_integral_value():
            raise ValueError(f"an amount has at most 6 decimals: {self.value}")
        return int(m)


class Rating(Decimal):
    """A partner's rating, 0.000 to 5.000."""


class BillingPeriod(NamedTuple):
    lower: datetime.datetime
    upper: datetime.datetime
    unit: str


def _plain(micros: int) -> Decimal:
    """micro-units as gpubill prints them: at least 2 decimals, at most 6, no trailing zero beyond 2."""
    d = Decimal(micros) / MICROS
    return d.quantize(Decimal("0.01")) if micros % 10000 == 0 else d.normalize()


class _AmountText(Dumper):
    def dump(self, obj):
        return f"{Decimal(obj.value)} {obj.currency}".encode()


class _AmountBinary(Dumper):
    format = Format.BINARY

    def dump(self, obj):
        return struct.pack("!q3s", obj.micros(), obj.currency.encode("ascii"))


class _AmountTextLoader(Loader):
    def load(self, data):
        value, currency = bytes(data).decode().split(" ")
        return Amount(Decimal(value), currency)


class _AmountBinaryLoader(Loader):
    format = Format.BINARY

    def load(self, data):
        micros, currency = struct.unpack("!q3s", bytes(data))
        return Amount(_plain(micros), currency.decode("ascii"))


class _RatingText(Dumper):
    def dump(self, obj):
        return str(Decimal(obj)).encode()


class _RatingBinary(Dumper):
    format = Format.BINARY

    def dump(self, obj):
        points = Decimal(obj) * 1000
        if points != points.to_integral_value():
            raise ValueError(f"a rating has at most 3 decimals: {obj}")
        return struct.pack("!i", int(points))


class _RatingTextLoader(Loader):
    def load(self, data):
        return Rating(bytes(data).decode())


class _RatingBinaryLoader(Loader):
    format = Format.BINARY

    def load(self, data):
        (points,) = struct.unpack("!i", bytes(data))
        return Rating((Decimal(points) / 1000).quantize(Decimal("0.001")))


class _PeriodTextLoader(Loader):
    def load(self, data):
        text = bytes(data).decode()          # [2026-10-31 16:00:00+00,2026-11-30 16:00:00+00) month
        bounds, unit = text.rsplit(" ", 1)
        lo, hi = bounds[1:-1].split(",")
        parse = lambda s: datetime.datetime.fromisoformat(s if len(s) > 22 and s[-3] == ":" else s + ":00")
        return BillingPeriod(parse(lo), parse(hi), unit)


class _PeriodBinaryLoader(Loader):
    format = Format.BINARY

    def load(self, data):
        lo, hi, unit, _ = struct.unpack("!qqii", bytes(data)) if len(data) == 24 else struct.unpack("!qqi", bytes(data)) + (0,)
        at = lambda us: PG_EPOCH + datetime.timedelta(microseconds=us)
        return BillingPeriod(at(lo), at(hi), UNITS[unit])


def register(context):
    """Register the adapters on a connection (or cursor): gpubill must be installed in its database."""
    def oid(name):
        info = TypeInfo.fetch(context.connection if hasattr(context, "connection") else context, name)
        if info is None:
            raise LookupError(f"type {name} not found: is the gpubill extension installed?")
        return info.oid

    amount, rating, period = oid("gpubill.amount"), oid("gpubill.rating"), oid("gpubill.billing_period")
    adapters = context.adapters
    for base, py_type, type_oid in ((_AmountText, Amount, amount), (_AmountBinary, Amount, amount),
                                    (_RatingText, Rating, rating), (_RatingBinary, Rating, rating)):
        adapters.register_dumper(py_type, type(base.__name__, (base,), {"oid": type_oid}))
    adapters.register_loader(amount, _AmountTextLoader)
    adapters.register_loader(amount, _AmountBinaryLoader)
    adapters.register_loader(rating, _RatingTextLoader)
    adapters.register_loader(rating, _RatingBinaryLoader)
    adapters.register_loader(period, _PeriodTextLoader)
    adapters.register_loader(period, _PeriodBinaryLoader)
