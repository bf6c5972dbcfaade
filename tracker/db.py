"""The database: one engine per app, one session per request (cached on ``g``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, create_engine

#: The execution option that says how a SQLite transaction begins ("BEGIN" unless begin_write sets it).
_SQLITE_BEGIN = "tracker_sqlite_begin"
#: The key of the PostgreSQL advisory lock held by the import running (any fixed number will do).
IMPORT_LOCK_KEY = 0x74726B01


def make_engine(url: str, *, sqlite_busy_timeout: float = 30, echo: bool = False) -> Engine:
    """Build the engine for a database URL.

    SQLite gets foreign keys on, WAL journaling (readers don't wait for the writer), a busy
    timeout (a writer waits for another's lock instead of failing at once), and real
    transactions: the sqlite3 driver's own transaction handling is turned off and every
    transaction starts with BEGIN, as SQLAlchemy's documentation recommends.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"timeout": sqlite_busy_timeout,
                                                             "check_same_thread": False})
        _configure_sqlite(engine, sqlite_busy_timeout)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


def _configure_sqlite(engine: Engine, busy_timeout: float) -> None:
    in_memory = engine.url.database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            # A page cache sized for a million-row database (64 MB), and sorts in memory.
            cursor.execute("PRAGMA cache_size = -65536")
            cursor.execute("PRAGMA temp_store = MEMORY")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql(connection.get_execution_options().get(_SQLITE_BEGIN, "BEGIN"))


class DatabaseBusy(RuntimeError):
    """Another writer kept the database longer than this one would wait; nothing was written."""


def is_locked(exc: BaseException) -> bool:
    """SQLite's "database is locked" (SQLITE_BUSY and its kinds), as the driver raises it."""
    orig = getattr(exc, "orig", exc)
    return isinstance(exc, OperationalError) and (
        str(getattr(orig, "sqlite_errorname", "")).startswith("SQLITE_BUSY") or "database is locked" in str(orig))


def begin_write(session: Session) -> None:
    """Start the session's transaction as a writer (when it has not started yet).

    On SQLite this is BEGIN IMMEDIATE: the write lock is taken now, waiting up to the busy
    timeout for another writer to finish. A plain BEGIN that reads first and writes later fails
    at once with "database is locked" if another writer committed in between (in WAL mode the
    reader's snapshot cannot be upgraded, and the busy timeout does not apply), so whatever reads
    and then writes starts here. PostgreSQL needs nothing: its writers wait on row locks.

    :raises DatabaseBusy: SQLite's wait ran out (another import or change held the database)
    """
    if session.in_transaction() or session.get_bind().dialect.name != "sqlite":
        return
    try:
        session.connection(execution_options={_SQLITE_BEGIN: "BEGIN IMMEDIATE"})
    except OperationalError as exc:
        session.rollback()
        if not is_locked(exc):
            raise
        raise DatabaseBusy("the database is busy: another import or change kept it locked for longer than the "
                           "wait allowed (SQLITE_BUSY_TIMEOUT, 30 s unless configured); nothing was stored, "
                           "try again in a moment") from exc


def lock_imports(session: Session) -> None:
    """Make the session's transaction the only import writing until it ends.

    Imports read what is stored (the same file? which implementers exist? which earlier file
    does this one supersede? which flags exist?) and write on that basis, so two at once must not
    interleave. SQLite has one writer at a time anyway (begin_write); PostgreSQL gets a
    transaction-scoped advisory lock, released by the commit or rollback (or by the server when
    the process dies), and waits for it as long as the running import takes.
    """
    begin_write(session)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK_KEY})


def init_app(app: Flask) -> None:
    """Create the app's engine and close each request's session at teardown."""
    app.extensions["tracker.engine"] = make_engine(
        app.config["DATABASE_URL"], sqlite_busy_timeout=app.config["SQLITE_BUSY_TIMEOUT"]
    )
    app.teardown_appcontext(close_session)


def get_engine(app: Flask | None = None) -> Engine:
    """Return the app's engine."""
    return (app or current_app).extensions["tracker.engine"]


def get_session() -> Session:
    """Return this request's session, opening it on first use."""
    if "db_session" not in g:
        g.db_session = Session(get_engine(), expire_on_commit=False)
    return g.db_session


def close_session(_exc: BaseException | None = None) -> None:
    """Close the request's session; anything not committed is rolled back."""
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session for a command: committed when the block succeeds, rolled back when it raises."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
