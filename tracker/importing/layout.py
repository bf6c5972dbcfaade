"""Map-columns stage: find the header row(s) of a sheet, map its columns to our fields with a
confidence, and recognise rows that are not data (totals, notes, repeated headers).

People head their columns in many wordings ("Implementing Partner", "Grantee", "Partner Org";
"Amount (USD)", "Funding ($)", "Amt"; "FY", "Yr"; "USG Agency/Office", "Operating Unit",
"Component"). Headers are normalised, stripped of units ("USD", "$", "000") and compared with
the synonyms below: exactly (confidence 1.0), as a phrase inside a longer header, or fuzzily.
A header such as "FY2006" or "2006" holding amounts is a year column: its rows are unpivoted
into one record per year.
"""

from __future__ import annotations

import re
from functools import lru_cache
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rapidfuzz import fuzz

from tracker.fiscal import FiscalYearError, parse_fiscal_year
from tracker.importing.cells import Cell, RawRow, column_letter
from tracker.money import header_says_thousands
from tracker.textnorm import normalize_key

#: Our fields and the header wordings that name them (compared after normalize_key).
FIELD_SYNONYMS: dict[str, tuple[str, ...]] = {
    "fiscal_year": ("fy", "fiscal year", "yr", "year", "fiscal yr", "funding year", "budget year",
                    "fy obligated", "obligation fy", "obligation year", "fiscal", "fy of obligation"),
    "agency": ("agency", "usg agency", "funding agency", "department", "dept", "usg department",
               "us agency", "federal agency", "donor agency", "us government agency"),
    "office": ("office", "bureau", "bureau office", "office bureau", "operating unit", "ou", "component",
               "funding office", "usg office", "sub agency", "subagency", "mission", "bureau or office",
               "office or bureau", "agency component", "funding bureau", "implementing office"),
    "agency_office": ("usg agency office", "agency office", "agency bureau", "funding source",
                      "usg funding source", "funding agency office", "source of funds", "agency and office",
                      "donor", "funder", "usg funder", "funded by", "funding organization", "source of funding",
                      "agency office bureau", "usg agency bureau", "funding agency bureau"),
    "country": ("country", "recipient country", "country region", "location", "country of performance",
                "place of performance", "beneficiary country", "region country", "country name",
                "host country", "operating country", "country territory", "country or region"),
    "implementer": ("implementing partner", "implementer", "grantee", "partner org", "partner",
                    "partner organization", "recipient", "awardee", "implementing organization",
                    "implementing org", "organization", "ngo", "contractor", "recipient organization",
                    "prime partner", "prime recipient", "partner name", "grantee organization",
                    "implementing partners", "implementing agency partner"),
    "title": ("project title", "activity", "activity name", "project", "title", "description",
              "project name", "activity title", "activity description", "project description", "purpose",
              "program title", "program description", "program name", "program", "project activity",
              "name of project", "award title", "grant title", "programme"),
    "area": ("program area", "objective", "area", "3p", "three ps", "3 ps", "focus area", "tip area",
             "pillar", "3p area", "p area", "three p area", "sector", "program objective",
             "prevention protection prosecution", "3ps", "tip pillar"),
    "program": ("initiative", "presidential initiative", "funding initiative", "special initiative",
                "program initiative", "initiative program"),
    "award_number": ("award number", "award id", "award no", "cooperative agreement", "cooperative agreement no",
                     "cooperative agreement number", "agreement number", "agreement no", "grant number",
                     "grant no", "grant id", "contract number", "contract no", "fain", "piid", "award ref",
                     "reference number", "agreement id", "instrument number"),
    "date": ("obligation date", "award date", "start date", "period start", "date obligated", "date",
             "start", "project start", "date of award", "date of obligation", "begin date", "start of period",
             "effective date", "period of performance start", "pop start", "obligated on", "date awarded"),
    "amount": ("amount", "funding", "funding amount", "obligated amount", "amt", "amount obligated",
               "obligation", "obligations", "obligation amount", "award amount", "value", "budget",
               "total funding", "usd", "dollars", "obligated", "funds", "funds obligated", "grant amount",
               "total amount", "cost", "amount in usd", "contribution", "obligated funds", "funding level",
               "us", "amount us", "total award", "award total", "award value", "award amount", "total obligation",
               "total obligations", "grant value", "value of award"),
    "status": ("status", "obligation status", "award status", "funding status"),
    "record_id": ("tracker id", "tracker record id", "record id"),
}
#: Wordings that usually, not always, name a field: taken with less confidence, so a column that
#: names the field outright ("Country" beside "Region") wins.
WEAK_SYNONYMS: dict[str, tuple[str, ...]] = {
    "country": ("region", "locations", "place"),
    "amount": ("total", "sum", "amount total"),
    "award_number": ("grant", "agreement", "contract", "reference", "ref", "award"),
    "agency_office": ("source", "funding"),
    "implementer": ("implementing agency",),
    "title": ("implementing mechanism", "mechanism name", "mechanism", "activity project"),
}
WEAK_CONFIDENCE = 0.8

