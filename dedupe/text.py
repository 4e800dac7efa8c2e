"""Text near-duplicates of posts (issue 16): forwarded and copied posts whose text is the same
after normalisation, or nearly so, join one cluster; posts that differ in a name or a number
never do.

A post's text becomes a `TextSignature`:
  - cleaned: URLs, @mentions, #hashtags and "Forwarded from ..." / "منقول عن ..." boilerplate lines
    removed (re-posters add and drop them; search still finds a hashtag's words in the post);
  - tokenised and normalised exactly as search does (tawthiq.index.analysis: NFKC, case folding,
    tashkeel and tatweel removed, alef/ya/ta-marbuta variants unified, Arabic-Indic digits to
    ASCII, a leading و/ال/بال... cluster stripped); punctuation, emoji and whitespace are not words;
  - `hash`: SHA-256 of the normalised words joined by one space (exact copies);
  - `protected`: the words that must be equal for two texts to be copies (see below).

`TextIndex` holds every archived post's signature: a dict by hash for exact copies and a
MinHash LSH index (datasketch) over word shingles for near ones. LSH only proposes candidates;
each is verified on the exact Jaccard similarity of the two shingle sets (`threshold`) and on
the protected words. Texts shorter than `min_words` words only ever match exactly, so that short
slogans ("الله أكبر", "عاجل") that differ at all stay apart.

**The rule that keeps different people apart.** Two texts are never copies when a word that
differs between them (replaced, added or dropped once the two word sequences are aligned, as
difflib aligns them) is protected where it stands in its text:
  1. it contains a digit (ages, dates, tolls: "٢٤" and "24" are the same word, "24" and "25" not);
  2. it is a number word (خمسة, ثلاثة, five, twelve ...);
  3. it is a capitalised Latin word (an English proper name: "Samer" vs "Yamen"; a capitalised
     word at the start of a sentence is protected too, which only errs on the side of apart);
  4. it stands in a name slot: within NAME_WINDOW words after a word that introduces a person
     (الشهيد، استشهد، المرحوم، الطفل، الشاب، السيدة، توفي، نعي، martyr, killed ...), or within
     PLACE_WINDOW words after one that introduces a place (بلدة، قرية، مدينة، حي، مخيم ...).
A new post is checked against the candidate it matched AND against the first post of that
candidate's cluster, so a chain of small edits cannot walk a name out of a cluster.
Limits: an Arabic name that appears outside any name slot ("أحمد" in "قال أحمد إن ...") is not
known to be a name, so two otherwise identical long texts differing only there may fold; a
differing place name not introduced by a place word is not protected either. Both fold only
texts whose every other word agrees (Jaccard >= threshold), and each copy stays listed.

Nothing here stores anything: the glue (tawthiq.text_duplicates) feeds the index from the
catalog and writes each decision into the post's metadata record.
"""

from __future__ import annotations

import hashlib
import re
from difflib import SequenceMatcher
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from datasketch import MinHash, MinHashLSH

from tawthiq.index.analysis import tokens

TEXT_SIGNATURE_VERSION = 1
NUM_PERM = 128
SCHEME = "affine32"  # datasketch 2's default, named: sketches of two schemes cannot be compared
NAME_WINDOW = 4  # a full Arabic name: given name, father's, grandfather's, family
PLACE_WINDOW = 2
# At most this many candidates (the most similar first) are verified for one new post. Past it a
# post starts a cluster of its own: it is only ever kept apart, never folded wrongly, and the
# work per post stays bounded when thousands of texts look alike (template notices, a site whose
# pages share their words).
MAX_VERIFIED = 8

_URL_RE = re.compile(r"(?:https?://|www\.)\S+|\b(?:[a-z0-9-]+\.)+[a-z]{2,}(?:/\S*)?", re.IGNORECASE | re.ASCII)
# @mentions and #hashtags: re-posters add and drop them (the channel's handle, "#عاجل", "#Gaza").
_MENTION_RE = re.compile(r"[@#]\w+")
# A line that only says where a post was forwarded or copied from (Telegram's own "Forwarded
# from" is a field of the post, but copied posts carry it, or its Arabic forms, in their text).
_BOILERPLATE_RE = re.compile(
    r"^[\W_]*(?:forwarded from|forwarded message|fwd?:|reposted from|repost from|shared from|via|source:"
    r"|تمت? إعادة توجيه\w* من|معاد توجيه\w* من|إعادة توجيه من|اعادة توجيه من|منقول|نقلا عن|نقلاً عن"
    r"|المصدر:)[^\n]{0,80}$",
    re.IGNORECASE | re.MULTILINE)

