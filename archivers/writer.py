"""The only place WARC files are opened for writing.

Heritrix habits, kept because archivists expect them: files are written as `NAME.open`, locked
while open, fsynced and renamed when sealed, rotated at a size limit, and named
`PREFIX-TIMESTAMP17-SERIAL-HOST.warc.gz` with one gzip member per record. A group of records
(a request and its response) is written whole or not at all, and never split across files.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import os
import socket
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

import zlib

from tawthiq.archivers import records as rec
from tawthiq.archivers.records import PendingRecord

OPEN_SUFFIX = ".open"


@dataclass
class WrittenRecord:
    """Where a record landed; what the catalog's record index stores."""

    pending: PendingRecord
    filename: str
    offset: int
    length: int


@dataclass
class SealedFile:
    name: str
    path: Path
    size: int
    sha256: str


class _HashingFile:
    """Counts and hashes every byte on its way to disk, so sealing needs no re-read."""

    def __init__(self, fh, path: Path) -> None:  # type: ignore[no-untyped-def]
        self.fh = fh
        self.path = path
        self.pos = 0
        self.sha = hashlib.sha256()

    def write(self, data: bytes | memoryview) -> int:
        self.fh.write(data)
        self.sha.update(data)
        self.pos += len(data)
        return len(data)

    def flush(self) -> None:
        self.fh.flush()

    def cut_back(self, position: int) -> None:
        """Drop everything after `position` (a failed group) and re-hash what stays."""
        self.fh.flush()
        self.fh.truncate(position)
        self.fh.seek(position)
        self.pos = position
        self.sha = hashlib.sha256()
        with open(self.path, "rb") as again:
            remaining = position
            while remaining > 0:
                chunk = again.read(min(1 << 20, remaining))
                if not chunk:
                    break
                self.sha.update(chunk)
                remaining -= len(chunk)


def _hostname() -> str:
    return socket.gethostname().replace("-", "_").replace("/", "_") or "localhost"


