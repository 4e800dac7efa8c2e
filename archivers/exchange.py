"""One HTTP exchange as captured on the wire, and the WARC records it becomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Protocol

from archivers import records as rec
from archivers.httpblock import HTTPMessage, HTTPParseError, parse_response, response_has_no_body
from archivers.records import PendingRecord


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


# Below this size a revisit record is no smaller than the payload it replaces.
MIN_REVISIT_PAYLOAD = 64


def build_records(exchange: Exchange, lookup: DigestLookup | None) -> ExchangeRecords:
    """Request + response (or revisit) records for a captured exchange."""
    if not exchange.raw_request:
        raise HTTPParseError("no request bytes were captured")
    msg = parse_response(exchange.raw_response)
    if response_has_no_body(exchange.method, msg.status):
        msg = parse_response(exchange.raw_response, head_only=True)
    truncated = exchange.truncated
    if msg.incomplete_chunking and not truncated:
        truncated = "disconnect"
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
    return ExchangeRecords(request=request, response=response, message=msg, is_revisit=hit is not None)
