"""The import pipeline: sniff, read, find the table, normalise, store, in one transaction.

``import_file`` adds and flushes; it never commits. ``import_and_commit`` is what the command line
and the web call: it commits a clean file, rolls back anything else (a dry run, a rejected
file), and audits the outcome. A file commits whole or not at all, with the summary totals and
flags it changes (one database transaction, so a killed process leaves nothing half-written),
one import at a time (files uploaded together queue); the same bytes again are "already-imported";
a later file from the same source that covers every fiscal year of an earlier one supersedes it.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from tracker.audit import record_event
from tracker.countries import CountryResolver
from tracker.db import DatabaseBusy, begin_write, lock_imports
from tracker.fiscal import FY_MAX, FY_MIN
from tracker.importing.calamine import open_calamine
from tracker.importing.cells import RawRow, RejectedFile, SheetData, Workbook
from tracker.importing.csvfile import open_csv
from tracker.importing.layout import (
    Layout,
    describe_expected,
    find_layout,
    is_repeated_header,
    is_total_row,
    non_blank,
    sheet_fiscal_year,
)
from tracker.importing.normalize import ImportContext, RowNormalizer
from tracker.importing.results import ImportResult, Issue, Skipped
from tracker.importing.sniff import sniff
from tracker.importing.xlsx import open_xlsx
from tracker.lookups import NameLookupError
from tracker.models import (
    Agency,
    ColumnMapping,
    EmbassyReportRow,
    Implementer,
    ImplementerAlias,
    Obligation,
    Office,
    Submission,
    SubmissionYear,
    utcnow,
)
from tracker.offices import OfficeResolver, ResolvedOffice
from tracker.textnorm import normalize_key

#: Records are written in batches of this many rows.
BATCH_ROWS = 2000
Progress = Callable[[int, int | None], None]


@dataclass
class ImportRequest:
    """What the uploader asks: the file, what it is, and for whom it speaks."""

    path: str
    filename: str
    source: str  # "agency" or "embassy"
    agency: str | None = None  # --agency CODE[/OFFICE]
    country: str | None = None  # --country ISO3 or name
    fiscal_years: list[int] | None = None  # --fiscal-years
    dry_run: bool = False
    skip_invalid: bool = False
    allowed_countries: list[str] | None = None  # web: the embassy officer's countries
    own_agency_only: bool = False  # web: agency staff; a row naming another agency is an error
    uploaded_by_id: int | None = None
    actor: str = "cli"
    fy_min: int = FY_MIN
    fy_max: int = FY_MAX
    progress: Progress | None = None
    reconcile: bool = True  # recompute flags for the country-years the file touches, once committed


@dataclass
class _Run:
    """State of one import while it runs."""

    request: ImportRequest
    result: ImportResult
    context: ImportContext
    normalizer: RowNormalizer | None = None
    submission: Submission | None = None
    batch: list[dict[str, Any]] = field(default_factory=list)
    years: set[int] = field(default_factory=set)
    data_sheets: int = 0
    header_found: bool = False
    rows_done: int = 0
    new_implementers: dict[str, int] = field(default_factory=dict)
    mappings: dict[str, str] = field(default_factory=dict)
    carries_ids: bool = False  # the file has the tracker's own record IDs (an exported workbook)
    updates: list[dict[str, Any]] = field(default_factory=list)
    changed_blocks: set[tuple[str, int]] = field(default_factory=set)  # of records updated by their IDs
    diff_rows: list[dict[str, Any]] = field(default_factory=list)  # an embassy template's rows, for the diff


def file_issue(message: str, sheet: str = "") -> Issue:
    """An issue about the file or a sheet as a whole (no row or column)."""
    return Issue(sheet=sheet, row=0, column="", header="", value="", message=message)


def _file_name(request: ImportRequest) -> str:
    return os.path.basename(request.filename.replace("\\", "/")) or "(unnamed)"


# --- test hooks (tests/test_crash_safety.py); inert unless their environment variables are set ---

#: A file the pipeline appends its steps to: "begin" (the import's transaction has started and
#: holds the import lock), "rows N" (N records written so far, uncommitted), "commit" (about to
#: commit), "committed". Lets a test that kills the process say where the kill landed.
TEST_TRACE_ENV = "TRACKER_TEST_TRACE"
#: Once this many records (or more) are written inside the transaction, the process writes
#: "kill N" to the trace and SIGKILLs itself: a crash in the middle of writing, on demand.
TEST_KILL_ENV = "TRACKER_TEST_KILL_AFTER_ROWS"
#: A step of the trace ("commit": everything written, flags recomputed, not yet committed) at
#: which the process writes "kill" to the trace and SIGKILLs itself.
TEST_KILL_AT_ENV = "TRACKER_TEST_KILL_AT"


def _test_trace(step: str) -> None:
    """Note a step in the test trace, and die there if the test asked for it."""
    _test_note(step)
    if os.environ.get(TEST_KILL_AT_ENV) == step:
        _test_die("kill")


def _test_written(records: int) -> None:
    """Called after each batch is written: trace it, and die here if the test asked for it."""
    _test_note(f"rows {records}")
    kill_after = os.environ.get(TEST_KILL_ENV)
    if kill_after and records >= int(kill_after):
        _test_die(f"kill {records}")


def _test_note(step: str) -> None:
    path = os.environ.get(TEST_TRACE_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as trace:
            trace.write(step + "\n")


def _test_die(step: str) -> None:
    _test_note(step)
    os.kill(os.getpid(), signal.SIGKILL)  # as `kill -9` would: no clean-up, no rollback


def sha256_of(path: str) -> str:
    """The file's SHA-256, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# --- entry points ---------------------------------------------------------------------------


