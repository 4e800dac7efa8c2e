"""Bluesky AppView JSON (`app.bsky.*` XRPC views) into tawthiq posts.

Pure functions over the decoded JSON, so the spider, the samples and the tests parse alike.
Shapes follow the `app.bsky.feed.defs` and `app.bsky.embed.*` lexicons as the public AppView
serves them in 2024-2025 (video embeds, `aspectRatio`, `reasonRepost.uri`); the 2023 shapes of
the saved samples (no video, no aspectRatio, `ms::cid` cursors) parse too.

Facts the Post model has no field for are kept, not dropped: the record's CID, the quoted post,
moderation labels and image alt texts go into `html` (an `<article>` with data attributes and a
`<blockquote>` for a quote); the quoted post's URL is in `links`, its photos and video in `media`
(with its URL as `page_url`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from typing import Any

from tawthiq.crawlers.models import LinkPreview, Media, Post

WEB = "https://bsky.app"
REPOST = "app.bsky.feed.defs#reasonRepost"
PIN = "app.bsky.feed.defs#reasonPin"
THREAD_POST = "app.bsky.feed.defs#threadViewPost"
NOT_FOUND = "app.bsky.feed.defs#notFoundPost"
BLOCKED = "app.bsky.feed.defs#blockedPost"
# Self-labels (com.atproto.label.defs#selfLabels) and moderation labels that mean "blur the media".
SENSITIVE_LABELS = {"porn", "sexual", "nudity", "graphic-media", "gore"}


def rkey(uri: str) -> str:
    """The record key: the last part of an at:// URI."""
    return uri.rstrip("/").rsplit("/", 1)[-1]


def repo(uri: str) -> str:
    """The DID (or handle) an at:// URI's record lives in."""
    return uri.removeprefix("at://").split("/", 1)[0]


def post_url(uri: str, handle: str | None = None) -> str:
    """Where bsky.app shows a post: by its author's handle when known, else by the DID (which
    bsky.app accepts as well, and which outlives a change of handle)."""
    return f"{WEB}/profile/{handle or repo(uri)}/post/{rkey(uri)}"


def profile_url(actor: str) -> str:
    return f"{WEB}/profile/{actor}"


def post_uri(actor: str, key: str) -> str:
    return f"at://{actor}/app.bsky.feed.post/{key}"


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)  # Python 3.11+ reads a trailing Z
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def _name(author: dict[str, Any]) -> str | None:
    return (author.get("displayName") or "").strip() or author.get("handle") or author.get("did")


def _mime(url: str) -> str | None:
    """The CDN names the format after `@` (`.../bafk...@jpeg`)."""
    tail = url.rsplit("@", 1)[-1].lower() if "@" in url.rsplit("/", 1)[-1] else ""
    return {"jpeg": "image/jpeg", "jpg": "image/jpeg", "png": "image/png", "webp": "image/webp",
            "gif": "image/gif"}.get(tail)


def _ratio(view: dict[str, Any]) -> tuple[int | None, int | None]:
    ratio = view.get("aspectRatio") or {}
    width, height = ratio.get("width"), ratio.get("height")
    return (width if isinstance(width, int) else None, height if isinstance(height, int) else None)


# -- rich text -------------------------------------------------------------------------------

def facet_target(feature: dict[str, Any]) -> str | None:
    """Where a facet feature points: a link's URI, a mention's profile, a tag's search page."""
    kind = feature.get("$type", "")
    if kind.endswith("#link") and feature.get("uri"):
        return str(feature["uri"])
    if kind.endswith("#mention") and feature.get("did"):
        return profile_url(str(feature["did"]))
    if kind.endswith("#tag") and feature.get("tag"):
        return f"{WEB}/hashtag/{feature['tag']}"
    return None


def render_text(text: str, facets: list[dict[str, Any]] | None) -> tuple[str, list[str]]:
    """The text as HTML with its facets as links, and the facets' targets.

    Facet ranges count UTF-8 bytes, not characters (Arabic letters are two bytes each); a range
    that overlaps another or falls outside the text is skipped, its target still listed."""
    data = text.encode("utf-8")
    spans: list[tuple[int, int, str]] = []
    links: list[str] = []
    for facet in facets or []:
        index = facet.get("index") or {}
        start, end = index.get("byteStart"), index.get("byteEnd")
        targets = [t for t in (facet_target(f) for f in facet.get("features") or []) if t]
        links.extend(targets)
        if targets and isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(data):
            spans.append((start, end, targets[0]))
    out: list[str] = []
    pos = 0
    for start, end, target in sorted(spans):
        if start < pos:
            continue
        out.append(escape(data[pos:start].decode("utf-8", "replace")))
        out.append(f'<a href="{escape(target)}">{escape(data[start:end].decode("utf-8", "replace"))}</a>')
        pos = end
    out.append(escape(data[pos:].decode("utf-8", "replace")))
    return "".join(out).replace("\n", "<br>\n"), list(dict.fromkeys(links))


