"""Run the shared corpora (../shared/samples and ../shared/bad-inputs) through the real
`tracker` command on a fresh database, and fail on any difference from their answer keys. The
bad inputs also go through the web upload, as an embassy officer of the manifest's country, on
a real app instance (Flask's test client) over its own fresh database, with the manifest's
file-name cases; an external-entity canary listens on the port the manifest names.

    .venv/bin/python .ci/shared_corpus.py [--shared ../shared] [--tracker .venv/bin/tracker]

The project's own tests never need ../shared (a user's clone has no such folder); this script
is run by .ci/run when the folder exists, and by hand.
"""

from __future__ import annotations

import argparse
import html
import io
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.scenario import score_flags  # noqa: E402  (the scorer lives with the scenario generator)


def tracker(binary: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a tracker command; the environment carries the scratch database."""
    return subprocess.run([binary, *args], capture_output=True, text=True, check=False)


def check_samples(binary: str, samples: Path) -> list[str]:
    """Import every sample as the answer key lists it; compare totals cell by cell."""
    key = json.loads((samples / "answer_key.json").read_text())
    problems = []
    for entry in key["files"]:
        if entry["kind"] == "agency":
            args = ["--source", "agency", "--agency", entry["agency"]]
        else:
            args = ["--source", "embassy", "--country", entry["country"], "--fiscal-years",
                    f"{min(key['fiscal_years'])}-{max(key['fiscal_years'])}"]
        done = tracker(binary, "import", str(samples / entry["file"]), *args, "--json")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        if result["status"] != "committed":
            problems.append(f"{entry['file']}: {result['status']}: {result['errors'][:3]}")
    done = tracker(binary, "totals", "--by", "fiscal_year,agency,country", "--json")
    got = {(r["fiscal_year"], r["agency"], r["country"]): Decimal(r["amount"]) for r in json.loads(done.stdout)}
    expected = {(r["fiscal_year"], r["agency"], r["country"]): Decimal(str(r["amount"]))
                for r in key["agency_totals_as_reported"]}
    for cell in sorted(set(got) | set(expected), key=str):
        if got.get(cell) != expected.get(cell):
            problems.append(f"totals {cell}: expected {expected.get(cell)}, got {got.get(cell)}")
    print(f"samples: {len(key['files'])} files, {len(expected)} total cells compared, {len(problems)} problems")
    done = tracker(binary, "flags", "--json")
    problems += score_flags(key, json.loads(done.stdout), report=print)
    return problems


@contextmanager
def canary(folder: Path) -> Iterator[list[str]]:
    """Listen where the XXE file's external DTD and entity point (the manifest's canary URLs):
    any connection while the block runs is a problem."""
    problems: list[str] = []
    urls = [u for c in json.loads((folder / "manifest.json").read_text())["files"]
            for u in (c.get("details") or {}).get("canary_urls", [])]
    listener = None
    if urls:
        address = urllib.parse.urlsplit(urls[0])
        listener = socket.socket()
        try:
            listener.bind((address.hostname or "127.0.0.1", address.port or 80))
            listener.listen(5)
            listener.settimeout(0.2)
        except OSError as exc:
            print(f"  (canary port {address.port} not available: {exc}; external-entity fetches not watched)")
            listener.close()
            listener = None
    try:
        yield problems
    finally:
        if listener is not None:
            try:
                connection, peer = listener.accept()
                connection.close()
                problems.append(f"something connected to the XXE canary from {peer}: an external entity was fetched")
            except TimeoutError:
                pass
            listener.close()


def check_bad_inputs(binary: str, folder: Path) -> list[str]:
    """Every hostile or broken file gets the outcome the manifest states, fast, without a traceback,
    through the command line and through the web upload."""
    with canary(folder) as watched:
        problems = check_bad_inputs_cli(binary, folder) + check_bad_inputs_web(folder)
    return problems + watched


def check_bad_inputs_cli(binary: str, folder: Path) -> list[str]:
    """`tracker import FILE --source embassy --country ISO3 --json`, file by file."""
    manifest = json.loads((folder / "manifest.json").read_text())
    template = manifest["assumed_template"]
    problems = []
    for case in manifest["files"]:
        started = time.perf_counter()
        done = tracker(binary, "import", str(folder / case["filename"]), "--source", template["source"],
                       "--country", template["uploader_iso3"], "--json")
        seconds = time.perf_counter() - started
        lines = done.stdout.strip().splitlines()
        result = json.loads(lines[-1]) if lines else {"status": "no output"}
        expected = case["expected_cli_status"]
        if result["status"] != expected:
            problems.append(f"{case['filename']}: {result['status']}, expected {expected}")
        if (done.returncode == 0) != (expected in ("committed", "already-imported")):
            problems.append(f"{case['filename']}: exit status {done.returncode}")
        if "Traceback" in done.stderr:
            problems.append(f"{case['filename']}: traceback on stderr")
        if seconds > 20:
            problems.append(f"{case['filename']}: took {seconds:.1f} s")
        expected_rows = (case.get("details") or {}).get("expected_rows")
        if expected == "committed" and expected_rows is not None and result.get("records") != expected_rows:
            problems.append(f"{case['filename']}: {result.get('records')} records, expected {expected_rows}")
    print(f"bad inputs (command line): {len(manifest['files'])} files, {len(problems)} problems")
    return problems


#: The fiscal year the corpus's reports cover (the web form asks which years a report covers).
WEB_FISCAL_YEARS = "2024"
WEB_PASSWORD = "a passphrase for the corpus check"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class WebUploader:
    """A real app instance on a fresh SQLite database, and an embassy officer signed in to it."""

    def __init__(self, instance: str, country: str) -> None:
        from sqlmodel import Session

        from tracker import create_app, migrate
        from tracker.db import session_scope
        from tracker.seed import seed_reference
        from tracker.users import create_user

        self.app = create_app({"DATABASE_URL": f"sqlite:///{instance}/web.db", "SECRET_KEY": "corpus",
                               "INSTANCE_PATH": instance, "UPLOADS_IN_BACKGROUND": False})
        self.engine = self.app.extensions["tracker.engine"]
        migrate.upgrade(self.engine)
        with session_scope(self.engine) as session:
            seed_reference(session)
        with Session(self.engine) as session:
            create_user(session, username="corpus-officer", role="embassy", password=WEB_PASSWORD, countries=(country,))
            session.commit()
        self.country = country
        self.client = self.app.test_client()
        page = self.client.get("/login").get_data(as_text=True)
        response = self.client.post("/login", data={"username": "corpus-officer", "password": WEB_PASSWORD,
                                                     "csrf_token": self.token(page)})
        assert response.status_code == 302, "the corpus officer could not sign in"

    @staticmethod
    def token(page: str) -> str:
        found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert found, "no CSRF token on the page"
        return found[1]

    def stored(self) -> dict[str, Any]:
        """What an import could add: report rows and their total, submissions, refusals audited."""
        from sqlalchemy import func
        from sqlmodel import Session, select

        from tracker.models import AuditEvent, EmbassyReportRow, Submission

        with Session(self.engine) as session:
            rows, total = session.exec(select(func.count(), func.sum(EmbassyReportRow.amount))).one()
            return {"rows": rows, "total": total or Decimal(0),
                    "submissions": session.exec(select(func.count()).select_from(Submission)).one(),
                    "refusals": session.exec(select(func.count()).select_from(AuditEvent)
                                             .where(AuditEvent.action == "import.rejected")).one()}

    def post(self, data: bytes, filename: str) -> Any:
        from werkzeug.datastructures import FileStorage
        from werkzeug.test import encode_multipart

        page = self.client.get("/upload").get_data(as_text=True)
        form = {"csrf_token": self.token(page), "source": "embassy", "country": self.country,
                "fiscal_years": WEB_FISCAL_YEARS,
                # Sent as a workbook whatever the file is: its bytes must decide, never the label.
                "file": FileStorage(io.BytesIO(data), filename=filename, content_type=XLSX_TYPE)}
        boundary, body = encode_multipart(form)
        return self.client.post("/upload", data=body, content_type=f"multipart/form-data; boundary={boundary}")

    def job(self, location: str) -> Any:
        from sqlmodel import Session

        from tracker.models import UploadJob

        with Session(self.engine) as session:
            return session.get(UploadJob, int(location.rstrip("/").rsplit("/", 1)[1]))


def _page_text(response: Any) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


def check_bad_inputs_web(folder: Path) -> list[str]:
    """Each file uploaded as the manifest's embassy officer: a refused file answers 4xx (never 5xx),
    shows its errors and stores nothing; an accepted one is previewed, stored and shows its
    warnings; a repeat is already-imported. Then the manifest's file-name cases."""
    manifest = json.loads((folder / "manifest.json").read_text())
    template = manifest["assumed_template"]
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as instance:
        web = WebUploader(instance, template["uploader_iso3"])
        for case in manifest["files"]:
            problems += _web_case(web, folder, case)
        names = manifest.get("filename_cases", [])
        baseline = (folder / "valid_baseline.xlsx").read_bytes()
        for case in names:
            problems += _web_name(web, baseline, case)
        web.engine.dispose()
    print(f"bad inputs (web upload): {len(manifest['files'])} files, {len(names)} file names, {len(problems)} problems")
    return problems


