"""Video capture through yt-dlp's Python API, into the same archive as everything else.

- The media file yt-dlp produces (merged by ffmpeg where formats are split) becomes a
  `resource` record whose target URI is the media's source URL; thumbnails and subtitles too.
- yt-dlp's info JSON becomes a `metadata` record (`WARC-Refers-To` the media resource).
- The small HTTP exchanges yt-dlp makes to find the media (page, API JSON, manifests) are
  recorded as request/response pairs. yt-dlp's HTTP stack (urllib or requests) hands over
  parsed responses, not wire bytes: these records are rebuilt from the parsed status, the
  headers in received order and the body, and say so in `WARC-Tawthiq-Recorder`. Media
  bodies (video, audio, images, segments) are not recorded twice: the resource holds them.
- A video that is gone is a failure record carrying yt-dlp's message, next to the recorded
  HTTP exchange that showed it (the 404 page, the "unavailable" page).
"""

from __future__ import annotations

import io
from datetime import datetime, timezone
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tawthiq.errors import NotFound
from tawthiq.archivers.credentials import strip_info, strip_request_headers
from tawthiq.archivers.exchange import Exchange
from tawthiq.archivers.tailhash import KnownDigest, TailHasher

RECONSTRUCTED = "yt-dlp; rebuilt from parsed HTTP (status, headers in order, decoded body)"
_MEDIA_TYPES = ("video/", "audio/", "image/", "application/octet-stream", "binary/octet-stream",
                "application/mp4", "text/vtt", "application/x-subrip")
_MAX_RECORDED_BODY = 20_000_000


class VideoGone(NotFound):
    """yt-dlp could not get the video (removed, private, 404); the message is yt-dlp's."""


@dataclass
class VideoOptions:
    format: str = "bv*+ba/b"
    max_height: int | None = None
    max_filesize: int | None = None
    retries: int = 3
    rate_limit: int | None = None
    cookies_file: str | None = None
    time_limit: float | None = None
    socket_timeout: float = 30.0
    # Keep cookies and credential headers in the info JSON and recorded requests (default: strip).
    archive_credentials: bool = False
    # The capture's address policy for every URL yt-dlp fetches (crawlers/address_policy.py).
    refuse: Callable[[str], str | None] | None = None

    def ydl_params(self, workdir: Path, hooks: list[Callable[[dict], None]]) -> dict[str, Any]:
        fmt = self.format
        if self.max_height:
            h = self.max_height
            fmt = f"bv*[height<={h}]+ba/b[height<={h}]/wv*+ba/w"
        params: dict[str, Any] = {
            "format": fmt,
            "outtmpl": {"default": str(workdir / "%(id)s.%(format_id)s.%(ext)s")},
            "paths": {"home": str(workdir), "temp": str(workdir)},
            "retries": self.retries,
            "fragment_retries": self.retries,
            "socket_timeout": self.socket_timeout,
            "writethumbnail": True,
            "writesubtitles": True,
            "subtitleslangs": ["all"],
            "quiet": True,
            "no_warnings": True,
            "noprogress": True,
            "noplaylist": True,
            "progress_hooks": hooks,
            "logger": _SilentLogger(),
            # Ask for identity bodies so what yt-dlp hands back is what the server sent.
            "http_headers": {"Accept-Encoding": "identity"},
            "overwrites": True,
        }
        if self.max_filesize:
            params["max_filesize"] = self.max_filesize
        if self.rate_limit:
            params["ratelimit"] = self.rate_limit
        if self.cookies_file:
            params["cookiefile"] = self.cookies_file
        return params


class _SilentLogger:
    """yt-dlp prints errors even when quiet; ours are recorded as failures instead."""

    def debug(self, msg: str) -> None:
        pass

    info = warning = error = debug


@dataclass
class RecordedHTTP:
    exchange: Exchange
    final_url: str


def _is_media(content_type: str | None) -> bool:
    return bool(content_type) and (content_type or "").split(";")[0].strip().lower().startswith(_MEDIA_TYPES)


def _raw_request(method: str, url: str, headers: dict[str, str], body: bytes | None) -> bytes:
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() != "host"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace") + (body or b"")


