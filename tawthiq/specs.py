"""What the user asked to capture: `telegram:NAME`, `t.me/s/NAME`, `feed:URL`, or a web URL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlparse

_CHANNEL = re.compile(r"^[A-Za-z][A-Za-z0-9_]{2,63}$")
_TME_HOSTS = {"t.me", "www.t.me", "telegram.me", "www.telegram.me"}


class SpecError(ValueError):
    """A capture spec we cannot understand; the message shows the accepted forms."""


@dataclass(frozen=True)
class Target:
    kind: Literal["web", "feed", "telegram", "video"]
    value: str  # URL for web/feed, channel name for telegram
    spec: str

    @property
    def label(self) -> str:
        if self.kind in ("telegram", "feed", "video"):
            return f"{self.kind}:{self.value}"
        return self.value


FORMS = "an http(s) URL, feed:URL, video:URL, telegram:NAME or t.me/s/NAME"


def _channel(name: str, spec: str) -> Target:
    if not _CHANNEL.match(name):
        raise SpecError(f"{spec!r}: {name!r} is not a Telegram channel name (letters, digits, _; 3-64)")
    return Target("telegram", name, spec)


def _telegram_path(path: str) -> str | None:
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "s":
        return parts[1]
    if len(parts) == 1:
        return parts[0]
    return None


def parse_spec(spec: str, *, telegram_base_url: str = "https://t.me") -> Target:
    raw = spec.strip()
    if not raw:
        raise SpecError(f"empty capture spec: use {FORMS}")
    if raw.startswith("telegram:"):
        return _channel(raw.removeprefix("telegram:").lstrip("@"), spec)
    if raw.startswith("video:"):
        url = raw.removeprefix("video:")
        if not _is_http(url):
            raise SpecError(f"{spec!r}: a video needs an http(s) URL after 'video:'")
        return Target("video", url, spec)
    if raw.startswith("feed:"):
        url = raw.removeprefix("feed:")
        if not _is_http(url):
            raise SpecError(f"{spec!r}: a feed needs an http(s) URL after 'feed:'")
        return Target("feed", url, spec)
    if raw.startswith(("t.me/", "telegram.me/")):
        raw = "https://" + raw
    if _is_http(raw):
        parsed = urlparse(raw)
        base = urlparse(telegram_base_url)
        if parsed.netloc.lower() in _TME_HOSTS or (
            parsed.netloc == base.netloc and parsed.path.startswith(base.path.rstrip("/") + "/s/")
        ):
            name = _telegram_path(parsed.path[len(base.path.rstrip("/")):] if parsed.netloc == base.netloc
                                  else parsed.path)
            if name is None:
                raise SpecError(f"{spec!r}: not a Telegram channel URL (expected t.me/s/NAME)")
            return _channel(name, spec)
        return Target("web", raw, spec)
    raise SpecError(f"unknown capture spec {spec!r}: use {FORMS}")


def _is_http(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)
