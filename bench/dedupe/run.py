"""bench/dedupe: (1) images hashed per second on camera-size JPEGs, side by side with the naive
`imagehash.phash(Image.open(path))`; (2) Hamming-radius query latency at 1 million signatures,
multi-index hashing against brute force; (3) the precision/recall table per kind of edit;
(4) precision/recall on template death notices, without and with the text check (issue 16).

    python -m bench.dedupe.run [--images 1000] [--size 4032x3024] [--signatures 1000000] [--skip-quality]

The JPEGs are made once from the photographs scikit-image ships (upscaled, each cropped, turned
and tinted differently, with sensor-like noise so they compress like camera files) and kept in
build/bench-dedupe/ for later runs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from bench.common import ROOT

OUT = ROOT / "build" / "bench-dedupe"


def _make_one(job: tuple[int, int, int, str]) -> None:
    from PIL import Image, ImageEnhance

    from bench.dedupe import corpus

    i, w, h, path = job
    if Path(path).exists():
        return
    photos = sorted(corpus.originals().items())
    rng = random.Random(i)
    _, base = photos[i % len(photos)]
    l, t = rng.uniform(0, 0.15), rng.uniform(0, 0.15)
    box = (int(l * base.width), int(t * base.height), int((l + 0.85) * base.width), int((t + 0.85) * base.height))
    img = base.crop(box).rotate(rng.uniform(-4, 4), resample=Image.Resampling.BILINEAR).resize((w, h), Image.Resampling.BICUBIC)
    img = ImageEnhance.Color(img).enhance(rng.uniform(0.6, 1.4))
    arr = np.asarray(img).astype(np.int16)
    noise = np.random.default_rng(i).normal(0, 5, (h // 4, w // 4, 1))
    arr = np.clip(arr + np.repeat(np.repeat(noise, 4, axis=0), 4, axis=1).astype(np.int16), 0, 255).astype(np.uint8)
    tmp = path + ".part"
    Image.fromarray(arr).save(tmp, "JPEG", quality=90)
    os.replace(tmp, path)


def make_jpegs(count: int, size: tuple[int, int]) -> list[Path]:
    folder = OUT / f"jpeg-{size[0]}x{size[1]}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{i:05d}.jpg" for i in range(count)]
    todo = [(i, size[0], size[1], str(p)) for i, p in enumerate(paths) if not p.exists()]
    if todo:
        print(f"making {len(todo)} JPEGs of {size[0]}x{size[1]} in {folder} (once)", file=sys.stderr)
        with ProcessPoolExecutor() as pool:
            list(pool.map(_make_one, todo, chunksize=4))
    return paths


def _naive(path: Path) -> int:
    import imagehash
    from PIL import Image

    return int(str(imagehash.phash(Image.open(path))), 16)


def _ours_hash(path: Path) -> int:
    from tawthiq.dedupe.signature import hash_only

    return hash_only(path)


def _ours_full(path: Path) -> int:
    from tawthiq.dedupe.signature import analyse_image

    return len(analyse_image(path).signature.descriptors)


def _rate(fn, paths: list[Path], workers: int = 1) -> float:  # type: ignore[no-untyped-def]
    fn(paths[0])  # warm up imports
    start = time.perf_counter()
    if workers == 1:
        for p in paths:
            fn(p)
    else:
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(fn, paths, chunksize=8))
    return len(paths) / (time.perf_counter() - start)


def hashing(count: int, size: tuple[int, int]) -> dict[str, float]:
    paths = make_jpegs(count, size)
    mb = sum(p.stat().st_size for p in paths) / len(paths) / 1e6
    cores = os.cpu_count() or 1
    out = {"images": count, "width": size[0], "height": size[1], "mean_mb": round(mb, 2), "cores": cores}
    out["naive_per_s"] = round(_rate(_naive, paths), 1)
    out["phash_per_s"] = round(_rate(_ours_hash, paths), 1)
    out["signature_per_s"] = round(_rate(_ours_full, paths), 1)
    out["signature_all_cores_per_s"] = round(_rate(_ours_full, paths, cores), 1) if cores > 1 else out["signature_per_s"]
    out["phash_speedup"] = round(out["phash_per_s"] / out["naive_per_s"], 2)
    out["signature_speedup"] = round(out["signature_per_s"] / out["naive_per_s"], 2)
    return out


def radius_queries(n: int, queries: int = 500, radius: int = 10) -> dict[str, float]:
    """Random 64-bit signatures, each query a planted copy with 0-10 bits flipped."""
    from tawthiq.dedupe.hamming import HammingIndex

    rng = np.random.default_rng(1)
    keys = rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64) * np.uint64(2) + \
        rng.integers(0, 2, n).astype(np.uint64)
    index = HammingIndex()
    start = time.perf_counter()
    index.extend(keys, np.arange(n))
    build = time.perf_counter() - start
    picks = rng.integers(0, n, queries)
    qs = []
    for p in picks:
        flips = rng.choice(64, int(rng.integers(0, radius + 1)), replace=False)
        qs.append(int(keys[p]) ^ int(sum(1 << int(b) for b in flips)))
    mih, brute = [], []
    for q, p in zip(qs, picks):
        t = time.perf_counter()
        found, _ = index.search(q, radius)
        mih.append((time.perf_counter() - t) * 1000)
        assert p in found
    for q in qs[:100]:
        t = time.perf_counter()
        index.brute_force(q, radius)
        brute.append((time.perf_counter() - t) * 1000)

    def p95(v: list[float]) -> float:
        return sorted(v)[int(len(v) * 0.95) - 1]
    return {"signatures": n, "radius": radius, "build_s": round(build, 2),
            "mih_p50_ms": round(statistics.median(mih), 3), "mih_p95_ms": round(p95(mih), 3),
            "brute_p50_ms": round(statistics.median(brute), 3), "brute_p95_ms": round(p95(brute), 3)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--size", default="4032x3024")
    ap.add_argument("--signatures", type=int, default=1_000_000)
    ap.add_argument("--skip-quality", action="store_true")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    figures: dict[str, object] = {}

    speed = hashing(args.images, (w, h))
    figures["hashing"] = speed
    print(f"\n(1) hashing {speed['images']} JPEGs of {w}x{h} ({speed['mean_mb']} MB each), one core:")
    print(f"    naive imagehash.phash(Image.open(path))   {speed['naive_per_s']:8.1f} images/s   (baseline)")
    print(f"    tawthiq pHash (draft decode)               {speed['phash_per_s']:8.1f} images/s   {speed['phash_speedup']}x")
    print(f"    tawthiq full signature (9 views + ORB)     {speed['signature_per_s']:8.1f} images/s   {speed['signature_speedup']}x")
    print(f"    tawthiq full signature, {speed['cores']} cores          {speed['signature_all_cores_per_s']:8.1f} images/s")

    q = radius_queries(args.signatures)
    figures["radius"] = q
    print(f"\n(2) radius-{q['radius']} queries over {q['signatures']:,} signatures (index built in {q['build_s']} s):")
    print(f"    multi-index hashing   p50 {q['mih_p50_ms']:.3f} ms   p95 {q['mih_p95_ms']:.3f} ms")
    print(f"    brute force (numpy)   p50 {q['brute_p50_ms']:.3f} ms   p95 {q['brute_p95_ms']:.3f} ms   (baseline)")

    if not args.skip_quality:
        from bench.dedupe.quality import measure

        result = measure()
        figures["quality"] = {"table": result.table(), "precision": result.precision,
                              "true_pairs": result.true_pairs, "false_pairs": len(result.false_pairs)}
        print(f"\n(3) recall per edit (precision {result.precision:.5f} over all pairs: {result.true_pairs} true, "
              f"{len(result.false_pairs)} false):")
        for row in result.table():
            mark = "ok" if row["recall"] >= row["target"] else "BELOW TARGET"
            print(f"    {row['tier']:9s} {row['edit']:22s} {row['found']:3d}/{row['total']:<3d} {row['recall']:.3f}"
                  f"  (target {row['target']})  {mark}")

        from bench.dedupe import notices

        print("\n(4) template death notices (issue 16): 50 notices, one copy each (JPEG q30, half, crop,"
              " watermark, screenshot in turn); targets precision >= 0.9995, recall >= 0.98:")
        rows = []
        for check in (False, True):
            nq = notices.measure(50, 1, text_check=check)
            rows.append({"text_check": check, **nq.row()})
            print(f"    text check {'on ' if check else 'off'}  precision {nq.precision:.5f} over all pairs "
                  f"({nq.true_pairs} true, {len(nq.false_pairs)} false)  recall {nq.recall:.3f} "
                  f"({nq.recall_found}/{nq.recall_total})  OCR runs {nq.ocr_runs}  {nq.seconds:.0f} s")
        figures["notices"] = rows
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