def import_and_commit(session: Session, request: ImportRequest) -> ImportResult:
    """Import one file and commit it if it is clean; roll back otherwise; audit either way.

    One import at a time (lock_imports: SQLite's write lock, PostgreSQL's advisory lock), so
    files uploaded at the same moment queue instead of interleaving; the records, the summary
    totals and the recomputed flags commit together, so a process killed at any moment leaves
    the database as it was before the file or as it is after it, never in between.
    """
    try:
        lock_imports(session)
        _test_trace("begin")
        try:
            result = import_file(session, request)
        except IntegrityError:
            # A writer outside the import lock committed a row this file also adds (a unique
            # name or sha256) first: run again, seeing it.
            session.rollback()
            lock_imports(session)
            result = import_file(session, request)
        if result.status == "committed":
            if request.reconcile:
                _reconcile_touched(session, result, request.actor)
            _test_trace("commit")
            session.commit()
            _test_trace("committed")
            return result
        session.rollback()
        if result.status == "rejected":
            try:
                begin_write(session)
                _audit_rejected(session, request, result)
                session.commit()
            except DatabaseBusy:  # the file's own errors matter more than the busy database
                result.notes.append("this rejection is not in the audit log: the database was busy")
    except DatabaseBusy as exc:
        session.rollback()
        result = ImportResult(file=_file_name(request))
        result.error(file_issue(str(exc)))
    return result


def _audit_rejected(session: Session, request: ImportRequest, result: ImportResult) -> None:
    record_event(session, action="import.rejected", actor=request.actor, user_id=request.uploaded_by_id,
                 entity_type="file", entity_id=result.file[:40],
                 summary=f"rejected {result.file}: {result.error_count} blocking errors",
                 after={"file": result.file, "source": request.source, "country": request.country,
                        "agency": request.agency, "errors": [e.as_dict() for e in result.errors[:20]]})


def _reconcile_touched(session: Session, result: ImportResult, actor: str) -> None:
    """Recompute matches and flags for the country-years this file (and what it superseded)
    touched, in the import's transaction (the caller commits)."""
    from tracker.reconcile import blocks_of_submission, reconcile

    blocks: set[tuple[str, int]] = set()
    for submission_id in [result.submission_id, *result.superseded]:
        if submission_id is not None:
            blocks |= blocks_of_submission(session, submission_id)
    if not blocks and result.updated:
        blocks = None  # type: ignore[assignment]  # records changed by ID: recompute everything
    if blocks is None or blocks:
        report = reconcile(session, blocks, actor=actor)
        result.notes.append(f"flags recomputed for {report.blocks} country-years: {report.opened} new, "
                            f"{report.reopened} reopened, {report.closed} closed")