#: Headers we recognise and deliberately leave unread (no "unmapped column" note for them).
IGNORED_HEADERS = ("end date", "period end", "notes", "note", "comments", "comment", "remarks", "contact",
                   "poc", "point of contact", "end", "completion date", "period of performance end",
                   "pop end", "row", "no", "number", "#", "line", "item", "funding mechanism",
                   "type of assistance", "award type", "mechanism type", "instrument", "instrument type",
                   "period of performance", "duration", "months", "email", "phone")

_UNITS = re.compile(r"\b(?:usd|us|000s?|in thousands|thousands|dollars|k)\b")
_YEAR_COLUMN = re.compile(
    r"^(?:(?:amount|funding|obligations?|obligated|usd)\s+)*(?:fy|fiscal year|fiscal)?\s*(\d{4}|\d{2})"
    r"(?:\s*(?:amount|funding|obligations?|obligated|usd|us|000s?))*$"
)
# "Total", "Subtotal FY2005", "GRAND TOTAL", "Total for FY 2006:", "Total obligations (USD)"; not a
# title that merely starts with the word ("Total Action Against Trafficking").
_TOTAL_TAIL = (r"(?:[:\-\u2013.]|for|of|all|fy\s*'?\d{2,4}(?:\s*[-/\u2013]\s*\d{2,4})?|\d{4}(?:\s*[-/\u2013]\s*\d{2,4})?"
               r"|\([^()]{0,20}\)|obligations?|obligated|amounts?|funding|usd|us\$|\$|programs?|projects?"
               r"|fiscal\s+years?|years?|post|country|agency|row)")
_TOTAL_TEXT = re.compile(rf"^\s*(?:grand\s+|sub[\s-]?)?totals?(?:\s*{_TOTAL_TAIL})*\s*$", re.IGNORECASE)
_TOTAL_FORMULA = re.compile(r"^=\s*(?:SUM|SUBTOTAL|AGGREGATE)\s*\(", re.IGNORECASE)

#: A column is taken as a field only at or above this confidence.
MIN_CONFIDENCE = 0.75
#: Longer texts are data, never headers.
MAX_HEADER_CHARS = 80
#: Rows searched for the header.
HEADER_SEARCH_ROWS = 30
_KEY_FIELDS = frozenset({"amount", "title", "implementer"})


@dataclass
class Column:
    """A mapped column: its position, header text, field and confidence (year columns name a FY)."""

    index: int
    header: str
    field: str
    confidence: float
    fiscal_year: int | None = None
    thousands: bool = False

    @property
    def letter(self) -> str:
        """The column letter, as Excel shows it."""
        return column_letter(self.index)

    @property
    def header_folded(self) -> str:
        """The header as compared with a cell that might repeat it."""
        return self.header.strip().casefold()


@dataclass
class Layout:
    """Where a sheet's table is and what its columns mean."""

    header_rows: tuple[int, ...]
    columns: list[Column]
    unmapped: list[tuple[str, str]] = field(default_factory=list)  # (letter, header) left unread
    headers: dict[int, str] = field(default_factory=dict)  # every header text by column index

    def by_field(self) -> dict[str, Column]:
        """The column of each field (year columns excluded)."""
        return {c.field: c for c in self.columns if c.field != "year_amount"}

    @property
    def year_columns(self) -> list[Column]:
        """Columns holding amounts for one fiscal year each ("FY2005", "FY2006", ...)."""
        return [c for c in self.columns if c.field == "year_amount"]

    @property
    def confidence(self) -> float:
        """The weakest mapped column's confidence."""
        return min((c.confidence for c in self.columns), default=0.0)


def _text(cell: Cell | None) -> str:
    if cell is None or cell.value is None:
        return ""
    value = cell.value
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return str(value)
    return " ".join(str(value).split())


