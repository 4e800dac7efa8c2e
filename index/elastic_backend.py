"""The Elasticsearch backend, for archives that outgrow one machine (8.x and 9.x servers).

Documents arrive already analysed (`index.analysis`), so the index uses the `whitespace`
analyzer: Elasticsearch indexes exactly the tokens tantivy does and the shared suite holds
both to one answer. User text never reaches Elasticsearch's query parsers: the query tree is
compiled into structured `term`, `match_phrase` (pre-analysed tokens), `prefix`, `range` and
`bool` clauses.

Indices are versioned (`<name>-v<analysis>-<stamp>`) behind the alias `<name>`; a rebuild fills
a new index and moves the alias in one `update_aliases` call, then drops the old index.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from tawthiq.index.analysis import ANALYSIS_VERSION
from tawthiq.index.backend import FACET_SIZE, FACETS, IndexMissing, IndexUnavailable, RawHit, RawResult
from tawthiq.index.documents import IndexDoc
from tawthiq.index.query import FUZZY_BOOST, FUZZY_MIN, And, DateRange, Filter, MatchAll, Node, Not, Or, Prefix, Terms

_KEYED = ("platform", "source", "author", "lang")
MAX_WINDOW = 10_000

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


def encode(d: IndexDoc) -> tuple[str, dict[str, Any]]:
    return d.id, _body(d)


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


class ElasticsearchBackend:
    name = "elasticsearch"

    def __init__(self, url: str, index: str = "tawthiq-posts", *, create: bool = True) -> None:
        from elasticsearch import ApiError, Elasticsearch, TransportError

        self.alias = index.lower()  # Elasticsearch index and alias names are lower case
        self.es = Elasticsearch(url, request_timeout=60)
        try:
            self.es.info()
        except (ApiError, TransportError) as exc:
            raise IndexUnavailable(f"Elasticsearch at {url} cannot be used: {exc}") from None
        self._put_template()
        if not self.es.indices.exists_alias(name=self.alias):
            if not create:
                raise IndexMissing(f"no index {self.alias!r} on Elasticsearch: run `tawthiq reindex`")
            name = self._new_index()
            self.es.indices.update_aliases(actions=[{"add": {"index": name, "alias": self.alias}}])
        current = self._current()
        if not current.startswith(f"{self.alias}-v{ANALYSIS_VERSION}-"):
            raise IndexMissing(f"the Elasticsearch index {current!r} was built with another analysis: "
                                   "run `tawthiq reindex --backend elasticsearch`")

    def _put_template(self) -> None:
        self.es.indices.put_index_template(
            name=f"{self.alias}-template", index_patterns=[f"{self.alias}-v*"],
            template={"settings": {"number_of_shards": 1, "refresh_interval": "1s"}, "mappings": MAPPINGS},
            meta={"tawthiq_analysis": ANALYSIS_VERSION},
        )

    def _new_index(self) -> str:
        name = f"{self.alias}-v{ANALYSIS_VERSION}-{time.strftime('%Y%m%dt%H%M%S')}-{time.time_ns() % 10**6}"
        self.es.indices.create(index=name)
        return name

    def _current(self) -> str:
        return next(iter(self.es.indices.get_alias(name=self.alias).body))

    def versioned_indices(self) -> list[str]:
        """Every index this alias has used (for cleaning up; wildcard deletes are refused by
        default since Elasticsearch 8)."""
        return list(self.es.indices.get(index=f"{self.alias}-v*", allow_no_indices=True,
                                        expand_wildcards="open,closed").body)

    # -- writing ---------------------------------------------------------------------------------
    def _bulk(self, index: str, items: Iterable[tuple[str, dict[str, Any]]]) -> int:
        from elasticsearch.helpers import streaming_bulk

        actions = ({"_index": index, "_id": ident, "_source": body} for ident, body in items)
        done, failures = 0, []
        # raise_on_error=False: with True, chunks after a failing one are never sent
        # (elasticsearch-py #2673); every failure is collected and reported instead.
        for ok, item in streaming_bulk(self.es, actions, chunk_size=1000, raise_on_error=False,
                                       raise_on_exception=False, max_retries=3):
            if ok:
                done += 1
            else:
                failures.append(item)
        if failures:
            first = next(iter(failures[0].values()))
            raise IndexUnavailable(f"Elasticsearch refused {len(failures)} document(s), first: "
                                   f"{first.get('_id')}: {first.get('error')}")
        return done

    def upsert(self, docs: Iterable[IndexDoc]) -> int:
        n = self._bulk(self.alias, map(encode, docs))
        self.es.indices.refresh(index=self.alias)
        return n

    @contextmanager
    def rebuild(self) -> Iterator["_ElasticRebuild"]:
        name = self._new_index()
        try:
            yield _ElasticRebuild(self, name)
            self.es.indices.refresh(index=name)
        except BaseException:
            self.es.indices.delete(index=name, ignore_unavailable=True)
            raise
        old = list(self.es.indices.get_alias(name=self.alias).body) if self.es.indices.exists_alias(name=self.alias) else []
        actions: list[dict[str, Any]] = [{"remove": {"index": o, "alias": self.alias}} for o in old]
        actions.append({"add": {"index": name, "alias": self.alias}})
        self.es.indices.update_aliases(actions=actions)
        for o in old:
            self.es.indices.delete(index=o, ignore_unavailable=True)

    # -- reading ---------------------------------------------------------------------------------
    def search(self, query: Node, *, sort: str = "relevance", offset: int = 0, limit: int = 20) -> RawResult:
        order: list[Any] = [{"published": "desc"}, {"id": "asc"}] if sort == "date" else ["_score", {"id": "asc"}]
        limit = max(0, min(limit, MAX_WINDOW - offset))  # index.max_result_window
        resp = self.es.search(index=self.alias, query=compile_query(query), from_=offset, size=limit,
                              sort=order, track_total_hits=True,
                              source=["doc"])  # type: ignore[arg-type]  # _source takes a field list too
        hits = [RawHit(h["_source"]["doc"], h.get("_score")) for h in resp["hits"]["hits"]]
        return RawResult(int(resp["hits"]["total"]["value"]), hits)

    def post_ids(self, query: Node) -> list[str]:
        """Every match, beyond the 10,000 hits a search may page through (scroll)."""
        from elasticsearch.helpers import scan

        return [h["_source"]["post_id"] for h in scan(self.es, index=self.alias, query={"query": compile_query(query)},
                                                       _source=["post_id"], size=5000, preserve_order=False)]

    def facets(self, query: Node) -> dict[str, list[tuple[str, int]]]:
        aggs: dict[str, Any] = {name: {"terms": {"field": name, "size": FACET_SIZE}} for name in FACETS}
        aggs["month"]["terms"]["order"] = {"_key": "desc"}
        resp = self.es.search(index=self.alias, query=compile_query(query), size=0, aggs=aggs)
        return {name: [(b["key"], int(b["doc_count"])) for b in resp["aggregations"][name]["buckets"]]
                for name in FACETS}

    def cluster_sizes(self, clusters: list[str]) -> dict[str, int]:
        resp = self.es.search(index=self.alias, size=0, query={"terms": {"cluster": clusters}},
                              aggs={"c": {"terms": {"field": "cluster", "size": len(clusters)}}})
        return {b["key"]: int(b["doc_count"]) for b in resp["aggregations"]["c"]["buckets"]}

    def count(self) -> int:
        return int(self.es.count(index=self.alias)["count"])

    def close(self) -> None:
        self.es.close()


class _ElasticRebuild:
    encode = staticmethod(encode)

    def __init__(self, backend: ElasticsearchBackend, index: str) -> None:
        self.backend, self.index = backend, index

    def add(self, docs: Iterable[IndexDoc]) -> int:
        return self.add_encoded(map(encode, docs))

    def add_encoded(self, items: Iterable[tuple[str, dict[str, Any]]]) -> int:
        # Same _id: a later (newer) capture overwrites the earlier one, as in tantivy.
        return self.backend._bulk(self.index, items)
