"""SECURITY.md names, for each promise, the tests that prove it: every file and test it names
must exist (a renamed or deleted test would otherwise leave a promise unproven unnoticed)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _named() -> list[tuple[str, str | None]]:
    """(file, test) pairs named in SECURITY.md; a bare `::test_x` belongs to the file named last
    before it in the same table row, and a bare `test_x` too."""
    pairs: list[tuple[str, str | None]] = []
    for line in (ROOT / "SECURITY.md").read_text().splitlines():
        if not line.startswith("|"):
            continue
        current: str | None = None
        for token in re.findall(r"`([^`]+)`", line):
            found = re.fullmatch(r"((?:tests|benchmarks|\.ci)/[\w/.]+?)(?:::(\w+))?", token)
            if found:
                current = found[1]
                pairs.append((current, found[2]))
            elif re.fullmatch(r"(?:::)?test_\w+", token):
                assert current, f"SECURITY.md names {token} before any file in: {line[:80]}"
                pairs.append((current, token.removeprefix("::")))
    return pairs


def test_every_test_security_md_names_exists() -> None:
    pairs = _named()
    assert len(pairs) > 20
    for path, test in pairs:
        target = ROOT / path
        assert target.exists(), f"SECURITY.md names {path}, which does not exist"
        if test:
            assert target.is_file() and re.search(rf"def {test}\b", target.read_text()), (
                f"SECURITY.md names {path}::{test}, which does not exist")