def import_file(session: Session, request: ImportRequest) -> ImportResult:
    """Run the pipeline for one file in the session's transaction (not committed here)."""
    result = ImportResult(file=_file_name(request))
    try:
        kind = sniff(request.path, request.filename)
        sha = sha256_of(request.path)
        earlier = session.exec(select(Submission).where(Submission.sha256 == sha)).first()
        if earlier is not None:
            result.status = "already-imported"
            result.submission_id = earlier.id
            result.notes.append(f"the same file (sha256 {sha[:12]}...) was imported before as submission "
                                f"{earlier.id} ({earlier.filename}, {earlier.uploaded_at:%Y-%m-%d %H:%M} UTC); "
                                "nothing new stored")
            return result
        run = _Run(request=request, result=result, context=_context(session, request))
        run.context.text_only = kind.kind == "csv"
        run.normalizer = RowNormalizer(session, run.context)
        with _open(request.path, kind.kind, kind.has_macros) as workbook:
            result.warnings.extend(file_issue(note) for note in workbook.notes)
            _read_workbook(session, run, workbook, sha)
    except RejectedFile as exc:
        result.error(file_issue(str(exc)))
        result.status = "rejected"
        return result
    _finish(session, run)
    return result


def _open(path: str, kind: str, has_macros: bool) -> AbstractContextManager[Workbook]:
    if kind in ("xlsx", "xlsm"):
        return open_xlsx(path, kind=kind, has_macros=has_macros)
    if kind == "csv":
        return open_csv(path)
    return open_calamine(path, kind=kind)


def _context(session: Session, request: ImportRequest) -> ImportContext:
    """The file's context from the request; a bad --agency or --country rejects the file."""
    if request.source not in ("agency", "embassy"):
        raise RejectedFile(f"unknown source {request.source!r}: agency or embassy")
    default_office: ResolvedOffice | None = None
    country: str | None = None
    try:
        if request.agency:
            default_office = OfficeResolver(session).resolve(request.agency)
        if request.country:
            country = CountryResolver.load(session).resolve(request.country)
    except NameLookupError as exc:
        raise RejectedFile(f"the file's stated {'agency' if request.agency and not country else 'country'}: {exc}") from exc
    if request.source == "embassy" and country and request.allowed_countries is not None \
            and country not in request.allowed_countries:
        raise RejectedFile(f"you report for {', '.join(request.allowed_countries)}, not {country}")
    return ImportContext(source=request.source, default_office=default_office, country=country,
                         coverage=request.fiscal_years, fy_min=request.fy_min, fy_max=request.fy_max,
                         own_agency_only=request.own_agency_only)


# --- reading --------------------------------------------------------------------------------


def _tracker_export(workbook: Workbook) -> bool:
    """A workbook the tracker exported: its About sheet starts with the export mark."""
    from tracker.exporting import EXPORT_MARK

    names = {s.name for s in workbook.sheets}
    if not {"Obligations", "About"} <= names or workbook.kind not in ("xlsx", "xlsm"):
        return False
    about = next(s for s in workbook.sheets if s.name == "About")
    first = next(iter(about.rows), None)
    return bool(first and first[1] and first[1][0] is not None and first[1][0].value == EXPORT_MARK)


def _read_workbook(session: Session, run: _Run, workbook: Workbook, sha: str) -> None:
    result = run.result
    if _tracker_export(workbook):
        result.notes.append("a workbook exported by the tracker: only its Obligations sheet is read")
        workbook.sheets = [s for s in workbook.sheets if s.name == "Obligations"]
    hidden = [s.name for s in workbook.sheets if s.state != "visible"]
    if hidden:
        names = ", ".join(f"'{n}'" for n in hidden)
        result.warnings.append(file_issue(f"hidden sheet(s) {names} were not read; unhide them and upload again "
                                          "if they hold rows that belong in this report"))
    for sheet in workbook.sheets:
        if sheet.state == "visible":
            _read_sheet(session, run, sheet, sha)


def _read_sheet(session: Session, run: _Run, sheet: SheetData, sha: str) -> None:
    result = run.result
    head: list[RawRow] = []
    rows = iter(sheet.rows)
    for row in rows:
        head.append(row)
        if len(head) >= 30:
            break
    if not head:
        return
    remembered = _remembered(session, run)
    layout = find_layout(head, remembered)
    if layout is None:
        result.notes.append(f"sheet '{sheet.name}' has no table of programs (no header row found); not read"
                            if sheet.name else "no header row found")
        return
    run.header_found = True
    sheet_fy = sheet_fiscal_year(sheet.name) if sheet.name else None
    if not _check_columns(run, sheet.name, layout, sheet_fy):
        return
    run.data_sheets += 1
    run.carries_ids = run.carries_ids or "record_id" in layout.by_field()
    if sheet_fy is not None:
        run.years.add(sheet_fy)
    run.years.update(c.fiscal_year for c in layout.year_columns if c.fiscal_year)
    _describe_mapping(run, sheet.name, layout)
    last_header = max(layout.header_rows)
    title_rows = [r for r in head if r[0] < min(layout.header_rows)]
    if run.context.source == "embassy" and run.context.country is None:
        _infer_post(session, run, title_rows)
    data = (r for r in _chain(head, rows) if r[0] > last_header)
    for number, cells in data:
        _read_row(session, run, sheet, layout, sheet_fy, number, cells, sha)
    _flush(session, run, sha)


