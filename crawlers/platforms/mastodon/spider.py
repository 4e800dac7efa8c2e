"""A Mastodon account's statuses, a hashtag's timeline, or one status, through the REST API.

Timelines are read newest first, 1 to 40 statuses a page, paginated by the `Link` header:
rel="next" (`max_id`) goes back in time, rel="prev" (`min_id`) forward. Only the link's `max_id`
or `min_id` is used, on the timeline's own URL: a link to another host or path is not followed.
  - No watermark yet: walk back from the newest status to the start of the history or the page
    limit. A walk cut short records where it stopped and the newest status it read
    ("BEFORE:NEWEST", `set_resume`), every time, over any older point; the next run walks back
    until it meets NEWEST itself, then jumps to BEFORE. Meeting any archived status is not
    enough: a run that failed mid-walk archived statuses but recorded no point to jump to.
    A walk that reaches the start sets the watermark to the newest status it saw.
  - A watermark W: walk forward with `min_id=W`. The API answers the statuses just after W, so
    each page joins the last, and the watermark moves to the newest status read even when the
    page limit cuts the walk short: the next run goes on from there. Besides, a walk back from W
    through the last `overlap_hours` below it (ids are snowflakes of the publication time) picks
    up remote statuses delivered late, whose ids sit below W; archived ones are skipped.
Every API answer is archived by the wire recorder; each status is a post, archived with the
answer that carried it; attachments are fetched at original size (video files directly), and for
a remote status also this instance's copy.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import scrapy
from scrapy.http import Response

from tawthiq.crawlers.models import Post
from tawthiq.crawlers.platforms.base import resume_point
from tawthiq.crawlers.platforms.mastodon import instance_host, split_value
from tawthiq.crawlers.platforms.mastodon.parser import NotStatuses, api_error, next_link, parse_statuses
from tawthiq.crawlers.spiders.base import ArchivingSpider

SNOWFLAKE_SHIFT = 16  # a Mastodon id is (milliseconds since the epoch) << 16, plus a sequence


def _number(status_id: str | None) -> int | None:
    return int(status_id) if status_id and status_id.isdigit() else None


class MastodonSpider(ArchivingSpider):
    name = "mastodon"

    def __init__(self, target: str, label: str, scheme: str = "https", max_pages: int = 20, page_size: int = 40,
                 since_id: str | None = None, resume_before: str | None = None, overlap_hours: float = 24,
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
        self.resume_before, self.resume_anchor = resume_point(resume_before)
        self.overlap = int(overlap_hours * 3600 * 1000) << SNOWFLAKE_SHIFT
        self.known_ids = set(known_ids or ())
        self.fetch_media = fetch_media
        self.fetch_videos = fetch_videos
        self.video_domains = list(video_domains or [])
        self.timeline = ""  # the timeline's API URL, once known (an account's needs its id)
        self.pages = 0  # pages of the main walk (back, or forward)
        self.overlap_pages = 0  # pages of the walk back below the watermark
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
            for request in self.first_pages(f"{self.base}/api/v1/timelines/tag/{quote(self.handle)}"):
                yield request
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
        if account.get("suspended"):
            # The instance keeps a suspended account's profile but serves none of its statuses:
            # an empty timeline here is not an account with nothing to archive.
            self.sink.fetch_failed(response.url, f"{self.what} is suspended on {self.host}: its statuses "
                                   "are not served", role="feed")
            return
        yield from self.first_pages(f"{self.base}/api/v1/accounts/{quote(account_id)}/statuses")

    def first_pages(self, timeline: str) -> Iterator[Any]:
        self.timeline = timeline
        if self.since is None:
            yield self.page(self.timeline_url(), walk="back")
            return
        yield self.page(self.timeline_url(min_id=self.since), walk="forward")
        if self.overlap:
            yield self.page(self.timeline_url(max_id=self.since), walk="overlap")

    def timeline_url(self, *, max_id: int | None = None, min_id: int | None = None) -> str:
        """A page of the timeline, always on its own URL (never a URL an answer handed over)."""
        url = f"{self.timeline}?limit={self.page_size}"
        if max_id is not None:
            url += f"&max_id={max_id}"
        if min_id is not None:
            url += f"&min_id={min_id}"
        return url

    def page(self, url: str, *, walk: str) -> Any:
        return self.archived_request(url, self.on_page, role="feed", meta={"walk": walk})

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

    def media_requests(self, post: Post) -> Iterator[scrapy.Request]:
        """The attachments' originals (and the rest of the post's media), then, for a remote
        status, this instance's copies of them too: the copy is what its readers were shown."""
        yield from super().media_requests(post)
        if not self.fetch_media:
            return
        for attachment in post.extra.get("attachments") or []:
            copy = attachment.get("instance_copy_url")
            if not copy or (attachment.get("type") in ("video", "gifv") and not self.fetch_videos):
                continue
            if str(copy).startswith(("http://", "https://")):
                yield self.archived_request(copy, self.on_media, role="media", meta={"post_url": post.url})

    def on_page(self, response: Response) -> Iterator[Any]:
        walk = str(response.meta.get("walk") or "back")
        if walk == "overlap":
            self.overlap_pages += 1
        else:
            self.pages += 1
        if self.failed(response):
            return
        ids = self.page_ids(response)
        if ids is None:
            yield from self.emit(response)  # reports what the answer was instead
            return
        yield from self.emit(response)
        if walk == "forward":
            yield from self.forward(response, ids)
        elif walk == "overlap":
            yield from self.below_watermark(response, ids)
        else:
            yield from self.back(response, ids)

    def page_ids(self, response: Response) -> list[int] | None:
        import json

        try:
            data = json.loads(response.body)
        except ValueError:
            return None
        if not isinstance(data, list):
            return None
        return [n for n in (_number(str(s.get("id"))) for s in data if isinstance(s, dict)) if n is not None]

    def limit_reached(self, pages: int) -> bool:
        if self.max_pages and pages >= self.max_pages:
            self.logger.info("page limit %s reached for %s", self.max_pages, self.what)
            return True
        return False

    def link_position(self, response: Response, rel: str) -> tuple[bool, int | None]:
        """(there is a link, its `max_id`/`min_id`) for the `rel` link of the answer. A link to
        another host, or without a usable id, is reported and not followed: a hostile
        or broken instance must not steer the crawler elsewhere (another host, an internal address)."""
        link = next_link(response.headers, rel)
        if link is None:
            return False, None
        parts = urlsplit(link)
        key = "max_id" if rel == "next" else "min_id"
        values = parse_qs(parts.query).get(key) or []
        # The instance itself: the host asked, or the one that answered (an instance may serve its
        # API on its web domain, redirected to); the default port is the same host.
        answered = urlsplit(response.url)
        own = {instance_host(self.host, self.scheme), instance_host(answered.netloc, answered.scheme)}
        if instance_host(parts.netloc, parts.scheme.lower()) not in own:
            self.sink.fetch_failed(response.url, f"{self.what}: the answer's rel=\"{rel}\" link points "
                                   f"elsewhere ({link}); not followed", role="feed")
            return True, None
        if len(values) != 1 or not values[0].isdigit():
            self.sink.fetch_failed(response.url, f"{self.what}: the answer's rel=\"{rel}\" link has no "
                                   f"{key} ({link}); not followed", role="feed")
            return True, None
        return True, int(values[0])

    def forward(self, response: Response, ids: list[int]) -> Iterator[Any]:
        linked, newer = self.link_position(response, "prev")
        if not ids or not linked:
            self.walk_complete = True
            return
        # The page holds the statuses just after the watermark: everything up to its newest is in.
        self.newest_seen = max([self.newest_seen or 0, *ids])
        if newer is None or self.limit_reached(self.pages):
            return
        yield self.page(self.timeline_url(min_id=newer), walk="forward")

    def below_watermark(self, response: Response, ids: list[int]) -> Iterator[Any]:
        """Walk back from the watermark until `overlap` below it: late remote statuses."""
        _, older = self.link_position(response, "next")
        if not ids or older is None or self.since is None:
            return
        if min(ids) <= self.since - self.overlap or self.limit_reached(self.overlap_pages):
            return
        yield self.page(self.timeline_url(max_id=older), walk="overlap")

    def back(self, response: Response, ids: list[int]) -> Iterator[Any]:
        if ids and self.pages == 1:
            self.newest_seen = max(ids)
        linked, older = self.link_position(response, "next")
        if not ids or not linked:
            self.walk_complete = True
            return
        if older is None:
            return  # a link not followed (reported): the walk is not complete
        if self.resume_anchor is not None and self.resume_anchor in ids \
                and self.resume_before is not None and self.resume_before < older:
            # The newest status of the walk that was cut short: it read everything from there down
            # to resume_before, so go on where it stopped.
            older, self.resume_before = self.resume_before, None
        if self.limit_reached(self.pages):
            # Always the point this walk reached, over an older one: when more statuses arrived
            # since the last run than one run reads, the older point lies below a range nobody
            # has read yet, and jumping to it would leave that range out for good.
            self.sink.set_resume(self.label, f"{older}:{self.newest_seen}")
            return
        yield self.page(self.timeline_url(max_id=older), walk="back")

    def closed(self, reason: str) -> None:
        """Move the watermark: after a walk back that reached the start, or a walk forward (each of
        whose pages joined the last) that read anything new."""
        if reason != "finished" or self.kind == "status" or self.newest_seen is None:
            return
        forward = self.since is not None
        if (forward and self.newest_seen > (self.since or 0)) or (not forward and self.walk_complete):
            self.sink.set_watermark(self.label, str(self.newest_seen))
