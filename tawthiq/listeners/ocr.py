"""OCR of archived images (issue 16): each newly archived photo or thumbnail is read by
tawthiq.index.ocr and the result is written as a derived metadata record of kind "ocr" whose
WARC-Refers-To is the image's own record. The text then reaches the catalog (`image_texts`)
and the search index from that record, live or rebuilt from the WARC files alike.

Never on the crawl's thread: `ocr_mode = "inline"` reads images on worker threads (Tesseract
runs in subprocesses, so threads use the cores) while the crawl goes on, and the session writes
each finished result at its next event; `"after"` queues the images and reads them back from the
WARC files when the crawl is done. A file whose bytes were OCRed before (same sha256, by this
engine and recipe) is not read again: the earlier record stands for it. An image that cannot be
read, is over `ocr_max_pixels` or makes Tesseract fail or time out gets a record saying so
(status "failed"), and the capture goes on. A file handed over by path (yt-dlp's work folder)
may be gone by the time a worker reads it: its bytes are then read back from its WARC record
(the fetcher flushes the WARC file before it cleans the folder).

Page screenshots (media role "screenshot") are read like photos (cropped by index.ocr.crop).
Videos: the distinct frames (scene changes) that near-duplicate signing kept while it decoded the
video for its signature (dedupe.video.SceneFrames) are read, so a video is decoded once; a video
not signed at capture (signing off, `ocr_mode = "after"`, `tawthiq ocr`) is decoded here. One
"ocr" record per video refers to the video's record: `frames` lists each frame's time and
result, every word carries its frame's `time`, and `text` is the frames' lines, each line once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tawthiq.archivers.media import MediaContent
from tawthiq.archivers.payload import PayloadError, read_payload
from tawthiq.archivers.writer import OPEN_SUFFIX, WrittenRecord
from tawthiq.catalog import Catalog
from tawthiq.dedupe.video import VideoRejected, scene_frames
from tawthiq.index.ocr import OcrRejected, OcrSettings, TesseractError, engine_facts, ocr_image, ocr_pixels
from tawthiq.listeners.base import Listener
from tawthiq.settings import Settings

log = logging.getLogger("tawthiq.ocr")

MAX_FILE_BYTES = 64 << 20  # an image file read for OCR (a larger one is a recorded failure)
MAX_VIDEO_BYTES = 512 << 20  # a video read back from its WARC file to find its frames
OCR_MIMES = ("image/jpeg", "image/png", "image/webp", "image/gif", "image/bmp", "image/tiff")


def is_video(mime: str) -> bool:
    return mime.split(";")[0].strip().lower().startswith("video/")


def ocr_readable(mime: str) -> bool:
    """Images of the formats above, and videos (their scene frames)."""
    return mime.split(";")[0].strip().lower() in OCR_MIMES or is_video(mime)

# Writes one "ocr" metadata record: (image URL, document, the image's record id).
WriteRecord = Callable[[str, dict[str, Any], str], WrittenRecord]


@dataclass
class ImageJob:
    """An archived image to read: its bytes now (inline) or where they lie (after, redo)."""

    url: str
    sha256: str
    mime: str
    image_record_id: str
    post_url: str | None
    data: bytes | Path | None = None
    stored_at: tuple[str, int] | None = None  # (WARC file, offset of the image's record)
    scenes: Any = None  # a video's distinct frames as signing kept them (dedupe.video.SceneFrames)


def ocr_settings(settings: Settings) -> OcrSettings:
    return OcrSettings(timeout=settings.ocr_timeout, max_pixels=settings.ocr_max_pixels)


def ocr_enabled(settings: Settings) -> bool:
    """OCR is on and Tesseract with its models is here; a missing engine is logged, not fatal
    (the images are archived; `tawthiq ocr` reads them once it is installed)."""
    if not settings.ocr:
        return False
    try:
        engine_facts(ocr_settings(settings))
    except TesseractError as exc:
        log.warning("OCR is on but cannot run (%s): images are archived without their text; "
                    "install it and run `tawthiq ocr`", exc)
        return False
    return True


class ImageOcr(Listener):
    def __init__(self, settings: Settings, catalog: Catalog, write: WriteRecord, *,
                 redo: bool = False) -> None:
        self.settings = settings
        self.catalog = catalog
        self.write = write
        self.redo = redo  # `tawthiq ocr --redo`: read again whatever an earlier run read
        self.options = ocr_settings(settings)
        self.engine = engine_facts(self.options)
        self.mode = settings.ocr_mode
        self.pool = ThreadPoolExecutor(max_workers=settings.ocr_workers, thread_name_prefix="ocr")
        self.running: list[tuple[ImageJob, Future[dict[str, Any]]]] = []
        self.queued: list[ImageJob] = []
        self.seen: set[str] = set()  # sha256 read (or found read) by this run
        self.counts: dict[str, int] = {}

    # -- what is OCRed ---------------------------------------------------------------------------
    def media_document(self, document: dict[str, Any], content: MediaContent | None) -> None:
        if content is None or not ocr_readable(content.mime):
            return  # a revisit: its bytes were read when first archived
        job = ImageJob(document.get("source_url") or "", content.sha256, content.mime, document["record_id"],
                       document.get("post_url"), content.data, content.stored_at, content.scenes)
        self.add(job)

    def add(self, job: ImageJob) -> None:
        """An image to read (now on a worker, or queued for after the crawl); an exact duplicate
        already read by this engine is not read again."""
        if not job.sha256 or job.sha256 in self.seen:
            self._count("reused")
            return
        self.seen.add(job.sha256)
        if not self.redo and self._read_before(job.sha256):
            self._count("reused")
            return
        if self.mode == "inline" and job.data is not None:
            self.running.append((job, self.pool.submit(self._read, job)))
        else:
            job.data = job.scenes = None  # read back from the WARC file when its turn comes
            self.queued.append(job)

    def _read_before(self, sha256: str) -> bool:
        self.catalog.flush()
        row = self.catalog.image_texts([sha256]).get(sha256)
        if row is None:
            return False  # (a failed reading counts as read: `tawthiq ocr --redo` tries it again)
        engine = row.engine or {}
        return engine.get("version") == self.engine["version"] and engine.get("pipeline") == self.engine["pipeline"]

    # -- reading, on a worker ------------------------------------------------------------------
    def _bytes(self, job: ImageJob) -> bytes:
        limit = MAX_VIDEO_BYTES if is_video(job.mime) else MAX_FILE_BYTES
        if isinstance(job.data, bytes):
            return job.data
        if isinstance(job.data, Path):
            try:
                if job.data.stat().st_size > limit:
                    raise OcrRejected(f"the file is over {limit >> 20} MiB")
                return job.data.read_bytes()
            except FileNotFoundError:
                pass  # a fetcher's work folder, cleaned up once stored: its WARC record has the bytes
        if job.stored_at is None:
            raise OcrRejected("the image's bytes are not at hand")
        name, offset = job.stored_at
        if not (self.settings.warcs_dir / name).exists() and (self.settings.warcs_dir / (name + OPEN_SUFFIX)).exists():
            name += OPEN_SUFFIX
        try:
            return read_payload(self.settings.warcs_dir, name, offset, limit).body
        except (PayloadError, OSError) as exc:
            raise OcrRejected(f"cannot read the image back from {name}: {exc}") from None

    def _read(self, job: ImageJob) -> dict[str, Any]:
        started = time.monotonic()
        try:
            if is_video(job.mime):
                return self._read_video(job, started)
            return ocr_image(self._bytes(job), self.options)
        except (OcrRejected, TesseractError, VideoRejected) as exc:
            return {"status": "failed", "error": str(exc), "text": "", "words": [],
                    "seconds": round(time.monotonic() - started, 3)}
        except Exception as exc:  # noqa: BLE001 - any crash in a decoder is this image's failure
            return {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "text": "", "words": [],
                    "seconds": round(time.monotonic() - started, 3)}

    def _read_video(self, job: ImageJob, started: float) -> dict[str, Any]:
        """Each distinct frame read as an image; one result for the video (module docstring)."""
        scenes = job.scenes
        if scenes is None:
            path = job.data if isinstance(job.data, Path) and job.data.exists() else None
            try:
                scenes = scene_frames(path or self._bytes(job), max_pixels=self.options.max_pixels)
            except VideoRejected:
                if path is None or path.exists():
                    raise
                # the fetcher's work folder went between the look and the open: read the WARC record
                scenes = scene_frames(self._bytes(job), max_pixels=self.options.max_pixels)
        frames: list[dict[str, Any]] = []
        words: list[dict[str, Any]] = []
        lines: list[str] = []
        extra: list[str] = []
        for at, pixels in scenes.frames:
            result = ocr_pixels(pixels, self.options)
            words += [{**w, "time": at} for w in result.pop("words", [])]
            frames.append({"time": at, **result})
            for line in (result.get("text") or "").splitlines():
                if line not in lines:
                    lines.append(line)
            for line in (result.get("extra_text") or "").splitlines():
                if line not in lines and line not in extra:
                    extra.append(line)
        has_text = any(f.get("status") == "text" for f in frames)
        return {"status": "text" if has_text else "no_text", "text": "\n".join(lines), "extra_text": "\n".join(extra),
                "words": words, "frames": frames, "seconds": round(time.monotonic() - started, 3)}

    # -- writing, on the session's thread ----------------------------------------------------------
    def _record(self, job: ImageJob, result: dict[str, Any]) -> None:
        document = {
            "type": "ocr", "sha256": job.sha256, "image_record_id": job.image_record_id, "source_url": job.url,
            "post_url": job.post_url, "mime": job.mime, "engine": self.engine, "languages": self.engine["languages"],
            "settings": self.options.as_dict(), **result,
        }
        self.write(job.url, document, job.image_record_id)
        self._count(result.get("status", "failed"))
        if result.get("status") == "failed":
            log.warning("OCR of %s failed: %s", job.url, result.get("error"))

    def _count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def collect(self, *, wait: bool = False) -> None:
        """Write the results that are ready (all of them, waiting, with `wait`)."""
        still = []
        for job, future in self.running:
            if wait or future.done():
                self._record(job, future.result())
            else:
                still.append((job, future))
        self.running = still

    def media_archived(self, document: dict[str, Any], written: WrittenRecord) -> None:
        self.collect()

    def post_archived(self, post: Any, written: WrittenRecord) -> None:
        self.collect()

    def finish(self, *, run_queue: bool = True) -> None:
        """The crawl is over: wait for the workers, then read what was queued (unless the capture
        was stopped: the queue then waits for `tawthiq ocr`)."""
        self.collect(wait=True)
        if run_queue and self.queued:
            jobs, self.queued = self.queued, []
            futures = [(job, self.pool.submit(self._read, job)) for job in jobs]
            for job, future in futures:
                self._record(job, future.result())
        self.pool.shutdown(wait=True)


def archived_image_jobs(catalog: Catalog) -> list[ImageJob]:
    """Every stored image of the archive, for `tawthiq ocr` (read back from its WARC file)."""
    return [ImageJob(m.source_url, m.sha256, m.mime, m.record_id, m.post_url,
                     stored_at=(m.warc_file, m.warc_offset))
            for m in catalog.archived_images() if ocr_readable(m.mime)]


__all__ = ["ImageJob", "ImageOcr", "archived_image_jobs", "ocr_enabled"]
