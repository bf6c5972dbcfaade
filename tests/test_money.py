"""The money grammar: every accepted form, every refusal with its reason, and exactness."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.money import MoneyError, format_money, header_says_thousands, parse_money


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1250000, "1250000.00"),
        (99999.99, "99999.99"),
        (0.1, "0.10"),
        (Decimal("12.5"), "12.50"),
        ("$1,250,000", "1250000.00"),
        ("USD 500,000", "500000.00"),
        ("US$ 75,000", "75000.00"),
        ("1,000.00 USD", "1000.00"),
        ("1.25M", "1250000.00"),
        ("$1.2m", "1200000.00"),
        ("500K", "500000.00"),
        ("450k", "450000.00"),
        ("1.2345678M", "1234567.80"),
        ("(25,000)", "-25000.00"),
        ("($25,000)", "-25000.00"),
        ("$(25,000)", "-25000.00"),
        ("-25,000", "-25000.00"),
        ("-$25,000", "-25000.00"),
        ("\u221225,000", "-25000.00"),
        (" 42 ", "42.00"),
        ("\u00a0$1,000.00", "1000.00"),
        ("125000.00", "125000.00"),
        ("1.250", "1.25"),
        (".5", "0.50"),
        ("-0", "0.00"),
        ("123456789012.34", "123456789012.34"),
    ],
)
def test_accepted_forms(value: object, expected: str) -> None:
    amount = parse_money(value)
    assert amount == Decimal(expected)
    assert str(amount) == expected  # always two places, never float noise


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "no amount"),
        ("", "no amount"),
        ("   ", "no amount"),
        (True, "not an amount"),
        ("1.001", "more than two decimals"),
        (0.30000000000000004, "more than two decimals"),
        ("1.00000000000000000000000000001", "more than two decimals"),
        ("1234567890123", "more than 12 digits"),
        (1e30, "more than 12 digits"),
        (2**70, "more than 12 digits"),
        ("NaN", "NaN"),
        ("nan", "NaN"),
        ("Infinity", "infinity"),
        ("-inf", "infinity"),
        (float("nan"), "NaN"),
        (float("inf"), "infinity"),
        (Decimal("NaN"), "NaN"),
        ("1e6", "exponent"),
        ("1E+06", "exponent"),
        ("-1e999", "exponent"),
        ("0x1F", "hexadecimal"),
        ("\uff11\uff12\uff13", "full-width"),
        ("\u0661\u0662", "non-ASCII digits"),
        ("1_000", "underscores"),
        ("1,25", "decimal comma"),
        ("1.250,00", "decimal comma"),
        ("1,2345", "not thousands separators"),
        ("1.2.3", "more than one decimal point"),
        ("TBD", "not an amount"),
        ("Not Listed", "not an amount"),
        ("(25,000", "not an amount"),
        ("--5", "more than one negative sign"),
        ("-(5)", "more than one negative sign"),
        ("$$5", "currency more than once"),
        ("5B", "not an amount"),
        ("$", "not an amount"),
        ("K", "not an amount"),
    ],
)
def test_refusals_say_why(value: object, reason: str) -> None:
    with pytest.raises(MoneyError, match=reason):
        parse_money(value)


def test_thousands_columns_multiply() -> None:
    assert parse_money("1,250", thousands=True) == Decimal("1250000.00")
    assert parse_money(12.5, thousands=True) == Decimal("12500.00")
    assert parse_money("1.2345", thousands=True) == Decimal("1234.50")
    with pytest.raises(MoneyError, match="more than two decimals"):
        parse_money("1.234567", thousands=True)
    with pytest.raises(MoneyError, match="more than 12 digits"):
        parse_money("1,000,000,000,000", thousands=True)


@pytest.mark.parametrize(
    ("header", "thousands"),
    [("Amount ($000)", True), ("Funding (in thousands)", True), ("Amount, thousands USD", True),
     ("Amount (000s)", True), ("Amount (USD)", False), ("Funding ($)", False), ("Obligated Amount", False)],
)
def test_header_says_thousands(header: str, thousands: bool) -> None:
    assert header_says_thousands(header) is thousands


def test_format_money() -> None:
    assert format_money(Decimal("-25000")) == "-$25,000.00"
    assert format_money(Decimal("1250000.5")) == "$1,250,000.50"
    assert format_money(Decimal("1250000.5"), cents=False) == "$1,250,000"
    assert format_money(None) == ""


cents = st.integers(min_value=-(10**14) + 1, max_value=10**14 - 1)


@given(cents)
def test_any_stored_amount_reads_back_from_its_own_spellings(n: int) -> None:
    amount = Decimal(n) / 100
    plain = f"{amount:.2f}"
    grouped = f"{abs(amount):,.2f}"
    assert parse_money(plain) == amount
    assert parse_money(f"${grouped}" if n >= 0 else f"(${grouped})") == amount
    assert parse_money(f"USD {grouped}" if n >= 0 else f"-USD {grouped}") == amount


@given(st.text(max_size=30))
def test_never_raises_anything_but_money_error(text: str) -> None:
    try:
        amount = parse_money(text)
    except MoneyError:
        return
    assert amount == amount.quantize(Decimal("0.01"))
    assert abs(amount) < Decimal(10) ** 12


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_floats_are_exact_or_refused(value: float) -> None:
    try:
        amount = parse_money(value)
    except MoneyError:
        return
    assert amount == Decimal(repr(value))  # the float's own shortest spelling, never rounded
