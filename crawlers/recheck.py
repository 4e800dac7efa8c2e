"""Revisit archived posts to see whether they are still online, changed, or gone.

Each check's HTTP exchange is archived like any capture (the evidence of the check), and the
verdict is reported to the sink, which writes it as a `check` metadata record.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from tawthiq.crawlers.platforms import PostToCheck, platform
from tawthiq.crawlers.platforms.base import text_hash
from tawthiq.crawlers.recorder import describe_error
from tawthiq.crawlers.spiders.base import ArchivingSpider

__all__ = ["PostToCheck", "RecheckSpider", "text_hash"]


class RecheckSpider(ArchivingSpider):
    name = "recheck"

    def __init__(self, posts: list[PostToCheck], settings: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.posts = posts
        self.platform_settings = settings

    def check_url(self, post: PostToCheck) -> str:
        return platform(post.platform).check_url(post, self.platform_settings)

    async def start(self) -> Any:
        for post in self.posts:
            request = self.archived_request(self.check_url(post), self.parse_check, role="check",
                                            meta={"check": post, "dont_redirect": False})
            request.errback = self.check_failed
            yield request

    def parse_check(self, response: Response) -> Iterator[Any]:
        post: PostToCheck = response.meta["check"]
        location = self.warc_location(response)
        text = response.text if isinstance(response, TextResponse) else None
        # Each platform knows what "gone" looks like (an embed's notice, an API's NotFound).
        state, detail = platform(post.platform).check_state(post, response.status, response.body, text)
        self.sink.archive_check({
            "type": "check", "platform": post.platform, "post_id": post.post_id, "post_url": post.url,
            "check_url": response.url, "state": state, "http_status": response.status, "detail": detail,
            "evidence_record_id": location.record_id if location else None,
        })
        return iter(())

    def check_failed(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        post: PostToCheck = request.meta["check"]
        self.sink.archive_check({
            "type": "check", "platform": post.platform, "post_id": post.post_id, "post_url": post.url,
            "check_url": request.url, "state": "error", "http_status": None,
            "detail": describe_error(failure.value), "evidence_record_id": None,
        })
