"""The keyword filter (`capture --keyword`): everything fetched stays in the archive; the filter
only decides what search shows. Its verdict is written into the post's own metadata document
(`filter`), so the index and a rebuilt catalog read it from the WARC file."""

from __future__ import annotations

from typing import Any

from tawthiq.crawlers.models import Post
from tawthiq.listeners.base import Listener


class KeywordFilter(Listener):
    def __init__(self, keywords: list[str]) -> None:
        self.keywords = [k for k in keywords if k.strip()]

    def post_document(self, post: Post, document: dict[str, Any]) -> None:
        if not self.keywords:
            return
        haystack = f"{post.text}\n{post.author or ''}".casefold()
        matched = [k for k in self.keywords if k.casefold() in haystack]
        document["filter"] = {"keywords": self.keywords, "matched": matched, "indexed": bool(matched)}
