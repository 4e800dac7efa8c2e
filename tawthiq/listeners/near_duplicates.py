"""Near-duplicate signing of media at capture time: each new photo or video gets its signature
and cluster in the `dedupe` part of its media document (see tawthiq/near_duplicates.py for the
matcher and why the outcome lives in the WARC file)."""

from __future__ import annotations

from typing import Any

from tawthiq.archivers.media import MediaContent
from tawthiq.catalog import Catalog
from tawthiq.dedupe.video import SceneFrames
from tawthiq.listeners.base import Listener
from tawthiq.near_duplicates import NearDuplicates
from tawthiq.settings import Settings


# A browser's screenshot shows a whole page: two pages of one site share its layout, so their
# screenshots would look alike whatever they say. Pages are compared by their text, not their looks.
UNSIGNED_ROLES = frozenset({"screenshot"})


class NearDuplicateSigning(Listener):
    def __init__(self, settings: Settings, catalog: Catalog) -> None:
        self.near_duplicates = NearDuplicates(settings, catalog)

    def media_document(self, document: dict[str, Any], content: MediaContent | None) -> None:
        if content is None:
            return  # a revisit was signed when its bytes were first archived; a truncated file is not the file
        if document.get("role") in UNSIGNED_ROLES:
            return
        scenes = SceneFrames([]) if content.mime.startswith("video/") else None
        near = self.near_duplicates.media(content.data, content.sha256, content.mime, stored_at=content.stored_at,
                                            record_id=document.get("record_id"), scenes=scenes)
        if scenes is not None and scenes.frames:
            content.scenes = scenes  # read by OCR (a later listener) instead of decoding the video again
        if near:
            document["dedupe"] = near
