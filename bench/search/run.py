"""bench/search: index build rate and query latency at 1 million generated posts, side by side
with the baseline a user would otherwise have: a SQL `LIKE` scan over the same text in SQLite.

tawthiq's build is what `tawthiq reindex` does after reading the WARC files (analysis on all
cores, then tantivy); its query time is a whole `tawthiq search` answer: parse, top 20 by
relevance, facets over every match, near-duplicate folding and snippets. The baseline stores the
same text in an SQLite table and answers each query's words with `LIKE '%word%'` (no analysis:
it misses spelling variants tawthiq finds) ordered by date, top 20. Run with `make bench-search`.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from bench.search.corpus import posts, queries


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def build_tantivy(root: Path, corpus: list[dict]) -> tuple[float, int]:
    from tawthiq.index.parallel import analysed
    from tawthiq.index.tantivy_backend import TantivyBackend

    backend = TantivyBackend(root)
    started = time.perf_counter()
    with backend.rebuild() as build:
        n = build.add_encoded(analysed(((p, "2026-11-01T00:00:00Z", None, "") for p in corpus), build.encode))
    return time.perf_counter() - started, n


def build_sqlite(path: Path, corpus: list[dict]) -> float:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE posts (id TEXT PRIMARY KEY, source TEXT, published TEXT, text TEXT)")
    started = time.perf_counter()
    conn.executemany("INSERT INTO posts VALUES (?, ?, ?, ?)",
                     ((p["post_id"], p["source"], p["published"], p["text"]) for p in corpus))
    conn.commit()
    conn.close()
    return time.perf_counter() - started


def like_words(query: str) -> list[str]:
    """The words a LIKE user would type for a query: the positive plain words, as written."""
    out = []
    for part in query.replace('"', " ").split():
        if part == "OR" or part.startswith("-") or ":" in part:
            continue
        out.append(part.rstrip("*"))
    return out


def time_tantivy(root: Path, qs: list[str]) -> tuple[list[float], list[int]]:
    from tawthiq.index.search import search
    from tawthiq.index.tantivy_backend import TantivyBackend

    backend = TantivyBackend(root, create=False)
    for q in qs[:20]:  # warm-up: page cache and searcher
        search(backend, q)
    times, totals = [], []
    for q in qs:
        started = time.perf_counter()
        result = search(backend, q, limit=20)
        times.append((time.perf_counter() - started) * 1000)
        totals.append(result.total)
    return times, totals


def time_like(path: Path, qs: list[str]) -> list[float]:
    conn = sqlite3.connect(path)
    conn.execute("SELECT count(*) FROM posts").fetchone()  # warm the page cache
    times = []
    for q in qs:
        words = like_words(q) or [""]
        sql = ("SELECT id, text FROM posts WHERE " + " AND ".join("text LIKE ?" for _ in words)
               + " ORDER BY published DESC LIMIT 20")
        started = time.perf_counter()
        conn.execute(sql, [f"%{w}%" for w in words]).fetchall()
        times.append((time.perf_counter() - started) * 1000)
    conn.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--baseline-queries", type=int, default=50,
                        help="LIKE scans take about a second each at 1M posts; this many of the same queries")
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    work = Path(args.dir or tempfile.mkdtemp(prefix="tawthiq-bench-search-"))
    work.mkdir(parents=True, exist_ok=True)
    qs = queries(args.queries)

    corpus = list(posts(args.posts))  # generated before timing: the build, not the generator, is measured
    t_build, n = build_tantivy(work / "tantivy", corpus)
    size = sum(f.stat().st_size for f in (work / "tantivy").rglob("*") if f.is_file())
    s_build = build_sqlite(work / "like.sqlite", corpus)
    del corpus
    t_times, totals = time_tantivy(work / "tantivy", qs)
    like_times = time_like(work / "like.sqlite", qs[: args.baseline_queries])
    same = time_tantivy(work / "tantivy", qs[: args.baseline_queries])[0]

    figures = {
        "posts": n, "cores": os.cpu_count(), "queries": len(qs), "baseline_queries": len(like_times),
        "tawthiq_build_s": round(t_build, 1), "tawthiq_posts_per_s": round(n / t_build),
        "tawthiq_index_mb": round(size / 1e6), "sqlite_build_s": round(s_build, 1),
        "sqlite_rows_per_s": round(n / s_build),
        "tawthiq_p50_ms": round(pct(t_times, 50), 2), "tawthiq_p95_ms": round(pct(t_times, 95), 2),
        "tawthiq_max_ms": round(max(t_times), 2), "median_hits": statistics.median(totals),
        "like_p50_ms": round(pct(like_times, 50), 1), "like_p95_ms": round(pct(like_times, 95), 1),
        "tawthiq_p50_ms_same_queries": round(pct(same, 50), 2),
        "tawthiq_p95_ms_same_queries": round(pct(same, 95), 2),
    }
    figures["speedup_p50"] = round(figures["like_p50_ms"] / max(figures["tawthiq_p50_ms_same_queries"], 0.01))
    figures["speedup_p95"] = round(figures["like_p95_ms"] / max(figures["tawthiq_p95_ms_same_queries"], 0.01))
    print(f"{n:,} posts on {os.cpu_count()} cores")
    print(f"{'':34}{'build posts/s':>15}{'p50 ms':>10}{'p95 ms':>10}")
    print(f"{'tawthiq search (tantivy)':34}{figures['tawthiq_posts_per_s']:>15,}{figures['tawthiq_p50_ms']:>10}"
          f"{figures['tawthiq_p95_ms']:>10}   ({len(qs)} queries, with facets and snippets)")
    print(f"{'SQL LIKE scan (SQLite)':34}{figures['sqlite_rows_per_s']:>15,}{figures['like_p50_ms']:>10}"
          f"{figures['like_p95_ms']:>10}   ({len(like_times)} of the same queries)")
    print(f"tawthiq on those {len(like_times)}: p50 {figures['tawthiq_p50_ms_same_queries']} ms, "
          f"p95 {figures['tawthiq_p95_ms_same_queries']} ms -> {figures['speedup_p50']}x (p50), "
          f"{figures['speedup_p95']}x (p95) faster than LIKE; index {figures['tawthiq_index_mb']} MB")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
