"""One HTTP exchange as captured on the wire, and the WARC records it becomes.

Besides the request and the response, an exchange may bring:
- interim 1xx responses (103 Early Hints, 100 Continue): the final response is the `response`
  record (what a replay must show); the interim heads, byte for byte, go into a `metadata`
  record (`application/http; msgtype=response`) with `WARC-Concurrent-To` the response, under
  the URI `urn:tawthiq:interim:<page URI>`: pywb indexes metadata records, and under the page
  URI it replayed the 103 head as the page;
- earlier attempts: Twisted retries an idempotent request once on a new connection when a
  reused keep-alive connection was closed under it. Each failed attempt keeps its `request`
  record, concurrent to a JSON `metadata` record that says what happened (and holds any
  bytes received, base64), so the archive shows every request that was sent; the metadata
  record's URI is `urn:tawthiq:attempt:<page URI>`, so pywb cannot replay it as the page;
- unparseable responses (`unparsed_records`): the bytes are not HTTP, so they must not become
  a record a replay would serve as the page. They are kept as a `resource` record under a
  `urn:tawthiq:unparsed:` URI (application/octet-stream), with the request record (under the
  page URI) concurrent to it, so the request bytes are kept too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Protocol

import base64
import io
import uuid

from tawthiq.archivers import records as rec
from tawthiq.archivers.digests import warc_digest
from tawthiq.archivers.httpblock import HTTPMessage, HTTPParseError, parse_response, response_has_no_body, split_interim
from tawthiq.archivers.records import PendingRecord


@dataclass
class Exchange:
    """Bytes as sent and as received for one request, before any decoding."""

    uri: str
    method: str = "GET"
    raw_request: bytes = b""
    raw_response: bytes = b""
    ip: str | None = None
    started: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    truncated: str | None = None  # WARC-Truncated reason: "length", "time", "disconnect"
    error: str | None = None
    # Extra WARC headers, e.g. how the exchange was recorded when it was not taken off the wire.
    extra_headers: list[tuple[str, str]] = field(default_factory=list)
    # Attempts that failed before this one on a dropped connection: (request, response bytes, what happened).
    attempts: list[tuple[bytes, bytes, str]] = field(default_factory=list)


@dataclass
class DigestHit:
    record_id: str
    uri: str
    date: str


class DigestLookup(Protocol):
    """Where identical payloads archived before are found (this run and the catalog)."""

    def find(self, payload_digest: str) -> DigestHit | None: ...


@dataclass
class ExchangeRecords:
    request: PendingRecord
    response: PendingRecord
    message: HTTPMessage
    is_revisit: bool
    extra: list[PendingRecord] = field(default_factory=list)  # interim responses, earlier attempts


# Below this size a revisit record is no smaller than the payload it replaces.
MIN_REVISIT_PAYLOAD = 64


def build_records(exchange: Exchange, lookup: DigestLookup | None) -> ExchangeRecords:
    """Request + response (or revisit) records for a captured exchange."""
    if not exchange.raw_request:
        raise HTTPParseError("no request bytes were captured")
    interim, final = split_interim(exchange.raw_response)
    msg = parse_response(final)
    if response_has_no_body(exchange.method, msg.status):
        msg = parse_response(final, head_only=True)
    truncated = exchange.truncated
    if msg.incomplete_chunking and not truncated:
        truncated = "disconnect"
    if truncated == "disconnect" and _framed_complete(msg, head_only=response_has_no_body(exchange.method, msg.status)):
        # The download failed after every byte the framing promised had arrived (Twisted refused
        # `Transfer-Encoding: gzip, chunked`, say): nothing is missing, so nothing is truncated.
        # The failure is still reported by the capture.
        truncated = None
    date = rec.warc_date(exchange.started)
    response_id = rec.new_record_id()
    payload_digest = rec.warc_digest(msg.body)
    hit = None
    if lookup is not None and not truncated and len(msg.body) >= MIN_REVISIT_PAYLOAD:
        hit = lookup.find(payload_digest)
    if hit is not None:
        response = rec.revisit(
            exchange.uri, msg, date=date, ip=exchange.ip, record_id=response_id,
            payload_digest=payload_digest, refers_to=hit.record_id,
            refers_to_uri=hit.uri, refers_to_date=hit.date, extra=exchange.extra_headers,
        )
    else:
        response = rec.response(
            exchange.uri, msg, date=date, ip=exchange.ip, record_id=response_id, truncated=truncated,
            extra=exchange.extra_headers, payload_digest=payload_digest,
        )
    request = rec.request(
        exchange.uri, exchange.raw_request, date=date, ip=exchange.ip, concurrent_to=response_id,
        extra=exchange.extra_headers,
    )
    extra = attempt_records(exchange, date)
    if interim:
        extra.append(rec.interim(f"urn:tawthiq:interim:{exchange.uri}", interim, date=date, ip=exchange.ip, concurrent_to=response_id))
    return ExchangeRecords(request=request, response=response, message=msg, is_revisit=hit is not None,
                           extra=extra)


def _framed_complete(msg: HTTPMessage, *, head_only: bool) -> bool:
    """True when the body is complete by its own framing (chunked or Content-Length)."""
    if head_only:
        return True
    if msg.dechunked:
        return not msg.incomplete_chunking
    length = msg.header("Content-Length")
    if length is not None and length.strip().isdigit():
        return len(msg.raw_body or b"") >= int(length.strip())
    return False  # close-delimited: a cut connection cannot be told from the end


def attempt_records(exchange: Exchange, date: str) -> list[PendingRecord]:
    """Request + metadata records for each earlier, failed attempt of this exchange."""
    out: list[PendingRecord] = []
    for number, (raw_request, raw_response, what) in enumerate(exchange.attempts, start=1):
        if not raw_request:
            continue
        document = {"type": "attempt", "url": exchange.uri, "attempt": number, "outcome": what,
                    "received_bytes": len(raw_response),
                    "received_base64": base64.b64encode(raw_response).decode("ascii")}
        meta = rec.metadata(f"urn:tawthiq:attempt:{exchange.uri}", document, refers_to=None, date=date)
        out.append(meta)
        out.append(rec.request(exchange.uri, raw_request, date=date, ip=exchange.ip,
                               concurrent_to=meta.record_id, extra=exchange.extra_headers))
    return out


def unparsed_records(exchange: Exchange) -> list[PendingRecord]:
    """Records for a response that is not HTTP: raw bytes under a URI no replay serves as the
    page, and the request as sent, concurrent to them."""
    date = rec.warc_date(exchange.started)
    data = exchange.raw_response
    raw = rec.resource(f"urn:tawthiq:unparsed:{uuid.uuid4()}", io.BytesIO(data), len(data), warc_digest(data),
                       "application/octet-stream", date=date)
    out = [raw]
    if exchange.raw_request:
        out.append(rec.request(exchange.uri, exchange.raw_request, date=date, ip=exchange.ip,
                               concurrent_to=raw.record_id, extra=exchange.extra_headers))
    return out + attempt_records(exchange, date)
