"""The archivist's credentials never reach an archive (issue 13, finding 8).

A unique cookie value is planted in a yt-dlp cookies file (`video_cookies_file`); the local
server checks that it was really sent, and then every byte of every WARC file (decompressed)
and of an export is searched for it. Set-Cookie sent by the server is evidence and stays.
"""

from __future__ import annotations

import gzip
import secrets
import shutil
import zipfile
from pathlib import Path

import pytest

from tawthiq.archivers.credentials import REDACTED, strip_info
from tawthiq.demo.server import Incoming, LocalServer, Resource
from tests.conftest import all_blocks, run_tawthiq, warc_files

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed (.ci/run installs it)")


def _all_bytes(path: Path) -> bytes:
    """A file's bytes, and for archives every member's, gzip members decompressed."""
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        return data + gzip.decompress(data)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            parts = [data]
            for name in zf.namelist():
                member = zf.read(name)
                parts.append(member)
                if name.endswith(".gz"):
                    parts.append(gzip.decompress(member))
            return b"".join(parts)
    return data


def _clip(tmp: Path) -> bytes:
    import subprocess

    out = tmp / "clip.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=duration=1:size=64x48:rate=10",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(out)], check=True)
    return out.read_bytes()


def _site(server: LocalServer, tmp: Path, seen: list[str]) -> None:
    clip = _clip(tmp)

    def watch(req: Incoming) -> Resource:
        seen.append(req.headers.get("Cookie", ""))
        return Resource(b'<!DOCTYPE html><html><head><title>Members-only video</title></head><body>'
                        b'<video controls><source src="/clip.mp4" type="video/mp4"></video></body></html>',
                        headers=[("Set-Cookie", "served_by_site=evidence-kept; Path=/")])

    def media(req: Incoming) -> Resource:
        seen.append(req.headers.get("Cookie", ""))
        return Resource(clip, content_type="video/mp4")

    server.routes["/watch.html"] = watch
    server.routes["/clip.mp4"] = media
    watch_url = server.url("/watch.html")
    server.routes["/feed.xml"] = Resource(
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Members</title>'
        f'<link>{server.url("/")}</link><description>d</description><item><title>Footage</title>'
        f'<link>{watch_url}</link><guid>v-1</guid><description>&lt;a href="{watch_url}"&gt;video&lt;/a&gt;'
        f'</description></item></channel></rss>'.encode(), content_type="application/rss+xml")


def _cookies_file(tmp: Path, value: str) -> Path:
    path = tmp / "cookies.txt"
    path.write_text("# Netscape HTTP Cookie File\n"
                    f"127.0.0.1\tFALSE\t/\tFALSE\t0\tsessionid\t{value}\n", encoding="utf-8")
    return path


def test_login_cookie_is_in_no_warc_byte_and_no_export_byte(server: LocalServer, data_dir: Path,
                                                            tmp_path: Path) -> None:
    planted = "tawthiq-planted-" + secrets.token_hex(12)
    seen: list[str] = []
    _site(server, tmp_path, seen)
    env = {"TAWTHIQ_VIDEO_COOKIES_FILE": str(_cookies_file(tmp_path, planted)),
           "TAWTHIQ_VIDEO_DOMAINS": '["127.0.0.1"]'}
    result = run_tawthiq(["capture", f"feed:{server.url('/feed.xml')}"], data_dir=data_dir, env=env)
    assert result.code == 0, result.out + result.err
    assert any(planted in cookie for cookie in seen), "the cookie was never sent: the test proves nothing"
    blocks = all_blocks(data_dir)
    assert any(h.get("WARC-Tawthiq-Kind") == "video-info" for h, _ in blocks), result.out  # yt-dlp ran
    warcs = warc_files(data_dir)
    assert warcs
    for path in warcs:
        leaked = planted.encode() in _all_bytes(path)
        assert not leaked, f"{path.name} holds the login cookie"
    # The server's own Set-Cookie is evidence: it stays.
    assert any(b"served_by_site=evidence-kept" in b for _, b in blocks)
    assert run_tawthiq(["keys", "create"], data_dir=data_dir).code == 0
    for fmt, name in (("wacz", "out.wacz"), ("warc", "out.warc.gz")):
        out = tmp_path / name
        exported = run_tawthiq(["export", "--format", fmt, "--source", server.url("/feed.xml"), "-o", str(out)],
                               data_dir=data_dir)
        assert exported.code == 0, exported.out + exported.err
        for path in out.parent.glob(out.name + "*"):
            leaked = planted.encode() in _all_bytes(path)
            assert not leaked, f"{path.name} holds the login cookie"


def test_strip_info_removes_cookies_and_credential_headers_everywhere() -> None:
    info = {"title": "t", "cookies": "sid=1", "http_headers": {"Cookie": "sid=1", "User-Agent": "ua",
                                                                "Authorization": "Bearer x"},
            "formats": [{"url": "u", "cookies": "sid=1", "http_headers": {"X-Session-Token": "s", "Accept": "*/*"}}]}
    assert strip_info(info) == {"title": "t", "http_headers": {"User-Agent": "ua"},
                                "formats": [{"url": "u", "http_headers": {"Accept": "*/*"}}]}
    assert REDACTED
