"""RSS and Atom feeds (`feed:URL`): each entry is a post, its page and media are captured with it.

Incremental: entries already archived from the feed are skipped. Gone: the entry's page answers
404 or 410.
"""

from __future__ import annotations

from typing import Any

from tawthiq.crawlers.models import Post
from tawthiq.crawlers.platforms.base import CatalogView, Job, Platform, Sample, SpecError, SpiderJob, Target, is_http, prefixed


class Feed(Platform):
    name = "feed"
    forms = ("feed:URL",)
    SAMPLES = (
        Sample(file="feed.rss", format="RSS 2.0 with media:content (Media RSS 1.5.1), as news sites serve it; "
               "see shared/formats/rss", url="https://news.example.org/feed.rss", count=2, expect=[
                   {"post_id": "https://news.example.org/2024/05/sample-1", "language": "en"},
               ]),
    )

    def claim(self, spec: str, settings: Any) -> str | None:
        rest = prefixed(spec, "feed")
        if rest is None:
            return None
        if not is_http(rest):
            raise SpecError(f"{spec!r}: a feed needs an http(s) URL after 'feed:'")
        return rest

    def plan(self, target: Target, settings: Any, catalog: CatalogView) -> list[Job]:
        from tawthiq.crawlers.platforms.feed.spider import FeedSpider

        return [SpiderJob(FeedSpider, {"feed_url": target.value,
                                       "known_ids": catalog.known_post_ids(self.name, target.value)})]

    def parse_sample(self, body: bytes, url: str) -> list[Post]:
        from tawthiq.crawlers.platforms.feed.parser import parse_feed

        return parse_feed(body, feed_url=url).posts


PLATFORM = Feed()
