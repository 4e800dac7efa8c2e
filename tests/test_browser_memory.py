"""The browser's memory is bounded: a page that drives chromium past `browser_max_memory_mb` fails
with a reason, and the next page of the same capture is captured by a fresh browser."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tawthiq.crawlers.browser.proxy import ProxyError, find_mitmdump
from tawthiq.demo.server import LocalServer, Resource
from tests.conftest import query, run_tawthiq

try:
    find_mitmdump()
    HAVE_MITM = True
except ProxyError:
    HAVE_MITM = False

pytestmark = pytest.mark.skipif(shutil.which("chromium") is None or not HAVE_MITM,
                                reason="needs Debian's chromium and mitmproxy (.venv-mitm)")

# About 1.2 GB held by the page's script, touched so it is resident, a little at a time.
HOG = b"""<!doctype html><html><body><p>hog</p><script>
window.kept = [];
function more() { if (window.kept.length < 60) { window.kept.push(new Uint8Array(20e6).fill(7)); setTimeout(more, 20); } }
more();
</script></body></html>"""


def test_a_page_past_the_memory_limit_fails_and_the_next_is_captured(server: LocalServer, data_dir: Path) -> None:
    server.routes["/hog.html"] = Resource(HOG, content_type="text/html; charset=utf-8")
    server.routes["/fine.html"] = Resource(b"<html><head><title>Fine</title></head><body><p>memorysafeword here</p>"
                                           b"</body></html>", content_type="text/html; charset=utf-8")
    result = run_tawthiq(["capture", f"browser:{server.url('/hog.html')}", f"browser:{server.url('/fine.html')}",
                          "--set", "browser_max_memory_mb=700", "--set", "browser_pdf=false",
                          "--set", "browser_settle_seconds=3", "--set", "browser_scroll_max=1"], data_dir=data_dir)
    assert result.code == 1, result.out + result.err
    assert "more than browser_max_memory_mb = 700" in result.out
    assert "Traceback" not in result.out + result.err
    rows = query(data_dir, "select url from posts where platform = 'browser'")
    assert rows == [(server.url("/fine.html"),)]
