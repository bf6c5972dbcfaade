"""Queries that return plain rows, for pages, charts, exports and commands.

Totals sum obligations (agency records) as recorded, never embassy report rows: obligated
amounts and de-obligations (negative) count, proposed ones do not, and records of a superseded
file do not. A regional or global place is not a country: its ``country`` is None and its
``region`` names it (a country's ``region`` is its own State Department region).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, and_, func, literal, or_, union_all
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from tracker.dbtypes import Money
from tracker.models import (
    Agency,
    AuditEvent,
    Country,
    EmbassyReportRow,
    Flag,
    Implementer,
    Obligation,
    ObligationTotal,
    Office,
    Program,
    Submission,
)

#: Statuses that count in totals.
COUNTED_STATUSES = ("obligated", "de-obligated")
#: What totals can be grouped by.
GROUPINGS = ("fiscal_year", "agency", "office", "country", "region", "program", "implementer", "status")

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


def totals(session: Session, by: list[str], filters: RecordFilters | None = None, *,
           source: str = "summary", as_of: datetime | None = None) -> list[dict[str, Any]]:
    """Sums of current obligations grouped by the given fields, sorted by them.

    :param source: "summary" reads the obligation_total table (fast at any size); "records" sums
        the obligations themselves (what the summary must always equal). Grouping by implementer
        always reads the records.
    :param as_of: sum the obligations as they stood at that moment instead (see
        ``obligations_as_of``); reference data (which agency an office belongs to, regions, codes)
        is today's
    """
    unknown = [b for b in by if b not in GROUPINGS]
    if unknown:
        raise ValueError(f"cannot group by {', '.join(unknown)}; choose from {', '.join(GROUPINGS)}")
    model: Any = Obligation if source == "records" or "implementer" in by else ObligationTotal
    if as_of is not None:
        model = obligations_as_of(session, as_of)
    columns: dict[str, Any] = {
        "fiscal_year": model.fiscal_year,
        "agency": Agency.code,
        "office": Office.code,
        "country": Country.code,
        "region": _region_of(Country),
        "program": Program.code,
        "implementer": Implementer.name,
        "status": model.status,
    }
    chosen = [columns[b] for b in by]
    if "office" in by and "agency" not in by:
        chosen.append(Agency.code)
    if "country" in by:
        chosen += [Country.kind, _region_of(Country)]
    query = _records_query(select(*chosen, func.sum(model.amount)), filters, model)
    query = query.where(model.status.in_(COUNTED_STATUSES)).group_by(*chosen).order_by(*chosen)
    found = session.exec(query).all()
    if as_of is not None:
        _as_of_table.drop(session.connection(), checkfirst=True)
    rows = []
    for values in found:
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


def _records_query(query: Any, filters: RecordFilters | None, model: Any) -> Any:
    """Join what totals and lists need; current records only."""
    query = (query.select_from(model)
             .join(Office, Office.id == model.office_id)
             .join(Agency, Agency.id == Office.agency_id)
             .join(Country, Country.code == model.country_code)
             .outerjoin(Program, Program.id == model.program_id))
    if sa_inspect(model).mapper.class_ is Obligation:  # the table, or obligations as of a moment
        query = (query.outerjoin(Implementer, Implementer.id == model.implementer_id)
                 .where(model.current == True))  # noqa: E712
    return _filtered(query, filters, model)


def _office_label(agency: str, office: str) -> str:
    return agency if office == "NOT-STATED" else f"{agency}/{office}"


def _obligation_query(query: Any, filters: RecordFilters | None) -> Any:
    return _records_query(query, filters, Obligation)


def _filtered(query: Any, filters: RecordFilters | None, model: Any) -> Any:
    if filters is None:
        return query
    if filters.fiscal_years:
        query = query.where(model.fiscal_year.in_(filters.fiscal_years))
    if filters.agencies:
        query = query.where(Agency.code.in_(filters.agencies))
    if filters.countries:
        query = query.where(model.country_code.in_(filters.countries))
    if filters.programs and model is not EmbassyReportRow:
        query = query.where(Program.code.in_(filters.programs))
    return query


def list_obligations(session: Session, filters: RecordFilters | None = None, *, limit: int | None = None,
                     offset: int = 0) -> list[dict[str, Any]]:
    """Current obligations with their provenance, in fiscal year, country, id order."""
    query = _obligation_query(
        select(Obligation, Agency.code, Office.code, Country.kind, Country.region, Program.code, Implementer.name,
               Submission.filename), filters)
    query = query.outerjoin(Submission, Submission.id == Obligation.submission_id).order_by(
        Obligation.fiscal_year, Obligation.country_code, Obligation.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
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


def list_reports(session: Session, filters: RecordFilters | None = None, *, limit: int | None = None,
                 offset: int = 0) -> list[dict[str, Any]]:
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
        EmbassyReportRow.country_code, EmbassyReportRow.fiscal_year, EmbassyReportRow.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
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


def flag_counts(session: Session, countries: list[str] | None = None) -> list[dict[str, Any]]:
    """Active flags by type and status (within some countries, when given)."""
    query = select(Flag.type, Flag.status, func.count()).where(Flag.active == True)  # noqa: E712
    if countries is not None:
        query = query.where(Flag.country_code.in_(countries))  # type: ignore[union-attr]
    query = query.group_by(Flag.type, Flag.status).order_by(Flag.type, Flag.status)
    return [{"type": t, "status": s, "count": n} for t, s, n in session.exec(query).all()]


def coverage_by_post(session: Session, countries: list[str] | None = None) -> dict[str, list[int]]:
    """The fiscal years each post's current report covers."""
    from tracker.reconcile import covered_blocks

    found: dict[str, list[int]] = {}
    for country, year in sorted(covered_blocks(session)):
        if countries is None or country in countries:
            found.setdefault(country, []).append(year)
    return found


