"""Split raw HTTP messages as they crossed the wire into the parts a WARC record needs.

The recorder hands us the exact bytes received. We keep the status line and every header
line byte for byte; the only change we ever make is removing chunked transfer coding (so
that `WARC-Payload-Digest` and `warcio check` agree, see warcio issue #74), and when we do,
the header block says so: the `Transfer-Encoding` line is renamed to
`X-Tawthiq-Orig-Transfer-Encoding` and a `Content-Length` for the de-chunked body is added.
Content coding (gzip, br) is never touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ORIG_TE_HEADER = b"X-Tawthiq-Orig-Transfer-Encoding"


class HTTPParseError(ValueError):
    """The bytes are not an HTTP message we can split (no header terminator, no status line)."""


@dataclass
class HTTPMessage:
    """One HTTP message: start line, header lines (raw), body with transfer coding removed."""

    start_line: bytes
    header_lines: list[bytes]
    body: bytes
    dechunked: bool = False
    incomplete_chunking: bool = False
    extra: dict[str, str] = field(default_factory=dict)

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
        """The header block as stored: the start line, header lines, blank line."""
        return b"\r\n".join([self.start_line, *self.header_lines]) + b"\r\n\r\n"

    def to_bytes(self) -> bytes:
        return self.head_bytes() + self.body


def _split_head(raw: bytes) -> tuple[bytes, bytes]:
    end = raw.find(b"\r\n\r\n")
    sep = 4
    lf_end = raw.find(b"\n\n")
    if end < 0 or (0 <= lf_end < end):
        # A few servers terminate lines with a bare LF; browsers accept it, so do we.
        end, sep = lf_end, 2
    if end < 0:
        raise HTTPParseError("no end of HTTP headers in the received bytes")
    return raw[:end], raw[end + sep :]


def _header_lines(head: bytes) -> tuple[bytes, list[bytes]]:
    lines = head.replace(b"\r\n", b"\n").split(b"\n")
    start = lines[0]
    if not start:
        raise HTTPParseError("empty HTTP start line")
    return start, [line for line in lines[1:]]


def dechunk(data: bytes) -> tuple[bytes, bool]:
    """Remove chunked framing; return (body, complete). Stops cleanly at a cut-off chunk."""
    out = bytearray()
    pos = 0
    n = len(data)
    while pos < n:
        eol = data.find(b"\n", pos)
        if eol < 0:
            return bytes(out), False
        size_field = data[pos:eol].split(b";", 1)[0].strip()
        try:
            size = int(size_field, 16)
        except ValueError:
            return bytes(out), False
        pos = eol + 1
        if size == 0:
            return bytes(out), True
        out += data[pos : pos + size]
        if pos + size > n:
            return bytes(out), False
        pos += size
        if data[pos : pos + 2] == b"\r\n":
            pos += 2
        elif data[pos : pos + 1] == b"\n":
            pos += 1
    return bytes(out), False


def parse_response(raw: bytes, *, head_only: bool = False) -> HTTPMessage:
    """Parse a response exactly as received; `head_only` for HEAD requests and 1xx/204/304."""
    head, body = _split_head(raw)
    start, lines = _header_lines(head)
    if not start.startswith(b"HTTP/") or len(start.split(b" ", 2)) < 2 or not start.split(b" ", 2)[1].isdigit():
        raise HTTPParseError(f"not an HTTP status line: {start[:60]!r}")
    msg = HTTPMessage(start_line=start, header_lines=lines, body=b"" if head_only else body)
    if head_only:
        return msg
    te_index = None
    for i, line in enumerate(lines):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"transfer-encoding" and b"chunked" in value.lower():
            te_index = i
    if te_index is None:
        return msg
    msg.body, complete = dechunk(body)
    msg.dechunked = True
    msg.incomplete_chunking = not complete
    name, _, value = lines[te_index].partition(b":")
    new_lines = list(lines)
    new_lines[te_index] = ORIG_TE_HEADER + b":" + value
    if not any(ln.partition(b":")[0].strip().lower() == b"content-length" for ln in lines):
        new_lines.append(b"Content-Length: " + str(len(msg.body)).encode())
    msg.header_lines = new_lines
    return msg


def parse_request(raw: bytes) -> HTTPMessage:
    """Parse a request as sent; the body is whatever followed the headers (Scrapy never chunks)."""
    head, body = _split_head(raw)
    start, lines = _header_lines(head)
    return HTTPMessage(start_line=start, header_lines=lines, body=body)


def response_has_no_body(method: str, status: int | None) -> bool:
    return method.upper() == "HEAD" or status is None or 100 <= status < 200 or status in (204, 304)
