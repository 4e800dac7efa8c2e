"""Finding candidates that share local features: locality-sensitive hashing of ORB descriptors.

A crop, a 10-degree rotation, a screenshot or a collage tile moves every global hash far away,
but the picture's corners and edges survive: their ORB descriptors (256 bits) stay within a few
dozen bits of the original's. Each image keeps its strongest descriptors (spread over the frame,
so a collage tile or the picture inside a screenshot is represented); each descriptor is filed
under a few bit-sampling hashes (Indyk-Motwani: 16 fixed bit positions each), so two near
descriptors share a bucket with good probability and unrelated ones rarely. An item that shares
buckets with several of the query's descriptors is a candidate for `dedupe.local.verify`, which
decides. Lookups touch a few buckets per descriptor, whatever the archive's size.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from tawthiq.dedupe.local import Features

KEEP = 128  # descriptors kept per image
KEEP_MAIN = 64  # and more from inside the main picture of a framed image (see dedupe.images.main_box)
TABLES = 8
SAMPLED_BITS = 24
MIN_VOTES = 3  # distinct query descriptors that must meet an item
GRID = 4  # strongest descriptors are chosen per cell of a GRID x GRID split of the frame

_rng = np.random.default_rng(20161212)  # fixed: bucket numbers must not change between runs
_POSITIONS = np.stack([_rng.choice(256, SAMPLED_BITS, replace=False) for _ in range(TABLES)])


def select(features: Features, keep: int = KEEP) -> np.ndarray:
    """The descriptors to index: the first (strongest) ones of each grid cell in turn."""
    return features.descriptors[select_rows(features, keep)] if features.descriptors is not None else \
        np.zeros((0, 32), np.uint8)


def select_rows(features: Features, keep: int = KEEP) -> np.ndarray:
    if features.descriptors is None or not len(features.points):
        return np.zeros(0, np.int64)
    h, w = features.shape
    cell = (np.minimum(GRID - 1, (features.points[:, 1] * GRID // max(1, h)).astype(int)) * GRID
            + np.minimum(GRID - 1, (features.points[:, 0] * GRID // max(1, w)).astype(int)))
    responses = features.responses
    order = np.argsort(-responses, kind="stable") if responses is not None else np.arange(len(cell))
    # each keypoint's rank within its cell, strongest first
    by_cell = np.argsort(cell[order], kind="stable")
    grouped = cell[order][by_cell]
    rank = np.empty(len(cell), np.int64)
    rank[order[by_cell]] = np.arange(len(cell)) - np.searchsorted(grouped, grouped, side="left")
    return np.lexsort((np.argsort(order), rank))[:keep]


def select_rows_within(features: Features, box: tuple[float, float, float, float], keep: int) -> np.ndarray:
    h, w = features.shape
    l, t, r, b = box
    x, y = features.points[:, 0], features.points[:, 1]
    inside = np.nonzero((x >= l * w) & (x < r * w) & (y >= t * h) & (y < b * h))[0]
    if not len(inside):
        return np.zeros(0, np.int64)
    x0, y0 = l * w, t * h
    sub = Features((features.points[inside] - np.array([x0, y0], np.float32)), features.descriptors[inside]
                   if features.descriptors is not None else None,
                   (max(1, int((b - t) * h)), max(1, int((r - l) * w))),
                   features.responses[inside] if features.responses is not None else None)
    return inside[select_rows(sub, keep)]


def buckets(descriptors: np.ndarray) -> np.ndarray:
    """TABLES bucket numbers per descriptor (n x TABLES; 24-bit values, stored as int32)."""
    if not len(descriptors):
        return np.zeros((0, TABLES), np.int32)
    bits = np.unpackbits(descriptors, axis=1)  # n x 256
    sampled = bits[:, _POSITIONS]  # n x TABLES x 16
    weights = (1 << np.arange(SAMPLED_BITS - 1, -1, -1)).astype(np.int64)
    return (sampled.astype(np.int64) * weights).sum(axis=2).astype(np.int32)


class _Tables:
    """Bucket numbers of many descriptors, sorted once per table for lookups. Memory: 36 bytes
    per descriptor plus 8 per table entry for the sort order, ~14 KB per image of 192 descriptors
    (the hash index needs ~0.4 KB): this index, not the hash index, bounds how many images one
    process can match against (about a million in 16 GB)."""

    def __init__(self, bucket: np.ndarray, item: np.ndarray) -> None:
        self.bucket, self.item = bucket, item
        self.order = [np.argsort(bucket[:, t], kind="stable") for t in range(TABLES)]
        self.sorted = [bucket[o, t] for t, o in enumerate(self.order)]

    def hits(self, q: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(item, query row) for every stored descriptor sharing table t's bucket, and per query
        row how many stored descriptors share it."""
        lo = np.searchsorted(self.sorted[t], q[:, t], side="left")
        hi = np.searchsorted(self.sorted[t], q[:, t], side="right")
        sizes = hi - lo
        total = int(sizes.sum())
        if not total:
            empty = np.zeros(0, np.int64)
            return empty, empty, sizes
        offsets = np.repeat(lo - np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes)
        rows = self.order[t][offsets + np.arange(total)]
        return self.item[rows].astype(np.int64), np.repeat(np.arange(len(q)), sizes), sizes


