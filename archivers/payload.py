"""One record's content read back from the archive, for showing it (the web app's media and raw
captures): the HTTP payload of a response (transfer and content coding undone by warcio), or the
block of a resource record, with the content type the server or the capture declared."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from tawthiq.errors import NotFound


class PayloadError(NotFound, LookupError):
    """The record is not where the catalog says, or has no content to show."""


@dataclass
class Payload:
    record_type: str
    uri: str
    content_type: str  # as declared, parameters included
    body: bytes
    refers_to: str | None  # a revisit's original


def read_payload(warcs_dir: Path, filename: str, offset: int, max_bytes: int) -> Payload:
    path = Path(warcs_dir) / filename
    if not path.is_file() or Path(filename).name != filename:
        raise PayloadError(f"{filename} is not in the archive")
    with open(path, "rb") as fh:
        fh.seek(offset)
        record = next(iter(ArchiveIterator(fh)), None)
        if record is None:
            raise PayloadError(f"no record at {filename} offset {offset}")
        h = record.rec_headers
        if record.rec_type == "revisit":
            return Payload("revisit", h.get_header("WARC-Target-URI") or "", "", b"", h.get_header("WARC-Refers-To"))
        if record.http_headers is not None and record.rec_type == "response":
            ctype = record.http_headers.get_header("Content-Type") or "application/octet-stream"
        else:
            ctype = h.get_header("Content-Type") or "application/octet-stream"
        body = record.content_stream().read(max_bytes + 1)
        if len(body) > max_bytes:
            raise PayloadError(f"the record is larger than {max_bytes} bytes: download the WARC file instead")
        return Payload(record.rec_type, h.get_header("WARC-Target-URI") or "", ctype, body, None)
