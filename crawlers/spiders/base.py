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
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from tawthiq.crawlers.models import Media, Post, WarcLocation
from tawthiq.crawlers.parsers.requisites import css_urls, html_requisites
from tawthiq.crawlers.recorder import WARC_META, describe_error
from tawthiq.crawlers.sink import CaptureSink, sink_for

ROLE = "tawthiq_role"  # page | feed | media | requisite
REQUISITE_OF = "tawthiq_requisite_of"  # the page a requisite was fetched for (its budget)
REQUISITE_DEPTH = 2  # a stylesheet's @import and url(): two levels below the page
# Error statuses reach the spider (to be reported); 3xx still go to RedirectMiddleware.
ERROR_STATUSES = list(range(400, 600))


def on_video_domain(url: str, domains: list[str]) -> bool:
    host = (urlparse(url).hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in domains)


class ArchivingSpider(scrapy.Spider):
    fetch_media: bool = True
    fetch_videos: bool = True
    video_domains: list[str] = []
    # Hosts captured in the browser (setting browser_domains): a link to one, in a post or on a
    # page, goes to the browser fetcher after the crawl instead of to Scrapy or yt-dlp.
    browser_domains: list[str] = []
    # Page requisites (settings fetch_requisites, requisites_per_page, requisite_max_size): on by
    # default so a captured page replays as it looked; any host, like Browsertrix and ArchiveBox.
    fetch_requisites: bool = True
    requisites_per_page: int = 100
    requisite_max_size: int = 10 << 20

    def __init__(self, *args: Any, fetch_requisites: bool = True, requisites_per_page: int = 100,
                 requisite_max_size: int = 10 << 20, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fetch_requisites = fetch_requisites
        self.requisites_per_page = requisites_per_page
        self.requisite_max_size = requisite_max_size
        self._requisite_budget: dict[str, int] = {}
        self._requisites_seen: set[str] = set()

    def requisite_requests(self, page_url: str, urls: list[str], *, depth: int = 1,
                           skip: set[str] | None = None) -> Iterator[scrapy.Request]:
        """Requests for what `page_url` needs to render, within its budget; each URL once per crawl
        (a stylesheet every page shares is fetched once)."""
        if not self.fetch_requisites or depth > REQUISITE_DEPTH:
            return
        for url in urls:
            if url in self._requisites_seen or (skip and url in skip):
                continue
            spent = self._requisite_budget.get(page_url, 0)
            if self.requisites_per_page and spent >= self.requisites_per_page:
                self.logger.info("requisite limit %s reached for %s", self.requisites_per_page, page_url)
                return
            self._requisite_budget[page_url] = spent + 1
            self._requisites_seen.add(url)
            meta: dict[str, Any] = {REQUISITE_OF: page_url, "requisite_depth": depth}
            if self.requisite_max_size:
                meta["download_maxsize"] = self.requisite_max_size
            yield scrapy.Request(url, callback=self.on_requisite, errback=self.on_requisite_failure,
                                 meta={ROLE: "requisite", "handle_httpstatus_list": ERROR_STATUSES, **meta})

    def page_requisites(self, response: Response, *, skip: set[str] | None = None) -> Iterator[scrapy.Request]:
        """The requisites an HTML page names (stylesheets, scripts, fonts, icons, CSS images)."""
        if not self.fetch_requisites or not isinstance(response, TextResponse):
            return
        yield from self.requisite_requests(response.url, html_requisites(response.text, response.url), skip=skip)

    def on_requisite(self, response: Response) -> Iterator[scrapy.Request]:
        """Archived already (the recorder did it); a stylesheet's own fonts and images follow."""
        ctype = (response.headers.get("Content-Type") or b"").decode("latin-1").lower()
        if response.status >= 400 or not (ctype.startswith("text/css") or urlparse(response.url).path.endswith(".css")):
            return
        try:
            css = response.body.decode(getattr(response, "encoding", None) or "utf-8", errors="replace")
        except LookupError:
            css = response.body.decode("utf-8", errors="replace")
        yield from self.requisite_requests(response.meta.get(REQUISITE_OF, response.url), css_urls(css, response.url),
                                           depth=response.meta.get("requisite_depth", 1) + 1)

    def on_requisite_failure(self, failure: Failure) -> None:
        """A font or icon that could not be fetched is recorded, but does not fail the capture."""
        request = failure.request  # type: ignore[attr-defined]
        self.sink.fetch_failed(request.url, describe_error(failure.value), role="requisite")

    def queue_videos(self, urls: list[str], *, post_url: str | None) -> None:
        """Links to hosts in `browser_domains` go to the browser after the crawl, links to video
        sites (`video_domains`) to yt-dlp."""
        for url in urls:
            if not url.startswith(("http://", "https://")):
                continue
            if on_video_domain(url, self.browser_domains):
                self.sink.queue_browser(url, post_url=post_url)
            elif on_video_domain(url, self.video_domains):
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
        urls = [url for media in post.media for url in self.media_urls(post, media)]
        if post.link_preview and post.link_preview.image_url:
            urls.append(post.link_preview.image_url)
        for url in dict.fromkeys(urls):
            if url.startswith(("http://", "https://")):
                yield self.archived_request(url, self.on_media, role="media", meta={"post_url": post.url})

    def media_urls(self, post: Post, media: Media) -> list[str]:
        """What to fetch now for one media item of a post: the file and its thumbnail, or only the
        thumbnail of a video when `fetch_videos` is off. A platform whose videos are streams
        overrides this to hand them to a fetcher instead."""
        if media.kind == "video" and not self.fetch_videos:
            return [media.thumbnail_url] if media.thumbnail_url else []
        return [url for url in (media.url, media.thumbnail_url) if url]

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
