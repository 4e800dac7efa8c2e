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

        by_id: dict[str, Any] = {}

        def record(record_id: str | None) -> Any:
            if not record_id:
                return None
            if record_id not in by_id:
                by_id[record_id] = conn.execute(select(t.Record).where(t.Record.record_id == record_id)).first()
            return by_id[record_id]

        def with_companions(row: Any, out: list[Any]) -> None:
            """A record, the records sent with it, those that describe it, and any revisit original."""
            if row is None or row in out:
                return
            out.append(row)
            for rel in conn.execute(select(t.Record).where(
                    (t.Record.concurrent_to == row.record_id) | (t.Record.refers_to == row.record_id))).all():
                if rel.rec_type in ("request", "metadata") and rel not in out:
                    out.append(rel)  # its request; the posts, media facts and checks that cite it
            if row.rec_type == "revisit" and row.refers_to:
                with_companions(record(row.refers_to), out)

        items: list[ExportItem] = []
        for post in posts:
            rows: list[Any] = []
            meta = record(post.metadata_record_id)
            data = post.data or {}
            warc = data.get("warc") or {}
            page = record(warc.get("record_id"))
            with_companions(page, rows)
            if meta is not None and meta not in rows:
                rows.append(meta)
            media_urls = [m.get("url") for m in data.get("media", []) if m.get("url")]
            media_urls += [m.get("thumbnail_url") for m in data.get("media", []) if m.get("thumbnail_url")]
            for url in dict.fromkeys(media_urls):
                for media in conn.execute(select(t.Record).where(
                        t.Record.uri == url, t.Record.rec_type.in_(["response", "revisit", "resource"]))).all():
                    with_companions(media, rows)
            for media in conn.execute(select(t.Media).where(t.Media.post_url == post.url)).all():
                with_companions(record(media.record_id), rows)
            # later visits (still online, changed, gone) and the page each one saw: a takedown is
            # part of what the bundle proves
            for check in conn.execute(select(t.PostCheck).where(
                    t.PostCheck.platform == post.platform, t.PostCheck.post_id == post.post_id)).all():
                with_companions(record(check.evidence_record_id), rows)
                checked = record(check.metadata_record_id)
                if checked is not None and checked not in rows:
                    rows.append(checked)
            items.append(ExportItem(post.platform, post.post_id, post.url, post.last_captured, post.text or "",
                              post.published.isoformat() if post.published else None,
                              [_ref(r) for r in rows], page_record_id=page.record_id if page is not None else None))

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