def _chain(head: list[RawRow], rows: Iterator[RawRow]) -> Iterator[RawRow]:
    yield from head
    yield from rows


def _remembered(session: Session, run: _Run) -> dict[str, str]:
    scope = _scope_key(run)
    if scope not in run.mappings:
        found = session.exec(select(ColumnMapping).where(ColumnMapping.scope_key == scope)).all()
        run.mappings[scope] = {m.header_key: m.field_name for m in found}  # type: ignore[assignment]
    return run.mappings[scope]  # type: ignore[return-value]


def _check_columns(run: _Run, sheet: str, layout: Layout, sheet_fy: int | None) -> bool:
    """A sheet must have what its rows need; what it lacks is a blocking error naming the wordings."""
    fields = set(layout.by_field())
    missing = []
    source = run.context.source
    if not layout.year_columns and "amount" not in fields and source == "agency":
        missing.append("amount")
    if not fields & {"title", "implementer"}:
        missing.append("title")
    if not (layout.year_columns or "fiscal_year" in fields or sheet_fy or
            (run.context.coverage and len(run.context.coverage) == 1)):
        missing.append("fiscal_year")
    if source == "agency" and "country" not in fields and not run.context.country:
        missing.append("country")
    if source == "agency" and not fields & {"agency", "office", "agency_office"} and not run.context.default_office:
        missing.append("agency_office")
    if not missing:
        return True
    found = ", ".join(f'{c.letter} "{c.header}" ({c.field})' for c in layout.columns) or "none"
    run.result.error(file_issue(
        f"no column for {', '.join(m.replace('_', ' ') for m in missing)}. Columns read: {found}. "
        f"Expected headings such as {describe_expected(missing)}", sheet))
    return False


def _describe_mapping(run: _Run, sheet: str, layout: Layout) -> None:
    for column in layout.columns:
        run.result.mapping.append({"sheet": sheet, "column": column.letter, "header": column.header,
                                   "field": column.field, "confidence": column.confidence,
                                   "fiscal_year": column.fiscal_year, "thousands": column.thousands})
    if layout.unmapped:
        listed = ", ".join(f'{letter} "{header}"' for letter, header in layout.unmapped)
        run.result.notes.append(f"{'sheet ' + repr(sheet) + ': ' if sheet else ''}columns not read: {listed}")


def _infer_post(session: Session, run: _Run, title_rows: list[RawRow]) -> None:
    """An embassy file with no --country: the post's city (first) or country named in its title
    rows or its file name, said in a note (never silent)."""
    resolver = run.normalizer.countries  # type: ignore[union-attr]
    texts = [str(c.value) for _, cells in title_rows for c in cells if c is not None and isinstance(c.value, str)]
    texts.append(re.sub(r"[_\-.]+", " ", os.path.splitext(run.result.file)[0]))
    phrases = [(text, phrase) for text in texts for phrase in _phrases(text)]
    for lookup in (resolver.resolve_post, lambda p: _country_or_none(resolver, p)):
        for text, phrase in phrases:
            code = lookup(phrase)
            if code and len(code) == 3 and code != "USA":  # a U.S. embassy never reports on the U.S.
                run.context.country = code
                run.result.notes.append(f"the report is taken to speak for {resolver.name(code)} ({code}), "
                                        f"from \"{text.strip()[:80]}\"; give --country to say otherwise")
                return
    raise RejectedFile("which country does this embassy report speak for? Give the post's country (--country)")


def _phrases(text: str) -> Iterator[str]:
    """Runs of up to four words from each part of a title, longest first."""
    for part in re.split(r"[,;:()]| - ", text):
        words = normalize_key(part).split()
        for size in range(min(4, len(words)), 0, -1):
            for start in range(len(words) - size + 1):
                yield " ".join(words[start:start + size])


def _country_or_none(resolver: CountryResolver, phrase: str) -> str | None:
    if len(phrase) <= 3:  # "us", "dos": too short to be read as a country in free text
        return None
    try:
        return resolver.resolve(phrase)
    except NameLookupError:
        return None


