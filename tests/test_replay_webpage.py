"""A real capture's WACZ export opens in ReplayWeb.page, the viewer archives and courts are pointed to.

ReplayWeb.page (the npm package `replaywebpage`, fetched by `make test` into build/replaywebpage)
runs in Debian's chromium driven by Playwright: its <replay-web-page> element on a page served from
127.0.0.1, its service worker from the same origin, the bundle read with HTTP range requests as a
viewer on the web reads it. It reads zip entries through the central directory, so a bundle whose
local headers disagree with it (the old force_zip64 writer) shows "Archived Page Not Found" here
while pywb and `wacz validate` accept it.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import ROOT, Demo, run_tawthiq

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PACKAGE = ROOT / "build" / "replaywebpage" / "package"  # `npm pack replaywebpage`, unpacked by the Makefile
POST_TEXT = "استشهد الشاب سامر المثالي"

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"),
    pytest.mark.skipif(not (PACKAGE / "ui.js").exists() or not (PACKAGE / "sw.js").exists(),
                       reason="ReplayWeb.page not fetched: `make test` unpacks the npm package into "
                              "build/replaywebpage (needs npm)"),
]

EMBED = """<!doctype html>
<html><head><meta charset="utf-8"><script src="/ui.js"></script></head>
<body><replay-web-page style="height: 800px; display: block" source="/case.wacz" url="{url}"
 replayBase="/replay/" embed="replayonly"></replay-web-page></body></html>"""


class _Site(ThreadingHTTPServer):
    daemon_threads = True
    files: dict[str, tuple[Path | bytes, str]]


class _Handler(BaseHTTPRequestHandler):
    """Static files with the Range support ReplayWeb.page uses to read a WACZ in pieces."""

    server: _Site

    def log_message(self, *args: object) -> None:
        pass

    def _serve(self, body_wanted: bool) -> None:
        entry = self.server.files.get(self.path.split("?")[0])
        if entry is None:
            self.send_error(404)
            return
        source, ctype = entry
        data = source if isinstance(source, bytes) else source.read_bytes()
        start, end, status = 0, len(data) - 1, 200
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", ""))
        if match and data:
            if match.group(1):
                start = int(match.group(1))
                end = min(int(match.group(2)), end) if match.group(2) else end
            else:
                start = max(0, len(data) - int(match.group(2)))
            status = 206
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.end_headers()
        if body_wanted:
            self.wfile.write(data[start : end + 1])

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self._serve(True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(False)


@pytest.fixture
def viewer_site(tmp_path: Path) -> Iterator[tuple[str, dict[str, tuple[Path | bytes, str]]]]:
    files: dict[str, tuple[Path | bytes, str]] = {
        "/ui.js": (PACKAGE / "ui.js", "application/javascript"),
        "/replay/sw.js": (PACKAGE / "sw.js", "application/javascript"),
    }
    site = _Site(("127.0.0.1", 0), _Handler)
    site.files = files
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{site.server_address[1]}", files
    finally:
        site.shutdown()
        site.server_close()


_AVATARS = """() => [...document.images].filter(i => i.src.includes('/file/channel.jpg'))
                                   .map(i => i.complete && i.naturalWidth > 0)"""


def replayed_text(url: str, page_url: str, timeout: float = 90) -> tuple[str, list[bool]]:
    """Open the embed page and collect the text of every frame until the post shows or time runs
    out; also whether each avatar image (a page requisite) in the replayed page was drawn."""
    from playwright.sync_api import Error, sync_playwright

    seen = ""
    avatars: list[bool] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
            page.goto(url)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                texts = []
                for frame in page.frames:
                    try:
                        texts.append(frame.evaluate("() => document.body ? document.body.innerText : ''"))
                    except Error:
                        continue  # a frame navigating away
                seen = "\n".join(texts)
                if POST_TEXT in seen or "Not Found" in seen:
                    break
                time.sleep(1)
            if POST_TEXT in seen:
                time.sleep(2)  # let the replayed page's images load
                for frame in page.frames:
                    try:
                        avatars += frame.evaluate(_AVATARS)
                    except Error:
                        continue
        finally:
            browser.close()
    return seen, avatars


def test_replaywebpage_shows_the_archived_channel_page(demo: Demo, data_dir: Path, tmp_path: Path,
                                                       viewer_site) -> None:  # type: ignore[no-untyped-def]
    result = run_tawthiq(["capture", f"telegram:{demo.channel.name}"], data_dir=data_dir, env=demo.env)
    assert result.code == 0, result.out + result.err
    out = tmp_path / "case.wacz"
    exported = run_tawthiq(["export", "-o", str(out), "--source", demo.channel.name], data_dir=data_dir)
    assert exported.code == 0, exported.out + exported.err
    base, files = viewer_site
    with zipfile.ZipFile(out) as zf:  # the page the bundle lists for the post, as a viewer offers it
        listed = [json.loads(line) for line in zf.read("pages/pages.jsonl").decode().splitlines()[1:]]
    page_url = next(p["url"] for p in listed if POST_TEXT in p["text"])
    files["/case.wacz"] = (out, "application/wacz")
    files["/"] = (EMBED.format(url=page_url).encode(), "text/html; charset=utf-8")
    live_requests = len(demo.server.requests)
    text, avatars = replayed_text(base + "/", page_url)
    assert POST_TEXT in text, f"ReplayWeb.page did not show the post; frames said: {text[:600]!r}"
    assert avatars and all(avatars), avatars  # the channel's avatar, a requisite, replays too
    assert len(demo.server.requests) == live_requests  # replayed from the bundle, nothing fetched live
