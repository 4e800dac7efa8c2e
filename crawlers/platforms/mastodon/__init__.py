"""Mastodon accounts, hashtags and statuses, through any instance's public REST API (no login).

Specs (the instance is part of the spec; no setting names it):
  - `mastodon:@USER@INSTANCE`, or the profile URL `https://INSTANCE/@USER`: the account's statuses
    (`GET /api/v1/accounts/lookup?acct=USER`, then `GET /api/v1/accounts/:id/statuses`), boosts and
    replies included;
  - `mastodon:#TAG@INSTANCE`: the instance's timeline of a hashtag (`GET /api/v1/timelines/tag/:tag`);
  - `mastodon:@USER@INSTANCE/ID`, or the status URL `https://INSTANCE/@USER/ID`: one status
    (`GET /api/v1/statuses/:id`).
INSTANCE is a host name, with `:PORT` when it needs one. The API is reached over https; the setting
`mastodon_scheme = "http"` reaches instances that serve plain http (a local test instance), for
every Mastodon spec of the run: there is no per-host exception to forget about.

A profile URL of another instance's account (`https://A/@USER@B`) is that account on its own
instance B. Sites that use `/@name` paths and are not Mastodon (YouTube, TikTok, Medium, Threads,
Substack) are left to the other platforms.

Incremental: the first walk goes back from the newest status through history (`max_id`, the `Link`
header's rel="next"); once a walk has reached the start of the history, later runs walk forward
from its newest status (`min_id`, rel="prev"), each page joining the last, so the watermark moves
up page by page and a run cut short by `mastodon_max_pages` leaves no gap.
An instance numbers a remote status by its publication time (a snowflake id: milliseconds since
the epoch, shifted 16 bits), so one delivered late sits below the watermark, where a forward walk
does not look: each run also reads back from the watermark through the last
`mastodon_overlap_hours` (default 24), skipping what is archived.
Gone: `GET /api/v1/statuses/:id` answers 404 (deleted, or a boost undone) or 410 with Mastodon's
JSON error body; a 404 without it (a parked domain, a proxy's page) is an error, not a takedown.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field

from tawthiq.crawlers.models import Post
from tawthiq.crawlers.platforms.base import (
    CatalogView,
    CheckState,
    Job,
    Platform,
    PostToCheck,
    Sample,
    SpecError,
    SpiderJob,
    Target,
    prefixed,
    text_hash,
)

_USER = r"[A-Za-z0-9_][A-Za-z0-9_.\-]*"
_HOST = r"[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*(?::\d{1,5})?"
_ACCOUNT = re.compile(rf"^@?(?P<user>{_USER})@(?P<host>{_HOST})(?:/(?P<id>\d+))?$")
_TAG = re.compile(rf"^#(?P<tag>[^\s@#/?]+)@(?P<host>{_HOST})$")
# Mastodon's hashtag characters: word characters (letters, digits, marks such as the Arabic
# shadda, connector punctuation) and its separators `_`, `·` and the zero-width non-joiner.
_TAG_SEPARATORS = {"_", "\u00b7", "\u200c"}
_PROFILE_PATH = re.compile(rf"^/@(?P<user>{_USER})(?:@(?P<home>{_HOST}))?(?:/(?P<id>\d+))?/?$")
# Hosts that write profiles as /@name and are not Mastodon instances.
_NOT_MASTODON = ("youtube.com", "tiktok.com", "medium.com", "threads.net", "threads.com", "substack.com")


class MastodonOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mastodon_scheme: Literal["https", "http"] = Field(
        "https", description="how instances are reached: https, or http for a local test instance")
    mastodon_max_pages: int = Field(20, ge=0, description="timeline pages read per run (0: no limit)")
    mastodon_page_size: int = Field(40, ge=1, le=40, description="statuses asked for per page "
                                    "(`limit`; Mastodon serves at most 40)")
    mastodon_overlap_hours: float = Field(
        24, ge=0, description="each run also reads back this many hours below the watermark, for "
        "remote statuses delivered late (their ids follow their publication time); 0: off")


def _tag(value: str) -> re.Match[str] | None:
    """The hashtag spec's match, when every character of the tag is one Mastodon allows."""
    found = _TAG.match(value)
    if found is None:
        return None
    ok = all(c in _TAG_SEPARATORS or unicodedata.category(c)[0] in "LNM" or unicodedata.category(c) == "Pc"
             for c in found["tag"])
    return found if ok else None


