"""A cheap, honest guess of a post's language from its script.

The corpus is mostly Arabic with some English; the search analysis only needs to know which
to apply. Script counting gets Arabic right every time; for Latin script we say "en" only
when common English words are present, and otherwise "und" rather than guess.
"""

from __future__ import annotations

import re

_ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
_LATIN = re.compile(r"[A-Za-z\u00C0-\u024F]")
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_EN_WORDS = re.compile(r"\b(the|and|of|in|to|was|were|is|are|for|on|with|killed|from)\b", re.I)


def detect_language(text: str) -> str | None:
    if not text or not text.strip():
        return None
    arabic = len(_ARABIC.findall(text))
    latin = len(_LATIN.findall(text))
    cyrillic = len(_CYRILLIC.findall(text))
    total = arabic + latin + cyrillic
    if total == 0:
        return None
    if arabic / total >= 0.5:
        return "ar"
    if cyrillic / total >= 0.5:
        return "ru"
    if latin / total >= 0.5 and _EN_WORDS.search(text):
        return "en"
    return "und"
