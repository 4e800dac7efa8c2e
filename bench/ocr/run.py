"""OCR on synthetic Arabic death notices: plain `tesseract -l ara` beside tawthiq's pipeline
(gate, crop, ara psm 11 + psm 6, digits from the Arabic model), per condition; and the text gate's
speed and verdicts on text-free photographs (scikit-image's bundled pictures).

    python -m bench.ocr.run [--notices 40] [--json]     (make bench-ocr)

CER: edit distance between the notice's text and what was read, over the notice's length, after
dropping whitespace, punctuation, tashkeel and bidi marks and unifying letter and digit variants
(index.analysis's normalisation), as in ../shared/notes/ocr.md. Name found: the full name inside
one line of the output (normalised the same way; for tawthiq, of both passes' lines, which
search holds); fuzzy: each of its words within one edit of the
words of one line, in order. Ages: the age's digits found in the "عن عمر" line. One thread per
Tesseract process (OMP_THREAD_LIMIT=1).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import time
import unicodedata
from typing import Any

from bench.ocr import corpus
from tawthiq.dedupe.notice_text import edit_distance
from tawthiq.index.analysis import normalize_word
from tawthiq.index.notices import extract_notice
from tawthiq.index.ocr import OcrSettings, ocr_image
from tawthiq.index.snippets import one_edit

_WORD = re.compile(r"[^\W_]+")


def norm_words(text: str) -> list[str]:
    text = "".join(c for c in unicodedata.normalize("NFKC", text) if unicodedata.category(c) != "Cf")
    return [w for w in (normalize_word(m) for m in _WORD.findall(text)) if w]


def cer(truth: str, read: str) -> float:
    t, r = "".join(norm_words(truth)), "".join(norm_words(read))
    return edit_distance(t, r) / max(1, len(t))


def name_found(name: str, read: str) -> tuple[bool, bool]:
    want = norm_words(name)
    exact = fuzzy = False
    for line in read.splitlines():
        words = norm_words(line)
        joined = " ".join(words)
        if f" {' '.join(want)} " in f" {joined} ":
            exact = fuzzy = True
            break
        for i in range(len(words) - len(want) + 1):
            if all(one_edit(w, words[i + k]) for k, w in enumerate(want)):
                fuzzy = True
    return exact, fuzzy


def age_read(notice: corpus.Notice, read: str) -> bool:
    for line in read.splitlines():
        if "عمر" in line:
            digits = "".join(w for w in norm_words(line) if w.isdigit())
            if str(notice.age) in digits:
                return True
    return False


def fields_read(notice: corpus.Notice, ocr: dict[str, Any]) -> dict[str, bool]:
    """What the notice reader (index.notices) took from one OCR result, against the truth: a
    notice recorded at all; its first name exactly the notice's (letters folded as search does,
    nothing else forgiven); the name among its readings (second pass); the age; the date (d/m/y);
    a wrong name (a name recorded that is not the notice's: another person, as far as a reader knows)."""
    read = extract_notice(ocr)
    want = " ".join(norm_words(notice.name))
    names = [" ".join(norm_words(n.value)) for n in read.names] if read else []
    readings = names + [" ".join(norm_words(a)) for n in (read.names if read else []) for a in n.alternatives]
    day, month, year = (int(x) for x in notice.date.split("/"))
    return {
        "recorded": read is not None,
        "name_exact": bool(names) and names[0] == want,
        "name_any_reading": want in readings,
        "wrong_name": bool(names) and names[0] != want,
        "age_exact": bool(read and read.age and read.age.value == notice.age),
        "date_exact": bool(read and read.date and read.date.value == {"iso": f"{year:04d}-{month:02d}-{day:02d}",
                                                                     "calendar": "gregorian"}),
    }


def plain(data: bytes) -> str:
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    out = subprocess.run(["tesseract", "stdin", "stdout", "-l", "ara"], input=data, capture_output=True,
                         env=env, timeout=60)
    return out.stdout.decode("utf-8", "replace")


def measure(n: int, settings: OcrSettings | None = None, conditions: tuple[str, ...] = corpus.CONDITIONS,
            skip: int = 0) -> dict[str, Any]:
    settings = settings or OcrSettings()
    rows: dict[str, dict[str, list[float]]] = {}
    for notice in corpus.notices(n + skip)[skip:]:
        for condition in conditions:
            data = corpus.image(notice, condition)
            t0 = time.monotonic()
            base = plain(data)
            t1 = time.monotonic()
            result = ocr_image(data, settings)
            t2 = time.monotonic()
            ours = result.get("text") or ""
            searched = "\n".join(t for t in (ours, result.get("extra_text") or "") if t)
            for key in (condition, "all", f"font:{notice.font}"):
                r = rows.setdefault(key, {})
                for label, read, seconds in (("plain", base, t1 - t0), ("tawthiq", ours, t2 - t1)):
                    exact, fuzzy = name_found(notice.name, searched if label == "tawthiq" else read)
                    r.setdefault(f"{label}_cer", []).append(cer(notice.text, read))
                    r.setdefault(f"{label}_name", []).append(exact)
                    r.setdefault(f"{label}_fuzzy", []).append(fuzzy)
                    r.setdefault(f"{label}_age", []).append(age_read(notice, read))
                    r.setdefault(f"{label}_s", []).append(seconds)
                r.setdefault("gated_out", []).append(result.get("status") == "gated")
                # the notice reader on each side's text (plain Tesseract has no boxes: no words)
                for label, doc in (("plain", {"status": "text", "text": base, "words": []}), ("tawthiq", result)):
                    got = fields_read(notice, doc)
                    in_text = name_found(notice.name, searched if label == "tawthiq" else base)[0]
                    got["exact_of_read"] = got["name_exact"] and in_text  # over the names OCR read right
                    for k, v in got.items():
                        r.setdefault(f"{label}_f_{k}", []).append(v)
    table = {key: {k: round(100 * sum(v) / len(v), 1) if not k.endswith("_s") else round(sum(v) / len(v), 3)
                   for k, v in cols.items()} | {"images": len(cols["plain_cer"])} for key, cols in rows.items()}
    return table


def gate_speed(repeat: int = 5) -> dict[str, Any]:
    import cv2
    import numpy as np
    from PIL import Image

    from tawthiq.index.ocr.gate import gate

    photos = corpus.text_free_photos()
    grays = [cv2.cvtColor(np.asarray(Image.open(io.BytesIO(b)).convert("RGB")), cv2.COLOR_RGB2GRAY) for _, b in photos]
    t0 = time.monotonic()
    for _ in range(repeat):
        verdicts = [gate(g) for g in grays]
    gate_s = (time.monotonic() - t0) / (repeat * len(grays))
    t0 = time.monotonic()
    results = [ocr_image(b) for _, b in photos]
    whole_s = (time.monotonic() - t0) / len(photos)
    return {"photos": len(photos), "rejected": sum(not v.passed for v in verdicts),
            "passed": [name for (name, _), v in zip(photos, verdicts) if v.passed],
            "gate_images_per_s": round(1 / gate_s, 1), "with_decode_images_per_s": round(1 / whole_s, 1),
            "text_found_in": [name for (name, _), r in zip(photos, results) if r["status"] == "text"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notices", type=int, default=40)
    parser.add_argument("--skip", type=int, default=0, help="start at this notice (a different subset)")
    parser.add_argument("--conditions", default=",".join(corpus.CONDITIONS), help="a comma-separated subset")
    parser.add_argument("--no-name-line", action="store_true", help="without the name line's own pass")
    parser.add_argument("--name-height", type=int, default=OcrSettings().name_height)
    parser.add_argument("--no-gate-speed", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not corpus.has_shaping():
        raise SystemExit("bench: Pillow has no libraqm, so Arabic cannot be drawn")
    conditions = tuple(c for c in args.conditions.split(",") if c)
    if unknown := [c for c in conditions if c not in corpus.CONDITIONS]:
        raise SystemExit(f"bench: unknown condition {unknown[0]!r} (known: {', '.join(corpus.CONDITIONS)})")
    settings = OcrSettings(name_line=not args.no_name_line, name_height=args.name_height)
    table = measure(args.notices, settings, conditions, args.skip)
    speed = gate_speed() if not args.no_gate_speed else {"photos": 0, "rejected": 0, "passed": [],
                                                          "gate_images_per_s": 0, "with_decode_images_per_s": 0,
                                                          "text_found_in": []}
    if args.json:
        print(json.dumps({"notices": table, "gate": speed}, ensure_ascii=False))
        return
    print(f"{args.notices} notices x {len(corpus.CONDITIONS)} conditions; plain = tesseract -l ara; "
          "tawthiq = gate, crop, psm 11 + psm 6, Arabic digits")
    print(f"{'condition':<14}{'n':>4}  {'CER plain':>9} {'tawthiq':>8}  {'name plain':>10} {'tawthiq':>8} "
          f"{'(fuzzy)':>8}  {'age plain':>9} {'tawthiq':>8}  {'s plain':>7} {'tawthiq':>8}  {'gated out':>9}")
    order = [*conditions, "all", *sorted(k for k in table if k.startswith("font:"))]
    for key in order:
        r = table[key]
        print(f"{key:<14}{r['images']:>4}  {r['plain_cer']:>8.1f}% {r['tawthiq_cer']:>7.1f}%  "
              f"{r['plain_name']:>9.1f}% {r['tawthiq_name']:>7.1f}% {r['tawthiq_fuzzy']:>7.1f}%  "
              f"{r['plain_age']:>8.1f}% {r['tawthiq_age']:>7.1f}%  {r['plain_s']:>7.2f} {r['tawthiq_s']:>8.2f}  "
              f"{r['gated_out']:>8.1f}%")
    print("\nnotice fields (index.notices on each side's text), % of images: rec = a notice recorded; "
          "name = its first name exactly the notice's; of-read = the same over the images whose OCR text "
          "holds the name; any = the name among its readings; wrong = a name recorded that is not the "
          "notice's; age, date = exact")
    keys = ("recorded", "name_exact", "exact_of_read", "name_any_reading", "wrong_name", "age_exact", "date_exact")
    heads = ("rec", "name", "of-read", "any", "wrong", "age", "date")
    print(f"{'':<18}" + "plain".center(7 * 8) + "  " + "tawthiq".center(7 * 8))
    print(f"{'condition':<14}{'n':>4}" + "".join(f"{h:>8}" for h in heads) + "  " + "".join(f"{h:>8}" for h in heads))
    for key in order:
        r = table[key]
        cells = []
        for label in ("plain", "tawthiq"):
            values = []
            for k in keys:
                v = r[f"{label}_f_{k}"]
                if k == "exact_of_read":  # the share of the images whose name OCR read
                    v = 100 * v / r[f"{label}_name"] if r[f"{label}_name"] else 0.0
                values.append(f"{v:>7.1f}%")
            cells.append("".join(values))
        print(f"{key:<14}{r['images']:>4}{cells[0]}  {cells[1]}")
    print(f"\ngate on {speed['photos']} text-free photographs: {speed['rejected']} rejected "
          f"(passed: {', '.join(speed['passed']) or 'none'}); {speed['gate_images_per_s']} images/s on one core "
          f"(gate alone), {speed['with_decode_images_per_s']} images/s with decoding and any OCR; "
          f"text reported in: {', '.join(speed['text_found_in']) or 'none'}")


if __name__ == "__main__":
    main()
