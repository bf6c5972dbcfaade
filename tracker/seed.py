"""Reference data: agencies, offices, countries, implementers and programs, with their aliases.

``seed_reference`` is idempotent: it adds what is missing and changes nothing that exists, so
running it twice adds nothing the second time, and names an administrator edited stay edited.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import pycountry
from sqlmodel import Session, SQLModel, select

from tracker.audit import record_event
from tracker.models import (
    OFFICE_NOT_STATED,
    Agency,
    AgencyAlias,
    Country,
    CountryAlias,
    Implementer,
    ImplementerAlias,
    Office,
    OfficeAlias,
    Program,
    ProgramAlias,
    ProgramCountry,
)
from tracker.reference.agencies import AGENCIES, OFFICE_PARENTS, OFFICES
from tracker.reference.countries import (
    AMBIGUOUS_NAMES,
    COUNTRY_ALIASES,
    COUNTRY_REGION,
    DISPLAY_NAMES,
    PLACES,
    POSTS,
)
from tracker.reference.implementers import IMPLEMENTERS
from tracker.reference.programs import PROGRAMS
from tracker.textnorm import normalize_key


@dataclass
class SeedReport:
    """What a seed run added, by table; and alias keys it refused because two names claimed them."""

    added: Counter[str] = field(default_factory=Counter)
    conflicts: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Rows added in all."""
        return sum(self.added.values())


def seed_reference(session: Session, *, actor: str = "system") -> SeedReport:
    """Add missing reference data and audit what was added (the caller commits)."""
    report = SeedReport()
    _seed_agencies(session, report)
    _seed_countries(session, report)
    _seed_implementers(session, report)
    _seed_programs(session, report)
    if report.total:
        record_event(
            session,
            action="seed",
            actor=actor,
            summary=f"reference data: added {report.total} rows",
            after=dict(sorted(report.added.items())),
        )
    return report


def _add(session: Session, report: SeedReport, row: SQLModel) -> None:
    session.add(row)
    report.added[type(row).__tablename__] += 1  # type: ignore[attr-defined]


def _add_aliases(
    session: Session,
    report: SeedReport,
    model: type[SQLModel],
    target: str,
    names: Iterable[tuple[str, object]],
) -> None:
    """Add (alias, target id) pairs whose key is new; report keys that two targets claim."""
    existing = {row.key: getattr(row, target) for row in session.exec(select(model)).all()}  # type: ignore[attr-defined]
    wanted: dict[str, tuple[str, object]] = {}
    refused: set[str] = set()
    for alias, ident in names:
        key = normalize_key(alias)
        if not key or key in refused:
            continue
        if key in wanted and wanted[key][1] != ident:
            report.conflicts.append(f"{model.__tablename__}: {alias!r} names two things; left out")  # type: ignore[attr-defined]
            refused.add(key)
            del wanted[key]
            continue
        wanted.setdefault(key, (alias, ident))
    for key, (alias, ident) in wanted.items():
        if key not in existing:
            _add(session, report, model(alias=alias[:200], key=key, **{target: ident}))


def _seed_agencies(session: Session, report: SeedReport) -> None:
    agencies = {a.code: a for a in session.exec(select(Agency)).all()}
    for code, (name, _aliases) in AGENCIES.items():
        if code not in agencies:
            agencies[code] = Agency(code=code, name=name)
            _add(session, report, agencies[code])
    session.flush()
    offices = {(o.agency_id, o.code): o for o in session.exec(select(Office)).all()}
    wanted = [(code, OFFICE_NOT_STATED, "Office not stated", "not_stated", ()) for code in AGENCIES]
    for agency, code, name, kind, _aliases in [*wanted, *OFFICES]:
        key = (agencies[agency].id, code)
        if key not in offices:
            offices[key] = Office(agency_id=agencies[agency].id, code=code, name=name, kind=kind)  # type: ignore[arg-type]
            _add(session, report, offices[key])
    session.flush()
    for (agency, code), parent in OFFICE_PARENTS.items():
        office = offices[(agencies[agency].id, code)]
        if office.parent_id is None:
            office.parent_id = offices[(agencies[agency].id, parent)].id
    agency_names = [(alias, agencies[code].id) for code, (name, aliases) in AGENCIES.items()
                    for alias in (code, name, *aliases)]
    _add_aliases(session, report, AgencyAlias, "agency_id", agency_names)
    office_names = [(alias, offices[(agencies[agency].id, code)].id)
                    for agency, code, name, _kind, aliases in OFFICES for alias in (code, name, *aliases)]
    _add_aliases(session, report, OfficeAlias, "office_id", office_names)


