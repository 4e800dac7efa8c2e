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
from tawthiq.index.analysis import tokens
from tawthiq.index.query import FUZZY_MIN, Prefix, Query, Terms, parse_query
from tawthiq.index.snippets import one_edit, snippet

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
    # How the words matched (issue 16): "text" (the post's own text), "image" (exactly, in text
    # OCR read in its images), "fuzzy" (some word only within one edit in image text: a lead
    # to check against the image, never an identification); None when only filters matched.
    match: str | None = None
    image_text: str = ""
    image_snippet: str = ""  # cut from the image text, when the words were found there

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "post_id": self.post_id, "platform": self.platform, "source": self.source,
            "url": self.url, "author": self.author, "published_at": self.published_at,
            "captured_at": self.captured_at, "text": self.text, "snippet": self.snippet,
            "cluster": self.cluster, "cluster_size": self.cluster_size, "warc": self.warc, "score": self.score,
            "match": self.match, "image_snippet": self.image_snippet, "image_text": self.image_text,
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
    ranked = list(folded.values())
    if sort == "relevance":  # tolerant matches after every exact one (stable: scores kept in order)
        ranked.sort(key=lambda p: match_kind(query, p.get("text") or "", p.get("image_text") or "") == "fuzzy")
    page = ranked[offset:wanted]
    sizes = backend.cluster_sizes([p.get("cluster") or p["id"] for p in page]) if page else {}
    terms, prefixes = query.highlight_terms()
    hits = [
        Hit(
            id=p["id"], platform=p["platform"], post_id=p["post_id"], source=p["source"], url=p["url"],
            author=p.get("author") or "", published_at=p["published_at"], captured_at=p.get("captured_at", ""),
            text=p.get("text") or "", snippet=snippet(p.get("text") or "", terms, prefixes),
            cluster=p.get("cluster") or p["id"], cluster_size=max(1, sizes.get(p.get("cluster") or p["id"], 1)),
            warc=p.get("warc") or {}, score=p.get("score"),
            **_image_part(query, p.get("text") or "", p.get("image_text") or "", terms, prefixes),
        )
        for p in page
    ]
    return SearchResult(query, raw.total, hits, facet_counts.result() if facet_counts else {}, offset, limit)


def _positive(query: Query) -> list[Terms | Prefix]:
    out: list[Terms | Prefix] = []

    def walk(node: Any) -> None:
        if isinstance(node, (Terms, Prefix)):
            out.append(node)
        elif hasattr(node, "children"):
            for c in node.children:
                walk(c)

    walk(query.root)
    return out


def match_kind(query: Query, text: str, image_text: str) -> str | None:
    """"text", "image" or "fuzzy" (see Hit.match), from the stored texts and the query's words."""
    parts = _positive(query)
    if not parts:
        return None
    text_tokens = list(tokens(text)) if text else []
    image_tokens = list(tokens(image_text)) if image_text else []

    def found(node: Terms | Prefix, toks: list[Any]) -> bool:
        if isinstance(node, Prefix):
            return any(t.word.startswith(node.word) for t in toks)
        have = {t.term for t in toks}
        return all(term in have for term in node.terms)

    kind = "text"
    for node in parts:
        if node.scope != "image" and found(node, text_tokens):
            continue
        if node.scope != "text" and found(node, image_tokens):
            kind = "image"
            continue
        if isinstance(node, Terms) and image_tokens and node.fuzzy_words():
            kind = "fuzzy"
    return kind


def _image_part(query: Query, text: str, image_text: str, terms: set[str], prefixes: list[str]) -> dict[str, Any]:
    kind = match_kind(query, text, image_text)
    near = tuple(w for node in _positive(query) if isinstance(node, Terms)
                 for w in node.fuzzy_words() if len(w) >= FUZZY_MIN) if kind == "fuzzy" else ()
    cut = snippet(image_text, terms, prefixes, near=near) if kind in ("image", "fuzzy") and image_text else ""
    return {"match": kind, "image_text": image_text, "image_snippet": cut}


__all__ = ["Hit", "SearchError", "SearchResult", "match_kind", "matching_ids", "one_edit", "search"]


def matching_ids(backend: Backend, text: str, *, cap: int = 1_000_000) -> tuple[Query, list[str]]:
    """Every post a query matches (not folded: an export must carry every copy)."""
    query = parse_query(text)
    total = backend.search(query.root, sort="date", offset=0, limit=1).total
    if total > cap:
        raise SearchError(f"the query matches {total} posts, more than {cap}: narrow it")
    return query, backend.post_ids(query.root) if total else []
