"""Parse, check and format amounts of U.S. dollars, always as ``Decimal``; never float.

The money grammar (:func:`parse_money`):

* a number from a spreadsheet cell (int, float or Decimal), taken at its shortest decimal
  spelling, so the float 0.1 is ``Decimal("0.1")``;
* text made of ASCII digits with an optional ``$``, ``US$`` or ``USD`` (before, or ``USD``
  after), thousands commas in groups of three, a ``K`` or ``M`` suffix ("1.25M", "500K"),
  and parentheses or a minus sign for a negative ("(25,000)" is a de-obligation);
* a column whose header says thousands ("$000", "in thousands") is read with
  ``thousands=True``, which multiplies by 1,000.

Refused, with the reason: more than two decimals (never rounded), more than 12 digits
before the decimal point, NaN, infinities, exponents, hex, full-width or other non-ASCII
digits, underscores, a decimal comma, and any other text ("TBD", "Not Listed").
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, Inexact, InvalidOperation, localcontext

#: Digits allowed before the decimal point: NUMERIC(14,2) holds 12.
MAX_WHOLE_DIGITS = 12
CENT = Decimal("0.01")

_SCALE = {"k": Decimal(1000), "m": Decimal(1_000_000)}
_NUMBER = re.compile(r"(?P<whole>\d{1,3}(?:,\d{3})+|\d+)?(?P<frac>\.\d+)?", re.ASCII)
_SUFFIX = re.compile(r"(?P<body>.*?)\s*(?P<suffix>[kKmM])", re.ASCII)
_CURRENCY_BEFORE = re.compile(r"(?:US\$|USD|\$)\s*", re.IGNORECASE | re.ASCII)
_CURRENCY_AFTER = re.compile(r"\s*USD", re.IGNORECASE | re.ASCII)
_MINUSES = "-\u2212\u2013"  # hyphen-minus, minus sign, en dash (Excel users type all three)


class MoneyError(ValueError):
    """A value that is not an amount of money; the message says why."""


def _shown(value: object) -> str:
    """A value as quoted in a message: text in quotes, numbers as written."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() and abs(value.adjusted()) < 30 else str(value)
    return str(value)


def parse_money(value: object, *, thousands: bool = False) -> Decimal:
    """Read an amount of dollars from a cell value or text; raise MoneyError if it is not one.

    :param value: int, float, Decimal or text in the money grammar (see the module docstring)
    :param thousands: the column is in thousands of dollars; multiply by 1,000
    :returns: the amount with exactly two decimal places
    Example: ``parse_money("$1.25M") == Decimal("1250000.00")``,
    ``parse_money("(25,000)") == Decimal("-25000.00")``
    """
    # Exact arithmetic or an error: a context that traps Inexact never rounds silently.
    with localcontext() as ctx:
        ctx.prec = 40
        ctx.traps[Inexact] = True
        try:
            amount = _read(value)
            if thousands:
                amount *= 1000
            return _checked(amount, value)
        except (Inexact, InvalidOperation) as exc:
            raise MoneyError(f"{_shown(value)} has too many digits to be an amount") from exc


def _read(value: object) -> Decimal:
    if value is None or isinstance(value, bool):
        raise MoneyError("no amount given" if value is None else f"{_shown(value)} is not an amount")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise MoneyError(f"{_shown(value)} is not a number (NaN or infinity)")
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise MoneyError(f"{_shown(value)} is not a number (NaN or infinity)")
        return value
    if isinstance(value, str):
        return _read_text(value)
    raise MoneyError(f"{_shown(value)} is not an amount")


def _refuse_lookalikes(text: str) -> None:
    """Refuse, with a precise reason, the spellings Python's own parsers would accept."""
    if any(ch.isdigit() and not ch.isascii() for ch in text):
        raise MoneyError(f"{_shown(text)} has full-width or non-ASCII digits; type the amount in plain digits")
    if "_" in text:
        raise MoneyError(f"{_shown(text)} has underscores; write thousands with commas")
    if re.fullmatch(r"[-+(\s$]*(?:nan|inf|infinity)\)?", text, re.IGNORECASE):
        raise MoneyError(f"{_shown(text)} is not a number (NaN or infinity)")
    if re.search(r"0x[0-9a-f]", text, re.IGNORECASE):
        raise MoneyError(f"{_shown(text)} is a hexadecimal number, not an amount")
    if re.search(r"\d\s*e\s*[-+]?\s*\d", text, re.IGNORECASE):
        raise MoneyError(f"{_shown(text)} is in exponent notation; write the amount in full")


