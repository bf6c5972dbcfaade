"""Obligations entered or edited by hand (agency staff), validated through the one-place
parsers and audited with the record before and after."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from tracker.audit import record_event
from tracker.fiscal import FiscalYearError, parse_fiscal_year
from tracker.implementers import ImplementerResolver
from tracker.models import AREAS, OBLIGATION_STATUSES, Implementer, ImplementerAlias, Obligation, Office, utcnow
from tracker.money import MoneyError, parse_money
from tracker.summary import refresh_totals
from tracker.textnorm import clean_text, normalize_key


class RecordError(ValueError):
    """Values that cannot make an obligation; ``problems`` maps each field to what is wrong."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


class StaleRecord(ValueError):
    """The record changed since the person opened it."""


@dataclass
class ObligationIn:
    """What a form sends for an obligation (text, as typed)."""

    fiscal_year: str
    office_id: int
    country_code: str
    implementer: str
    title: str
    amount: str
    area: str | None = None
    award_number: str | None = None
    obligation_date: date | None = None
    status: str = "obligated"
    program_id: int | None = None


_FIELDS = ("fiscal_year", "office_id", "country_code", "implementer_id", "implementer_name", "title", "area",
           "award_number", "obligation_date", "amount", "status", "program_id")


def _clean(session: Session, data: ObligationIn) -> dict[str, Any]:
    problems: dict[str, str] = {}
    values: dict[str, Any] = {}
    try:
        values["fiscal_year"] = parse_fiscal_year(data.fiscal_year)
    except FiscalYearError as exc:
        problems["fiscal_year"] = str(exc)
    try:
        values["amount"] = parse_money(data.amount)
    except MoneyError as exc:
        problems["amount"] = str(exc)
    if session.get(Office, data.office_id) is None:
        problems["office_id"] = "choose an office"
    title = clean_text(data.title or "")
    if not title or len(title) > 1000:
        problems["title"] = "a title of 1 to 1,000 characters is needed"
    implementer = clean_text(data.implementer or "")
    if len(implementer) > 300:
        problems["implementer"] = "at most 300 characters"
    if data.area and data.area not in AREAS:
        problems["area"] = f"one of {', '.join(AREAS)}"
    if data.status not in OBLIGATION_STATUSES:
        problems["status"] = f"one of {', '.join(OBLIGATION_STATUSES)}"
    if problems:
        raise RecordError(problems)
    values.update(office_id=data.office_id, country_code=data.country_code, title=title, area=data.area or None,
                  award_number=clean_text(data.award_number or "") or None, obligation_date=data.obligation_date,
                  status=data.status, program_id=data.program_id)
    values["implementer_id"], values["implementer_name"] = _implementer(session, implementer)
    return values


def _implementer(session: Session, text: str) -> tuple[int | None, str | None]:
    if not text:
        return None, None
    resolved = ImplementerResolver(session).resolve(text)
    if resolved.implementer_id is not None:
        return resolved.implementer_id, text
    created = Implementer(name=text)
    session.add(created)
    session.flush()
    session.add(ImplementerAlias(alias=text, key=normalize_key(text), implementer_id=created.id))  # type: ignore[arg-type]
    return created.id, text


def _snapshot(obligation: Obligation) -> dict[str, Any]:
    values = {f: getattr(obligation, f) for f in _FIELDS}
    return {f: str(v) if isinstance(v, (Decimal, date)) else v for f, v in values.items()}


def create_obligation(session: Session, data: ObligationIn, *, user_id: int | None, actor: str) -> Obligation:
    """Add an obligation typed into the tracker (the caller commits)."""
    obligation = Obligation(**_clean(session, data), created_by_id=user_id)
    session.add(obligation)
    session.flush()
    refresh_totals(session, {(obligation.country_code, obligation.fiscal_year)})
    record_event(session, action="obligation.create", actor=actor, user_id=user_id, entity_type="obligation",
                 entity_id=obligation.id, summary=f"created obligation {obligation.id}", after=_snapshot(obligation))
    return obligation


def update_obligation(session: Session, obligation: Obligation, data: ObligationIn, *, user_id: int | None,
                      actor: str, expected_version: int) -> Obligation:
    """Change an obligation, if nobody changed it since it was opened (the caller commits)."""
    if obligation.version != expected_version:
        raise StaleRecord(f"obligation {obligation.id} was changed by someone else since you opened it; reload it")
    if not obligation.current:
        # A deleted record, or one whose file was superseded, no longer counts: correcting it
        # would change nothing anyone sees; the current record is the one to correct.
        raise RecordError({"record": f"obligation {obligation.id} is no longer current "
                                     "(deleted, or its file was superseded) and cannot be corrected"})
    before = _snapshot(obligation)
    blocks = {(obligation.country_code, obligation.fiscal_year)}
    for name, value in _clean(session, data).items():
        setattr(obligation, name, value)
    obligation.version += 1
    obligation.updated_at = utcnow()
    session.add(obligation)
    session.flush()
    refresh_totals(session, blocks | {(obligation.country_code, obligation.fiscal_year)})
    after = _snapshot(obligation)
    changed = {k: v for k, v in after.items() if before.get(k) != v}
    record_event(session, action="obligation.update", actor=actor, user_id=user_id, entity_type="obligation",
                 entity_id=obligation.id, summary=f"updated obligation {obligation.id}",
                 before={k: before.get(k) for k in changed}, after=changed)
    return obligation


def delete_obligation(session: Session, obligation: Obligation, *, user_id: int | None, actor: str,
                      expected_version: int, reason: str = "") -> Obligation:
    """Delete an obligation: it stops counting but is kept (no longer current, ``deleted_at``
    set), with the whole record audited, so history and totals "as of" earlier still see it.
    Only a current record can be deleted (the caller commits)."""
    if obligation.version != expected_version:
        raise StaleRecord(f"obligation {obligation.id} was changed by someone else since you opened it; reload it")
    if not obligation.current:
        raise RecordError({"record": f"obligation {obligation.id} is no longer current "
                                     "(deleted, or its file was superseded) and cannot be deleted"})
    before = {**_snapshot(obligation), "current": True}
    obligation.current = False
    obligation.deleted_at = utcnow()
    obligation.updated_at = obligation.deleted_at
    obligation.version += 1
    session.add(obligation)
    session.flush()
    refresh_totals(session, {(obligation.country_code, obligation.fiscal_year)})
    record_event(session, action="obligation.delete", actor=actor, user_id=user_id, entity_type="obligation",
                 entity_id=obligation.id, summary=f"deleted obligation {obligation.id}"
                 + (f": {reason.strip()[:500]}" if reason.strip() else ""),
                 before=before, after={"current": False, "deleted_at": obligation.deleted_at.isoformat()})
    return obligation
