"""Text analysis shared by every search backend: one Python implementation, so tantivy and
Elasticsearch index exactly the same tokens and a query means the same thing on both.

Arabic posts are written with and without diacritics, with variant alef and ta marbuta
spellings and with Arabic-Indic digits; a researcher typing any one spelling must find all of
them. Each word therefore goes through:

1. NFKC (presentation forms and ligatures from PDFs become ordinary letters), case folding;
2. removal of tashkeel (harakat, tanween, shadda, sukun, dagger alef, Quranic marks) and tatweel;
3. alef forms (أ إ آ ٱ) to ا, alef maqsura ى to ي, ta marbuta ة to ه, Persian ی ک to ي ك;
4. Arabic-Indic and Persian digits to ASCII;
5. stemming by script: Arabic words lose a leading conjunction/article/preposition cluster (the
   prefixes Lucene's light Arabic stemmer strips: ال وال بال كال فال لل و), then go through
   Snowball's Arabic stemmer, which alone leaves "والقصف" and "المجزره" unstemmed; Latin words go
   through Snowball English. Other words (digits, other scripts) are kept as normalised.

Two token streams come out of one pass: `words` (normalised, Arabic prefixes stripped, not
stemmed: for prefix queries, so مستش* finds بالمستشفى) and `terms` (stemmed: for terms and phrases). Positions line up, so phrases work on `terms`.

`ANALYSIS_VERSION` names this recipe; an index built with another version must be rebuilt
(`tawthiq reindex`), never silently mixed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

import Stemmer

ANALYSIS_VERSION = "2"  # 2: image text fields (issue 16)

# A word is a run of letters/digits, where Arabic combining marks and tatweel count as part of
# the word (Python's \w does not match them, and splitting at a haraka breaks words apart).
_MARKS = "\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed\u0640"
WORD_RE = re.compile(rf"(?:[^\W_]|[{_MARKS}])+")
# Indexing strips the marks from the whole text first (one C-level pass) and then needs only
# this simpler, several times faster pattern; snippets use WORD_RE to keep original offsets.
_PLAIN_WORD_RE = re.compile(r"[^\W_]+")
_MARKS_RE = re.compile(f"[{_MARKS}]+")

_STRIP: dict[int, str | None] = {cp: None for cp in range(0x0610, 0x061B)}
_STRIP.update({cp: None for cp in range(0x064B, 0x0660)})
_STRIP.update({cp: None for cp in (0x0670, 0x0640)})
_STRIP.update({cp: None for cp in range(0x06D6, 0x06DD)})
_STRIP.update({cp: None for cp in range(0x06DF, 0x06E9)})
_STRIP.update({cp: None for cp in range(0x06EA, 0x06EE)})
_LETTERS = {
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ی": "ي", "ک": "ك",
}
_TABLE = dict(_STRIP)
_TABLE.update({ord(k): v for k, v in _LETTERS.items()})
_TABLE.update({0x0660 + i: str(i) for i in range(10)})  # Arabic-Indic digits
_TABLE.update({0x06F0 + i: str(i) for i in range(10)})  # Persian (Extended Arabic-Indic) digits

_ARABIC_LETTER = re.compile(r"[\u0621-\u064a]")
_LATIN_LETTER = re.compile(r"[a-z\u00e0-\u024f]")
# Longest first; the remaining word must keep at least two letters (one-letter و: at least three).
_AR_PREFIXES = ("وال", "بال", "كال", "فال", "لل", "ال", "و")

_arabic = Stemmer.Stemmer("arabic")
_english = Stemmer.Stemmer("english")
_cache: dict[str, tuple[str, str]] = {}
_CACHE_LIMIT = 2_000_000


def normalize_word(word: str) -> str:
    """Steps 1-4 for one word (no stemming)."""
    if not word.isascii():
        word = unicodedata.normalize("NFKC", word)
    return word.casefold().translate(_TABLE)


def _strip_arabic_prefix(word: str) -> str:
    for prefix in _AR_PREFIXES:
        if word.startswith(prefix):
            rest = len(word) - len(prefix)
            if rest >= (3 if len(prefix) == 1 else 2):
                return word[len(prefix):]
    return word


def stem_word(normalized: str) -> str:
    """Step 5 for one normalised word (prefix stripping included)."""
    if _ARABIC_LETTER.search(normalized):
        return _arabic.stemWord(_strip_arabic_prefix(normalized))
    if _LATIN_LETTER.search(normalized):
        return _english.stemWord(normalized)
    return normalized


def analyze_word(raw: str) -> tuple[str, str]:
    """(normalised word, stemmed term) for one raw word, cached: vocabularies are small next
    to the number of words indexed, so most words are one dictionary lookup."""
    hit = _cache.get(raw)
    if hit is not None:
        return hit
    word = normalize_word(raw)
    if not word:
        result = ("", "")
    elif _ARABIC_LETTER.search(word):
        bare = _strip_arabic_prefix(word)
        result = (bare, _arabic.stemWord(bare))
    else:
        result = (word, stem_word(word))
    if len(_cache) < _CACHE_LIMIT:
        _cache[raw] = result
    return result


@dataclass(frozen=True)
class Token:
    word: str  # normalised, Arabic prefixes stripped
    term: str  # stemmed
    start: int  # character offsets in the original text
    end: int


def tokens(text: str) -> Iterator[Token]:
    """Tokens with their places in the original text (for snippets cut from the original)."""
    for m in WORD_RE.finditer(text):
        word, term = analyze_word(m.group())
        if word:
            yield Token(word, term, m.start(), m.end())


def analyze(text: str) -> tuple[list[str], list[str]]:
    """(words, terms) for indexing; both lists have one entry per word, in order."""
    get = _cache.get
    pairs = [get(raw) or analyze_word(raw) for raw in _PLAIN_WORD_RE.findall(_MARKS_RE.sub("", text))]
    pairs = [p for p in pairs if p[0]]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def split_words(text: str) -> list[str]:
    """The raw words of a piece of query text, as the indexer would see them."""
    return WORD_RE.findall(text)
