"""Read stage for .xlsx and .xlsm: a streaming reader that keeps, for every cell, both the saved
value and whether it holds a formula.

Why our own and not openpyxl's: openpyxl gives either formulas (data_only=False) or saved values
(data_only=True) per pass, and we need both at once to tell a total row (a SUM formula) and a
formula with no saved value (an error for that cell) without reading the file twice. The XML is
parsed with lxml, streamed row by row (memory stays flat), with entity resolution, DTD loading
and network access off, and any part that declares a DTD is refused outright. Numbers are read
from their decimal text straight into Decimal, never through float. Macros are never run, kept
or served: only cell values are read.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from lxml import etree

from tracker.dates import excel_serial_to_datetime
from tracker.money import excel_precision
from tracker.importing.cells import Cell, RawRow, RejectedFile, SheetData, Workbook, column_index

#: Cells further right than this make the file too wide to be a table of programs.
MAX_COLUMNS = 120

_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CELL_REF = re.compile(r"([A-Z]{1,3})(\d+)$")
# Built-in number formats that show dates or times (ECMA-376 18.8.30, plus the CJK date ids).
_BUILTIN_DATE_FORMATS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])
_FORMAT_NOISE = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.|_.|\*.')
_DATE_TOKENS = re.compile(r"[dmyhs]", re.IGNORECASE)


_MAIN_NAMESPACES = ("http://schemas.openxmlformats.org/spreadsheetml/2006/main",
                    "http://purl.oclc.org/ooxml/spreadsheetml/main", "")


def _tags(local: str) -> tuple[str, ...]:
    return tuple(f"{{{ns}}}{local}" if ns else local for ns in _MAIN_NAMESPACES)


_ROW_TAGS = _tags("row")
_CHILD = {tag: name for name in ("c", "v", "f", "is", "t", "si", "rPh") for tag in _tags(name)}


def _local(tag: Any) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _parser_options() -> dict[str, Any]:
    # Entities are never expanded, DTDs never loaded, nothing is fetched from a network.
    return {"resolve_entities": False, "load_dtd": False, "no_network": True, "huge_tree": False,
            "dtd_validation": False, "remove_comments": True}


#: A DTD can only stand in a part's prolog, before the root element: within its first bytes
#: (a prolog padded past them is still caught by the parser's own check, after one element).
_PROLOG_BYTES = 64 * 1024
_DOCTYPE_MARKS = tuple("<!DOCTYPE".encode(encoding) for encoding in ("utf-8", "utf-16-le", "utf-16-be"))


def _forbidden_dtd(member: str) -> RejectedFile:
    return RejectedFile(
        f"the workbook's XML part {member} declares a DTD or entities, which are forbidden: the file may be "
        "crafted to attack the reader, and was not read")


def _refuse_dtd(tree: Any, member: str) -> None:
    if tree is not None and tree.docinfo.doctype:
        raise _forbidden_dtd(member)


def _open_part(archive: zipfile.ZipFile, member: str) -> IO[bytes]:
    """Open an XML part to parse, refusing at once a part whose prolog declares a DTD: before
    any parser meets (and starts counting or expanding) its entities. KeyError if missing."""
    with archive.open(member) as stream:
        head = stream.read(_PROLOG_BYTES)
    if any(mark in head for mark in _DOCTYPE_MARKS):
        raise _forbidden_dtd(member)
    return archive.open(member)


def _iterparse(stream: IO[bytes], member: str, tags: tuple[str, ...]) -> Iterator[Any]:
    """Stream the elements with the given tags (at their end), refusing DTDs; flat memory."""
    checked = False
    try:
        for _event, element in etree.iterparse(stream, events=("end",), tag=tags, **_parser_options()):
            if not checked:
                _refuse_dtd(element.getroottree(), member)
                checked = True
            yield element
            element.clear(keep_tail=False)
            parent = element.getparent()
            if parent is not None:
                while element.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as exc:
        raise RejectedFile(f"the workbook's XML part {member} is damaged ({exc}); re-save it in Excel") from exc


def _read_xml(archive: zipfile.ZipFile, member: str) -> Any:
    """Parse a small XML part whole and return its root element (None if the part is missing)."""
    try:
        stream = _open_part(archive, member)
    except KeyError:
        return None
    with stream:
        try:
            tree = etree.parse(stream, etree.XMLParser(**_parser_options()))
        except etree.XMLSyntaxError as exc:
            raise RejectedFile(f"the workbook's XML part {member} is damaged ({exc}); re-save it in Excel") from exc
    _refuse_dtd(tree, member)
    return tree.getroot()


class _Book:
    """The workbook-level parts: sheets and their visibility, shared strings, date styles."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        workbook = _read_xml(archive, "xl/workbook.xml")
        if workbook is None:
            raise RejectedFile("the workbook has no xl/workbook.xml part; re-save it in Excel")
        rels = self._relationships("xl/_rels/workbook.xml.rels")
        self.date1904 = any(
            _local(e.tag) == "workbookPr" and e.get("date1904") in ("1", "true") for e in workbook.iter()
        )
        self.sheets: list[tuple[str, str, str]] = []
        for element in workbook.iter():
            if _local(element.tag) == "sheet":
                target = rels.get(element.get(f"{{{_REL_NS}}}id") or element.get("id") or "", "")
                self.sheets.append((element.get("name", ""), element.get("state", "visible"), target))
        shared = next((t for r, t in rels.items() if t.endswith("sharedStrings.xml")), "xl/sharedStrings.xml")
        styles = next((t for r, t in rels.items() if t.endswith("styles.xml")), "xl/styles.xml")
        self.strings = self._shared_strings(shared)
        self.date_styles = self._date_styles(styles)

    def _relationships(self, member: str) -> dict[str, str]:
        root = _read_xml(self.archive, member)
        if root is None:
            return {}
        found = {}
        for element in root.iter():
            if _local(element.tag) == "Relationship":
                target = element.get("Target", "")
                path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
                found[element.get("Id", "")] = path
        return found

    def _shared_strings(self, member: str) -> list[str]:
        try:
            stream = _open_part(self.archive, member)
        except KeyError:
            return []
        with stream:
            return [_string_item(si) for si in _iterparse(stream, member, _tags("si"))]

    def _date_styles(self, member: str) -> frozenset[int]:
        root = _read_xml(self.archive, member)
        if root is None:
            return frozenset()
        custom: dict[int, str] = {}
        formats: list[int] = []
        for element in root.iter():
            name = _local(element.tag)
            if name == "numFmt":
                custom[int(element.get("numFmtId", "0"))] = element.get("formatCode", "")
            elif name == "cellXfs":
                formats = [int(xf.get("numFmtId", "0")) for xf in element if _local(xf.tag) == "xf"]
        return frozenset(i for i, fmt in enumerate(formats) if _is_date_format(fmt, custom))


