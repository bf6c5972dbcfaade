"""The tracker's tables (SQLModel). Schema changes go through Alembic migrations only.

Vocabulary (see DOMAIN.md): an *obligation* is money an agency office committed in a fiscal
year; an *embassy report row* is what a post says it knows of (a report, not money); a
*submission* is one uploaded file; a *flag* is a question for a reviewer.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index, Text, UniqueConstraint, true
from sqlmodel import Field, SQLModel

from tracker.dbtypes import Money, UtcDateTime

# Stable constraint names, so migrations (and SQLite batch ALTERs) can refer to them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Closed vocabularies, stored as text and checked by the domain code and by CHECK constraints.
SOURCE_KINDS = ("agency", "embassy")
AREAS = ("prevention", "protection", "prosecution")
OBLIGATION_STATUSES = ("proposed", "obligated", "de-obligated")
SUBMISSION_STATUSES = ("committed", "superseded", "rejected")
PLACE_KINDS = ("country", "region", "global")
OFFICE_KINDS = ("office", "bureau", "mission", "post", "not_stated")
ROLES = ("admin", "reviewer", "embassy", "agency", "budget")
FLAG_TYPES = (
    "duplicate_entry",
    "possible_duplicate_funding",
    "embassy_unaware",
    "not_in_agency_records",
    "amount_mismatch",
    "ceiling_exceeded",
)
FLAG_STATUSES = ("open", "decided")
DECISIONS = ("confirmed", "not_a_problem", "explained", "follow_up")
GAO_CLASSES = ("fragmentation", "overlap", "duplication")

#: Office code every agency has for rows that name the agency but no office.
OFFICE_NOT_STATED = "NOT-STATED"


def utcnow() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(timezone.utc)


def _one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name)


def _money(nullable: bool) -> Any:
    return Field(default=None, sa_column=Column(Money(), nullable=nullable))


def _json() -> Any:
    return Field(default=None, sa_column=Column(JSON, nullable=True))


def _timestamp(*, now: bool = False, index: bool = False) -> Any:
    if now:
        return Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False, index=index)
    return Field(default=None, sa_type=UtcDateTime, nullable=True, index=index)


def _text(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(Text, nullable=nullable))


# --- Reference data ---------------------------------------------------------------------


class Agency(SQLModel, table=True):
    """A department or agency: DOS, USAID, DOL, DOJ, HHS, DHS, DOD, ED."""

    __tablename__ = "agency"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=10, unique=True)
    name: str = Field(max_length=200)


class AgencyAlias(SQLModel, table=True):
    """Any text people write for an agency ("State", "Department of Labor") → agency."""

    __tablename__ = "agency_alias"
    id: int | None = Field(default=None, primary_key=True)
    alias: str = Field(max_length=200)
    key: str = Field(max_length=200, unique=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)


class Office(SQLModel, table=True):
    """An office, bureau, mission or post of an agency; each agency also has "office not stated"."""

    __tablename__ = "office"
    __table_args__ = (
        UniqueConstraint("agency_id", "code"),
        _one_of("kind", OFFICE_KINDS, "kind"),
    )
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    code: str = Field(max_length=40)
    name: str = Field(max_length=200)
    kind: str = Field(default="office", max_length=20)
    parent_id: int | None = Field(default=None, foreign_key="office.id")
    active: bool = Field(default=True)


class OfficeAlias(SQLModel, table=True):
    """Any text people write for an office ("State/INL", "DOS-INL", "USAID/Jakarta") → office."""

    __tablename__ = "office_alias"
    id: int | None = Field(default=None, primary_key=True)
    alias: str = Field(max_length=200)
    key: str = Field(max_length=200, unique=True)
    office_id: int = Field(foreign_key="office.id", index=True)


class Country(SQLModel, table=True):
    """A country (ISO 3166-1 alpha-3; Kosovo XKX) or a place for regional and global programs."""

    __tablename__ = "country"
    __table_args__ = (_one_of("kind", PLACE_KINDS, "kind"),)
    code: str = Field(primary_key=True, max_length=8)
    name: str = Field(max_length=120)
    kind: str = Field(default="country", max_length=10)
    region: str | None = Field(default=None, max_length=8, index=True)
    iso2: str | None = Field(default=None, max_length=2)
    post: str | None = Field(default=None, max_length=80)


class CountryAlias(SQLModel, table=True):
    """Any text people write for a country ("Burma", "Ivory Coast", "DRC") → country."""

    __tablename__ = "country_alias"
    id: int | None = Field(default=None, primary_key=True)
    alias: str = Field(max_length=200)
    key: str = Field(max_length=200, unique=True)
    country_code: str = Field(foreign_key="country.code", max_length=8, index=True)


class Implementer(SQLModel, table=True):
    """An implementing partner under its canonical name."""

    __tablename__ = "implementer"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=300, unique=True)


class ImplementerAlias(SQLModel, table=True):
    """Any text people write for an implementer ("IOM", "Int'l Org. for Migration") → implementer."""

    __tablename__ = "implementer_alias"
    id: int | None = Field(default=None, primary_key=True)
    alias: str = Field(max_length=300)
    key: str = Field(max_length=300, unique=True)
    implementer_id: int = Field(foreign_key="implementer.id", index=True)


class Program(SQLModel, table=True):
    """A named program or initiative, with a ceiling where it has one (the $50M initiative)."""

    __tablename__ = "program"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=200, unique=True)
    description: str | None = _text()
    ceiling: Decimal | None = _money(nullable=True)
    first_fiscal_year: int | None = None
    last_fiscal_year: int | None = None


class ProgramAlias(SQLModel, table=True):
    """Any text people write for a program ("$50M initiative", "PITI") → program."""

    __tablename__ = "program_alias"
    id: int | None = Field(default=None, primary_key=True)
    alias: str = Field(max_length=200)
    key: str = Field(max_length=200, unique=True)
    program_id: int = Field(foreign_key="program.id", index=True)


class ProgramCountry(SQLModel, table=True):
    """A country a program works in; for the $50M initiative, its regional hubs."""

    __tablename__ = "program_country"
    program_id: int = Field(foreign_key="program.id", primary_key=True)
    country_code: str = Field(foreign_key="country.code", primary_key=True, max_length=8)
    role: str = Field(default="country", max_length=20)


# --- People -----------------------------------------------------------------------------


class User(SQLModel, table=True):
    """Someone who signs in, with a role and a scope (countries for embassy officers, an agency
    or office for agency staff)."""

    __tablename__ = "app_user"
    __table_args__ = (_one_of("role", ROLES, "role"),)
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=80, unique=True)
    full_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=200)
    password_hash: str = Field(max_length=300)
    role: str = Field(max_length=20)
    agency_id: int | None = Field(default=None, foreign_key="agency.id")
    office_id: int | None = Field(default=None, foreign_key="office.id")
    active: bool = Field(default=True)
    created_at: datetime = _timestamp(now=True)
    last_login_at: datetime | None = _timestamp()

    # The attributes Flask-Login reads (duck-typed, so this module needs no Flask).
    @property
    def is_active(self) -> bool:
        """Whether the account may sign in."""
        return self.active

    @property
    def is_authenticated(self) -> bool:
        """A loaded user is a signed-in user."""
        return True

    @property
    def is_anonymous(self) -> bool:
        """A loaded user is never anonymous."""
        return False

    def get_id(self) -> str:
        """The id Flask-Login keeps in the session."""
        return str(self.id)


class UserCountry(SQLModel, table=True):
    """A country an embassy officer's scope covers."""

    __tablename__ = "user_country"
    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    country_code: str = Field(foreign_key="country.code", primary_key=True, max_length=8)


