"""Browser fixtures: a live server (a real WSGI server in a thread) on a database with the sample
scenario loaded, and Debian's Chromium driven by Playwright. Screenshots go to test-output/."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.web.conftest import loaded  # noqa: F401  (the sample scenario and a user per role)

CHROMIUM = os.environ.get("TRACKER_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
OUTPUT = Path(os.environ.get("TRACKER_TEST_OUTPUT", "test-output")) / "screenshots"
AXE = Path(__file__).resolve().parent.parent / "vendor" / "axe.min.js"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests are slow: run once (CI's PostgreSQL pass leaves them out)."""
    for item in items:
        if "browser" in str(item.fspath):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def live_server(loaded: Flask) -> Iterator[str]:
    """The app served over HTTP on a free port, uploads processed in the background as in production."""
    loaded.config.update(UPLOADS_IN_BACKGROUND=True)
    server = make_server("127.0.0.1", 0, loaded, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def chromium():  # type: ignore[no-untyped-def]
    """Debian's Chromium under Playwright (CI installs it; elsewhere these tests are skipped)."""
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if os.environ.get("TRACKER_REQUIRE_BROWSER"):
            pytest.fail(f"no Chromium at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
    yield browser
    browser.close()
    playwright.stop()


class Visitor:
    """A browser tab signed in as someone, collecting console errors (CSP violations included)."""

    def __init__(self, browser, base: str) -> None:  # type: ignore[no-untyped-def]
        self.context = browser.new_context(accept_downloads=True)
        self.page = self.context.new_page()
        self.base = base
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("response", lambda r: self.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    def go(self, path: str):  # type: ignore[no-untyped-def]
        response = self.page.goto(self.base + path)
        self.page.wait_for_load_state("networkidle")
        return response

    def sign_in(self, username: str, password: str) -> None:
        self.go("/login")
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state("networkidle")

    def screenshot(self, name: str) -> Path:
        OUTPUT.mkdir(parents=True, exist_ok=True)
        path = OUTPUT / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def axe(self) -> list[dict]:
        """Serious or critical accessibility violations on the current page (axe-core, WCAG 2.1 AA)."""
        self.page.evaluate(AXE.read_text())
        violations = self.page.evaluate(
            "async () => (await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', "
            "'wcag21a', 'wcag21aa']}})).violations.map(v => ({id: v.id, impact: v.impact, help: v.help, "
            "nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))")
        return [v for v in violations if v["impact"] in ("serious", "critical")]

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(chromium, live_server):  # type: ignore[no-untyped-def]
    """Open a signed-in tab: ``visit("t-jakarta")``."""
    from tests.web.conftest import PASSWORD

    opened: list[Visitor] = []

    def open_as(username: str) -> Visitor:
        visitor = Visitor(chromium, live_server)
        visitor.sign_in(username, PASSWORD)
        opened.append(visitor)
        return visitor
    yield open_as
    for visitor in opened:
        visitor.close()
