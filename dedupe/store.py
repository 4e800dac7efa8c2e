"""The near-duplicate index on disk: memory-mapped, append-only, opened in milliseconds.

Why: the in-memory index (dedupe.hamming + dedupe.keypoints) was rebuilt from the catalog's JSON
signatures at the first media file of every capture run, ~14 KB of memory an image: fine for
thousands, not for the millions of a real archive. Here the same candidates come from flat files
under the data folder (HOME/dedupe/), appended as items arrive and never rebuilt per run; opening
maps them (no reading, no sorting), and a query touches only the pages it needs.

Layout (all little-endian, fixed width, so a row's place is its number times its width):
  items.bin            one 40-byte record per item: its key (a sha256, raw) and the catalog row it came from
  NAME.keys NAME.pay   one table per kind of key: the raw keys, and the item (or item*8+view) of each
  NAME.A-B.cC.val/.ord a sorted segment of rows A..B: column C's values sorted, and which row each is
  store.json           the list of segments (replaced atomically)

Tables: `whole` (each image's whole-picture pHash), `views` (its eight other views), `frames`
(video frame hashes) and `desc` (the 8 bit-sampling buckets of each indexed ORB descriptor).

Hash lookups are multi-index hashing (Norouzi et al.) over three blocks of 22, 21 and 21 bits: two
hashes within r bits agree within r // 3 bits on at least one block, so a query probes the block
values within that many bits of its own (1,794 probes a block at radius 10) by binary search in
each segment, and checks the true distance of what it finds. Three blocks rather than four: at 10
million keys a 16-bit block value is shared by ~150 keys and a radius-10 query would check ~84,000
of them; a 21-bit value by ~5, ~27,000 checks (bench/dedupe has the figures).

Rows past the last segment (the tail, at most TAIL rows) are scanned directly. When the tail is
full it becomes a segment, and a segment is merged with the one before it while that one is not
at least FACTOR times bigger: a few segments of geometric sizes (log-structured), each row sorted
O(log n) times in all, never per run. Segments are written under new names, then the list is
replaced, then the old files are removed: a crash leaves the old list valid.

Crash safety: an item's table rows are written first and its items.bin record last (the record is
the commit). A reader counts the records and ignores table rows of items past that count. Under
the lock, before each append, a torn tail (a partial record, table rows of an uncommitted item) is
cut. The store is derived: the catalog stays the source, and a store that does not match it is
deleted and filled again (tawthiq.near_duplicates).

Memory: nothing is read at open; a query reads a few pages per probe. Disk per image: 12 bytes for
the whole hash + 12 per other view (key, payload) + 8 per block and view in segments = 324 bytes for
the 9 view hashes; 36 + 64 = 100 bytes per indexed descriptor (~19 KB for 192). What stays resident
is what the OS page cache keeps of these files.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np

ITEM = np.dtype([("key", "u1", (32,)), ("row", "<i8")])
BLOCKS = ((0, 22), (22, 21), (43, 21))  # (shift, bits) of the multi-index hashing blocks
MAX_RADIUS = 14  # 4 bits a block
TAIL = 65536
FACTOR = 4
MAX_MERGE = 1 << 28  # rows: larger segments are not merged again (memory of the sort)
FORMAT = 1


def _masks(bits: int, errors: int) -> np.ndarray:
    out = [0]
    for k in range(1, errors + 1):
        out += [sum(1 << b for b in chosen) for chosen in combinations(range(bits), k)]
    return np.array(out, dtype=np.uint32)


_MASKS: dict[tuple[int, int], np.ndarray] = {}


def masks(bits: int, errors: int) -> np.ndarray:
    if (bits, errors) not in _MASKS:
        _MASKS[bits, errors] = _masks(bits, errors)
    return _MASKS[bits, errors]


class StoreError(Exception):
    """The store's files are not what this code writes (another format, a foreign folder)."""


@dataclass(frozen=True)
class Spec:
    name: str
    kind: str  # "hash": one uint64 a row, blocks as columns; "buckets": 8 int32 a row, each a column
    shift: int  # payload >> shift is the item


SPECS = (Spec("whole", "hash", 0), Spec("views", "hash", 3), Spec("frames", "hash", 0),
         Spec("desc", "buckets", 0))