# --- What comes in ----------------------------------------------------------------------


class Submission(SQLModel, table=True):
    """One uploaded file: who sent it, for whom it speaks, and what became of it."""

    __tablename__ = "submission"
    __table_args__ = (
        _one_of("source_kind", SOURCE_KINDS, "source_kind"),
        _one_of("status", SUBMISSION_STATUSES, "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    filename: str = Field(max_length=255)
    stored_path: str | None = Field(default=None, max_length=500)
    sha256: str = Field(max_length=64, unique=True)  # one file's content is imported once
    size_bytes: int
    source_kind: str = Field(max_length=10)
    # Who the file speaks for: "agency:DOS/INL" (the agency and office given) or "embassy:THA"
    # (the post). A later file from the same scope covering every year of an earlier one supersedes it.
    scope_key: str = Field(max_length=60, index=True, sa_column_kwargs={"server_default": ""})
    agency_id: int | None = Field(default=None, foreign_key="agency.id", index=True)
    office_id: int | None = Field(default=None, foreign_key="office.id")
    country_code: str | None = Field(default=None, foreign_key="country.code", max_length=8, index=True)
    uploaded_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    uploaded_at: datetime = _timestamp(now=True, index=True)
    status: str = Field(default="committed", max_length=12, index=True)
    supersedes_id: int | None = Field(default=None, foreign_key="submission.id")
    rows_read: int = 0
    records: int = 0
    notes: Any = _json()


class UploadJob(SQLModel, table=True):
    """A file uploaded through the web, checked (preview) and then committed in the background."""

    __tablename__ = "upload_job"
    __table_args__ = (
        _one_of("state", ("queued", "running", "done", "failed"), "state"),
        _one_of("phase", ("preview", "commit"), "phase"),
    )
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    filename: str = Field(max_length=255)  # as the uploader named it, for display only
    stored_path: str = Field(max_length=500)  # under a generated name, never the client's path
    source_kind: str = Field(max_length=10)
    country_code: str | None = Field(default=None, foreign_key="country.code", max_length=8)
    agency: str | None = Field(default=None, max_length=60)
    fiscal_years: Any = _json()
    phase: str = Field(default="preview", max_length=10)
    state: str = Field(default="queued", max_length=10)
    message: str | None = _text()
    result: Any = _json()
    preview: Any = _json()
    submission_id: int | None = Field(default=None, foreign_key="submission.id")
    created_at: datetime = _timestamp(now=True)
    updated_at: datetime = _timestamp(now=True)


class SubmissionYear(SQLModel, table=True):
    """A fiscal year a submission covers: for an embassy report, a year the post has reported on
    (a covered year with no rows means the post knows of nothing that year)."""

    __tablename__ = "submission_year"
    submission_id: int = Field(foreign_key="submission.id", primary_key=True)
    fiscal_year: int = Field(primary_key=True)


class ColumnMapping(SQLModel, table=True):
    """A column heading confirmed for a source ("embassy:THA", "agency:DOS"), remembered for its
    next upload: the header as normalised, and the field it holds ("ignored" for none)."""

    __tablename__ = "column_mapping"
    __table_args__ = (UniqueConstraint("scope_key", "header_key"),)
    id: int | None = Field(default=None, primary_key=True)
    scope_key: str = Field(max_length=60)
    header_key: str = Field(max_length=200)
    field_name: str = Field(max_length=40)
    updated_at: datetime = _timestamp(now=True)


class Obligation(SQLModel, table=True):
    """Money an office obligated in a fiscal year, for a country or region, with its provenance."""

    __tablename__ = "obligation"
    __table_args__ = (
        _one_of("status", OBLIGATION_STATUSES, "status"),
        CheckConstraint(f"area IS NULL OR area IN ({', '.join(repr(a) for a in AREAS)})", name="area"),
        # Covering index for totals by fiscal year, office (and so agency) and country.
        Index("ix_obligation_totals", "current", "fiscal_year", "office_id", "country_code", "status", "amount"),
        # Reconcile reads one country-year at a time.
        Index("ix_obligation_block", "country_code", "fiscal_year"),
    )
    id: int | None = Field(default=None, primary_key=True)
    fiscal_year: int = Field(index=True)
    office_id: int = Field(foreign_key="office.id", index=True)
    country_code: str = Field(foreign_key="country.code", max_length=8, index=True)
    program_id: int | None = Field(default=None, foreign_key="program.id", index=True)
    implementer_id: int | None = Field(default=None, foreign_key="implementer.id", index=True)
    implementer_name: str | None = Field(default=None, max_length=300)
    office_text: str | None = Field(default=None, max_length=200)  # agency/office as written, if any
    title: str = Field(max_length=1000)
    area: str | None = Field(default=None, max_length=12)
    award_number: str | None = Field(default=None, max_length=100)
    obligation_date: date | None = None
    amount: Decimal = _money(nullable=False)
    status: str = Field(default="obligated", max_length=12)
    submission_id: int | None = Field(default=None, foreign_key="submission.id", index=True)
    source_sheet: str | None = Field(default=None, max_length=100)
    source_row: int | None = None
    # False once a later file from the same source supersedes this record's file (kept for history).
    current: bool = Field(default=True, index=True, sa_column_kwargs={"server_default": true()})
    # When the country's embassy first listed this obligation in a report (kept once set).
    first_reported_at: datetime | None = _timestamp()
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = _timestamp(now=True)
    updated_at: datetime = _timestamp(now=True)
    version: int = Field(default=1)
    # Set when someone deletes the record (it is kept, no longer current, so history and totals
    # "as of" an earlier date can still see it).
    deleted_at: datetime | None = _timestamp()


class ObligationTotal(SQLModel, table=True):
    """Current obligations summed by fiscal year, office, country, program and status: the
    summary dashboards and totals read, kept up to date in the same transaction as every change."""

    __tablename__ = "obligation_total"
    __table_args__ = (Index("ix_obligation_total_block", "country_code", "fiscal_year"),)
    id: int | None = Field(default=None, primary_key=True)
    fiscal_year: int
    office_id: int = Field(foreign_key="office.id")
    country_code: str = Field(foreign_key="country.code", max_length=8)
    program_id: int | None = Field(default=None, foreign_key="program.id")
    status: str = Field(max_length=12)
    records: int
    amount: Decimal = _money(nullable=False)


class EmbassyReportRow(SQLModel, table=True):
    """One row of an embassy's report: a program the post says it knows of (not money)."""

    __tablename__ = "embassy_report_row"
    __table_args__ = (
        CheckConstraint(f"area IS NULL OR area IN ({', '.join(repr(a) for a in AREAS)})", name="area"),
        Index("ix_embassy_report_row_country_year", "country_code", "fiscal_year"),
    )
    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    country_code: str = Field(foreign_key="country.code", max_length=8)
    fiscal_year: int
    agency_id: int | None = Field(default=None, foreign_key="agency.id")
    office_id: int | None = Field(default=None, foreign_key="office.id")
    agency_text: str | None = Field(default=None, max_length=200)
    implementer_id: int | None = Field(default=None, foreign_key="implementer.id")
    implementer_name: str | None = Field(default=None, max_length=300)
    title: str | None = Field(default=None, max_length=1000)
    area: str | None = Field(default=None, max_length=12)
    amount: Decimal | None = _money(nullable=True)
    start_date: date | None = None
    source_sheet: str | None = Field(default=None, max_length=100)
    source_row: int | None = None
    current: bool = Field(default=True, index=True, sa_column_kwargs={"server_default": true()})


class ReportMatch(SQLModel, table=True):
    """An embassy report row matched to the agency obligation it reports, with the score and
    the field-by-field evidence (recomputed by reconcile for its country and fiscal year)."""

    __tablename__ = "report_match"
    __table_args__ = (
        Index("ix_report_match_country_year", "country_code", "fiscal_year"),
        UniqueConstraint("embassy_row_id", "obligation_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    embassy_row_id: int = Field(foreign_key="embassy_report_row.id", index=True)
    obligation_id: int = Field(foreign_key="obligation.id", index=True)
    country_code: str = Field(foreign_key="country.code", max_length=8)
    fiscal_year: int
    score: float
    evidence: Any = _json()


# --- Review -----------------------------------------------------------------------------


class Flag(SQLModel, table=True):
    """A question for a reviewer: records that look duplicated, unaware, mismatched or over a ceiling.

    ``fingerprint`` identifies the question (type and records) across recomputes, so a decision
    stays with it; ``evidence_hash`` changes when the evidence does, which reopens it.
    """

    __tablename__ = "flag"
    __table_args__ = (
        _one_of("type", FLAG_TYPES, "type"),
        _one_of("status", FLAG_STATUSES, "status"),
        CheckConstraint(
            f"decision IS NULL OR decision IN ({', '.join(repr(d) for d in DECISIONS)})", name="decision"
        ),
        Index("ix_flag_country_year", "country_code", "fiscal_year"),
        Index("ix_flag_counts", "active", "type", "status"),  # the dashboard's flag counts, from the index
    )
    id: int | None = Field(default=None, primary_key=True)
    type: str = Field(max_length=40, index=True)
    status: str = Field(default="open", max_length=10, index=True)
    fingerprint: str = Field(max_length=64, unique=True)
    active: bool = Field(default=True, index=True)
    country_code: str | None = Field(default=None, foreign_key="country.code", max_length=8)
    fiscal_year: int | None = None
    program_id: int | None = Field(default=None, foreign_key="program.id")
    explanation: str | None = _text()
    evidence: Any = _json()
    evidence_hash: str | None = Field(default=None, max_length=64)
    records_hash: str | None = Field(default=None, max_length=64)
    decision: str | None = Field(default=None, max_length=20)
    gao_class: str | None = Field(default=None, max_length=20)
    effect: str | None = Field(default=None, max_length=200)
    comment: str | None = _text()
    decided_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    decided_at: datetime | None = _timestamp()
    created_at: datetime = _timestamp(now=True)
    updated_at: datetime = _timestamp(now=True)
    version: int = Field(default=1)


class FlagRecord(SQLModel, table=True):
    """A record a flag involves: an obligation or an embassy report row."""

    __tablename__ = "flag_record"
    __table_args__ = (
        CheckConstraint(
            "(obligation_id IS NULL) <> (embassy_row_id IS NULL)", name="one_record"
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    flag_id: int = Field(foreign_key="flag.id", index=True)
    obligation_id: int | None = Field(default=None, foreign_key="obligation.id", index=True)
    embassy_row_id: int | None = Field(default=None, foreign_key="embassy_report_row.id", index=True)


class FlagDecision(SQLModel, table=True):
    """One decision taken on a flag (the flag keeps the latest; this keeps them all)."""

    __tablename__ = "flag_decision"
    id: int | None = Field(default=None, primary_key=True)
    flag_id: int = Field(foreign_key="flag.id", index=True)
    decision: str = Field(max_length=20)
    gao_class: str | None = Field(default=None, max_length=20)
    effect: str | None = Field(default=None, max_length=200)
    comment: str | None = _text()
    decided_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    decided_at: datetime = _timestamp(now=True)


class AuditEvent(SQLModel, table=True):
    """Who did what, when, with the record before and after. Append-only: database triggers
    (migration 0007) refuse UPDATE and DELETE, and the session refuses to flush either."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_action_at", "action", "at"),  # failed sign-ins in the last minutes
        Index("ix_audit_event_entity", "entity_type", "entity_id"),  # a record's history
    )
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _timestamp(now=True, index=True)
    user_id: int | None = Field(default=None, foreign_key="app_user.id")
    actor: str = Field(max_length=100)
    action: str = Field(max_length=40, index=True)
    entity_type: str | None = Field(default=None, max_length=40)
    entity_id: str | None = Field(default=None, max_length=40)
    summary: str | None = _text()
    before: Any = _json()
    after: Any = _json()
    # The client's address for events from the web (after ProxyFix, when behind a proxy).
    ip: str | None = Field(default=None, max_length=45)