def instance_host(host: str, scheme: str | None = None) -> str:
    """The instance as labels write it: lower case, without the default port of its scheme (of
    https or http when the scheme is not known), so `:443` does not make a second source."""
    host = host.lower()
    for port, default_of in ((":443", "https"), (":80", "http")):
        if host.endswith(port) and scheme in (None, default_of):
            return host.removesuffix(port)
    return host


def split_value(value: str) -> tuple[str, str, str, str | None]:
    """(kind, name, host, status id) of a target value: kind is "account", "tag" or "status"."""
    tag = _tag(value)
    if tag:
        return "tag", tag["tag"], tag["host"], None
    account = _ACCOUNT.match(value)
    if account is None:
        raise SpecError(f"{value!r} is not a Mastodon account, hashtag or status")
    return ("status" if account["id"] else "account"), account["user"], account["host"], account["id"]


def _from_prefix(rest: str, spec: str) -> str:
    if rest.startswith(("http://", "https://")):
        value = _from_url(rest, spec, explicit=True)
        assert value is not None
        return value
    tag = _tag(rest)
    if tag:
        return f"#{tag['tag'].lower()}@{instance_host(tag['host'])}"
    account = _ACCOUNT.match(rest)
    if account is None:
        raise SpecError(f"{spec!r}: write a Mastodon source as mastodon:@USER@INSTANCE, "
                        "mastodon:#TAG@INSTANCE or mastodon:@USER@INSTANCE/STATUS_ID")
    value = f"@{account['user'].lower()}@{instance_host(account['host'])}"
    return value + (f"/{account['id']}" if account["id"] else "")


def _from_url(url: str, spec: str, *, explicit: bool) -> str | None:
    parts = urlsplit(url)
    host = instance_host(parts.netloc, parts.scheme.lower())
    bare = (parts.hostname or "").lower()
    if not explicit and any(bare == d or bare.endswith("." + d) for d in _NOT_MASTODON):
        return None
    found = _PROFILE_PATH.match(unquote(parts.path))
    if found is None or not re.fullmatch(_HOST, host):
        if explicit:
            raise SpecError(f"{spec!r}: not a Mastodon profile or status URL (https://INSTANCE/@USER[/ID])")
        return None
    user = found["user"].lower()
    home = instance_host(found["home"] or "")
    if found["id"]:
        if home and home != host:
            raise SpecError(f"{spec!r}: this is {host}'s copy of a post from {home}; capture the post at "
                            f"its own address on {home}, or the account as mastodon:@{user}@{home}")
        return f"@{user}@{host}/{found['id']}"
    return f"@{user}@{home or host}"


def _is_own_url(post: PostToCheck) -> bool:
    """Whether the post's URL is the checked status's own (not a boost's original, not a remote
    status's home page): then a 404 for the status is the post itself gone."""
    host, _, status_id = post.post_id.rpartition("/")
    parts = urlsplit(post.url)
    return parts.netloc.lower() == host.lower() and parts.path.rstrip("/").endswith("/" + status_id)


