"""The largest-type line of a notice (the name of the dead, set big and bold), found by OpenCV
so it can be read again on its own: Tesseract's page passes sometimes lose or mangle that line
(../shared/notes/ocr.md, "Big bold name lines were sometimes lost"). Glyph-sized blobs of an
adaptive threshold are joined along the line by a horizontal dilation, as the gate does; the
tallest wide run of several unequal glyphs is the line.
"""

from __future__ import annotations

import numpy as np


def largest_line(gray: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x, y, w, h) of the tallest text line in a grayscale image, padded; None if none."""
    import cv2

    h, w = gray.shape[:2]
    block = max(15, (min(h, w) // 30) | 1)
    binary = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 15)
    n, _labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    lo, hi = max(4, h // 120), max(8, h // 5)
    glyph = np.zeros_like(binary)
    keep = []
    for i in range(1, n):
        x, y, bw, bh, area = stats[i]
        if lo <= bh <= hi and 2 <= bw <= hi * 6 and area >= 0.12 * bw * bh:
            keep.append(i)
            glyph[y:y + bh, x:x + bw] = 255
    if len(keep) < 4:
        return None
    median_h = int(np.median([stats[i][3] for i in keep]))
    joined = cv2.dilate(glyph, cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, int(median_h * 1.5)), 1)))
    m, _lab, lstats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    best: tuple[int, int, int, int] | None = None
    for j in range(1, m):
        x, y, lw, lh, _ = lstats[j]
        if lw < 3 * lh or lw < w // 8:
            continue
        inside = [i for i in keep if x <= stats[i][0] < x + lw and y <= stats[i][1] < y + lh]
        if len(inside) < 3:
            continue
        if best is None or lh > best[3]:
            best = (int(x), int(y), int(lw), int(lh))
    if best is None:
        return None
    x, y, lw, lh = best
    pad_y, pad_x = max(4, lh // 4), max(6, lh // 2)
    x0, y0 = max(0, x - pad_x), max(0, y - pad_y)
    return x0, y0, min(w, x + lw + pad_x) - x0, min(h, y + lh + pad_y) - y0
