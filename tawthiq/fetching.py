"""The session's fetch queue: captures outside Scrapy (crawlers/fetchers/) run after the crawl,
in the same process and into the same open WARC file, one job at a time.

Platforms plan `FetchJob`s and spiders hand over video links (`queue_video`); each job is run by
the fetcher registered under its name, through a `JobContext` that writes, counts and reports
for it. A stopped capture (Ctrl-C, SIGTERM) starts no queued job: each gets a failure record
saying it was not captured because the capture was stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tawthiq.archivers.archiver import ArchivedExchange
from tawthiq.archivers.exchange import Exchange
from tawthiq.archivers.media import MediaContent, StoredMedia, media_document, store_file
from tawthiq.archivers.tailhash import KnownDigest
from tawthiq.archivers.writer import WrittenRecord
from tawthiq.crawlers.fetchers import Fetcher, fetcher
from tawthiq.crawlers.models import Post
from tawthiq.crawlers.platforms import FetchJob

if TYPE_CHECKING:
    from tawthiq.session import CaptureSession

STOPPED = "the capture was stopped"


class JobContext:
    """`FetchContext` for one job of one fetcher: the session's archive, counters and listeners."""

    def __init__(self, session: CaptureSession, fetcher: Fetcher) -> None:
        self._session = session
        self._fetcher = fetcher

    @property
    def settings(self) -> Any:
        return self._session.settings

    def stopping(self) -> bool:
        return self._session.fetches.stopped

    def exchange(self, exchange: Exchange) -> ArchivedExchange:
        archived = self._session.archiver.exchange(exchange)
        self._session.stats.responses += 1
        if archived.is_revisit:
            self._session.stats.revisits += 1
        return archived

    def keep_unparsed(self, exchange: Exchange, reason: str) -> None:
        self._session._keep_unparseable(exchange, reason)

    def flush(self) -> None:
        self._session.archiver.writer.flush()

    def store_file(self, path: Path, uri: str, *, role: str, mime: str | None = None,
                   concurrent_to: str | None = None, known: KnownDigest | None = None) -> StoredMedia:
        archiver = self._session.archiver
        stored = store_file(archiver.writer, archiver.digests, path, uri, mime=mime, concurrent_to=concurrent_to,
                            known=known)
        if role == "media":
            self._session.stats.media += 1
        if stored.revisit_of is not None:
            self._session.stats.revisits += 1
        return stored

    def media_stored(self, stored: StoredMedia, path: Path, *, role: str, source_url: str,
                     page_url: str | None, post_url: str | None,
                     extra: dict[str, Any] | None = None) -> WrittenRecord:
        written = stored.record
        document = media_document(role=role, source_url=source_url, page_url=page_url, post_url=post_url,
                                  written=written, facts=stored.facts,
                                  revisit_of=stored.revisit_of.record_id if stored.revisit_of else None,
                                  **(extra or {}))
        content = None if stored.revisit_of is not None else \
            MediaContent(Path(path), stored.facts.sha256, stored.facts.mime, (written.filename, written.offset))
        return self._session.archive_media(source_url, document, content, refers_to=written.pending.record_id)

    def metadata(self, uri: str, document: dict[str, Any], *, kind: str,
                 refers_to: str | None = None) -> WrittenRecord:
        return self._session.archiver.metadata(uri, document, kind=kind, refers_to=refers_to)

    def failed(self, url: str, error: str, *, refers_to: str | None = None, count: bool = True) -> None:
        self._session.failure(url, error, kind=self._fetcher.kind, refers_to=refers_to, count=count)

    def fetched_media(self, archived: ArchivedExchange, url: str, *, post_url: str | None) -> None:
        self._session.stats.media += 1
        self._session.note_fetched_media(archived, url, post_url=post_url)

    def post(self, post: Post) -> None:
        self._session.archive_post(post)

    def queue(self, job: FetchJob) -> None:
        self._session.queue_fetch(job)

    def logged_out(self, url: str, marker: str, *, refers_to: str | None = None) -> None:
        self._session.logged_out(url, marker, refers_to=refers_to)

    def tally(self, counter: str, amount: int = 1) -> None:
        stats = self._session.stats
        if counter not in {f.name for f in fields(stats)} or not isinstance(getattr(stats, counter), int):
            raise ValueError(f"no run counter {counter!r}")
        setattr(stats, counter, getattr(stats, counter) + amount)


class FetchQueue:
    """The jobs waiting for the crawl to end, each (fetcher, URL) once."""

    def __init__(self, session: CaptureSession) -> None:
        self._session = session
        self.jobs: list[FetchJob] = []
        self._seen: set[tuple[str, str]] = set()
        self.stopped = False

    def add(self, job: FetchJob) -> None:
        fetcher(job.fetcher)  # a platform naming no registered fetcher is a bug: fail at planning
        key = (job.fetcher, job.url)
        if key not in self._seen:
            self._seen.add(key)
            self.jobs.append(job)

    def stop(self) -> None:
        """Start no further job (the current one finishes; the fetcher may check `stopping()`)."""
        self.stopped = True

    def run(self, on_job: Callable[[FetchJob], None] | None = None) -> None:
        """Run every queued job (and those queued meanwhile), in order; after `stop`, record each
        remaining job as not captured instead. Then every fetcher that ran releases what it kept."""
        used: dict[str, Fetcher] = {}
        try:
            self._run(on_job, used)
        finally:
            for runner in used.values():
                close = getattr(runner, "close", None)  # optional for fetchers that keep nothing
                if close is not None:
                    close()

    def _run(self, on_job: Callable[[FetchJob], None] | None, used: dict[str, Fetcher]) -> None:
        while self.jobs:
            job = self.jobs.pop(0)
            runner = fetcher(job.fetcher)
            if self.stopped:
                self._session.failure(job.url, f"{runner.kind} not captured: {STOPPED}", kind=runner.kind)
                continue
            if on_job is not None:
                on_job(job)
            used[runner.name] = runner
            runner.fetch(job, JobContext(self._session, runner))
            self._session.stats.bytes_written = self._session.current_bytes()
