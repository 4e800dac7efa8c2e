"""Item pipeline: every Post a spider yields is archived as a metadata record."""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler

from tawthiq.crawlers.models import Post
from tawthiq.crawlers.sink import CaptureSink, sink_for


class ArchivePostsPipeline:
    def __init__(self, sink: CaptureSink) -> None:
        self.sink = sink

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "ArchivePostsPipeline":
        return cls(sink_for(crawler))

    def process_item(self, item: Any) -> Any:
        if isinstance(item, Post):
            self.sink.archive_post(item)
        return item
