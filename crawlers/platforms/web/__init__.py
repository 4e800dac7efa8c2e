"""Web pages (any http(s) URL): the seed and the pages it links to within its host, each page with
its images and requisites; every HTML page is also a post (title, main text, author, date).

Gone: the page answers 404 or 410. Changed: its main text differs from the archived copy.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tawthiq.crawlers.platforms.base import CatalogView, Job, Platform, SpiderJob, Target, is_http


class WebOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    depth_limit: int = Field(2, ge=0, description="links followed from the seed")
    page_limit: int = Field(1000, ge=0, description="pages per capture (0: no limit)")


class Web(Platform):
    name = "web"
    forms = ("an http(s) URL",)
    EXAMPLES = ("https://example.org/page",)
    Options = WebOptions
    has_posts = False

    def claim(self, spec: str, settings: Any) -> str | None:
        return spec if is_http(spec) else None

    def label(self, value: str) -> str:
        return value

    def plan(self, target: Target, settings: Any, catalog: CatalogView) -> list[Job]:
        from tawthiq.crawlers.platforms.web.spider import WebSpider

        options = self.options(settings)
        return [SpiderJob(WebSpider, {"seeds": [target.value], "depth_limit": options.depth_limit,
                                      "page_limit": options.page_limit})]


PLATFORM = Web()
