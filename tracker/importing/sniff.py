"""Read stage, first step: what the file really is, judged by its bytes, never by its name.

Refuses, with a message that says what the file is: empty files, names with a NUL byte or an
extension off the allow list, PDFs, web pages, Word documents, password-protected workbooks,
damaged zips, and zips whose declared sizes or compression ratios say they would inflate past
the limits (checked before anything is inflated).
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass

from tracker.importing.cells import RejectedFile

ALLOWED_EXTENSIONS = (".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".txt")
#: Largest total a workbook may inflate to, and the largest compression ratio of one large part.
MAX_INFLATED_BYTES = 500 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200
_RATIO_APPLIES_ABOVE = 2 * 1024 * 1024

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
_WORKBOOK_STREAMS = ("Workbook".encode("utf-16-le"), "Book".encode("utf-16-le"))
SAVE_AS_XLSX = "open it in Excel and save it as Excel Workbook (.xlsx), then upload that"


@dataclass(frozen=True)
class FileKind:
    """What a file is: "xlsx", "xlsm", "ods", "xls" or "csv", and whether it carries macros."""

    kind: str
    has_macros: bool = False


def check_filename(filename: str) -> None:
    """Refuse names that cannot be an upload: empty, NUL bytes, an extension off the allow list."""
    if not filename or not filename.strip():
        raise RejectedFile("no file chosen")
    if "\x00" in filename:
        raise RejectedFile("the file name contains a NUL byte")
    extension = os.path.splitext(filename)[1].lower()
    if extension not in ALLOWED_EXTENSIONS:
        allowed = ", ".join(ALLOWED_EXTENSIONS)
        raise RejectedFile(f"files ending {extension or '(no extension)'} are not accepted; send one of {allowed}")


def sniff(path: str, filename: str) -> FileKind:
    """Tell what the file at ``path`` (uploaded as ``filename``) really is, or raise RejectedFile."""
    check_filename(filename)
    size = os.path.getsize(path)
    if size == 0:
        raise RejectedFile("the file is empty")
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _sniff_zip(path)
    if head.startswith(_OLE_MAGIC):
        return _sniff_ole(path)
    if head.startswith(b"%PDF"):
        raise RejectedFile("this is a PDF document, not a valid .xlsx/.csv file; export the table from its source as .xlsx or .csv")
    lowered = head.lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<table")):
        raise RejectedFile(f"this is a web page (HTML), not a valid .xlsx/.csv file; {SAVE_AS_XLSX}")
    if lowered.startswith(b"<?xml"):
        raise RejectedFile(f"this is an XML file (perhaps an Excel 2003 XML spreadsheet); {SAVE_AS_XLSX}")
    if lowered.startswith(b"{\\rtf"):
        raise RejectedFile("this is a rich-text (RTF) document, not a valid .xlsx/.csv file")
    if b"\x00" in head:
        raise RejectedFile("the file holds binary content (NUL bytes), not a valid .xlsx/.csv file")
    return FileKind("csv")


def _sniff_zip(path: str) -> FileKind:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise RejectedFile(
            "the file is damaged or incomplete (not a readable zip package); re-save it in Excel and upload it again"
        ) from exc
    with archive:
        infos = archive.infolist()
        names = {info.filename for info in infos}
        _check_sizes(infos)
        if any(info.flag_bits & 0x1 for info in infos):
            raise RejectedFile("the workbook is password-protected; remove the password in Excel and upload it again")
        if "xl/workbook.xml" in names:
            macros = "xl/vbaProject.bin" in names or _content_types_say_macros(archive)
            return FileKind("xlsm" if macros else "xlsx", has_macros=macros)
        if "mimetype" in names and archive.read("mimetype")[:100].startswith(
            b"application/vnd.oasis.opendocument.spreadsheet"
        ):
            return FileKind("ods")
        if "word/document.xml" in names:
            raise RejectedFile("this is a Word document, not a valid .xlsx/.csv file")
        if any(n.startswith("ppt/") for n in names):
            raise RejectedFile("this is a PowerPoint presentation, not a valid .xlsx/.csv file")
        if "xl/workbook.bin" in names:
            raise RejectedFile(f"this is a binary Excel workbook (.xlsb); {SAVE_AS_XLSX}")
    raise RejectedFile("this is a zip archive, not a valid .xlsx/.csv file")


def _check_sizes(infos: list[zipfile.ZipInfo]) -> None:
    """Refuse a zip bomb from its declared sizes, before anything is inflated."""
    total = sum(info.file_size for info in infos)
    if total > MAX_INFLATED_BYTES:
        raise RejectedFile(
            f"the workbook would inflate to {total / 1_048_576:,.0f} MB, over the size limit of "
            f"{MAX_INFLATED_BYTES / 1_048_576:,.0f} MB; split it or remove unused sheets"
        )
    for info in infos:
        if info.file_size > _RATIO_APPLIES_ABOVE and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
            raise RejectedFile(
                f"part {info.filename} would inflate {info.file_size // max(info.compress_size, 1):,} times "
                f"(limit {MAX_COMPRESSION_RATIO}:1); the file looks like a decompression bomb and was not opened"
            )


def _content_types_say_macros(archive: zipfile.ZipFile) -> bool:
    try:
        types = archive.read("[Content_Types].xml")[:200_000]
    except KeyError:
        return False
    return b"macroEnabled" in types


def _sniff_ole(path: str) -> FileKind:
    """An OLE2 container: an encrypted OOXML package, a legacy .xls, or some other Office file."""
    with open(path, "rb") as handle:
        data = handle.read(4 * 1024 * 1024)  # the directory of small files sits early enough
    if _ENCRYPTED_STREAM in data:
        raise RejectedFile(
            "the workbook is password-protected (encrypted); remove the password in Excel "
            "(File > Info > Protect Workbook) and upload it again"
        )
    if any(name in data for name in _WORKBOOK_STREAMS):
        return FileKind("xls")
    raise RejectedFile("this is an older Office document (OLE2), not a workbook; " + SAVE_AS_XLSX)
