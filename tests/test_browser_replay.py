"""A page captured in the browser, replayed faithfully and kept away from the app.

One capture (module fixture): a page on 127.0.0.1 whose text and image only appear after its
script fetches them, and whose other script is hostile: it reads `document.cookie`, calls `/api`
relative to itself and on the app's own address with credentials, and pokes at its parent, and
writes what it got into its own page. Then `tawthiq serve` (a token set, so reading needs the
session cookie) with the replay listener under another host name (localhost, the app being on
127.0.0.1), and Debian's chromium through Playwright:
- the post page links to ReplayWeb.page on the replay origin (and frames it when app and replay
  are one site, app.example.org and replay.example.org), and the replayed page shows the JS-loaded
  text and image from the archive; its hostile script ran there and got neither the app's cookies
  (even one scripts may read) nor an answer from the app's API;
- the post page shows the screenshot, and search results its thumbnail, blurred until clicked;
- the post's export replays in pywb, in the browser, with the JS-loaded text visible.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from tawthiq.demo.server import LocalServer, Resource
from tests.conftest import ROOT, run_tawthiq
from tests.ports import free_port, wait_for_port
from tests.test_export import needs_pywb, pywb_replaying
from tests.test_web import CHROMIUM

MITMDUMP = ROOT / ".venv-mitm" / "bin" / "mitmdump"
VIEWER = ROOT / "build" / "replaywebpage" / "package"
TOKEN = "replay-token-51c2"
MARKER = "نص يظهر بعد الجلب فقط JSLOADED-4417"
SOURCE_NAME = "witness-src-93"  # what /api/sources would answer with, were it reached

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"),
    pytest.mark.skipif(not MITMDUMP.exists(), reason="mitmproxy not installed (make test installs .venv-mitm)"),
]
needs_viewer = pytest.mark.skipif(not (VIEWER / "ui.js").exists(),
                                  reason="ReplayWeb.page not fetched: `make test` unpacks it into build/replaywebpage")

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Bulletin</title>
<link rel="stylesheet" href="/style.css"></head>
<body><h1>Bulletin</h1><div id="posts"></div><ul id="probe"></ul>
<script>
fetch('/feed.json').then(r => r.json()).then(d => {
  const p = document.createElement('p'); p.className = 'loaded'; p.textContent = d.text;
  const img = document.createElement('img'); img.src = d.img; img.className = 'loaded';
  document.getElementById('posts').append(p, img);
});
</script>
<script>
// Hostile: what may a replayed script take from the app that shows it?
const report = (k, v) => { const li = document.createElement('li'); li.dataset.k = k;
  li.textContent = String(v).slice(0, 300); document.getElementById('probe').appendChild(li); };
report('cookie', document.cookie || '(none)');
const ask = (k, url) => fetch(url, {credentials: 'include'})
  .then(r => r.text().then(t => report(k, r.status + ' ' + t)), e => report(k, 'failed ' + e));
ask('api-relative', '/api/sources');
ask('api-app', 'APP_ORIGIN/api/sources');
try { report('parent', parent.document.cookie); } catch (e) { report('parent', 'blocked ' + e.name); }
</script></body></html>"""


