"""Build WARC 1.1 records whose blocks are exactly the bytes we were given.

warcio's `create_warc_record` re-parses and re-serialises HTTP headers, which changes header
bytes (spacing, order of repeated headers). So the HTTP block is passed as an opaque payload
with both digests computed here, and warcio only frames and compresses it.
"""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, BinaryIO

from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders

from tawthiq.archivers.digests import warc_digest
from tawthiq.archivers.httpblock import HTTPMessage, HTTPParseError, parse_request

WARC_VERSION = "WARC/1.1"
REVISIT_PROFILE = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"


def new_record_id() -> str:
    return f"<urn:uuid:{uuid.uuid4()}>"


def warc_date(moment: datetime | None = None) -> str:
    moment = (moment or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class PendingRecord:
    """A record ready for the writer, plus the facts the catalog indexes about it."""

    record: ArcWarcRecord
    record_id: str
    rec_type: str
    uri: str
    date: str
    status: int | None = None
    mime: str | None = None
    payload_digest: str | None = None
    length_hint: int = 0
    info: dict[str, Any] = field(default_factory=dict)
    compress_level: int = 6


def _build(
    rec_type: str,
    uri: str,
    block: bytes | BinaryIO,
    block_length: int,
    content_type: str,
    headers: list[tuple[str, str]],
    *,
    date: str,
    record_id: str | None = None,
    block_digest: str | None = None,
) -> tuple[ArcWarcRecord, str]:
    record_id = record_id or new_record_id()
    all_headers = [
        ("WARC-Type", rec_type),
        ("WARC-Record-ID", record_id),
        ("WARC-Date", date),
    ]
    if uri:
        all_headers.append(("WARC-Target-URI", uri))
    all_headers.extend(headers)
    if isinstance(block, bytes):
        stream: BinaryIO = io.BytesIO(block)
        all_headers.append(("WARC-Block-Digest", warc_digest(block)))
    else:
        stream = block
        if block_digest is None:
            raise ValueError("a streamed block needs its digest computed up front")
        all_headers.append(("WARC-Block-Digest", block_digest))
    all_headers.append(("Content-Type", content_type))
    rec_headers = StatusAndHeaders("", all_headers, protocol=WARC_VERSION)
    record = ArcWarcRecord("warc", rec_type, rec_headers, stream, None, content_type, block_length)
    record.payload_length = block_length
    return record, record_id


def warcinfo(filename: str, fields: dict[str, str]) -> PendingRecord:
    body = "".join(f"{key}: {value}\r\n" for key, value in fields.items()).encode("utf-8")
    date = warc_date()
    record, rid = _build(
        "warcinfo", "", body, len(body), "application/warc-fields",
        [("WARC-Filename", filename)], date=date,
    )
    return PendingRecord(record, rid, "warcinfo", "", date, length_hint=len(body))


def request(uri: str, raw_request: bytes, *, date: str, ip: str | None, concurrent_to: str,
            extra: list[tuple[str, str]] | None = None) -> PendingRecord:
    try:
        body = parse_request(raw_request).body
    except HTTPParseError:
        body = b""
    headers = [("WARC-Concurrent-To", concurrent_to), ("WARC-Payload-Digest", warc_digest(body))]
    if ip:
        headers.append(("WARC-IP-Address", ip))
    headers.extend(extra or [])
    record, rid = _build(
        "request", uri, raw_request, len(raw_request), "application/http; msgtype=request",
        headers, date=date,
    )
    return PendingRecord(record, rid, "request", uri, date, payload_digest=warc_digest(body),
                         length_hint=len(raw_request), info={"concurrent_to": concurrent_to})


def response(
    uri: str,
    msg: HTTPMessage,
    *,
    date: str,
    ip: str | None,
    record_id: str,
    truncated: str | None = None,
    extra: list[tuple[str, str]] | None = None,
    payload_digest: str | None = None,
) -> PendingRecord:
    block = msg.to_bytes()
    payload_digest = payload_digest or warc_digest(msg.body)
    headers = [("WARC-Payload-Digest", payload_digest)]
    if ip:
        headers.append(("WARC-IP-Address", ip))
    if truncated:
        headers.append(("WARC-Truncated", truncated))
    headers.extend(extra or [])
    record, rid = _build(
        "response", uri, block, len(block), "application/http; msgtype=response",
        headers, date=date, record_id=record_id,
    )
    return PendingRecord(
        record, rid, "response", uri, date, status=msg.status, mime=msg.content_type,
        payload_digest=payload_digest, length_hint=len(block),
        info={"truncated": truncated, "payload_length": len(msg.body)},
    )


def interim(uri: str, heads: list[bytes], *, date: str, ip: str | None, concurrent_to: str) -> PendingRecord:
    """Interim 1xx responses that came before the final one, byte for byte, in order. A
    metadata record, so no replay mistakes them for the response they preceded."""
    block = b"".join(heads)
    headers = [("WARC-Concurrent-To", concurrent_to), ("WARC-Payload-Digest", warc_digest(block))]
    if ip:
        headers.append(("WARC-IP-Address", ip))
    record, rid = _build("metadata", uri, block, len(block), "application/http; msgtype=response",
                         headers, date=date)
    return PendingRecord(record, rid, "metadata", uri, date, payload_digest=warc_digest(block),
                         length_hint=len(block), info={"concurrent_to": concurrent_to})


def _revisit_headers(digest: str, refers_to: str, refers_to_uri: str, refers_to_date: str) -> list[tuple[str, str]]:
    return [
        ("WARC-Payload-Digest", digest),
        ("WARC-Profile", REVISIT_PROFILE),
        ("WARC-Refers-To", refers_to),
        ("WARC-Refers-To-Target-URI", refers_to_uri),
        ("WARC-Refers-To-Date", refers_to_date),
    ]


def revisit(
    uri: str,
    msg: HTTPMessage,
    *,
    date: str,
    ip: str | None,
    record_id: str,
    payload_digest: str,
    refers_to: str,
    refers_to_uri: str,
    refers_to_date: str,
    extra: list[tuple[str, str]] | None = None,
) -> PendingRecord:
    """Identical-payload-digest revisit: the block keeps this exchange's own headers only."""
    block = msg.head_bytes()
    headers = _revisit_headers(payload_digest, refers_to, refers_to_uri, refers_to_date)
    if ip:
        headers.append(("WARC-IP-Address", ip))
    headers.extend(extra or [])
    record, rid = _build(
        "revisit", uri, block, len(block), "application/http; msgtype=response",
        headers, date=date, record_id=record_id,
    )
    return PendingRecord(
        record, rid, "revisit", uri, date, status=msg.status, mime=msg.content_type,
        payload_digest=payload_digest, length_hint=len(block),
        info={"refers_to": refers_to, "payload_length": len(msg.body)},
    )


def metadata(
    uri: str,
    document: dict[str, Any],
    *,
    refers_to: str | None,
    date: str | None = None,
    profile: str | None = None,
) -> PendingRecord:
    """A JSON metadata record: parsed posts, failed fetches, tool output."""
    body = json.dumps(document, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")
    date = date or warc_date()
    headers: list[tuple[str, str]] = [("WARC-Payload-Digest", warc_digest(body))]
    if refers_to:
        headers.append(("WARC-Refers-To", refers_to))
    if profile:
        headers.append(("WARC-Tawthiq-Kind", profile))
    record, rid = _build("metadata", uri, body, len(body), "application/json", headers, date=date)
    return PendingRecord(record, rid, "metadata", uri, date, mime="application/json",
                         payload_digest=warc_digest(body), length_hint=len(body),
                         info={"kind": profile, "document": document})


def resource(
    uri: str,
    stream: BinaryIO,
    length: int,
    digest: str,
    content_type: str,
    *,
    date: str | None = None,
    concurrent_to: str | None = None,
) -> PendingRecord:
    """A resource record for bytes fetched outside HTTP recording (yt-dlp media, files)."""
    date = date or warc_date()
    headers = [("WARC-Payload-Digest", digest)]
    if concurrent_to:
        headers.append(("WARC-Concurrent-To", concurrent_to))
    record, rid = _build(
        "resource", uri, stream, length, content_type, headers, date=date, block_digest=digest,
    )
    return PendingRecord(record, rid, "resource", uri, date, mime=content_type,
                         payload_digest=digest, length_hint=length, info={"concurrent_to": concurrent_to})


def resource_revisit(
    uri: str,
    digest: str,
    content_type: str,
    *,
    refers_to: str,
    refers_to_uri: str,
    refers_to_date: str,
    concurrent_to: str | None = None,
    date: str | None = None,
) -> PendingRecord:
    """A file whose exact bytes are already archived: an empty-block revisit pointing at them."""
    date = date or warc_date()
    headers = _revisit_headers(digest, refers_to, refers_to_uri, refers_to_date)
    if concurrent_to:
        headers.append(("WARC-Concurrent-To", concurrent_to))
    record, rid = _build("revisit", uri, b"", 0, content_type, headers, date=date)
    return PendingRecord(record, rid, "revisit", uri, date, mime=content_type, payload_digest=digest,
                         info={"refers_to": refers_to, "concurrent_to": concurrent_to})
