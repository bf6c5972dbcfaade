"""Every fiscal-year rule, and only here.

The U.S. federal fiscal year runs from 1 October to 30 September and is named for the
calendar year in which it ends: FY2007 is 1 October 2006 to 30 September 2007.
Spreadsheets write it as ``2007``, ``"FY2007"``, ``"FY07"``, ``"FY 07"``, ``"2006-07"``;
:func:`parse_fiscal_year` reads all of these and refuses anything else with a reason.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

#: Default range of fiscal years the tracker accepts (configurable per call).
FY_MIN = 2000
FY_MAX = 2035


class FiscalYearError(ValueError):
    """Text or a value that is not a fiscal year; the message says why."""


def fiscal_year(d: date) -> int:
    """Return the fiscal year a date falls in.

    :param d: a date (or datetime)
    Example: ``fiscal_year(date(2006, 10, 1)) == 2007``
    """
    return d.year + 1 if d.month >= 10 else d.year


def fiscal_year_bounds(fy: int) -> tuple[date, date]:
    """Return the first and last day of a fiscal year.

    :param fy: the fiscal year, e.g. 2007
    Example: ``fiscal_year_bounds(2007) == (date(2006, 10, 1), date(2007, 9, 30))``
    """
    return date(fy - 1, 10, 1), date(fy, 9, 30)


def fiscal_year_label(fy: int) -> str:
    """Return the label used on screens and in workbooks.

    Example: ``fiscal_year_label(2007) == "FY2007"``
    """
    return f"FY{fy}"


# "FY2007", "FY 07", "fy-07", "2007", "FY2006-07", "2006/2007", "2006-07"
_FY_TEXT = re.compile(
    r"""^(?:FY|F\.Y\.|FISCAL\s+YEAR)?\s*[-:]?\s*
        (?P<first>\d{2}|\d{4})
        (?:\s*[-/\u2013\u2014]\s*(?P<second>\d{2}|\d{4}))?$""",
    re.IGNORECASE | re.VERBOSE | re.ASCII,
)


def _expand(digits: str) -> int:
    """Two digits are years of this century ("07" is 2007); four are taken as written."""
    return 2000 + int(digits) if len(digits) == 2 else int(digits)


def _check_range(fy: int, original: object, min_year: int, max_year: int) -> int:
    if not min_year <= fy <= max_year:
        raise FiscalYearError(
            f"fiscal year {original if not isinstance(original, str) else repr(original)} is outside the "
            f"accepted range FY{min_year}-FY{max_year}"
        )
    return fy


def _from_text(text: str) -> int:
    match = _FY_TEXT.match(text.strip())
    if not match:
        raise FiscalYearError(
            f"{text!r} is not a fiscal year (write it as 2007, FY2007, FY07 or 2006-07)"
        )
    first = _expand(match["first"])
    if match["second"] is None:
        return first
    second = _expand(match["second"])
    if second != first + 1:
        raise FiscalYearError(
            f"{text!r} names years {first} and {second}, which are not one fiscal year "
            f"(a fiscal year spans two consecutive calendar years, e.g. 2006-07)"
        )
    return second


def parse_fiscal_year(value: object, *, min_year: int = FY_MIN, max_year: int = FY_MAX) -> int:
    """Read a fiscal year from a cell value or text; raise FiscalYearError if it is not one.

    :param value: an int, an integral float or Decimal (as spreadsheets store numbers), or text
    :param min_year: the earliest fiscal year accepted
    :param max_year: the latest fiscal year accepted
    Example: ``parse_fiscal_year("FY07") == parse_fiscal_year("2006-07") == 2007``
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise FiscalYearError("no fiscal year given")
    if isinstance(value, bool):
        raise FiscalYearError(f"{value!r} is not a fiscal year")
    if isinstance(value, (datetime, date)):
        raise FiscalYearError(
            f"{value.isoformat()} is a date, not a fiscal year (write FY{fiscal_year(value)} "
            f"if that is the year meant)"
        )
    if isinstance(value, int):
        return _check_range(value, value, min_year, max_year)
    if isinstance(value, (float, Decimal)):
        if value != value or value in (float("inf"), float("-inf")) or value != int(value):
            raise FiscalYearError(f"{value} is not a whole fiscal year")
        return _check_range(int(value), value, min_year, max_year)
    if isinstance(value, str):
        return _check_range(_from_text(value), value, min_year, max_year)
    raise FiscalYearError(f"{value!r} is not a fiscal year")


def parse_fiscal_year_set(
    text: str, *, min_year: int = FY_MIN, max_year: int = FY_MAX
) -> list[int]:
    """Read a set of full fiscal years: ``2007``, ``2005-2007`` or ``2005,2007``.

    :param text: the years as written on a command line or a form
    Example: ``parse_fiscal_year_set("2005-2007,2009") == [2005, 2006, 2007, 2009]``

    Two four-digit years joined by a dash are a range, both ends included, as the command
    line spells ranges; any other part is one fiscal year as :func:`parse_fiscal_year` reads it.
    """
    years: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        span = _FY_RANGE.fullmatch(part)
        if span:
            first, last = (_check_range(int(y), part, min_year, max_year) for y in span.groups())
            if last < first:
                raise FiscalYearError(f"{part!r}: the range runs backwards")
            years.update(range(first, last + 1))
        else:
            years.add(parse_fiscal_year(part, min_year=min_year, max_year=max_year))
    if not years:
        raise FiscalYearError("no fiscal years given")
    return sorted(years)


_FY_RANGE = re.compile(r"(?:FY)?\s*(\d{4})\s*[-\u2013]\s*(?:FY)?\s*(\d{4})", re.IGNORECASE | re.ASCII)