# -- embeds ----------------------------------------------------------------------------------

@dataclass
class Embedded:
    media: list[Media] = field(default_factory=list)
    preview: LinkPreview | None = None
    quote_url: str | None = None
    quote_html: str | None = None
    quote_labels: list[str] = field(default_factory=list)


def _images(view: dict[str, Any]) -> list[Media]:
    out = []
    for image in view.get("images") or []:
        full = image.get("fullsize") or image.get("thumb")
        if not full:
            continue
        width, height = _ratio(image)
        out.append(Media(kind="photo", url=full, mime=_mime(full), title=image.get("alt") or None,
                         width=width, height=height))
    return out


def _video(view: dict[str, Any]) -> Media | None:
    if not view.get("playlist"):
        return None
    width, height = _ratio(view)
    return Media(kind="video", url=view["playlist"], mime="application/vnd.apple.mpegurl",
                 title=view.get("alt") or None, width=width, height=height,
                 thumbnail_url=view.get("thumbnail") or None)


def _external(view: dict[str, Any]) -> LinkPreview | None:
    card = view.get("external") or {}
    if not card.get("uri"):
        return None
    from urllib.parse import urlparse

    return LinkPreview(url=card["uri"], site_name=urlparse(card["uri"]).hostname, title=card.get("title") or None,
                       description=card.get("description") or None, image_url=card.get("thumb") or None)


@dataclass
class Quote:
    url: str | None = None
    html: str | None = None
    media: list[Media] = field(default_factory=list)  # the quoted post's photos and video
    labels: list[str] = field(default_factory=list)  # the quoted post's labels


def _media_of(view: dict[str, Any]) -> list[Media]:
    """The photos and video an embed view shows itself (a quote's own quote is not followed)."""
    kind = view.get("$type", "") if isinstance(view, dict) else ""
    if kind.startswith("app.bsky.embed.recordWithMedia"):
        return _media_of(view.get("media") or {})
    if kind.startswith("app.bsky.embed.images"):
        return _images(view)
    if kind.startswith("app.bsky.embed.video"):
        video = _video(view)
        return [video] if video else []
    return []


def _quote(record: dict[str, Any]) -> Quote:
    """The quoted record's URL, a blockquote saying what it showed (or why it did not), and the
    media it shows (`viewRecord.embeds`), each naming the quoted post as where it is shown."""
    kind = record.get("$type", "")
    uri = record.get("uri")
    if not uri:
        return Quote()
    if kind.endswith("#viewRecord"):
        author = record.get("author") or {}
        url = post_url(uri, author.get("handle"))
        body, _ = render_text((record.get("value") or {}).get("text") or "", (record.get("value") or {}).get("facets"))
        who = escape(f"{_name(author) or ''} @{author.get('handle') or repo(uri)}")
        media = [m.model_copy(update={"page_url": url})
                 for embed in record.get("embeds") or [] for m in _media_of(embed)]
        labels = [str(lab["val"]) for lab in record.get("labels") or [] if isinstance(lab, dict) and lab.get("val")]
        extra = f' data-media="{len(media)}"' if media else ""
        cid = escape(record.get("cid") or "")
        return Quote(url, f'<blockquote cite="{escape(url)}" data-uri="{escape(uri)}" data-cid="{cid}"{extra}>'
                     f"<p>{who}</p><p>{body}</p></blockquote>", media, labels)
    if "app.bsky.feed.post" in uri:
        state = kind.rsplit("#", 1)[-1] or "unavailable"  # viewNotFound, viewBlocked, viewDetached
        url = post_url(uri)
        return Quote(url, f'<blockquote cite="{escape(url)}" data-uri="{escape(uri)}" '
                          f'data-state="{escape(state)}"></blockquote>')
    return Quote(uri)  # a feed generator, list or starter pack


