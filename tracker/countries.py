"""Country from text, in one place: ISO codes, names, curated aliases, regional and global places.

A curated alias table sits on top of the ISO list (fuzzy matching alone is dangerous: one
popular library maps "Kosovo" to Serbia). Names that mean two countries ("Congo", "Korea")
are refused with the candidates named; unknown names are refused with hints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import Session, select

from tracker.lookups import AmbiguousName, UnknownName, did_you_mean, hints
from tracker.models import Country, CountryAlias
from tracker.reference.countries import AMBIGUOUS_NAMES, POST_ALIASES, POSTS
from tracker.textnorm import normalize_key

_PARENTHESES = re.compile(r"\(([^()]*)\)")
#: Words that carry no meaning in a country's name, and abbreviations people use in them.
_STOP_WORDS = frozenset({"the", "of", "and"})
_ABBREVIATIONS = {"dem": "democratic", "rep": "republic", "st": "saint", "ste": "sainte", "is": "islands",
                  "isl": "islands", "fed": "federated", "utd": "united", "pdr": "people s democratic republic"}
#: A name part shorter than this is never read as a part of a longer name ("New", "Is").
MIN_PARTIAL_LETTERS = 5


def _tokens(key: str) -> frozenset[str]:
    words = " ".join(_ABBREVIATIONS.get(w, w) for w in key.split()).split()
    return frozenset(w for w in words if w not in _STOP_WORDS)


@dataclass(frozen=True)
class CountryResolver:
    """Resolves country text against the reference tables, loaded once (use one per import)."""

    names: dict[str, str]  # code → display name
    by_key: dict[str, str]  # normalised alias → code
    iso2: dict[str, str]  # alpha-2 → code
    posts: dict[str, str]  # normalised post city → code
    ambiguous: dict[str, tuple[str, ...]]
    by_tokens: dict[frozenset[str], set[str]]  # the words of each name → codes

    @property
    def partial_note(self) -> str:
        """Said when a name was read from a part of a country's name."""
        return "read as the only country whose name contains it"

    @classmethod
    def load(cls, session: Session) -> CountryResolver:
        """Read countries and aliases from the database."""
        countries = session.exec(select(Country)).all()
        by_key = {a.key: a.country_code for a in session.exec(select(CountryAlias)).all()}
        for country in countries:
            by_key.setdefault(normalize_key(country.name), country.code)
        posts = {normalize_key(city): code for code, city in POSTS.items()}
        posts.update({normalize_key(city): code for city, code in POST_ALIASES.items()})
        by_tokens: dict[frozenset[str], set[str]] = {}
        for key, code in by_key.items():
            by_tokens.setdefault(_tokens(key), set()).add(code)
        return cls(
            names={c.code: c.name for c in countries},
            by_key=by_key,
            iso2={c.iso2: c.code for c in countries if c.iso2},
            posts=posts,
            ambiguous={normalize_key(k): v for k, v in AMBIGUOUS_NAMES.items()},
            by_tokens=by_tokens,
        )

    def resolve(self, text: str) -> str:
        """Return the code of the country or place the text names (see ``match``)."""
        return self.match(text)[0]

    def match(self, text: str) -> tuple[str, str]:
        """Return the code of the country or place the text names.

        :param text: an ISO alpha-3 or alpha-2 code, a place code ("GLOBAL"), or a name
        :raises UnknownName: nothing known has that name
        :raises AmbiguousName: the name means more than one country
        :returns: the code, and how it was found: "exact" (a code, a name or an alias, "The"
            and word order aside) or "partial" (the text is part of exactly one country's name,
            as "Saudi"; callers say so)
        Example: ``resolver.match("Ivory Coast") == ("CIV", "exact")``
        """
        raw = " ".join(str(text).split())
        if not raw:
            raise UnknownName("no country given", text=raw)
        code = self._code(raw)
        if code:
            return code, "exact"
        found = self._by_name(raw) or self._by_words(raw, partial=False)
        if found:
            return found, "exact"
        found = self._by_words(raw, partial=True)
        if found:
            return found, "partial"
        raise UnknownName(
            f'"{raw}" is not a known country or region{did_you_mean(self._hints(raw))}; '
            "correct the cell or ask an administrator to add the name as an alias",
            text=raw,
        )

    def _code(self, raw: str) -> str | None:
        if raw.upper() in self.names and (raw.isupper() or "-" in raw or len(raw) > 3):
            return raw.upper()
        if len(raw) == 2 and raw.isupper() and raw in self.iso2:
            return self.iso2[raw]
        return None

    def _by_name(self, raw: str) -> str | None:
        key = normalize_key(raw)
        if key in self.ambiguous:
            self._refuse_ambiguous(raw, self.ambiguous[key])
        if key in self.by_key:
            return self.by_key[key]
        # "Burma (Myanmar)": every part that names a country must name the same one.
        parts = [p for p in (_PARENTHESES.sub(" ", raw), *_PARENTHESES.findall(raw)) if p.strip()]
        if len(parts) > 1:
            codes = {self.by_key.get(normalize_key(p)) for p in parts} - {None}
            if len(codes) == 1:
                return codes.pop()
            if len(codes) > 1:
                self._refuse_ambiguous(raw, tuple(sorted(c for c in codes if c)))
        return None

    def _by_words(self, raw: str, *, partial: bool) -> str | None:
        """The same words in another order or with abbreviations ("Congo, Dem. Rep."), or, with
        ``partial``, a part of exactly one country's name ("Saudi")."""
        words = _tokens(normalize_key(raw))
        if not words:
            return None
        if not partial:
            codes = self.by_tokens.get(words, set())
        elif sum(len(w) for w in words) >= MIN_PARTIAL_LETTERS:
            codes = {c for tokens, found in self.by_tokens.items() if words < tokens for c in found}
        else:
            codes = set()
        codes = {c for c in codes if c in self.names}
        if len(codes) > 1:
            self._refuse_ambiguous(raw, tuple(sorted(codes)))
        return codes.pop() if codes else None

    def _refuse_ambiguous(self, raw: str, codes: tuple[str, ...]) -> None:
        named = " or ".join(f"{self.names.get(c, c)} ({c})" for c in codes[:6])
        if len(codes) > 6:
            named += f" or {len(codes) - 6} more"
        raise AmbiguousName(f'"{raw}" could be {named}; write which one', text=raw, candidates=codes)

    def _hints(self, raw: str) -> list[str]:
        keys = hints(normalize_key(raw), self.by_key)
        return list(dict.fromkeys(f"{self.names[self.by_key[k]]}" for k in keys))

    def resolve_post(self, text: str) -> str | None:
        """Return the country whose U.S. embassy is in the city the text names, or None."""
        return self.posts.get(normalize_key(text))

    def name(self, code: str) -> str:
        """Return the display name for a code."""
        return self.names[code]
