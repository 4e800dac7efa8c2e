"""The listener interface: every hook is a no-op here, so a listener overrides only its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tawthiq.archivers.media import MediaContent
from tawthiq.archivers.writer import SealedFile, WrittenRecord
from tawthiq.crawlers.models import Post

# How a listener reports a problem that does not stop the capture: (where, message), which the
# session adds to the run's errors (shown in the summary, counted in the run's row).
Report = Callable[[str, str], None]


class Listener:
    # -- document hooks: before the record is written; add to `document` in place -------------
    def post_document(self, post: Post, document: dict[str, Any]) -> None:
        """A post's metadata document, about to be written."""

    def media_document(self, document: dict[str, Any], content: MediaContent | None) -> None:
        """A media file's metadata document, about to be written. `content`: the bytes newly
        archived, or None when there are none to read (a revisit, a truncated response)."""

    # -- events: after the bytes are in the file ---------------------------------------------
    def post_archived(self, post: Post, written: WrittenRecord) -> None:
        """A post's metadata record was written."""

    def media_archived(self, document: dict[str, Any], written: WrittenRecord) -> None:
        """A media file's metadata record was written."""

    def records_written(self, written: list[WrittenRecord]) -> None:
        """Records reached the open WARC file (every record, warcinfo included)."""

    def file_sealed(self, sealed: SealedFile) -> None:
        """A WARC file was closed and renamed to its final name; its SHA-256 is known."""
