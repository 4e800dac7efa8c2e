"""The capture session: the sink spiders and the recorder report to during one run.

It turns wire captures into archived exchanges, posts into metadata records, and failures
into both a metadata record (so the WARC remembers what could not be captured) and a line in
the run's summary. It also keeps the counters the progress display shows.

Captures outside Scrapy (yt-dlp, a browser) are fetchers (crawlers/fetchers/), queued and run
after the crawl by tawthiq/fetching.py. The duties that follow from what is archived (keyword
filter, near-duplicate signing, OCR of images, TSA time-stamps) are listeners (tawthiq/listeners/) the session
calls on its events.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from scrapy import Request

from tawthiq.archivers.archiver import Archiver
from tawthiq.archivers.exchange import Exchange, unparsed_records
from tawthiq.archivers.httpblock import HTTPParseError
from tawthiq.archivers.media import MediaContent, MediaFacts, facts_from_bytes, media_document
from tawthiq.archivers.revisits import DigestIndex
from tawthiq.archivers.writer import SealedFile, WarcWriter, WrittenRecord
from tawthiq.crawlers.models import Post, WarcLocation
from tawthiq.crawlers.platforms import FetchJob, option_models
from tawthiq.crawlers.spiders.base import ROLE
from tawthiq.crawlers.wire_capture import WireCapture
from tawthiq import __version__
from tawthiq.catalog import Catalog
from tawthiq.fetching import FetchQueue
from tawthiq.listeners import ImageOcr, Listener, session_listeners
from tawthiq.search_index import LiveIndexer
from tawthiq.settings import Settings


@dataclass
class CaptureStats:
    pages: int = 0
    posts: int = 0
    media: int = 0
    responses: int = 0
    revisits: int = 0
    truncated: int = 0
    videos: int = 0
    checks: dict[str, int] = field(default_factory=dict)
    bytes_written: int = 0
    files: set[str] = field(default_factory=set)
    errors: list[tuple[str, str]] = field(default_factory=list)
    logged_out: list[str] = field(default_factory=list)  # pages that showed the "logged out" marker
    ocr: dict[str, int] = field(default_factory=dict)  # images read: text, no_text, gated, failed, reused

    def as_dict(self) -> dict[str, Any]:
        return {
            "pages": self.pages, "posts": self.posts, "media": self.media, "responses": self.responses,
            "revisits": self.revisits, "truncated": self.truncated, "videos": self.videos, "bytes": self.bytes_written,
            "files": len(self.files), "errors": len(self.errors), "checks": self.checks, "ocr": self.ocr,
            **({"logged_out": self.logged_out} if self.logged_out else {}),
        }


def warcinfo_fields(settings: Settings, specs: list[str], run_id: int | None) -> dict[str, str]:
    import scrapy
    import warcio

    return {
        "software": f"tawthiq/{__version__} (Scrapy {scrapy.__version__}; warcio {warcio.__version__})"
        if hasattr(warcio, "__version__") else f"tawthiq/{__version__} (Scrapy {scrapy.__version__})",
        "format": "WARC File Format 1.1",
        "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        "hostname": socket.gethostname(),
        "isPartOf": settings.collection,
        "operator": settings.operator or "(not set)",
        "http-header-user-agent": settings.user_agent,
        "robots": "obey" if settings.obey_robots_txt else "ignore",
        "tawthiq-run": str(run_id) if run_id is not None else "",
        "tawthiq-worker": settings.worker_id or socket.gethostname(),
        "tawthiq-specs": " ".join(specs),
        "tawthiq-limits": "; ".join([f"max-response-size={settings.max_response_size}",
                                     *(f"{name.replace('_', '-')}={getattr(settings, name)}"
                                       for model in option_models() for name in model.model_fields
                                       if name.endswith(("_limit", "_pages"))),
                                     f"rotate-at={settings.warc_max_size}"]),
    }


class CaptureSession:
    def __init__(self, settings: Settings, catalog: Catalog, specs: list[str], run_id: int | None,
                 keywords: list[str] | None = None) -> None:
        self.settings = settings
        self.keywords = [k for k in (keywords or []) if k.strip()]
        self.catalog = catalog
        self.stats = CaptureStats()
        writer = WarcWriter(
            settings.warcs_dir, prefix=settings.warc_prefix, max_size=settings.warc_max_size,
            warcinfo_fields=warcinfo_fields(settings, specs, run_id),
        )
        self.indexer = LiveIndexer(settings, lambda message: self.stats.errors.append(("search index", message)),
                                   clusters_of=self._post_clusters, image_texts_of=self._post_image_texts)
        self.listeners: list[Listener] = session_listeners(
            settings, catalog, self.keywords, lambda where, message: self.stats.errors.append((where, message)),
            write=lambda url, document, image: self.archiver.metadata(url, document, kind="ocr", refers_to=image))
        self.ocr = next((x for x in self.listeners if isinstance(x, ImageOcr)), None)
        self._stopped = False
        self.archiver = Archiver(writer, DigestIndex(catalog.find_digest), [catalog, self, self.indexer])
        self._sealed_bytes = 0
        self.fetches = FetchQueue(self)

    def _post_clusters(self, urls: list[str]) -> dict[str, str]:
        self.catalog.flush()
        return self.catalog.post_clusters(urls)

    def _post_image_texts(self, urls: list[str]) -> dict[str, tuple[list[str], dict[str, str]]]:
        """post URL -> (sha256 of its images, sha256 -> text read in it), from the catalog."""
        self.catalog.flush()
        shas = self.catalog.post_image_shas(urls)
        rows = self.catalog.image_texts(s for found in shas.values() for s in found)
        return {url: (found, {s: rows[s].text for s in found if s in rows and rows[s].status == "text"})
                for url, found in shas.items()}

    # -- archive listener: keep byte and file counts, tell the session's listeners -----------
    def records_written(self, written: list[Any]) -> None:
        for listener in self.listeners:
            listener.records_written(written)

    def file_opened(self, name: str) -> None:
        self.stats.files.add(name)

    def file_sealed(self, sealed: SealedFile) -> None:
        self._sealed_bytes += sealed.size
        self.stats.bytes_written = self._sealed_bytes
        for listener in self.listeners:
            listener.file_sealed(sealed)

    def current_bytes(self) -> int:
        out = self.archiver.writer._out  # noqa: SLF001 - live byte count of the open file
        return self._sealed_bytes + (out.pos if out is not None else 0)

    # -- sink interface ---------------------------------------------------------------------
    def archive_exchange(self, capture: WireCapture, request: Request) -> WarcLocation | None:
        role = request.meta.get(ROLE, "page")
        exchange = Exchange(
            uri=capture.url, method=capture.method, raw_request=bytes(capture.request_bytes),
            raw_response=bytes(capture.response_bytes), ip=capture.ip,
            started=capture.started or datetime.now(timezone.utc), truncated=capture.truncated,
            attempts=list(capture.attempts),
        )
        try:
            archived = self.archiver.exchange(exchange)
        except HTTPParseError as exc:
            self._keep_unparseable(exchange, str(exc))
            return None
        self.stats.responses += 1
        if archived.is_revisit:
            self.stats.revisits += 1
        status = archived.message.status or 0
        if role == "media":
            self.stats.media += 1
            if 200 <= status < 300:
                self.note_fetched_media(archived, capture.url, post_url=request.meta.get("post_url"))
        elif role != "requisite" and not 300 <= status < 400:
            self.stats.pages += 1
        truncated = archived.response.pending.info.get("truncated")
        if truncated:
            self.stats.truncated += 1
            self.failure(capture.url, f"response stored truncated ({truncated}) at "
                         f"{len(archived.message.body)} body bytes", kind="truncated",
                         refers_to=archived.response.pending.record_id, count=False)
        self.stats.bytes_written = self.current_bytes()
        return WarcLocation(file=archived.response.filename, offset=archived.response.offset,
                            length=archived.response.length, record_id=archived.response.pending.record_id)

    def note_fetched_media(self, archived: Any, url: str, *, post_url: str | None) -> None:
        """A photo or video fetched by a spider also gets a media row (via a metadata record)."""
        msg = archived.message
        mime = msg.content_type or "application/octet-stream"
        encoding = (msg.header("Content-Encoding") or "identity").strip().lower()
        if not mime.startswith(("image/", "video/", "audio/")) or encoding != "identity":
            return
        response = archived.response
        sha256 = (response.pending.payload_digest or "").removeprefix("sha256:")
        content = None
        if archived.is_revisit:
            facts = MediaFacts(sha256=sha256, size=response.pending.info.get("payload_length", 0), mime=mime)
        else:
            facts = facts_from_bytes(msg.body, mime, sha256)
            if not response.pending.info.get("truncated"):
                content = MediaContent(msg.body, sha256, mime, (response.filename, response.offset))
        document = media_document(
            role="media", source_url=url, page_url=post_url, post_url=post_url, written=response, facts=facts,
            revisit_of=response.pending.info.get("refers_to") if archived.is_revisit else None)
        self.archive_media(url, document, content, refers_to=response.pending.record_id)

    def archive_media(self, url: str, document: dict[str, Any], content: MediaContent | None, *,
                      refers_to: str) -> WrittenRecord:
        """A media file's metadata record: the listeners add their parts (its near-duplicate
        cluster) before it is written. `content`: the newly archived bytes, None for a revisit."""
        for listener in self.listeners:
            listener.media_document(document, content)
        written = self.archiver.metadata(url, document, kind="media", refers_to=refers_to)
        for listener in self.listeners:
            listener.media_archived(document, written)
        return written

    def _keep_unparseable(self, exchange: Exchange, reason: str) -> None:
        """Bytes that are not HTTP still go into the archive, never as the page (see exchange)."""
        records = unparsed_records(exchange)
        self.archiver.writer.write(records)
        self.failure(exchange.uri, f"response is not valid HTTP ({reason}); raw bytes kept",
                     kind="unparseable", refers_to=records[0].record_id)

    def attempt_failed(self, request: Request, error: str, capture: WireCapture | None) -> None:
        refers_to = None
        if capture is not None and capture.response_bytes:
            capture.truncated = capture.truncated or "disconnect"
            location = self.archive_exchange(capture, request)
            refers_to = location.record_id if location else None
        attempt = int(request.meta.get("retry_times", 0)) + 1
        self.failure(request.url, error, kind="attempt", refers_to=refers_to, count=False,
                     extra={"attempt": attempt})

    def fetch_failed(self, url: str, error: str, *, role: str) -> None:
        # A requisite (a font, an icon) that failed is recorded but does not make the capture fail.
        self.failure(url, error, kind=role, count=role != "requisite")

    def failure(self, url: str, error: str, *, kind: str, refers_to: str | None = None,
                 count: bool = True, extra: dict[str, Any] | None = None) -> None:
        document = {"type": "failure", "url": url, "error": error, "kind": kind, **(extra or {})}
        self.archiver.metadata(url, document, kind="failure", refers_to=refers_to)
        if count:
            self.stats.errors.append((url, error))

    def logged_out(self, url: str, marker: str, *, refers_to: str | None = None) -> None:
        """The browser profile showed its "logged out" marker: a failure of the capture, recorded,
        and the run's `logged_out` says which page, so the glue pauses the source."""
        self.failure(url, f"logged out: the page shows {marker!r}; nothing of it is kept as evidence, "
                     "the source is paused until `tawthiq browser login` is run again",
                     kind="logged-out", refers_to=refers_to)
        self.stats.logged_out.append(url)

    def archive_post(self, post: Post) -> None:
        refers_to = post.warc.record_id if post.warc else None
        document = post.archive_document()
        for listener in self.listeners:
            listener.post_document(post, document)  # the keyword filter's verdict goes into the record
        written = self.archiver.metadata(post.url, document, kind="post", refers_to=refers_to)
        self.stats.posts += 1
        for listener in self.listeners:
            listener.post_archived(post, written)

    def archive_check(self, document: dict[str, Any]) -> None:
        self.archiver.metadata(document["post_url"], document, kind="check",
                               refers_to=document.get("evidence_record_id"))
        self.stats.checks[document["state"]] = self.stats.checks.get(document["state"], 0) + 1

    def set_watermark(self, source_key: str, post_id: str) -> None:
        self.catalog.set_watermark(source_key, post_id)

    def set_resume(self, source_key: str, before: str) -> None:
        self.catalog.set_resume(source_key, before)

    # -- fetchers ------------------------------------------------------------------------------
    def queue_fetch(self, job: FetchJob) -> None:
        """A capture outside Scrapy that a platform planned; it runs after the crawl."""
        self.fetches.add(job)

    def queue_video(self, url: str, *, post_url: str | None = None) -> None:
        """Spiders hand over video links; the yt-dlp fetcher runs on them after the crawl."""
        self.queue_fetch(FetchJob("ytdlp", url, post_url))

    def queue_browser(self, url: str, *, post_url: str | None = None) -> None:
        """Links to `browser_domains` hosts: the browser fetcher captures each after the crawl, as
        a source of its own (`browser:URL`), linked to the post that named it."""
        self.queue_fetch(FetchJob("browser", url, post_url, source=f"browser:{url}"))

    def run_fetches(self, on_fetch: Callable[[FetchJob], None] | None = None) -> None:
        """Run the queued fetches (after the crawl; in this process, into the same WARC file)."""
        self.fetches.run(on_fetch)

    def stop_fetches(self) -> None:
        """The capture was stopped: each queued fetch is recorded as not captured, none is started."""
        self._stopped = True
        self.fetches.stop()
        self.fetches.run()

    def close(self) -> None:
        try:
            if self.ocr is not None:  # the workers' last results, then (mode "after") the queue
                self.ocr.finish(run_queue=not self._stopped)
                self.stats.ocr = dict(self.ocr.counts)
        finally:
            self.archiver.close()
        self.catalog.flush()
        self.indexer.close()
        self.stats.bytes_written = self._sealed_bytes
