"""One post as the archive knows it: its text and times, every capture with its provenance,
its media records, and what rechecks found. Read by the web app (and its JSON API)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tawthiq.errors import NotFound
from tawthiq.catalog import Catalog
from tawthiq.catalog import schema as t


class PostNotFound(NotFound, LookupError):
    pass


def _record(conn: Any, record_id: str | None) -> Any:
    if not record_id:
        return None
    return conn.execute(select(t.Record).where(t.Record.record_id == record_id)).first()


def media_records(conn: Any, post: Any) -> list[dict[str, Any]]:
    """The archived photos and videos of a post (responses, resources; a revisit points at its
    original), with what the media records say about them."""
    data = post.data or {}
    urls = [m.get("url") for m in data.get("media", []) if m.get("url")]
    out: dict[str, dict[str, Any]] = {}
    for url in dict.fromkeys(urls):
        for row in conn.execute(select(t.Record).where(
                t.Record.uri == url, t.Record.rec_type.in_(["response", "revisit", "resource"]))).all():
            out.setdefault(row.record_id, {"record_id": row.record_id, "uri": row.uri, "mime": row.mime or "",
                                           "type": row.rec_type, "file": row.file, "offset": row.offset,
                                           "digest": row.payload_digest, "refers_to": row.refers_to})
    for m in conn.execute(select(t.Media).where(t.Media.post_url == post.url)).all():
        out.setdefault(m.record_id, {"record_id": m.record_id, "uri": m.source_url, "mime": m.mime,
                                     "type": "resource", "file": m.warc_file, "offset": m.warc_offset,
                                     "digest": f"sha256:{m.sha256}" if m.sha256 else None, "refers_to": m.revisit_of,
                                     "role": m.role, "duration": m.duration, "width": m.width, "height": m.height})
    return [m for m in out.values() if m["mime"].startswith(("image/", "video/", "audio/"))]


def post_detail(catalog: Catalog, platform: str, post_id: str) -> dict[str, Any]:
    with catalog.engine.connect() as conn:
        post = conn.execute(select(t.Post).where(t.Post.platform == platform, t.Post.post_id == post_id)).first()
        if post is None:
            raise PostNotFound(f"no archived post {platform}:{post_id}")
        captures = []
        for c in conn.execute(select(t.PostCapture).where(t.PostCapture.post == post.id)
                              .order_by(t.PostCapture.captured)).all():
            page = _record(conn, ((post.data or {}).get("warc") or {}).get("record_id"))
            captures.append({
                "captured": c.captured, "run_id": c.run_id, "metadata_record_id": c.metadata_record_id,
                "content_sha256": c.content_sha256,
                "warc": {"file": c.warc_file, "offset": c.warc_offset, "length": c.warc_length},
                "page_record_id": page.record_id if page else None,
                "page_digest": page.payload_digest if page else None,
            })
        checks = [{"checked": k.checked, "state": k.state, "detail": k.detail, "http_status": k.http_status}
                  for k in conn.execute(select(t.PostCheck).where(
                      t.PostCheck.platform == platform, t.PostCheck.post_id == post_id)
                      .order_by(t.PostCheck.checked)).all()]
        data = post.data or {}
        page_id = (data.get("warc") or {}).get("record_id")
        return {
            "platform": post.platform, "post_id": post.post_id, "source": post.source, "url": post.url,
            "author": post.author or "", "published": post.published.isoformat() if post.published else None,
            "first_captured": post.first_captured, "last_captured": post.last_captured, "text": post.text or "",
            "language": post.language, "views": data.get("views"), "forwarded_from": data.get("forwarded_from"),
            "captures": captures, "media": media_records(conn, post), "checks": checks,
            "removed": bool(checks) and checks[-1]["state"] == "gone",
            "page_record_id": page_id, "searchable": bool(post.indexed),
            # A platform's own warning (Mastodon's sensitive flag and content warning, Bluesky's
            # self-labels): the web app blurs such a post's media whatever blur_media says.
            "sensitive": bool((data.get("extra") or {}).get("sensitive")),
            "content_warning": (data.get("extra") or {}).get("spoiler_text") or "",
        }


def record_location(catalog: Catalog, record_id: str) -> Any:
    with catalog.engine.connect() as conn:
        return _record(conn, record_id)


def thumbnails(catalog: Catalog, keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """One picture per post for a list of search results: a page captured in the browser shows its
    screenshot (the page as seen), any other post its first archived image; posts with neither
    are left out. Each carries whether its platform marked it sensitive (always blurred)."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    with catalog.engine.connect() as conn:
        for platform, post_id in keys:
            post = conn.execute(select(t.Post).where(t.Post.platform == platform, t.Post.post_id == post_id)).first()
            if post is None:
                continue
            images = [m for m in media_records(conn, post) if m["mime"].startswith("image/")]
            shots = [m for m in images if m.get("role") == "screenshot"]
            chosen = shots[0] if shots else next((m for m in images if m.get("role") != "screenshot"), None)
            if chosen is not None:
                out[(platform, post_id)] = {
                    "record_id": chosen["record_id"], "screenshot": bool(shots),
                    "sensitive": bool(((post.data or {}).get("extra") or {}).get("sensitive"))}
    return out
