"""Alembic environment: our models' metadata, and the connection the app (or the URL) gives."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import tracker.models  # noqa: F401  (registers the tables on SQLModel.metadata)

config = context.config
if config.config_file_name is not None:  # run by the `alembic` command with alembic.ini
    from logging.config import fileConfig

    fileConfig(config.config_file_name)
target_metadata = SQLModel.metadata


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=True,  # SQLite ALTERs go through batch mode (copy and move)
        **kwargs,
    )


def run_migrations_offline() -> None:
    """Emit SQL to stdout (alembic upgrade --sql)."""
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run on the connection the tracker passes in, or on one made from the URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    from tracker.db import make_engine
    from tracker.migrate import check_foreign_keys, foreign_keys_deferred

    engine = make_engine(_url())
    with engine.connect() as connection, foreign_keys_deferred(connection):  # as `tracker db` does
        with connection.begin():
            _configure(connection=connection)
            with context.begin_transaction():
                context.run_migrations()
            check_foreign_keys(connection)
    engine.dispose()


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    import os

    url = os.environ.get("TRACKER_DATABASE_URL")
    if not url:
        raise SystemExit("set TRACKER_DATABASE_URL (or use `tracker db upgrade`, which knows the default)")
    return url


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
