"""`tracker backup` and `tracker restore` on the test database (SQLite file or PostgreSQL):
a restore brings back every row, the totals, the flags with their decisions and the audit trail
exactly as they were at backup time; files that are not tracker backups are refused with a
message and change nothing; a backup taken while another process writes is consistent."""

from __future__ import annotations

import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import Engine, text

from tests.snapshots import AGENCY, DOS_ROWS, MORE_ROWS, domain_view, every_row, fill_through_app
from tests.workbooks import Sheet, write_xlsx
from tracker import migrate
from tracker.backup import BackupError, backup, restore
from tracker.db import make_engine, session_scope
from tracker.users import create_user

def _without_restore_event(rows: dict[str, list[tuple[Any, ...]]], before: int) -> dict[str, list[tuple[Any, ...]]]:
    return {**rows, "audit_event": [r for r in rows["audit_event"] if r[0] <= before]}


def test_restore_brings_back_totals_flags_and_audit_trail_exactly(
        app: Flask, runner: FlaskCliRunner, do_import: Callable[..., Any], tmp_path: Path) -> None:
    engine = app.extensions["tracker.engine"]
    fill_through_app(app, do_import, tmp_path)
    at_backup, seen_at_backup = every_row(engine), domain_view(engine)
    assert seen_at_backup["totals"] and any(f["decision"] == "confirmed" for f in seen_at_backup["flags"])
    assert {"import", "flag.decide", "user.create"} <= {row[3] for row in seen_at_backup["audit"]}

    out = tmp_path / "saved" / "tracker.backup"
    result = runner.invoke(args=["backup", str(out)])
    assert result.exit_code == 0, result.output
    assert f"at revision {migrate.head_revision()}" in result.output and out.is_file()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # it holds password hashes

    # Life goes on: more imported, a decision undone by hand, a user added.
    assert do_import(write_xlsx(tmp_path / "more.xlsx", [Sheet("State", [AGENCY, *MORE_ROWS])]), source="agency",
                     agency="USAID").status == "committed"
    with session_scope(engine) as session:
        session.execute(text("DELETE FROM flag_decision"))
        session.execute(text("UPDATE flag SET status = 'open', decision = NULL, comment = NULL"))
        create_user(session, username="late", role="budget", password="yet another passphrase", actor="cli")
    changed = every_row(engine)
    assert changed != at_backup

    declined = runner.invoke(args=["restore", str(out)], input="n\n")
    assert declined.exit_code == 1 and "Replace everything in" in declined.output and "Aborted" in declined.output
    assert every_row(engine) == changed

    result = runner.invoke(args=["restore", str(out), "--yes"])
    assert result.exit_code == 0, result.output
    assert f"restored {out}" in result.output
    restored = every_row(engine)
    last_event = max(row[0] for row in at_backup["audit_event"])
    assert _without_restore_event(restored, last_event) == at_backup
    added = [r for r in restored["audit_event"] if r[0] > last_event]
    assert len(added) == 1 and "db.restore" in added[0] and f"restored the backup {out.name}" in str(added[0])
    seen = domain_view(engine)
    assert seen["audit"][:-1] == seen_at_backup["audit"]
    assert {k: v for k, v in seen.items() if k != "audit"} == {k: v for k, v in seen_at_backup.items() if k != "audit"}

    # The restored database is fully usable: new records get fresh ids (sequences came back too).
    assert do_import(write_xlsx(tmp_path / "again.xlsx", [Sheet("State", [AGENCY, *MORE_ROWS])]), source="agency",
                     agency="USAID").status == "committed"


def test_default_backup_goes_to_the_instance_backups_folder_and_never_overwrites(
        app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["backup"])
    assert result.exit_code == 0, result.output
    folder = Path(app.instance_path) / "backups"
    made = list(folder.iterdir())
    suffix = ".sqlite3" if app.config["DATABASE_URL"].startswith("sqlite") else ".pgdump"
    assert len(made) == 1 and made[0].name.startswith("tracker-") and made[0].suffix == suffix
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700

    again = runner.invoke(args=["backup", str(made[0])])
    assert again.exit_code == 1 and "already exists" in again.output and "Traceback" not in again.output
    assert list(folder.iterdir()) == made  # no partial file left behind either


def _non_tracker_sqlite(path: Path) -> Path:
    import sqlite3

    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    connection.commit()
    connection.close()
    return path


@pytest.mark.parametrize(("make", "reason"), [
    (lambda p: p.with_suffix(".missing"), "no such file"),
    (lambda p: (p.write_text("totals,1\n"), p)[1], "is not a tracker backup"),
    (lambda p: write_xlsx(p.with_suffix(".xlsx"), [["Fiscal Year", "Amount"], [2006, 1]]), "is not a tracker backup"),
    (lambda p: _non_tracker_sqlite(p.with_suffix(".db")), "is not a tracker database (no alembic_version"),
    (lambda p: (p.write_bytes(b"PGDMP" + bytes(200)), p)[1], "not a readable pg_dump archive"),
], ids=["missing", "text", "workbook", "other-sqlite", "damaged-pgdump"])
def test_what_is_not_a_tracker_backup_is_refused_and_changes_nothing(
        app: Flask, runner: FlaskCliRunner, do_import: Callable[..., Any], tmp_path: Path,
        make: Callable[[Path], Path], reason: str) -> None:
    engine = app.extensions["tracker.engine"]
    assert do_import(write_xlsx(tmp_path / "dos.xlsx", [Sheet("State", [AGENCY, *DOS_ROWS])]), source="agency",
                     agency="DOS").status == "committed"
    before = every_row(engine)
    bad = make(tmp_path / "not-a-backup")
    result = runner.invoke(args=["restore", str(bad), "--yes"])
    assert result.exit_code == 1
    assert f"{bad}" in result.output and reason in result.output, result.output
    assert "Traceback" not in result.output
    assert every_row(engine) == before


