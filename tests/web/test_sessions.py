"""Sessions and sign-in (issue 7, item 3), through the real app and database: CSRF on every
state-changing route, cookie flags, session expiry, sign-in throttling counted from the audit
trail, no user enumeration, scrypt password hashes, and security headers on every kind of response."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func
from sqlmodel import Session, select

from tests.web.conftest import PASSWORD, csrf_token
from tracker import create_app
from tracker.models import AuditEvent, Obligation, User
from tracker.users import create_user, verify_password

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def another_app(loaded: Flask, tmp_path) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """Another app (as another worker process would be) on the loaded app's database, with settings."""
    made: list[Flask] = []

    def make(**settings: Any) -> Flask:
        app = create_app({"TESTING": True, "DATABASE_URL": loaded.config["DATABASE_URL"], "SECRET_KEY": "test-secret",
                          "INSTANCE_PATH": str(tmp_path / f"instance{len(made)}"), **settings})
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["tracker.engine"].dispose()


def _sign_in(client: FlaskClient, username: str, password: str = PASSWORD, **kwargs: Any) -> Any:
    token = csrf_token(client.get("/login", **kwargs).get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token}, **kwargs)


def _message(response: Any) -> str:
    """The flashed message on a page (what the person is told)."""
    found = re.search(r'class="usa-alert__text">([^<]*)<', response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)[:3000]
    return found[1].strip()


def _count(session: Session, action: str) -> int:
    session.rollback()
    return session.exec(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)).one()


# --- CSRF -----------------------------------------------------------------------------------


def _example_url(rule: Any) -> str:
    """The rule's address with 1 for every argument (an int and a string converter both take it)."""
    return rule.build({name: 1 for name in rule.arguments})[1]


def test_every_state_changing_route_refuses_a_request_without_a_csrf_token(loaded: Flask, sign_in,
                                                                           session: Session) -> None:
    rules = [r for r in loaded.url_map.iter_rules() if STATE_CHANGING & set(r.methods or ())]
    endpoints = {r.endpoint for r in rules}
    assert {"auth.login", "auth.logout", "admin.index", "admin.toggle_user", "obligations.new", "obligations.delete",
            "review.flag", "uploads.new", "uploads.commit"} <= endpoints
    assert not [r for r in rules if r.endpoint.startswith("api.")]  # the CSRF-exempt API only reads
    admin = sign_in("admin")
    session.rollback()
    events = session.exec(select(func.count()).select_from(AuditEvent)).one()
    for rule in rules:
        url = _example_url(rule)
        for method in sorted(STATE_CHANGING & set(rule.methods or ())):
            for client in (admin, loaded.test_client()):
                response = client.open(url, method=method, data={"anything": "x"})
                assert response.status_code == 400, (method, url, response.status_code)
                assert "The form expired or was not sent from this site" in response.get_data(as_text=True)
                token_only = client.open(url, method=method, data={"csrf_token": "forged"})
                assert token_only.status_code == 400, (method, url)
    session.rollback()
    assert session.exec(select(func.count()).select_from(AuditEvent)).one() == events  # nothing happened


# --- cookies --------------------------------------------------------------------------------


def _session_cookie(response: Any) -> str:
    cookies = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
    assert cookies, response.headers
    return cookies[-1]


