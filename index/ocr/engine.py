"""OCR of one image: decode within bounds, gate, crop, Tesseract passes, merge, normalise.

Passes (../shared/notes/ocr.md, "Implications"): on the cropped notice, `ara --psm 11` (sparse
text: the best CER, 15.4%) and `ara --psm 6` (one block: finds names psm 11 misses; with both,
88% of names, 96% within one edit); digits from the `Arabic` script model, which has all ten
Arabic-Indic digits where `ara` has only ٠ and ١ (ages right 25/40 against 6/40). No upscaling,
no binarisation after the crop, no ara+eng: each measured worse.

Then the largest-type line (the name, big and bold, which the page passes sometimes lose or
mangle) is found by OpenCV (lines.py), scaled to a normalised height and read again alone with
`--psm 7`; its reading replaces the first pass's words on that line when it is the more confident
(mean word confidence), and is searchable either way.

`text` is the first pass's lines (its digits from the script model; the name line as chosen);
`extra_text` the lines of the `--psm 6` pass and of the name-line pass holding words the first
did not read. Search indexes both; the CER of
bench/ocr is measured on `text`.

The result is a plain dict (JSON-ready), what the archive keeps as the image's "ocr" record:
the engine, its version and models (name, size, SHA-256), the settings, the text, and every word
with its box and confidence, so a later engine's answer can be compared with this one.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from tawthiq.index.ocr import tesseract
from tawthiq.index.ocr.crop import crop
from tawthiq.index.ocr.gate import gate
from tawthiq.index.ocr.lines import largest_line
from tawthiq.index.ocr.normalize import is_number, normalize
from tawthiq.index.ocr.tesseract import TesseractError, Word

PIPELINE = "tawthiq-ocr/2"  # this module's recipe; a change that alters results bumps it
TEXT_CONF = 60.0  # a word counts as read at this confidence
MIN_WORDS = 2  # an image "has text" with at least this many read words of two letters or more


class OcrRejected(ValueError):
    """An image that is not OCRed: it cannot be decoded, or it is over the size limit."""


@dataclass(frozen=True)
class OcrSettings:
    timeout: float = 20.0  # seconds per Tesseract pass
    max_pixels: int = 25_000_000
    crop: bool = True
    second_pass: bool = True  # the `--psm 6` pass
    digits: bool = True  # the `Arabic` model pass for digits
    name_line: bool = True  # read the largest-type line again on its own (psm 7)
    # that line's padded crop scaled to this height first (text ~32 px; 0: as it is). Measured
    # on 16 notices clean+screenshot: names 69% -> 100%, CER 11.5% -> 7.6% (unscaled: 69%, 8.0%)
    name_height: int = 48

    def passes(self) -> list[tuple[str, int, str]]:
        """(model, page segmentation mode, role) in the order they run."""
        out = [("ara", 11, "text")]
        if self.second_pass:
            out.append(("ara", 6, "text"))
        if self.digits:
            out.append(("Arabic", 11, "digits"))
        return out

    def line_passes(self) -> list[dict[str, Any]]:
        return [{"lang": "ara", "psm": 7, "role": "name-line", "height": self.name_height}] if self.name_line else []

    def as_dict(self) -> dict[str, Any]:
        return {"pipeline": PIPELINE, "crop": self.crop, "timeout": self.timeout, "max_pixels": self.max_pixels,
                "passes": [{"lang": lang, "psm": psm, "role": role} for lang, psm, role in self.passes()]
                + self.line_passes(),
                "upscale": False, "binarise": False}


def engine_facts(settings: OcrSettings) -> dict[str, Any]:
    """Which engine and models read the text (raises TesseractError when one is missing)."""
    models = sorted({lang for lang, _, _ in settings.passes()})
    return {"name": "tesseract", "version": tesseract.version(), "pipeline": PIPELINE,
            "traineddata": [tesseract.traineddata(m) for m in models], "languages": models}


def decode(data: bytes, max_pixels: int) -> np.ndarray:
    """RGB pixels of an image file, refusing what is over `max_pixels` before decoding it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            w, h = img.size
            if w * h > max_pixels:
                raise OcrRejected(f"{w}x{h} is {w * h / 1e6:.1f} megapixels, over the OCR limit of "
                                  f"{max_pixels / 1e6:.1f}")
            img.seek(0)
            rgb = img.convert("RGB")
            rgb.load()
    except OcrRejected:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise OcrRejected(f"not a readable image ({exc})") from None
    return np.asarray(rgb)


