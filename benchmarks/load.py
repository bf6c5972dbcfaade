"""Benchmark: the web app under load, served by gunicorn on PostgreSQL, driven over loopback.

    .venv/bin/python benchmarks/load.py [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]
        [--seconds 30] [--users 8] [--workers 3] [--threads 4] [--baseline-seconds 10]

Method: a scratch database (created, then dropped at the end) is migrated, seeded and loaded
with the sample scenario (imports/samples, as `tracker serve --demo` does), plus one account per
simulated role. gunicorn serves `tracker:create_app()` with several gthread workers on
127.0.0.1 at a free port. A second process drives it with threads, each a signed-in user in a
closed loop (no think time) until the time is up, finishing the journey it is in:

- browsing (budget officer): dashboard, obligations browser with filters, flag queue, a post's
  page, and the JSON API (totals, obligations, flags);
- uploading (an embassy officer for Indonesia and a State agency user): the real upload form
  with its CSRF token and a small workbook generated for each upload (unique, so each is a new
  submission), polling the background check, then committing it and polling again;
- deciding (reviewers): open the flag queue, open a flag, post a decision with the version seen
  (two reviewers on one flag: the second is told, 409, which is counted as a conflict, not an
  error).

First a baseline: the same drive with one user doing every kind in turn, for
--baseline-seconds. Prints requests per second, latency p50/p95/p99 per kind, errors (anything
but the expected status) and the ratio to the baseline. Then, with the server stopped, checks
the database: the obligation_total summary equals the sums of the obligations, every upload the
driver saw committed is exactly one submission whose stored rows number what it reported (no
half-import), no upload job is left running, and every decision the driver saw accepted is one
flag_decision row with its audit event. Exits non-zero on any error or inconsistency.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

PASSWORD = "load-benchmark-passphrase"
#: (username, role, countries, agency) of the simulated users' accounts.
ACCOUNTS = [("load-budget", "budget", (), None), ("load-post", "embassy", ("IDN",), None),
            ("load-state", "agency", (), "DOS")] + [(f"load-reviewer{n}", "reviewer", (), None) for n in range(1, 5)]
EMBASSY_HEADERS = ["Fiscal Year", "Agency", "Office", "Implementing Partner", "Project Title", "Amount (USD)"]
AGENCY_HEADERS = ["Fiscal Year", "Office", "Country", "Implementing Partner", "Project Title", "Amount"]
UPLOAD_PREFIX = "load-"


# --- setting up -----------------------------------------------------------------------------


def prepare(url: str, instance: str) -> dict[str, int]:
    """Migrate, seed, load the sample scenario and create the simulated users' accounts."""
    from sqlalchemy import text
    from sqlmodel import Session

    from tracker import create_app
    from tracker.cli import prepare_database
    from tracker.demo import load_demo
    from tracker.users import create_user

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "load", "INSTANCE_PATH": instance})
    prepare_database(app)
    load_demo(app)
    engine = app.extensions["tracker.engine"]
    with Session(engine) as session:
        for username, role, countries, agency in ACCOUNTS:
            create_user(session, username=username, role=role, password=PASSWORD, countries=countries,
                        agency=agency)
        session.commit()
        counts = {name: session.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()
                  for name in ("obligation", "embassy_report_row", "flag", "submission")}
    engine.dispose()
    return counts


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(url: str, instance: str, port: int, workers: int, threads: int) -> subprocess.Popen[bytes]:
    """gunicorn serving the app factory; returns once /healthz answers 200."""
    import requests

    env = {**os.environ, "TRACKER_DATABASE_URL": url, "TRACKER_INSTANCE_PATH": instance,
           "TRACKER_SECRET_KEY": uuid.uuid4().hex}  # one key for every worker: sessions work across them
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
                              "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
                              "--graceful-timeout", "30", "--log-level", "warning", "tracker:create_app()"],
                             env=env, cwd=Path(__file__).resolve().parent.parent)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise SystemExit("gunicorn stopped while starting")
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=30).status_code == 200:
                    return server
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise SystemExit("gunicorn did not answer /healthz within 120 s")
    except BaseException:
        stop_server(server)
        raise


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """Graceful stop (SIGTERM: workers finish their requests), then wait."""
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# --- the simulated users (run in the driver process) ----------------------------------------


