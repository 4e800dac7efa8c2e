"""Parse Telegram's public channel web preview (`https://t.me/s/CHANNEL`) into posts.

Follows the markup Telegram served in 2023-2025 (widget-frame.css?64 era): each post is a
`div.tgme_widget_message_wrap` holding `div.tgme_widget_message[data-post="channel/ID"]`;
older history is linked by `a.tme_messages_more[data-before]` and `link[rel=prev]`.
Kept pure (HTML in, posts out) so it is tested on saved pages without a crawl.
"""

from __future__ import annotations

import html as htmllib
import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urljoin

from parsel import Selector

from tawthiq.crawlers.language import detect_language
from tawthiq.crawlers.parsers.html_text import clean_text
from tawthiq.crawlers.models import LinkPreview, Media, Post

_BG_URL = re.compile(r"background-image:\s*url\((['\"]?)(.*?)\1\)", re.I)


@dataclass
class ChannelPage:
    channel: str
    title: str | None
    posts: list[Post] = field(default_factory=list)
    before: int | None = None  # id to ask `?before=` for older posts; None at the start of history


def background_url(style: str | None) -> str | None:
    if not style:
        return None
    match = _BG_URL.search(htmllib.unescape(style))
    if not match:
        return None
    url = match.group(2).strip()
    return "https:" + url if url.startswith("//") else url


def _first_text(sel: Selector, query: str) -> str | None:
    value = clean_text(sel.css(query).get())
    return value or None


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _media(msg: Selector, page_url: str) -> list[Media]:
    media: list[Media] = []
    for photo in msg.css("a.tgme_widget_message_photo_wrap"):
        media.append(Media(kind="photo", url=background_url(photo.attrib.get("style")),
                           page_url=photo.attrib.get("href")))
    for player in msg.css(".tgme_widget_message_video_player, .tgme_widget_message_roundvideo_player"):
        src = player.css("video::attr(src)").get()
        media.append(Media(
            kind="video",
            url=urljoin(page_url, src) if src else None,
            page_url=player.attrib.get("href"),
            duration=_first_text(player, ".message_video_duration, .tgme_widget_message_roundvideo_duration"),
            thumbnail_url=background_url(player.css(
                ".tgme_widget_message_video_thumb::attr(style), "
                ".tgme_widget_message_roundvideo_thumb::attr(style)").get()),
        ))
    for doc in msg.css("a.tgme_widget_message_document_wrap"):
        media.append(Media(
            kind="document",
            page_url=doc.attrib.get("href"),
            title=_first_text(doc, ".tgme_widget_message_document_title"),
            mime=None,
            duration=_first_text(doc, ".tgme_widget_message_document_extra"),
        ))
    for audio in msg.css("audio.tgme_widget_message_voice, audio.tgme_widget_message_audio"):
        src = audio.attrib.get("src")
        media.append(Media(kind="audio", url=urljoin(page_url, src) if src else None))
    return media


def _link_preview(msg: Selector) -> LinkPreview | None:
    preview = msg.css("a.tgme_widget_message_link_preview")
    if not preview:
        return None
    p = preview[0]
    return LinkPreview(
        url=p.attrib.get("href", ""),
        site_name=_first_text(p, ".link_preview_site_name"),
        title=_first_text(p, ".link_preview_title"),
        description=_first_text(p, ".link_preview_description"),
        image_url=background_url(p.css(
            ".link_preview_image::attr(style), .link_preview_right_image::attr(style), "
            ".link_preview_video_thumb::attr(style)").get()),
    )


def parse_post(msg: Selector, *, page_url: str, base_url: str) -> Post | None:
    data_post = msg.attrib.get("data-post", "")
    channel, _, post_id = data_post.rpartition("/")
    if not channel or not post_id:
        return None
    date_link = msg.css("a.tgme_widget_message_date")
    url = date_link.attrib.get("href") if date_link else None
    published_raw = msg.css(".tgme_widget_message_date time::attr(datetime)").get()
    published = datetime.fromisoformat(published_raw) if published_raw else None
    text_html = msg.css(".tgme_widget_message_bubble > .tgme_widget_message_text").get()
    text = clean_text(text_html)
    poll = msg.css(".tgme_widget_message_poll")
    if poll and not text:
        question = _first_text(poll[0], ".tgme_widget_message_poll_question")
        options = [clean_text(o) for o in poll[0].css(".tgme_widget_message_poll_option_text").getall()]
        text = "\n".join(filter(None, [question, *options]))
    links = []
    if text_html:
        links = [urljoin(page_url, h) for h in Selector(text=text_html).css("a::attr(href)").getall()]
    forwarded = msg.css(".tgme_widget_message_forwarded_from_name")
    meta_text = clean_text(msg.css(".tgme_widget_message_meta").get())
    return Post(
        platform="telegram",
        source=channel,
        post_id=data_post,  # "channel/123": Telegram's own id, unique across channels
        url=url or f"{base_url.rstrip('/')}/{channel}/{post_id}",
        author=_first_text(msg, ".tgme_widget_message_owner_name"),
        author_signature=_first_text(msg, ".tgme_widget_message_from_author"),
        published=published,
        edited=meta_text.startswith("edited"),
        text=text,
        html=text_html,
        language=detect_language(text),
        views=_first_text(msg, ".tgme_widget_message_views"),
        forwarded_from=clean_text(forwarded.get()) or None if forwarded else None,
        forwarded_from_url=forwarded.attrib.get("href") if forwarded else None,
        reply_to_url=msg.css("a.tgme_widget_message_reply::attr(href)").get(),
        media=_media(msg, page_url),
        links=links,
        link_preview=_link_preview(msg),
        page_url=page_url,
    )


def parse_channel_page(html: str, *, page_url: str, base_url: str) -> ChannelPage:
    """All posts of one `/s/CHANNEL` page, oldest first as Telegram lists them."""
    sel = Selector(text=html)
    channel = ""
    posts: list[Post] = []
    for msg in sel.css("div.tgme_widget_message[data-post]"):
        post = parse_post(msg, page_url=page_url, base_url=base_url)
        if post is not None:
            posts.append(post)
            channel = post.source
    before = _int_or_none(sel.css("a.tme_messages_more[data-before]::attr(data-before)").get())
    if before is None:
        prev = sel.css('link[rel="prev"]::attr(href)').get() or ""
        match = re.search(r"[?&]before=(\d+)", prev)
        before = int(match.group(1)) if match else None
    title = _first_text(sel, ".tgme_channel_info_header_title") or sel.css(
        'meta[property="og:title"]::attr(content)').get()
    return ChannelPage(channel=channel, title=title, posts=posts, before=before)


def embed_post_state(html: str) -> tuple[str, str]:
    """Read a post's embed page (`BASE/CHANNEL/ID?embed=1`): ("gone", reason) or ("online", text).

    A deleted post's embed answers 200 with `div.tgme_widget_message_error` ("Post not found"),
    which is how archivists notice takedowns on Telegram.
    """
    sel = Selector(text=html)
    error = clean_text(sel.css(".tgme_widget_message_error").get())
    if error:
        return "gone", error
    if not sel.css(".tgme_widget_message"):
        return "gone", "no post on the embed page"
    return "online", clean_text(sel.css(".tgme_widget_message_text").get())
