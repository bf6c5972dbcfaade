"""Migrations: empty to head and back to base through the `tracker db` commands, one head,
and no difference between the models and the migrations (what `alembic check` verifies)."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import inspect
from sqlmodel import SQLModel

from tracker import create_app, migrate
from tracker.cli import main
from tracker.db import make_engine


def _tracker(db_url: str, tmp_path: Path, *args: str) -> str:
    """Run the real `tracker` command group (as the console script does) on a database."""
    env = {"TRACKER_DATABASE_URL": db_url, "TRACKER_INSTANCE_PATH": str(tmp_path / "instance")}
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_upgrade_from_empty_to_head_and_downgrade_to_base(empty_db_url: str, tmp_path: Path) -> None:
    engine = make_engine(empty_db_url)
    assert inspect(engine).get_table_names() == []

    out = _tracker(empty_db_url, tmp_path, "db", "upgrade")
    assert f"revision {migrate.head_revision()}" in out
    tables = set(inspect(engine).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables
    assert migrate.schema_differences(engine) == []

    out = _tracker(empty_db_url, tmp_path, "db", "downgrade", "base")
    assert "revision base" in out
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}

    _tracker(empty_db_url, tmp_path, "db", "upgrade")  # and up again: downgrade left nothing behind
    assert migrate.is_current(engine)
    engine.dispose()


def test_models_and_migrations_agree(db_url: str, tmp_path: Path) -> None:
    """`tracker db check` is autogenerate's comparison: it fails when a migration is missing."""
    assert "models and migrations agree" in _tracker(db_url, tmp_path, "db", "check")


def test_check_fails_when_a_model_changes_without_a_migration(db_url: str) -> None:
    from sqlalchemy import Column, Integer

    engine = make_engine(db_url)
    table = SQLModel.metadata.tables["country"]
    extra = Column("not_migrated", Integer)
    table.append_column(extra)
    try:
        differences = migrate.schema_differences(engine)
    finally:
        table._columns.remove(extra)  # leave the shared metadata as it was
    assert any("not_migrated" in str(d) for d in differences)
    engine.dispose()


def test_one_head_and_a_linear_history() -> None:
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    assert len(scripts.get_heads()) == 1
    for revision in scripts.walk_revisions():
        assert not isinstance(revision.down_revision, tuple), f"{revision.revision} is a merge"


def test_commands_refuse_an_unmigrated_database(empty_db_url: str, tmp_path: Path) -> None:
    env = {"TRACKER_DATABASE_URL": empty_db_url, "TRACKER_INSTANCE_PATH": str(tmp_path / "instance")}
    result = CliRunner().invoke(main, ["seed"], env=env)
    assert result.exit_code == 1
    assert "run `tracker db upgrade`" in result.output
    assert "Traceback" not in result.output


def test_health_reports_a_database_behind_the_migrations(empty_db_url: str, tmp_path: Path) -> None:
    app = create_app({"DATABASE_URL": empty_db_url, "INSTANCE_PATH": str(tmp_path / "i"), "SECRET_KEY": "x"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "schema-behind", "schema_current": False}
    app.extensions["tracker.engine"].dispose()
