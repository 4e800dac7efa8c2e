"""Media files (yt-dlp downloads, thumbnails, subtitles) into WARC resource records.

Files are never held in memory. A file whose digest was taken while it was written (yt-dlp's
downloads, archivers/tailhash.py) is read once, to frame it into the WARC; any other file is read
twice (hash, then frame), since the record header carries the digest before the block.
Already-compressed media is framed with gzip level 0 (stored deflate blocks, still one valid
gzip member): deflating video again saves under 1 % and runs at ~60 MB/s here, against
~1,300 MB/s for storing, so it would dominate the time to archive a video.
"""

from __future__ import annotations

import io
import json
import os
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
from tawthiq.archivers.tailhash import KnownDigest, identity_of
from tawthiq.archivers.writer import BlockDigestMismatch, WarcWriter, WrittenRecord

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


class _Probe:
    """ffprobe running in the background, so it reads the file's headers while the file is
    being copied into the WARC instead of after."""

    def __init__(self, path: Path, mime: str, sha256: str, size: int) -> None:
        self.facts = MediaFacts(sha256=sha256, size=size, mime=mime)
        self.proc: subprocess.Popen[str] | None = None
        if shutil.which("ffprobe") is not None and mime.startswith(("video/", "audio/")):
            self.proc = subprocess.Popen(
                ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    def result(self) -> MediaFacts:
        """Duration, size and codecs from ffprobe (Debian's ffmpeg); plain facts if it is absent."""
        facts = self.facts
        if self.proc is None:
            return facts
        proc, self.proc = self.proc, None  # read once; later calls return the same facts
        try:
            out, _ = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return facts
        if proc.returncode != 0:
            return facts
        data = json.loads(out or "{}")
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


def probe(path: Path, mime: str, sha256: str, size: int) -> MediaFacts:
    """Duration, size and codecs from ffprobe (Debian's ffmpeg); plain facts if it is absent."""
    return _Probe(path, mime, sha256, size).result()


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
               mime: str | None = None, concurrent_to: str | None = None,
               known: KnownDigest | None = None, again: bool = False) -> StoredMedia:
    """Write one file as a resource record, or as a revisit if these bytes are already archived.

    `known`: its digest taken as it was written; used only while the file is still the one that
    was hashed (same inode, size and modification time), else the file is hashed here. The
    writer checks the bytes it copies against that digest; a file that changed in between
    (same identity, other bytes) is hashed again and rewritten once (`again`), then fails."""
    path = Path(path)
    mime = mime or guess_mime(path)
    if known is not None and identity_of(path.stat()) == known.identity:
        digest, size = known.digest, known.size
    else:
        known = None
        digest, size = file_digest(path)
    probing = _Probe(path, mime, digest.removeprefix("sha256:"), size)
    try:
        return _store(writer, digests, path, uri, mime, digest, size, probing, concurrent_to, known)
    except BlockDigestMismatch:
        if again:
            raise  # changed twice under us: the record fails loudly rather than lie
        # The file changed between its hash and its copy (the writer cut the record back out):
        # hash it again and write it with the digest of the bytes it now holds.
        probing.result()
        return store_file(writer, digests, path, uri, mime=mime, concurrent_to=concurrent_to, again=True)
    finally:
        probing.result()  # never leave ffprobe running


def _store(writer: WarcWriter, digests: DigestIndex, path: Path, uri: str, mime: str, digest: str, size: int,
           probing: _Probe, concurrent_to: str | None, known: KnownDigest | None) -> StoredMedia:
    hit = digests.find(digest) if size else None
    if hit is not None:
        pending = rec.resource_revisit(uri, digest, mime, refers_to=hit.record_id,
                                       refers_to_uri=hit.uri, refers_to_date=hit.date,
                                       concurrent_to=concurrent_to)
        (written,) = writer.write([pending])
        return StoredMedia(written, probing.result(), hit)
    with open(path, "rb") as fh:
        if known is not None and identity_of(os.fstat(fh.fileno())) != known.identity:
            probing.result()
            return store_file(writer, digests, path, uri, mime=mime, concurrent_to=concurrent_to)
        pending = rec.resource(uri, fh, size, digest, mime, concurrent_to=concurrent_to)
        pending.compress_level = 0 if mime.startswith(_COMPRESSED_PREFIXES) else 6
        (written,) = writer.write([pending])
    digests.add(digest, DigestHit(pending.record_id, uri, pending.date))
    return StoredMedia(written, probing.result(), None)


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
