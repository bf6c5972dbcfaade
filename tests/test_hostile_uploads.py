"""Hostile and broken uploads (issue 7): every kind of file in the shared bad-input corpus, as the
project writes it (tests/hostile.py), through the command line and through the web upload as an
embassy officer. Each gets the outcome the corpus manifest states, a message naming the place,
no traceback, nothing stored when refused, and memory and time bounded where the file attacks
them (the command runs in a child process under an address-space cap it could not survive
inflating the file)."""

from __future__ import annotations

import html
import io
import json
import os
import re
import resource
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func
from sqlmodel import Session, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests import hostile
from tests.hostile import CASES, Case
from tests.web.conftest import PASSWORD, csrf_token, loaded, sign_in  # noqa: F401  (the web half's fixtures)
from tracker import create_app
from tracker.models import AuditEvent, EmbassyReportRow, Obligation, Submission, UploadJob

#: The address space (bytes) the command may use on a file that attacks memory: far less than
#: the 1 GiB a zip bomb or an entity bomb would need once expanded.
MEMORY_CAP = 512 * 1024 * 1024
CLI_COUNTRY, WEB_COUNTRY = ("THA", "Thailand"), ("IDN", "Indonesia")  # t-jakarta reports for Indonesia
IDS = [case.name for case in CASES]


# --- what is stored ---------------------------------------------------------------------------


def stored(engine: Engine) -> dict[str, Any]:
    """Everything an import could add: report rows and their total, submissions, obligations,
    and audit events of refused files."""
    with Session(engine) as session:
        rows, total = session.exec(select(func.count(), func.sum(EmbassyReportRow.amount))).one()
        return {
            "rows": rows, "total": total or Decimal(0),
            "submissions": session.exec(select(func.count()).select_from(Submission)).one(),
            "obligations": session.exec(select(func.count()).select_from(Obligation)).one(),
            "refusals": session.exec(select(func.count()).select_from(AuditEvent)
                                     .where(AuditEvent.action == "import.rejected")).one(),
        }


def rows_of(engine: Engine, submission_id: int) -> list[EmbassyReportRow]:
    with Session(engine) as session:
        return list(session.exec(select(EmbassyReportRow).where(EmbassyReportRow.submission_id == submission_id)
                                 .order_by(EmbassyReportRow.source_row)).all())


def named_cells(issues: list[dict[str, Any]]) -> set[str]:
    """The places the issues name: "F4" (column and row) and "4" (the row) for each."""
    found = set()
    for issue in issues:
        if issue["row"]:
            found |= {f"{issue['column']}{issue['row']}", str(issue["row"])}
    return found


def check_outcome(case: Case, result: dict[str, Any], before: dict[str, Any], after: dict[str, Any],
                  engine: Engine) -> None:
    """The manifest's outcome for the case, from the result the command line prints (or the
    upload job keeps), and the database before and after."""
    assert result["status"] == case.expect, (result["status"], result["errors"][:5], result["notes"])
    assert result["file"] == case.name
    if case.expect == "rejected":
        assert result["errors"], "a refused file must say why"
        messages = " | ".join(e["message"] for e in result["errors"])
        for text in case.says:
            assert text in messages, (text, messages[:2000])
        named = named_cells(result["errors"])
        assert set(case.cells) <= named, (sorted(set(case.cells) - named), messages[:2000])
        for issue in result["errors"]:
            if issue["row"]:
                assert issue["sheet"] == ("" if case.name.endswith(".csv") else "Obligations") and issue["column"]
        assert {k: v for k, v in after.items() if k != "refusals"} == {k: v for k, v in before.items() if k != "refusals"}
        assert after["refusals"] == before["refusals"] + 1, "a refused import is audited"
        return
    if case.expect == "already-imported":
        assert after == before and any(case.says[0] in note for note in result["notes"])
        return
    assert result["records"] == case.rows and not result["errors"]
    warned = " | ".join(w["message"] for w in result["warnings"])
    for text in case.says:
        assert text in warned, (text, warned)
    named = named_cells(result["warnings"])
    assert set(case.cells) <= named, (sorted(set(case.cells) - named), warned)
    if not case.says and not case.cells:
        assert not result["warnings"], f"no warning expected about a clean file: {warned}"
    assert after["rows"] == before["rows"] + case.rows and after["submissions"] == before["submissions"] + 1
    records = rows_of(engine, result["submission_id"])
    assert len(records) == case.rows
    if case.total is not None:
        assert sum(r.amount for r in records) == case.total
        assert after["total"] == before["total"] + case.total
    check_records(case, records)


