"""A fake Bluesky AppView on 127.0.0.1: the public XRPC methods tawthiq reads, answering in the
shapes the real public AppView (public.api.bsky.app) serves.

Followed: the `app.bsky.actor.defs`, `app.bsky.feed.defs` and `app.bsky.embed.*` lexicons as of
2025 (profileViewDetailed, feedViewPost with `reply` and `reason`, reasonRepost with `uri` and
`cid`, images#view with `aspectRatio`, video#view with an HLS `playlist`, external#view,
record#view with viewRecord, threadViewPost / notFoundPost / blockedPost), the XRPC error body
`{"error": ..., "message": ...}` (400 `NotFound` for a deleted post, 400 `InvalidRequest` for an
unknown actor), `getAuthorFeed` cursors as the real AppView writes them today (the last item's
sort time, ISO 8601), and its rate-limit answer (429 `RateLimitExceeded` with `ratelimit-limit`,
`ratelimit-remaining`, `ratelimit-reset` as a Unix time, and `ratelimit-policy`). The 2023
answers saved in shared/formats/bluesky have the same post views, without video, aspectRatio
or quoteCount. Media is served from the same server under the CDN's paths
(`/img/feed_fullsize/plain/DID/CID@jpeg`, `/watch/DID/CID/playlist.m3u8`).

Accounts and posts are synthetic: a fictional documentation desk posting synthetic notices.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from tawthiq.demo.server import Incoming, LocalServer, Resource

POST = "app.bsky.feed.post"


def fake_cid(seed: str, prefix: str = "bafyrei") -> str:
    """A CID-shaped string (base32 multibase of a sha256), stable per seed."""
    digest = base64.b32encode(hashlib.sha256(seed.encode()).digest()).decode().lower().rstrip("=")
    return prefix + digest[:52]


@dataclass
class Account:
    did: str
    handle: str
    display_name: str
    description: str = ""
    created: str = "2026-09-01T08:00:00.000Z"
    picture: bool = False  # whether it has an avatar and a banner

    @property
    def avatar_path(self) -> str:
        return f"/img/avatar/plain/{self.did}/{fake_cid(self.did + 'avatar', 'bafkrei')}@jpeg"

    @property
    def banner_path(self) -> str:
        return f"/img/banner/plain/{self.did}/{fake_cid(self.did + 'banner', 'bafkrei')}@jpeg"

    def basic(self, cdn: str) -> dict[str, Any]:
        """app.bsky.actor.defs#profileViewBasic"""
        doc: dict[str, Any] = {"did": self.did, "handle": self.handle, "displayName": self.display_name}
        if self.picture:
            doc["avatar"] = cdn + self.avatar_path
        return doc | {"associated": {"chat": {"allowIncoming": "following"}},
                      "viewer": {"muted": False, "blockedBy": False}, "labels": [], "createdAt": self.created}


@dataclass
class Entry:
    """One item of an account's feed: a post of its own, or a repost of someone's post."""

    sort_at: str
    uri: str  # the post shown
    reason: dict[str, Any] | None = None


