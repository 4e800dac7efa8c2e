"""Near-duplicate clustering at capture time: the glue between the archive and `dedupe/`.

Each new photo or video is signed and matched against everything archived before it, and the
outcome (signature, cluster, the item it matched, distance, the evidence) goes into the media's
metadata record, from which the catalog's `near_duplicates` table is filled. So the WARC files
still hold everything: a rebuilt catalog and a rebuilt index have the same clusters, without
re-running the matcher (whose answers depend on the order items arrived in).

Candidates come from the on-disk store beside the catalog (HOME/dedupe/, dedupe.store): opened
in milliseconds whatever the archive's size, and brought up to date from the catalog's rows
(`near_duplicates`, in id order) before each look-up; a store that does not match the catalog (a
rebuilt catalog, another catalog) is deleted and filled again from it. Candidates' signatures and
clusters are read from the catalog; verification re-reads their archived bytes from the WARC file.

Across workers sharing one catalog (PostgreSQL): an item is matched first without any lock, then,
holding the catalog's assignment lock, against whatever other workers assigned meanwhile, and its
row is written before the lock is released. So copies of one picture signed at the same moment
on three workers make one cluster, not three. A file that cannot be decoded is said so in its
record (and the capture goes on); it is never silently skipped.

Text check (issue 16): once a photo's pixels agree with a candidate's, both are OCRed (the same
pipeline as the OCR listener, tawthiq.index.ocr; a photo the text gate rejects costs ~10 ms) and
two images naming different people stay apart (dedupe.notice_text). The text is computed here,
at signing time, only for such pairs: the OCR listener may not have read the candidate yet. The
new image's name slots go into its signature (`signature.text`, in the WARC) and the
candidates it was kept apart from into `detail.apart_by_text`, so `reindex` gives the same
clusters without OCR; a candidate's text comes from its signature, else from the catalog's
OCR row, else from its archived bytes (read once per run, here or in a shared folder).
A text that cannot be read is TextUnknown, not "no text": the check fails closed (dedupe.matcher),
and the record says `text: {"error": ...}`. Nothing is OCRed or flushed while the assignment
lock is held (on SQLite a flush there would wait on the lock itself): see `media`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tawthiq.archivers.payload import PayloadError, read_payload
from tawthiq.archivers.writer import OPEN_SUFFIX
from tawthiq.dedupe.images import ImageRejected, reduce
from tawthiq.dedupe.matcher import STORED, Assignment, Item, Matcher, TextUnknown
from tawthiq.dedupe.notice_text import ImageText, image_text
from tawthiq.dedupe.signature import Analysed, ImageSignature, analyse_image
from tawthiq.dedupe.store import Store, StoreError
from tawthiq.dedupe.stored import StoredItems, entry_for
from tawthiq.dedupe.video import SceneFrames, VideoRejected, VideoSignature, video_signature
from tawthiq.index.ocr import OcrRejected, OcrSettings, TesseractError, engine_facts, ocr_image
from tawthiq.catalog.store import Catalog
from tawthiq.posts import record_location
from tawthiq.settings import Settings

log = logging.getLogger("tawthiq.dedupe")

MAX_IMAGE_BYTES = 64 << 20  # a photo re-read for verification
MAX_OCR_RECORD_BYTES = 16 << 20
CATCH_UP_BATCH = 5000


def signature_from(data: dict[str, Any]) -> ImageSignature | VideoSignature:
    return ImageSignature.from_dict(data) if data.get("kind") == "image" else VideoSignature.from_dict(data)


def _signature_or_none(row: Any) -> ImageSignature | VideoSignature | None:
    try:
        return signature_from(row.signature)
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("near-duplicate signature of %s unreadable (%s): left out of matching", row.sha256, exc)
        return None


def locate(settings: Settings, name: str) -> tuple[Path, str] | None:
    """(folder, file name) of a WARC file: this machine's, else a shared folder's; a file still
    being written is NAME.open."""
    for folder in [settings.warcs_dir, *(Path(d) for d in settings.dedupe_shared_warcs)]:
        for file in (name, name + OPEN_SUFFIX):
            if (folder / file).exists():
                return folder, file
    return None


def store_dir(settings: Settings) -> Path:
    return settings.home / "dedupe"


def sync_store(store: Store, catalog: Catalog, rows: list[Any] | None = None) -> int:
    """Append the catalog's near-duplicate rows the store lacks (all of them, or `rows` given,
    which must follow on from what the store has); returns how many were added."""
    added = 0
    with store.locked():
        while True:
            batch = [r for r in rows if r.id > store.last_row] if rows is not None else \
                catalog.near_duplicates(after=store.last_row, limit=CATCH_UP_BATCH)
            if not batch:
                break
            store.append([entry_for(r.sha256, r.id, _signature_or_none(r)) for r in batch])
            added += len(batch)
            store.compact()
            if rows is not None:
                break
    return added


def open_store(settings: Settings, catalog: Catalog) -> Store:
    """The store, checked against the catalog: its newest item must be the catalog's row of that
    id, or the store is stale (the catalog was rebuilt) and is filled again."""
    folder = store_dir(settings)
    try:
        store = Store(folder)
    except StoreError as exc:
        log.warning("near-duplicate store %s unusable (%s): filled again from the catalog", folder, exc)
        store = None
    if store is not None and store.count:
        row = catalog.near_duplicate_by_id(store.last_row)
        if row is None or row.sha256 != store.key(store.count - 1).hex():
            log.warning("near-duplicate store %s does not match the catalog: filled again from it", folder)
            store = None
    if store is None:
        shutil.rmtree(folder, ignore_errors=True)
        store = Store(folder)
    return store


Text = ImageText | TextUnknown | None


class _NeedsText(Exception):
    """Inside the assignment lock a text is needed that is not known yet: the lock is left, the
    text is read (OCR, a catalog flush: never while holding the lock), and the step is retried."""

    def __init__(self, sha256: str) -> None:
        super().__init__(sha256)
        self.sha256 = sha256


LOCK_TRIES = 3  # times the locked step is retried for a text it lacked; then unknown (kept apart)


def _joined(first: Assignment, later: Assignment | None) -> Assignment:
    """The first matching's assignment and the locked one's against newer rows: a match there
    wins; else what it kept apart (and why) is added to the first's record."""
    if later is None:
        return first
    if later.matched is not None:
        return later
    detail = dict(first.detail)
    for key in ("apart_by_text", "apart_text_unread"):
        if later.detail.get(key):
            detail[key] = [*detail.get(key, []), *later.detail[key]]
    return Assignment(first.cluster, first.matched, first.method, first.distance, detail)


