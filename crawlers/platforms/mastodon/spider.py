"""A Mastodon account's statuses, a hashtag's timeline, or one status, through the REST API.

Timelines are read newest first, 1 to 40 statuses a page, paginated by the `Link` header:
rel="next" (`max_id`) goes back in time, rel="prev" (`min_id`) forward.
  - No watermark yet: walk back from the newest status to the start of the history or the page
    limit. A walk cut short records where it stopped (`set_resume`); the next run walks back until
    it meets what is archived, then jumps there. A walk that reaches the start sets the watermark
    to the newest status it saw.
  - A watermark W: walk forward with `min_id=W`. The API answers the statuses just after W, so
    each page joins the last, and the watermark moves to the newest status read even when the
    page limit cuts the walk short: the next run goes on from there.
Every API answer is archived by the wire recorder; each status is a post, archived with the
answer that carried it; attachments are fetched at original size (video files directly).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from scrapy.http import Response

from tawthiq.crawlers.platforms.mastodon import split_value
from tawthiq.crawlers.platforms.mastodon.parser import NotStatuses, api_error, next_link, parse_statuses
from tawthiq.crawlers.spiders.base import ArchivingSpider


def _number(status_id: str | None) -> int | None:
    return int(status_id) if status_id and status_id.isdigit() else None


class MastodonSpider(ArchivingSpider):
    name = "mastodon"

    def __init__(self, target: str, label: str, scheme: str = "https", max_pages: int = 20, page_size: int = 40,
                 since_id: str | None = None, resume_before: str | None = None,
                 known_ids: set[str] | None = None, fetch_media: bool = True, fetch_videos: bool = True,
                 video_domains: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target = target
        self.label = label
        self.kind, self.handle, self.host, self.status_id = split_value(target)
        self.base = f"{scheme}://{self.host}"
        self.scheme = scheme
        self.max_pages = max_pages
        self.page_size = page_size
        self.since = _number(since_id)
        self.resume_before = _number(resume_before)
        self.known_ids = set(known_ids or ())
        self.fetch_media = fetch_media
        self.fetch_videos = fetch_videos
        self.video_domains = list(video_domains or [])
        self.timeline = ""  # the timeline's API URL, once known (an account's needs its id)
        self.pages = 0
        self.newest_seen: int | None = None
        self.walk_complete = False

    @property
    def what(self) -> str:
        return {"account": f"mastodon account @{self.handle}@{self.host}",
                "tag": f"mastodon hashtag #{self.handle} on {self.host}",
                "status": f"mastodon status {self.status_id} on {self.host}"}[self.kind]

    async def start(self) -> Any:
        if self.kind == "account":
            url = f"{self.base}/api/v1/accounts/lookup?acct={quote(self.handle)}"
            yield self.archived_request(url, self.on_account, role="feed")
        elif self.kind == "tag":
            yield self.first_page(f"{self.base}/api/v1/timelines/tag/{quote(self.handle)}")
        else:
            yield self.archived_request(f"{self.base}/api/v1/statuses/{self.status_id}", self.on_status, role="feed")

    def failed(self, response: Response) -> bool:
        """Report an error answer with the API's own message; True if the answer is unusable."""
        if response.status < 400:
            return False
        detail = api_error(response.body)
        self.sink.fetch_failed(response.url, f"HTTP {response.status} for {self.what}"
                               + (f": {detail}" if detail else ""), role="feed")
        return True

    def on_account(self, response: Response) -> Iterator[Any]:
        if self.failed(response):
            return
        import json

        try:
            account = json.loads(response.body)
            account_id = str(account["id"])
        except (ValueError, KeyError, TypeError):
            self.sink.fetch_failed(response.url, f"{self.what}: the lookup did not answer with an account", role="feed")
            return
        yield self.first_page(f"{self.base}/api/v1/accounts/{quote(account_id)}/statuses")

    def first_page(self, timeline: str) -> Any:
        self.timeline = timeline
        if self.since is not None:
            return self.page(f"{timeline}?limit={self.page_size}&min_id={self.since}", forward=True)
        return self.page(f"{timeline}?limit={self.page_size}", forward=False)

    def page(self, url: str, *, forward: bool) -> Any:
        return self.archived_request(url, self.on_page, role="feed", meta={"forward": forward})

    def on_status(self, response: Response) -> Iterator[Any]:
        if self.failed(response):
            return
        yield from self.emit(response, only_new=False)

    def emit(self, response: Response, *, only_new: bool = True) -> Iterator[Any]:
        """The answer's statuses as posts (those not archived before); their media."""
        try:
            posts = parse_statuses(response.body, source=self.target, scheme=self.scheme, host=self.host)
        except NotStatuses as exc:
            self.sink.fetch_failed(response.url, f"{self.what}: {exc}", role="feed")
            return
        location = self.warc_location(response)
        for post in posts:
            if only_new and post.post_id in self.known_ids:
                continue
            self.known_ids.add(post.post_id)
            post.warc = location
            post.page_url = response.url  # the API answer it was read from, archived
            yield post
            yield from self.media_requests(post)

    def on_page(self, response: Response) -> Iterator[Any]:
        self.pages += 1
        if self.failed(response):
            return
        forward = bool(response.meta.get("forward"))
        ids = self.page_ids(response)
        if ids is None:
            yield from self.emit(response)  # reports what the answer was instead
            return
        joined = any(f"{self.host}/{i}" in self.known_ids for i in ids)
        yield from self.emit(response)
        if forward:
            yield from self.forward(response, ids)
        else:
            yield from self.back(response, ids, joined)

    def page_ids(self, response: Response) -> list[int] | None:
        import json

        try:
            data = json.loads(response.body)
        except ValueError:
            return None
        if not isinstance(data, list):
            return None
        return [n for n in (_number(str(s.get("id"))) for s in data if isinstance(s, dict)) if n is not None]

    def limit_reached(self) -> bool:
        if self.max_pages and self.pages >= self.max_pages:
            self.logger.info("page limit %s reached for %s", self.max_pages, self.what)
            return True
        return False

    def forward(self, response: Response, ids: list[int]) -> Iterator[Any]:
        newer = next_link(response.headers, "prev")
        if not ids or newer is None:
            self.walk_complete = True
            return
        # The page holds the statuses just after the watermark: everything up to its newest is in.
        self.newest_seen = max([self.newest_seen or 0, *ids])
        if self.limit_reached():
            return
        yield self.page(newer, forward=True)

    def back(self, response: Response, ids: list[int], joined: bool) -> Iterator[Any]:
        if ids and self.pages == 1:
            self.newest_seen = max(ids)
        older = next_link(response.headers, "next")
        if not ids or older is None:
            self.walk_complete = True
            return
        oldest = min(ids)
        if joined and self.resume_before is not None and self.resume_before < oldest:
            # Caught up with what an earlier, cut-short walk archived: go on where it stopped.
            older = f"{self.timeline}?limit={self.page_size}&max_id={self.resume_before}"
            oldest, self.resume_before = self.resume_before, None
        if self.limit_reached():
            if self.resume_before is None or oldest < self.resume_before:
                self.sink.set_resume(self.label, str(oldest))
            return
        yield self.page(older, forward=False)

    def closed(self, reason: str) -> None:
        """Move the watermark: after a walk back that reached the start, or a walk forward (each of
        whose pages joined the last) that read anything new."""
        if reason != "finished" or self.kind == "status" or self.newest_seen is None:
            return
        forward = self.since is not None
        if (forward and self.newest_seen > (self.since or 0)) or (not forward and self.walk_complete):
            self.sink.set_watermark(self.label, str(self.newest_seen))
