"""Preview stage: the rows of an uploaded file as text, for the web preview that shows blocking
errors and warnings at their cells. Read with the same readers as the import."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tracker.importing.cells import Cell, RejectedFile
from tracker.importing.pipeline import _open
from tracker.importing.sniff import sniff

#: Rows shown from the top of each sheet, and at most this many rows in all.
FIRST_ROWS = 25
MAX_ROWS = 400


def _text(cell: Cell | None) -> str:
    if cell is None:
        return ""
    if cell.error:
        return cell.error if cell.error.startswith("#") else "(invalid)"
    value = cell.value
    if value is None:
        return cell.formula or ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)[:200]


def preview_rows(path: str, filename: str, wanted: set[tuple[str, int]]) -> dict[str, Any]:
    """The first rows of every visible sheet, plus the rows that have issues, as text."""
    try:
        kind = sniff(path, filename)
        sheets = []
        shown = 0
        with _open(path, kind.kind, kind.has_macros) as workbook:
            for sheet in workbook.sheets:
                if sheet.state != "visible":
                    continue
                rows, width = [], 0
                for number, cells in sheet.rows:
                    if (number <= FIRST_ROWS or (sheet.name, number) in wanted) and shown < MAX_ROWS:
                        texts = [_text(c) for c in cells]
                        width = max(width, len(texts))
                        rows.append([number, texts])
                        shown += 1
                sheets.append({"name": sheet.name, "rows": rows, "width": width})
        return {"sheets": sheets}
    except RejectedFile:
        return {"sheets": []}