class Recorded(RuntimeError):
    """A failure already counted by the recorder."""


class Recorder:
    """Latencies per kind of request, errors and conflicts, shared by the user threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.conflicts = 0
        self.committed: list[dict[str, Any]] = []  # uploads seen committed: filename, records
        self.decisions = 0

    def add(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.times[kind].append(seconds)

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)


class User:
    """One signed-in person: a requests session and the journeys of their role."""

    def __init__(self, base: str, username: str, recorder: Recorder, rng: random.Random) -> None:
        import requests

        self.base, self.username, self.recorder, self.rng = base, username, recorder, rng
        self.http = requests.Session()
        page = self.call("login page", "GET", "/login")
        self.call("sign in", "POST", "/login", expect=302, allow_redirects=False,
                  data={"username": username, "password": PASSWORD, "csrf_token": _hidden(page.text, "csrf_token")})


    def call(self, kind: str, method: str, path: str, *, expect: int | tuple[int, ...] = 200, **options: Any) -> Any:
        """One request, timed and checked; an unexpected status or a network failure is an error."""
        started = time.perf_counter()
        try:
            response = self.http.request(method, self.base + path, timeout=120, **options)
        except Exception as exc:  # noqa: BLE001 - every failure is counted and shown
            self.recorder.error(f"{kind} {path}: {type(exc).__name__}: {exc}")
            raise Recorded(kind) from exc
        self.recorder.add(kind, time.perf_counter() - started)
        allowed = expect if isinstance(expect, tuple) else (expect,)
        if response.status_code not in allowed:
            said = re.findall(r'usa-error-message[^>]*>([^<]+)<', response.text) or [response.text[:200]]
            self.recorder.error(f"{kind} {method} {path} as {self.username}: HTTP {response.status_code} {said}")
            raise Recorded(kind)
        return response

    # Browsing: what a budget officer looks at.
    def browse(self) -> None:
        fy = self.rng.choice([2005, 2006, 2007])
        self.call("dashboard", "GET", "/dashboard")
        self.call("obligations", "GET", f"/obligations?fy={fy}&agency={self.rng.choice(['DOS', 'USAID', 'DOL'])}")
        self.call("obligations", "GET", f"/obligations?country=IDN&sort=-amount&page={self.rng.randint(1, 2)}")
        self.call("flag queue", "GET", f"/flags?status=&fy={fy}")
        self.call("post page", "GET", "/post/IDN")
        self.call("api", "GET", f"/api/totals?by=fiscal_year,agency&fy={fy}")
        self.call("api", "GET", "/api/obligations?country=IDN")
        self.call("api", "GET", "/api/flags?status=open")

    # Uploading: the real form, its check in the background, then the commit.
    def upload(self, source: str) -> None:
        started = time.perf_counter()
        name = f"{UPLOAD_PREFIX}{source}-{uuid.uuid4().hex[:12]}.xlsx"
        content, rows = _workbook(source, self.rng)
        form = self.call("upload form", "GET", "/upload")
        # As a browser sends it: the country select always has a value (an agency file ignores it).
        data = {"csrf_token": _hidden(form.text, "csrf_token"), "source": source, "country": "IDN"}
        if source == "embassy":
            data.update(fiscal_years="2007")
        posted = self.call("upload (post file)", "POST", "/upload", expect=302, allow_redirects=False, data=data,
                           files={"file": (name, content, "application/vnd.openxmlformats-officedocument."
                                                          "spreadsheetml.sheet")})
        job = int(re.search(r"/upload/(\d+)$", posted.headers["Location"])[1])  # type: ignore[index]
        self._wait(job)
        result = self.call("upload result", "GET", f"/upload/{job}")
        if "Ready to store" not in result.text:
            self.recorder.error(f"upload {name}: the check did not pass, nothing to commit")
            return
        form_action = f'action="/upload/{job}/commit"'
        result_form = result.text[result.text.index(form_action):]
        self.call("upload (commit)", "POST", f"/upload/{job}/commit", expect=302, allow_redirects=False,
                  data={"csrf_token": _hidden(result_form, "csrf_token")})
        self._wait(job)
        outcome = self.call("upload result", "GET", f"/upload/{job}")
        if ">Stored</h2>" not in outcome.text:
            self.recorder.error(f"upload {name}: not stored after the commit")
            return
        with self.recorder.lock:
            self.recorder.committed.append({"filename": name, "records": rows, "job": job})
        self.recorder.add("upload journey (end to end)", time.perf_counter() - started)

    def _wait(self, job: int) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            state = self.call("upload status", "GET", f"/upload/{job}/status").json()["state"]
            if state == "done":
                return
            if state == "failed":
                self.recorder.error(f"upload job {job} failed")
                raise Recorded("upload failed")
            time.sleep(0.1)
        self.recorder.error(f"upload job {job} still not done after 120 s")
        raise Recorded("upload too slow")

    # Deciding: a reviewer opens a flag and decides it with the version they saw.
    def decide(self) -> None:
        queue = self.call("flag queue", "GET", f"/flags?status=&page={self.rng.randint(1, 3)}")
        ids = sorted({int(i) for i in re.findall(r'href="/flags/(\d+)"', queue.text)})
        if not ids:
            return
        flag = self.rng.choice(ids)
        page = self.call("flag page", "GET", f"/flags/{flag}")
        response = self.call("decision", "POST", f"/flags/{flag}", expect=(302, 409), allow_redirects=False, data={
            "csrf_token": _hidden(page.text, "csrf_token"), "version": _hidden(page.text, "version"),
            "decision": self.rng.choice(["confirmed", "not_a_problem", "explained", "follow_up"]),
            "gao_class": "", "effect": "no change", "comment": f"load test decision by {self.username}"})
        with self.recorder.lock:
            if response.status_code == 409:
                self.recorder.conflicts += 1
            else:
                self.recorder.decisions += 1


def _hidden(page: str, name: str) -> str:
    found = (re.search(rf'name="{name}"[^>]*value="([^"]*)"', page)
             or re.search(rf'value="([^"]*)"[^>]*name="{name}"', page))
    if not found:
        raise RuntimeError(f"no {name} field on the page")
    return found[1]


def _workbook(source: str, rng: random.Random) -> tuple[bytes, int]:
    """A small workbook, unique in content: an embassy report for Indonesia FY2007, or State
    obligations for FY2009."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    tag = uuid.uuid4().hex[:8]
    count = rng.randint(3, 12)
    if source == "embassy":
        sheet.append(EMBASSY_HEADERS)
        for n in range(count):
            sheet.append([2007, "State", "INL", "IOM", f"Load test program {tag} {n}",
                          float(Decimal(rng.randrange(100_000, 50_000_000)) / 100)])
    else:
        sheet.append(AGENCY_HEADERS)
        for n in range(count):
            sheet.append([2009, rng.choice(["INL", "G/TIP", "PRM"]), rng.choice(["Indonesia", "Albania", "Kenya"]),
                          "IOM", f"Load test obligation {tag} {n}",
                          float(Decimal(rng.randrange(100_000, 50_000_000)) / 100)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue(), count


def drive(base: str, users: int, seconds: float, seed: int) -> dict[str, Any]:
    """Run the simulated users for ``seconds``; with one user, that user does every kind in turn
    (signed in as the role each kind needs)."""
    recorder = Recorder()
    roles = [("load-budget", "browse"), ("load-post", "upload:embassy"), ("load-reviewer1", "decide"),
             ("load-state", "upload:agency"), ("load-reviewer2", "decide"), ("load-budget", "browse"),
             ("load-reviewer3", "decide"), ("load-budget", "browse"), ("load-reviewer4", "decide")]
    plan = [roles[:4]] if users == 1 else [[roles[n % len(roles)]] for n in range(users)]
    deadline = time.monotonic() + seconds

    def run(index: int, journeys: list[tuple[str, str]]) -> None:
        rng = random.Random(seed * 1000 + index)
        try:
            people = {username: User(base, username, recorder, rng) for username, _ in journeys}
        except Recorded:
            return
        turn = 0
        while time.monotonic() < deadline:  # the journey under way is finished after the deadline
            username, journey = journeys[turn % len(journeys)]
            turn += 1
            person = people[username]
            try:
                if journey == "browse":
                    person.browse()
                elif journey == "decide":
                    person.decide()
                else:
                    person.upload(journey.split(":")[1])
            except Recorded:
                pass
            except Exception as exc:  # noqa: BLE001 - counted; the user goes on
                recorder.error(f"{username} {journey}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=run, args=(n, journeys)) for n, journeys in enumerate(plan)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    requests_made = sum(len(v) for k, v in recorder.times.items() if k != "upload journey (end to end)")
    return {"users": users, "seconds": elapsed, "requests": requests_made, "rps": requests_made / elapsed,
            "kinds": {k: _percentiles(v) for k, v in sorted(recorder.times.items())},
            "errors": recorder.errors, "conflicts": recorder.conflicts, "decisions": recorder.decisions,
            "committed": recorder.committed}


def _percentiles(seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    cut = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else [ms[0]] * 99
    return {"n": len(ms), "p50": cut[49], "p95": cut[94], "p99": cut[98]}


# --- checking the database afterwards ---------------------------------------------------------


def check_consistency(url: str, committed: list[dict[str, Any]], decisions: int) -> list[str]:
    """What must hold once the server has stopped; returns the problems found."""
    from sqlalchemy import create_engine, text

    problems = []
    engine = create_engine(url)
    with engine.connect() as connection:
        q = lambda sql, **p: connection.execute(text(sql), p).all()  # noqa: E731
        mismatched = q("""
            WITH records AS (SELECT fiscal_year, office_id, country_code, program_id, status,
                                    count(*) AS n, sum(amount) AS amount
                             FROM obligation WHERE current GROUP BY 1, 2, 3, 4, 5),
                 summary AS (SELECT fiscal_year, office_id, country_code, program_id, status, records AS n, amount
                             FROM obligation_total)
            (SELECT * FROM records EXCEPT ALL SELECT * FROM summary)
            UNION ALL (SELECT * FROM summary EXCEPT ALL SELECT * FROM records)""")
        if mismatched:
            problems.append(f"obligation_total differs from the obligations in {len(mismatched)} groups")
        stored = {row[0]: row[1:] for row in q(
            "SELECT s.filename, count(*) OVER (PARTITION BY s.filename), s.records, s.source_kind, "
            "(SELECT count(*) FROM obligation o WHERE o.submission_id = s.id) + "
            "(SELECT count(*) FROM embassy_report_row e WHERE e.submission_id = s.id) "
            "FROM submission s WHERE s.filename LIKE :p", p=f"{UPLOAD_PREFIX}%")}
        seen = {c["filename"]: c for c in committed}
        for name, (copies, records, _kind, rows) in stored.items():
            if name not in seen:
                problems.append(f"{name}: stored, but the driver never saw it committed")
            if copies != 1:
                problems.append(f"{name}: stored {copies} times")
            if rows != records or (name in seen and records != seen[name]["records"]):
                problems.append(f"{name}: {rows} rows stored, submission says {records}, "
                                f"file has {seen.get(name, {}).get('records')} (a half-import?)")
        problems += [f"{name}: committed by the driver but not stored" for name in seen if name not in stored]
        unfinished = q("SELECT id, state FROM upload_job WHERE state IN ('queued', 'running')")
        if unfinished:
            problems.append(f"upload jobs left unfinished: {unfinished}")
        current = q("SELECT scope_key, count(*) FROM submission WHERE filename LIKE :p AND status = 'committed' "
                    "GROUP BY scope_key HAVING count(*) > 1", p=f"{UPLOAD_PREFIX}%")
        if current:
            problems.append(f"more than one current load file for one source (a missed supersede): {current}")
        by_reviewers = "(SELECT id FROM app_user WHERE username LIKE 'load-reviewer%')"
        made = q(f"SELECT count(*) FROM flag_decision WHERE decided_by_id IN {by_reviewers}")[0][0]
        audited = q(f"SELECT count(*) FROM audit_event WHERE action = 'flag.decide' AND user_id IN {by_reviewers}")[0][0]
        if not made == audited == decisions:
            problems.append(f"decisions: driver saw {decisions} accepted, {made} stored, {audited} audited")
        latest = q("""SELECT f.id FROM flag f JOIN LATERAL (SELECT decision FROM flag_decision d WHERE d.flag_id = f.id
                      ORDER BY d.decided_at DESC, d.id DESC LIMIT 1) d ON true WHERE f.decision IS DISTINCT FROM d.decision""")
        if latest:
            problems.append(f"flags whose decision is not their latest recorded one: {[r[0] for r in latest][:10]}")
    engine.dispose()
    return problems


# --- the run ------------------------------------------------------------------------------------


def _child(*args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--step", "drive", *args], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def _print(title: str, run: dict[str, Any]) -> None:
    print(f"\n{title}: {run['users']} user(s), {run['seconds']:.1f} s, {run['requests']:,} requests, "
          f"{run['rps']:.1f} requests/s, {len(run['errors'])} errors, {run['conflicts']} decision conflicts (409), "
          f"{len(run['committed'])} uploads committed, {run['decisions']} decisions")
    print(f"  {'kind':32} {'n':>6} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9}")
    for kind, figures in run["kinds"].items():
        print(f"  {kind:32} {figures['n']:>6} {figures['p50']:>9.0f} {figures['p95']:>9.0f} {figures['p99']:>9.0f}")
    for error in run["errors"][:10]:
        print(f"  error: {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
                        help="a PostgreSQL server (any database on it); a scratch database is made there")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--baseline-seconds", type=float, default=10)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.step == "drive":
        print(json.dumps(drive(options.base, options.users, options.seconds, options.seed)))
        return

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server_url = make_url(options.postgres)
    name = f"tracker_load_{os.getpid()}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = server_url.set(database=name).render_as_string(hide_password=False)
    instance = tempfile.mkdtemp(prefix="tracker-load-")
    server = None
    failed = False
    try:
        started = time.perf_counter()
        counts = prepare(url, instance)
        print(f"scratch database {name}: sample scenario loaded in {time.perf_counter() - started:.1f} s "
              f"({counts['obligation']:,} obligations, {counts['embassy_report_row']:,} report rows, "
              f"{counts['flag']:,} flags, {counts['submission']} files)")
        port = free_port()
        server = start_server(url, instance, port, options.workers, options.threads)
        print(f"gunicorn on 127.0.0.1:{port}: {options.workers} workers x {options.threads} threads (gthread)")
        base = f"http://127.0.0.1:{port}"
        baseline = _child("--base", base, "--users", "1", "--seconds", str(options.baseline_seconds),
                          "--seed", str(options.seed))
        _print("baseline (one user doing every kind in turn)", baseline)
        loaded = _child("--base", base, "--users", str(options.users), "--seconds", str(options.seconds),
                        "--seed", str(options.seed + 1))
        _print(f"load ({options.users} concurrent users)", loaded)
        stop_server(server)
        server = None

        print("\nratios to the baseline (load / baseline):")
        print(f"  requests/s: {loaded['rps'] / baseline['rps']:.2f}x")
        for kind, figures in loaded["kinds"].items():
            if kind in baseline["kinds"]:
                print(f"  {kind:32} p50 {figures['p50'] / baseline['kinds'][kind]['p50']:.2f}x")

        problems = check_consistency(url, baseline["committed"] + loaded["committed"],
                                     baseline["decisions"] + loaded["decisions"])
        errors = len(baseline["errors"]) + len(loaded["errors"])
        print(f"\nerrors: {errors} (must be 0)")
        print("database consistent afterwards: " + ("yes (summary = records; each upload stored once, whole; "
                                                      "no job left running; each decision stored and audited)"
                                                      if not problems else "NO"))
        for problem in problems:
            print(f"  {problem}")
        failed = bool(errors or problems)
    finally:
        if server is not None:
            stop_server(server)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        import shutil

        shutil.rmtree(instance, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
