"""Flags: questions for reviewers, stored with their records, evidence and decisions.

A flag is identified by its type and the records it involves (its fingerprint), so a
reviewer's decision and comment stay with it when flags are recomputed; a decided flag goes
back to open only when its evidence changes. A flag whose condition no longer holds (the data
changed) is set inactive, never deleted, and comes back with its history if the condition
returns.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, select, tuple_, update
from sqlmodel import Session

from tracker.audit import record_event
from tracker.db import begin_write
from tracker.models import (
    DECISIONS,
    FLAG_STATUSES,
    FLAG_TYPES,
    GAO_CLASSES,
    EmbassyReportRow,
    Flag,
    FlagDecision,
    FlagRecord,
    Obligation,
    Submission,
    User,
    utcnow,
)
from tracker.reconcile import Block, FlagSpec, ReconcileReport

#: Flag types found block by block (country and fiscal year); ceilings are found per program.
BLOCK_TYPES = tuple(t for t in FLAG_TYPES if t != "ceiling_exceeded")


class FlagError(ValueError):
    """A request about a flag that cannot be done; the message says why."""


class StaleFlag(FlagError):
    """The flag changed since the reviewer looked at it (another decision, or new evidence)."""


_STATE = (Flag.id, Flag.fingerprint, Flag.evidence_hash, Flag.records_hash, Flag.status, Flag.active, Flag.version)


def _existing(session: Session, blocks: set[Block] | None) -> dict[str, Any]:
    """Stored flags' state (not their evidence) in these country-years (None: the ceiling flags)."""
    if blocks is None:
        query = select(*_STATE).where(Flag.type == "ceiling_exceeded")
    elif not blocks:
        return {}
    else:
        query = select(*_STATE).where(tuple_(Flag.country_code, Flag.fiscal_year).in_(sorted(blocks)),
                                      Flag.type != "ceiling_exceeded")
    return {row.fingerprint: row for row in session.execute(query)}


def close_flags_outside(session: Session, visited: set[Block], blocks: set[Block] | None,
                        report: ReconcileReport) -> None:
    """Close open questions about country-years that no longer hold any record (a file superseded
    or withdrawn), within the country-years recomputed (all, when None)."""
    if blocks is None:
        held = session.execute(select(Flag.country_code, Flag.fiscal_year).where(
            Flag.active == True, Flag.type != "ceiling_exceeded").distinct())  # noqa: E712
        leftover = {(c, y) for c, y in held} - visited
    else:
        leftover = blocks - visited
    if not leftover:
        return
    done = session.execute(update(Flag).where(
        tuple_(Flag.country_code, Flag.fiscal_year).in_(sorted(leftover)), Flag.active == True,  # noqa: E712
        Flag.type != "ceiling_exceeded").values(active=False, updated_at=utcnow(), version=Flag.version + 1))
    report.closed += done.rowcount


def sync_flags(session: Session, specs: list[FlagSpec], blocks: set[Block] | None, report: ReconcileReport,
               *, actor: str = "system") -> None:
    """Bring stored flags in line with what reconcile found in these country-years (None: the
    program-wide ceiling flags). Works on flags' state only, in bulk, so memory stays flat."""
    existing = _existing(session, blocks)
    now = utcnow()
    new: list[FlagSpec] = []
    relink: list[tuple[int, FlagSpec]] = []
    changes: list[dict[str, Any]] = []
    wanted = set()
    for spec in specs:
        fingerprint = spec.fingerprint
        wanted.add(fingerprint)
        row = existing.get(fingerprint)
        if row is None:
            new.append(spec)
            continue
        if row.records_hash != spec.records_hash:
            relink.append((row.id, spec))
        changed = row.evidence_hash != spec.evidence_hash
        if changed or not row.active:
            reopen = changed and row.status == "decided"
            report.reopened += reopen
            changes.append({"b_id": row.id, "status": "open" if reopen else row.status, "evidence": spec.evidence,
                            "evidence_hash": spec.evidence_hash, "explanation": spec.explanation, "active": True,
                            "updated_at": now, "version": row.version + 1})
    closing = [{"b_id": row.id, "version": row.version + 1} for fingerprint, row in existing.items()
               if row.active and fingerprint not in wanted]
    report.closed += len(closing)
    table = Flag.__table__  # type: ignore[attr-defined]  (Core: many rows, one statement each)
    if changes:
        session.execute(update(table).where(table.c.id == bindparam("b_id")).values(
            status=bindparam("status"), evidence=bindparam("evidence"), evidence_hash=bindparam("evidence_hash"),
            explanation=bindparam("explanation"), active=bindparam("active"), updated_at=bindparam("updated_at"),
            version=bindparam("version")), changes)
    if closing:
        session.execute(update(table).where(table.c.id == bindparam("b_id")).values(
            active=False, updated_at=now, version=bindparam("version")), closing)
    _relink(session, relink)
    _insert(session, new, now)
    report.opened += len(new)


