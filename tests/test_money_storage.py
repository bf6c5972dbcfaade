"""Money never passes through float: stored exactly, summed exactly, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, insert, text
from sqlmodel import Session, select

from tests.factories import make_obligation, office_id
from tracker.models import Obligation
from tracker.money import MoneyError

AMOUNTS = [Decimal("0.10"), Decimal("0.20"), Decimal("0.07"), Decimal("1234567.89"), Decimal("-0.01")]


def test_sums_over_many_rows_stay_exact(session: Session) -> None:
    office = office_id(session)
    rows = [{"fiscal_year": 2005 + i % 3, "office_id": office, "country_code": "IDN", "title": f"row {i}",
             "amount": AMOUNTS[i % len(AMOUNTS)], "status": "obligated"} for i in range(20_000)]
    session.execute(insert(Obligation), rows)
    session.commit()

    expected = sum((r["amount"] for r in rows), Decimal(0))
    as_floats = sum(float(r["amount"]) for r in rows)
    assert Decimal(repr(as_floats)) != expected  # floats would have drifted: this test can fail

    total = session.exec(select(func.sum(Obligation.amount))).one()
    assert isinstance(total, Decimal)
    assert total == expected

    by_year = dict(session.exec(select(Obligation.fiscal_year, func.sum(Obligation.amount))
                                .group_by(Obligation.fiscal_year)).all())
    for fy, amount in by_year.items():
        assert amount == sum((r["amount"] for r in rows if r["fiscal_year"] == fy), Decimal(0))
    assert sum(by_year.values(), Decimal(0)) == expected


@pytest.mark.parametrize("amount", ["999999999999.99", "-999999999999.99", "0.01", "-0.01", "0.00",
                                    "123456789.10"])
def test_extreme_amounts_round_trip(session: Session, amount: str) -> None:
    obligation = make_obligation(session, amount=Decimal(amount))
    session.commit()
    session.expire_all()
    stored = session.get(Obligation, obligation.id).amount
    assert stored == Decimal(amount) and str(stored) == amount


def test_storage_is_exact_on_each_database(session: Session) -> None:
    make_obligation(session, amount=Decimal("0.10"))
    session.commit()
    if session.bind.dialect.name == "sqlite":  # integer cents
        assert session.exec(text("SELECT typeof(amount), amount FROM obligation")).one() == ("integer", 10)
    else:  # NUMERIC(14,2)
        kind = session.exec(text("SELECT data_type, numeric_precision, numeric_scale FROM "
                                 "information_schema.columns WHERE table_name='obligation' "
                                 "AND column_name='amount'")).one()
        assert tuple(kind) == ("numeric", 14, 2)


def test_floats_and_inexact_amounts_are_refused_at_the_database_door(session: Session) -> None:
    with pytest.raises(Exception) as error:
        make_obligation(session, amount=0.1)
    assert "not a float" in str(error.value)
    session.rollback()
    with pytest.raises(Exception) as error:
        make_obligation(session, amount=Decimal("1.005"))
    assert isinstance(error.value.__cause__ or error.value, MoneyError) or "two decimals" in str(error.value)
