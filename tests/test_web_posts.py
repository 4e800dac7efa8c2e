"""Web pages are posts: a captured news-like site is searchable by its articles' main text (not by
its menus and footers), carries title, author and date from the page's metadata, exports whole
with `export --all`, replays in pywb, and a page deleted later is found gone by `recheck`.

The site is synthetic (invented town, people and events) but shaped like a news site's article
pages: a navigation bar, a cookie banner, a "most read" sidebar and a long footer around an
<article>, with the metadata real sites publish (OpenGraph `og:title` and
`article:published_time`, schema.org JSON-LD `NewsArticle`, `<time datetime>`, `<meta name=author>`).
"""

from __future__ import annotations

import io
import json
import random
import urllib.request
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tawthiq.crawlers.platforms.web.article import extract
from tawthiq.demo.server import LocalServer, Resource
from tawthiq.settings import load_settings
from tawthiq.web.app import create_app
from tests.conftest import query, run_tawthiq
from tests.test_export import needs_pywb, pywb_replaying

# Words that appear only in the boilerplate around the articles (menus, banner, sidebar, footer).
NAV_WORD = "zephyrmenu"
BANNER_WORD = "biscuitconsent"
SIDEBAR_WORD = "marmosidebar"
FOOTER_WORD = "quokkafooter"

NAV = f"""<header><a class="logo" href="/news/index.html">Example Gazette</a>
<nav><ul><li><a href="/news/index.html">Home</a></li><li><a href="/news/index.html">Latest {NAV_WORD}</a></li>
<li><a href="/news/index.html#world">World</a></li><li><a href="/news/index.html#sport">Sport</a></li>
<li><a href="/news/index.html#weather">Weather</a></li><li><a href="/news/index.html#opinion">Opinion</a></li></ul></nav></header>
<div class="cookie-banner" id="cookie-consent"><p>We use cookies {BANNER_WORD} to improve your experience.
<button>Accept all</button> <button>Settings</button></p></div>"""

SIDEBAR = f"""<aside class="sidebar"><h3>Most read</h3><ul>
<li><a href="/news/index.html#a">Market prices {SIDEBAR_WORD} rise again</a></li>
<li><a href="/news/index.html#b">Football season opens</a></li>
<li><a href="/news/index.html#c">Weekend weather outlook</a></li></ul>
<h3>Newsletter</h3><p>Subscribe to our daily newsletter.</p></aside>"""

FOOTER = f"""<footer><ul><li><a href="/news/index.html#about">About us</a></li><li><a href="/news/index.html#contact">Contact</a></li>
<li><a href="/news/index.html#privacy">Privacy policy</a></li><li><a href="/news/index.html#terms">Terms of use</a></li></ul>
<p>Copyright 2026 Example Gazette {FOOTER_WORD}. All rights reserved. Reproduction without permission is prohibited.</p></footer>"""


def page(*, lang: str, title: str, head: str, body: str, direction: str = "ltr") -> bytes:
    return f"""<!DOCTYPE html><html lang="{lang}" dir="{direction}"><head><meta charset="utf-8">
<title>{title} | Example Gazette</title><link rel="stylesheet" href="/news/site.css">{head}</head>
<body>{NAV}<div class="layout"><main>{body}</main>{SIDEBAR}</div>{FOOTER}</body></html>""".encode()


WATER = page(lang="en", title="Water cut for a third day in Example Town", head="""
<meta property="og:title" content="Water cut for a third day in Example Town">
<meta property="og:type" content="article">
<meta property="article:published_time" content="2026-05-02T08:30:00+00:00">
<meta name="author" content="Jana Example">""", body="""
<article><h1>Water cut for a third day in Example Town</h1>
<p class="byline">By Jana Example</p>
<p>Residents of Example Town have had no running water for three days, the municipal council said on Thursday.
Tanker trucks reached two of the town's districts, where families queued with plastic jerrycans.</p>
<figure><img src="/news/img/tanker.jpg" alt="A tanker truck"><figcaption>A tanker truck in the market square.</figcaption></figure>
<p>The pumping station on the river road was damaged by shelling on Monday, according to the water authority.
Engineers say the repairs need spare parts for the main pump, which have not arrived.</p>
<p>The council asked residents to boil any water taken from wells, after cases of diarrhoea among children
were reported at the town's clinic.</p></article>""")

