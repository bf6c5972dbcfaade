"""Web fixtures: the app with the sample scenario (imports/samples) loaded, and signed-in clients
for each role."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session

from tracker.users import create_user

PASSWORD = "a long enough passphrase"
ROLES = {"admin": ("admin", (), None), "reviewer": ("reviewer", (), None), "budget": ("budget", (), None),
         "jakarta": ("embassy", ("IDN",), None), "tirana": ("embassy", ("ALB",), None),
         "state": ("agency", (), "DOS"), "labor": ("agency", (), "DOL")}


def add_role_users(app: Flask) -> None:
    """One user per role name in ROLES (t-admin, t-jakarta, ...)."""
    with Session(app.extensions["tracker.engine"]) as session:
        for username, (role, countries, agency) in ROLES.items():
            create_user(session, username=f"t-{username}", role=role, password=PASSWORD, countries=countries,
                        agency=agency)
        session.commit()


@pytest.fixture
def loaded(demo_db_url: str, tmp_path) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    """The app on a database holding the sample scenario (imported and reconciled once per run,
    copied for each test) and one user per role."""
    from tracker import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": demo_db_url, "SECRET_KEY": "test-secret",
                      "INSTANCE_PATH": str(tmp_path / "instance"), "UPLOADS_IN_BACKGROUND": False,
                      "RAISE_SERVER_ERRORS": True})
    yield app
    app.extensions["tracker.engine"].dispose()


@pytest.fixture
def session(loaded: Flask) -> Iterator[Session]:
    """A session on the loaded app's database."""
    with Session(loaded.extensions["tracker.engine"], expire_on_commit=False) as session:
        yield session


def csrf_token(page: str) -> str:
    """The CSRF token in a page's form."""
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page)
    assert found, "no CSRF token on the page"
    return found[1]


@pytest.fixture
def sign_in(loaded: Flask) -> Callable[[str], FlaskClient]:
    """A client signed in as a test user of the given role name (admin, reviewer, jakarta, ...)."""
    def client_for(name: str) -> FlaskClient:
        client = loaded.test_client()
        token = csrf_token(client.get("/login").get_data(as_text=True))
        response = client.post("/login", data={"username": f"t-{name}", "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client
    return client_for
