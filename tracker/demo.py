"""The sample scenario kept in imports/samples/ (agency workbooks and embassy spreadsheets, with
an answer key listing each file's kind), loaded with one action so a newcomer sees every journey
with real-looking data: `tracker serve --demo`, or the button administrators have."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask
from sqlmodel import Session, select

from tracker.db import get_engine
from tracker.importing.pipeline import ImportRequest, import_and_commit
from tracker.models import User
from tracker.users import create_user, generate_password

#: Demo accounts: one per role (an embassy officer for Indonesia, agency staff for State).
DEMO_USERS = (("reviewer", "reviewer", (), None), ("budget", "budget", (), None),
              ("jakarta", "embassy", ("IDN",), None), ("state", "agency", (), "DOS"))


def samples_folder(app: Flask) -> Path:
    """imports/samples next to the package (or where IMPORTS_FOLDER says)."""
    configured = app.config.get("IMPORTS_FOLDER")
    base = Path(configured) if configured else Path(__file__).resolve().parent.parent / "imports"
    return base / "samples"


def load_demo(app: Flask, *, actor: str = "demo") -> str:
    """Import every sample file as its answer key lists it, and create one account per role."""
    folder = samples_folder(app)
    key = json.loads((folder / "answer_key.json").read_text())
    years = key.get("fiscal_years") or []
    counts = {"committed": 0, "already-imported": 0, "other": 0}
    engine = get_engine(app)
    for entry in key["files"]:
        options = ({"source": "agency", "agency": entry["agency"]} if entry["kind"] == "agency" else
                   {"source": "embassy", "country": entry["country"], "fiscal_years": years or None})
        with Session(engine, expire_on_commit=False) as session:
            result = import_and_commit(session, ImportRequest(path=str(folder / entry["file"]), filename=entry["file"],
                                                              actor=actor, **options))
        counts[result.status if result.status in counts else "other"] += 1
    accounts = []
    with Session(engine) as session:
        for username, role, countries, agency in DEMO_USERS:
            if session.exec(select(User).where(User.username == username)).first():
                continue
            password = generate_password()
            create_user(session, username=username, role=role, password=password, countries=countries, agency=agency,
                        full_name=f"Demo {role}", actor=actor)
            accounts.append(f"{username} / {password}")
        session.commit()
    text = (f"Sample scenario: {counts['committed']} files imported, {counts['already-imported']} already there"
            + (f", {counts['other']} not imported" if counts["other"] else "") + ".")
    if accounts:
        text += " Demo accounts (role scope as named): " + "; ".join(accounts)
    return text
