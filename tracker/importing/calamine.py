"""Read stage for legacy .xls and .ods: python-calamine, run in a child process with memory and
time limits, because a hostile file can abort the reader's whole process.

The child prints the cells as JSON; numbers cross as their shortest decimal spelling and become
Decimal here (never float arithmetic); dates cross as ISO text.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from tracker.money import excel_precision
from tracker.importing.cells import Cell, RawRow, RejectedFile, SheetData, Workbook

#: Limits for the reading child: address space (bytes) and CPU seconds.
CHILD_MEMORY = 1536 * 1024 * 1024
CHILD_SECONDS = 60


def _limit_child() -> None:  # pragma: no cover - runs in the child
    import resource

    # Never above a limit the parent already runs under (raising a hard limit is refused, and
    # the refusal would surface as an error in the parent instead of a read).
    for which, wanted in ((resource.RLIMIT_AS, CHILD_MEMORY), (resource.RLIMIT_CPU, CHILD_SECONDS)):
        _soft, hard = resource.getrlimit(which)
        limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(which, (limit, limit))


def _decode(value: Any) -> Cell | None:
    if value is None:
        return None
    if isinstance(value, dict):
        (tag, text), = value.items()
        if tag == "n":
            number = excel_precision(Decimal(text))  # as Excel holds it: 15 significant digits
            return Cell(int(number) if number == number.to_integral_value() else number)
        if tag == "d":
            return Cell(date.fromisoformat(text))
        if tag == "dt":
            return Cell(datetime.fromisoformat(text))
        if tag == "t":
            return Cell(time.fromisoformat(text))
    return Cell(value)


def _sheet_rows(rows: list[list[Any]]) -> Iterator[RawRow]:
    for number, cells in rows:
        yield number, [_decode(v) for v in cells]


@contextmanager
def open_calamine(path: str, *, kind: str) -> Iterator[Workbook]:
    """Read a whole .xls or .ods in a limited child process and present it as a workbook."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tracker.importing.calamine_child", path],
            capture_output=True, timeout=CHILD_SECONDS * 2, preexec_fn=_limit_child, check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RejectedFile("reading the workbook took too long; save it as Excel Workbook (.xlsx) and upload that") from exc
    if done.returncode != 0:
        reason = done.stdout.decode("utf-8", "replace").strip() or "the reader stopped"
        raise RejectedFile(f"the {kind} workbook cannot be read ({reason[:300]}); save it as Excel Workbook (.xlsx)")
    data = json.loads(done.stdout)
    sheets = [SheetData(name=s["name"], state=s["state"], rows=_sheet_rows(s["rows"])) for s in data["sheets"]]
    yield Workbook(kind=kind, sheets=sheets)
