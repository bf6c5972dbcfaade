"""Schema migrations (Alembic) driven from the app: upgrade, downgrade, current, check."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine
from sqlmodel import SQLModel

import tracker.models  # noqa: F401  (registers the tables on SQLModel.metadata)


class SchemaNotCurrent(RuntimeError):
    """The database is not at the latest migration."""


def migrations_dir() -> Path:
    """The Alembic script folder: migrations/ in a source checkout, tracker.migrations when installed."""
    checkout = Path(__file__).resolve().parent.parent / "migrations"
    if (checkout / "env.py").exists():
        return checkout
    return Path(str(resources.files("tracker.migrations")))


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration for our migrations (and the database URL, if given)."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _run(engine: Engine, fn: Any, *args: Any) -> None:
    config = alembic_config()
    with engine.connect() as connection, foreign_keys_deferred(connection):
        with connection.begin():
            config.attributes["connection"] = connection
            fn(config, *args)
            check_foreign_keys(connection)


@contextmanager
def foreign_keys_deferred(connection: Connection) -> Iterator[None]:
    """On SQLite, let a migration rebuild tables that other rows refer to.

    SQLite alters most columns by "move and copy" (Alembic's batch mode): a new table is filled
    from the old one, which is then dropped. With foreign keys enforced, dropping a table that
    holds referenced rows fails (or would cascade), so a database with data could not be
    migrated at all. As Alembic's documentation advises, enforcement is off for the migration
    (the pragma only takes effect outside a transaction) and the references are checked with
    ``check_foreign_keys`` before it commits. Other databases alter in place: nothing to do.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    raw = connection.connection.driver_connection  # no transaction open yet: the pragma applies
    raw.execute("PRAGMA foreign_keys = OFF")
    try:
        yield
    finally:
        raw.execute("PRAGMA foreign_keys = ON")


def check_foreign_keys(connection: Connection) -> None:
    """Raise (so the migration's transaction rolls back) if any row refers to a missing one."""
    if connection.dialect.name != "sqlite":
        return
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        shown = "; ".join(f"{table} row {rowid} -> {parent}" for table, rowid, parent, _ in broken[:5])
        raise RuntimeError(f"the migration left {len(broken)} rows referring to missing rows ({shown}): "
                           "nothing was changed")


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database to a revision (default: the latest)."""
    _run(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str = "-1") -> None:
    """Downgrade the database to a revision ("base" empties it)."""
    _run(engine, command.downgrade, revision)


def head_revision() -> str | None:
    """The latest revision in the migration scripts."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: empty or never migrated)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_current(engine: Engine) -> bool:
    """Tell whether the database is at the latest revision."""
    return current_revision(engine) == head_revision()


def require_current(engine: Engine) -> None:
    """Raise SchemaNotCurrent, saying what to run, unless the database is at the latest revision."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        state = "empty" if current is None else f"at revision {current}"
        raise SchemaNotCurrent(f"the database is {state}, not at the latest revision {head}: "
                               "run `tracker db upgrade`")


def schema_differences(engine: Engine) -> list[Any]:
    """What autogenerate finds between the models and the migrated database (empty: in step)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                               "render_as_batch": True})
        return compare_metadata(context, SQLModel.metadata)
