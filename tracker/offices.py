"""Agency and office from text, in one place.

People write "State/INL", "INL", "DOS-INL", "Labor-ILAB", "USAID/Jakarta", "DOJ Criminal
Division (OPDAT)", "Embassy Accra". The text is split into words and every way of cutting it
into known pieces is tried: an agency name, an office name, a place (country or embassy city,
which says where, not who), and filler words ("U.S.", "Bureau of"). The pieces must agree:
an agency with one of its offices, an office inside another ("Criminal Division (OPDAT)" is
OPDAT), an agency with a place (its field office: State's post, USAID's mission). A text with
no reading is unknown; a text with two different readings is ambiguous. Neither is guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlmodel import Session, select

from tracker.lookups import AmbiguousName, UnknownName, did_you_mean, hints
from tracker.models import OFFICE_NOT_STATED, Agency, AgencyAlias, CountryAlias, Office, OfficeAlias
from tracker.reference.agencies import FIELD_OFFICES, FILLER_WORDS
from tracker.reference.countries import POST_ALIASES, POSTS
from tracker.textnorm import normalize_key

#: Texts longer than this many words are not split (the readings grow with the cube of it).
MAX_WORDS = 16


@dataclass(frozen=True)
class ResolvedOffice:
    """The office a text names; ``stated`` is False when the text named only the agency."""

    office_id: int
    agency_id: int
    agency_code: str
    office_code: str
    stated: bool

    @property
    def label(self) -> str:
        """Agency/office as shown to people, e.g. "DOS/INL"."""
        return self.agency_code if not self.stated else f"{self.agency_code}/{self.office_code}"


# A reading of a span of words: ("agency", id), ("office", id), ("place", None), ("filler", None).
Reading = tuple[str, int | None]


class OfficeResolver:
    """Resolves agency and office text against the reference tables, loaded once."""

    def __init__(self, session: Session) -> None:
        agencies = session.exec(select(Agency)).all()
        offices = session.exec(select(Office)).all()
        self._agency_code = {a.id: a.code for a in agencies}
        self._agency_by_key = {a.key: a.agency_id for a in session.exec(select(AgencyAlias)).all()}
        for agency in agencies:
            self._agency_by_key.setdefault(normalize_key(agency.code), agency.id)  # type: ignore[arg-type]
        office_aliases = session.exec(select(OfficeAlias)).all()
        self._office_by_key = {a.key: a.office_id for a in office_aliases}
        self._alias_text = {a.key: a.alias for a in office_aliases}
        self._office = {o.id: o for o in offices}
        self._not_stated = {o.agency_id: o.id for o in offices if o.code == OFFICE_NOT_STATED}
        codes = {a.code: a.id for a in agencies}
        self._field = {
            codes[agency]: o.id
            for o in offices
            for agency, code in FIELD_OFFICES.items()
            if agency in codes and o.agency_id == codes[agency] and o.code == code
        }
        places = {a.key for a in session.exec(select(CountryAlias)).all()}
        places |= {normalize_key(c) for c in POSTS.values()} | {normalize_key(c) for c in POST_ALIASES}
        self._places = frozenset(places)

    # --- public -------------------------------------------------------------------------

    def resolve(self, text: str, *, agency_text: str | None = None) -> ResolvedOffice:
        """Return the office that office text (and, when the sheet has one, agency text) name.

        :param text: what the office (or combined "agency/office") column says
        :param agency_text: what a separate agency column says, if there is one
        :raises UnknownName: no reading of the text names an agency or office
        :raises AmbiguousName: the text reads as two different offices
        Example: ``resolver.resolve("DOJ Criminal Division (OPDAT)").label == "DOJ/OPDAT"``
        """
        shown = " / ".join(t for t in (agency_text, text) if t and str(t).strip())
        words = normalize_key(f"{agency_text or ''} {text or ''}").split()
        if not words:
            raise UnknownName("no agency or office given", text=shown)
        if len(words) > MAX_WORDS:
            raise UnknownName(f'"{shown}" is too long to be an agency or office name', text=shown)
        readings = {r for r in _readings(self, tuple(words)) if r[0] in ("office", "agency")}
        if not readings:
            raise UnknownName(self._unknown_message(shown, words), text=shown)
        if len(readings) > 1:
            labels = tuple(sorted(self._result(r).label for r in readings))
            raise AmbiguousName(
                f'"{shown}" could be {" or ".join(labels)}; write the office as one of these',
                text=shown,
                candidates=labels,
            )
        return self._result(readings.pop())

    def agency_in(self, text: str) -> int | None:
        """The one agency some words of the text name ("Labor" in "Labor / Foo Bureau"), or None."""
        words = normalize_key(text).split()[:MAX_WORDS]
        spans = {" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)}
        found = {self._agency_by_key[s] for s in spans if s in self._agency_by_key}
        return found.pop() if len(found) == 1 else None

    def not_stated(self, agency_id: int) -> ResolvedOffice:
        """Return the agency's "office not stated", for rows that name no office."""
        return self._result(("agency", agency_id))

    # --- readings -----------------------------------------------------------------------

    def direct(self, key: str) -> set[Reading]:
        """What a span of words names on its own."""
        found: set[Reading] = set()
        if all(word in FILLER_WORDS for word in key.split()):
            return {("filler", None)}  # "U.S." is filler here, not the United States
        if key in self._office_by_key:
            found.add(("office", self._office_by_key[key]))
        if key in self._agency_by_key:
            found.add(("agency", self._agency_by_key[key]))
        if key in self._places and not found:  # a word that names an office is read as the office
            found.add(("place", None))
        return found

    def combine(self, left: Reading, right: Reading) -> Reading | None:
        """What two adjacent readings name together, or None when they disagree."""
        if left[0] == "filler":
            return right
        if right[0] == "filler":
            return left
        if left == right:
            return left
        kinds = {left[0], right[0]}
        if kinds == {"agency", "office"}:
            agency = left if left[0] == "agency" else right
            office = right if agency is left else left
            return office if self._office[office[1]].agency_id == agency[1] else None  # type: ignore[index]
        if kinds == {"agency", "place"}:
            agency = left if left[0] == "agency" else right
            field = self._field.get(agency[1])  # type: ignore[arg-type]
            return ("office", field) if field else agency
        if kinds == {"office", "place"}:
            return left if left[0] == "office" else right
        if kinds == {"office"}:
            return self._inner_office(left[1], right[1])  # type: ignore[arg-type]
        if kinds == {"place"}:
            return left
        return None

    def _inner_office(self, a: int, b: int) -> Reading | None:
        if self._office[b].parent_id == a:
            return ("office", b)
        if self._office[a].parent_id == b:
            return ("office", a)
        return None

    def _result(self, reading: Reading) -> ResolvedOffice:
        kind, ident = reading
        office_id = self._not_stated[ident] if kind == "agency" else ident  # type: ignore[index]
        office = self._office[office_id]  # type: ignore[index]
        return ResolvedOffice(
            office_id=office.id,  # type: ignore[arg-type]
            agency_id=office.agency_id,
            agency_code=self._agency_code[office.agency_id],
            office_code=office.code,
            stated=kind == "office",
        )

    def _unknown_message(self, shown: str, words: list[str]) -> str:
        conflict = self._conflict(words)
        if conflict:
            return f'"{shown}" {conflict}; correct the cell'
        near = hints(" ".join(words), self._office_by_key)
        return (
            f'"{shown}" is not a known agency or office{did_you_mean([self._alias_text[k] for k in near])}; '
            "correct the cell or ask an administrator to add it as an alias"
        )

    def _conflict(self, words: list[str]) -> str | None:
        """Name an agency and an office of another agency found in the words, if any."""
        spans = [" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)]
        agencies = {self._agency_by_key[s] for s in spans if s in self._agency_by_key}
        offices = {self._office_by_key[s] for s in spans if s in self._office_by_key}
        for office_id in offices:
            office = self._office[office_id]
            others = agencies - {office.agency_id}
            if others and office.agency_id not in agencies:
                named = self._agency_code[min(others)]
                return (f"names {named}, but {office.code} is an office of "
                        f"{self._agency_code[office.agency_id]}")
        return None


def _readings(resolver: OfficeResolver, words: tuple[str, ...]) -> set[Reading]:
    """Every reading of the whole span of words (memoised over sub-spans)."""

    @lru_cache(maxsize=None)
    def span(i: int, j: int) -> frozenset[Reading]:
        found = resolver.direct(" ".join(words[i:j]))
        if any(kind in ("agency", "office") for kind, _ in found):
            return frozenset(found)  # a name listed whole is authoritative; don't also split it
        for k in range(i + 1, j):
            for left in span(i, k):
                for right in span(k, j):
                    combined = resolver.combine(left, right)
                    if combined is not None:
                        found.add(combined)
        return frozenset(found)

    return set(span(0, len(words)))
