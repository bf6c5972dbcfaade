"""Plain factory functions: sensible defaults, overridable, unique where it matters."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from tracker.models import Agency, Obligation, Office

_counter = itertools.count(1)


def office_id(session: Session, agency: str = "DOS", code: str = "INL") -> int:
    """The id of a seeded office."""
    found = session.exec(select(Office.id).join(Agency).where(Agency.code == agency, Office.code == code)).one()
    return int(found)


def make_obligation(session: Session, **overrides: Any) -> Obligation:
    """Add an obligation (flushed, not committed)."""
    n = next(_counter)
    fields: dict[str, Any] = {
        "fiscal_year": 2007,
        "office_id": overrides.pop("office_id", None) or office_id(session),
        "country_code": "IDN",
        "title": f"Test program {n}",
        "amount": Decimal("1000.00"),
        "status": "obligated",
    }
    fields.update(overrides)
    obligation = Obligation(**fields)
    session.add(obligation)
    session.flush()
    return obligation
