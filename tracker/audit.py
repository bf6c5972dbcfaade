"""The audit trail: who did what, when, with the record before and after. Append-only."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from tracker.models import AuditEvent


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
) -> AuditEvent:
    """Add an audit event to the session (the caller commits it with the change it describes).

    :param action: what happened, e.g. "seed", "user.create", "import"
    :param actor: who did it: a username, or "cli" / "system"
    """
    event = AuditEvent(
        action=action,
        actor=actor,
        user_id=user_id,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        summary=summary,
        before=before,
        after=after,
    )
    session.add(event)
    return event
