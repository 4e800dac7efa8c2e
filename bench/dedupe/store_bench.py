"""bench/dedupe/store_bench: the on-disk near-duplicate index (dedupe/store.py) at 10 million items,
side by side with faiss's binary hash indexes and the in-memory multi-index hashing.

    python -m bench.dedupe.store_bench [--items 10000000] [--queries 1000] [--no-faiss]
    python -m bench.dedupe.store_bench --end-to-end [--items 10000000] [--desc-items 200000]

Each item is an image's 9 view hashes (random 64-bit values: the worst case for bucket crowding is
uniform anyway); every query is a planted near neighbour of a stored whole-picture hash (0-10 bits
flipped), and the answer is checked against a brute-force scan. The store is made once in
build/bench-dedupe/store-N/ and reused; "cold" means the store's pages were dropped from the page
cache (posix_fadvise DONTNEED) before a fresh process opened it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench.common import ROOT

OUT = ROOT / "build" / "bench-dedupe"
CHUNK = 1_000_000


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def hashes(n: int, seed: int = 1) -> np.ndarray:
    """n x 9 view hashes, the same for a given n on every run."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2**64 - 1, (n, 9), dtype=np.uint64, endpoint=True)


def make_store(n: int) -> Path:
    from tawthiq.dedupe.store import Store

    folder = OUT / f"store-{n}"
    if (folder / "done").exists():
        return folder
    if folder.exists():
        for p in folder.iterdir():
            p.unlink()
    store = Store(folder)
    start = time.perf_counter()
    with store.locked():
        for a in range(0, n, CHUNK):
            b = min(n, a + CHUNK)
            keys = np.zeros((b - a, 32), np.uint8)
            keys[:, :8] = np.arange(a, b, dtype=">u8").view(np.uint8).reshape(-1, 8)
            store.append_images(keys, np.arange(a + 1, b + 1, dtype=np.int64), hashes(n)[a:b] if n <= CHUNK
                                else _chunk(n, a, b))
        appended = time.perf_counter() - start
        store.build_all()
    built = time.perf_counter() - start
    (folder / "done").write_text(json.dumps({"append_s": round(appended, 1), "build_s": round(built, 1)}))
    return folder


_cache: dict[int, np.ndarray] = {}


def _chunk(n: int, a: int, b: int) -> np.ndarray:
    """Rows a..b of hashes(n) without holding all n x 9 at once: made per chunk from its own seed."""
    return np.random.default_rng([n, a]).integers(0, 2**64 - 1, (b - a, 9), dtype=np.uint64, endpoint=True)


def all_wholes(n: int) -> np.ndarray:
    if n <= CHUNK:
        return hashes(n)[:, 0].copy()
    return np.concatenate([_chunk(n, a, min(n, a + CHUNK))[:, 0] for a in range(0, n, CHUNK)])