class WarcWriter:
    def __init__(
        self,
        directory: Path,
        *,
        prefix: str = "tawthiq",
        max_size: int = 1_000_000_000,
        warcinfo_fields: dict[str, str] | None = None,
        on_open: Callable[[str], None] | None = None,
        on_seal: Callable[[SealedFile], None] | None = None,
        on_written: Callable[[list[WrittenRecord]], None] | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self.max_size = max_size
        self.warcinfo_fields = dict(warcinfo_fields or {})
        self.on_open = on_open
        self.on_seal = on_seal
        self.on_written = on_written
        self._fh: BinaryIO | None = None
        self._out: _HashingFile | None = None
        self._name: str | None = None
        self._serial = 0
        self.sealed: list[SealedFile] = []

    @property
    def current_name(self) -> str | None:
        return self._name

    def _open_new(self) -> None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S%f")[:17]
        host = _hostname()
        while True:
            name = f"{self.prefix}-{stamp}-{self._serial:05d}-{host}.warc.gz"
            path = self.directory / (name + OPEN_SUFFIX)
            self._serial += 1
            if (self.directory / name).exists():
                continue
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                continue
            break
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._fh = os.fdopen(fd, "wb")
        self._out = _HashingFile(self._fh, path)
        self._name = name
        if self.on_open:
            self.on_open(name)
        self._write_now([rec.warcinfo(name, self.warcinfo_fields)])

    def _write_now(self, group: list[PendingRecord]) -> list[WrittenRecord]:
        assert self._out is not None and self._name is not None
        start = self._out.pos
        written: list[WrittenRecord] = []
        try:
            for pending in group:
                offset = self._out.pos
                write_member(self._out, pending)
                written.append(WrittenRecord(pending, self._name, offset, self._out.pos - offset))
        except BaseException:
            # Leave no half-written group behind: cut the file back to where the group began.
            self._out.cut_back(start)
            raise
        if self.on_written:
            self.on_written(written)
        return written

    def write(self, group: Iterable[PendingRecord]) -> list[WrittenRecord]:
        """Write records that belong together (e.g. request + response) into one file."""
        group = list(group)
        if self._out is not None and self._out.pos >= self.max_size:
            self.seal()
        if self._out is None:
            self._open_new()
        return self._write_now(group)

    def flush(self) -> None:
        """Put every record written so far on disk (flushed and fsynced) in the open file: a
        caller that deletes its own copy of the bytes (the browser's spool) does it only after."""
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def seal(self) -> SealedFile | None:
        if self._fh is None or self._out is None or self._name is None:
            return None
        self._fh.flush()
        os.fsync(self._fh.fileno())
        size = self._out.pos
        digest = self._out.sha.hexdigest()
        open_path = self.directory / (self._name + OPEN_SUFFIX)
        final = self.directory / self._name
        os.rename(open_path, final)
        fsync_dir(self.directory)
        self._fh.close()  # releases the lock only after the rename
        sealed = SealedFile(self._name, final, size, digest)
        self._fh = self._out = None
        self._name = None
        self.sealed.append(sealed)
        if self.on_seal:
            self.on_seal(sealed)
        return sealed

    def close(self) -> None:
        self.seal()


class BlockDigestMismatch(IOError):
    """The bytes written as a record's block are not those its WARC-Block-Digest names (a file
    changed between the hash and the copy); the record has been cut back out of the file."""


class _BlockCheck:
    """Hashes a record's block as it is copied, to compare with the digest in its header: the
    header is written first, from a digest taken earlier (tail hash, prior pass), and a WARC
    record whose digest is wrong would be false evidence."""

    def __init__(self, pending: PendingRecord) -> None:
        self.pending = pending
        self.expected = pending.record.rec_headers.get_header("WARC-Block-Digest") or ""
        # Every digest this project writes is sha256 (archivers/digests.py). A block built from
        # bytes in memory had its digest taken from those very bytes (records._build): only a
        # streamed block (a file) can differ from its digest.
        streamed = not isinstance(pending.record.raw_stream, io.BytesIO)
        self.sha = hashlib.sha256() if streamed and self.expected.startswith("sha256:") else None

    def update(self, chunk: bytes) -> None:
        if self.sha is not None:
            self.sha.update(chunk)

    def verify(self) -> None:
        if self.sha is not None and self.expected != f"sha256:{self.sha.hexdigest()}":
            raise BlockDigestMismatch(
                f"block of {self.pending.uri} changed after it was hashed: header says {self.expected}, "
                f"bytes are sha256:{self.sha.hexdigest()}")


def write_member(out: _HashingFile, pending: PendingRecord, bufsize: int = 8 << 20) -> None:
    """One record as one gzip member: WARC headers, block, CRLF CRLF.

    Framed here rather than by warcio's writer, which re-serialises HTTP headers and skips
    the block of revisit records it did not parse itself; the block must go out untouched.
    Raises BlockDigestMismatch (after writing; the caller cuts the group back) when the block
    is not what its digest header says.
    """
    record = pending.record
    record.rec_headers.replace_header("Content-Length", str(record.length))
    head = record.rec_headers.to_bytes(encoding="utf-8")
    check = _BlockCheck(pending)
    if pending.compress_level == 0:
        _write_stored_member(out, pending, head, bufsize, check)
        check.verify()
        return
    # A deflate window no larger than the record compresses it exactly as well, and setting up
    # the smaller state is twice as fast: most records are a few KB, so this is most of zlib's
    # cost per record (bench/capture).
    window = min(15, max(9, (len(head) + record.length + 4).bit_length()))
    comp = zlib.compressobj(pending.compress_level, zlib.DEFLATED, 16 + window, 8 if window == 15 else max(1, window - 8))
    out.write(comp.compress(head))
    for chunk in _block_chunks(pending, bufsize, check):
        out.write(comp.compress(chunk))
    out.write(comp.compress(b"\r\n\r\n"))
    out.write(comp.flush())
    check.verify()


def _block_chunks(pending: PendingRecord, bufsize: int, check: _BlockCheck) -> Iterator[bytes]:
    """The record's block in pieces of at most `bufsize`, each hashed into `check` on the way
    (one read feeds both the member and the digest check)."""
    remaining = pending.record.length
    while remaining > 0:
        chunk = pending.record.raw_stream.read(min(bufsize, remaining))
        if not chunk:
            raise IOError(f"record block ended {remaining} bytes early: {pending.uri}")
        remaining -= len(chunk)
        check.update(chunk)
        yield chunk


_GZIP_HEAD = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, no mtime, unknown OS
_STORED_MAX = 0xFFFF


def _stored_blocks(out: _HashingFile, data: bytes | memoryview) -> None:
    view = memoryview(data)
    for start in range(0, len(view), _STORED_MAX):
        piece = view[start:start + _STORED_MAX]
        n = len(piece)
        out.write(b"\x00" + n.to_bytes(2, "little") + (n ^ 0xFFFF).to_bytes(2, "little"))
        out.write(piece)


def _write_stored_member(out: _HashingFile, pending: PendingRecord, head: bytes, bufsize: int,
                         check: _BlockCheck) -> None:
    """A gzip member of stored (level-0) deflate blocks, framed here: zlib at level 0 still
    copies every byte through its window, which cost more than the CRC and the write together
    for video (bench/video). The member is a plain gzip member any reader inflates."""
    record = pending.record
    crc = zlib.crc32(head)
    out.write(_GZIP_HEAD)
    _stored_blocks(out, head)
    for chunk in _block_chunks(pending, bufsize, check):
        crc = zlib.crc32(chunk, crc)
        _stored_blocks(out, chunk)
    tail = b"\r\n\r\n"
    crc = zlib.crc32(tail, crc)
    _stored_blocks(out, tail)
    size = len(head) + record.length + len(tail)
    out.write(b"\x01\x00\x00\xff\xff" + crc.to_bytes(4, "little") + (size & 0xFFFFFFFF).to_bytes(4, "little"))


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