def check_records(case: Case, records: list[EmbassyReportRow]) -> None:
    """What the stored rows of an accepted file must hold, beyond their count and total."""
    texts = [t for r in records for t in (r.implementer_name, r.title) if t]
    assert not any(t.startswith("\ufeff") or "\ufffd" in t or "\x00" in t or "Ã" in t for t in texts), texts
    assert all(isinstance(r.amount, Decimal) for r in records)
    sheet = None if case.name.endswith(".csv") else "Obligations"
    first = 3 if case.name.startswith("merged") else 2
    lines = list(range(first, first + case.rows))
    if case.name == "csv_injection.csv":
        lines = [2, 3, 4, 5, 6, 7, 8, 10, 11, 12]  # the record on line 8 holds a lone CR: a line break
    assert [(r.source_sheet, r.source_row) for r in records] == [(sheet, n) for n in lines]
    if case.name == "csv_cp1252_no_bom.csv":
        assert tuple(r.implementer_name for r in records) == hostile.CP1252_PARTNERS
        assert "\u20ac5,000" in records[0].title and "\u201cSafe homes\u201d" in records[1].title
    elif case.name == "csv_injection.csv":
        assert records[0].implementer_name == "=cmd|' /C calc'!A0"
        assert [r.implementer_name for r in records] == [" ".join(p.split()) for p in hostile.INJECTION]
    elif case.name == "amounts_negative.xlsx":
        assert [r.amount for r in records if r.amount < 0] == [Decimal("-5000.00"), Decimal("-0.01")]
    elif case.name == "numbers_stored_as_text.xlsx":
        assert [r.amount for r in records] == [Decimal(a.replace(",", "").strip(" $")) for a in hostile.TEXT_AMOUNTS]
        assert {r.fiscal_year for r in records} == {2024}
    elif case.name == "hidden_sheet_with_data.xlsx":
        assert {r.fiscal_year for r in records} == {2024} and "superseded draft" not in texts
    elif case.name == "duplicate_rows.xlsx":
        assert records[1].title == records[5].title and records[1].amount == records[5].amount


# --- the files, and a listener for the XXE case ------------------------------------------------