def _read_row(session: Session, run: _Run, sheet: SheetData, layout: Layout, sheet_fy: int | None, number: int,
              cells: list[Any], sha: str) -> None:
    result = run.result
    filled = non_blank(cells)
    if not filled:
        return
    result.rows_read += 1
    amount_columns = [c.index for c in layout.columns if c.field in ("amount", "year_amount")]
    if is_total_row(cells, amount_columns):
        result.skipped.append(Skipped(sheet.name, number, "total or subtotal row"))
        return
    if is_repeated_header(cells, layout):
        result.skipped.append(Skipped(sheet.name, number, "the header row repeated"))
        return
    if _is_note(filled, layout):
        result.skipped.append(Skipped(sheet.name, number, f"a note, not a program: {str(filled[0][1].value)[:60]}"))
        return
    outcome = run.normalizer.normalize(sheet.name, number, cells, layout, sheet_fy)  # type: ignore[union-attr]
    for warning in outcome.warnings:
        result.warn(warning)
    if outcome.errors:
        for error in outcome.errors:
            result.error(error)
        if run.request.skip_invalid:
            result.skipped.append(Skipped(sheet.name, number, "; ".join(e.message for e in outcome.errors)[:300]))
        return
    for record in outcome.records:
        run.years.add(record["fiscal_year"])
        if run.context.source == "embassy":
            # A post's re-filled template: its IDs say what changed; the file is a new report.
            run.diff_rows.append({k: v for k, v in record.items() if k in _DIFF_FIELDS or k == "record_id"}
                                 | {"source_sheet": record.get("source_sheet"), "source_row": record["source_row"]})
            record.pop("record_id", None)
            run.batch.append(record)
        else:
            (run.updates if record.get("record_id") else run.batch).append(record)
    run.rows_done += 1
    if len(run.batch) + len(run.updates) >= BATCH_ROWS:
        _flush(session, run, sha)
    if run.request.progress and run.rows_done % 1000 == 0:
        run.request.progress(run.rows_done, sheet.size_hint)


def _is_note(filled: list[tuple[int, Any]], layout: Layout) -> bool:
    """One lone text cell outside the title and implementer columns: a note under the table."""
    if len(filled) != 1 or not isinstance(filled[0][1].value, str) or len(layout.columns) < 3:
        return False
    return not any(c.index == filled[0][0] and c.field in ("title", "implementer") for c in layout.columns)


# --- writing --------------------------------------------------------------------------------


def _scope_key(run: _Run) -> str:
    context = run.context
    if context.source == "embassy":
        return f"embassy:{context.country or '?'}"
    office = context.default_office
    return f"agency:{office.label if office else '?'}"


def _ensure_submission(session: Session, run: _Run, sha: str) -> Submission:
    if run.submission is None:
        request = run.request
        office = run.context.default_office
        run.submission = Submission(
            filename=run.result.file[:255], sha256=sha, size_bytes=os.path.getsize(request.path),
            source_kind=request.source, scope_key=_scope_key(run),
            agency_id=office.agency_id if office else None,
            office_id=office.office_id if office and office.stated else None,
            country_code=run.context.country if request.source == "embassy" else None,
            uploaded_by_id=request.uploaded_by_id, status="committed")
        session.add(run.submission)
        session.flush()
    return run.submission


def _flush(session: Session, run: _Run, sha: str) -> None:
    """Write the buffered records (skipped while the file has blocking errors and no --skip-invalid)."""
    if run.updates:
        _apply_updates(session, run)
    if not run.batch:
        return
    if run.result.error_count and not run.request.skip_invalid:
        run.result.records += len(run.batch)  # counted, never written: the file will be rejected
        run.batch = []
        return
    for record in run.batch:
        record.pop("record_id", None)
    submission = _ensure_submission(session, run, sha)
    for record in run.batch:
        record["submission_id"] = submission.id
        if record.get("implementer_id") is None and record.get("implementer_name"):
            record["implementer_id"] = _new_implementer(session, run, record["implementer_name"])
    model = Obligation if run.context.source == "agency" else EmbassyReportRow
    if model is Obligation:
        for record in run.batch:
            record["created_by_id"] = run.request.uploaded_by_id
    session.execute(insert(model), run.batch)
    run.result.records += len(run.batch)
    run.batch = []
    _test_written(run.result.records)


