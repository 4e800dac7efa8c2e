"""The browser's memory is bounded: a page that drives chromium past `browser_max_memory_mb` fails
with a reason, and the next page of the same capture is captured by a fresh browser."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from PIL import Image

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

# Up to 3 GB held by the page's script, touched so it is resident, a little at a time.
HOG = b"""<!doctype html><html><body><p>hog</p><script>
window.kept = [];
function more() { if (window.kept.length < 150) { window.kept.push(new Uint8Array(20e6).fill(7)); setTimeout(more, 20); } }
more();
</script></body></html>"""


def test_a_page_past_the_memory_limit_fails_and_the_next_is_captured(server: LocalServer, data_dir: Path) -> None:
    server.routes["/hog.html"] = Resource(HOG, content_type="text/html; charset=utf-8")
    server.routes["/fine.html"] = Resource(b"<html><head><title>Fine</title></head><body><p>memorysafeword here</p>"
                                           b"</body></html>", content_type="text/html; charset=utf-8")
    result = run_tawthiq(["capture", f"browser:{server.url('/hog.html')}", f"browser:{server.url('/fine.html')}",
                          "--set", "browser_max_memory_mb=600", "--set", "browser_pdf=false",
                          "--set", "browser_settle_seconds=3", "--set", "browser_scroll_max=1"], data_dir=data_dir)
    assert result.code == 1, result.out + result.err
    assert "more than browser_max_memory_mb = 600" in result.out
    assert "Traceback" not in result.out + result.err
    rows = query(data_dir, "select url from posts where platform = 'browser'")
    assert rows == [(server.url("/fine.html"),)]


SPIN = b"""<!doctype html><html><body><p>spinner</p><script>
window.addEventListener('load', () => setTimeout(() => { for (;;) {} }, 300));
</script></body></html>"""

POPUP = b"""<!doctype html><html><body><p>opener</p><script>window.open('/beacon.html');</script></body></html>"""
BEACON = b"""<!doctype html><html><body><script>
setInterval(() => { new Image().src = '/beacon.png?n=' + Date.now(); }, 200);
</script></body></html>"""


def test_a_page_that_never_yields_is_stopped_and_its_popups_do_not_outlive_it(server: LocalServer,
                                                                              data_dir: Path) -> None:
    server.routes["/spin.html"] = Resource(SPIN, content_type="text/html; charset=utf-8")
    server.routes["/opener.html"] = Resource(POPUP, content_type="text/html; charset=utf-8")
    server.routes["/beacon.html"] = Resource(BEACON, content_type="text/html; charset=utf-8")
    pixel = io.BytesIO()
    Image.new("RGB", (8, 8), (9, 99, 199)).save(pixel, "PNG")
    server.routes["/beacon.png"] = Resource(pixel.getvalue(), content_type="image/png")
    server.routes["/after.html"] = Resource(b"<html><head><title>After</title></head><body><p>afterword</p>"
                                            b"</body></html>", content_type="text/html; charset=utf-8")
    result = run_tawthiq(["capture", f"browser:{server.url('/spin.html')}", f"browser:{server.url('/opener.html')}",
                          f"browser:{server.url('/after.html')}#part", "--set", "browser_page_seconds=12",
                          "--set", "browser_pdf=false", "--set", "browser_settle_seconds=2",
                          "--set", "browser_scroll_max=1"], data_dir=data_dir, timeout=150)
    assert "more than browser_page_seconds = 12 s" in result.out, result.out + result.err
    posts = dict(query(data_dir, "select url, id from posts where platform = 'browser'"))
    assert server.url("/after.html") in posts and server.url("/opener.html") in posts  # the fragment found its page
    # The popup's beacons stopped with its opener: none is filed under the page captured after it.
    rows = query(data_dir, "select source_url, post_url from media where source_url like '%beacon.png%'")
    assert rows and all(post_url != server.url("/after.html") for _, post_url in rows)