def _raw_response(response: Any, body: bytes) -> bytes:
    version = getattr(getattr(response, "fp", None), "version", 11)
    proto = "HTTP/1.0" if version == 10 else "HTTP/1.1"
    lines = [f"{proto} {response.status} {response.reason or ''}".rstrip()]
    chunked = False
    for name, value in response.headers.items():
        lower = name.lower()
        if lower == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
        if lower == "content-encoding" and value.strip().lower() not in ("identity", ""):
            # yt-dlp's HTTP stack decoded the body; the header must not claim otherwise.
            name = "X-Tawthiq-Orig-Content-Encoding"
        lines.append(f"{name}: {value}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
    if chunked:
        # The stack removed the chunk framing; frame the body as one chunk so the shared
        # parser removes it again and rewrites the headers exactly as for wire captures.
        return head + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
    return head + body


def recording_ydl_class() -> type:
    import yt_dlp
    from yt_dlp.networking.exceptions import HTTPError

    class RecordingYoutubeDL(yt_dlp.YoutubeDL):
        """YoutubeDL whose every non-media HTTP response is handed to `on_http` once read."""

        on_http: Callable[[RecordedHTTP], None] | None = None
        keep_credentials: bool = False
        # Why a URL may not be fetched (the capture's address policy), or None.
        refuse: Callable[[str], str | None] | None = None

        def urlopen(self, req: Any) -> Any:  # noqa: D401 - yt-dlp's name
            from yt_dlp.networking.common import Request

            if isinstance(req, str):
                req = Request(req)
            reason = self.refuse(req.url) if self.refuse is not None else None
            if reason is not None:
                raise yt_dlp.utils.DownloadError(f"{req.url}: {reason}")
            started = datetime.now(timezone.utc)
            try:
                response = super().urlopen(req)
            except HTTPError as err:
                self._tee(req, err.response, started, whole=True)
                raise
            if not _is_media(response.headers.get("Content-Type")):
                self._tee(req, response, started, whole=False)
            return response

        def _tee(self, req: Any, response: Any, started: Any, *, whole: bool) -> None:
            if response is None or self.on_http is None:
                return
            chunks: list[bytes] = []
            size = 0
            done = False
            original_read = response.read

            def finish() -> None:
                nonlocal done
                if done:
                    return
                done = True
                body = b"".join(chunks)
                sent = dict(req.headers)
                if not self.keep_credentials:
                    sent = strip_request_headers(sent)
                exchange = Exchange(
                    uri=response.url or req.url, method=req.method or "GET",
                    raw_request=_raw_request(req.method or "GET", response.url or req.url,
                                             sent, req.data if isinstance(req.data, bytes) else None),
                    raw_response=_raw_response(response, body), ip=None, started=started,
                    truncated="length" if size > _MAX_RECORDED_BODY else None,
                    extra_headers=[("WARC-Tawthiq-Recorder", RECONSTRUCTED)],
                )
                self.on_http(RecordedHTTP(exchange, response.url or req.url))  # type: ignore[misc]

            reading = False

            def read(amt: int | None = None) -> bytes:
                nonlocal size, reading
                reading = True  # the adapter closes itself inside read() at EOF
                try:
                    data = original_read(amt)
                finally:
                    reading = False
                if not done:
                    size += len(data)
                    if size <= _MAX_RECORDED_BODY:
                        chunks.append(data)
                    if amt is None or not data:
                        finish()
                return data

            if whole:
                data = original_read()
                chunks.append(data)
                size = len(data)
                buffer = io.BytesIO(data)
                response.read = lambda amt=None: buffer.read(amt) if amt is not None else buffer.read()
                finish()
            else:
                response.read = read
                original_close = response.close

                def close() -> None:
                    if not reading:
                        finish()
                    original_close()

                response.close = close

    return RecordingYoutubeDL


@dataclass
class VideoResult:
    url: str
    info: dict[str, Any]
    files: list[tuple[str, Path, str]] = field(default_factory=list)  # (role, path, source url)
    workdir: Path | None = None
    # Digests taken while yt-dlp wrote the files, for those unchanged since (see tailhash).
    known: dict[Path, KnownDigest] = field(default_factory=dict)
    hashed_bytes: int = 0  # bytes the tail hash read: each file's size when followed once

    def cleanup(self) -> None:
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


def download(url: str, options: VideoOptions, on_http: Callable[[RecordedHTTP], None],
             tmp_root: Path | None = None) -> VideoResult:
    """Run yt-dlp for one URL; files land in a private temporary folder the caller archives."""
    import yt_dlp

    workdir = Path(tempfile.mkdtemp(prefix="tawthiq-video-", dir=tmp_root))
    deadline = time.monotonic() + options.time_limit if options.time_limit else None

    def hook(status: dict) -> None:
        if deadline is not None and time.monotonic() > deadline:
            raise yt_dlp.utils.DownloadError(f"time limit of {options.time_limit:g}s reached")

    tail = TailHasher()
    cls = recording_ydl_class()
    try:
        with cls(options.ydl_params(workdir, [hook, tail.hook])) as ydl:
            ydl.on_http = on_http
            ydl.keep_credentials = options.archive_credentials
            ydl.refuse = options.refuse
            info = ydl.extract_info(url, download=True)
            info = ydl.sanitize_info(info)
    except yt_dlp.utils.DownloadError as exc:
        tail.close()
        shutil.rmtree(workdir, ignore_errors=True)
        message = str(exc).removeprefix("ERROR: ").strip()
        raise VideoGone(message) from None
    except BaseException:
        tail.close()
        shutil.rmtree(workdir, ignore_errors=True)  # interrupted: leave no partial download behind
        raise
    tail.close()
    result = VideoResult(url=url, info=info, workdir=workdir, hashed_bytes=tail.bytes_read())
    for item in info.get("requested_downloads") or []:
        path = item.get("filepath")
        if path and Path(path).exists():
            source = item.get("url") or info.get("url") or url
            if item.get("requested_formats"):
                source = info.get("webpage_url") or url
            result.files.append(("media", Path(path), source))
            known = tail.digest_of(Path(path))
            if known is not None:
                result.known[Path(path)] = known
    for thumb in info.get("thumbnails") or []:
        path = thumb.get("filepath")
        if path and Path(path).exists():
            result.files.append(("thumbnail", Path(path), thumb.get("url") or url))
    for lang, sub in (info.get("requested_subtitles") or {}).items():
        path = sub.get("filepath")
        if path and Path(path).exists():
            result.files.append((f"subtitle:{lang}", Path(path), sub.get("url") or url))
    if not any(role == "media" for role, _, _ in result.files):
        result.cleanup()
        raise VideoGone("yt-dlp finished without a media file (over the size limit, or no format matched)")
    if not options.archive_credentials:
        result.info = strip_info(result.info)  # the info JSON is archived; the login is not evidence
    return result