#: The President's $50M initiative, whose ledger the dashboard and the budget workbook show.
INITIATIVE = "PRES-50M"


def program_ledger(session: Session, program_code: str,
                   countries: list[str] | None = None) -> tuple[Program | None, list[dict[str, Any]]]:
    """A program and its obligations by hub (country) and fiscal year; only those countries'
    hubs when given (a user confined to some countries sees no other post's money)."""
    program = session.exec(select(Program).where(Program.code == program_code)).first()
    if program is None:
        return None, []
    return program, totals(session, ["fiscal_year", "country"],
                           RecordFilters(programs=[program_code], countries=list(countries or [])))


def country_names(session: Session) -> dict[str, str]:
    """Every country's and place's display name by code."""
    return dict(session.exec(select(Country.code, Country.name)).all())


@dataclass
class BrowseQuery:
    """What the obligations browser shows: filters from the query string, sort and page."""

    fiscal_years: list[int] = field(default_factory=list)
    agencies: list[str] = field(default_factory=list)
    offices: list[int] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    programs: list[str] = field(default_factory=list)
    implementers: list[int] = field(default_factory=list)
    flag_status: str | None = None  # "open", "any", "none"
    search: str | None = None
    sort: str = "-fiscal_year"
    page: int = 1
    per_page: int = 50
    all_facets: bool = False  # count implementers even over a very large selection

    def describe(self, names: dict[str, str]) -> str:
        """The filters in words: "FY2006, DOS, in Indonesia, with open flags"."""
        parts = [", ".join(f"FY{y}" for y in self.fiscal_years), ", ".join(self.agencies),
                 ("in " + ", ".join(names.get(c, c) for c in self.countries)) if self.countries else "",
                 ("program " + ", ".join(self.programs)) if self.programs else "",
                 {"open": "with open flags", "any": "with flags", "none": "without open flags"}.get(self.flag_status or "", ""),
                 f'matching "{self.search}"' if self.search else ""]
        text = "; ".join(p for p in parts if p)
        return f"Obligations {text}" if text else "All obligations"