def test_session_cookie_is_httponly_lax_and_secure_over_https(loaded: Flask, another_app) -> None:
    plain = _sign_in(loaded.test_client(), "t-admin")
    assert plain.status_code == 302
    cookie = _session_cookie(plain)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "Expires=" in cookie  # ends with the sign-in's lifetime, not "whenever the browser closes"

    https = {"base_url": "https://tracker.example", "headers": {"Referer": "https://tracker.example/login"}}
    secure = _sign_in(loaded.test_client(), "t-admin", **https)
    assert secure.status_code == 302
    assert "Secure" in _session_cookie(secure) and "HttpOnly" in _session_cookie(secure)
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")

    # Behind a TLS-terminating proxy (TRUSTED_PROXIES=1), X-Forwarded-Proto says the request was HTTPS.
    proxied = another_app(TRUSTED_PROXIES=1).test_client()
    forwarded = {"headers": {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7",
                             "Referer": "https://localhost/login"}}
    response = _sign_in(proxied, "t-admin", **forwarded)
    assert response.status_code == 302 and "Secure" in _session_cookie(response)
    # ...and without a trusted proxy the same header is ignored.
    response = _sign_in(another_app().test_client(), "t-admin", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 302 and "Secure" not in _session_cookie(response)


def test_always_secure_cookies_when_configured(another_app) -> None:
    response = _sign_in(another_app(SESSION_COOKIE_SECURE=True).test_client(), "t-admin")
    assert "Secure" in _session_cookie(response)


# --- expiry ---------------------------------------------------------------------------------


def test_a_session_older_than_its_lifetime_is_signed_out_however_active(another_app, session: Session) -> None:
    app = another_app(PERMANENT_SESSION_LIFETIME=2)
    client = app.test_client()
    assert _sign_in(client, "t-reviewer").status_code == 302
    assert client.get("/dashboard").status_code == 200
    time.sleep(1.2)
    assert client.get("/dashboard").status_code == 200  # active: the cookie was re-signed just now
    time.sleep(1.2)  # 2.4 s after signing in, 1.2 s after the last request
    response = client.get("/dashboard")
    assert response.status_code == 302 and response.location.startswith("/login?next=")
    assert "Your session expired" in client.get(response.location).get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302  # signed out for good
    api = app.test_client()
    _sign_in(api, "t-reviewer")
    time.sleep(1.2)
    assert api.get("/api/totals").status_code == 200
    time.sleep(1.2)
    expired = api.get("/api/totals")
    assert expired.status_code == 401 and expired.get_json()["message"] == "Your session expired; sign in again."
    session.rollback()
    ends = session.exec(select(AuditEvent).where(AuditEvent.action == "sign_out")).all()
    assert [e.actor for e in ends] == ["t-reviewer", "t-reviewer"] and all("expired" in e.summary for e in ends)


# --- throttling and enumeration -----------------------------------------------------------------


def test_repeated_failures_throttle_a_username_even_with_the_right_password(loaded: Flask, another_app,
                                                                            session: Session) -> None:
    client = loaded.test_client()
    for _ in range(5):
        response = _sign_in(client, "t-reviewer", "wrong password!")
        assert response.status_code == 401 and _message(response) == "Unknown username or wrong password."
    refused = _sign_in(client, "t-reviewer")  # the right password
    assert refused.status_code == 429
    assert _message(refused) == "Too many failed sign-ins. Try again in 15 minutes."
    # Another worker process (another app on the same database) refuses too: the count is in the trail.
    assert _sign_in(another_app().test_client(), "t-reviewer").status_code == 429
    # Other people are not locked out.
    assert _sign_in(loaded.test_client(), "t-budget").status_code == 302
    assert _count(session, "sign_in.failed") == 5 and _count(session, "sign_in.throttled") == 2


def test_a_success_starts_the_count_again_and_the_window_passes(another_app) -> None:
    client = another_app(LOGIN_FAILURE_WINDOW=2).test_client()
    for _ in range(4):
        assert _sign_in(client, "t-admin", "not it at all").status_code == 401
    assert _sign_in(client, "t-admin").status_code == 302  # 4 < 5
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/", follow_redirects=True).get_data(as_text=True))})
    for _ in range(5):
        assert _sign_in(client, "t-admin", "not it at all").status_code == 401
    assert _sign_in(client, "t-admin").status_code == 429
    time.sleep(2.1)  # the failures leave the window
    assert _sign_in(client, "t-admin").status_code == 302


def test_repeated_failures_from_one_address_throttle_it(another_app) -> None:
    app = another_app(LOGIN_MAX_FAILURES_PER_IP=3)
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "198.51.100.9"
    for name in ("t-admin", "t-budget", "nobody"):  # a different username each time
        assert _sign_in(attacker, name, "guess guess guess").status_code == 401
    assert _sign_in(attacker, "t-state").status_code == 429
    colleague = app.test_client()
    colleague.environ_base["REMOTE_ADDR"] = "198.51.100.10"
    assert _sign_in(colleague, "t-state").status_code == 302


def _page_without_token(response: Any) -> str:
    return re.sub(r'value="[^"]*"', "", response.get_data(as_text=True))


def test_no_user_enumeration(loaded: Flask, session: Session) -> None:
    user = session.exec(select(User).where(User.username == "t-labor")).one()
    user.active = False
    session.add(user)
    session.commit()
    answers = {}
    for name, username, password in [("unknown", "nobody-here", PASSWORD), ("wrong", "t-budget", "wrong password!"),
                                     ("inactive", "t-labor", PASSWORD)]:
        response = _sign_in(loaded.test_client(), username, password)
        answers[name] = (response.status_code, _message(response),
                         _page_without_token(response).replace(username, "USERNAME"))
    assert answers["unknown"] == answers["wrong"] == answers["inactive"]
    assert answers["unknown"][:2] == (401, "Unknown username or wrong password.")
    # Throttled: the same for a known and an unknown username.
    client = loaded.test_client()
    throttled = {}
    for username in ("t-budget", "nobody-here"):
        for _ in range(5):
            _sign_in(client, username, "still wrong!!")
        response = _sign_in(client, username, PASSWORD)
        throttled[username] = (response.status_code, _message(response),
                               _page_without_token(response).replace(username, "USERNAME"))
    assert throttled["t-budget"] == throttled["nobody-here"]
    assert throttled["t-budget"][0] == 429


def test_passwords_are_stored_as_scrypt_hashes(loaded: Flask, session: Session) -> None:
    create_user(session, username="hash-check", role="budget", password="correct horse battery staple")
    session.commit()
    stored = session.exec(select(User).where(User.username == "hash-check")).one().password_hash
    assert stored.startswith("scrypt:") and "correct horse" not in stored
    assert len(stored.split("$")) == 3  # method, salt, hash
    assert _sign_in(loaded.test_client(), "hash-check", "correct horse battery staple").status_code == 302
    assert not verify_password(None, "correct horse battery staple")


# --- security headers -------------------------------------------------------------------------


def _assert_secure_headers(response: Any, where: str) -> None:
    policy = {d.split()[0]: d.split()[1:] for d in response.headers["Content-Security-Policy"].split("; ")}
    scripts = policy.get("script-src", policy["default-src"])
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts, where
    assert policy["default-src"] == ["'self'"] and policy["frame-ancestors"] == ["'none'"], where
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'self'"], where
    assert response.headers["X-Content-Type-Options"] == "nosniff", where
    assert response.headers["X-Frame-Options"] == "DENY", where
    assert response.headers["Referrer-Policy"] == "same-origin", where


def test_security_headers_on_every_kind_of_response(loaded: Flask, sign_in, another_app, session: Session) -> None:
    anonymous = loaded.test_client()
    admin, jakarta = sign_in("admin"), sign_in("jakarta")
    albania = session.exec(select(Obligation).where(Obligation.country_code == "ALB")).first()
    responses = {
        "sign-in page": anonymous.get("/login"),
        "redirect to sign in": anonymous.get("/dashboard"),
        "static file": anonymous.get("/static/tracker.css"),
        "health": anonymous.get("/healthz"),
        "CSRF refusal": anonymous.post("/login", data={}),
        "dashboard": admin.get("/dashboard"),
        "404": admin.get("/obligations/999999999"),
        "403": jakarta.get(f"/obligations/{albania.id}"),
        "API JSON": admin.get("/api/totals"),
        "API 401": anonymous.get("/api/totals"),
        "xlsx download": admin.get("/obligations.xlsx"),
        "csv download": admin.get("/admin/audit.csv"),
    }
    app = another_app()  # server errors shown as a page, not raised

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("a bug")

    responses["500"] = app.test_client().get("/boom")
    assert responses["500"].status_code == 500
    for where, response in responses.items():
        _assert_secure_headers(response, where)
        response.close()


@pytest.mark.parametrize("role", ["admin", "reviewer", "jakarta", "state"])
def test_pages_carry_no_inline_script_or_handler(sign_in, session: Session, role: str) -> None:
    """What the policy would block in a browser is absent from the pages (the browser tests in
    tests/browser/ also fail on any console error, CSP violations included)."""
    client = sign_in(role)
    obligation = session.exec(select(Obligation).where(Obligation.country_code == "IDN")).first()
    paths = ["/", "/dashboard", "/obligations", "/flags", "/upload", f"/obligations/{obligation.id}",
             "/admin/", "/admin/audit"]
    for path in paths:
        response = client.get(path)
        if response.status_code != 200:
            continue
        page = response.get_data(as_text=True)
        for script in re.findall(r"<script\b([^>]*)>(.*?)</script>", page, flags=re.S):
            attributes, body = script
            assert 'src="' in attributes or 'type="application/json"' in attributes, (path, attributes)
            assert 'src="' not in attributes or not body.strip(), path
        assert not re.search(r"<[^>]+\son[a-z]+\s*=", page), path  # no onclick= and the like
        assert "javascript:" not in page, path