def _web_case(web: WebUploader, folder: Path, case: dict[str, Any]) -> list[str]:
    name, expected = case["filename"], case["expected_cli_status"]
    details = case.get("details") or {}
    problems = []
    before = web.stored()
    started = time.perf_counter()
    response = web.post((folder / name).read_bytes(), name)
    pages = [response]
    if response.status_code == 302:
        location = response.location
        pages.append(web.client.get(location))
        if "Ready to store" in pages[-1].get_data(as_text=True):
            done = web.client.post(location + "/commit", data={"csrf_token": web.token(pages[-1].get_data(as_text=True))})
            pages += [done, web.client.get(done.location)]
        job = web.job(location)
        result = job.result or {"status": f"job {job.state}"}
    else:
        job, result = None, {"status": f"HTTP {response.status_code}"}
    seconds = time.perf_counter() - started
    after = web.stored()
    final, text = pages[-1], _page_text(pages[-1])
    if any(p.status_code >= 500 for p in pages) or "Traceback" in text:
        problems.append(f"{name} (web): a server error or traceback")
    if result["status"] != expected:
        problems.append(f"{name} (web): {result['status']}, expected {expected}: {[e['message'] for e in result.get('errors', [])][:3]}")
    if seconds > 20:
        problems.append(f"{name} (web): took {seconds:.1f} s")
    if expected == "rejected":
        if not 400 <= final.status_code < 500:
            problems.append(f"{name} (web): the refusal answered {final.status_code}, not 4xx")
        if {k: v for k, v in after.items() if k != "refusals"} != {k: v for k, v in before.items() if k != "refusals"}:
            problems.append(f"{name} (web): something was stored for a refused file ({before} -> {after})")
        if after["refusals"] != before["refusals"] + 1:
            problems.append(f"{name} (web): the refusal was not audited")
        missing = [e["message"] for e in result.get("errors", []) if e["message"] not in text]
        if not result.get("errors") or missing:
            problems.append(f"{name} (web): the page does not show the errors {missing[:2]}")
        if job is not None and os.path.exists(job.stored_path):
            problems.append(f"{name} (web): the refused file was kept at {job.stored_path}")
    elif expected == "committed":
        if final.status_code != 200 or "records stored" not in text:
            problems.append(f"{name} (web): the stored page answered {final.status_code}")
        rows = details.get("expected_rows")
        if rows is not None and (result.get("records") != rows or after["rows"] != before["rows"] + rows):
            problems.append(f"{name} (web): {result.get('records')} records, expected {rows}")
        total = details.get("expected_amount_total")
        if total is not None and after["total"] - before["total"] != Decimal(total):
            problems.append(f"{name} (web): stored total {after['total'] - before['total']}, expected {total}")
        warnings = result.get("warnings", [])
        if case["expect"] == "accept_with_warnings" and not warnings:
            problems.append(f"{name} (web): no warning shown")
        if case["expect"] == "accept" and warnings:
            problems.append(f"{name} (web): warnings about a clean file: {[w['message'] for w in warnings][:2]}")
        if any(w["message"] not in text for w in warnings):
            problems.append(f"{name} (web): a warning is not on the page")
    elif after != before:
        problems.append(f"{name} (web): a repeated file stored something ({before} -> {after})")
    return problems