#: Fields a re-imported exported workbook may change on a record.
_UPDATABLE = {
    "agency": ("fiscal_year", "office_id", "country_code", "program_id", "implementer_id", "implementer_name",
               "title", "area", "award_number", "obligation_date", "amount", "status"),
    "embassy": ("fiscal_year", "country_code", "agency_id", "office_id", "implementer_id", "implementer_name",
                "title", "area", "amount", "start_date"),
}


def _apply_updates(session: Session, run: _Run) -> None:
    """Rows carrying the tracker's record IDs update those records (changed fields only, audited)."""
    model: Any = Obligation if run.context.source == "agency" else EmbassyReportRow
    blocked = bool(run.result.error_count) and not run.request.skip_invalid
    for record in run.updates:
        existing = session.get(model, record["record_id"])
        where = Issue(sheet=record.get("source_sheet") or "", row=record["source_row"], column="", header="",
                      value=str(record["record_id"]), message="")
        problem = _update_problem(run, existing, record)
        if problem:
            where.message = problem
            run.result.error(where)
            continue
        if record.get("implementer_id") is None and record.get("implementer_name") and not blocked:
            record["implementer_id"] = _new_implementer(session, run, record["implementer_name"])
        changes = {f: (getattr(existing, f), record.get(f)) for f in _UPDATABLE[run.context.source]
                   if f in record and record.get(f) != getattr(existing, f)}
        if existing.implementer_id is not None and record.get("implementer_id") == existing.implementer_id:
            changes.pop("implementer_name", None)  # the same implementer, written another way
        if not changes:
            continue
        run.result.updated += 1
        if blocked:
            continue
        run.changed_blocks |= {(existing.country_code, existing.fiscal_year),
                               (record.get("country_code", existing.country_code),
                                record.get("fiscal_year", existing.fiscal_year))}
        for name, (_before, after) in changes.items():
            setattr(existing, name, after)
        if hasattr(existing, "version"):
            existing.version += 1
            existing.updated_at = utcnow()
        session.add(existing)
        record_event(session, action=f"{model.__tablename__}.update", actor=run.request.actor,
                     user_id=run.request.uploaded_by_id, entity_type=model.__tablename__, entity_id=existing.id,
                     summary=f"updated from {run.result.file}, {record.get('source_sheet') or ''} row {record['source_row']}",
                     before={k: _jsonable(v[0]) for k, v in changes.items()},
                     after={k: _jsonable(v[1]) for k, v in changes.items()})
    run.updates = []


def _update_problem(run: _Run, existing: Any, record: dict[str, Any]) -> str | None:
    if existing is None:
        return f"there is no record {record['record_id']} to update; clear the ID to add the row as a new record"
    if not existing.current:
        return f"record {existing.id} belongs to a superseded file and can no longer be changed"
    if run.context.source == "embassy" and existing.country_code != run.context.country:
        return f"record {existing.id} belongs to another country's report"
    return None


def _jsonable(value: Any) -> Any:
    from datetime import date
    from decimal import Decimal

    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _new_implementer(session: Session, run: _Run, name: str) -> int:
    """An implementer first seen in this file: created once, with its name as an alias."""
    key = normalize_key(name)
    if key not in run.new_implementers:
        existing = session.exec(select(Implementer).where(Implementer.name == name[:300])).first()
        implementer = existing or Implementer(name=name[:300])
        if existing is None:
            session.add(implementer)
            session.flush()
            session.add(ImplementerAlias(alias=name[:300], key=key[:300], implementer_id=implementer.id))
        run.new_implementers[key] = implementer.id  # type: ignore[assignment]
        run.normalizer.implementers.learn(key, implementer.id, implementer.name)  # type: ignore[union-attr,arg-type]
    return run.new_implementers[key]


