"""The matcher's view of the on-disk store (dedupe.store): candidates from its tables, items
fetched on demand.

The store holds only what finds candidates (hashes, descriptor buckets) and each item's key; the
rest of an item (its signature's descriptors and positions, its cluster) is fetched from wherever
the caller keeps it (the catalog) for the few candidates a query turns up, and cached.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from tawthiq.dedupe import hashes, keypoints
from tawthiq.dedupe.signature import ImageSignature
from tawthiq.dedupe.store import Entry, Store
from tawthiq.dedupe.video import VideoSignature

if TYPE_CHECKING:
    from tawthiq.dedupe.matcher import Item

VIEWS = len(hashes.VIEW_NAMES)


def entry_for(key: str, row: int, signature: ImageSignature | VideoSignature | None) -> Entry:
    """The store's rows for an item (a sha256 in hex); a None signature (unreadable) adds the
    item with no rows, so the store still counts every catalog row."""
    raw = bytes.fromhex(key) if len(key) == 64 else key.encode()[:32].ljust(32, b"\0")
    if isinstance(signature, ImageSignature):
        return Entry(raw, row, whole=int(signature.phash[hashes.WHOLE]),
                     views=np.asarray(signature.phash[1:], np.uint64), buckets=keypoints.buckets(signature.descriptors))
    if isinstance(signature, VideoSignature):
        return Entry(raw, row, frames=np.asarray(signature.frames, np.uint64))
    return Entry(raw, row)


class StoredItems:
    """Candidates from a Store; `fetch(key)` gives an item's full Item (None if unknown)."""

    def __init__(self, store: Store, fetch: Callable[[str], "Item | None"], *, cache: int = 4096) -> None:
        self.store = store
        self.fetch = fetch
        self._cache: OrderedDict[int, Item | None] = OrderedDict()
        self._cache_size = cache

    def __len__(self) -> int:
        return len(self.store)

    def key(self, n: int) -> str:
        return self.store.key(n).hex()

    def item(self, n: int) -> "Item | None":
        if n in self._cache:
            self._cache.move_to_end(n)
            return self._cache[n]
        found = self.fetch(self.key(n))
        self._cache[n] = found
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return found

    def forget(self) -> None:
        """Drop cached items (their clusters changed: a reclustering was accepted)."""
        self._cache.clear()

    def view_hits(self, query_view: int, value: int, radius: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(item, distance, item's view) of stored views within radius of one query view. Only
        whole-against-any-view pairs: a query view meets stored wholes; the query's whole meets
        every view too (a view against a view proves little)."""
        pay, dist = self.store.tables["whole"].hash_search(value, radius)
        items, dists, views = [pay], [dist], [np.zeros(len(pay), np.int64)]
        if query_view == hashes.WHOLE:
            vpay, vdist = self.store.tables["views"].hash_search(value, radius)
            items.append(vpay >> 3)
            dists.append(vdist)
            views.append((vpay & 7) + 1)
        return np.concatenate(items), np.concatenate(dists), np.concatenate(views)

    def frame_hits(self, value: int, radius: int) -> np.ndarray:
        pay, _ = self.store.tables["frames"].hash_search(value, radius)
        return np.unique(pay)

    # keypoints.HitSource
    def hits(self, q: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.store.tables["desc"].bucket_hits(q, t)

    def descriptor_count(self) -> int:
        return self.store.tables["desc"].rows
