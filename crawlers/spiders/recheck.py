"""Revisit archived posts to see whether they are still online, changed, or gone.

Each check's HTTP exchange is archived like any capture (the evidence of the check), and the
verdict is reported to the sink, which writes it as a `check` metadata record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from tawthiq.crawlers.parsers.telegram import embed_post_state
from tawthiq.crawlers.recorder import describe_error
from tawthiq.crawlers.spiders.base import ArchivingSpider


@dataclass
class PostToCheck:
    platform: str
    post_id: str
    url: str
    text: str


def text_hash(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()


class RecheckSpider(ArchivingSpider):
    name = "recheck"

    def __init__(self, posts: list[PostToCheck], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.posts = posts

    @staticmethod
    def check_url(post: PostToCheck) -> str:
        if post.platform == "telegram":
            return post.url.split("?")[0] + "?embed=1"
        return post.url

    async def start(self) -> Any:
        for post in self.posts:
            request = self.archived_request(self.check_url(post), self.parse_check, role="check",
                                            meta={"check": post, "dont_redirect": False})
            request.errback = self.check_failed
            yield request

    def parse_check(self, response: Response) -> Iterator[Any]:
        post: PostToCheck = response.meta["check"]
        location = self.warc_location(response)
        state, detail = "online", None
        if response.status in (404, 410):
            state, detail = "gone", f"HTTP {response.status}"
        elif response.status >= 400:
            state, detail = "error", f"HTTP {response.status}"
        elif post.platform == "telegram" and isinstance(response, TextResponse):
            state, text = embed_post_state(response.text)
            if state == "gone":
                detail = text
            elif text_hash(text) != text_hash(post.text):
                state, detail = "changed", "the post's text differs from the archived copy"
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
