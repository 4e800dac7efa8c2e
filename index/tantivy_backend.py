"""The embedded backend: a tantivy index in a folder of the data directory, no server.

Layout: `<root>/v<ANALYSIS_VERSION>-<stamp>/` holds an index; `<root>/current` is a symlink to
the live one. A rebuild fills a new folder and swaps the link atomically, so searches never
see a half-built index. tantivy allows one writer per index across processes: writers are
opened per batch and released at once, and a busy lock is waited for (another capture may be
committing), not fought.

A rebuild loses no live write: while it runs, `<root>/rebuild-<dir>.journal` exists and every
upsert (any process) also appends its documents there; the rebuild replays the journal into the
new index under `<root>/.journal.lock` and swaps the link before releasing it, and an upsert
that finds the link moved reopens the index it points to before writing.

A journal is live while its rebuild holds an flock on it; an upsert appends only to live ones and
deletes the others (left by a killed rebuild). Journal lines are ASCII JSON (no U+2028 inside
a line); a torn last line (a writer killed mid-write) is skipped and logged, not fatal.

Hits come in one total order, shared with the Elasticsearch backend: score (or date) descending,
then id ascending. tantivy alone breaks ties by internal document address, which changes with
merges. So: a query that scores every hit the same (filters, dates, match-all) is ordered by the
fast `id` field; a date sort takes each run of equal dates on the page in id order with one
search per run (`published` equal, ordered by id); a scored query reads the hits tied at the
cut too (up to TIE_SCAN more) and sorts them by id.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import tantivy

from tawthiq.index.analysis import ANALYSIS_VERSION
from tawthiq.index.backend import FACET_SIZE, FACETS, IndexMissing, IndexUnavailable, RawHit, RawResult
from tawthiq.index.documents import IndexDoc
from tawthiq.index.query import FUZZY_BOOST, FUZZY_MIN, And, DateRange, Filter, MatchAll, Node, Not, Or, Prefix, Terms

log = logging.getLogger(__name__)

_KEYED = ("platform", "source", "author", "lang")  # filterable case-insensitively via <name>_k
LOCK_WAIT_S = 120.0
HEAP = 128_000_000
REBUILD_HEAP = 512_000_000  # fewer, larger segments for a bulk build
TIE_SCAN = 10_000  # hits tied with the last one of a page read beyond it to order them by id
JOURNAL_GLOB = "rebuild-*.journal"
LAYOUT = "f1"  # f1: `id` is a fast field (ordered by it); an index of another layout must be rebuilt
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


STORED_ONLY = "stored_only"  # a tokenizer that yields no tokens: the field is kept, not indexed
_STORED_TEXT = ("post_id", "url", "text", "published_at", "captured_at", "warc", "image_text")


def build_schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, fast=True, tokenizer_name="raw")
    sb.add_text_field("terms", tokenizer_name="whitespace", index_option="position")
    sb.add_text_field("words", tokenizer_name="whitespace", index_option="basic")
    sb.add_text_field("image_terms", tokenizer_name="whitespace", index_option="position")
    sb.add_text_field("image_words", tokenizer_name="whitespace", index_option="basic")
    for name in FACETS:  # platform, source, author, lang, month, has: counted from fast fields
        sb.add_text_field(name, stored=True, fast=True, tokenizer_name="raw", index_option="basic")
    for name in _KEYED:
        sb.add_text_field(f"{name}_k", tokenizer_name="raw", index_option="basic")
    sb.add_text_field("cluster", stored=True, fast=True, tokenizer_name="raw", index_option="basic")
    sb.add_date_field("published", indexed=True, fast=True)
    for name in _STORED_TEXT:
        sb.add_text_field(name, stored=True, tokenizer_name=STORED_ONLY, index_option="basic")
    return sb.build()


def _register(index: tantivy.Index) -> None:
    index.register_tokenizer(STORED_ONLY, tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(r"[^\s\S]")).build())


def encode(d: IndexDoc) -> tuple[str, str]:
    """(id, the document as tantivy's JSON): built on the analysis workers during a rebuild,
    so the writer's process only hands strings to tantivy."""
    o: dict[str, Any] = {
        "id": d.id, "terms": d.terms, "words": d.words, "month": d.month, "cluster": d.cluster, "has": d.has,
        "published": d.published.isoformat(), "post_id": d.post_id, "url": d.url, "text": d.text,
        "published_at": d.published_at, "captured_at": d.captured, "warc": json.dumps(d.warc),
        "image_terms": d.image_terms, "image_words": d.image_words, "image_text": d.image_text,
    }
    for name in _KEYED:
        value = getattr(d, name)
        if value:
            o[name] = value
            o[f"{name}_k"] = value.casefold()
    return d.id, json.dumps(o, ensure_ascii=True)


def _stored(doc: tantivy.Document) -> dict[str, Any]:
    f = doc.to_dict()
    out: dict[str, Any] = {k: (v[0] if v else "") for k, v in f.items() if k != "has"}
    out["has"] = f.get("has", [])
    for name in ("author", "lang", "source", "platform"):
        out.setdefault(name, "")
    out["warc"] = json.loads(out.get("warc") or "{}")
    out.pop("month", None)
    return out


def _unscored(node: Node) -> bool:
    """Whether every hit of the query scores the same, in tantivy and in Elasticsearch alike:
    filters, date ranges, match-all, and conjunctions or negations of them (an Or adds up
    the clauses a hit matches, so it does not)."""
    if isinstance(node, (MatchAll, Filter, DateRange)):
        return True
    if isinstance(node, Not):
        return _unscored(node.child)
    if isinstance(node, And):
        return all(_unscored(c) for c in node.children)
    return False


def _regex_escape(s: str) -> str:
    return "".join("\\" + c if c in r".^$*+?()[]{}|\-&~#@<>\"" else c for c in s)


class TantivyBackend:
    name = "tantivy"

    def __init__(self, root: Path, *, create: bool = True) -> None:
        self.root = Path(root)
        self.schema = build_schema()
        self._index: tantivy.Index | None = None
        self._target = ""
        if create and not self.current.exists():
            self._swap_in(self._new_dir())
        self._open()

    # -- layout --------------------------------------------------------------------------------
    @property
    def current(self) -> Path:
        return self.root / "current"

    def _new_dir(self) -> Path:
        path = self.root / f"v{ANALYSIS_VERSION}-{LAYOUT}-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.time_ns() % 10**9}"
        path.mkdir(parents=True)
        _register(tantivy.Index(self.schema, path=str(path)))
        return path

    def _swap_in(self, path: Path) -> None:
        link = self.root / f".current-{os.getpid()}"
        if link.is_symlink():
            link.unlink()
        link.symlink_to(path.name)
        os.replace(link, self.current)

    def _open(self) -> None:
        if not self.current.exists():
            raise IndexMissing(f"no search index in {self.root}: run `tawthiq reindex` to build it")
        target = os.readlink(self.current)
        if not target.startswith(f"v{ANALYSIS_VERSION}-{LAYOUT}-"):
            built = target.split("-")[0] + ("-" + target.split("-")[1] if target.count("-") > 1 else "")
            raise IndexMissing(
                f"the search index in {self.root} was built with analysis/layout {built}, "
                f"this tawthiq uses v{ANALYSIS_VERSION}-{LAYOUT}: run `tawthiq reindex`")
        self._index = tantivy.Index.open(str(self.current.resolve()))
        self._target = target
        _register(self._index)

    @contextmanager
    def _journal_lock(self) -> Iterator[None]:
        """Upserts and a rebuild's last step (replay the journal, swap) exclude each other."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / ".journal.lock", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    @property
    def index(self) -> tantivy.Index:
        assert self._index is not None
        return self._index

    # -- writing ---------------------------------------------------------------------------------
    def _writer(self, index: tantivy.Index, heap: int = HEAP) -> tantivy.IndexWriter:
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                return index.writer(heap_size=heap)
            except ValueError as exc:
                if "LockBusy" not in str(exc) or time.monotonic() > deadline:
                    raise IndexUnavailable(f"the search index is busy or unwritable: {exc}") from None
                time.sleep(0.2)

    def _write(self, index: tantivy.Index, items: list[tuple[str, str]]) -> None:
        writer = self._writer(index)
        try:
            for ident, payload in items:
                writer.delete_documents_by_term("id", ident)
                writer.add_json(payload)
            writer.commit()
            writer.wait_merging_threads()
        except BaseException:
            writer.rollback()
            raise

    def upsert(self, docs: Iterable[IndexDoc]) -> int:
        items = list(map(encode, docs))
        if not items:
            return 0
        with self._journal_lock():
            if self.current.is_symlink() and os.readlink(self.current) != self._target:
                self._open()  # a rebuild swapped in a new index since this one was opened
            self._write(self.index, items)
            lines = "".join(json.dumps([i, p], ensure_ascii=True) + "\n" for i, p in items)
            for journal in self.root.glob(JOURNAL_GLOB):
                self._append_if_live(journal, lines)
        self.index.reload()
        return len(items)

    @staticmethod
    def _append_if_live(journal: Path, lines: str) -> None:
        """Append to a journal whose rebuild still holds its lock (a rebuild is running: it gets
        the documents too); delete one nobody holds (its rebuild was killed). Called under the
        journal lock, so no rebuild is replaying meanwhile."""
        try:
            fd = os.open(journal, os.O_WRONLY | os.O_APPEND)
        except FileNotFoundError:
            return  # its rebuild just finished
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # held: live
                os.write(fd, lines.encode("ascii"))
                return
            log.warning("removing %s: the rebuild that wrote it is gone", journal.name)
            journal.unlink(missing_ok=True)
        finally:
            os.close(fd)

    @staticmethod
    def _replay_items(journal: Path) -> list[tuple[str, str]]:
        """The (id, document) pairs in a journal; a torn last line (no newline: its writer was
        killed mid-write, so its upsert failed) is skipped and logged."""
        text = journal.read_bytes().decode("ascii", errors="replace")
        lines = text.split("\n")
        tail = lines.pop()  # "" when the file ends with a newline
        if tail:
            log.warning("%s: skipping a torn last line of %d bytes", journal.name, len(tail))
        out = []
        for n, line in enumerate(lines, 1):
            try:
                ident, payload = json.loads(line)
            except (ValueError, TypeError) as exc:
                raise IndexUnavailable(f"{journal}: line {n} is not a journal entry ({exc}); "
                                       "the live index is untouched, run `tawthiq reindex` again") from None
            out.append((str(ident), str(payload)))
        return out

    @contextmanager
    def rebuild(self) -> Iterator["_TantivyRebuild"]:
        path = self._new_dir()
        journal = self.root / f"rebuild-{path.name}.journal"
        pending = self.root / f".{journal.name}.new"
        # Locked before it is visible under its name, so an upsert never takes it for a dead one.
        jfd = os.open(pending, os.O_CREAT | os.O_RDWR | os.O_TRUNC, 0o644)
        swapped = False
        try:
            fcntl.flock(jfd, fcntl.LOCK_EX)
            os.replace(pending, journal)
            index = tantivy.Index.open(str(path))
            _register(index)
            writer = self._writer(index, heap=REBUILD_HEAP)
            build = _TantivyRebuild(writer)
            yield build
            writer.commit()
            writer.wait_merging_threads()
            with self._journal_lock():  # what captures wrote meanwhile, then the swap
                written = self._replay_items(journal)
                if written:
                    self._write(index, written)
                old = self.current.resolve() if self.current.exists() else None
                self._swap_in(path)
                swapped = True  # from here on `path` is the live index: never delete it
                journal.unlink(missing_ok=True)
                self._open()
        except BaseException:
            if not swapped:
                pending.unlink(missing_ok=True)
                journal.unlink(missing_ok=True)
                shutil.rmtree(path, ignore_errors=True)
            raise
        finally:
            os.close(jfd)
        if old is not None and old != path:
            shutil.rmtree(old, ignore_errors=True)

    # -- reading ---------------------------------------------------------------------------------
    def _compile(self, node: Node) -> tantivy.Query:
        s = self.schema
        Q, O = tantivy.Query, tantivy.Occur
        if isinstance(node, MatchAll):
            return Q.all_query()
        if isinstance(node, Terms):
            return self._terms(node)
        if isinstance(node, Prefix):
            fields = {"text": ["words"], "image": ["image_words"]}.get(node.scope, ["words", "image_words"])
            parts = [(O.Should, Q.regex_query(s, f, _regex_escape(node.word) + ".*")) for f in fields]
            return parts[0][1] if len(parts) == 1 else Q.boolean_query(parts)
        if isinstance(node, Filter):
            field = node.field if node.field in ("has", "id", "cluster") else f"{node.field}_k"
            return Q.term_query(s, field, node.value)
        if isinstance(node, DateRange):
            return Q.range_query(s, "published", tantivy.FieldType.Date, node.start, node.end,
                                 include_lower=True, include_upper=node.end is None)
        if isinstance(node, Not):
            return Q.boolean_query([(O.Must, Q.all_query()), (O.MustNot, self._compile(node.child))])
        if isinstance(node, And):
            parts = [(O.MustNot, self._compile(c.child)) if isinstance(c, Not) else (O.Must, self._compile(c))
                     for c in node.children]
            if all(o == O.MustNot for o, _ in parts):
                parts.append((O.Must, Q.all_query()))
            return Q.boolean_query(parts)
        if isinstance(node, Or):
            return Q.boolean_query([(O.Should, self._compile(c)) for c in node.children])
        raise TypeError(f"unknown query node {node!r}")

    def _terms(self, node: Terms) -> tantivy.Query:
        """Exact in the post's text and in its images' text; tolerant (one edit per word of
        FUZZY_MIN letters or more) in image text only, weighted far below (index.query)."""
        s, Q, O = self.schema, tantivy.Query, tantivy.Occur

        def exact(field: str) -> tantivy.Query:
            if len(node.terms) == 1:
                return Q.term_query(s, field, node.terms[0])
            return Q.phrase_query(s, field, list(node.terms))

        parts = []
        if node.scope != "image":
            parts.append(exact("terms"))
        if node.scope != "text":
            parts.append(exact("image_terms"))
        words = node.fuzzy_words()
        if any(len(w) >= FUZZY_MIN for w in words):
            each = [(O.Must, Q.fuzzy_term_query(s, "image_words", w, 1, False) if len(w) >= FUZZY_MIN
                     else Q.term_query(s, "image_terms", t)) for w, t in zip(words, node.terms)]
            parts.append(Q.boost_query(each[0][1] if len(each) == 1 else Q.boolean_query(each), FUZZY_BOOST))
        return parts[0] if len(parts) == 1 else Q.boolean_query([(O.Should, p) for p in parts])

    def search(self, query: Node, *, sort: str = "relevance", offset: int = 0, limit: int = 20) -> RawResult:
        """Hits in (score or date descending, id ascending) order, the Elasticsearch backend's."""
        q = self._compile(query)
        searcher = self.index.searcher()
        if sort == "date":
            return self._by_date(searcher, q, offset, limit)
        if _unscored(query):  # every hit scores the same: the order is the id's
            result = searcher.search(q, limit=max(limit, 1), offset=offset, order_by_field="id",
                                     order=tantivy.Order.Asc)
            hits = [RawHit(_stored(searcher.doc(addr)), 1.0) for _, addr in result.hits[:limit]]
            return RawResult(result.count, hits)  # type: ignore[attr-defined]  # tantivy's stub lacks count
        n = offset + max(limit, 1)
        k = n + 1
        result = searcher.search(q, limit=k)
        while (len(result.hits) == k and result.hits[-1][0] == result.hits[n - 1][0]
               and k < n + TIE_SCAN):
            k = min(k * 4, n + TIE_SCAN)
            result = searcher.search(q, limit=k)
        pairs = result.hits
        if len(pairs) > n:  # keep the cut's ties only: every hit ranked above the n-th is in already
            last = pairs[n - 1][0]
            pairs = [p for i, p in enumerate(pairs) if i < n or p[0] == last]
        ranked = [(key, _stored(searcher.doc(addr))) for key, addr in pairs]
        ranked.sort(key=lambda kd: (-kd[0], kd[1]["id"]))
        hits = [RawHit(stored, key) for key, stored in ranked[offset:offset + limit]]
        return RawResult(result.count, hits)  # type: ignore[attr-defined]

    def _by_date(self, searcher: tantivy.Searcher, q: tantivy.Query, offset: int, limit: int) -> RawResult:
        """Newest first, then id: the page's positions come from one date-ordered search (fast
        field values only); each run of equal dates that the page touches and that is longer
        than one hit is read in id order by its own search (the query, that date, by id)."""
        n = offset + max(limit, 1)
        result = searcher.search(q, limit=n + 1, order_by_field="published", order=tantivy.Order.Desc)
        keys = [key for key, _ in result.hits]
        hits: list[RawHit] = []
        pos = offset
        while pos < min(offset + limit, len(keys)):
            value = keys[pos]
            start = keys.index(value)  # runs are contiguous: every later date ranks before
            end = pos
            while end < len(keys) and keys[end] == value:
                end += 1
            want = min(offset + limit, end) - pos
            if end - start == 1:  # a run of one (a longer run reaching past the page has 2+ here)
                hits.append(RawHit(_stored(searcher.doc(result.hits[pos][1])), None))
            else:
                when = _EPOCH + timedelta(microseconds=value // 1000)
                same = tantivy.Query.boolean_query([
                    (tantivy.Occur.Must, q),
                    (tantivy.Occur.Must, tantivy.Query.range_query(
                        self.schema, "published", tantivy.FieldType.Date, when, when,
                        include_lower=True, include_upper=True))])
                run = searcher.search(same, limit=want, offset=pos - start, order_by_field="id",
                                      order=tantivy.Order.Asc)
                hits += [RawHit(_stored(searcher.doc(addr)), None) for _, addr in run.hits]
            pos += want
        return RawResult(result.count, hits)  # type: ignore[attr-defined]

    def post_ids(self, query: Node) -> list[str]:
        searcher = self.index.searcher()
        q = self._compile(query)
        total: int = searcher.search(q, limit=1).count  # type: ignore[attr-defined]
        return [searcher.doc(addr).get_first("post_id")  # type: ignore[misc]  # always stored
                for _, addr in searcher.search(q, limit=max(total, 1)).hits]

    def facets(self, query: Node) -> dict[str, list[tuple[str, int]]]:
        aggs = {name: {"terms": {"field": name, "size": FACET_SIZE}} for name in FACETS}
        aggs["month"]["terms"]["order"] = {"_key": "desc"}
        out = self.index.searcher().aggregate(self._compile(query), aggs)
        return {name: [(b["key"], int(b["doc_count"])) for b in out.get(name, {}).get("buckets", [])]
                for name in FACETS}

    def cluster_sizes(self, clusters: list[str]) -> dict[str, int]:
        searcher = self.index.searcher()
        return {c: searcher.search(tantivy.Query.term_query(self.schema, "cluster", c),
                                   limit=1).count  # type: ignore[attr-defined]
                for c in clusters}

    def count(self) -> int:
        return self.index.searcher().num_docs

    def close(self) -> None:
        self._index = None


class _TantivyRebuild:
    """Documents given later replace earlier ones with the same id (a newer capture)."""

    encode = staticmethod(encode)

    def __init__(self, writer: tantivy.IndexWriter) -> None:
        self.writer = writer
        self.seen: set[str] = set()

    def add(self, docs: Iterable[IndexDoc]) -> int:
        return self.add_encoded(map(encode, docs))

    def add_encoded(self, items: Iterable[tuple[str, str]]) -> int:
        n = 0
        for ident, payload in items:
            if ident in self.seen:
                self.writer.delete_documents_by_term("id", ident)
            self.seen.add(ident)
            self.writer.add_json(payload)
            n += 1
        return n

