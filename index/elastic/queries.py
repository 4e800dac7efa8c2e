"""What Elasticsearch is sent: the index mappings, documents, the query tree as Query DSL, and
the sort orders (the same total order as the tantivy backend, so both pick the same hit first).

Documents arrive already analysed (`index.analysis`), so the index uses the `whitespace`
analyzer: Elasticsearch indexes exactly the tokens tantivy does. User text never reaches
Elasticsearch's query parsers: the tree is compiled into `term`, `match_phrase` (pre-analysed
tokens), `prefix`, `range` and `bool` clauses.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from tawthiq.index.documents import IndexDoc
from tawthiq.index.query import FUZZY_BOOST, FUZZY_MIN, And, DateRange, Filter, MatchAll, Node, Not, Or, Prefix, Terms

_KEYED = ("platform", "source", "author", "lang")

MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "keyword"},
        "post_id": {"type": "keyword"},
        "terms": {"type": "text", "analyzer": "whitespace", "similarity": "BM25"},
        "words": {"type": "text", "analyzer": "whitespace", "index_options": "docs"},
        "image_terms": {"type": "text", "analyzer": "whitespace", "similarity": "BM25"},
        "image_words": {"type": "text", "analyzer": "whitespace", "index_options": "docs"},
        **{name: {"type": "keyword"} for name in ("platform", "source", "author", "lang", "has", "month", "cluster")},
        **{f"{name}_k": {"type": "keyword"} for name in _KEYED},
        "published": {"type": "date"},
        "doc": {"type": "object", "enabled": False},
    },
}

# Relevance: score, then id; date: newest first, then id. tantivy sorts the same way
# (TantivyBackend.search), so ties (copies with the same text score the same) go the same way.
RELEVANCE_ORDER: list[Any] = [{"_score": "desc"}, {"id": "asc"}]
DATE_ORDER: list[Any] = [{"published": "desc"}, {"id": "asc"}]


def order(sort: str) -> list[Any]:
    return DATE_ORDER if sort == "date" else RELEVANCE_ORDER


def _body(d: IndexDoc) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": d.id, "post_id": d.post_id, "terms": d.terms, "words": d.words,
        "image_terms": d.image_terms, "image_words": d.image_words,
        "has": d.has, "month": d.month, "cluster": d.cluster,
        "published": d.published.isoformat(), "doc": d.stored(),
    }
    for name in _KEYED:
        value = getattr(d, name)
        if value:
            body[name] = value
            body[f"{name}_k"] = value.casefold()
    return body


def capture_version(captured: str) -> int:
    """The document's external version: its capture time in milliseconds, so whatever order
    writes arrive in (a rebuild and live captures at once), the newest capture of a post wins."""
    try:
        d = datetime.fromisoformat(captured.replace("Z", "+00:00"))
    except ValueError:
        return 1
    d = d.replace(tzinfo=timezone.utc) if d.tzinfo is None else d
    return max(1, int(d.timestamp() * 1000))


def encode(d: IndexDoc) -> tuple[str, dict[str, Any]]:
    """(id, {"version": ..., "source": ...}): built on the analysis workers during a rebuild."""
    return d.id, {"version": capture_version(d.captured), "source": _body(d)}


def _terms(node: Terms) -> dict[str, Any]:
    """As the tantivy backend: exact in text and image text, tolerant in image text only."""
    def exact(field: str) -> dict[str, Any]:
        if len(node.terms) == 1:
            return {"term": {field: node.terms[0]}}
        return {"match_phrase": {field: {"query": " ".join(node.terms), "analyzer": "whitespace"}}}

    parts = []
    if node.scope != "image":
        parts.append(exact("terms"))
    if node.scope != "text":
        parts.append(exact("image_terms"))
    words = node.fuzzy_words()
    if any(len(w) >= FUZZY_MIN for w in words):
        each = [{"fuzzy": {"image_words": {"value": w, "fuzziness": 1, "transpositions": False,
                                           "prefix_length": 0}}} if len(w) >= FUZZY_MIN
                else {"term": {"image_terms": t}} for w, t in zip(words, node.terms)]
        parts.append({"bool": {"must": each, "boost": FUZZY_BOOST}})
    return parts[0] if len(parts) == 1 else {"bool": {"should": parts, "minimum_should_match": 1}}


def compile_query(node: Node) -> dict[str, Any]:
    """The query tree as Elasticsearch Query DSL."""
    if isinstance(node, MatchAll):
        return {"match_all": {}}
    if isinstance(node, Terms):
        return _terms(node)
    if isinstance(node, Prefix):
        fields = {"text": ["words"], "image": ["image_words"]}.get(node.scope, ["words", "image_words"])
        return {"bool": {"should": [{"prefix": {f: {"value": node.word}}} for f in fields], "minimum_should_match": 1}}
    if isinstance(node, Filter):
        return {"term": {node.field if node.field in ("has", "id", "cluster") else f"{node.field}_k": node.value}}
    if isinstance(node, DateRange):
        span: dict[str, str] = {}
        if node.start:
            span["gte"] = node.start.isoformat()
        if node.end:
            span["lt"] = node.end.isoformat()
        return {"range": {"published": span}}
    if isinstance(node, Not):
        return {"bool": {"must_not": [compile_query(node.child)]}}
    if isinstance(node, And):
        must = [compile_query(c) for c in node.children if not isinstance(c, Not)]
        must_not = [compile_query(c.child) for c in node.children if isinstance(c, Not)]
        return {"bool": {"must": must or [{"match_all": {}}], "must_not": must_not}}
    if isinstance(node, Or):
        return {"bool": {"should": [compile_query(c) for c in node.children], "minimum_should_match": 1}}
    raise TypeError(f"unknown query node {node!r}")
