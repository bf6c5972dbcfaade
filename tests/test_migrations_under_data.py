"""Migrations under data, on SQLite and PostgreSQL: a database filled at an earlier revision
upgrades to the latest with every value intact and usable through the app's functions, and
downgrades back to that revision row for row; a database filled through the current app goes
down a few revisions and up again with the same totals, flags and audit trail.

The revisions come from Alembic's script directory, so a new migration is walked without
editing this file. The data is written at each revision with plain SQL through the tables as
they are there (reflected), because the app's code of that time is gone: a value for every
column any revision has, a column a revision lacks simply left out. A new NOT NULL column with
no server default fails the test with its name, so the data here grows with the schema.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import Engine, MetaData, Table, insert, inspect, select, text
from sqlmodel import Session, SQLModel

from tests.snapshots import domain_view, every_row, fill_through_app
from tracker import migrate
from tracker.db import make_engine, session_scope
from tracker.flags import FlagFilters, decide_flag, list_flags
from tracker.models import AuditEvent, User
from tracker.records import ObligationIn, create_obligation
from tracker.reporting import COUNTED_STATUSES, list_obligations, totals
from tracker.users import hash_password, verify_password

SCRIPTS = ScriptDirectory.from_config(migrate.alembic_config())
HEAD = SCRIPTS.get_current_head()
#: Every revision but the latest, oldest first: each is filled and taken to the latest and back.
EARLIER = [r.revision for r in reversed(list(SCRIPTS.walk_revisions())) if r.revision != HEAD]

PASSWORD = "a long enough passphrase"
T0, T1, T2 = (datetime(2026, 1, d, 9, 30, 15, tzinfo=timezone.utc) for d in (5, 6, 7))
HASH = hash_password(PASSWORD)


def _obligation(id: int, fy: int, office: int, country: str, title: str, amount: str, row: int, *,
                status: str = "obligated", current: bool = True, program: int | None = None,
                implementer: int | None = 1) -> dict[str, Any]:
    return {"id": id, "fiscal_year": fy, "office_id": office, "country_code": country, "program_id": program,
            "implementer_id": implementer, "implementer_name": "IOM" if implementer else "Winrock",
            "office_text": "State/INL" if office == 1 else None, "title": title, "area": "prevention",
            "award_number": f"AW-{id:03d}", "obligation_date": date(fy - 1, 11, id), "amount": Decimal(amount),
            "status": status, "submission_id": 1, "source_sheet": "State", "source_row": row, "current": current,
            "first_reported_at": T1 if id == 1 else None, "created_by_id": None, "created_at": T0,
            "updated_at": T0, "version": 1, "deleted_at": None}


#: A value for every column of every table, whatever the revision (columns a revision lacks are left out).
DATA: dict[str, list[dict[str, Any]]] = {
    "agency": [{"id": 1, "code": "DOS", "name": "Department of State"},
               {"id": 2, "code": "USAID", "name": "U.S. Agency for International Development"}],
    "office": [{"id": 1, "agency_id": 1, "code": "INL", "name": "Narcotics and Law Enforcement", "kind": "bureau",
                "parent_id": None, "active": True},
               {"id": 2, "agency_id": 2, "code": "JAKARTA", "name": "USAID/Indonesia", "kind": "mission",
                "parent_id": None, "active": True},
               {"id": 3, "agency_id": 1, "code": "NOT-STATED", "name": "office not stated", "kind": "not_stated",
                "parent_id": None, "active": False}],
    "country": [{"code": "ALB", "name": "Albania", "kind": "country", "region": "EUR", "iso2": "AL", "post": "Tirana"},
                {"code": "IDN", "name": "Indonesia", "kind": "country", "region": "EAP", "iso2": "ID",
                 "post": "Jakarta"}],
    "country_alias": [{"id": 1, "alias": "Republic of Indonesia", "key": "republic of indonesia",
                       "country_code": "IDN"}],
    "implementer": [{"id": 1, "name": "International Organization for Migration"}],
    "implementer_alias": [{"id": 1, "alias": "IOM", "key": "iom", "implementer_id": 1}],
    "program": [{"id": 1, "code": "PITI", "name": "Presidential initiative", "description": "The $50M initiative",
                 "ceiling": Decimal("50000000.00"), "first_fiscal_year": 2004, "last_fiscal_year": 2007}],
    "app_user": [{"id": 1, "username": "rita", "full_name": "Rita Reviewer", "email": "rita@example.org",
                  "password_hash": HASH, "role": "reviewer", "agency_id": None, "office_id": None, "active": True,
                  "created_at": T0, "last_login_at": T1},
                 {"id": 2, "username": "jakarta", "full_name": None, "email": None, "password_hash": HASH,
                  "role": "embassy", "agency_id": None, "office_id": None, "active": True, "created_at": T0,
                  "last_login_at": None}],
    "user_country": [{"user_id": 2, "country_code": "IDN"}],
    "submission": [{"id": 1, "filename": "dos.xlsx", "stored_path": None, "sha256": "a" * 64, "size_bytes": 5120,
                    "source_kind": "agency", "scope_key": "agency:DOS", "agency_id": 1, "office_id": None,
                    "country_code": None, "uploaded_by_id": None, "uploaded_at": T0, "status": "committed",
                    "supersedes_id": None, "rows_read": 6, "records": 5, "notes": {"skipped": ["row 9: a total"]}},
                   {"id": 2, "filename": "jakarta.xlsx", "stored_path": "uploads/2.xlsx", "sha256": "b" * 64,
                    "size_bytes": 2048, "source_kind": "embassy", "scope_key": "embassy:IDN", "agency_id": None,
                    "office_id": None, "country_code": "IDN", "uploaded_by_id": 2, "uploaded_at": T1,
                    "status": "committed", "supersedes_id": None, "rows_read": 2, "records": 2, "notes": None}],
    "submission_year": [{"submission_id": 2, "fiscal_year": 2006}],
    "column_mapping": [{"id": 1, "scope_key": "embassy:IDN", "header_key": "partner", "field_name": "implementer",
                        "updated_at": T1}],
    "obligation": [
        _obligation(1, 2006, 1, "IDN", "Safe migration information centers", "450000.00", 2),
        _obligation(2, 2006, 1, "IDN", "Safe migration information centers", "450000.00", 3),
        _obligation(3, 2007, 2, "ALB", "Shelter and reintegration", "1234567.89", 4, program=1, implementer=None),
        _obligation(4, 2007, 2, "ALB", "Shelter and reintegration", "-0.01", 5, status="de-obligated", program=1),
        _obligation(5, 2007, 1, "ALB", "Judges' training (proposed)", "999.99", 6, status="proposed"),
        _obligation(6, 2005, 1, "IDN", "Superseded by a later file", "77.77", 7, current=False),
    ],
    "embassy_report_row": [
        {"id": 1, "submission_id": 2, "country_code": "IDN", "fiscal_year": 2006, "agency_id": 1, "office_id": 1,
         "agency_text": "State", "implementer_id": 1, "implementer_name": "IOM", "title": "Safe migration info centers",
         "area": None, "amount": Decimal("450000.00"), "start_date": date(2006, 1, 15), "source_sheet": "Programs",
         "source_row": 2, "current": True},
        {"id": 2, "submission_id": 2, "country_code": "IDN", "fiscal_year": 2006, "agency_id": None,
         "office_id": None, "agency_text": None, "implementer_id": None, "implementer_name": "Vital Voices",
         "title": "Small grant: NGO outreach", "area": "protection", "amount": Decimal("20000.50"),
         "start_date": None, "source_sheet": "Programs", "source_row": 3, "current": True}],
    "report_match": [{"id": 1, "embassy_row_id": 1, "obligation_id": 1, "country_code": "IDN", "fiscal_year": 2006,
                      "score": 0.875, "evidence": {"title": 0.8, "amount": "same"}}],
    "flag": [
        {"id": 1, "type": "duplicate_entry", "status": "decided", "fingerprint": "f" * 64, "active": True,
         "country_code": "IDN", "fiscal_year": 2006, "program_id": None,
         "explanation": "State INL records 'Safe migration information centers' twice",
         "evidence": {"amount": "450000.00", "rows": [2, 3]}, "evidence_hash": "e" * 64, "records_hash": "r" * 64,
         "decision": "confirmed", "gao_class": None, "effect": "one copy to be removed",
         "comment": "entered twice by INL", "decided_by_id": 1, "decided_at": T2, "created_at": T1,
         "updated_at": T2, "version": 2},
        {"id": 2, "type": "not_in_agency_records", "status": "open", "fingerprint": "g" * 64, "active": True,
         "country_code": "IDN", "fiscal_year": 2006, "program_id": None,
         "explanation": "Jakarta lists a small grant no agency recorded", "evidence": None, "evidence_hash": None,
         "records_hash": None, "decision": None, "gao_class": None, "effect": None, "comment": None,
         "decided_by_id": None, "decided_at": None, "created_at": T1, "updated_at": T1, "version": 1}],
    "flag_record": [{"id": 1, "flag_id": 1, "obligation_id": 1, "embassy_row_id": None},
                    {"id": 2, "flag_id": 1, "obligation_id": 2, "embassy_row_id": None},
                    {"id": 3, "flag_id": 2, "obligation_id": None, "embassy_row_id": 2}],
    "flag_decision": [{"id": 1, "flag_id": 1, "decision": "confirmed", "gao_class": None,
                       "effect": "one copy to be removed", "comment": "entered twice by INL", "decided_by_id": 1,
                       "decided_at": T2}],
    "upload_job": [{"id": 1, "user_id": 2, "filename": "jakarta.xlsx", "stored_path": "uploads/2.xlsx",
                    "source_kind": "embassy", "country_code": "IDN", "agency": None, "fiscal_years": [2006],
                    "phase": "commit", "state": "done", "message": None, "result": {"status": "committed"},
                    "preview": None, "submission_id": 2, "created_at": T1, "updated_at": T1}],
    "audit_event": [
        {"id": 1, "at": T0, "user_id": None, "actor": "cli", "action": "import", "entity_type": "submission",
         "entity_id": "1", "summary": "imported dos.xlsx", "before": None, "after": {"records": 5}, "ip": None},
        {"id": 2, "at": T2, "user_id": 1, "actor": "rita", "action": "flag.decide", "entity_type": "flag",
         "entity_id": "1", "summary": "confirmed on flag 1 (duplicate_entry)", "before": {"status": "open"},
         "after": {"status": "decided", "version": 2}, "ip": "192.0.2.7"}],
}


def _summary_rows() -> list[dict[str, Any]]:
    """obligation_total as the app keeps it: current obligations summed by its keys."""
    sums: dict[tuple[Any, ...], list[Any]] = {}
    for o in DATA["obligation"]:
        if o["current"]:
            key = (o["fiscal_year"], o["office_id"], o["country_code"], o["program_id"], o["status"])
            found = sums.setdefault(key, [0, Decimal("0.00")])
            found[0] += 1
            found[1] += o["amount"]
    return [{"id": n, "fiscal_year": k[0], "office_id": k[1], "country_code": k[2], "program_id": k[3],
             "status": k[4], "records": v[0], "amount": v[1]} for n, (k, v) in enumerate(sorted(sums.items(), key=str), 1)]


DATA["obligation_total"] = _summary_rows()


def tables_at(engine: Engine) -> dict[str, Table]:
    """The tables as the database has them now, read with the app's column types where the app
    still has the column (money as cents on SQLite, aware UTC times, JSON)."""
    metadata = MetaData()
    metadata.reflect(engine)
    for table in metadata.tables.values():
        model = SQLModel.metadata.tables.get(table.name)
        for column in table.columns:
            if model is not None and column.name in model.c:
                column.type = model.c[column.name].type
    return dict(metadata.tables)


def _key(table: Table) -> list[Any]:
    return list(table.primary_key.columns)


def fill(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Write DATA through the tables as they are at the database's revision; return what was
    written (each row cut to the columns the revision has)."""
    tables = tables_at(engine)
    written: dict[str, list[dict[str, Any]]] = {}
    metadata = next(iter(tables.values())).metadata
    with engine.begin() as connection:
        for table in metadata.sorted_tables:
            if table.name not in DATA:
                continue
            columns = set(table.c.keys())
            rows = [{k: v for k, v in row.items() if k in columns} for row in DATA[table.name]]
            for column in table.columns:
                needed = (not column.nullable and column.server_default is None and column.name not in rows[0])
                assert not needed, (f"revision {migrate.current_revision(engine)}: {table.name}.{column.name} is "
                                    "required and has no default; give it a value in DATA")
            connection.execute(insert(table), rows)
            written[table.name] = rows
        if engine.dialect.name == "postgresql":  # explicit ids: move the sequences past them
            for name in written:
                if "id" in tables[name].c and tables[name].c.id.autoincrement:
                    connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                            f"(SELECT max(id) FROM {name}))"))
    return written


