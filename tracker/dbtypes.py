"""Column types shared by the models and the migrations."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect, Numeric
from sqlalchemy.types import TypeDecorator, TypeEngine

from tracker.money import from_cents, parse_money, to_cents


class Money(TypeDecorator[Decimal]):
    """U.S. dollars, exact: NUMERIC(14,2) where the database has decimals, integer cents on SQLite.

    SQLite has no decimal type; SQLAlchemy's Numeric would pass through float there. Integer
    cents keep sums exact (SQLite's SUM over integers is exact), and SUM keeps this type, so
    ``select(func.sum(Obligation.amount))`` returns a Decimal on both databases.
    """

    impl = Numeric(14, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Pick the storage type for the database in use."""
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(14, 2, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Store a Decimal (never a float) as the database wants it."""
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money must be a Decimal, not a float")
        amount = parse_money(value)  # refuses, never rounds, what NUMERIC(14,2) cannot hold
        return to_cents(amount) if dialect.name == "sqlite" else amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        """Read the stored amount back as a Decimal with two places."""
        if value is None:
            return None
        if dialect.name == "sqlite":
            return from_cents(int(value))
        return Decimal(value).quantize(Decimal("0.01"))


class UtcDateTime(TypeDecorator[datetime]):
    """A moment in time, always returned as an aware UTC datetime on every database.

    PostgreSQL stores TIMESTAMP WITH TIME ZONE; SQLite keeps the UTC wall time as text. A naive
    datetime given to it is taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Convert to UTC (naive on SQLite, where a stored offset would not sort)."""
        if value is None:
            return None
        value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