def parse_embed(view: dict[str, Any] | None) -> Embedded:
    """Photos (full size), a video's HLS playlist, a link card, a quoted post; the quoted post's
    photos and video count as the quoting post's media (what it showed), each with the quoted
    post's URL as `page_url`."""
    found = Embedded()
    if not view:
        return found
    kind = view.get("$type", "")
    if kind.startswith("app.bsky.embed.recordWithMedia"):
        inner = parse_embed(view.get("media"))
        # `record` is a record#view, whose `$type` the AppView leaves out here
        quote = _quote((view.get("record") or {}).get("record") or {})
        return Embedded(inner.media + quote.media, inner.preview, quote.url, quote.html, quote.labels)
    if kind.startswith("app.bsky.embed.images"):
        found.media = _images(view)
    elif kind.startswith("app.bsky.embed.video"):
        video = _video(view)
        found.media = [video] if video else []
    elif kind.startswith("app.bsky.embed.external"):
        found.preview = _external(view)
    elif kind.startswith("app.bsky.embed.record"):
        quote = _quote(view.get("record") or {})
        found.media, found.quote_url, found.quote_html = quote.media, quote.url, quote.html
        found.quote_labels = quote.labels
    return found


# -- posts -----------------------------------------------------------------------------------

def parse_post_view(view: dict[str, Any], *, source: str, reason: dict[str, Any] | None = None,
                    parent: dict[str, Any] | None = None) -> Post | None:
    """One `app.bsky.feed.defs#postView` (with the feed item's `reason` and `reply.parent`).

    A repost is its own post: the reposter is the author, the reposted post is `forwarded_from`,
    its id is the repost record's at:// URI (`reason.uri`, served since late 2024) or, in older
    answers, the reposted post's URI with `#repost-by-DID`."""
    uri, record = view.get("uri"), view.get("record") or {}
    if not uri or not isinstance(record, dict):
        return None
    author = view.get("author") or {}
    url = post_url(uri, author.get("handle"))
    html, links = render_text(record.get("text") or "", record.get("facets"))
    embedded = parse_embed(view.get("embed"))
    if embedded.quote_url:
        links.append(embedded.quote_url)
    if embedded.preview:
        links.append(embedded.preview.url)
    reply_to = None
    reply = record.get("reply") or {}
    parent_ref = (reply.get("parent") or {}).get("uri")
    if parent_ref:
        parent_handle = ((parent or {}).get("author") or {}).get("handle") if (parent or {}).get("uri") == parent_ref else None
        reply_to = post_url(parent_ref, parent_handle)
    langs = record.get("langs") or []
    labels = [lab.get("val") for lab in view.get("labels") or [] if lab.get("val")]
    attrs = {"data-uri": uri, "data-cid": view.get("cid") or "", "data-author-did": author.get("did") or "",
             "data-author-handle": author.get("handle") or ""}
    if labels:
        attrs["data-labels"] = " ".join(labels)
    published = _time(record.get("createdAt")) or _time(view.get("indexedAt"))
    post_id, post_author = uri, _name(author)
    forwarded_from = forwarded_url = None
    if reason and reason.get("$type") == REPOST:
        by = reason.get("by") or {}
        post_id = reason.get("uri") or f"{uri}#repost-by-{by.get('did') or by.get('handle')}"
        # The repost's URL names the reposted post by its author's DID, not the handle: the
        # recheck sees only post_id (the repost record, in the reposter's repo) and url, and a
        # handle-based URL would read as a deleted post once the author changes handle.
        post_author, forwarded_from, forwarded_url, url = _name(by), _name(author), url, post_url(uri)
        published = _time(reason.get("indexedAt")) or published
        attrs["data-repost-by"] = by.get("did") or by.get("handle") or ""
        if reason.get("cid"):
            attrs["data-repost-cid"] = reason["cid"]
    head = " ".join(f'{k}="{escape(str(v))}"' for k, v in attrs.items())
    body = f"<article {head}><p>{html}</p>{embedded.quote_html or ''}</article>"
    return Post(
        platform="bluesky", source=source, post_id=post_id, url=url, author=post_author, published=published,
        text=record.get("text") or "", html=body, language=langs[0] if langs else None,
        forwarded_from=forwarded_from, forwarded_from_url=forwarded_url, reply_to_url=reply_to,
        media=embedded.media, links=list(dict.fromkeys(links)), link_preview=embedded.preview,
        extra=_extra(labels, embedded),
    )


def _extra(labels: list[str], embedded: Embedded) -> dict[str, Any]:
    """Labels, and whether the media is to be blurred: the post's own labels say so, or, for the
    media it shows from a quoted post, that post's labels."""
    quoted = embedded.quote_labels if any(m.page_url for m in embedded.media) else []
    sensitive = bool(set(labels) & SENSITIVE_LABELS) or bool(set(quoted) & SENSITIVE_LABELS)
    extra: dict[str, Any] = {"labels": labels, "sensitive": sensitive} if labels or sensitive else {}
    if sensitive and quoted:
        extra["quote_labels"] = quoted
    return extra