class Mastodon(Platform):
    name = "mastodon"
    forms = ("mastodon:@USER@INSTANCE", "mastodon:#TAG@INSTANCE", "https://INSTANCE/@USER[/ID]")
    Options = MastodonOptions
    EXAMPLES = ("mastodon:@archive_desk@mastodon.example", "mastodon:#documentation@mastodon.example",
                "mastodon:@archive_desk@mastodon.example/113456789012345678",
                "https://mastodon.example/@archive_desk",
                "https://mastodon.example/@archive_desk/113456789012345678")
    SAMPLES = (
        Sample(file="account_statuses.json",
               format="Mastodon REST API v1, GET /api/v1/accounts/:id/statuses (Status entities as "
               "Mastodon 4.5 serves them, after shared/formats/mastodon: mastodonpy 2026-08 cassettes)",
               url="https://mastodon.example/api/v1/accounts/113400000000000001/statuses", count=4, expect=[
                   {"post_id": "mastodon.example/113456789012345681", "language": "ar",
                    "author": "Archive Desk (@archive_desk@mastodon.example)"},
                   {"post_id": "mastodon.example/113456789012345680", "language": "en",
                    "forwarded_from": "Field Notes (@field_notes@social.example)"},
                   {"post_id": "mastodon.example/113456789012345679", "language": "en"},
                   {"post_id": "mastodon.example/113456789012345678", "language": "en"},
               ]),
    )

    def claim(self, spec: str, settings: Any) -> str | None:
        rest = prefixed(spec, "mastodon")
        if rest is not None:
            return _from_prefix(rest, spec)
        if spec.startswith(("http://", "https://")):
            return _from_url(spec, spec, explicit=False)
        return None

    def base(self, host: str, settings: Any) -> str:
        return f"{self.options(settings).mastodon_scheme}://{host}"

    def source_url(self, value: str, settings: Any) -> str:
        kind, name, host, status_id = split_value(value)
        if kind == "tag":
            return f"{self.base(host, settings)}/tags/{name}"
        return f"{self.base(host, settings)}/@{name}" + (f"/{status_id}" if status_id else "")

    def plan(self, target: Target, settings: Any, catalog: CatalogView) -> list[Job]:
        from tawthiq.crawlers.platforms.mastodon.spider import MastodonSpider

        options = self.options(settings)
        complete_through, resume_before = catalog.watermark(target.label)
        return [SpiderJob(MastodonSpider, {
            "target": target.value, "label": target.label, "scheme": options.mastodon_scheme,
            "max_pages": options.mastodon_max_pages, "page_size": options.mastodon_page_size,
            "overlap_hours": options.mastodon_overlap_hours,
            "since_id": complete_through, "resume_before": resume_before,
            "known_ids": catalog.known_post_ids(self.name, target.value),
        })]

    # -- takedown tracking ---------------------------------------------------------------------
    def check_url(self, post: PostToCheck, settings: Any) -> str:
        host, _, status_id = post.post_id.rpartition("/")
        return f"{self.base(host, settings)}/api/v1/statuses/{status_id}"

    def check_state(self, post: PostToCheck, status: int, body: bytes, text: str | None) -> tuple[CheckState, str | None]:
        from tawthiq.crawlers.platforms.mastodon.parser import NotStatuses, api_error, status_text

        if status >= 400:
            detail = api_error(body)
            verdict, shown = super().check_state(post, status, body, text)
            if verdict == "gone" and detail is None:
                # Only the instance's own "not found" proves the status gone: an HTML 404 comes
                # as readily from a parked domain or a proxy in front of a dead instance.
                return "error", f"{shown} without Mastodon's JSON error body (not the instance answering?)"
            shown = (shown or f"HTTP {status}") + (f": {detail}" if detail else "")
            if verdict == "gone" and not _is_own_url(post):
                # The timeline item is gone: for a boost that is the boost (undone, or its
                # original deleted), not proof that the boosted status is gone from its home.
                shown += (f"; this timeline item (a boost, or this instance's copy of a remote status) is gone, "
                          f"the original at {post.url} was not checked")
            return verdict, shown
        import json

        try:
            found = json.loads(body)
            if not isinstance(found, dict) or "id" not in found:
                raise NotStatuses("not a status")
        except (ValueError, NotStatuses):
            return "error", "the answer is not a Mastodon status"
        if text_hash(status_text(found)) != text_hash(post.text):
            return "changed", "the status's text differs from the archived copy"
        return "online", None

    # -- samples -------------------------------------------------------------------------------
    def parse_sample(self, body: bytes, url: str) -> list[Post]:
        from tawthiq.crawlers.platforms.mastodon.parser import parse_statuses

        parts = urlsplit(url)
        return parse_statuses(body, source=url, scheme=parts.scheme, host=parts.netloc)


PLATFORM = Mastodon()
