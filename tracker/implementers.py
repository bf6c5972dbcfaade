"""Implementing partners from text, in one place: alias table first, then simple variants
("The ...", a trailing "(IOM)", "Inc."); a name not known is a new implementer, with the
closest known name offered as a hint, never applied."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from sqlmodel import Session, select

from tracker.models import Implementer, ImplementerAlias
from tracker.textnorm import clean_text, normalize_key

#: A known name this close (rapidfuzz token_sort_ratio, 0-100) to a new one is offered as a hint.
HINT_MIN_SCORE = 85
#: Abbreviations in organisations' names, read in full ("Intl Rescue Committee").
NAME_ABBREVIATIONS = {"intl": "international", "int": "international", "org": "organization",
                      "orgs": "organizations", "assn": "association", "assoc": "association", "natl": "national",
                      "fdn": "foundation", "fndn": "foundation", "ctr": "center", "cntr": "center", "svcs": "services",
                      "dev": "development", "comm": "committee", "cttee": "committee", "inst": "institute",
                      "univ": "university", "un": "united nations", "gbl": "global", "ptnrs": "partners"}


def expand_name(key: str) -> str:
    """A normalised name with its abbreviations written out."""
    return " ".join(NAME_ABBREVIATIONS.get(w, w) for w in key.split())


_LEGAL_SUFFIX = re.compile(r"\s+(?:inc|incorporated|llc|ltd|limited|corp|corporation|co)$")
_PARENTHESES = re.compile(r"\s*\([^()]*\)\s*$")


@dataclass(frozen=True)
class ResolvedImplementer:
    """An implementer: known (with its id and canonical name) or new (id None), plus a hint."""

    implementer_id: int | None
    name: str
    hint: str | None = None


class ImplementerResolver:
    """Resolves implementer text against the alias table, loaded once."""

    def __init__(self, session: Session) -> None:
        self._names = {i.id: i.name for i in session.exec(select(Implementer)).all()}
        self._by_key = {a.key: a.implementer_id for a in session.exec(select(ImplementerAlias)).all()}
        for ident, name in self._names.items():
            self._by_key.setdefault(normalize_key(name), ident)  # type: ignore[arg-type]
        for key, ident in list(self._by_key.items()):
            self._by_key.setdefault(expand_name(key), ident)

    def resolve(self, text: str) -> ResolvedImplementer:
        """Return the implementer the text names, or a new one under the cleaned text."""
        name = clean_text(text)
        for key in self.keys(name):
            if key in self._by_key:
                ident = self._by_key[key]
                return ResolvedImplementer(ident, self._names[ident])
        return ResolvedImplementer(None, name, self._hint(normalize_key(name)))

    @staticmethod
    def keys(name: str) -> list[str]:
        """The lookup keys tried for a name, most literal first."""
        key = normalize_key(name)
        keys = [key]
        if key.startswith("the "):
            keys.append(key[4:])
        bare = normalize_key(_PARENTHESES.sub("", name))
        if bare and bare != key:
            keys.append(bare)
        keys.extend(_LEGAL_SUFFIX.sub("", k) for k in list(keys) if _LEGAL_SUFFIX.search(k))
        keys.extend(expanded for k in list(keys) if (expanded := expand_name(k)) != k)
        return keys

    def _hint(self, key: str) -> str | None:
        found = process.extractOne(key, list(self._by_key), scorer=fuzz.token_sort_ratio, score_cutoff=HINT_MIN_SCORE)
        return self._names[self._by_key[found[0]]] if found else None

    def learn(self, key: str, implementer_id: int, name: str) -> None:
        """Remember an implementer created during an import, so later rows find it."""
        self._by_key[key] = implementer_id
        self._names[implementer_id] = name