def _seed_countries(session: Session, report: SeedReport) -> None:
    existing = set(session.exec(select(Country.code)).all())
    names: list[tuple[str, object]] = []
    for entry in pycountry.countries:
        code = entry.alpha_3
        display = DISPLAY_NAMES.get(code) or getattr(entry, "common_name", None) or entry.name
        if code not in existing:
            _add(session, report, Country(code=code, name=display, kind="country", iso2=entry.alpha_2,
                                          region=COUNTRY_REGION.get(code), post=POSTS.get(code)))
        for name in (display, entry.name, getattr(entry, "official_name", None),
                     getattr(entry, "common_name", None)):
            if name:
                names.append((name, code))
    if "XKX" not in existing:
        _add(session, report, Country(code="XKX", name=DISPLAY_NAMES.get("XKX", "Kosovo"), kind="country",
                                      iso2="XK", region=COUNTRY_REGION.get("XKX"), post=POSTS.get("XKX")))
    names.append(("Kosovo", "XKX"))
    for code, name, kind, region, aliases in PLACES:
        if code not in existing:
            _add(session, report, Country(code=code, name=name, kind=kind, region=region))
        names.extend((alias, code) for alias in (name, *aliases))
        if kind == "region" and region and region != "AF":  # "AF" alone is Afghanistan's ISO code
            names.append((region, code))  # State's bureau codes: "EAP", "EUR", "NEA", "SCA", "WHA"
    names.extend(COUNTRY_ALIASES.items())
    session.flush()
    ambiguous = {normalize_key(n) for n in AMBIGUOUS_NAMES}
    _add_aliases(session, report, CountryAlias, "country_code",
                 [(n, c) for n, c in names if normalize_key(n) not in ambiguous])


def _seed_implementers(session: Session, report: SeedReport) -> None:
    existing = {i.name: i for i in session.exec(select(Implementer)).all()}
    for name in IMPLEMENTERS:
        if name not in existing:
            existing[name] = Implementer(name=name)
            _add(session, report, existing[name])
    session.flush()
    names = [(alias, existing[name].id) for name, aliases in IMPLEMENTERS.items() for alias in (name, *aliases)]
    _add_aliases(session, report, ImplementerAlias, "implementer_id", names)


def _seed_programs(session: Session, report: SeedReport) -> None:
    existing = {p.code: p for p in session.exec(select(Program)).all()}
    for code, spec in PROGRAMS.items():
        if code in existing:
            continue
        program = Program(code=code, name=spec["name"], description=spec["description"],  # type: ignore[arg-type]
                          ceiling=spec["ceiling"], first_fiscal_year=spec["first_fiscal_year"],  # type: ignore[arg-type]
                          last_fiscal_year=spec["last_fiscal_year"])  # type: ignore[arg-type]
        _add(session, report, program)
        session.flush()
        existing[code] = program
        for country in spec["hubs"]:  # type: ignore[attr-defined]
            _add(session, report, ProgramCountry(program_id=program.id, country_code=country, role="hub"))  # type: ignore[arg-type]
    names = [(alias, existing[code].id) for code, spec in PROGRAMS.items()
             for alias in (code, spec["name"], *spec["aliases"])]  # type: ignore[misc]
    _add_aliases(session, report, ProgramAlias, "program_id", names)
