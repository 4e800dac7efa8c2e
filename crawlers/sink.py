"""Where spiders and the recorder hand their results: the capture session implements this.

Scrapy settings are deep-copied per crawler, so live objects cannot travel in them; a
crawler's settings carry only the sink's key (`TAWTHIQ_SINK`) and look it up here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from scrapy import Request
from scrapy.crawler import Crawler

from tawthiq.crawlers.models import Post, WarcLocation
from tawthiq.crawlers.wire_capture import WireCapture

if TYPE_CHECKING:
    from tawthiq.crawlers.platforms.base import FetchJob


class CaptureSink(Protocol):
    def archive_exchange(self, capture: WireCapture, request: Request) -> WarcLocation | None:
        """Write the exchange to the archive; return where the response record landed."""

    def attempt_failed(self, request: Request, error: str, capture: WireCapture | None) -> None:
        """One download attempt failed (it may be retried); partial bytes are kept."""

    def fetch_failed(self, url: str, error: str, *, role: str) -> None:
        """A URL could not be captured at all, after retries, or a page was unusable."""

    def archive_post(self, post: Post) -> None:
        """Write a parsed post as a metadata record next to the response that carried it."""

    def archive_check(self, document: dict) -> None:
        """The verdict of revisiting an archived post (online, changed, gone, error)."""

    def queue_video(self, url: str, *, post_url: str | None) -> None:
        """A link for yt-dlp, captured after the crawl into the same archive."""

    def queue_browser(self, url: str, *, post_url: str | None) -> None:
        """A link to a host in `browser_domains`: captured in the browser after the crawl."""

    def queue_fetch(self, job: FetchJob) -> None:
        """A capture for a fetcher outside Scrapy (crawlers/fetchers/), run after the crawl into
        the same archive; `queue_video` is `queue_fetch(FetchJob("ytdlp", url, post_url))`."""

    def set_resume(self, source_key: str, before: str) -> None:
        """A walk stopped at the page limit: the next run continues from `?before=` this id."""

    def set_watermark(self, source_key: str, post_id: str) -> None:
        """A walk back through a channel's history reached the previous watermark (or the start):
        everything up to `post_id` is archived, so the next run may stop there."""


_SINKS: dict[str, CaptureSink] = {}


def register(key: str, sink: CaptureSink) -> None:
    _SINKS[key] = sink


def unregister(key: str) -> None:
    _SINKS.pop(key, None)


def sink_for(crawler: Crawler) -> CaptureSink:
    key = crawler.settings.get("TAWTHIQ_SINK")
    if key not in _SINKS:
        raise RuntimeError("this crawler was not started by a tawthiq capture session (no TAWTHIQ_SINK)")
    return _SINKS[key]
