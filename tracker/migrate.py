"""Schema migrations (Alembic) driven from the app: upgrade, downgrade, current, check."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
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
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        fn(config, *args)


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