def _peel(original: str) -> tuple[str, bool]:
    """Strip currency marks and negative markers from around the number; return (number, negative)."""
    text = original
    negatives = currencies = 0
    while True:
        before = text
        if text.startswith("(") and text.endswith(")"):
            text, negatives = text[1:-1].strip(), negatives + 1
        elif text[:1] in _MINUSES:
            text, negatives = text[1:].strip(), negatives + 1
        elif match := _CURRENCY_BEFORE.match(text):
            text, currencies = text[match.end():], currencies + 1
        elif match := _CURRENCY_AFTER.search(text):
            if match.end() != len(text):
                break
            text, currencies = text[: match.start()], currencies + 1
        if text == before:
            break
    if negatives > 1:
        raise MoneyError(f"{_shown(original)} has more than one negative sign")
    if currencies > 1:
        raise MoneyError(f"{_shown(original)} names the currency more than once")
    return text, negatives == 1


def _read_text(raw: str) -> Decimal:
    text = raw.strip()
    if not text:
        raise MoneyError("no amount given")
    _refuse_lookalikes(text)
    body, negative = _peel(text)
    scale = Decimal(1)
    if match := _SUFFIX.fullmatch(body):
        body, scale = match["body"], _SCALE[match["suffix"].lower()]
    number = _NUMBER.fullmatch(body)
    if not body or not number or not (number["whole"] or number["frac"]):
        raise MoneyError(_why_not_a_number(raw, body))
    digits = (number["whole"] or "0").replace(",", "") + (number["frac"] or "")
    amount = Decimal(digits) * scale
    return -amount if negative else amount


def _why_not_a_number(raw: str, body: str) -> str:
    if re.fullmatch(r"\d+,\d{1,2}|\d{1,3}(?:\.\d{3})+,\d+", body, re.ASCII):
        return f"{_shown(raw)} uses a decimal comma; write dollars and cents with a point (1250.50)"
    if re.fullmatch(r"[\d,]+(?:\.\d+)?", body, re.ASCII):
        return f"{_shown(raw)} has commas that are not thousands separators"
    if re.fullmatch(r"\d+(?:\.\d+){2,}", body, re.ASCII):
        return f"{_shown(raw)} has more than one decimal point"
    return f"{_shown(raw)} is not an amount"


def _checked(amount: Decimal, original: object) -> Decimal:
    """Refuse what cannot be stored exactly in NUMERIC(14,2); return it with two decimals."""
    if amount and amount.adjusted() >= MAX_WHOLE_DIGITS:
        raise MoneyError(f"{_shown(original)} has more than {MAX_WHOLE_DIGITS} digits before the decimal point")
    if _decimal_places(amount) > 2:
        raise MoneyError(f"{_shown(original)} has more than two decimals (amounts are never rounded)")
    amount = amount.quantize(CENT)
    return amount if amount else abs(amount)  # no negative zero


def _decimal_places(amount: Decimal) -> int:
    """Count the decimals that carry a value (``1.250`` has two)."""
    _, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + min(trailing_zeros, max(0, -exponent))))


#: Significant digits Excel keeps for a number; what a file stores past them is binary noise.
EXCEL_DIGITS = 15


def excel_precision(number: Decimal) -> Decimal:
    """A spreadsheet number as Excel holds and shows it: at most 15 significant digits.

    A cell typed as 99999.99 is a binary double, which some writers store as
    "99999.99000000001"; Excel reads and shows it as 99999.99, and so do we. No one can type
    more than 15 significant digits into Excel, so nothing typed is lost.
    Example: ``excel_precision(Decimal("99999.99000000001")) == Decimal("99999.99")``
    """
    if len(number.as_tuple().digits) <= EXCEL_DIGITS:
        return number
    with localcontext() as ctx:
        ctx.prec = EXCEL_DIGITS
        return (+number).normalize() if number.adjusted() < EXCEL_DIGITS else +number


def header_says_thousands(header: str) -> bool:
    """Tell whether a column header says its amounts are in thousands of dollars.

    Example: ``header_says_thousands("Amount ($000)") is True``
    """
    text = header.lower()
    return bool(re.search(r"\$\s*0{3}\b|\(000s?\)|\bin thousands\b|\bthousands\b|\$k\b|\(k\)", text))


def to_cents(amount: Decimal) -> int:
    """Return an exact amount as integer cents (storage form on SQLite)."""
    return int(amount.quantize(CENT) * 100)


def from_cents(cents: int) -> Decimal:
    """Return integer cents as a Decimal amount with two places."""
    return (Decimal(cents) / 100).quantize(CENT)


def format_money(amount: Decimal | None, *, cents: bool = True) -> str:
    """Format an amount for people: ``-$25,000.00``; an empty string for none.

    :param cents: show the cents (``False`` rounds to whole dollars for display only)
    """
    if amount is None:
        return ""
    sign = "-" if amount < 0 else ""
    shown = f"{abs(amount):,.2f}" if cents else f"{abs(amount):,.0f}"
    return f"{sign}${shown}"
