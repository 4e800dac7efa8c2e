"""Archives made by other tools (Browsertrix, wget --warc-file, ArchiveBox, pywb): checked
whole before anything is kept, and read for the pages whose text should become searchable.

The files themselves are never changed: tawthiq keeps them byte for byte and writes what it
learned about them (one post document per page) into its own WARC files.
"""

from __future__ import annotations

import gzip
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from tawthiq.errors import UserError

MAX_PAGE_BYTES = 20_000_000  # larger HTML is kept in the archive but not read for text
# A WACZ stores its WARC files (already gzipped) without compressing them again (WACZ 1.1.1), so a
# member that claims to inflate more than this is a zip bomb, not an archive.
MAX_ZIP_RATIO = 20
CHUNK = 1 << 20
TEXT_TYPES = ("text/html", "application/xhtml+xml", "text/plain")


class ForeignArchiveError(UserError, ValueError):
    """The file is not a readable WARC or WACZ; the message names the file and the problem."""


@dataclass
class Page:
    url: str
    date: str  # WARC-Date
    record_id: str
    offset: int
    length: int
    mime: str
    body: bytes
    content_type: str


def warcs_in(path: Path) -> list[str]:
    """The WARC members of a WACZ (archive/*.warc[.gz]), or [] for a plain WARC file. A zip
    whose members claim to inflate far beyond their stored size is refused before any is read."""
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if not zipfile.is_zipfile(path):
        if magic == b"PK\x03\x04" or path.name.endswith(".wacz"):
            raise ForeignArchiveError(f"{path.name}: not a complete zip file (truncated?), so not a WACZ")
        return []
    try:
        with zipfile.ZipFile(path) as zf:
            infos = [i for i in zf.infolist()
                     if i.filename.startswith("archive/") and i.filename.endswith((".warc.gz", ".warc"))]
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ForeignArchiveError(f"{path.name}: not a readable zip file: {exc}") from None
    if not infos:
        raise ForeignArchiveError(f"{path.name}: a zip file with no archive/*.warc.gz inside, so not a WACZ")
    for info in infos:
        if info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1) + CHUNK:
            raise ForeignArchiveError(
                f"{path.name}:{info.filename}: claims {info.file_size} bytes from {info.compress_size} stored "
                f"(more than {MAX_ZIP_RATIO}:1): a zip bomb, not a WACZ member")
    return [i.filename for i in infos]


def copy_member(zf: zipfile.ZipFile, name: str, out: BinaryIO, label: str) -> None:
    """Stream one zip member out, never more bytes than its entry declares (the zip module stops
    there and checks the CRC at the end): a lying entry fails, it cannot fill the disk."""
    info = zf.getinfo(name)
    written = 0
    try:
        with zf.open(info) as src:
            while chunk := src.read(CHUNK):
                written += len(chunk)
                if written > info.file_size:
                    raise ForeignArchiveError(f"{label}: more bytes than its zip entry declares")
                out.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise ForeignArchiveError(f"{label}: damaged zip member: {exc}") from None


def check_gzip_members(path: Path, label: str) -> None:
    """Every gzip member of the file ends where gzip says it ends (CRC and length checked), with
    nothing else after. warcio reads a cut .warc.gz to its last whole record without a word, so
    a truncated file would otherwise import and fail verification forever after. Output is
    inflated a megabyte at a time and dropped: memory stays small whatever the file holds."""
    with open(path, "rb") as fh:
        inflater = zlib.decompressobj(31)
        started = False
        while True:
            data = fh.read(CHUNK)
            if not data:
                break
            while data:
                started = True
                try:
                    inflater.decompress(data, CHUNK)
                    while inflater.unconsumed_tail:
                        inflater.decompress(inflater.unconsumed_tail, CHUNK)
                except zlib.error as exc:
                    raise ForeignArchiveError(f"{label}: damaged gzip data near byte {fh.tell()}: {exc}") from None
                if inflater.eof:
                    data = inflater.unused_data
                    inflater = zlib.decompressobj(31)
                    started = False
                else:
                    data = b""
        if started:
            raise ForeignArchiveError(f"{label}: the gzip data stops mid-record (a truncated file)")


