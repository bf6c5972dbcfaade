"""Queries that return plain rows, for pages, charts, exports and commands.

Totals sum obligations (agency records) as recorded, never embassy report rows: obligated
amounts and de-obligations (negative) count, proposed ones do not, and records of a superseded
file do not. A regional or global place is not a country: its ``country`` is None and its
``region`` names it (a country's ``region`` is its own State Department region).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from tracker.models import (
    Agency,
    Country,
    EmbassyReportRow,
    Flag,
    Implementer,
    Obligation,
    Office,
    Program,
    Submission,
)

#: Statuses that count in totals.
COUNTED_STATUSES = ("obligated", "de-obligated")
#: What totals can be grouped by.
GROUPINGS = ("fiscal_year", "agency", "office", "country", "region", "program", "implementer", "status")

_COUNTED = {
    "agencies": Agency,
    "offices": Office,
    "countries and places": Country,
    "implementers": Implementer,
    "programs": Program,
    "obligations": Obligation,
    "embassy report rows": EmbassyReportRow,
    "submissions": Submission,
    "flags": Flag,
}


def reference_counts(session: Session) -> dict[str, int]:
    """How many rows each main table holds, by a name people read."""
    return {name: session.exec(select(func.count()).select_from(model)).one() for name, model in _COUNTED.items()}


@dataclass
class RecordFilters:
    """Which records a list or total covers (empty: all)."""

    fiscal_years: list[int] = field(default_factory=list)
    agencies: list[str] = field(default_factory=list)  # agency codes
    countries: list[str] = field(default_factory=list)  # country or place codes
    programs: list[str] = field(default_factory=list)  # program codes


def place_columns(code: str | None, kind: str | None, region: str | None) -> tuple[str | None, str | None]:
    """(country, region) as shown: a place is no country; its region names it."""
    if code is None:
        return None, None
    if kind == "country":
        return code, region
    return None, region or code


def _region_of(country: type[Country] | Any) -> Any:
    """The SQL expression for "region" as shown (a global place is its own region)."""
    return func.coalesce(country.region, country.code)


def totals(session: Session, by: list[str], filters: RecordFilters | None = None) -> list[dict[str, Any]]:
    """Sums of current obligations grouped by the given fields, sorted by them."""
    unknown = [b for b in by if b not in GROUPINGS]
    if unknown:
        raise ValueError(f"cannot group by {', '.join(unknown)}; choose from {', '.join(GROUPINGS)}")
    columns: dict[str, Any] = {
        "fiscal_year": Obligation.fiscal_year,
        "agency": Agency.code,
        "office": Office.code,
        "country": Country.code,
        "region": _region_of(Country),
        "program": Program.code,
        "implementer": Implementer.name,
        "status": Obligation.status,
    }
    chosen = [columns[b] for b in by]
    if "office" in by and "agency" not in by:
        chosen.append(Agency.code)
    if "country" in by:
        chosen += [Country.kind, _region_of(Country)]
    query = _obligation_query(select(*chosen, func.sum(Obligation.amount)), filters)
    query = query.where(Obligation.status.in_(COUNTED_STATUSES)).group_by(*chosen).order_by(*chosen)  # type: ignore[attr-defined]
    rows = []
    for values in session.exec(query).all():
        row: dict[str, Any] = dict(zip(by, values[: len(by)]))
        extra = list(values[len(by):-1])
        if "office" in by:
            agency = row.get("agency") or extra.pop(0)
            row["office"] = _office_label(agency, row["office"])
        if "country" in by:
            kind, region = extra[-2], extra[-1]
            row["country"], row["region"] = place_columns(row["country"], kind, region)
        row["amount"] = values[-1] if values[-1] is not None else Decimal("0.00")
        rows.append(row)
    return rows


def _office_label(agency: str, office: str) -> str:
    return agency if office == "NOT-STATED" else f"{agency}/{office}"


def _obligation_query(query: Any, filters: RecordFilters | None) -> Any:
    query = (query.select_from(Obligation)
             .join(Office, Office.id == Obligation.office_id)
             .join(Agency, Agency.id == Office.agency_id)
             .join(Country, Country.code == Obligation.country_code)
             .outerjoin(Program, Program.id == Obligation.program_id)
             .outerjoin(Implementer, Implementer.id == Obligation.implementer_id)
             .where(Obligation.current == True))  # noqa: E712
    return _filtered(query, filters, Obligation)


def _filtered(query: Any, filters: RecordFilters | None, model: Any) -> Any:
    if filters is None:
        return query
    if filters.fiscal_years:
        query = query.where(model.fiscal_year.in_(filters.fiscal_years))
    if filters.agencies:
        query = query.where(Agency.code.in_(filters.agencies))
    if filters.countries:
        query = query.where(model.country_code.in_(filters.countries))
    if filters.programs and model is Obligation:
        query = query.where(Program.code.in_(filters.programs))
    return query


def list_obligations(session: Session, filters: RecordFilters | None = None) -> list[dict[str, Any]]:
    """Current obligations with their provenance, in fiscal year, country, id order."""
    query = _obligation_query(
        select(Obligation, Agency.code, Office.code, Country.kind, Country.region, Program.code, Implementer.name,
               Submission.filename), filters)
    query = query.outerjoin(Submission, Submission.id == Obligation.submission_id).order_by(
        Obligation.fiscal_year, Obligation.country_code, Obligation.id)
    rows = []
    for record, agency, office, kind, region, program, implementer, filename in session.exec(query).all():
        country, region = place_columns(record.country_code, kind, region)
        rows.append({
            "id": record.id, "fiscal_year": record.fiscal_year, "agency": agency,
            "office": _office_label(agency, office), "country": country, "region": region,
            "program": program, "implementer": implementer or record.implementer_name, "title": record.title,
            "area": record.area, "award_number": record.award_number,
            "date": record.obligation_date.isoformat() if record.obligation_date else None,
            "status": record.status, "amount": record.amount,
            "file": filename, "sheet": record.source_sheet, "row": record.source_row,
        })
    return rows


def list_reports(session: Session, filters: RecordFilters | None = None) -> list[dict[str, Any]]:
    """Current embassy report rows with their provenance."""
    office = aliased(Office)
    query = (select(EmbassyReportRow, Agency.code, office.code, Country.kind, Country.region, Implementer.name,
                    Submission.filename)
             .select_from(EmbassyReportRow)
             .join(Country, Country.code == EmbassyReportRow.country_code)
             .join(Submission, Submission.id == EmbassyReportRow.submission_id)
             .outerjoin(Agency, Agency.id == EmbassyReportRow.agency_id)
             .outerjoin(office, office.id == EmbassyReportRow.office_id)
             .outerjoin(Implementer, Implementer.id == EmbassyReportRow.implementer_id)
             .where(EmbassyReportRow.current == True))  # noqa: E712
    query = _filtered(query, filters, EmbassyReportRow).order_by(
        EmbassyReportRow.country_code, EmbassyReportRow.fiscal_year, EmbassyReportRow.id)
    rows = []
    for record, agency, office_code, kind, region, implementer, filename in session.exec(query).all():
        country, region = place_columns(record.country_code, kind, region)
        rows.append({
            "id": record.id, "fiscal_year": record.fiscal_year, "country": country, "region": region,
            "agency": agency, "office": _office_label(agency, office_code) if agency else None,
            "agency_text": record.agency_text, "implementer": implementer or record.implementer_name,
            "title": record.title, "area": record.area,
            "start_date": record.start_date.isoformat() if record.start_date else None,
            "amount": record.amount, "file": filename, "sheet": record.source_sheet, "row": record.source_row,
        })
    return rows
