"""Routes of the synthetic demo site: a Telegram-format channel, an RSS feed and a small website.

Served by `LocalServer` on 127.0.0.1; the same site is what the tests crawl.
The channel is served at `/s/NAME` (and `?before=ID`) as t.me serves it, with its photos and
videos under `/file/`, so pointing `TAWTHIQ_TELEGRAM_BASE_URL` at the server is all it takes.
"""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import format_datetime
from functools import lru_cache
from html import escape
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from tawthiq.demo import content
from tawthiq.demo.images import photo, repost
from tawthiq.demo.server import Incoming, LocalServer, Resource
from tawthiq.demo.video import mp4

TEMPLATES = Path(__file__).parent / "templates"
_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "xml"]))


@lru_cache(maxsize=256)
def _jpeg(seed: str) -> bytes:
    if seed.startswith("forward-") and seed[8:-4].isdigit():
        # a forwarded post carries the bulletin photo posted three posts earlier, re-posted
        # (cropped, stamped, recompressed): the demo's near-duplicates
        return repost(photo(f"bulletin-{int(seed[8:-4]) - 3}.jpg"))
    return photo(seed)


@lru_cache(maxsize=64)
def _video(seed: int) -> bytes | None:
    return mp4(seed)


class DemoChannel:
    """A channel whose posts can grow or vanish between captures (for incremental tests)."""

    def __init__(self, base: str, name: str = content.CHANNEL_NAME, page_size: int = content.PAGE_SIZE,
                 videos: bool = True) -> None:
        self.base = base
        self.name = name
        self.page_size = page_size
        self.posts = content.channel_posts()
        has_video = videos and _video(1) is not None
        for post in self.posts:
            for p in post.photos:
                p.url = base + p.path
            for v in post.videos:
                v.url = base + v.path if has_video else ""
                v.thumb_url = f"{base}/file/thumb-{post.id}.jpg"
            if post.preview:
                post.preview["image_url"] = base + post.preview["image_url"]

    def page(self, before: int | None) -> tuple[list[content.DemoPost], int | None]:
        older = [p for p in self.posts if before is None or p.id < before]
        page = older[-self.page_size:]
        more = page[0].id if page and any(p.id < page[0].id for p in self.posts) else None
        return page, more

    def render(self, incoming: Incoming) -> Resource:
        raw_before = (incoming.query.get("before") or [None])[0]
        before = int(raw_before) if raw_before and raw_before.isdigit() else None
        posts, more = self.page(before)
        html = _env.get_template("telegram_channel.html").render(
            channel={"name": self.name, "title": content.CHANNEL_TITLE,
                     "description": content.CHANNEL_DESCRIPTION, "subscribers": "12.3K",
                     "photos": "410", "photo_url": f"{self.base}/file/channel.jpg"},
            posts=posts, before=more, canonical_before=before, base=self.base,
        )
        return Resource(html.encode("utf-8"), headers=[
            ("Cache-Control", "no-store"), ("Set-Cookie", "stel_ssid=demo0001; path=/; HttpOnly"),
            ("Set-Cookie", "stel_dt=-180; path=/"),
        ])


    def render_embed(self, post_id: int) -> Resource:
        """`/CHANNEL/ID?embed=1` as t.me serves it: the post's widget, or "Post not found"."""
        posts = [p for p in self.posts if p.id == post_id]
        if not posts:
            html = ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>Telegram Widget</title></head>'
                    '<body class="body_widget_post emoji_image nodark"><div class="tgme_widget_message_wrap '
                    'js-widget_message_wrap"><div class="tgme_widget_message_error">Post not found</div></div>'
                    "</body></html>")
            return Resource(html.encode("utf-8"))
        html = _env.get_template("telegram_channel.html").render(
            channel={"name": self.name, "title": content.CHANNEL_TITLE, "description": content.CHANNEL_DESCRIPTION,
                     "subscribers": "12.3K", "photos": "410", "photo_url": f"{self.base}/file/channel.jpg"},
            posts=posts, before=None, canonical_before=None, base=self.base,
        )
        return Resource(html.encode("utf-8"))


def _telegram_redirect(incoming: Incoming) -> Resource | None:
    """Like t.me: an unknown /s/NAME redirects to /NAME, a page with no message history."""
    parts = [p for p in incoming.path.split("/") if p]
    if len(parts) == 2 and parts[0] == "s":
        return Resource(b"", status=302, headers=[("Location", f"/{parts[1]}")])
    if len(parts) == 1 and parts[0].replace("_", "").isalnum():
        name = escape(parts[0])
        return Resource(
            f'<html><head><meta property="og:title" content="{name}"></head><body class="tgme_page">'
            f'<div class="tgme_page_title">{name}</div><div class="tgme_page_description">If you have '
            f"<strong>Telegram</strong>, you can contact <a>@{name}</a> right away.</div></body></html>"
            .encode()
        )
    return None


def _file(incoming: Incoming) -> Resource | None:
    name = incoming.path.removeprefix("/file/")
    if name.endswith(".jpg"):
        return Resource(_jpeg(name), content_type="image/jpeg",
                        headers=[("Cache-Control", "max-age=2592000")])
    if name.startswith("clip-") and name.endswith(".mp4"):
        data = _video(int(name[5:-4]) % 7 + 1)
        if data is None:
            return Resource(b"not found", status=404, content_type="text/plain")
        return Resource(data, content_type="video/mp4")
    return None


