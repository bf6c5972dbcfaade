"""Child process for .xls/.ods reading (see tracker.importing.calamine): prints JSON on stdout."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, time, timedelta
from typing import Any


def _encode(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return None if value == "" else value
    if isinstance(value, int):
        return {"n": str(value)}
    if isinstance(value, float):
        return {"n": repr(value)} if value == value and value not in (float("inf"), float("-inf")) else repr(value)
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, time):
        return {"t": value.isoformat()}
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


def main(path: str) -> int:
    """Read every sheet and print {"sheets": [{"name", "state", "rows": [[number, cells]]}]}."""
    import python_calamine

    try:
        book = python_calamine.CalamineWorkbook.from_path(path)
        sheets = []
        for meta in book.sheets_metadata:
            sheet = book.get_sheet_by_name(meta.name)
            first_row, first_col = sheet.start or (0, 0)
            rows = []
            for offset, row in enumerate(sheet.iter_rows()):
                cells = [None] * first_col + [_encode(v) for v in row]
                if any(c is not None for c in cells):
                    rows.append([first_row + offset + 1, cells])
            state = {"Visible": "visible", "Hidden": "hidden", "VeryHidden": "veryHidden"}.get(
                str(meta.visible).rsplit(".", 1)[-1], "visible")
            sheets.append({"name": meta.name, "state": state, "rows": rows})
    except Exception as exc:  # noqa: BLE001 - any failure is reported to the parent as text
        print(f"{type(exc).__name__}: {exc}")
        return 1
    json.dump({"sheets": sheets}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
