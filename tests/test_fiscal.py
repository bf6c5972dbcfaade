"""Fiscal years: U.S. federal convention (1 October - 30 September, named by the year it ends)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.fiscal import (
    FiscalYearError,
    fiscal_year,
    fiscal_year_bounds,
    fiscal_year_label,
    parse_fiscal_year,
    parse_fiscal_year_set,
)


@pytest.mark.parametrize(
    ("day", "fy"),
    [(date(2006, 9, 30), 2006), (date(2006, 10, 1), 2007), (date(2007, 9, 30), 2007),
     (date(2007, 1, 1), 2007), (datetime(2006, 12, 31, 23, 59), 2007)],
)
def test_fiscal_year_of_a_date(day: date, fy: int) -> None:
    assert fiscal_year(day) == fy


def test_bounds_and_label() -> None:
    assert fiscal_year_bounds(2007) == (date(2006, 10, 1), date(2007, 9, 30))
    assert fiscal_year_label(2007) == "FY2007"


@given(st.dates(min_value=date(1901, 1, 1), max_value=date(9998, 12, 31)))
def test_every_date_lies_within_its_fiscal_years_bounds(day: date) -> None:
    first, last = fiscal_year_bounds(fiscal_year(day))
    assert first <= day <= last
    assert fiscal_year(first - timedelta(days=1)) == fiscal_year(day) - 1


@pytest.mark.parametrize(
    "value",
    [2007, 2007.0, Decimal("2007"), "2007", "FY2007", "FY07", "FY 07", "fy07", "FY 2007", "FY-07",
     "Fiscal Year 2007", "2006-07", "2006/07", "2006-2007", "06-07", "FY2006-07", "FY 2006/2007",
     "2006\u201307", " FY07 "],
)
def test_spellings_of_fy2007(value: object) -> None:
    assert parse_fiscal_year(value) == 2007


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "no fiscal year"),
        ("", "no fiscal year"),
        (1850, "outside the accepted range"),
        (2207, "outside the accepted range"),
        ("FY2207", "outside the accepted range"),
        (0, "outside the accepted range"),
        (-2024, "outside the accepted range"),
        (2024.5, "not a whole fiscal year"),
        (float("nan"), "not a whole fiscal year"),
        ("2005-07", "not one fiscal year"),
        ("2007-06", "not one fiscal year"),
        ("FY", "not a fiscal year"),
        ("next year", "not a fiscal year"),
        ("20077", "not a fiscal year"),
        ("\uff12\uff10\uff10\uff17", "not a fiscal year"),
        (date(2007, 3, 1), "is a date"),
        (True, "not a fiscal year"),
    ],
)
def test_refusals_say_why(value: object, reason: str) -> None:
    with pytest.raises(FiscalYearError, match=reason):
        parse_fiscal_year(value)


def test_range_is_configurable() -> None:
    assert parse_fiscal_year("FY95", min_year=1990, max_year=2100) == 2095
    assert parse_fiscal_year(1995, min_year=1990) == 1995
    with pytest.raises(FiscalYearError, match="FY2000-FY2035"):
        parse_fiscal_year(1999)


@pytest.mark.parametrize(
    ("text", "years"),
    [("2007", [2007]), ("2005-2007", [2005, 2006, 2007]), ("2005,2007", [2005, 2007]),
     ("FY2005-FY2007", [2005, 2006, 2007]), ("2005-2006, 2009", [2005, 2006, 2009]), ("FY07", [2007])],
)
def test_year_sets(text: str, years: list[int]) -> None:
    assert parse_fiscal_year_set(text) == years


@pytest.mark.parametrize(("text", "reason"), [("2007-2005", "backwards"), ("", "no fiscal years"),
                                              ("2005-2099", "outside"), ("soon", "not a fiscal year")])
def test_year_set_refusals(text: str, reason: str) -> None:
    with pytest.raises(FiscalYearError, match=reason):
        parse_fiscal_year_set(text)


@given(st.integers(min_value=2000, max_value=2035))
def test_every_spelling_of_any_year_agrees(fy: int) -> None:
    short = f"{fy % 100:02d}"
    spellings = [fy, str(fy), f"FY{fy}", f"FY{short}", f"FY {short}", f"{fy - 1}-{short}", f"{fy - 1}/{fy}"]
    assert {parse_fiscal_year(s) for s in spellings} == {fy}
