"""How alike two program titles, implementers and amounts are: the comparisons matching and
flags are built on.

Embassies abbreviate: "LE capacity bldg - victim ID" is "Law enforcement capacity building to
identify and rescue victims". Titles are lower-cased, abbreviations expanded, filler words
dropped, words cut to a crude stem, and compared as weighted word sets: words every program
shares ("trafficking", "victims", "training") weigh less than the words that say what the
program does ("shelter", "judges", "hotline").
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache

from rapidfuzz import fuzz

from tracker.textnorm import normalize_key

#: Abbreviations in titles, expanded before comparing.
ABBREVIATIONS = {
    "tip": "trafficking", "tvpa": "trafficking", "svcs": "services", "svc": "services", "serv": "services",
    "bldg": "building", "bldng": "building", "le": "law enforcement", "id": "identify", "ident": "identify",
    "agri": "agriculture", "ag": "agriculture", "info": "information", "ctrs": "centers", "ctr": "center",
    "govt": "government", "gov": "government", "assist": "assistance", "asst": "assistance", "dev": "development",
    "mgmt": "management", "org": "organization", "orgs": "organizations", "prog": "program", "progs": "programs",
    "trng": "training", "tng": "training", "edu": "education", "comm": "community", "intl": "international",
    "natl": "national", "rehab": "rehabilitation", "reintegr": "reintegration", "repat": "repatriation",
    "cap": "capacity", "vic": "victims", "vics": "victims", "prev": "prevention", "prot": "protection",
    "pros": "prosecution", "csec": "child sexual exploitation", "gbv": "gender based violence", "w": "with",
    "ppl": "people", "yth": "youth", "pd": "public diplomacy", "ngo": "ngos", "tot": "training trainers",
    "mgmnt": "management", "hq": "headquarters", "dept": "department", "judic": "judicial",
    "legislative": "law", "legislation": "law", "statute": "law", "statutes": "law", "laws": "law",
}
#: Words that say nothing about which program it is.
STOP_WORDS = frozenset({
    "the", "of", "for", "and", "on", "to", "in", "a", "an", "with", "at", "by", "from", "anti", "against", "its",
    "program", "programs", "programme", "project", "projects", "activity", "activities", "phase", "component",
    "persons", "person", "human", "counter", "combat", "combating", "combatting", "through", "via", "plus",
})
#: Words nearly every anti-trafficking program title shares: they count, but weigh little.
GENERIC_WORDS = frozenset(
    _w for _w in ("trafficking", "traffick", "victim", "train", "support", "servic", "prevent", "protect",
                  "prosecut", "assist", "survivor", "capacity", "build", "strengthen", "improv", "enhanc")
)
GENERIC_WEIGHT = 0.35
_SUFFIXES = ("izations", "ization", "ations", "ation", "ings", "ing", "ions", "ion", "ments", "ment", "ers", "er",
             "ies", "es", "s", "ed", "ly", "al")


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


_ACRONYM_IN_PARENTHESES = re.compile(r"\(\s*[A-Z][A-Z&.\-]{1,7}\s*\)")


@lru_cache(maxsize=200_000)
def title_words(title: str) -> tuple[str, ...]:
    """The stemmed, meaningful words of a title, in order, duplicates removed. An acronym in
    parentheses ("(IOM)") names the implementer, not the program, and is left out."""
    title = _ACRONYM_IN_PARENTHESES.sub(" ", title)
    words = " ".join(ABBREVIATIONS.get(w, w) for w in normalize_key(title).split()).split()
    stems = (_stem(w) for w in words if w not in STOP_WORDS and not w.isdigit())
    return tuple(dict.fromkeys(stems))


def _weight(word: str) -> float:
    return GENERIC_WEIGHT if word in GENERIC_WORDS or word[:6] in _GENERIC_PREFIXES else 1.0


_GENERIC_PREFIXES = frozenset(w[:6] for w in GENERIC_WORDS)


def _same_word(a: str, b: str) -> bool:
    """Equal, or one a prefix of the other with at least five letters in common
    ("identif" and "identify")."""
    if a == b:
        return True
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= 5 and long_.startswith(short)


def title_similarity(a: str | None, b: str | None) -> float:
    """0-1: how alike two titles are.

    The larger of the weighted Dice overlap of their words and 0.85 times how much of the
    shorter title the longer one contains (embassies shorten titles: a short title wholly
    inside a long one is a strong sign). Empty titles compare as 0.
    """
    words_a, words_b = title_words(a or ""), title_words(b or "")
    if not words_a or not words_b:
        return 0.0
    matched = 0.0
    unmatched_b = list(words_b)
    for word in words_a:
        for index, other in enumerate(unmatched_b):
            if _same_word(word, other):
                matched += min(_weight(word), _weight(other))
                del unmatched_b[index]
                break
    total_a = sum(_weight(w) for w in words_a)
    total_b = sum(_weight(w) for w in words_b)
    dice = 2 * matched / (total_a + total_b)
    containment = matched / min(total_a, total_b)
    return round(min(1.0, max(dice, 0.85 * containment)), 3)


def implementer_similarity(id_a: int | None, name_a: str | None, id_b: int | None, name_b: str | None) -> tuple[float, str]:
    """0-1 and how: the same implementer (by the alias table), or how alike the names are."""
    if id_a is not None and id_a == id_b:
        same_text = normalize_key(name_a or "") == normalize_key(name_b or "")
        return 1.0, "same implementer" if same_text else "same implementer (alias)"
    if not name_a or not name_b:
        return 0.0, "implementer not given"
    from tracker.implementers import expand_name

    score = fuzz.token_set_ratio(expand_name(normalize_key(name_a)), expand_name(normalize_key(name_b))) / 100
    return round(score, 3), f"implementer names {round(score * 100)}% alike"


def amount_similarity(a: Decimal | None, b: Decimal | None) -> float | None:
    """1 for equal amounts, falling with the relative difference; None when one is missing."""
    if a is None or b is None:
        return None
    if a == b:
        return 1.0
    largest = max(abs(a), abs(b))
    return round(max(0.0, 1 - float(abs(a - b) / largest)), 3) if largest else 1.0
