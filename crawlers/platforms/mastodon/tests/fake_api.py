"""A fake Mastodon instance on a `LocalServer`: the public REST API endpoints the platform reads.

Follows Mastodon 4.5's REST API v1 as an anonymous client sees it (the shapes recorded in
shared/formats/mastodon: Mastodon.py's 2026-08 cassettes of a real local instance, and the 2022
mastodon.social account-statuses answer for media and cards):
  - `GET /api/v1/accounts/lookup?acct=USER` -> Account, or 404 `{"error":"Record not found"}`;
  - `GET /api/v1/accounts/:id/statuses` and `GET /api/v1/timelines/tag/:tag` -> [Status], newest
    first, `limit` (default 20, at most 40), `max_id`, `since_id`, `min_id` (the statuses just
    after it, still newest first), and the `Link` header: rel="next" (`max_id` = the page's last
    id) and rel="prev" (`min_id` = its first id). As in Mastodon's controllers, an account's next
    link is given only for a full page, a hashtag's for any non-empty page; an empty page has none;
  - `GET /api/v1/statuses/:id` -> Status, or 404;
  - the `X-RateLimit-Limit/-Remaining/-Reset` headers (Reset an ISO 8601 time) on every answer,
    and, on request, one 429 `{"error":"Too many requests"}` as rack-attack sends it;
  - media files under `/system/media_attachments/files/.../original/` and `.../small/`; a remote
    status's attachment has `remote_url` (its origin's file, served here under /origin/) besides
    `url` (the instance's copy), and one the instance never fetched has neither;
  - snowflake ids, as Mastodon's: (milliseconds since the epoch of the publication time) << 16,
    so a remote status delivered late gets an id below newer ones.
Knobs for the failures a real instance shows: `fail_max_ids` (pages that answer 500),
`link_base` (a hostile `Link` header pointing elsewhere), `html_404` (a parked domain's 404 page).
The people and posts are synthetic: a fictional documentation desk posting synthetic notices.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from tawthiq.demo.images import photo
from tawthiq.demo.server import Incoming, LocalServer, Resource
from tawthiq.demo.video import mp4

API_HEADERS = [("Cache-Control", "private, no-store"), ("Vary", "Authorization, Origin"),
               ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "SAMEORIGIN")]


def snowflake(when: datetime, sequence: int = 0) -> int:
    return (int(when.timestamp() * 1000) << 16) + sequence


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


@dataclass
class FakeInstance:
    server: LocalServer
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> Account
    statuses: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> Status
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # path -> (body, type)
    rate_limit_next: int = 0  # how many of the next API requests answer 429
    fail_max_ids: set[str] = field(default_factory=set)  # timeline pages (by max_id) that answer 500
    link_base: str | None = None  # a hostile instance: the Link header points at this base instead
    html_404: bool = False  # a parked domain or proxy in front: missing statuses answer an HTML 404
    _clock: datetime = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)

    def __post_init__(self) -> None:
        self.server.fallback = self.route

    @property
    def host(self) -> str:
        return self.server.base_url.removeprefix("http://")

    @property
    def base(self) -> str:
        return self.server.base_url

    # -- content -------------------------------------------------------------------------------
    def new_id(self) -> int:
        """The next id, a snowflake as Mastodon makes them: milliseconds since the epoch of the
        (fake) clock, shifted 16 bits, with a sequence number in the low bits."""
        self._clock += timedelta(minutes=7)
        return snowflake(self._clock)

    def account(self, username: str, display_name: str) -> dict[str, Any]:
        account_id = str(113400000000000000 + len(self.accounts) + 1)
        url = f"{self.base}/@{username}"
        account = {
            "id": account_id, "username": username, "acct": username, "display_name": display_name,
            "locked": False, "bot": False, "discoverable": True, "indexable": True, "group": False,
            "created_at": "2026-01-01T00:00:00.000Z", "note": "<p>Synthetic notices for tests.</p>",
            "url": url, "uri": f"{self.base}/users/{username}",
            "avatar": f"{self.base}/avatars/original/missing.png",
            "avatar_static": f"{self.base}/avatars/original/missing.png", "avatar_description": "",
            "header": f"{self.base}/headers/original/missing.png",
            "header_static": f"{self.base}/headers/original/missing.png", "header_description": "",
            "followers_count": 3, "following_count": 1, "statuses_count": 0, "last_status_at": None,
            "hide_collections": None, "noindex": False, "emojis": [], "roles": [], "fields": [],
        }
        self.accounts[account_id] = account
        return account

    def image(self, name: str, *, description: str | None = None, kind: str = "image") -> dict[str, Any]:
        """A media attachment whose files the instance serves (a real JPEG, or a real MP4)."""
        attachment_id = str(self.new_id())
        stem = "/system/media_attachments/files/" + "/".join(attachment_id[i:i + 3] for i in range(0, 18, 3))
        original = f"{stem}/original/{name}"
        small = f"{stem}/small/{name.rsplit('.', 1)[0]}.jpg"
        if kind == "image":
            self.files[original] = (photo(f"mastodon-{name}", size=(640, 480)), "image/jpeg")
            meta = {"original": {"width": 640, "height": 480, "size": "640x480", "aspect": 1.3333333333333333},
                    "small": {"width": 480, "height": 360, "size": "480x360", "aspect": 1.3333333333333333}}
        else:
            self.files[original] = (mp4(len(self.files) + 1) or b"", "video/mp4")
            meta = {"original": {"width": 160, "height": 120, "frame_rate": "12/1", "duration": 1.0,
                                 "bitrate": 120000},
                    "small": {"width": 160, "height": 120, "size": "160x120", "aspect": 1.3333333333333333}}
        self.files[small] = (photo(f"mastodon-small-{name}"), "image/jpeg")
        return {"id": attachment_id, "type": kind, "url": self.base + original, "preview_url": self.base + small,
                "remote_url": None, "preview_remote_url": None, "text_url": None, "meta": meta,
                "description": description, "blurhash": "UGC~-#M{0JfkNFofR%M{IURj%Mt7E0oM%MR*"}

    def post(self, account: dict[str, Any], content: str, *, language: str | None = "en", spoiler: str = "",
             sensitive: bool = False, media: list[dict[str, Any]] | None = None, tags: tuple[str, ...] = (),
             reply_to: dict[str, Any] | None = None, poll: list[str] | None = None,
             card: dict[str, Any] | None = None, reblog: dict[str, Any] | None = None,
             published: datetime | None = None) -> dict[str, Any]:
        """A new status; `published` dates one before newer ones, as a remote status delivered
        late is: the instance numbers it by that time, so its id sits below theirs."""
        status_id = snowflake(published, 1) if published else self.new_id()
        username = account["username"]
        status: dict[str, Any] = {
            "id": str(status_id), "created_at": _iso(published or self._clock),
            "in_reply_to_id": reply_to["id"] if reply_to else None,
            "in_reply_to_account_id": reply_to["account"]["id"] if reply_to else None,
            "sensitive": sensitive, "spoiler_text": spoiler, "visibility": "public",
            "language": None if reblog else language,
            "uri": f"{self.base}/users/{username}/statuses/{status_id}" + ("/activity" if reblog else ""),
            "url": (f"{self.base}/users/{username}/statuses/{status_id}/activity" if reblog
                    else f"{self.base}/@{username}/{status_id}"),
            "replies_count": 0, "reblogs_count": 0, "favourites_count": 0, "quotes_count": 0, "edited_at": None,
            "content": "" if reblog else content, "reblog": reblog, "account": account,
            "media_attachments": list(media or []),
            "mentions": ([{"id": reply_to["account"]["id"], "username": reply_to["account"]["username"],
                           "url": reply_to["account"]["url"], "acct": reply_to["account"]["acct"]}]
                         if reply_to and reply_to["account"]["id"] != account["id"] else []),
            "tags": [{"name": t, "url": f"{self.base}/tags/{t}"} for t in tags], "emojis": [],
            "quote": None, "card": card,
            "poll": ({"id": str(self.new_id()), "expires_at": "2026-10-08T08:00:00.000Z", "expired": False,
                      "multiple": False, "votes_count": 0, "voters_count": 0, "emojis": [],
                      "options": [{"title": o, "votes_count": 0} for o in poll]} if poll else None),
            "quote_approval": {"automatic": ["public"], "manual": [], "current_user": "automatic"},
        }
        self.statuses[status_id] = status
        account["statuses_count"] += 1
        account["last_status_at"] = self._clock.strftime("%Y-%m-%d")
        return status

    def remote_image(self, name: str, origin: str, *, description: str | None = None) -> dict[str, Any]:
        """A remote status's photo: `remote_url` the origin's file (here served by this fake too,
        under /origin/ as if at `origin`), `url` this instance's downscaled copy."""
        attachment = self.image(name, description=description)
        remote_path = f"/origin/{origin}/media/{name}"
        self.files[remote_path] = (photo(f"mastodon-origin-{name}", size=(1280, 960)), "image/jpeg")
        attachment["remote_url"] = self.base + remote_path
        attachment["meta"]["original"] = {"width": 1280, "height": 960, "size": "1280x960", "aspect": 1.3333333333333333}
        return attachment

    def fileless_attachment(self, description: str) -> dict[str, Any]:
        """An attachment whose file the instance never fetched and whose origin URL is unknown
        (Mastodon serves it with `type: "unknown"` and null URLs)."""
        return {"id": str(self.new_id()), "type": "unknown", "url": None, "preview_url": None,
                "remote_url": None, "preview_remote_url": None, "text_url": None, "meta": {},
                "description": description, "blurhash": None}

    def delete(self, status: dict[str, Any]) -> None:
        """The author deletes a status; its boosts go with it, as Mastodon removes them."""
        gone = int(status["id"])
        self.statuses.pop(gone)
        for other in [s for s in self.statuses.values() if s["reblog"] and s["reblog"]["id"] == status["id"]]:
            self.statuses.pop(int(other["id"]))

    # -- serving -------------------------------------------------------------------------------
    def api_requests(self, path_start: str = "/api/") -> list[Incoming]:
        return [r for r in self.server.requests if r.path.startswith(path_start)]

    def _json(self, data: Any, status: int = 200, links: list[str] | None = None) -> Resource:
        reset = datetime.now(UTC) + timedelta(seconds=1)
        headers = [*API_HEADERS, ("X-RateLimit-Limit", "300"), ("X-RateLimit-Remaining", "299"),
                   ("X-RateLimit-Reset", reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))]
        if links:
            headers.append(("Link", ", ".join(links)))
        return Resource(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode(),
                        content_type="application/json; charset=utf-8", status=status, headers=headers)

    def _not_found(self) -> Resource:
        return self._json({"error": "Record not found"}, status=404)

    def route(self, incoming: Incoming) -> Resource | None:
        path = incoming.path
        if path in self.files:
            body, ctype = self.files[path]
            return Resource(body, content_type=ctype)
        if not path.startswith("/api/v1/"):
            return None
        if self.rate_limit_next > 0:
            self.rate_limit_next -= 1
            resource = self._json({"error": "Too many requests"}, status=429)
            resource.headers = [(k, "0" if k == "X-RateLimit-Remaining" else v) for k, v in resource.headers]
            return resource
        parts = path.removeprefix("/api/v1/").split("/")
        if parts == ["accounts", "lookup"]:
            acct = (incoming.query.get("acct") or [""])[0].lower()
            for account in self.accounts.values():
                if account["acct"].lower() == acct:
                    return self._json(account)
            return self._not_found()
        if len(parts) == 3 and parts[0] == "accounts" and parts[2] == "statuses":
            if parts[1] not in self.accounts:
                return self._not_found()
            mine = [s for s in self.statuses.values() if s["account"]["id"] == parts[1]]
            return self._timeline(incoming, mine, full_pages_only=True)
        if len(parts) == 3 and parts[:2] == ["timelines", "tag"]:
            tag = parts[2].lower()
            tagged = [s for s in self.statuses.values() if any(t["name"].lower() == tag for t in s["tags"])]
            return self._timeline(incoming, tagged, full_pages_only=False)
        if len(parts) == 2 and parts[0] == "statuses" and parts[1].isdigit():
            found = self.statuses.get(int(parts[1]))
            if found is None and self.html_404:
                return Resource(b"<html><body><h1>404 Not Found</h1>This domain is parked.</body></html>",
                                content_type="text/html", status=404)
            return self._json(found) if found else self._not_found()
        return self._not_found()

    def _timeline(self, incoming: Incoming, statuses: list[dict[str, Any]], *, full_pages_only: bool) -> Resource:
        q = {k: v[0] for k, v in incoming.query.items()}
        limit = min(int(q.get("limit", 20)), 40)
        ids = sorted(int(s["id"]) for s in statuses)
        if "max_id" in q:
            ids = [i for i in ids if i < int(q["max_id"])]
        if "since_id" in q:
            ids = [i for i in ids if i > int(q["since_id"])]
        if "min_id" in q:
            page = list(reversed([i for i in ids if i > int(q["min_id"])][:limit]))
        else:
            page = list(reversed(ids))[:limit]
        if q.get("max_id") in self.fail_max_ids:
            return self._json({"error": "We're sorry, but something went wrong on our end."}, status=500)
        links = []
        base = (self.link_base or self.base) + incoming.path
        keep = {"limit": q["limit"]} if "limit" in q else {}
        if page and (len(page) == limit or not full_pages_only):
            links.append(f'<{base}?{urlencode({**keep, "max_id": page[-1]})}>; rel="next"')
        if page:
            links.append(f'<{base}?{urlencode({**keep, "min_id": page[0]})}>; rel="prev"')
        return self._json([self.statuses[i] for i in page], links=links)

    # -- requests seen -------------------------------------------------------------------------
    def timeline_requests(self) -> list[dict[str, str]]:
        """The query of each timeline page asked for, in order."""
        return [{k: v[0] for k, v in r.query.items()} for r in self.server.requests
                if r.path.endswith("/statuses") or "/timelines/tag/" in r.path]


