"""A search as users see it: parse once, ask the backend, fold near-duplicates, cut snippets.

Everything here is backend-independent, which is what lets one shared test suite hold both
backends to the same answers.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tawthiq.errors import UserError
from tawthiq.index.backend import Backend
from tawthiq.index.query import Query, parse_query
from tawthiq.index.snippets import snippet

SORTS = ("relevance", "date")
MAX_LIMIT = 500
# Facets count every match while the top hits are fetched: both backends release the GIL
# (tantivy in Rust, Elasticsearch on the network), so they overlap; at a million posts this
# takes a third off a common word's answer.
_facet_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="facets")


@dataclass
class Hit:
    id: str
    platform: str
    post_id: str
    source: str
    url: str
    author: str
    published_at: str
    captured_at: str
    text: str
    snippet: str
    cluster: str
    cluster_size: int
    warc: dict[str, Any]
    score: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "post_id": self.post_id, "platform": self.platform, "source": self.source,
            "url": self.url, "author": self.author, "published_at": self.published_at,
            "captured_at": self.captured_at, "text": self.text, "snippet": self.snippet,
            "cluster": self.cluster, "cluster_size": self.cluster_size, "warc": self.warc, "score": self.score,
        }


@dataclass
class SearchResult:
    query: Query
    total: int  # matching posts (before folding)
    hits: list[Hit]  # one per near-duplicate cluster, in order
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    offset: int = 0
    limit: int = 20

    def as_json(self) -> dict[str, Any]:
        return {
            "query": self.query.text, "total": self.total, "offset": self.offset, "limit": self.limit,
            "notes": self.query.notes, "hits": [h.as_json() for h in self.hits],
            "facets": {name: [{"value": v, "count": c} for v, c in values] for name, values in self.facets.items()},
        }


class SearchError(UserError, ValueError):
    """A request that cannot be answered as asked (bad sort, limit); the message says why."""


def search(backend: Backend, text: str | Query, *, sort: str = "relevance", offset: int = 0,
           limit: int = 20, facets: bool = True, fold: bool = True) -> SearchResult:
    """`fold=False` lists every copy (a cluster's page)."""
    if sort not in SORTS:
        raise SearchError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
    if not 1 <= limit <= MAX_LIMIT:
        raise SearchError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
    if offset < 0:
        raise SearchError(f"offset must be 0 or more, not {offset}")
    query = parse_query(text) if isinstance(text, str) else text
    facet_counts = _facet_pool.submit(backend.facets, query.root) if facets else None
    wanted = offset + limit
    fetch = wanted * 2
    while True:
        raw = backend.search(query.root, sort=sort, offset=0, limit=fetch)
        folded: dict[str, dict[str, Any]] = {}
        for h in raw.hits:
            key = (h.stored.get("cluster") or h.stored["id"]) if fold else h.stored["id"]
            if key not in folded:
                folded[key] = {**h.stored, "score": h.score}
        if len(folded) >= wanted or len(raw.hits) >= raw.total or len(raw.hits) < fetch:
            break
        fetch *= 4
    page = list(folded.values())[offset:wanted]
    sizes = backend.cluster_sizes([p.get("cluster") or p["id"] for p in page]) if page else {}
    terms, prefixes = query.highlight_terms()
    hits = [
        Hit(
            id=p["id"], platform=p["platform"], post_id=p["post_id"], source=p["source"], url=p["url"],
            author=p.get("author") or "", published_at=p["published_at"], captured_at=p.get("captured_at", ""),
            text=p.get("text") or "", snippet=snippet(p.get("text") or "", terms, prefixes),
            cluster=p.get("cluster") or p["id"], cluster_size=max(1, sizes.get(p.get("cluster") or p["id"], 1)),
            warc=p.get("warc") or {}, score=p.get("score"),
        )
        for p in page
    ]
    return SearchResult(query, raw.total, hits, facet_counts.result() if facet_counts else {}, offset, limit)


def matching_ids(backend: Backend, text: str, *, cap: int = 1_000_000) -> tuple[Query, list[str]]:
    """Every post a query matches (not folded: an export must carry every copy)."""
    query = parse_query(text)
    total = backend.search(query.root, sort="date", offset=0, limit=1).total
    if total > cap:
        raise SearchError(f"the query matches {total} posts, more than {cap}: narrow it")
    return query, backend.post_ids(query.root) if total else []