_SORTS = {"fiscal_year": Obligation.fiscal_year, "amount": Obligation.amount, "country": Obligation.country_code,
          "agency": Agency.code, "implementer": Obligation.implementer_name, "id": Obligation.id}


def browse_where(query: Any, q: BrowseQuery, allowed: frozenset[str] | None) -> Any:
    """The browser's filters (and the user's scope) on a query over obligations joined to office,
    agency and program: the one definition the page, its counts and its Excel download share."""
    from sqlalchemy import exists, or_

    from tracker.models import FlagRecord

    query = query.where(Obligation.current == True)  # noqa: E712
    if allowed is not None:
        query = query.where(Obligation.country_code.in_(sorted(allowed)))
    if q.fiscal_years:
        query = query.where(Obligation.fiscal_year.in_(q.fiscal_years))
    if q.agencies:
        query = query.where(Agency.code.in_(q.agencies))
    if q.offices:
        query = query.where(Obligation.office_id.in_(q.offices))
    if q.countries:
        query = query.where(Obligation.country_code.in_(q.countries))
    if q.programs:
        query = query.where(Program.code.in_(q.programs))
    if q.implementers:
        query = query.where(Obligation.implementer_id.in_(q.implementers))
    if q.search:
        like = f"%{q.search.lower()}%"
        query = query.where(or_(func.lower(Obligation.title).like(like), func.lower(Obligation.implementer_name).like(like),
                                func.lower(Obligation.award_number).like(like)))
    if q.flag_status:
        flagged = exists().where(FlagRecord.obligation_id == Obligation.id, FlagRecord.flag_id == Flag.id,
                                 Flag.active == True)  # noqa: E712
        if q.flag_status == "open":
            flagged = flagged.where(Flag.status == "open")
        query = query.where(~flagged if q.flag_status == "none" else flagged)
    return query


def browse_order(q: BrowseQuery) -> list[Any]:
    """The browser's sort (then newest record first, so the order is total)."""
    column = _SORTS.get(q.sort.lstrip("-"), Obligation.fiscal_year)
    return [column.desc() if q.sort.startswith("-") else column.asc(), Obligation.id.desc()]  # type: ignore[union-attr]


def browse_obligations(session: Session, q: BrowseQuery, allowed: frozenset[str] | None) -> dict[str, Any]:
    """One page of obligations, the total count, and facet counts for the current filters."""
    base = (select(Obligation, Agency.code, Office.code, Country.name, Program.code, Implementer.name)
            .select_from(Obligation).join(Office, Office.id == Obligation.office_id)
            .join(Agency, Agency.id == Office.agency_id).join(Country, Country.code == Obligation.country_code)
            .outerjoin(Program, Program.id == Obligation.program_id)
            .outerjoin(Implementer, Implementer.id == Obligation.implementer_id))
    query = browse_where(base, q, allowed)
    rows = session.exec(query.order_by(*browse_order(q)).offset((q.page - 1) * q.per_page).limit(q.per_page)).all()
    if _summary_serves(q):
        counted = _summary_where(select(func.coalesce(func.sum(ObligationTotal.records), 0),
                                        func.coalesce(func.sum(ObligationTotal.amount), 0)), q, allowed)
    else:
        counted = browse_where(select(func.count(), func.coalesce(func.sum(Obligation.amount), 0))
                                .select_from(Obligation).join(Office, Office.id == Obligation.office_id)
                                .join(Agency, Agency.id == Office.agency_id)
                                .outerjoin(Program, Program.id == Obligation.program_id), q, allowed)
    total, amount = session.exec(counted).one()
    facets = _facets(session, q, allowed, implementers=q.all_facets or bool(q.implementers)
                     or total <= IMPLEMENTER_FACET_LIMIT)
    return {"rows": [{"obligation": o, "agency": a, "office": _office_label(a, oc), "country_name": cn,
                      "program": p, "implementer": i or o.implementer_name} for o, a, oc, cn, p, i in rows],
            "total": total, "amount": Decimal(amount) if not isinstance(amount, Decimal) else amount,
            "facets": facets}


