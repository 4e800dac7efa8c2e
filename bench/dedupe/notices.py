"""Template death notices and their copies: precision over all pairs and recall of copies of the
matcher with its text check (issue 16, "different notices stay apart"), shared by
tests/test_dedupe_notices.py and bench/dedupe/run.py.

The notices are bench/ocr's (one layout per template, different invented names, the portrait
template with a different portrait each; real Arabic shaping). Each notice has copies in the
conditions re-posting makes: JPEG q30, half scale, a 10% crop, a channel watermark, an app
screenshot. Every image is OCRed by the real pipeline (tawthiq.index.ocr) when the matcher asks
for its text, that is only once its pixels agreed with some other image.

Recall: each copy is looked up among the originals; it counts when its own notice is among the
verified matches. Precision: every image, in a shuffled order, is compared with all before it;
each verified pair is checked against the truth (same notice or not).
"""

from __future__ import annotations

import io
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from bench.ocr import corpus
from tawthiq.dedupe.matcher import Item, Matcher
from tawthiq.dedupe.notice_text import ImageText, image_text
from tawthiq.dedupe.signature import Analysed, analyse_image
from tawthiq.index.ocr import ocr_image

COPIES = ("jpeg30", "half", "crop", "watermark", "screenshot")


def jpeg(img: Image.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    img.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def _crop(img: Image.Image, rng: random.Random) -> Image.Image:
    w, h = img.size
    dw, dh = round(w * 0.1), round(h * 0.1)
    left, top = rng.randint(0, dw), rng.randint(0, dh)
    return img.crop((left, top, left + w - dw, top + h - dh))


def _watermark(img: Image.Image, rng: random.Random) -> Image.Image:
    base = img.convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    draw.text((base.width * 0.08, base.height * rng.uniform(0.82, 0.9)), "@example_channel",
              font=ImageFont.load_default(size=max(12, base.width // 18)), fill=(120, 120, 120, 140))
    side = max(16, base.width // 10)
    draw.ellipse((base.width - side - 24, 24, base.width - 24, 24 + side), fill=(200, 30, 30, 160))
    return Image.alpha_composite(base, layer).convert("RGB")


def copy_bytes(notice: corpus.Notice, condition: str) -> bytes:
    """A copy of the notice as a re-poster makes it (the same bytes each time)."""
    rng = random.Random(f"{notice.key}-{condition}")
    if condition == "crop":
        return jpeg(_crop(corpus.render(notice), rng))
    if condition == "watermark":
        return jpeg(_watermark(corpus.render(notice), rng))
    return corpus.image(notice, condition)


@dataclass
class NoticeQuality:
    notices: int = 0
    images: int = 0
    recall_found: int = 0
    recall_total: int = 0
    true_pairs: int = 0
    false_pairs: list[tuple[str, str]] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    ocr_runs: int = 0
    seconds: float = 0.0

    @property
    def precision(self) -> float:
        total = self.true_pairs + len(self.false_pairs)
        return self.true_pairs / total if total else 1.0

    @property
    def recall(self) -> float:
        return self.recall_found / self.recall_total if self.recall_total else 1.0

    def row(self) -> dict[str, Any]:
        return {"set": "template notices", "notices": self.notices, "images": self.images,
                "precision_all_pairs": round(self.precision, 5), "recall_copies": round(self.recall, 4),
                "true_pairs": self.true_pairs, "false_pairs": len(self.false_pairs), "ocr_runs": self.ocr_runs,
                "seconds": round(self.seconds, 1)}


def measure(count: int = 50, copies_per_notice: int = 1, *, text_check: bool = True, seed: int = 16,
            ocr: Callable[[bytes], dict[str, Any]] = ocr_image) -> NoticeQuality:
    """`count` notices, each with `copies_per_notice` copies (conditions taken in turn)."""
    started = time.perf_counter()
    items = corpus.notices(count)
    files: dict[str, tuple[str, bytes]] = {}  # key -> (notice key, bytes)
    copies: list[str] = []
    for i, n in enumerate(items):
        files[n.key] = (n.key, corpus.image(n, "clean"))
        for j in range(copies_per_notice):
            cond = COPIES[(i + j) % len(COPIES)]
            files[f"{n.key}~{cond}"] = (n.key, copy_bytes(n, cond))
            copies.append(f"{n.key}~{cond}")
    analysed: dict[str, Analysed] = {k: analyse_image(data) for k, (_, data) in files.items()}
    texts: dict[str, ImageText | None] = {}
    q = NoticeQuality(notices=count, images=len(files))

    def text(key: str) -> ImageText | None:
        if key not in texts:
            q.ocr_runs += 1
            texts[key] = image_text(ocr(files[key][1]))
        return texts[key]

    def text_of_item(item: Item) -> ImageText | None:
        return text(item.key)

    def query_text(key: str) -> Callable[[], ImageText | None]:
        return lambda: text(key)

    text_of = text_of_item if text_check else None

    base = Matcher(text_of=text_of)
    for n in items:
        base.add(Item(n.key, "image", analysed[n.key].signature, n.key), analysed[n.key])
    for key in copies:
        origin = files[key][0]
        found = {m.item.key for m in base.matches(analysed[key], query_text=query_text(key))}
        q.recall_total += 1
        if origin in found:
            q.recall_found += 1
        else:
            q.misses.append(key)

    order = list(files)
    random.Random(seed).shuffle(order)
    allpairs = Matcher(cache=len(order), text_of=text_of)
    for key in order:
        for m in allpairs.matches(analysed[key], query_text=query_text(key)):
            if files[m.item.key][0] == files[key][0]:
                q.true_pairs += 1
            else:
                q.false_pairs.append((key, m.item.key))
        allpairs.add(Item(key, "image", analysed[key].signature, key), analysed[key])
    q.seconds = time.perf_counter() - started
    return q


if __name__ == "__main__":
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    for check in (False, True):
        result = measure(n, text_check=check)
        print({"text_check": check, **result.row()})
        print("  false pairs", result.false_pairs[:10], "misses", result.misses)