@dataclass
class FeedPage:
    posts: list[Post]
    cursor: str | None
    # Each post's place in the feed's order, as the AppView sorts it (`sortAt`): the earlier of
    # createdAt and indexedAt for a post, the repost's indexedAt for a repost; None when unknown.
    sort_at: list[datetime | None] = field(default_factory=list)


def sort_time(item: dict[str, Any]) -> datetime | None:
    """When a feed item sits in an author feed: the AppView orders by sortAt, the earlier of the
    record's createdAt and its indexedAt, so a backdated or late-indexed post sits below posts
    indexed before it."""
    reason = item.get("reason") or {}
    if reason.get("$type") == REPOST:
        return _time(reason.get("indexedAt"))
    view = item.get("post") or {}
    times = [t for t in (_time((view.get("record") or {}).get("createdAt")), _time(view.get("indexedAt"))) if t]
    return min(times) if times else None


def parse_author_feed(body: dict[str, Any], *, source: str) -> FeedPage:
    """An `app.bsky.feed.getAuthorFeed` answer, newest first; pinned items are left out (the
    walk asks for none, and a pin would break the newest-first order the watermark needs)."""
    posts, times = [], []
    for item in body.get("feed") or []:
        reason = item.get("reason")
        if reason and reason.get("$type") == PIN:
            continue
        parent = (item.get("reply") or {}).get("parent")
        post = parse_post_view(item.get("post") or {}, source=source, reason=reason, parent=parent)
        if post is not None:
            posts.append(post)
            times.append(sort_time(item))
    cursor = body.get("cursor")
    return FeedPage(posts, cursor if isinstance(cursor, str) and cursor else None, times)


def parse_thread(body: dict[str, Any], *, source: str) -> list[Post]:
    """Every post a `getPostThread` answer shows: the post, its parents, its replies."""
    posts: list[Post] = []

    def walk(node: dict[str, Any] | None, up: bool, down: bool) -> None:
        if not node or node.get("$type", THREAD_POST) != THREAD_POST or not node.get("post"):
            return
        parent = node.get("parent")
        post = parse_post_view(node["post"], source=source,
                               parent=parent.get("post") if isinstance(parent, dict) else None)
        if post is not None:
            posts.append(post)
        if up:
            walk(parent, True, False)
        if down:
            for reply in node.get("replies") or []:
                walk(reply, False, True)

    walk(body.get("thread"), True, True)
    return posts


def thread_gaps(body: dict[str, Any]) -> list[tuple[str, str]]:
    """(at:// URI, why) of every parent or reply a `getPostThread` answer names but does not show
    (`#notFoundPost`: deleted; `#blockedPost`: a block between author and viewer), the root left
    out (a root not shown is the capture failing, said elsewhere)."""
    gaps: list[tuple[str, str]] = []

    def walk(node: Any, up: bool, down: bool, root: bool = False) -> None:
        if not isinstance(node, dict):
            return
        kind = node.get("$type", THREAD_POST)
        if kind in (NOT_FOUND, BLOCKED):
            if not root and node.get("uri"):
                gaps.append((str(node["uri"]), "deleted (notFoundPost)" if kind == NOT_FOUND
                             else "hidden by a block (blockedPost)"))
            return
        if kind != THREAD_POST:
            return
        if up:
            walk(node.get("parent"), True, False)
        if down:
            for reply in node.get("replies") or []:
                walk(reply, False, True)

    walk(body.get("thread"), True, True, root=True)
    return gaps


def thread_state(body: dict[str, Any]) -> tuple[str, str | None]:
    """("gone", why) when the thread's root says the post is not there, else ("online", text)."""
    thread = body.get("thread") or {}
    kind = thread.get("$type", "")
    if kind == NOT_FOUND:
        return "gone", "notFoundPost: the post was deleted"
    if kind == BLOCKED:
        return "gone", "blockedPost: the author blocks the viewer, or is blocked"
    record = (thread.get("post") or {}).get("record") or {}
    return "online", record.get("text") or ""


def xrpc_error(body: bytes) -> str:
    """`Error: message` from an XRPC error body (`{"error": ..., "message": ...}`), else ''."""
    import json

    try:
        doc = json.loads(body)
    except ValueError:
        return ""
    if not isinstance(doc, dict):
        return ""
    return ": ".join(str(doc[k]) for k in ("error", "message") if doc.get(k))
