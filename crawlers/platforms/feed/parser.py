"""RSS 2.0 and Atom feeds into posts, through feedparser (which copes with real-world feeds).

An entry's enclosures, `media:content` and `media:thumbnail` become the post's media.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin

import feedparser

from tawthiq.errors import IntegrityFailure
from tawthiq.crawlers.language import detect_language
from tawthiq.crawlers.models import Media, MediaKind, Post
from tawthiq.crawlers.parsers.html_text import clean_text


class FeedParseError(IntegrityFailure, ValueError):
    """The document is not a feed we can read; the message says why."""


@dataclass
class ParsedFeed:
    title: str | None
    posts: list[Post] = field(default_factory=list)
    warning: str | None = None


def _published(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        value = entry.get(key)
        if value:
            year, month, day, hour, minute, second = value[:6]
            return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    return None


def _media(entry: Any, base: str) -> list[Media]:
    out: list[Media] = []
    for enc in entry.get("enclosures", []):
        href = enc.get("href") or enc.get("url")
        if href:
            mime = enc.get("type")
            kind: MediaKind = "image" if (mime or "").startswith("image/") else (
                "video" if (mime or "").startswith("video/") else "enclosure")
            out.append(Media(kind=kind, url=urljoin(base, href), mime=mime))
    for item in entry.get("media_content", []):
        url = item.get("url")
        if url:
            medium = item.get("medium") or ""
            mime = item.get("type")
            kind = "video" if medium == "video" or (mime or "").startswith("video/") else "image"
            width = item.get("width")
            out.append(Media(kind=kind, url=urljoin(base, url), mime=mime,
                             width=int(width) if str(width or "").isdigit() else None))
    for item in entry.get("media_thumbnail", []):
        url = item.get("url")
        if url:
            out.append(Media(kind="thumbnail", url=urljoin(base, url)))
    seen: set[str] = set()
    unique = []
    for media in out:
        if media.url not in seen:
            seen.add(media.url or "")
            unique.append(media)
    return unique


def parse_feed(body: bytes, *, feed_url: str, content_type: str | None = None) -> ParsedFeed:
    headers = {"content-type": content_type} if content_type else {}
    parsed = feedparser.parse(body, response_headers=headers)
    if not parsed.entries and not parsed.feed.get("title"):
        reason = parsed.get("bozo_exception")
        detail = str(reason).splitlines()[0] if reason else "no <rss>, <feed> or entries found"
        raise FeedParseError(f"not a readable RSS or Atom feed: {detail}")
    warning = None
    if parsed.bozo:
        warning = f"feed is not well-formed, parsed leniently: {str(parsed.bozo_exception).splitlines()[0]}"
    posts = []
    for entry in parsed.entries:
        link = entry.get("link") or ""
        link = urljoin(feed_url, link) if link else ""
        post_id = entry.get("id") or link or entry.get("title")
        if not post_id:
            continue
        html = None
        if entry.get("content"):
            html = entry["content"][0].get("value")
        html = html or entry.get("summary") or ""
        title = entry.get("title") or ""
        body_text = clean_text(html)
        text = f"{title}\n{body_text}".strip() if title and not body_text.startswith(title) else body_text
        posts.append(Post(
            platform="feed",
            source=feed_url,
            post_id=str(post_id),
            url=link or feed_url,
            author=entry.get("author"),
            published=_published(entry),
            text=text,
            html=html or None,
            language=detect_language(text) or (parsed.feed.get("language") or None),
            media=_media(entry, link or feed_url),
            links=[urljoin(feed_url, l["href"]) for l in entry.get("links", []) if l.get("href")],
            page_url=feed_url,
        ))
    return ParsedFeed(title=parsed.feed.get("title"), posts=posts, warning=warning)
