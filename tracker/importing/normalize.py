"""Validate-and-normalise stage: each data row's cells through the one-place parsers (fiscal
year, money, dates, country, office, implementer), into plain record dicts plus issues.

Never raises on bad data: every problem becomes an Issue naming sheet, row, column, header and
value, a blocking error or a warning as the import rules say:

* an unrecognised country, fiscal year, amount or agency blocks its row;
* an unrecognised office of a known agency is a warning (kept under "office not stated",
  the text remembered);
* an implementer not seen before is simply new (a warning names a close known one, if any);
* in an embassy report, a row for another country than the post's blocks its row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from tracker.countries import CountryResolver
from tracker.dates import DateError, parse_date
from tracker.fiscal import FiscalYearError, parse_fiscal_year
from tracker.importing.cells import Cell
from tracker.importing.layout import Column, Layout
from tracker.importing.results import Issue
from tracker.implementers import ImplementerResolver
from tracker.lookups import AmbiguousName, NameLookupError
from tracker.models import AREAS, Country, ProgramAlias
from tracker.money import MoneyError, parse_money
from tracker.offices import OfficeResolver, ResolvedOffice
from tracker.textnorm import clean_text, normalize_key

#: Longest text stored per field (longer is an error for that cell, never cut).
MAX_CHARS = {"title": 1000, "implementer": 300, "award_number": 100, "office": 200, "agency": 200,
             "agency_office": 200, "country": 120, "program": 200, "area": 60, "status": 40}
#: Text starting with these would run as a formula in Excel; stored as text, with a warning.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_STATUSES = {"obligated": "obligated", "obligation": "obligated", "awarded": "obligated", "active": "obligated",
             "proposed": "proposed", "planned": "proposed", "pipeline": "proposed", "pending": "proposed",
             "de obligated": "de-obligated", "deobligated": "de-obligated", "deobligation": "de-obligated",
             "de obligation": "de-obligated"}
_TEXT_FIELDS = frozenset({"title", "implementer", "agency", "office", "agency_office", "award_number", "program"})
_AREA_WORDS = {"prevention": "prevention", "prevent": "prevention", "protection": "protection",
               "protect": "protection", "prosecution": "prosecution", "prosecute": "prosecution"}


@dataclass
class ImportContext:
    """What the file speaks for, as the uploader states it."""

    source: str  # "agency" or "embassy"
    default_office: ResolvedOffice | None = None  # --agency CODE[/OFFICE]
    country: str | None = None  # the post's country (embassy), or a default country (agency)
    coverage: list[int] | None = None  # --fiscal-years
    fy_min: int = 2000
    fy_max: int = 2035
    text_only: bool = False  # CSV: every cell is text, so "number stored as text" says nothing
    own_agency_only: bool = False  # agency staff on the web: rows of another agency than the file's are errors


@dataclass
class RowOutcome:
    """What one row gave: records (several for year columns) and its issues."""

    records: list[dict[str, Any]] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)


class RowNormalizer:
    """Turns data rows into record dicts; lookups are cached per distinct text."""

    def __init__(self, session: Session, context: ImportContext) -> None:
        self.context = context
        self.countries = CountryResolver.load(session)
        self.offices = OfficeResolver(session)
        self.implementers = ImplementerResolver(session)
        self.programs = {a.key: a.program_id for a in session.exec(select(ProgramAlias)).all()}
        self.regions = {c.code: c.region for c in session.exec(select(Country)).all()}
        self._office_cache: dict[tuple[str, str], tuple[ResolvedOffice | None, str | None, bool]] = {}
        self._country_cache: dict[str, tuple[str | None, str | None, bool]] = {}
        self._implementer_cache: dict[str, Any] = {}

    # --- one row ------------------------------------------------------------------------

    def normalize(self, sheet: str, row: int, cells: Sequence[Cell | None], layout: Layout,
                  sheet_fy: int | None) -> RowOutcome:
        """Read one data row."""
        out = RowOutcome()
        columns = layout.by_field()
        values = {name: self._value(out, sheet, row, cells, col) for name, col in columns.items()}
        base: dict[str, Any] = {"source_sheet": sheet or None, "source_row": row}
        fiscal_year = self._fiscal_year(out, sheet, row, values, columns, sheet_fy)
        self._place(out, sheet, row, values, columns, base)
        self._office(out, sheet, row, values, columns, base)
        self._who_and_what(out, sheet, row, values, columns, base)
        self._extras(out, sheet, row, values, columns, base)
        self._record_id(out, sheet, row, values, columns, base)
        amounts = self._amounts(out, sheet, row, cells, values, columns, layout, fiscal_year)
        if out.errors:
            return out
        for fy, amount in amounts:
            record = dict(base, fiscal_year=fy, amount=amount)
            if self.context.source == "agency":
                record["status"] = self._status(out, sheet, row, values, columns, amount)
            out.records.append(record)
        return out

    # --- cells --------------------------------------------------------------------------

    def _value(self, out: RowOutcome, sheet: str, row: int, cells: Sequence[Cell | None], col: Column) -> Any:
        """A mapped cell's value, after cell-level checks (errors, formulas, length)."""
        cell = cells[col.index] if col.index < len(cells) else None
        if cell is None:
            return None
        if cell.error:
            shown = cell.error if cell.error.startswith("#") else ""
            message = f"the cell shows {shown}, an Excel error" if shown else cell.error
            out.errors.append(self._issue(sheet, row, col, shown, message))
            return None
        if cell.formula and cell.value is None:
            what = "amounts are formulas" if col.field in ("amount", "year_amount") else "the cell is a formula"
            out.errors.append(self._issue(sheet, row, col, cell.formula,
                                          f"{what} without a saved value - open and save the file in Excel, or paste values"))
            return None
        value = cell.value
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
            limit = MAX_CHARS.get(col.field)
            if limit and len(value) > limit:
                out.errors.append(self._issue(sheet, row, col, value[:60] + "...",
                                              f"{len(value):,} characters, more than the {limit:,} allowed; "
                                              "shorten it (nothing is ever cut off silently)"))
                return None
            if col.field in _TEXT_FIELDS and cell.value.startswith(FORMULA_STARTS):
                out.warnings.append(self._issue(sheet, row, col, value,
                                                "begins with a formula character; stored as text, never evaluated"))
        return value

    @staticmethod
    def _issue(sheet: str, row: int, col: Column | None, value: Any, message: str) -> Issue:
        return Issue(sheet=sheet, row=row, column=col.letter if col else "", header=col.header if col else "",
                     value="" if value is None else str(value), message=message)

    # --- fields -------------------------------------------------------------------------

    def _fiscal_year(self, out: RowOutcome, sheet: str, row: int, values: dict[str, Any],
                     columns: dict[str, Column], sheet_fy: int | None) -> int | None:
        col = columns.get("fiscal_year")
        raw = values.get("fiscal_year")
        coverage = self.context.coverage
        if raw is None:
            if col is not None and any(e.column == col.letter and e.row == row for e in out.errors):
                return None
            if sheet_fy is not None:
                return sheet_fy
            if coverage and len(coverage) == 1:
                return coverage[0]
            return None  # year columns, or an error once amounts are read
        try:
            fy = parse_fiscal_year(raw, min_year=self.context.fy_min, max_year=self.context.fy_max)
        except FiscalYearError as exc:
            out.errors.append(self._issue(sheet, row, col, raw, str(exc)))
            return None
        if isinstance(raw, str) and raw.isdigit() and not self.context.text_only:
            out.warnings.append(self._issue(sheet, row, col, raw, "number stored as text; read as FY" + raw))
        if sheet_fy is not None and fy != sheet_fy:
            out.warnings.append(self._issue(sheet, row, col, raw,
                                            f"says FY{fy} on sheet '{sheet}', which is for FY{sheet_fy}; FY{fy} kept"))
        return fy

    def _check_coverage(self, out: RowOutcome, sheet: str, row: int, col: Column | None, fy: int) -> bool:
        coverage = self.context.coverage
        if coverage and fy not in coverage:
            span = ", ".join(f"FY{y}" for y in coverage)
            out.errors.append(self._issue(sheet, row, col, fy, f"FY{fy} is outside the years this file covers ({span})"))
            return False
        return True

    def _amounts(self, out: RowOutcome, sheet: str, row: int, cells: Sequence[Cell | None], values: dict[str, Any],
                 columns: dict[str, Column], layout: Layout, fiscal_year: int | None) -> list[tuple[int, Decimal | None]]:
        years = layout.year_columns
        if years:
            found = []
            for col in years:
                amount = self._money(out, sheet, row, self._value(out, sheet, row, cells, col), col)
                if amount is not None and amount != 0 and self._check_coverage(out, sheet, row, col, col.fiscal_year):  # type: ignore[arg-type]
                    found.append((col.fiscal_year, amount))
            if not found and not out.errors and self.context.source == "agency":
                out.errors.append(self._issue(sheet, row, None, "", "no amount in any fiscal-year column"))
            return found  # type: ignore[return-value]
        col = columns.get("amount")
        amount = self._money(out, sheet, row, values.get("amount"), col) if col else None
        if amount is None and col is not None and not _has_error(out, row, col):
            what = "every obligation needs one" if self.context.source == "agency" else \
                "the sheet has an amount column; write the amount, or 0 if the post does not know it"
            out.errors.append(self._issue(sheet, row, col, "", f"no amount given; {what}"))
        if fiscal_year is None:
            if not _has_error(out, row, columns.get("fiscal_year")):
                out.errors.append(self._issue(sheet, row, columns.get("fiscal_year"), "",
                                              "no fiscal year: the row, its sheet's name and the file's stated years "
                                              "do not give one"))
            return []
        if not self._check_coverage(out, sheet, row, columns.get("fiscal_year"), fiscal_year):
            return []
        return [(fiscal_year, amount)]

    def _money(self, out: RowOutcome, sheet: str, row: int, raw: Any, col: Column | None) -> Decimal | None:
        if raw is None or col is None:
            return None
        if isinstance(raw, (datetime, date)):
            out.errors.append(self._issue(sheet, row, col, raw, f"{raw} is a date, not an amount"))
            return None
        try:
            amount = parse_money(raw, thousands=col.thousands)
        except MoneyError as exc:
            out.errors.append(self._issue(sheet, row, col, raw, str(exc)))
            return None
        if isinstance(raw, str) and not self.context.text_only:
            out.warnings.append(self._issue(sheet, row, col, raw, f"number stored as text; read as {amount}"))
        if col.thousands:
            out.warnings.append(self._issue(sheet, row, col, raw, f"the header says thousands; stored as {amount}"))
        if amount < 0:
            out.warnings.append(self._issue(sheet, row, col, raw, "negative amount: recorded as a de-obligation; "
                                                                  "check it"))
        return amount

    def _status(self, out: RowOutcome, sheet: str, row: int, values: dict[str, Any], columns: dict[str, Column],
                amount: Decimal | None) -> str:
        raw = values.get("status")
        if raw is not None:
            status = _STATUSES.get(normalize_key(str(raw)))
            if status:
                return status
            out.warnings.append(self._issue(sheet, row, columns.get("status"), raw,
                                            "unknown status (obligated, proposed or de-obligated); taken as obligated"))
        return "de-obligated" if amount is not None and amount < 0 else "obligated"

    def _place(self, out: RowOutcome, sheet: str, row: int, values: dict[str, Any], columns: dict[str, Column],
               base: dict[str, Any]) -> None:
        col = columns.get("country")
        raw = values.get("country")
        post = self.context.country
        if raw is None:
            if col is not None and _has_error(out, row, col):
                return
            if post is None:
                out.errors.append(self._issue(sheet, row, col, "", "no country given (and no --country for the file)"))
            base["country_code"] = post
            return
        code, message, blocking = self._country(str(raw))
        if message:
            (out.errors if blocking else out.warnings).append(self._issue(sheet, row, col, raw, message))
        if code is None:
            return
        if self.context.source == "embassy" and post and code != post:
            out.errors.append(self._issue(
                sheet, row, col, raw,
                f"this report speaks for {self.countries.name(post)} ({post}); a row for "
                f"{self.countries.name(code)} ({code}) belongs in that country's own report"))
            return
        base["country_code"] = code

    def _country(self, raw: str) -> tuple[str | None, str | None, bool]:
        if raw in self._country_cache:
            return self._country_cache[raw]
        post = self.context.country
        try:
            code, how = self.countries.match(raw)
            note = f'"{raw}" {self.countries.partial_note}: {self.countries.name(code)}' if how == "partial" else None
            result: tuple[str | None, str | None, bool] = (code, note, False)
        except AmbiguousName as exc:
            if post and post in exc.candidates:
                result = (post, f'"{raw}" could name several countries; read as {self.countries.name(post)}, '
                                "the country this report speaks for", False)
            else:
                result = (None, str(exc), True)
        except NameLookupError as exc:
            result = (None, str(exc), True)
        self._country_cache[raw] = result
        return result

    def _office(self, out: RowOutcome, sheet: str, row: int, values: dict[str, Any], columns: dict[str, Column],
                base: dict[str, Any]) -> None:
        agency_text = values.get("agency")
        office_text = values.get("office") or values.get("agency_office")
        col = columns.get("office") or columns.get("agency_office") or columns.get("agency")
        shown = " / ".join(str(t) for t in (agency_text, office_text) if t)
        if not shown:
            if self.context.default_office is None:
                if not any(e.row == row and col and e.column == col.letter for e in out.errors):
                    out.errors.append(self._issue(sheet, row, col, "", "no agency given (and no --agency for the file)"))
                return
            self._set_office(base, self.context.default_office, None)
            return
        office, message, blocking = self._resolve_office(str(agency_text or ""), str(office_text or ""))
        if message:
            (out.errors if blocking else out.warnings).append(self._issue(sheet, row, col, shown, message))
        if office is not None:
            self._set_office(base, office, shown)

    def _set_office(self, base: dict[str, Any], office: ResolvedOffice, text: str | None) -> None:
        if self.context.source == "agency":
            base["office_id"] = office.office_id
            base["office_text"] = text
        else:
            base["agency_id"] = office.agency_id
            base["office_id"] = office.office_id
            base["agency_text"] = text

    def _resolve_office(self, agency_text: str, office_text: str) -> tuple[ResolvedOffice | None, str | None, bool]:
        key = (agency_text, office_text)
        if key not in self._office_cache:
            self._office_cache[key] = self._lookup_office(agency_text, office_text)
        return self._office_cache[key]

    def _lookup_office(self, agency_text: str, office_text: str) -> tuple[ResolvedOffice | None, str | None, bool]:
        default = self.context.default_office
        try:
            office = self.offices.resolve(office_text, agency_text=agency_text or None)
        except AmbiguousName as exc:
            return None, str(exc), True
        except NameLookupError as exc:
            agency = self.offices.agency_in(f"{agency_text} {office_text}")
            if agency is None and default is not None and not agency_text:
                agency = default.agency_id
            if agency is None or "is an office of" in str(exc):
                return None, str(exc), True
            if self.context.own_agency_only and default is not None and agency != default.agency_id:
                return None, f"names another agency; you record obligations for {default.agency_code} only", True
            fallback = self.offices.not_stated(agency)
            return fallback, (f'office "{office_text or agency_text}" is not known; kept under '
                              f"{fallback.agency_code} (office not stated) with the text remembered"), False
        if default is not None and office.agency_id != default.agency_id:
            if self.context.own_agency_only:
                return None, f"names {office.agency_code}; you record obligations for {default.agency_code} only", True
            return office, (f"names {office.agency_code}, not {default.agency_code} as given for the file; "
                            f"kept as {office.agency_code}'s"), False
        if default is not None and not office.stated and default.stated and office.agency_id == default.agency_id:
            return default, None, False  # "DOS" in a file given as DOS/INL: the file's office
        return office, None, False

    def _who_and_what(self, out: RowOutcome, sheet: str, row: int, values: dict[str, Any],
                      columns: dict[str, Column], base: dict[str, Any]) -> None:
        title = values.get("title")
        implementer = values.get("implementer")
        base["title"] = clean_text(str(title)) if title is not None else None
        if implementer is not None:
            text = clean_text(str(implementer))
            resolved = self._implementer_cache.get(text)
            if resolved is None:
                resolved = self._implementer_cache[text] = self.implementers.resolve(text)
            base["implementer_id"] = resolved.implementer_id
            base["implementer_name"] = text  # as written; the canonical name is the implementer's
            if resolved.implementer_id is None and resolved.hint:
                out.warnings.append(self._issue(sheet, row, columns.get("implementer"), text,
                                                f'new implementer; is it "{resolved.hint}"? (not assumed)'))
        else:
            base["implementer_id"] = None
            base["implementer_name"] = None
        if title is None and implementer is None and not _has_error(out, row, columns.get("title")):
            out.errors.append(self._issue(sheet, row, columns.get("title") or columns.get("implementer"), "",
                                          "neither a title nor an implementer: nothing says what the program is"))
        if self.context.source == "agency" and base["title"] is None and implementer is not None:
            base["title"] = ""

    def _extras(self, out: RowOutcome, sheet: str, row: int, values: dict[str, Any], columns: dict[str, Column],
                base: dict[str, Any]) -> None:
        date_field = "obligation_date" if self.context.source == "agency" else "start_date"
        raw_date = values.get("date")
        base[date_field] = None
        if raw_date is not None:
            try:
                base[date_field] = parse_date(raw_date, min_year=self.context.fy_min, max_year=self.context.fy_max)
            except DateError as exc:
                out.errors.append(self._issue(sheet, row, columns.get("date"), raw_date, str(exc)))
        base["area"] = self._area(out, sheet, row, values.get("area"), columns.get("area"))
        if self.context.source == "agency":
            award = values.get("award_number")
            base["award_number"] = _code_text(award)
            base["program_id"] = self._program(out, sheet, row, values.get("program"), columns.get("program"))

    def _record_id(self, out: RowOutcome, sheet: str, row: int, values: dict[str, Any], columns: dict[str, Column],
                   base: dict[str, Any]) -> None:
        """The tracker's own ID, in a workbook the tracker exported: the row updates that record."""
        raw = values.get("record_id")
        if raw is None:
            return
        text = str(raw).strip()
        if isinstance(raw, Decimal) and raw == raw.to_integral_value():
            text = str(int(raw))
        if not text.isdigit():
            out.errors.append(self._issue(sheet, row, columns.get("record_id"), raw,
                                          "not a tracker record ID (a whole number); leave it as exported, or empty "
                                          "for a new record"))
            return
        base["record_id"] = int(text)

    def _area(self, out: RowOutcome, sheet: str, row: int, raw: Any, col: Column | None) -> str | None:
        if raw is None:
            return None
        words = {_AREA_WORDS[w] for w in normalize_key(str(raw)).split() if w in _AREA_WORDS}
        if len(words) == 1:
            return words.pop()
        out.warnings.append(self._issue(sheet, row, col, raw, f"not one of the three Ps ({', '.join(AREAS)}); left empty"))
        return None

    def _program(self, out: RowOutcome, sheet: str, row: int, raw: Any, col: Column | None) -> int | None:
        if raw is None or normalize_key(str(raw)) in ("", "none", "n a", "na", "no"):
            return None
        program = self.programs.get(normalize_key(str(raw)))
        if program is None:
            out.warnings.append(self._issue(sheet, row, col, raw, "not a known program or initiative; left empty"))
        return program


def _has_error(out: RowOutcome, row: int, col: Column | None) -> bool:
    return col is not None and any(e.row == row and e.column == col.letter for e in out.errors)


def _code_text(value: Any) -> str | None:
    """Award numbers and other codes as text (a number cell 4963 is "4963", never 4963.0)."""
    if value is None:
        return None
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return str(int(value))
    return str(value).strip() or None
