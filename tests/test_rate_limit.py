"""A rate-limited answer is archived, waited out as the server asked, and the page still captured."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from scrapy.http import Headers

from tawthiq.crawlers.ratelimit import wait_from_headers
from tawthiq.demo.server import Incoming, LocalServer, Resource
from tests.conftest import read_payloads, run_tawthiq

PAGE = b"<html><head><title>Bulletin</title></head><body><p>Bulletin of the day.</p></body></html>"


def test_the_headers_servers_use_to_say_how_long() -> None:
    now = 1_750_000_000.0
    assert wait_from_headers(Headers({"Retry-After": "7"}), now) == 7
    http_date = "Sun, 15 Jun 2025 15:06:50 GMT"  # 10 s after `now`
    assert wait_from_headers(Headers({"Retry-After": http_date}), now) == 10
    assert wait_from_headers(Headers({"RateLimit-Reset": str(int(now) + 30)}), now) == 30  # Bluesky: a Unix time
    assert wait_from_headers(Headers({"RateLimit-Reset": "12"}), now) == 12  # IETF draft: seconds
    iso = (datetime.fromtimestamp(now, timezone.utc) + timedelta(seconds=45)).isoformat().replace("+00:00", "Z")
    assert wait_from_headers(Headers({"X-RateLimit-Reset": iso}), now) == 45  # Mastodon: an ISO 8601 time
    assert wait_from_headers(Headers({"Retry-After": "soon"}), now) is None
    assert wait_from_headers(Headers({}), now) is None
    assert wait_from_headers(Headers({"Retry-After": "-5"}), now) == 0
    # An outage's 503 is waited out only when it says Retry-After; a quota reset is not a promise.
    assert wait_from_headers(Headers({"RateLimit-Reset": "12"}), now, reset_headers=False) is None
    # A reset time is read on the server's clock (its Date), not ours, which may run ahead.
    ahead = Headers({"Date": "Sun, 15 Jun 2025 15:06:40 GMT", "X-RateLimit-Reset": "2025-06-15T15:07:10Z"})
    assert wait_from_headers(ahead) == 30


def test_a_429_is_archived_waited_out_and_the_page_captured(server: LocalServer, data_dir: Path) -> None:
    hits: list[float] = []

    def limited(incoming: Incoming) -> Resource:
        hits.append(time.monotonic())
        if len(hits) == 1:
            return Resource(b"slow down", status=429, content_type="text/plain", headers=[("Retry-After", "2")])
        if len(hits) == 2:  # no hint this time: backed off all the same
            return Resource(b"slow down", status=429, content_type="text/plain")
        return Resource(PAGE)

    server.routes["/bulletin.html"] = limited
    result = run_tawthiq(["capture", server.url("/bulletin.html"), "--set", "fetch_requisites=false"], data_dir=data_dir)
    assert result.code == 0, result.out + result.err
    assert len(hits) == 3 and hits[1] - hits[0] >= 1.9, hits
    responses = [r for r in read_payloads(data_dir)[server.url("/bulletin.html")] if r[0] == "response"]
    statuses = [r[2].split(b" ", 2)[1] for r in responses]
    assert statuses == [b"429", b"429", b"200"]  # every answer is evidence, the page is there
    assert responses[-1][3].endswith(PAGE)


def test_a_wait_past_the_bound_is_reported_not_waited(server: LocalServer, data_dir: Path) -> None:
    server.routes["/bulletin.html"] = Resource(b"come back tomorrow", status=429, content_type="text/plain",
                                               headers=[("Retry-After", "86400")])
    started = time.monotonic()
    result = run_tawthiq(["capture", server.url("/bulletin.html"), "--set", "rate_limit_max_wait=60"],
                         data_dir=data_dir)
    assert time.monotonic() - started < 60
    assert result.code == 1, result.out + result.err
    assert "HTTP 429" in result.out + result.err
    assert [r[0] for r in read_payloads(data_dir)[server.url("/bulletin.html")]].count("response") == 1