#: Implementers are counted on request only over selections larger than this (counting them means
#: reading every record; the other facets come from the summary).
IMPLEMENTER_FACET_LIMIT = 100_000


def _summary_serves(q: BrowseQuery) -> bool:
    """The summary can answer counts when no filter reaches below it (implementer, text, flags)."""
    return not (q.implementers or q.search or q.flag_status)


def _summary_where(query: Any, q: BrowseQuery, allowed: frozenset[str] | None) -> Any:
    query = (query.select_from(ObligationTotal).join(Office, Office.id == ObligationTotal.office_id)
             .join(Agency, Agency.id == Office.agency_id).join(Country, Country.code == ObligationTotal.country_code)
             .outerjoin(Program, Program.id == ObligationTotal.program_id))
    if allowed is not None:
        query = query.where(ObligationTotal.country_code.in_(sorted(allowed)))
    if q.fiscal_years:
        query = query.where(ObligationTotal.fiscal_year.in_(q.fiscal_years))
    if q.agencies:
        query = query.where(Agency.code.in_(q.agencies))
    if q.offices:
        query = query.where(ObligationTotal.office_id.in_(q.offices))
    if q.countries:
        query = query.where(ObligationTotal.country_code.in_(q.countries))
    if q.programs:
        query = query.where(Program.code.in_(q.programs))
    return query


def _facets(session: Session, q: BrowseQuery, allowed: frozenset[str] | None, *,
            implementers: bool = True) -> dict[str, list[tuple[Any, str, int]] | None]:
    """For each facet, (value, label, count) under the other filters."""
    summary_columns = {"fiscal_years": ObligationTotal.fiscal_year, "countries": ObligationTotal.country_code}

    def counts(column: Any, label: Any, drop: str, limit: int | None = None) -> list[tuple[Any, str, int]]:
        narrowed = BrowseQuery(**{**q.__dict__, drop: [] if drop != "flag_status" else None})
        if _summary_serves(narrowed) and drop != "implementers":
            grouped = summary_columns.get(drop, column)
            name = label if drop != "fiscal_years" else grouped
            query = _summary_where(select(grouped, name, func.sum(ObligationTotal.records)), narrowed, allowed)
            query = query.group_by(grouped, name).order_by(func.sum(ObligationTotal.records).desc())
            if limit:
                query = query.limit(limit)
            return [(value, str(text), int(n)) for value, text, n in session.exec(query).all() if value is not None]
        query = (select(column, label, func.count()).select_from(Obligation)
                 .join(Office, Office.id == Obligation.office_id).join(Agency, Agency.id == Office.agency_id)
                 .outerjoin(Program, Program.id == Obligation.program_id)
                 .outerjoin(Implementer, Implementer.id == Obligation.implementer_id)
                 .join(Country, Country.code == Obligation.country_code))
        query = browse_where(query, narrowed, allowed).group_by(column, label).order_by(func.count().desc())
        if limit:
            query = query.limit(limit)
        return [(value, str(text), n) for value, text, n in session.exec(query).all() if value is not None]

    return {
        "fiscal_years": sorted(counts(Obligation.fiscal_year, Obligation.fiscal_year, "fiscal_years"), reverse=True),
        "agencies": counts(Agency.code, Agency.code, "agencies"),
        "countries": counts(Obligation.country_code, Country.name, "countries", 25),
        "programs": counts(Program.code, Program.name, "programs"),
        "implementers": counts(Obligation.implementer_id, Implementer.name, "implementers", 15) if implementers else None,
    }


# --- totals as of a past moment ---------------------------------------------------------------

#: The obligation fields totals read; an update's "before" values restore these.
_AS_OF_FIELDS = ("fiscal_year", "office_id", "country_code", "program_id", "implementer_id", "status", "amount")
_as_of_metadata = MetaData()
#: Obligations changed since the moment, as they stood then (filled and dropped per call).
_as_of_table = Table(
    "tracker_obligation_as_of", _as_of_metadata,
    Column("id", Integer, primary_key=True), Column("fiscal_year", Integer), Column("office_id", Integer),
    Column("country_code", String(8)), Column("program_id", Integer), Column("implementer_id", Integer),
    Column("status", String(12)), Column("amount", Money()), Column("current", Boolean),
    prefixes=["TEMPORARY"],
)


