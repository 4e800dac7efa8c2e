"""`browser_domains`: a link to such a host, found on a captured page, is captured in the browser
(behind the recording proxy, its script-made text searchable), not by Scrapy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tawthiq.crawlers.browser.proxy import ProxyError, find_mitmdump
from tawthiq.demo.server import LocalServer, Resource
from tests.conftest import all_blocks, query, run_tawthiq

try:
    find_mitmdump()
    HAVE_MITM = True
except ProxyError:
    HAVE_MITM = False

pytestmark = pytest.mark.skipif(shutil.which("chromium") is None or not HAVE_MITM,
                                reason="needs Debian's chromium and mitmproxy (.venv-mitm)")

APP = b"""<!doctype html><html><head><meta charset="utf-8"><title>Timeline shell</title></head>
<body><main id="app"></main><script>
fetch('/api/items.json').then(r => r.json()).then(items => {
  document.getElementById('app').innerHTML = items.map(i => '<article><p>' + i + '</p></article>').join('');
});</script></body></html>"""


def test_a_link_to_a_browser_domain_is_captured_in_the_browser(server: LocalServer, data_dir: Path) -> None:
    # The seed is served on 127.0.0.1; the linked app on "localhost" (the same server, another host name).
    app_url = server.url("/app.html").replace("127.0.0.1", "localhost")
    server.routes["/index.html"] = Resource(
        f'<html><body><h1>Index</h1><a href="{app_url}">the app</a></body></html>'.encode(),
        content_type="text/html; charset=utf-8")
    server.routes["/app.html"] = Resource(APP, content_type="text/html; charset=utf-8")
    server.routes["/api/items.json"] = Resource(
        json.dumps(["نص كتبه السكربت وحده", "scriptonlyword appears after fetch"]).encode(),
        content_type="application/json")
    env = {"TAWTHIQ_BROWSER_DOMAINS": '["localhost"]', "TAWTHIQ_ALLOW_PRIVATE_TARGETS": "true"}
    result = run_tawthiq(["capture", server.url("/index.html"), "--set", "browser_pdf=false",
                          "--set", "browser_scroll_max=1"], data_dir=data_dir, env=env)
    assert result.code == 0, result.out + result.err
    blocks = all_blocks(data_dir)
    app_records = [h for h, _ in blocks if h.get("WARC-Target-URI") == app_url and h["WARC-Type"] == "response"]
    assert len(app_records) == 1  # once, by the browser: Scrapy did not follow it
    assert app_records[0]["WARC-Tawthiq-Recorder"].startswith("mitmproxy")
    api = app_url.replace("/app.html", "/api/items.json")
    assert any(h.get("WARC-Target-URI") == api for h, _ in blocks)
    rows = query(data_dir, "select platform, source from posts where url = '%s'" % app_url)
    assert rows == [("browser", f"browser:{app_url}")]
    found = run_tawthiq(["search", "scriptonlyword"], data_dir=data_dir)
    assert found.code == 0 and app_url in found.out, found.out + found.err
