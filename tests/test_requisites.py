"""Page requisites: a captured page keeps the stylesheets, fonts, scripts and images it was drawn
with (from any host, within the per-page limit), so it replays as it looked."""

from __future__ import annotations

from pathlib import Path

from tawthiq.demo.server import LocalServer, Resource
from tests.conftest import Demo, all_blocks, run_tawthiq

FONT = b"wOF2" + bytes(range(256)) * 8
BACKGROUND = b"\x89PNG\r\n\x1a\n" + b"background" * 50
AVATAR = b"\x89PNG\r\n\x1a\n" + b"avatar" * 50


def _responses(data_dir: Path) -> dict[str, bytes]:
    """URI -> payload of each response record (the last one per URI)."""
    out = {}
    for headers, block in all_blocks(data_dir):
        if headers["WARC-Type"] == "response":
            out[headers["WARC-Target-URI"]] = block.partition(b"\r\n\r\n")[2]
    return out


def test_stylesheet_font_background_script_and_style_attribute_are_archived(data_dir: Path) -> None:
    with LocalServer({"/fonts/naskh.woff2": Resource(FONT, content_type="font/woff2")}) as fonts, \
            LocalServer() as site:
        css = (f"@font-face {{ font-family: Naskh; src: url('{fonts.url('/fonts/naskh.woff2')}') format('woff2'); }}\n"
               "body { background-image: url(../img/bg.png); font-family: Naskh; }\n"
               "@import \"print.css\";\n").encode()
        site.routes.update({
            "/index.html": Resource(b'<html><head><link rel="stylesheet" href="/css/site.css">'
                                    b'<script src="/js/app.js"></script></head><body>'
                                    b'<div class="avatar" style="background-image:url(\'/img/avatar.png\')"></div>'
                                    b'<p>report</p></body></html>'),
            "/css/site.css": Resource(css, content_type="text/css"),
            "/css/print.css": Resource(b"p { color: black }", content_type="text/css"),
            "/img/bg.png": Resource(BACKGROUND, content_type="image/png"),
            "/img/avatar.png": Resource(AVATAR, content_type="image/png"),
            "/js/app.js": Resource(b"console.log('x')", content_type="application/javascript"),
        })
        result = run_tawthiq(["capture", site.url("/index.html"), "--depth", "0"], data_dir=data_dir)
        assert result.code == 0, result.out + result.err
    stored = _responses(data_dir)
    assert stored[site.url("/css/site.css")] == css
    assert stored[fonts.url("/fonts/naskh.woff2")] == FONT  # another host, named only inside the stylesheet
    assert stored[site.url("/img/bg.png")] == BACKGROUND  # a CSS image, relative to the stylesheet
    assert stored[site.url("/img/avatar.png")] == AVATAR  # a style attribute
    assert site.url("/css/print.css") in stored and site.url("/js/app.js") in stored


def test_requisites_stop_at_the_per_page_limit(data_dir: Path) -> None:
    images = {f"/img/{n}.png": Resource(AVATAR, content_type="image/png") for n in range(6)}
    body = "".join(f'<i style="background:url(/img/{n}.png)"></i>' for n in range(6))
    with LocalServer({"/index.html": Resource(f"<html><body>{body}</body></html>".encode()), **images}) as site:
        result = run_tawthiq(["capture", site.url("/index.html"), "--depth", "0"], data_dir=data_dir,
                             env={"TAWTHIQ_REQUISITES_PER_PAGE": "2"})
        assert result.code == 0, result.out + result.err
        fetched = [r.path for r in site.requests if r.path.startswith("/img/")]
    assert sorted(fetched) == ["/img/0.png", "/img/1.png"]  # the first two the page names, no more


def test_requisites_can_be_turned_off(data_dir: Path) -> None:
    with LocalServer({"/index.html": Resource(b'<html><head><link rel="stylesheet" href="/s.css"></head></html>'),
                      "/s.css": Resource(b"p {}", content_type="text/css")}) as site:
        result = run_tawthiq(["capture", site.url("/index.html"), "--depth", "0"], data_dir=data_dir,
                             env={"TAWTHIQ_FETCH_REQUISITES": "false"})
        assert result.code == 0, result.out + result.err
        assert [r.path for r in site.requests] == ["/index.html"]


def test_a_telegram_page_keeps_its_avatar(demo: Demo, data_dir: Path) -> None:
    """The channel's avatar is an <img> on every page: archived once; the page's two stylesheets
    (telegram.org's in the real page, the demo site's here) are archived too."""
    result = run_tawthiq(["capture", f"telegram:{demo.channel.name}"], data_dir=data_dir, env=demo.env)
    assert result.code == 0, result.out + result.err
    stored = _responses(data_dir)
    assert stored[demo.server.url("/file/channel.jpg")] == demo.server.served["/file/channel.jpg"]
    assert sum(1 for r in demo.server.requests if r.path == "/file/channel.jpg") == 1  # 3 pages, fetched once
    assert demo.server.url("/css/widget-frame.css?64") in stored and demo.server.url("/css/telegram-web.css?37") in stored
