"""What Tesseract writes, made into plain Arabic text (see ../shared/notes/ocr.md, "Pitfalls").

- bidi and other format characters (Unicode category Cf: U+200E/U+200F came in 70% of outputs)
  are removed: they are invisible, break words apart for search and mean nothing in the image;
- the `Arabic` script model writes Persian ی and ک where Arabic has ي and ك: mapped back;
- Persian digits (from the same model) become Arabic-Indic ones, so a notice's digits read as
  one script; search folds both to ASCII anyway (index.analysis).
Nothing else is changed: the text stays what the engine read, with its errors.
"""

from __future__ import annotations

import unicodedata

_MAP = {ord("ی"): "ي", ord("ک"): "ك"}
_MAP.update({0x06F0 + i: chr(0x0660 + i) for i in range(10)})


def strip_format(text: str) -> str:
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def normalize(text: str) -> str:
    """One word or line of OCR output, cleaned as above."""
    return strip_format(text).translate(_MAP).strip()


ARABIC_INDIC = frozenset(chr(0x0660 + i) for i in range(10))
DIGITS = ARABIC_INDIC | frozenset("0123456789") | frozenset(chr(0x06F0 + i) for i in range(10))


def is_number(word: str) -> bool:
    """A word made of digits and date separators (24, ٢٤, 5/10/2026)."""
    core = word.strip("()[].,،:؛-")
    return bool(core) and any(c in DIGITS for c in core) and all(c in DIGITS or c in "/-.\\" for c in core)
