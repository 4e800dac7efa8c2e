"""Capture HTTP exchanges at the transport, byte for byte, under Scrapy's own HTTP/1.1 client.

Downloader-middleware recorders rebuild requests and responses from Scrapy's objects and
lose what matters as evidence (the real status line, repeated headers, the query string, the
Host header, the peer's IP). Here the Twisted protocol that speaks HTTP is given a tee on its
transport: every byte written for a request and every byte received for its response is
copied, before Twisted parses anything and before Scrapy decompresses anything.

How a Scrapy request finds its wire capture: the handler adds a private header carrying a
token; the protocol removes it before a single byte is written, and attaches the capture
registered under that token. Nothing private ever reaches the server or the archive.

Twisted retries an idempotent request once, on a new connection, when a reused keep-alive
connection is closed under it (most CDNs close idle connections). The retry passes the same
Twisted request object to a new protocol, without the token (already removed), so the capture
is also pinned on that object: the retry finds it, the failed attempt's bytes are set aside as
an earlier attempt (archived with it), and the new attempt is recorded from its first byte.

A download that times out is labelled `WARC-Truncated: time`, not `disconnect`.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urldefrag

from scrapy import Request
from scrapy.exceptions import DownloadTimeoutError, IgnoreRequest
from scrapy.core.downloader.handlers.http11 import (
    HTTP11DownloadHandler,
    _LenientHTTP11ClientFactory,
    _LenientHTTP11ClientProtocol,
)
from scrapy.crawler import Crawler
from scrapy.http import Response
from twisted.internet import defer, error
from twisted.internet.interfaces import ITCPTransport

from tawthiq.crawlers.recorder import hand_over
from tawthiq.crawlers.sink import sink_for
from tawthiq.crawlers.wire_capture import WireCapture

_TOKEN_HEADER = b"X-Tawthiq-Wire-Capture"
_tokens = itertools.count(1)
_pending: dict[bytes, WireCapture] = {}


class _TeeTransport:
    """Passes everything through to the real transport, copying what is written."""

    def __init__(self, transport: Any, protocol: "RecordingProtocol") -> None:
        self._transport = transport
        self._protocol = protocol

    def write(self, data: bytes) -> None:
        capture = self._protocol.capture
        if capture is not None:
            capture.request_bytes += data
        self._transport.write(data)

    def writeSequence(self, seq: list[bytes]) -> None:
        capture = self._protocol.capture
        if capture is not None:
            for data in seq:
                capture.request_bytes += data
        self._transport.writeSequence(seq)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class RecordingProtocol(_LenientHTTP11ClientProtocol):
    capture: WireCapture | None = None

    def makeConnection(self, transport: Any) -> None:
        # Our tee hides ITCPTransport from connectionMade(), so switch Nagle off here as
        # Twisted would; otherwise small requests wait on delayed ACKs.
        if ITCPTransport.providedBy(transport):
            transport.setTcpNoDelay(True)
        super().makeConnection(_TeeTransport(transport, self))

    def request(self, request: Any) -> Any:
        tokens = request.headers.getRawHeaders(_TOKEN_HEADER) or []
        request.headers.removeHeader(_TOKEN_HEADER)
        capture = _pending.pop(tokens[0], None) if tokens else None
        if capture is not None:
            request._tawthiq_capture = capture  # found again by Twisted's retry, see module doc
        else:
            capture = getattr(request, "_tawthiq_capture", None)
            if capture is not None:
                capture.new_attempt("the server closed the reused keep-alive connection before a response "
                                    "arrived; retried on a new connection")
        self.capture = capture
        if capture is not None:
            capture.started = datetime.now(timezone.utc)
            try:
                capture.ip = self.transport.getPeer().host  # type: ignore[union-attr, misc]
            except AttributeError:
                capture.ip = None
        return super().request(request)

    def dataReceived(self, data: bytes) -> None:
        capture = self.capture
        if capture is not None and not capture.take_response(data):
            if capture.truncated == "length" and self.transport is not None:
                # Over the size limit: keep what we have, stop the transfer.
                self.capture = None
                self.transport.abortConnection()
        super().dataReceived(data)


class RecordingClientFactory(_LenientHTTP11ClientFactory):
    def buildProtocol(self, addr: Any) -> RecordingProtocol:
        return RecordingProtocol(self._quiescentCallback)  # type: ignore[no-untyped-call]


class RecordingDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 handler, with every exchange captured on the wire and archived as
    soon as it ends, whether the download succeeded, failed or was cut off (partial evidence
    is archived too)."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._pool._factory = RecordingClientFactory
        # DOWNLOAD_MAXSIZE bounds decompression (HttpCompressionMiddleware) only; the size of
        # a download is bounded by our own limit, which truncates and keeps.
        self._default_maxsize = 0
        self._limit = crawler.settings.getint("TAWTHIQ_MAX_RESPONSE_BYTES", 0)
        self._sink = sink_for(crawler)

    async def close(self) -> None:
        """Scrapy's close, without its race: it gives closeCachedConnections a timer that calls the
        same Deferred, and under the asyncio reactor the timer can fire after the connections closed
        but before the timer is cancelled, so `make demo` printed an AlreadyCalledError traceback."""
        from scrapy.utils.defer import maybe_deferred_to_future
        from twisted.internet import reactor

        closed: defer.Deferred[Any] = self._pool.closeCachedConnections()

        def give_up() -> None:
            if not closed.called:
                closed.callback(())

        clock: Any = reactor  # Twisted's interface stubs type the method unbound
        timer = clock.callLater(self._disconnect_timeout, give_up)
        try:
            await maybe_deferred_to_future(closed)
        finally:
            if timer.active():
                timer.cancel()

    async def download_request(self, request: Request) -> Response:
        capture = WireCapture(url=urldefrag(request.url)[0], method=request.method, limit=self._limit)
        token = str(next(_tokens)).encode()
        _pending[token] = capture
        # The token rides on the request's own headers only while the agent copies them;
        # the protocol strips it before anything is written to the socket.
        request.headers[_TOKEN_HEADER] = token
        try:
            response = await super().download_request(request)
        except BaseException as exc:
            capture.error = exc
            if isinstance(exc, (TimeoutError, DownloadTimeoutError, defer.TimeoutError, error.TimeoutError)) and not capture.truncated:
                capture.truncated = "time"
            self._forget(request, token)
            hand_over(self._sink, request, capture, exc)
            if capture.truncated == "length":
                raise self._over_limit() from None  # a retry would only cut it off again
            raise
        self._forget(request, token)
        hand_over(self._sink, request, capture)
        if capture.truncated == "length":
            raise self._over_limit()
        return response

    def _over_limit(self) -> IgnoreRequest:
        """Whichever way Twisted ended the cut-off transfer, the outcome is the same: the first
        max_response_size bytes are archived (WARC-Truncated: length), the spider does not get a
        partial body, and the URL is reported as not fully captured. Never retried."""
        return IgnoreRequest(f"response larger than max_response_size ({self._limit} bytes): "
                             f"the first {self._limit} bytes are archived, marked truncated")

    @staticmethod
    def _forget(request: Request, token: bytes) -> None:
        request.headers.pop(_TOKEN_HEADER, None)
        _pending.pop(token, None)
