"""Read WARC files back into the facts the catalog indexes.

This is what makes the WARC files the source of truth: the catalog's record index, posts and
failures can all be rebuilt by walking the files with `iter_records`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator


@dataclass
class IndexedRecord:
    filename: str
    offset: int
    length: int
    rec_type: str
    record_id: str
    uri: str
    date: str
    status: int | None = None
    mime: str | None = None
    payload_digest: str | None = None
    refers_to: str | None = None
    concurrent_to: str | None = None
    truncated: str | None = None
    kind: str | None = None
    document: dict[str, Any] | None = field(default=None, repr=False)


def iter_records(path: Path, *, load_metadata: bool = True) -> Iterator[IndexedRecord]:
    """Every record of one file with its offset; metadata records come with their JSON."""
    path = Path(path)
    name = path.name.removesuffix(".open")
    with open(path, "rb") as fh:
        it = ArchiveIterator(fh, no_record_parse=False, arc2warc=False)
        for record in it:
            h = record.rec_headers
            rec_type = record.rec_type
            status = None
            mime = None
            if record.http_headers is not None and rec_type in ("response", "revisit"):
                code = record.http_headers.get_statuscode()
                status = int(code) if code and code.isdigit() else None
                ctype = record.http_headers.get_header("Content-Type")
                mime = ctype.split(";")[0].strip().lower() if ctype else None
            elif rec_type in ("metadata", "resource"):
                ctype = h.get_header("Content-Type")
                mime = ctype.split(";")[0].strip().lower() if ctype else None
            document = None
            kind = h.get_header("WARC-Tawthiq-Kind")
            if rec_type == "metadata" and load_metadata and kind:
                raw = record.content_stream().read()
                try:
                    document = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError):
                    document = None
            else:
                it.read_to_end()
            yield IndexedRecord(
                filename=name,
                offset=it.get_record_offset(),
                length=it.get_record_length(),
                rec_type=rec_type,
                record_id=h.get_header("WARC-Record-ID") or "",
                uri=h.get_header("WARC-Target-URI") or "",
                date=h.get_header("WARC-Date") or "",
                status=status,
                mime=mime,
                payload_digest=h.get_header("WARC-Payload-Digest"),
                refers_to=h.get_header("WARC-Refers-To"),
                concurrent_to=h.get_header("WARC-Concurrent-To"),
                truncated=h.get_header("WARC-Truncated"),
                kind=kind,
                document=document,
            )


def read_record_bytes(path: Path, offset: int, length: int) -> bytes:
    """The raw (gzipped) member of one record, as stored."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        return fh.read(length)
