"""The audit trail: append-only in the database (triggers) and in the session, every change of an
obligation or a submission recorded with before and after, and totals reproduced "as of" any past
moment from the trail and the submission history (tracker totals --as-of)."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from tests.workbooks import AGENCY_HEADERS, agency_rows, write_xlsx
from tracker.audit import AuditQuery, AuditTrailError, list_events, record_event, write_events_csv
from tracker.dates import parse_as_of
from tracker.models import AuditEvent, Obligation, Office, utcnow
from tracker.records import ObligationIn, RecordError, create_obligation, delete_obligation, update_obligation
from tracker.reporting import totals

GROUPS = [["fiscal_year", "agency", "country"], ["office", "program", "status"], ["region"], ["implementer"],
          ["fiscal_year"]]


def _events(session: Session) -> list[tuple]:
    session.rollback()
    return [tuple(row) for row in session.execute(text(
        "SELECT id, at, actor, action, entity_type, entity_id, summary FROM audit_event ORDER BY id")).all()]


# --- append-only --------------------------------------------------------------------------


def test_the_database_refuses_to_change_or_delete_audit_events(app, session: Session) -> None:
    record_event(session, action="test.event", actor="tester", summary="kept as written", after={"n": 1})
    session.commit()
    before = _events(session)
    assert before and before[-1][3] == "test.event"
    engine = app.extensions["tracker.engine"]
    statements = ["UPDATE audit_event SET actor = 'someone else'", "DELETE FROM audit_event",
                  "DELETE FROM audit_event WHERE action = 'test.event'"]
    if engine.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_event")
    session.rollback()  # hold no lock (TRUNCATE would wait for it)
    for statement in statements:
        with engine.connect() as connection:  # raw SQL, as any other program could send it
            with pytest.raises(DBAPIError, match="append-only"):
                connection.execute(text(statement))
            connection.rollback()
    assert _events(session) == before
    # Appending still works.
    record_event(session, action="test.event", actor="tester", summary="a second one")
    session.commit()
    assert len(_events(session)) == len(before) + 1


def test_the_session_refuses_to_change_or_delete_audit_events(session: Session) -> None:
    event = record_event(session, action="test.event", actor="tester", summary="original")
    session.commit()
    event.summary = "rewritten"
    with pytest.raises(AuditTrailError, match="cannot be changed"):
        session.flush()
    session.rollback()
    session.delete(session.get(AuditEvent, event.id))
    with pytest.raises(AuditTrailError, match="cannot be deleted"):
        session.flush()
    session.rollback()
    assert session.get(AuditEvent, event.id).summary == "original"


# --- listing and exporting ----------------------------------------------------------------


def test_events_filter_page_and_export_with_formulas_neutralised(session: Session) -> None:
    for n in range(7):
        record_event(session, action="obligation.update" if n % 2 else "flag.decide", actor=f"user{n % 3}",
                     entity_type="obligation", entity_id=n, summary=f"change {n}", before={"amount": str(n)},
                     after={"amount": str(n + 1)})
    record_event(session, action="sign_in.failed", actor="=HYPERLINK(\"http://evil\")",
                 summary="+cmd|' /C calc'!A0")
    session.commit()
    page, total = list_events(session, AuditQuery(action="obligation", per_page=2, page=2))
    assert total == 3 and [e.entity_id for e in page] == ["1"]  # newest first: 5, 3 | 1
    assert list_events(session, AuditQuery(actor="user1"))[1] == 2
    assert list_events(session, AuditQuery(entity_type="obligation", entity_id="4"))[1] == 1
    future = utcnow() + timedelta(days=1)
    assert list_events(session, AuditQuery(since=future))[1] == 0
    assert list_events(session, AuditQuery(until=future, action="sign_in.failed"))[1] == 1

    out = io.StringIO()
    assert write_events_csv(session, AuditQuery(), out) == list_events(session, AuditQuery())[1]
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0][:3] == ["id", "at_utc", "actor"]
    hostile = rows[1]  # newest first
    assert hostile[2] == "'=HYPERLINK(\"http://evil\")" and hostile[8] == "'+cmd|' /C calc'!A0"
    change = next(r for r in rows[1:] if r[8] == "change 6")
    assert json.loads(change[9]) == {"amount": "6"} and json.loads(change[10]) == {"amount": "7"}


# --- obligations: delete, audited -----------------------------------------------------------


def test_deleting_an_obligation_keeps_it_stops_counting_and_audits_the_whole_record(session: Session) -> None:
    office = session.exec(select(Office)).first()
    data = ObligationIn(fiscal_year="2010", office_id=office.id, country_code="THA", implementer="IOM",
                        title="Shelter", amount="$1,000.50")
    obligation = create_obligation(session, data, user_id=None, actor="tester")
    session.commit()
    assert sum(r["amount"] for r in totals(session, ["fiscal_year"])) == Decimal("1000.50")
    delete_obligation(session, obligation, user_id=None, actor="tester", expected_version=obligation.version,
                      reason="entered twice")
    session.commit()
    kept = session.get(Obligation, obligation.id)
    assert kept is not None and not kept.current and kept.deleted_at is not None
    assert totals(session, ["fiscal_year"]) == totals(session, ["fiscal_year"], source="records") == []
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "obligation.delete")).one()
    assert (event.actor, event.entity_id) == ("tester", str(obligation.id))
    assert event.before["amount"] == "1000.50" and event.before["title"] == "Shelter"
    assert event.after["current"] is False and "entered twice" in event.summary
    with pytest.raises(RecordError, match="no longer current"):
        delete_obligation(session, kept, user_id=None, actor="tester", expected_version=kept.version)
    with pytest.raises(RecordError, match="cannot be corrected"):
        update_obligation(session, kept, data, user_id=None, actor="tester", expected_version=kept.version)
    session.rollback()
    assert session.get(Obligation, obligation.id).amount == Decimal("1000.50")
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "obligation.update")).all() == []


# --- totals as of a past moment ------------------------------------------------------------


def _all_totals(session: Session) -> list[list[dict]]:
    session.rollback()
    return [totals(session, by, source="records") for by in GROUPS]


def _as_of(session: Session, moment: datetime) -> list[list[dict]]:
    session.rollback()
    return [totals(session, by, as_of=moment) for by in GROUPS]


def _moment() -> datetime:
    """A moment strictly between what came before and what comes after."""
    time.sleep(0.01)
    moment = utcnow()
    time.sleep(0.01)
    return moment


def test_totals_as_of_a_past_moment_are_reproduced_exactly(tmp_path: Path, do_import, session: Session,
                                                           runner: FlaskCliRunner) -> None:
    assert _as_of(session, utcnow()) == _all_totals(session)  # nothing yet
    rows = agency_rows()
    do_import(write_xlsx(tmp_path / "v1.xlsx", [AGENCY_HEADERS, *rows]), source="agency", agency="DOS")
    seen = [(_moment(), _all_totals(session))]

    # A hand correction of an amount (and of the country: the record moves between groups).
    first, second, third = session.exec(select(Obligation).order_by(Obligation.id)).all()[:3]
    office = session.get(Office, first.office_id)
    update_obligation(session, first, ObligationIn(
        fiscal_year=str(first.fiscal_year), office_id=first.office_id, country_code="KEN", implementer="UNICEF",
        title=first.title, amount="123,456.78"), user_id=None, actor="tester", expected_version=first.version)
    session.commit()
    seen.append((_moment(), _all_totals(session)))

    delete_obligation(session, second, user_id=None, actor="tester", expected_version=second.version)
    create_obligation(session, ObligationIn(fiscal_year="2006", office_id=office.id, country_code="ALB",
                                            implementer="IOM", title="Typed in later", amount="5000"),
                      user_id=None, actor="tester")
    session.commit()
    seen.append((_moment(), _all_totals(session)))

    # A re-upload of the whole file supersedes it (a corrected amount, a row moved).
    rows[2][8], rows[4][2] = 650000, "Albania"
    result = do_import(write_xlsx(tmp_path / "v2.xlsx", [AGENCY_HEADERS, *rows]), source="agency", agency="DOS")
    assert result.superseded
    session.rollback()
    assert session.get(Obligation, third.id).current is False
    imports = session.exec(select(AuditEvent).where(AuditEvent.action == "import").order_by(AuditEvent.id)).all()
    assert [e.after["superseded"] for e in imports] == [[], result.superseded]
    superseded = session.exec(select(AuditEvent).where(AuditEvent.action == "submission.supersede")).one()
    assert superseded.entity_id == str(result.superseded[0]) and superseded.before == {"status": "committed"}
    assert superseded.after == {"status": "superseded", "by": result.submission_id}
    seen.append((_moment(), _all_totals(session)))

    # Each moment's totals differ from the next (every step changed them) and are rebuilt exactly.
    assert all(a[1] != b[1] for a, b in zip(seen, seen[1:]))
    for step, (moment, expected) in enumerate(seen):
        for by, rebuilt, then in zip(GROUPS, _as_of(session, moment), expected):
            assert rebuilt == then, (step, by)
    assert _as_of(session, utcnow()) == _all_totals(session)
    assert _as_of(session, seen[0][0] - timedelta(days=1)) == [[] for _ in GROUPS]  # before anything

    # The command gives the same, to the cent.
    for moment, expected in seen:
        out = runner.invoke(args=["totals", "--by", "fiscal_year,agency,country", "--json", "--as-of",
                                  moment.isoformat()])
        assert out.exit_code == 0, out.output
        printed = json.loads(out.output)
        assert [(r["fiscal_year"], r["country"], Decimal(r["amount"])) for r in printed] == \
            [(r["fiscal_year"], r["country"], r["amount"]) for r in expected[0]]
    out = runner.invoke(args=["totals", "--as-of", "yesterday-ish"])
    assert out.exit_code == 2 and "--as-of" in out.output and "YYYY-MM-DD" in out.output


def test_as_of_moments_people_type() -> None:
    assert parse_as_of("2026-03-31") == datetime(2026, 3, 31, 23, 59, 59, 999999, tzinfo=timezone.utc)
    assert parse_as_of("2026-03-31T14:05") == datetime(2026, 3, 31, 14, 5, tzinfo=timezone.utc)
    assert parse_as_of("2026-03-31T14:05:00-04:00") == datetime(2026, 3, 31, 18, 5, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_as_of("31/03/2026")
