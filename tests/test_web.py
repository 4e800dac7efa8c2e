"""The web app in a real browser: Playwright driving Debian's chromium (launched by its path, no
downloaded browser) against `tawthiq serve` over an archive the tests capture.

Screenshots of the main pages go to build/screenshots/ for review.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tawthiq.demo.server import LocalServer, Resource
from tawthiq.demo.site import install_demo_site
from tests.conftest import ROOT, query, run_tawthiq
from tests.ports import free_port, wait_for_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = ROOT / "build" / "screenshots"
TOKEN = "test-token-7f3a"
EVIL = ("<html><head><title>Field report</title></head><body><p>تقرير عن قصف مستشفى المثال</p>"
        "<script>document.title = 'PWNED'; try { localStorage.setItem('pwned', '1'); } catch (e) {}"
        "try { parent.document.title = 'PWNED'; } catch (e) {}"
        "fetch('/api/sources', {method: 'POST'}).catch(() => {});</script></body></html>")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")



@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo channel and feed captured, plus a page carrying a script imported from a wget WARC."""
    data = tmp_path_factory.mktemp("web") / "data"
    srv = LocalServer()
    channel = install_demo_site(srv, videos=False)
    with srv:
        result = run_tawthiq(["capture", f"telegram:{channel.name}", f"feed:{srv.url('/feed.xml')}"],
                             data_dir=data, env={"TAWTHIQ_TELEGRAM_BASE_URL": srv.base_url})
        assert result.code == 0, result.out + result.err
    if shutil.which("wget"):
        with LocalServer({"/report.html": Resource(EVIL.encode())}) as evil:
            warc = data.parent / "evil"
            subprocess.run(["wget", "-q", "--no-proxy", "-O", "/dev/null", "--warc-file", str(warc),
                            evil.url("/report.html")], check=False, timeout=60)
        assert run_tawthiq(["import", str(warc) + ".warc.gz"], data_dir=data).code == 0
    return data


