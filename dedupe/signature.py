"""An image's signature: what the archive keeps to find its near-duplicates later.

Two parts, for the two ways copies drift apart:
- the pHash of nine views (whole, mirror, two centred crops, four quadrants, the main picture
  when other material frames it): close copies (recompression, resizing, grey, brightness,
  watermark, letterbox, mirror) stay within a few bits of one of them, found by an exact
  Hamming-radius query (dedupe.hamming);
- up to 128 ORB descriptors spread over the frame, 64 more inside a framed main picture, with
  their positions: crops, rotations, screenshots and collage tiles keep many of them, found by
  locality-sensitive lookups (dedupe.keypoints) and re-ranked by their geometry.

Signatures are JSON in the media's metadata record (the WARC file stays the source of truth) and
in the catalog; `VERSION` changes whenever a change would make old and new signatures disagree.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tawthiq.dedupe import hashes, images, keypoints, local

VERSION = 1


@dataclass
class ImageSignature:
    phash: np.ndarray  # uint64 per view, hashes.VIEW_NAMES order
    descriptors: np.ndarray  # n x 32 uint8
    points: np.ndarray  # n x 2 float32, where each descriptor sits in the reduced image (pixels)
    width: int
    height: int
    main: tuple[float, float, float, float] | None = None  # the main picture's box, if framed

    @property
    def whole(self) -> int:
        return int(self.phash[hashes.WHOLE])

    def as_dict(self) -> dict[str, Any]:
        return {"kind": "image", "version": VERSION, "size": [self.width, self.height],
                "phash": {name: hashes.to_hex(v) for name, v in zip(hashes.VIEW_NAMES, self.phash)},
                "orb": base64.b64encode(self.descriptors.tobytes()).decode("ascii"),
                "orb_xy": base64.b64encode(np.round(self.points).astype("<u2").tobytes()).decode("ascii"),
                "main": [round(v, 4) for v in self.main] if self.main else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ImageSignature":
        if data.get("kind") != "image" or data.get("version") != VERSION:
            raise ValueError(f"not an image signature of version {VERSION}")
        phash = np.array([int(data["phash"][name], 16) for name in hashes.VIEW_NAMES], dtype=np.uint64)
        orb = np.frombuffer(base64.b64decode(data["orb"]), dtype=np.uint8).reshape(-1, 32)
        xy = np.frombuffer(base64.b64decode(data["orb_xy"]), dtype="<u2").reshape(-1, 2).astype(np.float32)
        w, h = data["size"]
        main = tuple(data["main"]) if data.get("main") else None
        return cls(phash, orb.copy(), xy, int(w), int(h), main)  # type: ignore[arg-type]


@dataclass
class Analysed:
    """An image read for matching: its signature plus what verification needs (kept in memory
    only while it is compared)."""

    signature: ImageSignature
    gray: np.ndarray
    features: local.Features


def analyse_image(data: bytes | Path, *, max_pixels: int = images.DEFAULT_MAX_PIXELS) -> Analysed:
    canvas = images.reduce(data, max_pixels=max_pixels)
    feats = local.features(canvas.gray)
    main = images.main_box(canvas.gray)
    rows = keypoints.select_rows(feats)
    if main is not None:
        # a framed picture (a screenshot's photo) gets descriptors of its own, or the frame's
        # text and icons would take most of the places
        rows = np.union1d(rows, keypoints.select_rows_within(feats, main, keypoints.KEEP_MAIN))
    descriptors = feats.descriptors[rows] if feats.descriptors is not None else np.zeros((0, 32), np.uint8)
    sig = ImageSignature(hashes.hash_views(canvas.gray, main), descriptors, feats.points[rows], canvas.width,
                         canvas.height, main)
    return Analysed(sig, canvas.gray, feats)


def hash_only(data: bytes | Path, *, max_pixels: int = images.DEFAULT_MAX_PIXELS) -> int:
    """The whole-image pHash alone (for the benchmark's like-for-like comparison)."""
    return int(hashes.hash_views(images.reduce(data, max_pixels=max_pixels).gray)[hashes.WHOLE])
