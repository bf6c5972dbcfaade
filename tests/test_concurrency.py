"""Concurrency: imports started at the same moment in separate processes, and two reviewers
deciding the same flag.

Imports queue (one at a time: SQLite's write lock, PostgreSQL's advisory lock) rather than
interleave, so each file is stored whole or refused, once, with its summary totals and flags;
a reviewer whose decision comes second is told who decided first, and nothing is overwritten.
Runs on SQLite (a WAL file) and, with TRACKER_TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, func, text
from sqlmodel import Session, select

from tests.processes import (
    assert_flags_as_recomputed,
    assert_summary_matches_obligations,
    context,
    start_tracker,
)
from tests.web.conftest import csrf_token
from tests.workbooks import AGENCY_HEADERS, EMBASSY_HEADERS, Row, write_xlsx
from tracker.db import make_engine
from tracker.flags import StaleFlag, decide_flag
from tracker.importing.pipeline import ImportRequest, import_and_commit, sha256_of
from tracker.models import (
    AuditEvent,
    EmbassyReportRow,
    Flag,
    FlagDecision,
    Implementer,
    Obligation,
    ObligationTotal,
    Submission,
    User,
)
from tracker.users import create_user

ROWS = 400  # per file: enough that the imports take a while, small enough to keep the test quick
PARTNERS = [f"Concurrent Partner {n}" for n in range(7)]  # new implementers every file names


def _embassy_rows(country: str, n: int) -> list[Row]:
    return [["State", country, 2006 + i % 2, "State/INL", PARTNERS[i % len(PARTNERS)], f"{country} program {i}",
             None, Decimal(f"{1000 + 7 * i}.{(13 * i) % 100:02d}")] for i in range(n)]


def _agency_rows(n: int) -> list[Row]:
    countries = ["Indonesia", "Albania", "Kosovo"]
    return [[2006 + i % 2, "INL", countries[i % 3], PARTNERS[i % len(PARTNERS)], f"Agency program {i}", "Protection",
             f"DOS-{i:05d}", None, Decimal(f"{5000 + 11 * i}.{(29 * i) % 100:02d}")] for i in range(n)]


def _total(rows: list[Row]) -> Decimal:
    return sum((Decimal(r[-1]) for r in rows), Decimal("0.00"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def _stored(session: Session, submission_id: int, model: Any) -> tuple[int, Decimal, int]:
    """Records of a submission: how many, their total, and how many distinct source rows."""
    count, total = session.execute(select(func.count(), func.coalesce(func.sum(model.amount), 0))
                                   .where(model.submission_id == submission_id)).one()
    places = session.execute(select(func.count()).select_from(
        select(model.source_sheet, model.source_row).where(model.submission_id == submission_id)
        .distinct().subquery())).scalar_one()
    return count, Decimal(total), places


# --- imports at the same moment -------------------------------------------------------------


def test_imports_at_the_same_moment_each_commit_whole_once(db_url: str, engine: Engine, tmp_path: Path) -> None:
    """Two embassy reports (two countries), an agency workbook, and a second copy of two of them,
    each `tracker import` in its own process, released together."""
    files = {"idn": write_xlsx(tmp_path / "jakarta.xlsx", [EMBASSY_HEADERS, *_embassy_rows("Indonesia", ROWS)]),
             "alb": write_xlsx(tmp_path / "tirana.xlsx", [EMBASSY_HEADERS, *_embassy_rows("Albania", ROWS)]),
             "dos": write_xlsx(tmp_path / "dos.xlsx", [AGENCY_HEADERS, *_agency_rows(ROWS)])}
    copies = {"idn": tmp_path / "jakarta (again).xlsx", "dos": tmp_path / "dos (again).xlsx"}
    for key, copy in copies.items():
        shutil.copyfile(files[key], copy)
    embassy = {"idn": "IDN", "alb": "ALB"}
    jobs = [(key, path) for key, path in files.items()] + [(key, path) for key, path in copies.items()]
    barrier = context().Barrier(len(jobs))
    running = []
    for n, (key, path) in enumerate(jobs):
        how = ["--source", "embassy", "--country", embassy[key]] if key in embassy else ["--source", "agency",
                                                                                         "--agency", "DOS"]
        running.append((key, start_tracker(["import", str(path), *how, "--json"], database_url=db_url,
                                           folder=tmp_path / f"p{n}-{key}", barrier=barrier)))
    codes = [(key, process.wait(), process.output("stderr")) for key, process in running]
    assert all(code == 0 and "Traceback" not in err for _, code, err in codes), codes
    times = [process.times() for _, process in running]
    assert max(t["started"] for t in times) < min(t["ended"] for t in times), "the imports did not overlap"

    outcomes: dict[str, list[tuple[str, int]]] = {}
    for key, process in running:
        [result] = process.results()
        outcomes.setdefault(key, []).append((result["status"], result["submission_id"]))
    for key in copies:  # the same bytes twice at once: stored once, the other told
        assert sorted(s for s, _ in outcomes[key]) == ["already-imported", "committed"], outcomes[key]
        assert len({i for _, i in outcomes[key]}) == 1
    assert [s for s, _ in outcomes["alb"]] == ["committed"]

    with Session(engine) as session:
        submissions = {s.sha256: s for s in session.exec(select(Submission))}
        assert set(submissions) == {sha256_of(str(path)) for path in files.values()}
        for key, path in files.items():
            submission = submissions[sha256_of(str(path))]
            rows = _agency_rows(ROWS) if key == "dos" else _embassy_rows({"idn": "Indonesia", "alb": "Albania"}[key],
                                                                           ROWS)
            model = Obligation if key == "dos" else EmbassyReportRow
            assert (submission.status, submission.records) == ("committed", ROWS)
            assert _stored(session, submission.id, model) == (ROWS, _total(rows), ROWS)  # none missing, none twice
        assert session.execute(select(func.count()).select_from(Obligation)).scalar_one() == ROWS
        assert session.execute(select(func.count()).select_from(EmbassyReportRow)).scalar_one() == 2 * ROWS
        assert {name: session.execute(select(func.count()).where(Implementer.name == name)).scalar_one()
                for name in PARTNERS} == dict.fromkeys(PARTNERS, 1)
        imports = session.exec(select(AuditEvent).where(AuditEvent.action == "import")).all()
        assert sorted(int(e.entity_id) for e in imports) == sorted(s.id for s in submissions.values())
        assert_summary_matches_obligations(session)
        assert sum(t.amount for t in session.exec(select(ObligationTotal))) == _total(_agency_rows(ROWS))
        # The flags each import recomputed for its country-years are what one recompute of
        # everything, from the final data, finds: no import worked from another's half-state.
        assert_flags_as_recomputed(session)


def test_an_import_waits_for_another_writer_and_says_so_when_the_wait_runs_out(db_url: str, tmp_path: Path) -> None:
    """Another writer holds the database: the import waits for it; past the wait (SQLite's busy
    timeout) it stops with a plain message, stores nothing and does not crash."""
    path = write_xlsx(tmp_path / "jakarta.xlsx", [EMBASSY_HEADERS, *_embassy_rows("Indonesia", 20)])
    request = ImportRequest(path=str(path), filename=path.name, source="embassy", country="IDN")
    holder = _hold_lock(db_url)
    try:
        if db_url.startswith("sqlite"):  # PostgreSQL has no such wait: imports queue for as long as it takes
            engine = make_engine(db_url, sqlite_busy_timeout=1)
            started = time.monotonic()
            with Session(engine) as session:
                result = import_and_commit(session, request)
            assert time.monotonic() - started >= 0.9  # it waited for the lock before giving up
            assert result.status == "rejected"
            assert "the database is busy" in result.errors[0].message
            assert "nothing was stored" in result.errors[0].message
            with Session(engine) as session:
                assert session.execute(select(func.count()).select_from(Submission)).scalar_one() == 0
            engine.dispose()
        engine = make_engine(db_url, sqlite_busy_timeout=30)
        results: list[Any] = []

        def run() -> None:
            with Session(engine) as session:
                results.append(import_and_commit(session, request))

        waiting = threading.Thread(target=run)
        waiting.start()
        waiting.join(1.5)
        assert waiting.is_alive() and not results, "the import did not wait for the lock"
        holder.release()
        waiting.join(60)
        assert (results[0].status, results[0].records) == ("committed", 20), results[0].errors
        engine.dispose()
    finally:
        holder.release()


class _hold_lock:  # noqa: N801 - used like a function
    """Another connection holding what an import needs: SQLite's write lock, or PostgreSQL's
    import lock (the advisory lock imports take)."""

    def __init__(self, db_url: str) -> None:
        from tracker.db import IMPORT_LOCK_KEY

        self.lock = threading.Lock()
        self.released = False
        if db_url.startswith("sqlite"):
            self.connection: Any = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None,
                                                   check_same_thread=False)
            self.connection.execute("BEGIN IMMEDIATE")
            self.close = self.connection.rollback
        else:
            self.engine = create_engine(db_url)
            self.connection = self.engine.connect()
            self.connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": IMPORT_LOCK_KEY})
            self.close = lambda: self.connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": IMPORT_LOCK_KEY})

    def release(self) -> None:
        with self.lock:
            if self.released:
                return
            self.released = True
            self.close()
            self.connection.close()
            if hasattr(self, "engine"):
                self.engine.dispose()


# --- two reviewers, one flag ----------------------------------------------------------------


@pytest.fixture
def flagged(app: Flask, tmp_path: Path, do_import) -> list[int]:
    """An agency workbook and an embassy report that raise flags, and two reviewers, ana and ben."""
    agency = _agency_rows(12)
    embassy = _embassy_rows("Indonesia", 6)
    assert do_import(write_xlsx(tmp_path / "dos.xlsx", [AGENCY_HEADERS, *agency]), source="agency",
                     agency="DOS").status == "committed"
    assert do_import(write_xlsx(tmp_path / "idn.xlsx", [EMBASSY_HEADERS, *embassy]),
                     country="IDN").status == "committed"
    with Session(app.extensions["tracker.engine"]) as session:
        for name in ("ana", "ben"):
            create_user(session, username=name, role="reviewer", password="a long enough passphrase")
        session.commit()
        ids = list(session.exec(select(Flag.id).where(Flag.active == True).order_by(Flag.id)))  # noqa: E712
    assert len(ids) >= 4
    return ids


def _decide_at_once(engine: Engine, flag_id: int, version: int) -> dict[str, Any]:
    """ana and ben, each on a connection of their own, decide the flag they both saw at version."""
    barrier = threading.Barrier(2)
    outcome: dict[str, Any] = {}

    def decide(name: str) -> None:
        with Session(engine) as session:
            user = session.exec(select(User).where(User.username == name)).one()
            session.rollback()  # each starts from nothing, as a web request does
            barrier.wait(timeout=30)
            try:
                decide_flag(session, flag_id, decision="confirmed" if name == "ana" else "not_a_problem",
                            comment=f"{name} says so", by=user, expected_version=version)
                session.commit()
                outcome[name] = "saved"
            except StaleFlag as exc:
                session.rollback()
                outcome[name] = exc
            except Exception as exc:  # noqa: BLE001 - anything else is the failure this test looks for
                session.rollback()
                outcome[name] = f"unexpected {type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=decide, args=(name,)) for name in ("ana", "ben")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcome


def test_two_reviewers_deciding_at_the_same_moment_the_second_is_told(app: Flask, flagged: list[int],
                                                                      session: Session) -> None:
    engine = app.extensions["tracker.engine"]
    for flag_id in flagged[:4]:
        version = session.get(Flag, flag_id).version
        session.rollback()
        outcome = _decide_at_once(engine, flag_id, version)
        saved = [name for name, result in outcome.items() if result == "saved"]
        told = {name: result for name, result in outcome.items() if isinstance(result, StaleFlag)}
        assert len(saved) == 1 and len(told) == 1, outcome
        [winner], [(_, refusal)] = saved, told.items()
        message = str(refusal)
        assert f"{winner} decided it meanwhile" in message and "Your decision was not saved" in message
        assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", message)
        flag = session.get(Flag, flag_id)
        assert (flag.status, flag.comment, flag.version) == ("decided", f"{winner} says so", version + 1)
        decisions = session.exec(select(FlagDecision).where(FlagDecision.flag_id == flag_id)).all()
        assert [d.comment for d in decisions] == [f"{winner} says so"]
        audited = session.exec(select(AuditEvent).where(AuditEvent.action == "flag.decide",
                                                        AuditEvent.entity_id == str(flag_id))).all()
        assert len(audited) == 1
        session.rollback()


def test_deciding_without_a_seen_version_still_works_and_new_evidence_is_named(flagged: list[int],
                                                                              session: Session) -> None:
    """The command line decides what it reads (no version from a form); a form from before a
    recompute of the flag's evidence is refused with that reason."""
    flag_id = flagged[0]
    decide_flag(session, flag_id, decision="follow_up", comment="ask the post", actor="cli")
    session.commit()
    decide_flag(session, flag_id, decision="confirmed", comment="the post confirmed", actor="cli")
    session.commit()
    flag = session.get(Flag, flag_id)
    assert (flag.decision, flag.version) == ("confirmed", 3)
    other = flagged[1]
    seen = session.get(Flag, other).version
    session.execute(text("UPDATE flag SET version = version + 1, evidence_hash = 'changed' WHERE id = :id"),
                    {"id": other})  # what a recompute with new evidence does to an open flag
    session.commit()
    with pytest.raises(StaleFlag, match=r"its evidence was recomputed meanwhile .* and it is open"):
        decide_flag(session, other, decision="confirmed", comment="too late", expected_version=seen)
    session.rollback()
    assert session.get(Flag, other).status == "open"


