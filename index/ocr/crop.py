"""Crop the notice out of its surroundings: a screenshot's chat frame, the table a printed card
lies on. The note measured it as the step that helps most (phone photos 72% -> 17% CER, app
screenshots 33% -> 13%): the largest bright quadrilateral (Otsu threshold, outer contours,
polygon approximation), warped flat by its four corners. An image with no such shape (a card
that already fills the image) is used whole.
"""

from __future__ import annotations

import numpy as np

MIN_AREA = 0.12  # a quadrilateral smaller than this share of the image is not "the notice"
MAX_AREA = 0.97  # one that is the whole image: nothing to crop


def _order(pts: np.ndarray) -> np.ndarray:
    """Corners as top-left, top-right, bottom-right, bottom-left."""
    s = pts.sum(axis=1)
    d = np.diff(pts, axis=1).ravel()
    return np.array([pts[np.argmin(s)], pts[np.argmin(d)], pts[np.argmax(s)], pts[np.argmax(d)]], dtype=np.float32)


def find_card(gray: np.ndarray) -> np.ndarray | None:
    """The four corners (float32, 4x2) of the largest bright quadrilateral, or None."""
    import cv2

    h, w = gray.shape[:2]
    blurred = cv2.GaussianBlur(gray, (5, 5), 0)
    _, binary = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    best, best_area = None, 0.0
    for c in contours:
        area = cv2.contourArea(c)
        if area < MIN_AREA * w * h or area > MAX_AREA * w * h or area <= best_area:
            continue
        approx = cv2.approxPolyDP(c, 0.02 * cv2.arcLength(c, True), True)
        if len(approx) == 4 and cv2.isContourConvex(approx):
            best, best_area = approx.reshape(4, 2).astype(np.float32), area
    return None if best is None else _order(best)


def crop(image: np.ndarray) -> tuple[np.ndarray, list[list[float]] | None]:
    """(the notice, flattened; the corners it came from in the image, or None when used whole)."""
    import cv2

    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    corners = find_card(gray)
    if corners is None:
        return image, None
    tl, tr, br, bl = corners
    width = int(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl)))
    height = int(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr)))
    if width < 32 or height < 32:
        return image, None
    target = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(corners, target)
    flat = cv2.warpPerspective(image, matrix, (width, height))
    return flat, [[round(float(x), 1), round(float(y), 1)] for x, y in corners]
