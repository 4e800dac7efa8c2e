"""Telegram public channels, through their web preview (`t.me/s/NAME`): no login, no API key.

Specs: `telegram:NAME`, `t.me/s/NAME`, `https://t.me/NAME` (and the same under `telegram_base_url`).
Incremental: the walk back through history stops at the last complete walk's watermark.
Gone: the post's embed (`?embed=1`) shows Telegram's "Post not found" block.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field

from tawthiq.crawlers.models import Post
from tawthiq.crawlers.platforms.base import (
    CatalogView, CheckState, Job, Platform, PostToCheck, Sample, SpecError, SpiderJob, Target, is_http, prefixed,
)

_CHANNEL = re.compile(r"^[A-Za-z][A-Za-z0-9_]{2,63}$")
_TME_HOSTS = {"t.me", "www.t.me", "telegram.me", "www.telegram.me"}


class TelegramOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    telegram_base_url: str = Field("https://t.me", description="where channel previews are read (tests and "
                                   "mirrors point it elsewhere)")
    telegram_max_pages: int = Field(50, ge=0, description="`?before=` pages walked back per run (0: all history)")


def _channel(name: str, spec: str) -> str:
    if not _CHANNEL.match(name):
        raise SpecError(f"{spec!r}: {name!r} is not a Telegram channel name (letters, digits, _; 3-64)")
    return name


def _channel_in_path(path: str) -> str | None:
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "s":
        return parts[1]
    if len(parts) == 1:
        return parts[0]
    return None


class Telegram(Platform):
    name = "telegram"
    forms = ("telegram:NAME", "t.me/s/NAME")
    Options = TelegramOptions
    EXAMPLES = ("telegram:some_channel", "t.me/s/some_channel")
    SAMPLES = (
        Sample(file="channel.html", format="t.me/s/ channel web preview, tgme_widget_message markup (widget-frame.css?64 "
               "era, 2023-2025), synthetic; follows shared/formats/telegram/any2feed_*.html",
               url="https://t.me/s/tawthiq_sample", count=5, expect=[
                   {"post_id": "tawthiq_sample/101", "url": "https://t.me/tawthiq_sample/101",
                    "author": "Sample Witness Desk", "published": "2024-05-03T08:12:40Z", "views": "2.3K",
                    "language": "ar", "text_contains": "قصف مدفعي على الحي الشرقي",
                    "media": [{"kind": "photo", "page_url": "https://t.me/tawthiq_sample/101",
                               "url": "https://cdn4.telegram-cdn.org/file/sample-photo-101-smoke-over-market.jpg"}]},
                   {"post_id": "tawthiq_sample/102", "language": "en", "forwarded_from": "Sample Relay",
                    "forwarded_from_url": "https://t.me/sample_relay/77", "text_contains": "water station", "media": []},
                   {"post_id": "tawthiq_sample/103", "language": "en",
                    "links": ["https://news.example.org/2024/05/sample-1"],
                    "link_preview": {"url": "https://news.example.org/2024/05/sample-1", "site_name": "Example News",
                                     "title": "Water station in the eastern district out of service after shelling",
                                     "image_url": "https://cdn4.telegram-cdn.org/file/sample-preview-103-water-station.jpg"}},
                   {"post_id": "tawthiq_sample/104", "language": "ar", "edited": True, "text_contains": "الدفاع المدني",
                    "media": [{"kind": "video", "duration": "0:42",
                               "url": "https://cdn4.telegram-cdn.org/file/sample-video-104.mp4?token=c2FtcGxlLXRva2VuLTEwNA",
                               "thumbnail_url": "https://cdn4.telegram-cdn.org/file/sample-video-104-thumb.jpg"}]},
                   {"post_id": "tawthiq_sample/105", "language": "ar", "author_signature": "Samira K.",
                    "reply_to_url": "https://t.me/tawthiq_sample/101",
                    "media": [{"kind": "photo", "page_url": "https://t.me/tawthiq_sample/105?single"},
                              {"kind": "photo", "page_url": "https://t.me/tawthiq_sample/106?single"}]},
               ]),
    )

    def claim(self, spec: str, settings: Any) -> str | None:
        rest = prefixed(spec, "telegram")
        if rest is not None:
            return _channel(rest.lstrip("@"), spec)
        raw = spec
        if raw.startswith(("t.me/", "telegram.me/")):
            raw = "https://" + raw
        if not is_http(raw):
            return None
        parsed = urlparse(raw)
        base = urlparse(self.options(settings).telegram_base_url)
        own_mirror = parsed.netloc == base.netloc and parsed.path.startswith(base.path.rstrip("/") + "/s/")
        if parsed.netloc.lower() not in _TME_HOSTS and not own_mirror:
            return None
        name = _channel_in_path(parsed.path[len(base.path.rstrip("/")):] if own_mirror else parsed.path)
        if name is None:
            raise SpecError(f"{spec!r}: not a Telegram channel URL (expected t.me/s/NAME)")
        return _channel(name, spec)

    def source_url(self, value: str, settings: Any) -> str:
        return f"{self.options(settings).telegram_base_url.rstrip('/')}/s/{value}"

    def plan(self, target: Target, settings: Any, catalog: CatalogView) -> list[Job]:
        from tawthiq.crawlers.platforms.telegram.spider import TelegramSpider

        options = self.options(settings)
        complete_through, resume_before = catalog.watermark(target.label)
        return [SpiderJob(TelegramSpider, {
            "channel": target.value, "base_url": options.telegram_base_url, "max_pages": options.telegram_max_pages,
            "since_id": complete_through, "resume_before": resume_before,
            "known_ids": catalog.known_post_ids(self.name, target.value),
        })]

    def check_url(self, post: PostToCheck, settings: Any) -> str:
        return post.url.split("?")[0] + "?embed=1"

    def check_state(self, post: PostToCheck, status: int, body: bytes, text: str | None) -> tuple[CheckState, str | None]:
        from tawthiq.crawlers.platforms.base import text_hash
        from tawthiq.crawlers.platforms.telegram.parser import embed_post_state

        verdict = super().check_state(post, status, body, text)
        if verdict[0] != "online" or text is None:
            return verdict
        state, shown = embed_post_state(text)
        if state == "gone":
            return "gone", shown
        if text_hash(shown) != text_hash(post.text):
            return "changed", "the post's text differs from the archived copy"
        return "online", None

    def parse_sample(self, body: bytes, url: str) -> list[Post]:
        from tawthiq.crawlers.platforms.telegram.parser import parse_channel_page

        base = f"{urlparse(url).scheme}://{urlparse(url).netloc}"
        return parse_channel_page(body.decode("utf-8"), page_url=url, base_url=base).posts


PLATFORM = Telegram()
