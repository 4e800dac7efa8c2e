"""Telegram public channels through their web preview, `BASE/s/CHANNEL`, newest page first.

Walks back through history with `?before=ID` until it reaches the channel's watermark (the
newest post of the last walk that went all the way back, so a run that was cut short leaves no
gap behind it), the start of the channel, or the page limit. Posts already archived are not
archived again on the way. Photos are fetched so the archive
holds them; direct video files too when `fetch_videos` is on.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

from scrapy.http import Response, TextResponse

from tawthiq.crawlers.platforms.base import resume_point
from tawthiq.crawlers.platforms.telegram.parser import parse_channel_page
from tawthiq.crawlers.spiders.base import ArchivingSpider


def post_number(post_id: str) -> int:
    tail = post_id.rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else -1


class TelegramSpider(ArchivingSpider):
    name = "telegram"

    def __init__(self, channel: str, base_url: str = "https://t.me", max_pages: int = 50,
                 since_id: str | None = None, known_ids: set[str] | None = None,
                 resume_before: str | None = None,
                 fetch_media: bool = True, fetch_videos: bool = True,
                 video_domains: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.video_domains = list(video_domains or [])
        self.channel = channel
        self.base_url = base_url.rstrip("/")
        self.max_pages = max_pages
        self.since = post_number(since_id) if since_id else None
        self.known_ids = set(known_ids or ())
        # Where a walk cut short by the page limit stopped ("BEFORE:NEWEST": it read everything from
        # its newest post NEWEST down to BEFORE): once this run meets NEWEST itself, it jumps to
        # BEFORE instead of re-reading pages archived already. Meeting just any archived post is not
        # enough: a run that failed or was stopped mid-walk archived posts but left no point to jump
        # to, and jumping from its posts would skip what lies between them and NEWEST.
        self.resume_before, self.resume_anchor = resume_point(resume_before)
        self.newest_seen: int | None = None
        self.walk_complete = False
        self.fetch_media = fetch_media
        self.fetch_videos = fetch_videos
        self.pages = 0

    async def start(self) -> Any:
        yield self.archived_request(f"{self.base_url}/s/{self.channel}", self.parse_page, role="page")

    def closed(self, reason: str) -> None:
        """Move the watermark only when this walk joined up with the last complete one."""
        if self.walk_complete and reason == "finished" and self.newest_seen is not None:
            self.sink.set_watermark(f"telegram:{self.channel}", str(self.newest_seen))

    def parse_page(self, response: Response) -> Iterator[Any]:
        self.pages += 1
        if self.http_error(response, f"telegram channel {self.channel!r}"):
            return
        if not isinstance(response, TextResponse):
            self.sink.fetch_failed(response.url, f"telegram channel {self.channel!r}: the page is not HTML "
                                   f"({(response.headers.get('Content-Type') or b'?').decode('latin-1')})", role="page")
            return
        page = parse_channel_page(response.text, page_url=response.url, base_url=self.base_url)
        if not page.posts:
            if self.pages == 1:
                path = urlparse(response.url).path
                hint = "" if path.startswith("/s/") else f" (redirected to {response.url})"
                self.sink.fetch_failed(
                    response.url,
                    f"telegram channel {self.channel!r} shows no posts: it may not exist or have no public "
                    f"web preview{hint}",
                    role="page",
                )
            return
        location = self.warc_location(response)
        reached_known = False
        joined = False
        for post in page.posts:
            number = post_number(post.post_id)
            if self.pages == 1:
                self.newest_seen = max(self.newest_seen or number, number)
            if self.since is not None and number <= self.since:
                reached_known = True
                continue
            if number == self.resume_anchor:
                joined = True  # the newest post of the walk that was cut short: archived down to resume_before
            if post.post_id in self.known_ids:
                continue  # archived by an earlier run that did not finish its walk
            post.warc = location
            yield post
            yield from self.media_requests(post)
        # The page's stylesheets, scripts, fonts and avatar, so it replays as it looked; the
        # posts' own photos and videos are media (fetched above, or archived by an earlier run).
        post_media = {u for post in page.posts for m in post.media for u in (m.url, m.thumbnail_url) if u}
        post_media |= {post.link_preview.image_url for post in page.posts if post.link_preview and post.link_preview.image_url}
        yield from self.page_requisites(response, skip=post_media)
        if reached_known or page.before is None:
            self.walk_complete = True
            return
        before = page.before
        if joined and self.resume_before is not None and self.resume_before < before:
            before, self.resume_before = self.resume_before, None  # skip what is archived already
        if self.max_pages and self.pages >= self.max_pages:
            self.logger.info("page limit %s reached for %s", self.max_pages, self.channel)
            # Always the point this walk reached, even above an older one: when more posts arrived
            # since the last run than one run reads, the older point lies below a range nobody has
            # read yet, and jumping to it would leave that range out for good. From here the next
            # runs read down through what is archived (skipping its posts) to the older range.
            self.sink.set_resume(f"telegram:{self.channel}", f"{before}:{self.newest_seen}")
            return
        yield self.archived_request(
            f"{self.base_url}/s/{self.channel}?before={before}", self.parse_page, role="page",
        )
