"""Queries that return plain rows or dataclasses, for pages, charts, exports and commands."""

from __future__ import annotations

from sqlalchemy import func
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
