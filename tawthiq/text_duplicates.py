"""Text near-duplicates at capture time: the glue between the archive and `dedupe.text`.

Each post archived gets a text signature and is matched against every post archived before it;
the outcome (hash, word count, cluster, the post it matched, how, the similarity) goes into the
post's own metadata record as `text_dedupe`, from which the catalog's `text_duplicates` table is
filled and the search index takes the post's cluster. So the WARC files hold the decision: a
rebuilt catalog and a rebuilt index fold the same posts, without re-running the matcher (whose
answers depend on the order posts arrived in).

The index lives in memory, built from the catalog when the first post of a run needs it (the
words are re-read from `posts.text` and MinHashed again: see the README for the measured cost),
and topped up with what other captures added since, at most every RELOAD_SECONDS.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from tawthiq.catalog.store import Catalog
from tawthiq.dedupe.text import TEXT_SIGNATURE_VERSION, TextIndex, TextItem, signature
from tawthiq.index.documents import doc_id
from tawthiq.settings import Settings

log = logging.getLogger("tawthiq.dedupe")

RELOAD_SECONDS = 10.0


class TextDuplicates:
    def __init__(self, settings: Settings, catalog: Catalog) -> None:
        self.settings = settings
        self.catalog = catalog
        self._index: TextIndex | None = None
        self._last_row = 0
        self._loaded_at = 0.0

    def index(self) -> TextIndex:
        now = time.monotonic()
        if self._index is not None and now - self._loaded_at < RELOAD_SECONDS:
            return self._index
        if self._index is None:
            self._index = TextIndex(threshold=self.settings.text_dedupe_threshold,
                                    min_words=self.settings.text_dedupe_min_words,
                                    shingle=self.settings.text_dedupe_shingle)
        self._loaded_at = now
        for row in self.catalog.text_duplicates(after=self._last_row):
            self._last_row = row.id
            key = doc_id(row.platform, row.post_id)
            if key in self._index.by_key:
                continue  # assigned by this process already
            sig = signature(row.text or "")
            if sig is None:
                log.warning("text signature of %s: no words in its text; left out of matching", key)
                continue
            self._index.add(TextItem(key, sig, row.cluster, row.matched, row.method, row.similarity))
        return self._index

    def post(self, platform: str, post_id: str, text: str) -> dict[str, Any] | None:
        """The `text_dedupe` part of a post's metadata document, or None when its text has no
        words (a photo without a caption: it folds by its media, if at all)."""
        sig = signature(text or "")
        if sig is None:
            return None
        assigned = self.index().assign(doc_id(platform, post_id), sig)
        return {"version": TEXT_SIGNATURE_VERSION, "hash": sig.hash, "words": sig.length, **assigned.as_dict()}
