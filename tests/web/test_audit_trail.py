"""The audit trail through the web (issue 7, item 4): every route that changes something, and every
sign-in, sign-in failure and sign-out, leaves an event with who, when, from where, what, before and
after; earlier events are never touched; administrators (only) list, filter, page and download it."""

from __future__ import annotations

import csv
import io
import re
import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from tests.web.conftest import csrf_token
from tracker.audit import record_event
from tracker.models import Agency, AuditEvent, Flag, Obligation, Office, Program, User


def _trail(session: Session) -> list[tuple]:
    session.rollback()
    return [tuple(r) for r in session.execute(text(
        "SELECT id, at, actor, action, entity_type, entity_id, summary, ip FROM audit_event ORDER BY id")).all()]


def _new_events(session: Session, after_id: int) -> list[AuditEvent]:
    session.rollback()
    return list(session.exec(select(AuditEvent).where(AuditEvent.id > after_id).order_by(AuditEvent.id)).all())


def _form_of(page: str) -> dict[str, str]:
    """The values a form on a page would send (inputs and selected options)."""
    values = {m[1]: m[2] for m in re.finditer(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page)}
    for select_match in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, flags=re.S):
        chosen = re.search(r'<option[^>]*selected[^>]*value="([^"]*)"|<option[^>]*value="([^"]*)"[^>]*selected',
                           select_match[2])
        if chosen:
            values[select_match[1]] = chosen[1] or chosen[2]
    return values


