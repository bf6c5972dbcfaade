"""Formats: what each kind of file becomes, and what the file really is when it is not one."""

from __future__ import annotations

import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from tests.importing.conftest import messages
from tests.workbooks import EMBASSY_HEADERS, Sheet, embassy_rows, write_csv, write_ods, write_openpyxl, write_xlsx
from tracker.models import EmbassyReportRow, Submission

TOTAL = Decimal("369750.74")


def _stored(session: Session) -> tuple[int, Decimal]:
    session.rollback()
    count, total = session.exec(select(func.count(), func.sum(EmbassyReportRow.amount))).one()
    return count, total or Decimal(0)


@pytest.mark.parametrize("writer", ["raw", "openpyxl"])
def test_xlsx(tmp_path: Path, do_import, session: Session, writer: str) -> None:
    rows = [EMBASSY_HEADERS, *embassy_rows()]
    path = tmp_path / "report.xlsx"
    write_xlsx(path, rows) if writer == "raw" else write_openpyxl(path, [Sheet("Obligations", rows)])
    result = do_import(path)
    assert result.status == "committed", messages(result.errors)
    assert (result.rows_read, result.records) == (5, 5)
    assert _stored(session) == (5, TOTAL)


def test_xlsm_macros_are_ignored_with_a_warning(tmp_path: Path, do_import, session: Session) -> None:
    path = write_xlsx(tmp_path / "report.xlsm", [EMBASSY_HEADERS, *embassy_rows()], macros=True)
    result = do_import(path)
    assert result.status == "committed"
    assert "xl/vbaProject.bin" in messages(result.warnings)
    assert _stored(session) == (5, TOTAL)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_csv_encodings(tmp_path: Path, do_import, session: Session, encoding: str) -> None:
    rows = [EMBASSY_HEADERS] + [[str(v) if v is not None else "" for v in r] for r in embassy_rows()]
    rows[1][4] = "Association Exemple d\u2019Entraide"
    rows[2][5] = "Formation \u2013 budget \u20ac5,000"
    path = write_csv(tmp_path / "report.csv", rows, encoding=encoding)
    result = do_import(path)
    assert result.status == "committed", messages(result.errors)
    assert ("Windows-1252" in messages(result.warnings)) == (encoding == "cp1252")
    names = set(session.exec(select(EmbassyReportRow.implementer_name)).all())
    titles = set(session.exec(select(EmbassyReportRow.title)).all())
    assert "Association Exemple d\u2019Entraide" in names
    assert "Formation \u2013 budget \u20ac5,000" in titles
    assert not any(str(v).startswith("\ufeff") or "\ufffd" in str(v) or "Ã" in str(v) for v in names | titles)
    assert _stored(session) == (5, TOTAL)


def test_csv_semicolons_and_line_numbers(tmp_path: Path, do_import, session: Session) -> None:
    rows = [EMBASSY_HEADERS, [""] * 8] + [[str(v) for v in r] for r in embassy_rows()]
    rows[3][5] = "Legal aid\nfor survivors"  # a field across two lines
    path = write_csv(tmp_path / "report.csv", rows, delimiter=";")
    result = do_import(path)
    assert result.status == "committed", messages(result.errors)
    assert sorted(session.exec(select(EmbassyReportRow.source_row)).all()) == [3, 4, 6, 7, 8]
    assert set(session.exec(select(EmbassyReportRow.source_sheet)).all()) == {None}


def test_ods_through_the_sandboxed_reader(tmp_path: Path, do_import, session: Session) -> None:
    path = write_ods(tmp_path / "report.ods", [EMBASSY_HEADERS, *embassy_rows()])
    result = do_import(path)
    assert result.status == "committed", messages(result.errors)
    assert _stored(session) == (5, TOTAL)


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _zip_bomb(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (4 * 1024 * 1024))
    return path


def _encrypted(path: Path) -> Path:
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500 + "EncryptedPackage".encode("utf-16-le") + b"\0" * 500)
    return path


def _entities(path: Path) -> Path:
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
            '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&lol2;</t></si></sst>')
    return write_xlsx(path, [EMBASSY_HEADERS, *embassy_rows()], shared_strings_xml=bomb)


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("empty.xlsx", lambda p: _bytes(p, b""), "the file is empty"),
        ("fake.xlsx", lambda p: _bytes(p, b"%PDF-1.4\n%..."), "PDF document, not a valid .xlsx/.csv"),
        ("page.xlsx", lambda p: _bytes(p, b"<html><body><table></table></body></html>"), "web page"),
        ("cut.xlsx", lambda p: _bytes(p, write_xlsx(p, [EMBASSY_HEADERS, *embassy_rows()]).read_bytes()[:900]),
         "damaged or incomplete"),
        ("bomb.xlsx", _zip_bomb, "decompression bomb"),
        ("locked.xlsx", _encrypted, "password-protected"),
        ("entities.xlsx", _entities, "declares a DTD or entities"),
        ("nul.csv", lambda p: _bytes(p, b"Agency,Country\nState,\x00Thailand\n"), "NUL bytes"),
        ("wide.csv", lambda p: _bytes(p, (",".join(f"h{i}" for i in range(500)) + "\n").encode()), "past the limit of 120"),
        ("report.xlsx.php", lambda p: write_xlsx(p, [EMBASSY_HEADERS, *embassy_rows()]), "not accepted"),
        ("doc.xlsx", lambda p: _word(p), "Word document"),
    ],
)
def test_files_that_are_not_spreadsheets_are_refused_saying_what_they_are(
        tmp_path: Path, do_import, session: Session, name: str, make, message: str) -> None:
    path = make(tmp_path / name)
    result = do_import(path)
    assert result.status == "rejected"
    assert message in messages(result.errors)
    assert _stored(session) == (0, 0)
    assert session.exec(select(Submission)).all() == []


def _word(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", "<document/>")
    return path


def test_a_spreadsheet_with_a_misleading_name_is_read_by_its_content(tmp_path: Path, do_import) -> None:
    path = write_xlsx(tmp_path / "report.php.xlsx", [EMBASSY_HEADERS, *embassy_rows()])
    assert do_import(path, filename="..\\..\\REPORT.XLSX").status == "committed"
