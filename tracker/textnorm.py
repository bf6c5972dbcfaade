"""Normalised lookup keys for names people write many ways (countries, offices, implementers)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_APOSTROPHES = dict.fromkeys(map(ord, "'\u2019\u2018`\u00b4\u02bc"), None)
_NON_WORD = re.compile(r"[^0-9a-z]+")


@lru_cache(maxsize=200_000)
def normalize_key(text: str) -> str:
    """Return a lookup key: lower case, accents and apostrophes dropped, '&' read as 'and',
    any other punctuation a single space.

    Example: ``normalize_key("Côte d’Ivoire") == normalize_key("Cote d'Ivoire") == "cote divoire"``
    """
    if text.isascii():
        text = text.lower()
    else:
        text = unicodedata.normalize("NFKD", text).casefold()
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.translate(_APOSTROPHES).replace("&", " and ")
    return _NON_WORD.sub(" ", text).strip()


def clean_text(text: str) -> str:
    """Return text as stored: surrounding space trimmed and runs of inner space collapsed."""
    return " ".join(text.split())
