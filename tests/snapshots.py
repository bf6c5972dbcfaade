"""What a database holds, read whole, to compare before and after something happened to it
(a backup and restore, a migration down and up, a killed import); and a database filled as a
few days' use would fill it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import Engine, MetaData, select, text
from sqlmodel import Session

from tests.workbooks import Sheet, write_openpyxl, write_xlsx
from tracker.db import session_scope
from tracker.flags import FlagFilters, decide_flag, flag_history, list_flags
from tracker.reporting import totals
from tracker.users import create_user

AGENCY = ["Fiscal Year", "Office", "Country", "Implementing Partner", "Project Title", "Amount"]
DOS_ROWS = [
    [2006, "INL", "Indonesia", "IOM", "Safe migration information centers", 450000],
    [2006, "INL", "Indonesia", "IOM", "Safe migration information centers", 450000],  # a duplicate entry
    [2006, "G/TIP", "Indonesia", "Winrock International", "Shelter and reintegration services", 300000],
    [2007, "PRM", "Albania", "UNICEF", "Training judges and prosecutors", 200000.55],
]
EMBASSY = ["Fiscal Year", "Agency", "Office", "Implementing Partner", "Project Title", "Amount (USD)"]
JAKARTA_ROWS = [
    [2006, "State", "INL", "IOM", "Safe migration info centers", "$450,000"],
    [2006, "State", "State/G-TIP", "Winrock Intl", "Shelter/reintegration svcs", "250,000"],  # amount mismatch
    [2006, "State", "Embassy Jakarta", "Vital Voices", "Small grant: NGO outreach", 20000],  # not in agency records
]
MORE_ROWS = [[2008, "INL", "Kenya", "IOM", "Victim hotline", 125000], [2008, "PRM", "Kenya", "UNHCR", "Shelter", 7500]]


def fill_through_app(app: Flask, do_import: Callable[..., Any], folder: Path) -> None:
    """What a tracker holds after a few days' use: an agency file and an embassy report imported
    (and so reconciled), a flag decided by a reviewer, users created (all audited)."""
    assert do_import(write_xlsx(folder / "dos.xlsx", [Sheet("State", [AGENCY, *DOS_ROWS])]), source="agency",
                     agency="DOS").status == "committed"
    assert do_import(write_openpyxl(folder / "jakarta.xlsx", [Sheet("Programs", [EMBASSY, *JAKARTA_ROWS])]),
                     source="embassy", country="IDN", fiscal_years=[2006]).status == "committed"
    with session_scope(app.extensions["tracker.engine"]) as session:
        reviewer = create_user(session, username="rita", role="reviewer", password="a long enough passphrase",
                               actor="cli")
        create_user(session, username="jakarta", role="embassy", countries=("IDN",),
                    password="another long passphrase", actor="cli")
        session.flush()
        flag = list_flags(session, FlagFilters(types=("duplicate_entry",)))[0]
        decide_flag(session, flag["id"], decision="confirmed", comment="entered twice by INL", by=reviewer,
                    gao_class=None, effect="one copy to be removed")


def every_row(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table the database has (reflected, so any revision), in a fixed order."""
    metadata = MetaData()
    metadata.reflect(engine)
    found = {}
    with engine.connect() as connection:
        for name, table in sorted(metadata.tables.items()):
            order = list(table.primary_key.columns) or list(table.columns)
            found[name] = [tuple(row) for row in connection.execute(select(table).order_by(*order))]
    return found


def domain_view(engine: Engine) -> dict[str, Any]:
    """What people read through the app: totals (summary and records), flags with decisions and
    their history, and the audit trail."""
    with Session(engine) as session:
        flags = list_flags(session, FlagFilters(include_inactive=True))
        return {
            "totals": totals(session, ["fiscal_year", "agency", "country"]),
            "totals_from_records": totals(session, ["fiscal_year", "agency", "country"], source="records"),
            "flags": flags,
            "decisions": {f["id"]: [(d.decision, d.comment, d.decided_by_id, d.decided_at)
                                    for d in flag_history(session, f["id"])] for f in flags},
            "audit": [tuple(row) for row in session.execute(text(
                "SELECT id, at, actor, action, entity_type, entity_id, summary FROM audit_event ORDER BY id"))],
        }
