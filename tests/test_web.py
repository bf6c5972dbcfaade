"""The web app's foundation: sign-in with CSRF, the home page behind it, the health check."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from tracker.models import AuditEvent
from tracker.users import create_user

PASSWORD = "a long enough passphrase"


def _csrf(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]


def _user(session: Session, username: str = "ana", role: str = "reviewer") -> None:
    create_user(session, username=username, role=role, password=PASSWORD)
    session.commit()


def test_pages_need_sign_in(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 302 and response.location.startswith("/login?next=")


def test_sign_in_then_home_then_sign_out(client: FlaskClient, session: Session) -> None:
    _user(session)
    response = client.post("/login?next=/", data={"username": "ana", "password": PASSWORD,
                                                  "csrf_token": _csrf(client)})
    assert response.status_code == 302 and response.location == "/"
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert "Anti-trafficking obligations" in home and "$0.00" in home  # the dashboard, nothing imported yet
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "sign_in")).one().actor == "ana"

    token = re.search(r'name="csrf_token" value="([^"]+)"', home)[1]
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_and_unknown_user_get_the_same_answer(client: FlaskClient, session: Session) -> None:
    _user(session)
    answers = []
    for username, password in (("ana", "wrong password!"), ("nobody", PASSWORD)):
        response = client.post("/login", data={"username": username, "password": password,
                                               "csrf_token": _csrf(client)})
        answers.append((response.status_code, "Unknown username or wrong password." in response.get_data(as_text=True)))
    assert answers == [(401, True), (401, True)]


def test_sign_in_without_csrf_token_is_refused(client: FlaskClient, session: Session) -> None:
    _user(session)
    response = client.post("/login", data={"username": "ana", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_next_never_leaves_the_site(client: FlaskClient, session: Session) -> None:
    _user(session)
    response = client.post("/login?next=//evil.example/x", data={"username": "ana", "password": PASSWORD,
                                                                 "csrf_token": _csrf(client)})
    assert response.location == "/"


def test_inactive_user_cannot_sign_in(client: FlaskClient, session: Session) -> None:
    _user(session)
    from tracker.models import User

    user = session.exec(select(User)).one()
    user.active = False
    session.add(user)
    session.commit()
    response = client.post("/login", data={"username": "ana", "password": PASSWORD, "csrf_token": _csrf(client)})
    assert response.status_code == 401


def test_health(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok", "schema_current": True}


def test_secret_key_is_generated_once_and_kept(tmp_path, db_url: str) -> None:
    from tracker import create_app

    config = {"DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path / "inst")}
    first: Flask = create_app(dict(config))
    second: Flask = create_app(dict(config))
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) == 64
    assert (tmp_path / "inst" / "secret_key").stat().st_mode & 0o077 == 0
    for app in (first, second):
        app.extensions["tracker.engine"].dispose()
