"""Text near-duplicate signing of posts at capture time: each post gets its text hash and text
cluster in the `text_dedupe` part of its own metadata document (see tawthiq/text_duplicates.py
for the matcher and why the outcome lives in the WARC file)."""

from __future__ import annotations

from typing import Any

from tawthiq.catalog import Catalog
from tawthiq.crawlers.models import Post
from tawthiq.listeners.base import Listener
from tawthiq.settings import Settings
from tawthiq.text_duplicates import TextDuplicates


class TextDuplicateSigning(Listener):
    def __init__(self, settings: Settings, catalog: Catalog) -> None:
        self.text_duplicates = TextDuplicates(settings, catalog)

    def post_document(self, post: Post, document: dict[str, Any]) -> None:
        near = self.text_duplicates.post(post.platform, post.post_id, post.text or "")
        if near:
            document["text_dedupe"] = near
