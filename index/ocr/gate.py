"""A fast text/no-text gate, so photographs without text cost ~tens of milliseconds, not an OCR
pass (the note: OpenCV line count, 45 ms; cards have >= 5 lines, pictures <= 4; at >= 3, recall
100% with 17/21 pictures rejected).

A "line" is a horizontal run of glyph-sized dark-on-light (or light-on-dark) blobs: adaptive
threshold, connected components of glyph size, joined by a horizontal dilation; a line must hold
several blobs of unequal widths (a row of identical windows in a photo of a building is not
writing) and be much wider than tall.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WORK_SIDE = 1000  # the gate looks at the image scaled so its longer side is at most this
MIN_LINES = 3


@dataclass(frozen=True)
class GateResult:
    lines: int
    passed: bool

    def as_dict(self) -> dict[str, int | bool]:
        return {"lines": self.lines, "passed": self.passed, "min_lines": MIN_LINES}


def _lines_in(binary: np.ndarray) -> int:
    import cv2

    h, w = binary.shape
    n, _labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    glyph = np.zeros_like(binary)
    lo, hi = max(4, h // 120), max(8, h // 8)
    keep = []
    for i in range(1, n):
        x, y, bw, bh, area = stats[i]
        if lo <= bh <= hi and 2 <= bw <= hi * 4 and area >= 0.12 * bw * bh:
            keep.append(i)
            glyph[y:y + bh, x:x + bw] = 255
    if len(keep) < 6:
        return 0
    median_h = int(np.median([stats[i][3] for i in keep]))
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, median_h), 1))
    joined = cv2.dilate(glyph, kernel)
    m, lab, lstats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    count = 0
    for j in range(1, m):
        x, y, lw, lh, _ = lstats[j]
        if lw < 4 * lh or lw < w // 12:
            continue
        inside = [i for i in keep if x <= stats[i][0] < x + lw and y <= stats[i][1] < y + lh]
        if len(inside) < 4:
            continue
        widths = np.array([stats[i][2] for i in inside], dtype=float)
        if widths.std() / max(widths.mean(), 1.0) < 0.25:
            continue  # equal blobs in a row: windows, tiles, not letters
        count += 1
    return count


def count_lines(gray: np.ndarray) -> int:
    """Text lines in a grayscale image (dark text on light and light text on dark, the larger)."""
    import cv2

    h, w = gray.shape[:2]
    scale = min(1.0, WORK_SIDE / max(h, w))
    if scale < 1.0:
        gray = cv2.resize(gray, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)
    block = max(15, (min(gray.shape[:2]) // 30) | 1)
    dark = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 15)
    light = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, -15)
    return max(_lines_in(dark), _lines_in(light))


def gate(gray: np.ndarray) -> GateResult:
    lines = count_lines(gray)
    return GateResult(lines, lines >= MIN_LINES)
