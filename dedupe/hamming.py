"""Exact Hamming-radius search over 64-bit hashes: multi-index hashing in memory.

Why not a BK-tree or an approximate index: a pure-Python BK-tree took over 100 ms a query at
200,000 hashes, and approximate indexes (HNSW, IVF) missed 5-55% of true matches
(shared/notes/dedupe.md); evidence needs exact answers. Multi-index hashing (Norouzi et al.)
splits each hash into four 16-bit blocks: two hashes within distance r agree within r // 4 bits
on at least one block (pigeonhole), so a query looks up every block value within that many bits
of its own (1, 17 or 137 values per block for r up to 3, 7 or 11) in four sorted tables and
checks the true distance of what it finds. The answer is exact; the work depends on how many
hashes share a block value, not on how many there are in all.

Keys added after the tables were built sit in a small unsorted tail that is scanned directly;
the tables are rebuilt when the tail outgrows a sixteenth of the index.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

BLOCKS = 4
BITS = 16
MAX_RADIUS = 11


def _masks(errors: int) -> np.ndarray:
    out = [0]
    for k in range(1, errors + 1):
        out += [sum(1 << b for b in bits) for bits in combinations(range(BITS), k)]
    return np.array(out, dtype=np.uint64)


_MASKS = {e: _masks(e) for e in range(MAX_RADIUS // BLOCKS + 1)}


class HammingIndex:
    """64-bit keys, each with an int64 payload (an item number); many keys may share a payload."""

    def __init__(self) -> None:
        self.keys = np.zeros(0, np.uint64)
        self.payload = np.zeros(0, np.int64)
        self._built = 0  # keys[:_built] are in the tables
        self._order: list[np.ndarray] = []
        self._starts: list[np.ndarray] = []
        self._tail_keys: list[int] = []
        self._tail_payload: list[int] = []

    def __len__(self) -> int:
        return len(self.keys) + len(self._tail_keys)

    def add(self, keys: np.ndarray | list[int], payload: int | np.ndarray) -> None:
        keys = np.asarray(keys, dtype=np.uint64).reshape(-1)
        pay = np.broadcast_to(np.asarray(payload, dtype=np.int64), keys.shape)
        self._tail_keys.extend(int(k) for k in keys)
        self._tail_payload.extend(int(p) for p in pay)
        if len(self._tail_keys) > max(4096, len(self.keys) // 16):
            self.build()

    def extend(self, keys: np.ndarray, payload: np.ndarray) -> None:
        """Bulk load (from the catalog): one rebuild at the end."""
        self.keys = np.concatenate([self.keys, np.asarray(keys, np.uint64)])
        self.payload = np.concatenate([self.payload, np.asarray(payload, np.int64)])
        self.build()

    def build(self) -> None:
        if self._tail_keys:
            self.keys = np.concatenate([self.keys, np.array(self._tail_keys, np.uint64)])
            self.payload = np.concatenate([self.payload, np.array(self._tail_payload, np.int64)])
            self._tail_keys, self._tail_payload = [], []
        self._order, self._starts = [], []
        for b in range(BLOCKS):
            block = ((self.keys >> np.uint64(b * BITS)) & np.uint64(0xFFFF)).astype(np.int64)
            order = np.argsort(block, kind="stable").astype(np.int64)
            self._order.append(order)
            self._starts.append(np.searchsorted(block[order], np.arange((1 << BITS) + 1)))
        self._built = len(self.keys)

    def search(self, query: int, radius: int) -> tuple[np.ndarray, np.ndarray]:
        """Payloads of keys within `radius` bits of `query`, with each one's distance (the
        smallest, when several keys of one payload match)."""
        if not 0 <= radius <= MAX_RADIUS:
            raise ValueError(f"radius must be 0..{MAX_RADIUS}, not {radius}")
        q = np.uint64(query)
        found = [np.zeros(0, np.int64)]
        if self._built:
            masks = _MASKS[radius // BLOCKS]
            for b in range(BLOCKS):
                value = (int(q) >> (b * BITS)) & 0xFFFF
                probes = (np.uint64(value) ^ masks).astype(np.int64)
                lo, hi = self._starts[b][probes], self._starts[b][probes + 1]
                sizes = hi - lo
                total = int(sizes.sum())
                if total:
                    # all positions lo[i]..hi[i]-1 at once
                    offsets = np.repeat(lo - np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes)
                    found.append(self._order[b][offsets + np.arange(total)])
        rows = np.unique(np.concatenate(found))
        dist = np.bitwise_count(self.keys[rows] ^ q) if len(rows) else np.zeros(0, np.uint8)
        keep = dist <= radius
        pay, d = self.payload[rows[keep]], dist[keep].astype(np.int64)
        if self._tail_keys:
            tk = np.array(self._tail_keys, np.uint64)
            td = np.bitwise_count(tk ^ q).astype(np.int64)
            near = td <= radius
            pay = np.concatenate([pay, np.array(self._tail_payload, np.int64)[near]])
            d = np.concatenate([d, td[near]])
        return _best_per_payload(pay, d)

    def brute_force(self, query: int, radius: int) -> tuple[np.ndarray, np.ndarray]:
        """The same answer by scanning every key (the benchmark's baseline; tests compare)."""
        keys = np.concatenate([self.keys, np.array(self._tail_keys, np.uint64)])
        pay = np.concatenate([self.payload, np.array(self._tail_payload, np.int64)])
        dist = np.bitwise_count(keys ^ np.uint64(query)).astype(np.int64)
        keep = dist <= radius
        return _best_per_payload(pay[keep], dist[keep])


def _best_per_payload(payload: np.ndarray, dist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if not len(payload):
        return payload, dist
    order = np.lexsort((dist, payload))
    payload, dist = payload[order], dist[order]
    first = np.concatenate([[True], payload[1:] != payload[:-1]])
    return payload[first], dist[first]
