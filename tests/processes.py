"""Real OS processes running the `tracker` command, for the concurrency and crash-safety tests.

Each process runs the command line (`tracker import ...`) as the installed `tracker` script does,
against the database its environment names. They are forked from a multiprocessing forkserver
that has imported the tracker once, so each starts in milliseconds rather than the seconds a
fresh interpreter takes here: processes started together really run together, and a test can
kill many of them within its time budget.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

_PRELOAD = ["tracker", "tracker.cli", "tracker.views", "tracker.importing.pipeline", "tracker.reconcile",
            "tracker.flags", "openpyxl"]
_context: ForkServerContext | None = None


def context() -> ForkServerContext:
    """The forkserver context, its server preloaded with the tracker (started on first use)."""
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(_PRELOAD)
        warm_up = _context.Process(target=_nothing)  # start the server now, not inside a timed test step
        warm_up.start()
        warm_up.join()
    return _context


def _nothing() -> None:
    pass


def _main(args: list[str], env: dict[str, str], folder: str, barrier: Any) -> None:
    """In the child: its environment and output files, wait for the others, run `tracker ARGS`."""
    os.environ.update(env)
    sys.stdout = open(os.path.join(folder, "stdout"), "w", buffering=1, encoding="utf-8")  # noqa: SIM115
    sys.stderr = open(os.path.join(folder, "stderr"), "w", buffering=1, encoding="utf-8")  # noqa: SIM115
    from tracker.cli import main

    if barrier is not None:
        barrier.wait(timeout=120)
    times = os.path.join(folder, "times")
    with open(times, "w", encoding="utf-8") as handle:
        handle.write(json.dumps({"started": time.time()}) + "\n")
    try:
        main(args=args, prog_name="tracker")
    finally:
        with open(times, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"ended": time.time()}) + "\n")


@dataclass
class TrackerProcess:
    """One `tracker` command running in its own process, its output kept in a folder."""

    process: BaseProcess
    folder: Path

    def wait(self, timeout: float = 300) -> int:
        """Wait for the command to end; its exit status (negative: the signal that killed it)."""
        self.process.join(timeout)
        if self.process.exitcode is None:
            self.process.kill()
            self.process.join()
            raise AssertionError(f"tracker {self.folder.name} still running after {timeout} s")
        return int(self.process.exitcode)

    def kill(self) -> None:
        """SIGKILL: no clean-up, no rollback, no goodbye to the database."""
        self.process.kill()
        self.process.join()

    def output(self, name: str = "stdout") -> str:
        path = self.folder / name
        return path.read_text(encoding="utf-8") if path.exists() else ""

    def results(self) -> list[dict[str, Any]]:
        """The JSON objects `tracker import --json` printed, one per file."""
        return [json.loads(line) for line in self.output().splitlines() if line.startswith("{")]

    def times(self) -> dict[str, float]:
        """When the command started (after the barrier) and ended, as epoch seconds."""
        found: dict[str, float] = {}
        for line in self.output("times").splitlines():
            found.update(json.loads(line))
        return found


def start_tracker(args: list[str], *, database_url: str, folder: Path, env: dict[str, str] | None = None,
                  barrier: Any = None) -> TrackerProcess:
    """Start `tracker ARGS` on a database in a new process (waiting at ``barrier`` when given)."""
    folder.mkdir(parents=True, exist_ok=True)
    environment = {"TRACKER_DATABASE_URL": database_url, "TRACKER_INSTANCE_PATH": str(folder / "instance"),
                   "TRACKER_SECRET_KEY": "test-secret", **(env or {})}
    process = context().Process(target=_main, args=(args, environment, str(folder), barrier), daemon=True)
    process.start()
    return TrackerProcess(process, folder)


# --- what the database holds, checked after processes ran or died ---------------------------


def assert_summary_matches_obligations(session: Any) -> None:
    """The obligation_total summary equals the current obligations, group by group, to the cent."""
    from decimal import Decimal

    from sqlalchemy import func, select

    from tracker.models import Obligation, ObligationTotal

    keys = (Obligation.fiscal_year, Obligation.office_id, Obligation.country_code, Obligation.program_id,
            Obligation.status)
    grouped = {tuple(r[:5]): (r[5], Decimal(r[6])) for r in session.execute(
        select(*keys, func.count(), func.sum(Obligation.amount)).where(Obligation.current == True)  # noqa: E712
        .group_by(*keys))}
    summary = [((t.fiscal_year, t.office_id, t.country_code, t.program_id, t.status), (t.records, t.amount))
               for t in session.scalars(select(ObligationTotal))]
    assert dict(summary) == grouped and len(summary) == len(grouped)


def assert_flags_as_recomputed(session: Any) -> None:
    """The stored flags and matches are what one recompute of everything, from the stored
    records, finds: no import left them half-done or worked from another's half-written state.
    (Recomputes in the session's transaction and rolls it back.)"""
    from sqlalchemy import select

    from tracker.models import Flag, ReportMatch
    from tracker.reconcile import reconcile

    def stored() -> tuple[list[Any], list[Any]]:
        flags = session.execute(select(Flag.type, Flag.fingerprint, Flag.evidence_hash, Flag.records_hash,
                                       Flag.status, Flag.active).order_by(Flag.fingerprint)).all()
        matches = session.execute(select(ReportMatch.embassy_row_id, ReportMatch.obligation_id, ReportMatch.score)
                                  .order_by(ReportMatch.embassy_row_id, ReportMatch.obligation_id)).all()
        return flags, matches

    before = stored()
    assert before[0], "no flags at all: this check would prove nothing"
    reconcile(session, None)
    session.flush()
    after = stored()
    session.rollback()
    assert after == before