def _links(flag_id: int, spec: FlagSpec) -> list[dict[str, Any]]:
    return [{"flag_id": flag_id, "obligation_id": ident if kind == "obligation" else None,
             "embassy_row_id": ident if kind == "embassy_row" else None} for kind, ident in spec.records]


def _relink(session: Session, relink: list[tuple[int, FlagSpec]]) -> None:
    """The same question about rows of a re-uploaded file: point the flag at the new rows."""
    if not relink:
        return
    ids = [flag_id for flag_id, _ in relink]
    for start in range(0, len(ids), 5000):
        session.execute(delete(FlagRecord).where(FlagRecord.flag_id.in_(ids[start:start + 5000])))  # type: ignore[attr-defined]
    table = Flag.__table__  # type: ignore[attr-defined]
    session.execute(update(table).where(table.c.id == bindparam("b_id")).values(records_hash=bindparam("records_hash")),
                    [{"b_id": flag_id, "records_hash": spec.records_hash} for flag_id, spec in relink])
    links = [link for flag_id, spec in relink for link in _links(flag_id, spec)]
    if links:
        session.execute(FlagRecord.__table__.insert(), links)  # type: ignore[attr-defined]


def _insert(session: Session, specs: list[FlagSpec], now: Any) -> None:
    for start in range(0, len(specs), 5000):
        batch = specs[start:start + 5000]
        ids = session.execute(Flag.__table__.insert().returning(Flag.id, Flag.fingerprint), [  # type: ignore[attr-defined]
            {"type": s.type, "status": "open", "fingerprint": s.fingerprint, "active": True, "country_code": s.country,
             "fiscal_year": s.fiscal_year, "program_id": s.program_id, "explanation": s.explanation,
             "evidence": s.evidence, "evidence_hash": s.evidence_hash, "records_hash": s.records_hash,
             "created_at": now, "updated_at": now, "version": 1} for s in batch]).all()
        by_fingerprint = {fingerprint: ident for ident, fingerprint in ids}
        links = [link for s in batch for link in _links(by_fingerprint[s.fingerprint], s)]
        if links:
            session.execute(FlagRecord.__table__.insert(), links)  # type: ignore[attr-defined]


# --- deciding -----------------------------------------------------------------------------


def decide_flag(session: Session, flag_id: int, *, decision: str, comment: str, by: User | None = None,
                actor: str = "cli", gao_class: str | None = None, effect: str | None = None,
                expected_version: int | None = None) -> Flag:
    """Record a reviewer's decision on a flag (kept with it across recomputes) and audit it.

    :param expected_version: the version the reviewer saw; if the flag changed since, StaleFlag
        is raised instead of silently overwriting another reviewer's decision
    :raises StaleFlag: the flag changed since (naming who decided it, and when); nothing saved
    """
    if decision not in DECISIONS:
        raise FlagError(f"unknown decision {decision!r}; choose one of {', '.join(DECISIONS)}")
    if gao_class is not None and gao_class not in GAO_CLASSES:
        raise FlagError(f"unknown GAO classification {gao_class!r}; choose one of {', '.join(GAO_CLASSES)}")
    if not comment or not comment.strip():
        raise FlagError("a decision needs a comment saying why")
    begin_write(session)  # SQLite: read and update in one write transaction (see begin_write)
    flag = session.get(Flag, flag_id)
    if flag is None:
        raise FlagError(f"there is no flag {flag_id}")
    before = {"status": flag.status, "decision": flag.decision, "comment": flag.comment, "version": flag.version}
    version = flag.version if expected_version is None else expected_version
    now = utcnow()
    values = {"status": "decided", "decision": decision, "comment": comment.strip(), "gao_class": gao_class,
              "effect": effect, "decided_by_id": by.id if by else None, "decided_at": now, "updated_at": now,
              "version": version + 1}
    # Compare-and-set on the version: of two reviewers deciding at once, the second is told.
    done = session.execute(update(Flag).where(Flag.id == flag_id, Flag.version == version).values(**values))
    if done.rowcount != 1:
        raise StaleFlag(_what_changed(session, flag_id))
    session.add(FlagDecision(flag_id=flag_id, decision=decision, gao_class=gao_class, effect=effect,
                             comment=comment.strip(), decided_by_id=by.id if by else None, decided_at=now))
    record_event(session, action="flag.decide", actor=by.username if by else actor, user_id=by.id if by else None,
                 entity_type="flag", entity_id=flag_id, summary=f"{decision} on flag {flag_id} ({flag.type})",
                 before=before, after={k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in values.items()})
    session.expire(flag)
    return flag