@lru_cache(maxsize=4096)
def score_header(header: str) -> tuple[str, float] | None:
    """Return the field a header names and how sure we are, or None."""
    key = normalize_key(header)
    if not key:
        return None
    if key in _IGNORED_KEYS:
        return ("ignored", 1.0)
    stripped = " ".join(_UNITS.sub(" ", key).split())
    best: tuple[str, float] | None = None
    for field_name, synonyms in _SYNONYM_KEYS.items():
        score = _field_score(key, stripped, synonyms)
        if score and (best is None or score > best[1]):
            best = (field_name, score)
    if best is None or best[1] < WEAK_CONFIDENCE:
        for field_name, synonyms in _WEAK_KEYS.items():
            if key in synonyms or stripped in synonyms:
                best = (field_name, WEAK_CONFIDENCE)
                break
    if best is not None and best[0] not in ("amount", "ignored") and best[1] < 1.0 and _says_money(header, key):
        return ("amount", 0.85)  # "Total Award (USD)": a currency in the heading means money, not a code
    return best


def _says_money(header: str, key: str) -> bool:
    return "$" in header or bool(set(key.split()) & {"usd", "dollars", "us"})


def _field_score(key: str, stripped: str, synonyms: tuple[str, ...]) -> float:
    if key in synonyms:
        return 1.0
    if stripped and stripped in synonyms:
        return 0.95
    words = stripped.split() or key.split()
    best = 0.0
    for synonym in synonyms:
        parts = synonym.split()
        if len(parts) <= len(words) and _contains(words, parts):
            best = max(best, 0.8 + 0.15 * len(parts) / len(words))
    if best:
        return best
    ratio = max(fuzz.ratio(stripped or key, s) for s in synonyms)
    return 0.8 * ratio / 100 if ratio >= 88 else 0.0


def _contains(words: list[str], parts: list[str]) -> bool:
    n = len(parts)
    return any(words[i:i + n] == parts for i in range(len(words) - n + 1))


_SYNONYM_KEYS = {f: tuple(normalize_key(s) for s in syns) for f, syns in FIELD_SYNONYMS.items()}
_WEAK_KEYS = {f: tuple(normalize_key(s) for s in syns) for f, syns in WEAK_SYNONYMS.items()}
_IGNORED_KEYS = frozenset(normalize_key(h) for h in IGNORED_HEADERS)


@lru_cache(maxsize=4096)
def year_of_column(header: str) -> int | None:
    """The fiscal year a header such as "FY2006", "FY 06" or "2006 Funding" names, if it names one."""
    match = _YEAR_COLUMN.match(normalize_key(header))
    if not match:
        return None
    try:
        return parse_fiscal_year(match[1])
    except FiscalYearError:
        return None


def map_columns(headers: dict[int, str], remembered: dict[str, str] | None = None) -> Layout:
    """Map header texts (by column index) to fields; each field takes its best column."""
    remembered = remembered or {}
    candidates: list[tuple[float, int, str]] = []
    years: list[Column] = []
    for index, header in headers.items():
        key = normalize_key(header)
        if key in remembered:
            if remembered[key] != "ignored":
                candidates.append((1.0, index, remembered[key]))
            continue
        year = year_of_column(header)
        if year is not None:
            years.append(Column(index, header, "year_amount", 0.9, year, header_says_thousands(header)))
            continue
        scored = score_header(header)
        if scored and scored[0] != "ignored" and scored[1] >= MIN_CONFIDENCE:
            candidates.append((scored[1], index, scored[0]))
    columns: list[Column] = []
    taken_fields: set[str] = set()
    taken_columns: set[int] = set()
    for score, index, field_name in sorted(candidates, key=lambda c: (-c[0], c[1])):
        if field_name in taken_fields or index in taken_columns:
            continue
        taken_fields.add(field_name)
        taken_columns.add(index)
        header = headers[index]
        columns.append(Column(index, header, field_name, round(score, 2), thousands=header_says_thousands(header)))
    if "fiscal_year" in taken_fields or "amount" in taken_fields:
        years = []  # a year-like header beside a real FY or amount column is not a year column
    columns.extend(years)
    columns.sort(key=lambda c: c.index)
    mapped = {c.index for c in columns}
    unmapped = [(column_letter(i), h) for i, h in sorted(headers.items())
                if i not in mapped and (score_header(h) or ("", 0))[0] != "ignored"]
    return Layout(header_rows=(), columns=columns, unmapped=unmapped, headers=dict(headers))