def desk(instance: FakeInstance, *, routine: int = 0) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A fictional documentation desk and its seven synthetic notices (text and a link card, a
    photo, Arabic, a content warning over a video, a reply, a boost, a poll), then `routine` more."""
    account = instance.account("archive_desk", "Archive Desk")
    other = instance.account("field_notes", "Field Notes")
    posted = []
    original = instance.post(other, "<p>Synthetic field note: the pumping station was inspected.</p>")
    posted.append(instance.post(account, "<p>Notice 1: the desk opens a <a href=\"https://docs.example.org/log\" "
                                "rel=\"nofollow noopener\" target=\"_blank\"><span class=\"invisible\">https://"
                                "</span><span class=\"\">docs.example.org/log</span><span class=\"invisible\">"
                                "</span></a> for synthetic reports. <a href=\"" + instance.base + "/tags/documentation\" "
                                "class=\"mention hashtag\" rel=\"tag\">#<span>documentation</span></a></p>",
                                tags=("documentation",),
                                card={"url": "https://docs.example.org/log", "title": "Synthetic report log",
                                      "description": "A log of synthetic reports", "type": "link",
                                      "author_name": "", "author_url": "", "provider_name": "Docs Example",
                                      "provider_url": "", "html": "", "width": 400, "height": 200,
                                      "image": None, "embed_url": "", "blurhash": None}))
    photo_status = instance.post(account, "<p>Notice 2: photograph of the synthetic checkpoint sign.</p>",
                                 media=[instance.image("checkpoint.jpg", description="A synthetic sign")],
                                 tags=("documentation",))
    posted.append(photo_status)
    posted.append(instance.post(account, "<p>تقرير توثيقي تجريبي عن محطة المياه في الحي الشمالي</p>",
                                language="ar", tags=("documentation",)))
    posted.append(instance.post(account, "<p>Notice 4: details of the synthetic incident.</p>",
                                spoiler="Synthetic content warning", sensitive=True,
                                media=[instance.image("clip.mp4", kind="video", description="A synthetic clip")]))
    posted.append(instance.post(account, "<p>Notice 5: a correction to notice 2.</p>", reply_to=photo_status))
    posted.append(instance.post(account, "", reblog=original))
    posted.append(instance.post(account, "<p>Notice 7: which report should come first?</p>",
                                poll=["Water station", "School road"]))
    for n in range(8, 8 + routine):
        posted.append(instance.post(account, f"<p>Notice {n}: routine synthetic bulletin number {n}.</p>"))
    return account, posted