def _what_changed(session: Session, flag_id: int) -> str:
    """Why a decision was refused: who decided the flag meanwhile, and when (or its new evidence)."""
    now = session.execute(select(Flag.status, Flag.decision, Flag.decided_by_id, Flag.decided_at, Flag.updated_at)
                          .where(Flag.id == flag_id)).one()
    if now.status == "decided" and now.decided_at is not None:
        who = session.execute(select(User.username).where(User.id == now.decided_by_id)).scalar_one_or_none() \
            if now.decided_by_id else None
        what = (f"{who or 'someone at the command line'} decided it meanwhile "
                f"({(now.decision or '').replace('_', ' ')}, {now.decided_at:%Y-%m-%d %H:%M} UTC)")
    else:
        what = f"its evidence was recomputed meanwhile ({now.updated_at:%Y-%m-%d %H:%M} UTC) and it is {now.status}"
    return (f"flag {flag_id} changed since you opened it: {what}. Your decision was not saved; "
            "look at the flag as it is now and decide again if you still disagree.")


# --- listing ------------------------------------------------------------------------------


@dataclass
class FlagFilters:
    """Which flags to list."""

    types: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    fiscal_years: tuple[int, ...] = ()
    include_inactive: bool = False


def list_flags(session: Session, filters: FlagFilters | None = None, *, after_id: int = 0,
               limit: int | None = None) -> list[dict[str, Any]]:
    """Flags with their records' provenance (file, sheet, row), in id order."""
    filters = filters or FlagFilters()
    for name, allowed, given in (("type", FLAG_TYPES, filters.types), ("status", FLAG_STATUSES, filters.statuses)):
        unknown = [g for g in given if g not in allowed]
        if unknown:
            raise FlagError(f"unknown {name} {', '.join(unknown)}; choose from {', '.join(allowed)}")
    query = select(Flag).where(Flag.id > after_id).order_by(Flag.id)
    if limit is not None:
        query = query.limit(limit)
    if not filters.include_inactive:
        query = query.where(Flag.active == True)  # noqa: E712
    if filters.types:
        query = query.where(Flag.type.in_(filters.types))  # type: ignore[attr-defined]
    if filters.statuses:
        query = query.where(Flag.status.in_(filters.statuses))  # type: ignore[attr-defined]
    if filters.countries:
        query = query.where(Flag.country_code.in_(filters.countries))  # type: ignore[union-attr]
    if filters.fiscal_years:
        query = query.where(Flag.fiscal_year.in_(filters.fiscal_years))  # type: ignore[union-attr]
    flags = list(session.scalars(query))
    records = _records_of(session, [f.id for f in flags])  # type: ignore[misc]
    return [{
        "id": f.id, "type": f.type, "status": f.status, "active": f.active, "country": f.country_code,
        "fiscal_year": f.fiscal_year, "explanation": f.explanation, "evidence": f.evidence,
        "decision": f.decision, "comment": f.comment, "gao_class": f.gao_class, "effect": f.effect,
        "decided_at": f.decided_at.isoformat() if f.decided_at else None, "version": f.version,
        "records": records.get(f.id, []),  # type: ignore[arg-type]
    } for f in flags]


def iter_flags(session: Session, filters: FlagFilters | None = None, *, chunk: int = 2000) -> Iterable[dict[str, Any]]:
    """Flags as list_flags gives them, read a chunk at a time (flat memory for exports)."""
    filters = filters or FlagFilters()
    last = 0
    while True:
        page = list_flags(session, filters, after_id=last, limit=chunk)
        yield from page
        if len(page) < chunk:
            return
        last = page[-1]["id"]


