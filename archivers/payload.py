"""One record's content read back from the archive, for showing it (the web app's media and raw
captures): the HTTP payload of a response (transfer and content coding undone by warcio), or the
block of a resource record, with the content type the server or the capture declared.

Two ways in: `read_payload` returns the whole body (small things, dedupe's image hashing), and
`payload_info` + `iter_payload` stream it in bounded chunks from a byte offset, so a 200 MB video
is never held in memory and a browser can seek in it (HTTP Range in the web app)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator
from tawthiq.errors import IntegrityFailure, NotFound

CHUNK = 64 * 1024  # what one read takes from the payload stream, and what one streamed piece holds


class PayloadError(NotFound, LookupError):
    """The record is not where the catalog says, or has no content to show."""


@dataclass
class Payload:
    record_type: str
    uri: str
    content_type: str  # as declared, parameters included
    body: bytes
    refers_to: str | None  # a revisit's original


@dataclass(frozen=True)
class PayloadInfo:
    """What a response needs before its first byte: the type and the payload's size (decoded)."""

    record_type: str
    uri: str
    content_type: str
    size: int
    refers_to: str | None


@contextmanager
def _open_record(warcs_dir: Path, filename: str, offset: int) -> Iterator[Any]:
    """The warcio record at `offset` of `filename`, read lazily from its file (and its gzip member)."""
    path = Path(warcs_dir) / filename
    if not path.is_file() or Path(filename).name != filename:
        raise PayloadError(f"{filename} is not in the archive")
    with open(path, "rb") as fh:
        fh.seek(offset)
        record = next(iter(ArchiveIterator(fh)), None)
        if record is None:
            raise PayloadError(f"no record at {filename} offset {offset}")
        yield record


def _content_type(record: Any) -> str:
    if record.http_headers is not None and record.rec_type == "response":
        return record.http_headers.get_header("Content-Type") or "application/octet-stream"
    return record.rec_headers.get_header("Content-Type") or "application/octet-stream"


def read_payload(warcs_dir: Path, filename: str, offset: int, max_bytes: int) -> Payload:
    with _open_record(warcs_dir, filename, offset) as record:
        h = record.rec_headers
        if record.rec_type == "revisit":
            return Payload("revisit", h.get_header("WARC-Target-URI") or "", "", b"", h.get_header("WARC-Refers-To"))
        body = record.content_stream().read(max_bytes + 1)
        if len(body) > max_bytes:
            raise PayloadError(f"the record is larger than {max_bytes} bytes: download the WARC file instead")
        return Payload(record.rec_type, h.get_header("WARC-Target-URI") or "", _content_type(record), body, None)


@lru_cache(maxsize=4096)
def payload_info(warcs_dir: Path, filename: str, offset: int) -> PayloadInfo:
    """The record's type and payload size. A block stored as is (a resource record, a response
    without chunking or content coding) has its size in the WARC headers; a coded one is counted
    by one streaming pass through the decoder. Cached: a record at an offset never changes (WARC
    files are only appended to), and this spares a second pass when a player asks range after range."""
    with _open_record(warcs_dir, filename, offset) as record:
        h = record.rec_headers
        uri = h.get_header("WARC-Target-URI") or ""
        if record.rec_type == "revisit":
            return PayloadInfo("revisit", uri, "", 0, h.get_header("WARC-Refers-To"))
        stream = record.content_stream()
        if stream is record.raw_stream:
            size = record.raw_stream.limit  # the block's bytes after the HTTP headers, none read yet
        else:
            size = 0
            while piece := stream.read(CHUNK):
                size += len(piece)
        return PayloadInfo(record.rec_type, uri, _content_type(record), size, None)


def iter_payload(warcs_dir: Path, filename: str, offset: int, start: int = 0,
                 length: int | None = None) -> Iterator[bytes]:
    """`length` payload bytes from `start` (to the end when None), CHUNK bytes at a time. The
    payload is read forward to `start` and what comes before is dropped as it is read, so memory
    stays at one chunk however far into the record the range begins. The file is opened at the
    first piece asked for and closed when the last is given or the consumer stops early."""
    with _open_record(warcs_dir, filename, offset) as record:
        stream = record.content_stream()
        to_skip = start
        while to_skip > 0:
            piece = stream.read(min(CHUNK, to_skip))
            if not piece:
                raise IntegrityFailure(f"{filename} offset {offset}: the payload ends before byte {start}")
            to_skip -= len(piece)
        left = length
        while left is None or left > 0:
            piece = stream.read(CHUNK if left is None else min(CHUNK, left))
            if not piece:
                break
            if left is not None:
                left -= len(piece)
            yield piece
        if left:
            raise IntegrityFailure(f"{filename} offset {offset}: the payload is {left} bytes shorter than its size")
