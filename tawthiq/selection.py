"""What goes into an export: posts chosen by id, date, source or collection, and every record
that proves them (the page response and its request, the post's metadata record, its media with
their requests and metadata, the originals of any revisit, and each source file's warcinfo).

A search query selects through the index: its matching post ids come here (`query` names it).
`everything` selects every post and, besides, every record of the archive that no post needs
(a video captured alone, a failed fetch, a recheck): the whole archive in one bundle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import select

from tawthiq.errors import UserError
from tawthiq.archivers.wacz import ExportItem, RecordRef
from tawthiq.catalog import Catalog
from tawthiq.catalog import schema as t


class SelectionError(UserError, ValueError):
    """Nothing to export, or criteria that cannot be met; the message says which."""


@dataclass
class Selection:
    description: dict[str, Any]
    items: list[ExportItem]
    records: list[RecordRef]  # every record to copy, in (file, offset) order, without repeats


def _ref(row: Any) -> RecordRef:
    return RecordRef(row.record_id, row.rec_type, row.uri, row.date, row.file, row.offset, row.length,
                     row.status, row.mime, row.payload_digest)


_BATCH = 500  # posts whose records are looked up together (IN lists stay under SQLite's variable limit)


def _chunks(values: list[Any], size: int = _BATCH) -> Iterator[list[Any]]:
    for n in range(0, len(values), size):
        yield values[n:n + size]


class _Records:
    """The catalog's records a batch of posts needs, read with one query per kind and batch
    instead of several per post (the export of 1,000 posts spent most of its time here)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.by_id: dict[str, Any] = {}
        self.related: dict[str, list[Any]] = {}  # record id -> records concurrent to it or referring to it

    def load(self, ids: Iterable[str | None]) -> None:
        missing = sorted({i for i in ids if i and i not in self.by_id})
        for chunk in _chunks(missing):
            for row in self.conn.execute(select(t.Record).where(t.Record.record_id.in_(chunk))).all():
                self.by_id[row.record_id] = row
        for record_id in missing:
            self.by_id.setdefault(record_id, None)

    def get(self, record_id: str | None) -> Any:
        return self.by_id.get(record_id) if record_id else None

    def close_over(self, rows: Iterable[Any]) -> None:
        """Load the companions of `rows`, and the originals of revisits with theirs, until none is new."""
        frontier = {row.record_id: row for row in rows if row is not None}
        while frontier:
            todo = sorted(i for i in frontier if i not in self.related)
            for chunk in _chunks(todo):
                found: dict[str, list[Any]] = {i: [] for i in chunk}
                for rel in self.conn.execute(select(t.Record).where(
                        t.Record.concurrent_to.in_(chunk) | t.Record.refers_to.in_(chunk)).order_by(t.Record.id)).all():
                    for key in {rel.concurrent_to, rel.refers_to}:
                        if key in found:
                            found[key].append(rel)
                self.related.update(found)
            originals = [row.refers_to for row in frontier.values() if row.rec_type == "revisit" and row.refers_to]
            self.load(originals)
            frontier = {i: self.by_id[i] for i in originals if self.by_id.get(i) is not None and i not in self.related}

    def with_companions(self, row: Any, out: list[Any], seen: set[str]) -> None:
        """A record, the records sent with it, those that describe it, and any revisit original."""
        if row is None or row.record_id in seen:
            return
        out.append(row)
        seen.add(row.record_id)
        for rel in self.related.get(row.record_id, []):
            if rel.rec_type in ("request", "metadata") and rel.record_id not in seen:
                out.append(rel)  # its request; the posts, media facts and checks that cite it
                seen.add(rel.record_id)
        if row.rec_type == "revisit" and row.refers_to:
            self.with_companions(self.get(row.refers_to), out, seen)


