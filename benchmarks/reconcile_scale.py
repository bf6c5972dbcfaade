"""Benchmark: full reconcile of synthetic data at growing sizes, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/reconcile_scale.py [--sizes 10000,100000,1000000]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test] [--sqlite-only]

For each size, obligations are spread over ~190 countries and 10 fiscal years; most
country-years have an embassy report listing most of their obligations (abbreviated titles,
some amounts off), plus programs no agency recorded. As in real data, the number of partners
grows with the data (one per ~400 obligations) and titles say where the work happens, so a
bigger database means more programs, not the same few repeated. Data is written straight into
the tables (the import pipeline has its own benchmark); the timed step is `reconcile` of
everything, in a fresh process. Prints seconds, rows per second, the growth ratio between
sizes (10x the data must cost at most 12x the time) and peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

ACTIVITIES = [
    ("Shelter and reintegration services for trafficking victims", "Shelter/reintegration svcs"),
    ("Training judges and prosecutors on anti-trafficking law", "Judges/prosecutors TIP training"),
    ("Law enforcement capacity building to identify and rescue victims", "LE capacity bldg - victim ID"),
    ("Prevention of child labor trafficking in agriculture", "Child labor trafficking prevention (agri)"),
    ("Safe migration information centers", "Safe migration info centers"),
    ("Public awareness campaign on trafficking risks", "Public awareness campaign"),
    ("Hotline and referral network for victims", "Victim hotline/referral"),
    ("Legislative drafting assistance for anti-trafficking statute", "TIP law drafting assistance"),
    ("Psychosocial support for survivors of trafficking", "Psychosocial support - survivors"),
    ("Border police training on trafficking indicators", "Border police TIP training"),
    ("Community-based prevention for at-risk youth", "At-risk youth prevention"),
    ("Victim assistance and voluntary repatriation", "Victim assistance & repatriation"),
    ("Labor inspector training to detect forced labor", "Labor inspector training"),
    ("Legal aid clinics for trafficking survivors", "Legal aid for survivors"),
    ("Economic empowerment for women at risk of trafficking", "Economic empowerment (women)"),
    ("Strengthening national anti-trafficking task forces", "Task force strengthening"),
]
SYLLABLES = ["ka", "lo", "mi", "ra", "te", "vo", "su", "ne", "di", "ba", "zo", "ri", "ma", "tu", "le", "go", "pa", "shi"]
KINDS = ["Foundation", "Relief", "Aid", "Initiative", "Trust", "Society", "Network", "Alliance", "Center", "Fund"]


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def build(url: str, size: int, seed: int = 7, exact: bool = False) -> dict:
    """Fill a fresh database with ``size`` obligations and matching embassy reports (rounded down
    to a whole number per country-year unless ``exact``)."""
    from sqlalchemy import insert, select
    from sqlmodel import Session

    from tracker import migrate
    from tracker.db import make_engine, session_scope
    from tracker.models import (Country, EmbassyReportRow, Implementer, Obligation, Office, Submission,
                                SubmissionYear)
    from tracker.seed import seed_reference

    rng = random.Random(seed)
    engine = make_engine(url)
    migrate.upgrade(engine)
    with session_scope(engine) as session:
        seed_reference(session)
    with Session(engine) as session:
        # Ordered, so the same seed builds the same data on every database.
        countries = list(session.exec(select(Country.code).where(Country.kind == "country")
                                      .order_by(Country.code)).scalars())[:190]
        offices = [(o.id, o.agency_id) for o in session.exec(select(Office).order_by(Office.id)).scalars()
                   if o.code != "NOT-STATED"]
        implementers = list(session.exec(select(Implementer.id, Implementer.name).order_by(Implementer.id)).all())
        # Real data grows in partners and programs, not only in rows: one partner per ~400
        # obligations, and titles naming where the work happens.
        names = sorted({f"{_word(rng)} {rng.choice(KINDS)}" for _ in range(size // 400)})
        if names:
            session.execute(insert(Implementer), [{"name": n} for n in names])
            implementers = list(session.exec(select(Implementer.id, Implementer.name).order_by(Implementer.id)).all())
        places = [_word(rng) for _ in range(400)]
        years = list(range(2001, 2011))
        blocks = [(c, y) for c in countries for y in years]
        per_block = max(1, size // len(blocks))
        extra = size - per_block * len(blocks) if exact else 0
        now = datetime.now(timezone.utc)
        agency_sub = session.execute(insert(Submission).returning(Submission.id), [{
            "filename": "synthetic-agency.xlsx", "sha256": f"a{size}{seed}", "size_bytes": 1, "source_kind": "agency",
            "scope_key": "agency:DOS", "status": "committed", "uploaded_at": now, "rows_read": size,
            "records": size}]).scalar_one()
        obligations, reports, submissions = [], [], {}
        reported = {c for c in countries if rng.random() < 0.85}
        for country in reported:
            submissions[country] = session.execute(insert(Submission).returning(Submission.id), [{
                "filename": f"post-{country}.xlsx", "sha256": f"e{country}{size}{seed}", "size_bytes": 1,
                "source_kind": "embassy", "scope_key": f"embassy:{country}", "country_code": country,
                "status": "committed", "uploaded_at": now}]).scalar_one()
            session.execute(insert(SubmissionYear), [{"submission_id": submissions[country], "fiscal_year": y}
                                                     for y in years])
        made = 0
        for index, (country, year) in enumerate(blocks):
            for _ in range(per_block + (index < extra)):
                office, agency = rng.choice(offices)
                implementer_id, implementer = rng.choice(implementers)
                title, short = rng.choice(ACTIVITIES)
                place = rng.choice(places)
                title, short = f"{title} in {place}", f"{short} ({place})"
                amount = Decimal(rng.randrange(10, 2000)) * 1000
                day = date(year - 1, 10, 1) + timedelta(days=rng.randrange(360))
                obligations.append({"fiscal_year": year, "office_id": office, "country_code": country,
                                    "implementer_id": implementer_id, "implementer_name": implementer, "title": title,
                                    "amount": amount, "obligation_date": day, "status": "obligated",
                                    "submission_id": agency_sub, "source_sheet": "Obligations",
                                    "source_row": made + 2, "current": True, "created_at": now, "updated_at": now,
                                    "version": 1})
                made += 1
                if country in reported and rng.random() < 0.7:
                    off = amount if rng.random() < 0.85 else amount + Decimal(rng.randrange(1, 50)) * 1000
                    reports.append({"submission_id": submissions[country], "country_code": country,
                                    "fiscal_year": year, "agency_id": agency, "office_id": office,
                                    "implementer_id": implementer_id, "implementer_name": implementer,
                                    "title": short, "amount": off, "start_date": day, "source_sheet": "Programs",
                                    "source_row": len(reports) + 2, "current": True})
            if country in reported and rng.random() < 0.3:
                implementer_id, implementer = rng.choice(implementers)
                reports.append({"submission_id": submissions[country], "country_code": country, "fiscal_year": year,
                                "agency_id": None, "office_id": None, "implementer_id": implementer_id,
                                "implementer_name": implementer, "title": "Small grant: NGO outreach",
                                "amount": Decimal(20000), "start_date": None, "source_sheet": "Programs",
                                "source_row": len(reports) + 2, "current": True})
            if len(obligations) >= 20000:
                session.execute(insert(Obligation), obligations)
                obligations = []
        if obligations:
            session.execute(insert(Obligation), obligations)
        for start in range(0, len(reports), 20000):
            session.execute(insert(EmbassyReportRow), reports[start:start + 20000])
        from tracker.summary import refresh_totals

        refresh_totals(session)  # as every import does for what it touches
        session.commit()
    engine.dispose()
    return {"obligations": made, "report_rows": len(reports), "blocks": len(blocks)}


def run_reconcile(url: str) -> dict:
    """Reconcile everything; time it."""
    from sqlmodel import Session

    from tracker.db import make_engine
    from tracker.reconcile import reconcile

    engine = make_engine(url)
    started = time.perf_counter()
    with Session(engine) as session:
        report = reconcile(session)
        session.commit()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "blocks": report.blocks, "matches": report.matches, "flags": report.flags_by_type,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _child(step: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--step", step, *args], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def _databases(options: argparse.Namespace, size: int) -> list[tuple[str, str]]:
    folder = tempfile.mkdtemp(prefix="tracker-reconcile-")
    found = [] if options.postgres_only else [("SQLite", f"sqlite:///{os.path.join(folder, f'r{size}.db')}")]
    if options.postgres and not options.sqlite_only:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        server = make_url(options.postgres)
        name = f"tracker_bench_{size}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        found.append(("PostgreSQL", server.set(database=name).render_as_string(hide_password=False)))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--postgres-only", action="store_true")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.step == "build":
        print(json.dumps(build(options.args[0], int(options.args[1]))))
        return
    if options.step == "reconcile":
        print(json.dumps(run_reconcile(options.args[0])))
        return
    previous: dict[str, tuple[int, float]] = {}
    for size in (int(s) for s in options.sizes.split(",")):
        for backend, url in _databases(options, size):
            built = _child("build", url, str(size))
            result = _child("reconcile", url)
            line = (f"{backend:10} {built['obligations']:>9,} obligations {built['report_rows']:>9,} report rows: "
                    f"reconcile {result['seconds']:7.1f} s  {built['obligations'] / result['seconds']:>8,.0f} obligations/s"
                    f"  peak {result['peak_mb']:5.0f} MB")
            if backend in previous:
                size0, seconds0 = previous[backend]
                line += f"  growth x{result['seconds'] / seconds0:.1f} for x{built['obligations'] / size0:.0f} data"
            previous[backend] = (built["obligations"], result["seconds"])
            print(line, flush=True)
            print(f"           flags: {result['flags']}", flush=True)


if __name__ == "__main__":
    main()
