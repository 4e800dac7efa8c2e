"""Decoding an image for hashing: bounded, small, canonical.

Why this module exists: a naive `imagehash.phash(Image.open(path))` decodes every pixel of a
12-megapixel JPEG only to shrink it to 32x32. JPEG can decode at 1/2, 1/4 or 1/8 scale while
reading (PIL's `draft`), so a few hundred pixels a side cost a fraction of the work, and the hash
barely moves (0.08 bits on average, shared/notes/dedupe.md). Every image goes through one path,
so two copies of a photo are always compared on the same footing.

A captured file is hostile input: its header is read before any pixel, and an image over the
pixel limit (a decompression bomb, or absurd dimensions) is refused with a clear error; the
capture that met it goes on.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from tawthiq.errors import UserError

WORK_SIZE = 384  # the shorter side aimed for: enough for local features, small to decode
DEFAULT_MAX_PIXELS = 150_000_000


class ImageRejected(UserError, ValueError):
    """Not an image we can decode, or one over the size limits; the message says which."""


@dataclass
class Canvas:
    """An image reduced for matching: grayscale, at most a few hundred pixels a side, with
    uniform borders (letterbox bars, padding) trimmed away."""

    gray: np.ndarray  # uint8, H x W, the trimmed image
    width: int  # the original image's size
    height: int
    trimmed: tuple[int, int, int, int]  # box kept, in the reduced untrimmed image (left, top, right, bottom)


_OPEN_LOCK = threading.Lock()


def open_bounded(data: bytes | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open (not decode) an image and check its dimensions first, against our own limit (Pillow's
    global one is set aside while the header is read, so the error can name the dimensions)."""
    try:
        with _OPEN_LOCK:
            saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
            try:
                img = Image.open(io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data)
            finally:
                Image.MAX_IMAGE_PIXELS = saved
    except (UnidentifiedImageError, OSError) as exc:
        raise ImageRejected(f"not a readable image ({exc.__class__.__name__})") from None
    w, h = img.size
    if w <= 0 or h <= 0:
        raise ImageRejected(f"image has no pixels ({w}x{h})")
    if w * h > max_pixels:
        raise ImageRejected(f"image is {w}x{h} = {w * h:,} pixels, over the limit of {max_pixels:,} "
                            "(setting dedupe_max_pixels): not decoded")
    return img


def reduce(data: bytes | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS, size: int = WORK_SIZE) -> Canvas:
    """Decode at the smallest scale that keeps `size` pixels on the shorter side."""
    img = open_bounded(data, max_pixels=max_pixels)
    width, height = img.size
    try:
        if img.format == "JPEG":
            # draft picks the largest DCT scaling (1/2, 1/4, 1/8) that keeps at least the size
            # asked for; asking for 3/4 of `size` lets a 12-megapixel photo decode at 1/8
            factor = 0.75 * size / min(width, height)
            if factor < 1:
                img.draft("L", (max(1, int(width * factor)), max(1, int(height * factor))))
        img = ImageOps.exif_transpose(img)  # a phone photo and its re-post agree on which way is up
        if getattr(img, "n_frames", 1) > 1:
            img.seek(0)  # an animated GIF/WebP: its first frame stands for it
        if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
            background = Image.new("RGBA", img.size, (255, 255, 255, 255))
            img = Image.alpha_composite(background, img.convert("RGBA"))
        img = img.convert("L")
        if min(img.size) > size:
            factor = size / min(img.size)
            img = img.resize((max(1, round(img.width * factor)), max(1, round(img.height * factor))),
                             Image.Resampling.BILINEAR, reducing_gap=2.0)
    except Image.DecompressionBombError as exc:
        raise ImageRejected(f"refused as a decompression bomb: {exc}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(f"image data is damaged ({exc})") from None
    gray = np.asarray(img, dtype=np.uint8)
    box = trim_box(gray)
    left, top, right, bottom = box
    return Canvas(gray=np.ascontiguousarray(gray[top:bottom, left:right]), width=width, height=height, trimmed=box)


def trim_box(gray: np.ndarray, *, tolerance: float = 12.0, min_keep: float = 0.2) -> tuple[int, int, int, int]:
    """The box inside uniform border bars (letterbox, pillarbox, padding of any flat colour).

    A row or column is a bar when nearly all its pixels sit within `tolerance` of the border's
    colour; bars are peeled from each side independently. Never trims below `min_keep` of a side
    (a mostly flat image is not a border)."""
    h, w = gray.shape
    g = gray.astype(np.int16)

    def flat(line: np.ndarray, ref: float) -> bool:
        return bool(np.mean(np.abs(line - ref) <= tolerance) >= 0.98)

    top, bottom, left, right = 0, h, 0, w
    ref = float(np.median(g[0]))
    while top < h * (1 - min_keep) and flat(g[top], ref):
        top += 1
    ref = float(np.median(g[h - 1]))
    while bottom > top + h * min_keep and flat(g[bottom - 1], ref):
        bottom -= 1
    ref = float(np.median(g[:, 0]))
    while left < w * (1 - min_keep) and flat(g[top:bottom, left], ref):
        left += 1
    ref = float(np.median(g[:, w - 1]))
    while right > left + w * min_keep and flat(g[top:bottom, right - 1], ref):
        right -= 1
    if right - left < 8 or bottom - top < 8:
        return 0, 0, w, h
    return left, top, right, bottom


def main_box(gray: np.ndarray) -> tuple[float, float, float, float] | None:
    """The box (fractions of the image) of its main picture when that picture is framed by other
    material: a phone screenshot's bars and text, a poster's caption. Detail is found with a
    local contrast map; text lines and interface bars make thin or small regions, a photograph a
    large solid one. None when the largest such region is (nearly) the whole image or too small
    to stand for it."""
    import cv2

    h, w = gray.shape
    g = gray.astype(np.float32)
    mean = cv2.blur(g, (9, 9))
    std = np.sqrt(np.maximum(0, cv2.blur(g * g, (9, 9)) - mean * mean))
    mask: np.ndarray = (std > 6).astype(np.uint8)
    k = max(3, min(h, w) // 40) | 1
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))  # fill a photo's smooth patches
    k = max(5, min(h, w) // 14) | 1
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((k, k), np.uint8))  # drop lines of text and icons
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
    if count < 2:
        return None
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, bw, bh, area = (int(v) for v in stats[best, :5])
    share = bw * bh / (w * h)
    if not 0.12 <= share <= 0.85 or area < 0.6 * bw * bh or min(bw / w, bh / h) < 0.3:
        return None
    return x / w, y / h, (x + bw) / w, (y + bh) / h
