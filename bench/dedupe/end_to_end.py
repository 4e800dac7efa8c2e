"""bench/dedupe end-to-end: a capture run's first image matched against a large store from a cold
start (`python -m bench.dedupe.store_bench --end-to-end [--items N] [--desc-items D]`).

The store holds N images' view hashes (random, as in store_bench) and, for D of them, descriptor
buckets (random, 192 descriptors an image, as many as a real photo keeps), plus one real
generated photo whose repost is the query. The descriptor table is what limits the size: at
~7 KB an image on disk it would be ~70 GB at 10 million, more than this machine's disk allows,
so D is smaller and the README states the extrapolation.

The measured child is a fresh Python process, started after the store's pages were dropped from
the page cache (posix_fadvise DONTNEED on every file): it imports tawthiq's matcher, opens the
store, signs the query image, and matches it (hash views, descriptor shortlist, verification on
the planted photo's pixels). Candidates other than the planted photo are unknown to the bench's
"catalog" (fetch returns None), so catalog look-ups of shortlisted strangers (at most 24) are not
counted: a PostgreSQL primary-key read is about 1 ms each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench.common import ROOT

OUT = ROOT / "build" / "bench-dedupe"
CHUNK = 1_000_000
DESCRIPTORS = 192


def make(n: int, d: int) -> Path:
    from bench.dedupe.store_bench import _chunk, hashes
    from tawthiq.dedupe.signature import analyse_image
    from tawthiq.dedupe.store import Entry, Store
    from tawthiq.dedupe.stored import entry_for
    from tawthiq.demo.images import photo

    folder = OUT / f"e2e-{n}-{d}"
    if (folder / "done").exists():
        return folder
    if folder.exists():
        for p in folder.iterdir():
            p.unlink()
    store = Store(folder)
    start = time.perf_counter()
    rng = np.random.default_rng(5)
    with store.locked():
        views = n - d
        for a in range(0, views, CHUNK):  # view hashes only
            b = min(views, a + CHUNK)
            keys = np.zeros((b - a, 32), np.uint8)
            keys[:, :8] = np.arange(a, b, dtype=">u8").view(np.uint8).reshape(-1, 8)
            store.append_images(keys, np.arange(a + 1, b + 1, dtype=np.int64),
                                hashes(n)[a:b] if n <= CHUNK else _chunk(n, a, b))
        for a in range(views, n, 5000):  # view hashes and descriptor buckets
            entries = [Entry(np.arange(i, i + 1, dtype=">u8").tobytes().ljust(32, b"\0"), i + 1,
                             whole=int(rng.integers(0, 2**63)), views=rng.integers(0, 2**63, 8).astype(np.uint64),
                             buckets=rng.integers(0, 1 << 24, (DESCRIPTORS, 8)).astype(np.int32))
                       for i in range(a, min(n, a + 5000))]
            store.append(entries)
        picture = photo("e2e-planted.jpg", size=(800, 600))
        (folder / "planted.jpg").write_bytes(picture)
        sig = analyse_image(picture).signature
        store.append([entry_for("ab" * 32, n + 1, sig)])
        (folder / "planted.json").write_text(json.dumps(sig.as_dict()))
        store.build_all()
    (folder / "done").write_text(json.dumps({"build_s": round(time.perf_counter() - start, 1)}))
    return folder


def child(folder: str) -> None:
    """In a fresh process: everything a capture's first image costs, timed by phase."""
    t0 = time.perf_counter()
    from tawthiq.dedupe.images import reduce
    from tawthiq.dedupe.matcher import Item, Matcher
    from tawthiq.dedupe.signature import ImageSignature, analyse_image
    from tawthiq.dedupe.store import Store
    from tawthiq.dedupe.stored import StoredItems
    from tawthiq.demo.images import repost

    t_import = time.perf_counter()
    path = Path(folder)
    store = Store(path)
    t_open = time.perf_counter()
    planted = (path / "planted.jpg").read_bytes()
    sig = ImageSignature.from_dict(json.loads((path / "planted.json").read_text()))
    query_bytes = repost(planted, "@e2e")
    t_query = time.perf_counter()  # the query's bytes are the capture's; not counted below
    query = analyse_image(query_bytes)
    t_signed = time.perf_counter()

    def fetch(key: str) -> Item | None:
        return Item(key, "image", sig, key, 0) if key == "ab" * 32 else None

    hash_only = os.environ.get("E2E_HASH_ONLY") == "1"  # the hash half alone (descriptors not consulted)
    matcher = Matcher(lambda item: reduce(planted).gray, stored=StoredItems(store, fetch), use_local=not hash_only)
    found = matcher.decide("cd" * 32, query)
    t_end = time.perf_counter()
    print(json.dumps({
        "matched_planted": found.matched == "ab" * 32, "hash_only": hash_only, "method": found.method,
        "imports_ms": round((t_import - t0) * 1000), "open_ms": round((t_open - t_import) * 1000, 1),
        "sign_ms": round((t_signed - t_query) * 1000), "match_ms": round((t_end - t_signed) * 1000),
        "total_ms": round((t_end - t0 - (t_query - t_open)) * 1000),
        "items": len(store), "descriptor_rows": store.tables["desc"].rows}))


def run(n: int, d: int) -> dict[str, object]:
    from bench.dedupe.store_bench import drop_cache
    from tawthiq.dedupe.store import Store

    folder = make(n, d)
    disk = Store(folder).disk_bytes()
    out: dict[str, object] = {"items": n, "desc_items": d, "made": json.loads((folder / "done").read_text()),
                              "disk_mb": round(disk / 2**20, 1)}
    try:  # the whole page cache, where allowed (root); else only the store's files
        with open("/proc/sys/vm/drop_caches", "w") as fh:
            fh.write("1\n")
        out["cache"] = "dropped (drop_caches)"
    except OSError:
        drop_cache(folder)
        out["cache"] = "store files dropped (posix_fadvise)"
    for label, hash_only in (("cold", "0"), ("warm", "0"), ("cold_hash_only", "1")):
        if label == "cold_hash_only":
            drop_cache(folder)
        done = subprocess.run([sys.executable, "-m", "bench.dedupe.store_bench", "--e2e-child", str(folder)],
                              capture_output=True, text=True, cwd=ROOT, check=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT), "E2E_HASH_ONLY": hash_only})
        out[label] = json.loads(done.stdout.strip().splitlines()[-1])
    return out
