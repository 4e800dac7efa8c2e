"""Mastodon REST API `Status` entities (v1, as Mastodon 4.x serves them) into posts.

One function per job: `status_post` turns one timeline item into a `Post`; `status_text` is the
text a reader sees (content warning, body, poll options), which recheck compares across visits;
`next_link` reads the `Link` header the API paginates with. A boost (`reblog`) becomes the boosted
status, with the booster as author and the original author as `forwarded_from`, as Telegram's
forwarded posts are; the boost's own id stays the post id, because it is the timeline item
(un-boosting removes it, and pagination counts it).
"""

from __future__ import annotations

import mimetypes
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from parsel import Selector
from scrapy.http.headers import Headers

from tawthiq.crawlers.language import detect_language
from tawthiq.crawlers.models import LinkPreview, Media, Post
from tawthiq.crawlers.parsers.html_text import clean_text

# Mastodon's attachment types and the kinds posts use (gifv is a silent looping MP4).
_KINDS = {"image": "image", "video": "video", "gifv": "video", "audio": "audio"}


class NotStatuses(ValueError):
    """An answer that is not the JSON the API documents; the message says what it was."""


def full_acct(account: dict[str, Any], host: str) -> str:
    """`user@host` for an account: the API writes local accounts without their domain."""
    acct = str(account.get("acct") or account.get("username") or "")
    return acct if "@" in acct else f"{acct}@{host}"


def author_name(account: dict[str, Any], host: str) -> str:
    handle = "@" + full_acct(account, host)
    name = clean_text(str(account.get("display_name") or "")).strip()
    return f"{name} ({handle})" if name else handle


def status_text(status: dict[str, Any]) -> str:
    """What a reader sees: the content warning, the body, a poll's options."""
    shown = status.get("reblog") or status
    parts = []
    spoiler = str(shown.get("spoiler_text") or "").strip()
    if spoiler:
        parts.append(spoiler)
    body = clean_text(shown.get("content") or "")
    if body:
        parts.append(body)
    poll = shown.get("poll")
    if poll and poll.get("options"):
        parts.append("\n".join(f"- {o.get('title', '')}" for o in poll["options"]))
    return "\n\n".join(parts)


def _media(attachment: dict[str, Any]) -> Media:
    kind = _KINDS.get(str(attachment.get("type")), "document")
    # `remote_url` (a remote status's) is the file as its home instance serves it, the original;
    # `url` is this instance's copy, which it may have downscaled or transcoded: the post's media
    # is the original, and the copy is fetched too (see `attachment_record`). `preview_url` is a
    # small still, kept only as the poster of a video or sound.
    url = attachment.get("remote_url") or attachment.get("url")
    original = (attachment.get("meta") or {}).get("original") or {}
    duration = original.get("duration")
    return Media(
        kind=kind,  # type: ignore[arg-type]
        url=url,
        mime=mimetypes.guess_type(urlsplit(url).path)[0] if url else None,
        title=attachment.get("description") or None,
        width=original.get("width"),
        height=original.get("height"),
        duration=str(duration) if duration is not None else None,
        thumbnail_url=attachment.get("preview_url") if kind != "image" else None,
    )


def attachment_record(attachment: dict[str, Any]) -> dict[str, Any]:
    """What the post's `extra` keeps of an attachment: which file is the origin's original
    (`remote_url`) and which this instance's copy (`url`), or, for one with no file at all, that
    it was there, with its description, so it is not silently lost."""
    return {"id": str(attachment.get("id")), "type": attachment.get("type"),
            "original_url": attachment.get("remote_url") or attachment.get("url"),
            "instance_copy_url": attachment.get("url") if attachment.get("remote_url") else None,
            "preview_url": attachment.get("preview_url"), "description": attachment.get("description"),
            "has_file": bool(attachment.get("url") or attachment.get("remote_url"))}


def _links(html: str) -> list[str]:
    """Links in the body, without the instance's own mention and hashtag links."""
    out = []
    for a in Selector(text=html or "<p></p>").css("a"):
        classes = (a.attrib.get("class") or "").split()
        href = a.attrib.get("href") or ""
        if href.startswith(("http://", "https://")) and not {"mention", "hashtag"} & set(classes):
            out.append(href)
    return list(dict.fromkeys(out))


def _card(card: dict[str, Any] | None) -> LinkPreview | None:
    if not card or not card.get("url"):
        return None
    return LinkPreview(url=card["url"], site_name=card.get("provider_name") or None,
                       title=card.get("title") or None, description=card.get("description") or None,
                       image_url=card.get("image") or None)


def _reply_to_url(shown: dict[str, Any], scheme: str, host: str) -> str | None:
    reply_id = shown.get("in_reply_to_id")
    if not reply_id:
        return None
    account_id = shown.get("in_reply_to_account_id")
    account = shown.get("account") or {}
    acct = None
    if account_id and account_id == account.get("id"):
        acct = account.get("acct")
    for mention in shown.get("mentions") or []:
        if acct is None and mention.get("id") == account_id:
            acct = mention.get("acct")
    if acct:
        return f"{scheme}://{host}/@{acct}/{reply_id}"  # the instance's page for that status
    return f"{scheme}://{host}/api/v1/statuses/{reply_id}"


