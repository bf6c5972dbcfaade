"""Benchmark: the budget workbook for N obligations (default 100,000) against openpyxl's
write-only mode writing the same rows bare, in the same run, and peak memory.

    .venv/bin/python benchmarks/export_budget.py [--rows 100000]

Data: the synthetic database of benchmarks/reconcile_scale.py (reconciled, so the Flags and
Unaware sheets are full). "Bare" writes the Obligations sheet's rows (already read into memory)
with Workbook(write_only=True) and no formats; the export reads the database, writes every
sheet with formats and tables. Each step runs in a fresh process; peak memory is its peak RSS (VmHWM). The
export is also run at a quarter and half of the rows: its memory must stay flat.
Target: export at most 1.5 times the bare write.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def bare(url: str, out: str) -> dict:
    from openpyxl import Workbook
    from sqlmodel import Session

    from tracker.db import make_engine
    from tracker.exporting import _obligation_rows
    from tracker.reporting import BrowseQuery

    engine = make_engine(url)
    with Session(engine) as session:
        rows = [list(r) for r in _obligation_rows(session, BrowseQuery(), None)]
    started = time.perf_counter()
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Obligations")
    for row in rows:
        sheet.append(row)
    book.save(out)
    return {"seconds": time.perf_counter() - started, "rows": len(rows)}


def export(url: str, out: str) -> dict:
    from sqlmodel import Session

    from tracker.db import make_engine
    from tracker.exporting import budget_workbook
    from tracker.reporting import BrowseQuery

    engine = make_engine(url)
    started = time.perf_counter()
    with Session(engine) as session:
        held = budget_workbook(session, BrowseQuery(), out, by="benchmark")
    return {"seconds": time.perf_counter() - started, "rows": held["obligations"]}


def _peak_mb() -> float:
    """This process's peak resident memory. (getrusage's ru_maxrss would carry the parent's
    peak across fork and exec; the kernel's VmHWM belongs to this process image alone.)"""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(step: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--step", step, *args], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each at full size (median)")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.step:
        result = {"bare": bare, "export": export}[options.step](*options.args)
        result["peak_mb"] = _peak_mb()
        print(json.dumps(result))
        return
    from reconcile_scale import build, run_reconcile

    folder = tempfile.mkdtemp(prefix="tracker-export-")
    results = {}
    for size in (options.rows // 4, options.rows // 2, options.rows):
        url = f"sqlite:///{os.path.join(folder, f'e{size}.db')}"
        build(url, size, exact=True)
        run_reconcile(url)
        results[size] = _child("export", url, os.path.join(folder, f"export-{size}.xlsx"))
        print(f"export {results[size]['rows']:>9,} obligations: {results[size]['seconds']:6.1f} s  "
              f"peak {results[size]['peak_mb']:5.0f} MB", flush=True)
    # The full size again, alternating with the bare write so both see the same machine load;
    # medians of --repeat runs.
    exports, bares = [results[options.rows]["seconds"]], []
    for turn in range(options.repeat):
        base = _child("bare", url, os.path.join(folder, "bare.xlsx"))
        bares.append(base["seconds"])
        if turn:
            exports.append(_child("export", url, os.path.join(folder, "export-again.xlsx"))["seconds"])
    export_s, bare_s = statistics.median(exports), statistics.median(bares)
    print(f"bare write_only {base['rows']:>9,} rows: {bare_s:6.1f} s  peak {base['peak_mb']:5.0f} MB "
          f"(rows held in memory before writing)")
    print(f"export {options.rows:,} (median of {len(exports)}): {export_s:.1f} s; bare (median of {len(bares)}): "
          f"{bare_s:.1f} s")
    print(f"ratio export / bare write: {export_s / bare_s:.2f}  (target <= 1.5)")
    sizes = sorted(results)
    print(f"peak memory {results[sizes[-1]]['peak_mb'] / results[sizes[0]]['peak_mb']:.2f} times at "
          f"{sizes[-1] // sizes[0]} times the rows (flat: about 1)")


if __name__ == "__main__":
    main()
