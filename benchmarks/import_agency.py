"""Benchmark: import an agency workbook of N rows (default 100,000) and compare with the time
openpyxl (read_only, values_only) takes merely to read the same file, in the same run.

    .venv/bin/python benchmarks/import_agency.py [--rows 100000] [--keep DIR]

Prints rows per second, the ratio import/bare-read (target: at most 1.5), and the peak memory
(RSS) of each step, each measured in a fresh child process; and, for the streaming CSV format,
peak memory at a quarter, half and all of the rows, which must stay flat as the file grows.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta

HEADERS = ["Fiscal Year", "Bureau/Office", "Country", "Implementing Partner", "Project Title", "Program Area",
           "Initiative", "Award Number", "Obligation Date", "Amount Obligated (USD)", "Status", "Notes"]
OFFICES = ["G/TIP", "INL", "PRM", "DRL", "DS", "State/INL", "DOS-PRM", "Embassy Jakarta"]
COUNTRIES = ["Albania", "Indonesia", "Burma", "Cote d'Ivoire", "Kosovo", "Brazil", "Mexico", "Nepal", "Global"]
PARTNERS = ["IOM", "UNICEF", "Winrock International", "Save the Children", "International Justice Mission",
            "Int'l Org. for Migration", "Vital Voices", "ECPAT International"]
AREAS = ["Prevention", "Protection", "Prosecution"]


def _row(i: int) -> list:
    fy = 2005 + i % 3
    return [fy, OFFICES[i % len(OFFICES)], COUNTRIES[i % len(COUNTRIES)], PARTNERS[i % len(PARTNERS)],
            f"Program {i} against trafficking", AREAS[i % 3], None, f"DOS-{fy % 100:02d}-{i:06d}",
            date(fy - 1, 10, 1) + timedelta(days=i % 360), 1000 + (i % 997) * 25 + (i % 100) / 100,
            "Obligated", None]


def write_xlsx(path: str, rows: int) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Obligations")
    sheet.append(HEADERS)
    for i in range(rows):
        sheet.append(_row(i))
    book.save(path)


def write_csv(path: str, rows: int) -> None:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for i in range(rows):
            writer.writerow(["" if v is None else v for v in _row(i)])


def bare_read(path: str) -> dict:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    count = sum(1 for _ in book.worksheets[0].iter_rows(values_only=True))
    book.close()
    return {"rows": count}


def tracker_import(path: str, db: str) -> dict:
    from tracker.db import make_engine, session_scope
    from tracker import migrate
    from tracker.seed import seed_reference
    from tracker.importing.pipeline import ImportRequest, import_and_commit
    from sqlmodel import Session

    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    engine = make_engine(f"sqlite:///{db}")
    migrate.upgrade(engine)
    with session_scope(engine) as session:
        seed_reference(session)
    started = time.perf_counter()
    with Session(engine) as session:
        result = import_and_commit(session, ImportRequest(path=path, filename=os.path.basename(path),
                                                          source="agency", agency="DOS"))
    seconds = time.perf_counter() - started
    return {"status": result.status, "records": result.records, "errors": result.error_count, "import_seconds": seconds}


def _child(step: str, *args: str) -> dict:
    """Run a step in a fresh process; return its result, wall seconds and peak RSS (MB)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--step", step, *args], capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    data = json.loads(done.stdout.strip().splitlines()[-1])
    data.setdefault("seconds", seconds)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keep", help="keep the generated files in this folder")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.step:
        started = time.perf_counter()
        result = {"read": lambda: bare_read(*options.args),
                  "import": lambda: tracker_import(*options.args)}[options.step]()
        result["seconds"] = time.perf_counter() - started
        result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    folder = options.keep or tempfile.mkdtemp(prefix="tracker-bench-")
    os.makedirs(folder, exist_ok=True)
    n = options.rows
    xlsx = os.path.join(folder, f"agency_{n}.xlsx")
    print(f"writing {n:,} rows to {xlsx} ...", flush=True)
    write_xlsx(xlsx, n)
    print(f"  {os.path.getsize(xlsx) / 1e6:.1f} MB")
    read = _child("read", xlsx)
    imported = _child("import", xlsx, os.path.join(folder, "bench.db"))
    assert imported["status"] == "committed" and imported["records"] == n, imported
    ratio = imported["import_seconds"] / read["seconds"]
    print(f"openpyxl read_only bare read : {read['seconds']:7.2f} s   peak {read['peak_mb']:6.0f} MB")
    print(f"tracker import (SQLite)      : {imported['import_seconds']:7.2f} s   peak {imported['peak_mb']:6.0f} MB   "
          f"{n / imported['import_seconds']:,.0f} rows/s")
    print(f"ratio import / bare read     : {ratio:7.2f}   (target <= 1.5)")
    print("streaming CSV, peak memory as the file grows:")
    for part in (n // 4, n // 2, n):
        path = os.path.join(folder, f"agency_{part}.csv")
        write_csv(path, part)
        run = _child("import", path, os.path.join(folder, f"csv_{part}.db"))
        assert run["status"] == "committed" and run["records"] == part, run
        print(f"  {part:>9,} rows: {run['import_seconds']:6.2f} s  {part / run['import_seconds']:>9,.0f} rows/s  "
              f"peak {run['peak_mb']:5.0f} MB")


if __name__ == "__main__":
    main()
