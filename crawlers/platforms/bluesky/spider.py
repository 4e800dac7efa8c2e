"""Bluesky through the public AppView's XRPC API (no login): an account's feed, or one thread.

`BlueskyFeedSpider` reads `app.bsky.actor.getProfile`, then walks `app.bsky.feed.getAuthorFeed`
newest first by its `cursor`. The walk stops where the last complete walk began (the
watermark: the ids of the newest few items it saw, so one deleted post does not send the walk to
the start of history) plus an overlap (`overlap_hours` older than the watermark item: the feed
sorts by the earlier of createdAt and indexedAt, so a backdated or late-indexed post lands below
items already seen; known posts in the overlap are skipped), at the end of the feed, or at the
page limit. A walk cut short leaves a
resume point: the cursor it stopped at and the newest items it began with, since what lies
between the two is archived; the next walk that meets one of those items jumps to the cursor.
Cursors are opaque (a time in today's AppView, `ms::cid` in 2023's), so nothing compares them.

`BlueskyThreadSpider` reads `app.bsky.feed.getPostThread` for one post: the post, its parents
and its replies, as deep and as high as the API allows by default (1000 levels each); parents or
replies shown as `#notFoundPost`/`#blockedPost` are recorded as failures in the archive.

Every API answer is archived by the wire recorder as it was sent; photos are fetched at full size
(`fullsize`), and a video's HLS playlist goes to the video fetcher (yt-dlp) after the crawl.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from scrapy.http import Response

from tawthiq.crawlers.models import Media, Post
from tawthiq.crawlers.platforms.bluesky.parser import (
    parse_author_feed, parse_thread, post_uri, post_url, profile_url, thread_gaps, xrpc_error,
)
from tawthiq.crawlers.spiders.base import ArchivingSpider

TOP = 5  # items of the newest page kept as the watermark


def xrpc(base_url: str, method: str, **params: Any) -> str:
    return f"{base_url.rstrip('/')}/xrpc/{method}?{urlencode(params)}"


class BlueskySpider(ArchivingSpider):
    """What both Bluesky spiders share: JSON answers, errors in XRPC's words, media."""

    def __init__(self, base_url: str = "https://public.api.bsky.app", known_ids: set[str] | None = None,
                 fetch_media: bool = True, fetch_videos: bool = True,
                 video_domains: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")
        self.known_ids = set(known_ids or ())
        self.fetch_media = fetch_media
        self.fetch_videos = fetch_videos
        self.video_domains = list(video_domains or [])

    def answer(self, response: Response, what: str) -> dict[str, Any] | None:
        """The decoded JSON of an API answer, or None after reporting why it is unusable."""
        if response.status >= 400:
            detail = xrpc_error(response.body)
            self.sink.fetch_failed(response.url, f"HTTP {response.status} for {what}"
                                   + (f" ({detail})" if detail else ""), role="page")
            return None
        try:
            doc = json.loads(response.body)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            ctype = (response.headers.get("Content-Type") or b"?").decode("latin-1")
            self.sink.fetch_failed(response.url, f"{what}: the answer is not a JSON object ({ctype})", role="page")
            return None
        return doc

    def archive(self, post: Post, response: Response) -> Iterator[Any]:
        post.warc = self.warc_location(response)
        yield post
        yield from self.media_requests(post)

    def media_urls(self, post: Post, media: Media) -> list[str]:
        """Photos at full size; a video's HLS playlist goes to yt-dlp (which fetches its segments)
        and only its poster image is fetched now."""
        if media.kind == "video":
            if self.fetch_videos and media.url:
                self.sink.queue_video(media.url, post_url=post.url)
            return [media.thumbnail_url] if media.thumbnail_url else []
        return [media.url] if media.url else []


class BlueskyFeedSpider(BlueskySpider):
    name = "bluesky"

    def __init__(self, actor: str, max_pages: int = 50, page_size: int = 100, since: str | None = None,
                 resume: str | None = None, overlap_hours: float = 24, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.actor = actor
        self.label = f"bluesky:{actor}"
        self.max_pages = max_pages
        self.page_size = page_size
        self.since_ids = set((since or "").split())
        self.resume_cursor, self.resume_top = self._resume(resume)
        self.top: list[str] = []
        self.walk_complete = False
        self.pages = 0
        self.overlap = timedelta(hours=overlap_hours)
        self.overlap_until: datetime | None = None  # set on meeting the last walk: walk on down to this time

    @staticmethod
    def _resume(value: str | None) -> tuple[str | None, set[str]]:
        try:
            doc = json.loads(value) if value else {}
        except ValueError:
            return None, set()
        if not isinstance(doc, dict) or not isinstance(doc.get("cursor"), str):
            return None, set()
        return doc["cursor"], set(doc.get("top") or ())

    def feed_url(self, cursor: str | None) -> str:
        params: dict[str, Any] = {"actor": self.actor, "limit": self.page_size}
        if cursor:
            params["cursor"] = cursor
        return xrpc(self.base_url, "app.bsky.feed.getAuthorFeed", **params)

    async def start(self) -> Any:
        yield self.archived_request(xrpc(self.base_url, "app.bsky.actor.getProfile", actor=self.actor),
                                    self.parse_profile, role="page")

    def parse_profile(self, response: Response) -> Iterator[Any]:
        profile = self.answer(response, f"bluesky profile {self.actor!r}")
        if profile is None:
            return
        if self.fetch_media:  # the account's face at the time of capture
            for key in ("avatar", "banner"):
                if isinstance(profile.get(key), str) and profile[key].startswith(("http://", "https://")):
                    yield self.archived_request(profile[key], self.on_media, role="media",
                                                meta={"post_url": profile_url(self.actor)})
        yield self.archived_request(self.feed_url(None), self.parse_feed, role="feed")

    def closed(self, reason: str) -> None:
        """Move the watermark only when this walk joined up with the last complete one."""
        if self.walk_complete and reason == "finished" and self.top:
            self.sink.set_watermark(self.label, " ".join(self.top))

    def parse_feed(self, response: Response) -> Iterator[Any]:
        self.pages += 1
        doc = self.answer(response, f"bluesky feed of {self.actor!r}")
        if doc is None:
            return
        page = parse_author_feed(doc, source=self.actor)
        if self.pages == 1:
            self.top = [post.post_id for post in page.posts[:TOP]]
        reached_known = jump = False
        for post, at in zip(page.posts, page.sort_at):
            if self.overlap_until is not None:
                if at is None or at < self.overlap_until:
                    reached_known = True  # past the overlap: the rest is archived
                    break
            elif post.post_id in self.since_ids:
                # The last complete walk began here, so what lies below is archived, except posts
                # the feed sorts below it though they are new to us (backdated, indexed late):
                # walk on through the overlap, skipping known posts.
                if at is None or not self.overlap:
                    reached_known = True
                    break
                self.overlap_until = at - self.overlap
                continue
            elif self.resume_cursor and post.post_id in self.resume_top:
                jump = True  # a cut-short walk began here: archived down to its cursor
                break
            if post.post_id in self.known_ids or post.post_id in self.since_ids:
                continue
            yield from self.archive(post, response)
        if reached_known or page.cursor is None:
            self.walk_complete = True
            return
        if self.overlap_until is not None and self.max_pages and self.pages >= self.max_pages:
            self.logger.info("page limit %s reached in the overlap below the last walk for %s", self.max_pages,
                             self.actor)
            self.walk_complete = True  # joined up with the last walk: no gap, only a shorter overlap
            return
        cursor: str | None = page.cursor
        if jump:
            cursor, self.resume_cursor, self.resume_top = self.resume_cursor, None, set()
        if self.max_pages and self.pages >= self.max_pages:
            self.logger.info("page limit %s reached for %s", self.max_pages, self.actor)
            self.sink.set_resume(self.label, json.dumps({"cursor": cursor, "top": self.top}))
            return
        yield self.archived_request(self.feed_url(cursor), self.parse_feed, role="feed")


class BlueskyThreadSpider(BlueskySpider):
    name = "bluesky_thread"

    def __init__(self, actor: str, rkey: str, source: str, depth: int = 1000, parent_height: int = 1000,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.actor, self.rkey, self.source = actor, rkey, source
        self.depth, self.parent_height = depth, parent_height

    async def start(self) -> Any:
        url = xrpc(self.base_url, "app.bsky.feed.getPostThread", uri=post_uri(self.actor, self.rkey),
                   depth=self.depth, parentHeight=self.parent_height)
        yield self.archived_request(url, self.parse_thread, role="page")

    def parse_thread(self, response: Response) -> Iterator[Any]:
        what = f"bluesky post {self.actor}/post/{self.rkey}"
        doc = self.answer(response, what)
        if doc is None:
            return
        posts = parse_thread(doc, source=self.source)
        if not posts:
            kind = (doc.get("thread") or {}).get("$type", "no thread")
            self.sink.fetch_failed(response.url, f"{what} shows no post ({kind})", role="page")
            return
        # Parents and replies the answer names without showing are recorded in the archive, not
        # skipped: they are gaps in the evidence, though not a failure of the capture (a thread
        # with a deleted reply is captured as far as it can be), hence the uncounted role.
        for uri, why in thread_gaps(doc):
            self.logger.info("%s: %s is %s", what, uri, why)
            self.sink.fetch_failed(post_url(uri), f"{what}: the thread names {uri} but does not show it: {why}",
                                   role="requisite")
        for post in posts:
            if post.post_id not in self.known_ids:
                yield from self.archive(post, response)
