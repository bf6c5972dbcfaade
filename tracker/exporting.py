"""Workbooks the tracker writes (openpyxl), built from reporting rows."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.datavalidation import DataValidation
from sqlmodel import Session, select

from tracker.models import AREAS, Agency, Country, Office
from tracker.reporting import RecordFilters, list_reports

#: Text that Excel would run as a formula is written with a leading apostrophe-equivalent: as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TEMPLATE_HEADERS = ["Fiscal Year", "Agency", "Office", "Implementing Partner", "Project Title", "Area", "Start Date",
                    "Amount (USD)"]


def safe_text(value: object) -> object:
    """A value Excel shows as written: text that would start a formula is prefixed so it stays text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def embassy_template(session: Session, country_code: str, years: list[int]) -> bytes:
    """A post's report workbook: instructions, the expected columns with drop-downs, the country
    fixed, and the post's current rows pre-filled."""
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
    sheet.freeze_panes = "A5"
    for row in list_reports(session, RecordFilters(countries=[country_code])):
        sheet.append([row["fiscal_year"], row["agency"] or "", (row["agency_text"] or row["office"] or ""),
                      safe_text(row["implementer"] or ""), safe_text(row["title"] or ""), row["area"] or "",
                      date.fromisoformat(row["start_date"]) if row["start_date"] else None,
                      row["amount"]])
    last = max(sheet.max_row, 200)
    agencies = [a for a in session.exec(select(Agency.code).order_by(Agency.code)).all()]
    offices = [f"{a}/{o}" for o, a in session.exec(select(Office.code, Agency.code).join(Agency, Agency.id == Office.agency_id)
                                                     .where(Office.code != "NOT-STATED").order_by(Agency.code, Office.code)).all()]
    lists = book.create_sheet("Lists")
    for index, values in enumerate((agencies, offices, [str(y) for y in years], list(AREAS)), start=1):
        for position, value in enumerate(values, start=1):
            lists.cell(row=position, column=index, value=value)
    lists.sheet_state = "hidden"
    for column, list_column, count in (("B", "A", len(agencies)), ("C", "B", len(offices)),
                                        ("A", "C", len(years)), ("F", "D", len(AREAS))):
        validation = DataValidation(type="list", formula1=f"Lists!${list_column}$1:${list_column}${max(count, 1)}",
                                    allow_blank=True)
        validation.add(f"{column}5:{column}{last}")
        sheet.add_data_validation(validation)
    for column, width in zip("ABCDEFGH", (12, 10, 18, 34, 50, 13, 12, 16)):
        sheet.column_dimensions[column].width = width
    instructions = book.create_sheet("Instructions", 0)
    for line in (f"Report for {country.name} ({country_code})", "",  # type: ignore[union-attr]
                 "List every U.S.-funded anti-trafficking program the post knows of, one row per fiscal year.",
                 "Agency and Office: choose from the lists (or write them as you usually do, e.g. State/INL).",
                 "Amount: U.S. dollars; $1,250,000, 1.25M or 500K are all read. Leave totals out, or label them Total.",
                 "Upload the filled sheet on the tracker's Upload page, saying which fiscal years it covers."):
        instructions.append([line])
    instructions.column_dimensions["A"].width = 110
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
