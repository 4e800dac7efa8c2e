"""Downloader middleware that hands each wire capture to the archive, first thing.

It sits closest to the downloader (order 990), so it sees every response, including redirect
hops and error statuses, before redirect, retry or decompression middlewares act on it.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response

from crawlers.sink import CaptureSink, sink_for
from crawlers.wire import CAPTURE_META

WARC_META = "warc"


def describe_error(exc: BaseException) -> str:
    """One line a person can act on, from Twisted's and Scrapy's nested exceptions."""
    reasons = getattr(exc, "reasons", None)
    if reasons:
        inner = "; ".join(describe_error(r.value) if hasattr(r, "value") else str(r) for r in reasons)
        return f"{type(exc).__name__}: {inner}"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class WireRecorderMiddleware:
    def __init__(self, sink: CaptureSink) -> None:
        self.sink = sink

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "WireRecorderMiddleware":
        return cls(sink_for(crawler))

    def process_response(self, request: Request, response: Response) -> Response:
        capture = request.meta.pop(CAPTURE_META, None)
        if capture is not None:
            location = self.sink.archive_exchange(capture, request)
            if location is not None:
                request.meta[WARC_META] = location
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        capture = request.meta.pop(CAPTURE_META, None)
        self.sink.attempt_failed(request, describe_error(exception), capture)
        return None