CLINIC = page(lang="en", title="Clinic reopens after repairs", head="""
<meta property="og:title" content="Clinic reopens after repairs">
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle",
 "headline": "Clinic reopens after repairs", "datePublished": "2026-05-04T13:15:00+03:00",
 "author": [{"@type": "Person", "name": "Omar Example"}],
 "publisher": {"@type": "Organization", "name": "Example Gazette"}}</script>""", body="""
<article><h1>Clinic reopens after repairs</h1>
<p>The clinic in the eastern quarter of Example Town reopened on Saturday after two weeks of repairs to its roof
and generator, its director said. Volunteers cleared broken glass from the waiting room.</p>
<p>Doctors saw more than eighty patients on the first morning, most of them children with respiratory
infections and older people needing medication for chronic illnesses.</p>
<p>The director said the clinic still lacks insulin and antibiotics, and that a second generator is needed
because power cuts last up to twenty hours a day.</p></article>""")

ARABIC = page(lang="ar", direction="rtl", title="قصف على السوق القديم في بلدة المثال", head="""
<meta property="og:title" content="قصف على السوق القديم في بلدة المثال">
<meta property="og:locale" content="ar_AR">
<meta name="author" content="سلمى المثالية">""", body="""
<article><h1>قصف على السوق القديم في بلدة المثال</h1>
<p>تعرض السوق القديم في بلدة المثال لقصف صباح يوم الأحد، ما أدى إلى احتراق عدد من المحال التجارية
وتضرر المنازل المجاورة، بحسب ما أفاد شهود عيان من سكان الحي.</p>
<p>وقال أحد التجار إن النيران اشتعلت في محله لبيع الأقمشة وامتدت إلى المحال المجاورة قبل أن يتمكن الدفاع المدني
من إخمادها بعد ساعتين من العمل المتواصل.</p>
<p>ونشر ناشطون صوراً تظهر الدخان يتصاعد من وسط السوق، فيما أغلقت البلدية الطرق المؤدية إليه حتى إشعار آخر.</p>
<p class="dateline"><time datetime="2026-05-03T06:45:00Z">٣ أيار ٢٠٢٦</time></p></article>""")

INDEX = page(lang="en", title="Example Gazette", head="", body="""
<section><h2>Latest</h2><ul>
<li><a href="/news/water-cut.html">Water cut for a third day in Example Town</a></li>
<li><a href="/news/clinic-reopens.html">Clinic reopens after repairs</a></li>
<li><a href="/news/market-shelling.html">قصف على السوق القديم في بلدة المثال</a></li></ul></section>""")

def _jpeg() -> bytes:
    """A small real photograph-like JPEG (a gradient), so media facts and near-duplicates read it."""
    image = Image.new("RGB", (64, 48))
    image.putdata([(x * 4, y * 5, 128) for y in range(48) for x in range(64)])
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


JPEG = _jpeg()


@pytest.fixture
def site() -> LocalServer:
    server = LocalServer({
        "/news/index.html": Resource(INDEX),
        "/news/water-cut.html": Resource(WATER),
        "/news/clinic-reopens.html": Resource(CLINIC),
        "/news/market-shelling.html": Resource(ARABIC),
        "/news/site.css": Resource(b"body { font-family: serif }", content_type="text/css"),
        "/news/img/tanker.jpg": Resource(JPEG, content_type="image/jpeg"),
    })
    with server:
        yield server


def search(data_dir: Path, words: str) -> dict:
    result = run_tawthiq(["search", words, "--json"], data_dir=data_dir)
    assert result.code == 0, result.out + result.err
    return json.loads(result.out)


def hit_urls(data_dir: Path, words: str) -> set[str]:
    return {hit["url"] for hit in search(data_dir, words)["hits"]}


@pytest.fixture
def captured(site: LocalServer, data_dir: Path) -> LocalServer:
    result = run_tawthiq(["capture", site.url("/news/index.html")], data_dir=data_dir)
    assert result.code == 0, result.out + result.err
    return site


def test_the_extractor_keeps_the_article_and_drops_the_boilerplate() -> None:
    article = extract(WATER, "http://gazette.test/news/water-cut.html", "text/html; charset=utf-8")
    assert article.title == "Water cut for a third day in Example Town"
    assert article.author == "Jana Example"
    assert article.published == datetime(2026, 5, 2, 8, 30, tzinfo=timezone.utc)
    assert article.language == "en"
    assert "pumping station on the river road" in article.text
    for word in (NAV_WORD, BANNER_WORD, SIDEBAR_WORD, FOOTER_WORD):
        assert word not in article.text
    assert article.images == ["http://gazette.test/news/img/tanker.jpg"]
    assert article.text.count("Water cut for a third day") == 1  # the title once, not title and <h1>

    arabic = extract(ARABIC, "http://gazette.test/news/market-shelling.html")
    assert (arabic.language, arabic.author) == ("ar", "سلمى المثالية")
    assert arabic.published == datetime(2026, 5, 3, 6, 45, tzinfo=timezone.utc)
    assert "الدفاع المدني" in arabic.text and FOOTER_WORD not in arabic.text


