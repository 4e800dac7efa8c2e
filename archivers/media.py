"""Media files (yt-dlp downloads, thumbnails, subtitles) into WARC resource records.

Files are streamed twice from disk (once to hash, once to write) and never held in memory.
Already-compressed media is framed with gzip level 0 (stored deflate blocks, still one valid
gzip member): deflating video again saves under 1 % and runs at ~60 MB/s here, against
~1,300 MB/s for storing, so it would dominate the time to archive a video.
"""

from __future__ import annotations

import io
import json
import mimetypes
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tawthiq.archivers import records as rec
from tawthiq.archivers.digests import StreamingDigest
from tawthiq.archivers.exchange import DigestHit
from tawthiq.archivers.revisits import DigestIndex
from tawthiq.archivers.writer import WarcWriter, WrittenRecord

_BUF = 8 << 20
_COMPRESSED_PREFIXES = ("video/", "audio/", "image/jpeg", "image/png", "image/webp", "image/gif")


@dataclass
class MediaFacts:
    """What a researcher or a court asks about a media file, read from the archived bytes."""

    sha256: str
    size: int
    mime: str
    duration: float | None = None
    width: int | None = None
    height: int | None = None
    codec: str | None = None
    audio_codec: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def guess_mime(path: Path, fallback: str = "application/octet-stream") -> str:
    mime, _ = mimetypes.guess_type(path.name)
    if path.suffix.lower() in (".ts",):
        return "video/mp2t"
    if path.suffix.lower() in (".vtt",):
        return "text/vtt"
    return mime or fallback


def file_digest(path: Path) -> tuple[str, int]:
    digest = StreamingDigest()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_BUF):
            digest.update(chunk)
            size += len(chunk)
    return str(digest), size


def probe(path: Path, mime: str, sha256: str, size: int) -> MediaFacts:
    """Duration, size and codecs from ffprobe (Debian's ffmpeg); plain facts if it is absent."""
    facts = MediaFacts(sha256=sha256, size=size, mime=mime)
    if shutil.which("ffprobe") is None or not mime.startswith(("video/", "audio/")):
        return facts
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
        capture_output=True, text=True, timeout=120,
    )
    if result.returncode != 0:
        return facts
    data = json.loads(result.stdout or "{}")
    duration = (data.get("format") or {}).get("duration")
    facts.duration = round(float(duration), 3) if duration else None
    for stream in data.get("streams", []):
        if stream.get("codec_type") == "video" and facts.codec is None:
            facts.codec = stream.get("codec_name")
            facts.width = stream.get("width")
            facts.height = stream.get("height")
        elif stream.get("codec_type") == "audio" and facts.audio_codec is None:
            facts.audio_codec = stream.get("codec_name")
    return facts


def facts_from_bytes(data: bytes, mime: str, sha256: str) -> MediaFacts:
    """Facts for media that arrived as an HTTP response body (photos, directly fetched videos);
    `sha256` is the payload digest the archiver already computed (hex)."""
    facts = MediaFacts(sha256=sha256, size=len(data), mime=mime)
    if mime.startswith("image/"):
        try:
            from PIL import Image

            with Image.open(io.BytesIO(data)) as img:
                facts.width, facts.height = img.size
                facts.codec = (img.format or "").lower() or None
        except Exception:  # noqa: BLE001 - a broken image is still archived, just without facts
            pass
    elif mime.startswith(("video/", "audio/")) and shutil.which("ffprobe"):
        with tempfile.NamedTemporaryFile(suffix=mimetypes.guess_extension(mime) or ".bin") as tmp:
            tmp.write(data)
            tmp.flush()
            probed = probe(Path(tmp.name), mime, facts.sha256, facts.size)
        return probed
    return facts


@dataclass
class StoredMedia:
    record: WrittenRecord
    facts: MediaFacts
    revisit_of: DigestHit | None


def store_file(writer: WarcWriter, digests: DigestIndex, path: Path, uri: str, *,
               mime: str | None = None, concurrent_to: str | None = None) -> StoredMedia:
    """Write one file as a resource record, or as a revisit if these bytes are already archived."""
    path = Path(path)
    mime = mime or guess_mime(path)
    digest, size = file_digest(path)
    facts = probe(path, mime, digest.removeprefix("sha256:"), size)
    hit = digests.find(digest) if size else None
    if hit is not None:
        pending = rec.resource_revisit(uri, digest, mime, refers_to=hit.record_id,
                                       refers_to_uri=hit.uri, refers_to_date=hit.date,
                                       concurrent_to=concurrent_to)
        (written,) = writer.write([pending])
        return StoredMedia(written, facts, hit)
    with open(path, "rb") as fh:
        pending = rec.resource(uri, fh, size, digest, mime, concurrent_to=concurrent_to)
        pending.compress_level = 0 if mime.startswith(_COMPRESSED_PREFIXES) else 6
        (written,) = writer.write([pending])
    digests.add(digest, DigestHit(pending.record_id, uri, pending.date))
    return StoredMedia(written, facts, None)


@dataclass
class MediaContent:
    """A media file's bytes as newly archived, for what reads them after the capture wrote them
    (near-duplicate signing): the bytes or the file holding them, and where their record landed."""

    data: bytes | Path
    sha256: str
    mime: str
    stored_at: tuple[str, int]  # (WARC file name, offset of the record)
    # a video's distinct frames, kept by near-duplicate signing as it decoded them, for OCR
    # (a dedupe.video.SceneFrames; None when the video was not decoded)
    scenes: Any = None


def media_document(*, role: str, source_url: str, page_url: str | None, post_url: str | None,
                   written: WrittenRecord, facts: MediaFacts, revisit_of: str | None,
                   **extra: Any) -> dict[str, Any]:
    """The metadata document of an archived media file (kind "media"), from which the catalog's
    media row is built; spiders' media and fetchers' files alike."""
    return {
        "type": "media", "role": role, "source_url": source_url, "page_url": page_url, "post_url": post_url,
        "record_id": written.pending.record_id,
        "warc": {"file": written.filename, "offset": written.offset, "length": written.length},
        "facts": facts.as_dict(), "revisit_of": revisit_of, **extra,
    }