# Words (as normalised by index.analysis: prefixes stripped, ة->ه, ى->ي, alef forms -> ا)
# after which the next words are a person's name.
NAME_WORDS = frozenset({
    "شهيد", "شهيده", "شهداء", "استشهد", "استشهدت", "استشهاد", "مرحوم", "مرحومه", "فقيد", "فقيده",
    "طفل", "طفله", "شاب", "شابه", "سيد", "سيده", "حاج", "حاجه", "اسير", "اسيره", "معتقل", "معتقله",
    "مصاب", "مصابه", "جريح", "جريحه", "توفي", "توفيت", "وفاه", "نعي", "ننعي", "ينعي", "مدعو", "مواطن",
    "مواطنه", "دكتور", "طبيب", "مهندس", "صحفي", "صحفيه", "مسعف", "مسعفه", "شيخ", "استاذ", "ابن", "بنت",
    "ابو", "ام", "اسم", "رضيع", "رضيعه",
    "martyr", "martyred", "killed", "late", "named", "name", "mr", "mrs", "ms", "dr", "child", "boy", "girl",
    "victim", "journalist", "paramedic", "died", "deceased",
})
PLACE_WORDS = frozenset({
    "بلده", "قريه", "مدينه", "حي", "مخيم", "شارع", "منطقه", "محافظه", "مستشفي", "مدرسه", "مسجد",
    "town", "village", "city", "camp", "street", "district", "hospital", "school",
})
NUMBER_WORDS = frozenset({
    "واحد", "واحده", "اثنان", "اثنين", "اثنتان", "اثنتين", "ثلاث", "ثلاثه", "اربع", "اربعه", "خمس", "خمسه",
    "ست", "سته", "سبع", "سبعه", "ثمان", "ثماني", "ثمانيه", "تسع", "تسعه", "عشر", "عشره", "عشرون", "عشرين",
    "ثلاثون", "ثلاثين", "اربعون", "اربعين", "خمسون", "خمسين", "ستون", "ستين", "سبعون", "سبعين", "ثمانون",
    "ثمانين", "تسعون", "تسعين", "مئه", "مائه", "مئات", "الف", "الاف", "مليون", "عشرات",
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty", "thirty",
    "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred", "hundreds", "thousand", "thousands",
    "million", "dozen", "dozens",
})
_LATIN_UPPER = re.compile(r"[A-Z\u00c0-\u00de]")


def clean(text: str) -> str:
    """The text without what copying changes: boilerplate lines, links, @mentions, #hashtags."""
    text = _BOILERPLATE_RE.sub(" ", text)
    text = _URL_RE.sub(" ", text)
    return _MENTION_RE.sub(" ", text)


@dataclass(frozen=True)
class TextSignature:
    hash: str  # SHA-256 of the normalised words, space-joined
    words: tuple[str, ...] = field(repr=False)
    protected: tuple[bool, ...] = field(repr=False)  # per word: may it differ in a copy?

    @property
    def length(self) -> int:
        return len(self.words)


def signature(text: str) -> TextSignature | None:
    """The signature of a post's text; None when no word is left (a photo without a caption)."""
    cleaned = clean(text)
    found = list(tokens(cleaned))
    if not found:
        return None
    words = tuple(t.word for t in found)
    protected: list[bool] = []
    name_until = place_until = -1
    for i, tok in enumerate(found):
        word = tok.word
        raw = cleaned[tok.start:tok.end]
        protected.append(bool(i <= name_until or i <= place_until or any(c.isdigit() for c in word)
                              or word in NUMBER_WORDS or _LATIN_UPPER.match(raw)))
        if word in NAME_WORDS:
            name_until = max(name_until, i + NAME_WINDOW)
        if word in PLACE_WORDS:
            place_until = max(place_until, i + PLACE_WINDOW)
    digest = hashlib.sha256(" ".join(words).encode()).hexdigest()
    return TextSignature(digest, words, tuple(protected))