def drop_cache(folder: Path) -> None:
    for p in folder.iterdir():
        fd = os.open(p, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def queries(wholes: np.ndarray, count: int, radius: int = 10) -> tuple[list[int], np.ndarray]:
    rng = np.random.default_rng(7)
    picks = rng.integers(0, len(wholes), count)
    qs = []
    for p in picks:
        flips = rng.choice(64, int(rng.integers(0, radius + 1)), replace=False)
        qs.append(int(wholes[p]) ^ int(sum(1 << int(b) for b in flips)))
    return qs, picks


def pct(v: list[float], p: float) -> float:
    return round(sorted(v)[max(0, int(len(v) * p) - 1)], 3)


def child_open(folder: str, n: int, count: int) -> None:
    """Run in a fresh process: open time, query times, memory (printed as JSON)."""
    base = rss_mb()
    t0 = time.perf_counter()
    from tawthiq.dedupe.store import Store

    store = Store(Path(folder))
    opened = time.perf_counter() - t0
    after_open = rss_mb()
    wholes = store.tables["whole"].keys
    rng = np.random.default_rng(7)
    picks = rng.integers(0, n, count)
    qs = []
    for p in picks:
        flips = rng.choice(64, int(rng.integers(0, 11)), replace=False)
        qs.append(int(wholes[p]) ^ int(sum(1 << int(b) for b in flips)))
    first = None
    times, image_times = [], []
    table, views = store.tables["whole"], store.tables["views"]
    for i, (q, p) in enumerate(zip(qs, picks)):
        t = time.perf_counter()
        found, _ = table.hash_search(q, 10)
        times.append((time.perf_counter() - t) * 1000)
        if first is None:
            first = times[0]
        assert p in found, (p, found)
    cold_rss = rss_mb()
    # an image's full look-up: its 9 views against the whole hashes, its whole against the 8 views
    for i in range(min(200, count)):
        t = time.perf_counter()
        for v in range(9):
            table.hash_search(qs[i] ^ (v * 0x9E3779B97F4A7C15 & (2**64 - 1)) if v else qs[i], 10)
        views.hash_search(qs[i], 10)
        image_times.append((time.perf_counter() - t) * 1000)
    print(json.dumps({
        "open_ms": round(opened * 1000, 2), "first_query_ms": round(first or 0, 2),
        "p50_ms": round(statistics.median(times[1:]), 3), "p95_ms": pct(times[1:], 0.95),
        "image_p50_ms": round(statistics.median(image_times), 2), "image_p95_ms": pct(image_times, 0.95),
        "rss_base_mb": round(base, 1), "rss_after_open_mb": round(after_open, 1),
        "rss_after_queries_mb": round(cold_rss, 1), "rss_end_mb": round(rss_mb(), 1)}))


def own_memory(wholes: np.ndarray, qs: list[int], picks: np.ndarray) -> dict[str, float]:
    from tawthiq.dedupe.hamming import HammingIndex

    before = rss_mb()
    t = time.perf_counter()
    index = HammingIndex()
    index.extend(wholes, np.arange(len(wholes)))
    build = time.perf_counter() - t
    times = []
    for q, p in zip(qs, picks):
        t = time.perf_counter()
        found, _ = index.search(q, 10)
        times.append((time.perf_counter() - t) * 1000)
        assert p in found
    out = {"build_s": round(build, 2), "p50_ms": round(statistics.median(times), 3), "p95_ms": pct(times, 0.95),
           "rss_mb": round(rss_mb() - before, 1)}
    del index
    return out


def faiss_side(wholes: np.ndarray, qs: list[int], picks: np.ndarray) -> dict[str, dict[str, float]]:
    import faiss

    codes = wholes.astype("<u8").view(np.uint8).reshape(-1, 8)
    qcodes = np.array(qs, dtype=np.uint64).astype("<u8").view(np.uint8).reshape(-1, 8)
    faiss.omp_set_num_threads(1)  # one query at a time, as a capture asks
    out: dict[str, dict[str, float]] = {}
    # exact at radius 10 needs every bucket within 10 // nhash bits probed: nflip = 3 for three
    # 21-bit hashes (the same pigeonhole as ours); one 16-bit hash needs nflip = 10 (~58,000 probes)
    for name, make, asked in (("IndexBinaryMultiHash(nhash=3, b=21, nflip=3)", lambda: faiss.IndexBinaryMultiHash(64, 3, 21), len(picks)),
                              ("IndexBinaryHash(b=16, nflip=10)", lambda: faiss.IndexBinaryHash(64, 16), 20)):
        before = rss_mb()
        t = time.perf_counter()
        index = make()
        index.nflip = 3 if isinstance(index, faiss.IndexBinaryMultiHash) else 10
        index.add(codes)
        build = time.perf_counter() - t
        times, missed = [], 0
        for i, p in enumerate(picks[:asked]):
            t = time.perf_counter()
            lims, _, ids = index.range_search(qcodes[i:i + 1], 11)  # faiss: distances < radius
            times.append((time.perf_counter() - t) * 1000)
            missed += int(p not in set(ids[lims[0]:lims[1]].tolist()))
        out[name] = {"build_s": round(build, 2), "p50_ms": round(statistics.median(times), 3),
                     "p95_ms": pct(times, 0.95), "rss_mb": round(rss_mb() - before, 1),
                     "missed": missed, "queries": asked}
        del index
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=10_000_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--no-faiss", action="store_true")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--end-to-end", action="store_true",
                    help="a capture's first image against --items from a cold start (bench/dedupe/end_to_end.py)")
    ap.add_argument("--desc-items", type=int, default=200_000, help="with --end-to-end: images with descriptors")
    ap.add_argument("--e2e-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.e2e_child:
        from bench.dedupe.end_to_end import child

        child(args.e2e_child)
        return
    if args.end_to_end:
        from bench.dedupe.end_to_end import run

        print(json.dumps(run(args.items, min(args.desc_items, args.items))))
        return
    if args.child:
        child_open(args.child, args.items, args.queries)
        return
    folder = make_store(args.items)
    made = json.loads((folder / "done").read_text())
    from tawthiq.dedupe.store import Store

    disk = Store(folder).disk_bytes()
    drop_cache(folder)
    run = subprocess.run([sys.executable, "-m", "bench.dedupe.store_bench", "--items", str(args.items),
                          "--queries", str(args.queries), "--child", str(folder)],
                         capture_output=True, text=True, cwd=ROOT, check=True)
    cold = json.loads(run.stdout.strip().splitlines()[-1])
    run = subprocess.run([sys.executable, "-m", "bench.dedupe.store_bench", "--items", str(args.items),
                          "--queries", str(args.queries), "--child", str(folder)],
                         capture_output=True, text=True, cwd=ROOT, check=True)
    warm = json.loads(run.stdout.strip().splitlines()[-1])
    figures: dict[str, object] = {"items": args.items, "store_made": made, "disk_mb": round(disk / 2**20, 1),
                                  "disk_bytes_per_item": round(disk / args.items, 1), "cold": cold, "warm": warm}
    print(json.dumps(figures), flush=True)
    wholes = all_wholes(args.items)
    qs, picks = queries(wholes, args.queries)
    figures["in_memory_mih_4x16"] = own_memory(wholes, qs, picks)
    print(json.dumps(figures), flush=True)
    if not args.no_faiss:
        try:
            figures["faiss"] = faiss_side(wholes, qs, picks)
        except ImportError:
            figures["faiss"] = "not installed"
    figures["peak_rss_mb"] = round(peak_mb(), 1)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
