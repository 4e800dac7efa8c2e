"""Web pages (any http(s) URL): the seed and the pages it links to within its host, each page with
its images and requisites; every HTML page is also a post (title, main text, author, date).

Gone: the page answers 404 or 410. Changed: its main text differs from the archived copy.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tawthiq.crawlers.models import Post
from tawthiq.crawlers.platforms.base import (
    CatalogView, CheckState, Job, Platform, PostToCheck, Sample, SpecError, SpiderJob, Target, is_http, prefixed,
    text_hash,
)


class WebOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    depth_limit: int = Field(2, ge=0, description="links followed from the seed")
    page_limit: int = Field(1000, ge=0, description="pages per capture (0: no limit)")


class Web(Platform):
    name = "web"
    # `web:URL` takes a URL as a plain page even where a platform would claim it
    # (web:https://bsky.app/profile/NAME archives the profile page, not the account's posts).
    forms = ("an http(s) URL", "web:URL")
    EXAMPLES = ("https://example.org/page", "web:https://bsky.app/profile/someone.example")
    Options = WebOptions
    has_posts = True
    SAMPLES = (
        Sample(file="article.html", format="HTML5 news article page with OpenGraph (ogp.me, article:*) and "
               "schema.org NewsArticle JSON-LD, as news sites serve them in 2025-2026; synthetic, Arabic (RTL), "
               "with a cookie banner, navigation, a 'most read' sidebar and a footer around the article",
               url="https://news.example.org/ar/2026/10/water-cut", count=1, expect=[
                   {"post_id": "https://news.example.org/ar/2026/10/water-cut",
                    "title": "انقطاع المياه عن حي الزيتون لليوم الثالث", "author": "سلمى الراوي",
                    "published": "2026-10-04T05:30:00Z", "language": "ar",
                    "text_contains": "تضرر محطة الضخ الرئيسية",
                    "media": [{"kind": "image", "url": "https://news.example.org/media/2026/10/water-station.jpg"}]},
               ]),
    )

    def claim(self, spec: str, settings: Any) -> str | None:
        rest = prefixed(spec, "web")
        if rest is not None:
            if not is_http(rest):
                raise SpecError(f"{spec!r}: a page needs an http(s) URL after 'web:'")
            return rest
        return spec if is_http(spec) else None

    def label(self, value: str) -> str:
        """The URL itself, or `web:URL` where another platform would claim the bare URL: the label
        is the source's key and must name this same target when parsed again."""
        from tawthiq.crawlers.platforms import parse_spec

        try:
            plain = parse_spec(value).kind == self.name
        except SpecError:
            plain = False
        return value if plain else f"web:{value}"

    def plan(self, target: Target, settings: Any, catalog: CatalogView) -> list[Job]:
        from tawthiq.crawlers.platforms.web.spider import WebSpider

        options = self.options(settings)
        return [SpiderJob(WebSpider, {"seeds": [target.value], "depth_limit": options.depth_limit,
                                      "page_limit": options.page_limit})]

    def check_state(self, post: PostToCheck, status: int, body: bytes, text: str | None) -> tuple[CheckState, str | None]:
        """Gone on 404/410; changed when the main text read again (by the capture's own extractor)
        is not the archived one. A page that is no longer HTML has changed too."""
        state, detail = super().check_state(post, status, body, text)
        if state != "online":
            return state, detail
        from tawthiq.crawlers.platforms.web.article import extract

        if text is None:
            return "changed", "the page is no longer text"
        now = extract(text, post.url).text
        if text_hash(now) != text_hash(post.text):
            return "changed", "the page's main text differs from the archived copy"
        return "online", None

    def parse_sample(self, body: bytes, url: str) -> list[Post]:
        from tawthiq.crawlers.platforms.web.article import extract, web_post

        return [web_post(extract(body, url), source=url)]


PLATFORM = Web()
