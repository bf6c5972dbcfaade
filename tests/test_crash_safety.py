"""Crash safety: `tracker import` killed (SIGKILL: no clean-up, no rollback) in the middle of
writing leaves the database exactly as it was before the file, table by table and row by row;
run again, the file commits whole. Where each kill landed is read from the pipeline's test
trace (TRACKER_TEST_TRACE), so the tests show that kills did land mid-write.

Runs on SQLite (a WAL file) and, with TRACKER_TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from tests.processes import (
    TrackerProcess,
    assert_flags_as_recomputed,
    assert_summary_matches_obligations,
    context,
    start_tracker,
)
from tests.snapshots import every_row
from tests.workbooks import AGENCY_HEADERS, EMBASSY_HEADERS, Row, write_xlsx
from tracker.db import make_engine
from tracker.importing.pipeline import (
    BATCH_ROWS,
    TEST_KILL_AT_ENV,
    TEST_KILL_ENV,
    TEST_TRACE_ENV,
    ImportRequest,
    import_and_commit,
    sha256_of,
)
from tracker.models import AuditEvent, Obligation, ObligationTotal, Submission

ROWS = 2500  # more than one batch of BATCH_ROWS: the kill can fall between two written batches
COUNTRIES = ["Indonesia", "Albania", "Kosovo"]


def _agency_rows(n: int, version: int) -> list[Row]:
    """A State workbook for FY2006-FY2007; each version a different file superseding the last."""
    return [[2006 + i % 2, ["INL", "G/TIP", "PRM"][i % 3], COUNTRIES[i % 3], f"Crash Partner {i % 40}",
             f"Program {i} (version {version})", "Protection", f"DOS-{version}-{i:05d}", None,
             Decimal(f"{2000 + 13 * i + version}.{(7 * i + version) % 100:02d}")] for i in range(n)]


def _total(rows: list[Row]) -> Decimal:
    return sum((Decimal(r[-1]) for r in rows), Decimal("0.00"))


def _trace(folder: Path) -> list[str]:
    path = folder / "trace"
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


@pytest.fixture
def engine(db_url: str, tmp_path: Path) -> Iterator[Engine]:
    """A database already holding two embassy reports and a State workbook (the one the big
    workbook supersedes): "before" is not an empty database."""
    engine = make_engine(db_url)
    files = []
    for country, code in (("Indonesia", "IDN"), ("Albania", "ALB")):  # their flags are recomputed with each file
        rows = [["State", country, 2006 + i % 2, "State/INL", f"Crash Partner {i}", f"Shelter {i}", None, 1000 + i]
                for i in range(40)]
        files.append((write_xlsx(tmp_path / f"{code}.xlsx", [EMBASSY_HEADERS, *rows]), "embassy", {"country": code}))
    files.append((write_xlsx(tmp_path / "dos-v0.xlsx", [AGENCY_HEADERS, *_agency_rows(60, 0)]), "agency",
                  {"agency": "DOS"}))
    for path, source, options in files:
        with Session(engine) as session:
            result = import_and_commit(session, ImportRequest(path=str(path), filename=path.name, source=source,
                                                              **options))
        assert result.status == "committed", result.errors
    yield engine
    engine.dispose()


def _import(db_url: str, path: Path, folder: Path, **env: str) -> TrackerProcess:
    return start_tracker(["import", str(path), "--source", "agency", "--agency", "DOS", "--json"],
                         database_url=db_url, folder=folder, env={TEST_TRACE_ENV: str(folder / "trace"), **env})


def _assert_whole(engine: Engine, path: Path, rows: list[Row]) -> None:
    """The file is stored whole: every row once, to the cent, the earlier State file superseded,
    the summary equal to the current records, and the import audited."""
    with Session(engine) as session:
        submission = session.exec(select(Submission).where(Submission.sha256 == sha256_of(str(path)))).one()
        assert (submission.status, submission.records) == ("committed", len(rows))
        count, total, places = session.execute(select(
            func.count(), func.sum(Obligation.amount),
            func.count(func.distinct(Obligation.source_row))).where(Obligation.submission_id == submission.id)).one()
        assert (count, Decimal(total), places) == (len(rows), _total(rows), len(rows))
        current = session.execute(select(func.count(), func.sum(Obligation.amount))
                                  .where(Obligation.current == True)).one()  # noqa: E712
        assert (current[0], Decimal(current[1])) == (len(rows), _total(rows))
        others = session.exec(select(Submission.status).where(Submission.source_kind == "agency",
                                                                Submission.id != submission.id)).all()
        assert others and set(others) == {"superseded"}
        summary = session.execute(select(func.sum(ObligationTotal.records), func.sum(ObligationTotal.amount))).one()
        assert (summary[0], Decimal(summary[1])) == (len(rows), _total(rows))
        assert_summary_matches_obligations(session)
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "import",
                                                     AuditEvent.entity_id == str(submission.id))).one()
        assert_flags_as_recomputed(session)  # the flags came with the file, not after it


def test_killed_while_writing_leaves_the_database_as_before(engine: Engine, db_url: str, tmp_path: Path) -> None:
    """Killed between two written batches, after the last batch, and with everything done but
    the commit: each time the database is as before, row for row; run again, the file commits."""
    rows = _agency_rows(ROWS, 1)
    path = write_xlsx(tmp_path / "dos-v1.xlsx", [AGENCY_HEADERS, *rows])
    before = every_row(engine)
    kills = {"after-the-first-batch": {TEST_KILL_ENV: str(BATCH_ROWS)},
             "after-the-last-batch": {TEST_KILL_ENV: str(ROWS)},
             "all-written-before-commit": {TEST_KILL_AT_ENV: "commit"}}
    for name, kill in kills.items():
        killed = _import(db_url, path, tmp_path / name, **kill)
        assert killed.wait() == -signal.SIGKILL, (name, killed.output("stderr"))
        trace = _trace(killed.folder)
        assert trace[0] == "begin" and trace[-1].startswith("kill") and "committed" not in trace, (name, trace)
        written = max(int(t.split()[1]) for t in trace if t.startswith("rows "))  # written, uncommitted, at death
        if TEST_KILL_ENV in kill:
            assert written == min(int(kill[TEST_KILL_ENV]), len(rows)) and "commit" not in trace, (name, trace)
        else:  # the records, the superseding, the summary and the flags all done; only the commit left
            assert written == len(rows) and trace[-2:] == ["commit", "kill"], (name, trace)
        assert every_row(engine) == before, name  # not one row of it, in any table (records, totals, flags, audit)
    assert 0 < BATCH_ROWS < len(rows)  # so the first kill fell between two batches of the file

    again = _import(db_url, path, tmp_path / "again")
    assert again.wait() == 0, again.output("stderr")
    [result] = again.results()
    assert (result["status"], result["records"]) == ("committed", len(rows))
    assert _trace(again.folder)[-1] == "committed"
    _assert_whole(engine, path, rows)


def test_killed_right_after_the_commit_the_flags_came_with_the_file(engine: Engine, db_url: str,
                                                                    tmp_path: Path) -> None:
    """Dead the moment its commit returns: the file is there whole, and so are the flags it
    changes (recomputed in the same transaction, not in a second one the kill would have lost)."""
    rows = _agency_rows(ROWS, 1)
    path = write_xlsx(tmp_path / "dos-v1.xlsx", [AGENCY_HEADERS, *rows])
    killed = _import(db_url, path, tmp_path / "killed", **{TEST_KILL_AT_ENV: "committed"})
    assert killed.wait() == -signal.SIGKILL
    assert _trace(killed.folder)[-3:] == ["commit", "committed", "kill"]
    _assert_whole(engine, path, rows)


def test_random_kills_leave_the_database_before_or_after_the_file(engine: Engine, db_url: str,
                                                                   tmp_path: Path) -> None:
    """Kill `tracker import` of a large workbook at random moments, many times: every time the
    database holds all of the file or none of it. The trace says where each kill landed: before
    the import's transaction, inside it (mid-write: the transaction open, reading the file and
    writing its records, nothing committed), while committing, or after; enough must land
    mid-write for the test to mean anything."""
    rng = random.Random(20261130)
    # At least `kills` kills, more (up to `most`) until `wanted` of them landed mid-write.
    kills, most, wanted = (8, 16, 3) if db_url.startswith("sqlite") else (4, 10, 2)
    context()  # the process server is up before anything is timed
    # One run to the end, to know how long an import takes here (and a first superseding file).
    rows = _agency_rows(ROWS, 1)
    path = write_xlsx(tmp_path / "dos-v1.xlsx", [AGENCY_HEADERS, *rows])
    started = time.monotonic()
    assert _import(db_url, path, tmp_path / "calibrate").wait() == 0
    duration = time.monotonic() - started
    _assert_whole(engine, path, rows)

    before = every_row(engine)
    landed: dict[str, int] = {"before the transaction": 0, "mid-write": 0, "while committing": 0, "after": 0}
    rows_at_kill = []
    attempt = 1
    while attempt <= most and (attempt <= kills or landed["mid-write"] < wanted):
        attempt += 1
        rows = _agency_rows(ROWS, attempt)
        path = write_xlsx(tmp_path / f"dos-v{attempt}.xlsx", [AGENCY_HEADERS, *rows])
        process = _import(db_url, path, tmp_path / f"attempt-{attempt}")
        started = time.monotonic()
        process.process.join(rng.uniform(0.1, 1.3) * duration)  # from its start to (sometimes) past its end
        if process.process.exitcode == 0:
            duration = time.monotonic() - started  # imports run faster now than measured: measure again
        process.kill()
        trace = _trace(process.folder)
        if "committed" in trace or process.process.exitcode == 0:
            where = "after"
        elif "commit" in trace:
            where = "while committing"
        elif "begin" in trace:
            where = "mid-write"
            rows_at_kill.append(max([int(t.split()[1]) for t in trace if t.startswith("rows ")], default=0))
        else:
            where = "before the transaction"
        landed[where] += 1
        with Session(engine) as session:
            stored = session.exec(select(Submission).where(Submission.sha256 == sha256_of(str(path)))).first()
        if stored is None:
            assert where != "after", trace
            assert every_row(engine) == before, f"attempt {attempt}, killed {where}: the database changed"
        else:
            assert where in ("after", "while committing"), (where, trace)
            _assert_whole(engine, path, rows)
            before = every_row(engine)
    report = f"{attempt - 1} kills: {landed}; records written when killed mid-write: {sorted(rows_at_kill)}"
    print(report)
    assert landed["mid-write"] >= wanted, report