class Canary:
    """A TCP listener on 127.0.0.1 where an external DTD or entity would be fetched from: it
    notes and drops every connection (so a fetch fails at once rather than hanging)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.connections: list[tuple[str, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, peer = self.listener.accept()
            except TimeoutError:
                continue
            self.connections.append(peer)
            connection.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.listener.close()


@pytest.fixture
def canary() -> Iterator[Canary]:
    """The XXE canary, listening for the whole test."""
    listening = Canary()
    yield listening
    listening.close()


def build(case: Case, folder: Path, country: str, canary: Canary) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if case.build is hostile.xxe:
        return hostile.xxe(folder, country, canary.port)
    return case.build(folder, country)


# --- the command line -------------------------------------------------------------------------


def run_capped(path: Path, db_url: str, instance: Path) -> tuple[int, str, str]:
    """`tracker import PATH --json` in a child process that cannot grow past MEMORY_CAP."""
    def cap() -> None:  # runs in the child, before the tracker starts
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))

    env = {**os.environ, "TRACKER_DATABASE_URL": db_url, "TRACKER_INSTANCE_PATH": str(instance)}
    done = subprocess.run([sys.executable, "-m", "tracker", "import", str(path), "--source", "embassy",
                           "--country", CLI_COUNTRY[0], "--json"],
                          capture_output=True, text=True, env=env, timeout=120, preexec_fn=cap, check=False)
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_command_line(case: Case, app: Flask, runner, db_url: str, tmp_path: Path, canary: Canary) -> None:
    engine = app.extensions["tracker.engine"]
    if case.expect == "already-imported":
        (tmp_path / "files").mkdir()
        assert runner.invoke(args=["import", str(hostile.baseline_xlsx(tmp_path / "files", CLI_COUNTRY[1])), "--source",
                                   "embassy", "--country", CLI_COUNTRY[0]]).exit_code == 0
    path = build(case, tmp_path / "files", CLI_COUNTRY[1], canary)
    before = stored(engine)
    if case.resources or case.name.endswith(".xls"):
        # In a child process under the cap: the file cannot take the reader past it unnoticed
        # (and the .xls reader's own sandbox must start inside a capped parent).
        code, output, errors = run_capped(path, db_url, tmp_path / "instance")
    else:
        done = runner.invoke(args=["import", str(path), "--source", "embassy", "--country", CLI_COUNTRY[0], "--json"])
        code, output, errors = done.exit_code, done.output, ""
        assert done.exception is None or isinstance(done.exception, SystemExit), repr(done.exception)
    assert "Traceback" not in output + errors
    result = json.loads([line for line in output.splitlines() if line.startswith("{")][-1])
    assert (code == 0) == (case.expect != "rejected"), (code, errors[-2000:])
    check_outcome(case, result, before, stored(engine), engine)
    assert canary.connections == [], "an external entity or DTD was fetched"


# --- the web upload, as an embassy officer ----------------------------------------------------


def upload(client: FlaskClient, data: bytes, filename: str, *, content_type: str | None = None,
           years: str = "2024") -> Any:
    """Post a file through the upload form (for the officer's own country)."""
    page = client.get("/upload").get_data(as_text=True)
    form = {"csrf_token": csrf_token(page), "source": "embassy", "country": WEB_COUNTRY[0], "fiscal_years": years,
            "file": FileStorage(io.BytesIO(data), filename=filename, content_type=content_type)}
    # Encoded here, in memory: the test client's own encoder spools large bodies to a temporary
    # file it never closes.
    boundary, body = encode_multipart(form)
    return client.post("/upload", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def web_import(client: FlaskClient, engine: Engine, path: Path, filename: str | None = None,
               content_type: str | None = None) -> tuple[int, str, dict[str, Any]]:
    """Upload, look at the preview and, if it is ready, store it: the last page's status and
    text, and the job's result."""
    response = upload(client, path.read_bytes(), filename or path.name, content_type=content_type)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    page = client.get(response.location)
    text = page.get_data(as_text=True)
    if "Ready to store" in text:
        committed = client.post(response.location + "/commit", data={"csrf_token": csrf_token(text)})
        assert committed.status_code == 302
        page = client.get(committed.location)
        text = page.get_data(as_text=True)
    job_id = int(response.location.rstrip("/").rsplit("/", 1)[1])
    with Session(engine) as session:
        job = session.get(UploadJob, job_id)
        assert job is not None and job.state == "done", job and job.message
        return page.status_code, html.unescape(re.sub(r"\s+", " ", text)), job.result


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_web_upload(case: Case, loaded: Flask, sign_in, tmp_path: Path, canary: Canary) -> None:  # noqa: F811
    engine = loaded.extensions["tracker.engine"]
    client = sign_in("jakarta")
    if case.expect == "already-imported":
        (tmp_path / "files").mkdir()
        status, _, result = web_import(client, engine, hostile.baseline_xlsx(tmp_path / "files", WEB_COUNTRY[1]))
        assert (status, result["status"]) == (200, "committed")
    path = build(case, tmp_path / "files", WEB_COUNTRY[1], canary)
    before = stored(engine)
    # Sent as an Excel workbook whatever it is: the bytes decide, never the label.
    status, text, result = web_import(client, engine, path, content_type=hostile.XLSX_TYPE)
    assert "Traceback" not in text and case.name in text
    check_outcome(case, result, before, stored(engine), engine)
    if case.expect == "rejected":
        assert status == 422 and "The file cannot be stored as it is" in text and "nothing was stored" in text
        for issue in result["errors"]:
            assert issue["message"] in text
        assert os.listdir(loaded.config["UPLOAD_FOLDER"]) == [], "a refused file is not kept"
    elif case.expect == "committed":
        assert status == 200 and f"{case.rows} records stored" in text
        for warning in result["warnings"]:
            assert warning["message"] in text
    else:
        assert status == 200 and "was imported before as submission" in text
    assert canary.connections == [], "an external entity or DTD was fetched"
    assert client.get("/upload").status_code == 200  # the app answers the next request


def test_nothing_the_app_serves_carries_the_macros(loaded: Flask, sign_in, tmp_path: Path) -> None:  # noqa: F811
    """A macro-enabled upload is stored as values only: the post's template, pre-filled with the
    stored rows, is a plain workbook with no VBA part."""
    import zipfile

    engine = loaded.extensions["tracker.engine"]
    client = sign_in("jakarta")
    status, _, result = web_import(client, engine, hostile.macro_enabled(tmp_path, WEB_COUNTRY[1]))
    assert (status, result["status"]) == (200, "committed")
    template = client.get(f"/post/{WEB_COUNTRY[0]}/template.xlsx?fy=2024")
    with zipfile.ZipFile(io.BytesIO(template.data)) as archive:
        assert "xl/vbaProject.bin" not in archive.namelist()
        assert b"macroEnabled" not in archive.read("[Content_Types].xml")


def test_formula_like_text_comes_back_as_text(loaded: Flask, sign_in, tmp_path: Path) -> None:  # noqa: F811
    """The CSV-injection payloads, stored as text, are written back as text cells (never formulas)
    in the post's template, pre-filled with the stored rows."""
    from openpyxl import load_workbook

    engine = loaded.extensions["tracker.engine"]
    client = sign_in("jakarta")
    status, _, result = web_import(client, engine, hostile.csv_injection(tmp_path, WEB_COUNTRY[1]))
    assert (status, result["status"]) == (200, "committed")
    book = load_workbook(io.BytesIO(client.get(f"/post/{WEB_COUNTRY[0]}/template.xlsx?fy=2024").data))
    # Implementer names are shown as the implementer is known: payloads that differ only in
    # punctuation ("+SUM..." and "@SUM...") are one implementer, shown by its first name.
    found = [cell for row in book["Report"].iter_rows(min_row=5) for cell in row
             if isinstance(cell.value, str) and cell.value.startswith(("=", "+", "-", "@"))]
    assert {cell.value for cell in found} >= {hostile.INJECTION[0], hostile.INJECTION[1], hostile.INJECTION[2]}
    assert all(cell.data_type == "s" for cell in found), [(c.coordinate, c.data_type) for c in found]


# --- the name the browser sends ---------------------------------------------------------------

#: The shared manifest's file-name cases: accepted on content (stored under a generated name), or
#: refused with the reason.
NAMES = [("../../outside.xlsx", None), ("..\\..\\outside.xlsx", None), ("report.xlsx.php", "are not accepted"),
         ("report.php.xlsx", None), ("report.xlsx\x00.exe", "NUL byte"), ("CON.xlsx", None), ("A" * 250 + ".xlsx", None),
         ("<script>alert(1)</script>.xlsx", None), ("R\u00e9sum\u00e9 \u00fcn\u00efc\u00f8d\u00e9.xlsx", None),
         ("REPORT.XLSX", None), ("", "Choose a file")]


@pytest.mark.parametrize(("filename", "refusal"), NAMES, ids=[f"name{i}" for i in range(len(NAMES))])
def test_file_names(filename: str, refusal: str | None, loaded: Flask, sign_in, tmp_path: Path) -> None:  # noqa: F811
    engine = loaded.extensions["tracker.engine"]
    client = sign_in("jakarta")
    data = hostile.baseline_xlsx(tmp_path, WEB_COUNTRY[1]).read_bytes()
    before = stored(engine)
    response = upload(client, data, filename)
    body = response.get_data(as_text=True)
    assert "Traceback" not in body and "<script>alert(1)" not in body
    if refusal:
        assert response.status_code == 400 and refusal in html.unescape(body)
        assert stored(engine) == before
        return
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "Ready to store" in page and "<script>alert(1)" not in page
    with Session(engine) as session:
        job = session.exec(select(UploadJob).order_by(UploadJob.id.desc())).first()  # type: ignore[union-attr]
    folder = Path(loaded.config["UPLOAD_FOLDER"]).resolve()
    kept = Path(job.stored_path).resolve()
    assert kept.parent == folder and re.fullmatch(r"[0-9a-f]{32}\.xlsx", kept.name), kept
    # Shown by its last part only (the multipart parser may already have dropped backslashes),
    # shortened past 200 characters but keeping its extension.
    assert "/" not in job.filename and "\\" not in job.filename and len(job.filename) <= 200
    assert job.filename.lower().endswith(".xlsx") and html.escape(job.filename, quote=False) in page
    shown = filename.replace("\\", "/").rsplit("/", 1)[-1]
    if len(shown) <= 200 and "\\" not in filename:
        assert job.filename == shown
    assert stored(engine) == before  # a preview stores nothing


# --- the size limit ---------------------------------------------------------------------------


@pytest.fixture
def small_limit(demo_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """The app with its upload limit set the way an operator sets it: TRACKER_MAX_CONTENT_LENGTH."""
    monkeypatch.setenv("TRACKER_MAX_CONTENT_LENGTH", str(48 * 1024))
    app = create_app({"TESTING": True, "DATABASE_URL": demo_db_url, "SECRET_KEY": "test-secret",
                      "INSTANCE_PATH": str(tmp_path / "instance"), "UPLOADS_IN_BACKGROUND": False})
    yield app
    app.extensions["tracker.engine"].dispose()


def test_uploads_past_the_configured_limit_get_413_saying_the_limit(small_limit: Flask, tmp_path: Path) -> None:
    assert small_limit.config["MAX_CONTENT_LENGTH"] == 48 * 1024
    engine = small_limit.extensions["tracker.engine"]
    client = small_limit.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"username": "t-jakarta", "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302
    before = stored(engine)
    with Session(engine) as session:
        jobs_before = session.exec(select(func.count()).select_from(UploadJob)).one()
    big = hostile.baseline_csv(tmp_path, WEB_COUNTRY[1]).read_bytes()
    big += b"\r\n" * (48 * 1024)  # blank lines: harmless content, too many bytes
    response = upload(client, big, "big.csv")
    text = re.sub(r"\s+", " ", response.get_data(as_text=True))
    assert response.status_code == 413
    assert "The file is too large" in text and "Uploads are limited to 48 KB" in text and "Nothing was stored" in text
    assert "Traceback" not in text
    assert stored(engine) == before
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(UploadJob)).one() == jobs_before
    folder = small_limit.config["UPLOAD_FOLDER"]
    assert not os.path.isdir(folder) or os.listdir(folder) == []
    # Just under the limit, the same kind of file is read (the limit is the configured one).
    response = upload(client, big[: 40 * 1024], "fits.csv")
    assert response.status_code == 302
    assert client.get("/upload").status_code == 200


def test_the_default_limit_is_stated_in_megabytes(loaded: Flask, sign_in) -> None:  # noqa: F811
    """The shipped default (20 MB) is what the 413 page says, and one byte over is refused."""
    client = sign_in("jakarta")
    limit = loaded.config["MAX_CONTENT_LENGTH"]
    assert limit == 20 * 1024 * 1024
    response = upload(client, b"x" * (limit + 1), "huge.csv")
    assert response.status_code == 413 and "Uploads are limited to 20 MB" in response.get_data(as_text=True)



def test_the_canary_sees_what_a_careless_parser_fetches(canary: Canary, tmp_path: Path) -> None:
    """The XXE checks above can fail: a parser told to resolve external entities (here the
    standard library's SAX parser) does connect to the canary."""
    import xml.sax
    import zipfile
    from http.client import HTTPException

    path = hostile.xxe(tmp_path, CLI_COUNTRY[1], canary.port)
    with zipfile.ZipFile(path) as archive:
        part = archive.read("xl/sharedStrings.xml")
    careless = xml.sax.make_parser()
    careless.setFeature(xml.sax.handler.feature_external_ges, True)
    with pytest.raises((HTTPException, OSError)):  # the canary drops the connection
        careless.parse(io.BytesIO(part))
    assert canary.connections, "the careless parser should have tried the canary"