def gzip_per_record(plain: Path, out: Path, label: str) -> None:
    """A plain .warc rewritten as the usual .warc.gz: each record (with the blank lines after it)
    one gzip member. Decompressed, the file is the original byte for byte, so every digest in it
    holds; the import records the original's SHA-256 beside it."""
    offsets = []
    with open(plain, "rb") as fh:
        it = ArchiveIterator(fh, no_record_parse=True)
        for _record in it:
            it.read_to_end()
            offsets.append(it.get_record_offset())
    if not offsets or offsets[0] != 0:
        raise ForeignArchiveError(f"{label}: bytes before the first WARC record")
    size = plain.stat().st_size
    with open(plain, "rb") as src, open(out, "wb") as dst:
        for start, end in zip(offsets, offsets[1:] + [size]):
            src.seek(start)
            with gzip.GzipFile(fileobj=dst, mode="wb", mtime=0) as member:
                left = end - start
                while left:
                    chunk = src.read(min(CHUNK, left))
                    if not chunk:
                        raise ForeignArchiveError(f"{label}: ended while being copied")
                    member.write(chunk)
                    left -= len(chunk)
        dst.flush()


def check_warc(path: Path, label: str | None = None) -> int:
    """Read every record; returns the count, or raises naming where the file stops being a WARC."""
    label = label or path.name
    count = 0
    with open(path, "rb") as fh:
        gzipped = fh.read(2) == b"\x1f\x8b"
    if gzipped:
        check_gzip_members(path, label)
    try:
        with open(path, "rb") as fh:
            it = ArchiveIterator(fh, no_record_parse=True, check_digests=True)
            for record in it:
                if record.format != "warc":
                    raise ForeignArchiveError(
                        f"{label}: record {count + 1} is not a WARC record (ARC files and other data are not imported)")
                if record.rec_type is None:
                    raise ForeignArchiveError(f"{label}: record {count + 1} has no WARC-Type")
                it.read_to_end()
                count += 1
                where = f"{label}: record {count} at offset {it.get_record_offset()}"
                if record.rec_headers.get_header("Content-Length") is None:
                    raise ForeignArchiveError(f"{where} has no Content-Length (its headers are cut short?)")
                if getattr(record.raw_stream, "limit", 0):
                    raise ForeignArchiveError(f"{where} is cut short: its Content-Length runs past the end of the file")
                checker = getattr(record, "digest_checker", None)
                bad = [p for p in (checker.problems if checker is not None else []) if p.startswith("block digest failed")]
                if bad:
                    raise ForeignArchiveError(f"{where}: {bad[0]} (the record was altered or damaged)")
    except (ArchiveLoadFailed, ValueError, EOFError, OSError) as exc:
        if isinstance(exc, ForeignArchiveError):
            raise
        raise ForeignArchiveError(f"{label}: not a readable WARC after {count} record(s): {exc}") from None
    if count == 0:
        raise ForeignArchiveError(f"{label}: no WARC records in it")
    return count


def pages(path: Path) -> Iterator[Page]:
    """Successful text responses (HTML pages and plain text) with their place in the file."""
    with open(path, "rb") as fh:
        it = ArchiveIterator(fh)
        for record in it:
            if record.rec_type != "response" or record.http_headers is None:
                it.read_to_end()
                continue
            status = record.http_headers.get_statuscode() or ""
            ctype = record.http_headers.get_header("Content-Type") or ""
            mime = ctype.split(";")[0].strip().lower()
            if status != "200" or mime not in TEXT_TYPES:
                it.read_to_end()
                continue
            body = record.content_stream().read(MAX_PAGE_BYTES + 1)
            it.read_to_end()
            if len(body) > MAX_PAGE_BYTES:
                continue
            h = record.rec_headers
            yield Page(
                url=h.get_header("WARC-Target-URI") or "", date=h.get_header("WARC-Date") or "",
                record_id=h.get_header("WARC-Record-ID") or "", offset=it.get_record_offset(),
                length=it.get_record_length(), mime=mime, body=body, content_type=ctype,
            )