@dataclass
class Served:
    app: str
    replay: str
    page_url: str
    data: Path


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("breplay") / "data"
    app_port, replay_port = free_port(), free_port()
    app = f"http://127.0.0.1:{app_port}"
    site = LocalServer({
        "/page.html": Resource(PAGE.replace("APP_ORIGIN", app).encode(), content_type="text/html; charset=utf-8"),
        "/style.css": Resource(b"h1 { color: rgb(160, 20, 20); }", content_type="text/css"),
        "/feed.json": Resource(json.dumps({"text": MARKER, "img": "/photo.png"}).encode(),
                               content_type="application/json"),
        "/photo.png": Resource(_png(), content_type="image/png"),
    })
    with site:
        page_url = site.url("/page.html")
        result = run_tawthiq(["capture", f"browser:{page_url}"], data_dir=data)
        assert result.code == 0, result.out + result.err
        assert "/feed.json" in site.served and "/photo.png" in site.served
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAWTHIQ_")}
    env.update(TAWTHIQ_TOKEN=TOKEN, TAWTHIQ_WEB_LOG="warning", TAWTHIQ_REPLAY_ORIGIN=f"http://localhost:{replay_port}")
    proc = subprocess.Popen([sys.executable, "-m", "tawthiq.cli", "serve", "--port", str(app_port), "--data-dir",
                             str(data)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        if not (wait_for_port(app_port) and wait_for_port(replay_port)):
            proc.kill()
            pytest.fail("tawthiq serve did not start: " + (proc.stdout.read() or b"").decode())  # type: ignore[union-attr]
        added = urllib.request.Request(app + "/api/sources", method="POST", headers={
            "Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
            data=json.dumps({"name": SOURCE_NAME, "spec": "telegram:mithal_witness", "every": "6h"}).encode())
        assert urllib.request.urlopen(added, timeout=30).status == 201
        yield Served(app, f"http://localhost:{replay_port}", page_url, data)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser, served: Served):  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=served.app, viewport={"width": 1200, "height": 900})
    # A cookie of the app's origin that scripts could read (the session cookie is HttpOnly).
    context.add_cookies([{"name": "app_probe", "value": "readable-by-app-scripts", "url": served.app}])
    pg = context.new_page()
    pg.goto("/login")
    pg.fill("input[name=token]", TOKEN)
    pg.click("button[type=submit]")
    pg.wait_for_url("**/sources")
    yield pg
    context.close()


def _frames_until(page, predicate: str, timeout: float = 60) -> tuple[object | None, str]:  # type: ignore[no-untyped-def]
    """The first frame in which the JS `predicate` holds, polling every frame; and all their text."""
    from playwright.sync_api import Error

    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        texts = []
        for frame in page.frames:
            try:
                if frame.evaluate(predicate):
                    return frame, ""
                texts.append(frame.evaluate("() => document.body ? document.body.innerText : ''"))
            except Error:
                continue  # a frame navigating away
        seen = "\n".join(texts)
        time.sleep(0.5)
    return None, seen


def _post_path(served: Served) -> str:
    return f"/post/browser/{quote(served.page_url, safe='')}"


DONE = ("() => document.querySelectorAll('#probe li').length >= 4 && "
        "!!document.querySelector('p.loaded') && document.querySelector('img.loaded')?.complete")


def check_replayed(pg, app: str) -> None:  # type: ignore[no-untyped-def]
    """The replayed page (in some frame of `pg`) shows what its scripts fetched, from the archive,
    and its hostile script got nothing of the app at `app`."""
    frame, seen = _frames_until(pg, DONE)
    assert frame is not None, f"the replay never showed the page; frames said: {seen[:800]!r}"
    assert MARKER in frame.inner_text("p.loaded")  # text the page's script fetched, from the archive
    assert frame.evaluate("() => document.querySelector('img.loaded').naturalWidth") == 64
    assert frame.evaluate("() => getComputedStyle(document.querySelector('h1')).color") == "rgb(160, 20, 20)"
    assert frame.evaluate("() => location.origin") != app
    probe = dict(frame.evaluate("() => [...document.querySelectorAll('#probe li')].map(li => "
                                "[li.dataset.k, li.textContent])"))
    for secret in ("readable-by-app-scripts", "tawthiq_session"):
        assert secret not in probe["cookie"] and secret not in probe["parent"], probe
    assert SOURCE_NAME not in probe["api-relative"] and SOURCE_NAME not in probe["api-app"], probe


@needs_viewer
def test_the_replay_runs_the_page_from_the_archive_and_cannot_reach_the_app(page, served: Served) -> None:  # type: ignore[no-untyped-def]
    page.goto(_post_path(served))
    link = page.locator("a.open-replay")
    href = link.get_attribute("href") or ""
    assert href.startswith(served.replay + "/view/"), href  # another host name than the app's
    # 127.0.0.1 and localhost are two sites: the browser would refuse a framed replay its service
    # worker (third-party storage), so the replay opens as a page of its own
    assert page.locator("iframe.replay").count() == 0
    with page.context.expect_page() as opened:
        link.click()
    replay = opened.value
    assert replay.evaluate("() => window.opener") is None  # noopener: no handle back to the app's page
    check_replayed(replay, served.app)
    # the reader's own session is untouched, and the API still answers the app itself
    assert SOURCE_NAME in page.evaluate("() => fetch('/api/sources').then(r => r.text())")
    # the replay origin serves nothing of the app, and its links need the ticket
    for path in ("/api/sources", "/search", "/view/browser/x?t=1.bad",
                 "/wacz/browser/" + quote(served.page_url, safe="") + ".wacz?t=1.bad"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(served.replay + path, timeout=30)
        assert refused.value.code in (403, 404)


@needs_viewer
def test_one_site_two_hosts_the_replay_is_framed_on_the_post_page(browser, served: Served) -> None:  # type: ignore[no-untyped-def]
    """app.example.org and replay.example.org (resolved to 127.0.0.1 by the browser; both origins
    treated as the https they would be: a frame is a secure context only under a secure page): one site, so the post page frames the replay, and
    the framed page still gets nothing of the app's."""
    app_port, replay_port = free_port(), free_port()
    app, replay_origin = f"http://app.example.org:{app_port}", f"http://replay.example.org:{replay_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAWTHIQ_")}
    env.update(TAWTHIQ_TOKEN=TOKEN, TAWTHIQ_WEB_LOG="warning", TAWTHIQ_REPLAY_ORIGIN=replay_origin)
    proc = subprocess.Popen([sys.executable, "-m", "tawthiq.cli", "serve", "--port", str(app_port), "--data-dir",
                             str(served.data)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for_port(app_port) and wait_for_port(replay_port), "tawthiq serve did not start"
        # a browser of its own (the module's, for its launch flags), from the same Playwright
        mapped = browser.browser_type.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--host-resolver-rules=MAP *.example.org 127.0.0.1",
            f"--unsafely-treat-insecure-origin-as-secure={replay_origin},{app}"])
        try:
            context = mapped.new_context(base_url=app, viewport={"width": 1200, "height": 900})
            context.add_cookies([{"name": "app_probe", "value": "readable-by-app-scripts", "url": app}])
            pg = context.new_page()
            pg.goto("/login")
            pg.fill("input[name=token]", TOKEN)
            pg.click("button[type=submit]")
            pg.wait_for_url("**/sources")
            response = pg.goto(_post_path(served))
            assert replay_origin in response.headers["content-security-policy"]  # may frame it, nothing else
            frame_el = pg.locator("section.replay iframe.replay")
            assert (frame_el.get_attribute("src") or "").startswith(replay_origin + "/view/")
            assert "allow-top-navigation" not in (frame_el.get_attribute("sandbox") or "")
            check_replayed(pg, app)
        finally:
            mapped.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)


