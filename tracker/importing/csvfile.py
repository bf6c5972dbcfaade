"""Read stage for .csv: UTF-8 (with or without BOM) or, failing that, Windows-1252; streamed.

The encoding is settled by one pass over the bytes (in C, fast) before any row is parsed, so a
file is never half-read in one encoding. NUL bytes mean binary content and are refused.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from contextlib import contextmanager

from tracker.importing.cells import Cell, RawRow, RejectedFile, SheetData, Workbook

#: A CSV wider than this is not a table of programs.
MAX_COLUMNS = 120
MAX_FIELD_CHARS = 1_000_000
_CHUNK = 1 << 20


def detect_encoding(path: str) -> str:
    """Return "utf-8-sig" if the bytes are UTF-8, else "cp1252"; refuse binary content."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            if b"\x00" in chunk:
                raise RejectedFile("the file holds NUL bytes (binary content), not a valid .csv file")
            if utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    return "utf-8-sig" if utf8 else "cp1252"


def _dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def _rows(path: str, encoding: str) -> Iterator[RawRow]:
    with open(path, encoding=encoding, errors="strict", newline="") as handle:
        dialect = _dialect(handle.read(64 * 1024))
        handle.seek(0)
        reader = csv.reader(handle, dialect)
        start = 1  # the line where the next record starts (a quoted field may hold \n, \r\n or a lone \r)
        try:
            for record in reader:
                if len(record) > MAX_COLUMNS:
                    raise RejectedFile(
                        f"line {start} has {len(record):,} columns, past the limit of {MAX_COLUMNS}; "
                        "a table of programs is narrower"
                    )
                # The line number where the record starts, as a spreadsheet would number the row.
                yield start, [Cell(v) if v != "" else None for v in record]
                start = reader.line_num + 1
        except csv.Error as exc:
            raise RejectedFile(f"the CSV cannot be read at line {reader.line_num}: {exc}") from exc


@contextmanager
def open_csv(path: str) -> Iterator[Workbook]:
    """Open a CSV as a one-sheet workbook (sheet name "")."""
    csv.field_size_limit(MAX_FIELD_CHARS)
    encoding = detect_encoding(path)
    notes = []
    if encoding == "cp1252":
        notes.append("the CSV is not UTF-8; it was read as Windows-1252 (Excel's 'CSV (Comma delimited)'). "
                     "Check accented names; saving as 'CSV UTF-8' avoids this")
    yield Workbook(kind="csv", sheets=[SheetData(name="", state="visible", rows=_rows(path, encoding))], notes=notes)
