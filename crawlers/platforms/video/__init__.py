"""A video page or file (`video:URL`), captured by the yt-dlp fetcher into the same WARC file:
every HTTP exchange yt-dlp makes, the merged media file, its thumbnail and info JSON."""

from __future__ import annotations

from typing import Any

from tawthiq.crawlers.platforms.base import CatalogView, FetchJob, Job, Platform, SpecError, Target, is_http, prefixed


class Video(Platform):
    name = "video"
    forms = ("video:URL",)
    has_posts = False
    EXAMPLES = ("video:https://video.example.org/watch?v=sample1",)

    def claim(self, spec: str, settings: Any) -> str | None:
        rest = prefixed(spec, "video")
        if rest is None:
            return None
        if not is_http(rest):
            raise SpecError(f"{spec!r}: a video needs an http(s) URL after 'video:'")
        return rest

    def plan(self, target: Target, settings: Any, catalog: CatalogView) -> list[Job]:
        return [FetchJob("ytdlp", target.value)]


PLATFORM = Video()