def _finish(session: Session, run: _Run) -> None:
    result = run.result
    result.fiscal_years = sorted(run.request.fiscal_years or run.years)
    if not run.header_found and not result.errors:
        result.error(file_issue("no data found: no sheet has a header row naming columns such as "
                                "Fiscal Year, Agency, Office, Country, Implementing Partner, Project Title, Amount"))
    elif not result.rows_read and not result.errors:
        result.error(file_issue("the file has headers but no data rows"))
    if result.error_count and not run.request.skip_invalid:
        result.status = "rejected"
        result.records = 0
        result.updated = 0
        result.notes.append("nothing was stored: fix the errors and upload again "
                            "(or import with --skip-invalid to store the valid rows)")
        return
    if not result.records and run.carries_ids:
        _refresh_summary(session, run, [])
        result.notes.append(f"{result.updated} records updated from the tracker's record IDs; no new records"
                            if result.updated else "the exported workbook matches the records: nothing changed")
        record_event(session, action="import", actor=run.request.actor, user_id=run.request.uploaded_by_id,
                     entity_type="file", entity_id=result.file[:40],
                     summary=f"imported {result.file}: {result.updated} records updated by their IDs",
                     after={"file": result.file, "updated": result.updated, "source": run.context.source})
        result.status = "dry-run" if run.request.dry_run else "committed"
        return
    if not result.records:
        result.status = "rejected"
        if not result.errors:
            result.error(file_issue("no valid rows to store"))
        return
    submission = run.submission
    assert submission is not None
    submission.rows_read = result.rows_read
    submission.records = result.records
    submission.notes = {"warnings": len(result.warnings) + result.more_warnings, "skipped": len(result.skipped)}
    for year in result.fiscal_years:
        session.add(SubmissionYear(submission_id=submission.id, fiscal_year=year))  # type: ignore[arg-type]
    result.submission_id = submission.id
    _report_copies(session, run, submission)
    if run.carries_ids and run.context.source == "embassy":
        result.changes = _template_changes(session, run)
    if run.carries_ids and run.context.source == "agency":
        result.notes.append("rows carrying the tracker's record IDs updated those records; this file supersedes nothing")
    else:
        _supersede(session, run, submission)
    _refresh_summary(session, run, [submission.id, *result.superseded])
    _remember_mapping(session, run)
    record_event(session, action="import", actor=run.request.actor, user_id=run.request.uploaded_by_id,
                 entity_type="submission", entity_id=submission.id,
                 summary=f"imported {result.file}: {result.records} records ({run.context.source})",
                 after={"file": result.file, "sha256": submission.sha256, "source": run.context.source,
                        "scope": submission.scope_key, "country": submission.country_code,
                        "records": result.records, "fiscal_years": result.fiscal_years,
                        "superseded": result.superseded})
    session.flush()
    result.status = "dry-run" if run.request.dry_run else "committed"


#: The fields that make two records exact copies of each other (provenance aside).
_COPY_FIELDS = {
    "agency": ("fiscal_year", "office_id", "office_text", "country_code", "program_id", "implementer_id",
               "implementer_name", "title", "area", "award_number", "obligation_date", "amount", "status"),
    "embassy": ("fiscal_year", "country_code", "agency_id", "office_id", "agency_text", "implementer_id",
                "implementer_name", "title", "area", "amount", "start_date"),
}


def _report_copies(session: Session, run: _Run, submission: Submission) -> None:
    """Rows of this file that repeat an earlier row exactly: warned (both kept). Found in SQL, so
    memory does not grow with the file."""
    model: Any = Obligation if run.context.source == "agency" else EmbassyReportRow
    columns = [getattr(model, name) for name in _COPY_FIELDS[run.context.source]]
    window = {"partition_by": columns, "order_by": model.id}
    ranked = (select(model.source_sheet, model.source_row,  # type: ignore[call-overload]
                     func.first_value(model.source_sheet).over(**window).label("first_sheet"),
                     func.first_value(model.source_row).over(**window).label("first_row"),
                     func.row_number().over(**window).label("n"))
              .where(model.submission_id == submission.id).subquery())
    copies = session.execute(
        select(ranked.c.source_sheet, ranked.c.source_row, ranked.c.first_sheet, ranked.c.first_row)  # type: ignore[call-overload]
        .where(ranked.c.n > 1).order_by(ranked.c.source_row)).all()
    for sheet, row, first_sheet, first_row in copies:
        where = f"row {first_row}" + (f" of sheet '{first_sheet}'" if first_sheet != sheet else "")
        run.result.warn(Issue(sheet=sheet or "", row=row, column="", header="", value="",
                              message=f"repeats {where} exactly: possible double counting (both kept, flagged for review)"))


#: What a post's report row says, compared field by field when a re-filled template comes back.
_DIFF_FIELDS = ("fiscal_year", "agency_id", "office_id", "implementer_id", "implementer_name", "title", "area", "amount",
                "start_date")
MAX_CHANGES = 2000