def _web_name(web: WebUploader, baseline: bytes, case: dict[str, Any]) -> list[str]:
    """A file-name case with the baseline's content: refused with a 400, or previewed under a
    generated name and shown escaped (a preview stores nothing)."""
    name, refuse = case["filename"], case["app_must"].startswith("reject")
    shown = repr(name if len(name) < 40 else name[:20] + "...")
    before = web.stored()
    response = web.post(baseline, name)
    body = response.get_data(as_text=True)
    problems = []
    if response.status_code >= 500 or "Traceback" in body or "<script>alert(1)" in body:
        problems.append(f"file name {shown} (web): a server error, traceback or unescaped name")
    if refuse:
        if response.status_code != 400:
            problems.append(f"file name {shown} (web): answered {response.status_code}, expected a 400 refusal")
    elif response.status_code != 302:
        problems.append(f"file name {shown} (web): answered {response.status_code}, expected the preview")
    else:
        page = web.client.get(response.location).get_data(as_text=True)
        job = web.job(response.location)
        folder = Path(web.app.config["UPLOAD_FOLDER"]).resolve()
        kept = Path(job.stored_path).resolve()
        if kept.parent != folder or not re.fullmatch(r"[0-9a-f]{32}\.[a-z]+", kept.name):
            problems.append(f"file name {shown} (web): kept at {kept}, not under a generated name")
        if (job.result or {}).get("status") not in ("dry-run", "already-imported"):
            problems.append(f"file name {shown} (web): {(job.result or {}).get('status')}, expected it read on content")
        if "<script>alert(1)" in page or html.escape(job.filename, quote=False) not in page:
            problems.append(f"file name {shown} (web): the name is not shown, escaped, on the preview")
    if web.stored() != before:
        problems.append(f"file name {shown} (web): something was stored by a preview or a refusal")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = Path(__file__).resolve().parent.parent
    parser.add_argument("--shared", default=str(root.parent / "shared"))
    parser.add_argument("--tracker", default=str(root / ".venv" / "bin" / "tracker"))
    options = parser.parse_args()
    shared = Path(options.shared)
    if not shared.is_dir():
        print(f"no shared folder at {shared}: nothing to check")
        return 0
    problems = []
    for name, check in (("samples", check_samples), ("bad-inputs", check_bad_inputs)):
        if not (shared / name).is_dir():
            continue
        with tempfile.TemporaryDirectory() as instance:
            os.environ["TRACKER_INSTANCE_PATH"] = instance
            os.environ.pop("TRACKER_DATABASE_URL", None)
            for step in (("db", "upgrade"), ("seed",)):
                done = tracker(options.tracker, *step)
                if done.returncode:
                    print(done.stdout, done.stderr)
                    return 1
            problems += check(options.tracker, shared / name)
    for problem in problems:
        print("  PROBLEM:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