def _is_date_format(fmt_id: int, custom: dict[int, str]) -> bool:
    if fmt_id in custom:
        code = _FORMAT_NOISE.sub("", custom[fmt_id].split(";")[0])
        return bool(_DATE_TOKENS.search(code)) and "General" not in code
    return fmt_id in _BUILTIN_DATE_FORMATS


def _number(text: str) -> int | Decimal:
    if "." in text or "e" in text or "E" in text:
        return excel_precision(Decimal(text))
    return int(text)


def _string_item(si: Any) -> str:
    """The text of a shared string: its <t> runs, phonetic guides (<rPh>) left out."""
    parts = []
    for element in si.iter():
        if _CHILD.get(element.tag) == "t" and _CHILD.get(element.getparent().tag) != "rPh":
            parts.append(element.text or "")
    return "".join(parts)


class _SheetReader:
    def __init__(self, book: _Book, member: str) -> None:
        self.book = book
        self.member = member

    def size_hint(self) -> int | None:
        """Rows, from the sheet's <dimension ref="A1:H100000"> (read from the first few KB)."""
        try:
            with self.book.archive.open(self.member) as stream:
                head = stream.read(4096).decode("utf-8", "ignore")
        except KeyError:
            return None
        match = re.search(r'<(?:\w+:)?dimension ref="[A-Z]+\d+:[A-Z]+(\d+)"', head)
        return int(match[1]) if match else None

    def rows(self) -> Iterator[RawRow]:
        """Stream the sheet's rows: (row number, cells by 0-based column)."""
        try:
            stream = _open_part(self.book.archive, self.member)
        except KeyError as exc:
            raise RejectedFile(f"the workbook lists sheet part {self.member}, which is missing") from exc
        with stream:
            yield from self._rows(stream)

    def _rows(self, stream: IO[bytes]) -> Iterator[RawRow]:
        row_number = 0
        for element in _iterparse(stream, self.member, _ROW_TAGS):
            number = element.get("r")
            row_number = int(number) if number else row_number + 1
            cells = self._cells(element, row_number)
            if cells:
                yield row_number, cells

    def _cells(self, row: Any, row_number: int) -> list[Cell | None]:
        cells: list[Cell | None] = []
        position = -1
        for c in row:
            if _CHILD.get(c.tag) != "c":
                continue
            ref = c.get("r")
            match = _CELL_REF.match(ref) if ref else None
            position = column_index(match[1]) if match else position + 1
            cell = self._cell(c)
            if cell is None:
                continue
            if position >= MAX_COLUMNS:
                raise RejectedFile(
                    f"row {row_number} has a value in column {position + 1}, past the limit of {MAX_COLUMNS} "
                    "columns; a table of programs is narrower (remove stray cells far to the right)"
                )
            cells.extend([None] * (position - len(cells)))
            cells.append(cell)
        return cells

    def _cell(self, c: Any) -> Cell | None:
        kind = c.get("t", "n")
        value_text = formula = inline = None
        for child in c:
            name = _CHILD.get(child.tag)
            if name == "v":
                value_text = child.text
            elif name == "f":
                formula = "=" + (child.text or "")
            elif name == "is":
                inline = _string_item(child)
        if value_text is None and formula is None and inline is None:
            return None
        if kind == "s":
            index = int(value_text) if value_text and value_text.isdigit() else -1
            if not 0 <= index < len(self.book.strings):
                return Cell(None, formula, error="points at a shared string that does not exist")
            return Cell(self.book.strings[index], formula)
        if kind == "inlineStr":
            return Cell(inline, formula)
        if kind == "str":
            return Cell(value_text, formula)
        if kind == "b":
            return Cell(value_text == "1", formula)
        if kind == "e":
            return Cell(None, formula, error=value_text or "#ERROR")
        if kind == "d":
            return self._iso_date(value_text, formula)
        if not value_text:
            return Cell(None, formula)
        return self._numeric(value_text, formula, c.get("s"))

    def _numeric(self, text: str, formula: str | None, style: str | None) -> Cell:
        try:
            number = _number(text)
        except (InvalidOperation, ValueError):
            return Cell(None, formula, error=f"holds {text!r}, which is not a number")
        if style is not None and style.isdigit() and int(style) in self.book.date_styles:
            try:
                return Cell(excel_serial_to_datetime(number, date1904=self.book.date1904), formula)
            except ValueError as exc:
                return Cell(None, formula, error=str(exc))
        return Cell(number, formula)

    @staticmethod
    def _iso_date(text: str | None, formula: str | None) -> Cell:
        try:
            moment = datetime.fromisoformat(text or "")
        except ValueError:
            return Cell(None, formula, error=f"holds the date {text!r}, which is not a real date")
        return Cell(moment if moment.time() != time() else moment.date(), formula)


@contextmanager
def open_xlsx(path: str, *, kind: str = "xlsx", has_macros: bool = False) -> Iterator[Workbook]:
    """Open an .xlsx or .xlsm for streaming; sheets are read lazily while the block runs."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise RejectedFile("the file is damaged or incomplete; re-save it in Excel and upload it again") from exc
    with archive:
        book = _Book(archive)
        sheets = []
        for name, state, member in book.sheets:
            reader = _SheetReader(book, member)
            sheets.append(SheetData(name=name, state=state, rows=reader.rows(), size_hint=reader.size_hint()))
        notes = []
        if has_macros:
            notes.append("the workbook contains macros (xl/vbaProject.bin); they were ignored, never run, "
                         "and are not kept")
        try:
            yield Workbook(kind=kind, sheets=sheets, notes=notes)
        except zipfile.BadZipFile as exc:
            raise RejectedFile(f"the file is damaged or incomplete ({exc}); re-save it in Excel") from exc
