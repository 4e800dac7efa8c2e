"""What every tawthiq spider shares: roles for requests, media fetching, clear failures.

Every request lets 4xx/5xx responses through to its callback, because an error page is evidence too:
it is archived like any other response, and the spider reports it instead of Scrapy
silently filtering it out.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers.models import Post, WarcLocation
from crawlers.recorder import WARC_META, describe_error
from crawlers.sink import CaptureSink, sink_for

ROLE = "tawthiq_role"  # page | feed | media
# Error statuses reach the spider (to be reported); 3xx still go to RedirectMiddleware.
ERROR_STATUSES = list(range(400, 600))


def on_video_domain(url: str, domains: list[str]) -> bool:
    host = (urlparse(url).hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in domains)


class ArchivingSpider(scrapy.Spider):
    fetch_media: bool = True
    fetch_videos: bool = True
    video_domains: list[str] = []

    def queue_videos(self, urls: list[str], *, post_url: str | None) -> None:
        """Links to video sites go to yt-dlp after the crawl (see `video_domains`)."""
        for url in urls:
            if url.startswith(("http://", "https://")) and on_video_domain(url, self.video_domains):
                self.sink.queue_video(url, post_url=post_url)

    @property
    def sink(self) -> CaptureSink:
        return sink_for(self.crawler)

    def archived_request(self, url: str, callback: Any, *, role: str = "page",
                         meta: dict[str, Any] | None = None, **kwargs: Any) -> scrapy.Request:
        full_meta = {ROLE: role, "handle_httpstatus_list": ERROR_STATUSES, **(meta or {})}
        return scrapy.Request(url, callback=callback, errback=self.on_failure, meta=full_meta, **kwargs)

    def media_requests(self, post: Post) -> Iterator[scrapy.Request]:
        links = list(post.links) + ([post.link_preview.url] if post.link_preview else [])
        self.queue_videos(links, post_url=post.url)
        if not self.fetch_media:
            return
        urls: list[str] = []
        for media in post.media:
            if media.kind == "video" and not self.fetch_videos:
                if media.thumbnail_url:
                    urls.append(media.thumbnail_url)
                continue
            for url in (media.url, media.thumbnail_url):
                if url:
                    urls.append(url)
        if post.link_preview and post.link_preview.image_url:
            urls.append(post.link_preview.image_url)
        for url in dict.fromkeys(urls):
            if url.startswith(("http://", "https://")):
                yield self.archived_request(url, self.on_media, role="media", meta={"post_url": post.url})

    def on_media(self, response: Response) -> None:
        if response.status >= 400:
            self.sink.fetch_failed(response.url, f"HTTP {response.status} for media of "
                                   f"{response.meta.get('post_url', 'a page')}", role="media")

    def on_failure(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        self.sink.fetch_failed(request.url, describe_error(failure.value), role=request.meta.get(ROLE, "page"))

    @staticmethod
    def warc_location(response: Response) -> WarcLocation | None:
        location = response.meta.get(WARC_META)
        return location if isinstance(location, WarcLocation) else None

    def http_error(self, response: Response, what: str) -> bool:
        """Report an error status for a page we needed; True if the page is unusable."""
        if response.status >= 400:
            self.sink.fetch_failed(response.url, f"HTTP {response.status} for {what}", role="page")
            return True
        return False
