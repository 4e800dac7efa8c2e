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
    EXAMPLES = ("feed:https://news.example.org/feed.rss",)
    SAMPLES = (
        Sample(file="feed.rss", format="RSS 2.0 with Media RSS 1.5.1 (media:content, media:thumbnail) and Dublin Core, "
               "as news sites serve it, synthetic; follows shared/formats/rss/rssparser_guardian.rss",
               url="https://news.example.org/feed.rss", count=3, expect=[
                   {"post_id": "https://news.example.org/2024/05/sample-1", "url": "https://news.example.org/2024/05/sample-1",
                    "author": "Lina Haddad in Mithal City", "published": "2024-05-03T11:00:00Z", "language": "en",
                    "text_contains": "Water station in the eastern district out of service",
                    "media": [{"kind": "image", "width": 140}, {"kind": "image", "width": 460}]},
                   {"post_id": "example-news-ar-2024-05-0002", "url": "https://news.example.org/ar/2024/05/sample-2",
                    "author": "Omar Nasser", "language": "ar", "text_contains": "الدفاع المدني يخمد حريقاً",
                    "media": [{"kind": "video", "mime": "video/mp4",
                               "url": "https://video.news.example.org/2024/05/warehouse-fire.mp4"},
                              {"kind": "thumbnail",
                               "url": "https://images.news.example.org/2024/05/warehouse-fire-thumb.jpg"}]},
                   {"post_id": "https://news.example.org/2024/05/sample-3", "language": "en",
                    "media": [{"kind": "enclosure", "mime": "audio/mpeg"}],
                    "links_contains": "https://audio.news.example.org/2024/05/mithal-day.mp3"},
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