def read(engine: Engine, names: list[str], columns: dict[str, list[str]] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Rows of these tables (in key order), cut to the given columns of each."""
    tables = tables_at(engine)
    found = {}
    with engine.connect() as connection:
        for name in names:
            table = tables[name]
            keep = columns[name] if columns else list(table.c.keys())
            found[name] = [{k: row[k] for k in keep}
                           for row in connection.execute(select(table).order_by(*_key(table))).mappings()]
    return found


def shape(engine: Engine) -> dict[str, list[str]]:
    """Tables and their columns."""
    inspector = inspect(engine)
    return {t: sorted(c["name"] for c in inspector.get_columns(t)) for t in sorted(inspector.get_table_names())}


def _current(obligations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Obligations that count as current (before revision 0002 there was no superseding: all)."""
    return [o for o in obligations if o.get("current", True)]


def _expected_totals(obligations: list[dict[str, Any]]) -> dict[tuple[int, str, str], Decimal]:
    agency_of_office = {o["id"]: {a["id"]: a["code"] for a in DATA["agency"]}[o["agency_id"]] for o in DATA["office"]}
    expected: dict[tuple[int, str, str], Decimal] = {}
    for o in _current(obligations):
        if o["status"] in COUNTED_STATUSES:
            key = (o["fiscal_year"], agency_of_office[o["office_id"]], o["country_code"])
            expected[key] = expected.get(key, Decimal("0.00")) + o["amount"]
    return expected


def check_usable_at_head(engine: Engine, obligations: list[dict[str, Any]]) -> None:
    """What was written at the old revision reads right through today's functions."""
    with Session(engine) as session:
        for source in ("summary", "records"):
            got = {(r["fiscal_year"], r["agency"], r["country"]): r["amount"]
                   for r in totals(session, ["fiscal_year", "agency", "country"], source=source)}
            assert got == _expected_totals(obligations), source
        listed = {(r["title"], r["amount"], r["file"], r["row"]) for r in list_obligations(session)}
        assert listed == {(o["title"], o["amount"], "dos.xlsx", o["source_row"]) for o in _current(obligations)}
        flags = {f["id"]: f for f in list_flags(session, FlagFilters(include_inactive=True))}
        assert (flags[1]["status"], flags[1]["decision"], flags[1]["comment"]) == ("decided", "confirmed",
                                                                                   "entered twice by INL")
        assert {(r["file"], r["sheet"], r["row"]) for r in flags[1]["records"]} == {("dos.xlsx", "State", 2),
                                                                                   ("dos.xlsx", "State", 3)}
        assert {(r["file"], r["row"]) for r in flags[2]["records"]} == {("jakarta.xlsx", 3)}
        events = session.exec(select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
        assert [(e.at, e.actor, e.action, e.after) for e in events] == [
            (e["at"], e["actor"], e["action"], e["after"]) for e in DATA["audit_event"]]
        rita = session.exec(select(User).where(User.username == "rita")).scalar_one()
        assert verify_password(rita, PASSWORD)


def use_at_head(engine: Engine, obligations: list[dict[str, Any]]) -> None:
    """Today's write paths work on the migrated data: a new obligation (fresh id, summary kept,
    audited) and a decision on the open flag."""
    with session_scope(engine) as session:
        create_obligation(session, ObligationIn(fiscal_year="2006", office_id=1, country_code="IDN", implementer="IOM",
                                                title="Added after the upgrade", amount="10.05"),
                          user_id=1, actor="rita")
        rita = session.exec(select(User).where(User.username == "rita")).scalar_one()
        decide_flag(session, 2, decision="explained", comment="a post-funded small grant", by=rita)
    with Session(engine) as session:
        got = {(r["fiscal_year"], r["agency"], r["country"]): r["amount"]
               for r in totals(session, ["fiscal_year", "agency", "country"])}
        expected = _expected_totals(obligations)
        expected[(2006, "DOS", "IDN")] += Decimal("10.05")
        assert got == expected
        assert list_flags(session, FlagFilters(statuses=("open",))) == []


@pytest.mark.parametrize("revision", EARLIER)
def test_data_written_at_a_revision_survives_upgrade_and_downgrade(empty_db_url: str, revision: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        migrate.upgrade(engine, revision)
        before_shape = shape(engine)
        written = fill(engine)
        columns = {name: list(rows[0]) for name, rows in written.items()}
        assert read(engine, list(written), columns) == written

        migrate.upgrade(engine)
        assert read(engine, list(written), columns) == written, "a value changed on the way up"
        check_usable_at_head(engine, written["obligation"])

        migrate.downgrade(engine, revision)
        assert migrate.current_revision(engine) == revision
        assert shape(engine) == before_shape
        everything = read(engine, [t for t in before_shape if t != "alembic_version"])
        assert {t: rows for t, rows in everything.items() if rows} == written, "the downgrade lost or added rows"

        migrate.upgrade(engine)
        use_at_head(engine, written["obligation"])
    finally:
        engine.dispose()


#: How many of the latest migrations the round trip from the current app goes back through.
RECENT = 3


def test_data_from_the_current_app_goes_down_recent_revisions_and_back(
        app: Flask, do_import: Callable[..., Any], tmp_path: Path) -> None:
    engine = app.extensions["tracker.engine"]
    fill_through_app(app, do_import, tmp_path)
    rows, seen = every_row(engine), domain_view(engine)
    steps = [r.down_revision for r in list(SCRIPTS.walk_revisions())[:RECENT]]
    for target in steps:
        migrate.downgrade(engine, target)
        assert migrate.current_revision(engine) == target
        migrate.upgrade(engine)
        assert domain_view(engine) == seen, f"down to {target} and up again changed what the app shows"
        again = every_row(engine)
        # The summary table is rebuilt by its migration: same rows, ids in its own order.
        strip = {"obligation_total": lambda rs: sorted(r[1:] for r in rs)}
        assert {t: strip.get(t, list)(r) for t, r in again.items()} == {t: strip.get(t, list)(r) for t, r in rows.items()}