DESC_COLUMNS = 8


def _map(path: Path, dtype: np.dtype | type, count: int, width: int = 1) -> np.ndarray:
    if count <= 0:
        return np.zeros((0, width) if width > 1 else 0, dtype)
    return np.memmap(path, dtype=dtype, mode="r", shape=(count, width) if width > 1 else (count,))


def _first_at_least(pay: np.ndarray, shift: int, item: int) -> int:
    """The first row whose item is `item` or later (rows are in item order): a binary search
    that touches ~log2(n) pages, never the whole file."""
    lo, hi = 0, len(pay)
    while lo < hi:
        mid = (lo + hi) // 2
        if int(pay[mid]) >> shift < item:
            lo = mid + 1
        else:
            hi = mid
    return lo


class Table:
    """Append-only rows of keys with a payload each, plus sorted segments per column."""

    def __init__(self, folder: Path, spec: Spec) -> None:
        self.folder, self.spec = folder, spec
        self.width = 1 if spec.kind == "hash" else DESC_COLUMNS
        self.dtype = np.dtype("<u8") if spec.kind == "hash" else np.dtype("<i4")
        self.row_bytes = self.dtype.itemsize * self.width
        self.columns = len(BLOCKS) if spec.kind == "hash" else DESC_COLUMNS
        self.segments: list[tuple[int, int]] = []
        self.rows = 0
        self.keys = _map(self.keys_path, self.dtype, 0, self.width)
        self.pay = _map(self.pay_path, np.dtype("<u4"), 0)
        self._seg: dict[tuple[int, int], list[tuple[np.ndarray, np.ndarray]]] = {}

    @property
    def keys_path(self) -> Path:
        return self.folder / f"{self.spec.name}.keys"

    @property
    def pay_path(self) -> Path:
        return self.folder / f"{self.spec.name}.pay"

    def seg_paths(self, a: int, b: int, c: int) -> tuple[Path, Path]:
        stem = f"{self.spec.name}.{a}-{b}.c{c}"
        return self.folder / f"{stem}.val", self.folder / f"{stem}.ord"

    def open(self, segments: list[tuple[int, int]], items: int) -> None:
        """Map the files as they are now: rows of items below `items` only."""
        complete = min(_size(self.keys_path) // self.row_bytes, _size(self.pay_path) // 4)
        pay = _map(self.pay_path, np.dtype("<u4"), complete)
        # rows are appended in item order: those of uncommitted items are at the end
        rows = _first_at_least(pay, self.spec.shift, items)
        self.rows = rows
        self.pay = pay[:rows]
        self.keys = _map(self.keys_path, self.dtype, rows, self.width)
        self.segments = [s for s in segments if s[1] <= rows]
        for s in self.segments:
            if s not in self._seg:
                a, b = s
                cols = []
                for c in range(self.columns):
                    val, order = self.seg_paths(a, b, c)
                    cols.append((_map(val, np.dtype("<u4"), b - a), _map(order, np.dtype("<u4"), b - a)))
                self._seg[s] = cols
        for s in list(self._seg):
            if s not in self.segments:
                del self._seg[s]

    @property
    def indexed(self) -> int:
        return self.segments[-1][1] if self.segments else 0

    # -- column values -------------------------------------------------------------------
    def column(self, keys: np.ndarray, c: int) -> np.ndarray:
        if self.spec.kind == "hash":
            shift, bits = BLOCKS[c]
            return ((np.asarray(keys, np.uint64) >> np.uint64(shift)) & np.uint64((1 << bits) - 1)).astype(np.uint32)
        return np.asarray(keys[:, c]).astype(np.uint32)

    # -- lookups ---------------------------------------------------------------------------
    def _ranges(self, vals: np.ndarray, probes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positions into the sorted column, which probe each came from) for every match."""
        lo = np.searchsorted(vals, probes, side="left")
        hi = np.searchsorted(vals, probes, side="right")
        sizes = hi - lo
        total = int(sizes.sum())
        if not total:
            empty = np.zeros(0, np.int64)
            return empty, empty
        offsets = np.repeat(lo - np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes)
        return offsets + np.arange(total), np.repeat(np.arange(len(probes)), sizes)

    def hash_search(self, query: int, radius: int) -> tuple[np.ndarray, np.ndarray]:
        """(payload, distance) of every row within `radius` bits of `query` (one per row)."""
        if not 0 <= radius <= MAX_RADIUS:
            raise ValueError(f"radius must be 0..{MAX_RADIUS}, not {radius}")
        q = np.uint64(query)
        errors = radius // len(BLOCKS)
        found = [np.zeros(0, np.int64)]
        for c, (shift, bits) in enumerate(BLOCKS):
            value = (int(query) >> shift) & ((1 << bits) - 1)
            probes = np.sort(np.uint32(value) ^ masks(bits, errors))
            for (a, _), cols in zip(self.segments, (self._seg[s] for s in self.segments)):
                vals, order = cols[c]
                pos, _ = self._ranges(vals, probes)
                if len(pos):
                    found.append(a + np.asarray(order[pos], np.int64))
        rows = np.unique(np.concatenate(found))
        tail = np.arange(self.indexed, self.rows)
        rows = np.concatenate([rows, tail])
        if not len(rows):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        dist = np.bitwise_count(np.asarray(self.keys[rows]) ^ q).astype(np.int64)
        keep = dist <= radius
        return np.asarray(self.pay[rows[keep]], np.int64), dist[keep]

    def bucket_hits(self, q: np.ndarray, c: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(item, query row) of every stored descriptor sharing column c's bucket with a query
        row, and per query row how many stored rows share it (for the rarity weight)."""
        probes = q[:, c].astype(np.uint32)
        items, which = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        crowd = np.zeros(len(q), np.int64)
        for (a, _), cols in zip(self.segments, (self._seg[s] for s in self.segments)):
            vals, order = cols[c]
            pos, qi = self._ranges(vals, probes)
            if len(pos):
                rows = a + np.asarray(order[pos], np.int64)
                items.append(np.asarray(self.pay[rows], np.int64))
                which.append(qi)
                crowd += np.bincount(qi, minlength=len(q))
        if self.rows > self.indexed:
            tail = self.column(np.asarray(self.keys[self.indexed:self.rows]), c)
            order_t = np.argsort(tail, kind="stable")
            pos, qi = self._ranges(tail[order_t], probes)
            if len(pos):
                rows = self.indexed + order_t[pos]
                items.append(np.asarray(self.pay[rows], np.int64))
                which.append(qi)
                crowd += np.bincount(qi, minlength=len(q))
        return np.concatenate(items), np.concatenate(which), crowd

    # -- writing (under the store's lock) --------------------------------------------------
    def cut(self, items: int) -> None:
        """Truncate rows of uncommitted items and partial rows (a crash mid-append)."""
        self.open(self.segments, items)
        for path, size in ((self.keys_path, self.rows * self.row_bytes), (self.pay_path, self.rows * 4)):
            if _size(path) != size:
                with open(path, "r+b" if path.exists() else "wb") as fh:
                    fh.truncate(size)

    def append(self, keys: np.ndarray, pay: np.ndarray) -> None:
        if not len(pay):
            return
        with open(self.keys_path, "ab") as fh:
            fh.write(np.ascontiguousarray(keys, self.dtype).tobytes())
        with open(self.pay_path, "ab") as fh:
            fh.write(np.ascontiguousarray(pay, np.dtype("<u4")).tobytes())

    def build_segment(self, a: int, b: int) -> None:
        keys = np.asarray(_map(self.keys_path, self.dtype, b, self.width)[a:b])
        for c in range(self.columns):
            vals = self.column(keys, c)
            order = np.argsort(vals, kind="stable").astype(np.uint32)
            val_path, ord_path = self.seg_paths(a, b, c)
            for path, arr in ((val_path, vals[order]), (ord_path, order)):
                tmp = path.with_name(path.name + ".tmp")
                arr.astype("<u4").tofile(tmp)
                os.replace(tmp, path)

    def plan(self) -> list[tuple[int, int]]:
        """The segments after folding a full tail in (the same list when the tail is not full)."""
        segs = list(self.segments)
        if self.rows - self.indexed < TAIL:
            return segs
        segs.append((self.indexed, self.rows))
        while len(segs) >= 2:
            (a0, b0), (a1, b1) = segs[-2], segs[-1]
            if b0 - a0 > FACTOR * (b1 - a1) or b1 - a0 > MAX_MERGE:
                break
            segs[-2:] = [(a0, b1)]
        return segs


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


@dataclass
class Entry:
    """What an item puts in the store: its key, catalog row, and the table rows it adds."""

    key: bytes  # 32 bytes (a sha256)
    row: int
    whole: int | None = None  # image: the whole-picture hash
    views: np.ndarray | None = None  # image: the other 8 view hashes, VIEW_NAMES[1:] order
    frames: np.ndarray | None = None  # video: frame hashes
    buckets: np.ndarray | None = None  # image: n x 8 descriptor buckets


class Store:
    """HOME/dedupe/: see the module docstring. One writer at a time (a file lock); readers need none."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.tables = {s.name: Table(folder, s) for s in SPECS}
        self.items = _map(self.items_path, ITEM, 0)
        self.count = 0
        self._header_stamp: tuple[int, int] | None = None
        self._segments: dict[str, list[tuple[int, int]]] = {s.name: [] for s in SPECS}
        self.refresh()

    @property
    def items_path(self) -> Path:
        return self.folder / "items.bin"

    @property
    def header_path(self) -> Path:
        return self.folder / "store.json"

    def __len__(self) -> int:
        return self.count

    def refresh(self) -> None:
        """See what other processes appended since (cheap: a stat and a few maps)."""
        try:
            st = self.header_path.stat()
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp != self._header_stamp:
            self._segments = self._read_header()
            self._header_stamp = stamp
        count = _size(self.items_path) // ITEM.itemsize
        self.items = _map(self.items_path, ITEM, count)
        self.count = count
        for name, table in self.tables.items():
            table.open(self._segments.get(name, []), count)

    def _read_header(self) -> dict[str, list[tuple[int, int]]]:
        if not self.header_path.exists():
            return {s.name: [] for s in SPECS}
        try:
            data = json.loads(self.header_path.read_text())
        except (OSError, ValueError) as exc:
            raise StoreError(f"{self.header_path}: unreadable ({exc})") from None
        if data.get("format") != FORMAT:
            raise StoreError(f"{self.header_path}: format {data.get('format')!r}, not {FORMAT}")
        return {name: [(int(a), int(b)) for a, b in segs] for name, segs in data.get("segments", {}).items()}

    def _write_header(self, segments: dict[str, list[tuple[int, int]]]) -> None:
        tmp = self.header_path.with_name("store.json.tmp")
        with open(tmp, "w") as fh:
            json.dump({"format": FORMAT, "segments": segments}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.header_path)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """The writers' lock (appends and compaction); the torn tail of a crashed writer is cut
        on entry."""
        with open(self.folder / "lock", "a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                self.refresh()
                self._cut()
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def _cut(self) -> None:
        whole = self.count * ITEM.itemsize
        if _size(self.items_path) != whole:
            with open(self.items_path, "r+b") as fh:
                fh.truncate(whole)
        for table in self.tables.values():
            table.cut(self.count)

    # -- items -----------------------------------------------------------------------------
    def key(self, item: int) -> bytes:
        return bytes(np.asarray(self.items[item]["key"]))

    def catalog_row(self, item: int) -> int:
        return int(self.items[item]["row"])

    @property
    def last_row(self) -> int:
        """The catalog row of the newest item (0 when empty): where catching up starts."""
        return self.catalog_row(self.count - 1) if self.count else 0

    def item_of_row(self, row: int) -> int | None:
        lo, hi = 0, self.count
        while lo < hi:  # rows are in catalog order: a binary search over the mapped records
            mid = (lo + hi) // 2
            if self.catalog_row(mid) < row:
                lo = mid + 1
            else:
                hi = mid
        return lo if lo < self.count and self.catalog_row(lo) == row else None

    def append(self, entries: list[Entry]) -> None:
        """Add items (call inside `locked()`): table rows first, the item records last."""
        n = self.count
        if entries and n and entries[0].row <= self.last_row:
            raise StoreError(f"catalog row {entries[0].row} is not after the store's last ({self.last_row})")
        rows: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {s.name: ([], []) for s in SPECS}
        for i, e in enumerate(entries, n):
            if e.whole is not None:
                rows["whole"][0].append(np.array([e.whole], np.uint64))
                rows["whole"][1].append(np.array([i], np.uint32))
            if e.views is not None and len(e.views):
                rows["views"][0].append(np.asarray(e.views, np.uint64))
                rows["views"][1].append((np.uint32(i) << np.uint32(3)) + np.arange(len(e.views), dtype=np.uint32))
            if e.frames is not None and len(e.frames):
                rows["frames"][0].append(np.asarray(e.frames, np.uint64))
                rows["frames"][1].append(np.full(len(e.frames), i, np.uint32))
            if e.buckets is not None and len(e.buckets):
                rows["desc"][0].append(np.asarray(e.buckets, np.int32).reshape(-1, DESC_COLUMNS))
                rows["desc"][1].append(np.full(len(e.buckets), i, np.uint32))
        for name, (keys, pay) in rows.items():
            if keys:
                self.tables[name].append(np.concatenate(keys), np.concatenate(pay))
        records = np.zeros(len(entries), ITEM)
        for j, e in enumerate(entries):
            if len(e.key) != 32:
                raise ValueError("a store key is 32 bytes")
            records[j]["key"] = np.frombuffer(e.key, np.uint8)
            records[j]["row"] = e.row
        with open(self.items_path, "ab") as fh:
            fh.write(records.tobytes())  # the commit
            fh.flush()
        self.refresh()

    def append_images(self, keys: np.ndarray, rows: np.ndarray, phash: np.ndarray) -> None:
        """Bulk append of images with view hashes only (n x 9, VIEW_NAMES order), vectorised:
        for loading many signatures at once (the benchmark; a catch-up of millions)."""
        n0, n = self.count, len(rows)
        if n and n0 and int(rows[0]) <= self.last_row:
            raise StoreError(f"catalog row {int(rows[0])} is not after the store's last ({self.last_row})")
        items = np.arange(n0, n0 + n, dtype=np.uint32)
        self.tables["whole"].append(phash[:, 0], items)
        views = phash[:, 1:]
        self.tables["views"].append(views.reshape(-1), ((items[:, None] << np.uint32(3))
                                                        + np.arange(views.shape[1], dtype=np.uint32)).reshape(-1))
        records = np.zeros(n, ITEM)
        records["key"] = keys
        records["row"] = rows
        with open(self.items_path, "ab") as fh:
            fh.write(records.tobytes())
        self.refresh()

    def compact(self) -> bool:
        """Fold full tails into segments (call inside `locked()`); True if anything changed."""
        changed = False
        segments = {name: list(t.segments) for name, t in self.tables.items()}
        old: list[Path] = []
        for name, table in self.tables.items():
            new = table.plan()
            if new == table.segments:
                continue
            for a, b in new:
                if (a, b) not in table.segments:
                    table.build_segment(a, b)
            old += [p for a, b in table.segments if (a, b) not in new
                    for c in range(table.columns) for p in table.seg_paths(a, b, c)]
            segments[name] = new
            changed = True
        if changed:
            self._write_header(segments)
            self._header_stamp = None
            self.refresh()
            for path in old:
                try:
                    path.unlink()
                except OSError as exc:
                    if exc.errno != errno.ENOENT:
                        raise
        return changed

    def build_all(self) -> None:
        """One segment per table over every row (a bulk load; call inside `locked()`)."""
        segments = {}
        for name, table in self.tables.items():
            segments[name] = [(0, table.rows)] if table.rows else []
            if table.rows:
                table.build_segment(0, table.rows)
        old = [p for name, table in self.tables.items() for a, b in table.segments if (a, b) != (0, table.rows)
               for c in range(table.columns) for p in table.seg_paths(a, b, c)]
        self._write_header(segments)
        self._header_stamp = None
        self.refresh()
        for path in old:
            path.unlink(missing_ok=True)

    def disk_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.folder.iterdir() if p.is_file())