class HitSource(Protocol):
    """Anything that files descriptors under the TABLES buckets: the in-memory index below, or
    the store on disk (dedupe.stored)."""

    def hits(self, q: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...

    def descriptor_count(self) -> int: ...


class DescriptorIndex:
    """Descriptors of many items. New ones wait in a tail (sorted on its own, cheaply, when a
    query needs it) and join the main tables when the tail outgrows a sixteenth of them."""

    def __init__(self) -> None:
        self.main = _Tables(np.zeros((0, TABLES), np.int32), np.zeros(0, np.int32))
        self._tail_bucket: list[np.ndarray] = []
        self._tail_item: list[np.ndarray] = []
        self._tail_len = 0
        self._tail: _Tables | None = None

    def __len__(self) -> int:
        return len(self.main.item) + self._tail_len

    def add(self, item: int, descriptors: np.ndarray) -> None:
        b = buckets(descriptors)
        self._tail_bucket.append(b)
        self._tail_item.append(np.full(len(b), item, np.int32))
        self._tail_len += len(b)
        self._tail = None
        if self._tail_len > max(20000, len(self.main.item) // 16):
            self.build()

    def _tail_tables(self) -> _Tables | None:
        if not self._tail_len:
            return None
        if self._tail is None:
            self._tail = _Tables(np.concatenate(self._tail_bucket), np.concatenate(self._tail_item))
        return self._tail

    def build(self) -> None:
        tail = self._tail_tables()
        if tail is not None:
            self.main = _Tables(np.concatenate([self.main.bucket, tail.bucket]),
                                np.concatenate([self.main.item, tail.item]))
            self._tail_bucket, self._tail_item, self._tail_len, self._tail = [], [], 0, None

    def descriptor_count(self) -> int:
        return len(self)

    def hits(self, q: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        items, which = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        crowd = np.zeros(len(q), np.int64)
        for tables in (self.main, self._tail_tables()):
            if tables is None or not len(tables.item):
                continue
            i, w, sizes = tables.hits(q, t)
            items.append(i)
            which.append(w)
            crowd += sizes
        return np.concatenate(items), np.concatenate(which), crowd

    def candidates(self, descriptors: np.ndarray, *, min_votes: int = MIN_VOTES, limit: int = 20) -> list[tuple[int, float]]:
        return candidates([(self, 0)], descriptors, min_votes=min_votes, limit=limit)


def candidates(sources: list[tuple[HitSource, int]], descriptors: np.ndarray, *,
               min_votes: int = MIN_VOTES, limit: int = 20) -> list[tuple[int, float]]:
    """(item, score) for items meeting at least `min_votes` of the query's descriptors, best
    first, over several sources (each optionally with an offset added to its item numbers). A
    meeting in a crowded bucket counts for little (inverse document frequency): the corners of
    printed letters or of an app's icons are shared by every screenshot and bulletin, a
    photograph's own corners by its copies only. Crowds are counted over all sources together."""
    q = buckets(descriptors)
    if not len(q):
        return []
    pairs = sources
    population = max(1, sum(s.descriptor_count() for s, _ in pairs) // max(1, KEEP))  # about how many items
    found: list[np.ndarray] = [np.zeros((0, 3))]
    for t in range(TABLES):
        per: list[tuple[np.ndarray, np.ndarray]] = []
        crowd = np.zeros(len(q), np.int64)
        for source, offset in pairs:
            items, which, sizes = source.hits(q, t)
            crowd += sizes
            if len(items):
                per.append((items + offset, which))
        for items, which in per:
            found.append(np.stack([items.astype(np.float64), which.astype(np.float64),
                                   np.log1p(population / np.maximum(1, crowd[which]))], axis=1))
    allhits = np.concatenate(found)
    if not len(allhits):
        return []
    # one vote per (item, query descriptor): its best-weighted meeting
    key = allhits[:, 0].astype(np.int64) * (len(q) + 1) + allhits[:, 1].astype(np.int64)
    order = np.lexsort((-allhits[:, 2], key))
    key, allhits = key[order], allhits[order]
    first = np.concatenate([[True], key[1:] != key[:-1]])
    items = allhits[first, 0].astype(np.int64)
    weights = allhits[first, 2]
    uniq, inverse, votes = np.unique(items, return_inverse=True, return_counts=True)
    score = np.bincount(inverse, weights=weights)
    keep = votes >= min_votes
    uniq, score = uniq[keep], score[keep]
    best = np.argsort(-score, kind="stable")[:limit]
    return [(int(uniq[i]), float(score[i])) for i in best]