class NearDuplicates:
    def __init__(self, settings: Settings, catalog: Catalog) -> None:
        self.settings = settings
        self.catalog = catalog
        self._matcher: Matcher | None = None
        self._store: Store | None = None
        self._where: dict[str, tuple[str, int]] = {}  # this run's media: sha256 -> (WARC file, offset)
        self._texts: dict[str, Text] = {}  # sha256 -> its OCR name slots (this run)
        self._ocr = OcrSettings(timeout=settings.ocr_timeout, max_pixels=settings.ocr_max_pixels)
        self._text_check: bool | None = None

    @property
    def text_check(self) -> bool:
        """The text check runs where OCR can: on, and Tesseract with its models here (a worker
        without them says so once, in the log, and is the same as OCR off: pixels decide)."""
        if self._text_check is None:
            self._text_check = self.settings.ocr
            if self._text_check:  # as tawthiq.listeners.ocr.ocr_enabled (a listener: not imported here)
                try:
                    engine_facts(self._ocr)
                except TesseractError as exc:
                    log.warning("OCR is on but cannot run (%s): near-duplicates are matched on their "
                                "pixels alone, without the text check", exc)
                    self._text_check = False
        return self._text_check

    def _read_text(self, data: bytes) -> Text:
        try:
            return image_text(ocr_image(data, self._ocr))
        except (OcrRejected, TesseractError) as exc:
            log.warning("text check: OCR failed (%s); a named or text-heavy pair is kept apart", exc)
            return TextUnknown(f"OCR failed: {exc}")

    def _text_of(self, item: Item) -> Text:
        return self.text_of_sha(item.key)

    def text_of_sha(self, sha256: str) -> Text:
        """An archived image's text: from its signature, the catalog's OCR row, or its archived
        bytes (TextUnknown when none of them can give it)."""
        if sha256 in self._texts:
            return self._texts[sha256]
        found: Text = None
        row = self.catalog.near_duplicate(sha256)
        stored = (row.signature or {}).get("text") if row is not None and isinstance(row.signature, dict) else None
        if isinstance(stored, dict) and "error" not in stored:
            found = ImageText.from_dict(stored)
        else:
            self.catalog.flush()
            ocr_row = self.catalog.image_texts([sha256]).get(sha256)
            recorded = self._recorded_text(sha256, ocr_row) if ocr_row is not None else None
            if ocr_row is not None and ocr_row.status in ("gated", "no_text"):
                found = None
            elif recorded is not None:  # the OCR listener read it: its record, not 4 more passes
                found = recorded
            else:
                data = self.archived(sha256, "the text check")
                found = self._read_text(data) if data is not None else \
                    TextUnknown("archived bytes not readable on this machine")
        self._texts[sha256] = found
        return found

    def _recorded_text(self, sha256: str, row: Any) -> ImageText | None:
        """The text of an image the OCR listener read (its "ocr" metadata record, found through
        the catalog's row, here or in a shared folder; used only if it is that image's record)."""
        if row.status != "text":
            return None
        where = record_location(self.catalog, row.metadata_record_id)
        found = locate(self.settings, where.file) if where is not None else None
        if where is None or found is None:
            return None
        try:
            doc = json.loads(read_payload(found[0], found[1], where.offset, MAX_OCR_RECORD_BYTES).body)
        except (PayloadError, OSError, ValueError) as exc:
            log.warning("cannot read the OCR record %s for the text check: %s", row.metadata_record_id, exc)
            return None
        if not isinstance(doc, dict) or doc.get("type") != "ocr" or doc.get("sha256") != sha256 or doc.get("frames"):
            return None
        return image_text(doc)

    def archived(self, sha256: str, why: str) -> bytes | None:
        """An item's archived bytes. Files being written (this run's, or another worker's on
        this machine) are still `NAME.open`. A file that is not on this machine is looked for in
        the shared folders (`dedupe_shared_warcs`: other workers' WARC folders, mounted), and
        bytes read from there are trusted only if their SHA-256 is the one the catalog has."""
        where = self._where.get(sha256)
        if where is None:
            media = self.catalog.media_copy(sha256)
            if media is None:
                return None
            where = (media.warc_file, media.warc_offset)
        name, offset = where
        found = locate(self.settings, name)
        if found is None:
            log.warning("cannot re-read %s for %s: %s is neither here nor in a shared folder", sha256, why, name)
            return None
        folder, file = found
        try:
            body = read_payload(folder, file, offset, MAX_IMAGE_BYTES).body
        except (PayloadError, OSError) as exc:
            log.warning("cannot re-read %s from %s for %s: %s", sha256, name, why, exc)
            return None
        if folder != self.settings.warcs_dir and hashlib.sha256(body).hexdigest() != sha256:
            log.warning("%s in shared folder %s does not hold %s at %d (digest differs): not used",
                        file, folder, sha256, offset)
            return None
        return body

    def _fetch(self, sha256: str) -> Item | None:
        row = self.catalog.near_duplicate(sha256)
        if row is None:
            return None
        if row.warc_file and sha256 not in self._where:
            self._where[sha256] = (row.warc_file, int(row.warc_offset or 0))
        sig = _signature_or_none(row)
        return Item(row.sha256, row.kind, sig, row.cluster, row.distance) if sig is not None else None

    def matcher(self) -> Matcher:
        """Opened at the first media file of a run (the store maps its files, nothing is loaded),
        and brought up to date with the catalog at each later one (one indexed query)."""
        if self._matcher is None:
            self._store = open_store(self.settings, self.catalog)
            self._matcher = Matcher(self._pixels, stored=StoredItems(self._store, self._fetch),
                                    text_of=self._text_of if self.text_check else None)
        assert self._store is not None
        self._store.refresh()
        if self.catalog.near_duplicate_max_id() > self._store.last_row:
            sync_store(self._store, self.catalog)
        return self._matcher

    def _pixels(self, item: Item) -> Any:
        """The archived bytes of an item (see `archived`), decoded again (for verifying a candidate)."""
        body = self.archived(item.key, "verification")
        if body is None:
            return None
        try:
            return reduce(body, max_pixels=self.settings.dedupe_max_pixels).gray
        except ImageRejected as exc:
            log.warning("cannot decode %s again for verification: %s", item.key, exc)
            return None

    def media(self, data: bytes | Path, sha256: str, mime: str, *, stored_at: tuple[str, int] | None = None,
              record_id: str | None = None, scenes: SceneFrames | None = None) -> dict[str, Any] | None:
        """The `dedupe` part of a photo's or video's media record: its signature and cluster, or
        why it could not be read (None for other media: audio, subtitles). `stored_at`: the WARC
        file and offset of its record, to read it back for verification; `record_id`: the media
        record's id (the catalog row is written at once, before the metadata record); `scenes`: receives
        a video's distinct frames as it is decoded (for OCR)."""
        if not self.settings.dedupe or not sha256 or not mime.startswith(("image/", "video/")):
            return None
        if stored_at is not None:
            self._where[sha256] = stored_at
        limit = self.settings.dedupe_max_pixels
        try:
            query = analyse_image(data, max_pixels=limit) if mime.startswith("image/") else \
                video_signature(data, max_pixels=limit, scenes=scenes)
        except (ImageRejected, VideoRejected) as exc:
            return {"error": str(exc)}
        matcher = self.matcher()
        assert self._store is not None
        seen = self._store.last_row

        def query_text() -> Text:
            if sha256 not in self._texts:
                raw = data if isinstance(data, bytes) else data.read_bytes()
                self._texts[sha256] = self._read_text(raw)
            return self._texts[sha256]

        checked = mime.startswith("image/") and self.text_check
        texts = query_text if checked else None
        assigned = matcher.decide(sha256, query, texts)
        signature = query.signature if isinstance(query, Analysed) else query
        # Inside the lock (on SQLite a write transaction, on PostgreSQL held by every worker)
        # nothing is OCRed and the catalog is not flushed (another connection: it would wait on
        # this one's lock): a text not known yet makes the step leave the lock, read it, retry.
        for attempt in range(LOCK_TRIES + 1):
            try:
                with self.catalog.near_duplicate_lock() as conn:
                    known = self.catalog.near_duplicate_in(conn, sha256)
                    if known is not None:  # the same bytes, assigned meanwhile by another worker
                        assigned = Assignment(known.cluster, known.sha256, "identical", known.distance, {})
                    else:
                        news = self.catalog.near_duplicates(after=seen, conn=conn)
                        if news and assigned.matched is None:
                            assigned = _joined(assigned, self._against(news, sha256, query, checked,
                                                                       final=attempt == LOCK_TRIES))
                        near = {"signature": self._signed(signature, sha256), **assigned.as_dict()}
                        self.catalog.claim_near_duplicate(
                            conn, sha256=sha256, near=near, media_record_id=record_id or "",
                            seen=datetime.now(timezone.utc).isoformat(), warc=stored_at)
                        news = self.catalog.near_duplicates(after=seen, conn=conn)
                break
            except _NeedsText as needed:
                if needed.sha256 == sha256:
                    query_text()
                else:
                    self.text_of_sha(needed.sha256)
        if known is None:
            sync_store(self._store, self.catalog, news)
            n = self._store.item_of_row(max(r.id for r in news if r.sha256 == sha256))
            if n is not None and isinstance(query, Analysed):
                matcher.remember(STORED + n, query)
        return {"signature": self._signed(signature, sha256), **assigned.as_dict()}

    def _signed(self, signature: ImageSignature | VideoSignature, sha256: str) -> dict[str, Any]:
        """The signature as recorded, with the image's name slots when its text was read."""
        out = signature.as_dict()
        if sha256 in self._texts:
            text = self._texts[sha256]
            out["text"] = {"error": text.error} if isinstance(text, TextUnknown) else \
                text.as_dict() if text is not None else None
        return out

    def _against(self, rows: list[Any], sha256: str, query: Analysed | VideoSignature,
                 checked: bool = False, *, final: bool = False) -> Assignment | None:
        """Match against what other workers assigned since this item was first matched (a few
        items at most): the join that keeps one picture in one cluster. Runs inside the
        assignment lock, so texts come only from this run's readings and the rows' signatures;
        one not there raises _NeedsText (`final`: it is unknown instead, and the pair kept apart
        where it could matter)."""
        signed: dict[str, Text] = {}
        for row in rows:
            stored = (row.signature or {}).get("text") if isinstance(row.signature, dict) else None
            if isinstance(stored, dict) and "error" not in stored:
                signed[row.sha256] = ImageText.from_dict(stored)

        def known(key: str) -> Text:
            if key in self._texts:
                return self._texts[key]
            if key in signed:
                return signed[key]
            if final:
                return TextUnknown("not read before the assignment lock")
            raise _NeedsText(key)

        small = Matcher(self._pixels, text_of=(lambda item: known(item.key)) if checked else None)
        texts = (lambda: known(sha256)) if checked else None
        for row in rows:
            sig = _signature_or_none(row)
            if row.warc_file and row.sha256 not in self._where:
                self._where[row.sha256] = (row.warc_file, int(row.warc_offset or 0))
            if sig is not None and row.sha256 != sha256:
                small.add(Item(row.sha256, row.kind, sig, row.cluster, row.distance))
        found = small.decide(sha256, query, texts)
        if found.matched is None:
            return found if found.detail else None
        first = self._matcher.find(found.cluster) if self._matcher is not None else None
        if first is not None and isinstance(first.signature, ImageSignature) and isinstance(query, Analysed):
            from tawthiq.dedupe.matcher import view_distance

            found = Assignment(found.cluster, found.matched, found.method,
                               view_distance(query.signature, first.signature)[0], found.detail)
        return found
