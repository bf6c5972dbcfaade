"""Workbooks the tracker writes (openpyxl), built from reporting rows: the budget workbook and
a post's report template.

Real Excel: tables with autofilter, frozen headers, currency formats, dates as dates, codes and
IDs as text; and safe: text that Excel would run as a formula is written as a text cell. The
budget workbook streams its Obligations sheet (write-only mode), so memory stays flat however
many rows it holds.
"""

from __future__ import annotations

import io
import warnings
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import Table, TableStyleInfo
from sqlalchemy import func, select
from sqlmodel import Session

from tracker.models import (
    AREAS,
    Agency,
    Country,
    Flag,
    FlagRecord,
    Implementer,
    Obligation,
    Office,
    Program,
    Submission,
    SubmissionYear,
)
from tracker.reporting import (
    COUNTED_STATUSES,
    BrowseQuery,
    RecordFilters,
    browse_order,
    browse_where,
    country_names,
    list_reports,
    place_columns,
)

#: Text starting with these would run as a formula in Excel.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MONEY_FORMAT = '"$"#,##0.00;[Red]-"$"#,##0.00'
DATE_FORMAT = "yyyy-mm-dd"
#: The first cell of a tracker export's About sheet: the importer reads only its Obligations sheet.
EXPORT_MARK = "Anti-Trafficking Funding Tracker export"
TEMPLATE_HEADERS = ["Tracker ID", "Fiscal Year", "Agency", "Office", "Implementing Partner", "Project Title", "Area",
                    "Start Date", "Amount (USD)"]
OBLIGATION_COLUMNS = [
    ("Tracker ID", 10, "The tracker's record ID: keep it to update the record when re-importing; empty for a new one"),
    ("Fiscal Year", 10, "U.S. federal fiscal year (1 October to 30 September, named for the year it ends)"),
    ("Agency", 9, "Agency code: DOS, USAID, DOL, DOJ, HHS, DHS, DOD, ED"),
    ("Office", 14, "Office, bureau, mission or post of the agency (empty: office not stated)"),
    ("ISO3", 7, "The country's ISO 3166-1 alpha-3 code (Kosovo XKX); empty for a regional or global program"),
    ("Country or place", 24, "Country name, or the region / Global for programs without one country"),
    ("Program (initiative)", 22, "Named program, e.g. the President's $50M initiative"),
    ("Implementing Partner", 30, "Implementer under its canonical name"),
    ("Project Title", 48, "Program title as recorded"),
    ("Area", 12, "Prevention, protection or prosecution (the three Ps)"),
    ("Award Number", 16, "Award or agreement number, as text"),
    ("Obligation Date", 12, "Date obligated"),
    ("Amount (USD)", 16, "U.S. dollars; negative for a de-obligation"),
    ("Status", 12, "obligated, de-obligated (both count in totals) or proposed (does not)"),
    ("Open Flags", 9, "Open review flags involving the record"),
    ("Source File", 28, "The file the record came from (empty: entered in the tracker)"),
    ("Source Sheet", 14, "Sheet of the source file"),
    ("Source Row", 9, "Row of the source file, as Excel numbers it (CSV: line)"),
]


