"""The yt-dlp fetcher: video pages and files (`video:URL`, and the video links spiders hand over).

A thin driver: yt-dlp itself, the recording of its HTTP exchanges and the collection of its
output files live in tawthiq/archivers/ytdlp.py; this module turns one `FetchJob` into the
records the archive keeps of a video: each HTTP exchange yt-dlp made, the media file (plus
thumbnails and subtitles, `WARC-Concurrent-To` the media), yt-dlp's info JSON as a `video-info`
metadata record, and a media document per file pointing at that info record. A video that is
gone is a failure record next to the exchange that showed it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from tawthiq.archivers.media import StoredMedia
from tawthiq.archivers.ytdlp import RecordedHTTP, VideoGone, VideoOptions, VideoResult, download
from tawthiq.crawlers.address_policy import refused_url
from tawthiq.crawlers.fetchers.base import FetchContext
from tawthiq.crawlers.platforms.base import FetchJob


def video_options(settings: Any) -> VideoOptions:
    """yt-dlp's options from the capture's settings (`video_*`, credentials, address policy)."""
    s = settings
    return VideoOptions(
        max_height=s.video_max_height or None, max_filesize=s.video_max_filesize or None,
        retries=s.video_retries, rate_limit=s.video_rate_limit or None,
        cookies_file=s.video_cookies_file or None, time_limit=s.video_time_limit or None,
        archive_credentials=s.archive_credentials,
        refuse=None if s.allow_private_targets else refused_url,
    )


class YtDlp:
    name: ClassVar[str] = "ytdlp"
    kind: ClassVar[str] = "video"

    def close(self) -> None:
        """yt-dlp keeps nothing between jobs."""

    def fetch(self, job: FetchJob, context: FetchContext) -> None:
        last_page: list[str] = []

        def on_http(recorded: RecordedHTTP) -> None:
            archived = context.exchange(recorded.exchange)
            last_page.append(archived.response.pending.record_id)

        try:
            result = download(job.url, video_options(context.settings), on_http, tmp_root=context.settings.home)
        except VideoGone as exc:
            context.failed(job.url, f"video not captured: {exc}", refers_to=last_page[-1] if last_page else None)
            return
        try:
            self._store(job, result, context)
        finally:
            # the records on disk before the files go: OCR workers still reading a file whose path
            # is gone read its WARC record instead (tawthiq.listeners.ocr)
            context.flush()
            result.cleanup()

    def _store(self, job: FetchJob, result: VideoResult, context: FetchContext) -> None:
        info = result.info
        page_url = info.get("webpage_url") or job.url
        stored_main: StoredMedia | None = None
        stored_files: list[tuple[str, str, StoredMedia, Path]] = []
        for role, path, source in result.files:
            stored = context.store_file(
                path, source, role=role, concurrent_to=stored_main.record.pending.record_id if stored_main else None,
                known=result.known.get(path))
            if role == "media":
                stored_main = stored
                context.tally("videos")
            stored_files.append((role, source, stored, path))
        assert stored_main is not None  # download() raises VideoGone without a media file
        info_record = context.metadata(
            page_url, {"type": "video-info", "url": job.url, "extractor": info.get("extractor"), "info": info},
            kind="video-info", refers_to=stored_main.record.pending.record_id,
        )
        for role, source, stored, path in stored_files:
            context.media_stored(stored, path, role=role, source_url=source, page_url=page_url,
                                 post_url=job.post_url, extra={"info_record_id": info_record.pending.record_id})


FETCHER = YtDlp()