def _items(conn: Any, posts: list[Any]) -> list[ExportItem]:
    """The export items of a batch of posts, each with every record that proves it."""
    records = _Records(conn)
    media_urls: dict[int, list[str]] = {}
    for post in posts:
        data = post.data or {}
        urls = [m.get("url") for m in data.get("media", []) if m.get("url")]
        urls += [m.get("thumbnail_url") for m in data.get("media", []) if m.get("thumbnail_url")]
        media_urls[post.id] = list(dict.fromkeys(urls))
    by_uri: dict[str, list[Any]] = {}
    for chunk in _chunks(sorted({u for urls in media_urls.values() for u in urls})):
        for row in conn.execute(select(t.Record).where(
                t.Record.uri.in_(chunk), t.Record.rec_type.in_(["response", "revisit", "resource"]))
                .order_by(t.Record.id)).all():
            by_uri.setdefault(row.uri, []).append(row)
    media_rows: dict[str, list[Any]] = {}
    for chunk in _chunks(sorted({p.url for p in posts})):
        for row in conn.execute(select(t.Media).where(t.Media.post_url.in_(chunk)).order_by(t.Media.id)).all():
            media_rows.setdefault(row.post_url, []).append(row)
    checks: dict[tuple[str, str], list[Any]] = {}
    for chunk in _chunks(sorted({p.post_id for p in posts})):
        for row in conn.execute(select(t.PostCheck).where(t.PostCheck.post_id.in_(chunk))
                                .order_by(t.PostCheck.id)).all():
            checks.setdefault((row.platform, row.post_id), []).append(row)
    records.load([p.metadata_record_id for p in posts]
                 + [((p.data or {}).get("warc") or {}).get("record_id") for p in posts]
                 + [m.record_id for rows in media_rows.values() for m in rows]
                 + [i for rows in checks.values() for c in rows for i in (c.evidence_record_id, c.metadata_record_id)])
    records.close_over(list(records.by_id.values()) + [r for rows in by_uri.values() for r in rows])

    items: list[ExportItem] = []
    for post in posts:
        rows: list[Any] = []
        seen: set[str] = set()
        meta = records.get(post.metadata_record_id)
        page = records.get(((post.data or {}).get("warc") or {}).get("record_id"))
        records.with_companions(page, rows, seen)
        if meta is not None and meta.record_id not in seen:
            rows.append(meta)
            seen.add(meta.record_id)
        for url in media_urls[post.id]:
            for media in by_uri.get(url, []):
                records.with_companions(media, rows, seen)
        for media in media_rows.get(post.url, []):
            records.with_companions(records.get(media.record_id), rows, seen)
        # later visits (still online, changed, gone) and the page each one saw: a takedown is
        # part of what the bundle proves
        for check in checks.get((post.platform, post.post_id), []):
            records.with_companions(records.get(check.evidence_record_id), rows, seen)
            checked = records.get(check.metadata_record_id)
            if checked is not None and checked.record_id not in seen:
                rows.append(checked)
                seen.add(checked.record_id)
        items.append(ExportItem(post.platform, post.post_id, post.url, post.last_captured, post.text or "",
                                post.published.isoformat() if post.published else None,
                                [_ref(r) for r in rows], page_record_id=page.record_id if page is not None else None))
    return items


def select_posts(catalog: Catalog, *, ids: list[str] | None = None, since: datetime | None = None,
                 until: datetime | None = None, source: str | None = None,
                 collection: str | None = None, search: str | None = None, everything: bool = False) -> Selection:
    """`search` is the query that produced `ids` (recorded in the custody manifest)."""
    if everything and (search is not None or any([ids, since, until, source, collection])):
        raise SelectionError("everything (--all) is exported alone: drop the other criteria")
    if search is not None and not ids:
        raise SelectionError(f"the search {search!r} matches no post")
    if not everything and not any([ids, since, until, source, collection]):
        raise SelectionError("choose what to export: a search query, --ids, --since/--until, --source, --collection or --all")
    with catalog.engine.connect() as conn:
        query = select(t.Post)
        if ids:
            query = query.where(t.Post.post_id.in_(ids))
        if since:
            query = query.where(t.Post.published >= since)
        if until:
            query = query.where(t.Post.published <= until)
        if source:
            query = query.where(t.Post.source == source)
        if collection:
            runs = select(t.CaptureRun.id).where(t.CaptureRun.collection == collection)
            captured = select(t.PostCapture.post).where(t.PostCapture.run_id.in_(runs))
            query = query.where(t.Post.id.in_(captured))
        posts = conn.execute(query.order_by(t.Post.published, t.Post.id)).all()
        if ids:
            missing = sorted(set(ids) - {p.post_id for p in posts})
            if missing:
                raise SelectionError(f"no archived post with id {', '.join(repr(m) for m in missing[:5])}")
        if not posts and not everything:
            raise SelectionError("no archived post matches the selection")

        items: list[ExportItem] = []
        for n in range(0, len(posts), _BATCH):
            items += _items(conn, posts[n:n + _BATCH])

        rest = conn.execute(select(t.Record)).all() if everything else []
        if everything and not rest:
            raise SelectionError("nothing archived yet: there is nothing to export")
        files = {r.file for item in items for r in item.records}
        infos = conn.execute(select(t.Record).where(t.Record.rec_type == "warcinfo", t.Record.file.in_(files))).all()

    every: dict[str, RecordRef] = {}
    for ref in [_ref(r) for r in infos] + [r for item in items for r in item.records] + [_ref(r) for r in rest]:
        every.setdefault(ref.record_id, ref)
    ordered = sorted(every.values(), key=lambda r: (r.file, r.offset))
    description = {k: v for k, v in {
        "query": search, "ids": ids if search is None else None, "matched": len(items) if search else None, "since": since.isoformat() if since else None, "until": until.isoformat() if until else None,
        "source": source, "collection": collection, "everything": everything}.items() if v}
    return Selection(description=description, items=items, records=ordered)
