"""The obligation_total summary: current obligations summed by fiscal year, office, country,
program and status. Rebuilt for the country-years a change touches, in the change's own
transaction, so it always equals the records (a test holds it to that)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select, tuple_
from sqlmodel import Session

from tracker.models import Obligation, ObligationTotal

Block = tuple[str, int]
_KEYS = ("fiscal_year", "office_id", "country_code", "program_id", "status")


def _in_blocks(columns: tuple[Any, Any], blocks: set[Block] | None) -> Any:
    return True if blocks is None else tuple_(*columns).in_(sorted(blocks))


def refresh_totals(session: Session, blocks: set[Block] | None = None) -> None:
    """Recompute the summary for these (country, fiscal year) pairs; all of it when None."""
    if blocks is not None and not blocks:
        return
    table = ObligationTotal.__table__  # type: ignore[attr-defined]
    session.execute(delete(table).where(_in_blocks((table.c.country_code, table.c.fiscal_year), blocks)))
    columns = [getattr(Obligation, k) for k in _KEYS]
    source = (select(*columns, func.count(), func.sum(Obligation.amount))
              .where(Obligation.current == True)  # noqa: E712
              .where(_in_blocks((Obligation.country_code, Obligation.fiscal_year), blocks))
              .group_by(*columns))
    session.execute(insert(table).from_select([*_KEYS, "records", "amount"], source))


def blocks_of(records: list[Any]) -> set[Block]:
    """The country-years of some obligations (or dicts with country_code and fiscal_year)."""
    found = set()
    for record in records:
        if isinstance(record, dict):
            found.add((record["country_code"], record["fiscal_year"]))
        else:
            found.add((record.country_code, record.fiscal_year))
    return found
