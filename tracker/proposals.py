"""The proposal check: before money moves, what the tracker already knows about a proposed grant
(funding for the same country, implementer and purpose across agencies, the embassy's awareness,
open flags there, and the program ceiling left)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from tracker.implementers import ImplementerResolver
from tracker.models import Agency, EmbassyReportRow, Flag, Obligation, Office, Program
from tracker.reconcile import DUPLICATE_TITLE_MIN, covered_blocks
from tracker.similarity import implementer_similarity, title_similarity

#: Existing funding is shown when its purpose is at least this alike (or the implementer is the same).
RELATED_TITLE_MIN = 0.35


@dataclass
class Proposal:
    """A grant someone proposes to make."""

    office_id: int
    country_code: str
    implementer: str
    purpose: str
    amount: Decimal
    fiscal_year: int
    program_id: int | None = None


def check_proposal(session: Session, proposal: Proposal) -> dict[str, Any]:
    """Everything a SPOG reviewer wants to see before the money moves."""
    resolved = ImplementerResolver(session).resolve(proposal.implementer) if proposal.implementer else None
    rows = session.execute(
        select(Obligation, Agency.code, Office.code)
        .join(Office, Office.id == Obligation.office_id).join(Agency, Agency.id == Office.agency_id)
        .where(Obligation.country_code == proposal.country_code, Obligation.current == True,  # noqa: E712
               Obligation.fiscal_year.between(proposal.fiscal_year - 2, proposal.fiscal_year + 1))
        .order_by(Obligation.fiscal_year.desc())).all()
    related = []
    for obligation, agency, office in rows:
        same_implementer, how = implementer_similarity(resolved.implementer_id if resolved else None,
                                                       resolved.name if resolved else None,
                                                       obligation.implementer_id, obligation.implementer_name)
        alike = title_similarity(proposal.purpose, obligation.title)
        if alike >= RELATED_TITLE_MIN or same_implementer >= 0.9:
            related.append({"obligation": obligation, "funder": f"{agency}/{office}", "title_score": alike,
                            "implementer_score": same_implementer, "how": how,
                            "likely_duplicate": alike >= DUPLICATE_TITLE_MIN and same_implementer >= 0.9
                            and obligation.fiscal_year == proposal.fiscal_year})
    related.sort(key=lambda r: (-r["likely_duplicate"], -r["title_score"]))
    reports = session.execute(
        select(EmbassyReportRow).where(EmbassyReportRow.country_code == proposal.country_code,
                                       EmbassyReportRow.current == True,  # noqa: E712
                                       EmbassyReportRow.fiscal_year.between(proposal.fiscal_year - 2, proposal.fiscal_year))
    ).scalars().all()
    known_to_post = [r for r in reports if title_similarity(proposal.purpose, r.title) >= RELATED_TITLE_MIN]
    covered = sorted(y for c, y in covered_blocks(session) if c == proposal.country_code)
    open_flags = session.execute(select(Flag).where(
        Flag.country_code == proposal.country_code, Flag.active == True, Flag.status == "open",  # noqa: E712
        Flag.fiscal_year.between(proposal.fiscal_year - 1, proposal.fiscal_year))).scalars().all()
    ceiling = None
    if proposal.program_id:
        program = session.get(Program, proposal.program_id)
        used = session.execute(select(func.coalesce(func.sum(Obligation.amount), 0)).where(
            Obligation.program_id == proposal.program_id, Obligation.current == True,  # noqa: E712
            Obligation.status.in_(("obligated", "de-obligated")))).scalar_one()
        if program and program.ceiling is not None:
            used = Decimal(used)
            ceiling = {"program": program, "ceiling": program.ceiling, "used": used, "left": program.ceiling - used,
                       "after": program.ceiling - used - proposal.amount}
    return {"implementer": resolved, "related": related, "known_to_post": known_to_post, "covered_years": covered,
            "open_flags": open_flags, "ceiling": ceiling}
