"""The word boxes OCR found in a post's images, placed on the images as the post page shows
them (issue 16): the page overlays each word where it was read, so a reader sees which part of
the picture a search hit came from and can select or find the text.

Read from the image's newest "ocr" metadata record in its WARC file (the catalog keeps only the
text): the record is the source of truth. Tesseract's boxes are in the pixels it was given,
the notice cropped out of the image and warped flat; they are mapped back through the crop's
four corners (a perspective transform) to the image's own pixels.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from tawthiq.archivers.payload import PayloadError, read_payload
from tawthiq.catalog import Catalog
from tawthiq.posts import record_location

log = logging.getLogger("tawthiq.web")

MAX_RECORD_BYTES = 16 << 20
OVERLAY_PASS = "ara-psm11"  # the pass whose lines are the record's `text`
NAME_LINE_PASS = "ara-psm7-line"  # the name line read alone, when the record chose its reading
MIN_CONF = 30.0  # below this a "word" is mostly noise (a frame's edge, a portrait's shading)


def _homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 3x3 perspective transform taking the four `src` points to the four `dst` points."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(src, dst):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    h = np.linalg.solve(np.array(rows, dtype=np.float64), np.array(rhs, dtype=np.float64))
    return np.append(h, 1.0).reshape(3, 3)


def _placer(doc: dict[str, Any]) -> Any:
    """A function from a box in the OCRed pixels to (x, y, w, h) in the image's pixels."""
    corners = doc.get("crop")
    size = doc.get("ocr_size") or doc.get("size")
    if not corners or not size:
        return lambda box: tuple(float(v) for v in box)
    w, h = size
    matrix = _homography(np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], dtype=np.float64),
                         np.array(corners, dtype=np.float64))

    def place(box: list[int]) -> tuple[float, float, float, float]:
        x, y, bw, bh = box
        pts = np.array([[x, y, 1], [x + bw, y, 1], [x + bw, y + bh, 1], [x, y + bh, 1]], dtype=np.float64)
        out = pts @ matrix.T
        xy = out[:, :2] / out[:, 2:3]
        left, top = xy.min(axis=0)
        right, bottom = xy.max(axis=0)
        return float(left), float(top), float(right - left), float(bottom - top)

    return place


def overlay_of(doc: dict[str, Any]) -> dict[str, Any] | None:
    """What the page draws over one image: its size and each word placed on it."""
    if doc.get("status") != "text" or not doc.get("size") or doc.get("frames"):
        return None  # nothing read, or a video (its words belong to frames the page does not show)
    place = _placer(doc)
    chosen = [w for w in doc.get("words") or [] if w.get("pass") == NAME_LINE_PASS] \
        if doc.get("name_line") == "chosen" else []
    top = min((w["box"][1] for w in chosen), default=0)
    bottom = max((w["box"][1] + w["box"][3] for w in chosen), default=-1)
    words = []
    for w in doc.get("words") or []:
        if w.get("pass") == OVERLAY_PASS:
            if top <= w["box"][1] + w["box"][3] / 2 <= bottom:
                continue  # the name line's own reading stands for this line
        elif w.get("pass") != NAME_LINE_PASS or not chosen:
            continue
        if not w.get("text") or float(w.get("conf", 0)) < MIN_CONF:
            continue
        x, y, bw, bh = place(w["box"])
        words.append({"text": w["text"], "conf": w.get("conf"), "x": round(x, 1), "y": round(y, 1),
                      "w": round(bw, 1), "h": round(bh, 1)})
    if not words:
        return None
    width, height = doc["size"]
    return {"width": width, "height": height, "words": words}


def add_overlays(catalog: Catalog, warcs_dir: Path, media: list[dict[str, Any]]) -> None:
    """Give each image of a post page its `ocr` overlay (when its text was read)."""
    shas = {m["record_id"]: (m.get("digest") or "").removeprefix("sha256:") for m in media
            if m.get("mime", "").startswith("image/") and m.get("digest")}
    texts = catalog.image_texts([s for s in shas.values() if s])
    for m in media:
        row = texts.get(shas.get(m["record_id"], ""))
        if row is None or row.status != "text":
            continue
        where = record_location(catalog, row.metadata_record_id)
        if where is None:
            continue
        try:
            doc = json.loads(read_payload(warcs_dir, where.file, where.offset, MAX_RECORD_BYTES).body)
        except (PayloadError, OSError, ValueError) as exc:
            log.warning("cannot read the OCR record %s: %s", row.metadata_record_id, exc)
            continue
        m["ocr"] = overlay_of(doc)


__all__ = ["add_overlays", "overlay_of"]
