"""What a fetcher is: a capture outside Scrapy (yt-dlp today, a browser next) that a platform plans
as a `FetchJob(fetcher=NAME, url, post_url)`, and what the capture session lends it to write with.

A fetcher only fetches and hands over what it got; the session (through `FetchContext`) decides how
it is archived, counted and catalogued, and runs the session's listeners on it (near-duplicate
signing of media, among others). So a fetcher never imports the catalog, the index or dedupe, and a
new one is one file in this folder plus one line in the registry (crawlers/fetchers/__init__.py).

The shape every fetcher follows, whatever it drives:
  1. each HTTP exchange it makes -> `context.exchange(...)` (a request/response pair in the WARC);
  2. each file it produced -> `context.store_file(...)` (a resource record, or a revisit of the
     same bytes archived before), then, once any record it should point to is written,
     `context.media_stored(...)` (the media's metadata document, which the catalog's media row and
     the near-duplicate clusters are built from);
  3. anything it could not capture -> `context.failed(...)` (a failure record, never a silent gap);
  4. between units of work, `context.stopping()`: a stopped capture starts nothing new.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Protocol

from tawthiq.archivers.archiver import ArchivedExchange
from tawthiq.archivers.exchange import Exchange
from tawthiq.archivers.media import StoredMedia
from tawthiq.archivers.tailhash import KnownDigest
from tawthiq.archivers.writer import WrittenRecord
from tawthiq.crawlers.models import Post
from tawthiq.crawlers.platforms.base import FetchJob


class FetchContext(Protocol):
    """What a fetcher may use while it runs one job; the capture session implements it."""

    @property
    def settings(self) -> Any:
        """The resolved tawthiq Settings of this capture."""

    def stopping(self) -> bool:
        """True once the capture was asked to stop: finish the record in hand, start nothing new."""

    def exchange(self, exchange: Exchange) -> ArchivedExchange:
        """Write one HTTP exchange (response, request and any extra records) into the open WARC."""

    def keep_unparsed(self, exchange: Exchange, reason: str) -> None:
        """An exchange `exchange()` refused (not HTTP): its raw bytes as a resource record under
        a URI no replay serves as the page, plus a failure record with `reason`."""

    def flush(self) -> None:
        """Make what was written so far durable (flushed and fsynced), before the fetcher deletes
        its own copy of it."""

    def store_file(self, path: Path, uri: str, *, role: str, mime: str | None = None,
                   concurrent_to: str | None = None, known: KnownDigest | None = None) -> StoredMedia:
        """Write a file the fetcher produced as a `resource` record for `uri` (or a revisit).
        `role` "media" is the capture's main file and counts in the run's media; `known`: its
        digest taken while it was written (used only if the file is unchanged since)."""

    def media_stored(self, stored: StoredMedia, path: Path, *, role: str, source_url: str,
                     page_url: str | None, post_url: str | None,
                     extra: dict[str, Any] | None = None) -> WrittenRecord:
        """Write the media metadata document of a stored file (`path`: its bytes, for the listeners
        that read them, such as near-duplicate signing); `extra` adds fields to the document."""

    def metadata(self, uri: str, document: dict[str, Any], *, kind: str,
                 refers_to: str | None = None) -> WrittenRecord:
        """Write a JSON metadata record about `uri` (an info document, say)."""

    def failed(self, url: str, error: str, *, refers_to: str | None = None, count: bool = True) -> None:
        """`url` could not be captured: a failure record (of the fetcher's `kind`) and an error
        in the run's summary. `refers_to`: the record that shows why (the 404 page). `count`
        False: recorded, but not a failure of the capture (a page's favicon that failed)."""

    def fetched_media(self, archived: ArchivedExchange, url: str, *, post_url: str | None) -> None:
        """An archived exchange was a photo or video of a post: give it a media row (and the
        listeners' signing), as for the media a spider fetches."""

    def post(self, post: Post) -> None:
        """Archive a post the fetcher read (its metadata record; searchable, foldable)."""

    def queue(self, job: FetchJob) -> None:
        """Another capture to run after this one (a manifest the page played, for yt-dlp)."""

    def logged_out(self, url: str, marker: str, *, refers_to: str | None = None) -> None:
        """The page shows that the login profile is logged out: nothing of it is evidence; the
        capture records it and the source is paused until someone logs in again."""

    def tally(self, counter: str, amount: int = 1) -> None:
        """Add to one of the run's counters that only this fetcher knows about ("videos")."""


class Fetcher(Protocol):
    """Write one in `crawlers/fetchers/NAME.py` as `FETCHER = MyFetcher()`, and list NAME in the
    registry (crawlers/fetchers/__init__.py)."""

    # The registry's name, as platforms write it in `FetchJob.fetcher`.
    name: ClassVar[str]
    # What it captures ("video", "page"): the kind of its failure records, and the word in them
    # ("video not captured: ...").
    kind: ClassVar[str]

    def fetch(self, job: FetchJob, context: FetchContext) -> None:
        """Capture `job.url` through `context`. Report what failed with `context.failed` rather than
        raising; an exception that escapes ends the whole capture (KeyboardInterrupt does, on purpose)."""

    def close(self) -> None:
        """The capture's queue is done (or stopped): release what the fetcher kept between jobs
        (the browser and its proxy)."""