def superseded_after(session: Session, moment: datetime) -> set[int]:
    """Submissions superseded after a moment, from the audit trail (each import event lists the
    submissions it superseded)."""
    found: set[int] = set()
    events = session.exec(select(AuditEvent.after).where(AuditEvent.action == "import", AuditEvent.at > moment))
    for after in events.all():
        if isinstance(after, dict):
            found.update(int(s) for s in after.get("superseded") or [] if str(s).isdigit())
    return found


def _restored(field: str, value: Any) -> Any:
    """A value as an update event's "before" kept it (JSON), back in the column's type."""
    if value is None:
        return None
    if field == "amount":
        return Decimal(str(value))
    if field in ("fiscal_year", "office_id", "program_id", "implementer_id"):
        return int(value)
    return value


def obligations_as_of(session: Session, moment: datetime) -> Any:
    """The obligations as they stood at a moment, as an entity totals and lists can select from.

    Rebuilt from what is kept: a record counts if it was created by then and was current then
    (not deleted by then: ``deleted_at``; its file not superseded by then: the import events; only
    a current record can be deleted, so a deleted one was current until then), with the
    values it had then (the "before" of every update event since, undone newest first). Records
    changed since are written, as they were, to a temporary table; the rest are read in place.
    """
    if moment.tzinfo is None:
        raise ValueError("as_of needs an aware datetime (UTC)")
    connection = session.connection()
    _as_of_table.drop(connection, checkfirst=True)
    _as_of_table.create(connection)
    updates = session.exec(select(AuditEvent.entity_id, AuditEvent.before)
                           .where(AuditEvent.entity_type == "obligation", AuditEvent.action == "obligation.update",
                                  AuditEvent.at > moment)
                           .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())).all()  # type: ignore[attr-defined]
    superseded = superseded_after(session, moment)
    changed = sorted({int(entity_id) for entity_id, _ in updates if entity_id and entity_id.isdigit()})
    states: dict[int, dict[str, Any]] = {}
    for start in range(0, len(changed), 500):
        rows = session.exec(select(Obligation).where(Obligation.id.in_(changed[start:start + 500]),  # type: ignore[union-attr]
                                                     Obligation.created_at <= moment)).all()
        for record in rows:
            # Deleting needs a current record, so a deleted one was current until it was deleted.
            was_current = (record.deleted_at > moment if record.deleted_at is not None
                           else record.current or record.submission_id in superseded)
            states[record.id] = {**{f: getattr(record, f) for f in _AS_OF_FIELDS}, "id": record.id,  # type: ignore[index]
                                 "current": was_current}
    for entity_id, before in updates:  # newest first: each undoes what came after it
        state = states.get(int(entity_id)) if entity_id and entity_id.isdigit() else None
        if state is not None and isinstance(before, dict):
            state.update({f: _restored(f, before[f]) for f in _AS_OF_FIELDS if f in before})
    if states:
        session.execute(_as_of_table.insert(), list(states.values()))
    table = Obligation.__table__  # type: ignore[attr-defined]
    unchanged = (select(*[table.c[f] for f in ("id", *_AS_OF_FIELDS)], literal(True).label("current"))
                 .where(table.c.created_at <= moment,
                        or_(table.c.deleted_at > moment,
                            and_(table.c.deleted_at.is_(None),
                                 table.c.current | table.c.submission_id.in_(sorted(superseded)))),
                        table.c.id.not_in(select(_as_of_table.c.id))))
    changed_then = select(*[_as_of_table.c[f] for f in ("id", *_AS_OF_FIELDS, "current")])
    return aliased(Obligation, union_all(unchanged, changed_then).subquery("obligation_as_of"), adapt_on_names=True)

