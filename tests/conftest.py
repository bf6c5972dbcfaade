"""Fixtures: a fresh migrated and seeded database per test (SQLite file, or PostgreSQL when
TRACKER_TEST_DATABASE_URL names a server), the app, a session, a client and a CLI runner.

The schema is built once per run through the real migrations and reference seed, kept as a
template, and copied for each test (a file copy on SQLite, CREATE DATABASE ... TEMPLATE on
PostgreSQL), so every test starts from the same state and may commit freely.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from tracker import create_app, migrate
from tracker.importing.pipeline import ImportRequest, import_and_commit
from tracker.importing.results import ImportResult
from tracker.db import make_engine, session_scope
from tracker.seed import seed_reference

#: A PostgreSQL server URL (any database on it): the database-facing tests then run there.
POSTGRES_URL = os.environ.get("TRACKER_TEST_DATABASE_URL")
DB_FIXTURES = {"db_url", "empty_db_url", "demo_db_url", "app", "session", "client", "runner"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that touches the database, so .ci/run can run them again on PostgreSQL."""
    for item in items:
        if DB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


def pytest_report_header() -> str:
    """Say which database the run uses."""
    backend = make_url(POSTGRES_URL).render_as_string(hide_password=True) if POSTGRES_URL else "SQLite files"
    return f"tracker test database: {backend}"


def _load_demo_into(url: str, root: Path) -> None:
    """The sample scenario (imports/samples) and one user per role, into a migrated database."""
    from tests.web.conftest import add_role_users
    from tracker.demo import load_demo

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x", "INSTANCE_PATH": str(root / "demo-instance")})
    load_demo(app)
    add_role_users(app)
    app.extensions["tracker.engine"].dispose()


class SqliteDatabases:
    """Fresh SQLite files, copied from a migrated and seeded template (or one with the sample
    scenario loaded, built on first use)."""

    backend = "sqlite"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.template = root / "template.db"
        self.demo_template: Path | None = None
        engine = make_engine(self.url(self.template))
        migrate.upgrade(engine)
        with session_scope(engine) as session:
            seed_reference(session)
        engine.dispose()

    def create_demo(self) -> str:
        if self.demo_template is None:
            path = self.root / "demo-template.db"
            shutil.copyfile(self.template, path)
            _load_demo_into(self.url(path), self.root)
            self.demo_template = path
        path = self.root / f"{uuid.uuid4().hex}.db"
        shutil.copyfile(self.demo_template, path)
        return self.url(path)

    @staticmethod
    def url(path: Path) -> str:
        return f"sqlite:///{path}"

    def create(self, *, empty: bool) -> str:
        path = self.root / f"{uuid.uuid4().hex}.db"
        if not empty:
            shutil.copyfile(self.template, path)
        return self.url(path)

    def drop(self, url: str) -> None:
        path = Path(make_url(url).database or "")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        pass


class PostgresDatabases:
    """Fresh PostgreSQL databases, created from a migrated and seeded template database."""

    backend = "postgresql"
    _counter = itertools.count()

    def __init__(self, server_url: str) -> None:
        self.server = make_url(server_url)
        self.admin = create_engine(self.server, isolation_level="AUTOCOMMIT")
        self.prefix = f"tracker_test_{os.getpid()}"
        self.template = f"{self.prefix}_template"
        self._execute(f'DROP DATABASE IF EXISTS "{self.template}"')
        self._execute(f'CREATE DATABASE "{self.template}"')
        engine = make_engine(self.url(self.template))
        migrate.upgrade(engine)
        with session_scope(engine) as session:
            seed_reference(session)
        engine.dispose()

    def _execute(self, sql: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(sql))

    def url(self, name: str) -> str:
        return self.server.set(database=name).render_as_string(hide_password=False)

    def create(self, *, empty: bool, template: str | None = None) -> str:
        name = f"{self.prefix}_{next(self._counter)}"
        template = template or (self.template if not empty else "template0")
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url(name)

    def create_demo(self) -> str:
        demo = f"{self.prefix}_demo"
        if not getattr(self, "_demo_built", False):
            self._execute(f'DROP DATABASE IF EXISTS "{demo}"')
            self._execute(f'CREATE DATABASE "{demo}" TEMPLATE "{self.template}"')
            import tempfile

            _load_demo_into(self.url(demo), Path(tempfile.mkdtemp()))
            self._demo_built = True
        return self.create(empty=False, template=demo)

    def drop(self, url: str) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')

    def close(self) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
        self._execute(f'DROP DATABASE IF EXISTS "{self.prefix}_demo" WITH (FORCE)')
        self.admin.dispose()


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteDatabases | PostgresDatabases]:
    """The run's database factory."""
    factory = PostgresDatabases(POSTGRES_URL) if POSTGRES_URL else SqliteDatabases(tmp_path_factory.mktemp("db"))
    yield factory
    factory.close()


@pytest.fixture
def db_url(databases: SqliteDatabases | PostgresDatabases) -> Iterator[str]:
    """URL of a fresh database at the latest schema, with reference data."""
    url = databases.create(empty=False)
    yield url
    databases.drop(url)


@pytest.fixture
def demo_db_url(databases: SqliteDatabases | PostgresDatabases) -> Iterator[str]:
    """URL of a fresh database holding the sample scenario and one user per role."""
    url = databases.create_demo()
    yield url
    databases.drop(url)


@pytest.fixture
def empty_db_url(databases: SqliteDatabases | PostgresDatabases) -> Iterator[str]:
    """URL of a fresh, empty database (no tables)."""
    url = databases.create(empty=True)
    yield url
    databases.drop(url)


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app on a fresh database, with its instance folder in the test's temp folder."""
    app = create_app({
        "TESTING": True,
        "DATABASE_URL": db_url,
        "SECRET_KEY": "test-secret",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "EXPORT_FOLDER": str(tmp_path / "exports"),
    })
    yield app
    app.extensions["tracker.engine"].dispose()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A session on the app's database (tests commit or not as they need)."""
    with Session(app.extensions["tracker.engine"], expire_on_commit=False) as session:
        yield session


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for the app."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """Runs the `tracker` commands against the app."""
    return app.test_cli_runner()


@pytest.fixture
def do_import(app: Flask) -> Callable[..., ImportResult]:
    """Import one file through the pipeline as the CLI does: ``do_import(path, source=..., ...)``."""
    def run(path: Path, source: str = "embassy", filename: str | None = None, **options: Any) -> ImportResult:
        if source == "embassy" and "country" not in options:
            options["country"] = "THA"
        request = ImportRequest(path=str(path), filename=filename or path.name, source=source, **options)
        with Session(app.extensions["tracker.engine"], expire_on_commit=False) as session:
            return import_and_commit(session, request)
    return run


@pytest.fixture
def cli_import(runner: FlaskCliRunner) -> Callable[..., tuple[int, list[dict[str, Any]]]]:
    """Run `tracker import ... --json`; return the exit code and the JSON objects printed."""
    def run(*args: str) -> tuple[int, list[dict[str, Any]]]:
        result = runner.invoke(args=["import", *args, "--json"])
        lines = [line for line in result.output.splitlines() if line.startswith("{")]
        return result.exit_code, [json.loads(line) for line in lines]
    return run
