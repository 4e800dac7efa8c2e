"""Global perceptual hashes of an image and of its views.

The hash is imagehash's pHash (`imagehash.phash`, 64 bits: the 8x8 lowest DCT frequencies of a
32x32 grayscale against their median), computed for several views of one reduced image in one
batch (OpenCV's area resize, one DCT call for all views) instead of one library call per view:
about 3x faster, and within a bit or two of imagehash's value on the same pixels (a test holds
it to that; area averaging stands in for Lanczos).

Why views: a global hash describes the whole frame, so a mirror, a crop or a photo pasted as one
tile of a collage lands far away. Storing the hashes of the mirror, of centred crops and of the
four quadrants next to the whole lets "whole against any view" find those copies with an exact
Hamming-radius query (the quadrants catch a portrait's other copies inside a 2x2 bulletin collage).
The last view is the image's main picture when it sits inside other material (a screenshot's
interface, a poster's text): see dedupe.images.main_box.
"""

from __future__ import annotations

import cv2
import numpy as np
import scipy.fft

# view name -> (left, top, right, bottom) as fractions of the trimmed image; "mirror" is flipped
VIEWS: dict[str, tuple[float, float, float, float]] = {
    "whole": (0.0, 0.0, 1.0, 1.0),
    "mirror": (0.0, 0.0, 1.0, 1.0),
    "crop85": (0.075, 0.075, 0.925, 0.925),
    "crop70": (0.15, 0.15, 0.85, 0.85),
    "tile0": (0.0, 0.0, 0.5, 0.5),
    "tile1": (0.5, 0.0, 1.0, 0.5),
    "tile2": (0.0, 0.5, 0.5, 1.0),
    "tile3": (0.5, 0.5, 1.0, 1.0),
    "main": (0.0, 0.0, 1.0, 1.0),  # replaced per image by its main picture's box (dedupe.images.main_box)
}
VIEW_NAMES = tuple(VIEWS)
WHOLE, MIRROR, MAIN = 0, 1, len(VIEWS) - 1


def _bits_to_uint64(bits: np.ndarray) -> np.ndarray:
    """Rows of 64 booleans, most significant first (imagehash's hex order) -> uint64."""
    packed = np.packbits(bits.reshape(len(bits), 64).astype(np.uint8), axis=1)
    return packed.view(">u8").reshape(-1).astype(np.uint64)


def view_boxes(main: tuple[float, float, float, float] | None = None) -> list[tuple[float, float, float, float]]:
    boxes = list(VIEWS.values())
    boxes[MAIN] = main or boxes[WHOLE]
    return boxes


def view_arrays(gray: np.ndarray, main: tuple[float, float, float, float] | None = None) -> list[np.ndarray]:
    h, w = gray.shape
    out = []
    for name, (l, t, r, b) in zip(VIEW_NAMES, view_boxes(main)):
        x0, y0 = round(l * w), round(t * h)
        view = gray[y0:max(y0 + 1, round(b * h)), x0:max(x0 + 1, round(r * w))]
        out.append(view[:, ::-1] if name == "mirror" else view)
    return out


def hash_views(gray: np.ndarray, main: tuple[float, float, float, float] | None = None) -> np.ndarray:
    """pHash of every view (uint64, in VIEW_NAMES order)."""
    views = view_arrays(gray, main)
    small = np.stack([cv2.resize(v, (32, 32), interpolation=cv2.INTER_AREA) for v in views]).astype(np.float64)
    dct = scipy.fft.dct(scipy.fft.dct(small, axis=1), axis=2)[:, :8, :8].reshape(len(views), 64)
    return _bits_to_uint64(dct > np.median(dct, axis=1, keepdims=True))


def hamming(a: int | np.ndarray, b: int | np.ndarray) -> np.ndarray:
    return np.bitwise_count(np.bitwise_xor(np.asarray(a, dtype=np.uint64), np.asarray(b, dtype=np.uint64)))


def to_hex(value: int) -> str:
    return f"{int(value):016x}"
