"""Plain web pages: seed URLs, links followed within a scope, and the images each page embeds.

Scope is `host` (same host as the seed) or `prefix` (URLs starting with the seed). Depth
counts links from the seed; `page_limit` caps pages per capture (embedded images and
redirect hops are not counted as pages, and are always fetched).

Every 2xx HTML page is also a `web` post (see article.py): its title and main text, author,
published time, language and images; its source is the seed it was reached from.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal
from urllib.parse import urldefrag, urljoin, urlparse

from scrapy.http import HtmlResponse, Response
from scrapy.linkextractors import LinkExtractor

from tawthiq.crawlers.models import Post
from tawthiq.crawlers.platforms.web.article import extract, web_post
from tawthiq.crawlers.spiders.base import ArchivingSpider

Scope = Literal["host", "prefix"]


def srcset_urls(srcset: str) -> list[str]:
    urls = []
    for candidate in srcset.split(","):
        parts = candidate.strip().split()
        if parts:
            urls.append(parts[0])
    return urls


class WebSpider(ArchivingSpider):
    name = "web"

    def __init__(self, seeds: list[str], scope: Scope = "host", depth_limit: int = 2,
                 page_limit: int = 1000, fetch_media: bool = True, fetch_videos: bool = True,
                 video_domains: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.video_domains = list(video_domains or [])
        self.seeds = list(seeds)
        self.scope = scope
        self.depth_limit = depth_limit
        self.page_limit = page_limit
        self.fetch_media = fetch_media
        self.fetch_videos = fetch_videos
        self.pages_scheduled = 0
        self._seen: set[str] = set()
        self._links = LinkExtractor(tags=("a", "area"), attrs=("href",), deny_extensions=[])

    def in_scope(self, url: str) -> bool:
        if not url.startswith(("http://", "https://")):
            return False
        for seed in self.seeds:
            if self.scope == "prefix" and url.startswith(seed):
                return True
            if self.scope == "host" and urlparse(url).netloc.lower() == urlparse(seed).netloc.lower():
                return True
        return False

    def _page(self, url: str, depth: int, seed: str) -> Any:
        if url in self._seen:
            return False
        if self.page_limit and self.pages_scheduled >= self.page_limit:
            return None
        self._seen.add(url)
        self.pages_scheduled += 1
        return self.archived_request(url, self.parse_page, role="page", meta={"page_depth": depth, "seed": seed})

    async def start(self) -> Any:
        for seed in self.seeds:
            request = self._page(seed, 0, seed)
            if request:
                yield request

    def page_post(self, response: HtmlResponse) -> Post:
        """The page as a post: what article.py reads in the bytes as served."""
        content_type = (response.headers.get("Content-Type") or b"").decode("latin-1") or None
        article = extract(response.body, response.url, content_type)
        return web_post(article, source=response.meta.get("seed", self.seeds[0]),
                        warc=self.warc_location(response))

    def parse_page(self, response: Response) -> Iterator[Any]:
        if self.http_error(response, "a page"):
            return
        if not isinstance(response, HtmlResponse):
            return
        post = self.page_post(response)
        yield post
        media: set[str] = set()
        if self.fetch_media:
            images = response.css("img::attr(src)").getall()
            for srcset in response.css("img::attr(srcset), source::attr(srcset)").getall():
                images.extend(srcset_urls(srcset))
            for src in dict.fromkeys(images):
                url = urljoin(response.url, src.strip())
                if url.startswith(("http://", "https://")):
                    media.add(url)
                    yield self.archived_request(url, self.on_media, role="media",
                                                meta={"post_url": response.url})
        for image in post.media:  # og:image, which no <img> names
            if self.fetch_media and image.url and image.url not in media:
                media.add(image.url)
                yield self.archived_request(image.url, self.on_media, role="media", meta={"post_url": response.url})
        yield from self.page_requisites(response, skip=media)  # stylesheets, scripts, fonts, CSS images
        embeds = response.css("iframe::attr(src), a::attr(href)").getall()
        self.queue_videos([urljoin(response.url, u.strip()) for u in embeds], post_url=None)
        if self.fetch_videos:
            for src in response.css("video::attr(src), video source::attr(src)").getall():
                url = urljoin(response.url, src.strip())
                if url.startswith(("http://", "https://")):
                    yield self.archived_request(url, self.on_media, role="media",
                                                meta={"post_url": response.url})
        depth = response.meta.get("page_depth", 0)
        if depth >= self.depth_limit:
            return
        for link in self._links.extract_links(response):
            url = urldefrag(link.url)[0]
            if self.in_scope(url):
                request = self._page(url, depth + 1, response.meta.get("seed", self.seeds[0]))
                if request is None:
                    return
                if request:
                    yield request