def test_captured_pages_are_searchable_posts(captured: LocalServer, data_dir: Path) -> None:
    url = captured.url
    assert hit_urls(data_dir, "jerrycans") == {url("/news/water-cut.html")}
    assert hit_urls(data_dir, "insulin") == {url("/news/clinic-reopens.html")}
    assert hit_urls(data_dir, "الدفاع المدني") == {url("/news/market-shelling.html")}
    articles = {url(p) for p in ("/news/water-cut.html", "/news/clinic-reopens.html", "/news/market-shelling.html")}
    for word in (NAV_WORD, BANNER_WORD, SIDEBAR_WORD, FOOTER_WORD):
        assert not hit_urls(data_dir, word) & articles, word  # boilerplate words find no article

    posts = {row[0]: row[1:] for row in query(
        data_dir, "SELECT post_id, platform, source, author, published, language, data FROM posts")}
    water = posts[url("/news/water-cut.html")]
    assert water[:3] == ("web", url("/news/index.html"), "Jana Example")
    assert water[3].startswith("2026-05-02 08:30")
    assert json.loads(water[5])["title"] == "Water cut for a third day in Example Town"
    assert [m["url"] for m in json.loads(water[5])["media"]] == [url("/news/img/tanker.jpg")]
    clinic = posts[url("/news/clinic-reopens.html")]
    assert clinic[2] == "Omar Example" and clinic[3].startswith("2026-05-04 10:15")  # +03:00 in UTC
    arabic = posts[url("/news/market-shelling.html")]
    assert arabic[2] == "سلمى المثالية" and arabic[4] == "ar"
    assert json.loads(arabic[5])["title"] == "قصف على السوق القديم في بلدة المثال"

    hit = search(data_dir, "jerrycans")["hits"][0]
    assert (hit["author"], hit["published_at"]) == ("Jana Example", "2026-05-02T08:30:00Z")
    assert hit["text"].startswith("Water cut for a third day in Example Town")

    # the index rebuilt from the WARC files alone finds the same
    assert run_tawthiq(["reindex"], data_dir=data_dir).code == 0
    assert hit_urls(data_dir, "jerrycans") == {url("/news/water-cut.html")}
    assert not hit_urls(data_dir, FOOTER_WORD) & articles


def test_export_all_verifies_and_replays(captured: LocalServer, data_dir: Path, tmp_path: Path) -> None:
    assert run_tawthiq(["keys", "create"], data_dir=data_dir).code == 0
    out = tmp_path / "all.wacz"
    result = run_tawthiq(["export", "--all", "-o", str(out)], data_dir=data_dir)
    assert result.code == 0, result.out + result.err
    assert "4 post(s)" in result.out  # the front page and its three articles
    checked = run_tawthiq(["verify", str(out)])
    assert checked.code == 0 and "VERIFIED" in checked.out, checked.out + checked.err
    bad = run_tawthiq(["export", "--all", "--source", "x", "-o", str(tmp_path / "x.wacz")], data_dir=data_dir)
    assert bad.code != 0 and "alone" in bad.out + bad.err and "Traceback" not in bad.err

    # the web app's equivalent: the same posts in the download
    app = TestClient(create_app(load_settings(data_dir, token="t0ken")), headers={"Authorization": "Bearer t0ken"})
    response = app.get("/api/export?all=true")
    assert response.status_code == 200, response.text
    download = tmp_path / "download.wacz"
    download.write_bytes(response.content)
    with zipfile.ZipFile(download) as zf, zipfile.ZipFile(out) as cli_zf:
        assert _page_urls(zf) == _page_urls(cli_zf) == {captured.url(p) for p in (
            "/news/index.html", "/news/water-cut.html", "/news/clinic-reopens.html", "/news/market-shelling.html")}
    assert app.get("/api/export").status_code == 400  # neither a query nor all


def _page_urls(zf: zipfile.ZipFile) -> set[str]:
    lines = zf.read("pages/pages.jsonl").decode().splitlines()[1:]  # after the header line
    return {json.loads(line)["url"] for line in lines}