def _records_of(session: Session, flag_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {}
    ids = list(flag_ids)
    for start in range(0, len(ids), 10_000):
        chunk = ids[start:start + 10_000]
        for model, kind, column in ((Obligation, "obligation", FlagRecord.obligation_id),
                                    (EmbassyReportRow, "embassy_row", FlagRecord.embassy_row_id)):
            rows = session.execute(
                select(FlagRecord.flag_id, model.id, Submission.filename, model.source_sheet, model.source_row)
                .join(model, model.id == column)
                .outerjoin(Submission, Submission.id == model.submission_id)
                .where(FlagRecord.flag_id.in_(chunk)))  # type: ignore[attr-defined]
            for flag_id, ident, filename, sheet, row in rows:
                found.setdefault(flag_id, []).append(
                    {"file": filename, "sheet": sheet or "", "row": row, "kind": kind, "id": ident})
    for records in found.values():
        records.sort(key=lambda r: (r["kind"] != "obligation", r["file"] or "", r["sheet"], r["row"] or 0))
    return found


def flag_history(session: Session, flag_id: int) -> list[FlagDecision]:
    """Every decision taken on a flag, oldest first."""
    return list(session.scalars(select(FlagDecision).where(FlagDecision.flag_id == flag_id).order_by(FlagDecision.id)))


@dataclass
class QueueQuery:
    """The review queue's filters, sort and page."""

    types: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ("open",)
    fiscal_years: tuple[int, ...] = ()
    countries: tuple[str, ...] = ()
    agencies: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()
    page: int = 1
    per_page: int = 50


def review_queue(session: Session, q: QueueQuery, allowed: frozenset[str] | None) -> tuple[list[Flag], int]:
    """Active flags for the queue, newest first, with the total count."""
    from sqlalchemy import exists, func

    from tracker.models import Agency, Office, Program

    query = select(Flag).where(Flag.active == True)  # noqa: E712
    if allowed is not None:
        query = query.where(Flag.country_code.in_(sorted(allowed)))  # type: ignore[union-attr]
    if q.types:
        query = query.where(Flag.type.in_(q.types))  # type: ignore[attr-defined]
    if q.statuses:
        query = query.where(Flag.status.in_(q.statuses))  # type: ignore[attr-defined]
    if q.fiscal_years:
        query = query.where(Flag.fiscal_year.in_(q.fiscal_years))  # type: ignore[union-attr]
    if q.countries:
        query = query.where(Flag.country_code.in_(q.countries))  # type: ignore[union-attr]
    if q.agencies:
        by_obligation = exists().where(FlagRecord.flag_id == Flag.id, FlagRecord.obligation_id == Obligation.id,
                                       Obligation.office_id == Office.id, Office.agency_id == Agency.id,
                                       Agency.code.in_(q.agencies))
        by_row = exists().where(FlagRecord.flag_id == Flag.id, FlagRecord.embassy_row_id == EmbassyReportRow.id,
                                EmbassyReportRow.agency_id == Agency.id, Agency.code.in_(q.agencies))
        query = query.where(by_obligation | by_row)
    if q.programs:
        query = query.where(exists().where(FlagRecord.flag_id == Flag.id, FlagRecord.obligation_id == Obligation.id,
                                           Obligation.program_id == Program.id, Program.code.in_(q.programs))
                            | Flag.program_id.in_(select(Program.id).where(Program.code.in_(q.programs))))  # type: ignore[union-attr]
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    flags = list(session.scalars(query.order_by(Flag.id.desc()).offset((q.page - 1) * q.per_page).limit(q.per_page)))  # type: ignore[union-attr]
    return flags, total


def flag_records(session: Session, flag_id: int) -> list[dict[str, Any]]:
    """The records a flag involves, with everything a reviewer compares side by side."""
    from tracker.models import Agency, Office

    found = []
    for link in session.scalars(select(FlagRecord).where(FlagRecord.flag_id == flag_id)):
        model = Obligation if link.obligation_id else EmbassyReportRow
        record = session.get(model, link.obligation_id or link.embassy_row_id)
        submission = session.get(Submission, record.submission_id) if record.submission_id else None
        uploader = session.get(User, submission.uploaded_by_id) if submission and submission.uploaded_by_id else None
        office = session.get(Office, record.office_id) if record.office_id else None
        agency = session.get(Agency, office.agency_id if office else getattr(record, "agency_id", None) or 0)
        found.append({
            "kind": "obligation" if link.obligation_id else "embassy_row", "record": record,
            "funder": f"{agency.code if agency else '?'}" + (f"/{office.code}" if office and office.code != "NOT-STATED" else ""),
            "file": submission.filename if submission else None, "sheet": record.source_sheet, "row": record.source_row,
            "uploader": uploader.username if uploader else None,
            "uploaded_at": submission.uploaded_at if submission else None,
        })
    found.sort(key=lambda r: (r["kind"] != "obligation", r["record"].id))
    return found
