"""Text near-duplicates (issue 16): what a text signature costs per post at capture, and what
building the in-memory index from the catalog costs at the first post of a run.

    python -m bench.textdup.run [--posts 100000]

The catalog is a real SQLite catalog in a temporary folder, filled with synthetic posts (report
sentences drawn from a fixed vocabulary, a fifth of them copies with one word changed) and their
`text_duplicates` rows; the load is `TextDuplicates.index()` as a capture runs it.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from tawthiq.catalog import Catalog
from tawthiq.catalog import schema as t
from tawthiq.dedupe.text import TextIndex, signature
from tawthiq.settings import load_settings
from tawthiq.text_duplicates import TextDuplicates

VOCAB = ("قصف مدفعي يستهدف الأحياء السكنية في بلدة المثال منذ ساعات الفجر وأنباء عن إصابات خروج مستشفى "
         "الميداني عن الخدمة بعد استهدافه بغارتين ونقل المرضى إلى قرية النموذج فرق الدفاع المدني تنتشل "
         "مدنيين من تحت الأنقاض في الحي الغربي انقطاع الكهرباء والمياه لليوم الثالث على التوالي shelling "
         "reported on residential streets since dawn civil defence teams deployed field hospital hit twice "
         "this morning out of service").split()


def texts(n: int, seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    out: list[str] = []
    for i in range(n):
        if out and rnd.random() < 0.2:
            words = rnd.choice(out).split()
            words[rnd.randrange(len(words))] = rnd.choice(VOCAB)
        else:
            words = [rnd.choice(VOCAB) for _ in range(rnd.randint(12, 40))]
        out.append(" ".join(words))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=100_000)
    args = parser.parse_args()
    corpus = texts(args.posts)

    started = time.perf_counter()
    sigs = [signature(x) for x in corpus]
    sign_s = time.perf_counter() - started

    index = TextIndex()
    started = time.perf_counter()
    assigned = [index.assign(f"bench:{i}", s) for i, s in enumerate(sigs) if s is not None]
    assign_s = time.perf_counter() - started
    clusters = len({a.cluster for a in assigned})

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(Path(tmp) / "data", None)
        catalog = Catalog(settings.catalog_url)
        with catalog.engine.begin() as conn:
            conn.execute(insert(t.Post), [dict(
                platform="bench", post_id=str(i), source="bench", url=f"https://example.org/{i}", text=x, data={},
                content_sha256="", first_captured="", last_captured="", captures=1, metadata_record_id=str(i),
            ) for i, x in enumerate(corpus)])
            conn.execute(insert(t.TextDuplicate), [dict(
                platform="bench", post_id=str(i), url=f"https://example.org/{i}", hash=s.hash, words=s.length,
                cluster=a.cluster, matched=a.matched, method=a.method, similarity=a.similarity, version=1,
                metadata_record_id=str(i), seen="",
            ) for i, (s, a) in enumerate(zip(sigs, assigned))])  # type: ignore[union-attr]
        started = time.perf_counter()
        loaded = TextDuplicates(settings, catalog).index()
        load_s = time.perf_counter() - started
        catalog.close()
    print(json.dumps({
        "posts": args.posts, "text_clusters": clusters, "signature_us_per_post": round(sign_s / args.posts * 1e6, 1),
        "assign_us_per_post": round(assign_s / args.posts * 1e6, 1),
        "load_from_catalog_s": round(load_s, 2), "loaded": len(loaded),
    }))


if __name__ == "__main__":
    main()