def _png(pixels: np.ndarray) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".png", pixels)
    if not ok:
        raise OcrRejected("the image could not be re-encoded for OCR")
    return bytes(buf)


def _lines(words: list[Word]) -> list[list[Word]]:
    """Words grouped into Tesseract's lines, top to bottom (words right to left as read)."""
    groups: dict[tuple[int, int, int], list[Word]] = {}
    for w in words:
        groups.setdefault(w.line, []).append(w)
    ordered = sorted(groups.values(), key=lambda ws: (min(w.box[1] for w in ws), -max(w.box[0] for w in ws)))
    return [sorted(ws, key=lambda w: -w.box[0]) for ws in ordered]


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    return inter / max(1, min(aw * ah, bw * bh))


def _with_digits(words: list[Word], digits: list[Word]) -> tuple[list[Word], int]:
    """`ara`'s words with each number replaced by what the `Arabic` model read at the same place
    when that is a number (the `ara` model lacks most Arabic-Indic digits and reads an age as
    letters or a date as several pieces: every piece over one number becomes that number once)."""
    numbers = [d for d in digits if is_number(normalize(d.text))]
    out: list[Word] = []
    used: set[int] = set()
    replaced = 0
    for w in words:
        best = max(range(len(numbers)), key=lambda i: _overlap(w.box, numbers[i].box), default=None)
        looks_numeric = any(c.isdigit() for c in w.text) or len(normalize(w.text)) <= 2
        if best is None or not looks_numeric or _overlap(w.box, numbers[best].box) <= 0.4:
            out.append(w)
            continue
        if best not in used:
            used.add(best)
            out.append(Word(numbers[best].text, numbers[best].conf, w.box, w.line))
            replaced += 1
    return out, replaced


def _text(lines: list[list[Word]]) -> list[str]:
    return [t for t in (" ".join(n for n in (normalize(w.text) for w in ws) if n) for ws in lines) if t]


def _word(w: Word, name: str) -> dict[str, Any]:
    return {"text": normalize(w.text), "raw": w.text, "conf": round(w.conf, 1), "box": list(w.box),
            "line": "-".join(map(str, w.line)), "pass": name}


def _read(words: list[Word]) -> int:
    return sum(1 for w in words if w.conf >= TEXT_CONF and len(normalize(w.text)) >= 2)


NAME_LINE = (10_000, 0, 0)  # the line key of the name line's words (no page pass uses it)


