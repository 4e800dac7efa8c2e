"""A stand-in Elasticsearch on 127.0.0.1 for the unit tests of the Elasticsearch backend.

It answers the REST calls the backend makes the way Elasticsearch 8.x or 9.x does (status codes,
`X-Elastic-Product`, the media-type check that makes an 8.x server refuse `compatible-with=9`,
error bodies) and records every request's headers and body, so a test sees what was sent. Documents
live in memory: indices, aliases, bulk writes with external versions and `require_alias`, searches
with `term`/`terms`/`bool`/`match_all`, sorting, `from`/`size`, points in time and `search_after`.
It does not score (every hit scores 1.0) and does not analyse text: the real-cluster suite in
tests/test_search.py covers that when ELASTICSEARCH_URL is set.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ACCEPTED = {8: {7, 8}, 9: {8, 9}}  # compatible-with versions each major accepts


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class Failure:
    """Answer requests whose path matches `path` (a regex) with this status and body."""

    path: str
    status: int
    body: dict[str, Any]
    delay: float = 0.0


def security_error(status: int, reason: str) -> dict[str, Any]:
    e = {"type": "security_exception", "reason": reason}
    return {"error": {"root_cause": [e], **e}, "status": status}


@dataclass
class StandIn:
    major: int = 9
    product: bool = True
    distribution: str | None = None
    failures: list[Failure] = field(default_factory=list)
    requests: list[Seen] = field(default_factory=list)
    indices: dict[str, dict[str, tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    aliases: dict[str, set[str]] = field(default_factory=dict)
    templates: dict[str, Any] = field(default_factory=dict)
    pits: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                standin._serve(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "StandIn":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def seen(self, method: str, path_regex: str) -> list[Seen]:
        return [r for r in self.requests if r.method == method and re.fullmatch(path_regex, r.path)]

    # -- the wire --------------------------------------------------------------------------------
    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        ctype = h.headers.get("Content-Type") or ""
        body: Any = None
        if raw:
            text = raw.decode("utf-8")
            body = [json.loads(line) for line in text.splitlines() if line.strip()] if "ndjson" in ctype \
                else json.loads(text)
        headers = {k.lower(): v for k, v in h.headers.items()}
        with self._lock:
            self.requests.append(Seen(h.command, parts.path, query, headers, body))
        status, answer = self._answer(h.command, parts.path, query, headers, body)
        data = b"" if answer is None else json.dumps(answer).encode()
        h.send_response(status)
        mime = "application/json"
        for name in ("accept",):
            m = re.search(r"compatible-with=(\d+)", headers.get(name, ""))
            if m:
                mime = f"application/vnd.elasticsearch+json;compatible-with={m.group(1)}"
        h.send_header("Content-Type", mime)
        if self.product and status < 500 or status in (401, 403):
            h.send_header("X-Elastic-Product", "Elasticsearch")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(data)

    def _media_error(self, headers: dict[str, str]) -> dict[str, Any] | None:
        if self.distribution == "opensearch":
            for name in ("accept", "content-type"):
                if "vnd.elasticsearch" in headers.get(name, ""):
                    return {"error": f"Content-Type header [{headers[name]}] is not supported", "status": 406}
            return None
        for name in ("accept", "content-type"):
            m = re.search(r"compatible-with=(\d+)", headers.get(name, ""))
            if m and int(m.group(1)) not in ACCEPTED[self.major]:
                allowed = " or ".join(str(v) for v in sorted(ACCEPTED[self.major], reverse=True))
                cause = {"type": "status_exception",
                         "reason": f"{name.title()} version must be either version {allowed}, but found "
                                   f"{m.group(1)}. {name.title()}={headers[name]}"}
                err = {"type": "media_type_header_exception",
                       "reason": "Invalid media-type value on headers [Accept, Content-Type]"}
                return {"error": {"root_cause": [err], **err, "caused_by": cause}, "status": 400}
        return None

    def _answer(self, method: str, path: str, q: dict[str, str], headers: dict[str, str],
                body: Any) -> tuple[int, Any]:
        for f in self.failures:
            if re.fullmatch(f.path, path):
                time.sleep(f.delay)
                return f.status, f.body
        bad = self._media_error(headers)
        if bad is not None:
            return int(bad["status"]), bad
        with self._lock:
            return self._route(method, path.strip("/").split("/") if path != "/" else [], q, body)

    def _missing_index(self, name: str) -> tuple[int, Any]:
        e = {"type": "index_not_found_exception", "reason": f"no such index [{name}]", "index": name}
        return 404, {"error": {"root_cause": [e], **e}, "status": 404}

    def _resolve(self, name: str) -> list[str]:
        if name in self.aliases:
            return sorted(self.aliases[name])
        if "*" in name:
            rx = re.compile(re.escape(name).replace(r"\*", ".*"))
            return sorted(i for i in self.indices if rx.fullmatch(i))
        return [name] if name in self.indices else []

    def _route(self, method: str, p: list[str], q: dict[str, str], body: Any) -> tuple[int, Any]:
        if not p:
            version: dict[str, Any] = {"number": f"{self.major}.1.0", "build_flavor": "default"}
            if self.distribution:
                version = {"distribution": self.distribution, "number": "2.17.0"}
            return 200, {"name": "standin", "cluster_name": "standin", "version": version,
                         "tagline": "You Know, for Search"}
        if p[0] == "_alias" and len(p) == 2:
            found = {i: {"aliases": {p[1]: {}}} for i in self.aliases.get(p[1], set())}
            if not found:
                return 404, {"error": f"alias [{p[1]}] missing", "status": 404}
            return 200, found
        if p[0] == "_index_template":
            self.templates[p[1]] = body
            return 200, {"acknowledged": True}
        if p[0] == "_aliases":
            for action in body["actions"]:
                (kind, spec), = action.items()
                if kind == "add":
                    self.aliases.setdefault(spec["alias"], set()).add(spec["index"])
                else:
                    self.aliases.get(spec["alias"], set()).discard(spec["index"])
                    if not self.aliases.get(spec["alias"]):
                        self.aliases.pop(spec["alias"], None)
            return 200, {"acknowledged": True}
        if p[0] == "_bulk":
            return self._bulk(body, q)
        if p[0] == "_pit" and method == "DELETE":
            self.pits.pop(body["id"], None)
            return 200, {"succeeded": True, "num_freed": 1}
        if p[0] == "_search" and body and "pit" in body:
            return self._search(self.pits[body["pit"]["id"]], body, pit=body["pit"]["id"])
        if len(p) == 1:
            if method == "PUT":
                self.indices[p[0]] = {}
                return 200, {"acknowledged": True, "index": p[0]}
            if method == "DELETE":
                for name in self._resolve(p[0]):
                    self.indices.pop(name, None)
                    for members in self.aliases.values():
                        members.discard(name)
                self.aliases = {a: m for a, m in self.aliases.items() if m}
                return 200, {"acknowledged": True}
            return 200, {name: {"aliases": {}, "mappings": {}, "settings": {}} for name in self._resolve(p[0])}
        names = self._resolve(p[0])
        if not names:
            return self._missing_index(p[0])
        docs = [dict(src, _id=i) for n in names for i, (_, src) in self.indices[n].items()]
        if p[1] == "_refresh":
            return 200, {"_shards": {"total": 1, "successful": 1, "failed": 0}}
        if p[1] == "_count":
            return 200, {"count": len(_matching(docs, (body or {}).get("query")))}
        if p[1] == "_pit":
            pit = f"pit-{next(self._ids)}"
            self.pits[pit] = docs
            return 200, {"id": pit}
        if p[1] == "_search":
            return self._search(docs, body or {})
        return 400, {"error": {"type": "illegal_argument_exception", "reason": f"no handler for {p}"}, "status": 400}

    def _bulk(self, lines: list[dict[str, Any]], q: dict[str, str]) -> tuple[int, Any]:
        items = []
        for action, source in zip(lines[::2], lines[1::2]):
            meta = action["index"]
            name, ident, version = meta["_index"], meta["_id"], int(meta.get("version", 1))
            if q.get("require_alias") == "true" and name not in self.aliases:
                err = {"type": "index_not_found_exception",
                       "reason": f"no such index [{name}] and [require_alias] request flag is [true] and [{name}] "
                                 "is not an alias"}
                items.append({"index": {"_index": name, "_id": ident, "status": 404, "error": err}})
                continue
            targets = self._resolve(name) or [name]
            target = targets[0]
            docs = self.indices.setdefault(target, {})
            if ident in docs and meta.get("version_type") == "external_gte" and docs[ident][0] > version:
                err = {"type": "version_conflict_engine_exception",
                       "reason": f"[{ident}]: version conflict, current version [{docs[ident][0]}] is higher "
                                 f"than the one provided [{version}]"}
                items.append({"index": {"_index": target, "_id": ident, "status": 409, "error": err}})
                continue
            docs[ident] = (version, source)
            items.append({"index": {"_index": target, "_id": ident, "status": 201, "result": "created"}})
        return 200, {"errors": any("error" in next(iter(i.values())) for i in items), "items": items}

    def _search(self, docs: list[dict[str, Any]], body: dict[str, Any], pit: str | None = None) -> tuple[int, Any]:
        size, start = int(body.get("size", 10)), int(body.get("from", 0))
        if start + size > 10_000 and "search_after" not in body and size:
            e = {"type": "illegal_argument_exception",
                 "reason": "Result window is too large, from + size must be less than or equal to: [10000]"}
            return 400, {"error": {"root_cause": [e], **e}, "status": 400}
        hits = _matching(docs, body.get("query"))
        sort = body.get("sort") or [{"_score": "desc"}]
        hits.sort(key=functools.cmp_to_key(lambda a, b: _compare(a, b, sort)))
        if "search_after" in body:
            after = body["search_after"]
            hits = [h for h in hits if _compare_values(_sort_values(h, sort), after, sort) > 0]
        page = hits[start:start + size]
        want = body.get("_source", True)
        out: dict[str, Any] = {"took": 1, "timed_out": False, "hits": {
            "total": {"value": len(hits) if "search_after" not in body else 0, "relation": "eq"},
            "max_score": 1.0,
            "hits": [{"_index": "standin", "_id": h["_id"], "_score": 1.0, "sort": _sort_values(h, sort),
                      **({"_source": {k: h[k] for k in want if k in h}} if isinstance(want, list)
                         else {"_source": h} if want else {})} for h in page]}}
        if pit:
            out["pit_id"] = pit
        if body.get("aggs"):
            out["aggregations"] = {}
            for name, agg in body["aggs"].items():
                counts: dict[str, int] = {}
                for h in hits:
                    values = h.get(agg["terms"]["field"])
                    for v in values if isinstance(values, list) else [values] if values is not None else []:
                        counts[v] = counts.get(v, 0) + 1
                buckets = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: agg["terms"].get("size", 10)]
                out["aggregations"][name] = {"buckets": [{"key": k, "doc_count": c} for k, c in buckets]}
        return 200, out


def _sort_values(h: dict[str, Any], sort: list[Any]) -> list[Any]:
    out = []
    for spec in sort:
        (name, _), = spec.items() if isinstance(spec, dict) else ((spec, "desc"),)
        out.append(1.0 if name == "_score" else h.get(name))
    return out


def _compare_values(a: list[Any], b: list[Any], sort: list[Any]) -> int:
    for x, y, spec in zip(a, b, sort):
        (_, direction), = spec.items() if isinstance(spec, dict) else ((spec, "desc"),)
        if x != y:
            less = x < y
            return (-1 if less else 1) * (-1 if direction == "desc" else 1)
    return 0


def _compare(a: dict[str, Any], b: dict[str, Any], sort: list[Any]) -> int:
    return _compare_values(_sort_values(a, sort), _sort_values(b, sort), sort)


def _matches(doc: dict[str, Any], q: dict[str, Any] | None) -> bool:
    if not q or "match_all" in q:
        return True
    (kind, spec), = q.items()
    if kind == "term":
        (name, value), = spec.items()
        have = doc.get(name)
        return value in have if isinstance(have, list) else have == value
    if kind == "terms":
        (name, values), = spec.items()
        return doc.get(name) in values
    if kind == "bool":
        return (all(_matches(doc, c) for c in spec.get("must", []))
                and not any(_matches(doc, c) for c in spec.get("must_not", []))
                and (not spec.get("should") or any(_matches(doc, c) for c in spec["should"])))
    return True  # text queries: the stand-in does not analyse; every document matches


def _matching(docs: list[dict[str, Any]], q: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [d for d in docs if _matches(d, q)]
