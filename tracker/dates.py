"""Dates from cells and text, in one place.

Accepted: date and datetime cells; Excel serial numbers (in a date column); text as
10/15/2006 (U.S. month/day/year; day/month/year only when the first number cannot be a month),
10/15/06, 15-Oct-2006, 15 October 2006, October 15, 2006, Oct. 15 2006, and ISO 2006-10-15.
Refused, with the reason: times of day without a date, days that do not exist (31/02/2007,
month 13), and dates outside the accepted window (the fiscal years the tracker accepts, with a
year's margin either side), such as Excel serial 1 = 1 January 1900.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from tracker.fiscal import FY_MAX, FY_MIN, fiscal_year_bounds


class DateError(ValueError):
    """A value that is not an acceptable date; the message says why."""


_MONTHS = {name: i for i, names in enumerate(
    [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
     ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
     ("dec", "december")], start=1) for name in names}
_NUMERIC = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})[\s-]+([A-Za-z]{3,9})\.?[\s,-]+(\d{4}|\d{2})")
_MONTH_DAY_YEAR = re.compile(r"([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})")


_EXCEL_MAX_SERIAL = 2958465  # 9999-12-31


def excel_serial_to_datetime(serial: Decimal | int, *, date1904: bool = False) -> date | datetime | time:
    """Turn an Excel date serial into a date (datetime if it has a time; time if only a time).

    Raises ValueError for serials that are no real date: 0 ("1900-01-00"), 60 in the 1900 system
    (the phantom 29 February 1900 Excel keeps for Lotus compatibility), negatives, past 9999.
    """
    if serial < 0:
        raise ValueError(f"date serial {serial} is negative: not a date")
    if serial > _EXCEL_MAX_SERIAL:
        raise ValueError(f"date serial {serial} is past 31 December 9999: not a date")
    days = int(serial)
    fraction = Decimal(serial) - days
    seconds = int((fraction * 86400).to_integral_value())
    if days == 0 and not date1904:
        if seconds:
            return (datetime.min + timedelta(seconds=seconds)).time()
        raise ValueError("date serial 0 (Excel shows 1900-01-00): not a date")
    if date1904:
        base = datetime(1904, 1, 1)
    elif days == 60:
        raise ValueError("date serial 60 is 29 February 1900, a day that never existed (an Excel quirk)")
    else:
        base = datetime(1899, 12, 31) if days < 60 else datetime(1899, 12, 30)
    moment = base + timedelta(days=days, seconds=seconds)
    return moment if seconds else moment.date()



def date_window(min_year: int = FY_MIN, max_year: int = FY_MAX) -> tuple[date, date]:
    """The dates accepted: a year either side of the accepted fiscal years."""
    return fiscal_year_bounds(min_year - 1)[0], fiscal_year_bounds(max_year + 1)[1]


def parse_date(value: object, *, min_year: int = FY_MIN, max_year: int = FY_MAX) -> date:
    """Read a date from a cell value or text; raise DateError if it is not an acceptable one.

    :param value: a date, datetime, Excel serial number or text (see the module docstring)
    Example: ``parse_date("15-Oct-2006") == parse_date("10/15/2006") == date(2006, 10, 15)``
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise DateError("no date given")
    found = _read(value)
    first, last = date_window(min_year, max_year)
    if not first <= found <= last:
        raise DateError(f"{found.isoformat()} is outside the accepted dates ({first.isoformat()} to {last.isoformat()})")
    return found


def _read(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, time):
        raise DateError("a time of day with no date (an Excel date serial 0 shows as 1900-01-00)")
    if isinstance(value, bool):
        raise DateError(f"{value!r} is not a date")
    if isinstance(value, (int, float, Decimal)):
        try:
            moment = excel_serial_to_datetime(Decimal(str(value)))
        except ValueError as exc:
            raise DateError(str(exc)) from exc
        return _read(moment)
    if isinstance(value, str):
        return _from_text(value.strip())
    raise DateError(f"{value!r} is not a date")


def _year(text: str) -> int:
    return 2000 + int(text) if len(text) == 2 else int(text)


def _make(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise DateError(f"{text!r} is not a real date ({exc})") from exc


def _from_text(text: str) -> date:
    if match := _ISO.fullmatch(text):
        return _make(int(match[1]), int(match[2]), int(match[3]), text)
    if match := _NUMERIC.fullmatch(text):
        first, second, year = int(match[1]), int(match[2]), _year(match[3])
        month, day = (second, first) if first > 12 and second <= 12 else (first, second)
        return _make(year, month, day, text)
    if match := _DAY_MONTH_YEAR.fullmatch(text):
        return _make(_year(match[3]), _month(match[2], text), int(match[1]), text)
    if match := _MONTH_DAY_YEAR.fullmatch(text):
        return _make(int(match[3]), _month(match[1], text), int(match[2]), text)
    raise DateError(f"{text!r} is not a date (write it as 10/15/2006, 15-Oct-2006 or 2006-10-15)")


def _month(name: str, text: str) -> int:
    month = _MONTHS.get(name.lower().rstrip("."))
    if month is None:
        raise DateError(f"{text!r}: {name!r} is not a month")
    return month


def parse_as_of(text: str) -> datetime:
    """A moment as people give it: YYYY-MM-DD (the end of that day) or YYYY-MM-DDTHH:MM[:SS[.ffffff]],
    in UTC unless an offset (+05:00, Z) is given. Raises DateError saying what is accepted."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = datetime.strptime(value, "%Y-%m-%d")
            return datetime.combine(day.date() + timedelta(days=1), time(), timezone.utc) - timedelta(microseconds=1)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        raise DateError(f"{text!r} is not a date or moment; give YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)") from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