def _published(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))  # Python 3.11 reads the trailing Z
    except ValueError:
        return None


def status_post(status: dict[str, Any], *, source: str, scheme: str, host: str) -> Post:
    """One timeline item as a post; `host` is the instance it was read from (ids are its own)."""
    boost = status if status.get("reblog") else None
    shown: dict[str, Any] = status["reblog"] if boost else status
    account = status.get("account") or {}
    shown_account = shown.get("account") or {}
    html = shown.get("content") or ""
    text = status_text(status)
    url = shown.get("url") or shown.get("uri") or f"{scheme}://{host}/api/v1/statuses/{shown.get('id')}"
    extra: dict[str, Any] = {
        "status_id": str(status.get("id")),
        "uri": shown.get("uri"),
        "sensitive": bool(shown.get("sensitive")),
        "spoiler_text": shown.get("spoiler_text") or "",
        "visibility": shown.get("visibility"),
        "author_acct": full_acct(shown_account, host),
        "tags": [t.get("name") for t in shown.get("tags") or [] if t.get("name")],
    }
    if shown.get("in_reply_to_id"):
        extra["in_reply_to_id"] = str(shown["in_reply_to_id"])
    if shown.get("edited_at"):
        extra["edited_at"] = shown["edited_at"]
    if shown.get("poll"):
        poll = shown["poll"]
        extra["poll"] = {
            "id": poll.get("id"), "expires_at": poll.get("expires_at"), "expired": poll.get("expired"),
            "multiple": poll.get("multiple"), "votes_count": poll.get("votes_count"),
            "voters_count": poll.get("voters_count"),
            "options": [{"title": o.get("title"), "votes_count": o.get("votes_count")} for o in poll.get("options") or []],
        }
    quote = shown.get("quote")
    if isinstance(quote, dict) and isinstance(quote.get("quoted_status"), dict):  # Mastodon 4.5 quotes
        extra["quote_url"] = quote["quoted_status"].get("url") or quote["quoted_status"].get("uri")
    if boost:
        extra["boost"] = {"id": str(boost.get("id")), "by": full_acct(account, host),
                          "at": boost.get("created_at"), "status_id": str(shown.get("id"))}
    attachments = [a for a in shown.get("media_attachments") or [] if isinstance(a, dict)]
    if any(a.get("remote_url") or not a.get("url") for a in attachments):
        extra["attachments"] = [attachment_record(a) for a in attachments]
    card = _card(shown.get("card"))
    return Post(
        platform="mastodon",
        source=source,
        post_id=f"{host}/{status.get('id')}",
        url=url,
        author=author_name(account, host),
        published=_published(shown.get("created_at")),
        edited=bool(shown.get("edited_at")),
        text=text,
        html=html or None,
        language=shown.get("language") or detect_language(text),
        forwarded_from=author_name(shown_account, host) if boost else None,
        forwarded_from_url=url if boost else None,
        reply_to_url=_reply_to_url(shown, scheme, host),
        media=[_media(a) for a in attachments if a.get("url") or a.get("remote_url")],
        links=_links(html) + ([card.url] if card and card.url not in _links(html) else []),
        link_preview=card,
        extra=extra,
    )


def parse_statuses(body: bytes | str, *, source: str, scheme: str, host: str) -> list[Post]:
    """A timeline page (a JSON array of statuses) or one status (an object) as posts."""
    import json

    try:
        data = json.loads(body)
    except ValueError as exc:
        raise NotStatuses(f"the answer is not JSON ({exc})") from None
    if isinstance(data, dict) and "id" in data:
        data = [data]
    if not isinstance(data, list) or not all(isinstance(s, dict) and "id" in s for s in data):
        detail = data.get("error") if isinstance(data, dict) else None
        raise NotStatuses(f"the answer is not a list of statuses{f' ({detail})' if detail else ''}")
    return [status_post(s, source=source, scheme=scheme, host=host) for s in data]


_LINK = re.compile(r'<([^>]*)>((?:\s*;\s*[^;,]+)*)')
_REL = re.compile(r'rel\s*=\s*"?([^";]+)"?', re.IGNORECASE)


def next_link(headers: Headers | dict[str, Any], rel: str) -> str | None:
    """The URL of the `rel` ("next": older, "prev": newer) link of the `Link` header (RFC 8288)
    Mastodon paginates with: `<URL>; rel="next", <URL>; rel="prev"`."""
    raw = headers.get("Link") or headers.get("link")
    if isinstance(raw, bytes):
        raw = raw.decode("latin-1")
    for url, params in _LINK.findall(str(raw or "")):
        found = _REL.search(params)
        if found and rel in found.group(1).split():
            return url
    return None


def api_error(body: bytes) -> str | None:
    """The message of an API error answer (`{"error": "Record not found"}`), if it is one."""
    import json

    try:
        data = json.loads(body)
    except ValueError:
        return None
    return str(data["error"]) if isinstance(data, dict) and data.get("error") else None
