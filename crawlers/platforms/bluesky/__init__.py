"""Bluesky accounts and posts, through the public AppView's XRPC API: no login, no API key.

Specs: `bluesky:HANDLE` (or a DID), `https://bsky.app/profile/HANDLE` for an account's feed;
`https://bsky.app/profile/HANDLE/post/RKEY`, `bluesky:HANDLE/post/RKEY` or
`at://HANDLE/app.bsky.feed.post/RKEY` for one post and its thread. The API's base URL is the
setting `bluesky_base_url` (tests point it at a local server).
Incremental: the feed walk stops where the last complete walk began, after an overlap of
`bluesky_overlap_hours` (for backdated and late-indexed posts, which the feed sorts below posts
seen already); a walk cut short by `bluesky_max_pages` resumes at its cursor.
Gone: `getPostThread` answers 400 `NotFound`, or shows the thread as `#notFoundPost` or
`#blockedPost`. Posts are checked by their DID-based at:// URI, so a change of handle is not
taken for a deletion; a repost is checked through the post it reposted, which its URL names by
DID (an undone repost whose post is still online cannot be told apart through this API).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlparse

from pydantic import BaseModel, ConfigDict, Field

from tawthiq.crawlers.models import Post
from tawthiq.crawlers.platforms.base import (
    CatalogView, CheckState, Job, Platform, PostToCheck, Sample, SpecError, SpiderJob, Target, is_http, prefixed,
)

# atproto's handle syntax (https://atproto.com/specs/handle) and DID syntax (…/specs/did).
_HANDLE = re.compile(r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$")
_DID = re.compile(r"^did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]$")
_RKEY = re.compile(r"^[A-Za-z0-9._:~-]{1,512}$")
_WEB_HOSTS = {"bsky.app", "www.bsky.app"}
_POST_COLLECTION = "app.bsky.feed.post"


class BlueskyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bluesky_base_url: str = Field("https://public.api.bsky.app", description="the AppView whose XRPC API is "
                                  "read (tests and mirrors point it elsewhere)")
    bluesky_max_pages: int = Field(50, ge=0, description="getAuthorFeed pages walked back per run (0: all history)")
    bluesky_page_size: int = Field(100, ge=1, le=100, description="posts asked for per getAuthorFeed page (limit)")
    bluesky_overlap_hours: float = Field(24, ge=0, description="after meeting the last walk's posts, the feed walk "
                                         "goes on through posts this many hours older still (the feed is ordered by "
                                         "the earlier of creation and indexing time, so a backdated or late-indexed "
                                         "post sits below posts seen already); known posts are skipped")
    bluesky_thread_depth: int = Field(1000, ge=0, le=1000, description="levels of replies asked of getPostThread "
                                      "for a post spec (depth; the API's maximum is 1000)")
    bluesky_parent_height: int = Field(1000, ge=0, le=1000, description="levels of parents asked of getPostThread "
                                       "for a post spec (parentHeight; the API's maximum is 1000)")


def _actor(actor: str, spec: str) -> str:
    actor = actor.strip().lstrip("@")
    if _DID.match(actor):
        return actor
    if len(actor) <= 253 and _HANDLE.match(actor):
        return actor.lower()  # handles are case-insensitive
    raise SpecError(f"{spec!r}: {actor!r} is not a Bluesky handle (like name.bsky.social) or a DID (did:plc:...)")


def _rkey(rkey: str, spec: str) -> str:
    if rkey in (".", "..") or not _RKEY.match(rkey):
        raise SpecError(f"{spec!r}: {rkey!r} is not a Bluesky record key")
    return rkey


def _value(parts: list[str], spec: str) -> str:
    """`HANDLE` or `HANDLE/post/RKEY` from path parts after `profile/`."""
    if len(parts) == 1:
        return _actor(parts[0], spec)
    if len(parts) == 3 and parts[1] == "post":
        return f"{_actor(parts[0], spec)}/post/{_rkey(parts[2], spec)}"
    raise SpecError(f"{spec!r}: expected bluesky:HANDLE, https://bsky.app/profile/HANDLE or "
                    "https://bsky.app/profile/HANDLE/post/RKEY")


def split_value(value: str) -> tuple[str, str | None]:
    """(actor, rkey or None) of a target value."""
    actor, _, rkey = value.partition("/post/")
    return actor, rkey or None


class Bluesky(Platform):
    name = "bluesky"
    forms = ("bluesky:HANDLE", "https://bsky.app/profile/HANDLE[/post/RKEY]")
    EXAMPLES = (
        "bluesky:archive-desk.example.org",
        "bluesky:did:plc:7iza6de2dwap2sbkpav7c6c6",
        "https://bsky.app/profile/archive-desk.example.org",
        "https://bsky.app/profile/archive-desk.example.org/post/3lbq2vqzy6c2a",
        "bluesky:archive-desk.example.org/post/3lbq2vqzy6c2a",
        "at://archive-desk.example.org/app.bsky.feed.post/3lbq2vqzy6c2a",
    )
    Options = BlueskyOptions
    SAMPLES = (
        Sample(file="author_feed.json", format="app.bsky.feed.getAuthorFeed answer of the public AppView "
               "(feedViewPost items with images#view, video#view, record#view embeds, facets, reasonRepost with "
               "uri/cid; app.bsky lexicons as of 2025; a synthetic account, shaped after the real answers in "
               "shared/formats/bluesky)",
               url="https://public.api.bsky.app/xrpc/app.bsky.feed.getAuthorFeed?actor=archive-desk.example.org&limit=100",
               count=4, expect=[
                   {"post_id": "at://did:plc:tawthiqsampledeskaaaaaaa/app.bsky.feed.post/3lbq2vqzy6c2a",
                    "url": "https://bsky.app/profile/archive-desk.example.org/post/3lbq2vqzy6c2a",
                    "author": "Archive Desk (synthetic)", "language": "ar"},
                   {"post_id": "at://did:plc:tawthiqsampledeskaaaaaaa/app.bsky.feed.post/3lbq2tkq3bk2a",
                    "language": "en", "links": ["https://example.org/r/7"]},
                   {"post_id": "at://did:plc:tawthiqsampledeskaaaaaaa/app.bsky.feed.repost/3lbq2ssssss2a",
                    "author": "Archive Desk (synthetic)", "forwarded_from": "Field Notes (synthetic)",
                    "url": "https://bsky.app/profile/did:plc:tawthiqfieldnotesaaaaaaa/post/3lbq2rrrrrr2a",
                    "forwarded_from_url": "https://bsky.app/profile/field-notes.example.net/post/3lbq2rrrrrr2a"},
               ]),
    )

    def claim(self, spec: str, settings: Any) -> str | None:
        rest = prefixed(spec, "bluesky")
        if rest is not None:
            return _value([p for p in rest.split("/") if p], spec)
        if spec.lower().startswith("at://"):
            parts = [p for p in spec[5:].split("/") if p]
            if len(parts) != 3 or parts[1] != _POST_COLLECTION:
                raise SpecError(f"{spec!r}: only post URIs (at://HANDLE/{_POST_COLLECTION}/RKEY) can be captured")
            return f"{_actor(parts[0], spec)}/post/{_rkey(parts[2], spec)}"
        raw = "https://" + spec if spec.lower().startswith(("bsky.app/", "www.bsky.app/")) else spec
        if not is_http(raw) or (urlparse(raw).hostname or "").lower() not in _WEB_HOSTS:
            return None
        parts = [p for p in urlparse(raw).path.split("/") if p]
        # Only /profile/HANDLE and /profile/HANDLE/post/RKEY are ours; every other bsky.app page
        # (the front page, search, hashtags, feeds, lists, a post's quotes or likes) stays a web capture.
        if len(parts) == 2 and parts[0] == "profile" or len(parts) == 4 and parts[0] == "profile" and parts[2] == "post":
            return _value(parts[1:], spec)
        return None

    def source_url(self, value: str, settings: Any) -> str:
        return f"https://bsky.app/profile/{value}"

    def plan(self, target: Target, settings: Any, catalog: CatalogView) -> list[Job]:
        from tawthiq.crawlers.platforms.bluesky.spider import BlueskyFeedSpider, BlueskyThreadSpider

        options = self.options(settings)
        actor, rkey = split_value(target.value)
        known = catalog.known_post_ids(self.name, target.value)
        if rkey is not None:
            return [SpiderJob(BlueskyThreadSpider, {"actor": actor, "rkey": rkey, "source": target.value,
                                                    "base_url": options.bluesky_base_url, "known_ids": known,
                                                    "depth": options.bluesky_thread_depth,
                                                    "parent_height": options.bluesky_parent_height})]
        complete_through, resume = catalog.watermark(target.label)
        return [SpiderJob(BlueskyFeedSpider, {
            "actor": actor, "base_url": options.bluesky_base_url, "max_pages": options.bluesky_max_pages,
            "page_size": options.bluesky_page_size, "since": complete_through, "resume": resume, "known_ids": known,
            "overlap_hours": options.bluesky_overlap_hours,
        })]

    # -- takedown tracking ---------------------------------------------------------------------
    def check_url(self, post: PostToCheck, settings: Any) -> str:
        from tawthiq.crawlers.platforms.bluesky.parser import post_uri
        from tawthiq.crawlers.platforms.bluesky.spider import xrpc

        # A post's id is its at:// URI by DID (an old-style repost id is the reposted post's URI
        # and `#repost-by-...`), which outlives a change of handle: check by it.
        uri = post.post_id.split("#", 1)[0]
        if f"/{_POST_COLLECTION}/" not in uri:
            # A repost record (at://REPOSTER/app.bsky.feed.repost/...): check the post it reposted,
            # through its URL, which names the author by DID since reposts are parsed so (older
            # captures name the handle there, and are checked by it as before).
            parts = [p for p in urlparse(post.url).path.split("/") if p]
            uri = post_uri(parts[1], parts[3]) if len(parts) == 4 else uri
        return xrpc(self.options(settings).bluesky_base_url, "app.bsky.feed.getPostThread",
                    uri=uri, depth=0, parentHeight=0)

    def check_state(self, post: PostToCheck, status: int, body: bytes, text: str | None) -> tuple[CheckState, str | None]:
        import json

        from tawthiq.crawlers.platforms.base import text_hash
        from tawthiq.crawlers.platforms.bluesky.parser import thread_state, xrpc_error

        if status >= 400:
            detail = xrpc_error(body)
            if status == 400 and detail.split(":", 1)[0] == "NotFound":
                return "gone", detail
            return "error", f"HTTP {status}" + (f" ({detail})" if detail else "")
        try:
            doc = json.loads(body)
        except ValueError:
            return "error", "the answer is not JSON"
        if not isinstance(doc, dict):
            return "error", "the answer is not a JSON object"
        state, shown = thread_state(doc)
        if state == "gone":
            return "gone", shown
        if text_hash(shown or "") != text_hash(post.text):
            return "changed", "the post's text differs from the archived copy"
        return "online", None

    # -- samples -------------------------------------------------------------------------------
    def parse_sample(self, body: bytes, url: str) -> list[Post]:
        import json

        from tawthiq.crawlers.platforms.bluesky.parser import parse_author_feed, parse_thread

        doc = json.loads(body)
        query = parse_qs(urlparse(url).query)
        if "getPostThread" in url:
            actor, _, rkey = query.get("uri", [""])[0].removeprefix("at://").partition(f"/{_POST_COLLECTION}/")
            return parse_thread(doc, source=f"{actor}/post/{rkey}")
        return parse_author_feed(doc, source=query.get("actor", [""])[0]).posts


PLATFORM = Bluesky()