def _name_line(region: np.ndarray, settings: OcrSettings) -> list[Word]:
    """The largest-type line read on its own (`--psm 7`), its boxes in the region's pixels."""
    import cv2

    gray = cv2.cvtColor(region, cv2.COLOR_BGR2GRAY)
    box = largest_line(gray)
    if box is None:
        return []
    x, y, w, h = box
    line = region[y:y + h, x:x + w]
    scale = settings.name_height / h if settings.name_height else 1.0
    if scale != 1.0:
        line = cv2.resize(line, (max(1, round(w * scale)), max(1, round(h * scale))),
                          interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    words = tesseract.run(_png(line), lang="ara", psm=7, timeout=settings.timeout)
    return [Word(wd.text, wd.conf, (x + round(wd.box[0] / scale), y + round(wd.box[1] / scale),
                                    round(wd.box[2] / scale), round(wd.box[3] / scale)), NAME_LINE)
            for wd in words if normalize(wd.text)]


def _mean_conf(words: list[Word]) -> float:
    return sum(w.conf for w in words) / len(words) if words else -1.0


def _choose_name(words: list[Word], name: list[Word]) -> list[Word]:
    """The page pass's words with the name line's reading in place of its own words on that
    line, when the line pass is the more confident (or the page pass lost the line)."""
    top = min(w.box[1] for w in name)
    bottom = max(w.box[1] + w.box[3] for w in name)
    on_line = [w for w in words if top <= w.box[1] + w.box[3] / 2 <= bottom]
    if on_line and _mean_conf(on_line) >= _mean_conf(name):
        return words
    if any(is_number(normalize(w.text)) for w in on_line):
        return words  # a line with a number (an age, a date): its digits came from the script model
    return [w for w in words if w not in on_line] + name


def ocr_image(data: bytes, settings: OcrSettings | None = None) -> dict[str, Any]:
    """The OCR result of one image file (see the module docstring). Raises OcrRejected for an
    image that cannot be read or is too large, TesseractError when the engine fails."""
    settings = settings or OcrSettings()
    started = time.monotonic()
    return ocr_pixels(decode(data, settings.max_pixels), settings, started=started)


def ocr_pixels(rgb: np.ndarray, settings: OcrSettings | None = None, *, started: float | None = None) -> dict[str, Any]:
    """The OCR result of decoded RGB pixels (a video's frame, or a decoded image file)."""
    import cv2

    settings = settings or OcrSettings()
    started = time.monotonic() if started is None else started
    bgr = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    gated = gate(gray)
    out: dict[str, Any] = {"size": [int(rgb.shape[1]), int(rgb.shape[0])], "gate": gated.as_dict()}
    if not gated.passed:
        out.update(status="gated", text="", words=[], seconds=round(time.monotonic() - started, 3))
        return out
    region, corners = crop(bgr) if settings.crop else (bgr, None)
    png = _png(region)
    out.update(crop=corners, ocr_size=[int(region.shape[1]), int(region.shape[0])])
    by_pass: dict[str, list[Word]] = {}
    for lang, psm, _role in settings.passes():
        by_pass[f"{lang}-psm{psm}"] = tesseract.run(png, lang=lang, psm=psm, timeout=settings.timeout)
    name_words = _name_line(region, settings) if settings.name_line else []
    name_chosen = False
    digits = by_pass.get("Arabic-psm11", [])
    words_out: list[dict[str, Any]] = []
    replaced_total = 0
    primary: list[str] = []
    extra: list[str] = []
    for name, words in by_pass.items():
        if name.startswith("Arabic"):
            continue
        fixed, replaced = _with_digits(words, digits) if digits else (words, 0)
        replaced_total += replaced
        if name_words and not primary:
            fixed = _choose_name(fixed, name_words)
            name_chosen = any(w.line == NAME_LINE for w in fixed)
        lines = _text(_lines(fixed))
        if not primary:
            primary = lines
        else:  # a later pass adds the lines holding words the first did not read
            known = {w for line in primary + extra for w in line.split()}
            extra += [line for line in lines if any(len(w) >= 2 and w not in known for w in line.split())]
        words_out += [_word(w, name) for w in words]
    if name_words:  # the line pass's reading is searchable whichever reading `text` kept
        known = {w for line in primary + extra for w in line.split()}
        extra += [line for line in _text([name_words]) if any(len(w) >= 2 and w not in known for w in line.split())]
    words_out += [_word(w, "Arabic-psm11") for w in digits]
    words_out += [_word(w, "ara-psm7-line") for w in name_words]
    has_text = max((_read(ws) for n, ws in by_pass.items() if not n.startswith("Arabic")), default=0) >= MIN_WORDS
    out.update(status="text" if has_text else "no_text", text="\n".join(primary) if has_text else "",
               extra_text="\n".join(extra) if has_text else "", words=words_out, digits_replaced=replaced_total,
               name_line="chosen" if name_chosen else ("kept" if name_words else None),
               seconds=round(time.monotonic() - started, 3))
    return out


__all__ = ["OcrRejected", "OcrSettings", "TesseractError", "engine_facts", "ocr_image", "ocr_pixels"]
