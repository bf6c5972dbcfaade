"""Import fixtures: run the real pipeline (or the real `tracker import` command) on real files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlmodel import Session

from tracker.importing.pipeline import ImportRequest, import_and_commit
from tracker.importing.results import ImportResult


@pytest.fixture
def do_import(app: Flask) -> Callable[..., ImportResult]:
    """Import one file through the pipeline as the CLI does: ``do_import(path, source=..., ...)``."""
    def run(path: Path, source: str = "embassy", filename: str | None = None, **options: Any) -> ImportResult:
        if source == "embassy" and "country" not in options:
            options["country"] = "THA"
        request = ImportRequest(path=str(path), filename=filename or path.name, source=source, **options)
        with Session(app.extensions["tracker.engine"], expire_on_commit=False) as session:
            return import_and_commit(session, request)
    return run


@pytest.fixture
def cli_import(runner: FlaskCliRunner) -> Callable[..., tuple[int, list[dict[str, Any]]]]:
    """Run `tracker import ... --json`; return the exit code and the JSON objects printed."""
    def run(*args: str) -> tuple[int, list[dict[str, Any]]]:
        result = runner.invoke(args=["import", *args, "--json"])
        lines = [line for line in result.output.splitlines() if line.startswith("{")]
        return result.exit_code, [json.loads(line) for line in lines]
    return run


def messages(issues: list[Any]) -> str:
    """All issue messages of a result, joined, for `in` assertions."""
    return "\n".join(f"{i.sheet}!{i.column}{i.row}: {i.message}" for i in issues)