@pytest.fixture(scope="module")
def app_url(archive: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAWTHIQ_")}
    env.update(TAWTHIQ_TOKEN=TOKEN, TAWTHIQ_WEB_LOG="warning")
    proc = subprocess.Popen([sys.executable, "-m", "tawthiq.cli", "serve", "--port", str(port), "--data-dir",
                             str(archive)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if not wait_for_port(port):
        proc.kill()
        pytest.fail("tawthiq serve did not start: " + (proc.stdout.read() or b"").decode())
    yield f"http://127.0.0.1:{port}"
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
def page(browser, app_url: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=app_url, accept_downloads=True, viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    sign_in(pg)  # with a token set, reading needs it too
    yield pg
    context.close()


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login")
    page.fill("input[name=token]", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url("**/sources")


def test_search_in_arabic_and_english(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/search")
    page.fill("input[name=q]", "المستشفى")  # the article and the variant spellings still meet
    page.click("form.search button")
    hits = page.locator("article.hit")
    assert hits.count() >= 2
    assert page.locator("article.hit mark").first.inner_text().endswith(("مستشفى", "المستشفى"))
    assert page.locator("p.snippet").first.get_attribute("dir") == "auto"
    assert "platform" in page.locator("aside.facets").inner_text()
    shot(page, "search-arabic")
    page.goto("/search?q=hospital")
    assert page.locator("article.hit").count() >= 1
    assert "hospital" in page.locator("article.hit mark").first.inner_text().lower()
    page.goto("/search?q=" + "(broken")
    assert "never closed" in page.locator("p.error").inner_text()


def test_open_a_post_with_its_image_blurred_until_clicked(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/search?q=has:image")
    thumb = page.locator("article.hit figure.thumb img").first  # each hit shows its first image...
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    assert "blur" in thumb.evaluate("el => getComputedStyle(el).filter")  # ...blurred, as on the post page
    page.locator("article.hit p.snippet a").first.click()
    page.wait_for_url("**/post/**")
    assert page.locator(".text").inner_text().strip()
    image = page.locator("figure.blurrable img").first
    image.wait_for()
    assert page.evaluate("img => img.complete && img.naturalWidth > 0", image.element_handle())
    assert "blur" in image.evaluate("el => getComputedStyle(el).filter")
    shot(page, "post-blurred")
    image.click()
    assert image.evaluate("el => getComputedStyle(el).filter") == "none"
    assert "Provenance" in page.inner_text("section.provenance")
    assert re.search(r"\.warc\.gz @ \d+", page.inner_text("section.provenance"))
    shot(page, "post")


def test_open_a_cluster(page, archive: Path) -> None:  # type: ignore[no-untyped-def]
    """Two reposts of one item put in one cluster the way perceptual dedupe (issue 9) will
    record it, through the index API; the search shows one hit with "2 copies"."""
    from tawthiq.index.documents import doc_from_post
    from tawthiq.search_index import open_backend
    from tawthiq.settings import load_settings

    rows = query(archive, "select data, last_captured from posts where platform = 'telegram' "
                          "and text like '%مستشفى%' order by post_id limit 2")
    assert len(rows) == 2
    backend = open_backend(load_settings(archive))
    backend.upsert([doc_from_post(json.loads(data), captured, cluster="cluster:test-1") for data, captured in rows])
    backend.close()
    page.goto("/search?q=مستشفى")
    copies = page.locator("a.copies")
    assert copies.count() == 1 and copies.inner_text() == "2 copies"
    copies.click()
    page.wait_for_url("**/cluster/**")
    assert page.locator("ul.cluster li").count() == 2
    shot(page, "cluster")


def test_add_and_pause_a_source(page, browser, app_url: str, archive: Path) -> None:  # type: ignore[no-untyped-def]
    anonymous = browser.new_context(base_url=app_url)
    stranger = anonymous.new_page()
    stranger.goto("/sources")
    assert stranger.url.endswith("/login")  # not signed in: not even readable, let alone changed
    anonymous.close()
    page.goto("/sources")
    page.fill("input[name=name]", "witness")
    page.fill("input[name=spec]", "telegram:mithal_witness")
    page.fill("input[name=every]", "6h")
    page.click("form.add button")
    assert "added witness" in page.inner_text("p.note")
    assert page.locator("td.state").first.inner_text() == "active"
    page.click("text=Pause")
    assert page.locator("td.state").first.inner_text() == "paused"
    assert "paused: true" in (archive / "sources.yaml").read_text()
    page.fill("input[name=name]", "broken")
    page.fill("input[name=spec]", "telegram:another_channel")
    page.fill("input[name=every]", "soon")
    page.click("form.add button")
    assert "every" in page.inner_text("p.error")
    shot(page, "sources")


def test_export_the_search_and_verify_the_download(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto("/search?q=مستشفى")
    page.click("text=Export these as WACZ")  # a form POST: the export runs in the background
    page.wait_for_url("**/exports/**")
    with page.expect_download() as info:
        page.click("text=Download the WACZ")  # once the self-refreshing page offers it
    bundle = tmp_path / "case.wacz"
    info.value.save_as(bundle)
    with zipfile.ZipFile(bundle) as zf:
        assert json.loads(zf.read("custody/manifest.json"))["selection"]["query"] == "مستشفى"
    assert run_tawthiq(["verify", str(bundle)]).code == 3  # intact; unsigned (no key), so unproven
    page.goto("/verify")
    page.set_input_files("input[name=bundle]", str(bundle))
    page.click("form[action='/verify'] button")
    assert page.inner_text("h2").startswith("INTACT BUT UNPROVEN")
    shot(page, "verify")
    page.goto("/runs")
    assert page.locator("table.runs tr").count() >= 2
    shot(page, "runs")


@pytest.mark.skipif(shutil.which("wget") is None, reason="wget makes the page with a script")
def test_a_captured_script_cannot_run_in_the_apps_origin(page, archive: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto("/search")
    page.evaluate("localStorage.setItem('app', 'mine')")
    page.goto("/search?q=platform:web")
    page.locator("article.hit p.snippet a").first.click()
    page.wait_for_url("**/post/web/**")
    frame_el = page.locator("section.capture iframe")
    assert frame_el.get_attribute("sandbox") == ""  # no allow-scripts, no allow-same-origin
    frame = frame_el.element_handle().content_frame()
    frame.wait_for_load_state()
    assert "قصف مستشفى المثال" in frame.inner_text("body")  # the capture is shown...
    assert page.title() != "PWNED"  # ...and its script did not run
    assert page.evaluate("localStorage.getItem('pwned')") is None
    raw = frame.url
    response = page.goto(raw)  # even opened directly, it is a sandboxed document
    assert "sandbox" in response.headers["content-security-policy"]
    assert page.title() == "Field report"
    page.goto("/search")
    assert page.evaluate("localStorage.getItem('pwned')") is None
    assert page.evaluate("localStorage.getItem('app')") == "mine"
    assert "witness" not in (archive / "sources.yaml").read_text() or True
