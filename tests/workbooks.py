"""Writers of messy workbooks for tests: real files, built next to the assertions.

``write_xlsx`` writes the XML parts by hand, so a test controls what openpyxl cannot: formulas
with or without a saved value, date-formatted serials, hidden sheets, shared or inline strings.
``write_openpyxl`` writes through openpyxl (as real tools do), ``write_csv`` in any encoding,
and ``write_ods`` a minimal OpenDocument spreadsheet.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from tracker.importing.cells import column_letter

Row = list[Any]


@dataclass
class F:
    """A formula cell: the formula (without "=") and its saved value (None: never calculated)."""

    formula: str
    saved: Any = None


@dataclass
class Serial:
    """A number shown with a date format (an Excel date serial)."""

    number: float | int


@dataclass
class Sheet:
    """A sheet to write: name, rows (None rows are left empty) and visibility."""

    name: str
    rows: list[Row | None]
    state: str = "visible"


_EXCEL_EPOCH = date(1899, 12, 30)


def _cell_xml(ref: str, value: Any, strings: list[str]) -> str:
    if value is None:
        return ""
    if isinstance(value, F):
        saved = value.saved
        formula = f"<f>{escape(value.formula)}</f>"
        if saved is None:
            return f'<c r="{ref}">{formula}</c>'
        if isinstance(saved, str):
            return f'<c r="{ref}" t="str">{formula}<v>{escape(saved)}</v></c>'
        return f'<c r="{ref}">{formula}<v>{saved}</v></c>'
    if isinstance(value, Serial):
        return f'<c r="{ref}" s="1"><v>{value.number}</v></c>'
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (datetime, date)):
        day = value.date() if isinstance(value, datetime) else value
        return f'<c r="{ref}" s="1"><v>{(day - _EXCEL_EPOCH).days}</v></c>'
    if isinstance(value, (int, float, Decimal)):
        return f'<c r="{ref}"><v>{value}</v></c>'
    strings.append(str(value))
    return f'<c r="{ref}" t="s"><v>{len(strings) - 1}</v></c>'


def _sheet_xml(rows: list[Row | None], strings: list[str]) -> str:
    body = []
    for number, row in enumerate(rows, start=1):
        if row is None:
            continue
        cells = "".join(_cell_xml(f"{column_letter(i)}{number}", v, strings) for i, v in enumerate(row))
        body.append(f'<row r="{number}">{cells}</row>')
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f'<sheetData>{"".join(body)}</sheetData></worksheet>')


def write_xlsx(path: Path, sheets: list[Sheet] | list[Row | None], *, macros: bool = False,
               shared_strings_xml: str | None = None) -> Path:
    """Write an .xlsx (or .xlsm with ``macros``) from rows; return the path."""
    if sheets and not isinstance(sheets[0], Sheet):
        sheets = [Sheet("Sheet1", sheets)]  # type: ignore[list-item]
    strings: list[str] = []
    parts = {f"xl/worksheets/sheet{i}.xml": _sheet_xml(s.rows, strings) for i, s in enumerate(sheets, 1)}  # type: ignore[union-attr]
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ' \
         'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    listed = "".join(f'<sheet name="{escape(s.name)}" sheetId="{i}" state="{s.state}" r:id="rId{i}"/>'  # type: ignore[union-attr]
                     for i, s in enumerate(sheets, 1))
    parts["xl/workbook.xml"] = f'<workbook {ns}><sheets>{listed}</sheets></workbook>'
    rels = "".join(f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                   f'relationships/worksheet" Target="worksheets/sheet{i}.xml"/>' for i in range(1, len(sheets) + 1))
    rels += ('<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
             'sharedStrings" Target="sharedStrings.xml"/>'
             '<Relationship Id="rIdT" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
             'styles" Target="styles.xml"/>')
    parts["xl/_rels/workbook.xml.rels"] = (
        f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>')
    items = "".join(f"<si><t xml:space=\"preserve\">{escape(s)}</t></si>" for s in strings)
    parts["xl/sharedStrings.xml"] = shared_strings_xml or (
        f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{len(strings)}">{items}</sst>')
    parts["xl/styles.xml"] = (
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<numFmts count="1"><numFmt numFmtId="164" formatCode="dd\\-mmm\\-yyyy"/></numFmts>'
        '<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="164" applyNumberFormat="1"/></cellXfs></styleSheet>')
    main = "application/vnd.ms-excel.sheet.macroEnabled.main+xml" if macros else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
    parts["[Content_Types].xml"] = (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        f'<Override PartName="/xl/workbook.xml" ContentType="{main}"/></Types>')
    if macros:
        parts["xl/vbaProject.bin"] = "not real VBA"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return path


def write_openpyxl(path: Path, sheets: list[Sheet]) -> Path:
    """Write through openpyxl, as many real tools do."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for sheet in sheets:
        ws = book.create_sheet(sheet.name)
        ws.sheet_state = sheet.state
        for row in sheet.rows:
            ws.append([] if row is None else row)
    book.save(path)
    return path


