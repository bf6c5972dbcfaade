"""Read stage, shared shapes: a sheet is a name, a visibility and a stream of numbered rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


class Cell:
    """One cell as read: its value (str, int, Decimal, date, datetime, time, bool or None), and
    for a formula, the formula text (the value is then the saved result, or None if none)."""

    __slots__ = ("value", "formula", "error")

    def __init__(self, value: Any, formula: str | None = None, error: str | None = None) -> None:
        self.value = value
        self.formula = formula
        self.error = error  # an Excel error value such as "#VALUE!"

    def __repr__(self) -> str:
        extra = f", formula={self.formula!r}" if self.formula else ""
        return f"Cell({self.value!r}{extra})"

    @property
    def is_blank(self) -> bool:
        """No value, no formula, no error (a string of spaces counts as blank)."""
        if self.formula or self.error:
            return False
        return self.value is None or (isinstance(self.value, str) and not self.value.strip())


#: A row as read: its number as Excel shows it (CSV: the line number) and its cells by column (0-based).
RawRow = tuple[int, list[Cell | None]]


@dataclass
class SheetData:
    """One sheet: its name, visibility ("visible", "hidden", "veryHidden") and rows."""

    name: str
    state: str
    rows: Iterator[RawRow]
    size_hint: int | None = None  # rows, when the file says (xlsx dimension), for progress


@dataclass
class Workbook:
    """What a reader found: the sheets, plus notes about the file (macros, encoding)."""

    kind: str  # "xlsx", "xlsm", "csv", "xls", "ods"
    sheets: list[SheetData]
    notes: list[str] = field(default_factory=list)  # warnings about the file as a whole


class RejectedFile(Exception):
    """A file that cannot be read at all; the message says what it really is or what is wrong."""


def column_letter(index: int) -> str:
    """0 → "A", 25 → "Z", 26 → "AA"."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_index(letters: str) -> int:
    """"A" → 0, "AA" → 26."""
    index = 0
    for ch in letters:
        index = index * 26 + (ord(ch) - 64)
    return index - 1
