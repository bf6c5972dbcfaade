"""The audit trail: who did what, when, with the record before and after. Append-only."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from flask import has_request_context, request
from sqlalchemy import event, func
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, select

from tracker.models import AuditEvent


class AuditTrailError(RuntimeError):
    """Something tried to change or delete an audit event (the trail is append-only)."""


@event.listens_for(OrmSession, "before_flush")
def _refuse_changes(session: OrmSession, _context: Any, _instances: Any) -> None:
    """Refuse, before anything reaches the database, to change or delete an audit event (the
    database's triggers refuse it too, for any program that bypasses this code)."""
    for item in session.deleted:
        if isinstance(item, AuditEvent):
            raise AuditTrailError(f"audit event {item.id} cannot be deleted: the audit trail is append-only")
    for item in session.dirty:
        if isinstance(item, AuditEvent) and session.is_modified(item):
            raise AuditTrailError(f"audit event {item.id} cannot be changed: the audit trail is append-only")


def _client_address() -> str | None:
    """The web client's address when called during a request (None for commands)."""
    return (request.remote_addr or None) if has_request_context() else None


def record_event(
    session: Session,
    *,
    action: str,
    actor: str,
    user_id: int | None = None,
    entity_type: str | None = None,
    entity_id: object = None,
    summary: str | None = None,
    before: Any = None,
    after: Any = None,
    ip: str | None = None,
) -> AuditEvent:
    """Add an audit event to the session (the caller commits it with the change it describes).

    :param action: what happened, e.g. "seed", "user.create", "import"
    :param actor: who did it: a username, or "cli" / "system"
    :param ip: the client's address; by default the current web request's, if any
    """
    event_ = AuditEvent(
        action=action,
        actor=actor,
        user_id=user_id,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        summary=summary,
        before=before,
        after=after,
        ip=address[:45] if (address := ip or _client_address()) else None,
    )
    session.add(event_)
    return event_


# --- reading and exporting the trail ------------------------------------------------------------


@dataclass
class AuditQuery:
    """Which events to list or export (empty: all), newest first."""

    actor: str | None = None  # exactly this actor (a username, "cli", "system")
    action: str | None = None  # this action, or a family: "obligation" matches obligation.*
    entity_type: str | None = None
    entity_id: str | None = None
    since: datetime | None = None  # at or after
    until: datetime | None = None  # before
    page: int = 1
    per_page: int = 50


def _filtered(statement: Any, query: AuditQuery) -> Any:
    if query.actor:
        statement = statement.where(AuditEvent.actor == query.actor)
    if query.action:
        statement = statement.where((AuditEvent.action == query.action)
                                    | AuditEvent.action.startswith(query.action + ".", autoescape=True))  # type: ignore[attr-defined]
    if query.entity_type:
        statement = statement.where(AuditEvent.entity_type == query.entity_type)
    if query.entity_id:
        statement = statement.where(AuditEvent.entity_id == query.entity_id)
    if query.since is not None:
        statement = statement.where(AuditEvent.at >= query.since)
    if query.until is not None:
        statement = statement.where(AuditEvent.at < query.until)
    return statement


def list_events(session: Session, query: AuditQuery) -> tuple[list[AuditEvent], int]:
    """One page of the events a query selects, newest first, and how many it selects in all."""
    total = session.exec(_filtered(select(func.count()).select_from(AuditEvent), query)).one()
    page = max(1, query.page)
    events = session.exec(_filtered(select(AuditEvent), query).order_by(AuditEvent.id.desc())  # type: ignore[union-attr]
                          .offset((page - 1) * query.per_page).limit(query.per_page)).all()
    return list(events), int(total)


def iter_events(session: Session, query: AuditQuery, *, chunk: int = 2000) -> Iterator[AuditEvent]:
    """Every event a query selects, newest first, read in chunks (memory stays flat)."""
    last_id: int | None = None
    while True:
        statement = _filtered(select(AuditEvent), query)
        if last_id is not None:
            statement = statement.where(AuditEvent.id < last_id)
        rows = session.exec(statement.order_by(AuditEvent.id.desc()).limit(chunk)).all()  # type: ignore[union-attr]
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id


#: The columns of the exported trail.
EXPORT_COLUMNS = ("id", "at_utc", "actor", "user_id", "ip", "action", "entity_type", "entity_id", "summary",
                  "before", "after")


def export_row(event: AuditEvent) -> list[object]:
    """One event as exported: text Excel would run as a formula is neutralised."""
    from tracker.exporting import safe_text

    def as_json(value: Any) -> str:
        return "" if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)

    values: list[object] = [event.id, event.at.isoformat(), event.actor, event.user_id or "", event.ip or "",
                            event.action, event.entity_type or "", event.entity_id or "", event.summary or "",
                            as_json(event.before), as_json(event.after)]
    return [safe_text(v) for v in values]


def write_events_csv(session: Session, query: AuditQuery, out: TextIO) -> int:
    """Write every event a query selects as CSV (a header row, then newest first); return how many."""
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for event_ in iter_events(session, query):
        writer.writerow(export_row(event_))
        count += 1
    return count