def safe_text(value: object) -> object:
    """Text Excel would run as a formula, prefixed with an apostrophe (for places that are not
    cells, e.g. CSV); cells are written as text cells instead (see ``_cell``)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _cell(sheet: Any, value: Any, *, money: bool = False, bold: bool = False) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever the text starts with
    elif money:
        cell.number_format = MONEY_FORMAT
    elif isinstance(value, (date, datetime)):
        cell.number_format = DATE_FORMAT
    if bold:
        cell.font = Font(bold=True)
    return cell


def _text(sheet: Any, value: str | None) -> Any:
    """Text as a plain value (openpyxl writes it as a string cell), or as a string cell when
    openpyxl would otherwise take it for a formula."""
    if value is not None and value.startswith("="):
        return _cell(sheet, value)
    return value


class _Styled:
    """One styled cell per column, its value changed row by row: a write-only sheet writes each
    row as it is appended, so the cell can be reused (creating and styling a cell per value is
    most of openpyxl's cost)."""

    def __init__(self, sheet: Any, number_format: str) -> None:
        self.cell = WriteOnlyCell(sheet)
        self.cell.number_format = number_format

    def __call__(self, value: Any) -> Any:
        if value is None:
            return None
        self.cell.value = value
        return self.cell


def _table(sheet: Any, name: str, headers: list[str], rows: int, first_row: int = 1) -> None:
    """An Excel table (autofilter, banded rows) over a header row and the rows under it."""
    from openpyxl.worksheet.table import TableColumn

    ref = f"A{first_row}:{get_column_letter(len(headers))}{first_row + max(rows, 1)}"
    table = Table(displayName=name, ref=ref)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    table.tableColumns = [TableColumn(id=i, name=h) for i, h in enumerate(headers, start=1)]  # write-only mode
    table.autoFilter = AutoFilter(ref=ref)
    with warnings.catch_warnings():
        # openpyxl warns in write-only mode even when, as here, the columns are given.
        warnings.filterwarnings("ignore", "In write-only mode you must add table columns manually")
        sheet.add_table(table)


def _widths(sheet: Any, widths: Iterable[int]) -> None:
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width


def _scope(q: BrowseQuery, allowed: frozenset[str] | None) -> list[str]:
    """The countries the flag and awareness sheets cover: the query's, within the user's scope."""
    if allowed is None:
        return list(q.countries)
    return [c for c in q.countries if c in allowed] if q.countries else sorted(allowed) or ["-"]


def _filters_described(session: Session, q: BrowseQuery, allowed: frozenset[str] | None) -> list[tuple[str, str]]:
    lines = [("Filters", q.describe(country_names(session)))]
    if q.implementers:
        names = session.execute(select(Implementer.name).where(Implementer.id.in_(q.implementers))).scalars()
        lines.append(("Implementers", ", ".join(sorted(names))))
    if q.offices:
        codes = session.execute(select(Office.code).where(Office.id.in_(q.offices))).scalars()
        lines.append(("Offices", ", ".join(sorted(codes))))
    if allowed is not None:
        lines.append(("Scope", "countries the user may see: " + (", ".join(sorted(allowed)) or "none")))
    return lines


def _obligation_rows(session: Session, q: BrowseQuery, allowed: frozenset[str] | None) -> Iterator[tuple[Any, ...]]:
    """The rows the obligations browser shows for the same query, in its order, streamed."""
    open_flags = (select(FlagRecord.obligation_id, func.count().label("n"))
                  .join(Flag, Flag.id == FlagRecord.flag_id)
                  .where(Flag.active == True, Flag.status == "open", FlagRecord.obligation_id.is_not(None))  # noqa: E712
                  .group_by(FlagRecord.obligation_id).subquery())
    query = (select(Obligation.id, Obligation.fiscal_year, Agency.code, Office.code, Office.kind, Obligation.country_code,
                    Country.name, Country.kind, Country.region, Program.name, Implementer.name,
                    Obligation.implementer_name, Obligation.title, Obligation.area, Obligation.award_number,
                    Obligation.obligation_date, Obligation.amount, Obligation.status, func.coalesce(open_flags.c.n, 0),
                    Submission.filename, Obligation.source_sheet, Obligation.source_row)
             .select_from(Obligation).join(Office, Office.id == Obligation.office_id)
             .join(Agency, Agency.id == Office.agency_id).join(Country, Country.code == Obligation.country_code)
             .outerjoin(Program, Program.id == Obligation.program_id)
             .outerjoin(Implementer, Implementer.id == Obligation.implementer_id)
             .outerjoin(Submission, Submission.id == Obligation.submission_id)
             .outerjoin(open_flags, open_flags.c.obligation_id == Obligation.id))
    query = browse_where(query, q, allowed).order_by(*browse_order(q))
    yield from session.execute(query.execution_options(yield_per=2000))


def budget_workbook(session: Session, q: BrowseQuery, out: IO[bytes] | str, *, allowed: frozenset[str] | None = None,
                    by: str = "command line") -> dict[str, Any]:
    """Write the budget workbook for what the obligations browser shows for ``q`` (within the
    countries ``allowed``; None: all); returns what it holds (rows, totals) for callers and tests."""
    with _small_page_cache(session):
        return _budget_workbook(session, q, allowed, out, by)


@contextmanager
def _small_page_cache(session: Session) -> Iterator[None]:
    """The export reads each row once: on SQLite a small page cache for its connection keeps
    memory flat in the size of the database (the connection's own setting is put back after)."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    before = int(connection.exec_driver_sql("PRAGMA cache_size").scalar_one())
    connection.exec_driver_sql("PRAGMA cache_size=-2000")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size={before}")


def _budget_workbook(session: Session, q: BrowseQuery, allowed: frozenset[str] | None, out: IO[bytes] | str,
                     by: str) -> dict[str, Any]:
    book = Workbook(write_only=True)
    summary = book.create_sheet("Summary")
    obligations = book.create_sheet("Obligations")
    by_year_agency: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    by_year_country: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    names: dict[str, str] = {}
    count = _write_obligations(session, q, allowed, obligations, by_year_agency, by_year_country, names)
    _write_summary(summary, by_year_agency, by_year_country, names)
    countries = _scope(q, allowed)
    _write_flags(session, book.create_sheet("Flags"), countries, q.fiscal_years)
    _write_unaware(session, book.create_sheet("Unaware"), countries, q.fiscal_years)
    _write_ledger(session, book.create_sheet("Initiative ledger"), None if allowed is None else countries)
    _write_coverage(session, book.create_sheet("Coverage"), countries)
    _write_about(session, book.create_sheet("About"), _filters_described(session, q, allowed), by)
    book.save(out)
    return {"obligations": count, "total": sum(by_year_agency.values(), Decimal("0.00"))}


def _write_obligations(session: Session, q: BrowseQuery, allowed: frozenset[str] | None, sheet: Any, by_year_agency: dict[Any, Decimal],
                       by_year_country: dict[Any, Decimal], names: dict[str, str]) -> int:
    _widths(sheet, [w for _, w, _ in OBLIGATION_COLUMNS])
    sheet.freeze_panes = "B2"
    sheet.append([_cell(sheet, name, bold=True) for name, _, _ in OBLIGATION_COLUMNS])
    money, day_cell = _Styled(sheet, MONEY_FORMAT), _Styled(sheet, DATE_FORMAT)
    count = 0
    for (ident, fy, agency, office, office_kind, code, country, kind, region, program, implementer, written, title,
         area, award, day, amount, status, flags, filename, source_sheet, source_row) in _obligation_rows(session, q, allowed):
        iso3, _ = place_columns(code, kind, region)
        sheet.append([
            str(ident), fy, agency, None if office_kind == "not_stated" else office, iso3, country, _text(sheet, program),
            _text(sheet, implementer or written or ""), _text(sheet, title or ""), area.title() if area else None,
            _text(sheet, award), day_cell(day), money(amount), status, flags, _text(sheet, filename),
            _text(sheet, source_sheet), source_row])
        count += 1
        if status in COUNTED_STATUSES:
            by_year_agency[(fy, agency)] += amount
            by_year_country[(fy, code)] += amount
            names[code] = country
    _table(sheet, "Obligations", [name for name, _, _ in OBLIGATION_COLUMNS], count)
    return count


def _pivot(sheet: Any, title: str, cells: dict[tuple[Any, Any], Decimal], rows: list[Any], columns: list[Any],
           labels: tuple[str, Any, Any], start_row: int, table: str) -> int:
    """A titled cross-tabulation: a table of ``rows`` by ``columns`` with a Total column, and a
    Total row under the table (outside it, so sorting or filtering the table leaves it last)."""
    corner, row_label, column_label = labels
    zero = Decimal("0.00")
    sheet.append([_cell(sheet, title, bold=True)])
    header = [corner, *[column_label(c) for c in columns], "Total"]
    sheet.append([_cell(sheet, h, bold=True) for h in header])
    for key in rows:
        values = [cells.get((key, c), zero) for c in columns]
        sheet.append([_text(sheet, row_label(key)), *[_cell(sheet, v, money=True) for v in values],
                      _cell(sheet, sum(values, zero), money=True)])
    totals = [sum((cells.get((key, c), zero) for key in rows), zero) for c in columns]
    sheet.append([_cell(sheet, "Total", bold=True), *[_cell(sheet, v, money=True) for v in totals],
                  _cell(sheet, sum(totals, zero), money=True)])
    _table(sheet, table, header, len(rows), first_row=start_row + 1)
    sheet.append([])
    return start_row + len(rows) + 4


def _write_summary(sheet: Any, by_year_agency: dict[Any, Decimal], by_year_country: dict[Any, Decimal],
                   names: dict[str, str]) -> None:
    years = sorted({fy for fy, _ in by_year_agency} | {fy for fy, _ in by_year_country})
    agencies = sorted({a for _, a in by_year_agency})
    countries = sorted({c for _, c in by_year_country}, key=lambda c: names.get(c, c))
    _widths(sheet, [30] + [16] * (max(len(agencies), len(years)) + 1))
    fiscal = lambda fy: f"FY{fy}"  # noqa: E731
    row = _pivot(sheet, "Obligations by fiscal year and agency (obligated and de-obligated, as tracker totals)",
                 by_year_agency, years, agencies, ("Fiscal year", fiscal, str), 1, "ByAgency")
    by_country_year = {(code, fy): amount for (fy, code), amount in by_year_country.items()}
    _pivot(sheet, "Obligations by country or place and fiscal year", by_country_year, countries, years,
           ("Country or place", lambda c: names.get(c, c), fiscal), row, "ByCountry")


def _rows_sheet(sheet: Any, name: str, headers: list[tuple[str, int]], rows: Iterable[list[Any]],
                money_columns: Iterable[int] = ()) -> None:
    _widths(sheet, [w for _, w in headers])
    sheet.freeze_panes = "A2"
    sheet.append([_cell(sheet, h, bold=True) for h, _ in headers])
    styled = {i: _Styled(sheet, MONEY_FORMAT) for i in money_columns}
    count = 0
    for row in rows:
        sheet.append([styled[i](v) if i in styled else _text(sheet, v) if isinstance(v, str) else
                      _Styled(sheet, DATE_FORMAT)(v) if isinstance(v, (date, datetime)) else v
                      for i, v in enumerate(row)])
        count += 1
    _table(sheet, name, [h for h, _ in headers], count)


def _write_flags(session: Session, sheet: Any, countries: list[str], years: list[int]) -> None:
    from tracker.flags import FlagFilters, iter_flags

    flags = iter_flags(session, FlagFilters(countries=tuple(countries), fiscal_years=tuple(years), statuses=()))
    rows = ([f["id"], f["type"], f["status"], f["country"] or "", f["fiscal_year"], f["explanation"],
             "; ".join(f"{r['kind']} {r['id']}: {r['file'] or 'entered'} {r['sheet']} row {r['row']}" for r in f["records"]),
             f["decision"], f["gao_class"], f["effect"], f["comment"], f["decided_at"]] for f in flags)
    _rows_sheet(sheet, "Flags", [("Flag", 8), ("Type", 24), ("Status", 9), ("Country", 9), ("Fiscal year", 10),
                                 ("Question", 70), ("Records (kind id: file sheet row)", 60), ("Decision", 14),
                                 ("GAO", 13), ("Effect", 18), ("Comment", 40), ("Decided at (UTC)", 20)], rows)


def _write_unaware(session: Session, sheet: Any, countries: list[str], years: list[int]) -> None:
    from tracker.reconcile import awareness

    rows = [r for r in awareness(session) if (not countries or r["country"] in countries)
            and (not years or r["fiscal_year"] in years)]
    _rows_sheet(sheet, "Unaware", [("Post's country", 12), ("Fiscal year", 10), ("Obligations", 12), ("Listed by post", 14),
                                   ("Share by count", 14), ("Amount (USD)", 16), ("Listed amount (USD)", 18),
                                   ("Share by dollars", 15), ("Median days to first report", 16)],
                ([r["country"], r["fiscal_year"], r["obligations"], r["listed"], r["share_by_count"], r["amount"],
                  r["listed_amount"], r["share_by_dollars"], r["median_days_to_first_report"]] for r in rows),
                money_columns=(5, 6))


def _write_ledger(session: Session, sheet: Any, scope: list[str] | None = None) -> None:
    """The whole initiative against its ceiling, as the dashboard shows it (a part of it would
    misstate what is left); for a user confined to some countries (an embassy officer), only
    those hubs' lines, and no ceiling left (it depends on the other posts' money)."""
    from tracker.reporting import INITIATIVE, program_ledger

    program, ledger = program_ledger(session, INITIATIVE, scope)
    running = Decimal("0.00")
    rows = []
    for r in sorted(ledger, key=lambda r: (r["fiscal_year"], r["country"] or r["region"])):
        running += r["amount"]
        rows.append([program.name if program else "", r["fiscal_year"], r["country"] or r["region"], r["amount"], running,
                     program.ceiling if program else None,
                     (program.ceiling - running) if program and program.ceiling is not None and scope is None
                     else None])
    _rows_sheet(sheet, "Ledger", [("Program", 36), ("Fiscal year", 10), ("Hub", 10), ("Obligated (USD)", 16),
                                  ("Cumulative (USD)", 16), ("Ceiling (USD)", 16), ("Ceiling left (USD)", 16)],
                rows, money_columns=(3, 4, 5, 6))


def _write_coverage(session: Session, sheet: Any, countries: list[str]) -> None:
    """Which posts and agencies reported which fiscal years (posts: those of the countries asked
    for, if any)."""
    years_by: dict[tuple[str, str], list[int]] = defaultdict(list)
    found = session.execute(select(Submission.source_kind, Submission.scope_key, SubmissionYear.fiscal_year)
                            .join(SubmissionYear, SubmissionYear.submission_id == Submission.id)
                            .where(Submission.status == "committed").distinct())
    for kind, scope, year in found:
        who = scope.split(":", 1)[-1]
        if kind == "embassy" and countries and who not in countries:
            continue
        years_by[(kind, who)].append(year)
    _rows_sheet(sheet, "Coverage", [("Source", 10), ("Post or agency", 18), ("Fiscal years reported", 40)],
                ([kind, who, ", ".join(map(str, sorted(set(years))))] for (kind, who), years in sorted(years_by.items())))


def _write_about(session: Session, sheet: Any, described: list[tuple[str, str]], by: str) -> None:
    as_of = session.execute(select(func.max(Submission.uploaded_at))).scalar_one()
    sheet.column_dimensions["A"].width = 26
    sheet.column_dimensions["B"].width = 100
    lines: list[tuple[str, str]] = [(EXPORT_MARK, ""), ("Generated (UTC)", datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M")),
                                    ("Generated by", by), ("Data as of (latest upload, UTC)",
                                                           as_of.strftime("%Y-%m-%d %H:%M") if as_of else "no uploads"),
                                    *described, ("", ""), ("Obligations sheet columns", "")]
    lines += [(name, meaning) for name, _, meaning in OBLIGATION_COLUMNS]
    lines += [("", ""), ("Totals", "Summary sums obligated and de-obligated amounts (proposed ones do not count), "
                                   "exactly as `tracker totals` does; superseded files are left out.")]
    for name, value in lines:
        sheet.append([_cell(sheet, name, bold=name == EXPORT_MARK), _cell(sheet, value) if value else None])


# --- the post's report template --------------------------------------------------------


def embassy_template(session: Session, country_code: str, years: list[int]) -> bytes:
    """A post's report workbook: instructions, the expected columns with drop-downs, the country
    fixed, and the post's current rows pre-filled, each with its hidden stable ID."""
    country = session.get(Country, country_code)
    book = Workbook()
    sheet = book.active
    sheet.title = "Report"
    sheet["A1"] = f"U.S. Embassy {country.post or ''}, {country.name}".replace(" ,", ",")  # type: ignore[union-attr]
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A2"] = "Anti-trafficking programs known to post (one row per program and fiscal year)"
    sheet.append([])
    sheet.append(TEMPLATE_HEADERS)
    for cell in sheet[4]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "B5"
    for row in list_reports(session, RecordFilters(countries=[country_code])):
        sheet.append([str(row["id"]), row["fiscal_year"], row["agency"] or "",
                      row["office"].split("/", 1)[-1] if row["office"] and "/" in row["office"] else "",
                      row["implementer"] or "", row["title"] or "", (row["area"] or "").title() or None,
                      date.fromisoformat(row["start_date"]) if row["start_date"] else None, row["amount"]])
    for cells in sheet.iter_rows(min_row=5):
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"
        cells[7].number_format = DATE_FORMAT
        cells[8].number_format = MONEY_FORMAT
        cells[0].number_format = "@"
    sheet.column_dimensions["A"].hidden = True  # stable IDs: kept, out of the way
    last = max(sheet.max_row, 300)
    agencies = list(session.execute(select(Agency.code).order_by(Agency.code)).scalars())
    offices = [o for o in session.execute(select(Office.code).where(Office.code != "NOT-STATED")
                                           .distinct().order_by(Office.code)).scalars()]
    lists = book.create_sheet("Lists")
    for index, values in enumerate((agencies, offices, [str(y) for y in years], [a.title() for a in AREAS]), start=1):
        for position, value in enumerate(values, start=1):
            lists.cell(row=position, column=index, value=value)
    lists.sheet_state = "hidden"
    for column, list_column, count in (("C", "A", len(agencies)), ("D", "B", len(offices)),
                                        ("B", "C", len(years)), ("G", "D", len(AREAS))):
        validation = DataValidation(type="list", formula1=f"Lists!${list_column}$1:${list_column}${max(count, 1)}",
                                    allow_blank=True, showErrorMessage=column in ("C", "B", "G"),
                                    errorTitle="Choose from the list", error="Choose a value from the list.")
        validation.add(f"{column}5:{column}{last}")
        sheet.add_data_validation(validation)
    for column, width in zip("ABCDEFGHI", (10, 11, 9, 14, 34, 50, 13, 12, 16)):
        sheet.column_dimensions[column].width = width
    instructions = book.create_sheet("Instructions", 0)
    for line in (f"Report for {country.name} ({country_code})", "",  # type: ignore[union-attr]
                 "List every U.S.-funded anti-trafficking program the post knows of, one row per fiscal year.",
                 "Rows already listed carry a hidden ID (column A): edit them in place; delete a row the post no longer reports.",
                 "Agency, Office, Fiscal Year and Area: choose from the lists.",
                 "Amount: U.S. dollars; $1,250,000, 1.25M or 500K are all read. Leave totals out, or label them Total.",
                 "Upload the filled sheet on the tracker's Upload page, saying which fiscal years it covers; you will "
                 "see every change, cell by cell, before it is stored."):
        instructions.append([line])
    instructions["A1"].font = Font(bold=True, size=14)
    instructions.column_dimensions["A"].width = 110
    for row in instructions.iter_rows():
        row[0].alignment = Alignment(wrap_text=True)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
