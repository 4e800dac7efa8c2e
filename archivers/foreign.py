"""Archives made by other tools (Browsertrix, wget --warc-file, ArchiveBox, pywb): checked
whole before anything is kept, and read for the pages whose text should become searchable.

The files themselves are never changed: tawthiq keeps them byte for byte and writes what it
learned about them (one post document per page) into its own WARC files.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

MAX_PAGE_BYTES = 20_000_000  # larger HTML is kept in the archive but not read for text
TEXT_TYPES = ("text/html", "application/xhtml+xml", "text/plain")


class ForeignArchiveError(ValueError):
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
    """The WARC members of a WACZ (archive/*.warc[.gz]), or [] for a plain WARC file."""
    if not zipfile.is_zipfile(path):
        return []
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if n.startswith("archive/") and n.endswith((".warc.gz", ".warc"))]
    if not names:
        raise ForeignArchiveError(f"{path.name}: a zip file with no archive/*.warc.gz inside, so not a WACZ")
    return names


def check_warc(path: Path, label: str | None = None) -> int:
    """Read every record; returns the count, or raises naming where the file stops being a WARC."""
    label = label or path.name
    count = 0
    try:
        with open(path, "rb") as fh:
            it = ArchiveIterator(fh, no_record_parse=True)
            for record in it:
                if record.format != "warc":
                    raise ForeignArchiveError(
                        f"{label}: record {count + 1} is not a WARC record (ARC files and other data are not imported)")
                if record.rec_type is None:
                    raise ForeignArchiveError(f"{label}: record {count + 1} has no WARC-Type")
                it.read_to_end()
                count += 1
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
