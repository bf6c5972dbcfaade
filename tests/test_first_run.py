"""First run, as a newcomer does it: `tracker serve` on a new database sets everything up and
prints a way in; a real server then answers, and the printed password signs in."""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _read_until(process: subprocess.Popen[str], marker: str, timeout: float = 60) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()  # type: ignore[union-attr]
        if not line:
            if process.poll() is not None:
                break
            continue
        lines.append(line.rstrip())
        if marker in line:
            return lines
    pytest.fail(f"server did not say {marker!r}; it said: {lines}")


@pytest.fixture
def server(empty_db_url: str, tmp_path: Path):
    port = _free_port()
    env = {**os.environ, "TRACKER_DATABASE_URL": empty_db_url, "TRACKER_INSTANCE_PATH": str(tmp_path / "instance"),
           "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "tracker", "serve", "--port", str(port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = _read_until(process, "tracker is running")
        yield port, lines
    finally:
        process.terminate()
        process.wait(timeout=20)
        process.stdout.close()  # type: ignore[union-attr]


def test_serve_sets_up_a_new_database_and_the_printed_password_signs_in(server) -> None:
    port, lines = server
    output = "\n".join(lines)
    assert "database created" in output and "reference data loaded" in output
    password = re.search(r'sign in as "admin" with password (\S+)', output)[1]

    base = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    login = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login)[1]
    form = urllib.parse.urlencode({"username": "admin", "password": password, "csrf_token": token}).encode()
    home = opener.open(f"{base}/login?next=/", data=form)
    assert home.status == 200 and home.url == f"{base}/dashboard"
    page = home.read().decode()
    assert "Anti-trafficking obligations" in page and "First administrator" in page
    assert opener.open(f"{base}/static/tracker.css").status == 200