def test_every_change_through_the_web_is_audited_and_nothing_earlier_is_touched(loaded, sign_in,
                                                                               session: Session) -> None:
    earlier = _trail(session)
    start = earlier[-1][0]

    # Sign-in failure, sign-in, a correction, a deletion, sign-out: agency staff of State.
    failed = loaded.test_client()
    token = csrf_token(failed.get("/login").get_data(as_text=True))
    assert failed.post("/login", data={"username": "t-state", "password": "not the one", "csrf_token": token}
                       ).status_code == 401
    state = sign_in("state")
    dos = session.exec(select(Obligation).join(Office, Office.id == Obligation.office_id)
                       .join(Agency, Agency.id == Office.agency_id)
                       .where(Agency.code == "DOS", Obligation.current == True)  # noqa: E712
                       .order_by(Obligation.id)).all()
    edited, deleted = dos[0], dos[1]
    edited_amount, deleted_amount = str(edited.amount), str(deleted.amount)
    page = state.get(f"/obligations/{edited.id}/edit").get_data(as_text=True)
    form = _form_of(page) | {"amount": "4,321.09", "csrf_token": csrf_token(page)}
    response = state.post(f"/obligations/{edited.id}/edit", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    detail = state.get(f"/obligations/{deleted.id}").get_data(as_text=True)
    assert "Delete this obligation" in detail
    response = state.post(f"/obligations/{deleted.id}/delete",
                          data={"csrf_token": csrf_token(detail), "version": str(deleted.version), "reason": "a copy"})
    assert response.status_code == 302
    assert "deleted" in state.get(f"/obligations/{deleted.id}").get_data(as_text=True)
    state.post("/logout", data={"csrf_token": csrf_token(state.get("/dashboard").get_data(as_text=True))})

    # A flag decision.
    reviewer = sign_in("reviewer")
    flag = session.exec(select(Flag).where(Flag.status == "open").order_by(Flag.id)).first()
    page = reviewer.get(f"/flags/{flag.id}").get_data(as_text=True)
    assert reviewer.post(f"/flags/{flag.id}", data={
        "csrf_token": csrf_token(page), "decision": "not_a_problem", "comment": "checked with the post",
        "version": str(flag.version)}).status_code == 302

    # Administration: a user, an account switched off, a ceiling, an alias.
    admin = sign_in("admin")
    page = admin.get("/admin/").get_data(as_text=True)
    token = csrf_token(page)
    assert admin.post("/admin/", data={"csrf_token": token, "user-username": "new-analyst", "user-role": "budget",
                                       "user-password": "a fine long password"}).status_code == 302
    budget = session.exec(select(User).where(User.username == "t-budget")).one()
    assert admin.post(f"/admin/users/{budget.id}/active", data={"csrf_token": token}).status_code == 302
    program = session.exec(select(Program).where(Program.ceiling != None)).first()  # noqa: E711
    old_ceiling = str(program.ceiling)
    assert admin.post(f"/admin/programs/{program.id}/ceiling", data={"csrf_token": token, "ceiling": "$51,000,000"}
                      ).status_code == 302
    assert admin.post("/admin/aliases", data={"csrf_token": token, "alias-kind": "country", "alias-alias": "Siam",
                                              "alias-target": "THA"}).status_code == 302

    events = _new_events(session, start)
    by_action: dict[str, list[AuditEvent]] = {}
    for event in events:
        by_action.setdefault(event.action, []).append(event)
        assert event.at is not None and event.actor and event.ip == "127.0.0.1", event
    assert by_action["sign_in.failed"][0].actor == "t-state"
    assert [e.actor for e in by_action["sign_in"]] == ["t-state", "t-reviewer", "t-admin"]
    assert by_action["sign_out"][0].actor == "t-state"
    update = by_action["obligation.update"][0]
    assert (update.actor, update.entity_id) == ("t-state", str(edited.id))
    assert update.before == {"amount": edited_amount} and update.after == {"amount": "4321.09"}
    removal = by_action["obligation.delete"][0]
    assert removal.entity_id == str(deleted.id) and removal.before["amount"] == deleted_amount
    assert removal.after["current"] is False
    decision = by_action["flag.decide"][0]
    assert decision.actor == "t-reviewer" and decision.before["status"] == "open"
    assert decision.after["decision"] == "not_a_problem"
    assert by_action["user.create"][0].after["username"] == "new-analyst"
    switch = by_action["user.update"][0]
    assert switch.before == {"active": True} and switch.after == {"active": False}
    ceiling = by_action["program.update"][0]
    assert ceiling.before == {"ceiling": old_ceiling} and ceiling.after == {"ceiling": "51000000.00"}
    assert by_action["alias.create"][0].after["alias"] == "Siam"

    # Append-only: everything that was there before is there unchanged.
    assert _trail(session)[: len(earlier)] == earlier


@pytest.mark.parametrize("role", ["reviewer", "budget", "jakarta", "state"])
def test_only_administrators_see_or_download_the_trail(sign_in, role: str) -> None:
    client = sign_in(role)
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit.csv").status_code == 403


def test_administrators_filter_page_and_download_the_trail(sign_in, session: Session) -> None:
    for n in range(60):
        record_event(session, action="test.bulk", actor="loader", entity_type="obligation", entity_id=n,
                     summary=f"bulk {n}")
    record_event(session, action="test.hostile", actor="@SUM(1+1)*cmd|' /C calc'!A0", summary="=1+1")
    session.commit()
    admin = sign_in("admin")

    first = admin.get("/admin/audit?action=test.bulk").get_data(as_text=True)
    assert 'data-testid="audit-count">60<' in first
    assert "bulk 59" in first and "bulk 10" in first and "bulk 9<" not in first  # newest 50 first
    second = admin.get("/admin/audit?action=test.bulk&page=2").get_data(as_text=True)
    assert "bulk 9<" in second and "bulk 0<" in second and "bulk 10<" not in second
    assert "Page 2 of 2" in second
    one = admin.get("/admin/audit?action=test.bulk&entity_type=obligation&entity_id=7").get_data(as_text=True)
    assert 'data-testid="audit-count">1<' in one and "bulk 7" in one
    assert 'data-testid="audit-count">0<' in admin.get("/admin/audit?since=2999-01-01").get_data(as_text=True)
    bad = admin.get("/admin/audit?since=yesterday").get_data(as_text=True)
    assert "is not a date (YYYY-MM-DD)" in bad
    assert 'data-testid="audit-count">60<' in admin.get("/admin/audit?actor=loader").get_data(as_text=True)

    download = admin.get("/admin/audit.csv?action=test.bulk")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(download.data.decode("utf-8-sig"))))
    assert rows[0][:6] == ["id", "at_utc", "actor", "user_id", "ip", "action"]
    assert len(rows) == 61 and {r[5] for r in rows[1:]} == {"test.bulk"}  # every page, not just one
    hostile = list(csv.reader(io.StringIO(admin.get("/admin/audit.csv?action=test.hostile").data.decode("utf-8-sig"))))
    assert hostile[1][2] == "'@SUM(1+1)*cmd|' /C calc'!A0" and hostile[1][8] == "'=1+1"
    session.rollback()
    exported = session.exec(select(AuditEvent).where(AuditEvent.action == "audit.export")).all()
    assert [e.actor for e in exported] == ["t-admin", "t-admin"]  # downloading the trail is itself recorded
