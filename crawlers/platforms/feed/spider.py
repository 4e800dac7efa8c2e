"""RSS/Atom feeds: the feed itself, each item as a post, each item's page and its media."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Response

from tawthiq.crawlers.platforms.feed.parser import FeedParseError, parse_feed
from tawthiq.crawlers.spiders.base import ArchivingSpider


class FeedSpider(ArchivingSpider):
    name = "feed"

    def __init__(self, feed_url: str, fetch_media: bool = True, fetch_videos: bool = True,
                 fetch_pages: bool = True, video_domains: list[str] | None = None,
                 known_ids: set[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.video_domains = list(video_domains or [])
        self.feed_url = feed_url
        self.fetch_media = fetch_media
        self.fetch_videos = fetch_videos
        self.fetch_pages = fetch_pages
        self.known_ids = set(known_ids or ())  # entries archived before: incremental captures skip them

    async def start(self) -> Any:
        yield self.archived_request(self.feed_url, self.parse_feed, role="feed")

    def parse_feed(self, response: Response) -> Iterator[Any]:
        if self.http_error(response, f"feed {self.feed_url}"):
            return
        ctype = (response.headers.get("Content-Type") or b"").decode("latin-1") or None
        try:
            feed = parse_feed(response.body, feed_url=response.url, content_type=ctype)
        except FeedParseError as exc:
            self.sink.fetch_failed(response.url, f"{exc}", role="feed")
            return
        if feed.warning:
            self.logger.warning("%s: %s", response.url, feed.warning)
        location = self.warc_location(response)
        pages: list[str] = []
        for post in feed.posts:
            if post.post_id in self.known_ids:
                continue
            post.source = self.feed_url
            post.warc = location
            yield post
            yield from self.media_requests(post)
            if self.fetch_pages and post.url.startswith(("http://", "https://")) and post.url != response.url:
                pages.append(post.url)
        for url in dict.fromkeys(pages):
            yield self.archived_request(url, self.parse_item_page, role="page")

    def parse_item_page(self, response: Response) -> None:
        self.http_error(response, "a feed item's page")
