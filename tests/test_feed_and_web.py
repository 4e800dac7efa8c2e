"""Feeds and web pages: items become posts, pages and their images are archived, scope holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tawthiq.crawlers.platforms.feed.parser import FeedParseError, parse_feed
from tawthiq.demo.server import LocalServer, Resource
from tests.conftest import SHARED_FORMATS, Demo, all_blocks, run_tawthiq

RSS_1256 = """<?xml version="1.0" encoding="windows-1256"?>
<rss version="2.0"><channel><title>نشرة</title><link>http://127.0.0.1/</link><description>d</description>
<item><title>قصف على السوق</title><link>http://127.0.0.1/a</link><guid>a-1</guid>
<description>أنباء عن إصابات في بلدة المثال</description></item></channel></rss>"""


def _post_rows(data_dir: Path, platform: str) -> list[dict]:
    engine = create_engine(f"sqlite:///{data_dir / 'catalog.sqlite'}")
    with engine.connect() as conn:
        rows = conn.execute(text("select data from posts where platform=:p"), {"p": platform}).scalars().all()
    engine.dispose()
    return [json.loads(r) for r in rows]


@pytest.mark.skipif(not (SHARED_FORMATS / "rss").exists(), reason="shared/formats not present")
@pytest.mark.parametrize("name, count", [("rssparser_guardian.rss", 55), ("rssparser_heise.atom", 15)])
def test_real_feeds_parse(name: str, count: int) -> None:
    body = (SHARED_FORMATS / "rss" / name).read_bytes()
    feed = parse_feed(body, feed_url="https://example.org/feed")
    assert len(feed.posts) == count
    assert all(p.post_id and p.url.startswith("http") and p.text for p in feed.posts)
    if name.endswith(".rss"):
        assert all(any(m.kind == "image" for m in p.media) for p in feed.posts)  # media:content
        assert sum(bool(p.author) for p in feed.posts) == 50  # five items have an empty dc:creator


def test_windows_1256_feed_decodes_arabic() -> None:
    feed = parse_feed(RSS_1256.encode("cp1256"), feed_url="http://127.0.0.1/feed")
    (post,) = feed.posts
    assert post.text == "قصف على السوق\nأنباء عن إصابات في بلدة المثال"
    assert post.language == "ar"


def test_garbage_is_not_a_feed() -> None:
    with pytest.raises(FeedParseError, match="not a readable RSS or Atom feed"):
        parse_feed(b"<html><body>hello</body></html>", feed_url="http://127.0.0.1/x")


def test_feed_capture_archives_items_pages_and_media(demo: Demo, data_dir: Path) -> None:
    result = run_tawthiq(["capture", f"feed:{demo.server.url('/feed.xml')}"], data_dir=data_dir)
    assert result.code == 0, result.out + result.err
    posts = {p["post_id"]: p for p in _post_rows(data_dir, "feed")}
    assert len(posts) == 4
    first = posts["mithal-news-report-1"]
    assert first["text"].startswith("قصف على بلدة المثال\nأفاد سكان بلدة المثال")
    assert first["author"] == "غرفة أخبار المثال"
    assert {m["kind"] for m in first["media"]} == {"image"}
    blocks = all_blocks(data_dir)
    uris = {h["WARC-Target-URI"] for h, _ in blocks if h["WARC-Type"] == "response"}
    for path in ("/feed.xml", "/news/report-1.html", "/news/report-4.html", "/file/news-0.jpg", "/file/news-0-full.jpg"):
        assert demo.server.url(path) in uris
    (feed_block,) = [b for h, b in blocks if h["WARC-Type"] == "response"
                     and h["WARC-Target-URI"] == demo.server.url("/feed.xml")]
    assert feed_block.partition(b"\r\n\r\n")[2] == demo.server.served["/feed.xml"]  # still gzip


def test_malformed_feed_fails_clearly_and_the_run_goes_on(server: LocalServer, data_dir: Path) -> None:
    server.routes["/bad.xml"] = Resource(b"<html><body>not a feed</body></html>", content_type="text/html")
    server.routes["/ok.html"] = Resource(b"<html><body>fine</body></html>")
    result = run_tawthiq(["capture", f"feed:{server.url('/bad.xml')}", server.url("/ok.html")], data_dir=data_dir)
    assert result.code == 1
    assert f"{server.url('/bad.xml')}: not a readable RSS or Atom feed" in result.out
    assert "Traceback" not in result.out + result.err
    uris = {h.get("WARC-Target-URI") for h, _ in all_blocks(data_dir)}
    assert server.url("/ok.html") in uris and server.url("/bad.xml") in uris


def test_web_capture_follows_scope_depth_and_embeds(demo: Demo, data_dir: Path) -> None:
    result = run_tawthiq(["capture", demo.server.url("/site/index.html")], data_dir=data_dir)
    assert result.code == 1  # the site links to a deleted page
    assert "site/missing.html: HTTP 404" in result.out
    blocks = all_blocks(data_dir)
    statuses = {h["WARC-Target-URI"]: b.split(b" ", 2)[1] for h, b in blocks if h["WARC-Type"] == "response"}
    url = demo.server.url
    assert statuses[url("/site/index.html")] == b"200"
    assert statuses[url("/site/about.html")] == b"200"
    assert statuses[url("/site/missing.html")] == b"404"
    for image in ("/file/site-banner.jpg", "/file/site-banner-640.jpg", "/file/site-banner-1280.jpg", "/file/site-team.jpg"):
        assert url(image) in statuses  # img src and srcset
    assert not any("example.org" in u for u in statuses)  # out of scope, never fetched
    archive = [b for h, b in blocks if h["WARC-Type"] == "response" and h["WARC-Target-URI"] == url("/site/archive-1256.html")]
    assert archive[0].partition(b"\r\n\r\n")[2].decode("cp1256").count("بلدة المثال") == 1


def test_depth_zero_captures_only_the_seed_and_its_images(demo: Demo, data_dir: Path) -> None:
    run_tawthiq(["capture", demo.server.url("/site/index.html"), "--depth", "0"], data_dir=data_dir)
    pages = {h["WARC-Target-URI"] for h, _ in all_blocks(data_dir)
             if h["WARC-Type"] == "response" and "/site/" in h["WARC-Target-URI"]}
    assert pages == {demo.server.url("/site/index.html")}
