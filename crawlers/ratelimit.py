"""Rate limits answered by waiting: a 429 (or a 503 that says when to come back) is archived like any
response, then the request is sent again once the wait the server asked for has passed.

APIs say how long in different headers: `Retry-After` (seconds or an HTTP date; RFC 9110),
`RateLimit-Reset` (Bluesky's AppView: a Unix time; the IETF draft: seconds from now) and
`X-RateLimit-Reset` (Mastodon: an ISO 8601 time; GitHub: a Unix time). Scrapy's RetryMiddleware
would retry a 429 at once, which a rate limiter answers with another 429 until the retries are
spent and the capture has lost the page; so 429 is taken out of its codes (crawlers/settings.py).

A wait longer than `rate_limit_max_wait`, or more than `rate_limit_tries` rate-limited answers in a
row, gives the response to the spider, which reports it as a failure: the capture says it was
rate-limited instead of stalling without end.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.task import deferLater

logger = logging.getLogger(__name__)

TRIES_META = "tawthiq_rate_limited"
_UNIX_TIME = 1_000_000_000  # a reset value above this is a time, below it a number of seconds


def _seconds_until(value: str, now: float) -> float | None:
    value = value.strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is not None:
        return number - now if number > _UNIX_TIME else number
    for parse in (parsedate_to_datetime, datetime.fromisoformat):
        try:
            when = parse(value.replace("Z", "+00:00") if parse is datetime.fromisoformat else value)
        except (TypeError, ValueError, IndexError):
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return when.timestamp() - now
    return None


def server_now(headers: Any) -> float:
    """The server's clock (its `Date` header) where it sent one: a reset time is on that clock, and
    ours may run ahead (the wait would come out 0 and every try be spent at once) or behind."""
    raw = headers.get(b"Date")
    if raw:
        try:
            return parsedate_to_datetime(raw.decode("latin-1")).timestamp()
        except (TypeError, ValueError, IndexError):
            pass
    return time.time()


def wait_from_headers(headers: Any, now: float | None = None, *, reset_headers: bool = True) -> float | None:
    """Seconds the server asked us to wait, from the first header that says (None: none did).
    `reset_headers=False` reads Retry-After alone: the RateLimit-Reset headers some APIs send on
    every answer say when a quota window ends, not that an outage (a 503) will be over then."""
    now = server_now(headers) if now is None else now
    names = (b"Retry-After", b"RateLimit-Reset", b"X-RateLimit-Reset") if reset_headers else (b"Retry-After",)
    for name in names:
        raw = headers.get(name)
        if raw:
            wait = _seconds_until(raw.decode("latin-1"), now)
            if wait is not None:
                return max(0.0, wait)
    return None


class RateLimitMiddleware:
    def __init__(self, max_wait: float, tries: int) -> None:
        self.max_wait = max_wait
        self.tries = tries

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "RateLimitMiddleware":
        return cls(crawler.settings.getfloat("TAWTHIQ_RATE_LIMIT_MAX_WAIT", 300.0),
                   crawler.settings.getint("TAWTHIQ_RATE_LIMIT_TRIES", 5))

    async def process_response(self, request: Request, response: Response, spider: Any = None) -> Request | Response:
        if response.status not in (429, 503):
            return response
        wait = wait_from_headers(response.headers, reset_headers=response.status == 429)
        if response.status == 503 and wait is None:
            return response  # an outage, not a limit: RetryMiddleware's business
        tries = int(request.meta.get(TRIES_META, 0))
        if wait is None:
            wait = float(2 ** tries)  # a 429 that does not say how long: back off, 1 s, 2 s, 4 s...
        if tries >= self.tries or wait > self.max_wait:
            logger.warning("%s: rate limited (HTTP %s, wait %.0f s, try %d); giving up", request.url,
                           response.status, wait, tries + 1)
            return response
        logger.info("%s: rate limited (HTTP %s); waiting %.1f s as asked", request.url, response.status, wait)
        # imported here, not at module level: importing this module must not install a reactor
        # (a warm worker imports it before forking the run that installs Scrapy's; tawthiq.warm)
        from twisted.internet import reactor

        await maybe_deferred_to_future(deferLater(reactor, wait, lambda: None))  # type: ignore[arg-type]
        again = request.replace(dont_filter=True)
        again.meta[TRIES_META] = tries + 1
        return again