def shingles(words: tuple[str, ...], size: int) -> set[str]:
    """Word w-shingles (w = `size`); a text shorter than w is one shingle."""
    if len(words) <= size:
        return {" ".join(words)}
    return {" ".join(words[i:i + size]) for i in range(len(words) - size + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    if not a and not b:
        return 1.0
    common = len(a & b)  # |a | b| = |a| + |b| - |a & b|: no union set built per candidate
    return common / (len(a) + len(b) - common)


def differing_protected(a: TextSignature, b: TextSignature) -> list[str]:
    """The words that differ between two texts (replaced, added or dropped, where the two word
    sequences are aligned) and are protected where they stand: any one keeps the texts apart."""
    found: set[str] = set()
    matcher = SequenceMatcher(None, a.words, b.words, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        found.update(a.words[i] for i in range(i1, i2) if a.protected[i])
        found.update(b.words[j] for j in range(j1, j2) if b.protected[j])
    return sorted(found)


def any_differing_protected(a: TextSignature, b: TextSignature) -> bool:
    """Whether `differing_protected(a, b)` is not empty, answered without aligning the texts when
    it can be: a protected word of one text that the other does not contain at all cannot stand
    in an equal stretch of any alignment, so it differs (the same answer, for a set lookup per
    protected word instead of a SequenceMatcher)."""
    b_words, a_words = set(b.words), set(a.words)
    if any(p and w not in b_words for w, p in zip(a.words, a.protected)):
        return True
    if any(p and w not in a_words for w, p in zip(b.words, b.protected)):
        return True
    return bool(differing_protected(a, b))


@dataclass
class TextItem:
    key: str  # "platform:post_id"
    signature: TextSignature
    cluster: str  # hash of the cluster's first post's text
    matched: str | None = None
    method: str | None = None
    similarity: float | None = None


@dataclass(frozen=True)
class TextAssignment:
    cluster: str
    matched: str | None  # the post it matched; None when it starts a cluster
    method: str | None  # "exact" | "near" | None
    similarity: float | None  # Jaccard of the shingle sets, to the matched post

    def as_dict(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "matched": self.matched, "method": self.method,
                "similarity": None if self.similarity is None else round(self.similarity, 4)}


class TextIndex:
    """Every post's text signature, exact and near lookups, cluster assignment. A new post joins
    the cluster of its best verified match and never merges two clusters."""

    def __init__(self, *, threshold: float = 0.8, min_words: int = 8, shingle: int = 1) -> None:
        if not 0 < threshold <= 1:
            raise ValueError(f"the text near-duplicate threshold must be in (0, 1], not {threshold}")
        self.threshold = threshold
        self.min_words = max(1, min_words)
        self.shingle = max(1, shingle)
        # candidates are proposed a little below the verified threshold: LSH misses some pairs
        # near its own threshold, and verification is exact anyway
        self._lsh = MinHashLSH(threshold=max(0.3, threshold - 0.15), num_perm=NUM_PERM)
        self._permutations = MinHash(num_perm=NUM_PERM, seed=1, scheme=SCHEME).permutations
        self.by_key: dict[str, TextItem] = {}
        self._by_hash: dict[str, list[str]] = {}
        self._shingles: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self.by_key)

    def _minhash(self, sh: Iterable[str]) -> MinHash:
        m = MinHash(num_perm=NUM_PERM, permutations=self._permutations, scheme=SCHEME)
        m.update_batch([s.encode() for s in sh])
        return m

    def add(self, item: TextItem) -> None:
        """Add (or replace, for a post captured again with an edited text) one post."""
        if item.key in self.by_key:
            self.remove(item.key)
        self.by_key[item.key] = item
        self._by_hash.setdefault(item.signature.hash, []).append(item.key)
        if item.signature.length >= self.min_words:
            sh = shingles(item.signature.words, self.shingle)
            self._shingles[item.key] = sh
            self._lsh.insert(item.key, self._minhash(sh), check_duplication=False)

    def remove(self, key: str) -> None:
        item = self.by_key.pop(key)
        same = self._by_hash.get(item.signature.hash, [])
        if key in same:
            same.remove(key)
        if self._shingles.pop(key, None) is not None:
            self._lsh.remove(key)

    def _compatible(self, sig: TextSignature, match: TextItem) -> bool:
        if any_differing_protected(sig, match.signature):
            return False
        first = self._first(match.cluster)
        return first is None or first is match or not any_differing_protected(sig, first.signature)

    def _first(self, cluster: str) -> TextItem | None:
        keys = self._by_hash.get(cluster) or []
        return self.by_key[keys[0]] if keys else None

    def find(self, sig: TextSignature, *, exclude: str | None = None) -> tuple[TextItem, str, float] | None:
        """The best verified match of a text: (item, "exact" | "near", Jaccard)."""
        for key in self._by_hash.get(sig.hash, []):
            if key != exclude:
                return self.by_key[key], "exact", 1.0
        if sig.length < self.min_words:
            return None
        sh = shingles(sig.words, self.shingle)
        # Rank every candidate by its exact Jaccard (set operations: cheap), then verify the
        # protected words (an alignment: the costly step) best first, and stop at the first that
        # passes: the same answer as verifying all and keeping the best, at a bounded cost.
        ranked = sorted((-similarity, key) for key in self._lsh.query(self._minhash(sh)) if key != exclude
                        for similarity in (jaccard(sh, self._shingles[key]),) if similarity >= self.threshold)
        for negative, key in ranked[:MAX_VERIFIED]:
            item = self.by_key[key]
            if self._compatible(sig, item):
                return item, "near", -negative
        return None

    def assign(self, key: str, sig: TextSignature) -> TextAssignment:
        """Match a post's text and add it: a post seen before with the same text keeps its cluster."""
        known = self.by_key.get(key)
        if known is not None and known.signature.hash == sig.hash:
            return TextAssignment(known.cluster, known.matched, known.method, known.similarity)
        found = self.find(sig, exclude=key)
        if found is None:
            assigned = TextAssignment(sig.hash, None, None, None)
        else:
            item, method, similarity = found
            assigned = TextAssignment(item.cluster, item.key, method, similarity)
        self.add(TextItem(key, sig, assigned.cluster, assigned.matched, assigned.method, assigned.similarity))
        return assigned