@needs_pywb
def test_the_export_of_a_web_post_replays_in_pywb(captured: LocalServer, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "all.wacz"
    assert run_tawthiq(["export", "--all", "-o", str(out)], data_dir=data_dir).code == 0
    with pywb_replaying(out, tmp_path) as base:
        page_bytes = urllib.request.urlopen(base + captured.url("/news/market-shelling.html"), timeout=30).read()
        assert "الدفاع المدني".encode() in page_bytes
        image = urllib.request.urlopen(base + captured.url("/news/img/tanker.jpg"), timeout=30).read()
        assert image == JPEG


def test_recheck_marks_a_deleted_page_gone_and_an_edited_one_changed(captured: LocalServer, data_dir: Path) -> None:
    url = captured.url
    del captured.routes["/news/clinic-reopens.html"]
    captured.routes["/news/water-cut.html"] = Resource(WATER.replace(b"jerrycans", b"buckets"))
    # the menu changes on every page: not a change of any article
    captured.routes["/news/market-shelling.html"] = Resource(ARABIC.replace(b"Sport", b"Sports"))
    result = run_tawthiq(["recheck", url("/news/index.html")], data_dir=data_dir)
    assert result.code == 0, result.out + result.err
    states = dict(query(data_dir, "SELECT post_id, state FROM post_checks"))
    assert states[url("/news/clinic-reopens.html")] == "gone"
    assert states[url("/news/water-cut.html")] == "changed"
    assert states[url("/news/market-shelling.html")] == "online"
    gone = run_tawthiq(["takedowns", "--json"], data_dir=data_dir)
    assert url("/news/clinic-reopens.html") in gone.out


def test_an_imported_page_gives_the_same_post_as_a_captured_one(captured: LocalServer, data_dir: Path) -> None:
    """The capture's WARC read as a foreign one by `tawthiq import`'s page reader: the same extractor,
    the same post (text, title, author, date, language, images); only the source differs (the host)."""
    from tawthiq.archivers.foreign import pages
    from tawthiq.importing import page_post

    (warc,) = sorted((data_dir / "warcs").glob("*.warc.gz"))
    imported = {post.post_id: post for post in (page_post(p, warc.name) for p in pages(warc))}
    captured_posts = {row[0]: json.loads(row[1]) for row in query(data_dir, "SELECT post_id, data FROM posts")}
    assert set(captured_posts) == set(imported)
    fields = ("text", "title", "author", "published", "language", "media", "warc")
    for url, post in captured_posts.items():
        mine = {k: post.get(k) for k in fields}
        assert {k: v for k, v in imported[url].model_dump(mode="json").items() if k in fields} == mine, url
    assert FOOTER_WORD not in imported[captured.url("/news/water-cut.html")].text


def test_pages_sharing_a_photo_fold_in_search(data_dir: Path) -> None:
    """Two pages of a site show the same photograph, one copy cropped and recompressed: their posts
    form one near-duplicate cluster and search shows them as one hit with two copies."""
    from bench.dedupe import corpus

    photo = corpus.originals()["coffee"]
    copy = corpus.crop15(photo, random.Random(7))
    story = """<article><h1>{title}</h1><p>Volunteers in Example Town handed out hot drinks and bread to families
    who spent the night outside after the shelling, the relief committee said.</p>
    <img src="/repost/{image}" alt=""><p>The committee asked for blankets, tents and baby milk as nights grow colder
    and more families arrive from the villages to the south.</p></article>"""
    with LocalServer({
        "/repost/a.html": Resource(page(lang="en", title="Hot drinks for displaced families", head="",
                                        body=story.format(title="Hot drinks for displaced families", image="a.jpg")
                                        )),
        "/repost/b.html": Resource(page(lang="en", title="Relief committee appeals for blankets", head="",
                                        body=story.format(title="Relief committee appeals for blankets", image="b.jpg"))),
        "/repost/a.jpg": Resource(corpus.jpeg_bytes(photo), content_type="image/jpeg"),
        "/repost/b.jpg": Resource(corpus.jpeg_bytes(copy), content_type="image/jpeg"),
    }) as srv:
        srv.routes["/news/site.css"] = Resource(b"body { font-family: serif }", content_type="text/css")
        result = run_tawthiq(["capture", srv.url("/repost/a.html"), srv.url("/repost/b.html"), "--depth", "0"],
                             data_dir=data_dir)
        assert result.code == 0, result.out + result.err
    found = search(data_dir, "blankets")
    assert found["total"] == 2 and len(found["hits"]) == 1 and found["hits"][0]["cluster_size"] == 2, found
    assert {m["posts"][0]["id"] for c in json.loads(run_tawthiq(["dedupe", "clusters", "--json"], data_dir=data_dir).out)
            ["clusters"] for m in c["members"]} == {"web:" + srv.url("/repost/a.html"), "web:" + srv.url("/repost/b.html")}
