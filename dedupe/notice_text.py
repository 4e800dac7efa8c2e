"""Do two text-bearing images name the same person? The text check of near-duplicate
verification (issue 16: "different notices stay apart").

Two death notices made from one template share their layout, their frame and most of their
words, and often hash 0-2 bits apart: pixels and keypoints cannot see that they name different
people. Their OCR text can, where it says who: the words in a *name slot* (the words after a
word that introduces a person — الشهيد، الشهيدة، المرحوم، نعي ... — as dedupe.text defines
them), read by the OCR pipeline of tawthiq.index.ocr.

The rule (`names_differ`): two images are different items when both carry text and
  - one names someone and none of the names either reads is read anywhere in the other's text
    (a name slot, or any line of any OCR pass, letters compared with spaces dropped, within
    TOLERANCE edits per letter: OCR misreads a letter or two, splits and joins words); a notice
    whose name line was lost by every pass is therefore not folded with anything that names
    someone: it cannot be shown to be the same notice;
  - or neither names anyone but both are text pages (HEAVY words or more): two notices whose
    name lines were both lost are not folded on the strength of their template either.
Light text (a channel's watermark, a caption band) and images without text are left to their
pixels, so photographs and their stamped copies fold as before. Measured on bench/ocr's notices
in bench/dedupe/notices.py (figures in the README).

What is NOT compared, and why: ages and dates. The `ara`/`Arabic` models read them right in
well under two thirds of images (../shared/notes/ocr.md; bench/ocr), so demanding equal digits
would split copies of one notice far more often than it would separate two. An image whose OCR
found no name slot (a photograph, a caption band, a watermark) is never kept apart by this check:
its pixels decide, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tawthiq.dedupe.text import NAME_WINDOW, NAME_WORDS
from tawthiq.index.analysis import tokens

MIN_NAME_LETTERS = 6  # a shorter slot (one given name) cannot tell two people apart
TOLERANCE = 0.12  # edits per letter two readings of one name may differ by
HEAVY = 8  # words: a notice, a statement, a list; a watermark or a caption band has fewer
NAME_LEN = 3  # words of a name compared: given name, father's, family (a fourth is often a line's end)


@dataclass(frozen=True)
class ImageText:
    """What the text check needs of one image's OCR result: its name slots, and every line any
    OCR pass read (normalised words, letters only joined: OCR splits and joins words)."""

    names: tuple[tuple[str, ...], ...]
    lines: tuple[str, ...] = ()
    words: int = 0  # words of two letters or more in its first pass: HEAVY or more is a text page

    @property
    def heavy(self) -> bool:
        return self.words >= HEAVY

    def as_dict(self) -> dict[str, Any]:
        return {"names": [" ".join(n) for n in self.names], "lines": list(self.lines), "words": self.words}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ImageText":
        return cls(tuple(tuple(n.split()) for n in data.get("names", []) if n),
                   tuple(str(line) for line in data.get("lines", []) if line), int(data.get("words") or 0))


def _words(line: str) -> list[str]:
    return [t.word for t in tokens(line)]


_LONG_NAME_WORDS = tuple(w for w in NAME_WORDS if len(w) >= 4)


def is_person_word(word: str) -> bool:
    """A word that introduces a person, as OCR may misread it: exact, or one letter off for the
    longer ones (الشبيدة, الشهيك for الشهيدة, الشهيد: the title is often the worst-read word)."""
    if word in NAME_WORDS:
        return True
    return len(word) >= 4 and any(abs(len(word) - len(w)) <= 1 and edit_distance(word, w) <= 1 for w in _LONG_NAME_WORDS)


def name_slots(text: str) -> tuple[tuple[str, ...], ...]:
    """The name slots of an OCR text: the words after each person word, on its line (a title
    alone on its line is followed by the next template line, not a name, when the OCR lost it)."""
    lines = [_words(line) for line in text.splitlines()]
    slots: list[tuple[str, ...]] = []
    for words in lines:
        for j, word in enumerate(words):
            if not is_person_word(word):
                continue
            after = [w for w in words[j + 1:j + 1 + NAME_WINDOW] if not is_person_word(w)]
            after = [w for w in after if not any(c.isdigit() for c in w)][:NAME_LEN]
            if len("".join(after)) >= MIN_NAME_LETTERS and tuple(after) not in slots:
                slots.append(tuple(after))
    return tuple(slots)


def image_text(ocr: dict[str, Any] | None) -> ImageText | None:
    """The text check's view of an OCR result (tawthiq.index.ocr.ocr_image); None when the image
    carries no readable text (gated, no text, failed)."""
    if not ocr or ocr.get("status") != "text":
        return None
    texts = [ocr.get("text") or "", ocr.get("extra_text") or "", *_pass_lines(ocr.get("words") or [])]
    joined = "\n".join(t for t in texts if t)
    lines = tuple(dict.fromkeys(x for x in ("".join(_words(line)) for line in joined.splitlines())
                                if len(x) >= MIN_NAME_LETTERS))
    count = sum(1 for w in _words(ocr.get("text") or "") if len(w) >= 2)
    return ImageText(name_slots(joined), lines, count)


def _pass_lines(words: list[dict[str, Any]]) -> list[str]:
    """Every pass's own lines, the `Arabic` digits pass included (it reads the letters too): a
    name line one pass lost is often read by another, and each reading is one more name slot."""
    lines: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for w in words:
        if w.get("text") and isinstance(w.get("box"), list) and len(w["box"]) == 4:
            lines.setdefault((str(w.get("pass")), str(w.get("line"))), []).append(w)
    return [" ".join(w["text"] for w in sorted(ws, key=lambda w: -w["box"][0])) for ws in lines.values()]


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (names are short: the quadratic table is a few hundred cells)."""
    if a == b:
        return 0
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _fitted_edits(short: str, long_: str) -> int:
    """Edits to turn `short` into some stretch of `long_` (free ends on the long side: a word
    the OCR lost at either end of a name costs nothing)."""
    prev = [0] * (len(long_) + 1)
    for i, ca in enumerate(short, 1):
        cur = [i]
        for j, cb in enumerate(long_, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return min(prev)


def slots_agree(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Two name slots name the same person: their letters (spaces dropped: OCR splits and joins
    words) agree within TOLERANCE edits per letter of the shorter, fitted into the longer."""
    x, y = "".join(a), "".join(b)
    short, long_ = (x, y) if len(x) <= len(y) else (y, x)
    return _fitted_edits(short, long_) <= int(len(short) * TOLERANCE)


def _read_in(slot: tuple[str, ...], other: ImageText) -> bool:
    """The name is read somewhere in the other image's text: in a name slot, or in any line of
    any pass (where the other's title word was misread past recognition, الضمياك for الشهيد)."""
    letters = "".join(slot)
    return any(slots_agree(slot, y) for y in other.names) or \
        any(_fitted_edits(letters, line) <= int(len(letters) * TOLERANCE) for line in other.lines)


def names_differ(a: ImageText | None, b: ImageText | None) -> bool:
    """True when the two images cannot be shown to name the same person: both carry text, one
    names someone, and no name of either is read in the other's text (a notice whose name line
    the OCR lost everywhere is not folded on the strength of its template); or neither names
    anyone but both are text pages (HEAVY words: two notices whose name lines were both lost
    are not folded either). Images without text (None), and light text (a watermark, a caption
    band), are left to their pixels."""
    if a is None or b is None:
        return False
    if not a.names and not b.names:
        return a.heavy and b.heavy
    return not (any(_read_in(x, b) for x in a.names) or any(_read_in(y, a) for y in b.names))


__all__ = ["ImageText", "image_text", "name_slots", "names_differ", "slots_agree"]