def _quality(layout: Layout) -> tuple[int, float]:
    fields = {c.field for c in layout.columns}
    if not fields & (_KEY_FIELDS | {"year_amount"}) or len(fields) + len(layout.year_columns) < 2:
        return (0, 0.0)
    return (len(layout.columns), sum(c.confidence for c in layout.columns))


def _header_texts(cells: Sequence[Cell | None]) -> dict[int, str]:
    """The texts of a row that could be headers (a number only when it names a year: "2006")."""
    texts: dict[int, str] = {}
    for index, cell in enumerate(cells):
        text = _text(cell)
        if not text or len(text) > MAX_HEADER_CHARS:
            continue
        if cell is not None and isinstance(cell.value, (int, float, Decimal)) and not isinstance(cell.value, bool) \
                and year_of_column(text) is None:
            continue
        texts[index] = text
    return texts


def _stack(upper: dict[int, str], lower: dict[int, str]) -> dict[int, str]:
    """Combine a two-row header: the lower row's label, or the upper's where the lower is empty
    (a label merged down two rows)."""
    return {i: lower.get(i) or upper[i] for i in sorted(set(upper) | set(lower)) if lower.get(i) or upper.get(i)}


def find_layout(rows: Sequence[RawRow], remembered: dict[str, str] | None = None) -> Layout | None:
    """Find the header among a sheet's first rows: the row (or pair of rows, for merged
    two-row headers) whose texts map to the most fields. None when no row looks like a header."""
    best: tuple[tuple[int, float], Layout] | None = None
    window = list(rows[:HEADER_SEARCH_ROWS])
    for position, (number, cells) in enumerate(window):
        texts = _header_texts(cells)
        if len(texts) < 2:
            continue
        options = [((number,), texts)]
        if position + 1 < len(window) and window[position + 1][0] == number + 1:
            lower = _header_texts(window[position + 1][1])
            if lower:
                options.append(((number, number + 1), _stack(texts, lower)))
        for header_rows, headers in options:
            layout = map_columns(headers, remembered)
            layout.header_rows = header_rows
            quality = _quality(layout)
            if quality[0] and (best is None or quality > best[0]):
                best = (quality, layout)
    return best[1] if best else None


def is_total_row(cells: Sequence[Cell | None], amount_columns: Iterable[int]) -> bool:
    """A subtotal or total row: a short "Total"/"Subtotal FY2005"/"GRAND TOTAL" label anywhere, or
    a SUM/SUBTOTAL formula in an amount column (recognised even when it has no saved value)."""
    for index in amount_columns:
        cell = cells[index] if index < len(cells) else None
        if cell is not None and cell.formula and _TOTAL_FORMULA.match(cell.formula):
            return True
    return any(cell is not None and isinstance(cell.value, str) and _TOTAL_TEXT.match(cell.value)
               for cell in cells)


def is_repeated_header(cells: Sequence[Cell | None], layout: Layout) -> bool:
    """The header row again (as when a table was pasted twice or printed with repeated titles)."""
    matches = 0
    for column in layout.columns:
        cell = cells[column.index] if column.index < len(cells) else None
        if cell is not None and isinstance(cell.value, str) and cell.value.strip().casefold() == column.header_folded:
            matches += 1
    return matches >= max(2, len(layout.columns) // 2)


def non_blank(cells: Sequence[Cell | None]) -> list[tuple[int, Cell]]:
    """The cells of a row that hold something."""
    return [(i, c) for i, c in enumerate(cells) if c is not None and not c.is_blank]


def sheet_fiscal_year(name: str) -> int | None:
    """The fiscal year a sheet's name states ("FY2006", "FY 06", "2006"), if it states one."""
    text = name.strip()
    if not re.fullmatch(r"(?:FY|Fiscal Year)?\s*[-_ ]?\s*\d{2,4}(?:\s*[-/]\s*\d{2,4})?", text, re.IGNORECASE):
        return None
    try:
        return parse_fiscal_year(text)
    except FiscalYearError:
        return None


def describe_expected(fields: Iterable[str]) -> str:
    """Header wordings we would read for fields, for an error message."""
    return "; ".join(f"{name.replace('_', ' ')}: e.g. " + ", ".join(f'"{s.title()}"' for s in FIELD_SYNONYMS[name][:4])
                     for name in fields)


def as_text(value: Any) -> str:
    """A cell value shown in a message."""
    if value is None:
        return ""
    return str(value)