def test_the_screenshot_is_on_the_post_page_and_in_search_results_blurred(page, served: Served) -> None:  # type: ignore[no-untyped-def]
    page.goto(_post_path(served))
    shot = page.locator("figure.screenshot img")
    shot.wait_for()
    assert page.evaluate("img => img.complete && img.naturalWidth > 0", shot.element_handle())
    assert "blur" in shot.evaluate("el => getComputedStyle(el).filter")
    page.goto("/search?q=" + quote("JSLOADED-4417"))
    thumb = page.locator("article.hit figure.thumb.screenshot img")
    thumb.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    assert "blur" in thumb.evaluate("el => getComputedStyle(el).filter")
    thumb.click()  # revealed on click, as on the post page
    assert thumb.evaluate("el => getComputedStyle(el).filter") == "none"
    assert thumb.evaluate("el => el.getBoundingClientRect().height") <= 100  # a thumbnail, not the page


@needs_pywb
def test_the_export_replays_in_pywb_with_the_js_loaded_text(browser, served: Served, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "case.wacz"
    exported = run_tawthiq(["export", "--source", f"browser:{served.page_url}", "-o", str(out)], data_dir=served.data)
    assert exported.code == 0, exported.out + exported.err
    with pywb_replaying(out, tmp_path) as base:
        context = browser.new_context()
        try:
            pg = context.new_page()
            pg.goto(base.replace("id_/", "/") + served.page_url)  # framed replay, with pywb's rewriting
            frame, seen = _frames_until(pg, "() => !!document.querySelector('p.loaded')", timeout=60)
            assert frame is not None, f"pywb did not run the page's script; frames said: {seen[:800]!r}"
            assert MARKER in frame.inner_text("p.loaded")
            assert frame.is_visible("p.loaded")
        finally:
            context.close()