@dataclass
class FakeAppView:
    server: LocalServer
    cdn: str = ""  # where media URLs point; the server itself unless set (samples use the real CDN)
    accounts: dict[str, Account] = field(default_factory=dict)  # by DID
    views: dict[str, dict[str, Any]] = field(default_factory=dict)  # postView by at:// URI
    feeds: dict[str, list[Entry]] = field(default_factory=dict)  # by DID
    blobs: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # path -> (bytes, content type)
    deleted: set[str] = field(default_factory=set)
    blocked: set[str] = field(default_factory=set)
    rate_limit_next: set[str] = field(default_factory=set)  # XRPC methods whose next call gets a 429
    rate_limited: list[float] = field(default_factory=list)  # when each 429 was sent
    thread_asked: list[tuple[int, int]] = field(default_factory=list)  # (depth, parentHeight) of each getPostThread
    calls: list[tuple[float, str]] = field(default_factory=list)  # (time.monotonic(), XRPC method) of each call

    def __post_init__(self) -> None:
        self.cdn = self.cdn or self.server.base_url
        self.server.fallback = self.route

    # -- building the world ----------------------------------------------------------------------
    def account(self, handle: str, display_name: str, did: str, description: str = "",
                picture: bytes | None = None) -> Account:
        """An account; `picture` (JPEG bytes) is served as its avatar and banner."""
        account = Account(did, handle, display_name, description, picture=picture is not None)
        if picture is not None:
            self.blobs[account.avatar_path] = self.blobs[account.banner_path] = (picture, "image/jpeg")
        self.accounts[did] = account
        self.feeds.setdefault(did, [])
        return account

    def image(self, account: Account, seed: str, body: bytes, alt: str, width: int, height: int) -> tuple[dict, dict]:
        """(record embed image, view image); the full-size file is served by the fake CDN."""
        cid = fake_cid(seed, "bafkrei")
        full = f"/img/feed_fullsize/plain/{account.did}/{cid}@jpeg"
        self.blobs[full] = (body, "image/jpeg")
        record = {"alt": alt, "image": {"$type": "blob", "ref": {"$link": cid}, "mimeType": "image/jpeg",
                                        "size": len(body)}, "aspectRatio": {"width": width, "height": height}}
        view = {"thumb": f"{self.cdn}/img/feed_thumbnail/plain/{account.did}/{cid}@jpeg",
                "fullsize": f"{self.cdn}{full}", "alt": alt, "aspectRatio": {"width": width, "height": height}}
        return record, view

    def post(self, account: Account, rkey: str, text: str, created: str, *, langs: list[str] | None = None,
             facets: list[dict] | None = None, images: list[tuple[dict, dict]] | None = None,
             video: dict[str, Any] | None = None, external: dict[str, Any] | None = None,
             quote: str | None = None, reply_to: str | None = None, in_feed: bool = True,
             labels: list[str] | None = None, indexed: str | None = None) -> str:
        """Add a post to its author's feed; returns its at:// URI. `indexed` (default: `created`)
        is when the AppView indexed it: the feed sorts by the earlier of the two (sortAt), so a
        backdated post, or one indexed late, sits below newer ones."""
        uri = f"at://{account.did}/{POST}/{rkey}"
        record: dict[str, Any] = {"$type": POST, "createdAt": created, "langs": langs or ["ar"], "text": text}
        if facets:
            record["facets"] = facets
        view: dict[str, Any] = {}
        if images:
            record["embed"] = {"$type": "app.bsky.embed.images", "images": [r for r, _ in images]}
            view = {"$type": "app.bsky.embed.images#view", "images": [v for _, v in images]}
        elif video:
            cid = fake_cid(rkey + "video", "bafkrei")
            record["embed"] = {"$type": "app.bsky.embed.video", "video": {
                "$type": "blob", "ref": {"$link": cid}, "mimeType": "video/mp4", "size": 20000},
                "aspectRatio": video["aspectRatio"]}
            view = {"$type": "app.bsky.embed.video#view", "cid": cid, "playlist": video["playlist"],
                    "thumbnail": video["thumbnail"], "aspectRatio": video["aspectRatio"]}
        elif external:
            record["embed"] = {"$type": "app.bsky.embed.external", "external": {
                "uri": external["uri"], "title": external["title"], "description": external["description"]}}
            view = {"$type": "app.bsky.embed.external#view", "external": dict(external)}
        if quote:
            # record#view of a viewRecord whose `embeds` is the quoted post's own embed view; with
            # photos, a video or a card of the quoting post's own, recordWithMedia#view (whose
            # inner record#view the AppView serves without `$type`)
            quoted = self.views[quote]
            ref = {"$type": "app.bsky.embed.record", "record": {"uri": quote, "cid": quoted["cid"]}}
            shown = {"$type": "app.bsky.embed.record#viewRecord", "uri": quote, "cid": quoted["cid"],
                     "author": quoted["author"], "value": quoted["record"], "labels": quoted["labels"], "likeCount": 0,
                     "replyCount": 0, "repostCount": 0, "quoteCount": 1, "indexedAt": quoted["indexedAt"],
                     "embeds": [quoted["embed"]] if quoted.get("embed") else []}
            if view:
                record["embed"] = {"$type": "app.bsky.embed.recordWithMedia", "record": ref, "media": record["embed"]}
                view = {"$type": "app.bsky.embed.recordWithMedia#view", "record": {"record": shown}, "media": view}
            else:
                record["embed"] = ref
                view = {"$type": "app.bsky.embed.record#view", "record": shown}
        if reply_to:
            parent = self.views[reply_to]
            root = (parent["record"].get("reply") or {}).get("root") or {"uri": reply_to, "cid": parent["cid"]}
            record["reply"] = {"root": root, "parent": {"uri": reply_to, "cid": parent["cid"]}}
        post_view: dict[str, Any] = {
            "uri": uri, "cid": fake_cid(uri), "author": account.basic(self.cdn), "record": record,
            "bookmarkCount": 0, "replyCount": 0, "repostCount": 0, "likeCount": 3, "quoteCount": 0,
            "indexedAt": indexed or created, "viewer": {"bookmarked": False, "threadMuted": False, "embeddingDisabled": False},
            "labels": [{"src": "did:plc:ar7c4by46qjdydhdevvrndac", "uri": uri, "cid": fake_cid(uri), "val": v,
                        "cts": created} for v in labels or []],
        }
        if view:
            post_view["embed"] = view
        self.views[uri] = post_view
        if in_feed:
            self.feeds[account.did].insert(0, Entry(min(created, indexed or created), uri))
        return uri

    def repost(self, account: Account, rkey: str, uri: str, at: str) -> str:
        """`account` reposts `uri`; returns the repost record's URI."""
        repost_uri = f"at://{account.did}/app.bsky.feed.repost/{rkey}"
        reason = {"$type": "app.bsky.feed.defs#reasonRepost", "by": account.basic(self.cdn),
                  "uri": repost_uri, "cid": fake_cid(repost_uri), "indexedAt": at}
        self.feeds[account.did].insert(0, Entry(at, uri, reason))
        return repost_uri

    def rename(self, account: Account, handle: str) -> None:
        """The account changes handle: the old one resolves to no one, every view shows the new one."""
        account.handle = handle
        for view in self.views.values():
            if view["author"]["did"] == account.did:
                view["author"]["handle"] = handle
        for entries in self.feeds.values():
            for entry in entries:
                if entry.reason and entry.reason["by"]["did"] == account.did:
                    entry.reason["by"]["handle"] = handle

    # -- answering -------------------------------------------------------------------------------
    def resolve(self, actor: str) -> Account | None:
        for account in self.accounts.values():
            if actor in (account.did, account.handle):
                return account
        return None

    def route(self, incoming: Incoming) -> Resource | None:
        if incoming.path in self.blobs:
            body, ctype = self.blobs[incoming.path]
            return Resource(body, content_type=ctype)
        if not incoming.path.startswith("/xrpc/"):
            return None
        method = incoming.path.removeprefix("/xrpc/")
        self.calls.append((time.monotonic(), method))
        if method in self.rate_limit_next:
            self.rate_limit_next.discard(method)
            self.rate_limited.append(time.monotonic())
            return Resource(json.dumps({"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}).encode(),
                            status=429, content_type="application/json; charset=utf-8", headers=[
                                ("ratelimit-limit", "3000"), ("ratelimit-remaining", "0"),
                                ("ratelimit-reset", str(int(time.time()) + 2)), ("ratelimit-policy", "3000;w=300")])
        params = {k: v[0] for k, v in incoming.query.items()}
        handler = {"app.bsky.actor.getProfile": self.get_profile, "app.bsky.feed.getAuthorFeed": self.get_author_feed,
                   "app.bsky.feed.getPostThread": self.get_post_thread}.get(method)
        if handler is None:
            return self.error(501, "MethodNotImplemented", "Method Not Implemented")
        return handler(params)

    @staticmethod
    def answer(doc: dict[str, Any]) -> Resource:
        return Resource(json.dumps(doc, ensure_ascii=False).encode(), content_type="application/json; charset=utf-8")

    @staticmethod
    def error(status: int, error: str, message: str) -> Resource:
        return Resource(json.dumps({"error": error, "message": message}).encode(), status=status,
                        content_type="application/json; charset=utf-8")

    def get_profile(self, params: dict[str, str]) -> Resource:
        account = self.resolve(params.get("actor", ""))
        if account is None:
            return self.error(400, "InvalidRequest", "Profile not found")
        feed = self.feeds[account.did]
        doc = {**account.basic(self.cdn), "description": account.description, "followersCount": 12,
               "followsCount": 3, "postsCount": sum(1 for e in feed if e.reason is None),
               "indexedAt": account.created}
        if account.picture:
            doc["banner"] = self.cdn + account.banner_path
        return self.answer(doc)

    def live(self, uri: str) -> dict[str, Any] | None:
        return None if uri in self.deleted else self.views.get(uri)

    def get_author_feed(self, params: dict[str, str]) -> Resource:
        account = self.resolve(params.get("actor", ""))
        if account is None:
            return self.error(400, "InvalidRequest", "Profile not found")
        limit = int(params.get("limit", "50"))
        if not 1 <= limit <= 100:
            return self.error(400, "InvalidRequest", "Error: limit must be between 1 and 100")
        cursor = params.get("cursor")
        entries = sorted((e for e in self.feeds[account.did] if self.live(e.uri)), key=lambda e: e.sort_at,
                         reverse=True)
        if cursor:
            entries = [e for e in entries if e.sort_at < cursor]
        page = entries[:limit]
        items = []
        for entry in page:
            view = self.views[entry.uri]
            item: dict[str, Any] = {"post": view}
            reply = view["record"].get("reply")
            if reply:
                parent, root = self.live(reply["parent"]["uri"]), self.live(reply["root"]["uri"])
                item["reply"] = {
                    "root": {"$type": "app.bsky.feed.defs#postView", **root} if root else
                    {"$type": "app.bsky.feed.defs#notFoundPost", "uri": reply["root"]["uri"], "notFound": True},
                    "parent": {"$type": "app.bsky.feed.defs#postView", **parent} if parent else
                    {"$type": "app.bsky.feed.defs#notFoundPost", "uri": reply["parent"]["uri"], "notFound": True},
                }
            if entry.reason:
                item["reason"] = entry.reason
            items.append(item)
        doc: dict[str, Any] = {"feed": items}
        if len(page) == limit:
            doc["cursor"] = page[-1].sort_at
        return self.answer(doc)

    def get_post_thread(self, params: dict[str, str]) -> Resource:
        uri = params.get("uri", "")
        head, _, rkey = uri.removeprefix("at://").partition(f"/{POST}/")
        account = self.resolve(head)
        if account is None:
            # The real AppView resolves the handle and, failing that, looks the URI up as given,
            # finding nothing: a handle that no longer names anyone reads as a deleted post.
            return self.error(400, "NotFound", f"Post not found: {params.get('uri', '')}")
        uri = f"at://{account.did}/{POST}/{rkey}"
        if uri in self.blocked:
            return self.answer({"thread": {"$type": "app.bsky.feed.defs#blockedPost", "uri": uri, "blocked": True,
                                           "author": {"did": account.did, "viewer": {"blockedBy": True}}}})
        if self.live(uri) is None:
            return self.error(400, "NotFound", f"Post not found: {uri}")
        depth, height = int(params.get("depth", "6")), int(params.get("parentHeight", "80"))
        if not 0 <= depth <= 1000 or not 0 <= height <= 1000:  # the lexicon's bounds
            return self.error(400, "InvalidRequest", "Error: depth and parentHeight must be between 0 and 1000")
        self.thread_asked.append((depth, height))
        return self.answer({"thread": self.thread(uri, depth, height, up=True), "threadgate": None})

    def blocked_node(self, uri: str) -> dict[str, Any]:
        did = uri.removeprefix("at://").split("/", 1)[0]
        return {"$type": "app.bsky.feed.defs#blockedPost", "uri": uri, "blocked": True,
                "author": {"did": did, "viewer": {"blockedBy": True}}}

    def thread(self, uri: str, depth: int, height: int, up: bool) -> dict[str, Any]:
        if uri in self.blocked:
            return self.blocked_node(uri)
        view = self.live(uri)
        if view is None:
            return {"$type": "app.bsky.feed.defs#notFoundPost", "uri": uri, "notFound": True}
        node: dict[str, Any] = {"$type": "app.bsky.feed.defs#threadViewPost", "post": view}
        reply = view["record"].get("reply")
        if up and reply and height > 0:
            node["parent"] = self.thread(reply["parent"]["uri"], 0, height - 1, up=True)
        if depth > 0:
            children = [u for u, v in self.views.items()
                        if (v["record"].get("reply") or {}).get("parent", {}).get("uri") == uri and self.live(u)]
            node["replies"] = [self.thread(u, depth - 1, 0, up=False) for u in children]
        return node