def _signed_in(app: Flask, username: str) -> Any:
    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": username, "password": "a long enough passphrase",
                                            "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


def _form(page: str, comment: str, decision: str) -> dict[str, str]:
    version = re.search(r'name="version"[^>]*value="(\d+)"|value="(\d+)"[^>]*name="version"', page)
    assert version, "the decision form carries no version"
    return {"csrf_token": csrf_token(page), "decision": decision, "gao_class": "", "effect": "no change",
            "comment": comment, "version": version[1] or version[2]}


def test_two_reviewers_with_the_flag_open_in_their_browsers(app: Flask, flagged: list[int], session: Session) -> None:
    """Both load the flag page while it is open; both submit. The second sees the first decision,
    who took it and when, keeps the comment they typed, and nothing of theirs is stored."""
    flag_id = flagged[0]
    ana, ben = _signed_in(app, "ana"), _signed_in(app, "ben")
    ana_page = ana.get(f"/flags/{flag_id}").get_data(as_text=True)
    ben_page = ben.get(f"/flags/{flag_id}").get_data(as_text=True)
    assert ana.post(f"/flags/{flag_id}", data=_form(ana_page, "ana: same award twice", "confirmed")).status_code == 302
    told = ben.post(f"/flags/{flag_id}", data=_form(ben_page, "ben: not a duplicate", "not_a_problem"))
    page = told.get_data(as_text=True)
    assert told.status_code == 409
    assert "ana decided it meanwhile (confirmed," in page and "Your decision was not saved" in page
    assert "ben: not a duplicate" in page  # their comment is still in the form
    assert "ana: same award twice" in page  # the decision that stands, in the history
    session.rollback()
    flag = session.get(Flag, flag_id)
    assert (flag.decision, flag.comment) == ("confirmed", "ana: same award twice")
    assert [d.comment for d in session.exec(select(FlagDecision).where(FlagDecision.flag_id == flag_id))] == \
        ["ana: same award twice"]
    # Having seen it, ben may still disagree: the page he was shown carries the new version.
    again = ben.post(f"/flags/{flag_id}", data=_form(page, "ben: not a duplicate", "not_a_problem"))
    assert again.status_code == 302
    session.rollback()
    assert session.get(Flag, flag_id).decision == "not_a_problem"


def test_two_reviewers_posting_at_the_same_moment(app: Flask, flagged: list[int], session: Session) -> None:
    flag_id = flagged[1]
    clients = {name: _signed_in(app, name) for name in ("ana", "ben")}
    forms = {name: _form(client.get(f"/flags/{flag_id}").get_data(as_text=True), f"{name} was here", "explained")
             for name, client in clients.items()}
    barrier = threading.Barrier(2)
    statuses: dict[str, int] = {}

    def post(name: str) -> None:
        barrier.wait(timeout=30)
        statuses[name] = clients[name].post(f"/flags/{flag_id}", data=forms[name]).status_code

    threads = [threading.Thread(target=post, args=(name,)) for name in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(statuses.values()) == [302, 409], statuses
    winner = next(name for name, status in statuses.items() if status == 302)
    session.rollback()
    assert session.get(Flag, flag_id).comment == f"{winner} was here"
    assert len(session.exec(select(FlagDecision).where(FlagDecision.flag_id == flag_id)).all()) == 1