def _template_changes(session: Session, run: _Run) -> list[dict[str, Any]]:
    """Cell by cell, what a re-filled template changes in the post's current report: rows changed
    (each field), added (no ID) and removed (an ID of the covered years no longer in the file)."""
    covered = set(run.result.fiscal_years)
    current = {r.id: r for r in session.exec(select(EmbassyReportRow).where(
        EmbassyReportRow.country_code == run.context.country, EmbassyReportRow.current == True,  # noqa: E712
        EmbassyReportRow.submission_id != run.submission.id)).all()}  # type: ignore[union-attr]
    changes: list[dict[str, Any]] = []
    seen: set[int] = set()
    for row in run.diff_rows:
        where = {"sheet": row.get("source_sheet") or "", "row": row["source_row"]}
        old = current.get(row.get("record_id") or -1)
        if old is None:
            changes.append({"change": "added", "id": None, **where, "field": "", "before": "",
                            "after": row.get("title") or row.get("implementer_name") or ""})
            continue
        seen.add(old.id)  # type: ignore[arg-type]
        for name in _DIFF_FIELDS:
            before, after = getattr(old, name), row.get(name)
            if name == "implementer_name" and (old.implementer_id or row.get("implementer_id")):
                continue  # a known implementer: its change, if any, is shown by name
            if before != after:
                changes.append({"change": "changed", "id": old.id, **where, "field": name.removesuffix("_id"),
                                "before": _shown(session, name, before), "after": _shown(session, name, after)})
    for ident, old in current.items():
        if ident not in seen and old.fiscal_year in covered:
            changes.append({"change": "removed", "id": ident, "sheet": old.source_sheet or "", "row": old.source_row,
                            "field": "", "before": old.title or old.implementer_name or "", "after": ""})
    return changes[:MAX_CHANGES]


def _shown(session: Session, name: str, value: Any) -> Any:
    """A compared value as people read it: agency and office codes, implementer names."""
    model = {"agency_id": Agency, "office_id": Office, "implementer_id": Implementer}.get(name)
    if model is None or value is None:
        return _jsonable(value)
    found = session.get(model, value)
    return getattr(found, "name" if model is Implementer else "code", value) if found else value


def _refresh_summary(session: Session, run: _Run, submission_ids: list[int | None]) -> None:
    """Keep the obligation totals in step, in this import's own transaction."""
    if run.context.source != "agency":
        return
    from tracker.reconcile import blocks_of_submission
    from tracker.summary import refresh_totals

    session.flush()
    blocks = set(run.changed_blocks)
    for submission_id in submission_ids:
        if submission_id is not None:
            blocks |= blocks_of_submission(session, submission_id)
    refresh_totals(session, blocks)


def _supersede(session: Session, run: _Run, submission: Submission) -> None:
    """Earlier current files from the same scope whose every fiscal year this file covers."""
    covered = set(run.result.fiscal_years)
    earlier = session.exec(select(Submission).where(
        Submission.scope_key == submission.scope_key, Submission.status == "committed",
        Submission.id != submission.id)).all()
    for old in earlier:
        years = set(session.exec(select(SubmissionYear.fiscal_year).where(
            SubmissionYear.submission_id == old.id)).all())
        if years and years <= covered:
            old.status = "superseded"
            submission.supersedes_id = old.id
            model = Obligation if old.source_kind == "agency" else EmbassyReportRow
            session.execute(update(model).where(model.submission_id == old.id).values(current=False))  # type: ignore[arg-type]
            run.result.superseded.append(old.id)  # type: ignore[arg-type]
            record_event(session, action="submission.supersede", actor=run.request.actor,
                         user_id=run.request.uploaded_by_id, entity_type="submission", entity_id=old.id,
                         summary=f"submission {old.id} ({old.filename}) superseded by {submission.id} ({submission.filename})",
                         before={"status": "committed"}, after={"status": "superseded", "by": submission.id})
            run.result.notes.append(f"supersedes submission {old.id} ({old.filename}): it covered "
                                    + ", ".join(f"FY{y}" for y in sorted(years)) + ", all covered again here")


def _remember_mapping(session: Session, run: _Run) -> None:
    scope = _scope_key(run)
    known = run.mappings.get(scope, {})
    for entry in run.result.mapping:
        key = normalize_key(entry["header"])[:200]
        if entry["field"] == "year_amount" or not key or known.get(key) == entry["field"]:
            continue
        existing = session.exec(select(ColumnMapping).where(
            ColumnMapping.scope_key == scope, ColumnMapping.header_key == key)).first()
        if existing:
            existing.field_name = entry["field"]
        else:
            session.add(ColumnMapping(scope_key=scope, header_key=key, field_name=entry["field"]))
        known[key] = entry["field"]
