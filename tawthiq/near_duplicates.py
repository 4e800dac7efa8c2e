"""Near-duplicate clustering at capture time: the glue between the archive and `dedupe/`.

Each new photo or video is signed and matched against everything archived before it, and the
outcome (signature, cluster, the item it matched, distance, the evidence) goes into the media's
metadata record, from which the catalog's `near_duplicates` table is filled. So the WARC files
still hold everything: a rebuilt catalog and a rebuilt index have the same clusters, without
re-running the matcher (whose answers depend on the order items arrived in).

The matcher lives in memory, loaded from the catalog when the first media file of a run needs
it, and topped up with what other captures added since. Verification re-reads a candidate's
archived bytes from its WARC file. A file that cannot be decoded is said so in its record (and
the capture goes on); it is never silently skipped.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from tawthiq.archivers.payload import PayloadError, read_payload
from tawthiq.archivers.writer import OPEN_SUFFIX
from tawthiq.dedupe.images import ImageRejected, reduce
from tawthiq.dedupe.matcher import Item, Matcher
from tawthiq.dedupe.signature import Analysed, ImageSignature, analyse_image
from tawthiq.dedupe.video import VideoRejected, VideoSignature, video_signature
from tawthiq.catalog.store import Catalog
from tawthiq.settings import Settings

log = logging.getLogger("tawthiq.dedupe")

MAX_IMAGE_BYTES = 64 << 20  # a photo re-read for verification
RELOAD_SECONDS = 10.0


def signature_from(data: dict[str, Any]) -> ImageSignature | VideoSignature:
    return ImageSignature.from_dict(data) if data.get("kind") == "image" else VideoSignature.from_dict(data)


class NearDuplicates:
    def __init__(self, settings: Settings, catalog: Catalog) -> None:
        self.settings = settings
        self.catalog = catalog
        self._matcher: Matcher | None = None
        self._last_row = 0
        self._loaded_at = 0.0
        self._where: dict[str, tuple[str, int]] = {}  # this run's media: sha256 -> (WARC file, offset)

    def matcher(self) -> Matcher:
        """Loaded at the first media file of a run; what other captures added is read again at
        most every RELOAD_SECONDS (this process's own items are in it already)."""
        now = time.monotonic()
        if self._matcher is not None and now - self._loaded_at < RELOAD_SECONDS:
            return self._matcher
        if self._matcher is None:
            self._matcher = Matcher(self._pixels)
        self._loaded_at = now
        for row in self.catalog.near_duplicates(after=self._last_row):
            self._last_row = row.id
            if row.sha256 in self._matcher.by_key:
                continue  # assigned by this process already
            try:
                sig = signature_from(row.signature)
            except (ValueError, KeyError) as exc:
                log.warning("near-duplicate signature of %s unreadable (%s): left out of matching", row.sha256, exc)
                continue
            self._matcher.add(Item(row.sha256, row.kind, sig, row.cluster, row.distance))
        return self._matcher

    def _pixels(self, item: Item) -> Any:
        """The archived bytes of an item, decoded again (for verifying a candidate). Files of this
        run may still be open (`NAME.open`) and their records not yet in the catalog."""
        where = self._where.get(item.key)
        if where is None:
            media = self.catalog.media_copy(item.key)
            if media is None:
                return None
            where = (media.warc_file, media.warc_offset)
        name, offset = where
        if not (self.settings.warcs_dir / name).exists() and (self.settings.warcs_dir / (name + OPEN_SUFFIX)).exists():
            name += OPEN_SUFFIX
        try:
            payload = read_payload(self.settings.warcs_dir, name, offset, MAX_IMAGE_BYTES)
            return reduce(payload.body, max_pixels=self.settings.dedupe_max_pixels).gray
        except (PayloadError, ImageRejected, OSError) as exc:
            log.warning("cannot re-read %s from %s for verification: %s", item.key, name, exc)
            return None

    def media(self, data: bytes | Path, sha256: str, mime: str, *, stored_at: tuple[str, int] | None = None
              ) -> dict[str, Any] | None:
        """The `dedupe` part of a photo's or video's media record: its signature and cluster, or
        why it could not be read (None for other media: audio, subtitles). `stored_at`: the WARC
        file and offset of its record, to read it back for verification."""
        if not self.settings.dedupe or not sha256 or not mime.startswith(("image/", "video/")):
            return None
        if stored_at is not None:
            self._where[sha256] = stored_at
        limit = self.settings.dedupe_max_pixels
        try:
            query = analyse_image(data, max_pixels=limit) if mime.startswith("image/") else \
                video_signature(data, max_pixels=limit)
        except (ImageRejected, VideoRejected) as exc:
            return {"error": str(exc)}
        assigned = self.matcher().assign(sha256, query)
        signature = query.signature if isinstance(query, Analysed) else query
        return {"signature": signature.as_dict(), **assigned.as_dict()}
