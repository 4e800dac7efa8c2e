"""The Elasticsearch backend, for archives that outgrow one machine (8.x and 9.x servers).

Indices are versioned (`<alias>-v<analysis>-<stamp>`) behind the alias `<alias>`. Opening reads
only (is the alias there, which analysis built it); the index template is written only when an
index is created: by `reindex` (a rebuild) or the first capture of an archive with no index.

A rebuild fills a new index while captures go on: the new index is marked by the alias
`<alias>-rebuilding`, and every write during the rebuild goes to the live alias and to that
marker. Documents carry their capture time as an external version (`external_gte`), so a post
captured during the rebuild is not overwritten by an older capture of it read from the WARC
files, whichever arrives last. The swap moves the alias and drops the marker in one
`update_aliases` call.

Searches past 10,000 hits (folding near-duplicates can ask for more) page with a point in time
and `search_after` instead of stopping at `index.max_result_window`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from tawthiq.index.analysis import ANALYSIS_VERSION
from tawthiq.index.backend import FACET_SIZE, FACETS, IndexMissing, IndexUnavailable, RawHit, RawResult
from tawthiq.index.documents import IndexDoc
from tawthiq.index.elastic.client import ElasticConfig, connect
from tawthiq.index.elastic.errors import translate, translated
from tawthiq.index.elastic.queries import MAPPINGS, compile_query, encode, order
from tawthiq.index.query import Node

MAX_WINDOW = 10_000  # index.max_result_window: from + size may not pass it
PAGE = 10_000  # hits per search_after page
PIT_KEEP_ALIVE = "2m"


class ElasticsearchBackend:
    name = "elasticsearch"

    def __init__(self, config: ElasticConfig | str, index: str = "tawthiq-posts", *, create: bool = True) -> None:
        if isinstance(config, str):
            config = ElasticConfig(url=config, index=index)
        self.config = config
        self.alias = config.index.lower()  # Elasticsearch index and alias names are lower case
        self.marker = f"{self.alias}-rebuilding"
        self.es = connect(config).es
        if not self._alias_exists(self.alias):
            if not create:
                raise IndexMissing(f"no index {self.alias!r} on Elasticsearch at {config.shown_url}: "
                                   "run `tawthiq reindex`")
            self.setup()
        current = self._current()
        if not current.startswith(f"{self.alias}-v{ANALYSIS_VERSION}-"):
            raise IndexMissing(f"the Elasticsearch index {current!r} was built with another analysis: "
                               "run `tawthiq reindex --backend elasticsearch`")

    # -- calls -----------------------------------------------------------------------------------
    def _call(self, doing: str, needs: str) -> AbstractContextManager[None]:
        return translated(doing=doing, needs=needs, url=self.config.url)

    def _on_indices(self, privilege: str) -> str:
        return f"the index privilege `{privilege}` on `{self.alias}*`"

    def _alias_exists(self, name: str) -> bool:
        with self._call(f"look up the alias {name}", self._on_indices("view_index_metadata")):
            return bool(self.es.indices.exists_alias(name=name))

    def _indices_of(self, name: str) -> list[str]:
        """The indices behind an alias (none when there is no such alias)."""
        with self._call(f"look up the alias {name}", self._on_indices("view_index_metadata")):
            resp = self.es.options(ignore_status=404).indices.get_alias(name=name)
        if resp.meta.status == 404:
            return []
        return sorted(k for k, v in resp.body.items() if isinstance(v, dict) and name in (v.get("aliases") or {}))

    def _current(self) -> str:
        found = self._indices_of(self.alias)
        if not found:
            raise IndexMissing(f"no index {self.alias!r} on Elasticsearch at {self.config.shown_url}: "
                               "run `tawthiq reindex`")
        return found[0]

    # -- setup (reindex and the first capture only) ----------------------------------------------
    def _put_template(self) -> None:
        with self._call(f"write the index template {self.alias}-template",
                        "the cluster privilege `manage_index_templates`"):
            self.es.indices.put_index_template(
                name=f"{self.alias}-template", index_patterns=[f"{self.alias}-v*"],
                template={"settings": {"number_of_shards": 1, "refresh_interval": "1s"}, "mappings": MAPPINGS},
                meta={"tawthiq_analysis": ANALYSIS_VERSION},
            )

    def _new_index(self) -> str:
        name = f"{self.alias}-v{ANALYSIS_VERSION}-{time.strftime('%Y%m%dt%H%M%S')}-{time.time_ns() % 10**6}"
        with self._call(f"create the index {name}", self._on_indices("create_index")):
            self.es.indices.create(index=name)
        return name

    def _update_aliases(self, actions: list[dict[str, Any]]) -> None:
        with self._call(f"move the alias {self.alias}", self._on_indices("manage")):
            self.es.indices.update_aliases(actions=actions)

    def setup(self) -> None:
        """The template and a first, empty index behind the alias."""
        self._put_template()
        name = self._new_index()
        self._update_aliases([{"add": {"index": name, "alias": self.alias}}])

    def versioned_indices(self) -> list[str]:
        """Every index this alias has used (for cleaning up; wildcard deletes are refused by
        default since Elasticsearch 8)."""
        with self._call(f"list the indices {self.alias}-v*", self._on_indices("view_index_metadata")):
            return list(self.es.indices.get(index=f"{self.alias}-v*", allow_no_indices=True,
                                            expand_wildcards="open,closed").body)

    # -- writing ---------------------------------------------------------------------------------
    def _bulk(self, target: str, items: Iterable[tuple[str, dict[str, Any]]], *, alias: bool) -> int:
        """Index every item into `target`; an older capture than the one already there is
        skipped (409), any other refusal is reported with the first failure."""
        from elasticsearch.helpers import streaming_bulk

        actions = ({"_index": target, "_id": ident, "version": body["version"], "version_type": "external_gte",
                    "_source": body["source"]} for ident, body in items)
        done, failures = 0, []
        extra: dict[str, Any] = {"require_alias": True} if alias else {}
        with self._call(f"write to {target}", self._on_indices("write")):
            # raise_on_error=False: with True, chunks after a failing one are never sent
            # (elasticsearch-py #2673); every failure is collected and reported instead.
            for ok, item in streaming_bulk(self.es, actions, chunk_size=1000, raise_on_error=False,
                                           raise_on_exception=False, max_retries=3, **extra):
                result = next(iter(item.values()))
                if ok or result.get("status") == 409:  # 409: a newer capture of the post is there
                    done += 1
                else:
                    failures.append(result)
        if failures:
            first = failures[0]
            exc = first.get("exception")
            if _is_client_error(exc):  # the chunk never reached the index: say why, in one line
                raise translate(exc, doing=f"write to {target}", needs=self._on_indices("write"),
                                url=self.config.url)
            raise IndexUnavailable(f"Elasticsearch refused {len(failures)} document(s) written to {target}, "
                                   f"first: {first.get('_id')}: {_short(first.get('error'))}")
        return done

    def upsert(self, docs: Iterable[IndexDoc]) -> int:
        """Write to the live alias, and to an index being rebuilt (first, so a swap in between
        still leaves the post in the index that goes live)."""
        batch = list(map(encode, docs))
        if not batch:
            return 0
        if self._alias_exists(self.marker):
            try:
                self._bulk(self.marker, batch, alias=True)
            except IndexUnavailable:
                if self._alias_exists(self.marker):  # not just the rebuild ending meanwhile
                    raise
        n = self._bulk(self.alias, batch, alias=True)
        with self._call(f"refresh {self.alias}", self._on_indices("maintenance")):
            self.es.indices.refresh(index=self.alias)
        return n

    @contextmanager
    def rebuild(self) -> Iterator["_ElasticRebuild"]:
        leftover = self._indices_of(self.marker)
        if leftover:  # a rebuild still running, or one killed before its swap
            raise IndexUnavailable(
                f"the alias {self.marker} is already on {', '.join(leftover)}: another reindex is running, or one "
                f"was killed. If none is running, delete the unfinished index ({' '.join(f'DELETE /{i}' for i in leftover)}"
                f" on {self.config.shown_url}) and run `tawthiq reindex` again")
        self._put_template()
        name = self._new_index()
        try:
            self._update_aliases([{"add": {"index": name, "alias": self.marker, "is_write_index": True}}])
            yield _ElasticRebuild(self, name)
            with self._call(f"refresh {name}", self._on_indices("maintenance")):
                self.es.indices.refresh(index=name)
        except BaseException:
            with self._call(f"delete the unfinished index {name}", self._on_indices("delete_index")):
                self.es.indices.delete(index=name, ignore_unavailable=True)
            raise
        old = self._indices_of(self.alias)
        actions: list[dict[str, Any]] = [{"remove": {"index": o, "alias": self.alias}} for o in old]
        marked = sorted(set(self._indices_of(self.marker)) | {name})  # every index: none keeps taking writes
        actions += [{"remove": {"index": m, "alias": self.marker}} for m in marked]
        actions.append({"add": {"index": name, "alias": self.alias}})
        self._update_aliases(actions)
        for o in old:
            with self._call(f"delete the replaced index {o}", self._on_indices("delete_index")):
                self.es.indices.delete(index=o, ignore_unavailable=True)

    # -- reading ---------------------------------------------------------------------------------
    def search(self, query: Node, *, sort: str = "relevance", offset: int = 0, limit: int = 20) -> RawResult:
        if offset + limit > MAX_WINDOW:
            return self._deep_search(query, sort=sort, offset=offset, limit=limit)
        with self._call(f"search {self.alias}", self._on_indices("read")):
            resp = self.es.search(index=self.alias, query=compile_query(query), from_=offset, size=limit,
                                  sort=order(sort), track_total_hits=True,
                                  source=["doc"])  # type: ignore[arg-type]  # _source takes a field list too
        hits = [RawHit(h["_source"]["doc"], h.get("_score")) for h in resp["hits"]["hits"]]
        return RawResult(int(resp["hits"]["total"]["value"]), hits)

    def _deep_search(self, query: Node, *, sort: str, offset: int, limit: int) -> RawResult:
        """Hits `offset` to `offset + limit` through a point in time, `PAGE` at a time with
        `search_after`; pages wholly before `offset` are fetched without their documents."""
        with self._call(f"open a point in time on {self.alias}", self._on_indices("read")):
            pit = self.es.open_point_in_time(index=self.alias, keep_alive=PIT_KEEP_ALIVE)["id"]
        hits: list[RawHit] = []
        total, seen, after = 0, 0, None
        try:
            while len(hits) < limit:
                size = min(PAGE, offset + limit - seen)
                wanted = seen + size > offset
                kw: dict[str, Any] = {"search_after": after} if after is not None else {}
                with self._call(f"search {self.alias}", self._on_indices("read")):
                    resp = self.es.search(pit={"id": pit, "keep_alive": PIT_KEEP_ALIVE}, query=compile_query(query),
                                          size=size, sort=order(sort), track_total_hits=after is None,
                                          source=["doc"] if wanted else False, **kw)  # type: ignore[arg-type]
                pit = resp.get("pit_id", pit)
                page = resp["hits"]["hits"]
                if after is None:
                    total = int(resp["hits"]["total"]["value"])
                for h in page:
                    if seen >= offset and len(hits) < limit:
                        hits.append(RawHit(h["_source"]["doc"], h.get("_score")))
                    seen += 1
                if len(page) < size:
                    break
                after = page[-1]["sort"]
        finally:
            try:
                self.es.close_point_in_time(id=pit)
            except Exception:  # noqa: BLE001 - it expires by itself after PIT_KEEP_ALIVE
                pass
        return RawResult(total, hits)

    def post_ids(self, query: Node) -> list[str]:
        """Every match, beyond the 10,000 hits a search may page through (scroll)."""
        from elasticsearch.helpers import scan

        with self._call(f"list the matches in {self.alias}", self._on_indices("read")):
            return [h["_source"]["post_id"] for h in scan(self.es, index=self.alias,
                                                           query={"query": compile_query(query)},
                                                           _source=["post_id"], size=5000, preserve_order=False)]

    def facets(self, query: Node) -> dict[str, list[tuple[str, int]]]:
        aggs: dict[str, Any] = {name: {"terms": {"field": name, "size": FACET_SIZE}} for name in FACETS}
        aggs["month"]["terms"]["order"] = {"_key": "desc"}
        with self._call(f"count facets in {self.alias}", self._on_indices("read")):
            resp = self.es.search(index=self.alias, query=compile_query(query), size=0, aggs=aggs)
        return {name: [(b["key"], int(b["doc_count"])) for b in resp["aggregations"][name]["buckets"]]
                for name in FACETS}

    def cluster_sizes(self, clusters: list[str]) -> dict[str, int]:
        with self._call(f"count near-duplicates in {self.alias}", self._on_indices("read")):
            resp = self.es.search(index=self.alias, size=0, query={"terms": {"cluster": clusters}},
                                  aggs={"c": {"terms": {"field": "cluster", "size": len(clusters)}}})
        return {b["key"]: int(b["doc_count"]) for b in resp["aggregations"]["c"]["buckets"]}

    def count(self) -> int:
        with self._call(f"count {self.alias}", self._on_indices("read")):
            return int(self.es.count(index=self.alias)["count"])

    def close(self) -> None:
        """Nothing to release: the client is the process's (`client.connect`), kept for the next open."""


def _is_client_error(exc: Any) -> bool:
    from elastic_transport import TransportError
    from elasticsearch import ApiError

    return isinstance(exc, (ApiError, TransportError))


def _short(error: Any) -> str:
    if isinstance(error, dict):
        return f"{error.get('type', '')}: {error.get('reason', '')}".strip(": ")
    return str(error)


class _ElasticRebuild:
    encode = staticmethod(encode)

    def __init__(self, backend: ElasticsearchBackend, index: str) -> None:
        self.backend, self.index = backend, index

    def add(self, docs: Iterable[IndexDoc]) -> int:
        return self.add_encoded(map(encode, docs))

    def add_encoded(self, items: Iterable[tuple[str, dict[str, Any]]]) -> int:
        # The capture time is the version: the newest capture of a post stays, whatever the order.
        return self.backend._bulk(self.index, items, alias=False)
