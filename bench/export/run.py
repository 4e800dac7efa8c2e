"""bench/export: MB/s of `tawthiq export` for a ~1 GB selection, against a plain copy of the same bytes.

Builds a data directory of posts, each carried by a page with a 1 MB photo (random bytes, as
incompressible as a JPEG), through the real archiver and catalog; then times, in alternating
rounds, copying the source WARC files (the limit: the same bytes read and written once) and
exporting every post as a WACZ. Run with `make bench-export`.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, clean_env


def build(home: Path, megabytes: int) -> int:
    from tawthiq.archivers.archiver import Archiver
    from tawthiq.archivers.exchange import Exchange
    from tawthiq.archivers.revisits import DigestIndex
    from tawthiq.archivers.writer import WarcWriter
    from tawthiq.crawlers.models import Media, Post, WarcLocation
    from tawthiq.catalog import Catalog

    catalog = Catalog(f"sqlite:///{home / 'catalog.sqlite'}")
    run_id = catalog.start_run(["bench"], "bench")
    archiver = Archiver(WarcWriter(home / "warcs", max_size=256 << 20), DigestIndex(), [catalog])
    rng = random.Random(1)
    for n in range(megabytes):
        body = rng.randbytes(1 << 20)
        photo = f"http://127.0.0.1/photo/{n}.jpg"
        archiver.exchange(Exchange(uri=photo, raw_request=f"GET /photo/{n}.jpg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode(),
                                   raw_response=b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
                                   % len(body) + body, ip="127.0.0.1"))
        page = archiver.exchange(Exchange(
            uri=f"http://127.0.0.1/post/{n}", raw_request=f"GET /post/{n} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode(),
            raw_response=f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<p>post {n}</p>".encode(), ip="127.0.0.1"))
        post = Post(platform="bench", source="bench", post_id=f"bench/{n}", url=f"http://127.0.0.1/post/{n}",
                    text=f"post {n}", media=[Media(kind="photo", url=photo)],
                    warc=WarcLocation(file=page.response.filename, offset=page.response.offset,
                                      length=page.response.length, record_id=page.response.pending.record_id))
        archiver.metadata(post.url, post.archive_document(), kind="post", refers_to=post.warc.record_id)
    archiver.close()
    catalog.finish_run(run_id, "finished", {}, 0)
    catalog.close()
    return sum(p.stat().st_size for p in (home / "warcs").glob("*.warc.gz"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tawthiq-bench-export-") as tmp:
        work = Path(tmp)
        home = work / "data"
        (home / "warcs").mkdir(parents=True)
        print(f"building a {args.megabytes} MB archive ...", flush=True)
        total = build(home, args.megabytes)
        rates: dict[str, list[float]] = {"plain copy of the WARC files": [], "tawthiq export (WACZ)": []}
        for r in range(args.rounds):
            for name in (list(rates) if r % 2 == 0 else list(reversed(rates))):
                target = work / "out"
                shutil.rmtree(target, ignore_errors=True)
                target.mkdir()
                start = time.monotonic()
                if name.startswith("plain"):
                    for path in sorted((home / "warcs").glob("*.warc.gz")):
                        shutil.copyfile(path, target / path.name)
                    os.sync()
                    size = total
                else:
                    result = subprocess.run([sys.executable, "-m", "tawthiq.cli", "export", "--collection", "bench",
                                             "-o", str(target / "all.wacz"), "--data-dir", str(home)],
                                            cwd=ROOT, env=clean_env(), capture_output=True, text=True)
                    if result.returncode != 0:
                        raise SystemExit(f"export failed: {result.stderr}")
                    size = (target / "all.wacz").stat().st_size
                seconds = time.monotonic() - start
                rates[name].append(size / 1e6 / seconds)
                print(f"round {r + 1} {name:30s} {size / 1e6:8.1f} MB {seconds:6.2f} s {rates[name][-1]:7.1f} MB/s",
                      flush=True)
    med = {name: statistics.median(v) for name, v in rates.items()}
    print()
    for name, value in med.items():
        print(f"{name:32s}{value:8.1f} MB/s (median)")
    print(f"export / copy: {med['tawthiq export (WACZ)'] / med['plain copy of the WARC files']:.2f}x")


if __name__ == "__main__":
    main()
