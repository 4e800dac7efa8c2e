"""Split raw HTTP messages as they crossed the wire into the parts a WARC record needs.

The recorder hands us the exact bytes received, and the record stores exactly those bytes: the
status line and header block byte for byte (bare-LF line ends included), the body with its
chunk framing and trailers as received, as wget and Heritrix do (warcio and pywb de-chunk on
read). What changes is only what is *computed*: the payload (`HTTPMessage.body`, and so
`WARC-Payload-Digest`) is the entity body with the chunked transfer coding removed, per WARC 1.1.
Only `chunked` is removed: with `Transfer-Encoding: gzip, chunked` the payload is the gzip
stream (like `Content-Encoding`, never decoded here). When a response is chunked and also
carries a `Content-Length`, the chunked framing is what the parser (and Twisted) follows.

Interim responses (1xx other than 101) that precede the final response are split off by
`split_interim`: the final response becomes the `response` record, the interim heads a linked
metadata record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from tawthiq.errors import IntegrityFailure

ORIG_TE_HEADER = b"X-Tawthiq-Orig-Transfer-Encoding"  # written by older versions, read still


class HTTPParseError(IntegrityFailure, ValueError):
    """The bytes are not an HTTP message we can split (no header terminator, no status line)."""


@dataclass
class HTTPMessage:
    """One HTTP message: the head exactly as received, the raw body, and the payload."""

    start_line: bytes
    header_lines: list[bytes]
    body: bytes  # the payload: entity body with chunked transfer coding removed
    dechunked: bool = False
    incomplete_chunking: bool = False
    extra: dict[str, str] = field(default_factory=dict)
    raw_head: bytes | None = None  # start line, header lines and the blank line, as received
    raw_body: bytes | None = None  # the body as received (chunk framing and trailers included)

    def headers(self) -> list[tuple[str, str]]:
        """Header (name, value) pairs decoded as latin-1, repeated headers kept in order."""
        out: list[tuple[str, str]] = []
        for line in self.header_lines:
            name, _, value = line.partition(b":")
            out.append((name.strip().decode("latin-1"), value.strip().decode("latin-1")))
        return out

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers():
            if key.lower() == wanted:
                return value
        return None

    @property
    def status(self) -> int | None:
        parts = self.start_line.split(b" ", 2)
        if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
            return int(parts[1])
        return None

    @property
    def protocol(self) -> str:
        first = self.start_line.split(b" ", 1)[0]
        if first.startswith(b"HTTP/"):
            return first.decode("ascii", "replace")
        return self.start_line.rsplit(b" ", 1)[-1].decode("ascii", "replace")

    @property
    def content_type(self) -> str | None:
        value = self.header("Content-Type")
        return value.split(";")[0].strip().lower() if value else None

    def head_bytes(self) -> bytes:
        """The header block as stored: exactly as received when it was received."""
        if self.raw_head is not None:
            return self.raw_head
        return b"\r\n".join([self.start_line, *self.header_lines]) + b"\r\n\r\n"

    def to_bytes(self) -> bytes:
        return self.head_bytes() + (self.raw_body if self.raw_body is not None else self.body)


def head_end(raw: bytes) -> tuple[int, int]:
    """(index of the blank line, its length), or (-1, 0). Bare-LF lines are accepted, as
    browsers and Twisted accept them; a mix (CRLF lines ending in LF LF) is found too."""
    crlf = raw.find(b"\r\n\r\n")
    lf = raw.find(b"\n\n")
    mixed = raw.find(b"\n\r\n")
    found = [(i, n) for i, n in ((crlf, 4), (lf, 2), (mixed, 3)) if i >= 0]
    if not found:
        return -1, 0
    return min(found)


def _split_head(raw: bytes) -> tuple[bytes, bytes, bytes]:
    """(head without terminator, head with terminator, rest)."""
    end, sep = head_end(raw)
    if end < 0:
        raise HTTPParseError("no end of HTTP headers in the received bytes")
    return raw[:end], raw[: end + sep], raw[end + sep :]


def _header_lines(head: bytes) -> tuple[bytes, list[bytes]]:
    lines = head.replace(b"\r\n", b"\n").split(b"\n")
    start = lines[0]
    if not start:
        raise HTTPParseError("empty HTTP start line")
    return start, [line for line in lines[1:]]


def _is_status_line(start: bytes) -> bool:
    parts = start.split(b" ", 2)
    return start.startswith(b"HTTP/") and len(parts) >= 2 and parts[1].isdigit()


class ChunkDecoder:
    """Incremental removal of chunked framing, for bodies too large to hold (the verifier).

    `feed` returns the entity bytes found so far; `complete` turns true at the last chunk,
    after which everything (trailers) is ignored for the payload."""

    def __init__(self) -> None:
        self._line = b""
        self._left = 0  # entity bytes left in the current chunk
        self._after = 0  # CRLF bytes to skip after a chunk
        self.complete = False
        self.broken = False

    def feed(self, data: bytes) -> bytes:
        out = bytearray()
        pos, n = 0, len(data)
        while pos < n and not self.complete and not self.broken:
            if self._left:
                take = data[pos : pos + self._left]
                out += take
                self._left -= len(take)
                pos += len(take)
                if not self._left:
                    self._after = 1
                continue
            if self._after:
                # the CRLF (or bare LF) that ends a chunk's data
                ch = data[pos : pos + 1]
                pos += 1
                if ch == b"\n":
                    self._after = 0
                elif ch != b"\r":
                    self.broken = True
                continue
            eol = data.find(b"\n", pos)
            if eol < 0:
                self._line += data[pos:]
                if len(self._line) > 4096:
                    self.broken = True
                break
            line, self._line = self._line + data[pos:eol], b""
            pos = eol + 1
            size_field = line.split(b";", 1)[0].strip()
            try:
                size = int(size_field, 16)
            except ValueError:
                self.broken = True
                break
            if size == 0:
                self.complete = True
            else:
                self._left = size
        return bytes(out)


def dechunk(data: bytes) -> tuple[bytes, bool]:
    """Remove chunked framing; return (body, complete). Stops cleanly at a cut-off chunk."""
    decoder = ChunkDecoder()
    body = decoder.feed(data)
    return body, decoder.complete


def is_chunked(header_lines: list[bytes]) -> bool:
    """True when the last transfer coding is chunked (RFC 9112 6.1: then it frames the body)."""
    codings: list[bytes] = []
    for line in header_lines:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"transfer-encoding":
            codings += [c.strip().lower() for c in value.split(b",") if c.strip()]
    return bool(codings) and codings[-1] == b"chunked"


def split_interim(raw: bytes) -> tuple[list[bytes], bytes]:
    """Peel 1xx interim responses (100 Continue, 103 Early Hints; not 101) off the front of the
    received bytes: (their heads as received, the rest). A lone 1xx with nothing after it is
    left as the response, so a cut-off exchange still shows what arrived."""
    interim: list[bytes] = []
    rest = raw
    while True:
        end, sep = head_end(rest)
        if end < 0:
            break
        start = rest[:end].replace(b"\r\n", b"\n").split(b"\n", 1)[0]
        if not _is_status_line(start):
            break
        status = int(start.split(b" ", 2)[1])
        if not (100 <= status < 200) or status == 101 or len(rest) == end + sep:
            break
        interim.append(rest[: end + sep])
        rest = rest[end + sep :]
    return interim, rest


def parse_response(raw: bytes, *, head_only: bool = False) -> HTTPMessage:
    """Parse a response exactly as received; `head_only` for HEAD requests and 1xx/204/304
    (anything after the head is then not this response's body, but it is still stored)."""
    head, raw_head, body = _split_head(raw)
    start, lines = _header_lines(head)
    if not _is_status_line(start):
        raise HTTPParseError(f"not an HTTP status line: {start[:60]!r}")
    msg = HTTPMessage(start_line=start, header_lines=lines, body=b"" if head_only else body,
                      raw_head=raw_head, raw_body=body)
    if head_only or not is_chunked(lines):
        return msg
    msg.body, complete = dechunk(body)
    msg.dechunked = True
    msg.incomplete_chunking = not complete
    return msg


def parse_request(raw: bytes) -> HTTPMessage:
    """Parse a request as sent; the body is whatever followed the headers (Scrapy never chunks)."""
    head, raw_head, body = _split_head(raw)
    start, lines = _header_lines(head)
    return HTTPMessage(start_line=start, header_lines=lines, body=body, raw_head=raw_head, raw_body=body)


def response_has_no_body(method: str, status: int | None) -> bool:
    return method.upper() == "HEAD" or status is None or 100 <= status < 200 or status in (204, 304)
