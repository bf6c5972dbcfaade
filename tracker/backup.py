"""Backups of the whole database, and restoring one: `tracker backup` and `tracker restore`.

SQLite is copied with its online backup API (``sqlite3.Connection.backup``): one read
transaction, so the copy is a consistent snapshot even while the app keeps writing (WAL lets
the writers go on). PostgreSQL is dumped with ``pg_dump -Fc`` (a consistent snapshot too) and
restored with ``pg_restore --clean --if-exists --single-transaction``, so a failed restore
changes nothing. Restoring replaces everything in the database with what the backup holds.

A backup is recognised before anything is touched: a SQLite file holding the tracker's tables
and a revision, or a pg_dump archive holding them; anything else is refused with a message.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from tracker import migrate

#: Tables whose presence marks a database (or a dump) as the tracker's.
MARKER_TABLES = ("alembic_version", "obligation", "submission", "flag", "audit_event")
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class BackupError(ValueError):
    """A backup or restore that cannot be done, with the reason in words."""


@dataclass
class BackupInfo:
    """What a backup file holds: which database kind, at which schema revision, how big."""

    path: Path
    backend: str  # "sqlite" or "postgresql"
    revision: str
    size_bytes: int

    def describe(self) -> str:
        """One line for the console."""
        kind = "SQLite" if self.backend == "sqlite" else "PostgreSQL"
        return f"{self.path}: {kind} backup at revision {self.revision}, {self.size_bytes:,} bytes"


def backend_of(url: str) -> str:
    """"sqlite" or "postgresql" for a database URL; anything else cannot be backed up."""
    name = make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"cannot back up a {name} database: only SQLite and PostgreSQL are supported")
    return name


def default_backup_path(instance_path: str | os.PathLike[str], url: str, now: datetime | None = None) -> Path:
    """Where `tracker backup` writes when no file is named: instance/backups/, next to the data
    (and to the secret key) rather than in exports/, which is for files meant to be shared."""
    suffix = ".sqlite3" if backend_of(url) == "sqlite" else ".pgdump"
    return Path(instance_path) / "backups" / f"tracker-{(now or datetime.now()):%Y-%m-%d-%H%M%S}{suffix}"


# --- backing up ---------------------------------------------------------------------------


def backup(url: str, out: str | os.PathLike[str]) -> BackupInfo:
    """Write a backup of the database at ``url`` to ``out`` (which must not exist yet).

    The file is written under a temporary name and renamed when complete, so a failed backup
    never leaves a partial file that looks like a backup. It is readable by its owner only: it
    holds password hashes.
    """
    target = Path(out)
    if target.exists():
        raise BackupError(f"{target} already exists: name a new file (a backup never overwrites one)")
    backend = backend_of(url)
    if backend == "sqlite" and target.resolve() == _sqlite_path(url).resolve():
        raise BackupError(f"{target} is the database itself: name another file")
    created_folder = not target.parent.exists()
    target.parent.mkdir(parents=True, exist_ok=True)
    if created_folder:
        target.parent.chmod(0o700)
    handle, partial = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(handle)
    try:
        if backend == "sqlite":
            _sqlite_backup(url, Path(partial))
        else:
            _pg_dump(url, Path(partial))
        info = inspect_backup(partial)
        os.chmod(partial, 0o600)
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    info.path = target
    return info


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _sqlite_backup(url: str, out: Path) -> None:
    source_path = _sqlite_path(url)
    if not source_path.exists():
        raise BackupError(f"there is no database at {source_path}")
    # Read-write mode (never creating): a read-only connection cannot open a WAL database whose
    # shared-memory file is missing; the backup itself only reads.
    source = sqlite3.connect(f"{source_path.resolve().as_uri()}?mode=rw", uri=True, timeout=30)
    destination = sqlite3.connect(out)
    try:
        _require_tracker_tables(source, f"the database {source_path}")
        source.backup(destination)  # every page in one step: one read transaction, one snapshot
        # A self-contained file: no -wal beside it to forget when copying it elsewhere.
        destination.execute("PRAGMA journal_mode = DELETE")
    finally:
        destination.close()
        source.close()


def _pg_dump(url: str, out: Path) -> None:
    target, env = _libpq(url)
    _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={out}",
          f"--dbname={target}"], env, "pg_dump")


# --- recognising a backup -----------------------------------------------------------------


def inspect_backup(path: str | os.PathLike[str]) -> BackupInfo:
    """What a file holds, if it is a tracker backup; BackupError saying why it is not otherwise."""
    file = Path(path)
    if not file.is_file():
        raise BackupError(f"{file}: no such file")
    with file.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        backend, revision = "sqlite", _sqlite_revision(file)
    elif head.startswith(PG_DUMP_MAGIC):
        backend, revision = "postgresql", _pg_dump_revision(file)
    else:
        raise BackupError(f"{file} is not a tracker backup (neither a SQLite database nor a pg_dump archive): "
                          "make one with `tracker backup`")
    known = {script.revision for script in ScriptDirectory.from_config(migrate.alembic_config()).walk_revisions()}
    if revision not in known:
        raise BackupError(f"{file} is a backup at schema revision {revision}, which this version of the tracker "
                          f"does not know (its latest is {migrate.head_revision()}): restore it with the version "
                          "that made it")
    return BackupInfo(path=file, backend=backend, revision=revision, size_bytes=file.stat().st_size)


def _require_tracker_tables(connection: sqlite3.Connection, what: str) -> None:
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = [t for t in MARKER_TABLES if t not in tables]
    if missing:
        raise BackupError(f"{what} is not a tracker database (no {', '.join(missing)} table)")


def _sqlite_revision(file: Path) -> str:
    try:
        connection = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
        try:
            if connection.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupError(f"{file} is a damaged SQLite file (quick_check failed): it cannot be restored")
            _require_tracker_tables(connection, f"{file}")
            found = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{file} cannot be read as a SQLite backup: {exc}") from exc
    if len(found) != 1:
        raise BackupError(f"{file} is not a tracker backup (it records no schema revision)")
    return str(found[0][0])


def _pg_dump_revision(file: Path) -> str:
    pg_restore = _pg_tool("pg_restore")
    listing = _run([pg_restore, "--list", str(file)], None, "pg_restore --list",
                   bad_file=f"{file} is not a readable pg_dump archive")
    tables = set(re.findall(r" TABLE public (\w+) ", listing))
    missing = [t for t in MARKER_TABLES if t not in tables]
    if missing:
        raise BackupError(f"{file} is a pg_dump archive but not of a tracker database (no {', '.join(missing)} table)")
    data = _run([pg_restore, "--data-only", "--table=alembic_version", "--file=-", str(file)], None,
                "pg_restore", bad_file=f"{file} is not a readable pg_dump archive")
    rows = re.search(r"^COPY public\.alembic_version .*?FROM stdin;\n(.*?)^\\\.$", data, re.S | re.M)
    revisions = rows[1].split() if rows else []
    if len(revisions) != 1:
        raise BackupError(f"{file} is not a tracker backup (it records no schema revision)")
    return revisions[0]


# --- restoring ----------------------------------------------------------------------------


def restore(url: str, path: str | os.PathLike[str]) -> BackupInfo:
    """Replace everything in the database at ``url`` with the backup at ``path``.

    The backup is checked first (a tracker backup, of this kind of database, at a revision this
    version knows); if it is refused, or the restore fails part-way, the database is unchanged.
    Close the app's connections before, and dispose of its engine after.
    """
    info = inspect_backup(path)
    backend = backend_of(url)
    if info.backend != backend:
        kinds = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
        raise BackupError(f"{info.path} is a {kinds[info.backend]} backup; the database is {kinds[backend]}: "
                          "restore it into a database of the same kind")
    if backend == "sqlite":
        _sqlite_restore(url, info.path)
    else:
        _pg_restore(url, info.path)
    return info


def audit_restore(url: str, info: BackupInfo, *, actor: str) -> bool:
    """Record the restore in the restored audit trail (when the backup is at the latest schema;
    an older one is audited by nothing until `tracker db upgrade`). Returns whether it did."""
    if info.revision != migrate.head_revision():
        return False
    from tracker.audit import record_event
    from tracker.db import make_engine, session_scope

    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            record_event(session, action="db.restore", actor=actor, entity_type="database",
                         summary=f"restored the backup {info.path.name} (revision {info.revision})")
    finally:
        engine.dispose()
    return True


def _sqlite_restore(url: str, file: Path) -> None:
    target = _sqlite_path(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
    destination = sqlite3.connect(target, timeout=30)
    try:
        # The backup API again, the other way: the live file's pages are replaced under its write
        # lock in one step, so other connections see the old database or the restored one, never a mix.
        source.backup(destination)
        destination.execute("PRAGMA journal_mode = WAL")  # as the app runs it
        if destination.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise BackupError(f"{target} failed its integrity check after the restore")
    finally:
        destination.close()
        source.close()


def _pg_restore(url: str, file: Path) -> None:
    target, env = _libpq(url)
    _run([_pg_tool("pg_restore"), "--clean", "--if-exists", "--single-transaction", "--exit-on-error",
          "--no-owner", "--no-privileges", f"--dbname={target}", str(file)], env, "pg_restore")
    _drop_what_the_backup_lacks(url, file)


def _drop_what_the_backup_lacks(url: str, file: Path) -> None:
    """--clean drops and recreates what the backup holds; tables, views and functions made after
    it (a later migration's) would otherwise stay behind and break the next `db upgrade`."""
    listing = _run([_pg_tool("pg_restore"), "--list", str(file)], None, "pg_restore --list")
    kept_relations = set(re.findall(r" (?:TABLE|VIEW|MATERIALIZED VIEW|SEQUENCE) public (\w+) ", listing))
    kept_functions = set(re.findall(r" FUNCTION public (\w+)\(", listing))
    from tracker.db import make_engine

    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            relations = connection.execute(text(
                "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'm', 'S', 'p')")).all()
            kinds = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE"}
            for name, kind in relations:
                if name not in kept_relations:
                    connection.execute(text(f'DROP {kinds[kind]} IF EXISTS public."{name}" CASCADE'))
            functions = connection.execute(text(
                "SELECT p.oid::regprocedure::text, p.proname FROM pg_proc p JOIN pg_namespace n "
                "ON n.oid = p.pronamespace WHERE n.nspname = 'public'")).all()
            for signature, name in functions:
                if name not in kept_functions:
                    connection.execute(text(f"DROP FUNCTION IF EXISTS {signature} CASCADE"))
    finally:
        engine.dispose()


# --- PostgreSQL client tools --------------------------------------------------------------


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The libpq connection URI for a SQLAlchemy URL, with the password passed in the
    environment (PGPASSWORD) rather than on a command line other users can see."""
    parsed: URL = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} was not found on PATH: install the PostgreSQL client tools "
                          f"(e.g. apt install postgresql-client) in a version at least the server's")
    return found


def _run(args: list[str], env: dict[str, str] | None, what: str, *, bad_file: str | None = None) -> str:
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode:
        detail = (done.stderr or done.stdout).strip().splitlines()
        message = bad_file or f"{what} failed"
        raise BackupError(f"{message}: {detail[-1] if detail else f'exit status {done.returncode}'}")
    return done.stdout