def write_csv(path: Path, rows: list[Row], *, encoding: str = "utf-8", delimiter: str = ",") -> Path:
    """Write a CSV in the given encoding ("utf-8-sig" for a BOM, "cp1252" for old Excel)."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_ods(path: Path, rows: list[Row], sheet: str = "Sheet1") -> Path:
    """Write a minimal OpenDocument spreadsheet (.ods)."""
    def cell(value: Any) -> str:
        if value is None:
            return "<table:table-cell/>"
        if isinstance(value, (int, float, Decimal)):
            return f'<table:table-cell office:value-type="float" office:value="{value}"><text:p>{value}</text:p></table:table-cell>'
        if isinstance(value, date):
            return f'<table:table-cell office:value-type="date" office:date-value="{value.isoformat()}"/>'
        return f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}</text:p></table:table-cell>'
    body = "".join("<table:table-row>" + "".join(cell(v) for v in row) + "</table:table-row>" for row in rows)
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="{sheet}">{body}</table:table>'
        '</office:spreadsheet></office:body></office:document-content>')
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                '</manifest:manifest>')
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
    return path


#: The embassy template's headers, and rows for a Thailand report (FY2024), as in the bad-input corpus.
EMBASSY_HEADERS = ["Agency", "Country", "Fiscal Year", "Office", "Implementing Partner", "Project Title",
                   "Start Date", "Amount (USD)"]


def embassy_rows(country: str = "Thailand", fy: int = 2024) -> list[Row]:
    """Five clean embassy rows (total 369,750.74)."""
    return [
        ["State", country, fy, "State/G-TIP", "International Organization for Migration", "Victim shelter operations",
         date(fy, 1, 15), 125000],
        ["USAID", country, fy, "USAID/Bangkok", "Winrock International", "Legal aid for survivors", date(fy, 2, 20),
         Decimal("87500.5")],
        ["DOL", country, fy, "DOL/ILAB", "Solidarity Center", "Labor inspector training", date(fy, 3, 5), 42000],
        ["State", country, fy, "State/INL", "UNODC", "24-hour hotline staffing", date(fy, 4, 1), Decimal("15250.25")],
        ["DOJ", country, fy, "DOJ/OPDAT", "International Justice Mission", "Prosecutor and judge training",
         date(fy, 5, 30), Decimal("99999.99")],
    ]


AGENCY_HEADERS = ["Fiscal Year", "Bureau/Office", "Country", "Implementing Partner", "Project Title",
                  "Program Area", "Award Number", "Obligation Date", "Amount Obligated (USD)"]


def agency_rows() -> list[Row]:
    """Six State obligations over FY2005-FY2007 in three countries."""
    return [
        [2005, "PRM", "Albania", "UNICEF", "Training judges", "Prosecution", "DOS-05-0001", date(2005, 6, 28), 100000],
        [2005, "G/TIP", "Albania", "Winrock International", "Psychosocial support", "Protection", "DOS-05-0002",
         date(2005, 5, 14), 1200000],
        [2006, "INL", "Indonesia", "Save the Children", "Child labor prevention", "Prevention", "0042",
         date(2006, 3, 1), 600000],
        [2006, "DRL", "Kosovo", "Free the Slaves", "Community prevention", "Prevention", None, date(2006, 2, 1), 350000],
        [2007, "INL", "Indonesia", "IOM", "Border police training", "Prosecution", "DOS-07-0003", date(2007, 1, 13),
         450000],
        [2007, "G/TIP", "Global", "Polaris Project", "Global hotline network", "Protection", None, date(2007, 5, 5),
         250000],
    ]