def _feed(base: str) -> Resource:
    items = []
    for n, item in enumerate(content.FEED_ITEMS):
        date = format_datetime(datetime(2026, 10, 2 + n, 9, 30, tzinfo=timezone.utc))
        enclosure = (f'<enclosure url="{base}/file/news-{n}-full.jpg" length="0" type="image/jpeg"/>'
                     if n == 0 else "")
        items.append(f"""
    <item>
      <title>{escape(item["title"])}</title>
      <link>{base}/news/{item["slug"]}.html</link>
      <guid isPermaLink="false">mithal-news-{item["slug"]}</guid>
      <pubDate>{date}</pubDate>
      <dc:creator>غرفة أخبار المثال</dc:creator>
      <description>{escape(item["body"])}</description>
      <media:content url="{base}/file/news-{n}.jpg" medium="image" type="image/jpeg" width="320" height="240"/>
      {enclosure}
    </item>""")
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- Synthetic RSS 2.0 feed with Media RSS (media:content) and Dublin Core (dc:creator), in the
     shape of a news site's feed (compare shared/formats/rss/rssparser_guardian.rss). Invented. -->
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>أخبار المثال | Mithal News (synthetic)</title>
    <link>{base}/site/index.html</link>
    <description>Synthetic demo feed: every name and event is invented.</description>
    <language>ar</language>{"".join(items)}
  </channel>
</rss>
"""
    return Resource(xml.encode("utf-8"), content_type="application/rss+xml; charset=utf-8", gzip=True)


def _news_page(item: dict[str, str], n: int) -> Resource:
    html = f"""<!DOCTYPE html><html lang="{item["lang"]}" dir="auto"><head><meta charset="utf-8">
<title>{escape(item["title"])}</title></head><body><article><h1>{escape(item["title"])}</h1>
{item["body"]}<img src="/file/news-{n}.jpg" alt=""></article></body></html>"""
    return Resource(html.encode("utf-8"))


def _site_pages() -> dict[str, Resource]:
    index = """<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>المثال</title></head>
<body><h1>موقع المثال (تجريبي)</h1>
<p>Synthetic demo website: every name and event is invented.</p>
<img src="/file/site-banner.jpg" srcset="/file/site-banner-640.jpg 640w, /file/site-banner-1280.jpg 1280w" alt="">
<ul><li><a href="/site/about.html">عن الموقع</a></li><li><a href="/site/archive-1256.html">الأرشيف</a></li>
<li><a href="/site/witness-video.html">فيديو شاهد</a></li>
<li><a href="/site/missing.html">صفحة محذوفة</a></li><li><a href="https://example.org/elsewhere">خارج النطاق</a></li></ul>
</body></html>"""
    about = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>About</title></head>
<body><h1>About</h1><p>We document events in Example Town.</p><img src="/file/site-team.jpg" alt="">
<a href="/site/index.html">home</a></body></html>"""
    archive = ('<!DOCTYPE html><html lang="ar" dir="rtl"><head>'
               '<meta http-equiv="Content-Type" content="text/html; charset=windows-1256">'
               "<title>أرشيف النشرات</title></head><body><h1>أرشيف النشرات</h1>"
               "<p>نشرة قديمة محفوظة بترميز ويندوز 1256: قصف على بلدة المثال.</p></body></html>")
    video = """<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8">
<title>فيديو شاهد عيان (تجريبي)</title></head><body><h1>فيديو شاهد عيان</h1>
<p>Synthetic clip: a drawn test pattern, no real event.</p>
<video controls width="320" poster="/file/thumb-video.jpg"><source src="/file/clip-7.mp4" type="video/mp4"></video>
</body></html>"""
    return {
        "/site/index.html": Resource(index.encode("utf-8"), chunked=True, chunk_size=300),
        "/site/witness-video.html": Resource(video.encode("utf-8")),
        "/site/about.html": Resource(about.encode("utf-8"), gzip=True),
        "/site/archive-1256.html": Resource(archive.encode("cp1256"),
                                            content_type="text/html; charset=windows-1256"),
        "/site/old-home.html": Resource(b"", status=301, headers=[("Location", "/site/index.html")]),
    }


def _stylesheets() -> dict[str, Resource]:
    """The channel page's two stylesheets (telegram.org's in the real page), small and synthetic,
    served here so that fetching page requisites never leaves 127.0.0.1."""
    frame = (".tgme_widget_message_wrap{padding:8px 0}.tgme_widget_message_bubble{background:#fff;"
             "border-radius:10px;padding:8px 12px}.tgme_widget_message_user_photo{width:45px;height:45px;"
             "border-radius:50%}\n")
    web = ("body{margin:0;font-family:sans-serif;background:#e7ebf0}.tgme_header{background:#fff;"
           "padding:8px}.tgme_channel_history{max-width:720px;margin:0 auto}\n")
    css = "text/css; charset=utf-8"
    return {"/css/widget-frame.css": Resource(frame.encode(), content_type=css),
            "/css/telegram-web.css": Resource(web.encode(), content_type=css, gzip=True)}


def install_demo_site(server: LocalServer, *, videos: bool = True) -> DemoChannel:
    """Add the demo's routes to a server; returns the channel so tests can change it."""
    base = server.base_url
    channel = DemoChannel(base, videos=videos)
    server.routes[f"/s/{channel.name}"] = channel.render
    server.routes["/feed.xml"] = _feed(base)
    for n, item in enumerate(content.FEED_ITEMS):
        server.routes[f"/news/{item['slug']}.html"] = _news_page(item, n)
    server.routes.update(_site_pages())
    server.routes.update(_stylesheets())
    previous = server.fallback

    def fallback(incoming: Incoming) -> Resource | None:
        if incoming.path.startswith("/file/"):
            return _file(incoming)
        parts = [p for p in incoming.path.split("/") if p]
        if len(parts) == 2 and parts[0] == channel.name and parts[1].isdigit():
            return channel.render_embed(int(parts[1]))
        found = previous(incoming) if previous else None
        return found or _telegram_redirect(incoming)

    server.fallback = fallback
    return channel
