"""Recompute every digest of a WARC stream and say exactly where anything is wrong.

Walks the file gzip member by gzip member (one record each), streaming: a 10 GB file needs
only a buffer. For each record it checks the gzip framing, the WARC header, the length, the
block digest and the payload digest; a problem is reported with the byte offset of the member
and the record's id and URI, so a flipped byte is located, not just detected.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from tawthiq.archivers.httpblock import ChunkDecoder, head_end, is_chunked

_READ = 1 << 20
# Compressed bytes fed to zlib at a time: deflate expands at most ~1032:1, so one call yields at
# most ~17 MB however hostile the member (a gzip bomb costs time to hash, never memory).
_INFLATE_IN = 16 << 10
_HTTP_TYPES = ("response", "request")


@dataclass
class RecordCheck:
    offset: int
    length: int
    member_sha256: str
    headers: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # Digests the record does not carry (reported, never silently skipped): "WARC-Block-Digest", ...
    missing_digests: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        rid = self.headers.get("WARC-Record-ID", "?")
        uri = self.headers.get("WARC-Target-URI", "")
        return f"@{self.offset} {rid} {self.headers.get('WARC-Type', '?')} {uri}".rstrip()


def _digest_matches(expected: str | None, actual_sha256: "hashlib._Hash", data_sha1: "hashlib._Hash") -> bool | None:
    if not expected:
        return None
    algo, _, value = expected.partition(":")
    algo = algo.lower()
    if algo == "sha256":
        return value.lower() == actual_sha256.hexdigest()
    if algo == "sha1":
        import base64

        return value.upper() in (base64.b32encode(data_sha1.digest()).decode(), data_sha1.hexdigest().upper())
    return None


class _Block:
    """Hashes a record block as it streams by: whole block, and the HTTP payload within it.

    The payload of an HTTP record starts after its header block (CRLF or bare-LF lines, as
    stored from the wire); a response stored with its chunk framing has its payload digest
    over the de-chunked body (WARC 1.1), so the framing is removed while hashing."""

    def __init__(self, rec_type: str, content_type: str) -> None:
        self.block256 = hashlib.sha256()
        self.block1 = hashlib.sha1()
        self.pay256 = hashlib.sha256()
        self.pay1 = hashlib.sha1()
        self.http = rec_type in _HTTP_TYPES and "application/http" in content_type
        self.in_payload = not self.http
        self.head = b""
        self.chunks: ChunkDecoder | None = None

    def _payload(self, data: bytes) -> None:
        if self.chunks is not None:
            data = self.chunks.feed(data)
        self.pay256.update(data)
        self.pay1.update(data)

    def update(self, data: bytes) -> None:
        self.block256.update(data)
        self.block1.update(data)
        if self.in_payload:
            self._payload(data)
            return
        self.head += data
        end, sep = head_end(self.head)
        if end >= 0:
            self.in_payload = True
            head = self.head[:end].replace(b"\r\n", b"\n").split(b"\n")
            if head[0].startswith(b"HTTP/") and is_chunked(head[1:]):
                self.chunks = ChunkDecoder()
            rest = self.head[end + sep :]
            self.head = b""
            self._payload(rest)


def check_members(fh: BinaryIO, start: int = 0, end: int | None = None) -> Iterator[RecordCheck]:
    """Yield a check per gzip member between `start` and `end` of an open file."""
    fh.seek(start)
    pos = start
    pending = b""
    while end is None or pos < end:
        member_start = pos
        d = zlib.decompressobj(31)
        member_hash = hashlib.sha256()
        check = RecordCheck(offset=member_start, length=0, member_sha256="")
        header = b""
        block: _Block | None = None
        block_len = 0
        expected_len = None
        tail = b""
        tail_len = 0
        data = pending
        pending = b""
        broken = None
        while not d.eof:
            if not data:
                want = _INFLATE_IN if end is None else min(_INFLATE_IN, end - pos)
                data = fh.read(want) if want > 0 else b""
                if not data:
                    if member_start == pos and not header and block is None:
                        return  # clean end of file
                    broken = "file ends inside a record (truncated)"
                    break
            try:
                out = d.decompress(data)
            except zlib.error as exc:
                broken = f"gzip data is corrupt ({exc})"
                break
            used = len(data) - len(d.unused_data)
            member_hash.update(data[:used])
            pos += used
            pending = d.unused_data
            data = b""
            # feed the decompressed bytes to the header parser, then the block hasher
            if block is None:
                header += out
                split = header.find(b"\r\n\r\n")
                if split < 0:
                    if len(header) > 1 << 20:
                        broken = "no end of WARC headers"
                        break
                    continue
                raw_head, out = header[:split], header[split + 4 :]
                lines = raw_head.decode("utf-8", "replace").split("\r\n")
                if not lines[0].startswith("WARC/"):
                    broken = f"not a WARC record (starts {lines[0][:20]!r})"
                    break
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    check.headers[name.strip()] = value.strip()
                try:
                    expected_len = int(check.headers.get("Content-Length", ""))
                except ValueError:
                    broken = "bad Content-Length"
                    break
                block = _Block(check.headers.get("WARC-Type", ""), check.headers.get("Content-Type", ""))
            assert expected_len is not None  # set together with `block`, just above
            take = out[: max(0, expected_len - block_len)]
            block.update(take)
            block_len += len(take)
            extra = out[len(take):]
            tail_len += len(extra)
            tail = (tail + extra)[:8]  # only what the check below needs: a bomb after the block costs nothing
            if tail_len > 4:
                broken = f"{tail_len}+ bytes after the record's block, where CRLF CRLF must end it"
                break
        check.length = pos - member_start
        check.member_sha256 = member_hash.hexdigest()
        if broken:
            check.problems.append(broken)
            yield check
            if broken.startswith("file ends"):
                return
            # Find the next gzip member and go on, so one bad byte does not hide the rest.
            found = _next_member(fh, member_start + 1, end)
            if found is None:
                return
            pos = found
            fh.seek(pos)
            pending = b""
            continue
        if block is None or expected_len is None:
            check.problems.append("record has no complete WARC header")
        else:
            if block_len != expected_len:
                check.problems.append(f"block is {block_len} bytes, Content-Length says {expected_len}")
            if tail != b"\r\n\r\n" or tail_len != 4:
                check.problems.append("record does not end with CRLF CRLF")
            if not check.headers.get("WARC-Block-Digest"):
                check.missing_digests.append("WARC-Block-Digest")
            if _digest_matches(check.headers.get("WARC-Block-Digest"), block.block256, block.block1) is False:
                check.problems.append("block digest mismatch: the record was altered")
            rec_type = check.headers.get("WARC-Type", "")
            if rec_type != "revisit" and not check.headers.get("WARC-Truncated"):
                if _digest_matches(check.headers.get("WARC-Payload-Digest"), block.pay256, block.pay1) is False:
                    check.problems.append("payload digest mismatch: the record was altered")
        yield check


_MAGIC = b"\x1f\x8b\x08"


def _next_member(fh: BinaryIO, start: int, end: int | None) -> int | None:
    fh.seek(start)
    pos = start
    carry = b""
    while end is None or pos < end:
        chunk = fh.read(_READ if end is None else min(_READ, end - pos))
        if not chunk:
            return None
        data = carry + chunk
        idx = data.find(_MAGIC)
        if idx >= 0:
            found = pos - len(carry) + idx
            return found if end is None or found < end else None
        carry = data[-2:]
        pos += len(chunk)
    return None
