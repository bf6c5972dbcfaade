"""Import test helpers (the do_import and cli_import fixtures live in tests/conftest.py)."""

from __future__ import annotations

from typing import Any


def messages(issues: list[Any]) -> str:
    """All issue messages of a result, joined, for `in` assertions."""
    return "\n".join(f"{i.sheet}!{i.column}{i.row}: {i.message}" for i in issues)
