"""The `tracker` command: help texts, users, and clear errors without tracebacks."""

from __future__ import annotations

import pytest
from flask.testing import FlaskCliRunner
from sqlmodel import Session, select

from tracker.models import AuditEvent, User, UserCountry
from tracker.users import verify_password


def test_top_level_help_lists_the_commands() -> None:
    from click.testing import CliRunner

    from tracker.cli import main

    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("db", "seed", "serve", "users", "TRACKER_DATABASE_URL"):
        assert command in result.output


@pytest.mark.parametrize("args", [["db"], ["db", "upgrade"], ["db", "downgrade"], ["db", "check"], ["seed"],
                                  ["users"], ["users", "create"], ["users", "list"], ["serve"]])
def test_every_command_has_help(runner: FlaskCliRunner, args: list[str]) -> None:
    result = runner.invoke(args=[*args, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output
    doc_line = result.output.split("\n\n")[1].strip()
    assert doc_line and not doc_line.startswith("Options")


def test_create_users_of_every_role(runner: FlaskCliRunner, session: Session) -> None:
    result = runner.invoke(args=["users", "create", "--role", "admin"])
    assert result.exit_code == 0, result.output
    assert "created admin user 'admin'" in result.output
    password = result.output.split("password: ")[1].strip()
    admin = session.exec(select(User).where(User.username == "admin")).one()
    assert verify_password(admin, password) and admin.password_hash.startswith("scrypt:")

    assert runner.invoke(args=["users", "create", "--role", "admin"]).output.startswith("created admin user 'admin2'")
    result = runner.invoke(args=["users", "create", "bangkok", "--role", "embassy", "--country", "THA",
                                 "--country", "Burma", "--password", "correct horse battery"])
    assert result.exit_code == 0 and "password:" not in result.output
    session.rollback()  # end this session's read snapshot; the command committed on its own
    officer = session.exec(select(User).where(User.username == "bangkok")).one()
    assert set(session.exec(select(UserCountry.country_code).where(UserCountry.user_id == officer.id))) == {"THA", "MMR"}

    assert runner.invoke(args=["users", "create", "inl", "--role", "agency", "--agency", "State/INL"]).exit_code == 0
    assert runner.invoke(args=["users", "create", "labor", "--role", "agency", "--agency", "DOL"]).exit_code == 0
    session.rollback()
    inl = session.exec(select(User).where(User.username == "inl")).one()
    labor = session.exec(select(User).where(User.username == "labor")).one()
    assert inl.office_id is not None and inl.agency_id is not None
    assert labor.office_id is None and labor.agency_id is not None
    for role in ("reviewer", "budget"):
        assert runner.invoke(args=["users", "create", "--role", role]).exit_code == 0
    listed = runner.invoke(args=["users", "list"]).output
    session.rollback()
    assert all(name in listed for name in ("admin", "bangkok", "inl", "reviewer", "budget"))
    assert len(session.exec(select(AuditEvent).where(AuditEvent.action == "user.create")).all()) == 7


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--role", "embassy"], "needs at least one country"),
     (["--role", "embassy", "--country", "Congo"], "could be"),
     (["--role", "embassy", "--country", "Narnia"], "not a known country"),
     (["--role", "agency"], "need an agency"),
     (["--role", "agency", "--agency", "Ministry of Magic"], "not a known agency or office"),
     (["--role", "admin", "--password", "short"], "at least 12 characters"),
     (["--role", "wizard"], "Invalid value for '--role'")],
)
def test_bad_user_requests_say_why_and_store_nothing(runner: FlaskCliRunner, session: Session,
                                                     args: list[str], message: str) -> None:
    result = runner.invoke(args=["users", "create", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert session.exec(select(User)).all() == []


def test_duplicate_username_is_refused(runner: FlaskCliRunner) -> None:
    assert runner.invoke(args=["users", "create", "ana", "--role", "reviewer"]).exit_code == 0
    result = runner.invoke(args=["users", "create", "ana", "--role", "budget"])
    assert result.exit_code == 1 and "already a user called 'ana'" in result.output


def test_set_password(runner: FlaskCliRunner, session: Session) -> None:
    runner.invoke(args=["users", "create", "ana", "--role", "reviewer"])
    result = runner.invoke(args=["users", "set-password", "ana", "--password", "a new long passphrase"])
    assert result.exit_code == 0
    session.rollback()
    assert verify_password(session.exec(select(User).where(User.username == "ana")).one(), "a new long passphrase")
    assert "no user called 'bob'" in runner.invoke(args=["users", "set-password", "bob"]).output