def test_a_backup_at_an_older_revision_comes_back_at_that_revision_and_upgrades(
        empty_db_url: str, runner: FlaskCliRunner, tmp_path: Path) -> None:
    """Restoring replaces the schema too: what later migrations added (tables, columns, trigger
    functions) goes, so `tracker db upgrade` then runs as on any database at that revision."""
    from alembic.script import ScriptDirectory
    from sqlalchemy import inspect

    head = migrate.head_revision()
    previous = ScriptDirectory.from_config(migrate.alembic_config()).get_revision(head).down_revision
    engine = make_engine(empty_db_url)
    migrate.upgrade(engine, previous)
    shape = {t: sorted(c["name"] for c in inspect(engine).get_columns(t)) for t in inspect(engine).get_table_names()}
    info = backup(empty_db_url, tmp_path / "old.backup")
    assert info.revision == previous
    migrate.upgrade(engine)
    engine.dispose()

    restore(empty_db_url, info.path)
    engine = make_engine(empty_db_url)
    assert migrate.current_revision(engine) == previous
    assert {t: sorted(c["name"] for c in inspect(engine).get_columns(t))
            for t in inspect(engine).get_table_names()} == shape
    migrate.upgrade(engine)
    assert migrate.is_current(engine) and migrate.schema_differences(engine) == []
    engine.dispose()


def _fresh_sqlite(path: Path) -> str:
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return url


def test_a_backup_from_a_newer_tracker_is_refused(tmp_path: Path) -> None:
    import sqlite3

    source = _fresh_sqlite(tmp_path / "live.db")
    info = backup(source, tmp_path / "b.sqlite3")
    connection = sqlite3.connect(info.path)
    connection.execute("UPDATE alembic_version SET version_num = '9999'")
    connection.commit()
    connection.close()
    with pytest.raises(BackupError, match="revision 9999, which this version of the tracker does not know"):
        restore(source, info.path)


def test_a_backup_of_the_other_kind_of_database_is_refused(db_url: str, tmp_path: Path) -> None:
    """A SQLite backup cannot go into PostgreSQL (and the reverse): the message says so."""
    other = _fresh_sqlite(tmp_path / "other.db")
    if db_url.startswith("sqlite"):
        # A pg_dump archive needs a server to make; here the SQLite file is the right kind.
        pytest.skip("needs a PostgreSQL database (TRACKER_TEST_DATABASE_URL) to have two kinds")
    info = backup(other, tmp_path / "sqlite.sqlite3")
    with pytest.raises(BackupError, match="is a SQLite backup; the database is PostgreSQL"):
        restore(db_url, info.path)


def test_missing_postgresql_client_tools_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(BackupError, match="pg_dump was not found on PATH: install the PostgreSQL client tools"):
        backup("postgresql+psycopg://tracker@127.0.0.1:1/tracker", tmp_path / "x.pgdump")
    assert list(tmp_path.iterdir()) == []  # nothing half-written


WRITER = textwrap.dedent("""
    import itertools, sys
    from tracker.db import make_engine, session_scope
    from tracker.records import ObligationIn, create_obligation
    from tests.factories import office_id

    engine = make_engine(sys.argv[1])
    for n in itertools.count():
        with session_scope(engine) as session:  # one obligation, its summary row and its audit event
            create_obligation(session, ObligationIn(fiscal_year="2009", office_id=office_id(session),
                              country_code="THA", implementer="", title=f"written {n}", amount=f"{n % 97}.{n % 100:02d}"),
                              user_id=None, actor="writer")
""")


def _consistent(engine: Engine) -> int:
    """Check what every writer transaction keeps true; return how many obligations it wrote."""
    with engine.connect() as connection:
        written = connection.execute(text("SELECT count(*), coalesce(sum(amount), 0) FROM obligation "
                                          "WHERE country_code = 'THA' AND fiscal_year = 2009")).one()
        summary = connection.execute(text("SELECT coalesce(sum(records), 0), coalesce(sum(amount), 0) "
                                          "FROM obligation_total WHERE country_code = 'THA' AND fiscal_year = 2009")).one()
        audited = connection.execute(text("SELECT count(*) FROM audit_event WHERE actor = 'writer'")).scalar_one()
        if engine.dialect.name == "sqlite":
            assert connection.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    assert tuple(summary) == tuple(written), "the summary disagrees with the records"
    assert audited == written[0], "an obligation without its audit event (or the reverse)"
    return int(written[0])


def test_backup_while_another_process_writes_is_consistent(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    root = Path(__file__).resolve().parent.parent
    writer = subprocess.Popen([sys.executable, "-c", WRITER, db_url], cwd=root, stderr=subprocess.PIPE, text=True)
    try:
        def written() -> int:
            with engine.connect() as connection:
                return int(connection.execute(text("SELECT count(*) FROM audit_event WHERE actor = 'writer'"))
                           .scalar_one())
        deadline = time.monotonic() + 60
        while written() < 30:
            assert writer.poll() is None, writer.stderr.read() if writer.stderr else "writer stopped"
            assert time.monotonic() < deadline, "the writer made no progress"
            time.sleep(0.1)
        info = backup(db_url, tmp_path / "during.backup")  # while the writer commits, many times a second
        started = written()
        time.sleep(0.5)
        assert written() > started, "the writer stopped during the backup: the test proved nothing"
    finally:
        writer.terminate()  # our own child, by its handle
        writer.communicate(timeout=30)
    final = _consistent(engine)
    engine.dispose()

    restore(db_url, info.path)
    engine = make_engine(db_url)
    in_backup = _consistent(engine)
    engine.dispose()
    assert 30 <= in_backup < final
