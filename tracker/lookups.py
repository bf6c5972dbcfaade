"""What name lookups (countries, offices, implementers, programs) share: their errors and hints.

A lookup never guesses: text it cannot place is an error that says so, with the closest known
names offered as hints for a person to choose from (never applied by the tracker itself).
"""

from __future__ import annotations

from collections.abc import Iterable

from rapidfuzz import fuzz, process

#: Hints are offered only above this similarity (0-100, rapidfuzz ratio: typos, not partial words).
HINT_MIN_SCORE = 75


class NameLookupError(ValueError):
    """Text that does not name exactly one known thing."""

    def __init__(self, message: str, *, text: str, candidates: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.text = text
        self.candidates = candidates


class UnknownName(NameLookupError):
    """Text that names nothing known."""


class AmbiguousName(NameLookupError):
    """Text that could name more than one known thing."""


def hints(key: str, known: Iterable[str], *, limit: int = 3) -> list[str]:
    """Return up to ``limit`` known keys close to ``key``, best first, for a "did you mean" hint."""
    found = process.extract(key, list(known), scorer=fuzz.ratio, limit=limit, score_cutoff=HINT_MIN_SCORE)
    return [choice for choice, _score, _index in found]


def did_you_mean(names: list[str]) -> str:
    """Phrase hints for a message: ' (did you mean "A" or "B"?)', or '' when there are none."""
    if not names:
        return ""
    quoted = [f'"{n}"' for n in names]
    listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f" (did you mean {listed}?)"
