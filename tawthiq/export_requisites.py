"""An export carries its pages' requisites (stylesheets, fonts, scripts, avatars, CSS images), so a
viewer draws each page as it looked and not as bare HTML with broken images.

Nothing in the archive links a requisite to its page (a shared stylesheet is fetched once for a
whole crawl), so the exported pages are read again and the requisites they name looked up in the
catalog: for each URL the capture nearest the page's own, with its request and, for a revisit,
its original. Stylesheets are followed two levels down, as the capture does.

A page captured in the browser needs more than its HTML names: the answers its scripts fetched
(XHR, fetch()), the images they inserted. Its `browser-page` metadata record lists every response
the browser received for it, so those come along whole (`browser_exchange_refs`): a replay runs
the page's scripts against what they got when it was captured.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tawthiq.archivers.wacz import RecordRef
from tawthiq.crawlers.parsers.requisites import css_urls, html_requisites
from tawthiq.catalog import Catalog
from tawthiq.catalog import schema as t

_MAX_READ = 16 << 20  # a page or stylesheet is read this far for its links, no further
_DEPTH = 2
_EVIDENCE = ("screenshot_record_id", "pdf_record_id", "dom_record_id")


def _ref(row: Any) -> RecordRef:
    return RecordRef(row.record_id, row.rec_type, row.uri, row.date, row.file, row.offset, row.length,
                     row.status, row.mime, row.payload_digest)


def _when(date: str) -> float:
    try:
        return datetime.fromisoformat(date.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _links(warcs_dir: Path, ref: RecordRef) -> list[str]:
    """The requisites an archived HTML page or stylesheet names ([] for anything else, or unreadable)."""
    from warcio.archiveiterator import ArchiveIterator

    try:
        with open(warcs_dir / ref.file, "rb") as fh:
            fh.seek(ref.offset)
            record = next(iter(ArchiveIterator(fh)), None)
            if record is None or record.http_headers is None:
                return []
            ctype = (record.http_headers.get_header("Content-Type") or "").lower()
            is_css = ctype.startswith("text/css") or ref.uri.split("?")[0].endswith(".css")
            if not (is_css or "html" in ctype):
                return []
            text = record.content_stream().read(_MAX_READ).decode("utf-8", errors="replace")
    except (OSError, ValueError, EOFError):  # a damaged record: verify reports it, the export goes on
        return []
    return css_urls(text, ref.uri) if is_css else html_requisites(text, ref.uri)


def requisite_refs(catalog: Catalog, pages: list[RecordRef], warcs_dir: Path) -> list[RecordRef]:
    """Records of what `pages` need to render, with their requests and revisit originals."""
    out: dict[str, RecordRef] = {}
    looked_up: set[str] = set()
    frontier = [(page, page, 0) for page in pages]  # (record to read, page it serves, depth)
    with catalog.engine.connect() as conn:
        while frontier:
            ref, page, depth = frontier.pop()
            urls = [u for u in _links(warcs_dir, ref) if u not in looked_up]
            looked_up.update(urls)
            if not urls:
                continue
            best: dict[str, Any] = {}
            for start in range(0, len(urls), 500):
                for row in conn.execute(select(t.Record).where(
                        t.Record.uri.in_(urls[start:start + 500]),
                        t.Record.rec_type.in_(["response", "revisit", "resource"]))).all():
                    known = best.get(row.uri)
                    if known is None or abs(_when(row.date) - _when(page.date)) < abs(_when(known.date) - _when(page.date)):
                        best[row.uri] = row
            for row in best.values():
                chosen = _with_requests(conn, row)
                for rec in chosen:
                    out.setdefault(rec.record_id, _ref(rec))
                if depth + 1 < _DEPTH:
                    frontier.append((_ref(chosen[1] if len(chosen) > 1 and chosen[1].rec_type != "request" else row),
                                     page, depth + 1))
    return list(out.values())


def _with_requests(conn: Any, row: Any) -> list[Any]:
    """A response (or revisit, with its original) and the request records sent with each."""
    chosen = [row]
    if row.rec_type == "revisit" and row.refers_to:
        original = conn.execute(select(t.Record).where(t.Record.record_id == row.refers_to)).first()
        if original is not None:
            chosen.append(original)
    for rec in list(chosen):
        chosen += conn.execute(select(t.Record).where(
            t.Record.concurrent_to == rec.record_id, t.Record.rec_type == "request")).all()
    return chosen


def browser_exchange_refs(catalog: Catalog, post_keys: list[tuple[str, str]], warcs_dir: Path) -> list[RecordRef]:
    """Every exchange the browser recorded for these posts' pages (platform "browser"), read from
    each page's `browser-page` metadata record (its "exchanges"), with requests and originals;
    and the evidence of the page as seen (screenshot, PDF, rendered DOM) with that record.
    A metadata record that cannot be read adds nothing: verify reports a damaged record."""
    import json

    from tawthiq.archivers.payload import PayloadError, read_payload

    wanted = [post_id for platform, post_id in post_keys if platform == "browser"]
    out: dict[str, RecordRef] = {}
    if not wanted:
        return []
    with catalog.engine.connect() as conn:
        for start in range(0, len(wanted), 500):
            for post in conn.execute(select(t.Post).where(t.Post.platform == "browser",
                                                          t.Post.post_id.in_(wanted[start:start + 500]))).all():
                info_id = ((post.data or {}).get("extra") or {}).get("browser_page_record_id")
                info = conn.execute(select(t.Record).where(t.Record.record_id == info_id)).first() if info_id else None
                if info is None:
                    continue
                try:
                    document = json.loads(read_payload(warcs_dir, info.file, info.offset, _MAX_READ).body)
                except (PayloadError, ValueError, OSError, EOFError):
                    continue
                ids = [info.record_id] + [document.get(k) for k in _EVIDENCE] + list(document.get("exchanges") or [])
                ids = [i for i in ids if isinstance(i, str)]
                for start_ids in range(0, len(ids), 500):
                    for row in conn.execute(select(t.Record).where(
                            t.Record.record_id.in_(ids[start_ids:start_ids + 500]))).all():
                        for rec in _with_requests(conn, row):
                            out.setdefault(rec.record_id, _ref(rec))
    return list(out.values())


def warcinfo_refs(catalog: Catalog, files: set[str]) -> list[RecordRef]:
    """The warcinfo record of each file a requisite came from, as every exported file has."""
    if not files:
        return []
    with catalog.engine.connect() as conn:
        rows = conn.execute(select(t.Record).where(t.Record.rec_type == "warcinfo", t.Record.file.in_(sorted(files)))).all()
    return [_ref(row) for row in rows]
