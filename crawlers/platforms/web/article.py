"""A web page as an article: title, main text, author, published time, language and images.

The main text is what trafilatura keeps of the page (navigation, footers, cookie banners and
sidebars are left out), so a search for a word of the site's menu does not find every page of
the site. Title, author and time come only from what the page itself declares (OpenGraph,
schema.org JSON-LD, `<time datetime>`, `<meta name=author>`): trafilatura's own date guessing
(from URLs, from text) is not used, because a guessed date would be a claim the page did not make.

A capture, a recheck and an import all read pages through `extract`, from the same bytes, so
the same page gives the same post text wherever it came from.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin

import trafilatura
from parsel import Selector
from trafilatura.xml import xmltotxt
from w3lib.encoding import html_to_unicode

from tawthiq.crawlers.language import detect_language
from tawthiq.crawlers.models import Media, Post, WarcLocation
from tawthiq.crawlers.parsers.html_text import clean_text

_ARTICLE_TYPES = {"article", "newsarticle", "reportagenewsarticle", "blogposting", "analysisnewsarticle",
                  "backgroundnewsarticle", "opinionnewsarticle", "reviewnewsarticle", "socialmediaposting",
                  "liveblogposting", "webpage"}
_LANG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)*$")


@dataclass
class Article:
    url: str
    title: str = ""
    main_text: str = ""  # the page's main text, boilerplate removed
    author: str | None = None
    published: datetime | None = None
    language: str | None = None
    images: list[str] = field(default_factory=list)  # absolute URLs, main content first, then og:image

    @property
    def text(self) -> str:
        """The post text: the title, then the main text (the title once, when the text starts with it)."""
        body = self.main_text
        if self.title and body.split("\n", 1)[0].strip() == self.title.strip():
            return body
        return "\n\n".join(p for p in (self.title, body) if p)


def decode(body: bytes, content_type: str | None = None) -> str:
    """The page's characters, as a browser would decode them (header, BOM, <meta charset>)."""
    return html_to_unicode(content_type, body)[1]


def extract(body: bytes | str, url: str, content_type: str | None = None) -> Article:
    """The article in an HTML page (`body` as served, or already decoded)."""
    html = body if isinstance(body, str) else decode(body, content_type)
    sel = Selector(text=html or "<html></html>")
    meta = _metadata(sel)
    article = Article(url=url)
    main = _main(html, url)
    if main is not None:
        article.main_text, images = main
    else:  # trafilatura found no main content (a tiny page): its visible text is all there is
        article.main_text, images = _visible_text(sel), []
    article.title = meta.get("title") or _first(sel, "string(//title)") or _first(sel, "string(//h1)")
    article.author = meta.get("author")
    article.published = _when(meta.get("published"))
    article.language = _lang(_first(sel, "/html/@lang") or _first(sel, "/html/@xml:lang")
                             or meta.get("locale")) or detect_language(article.text)
    og_image = meta.get("image")
    for src in images + ([og_image] if og_image else []):
        absolute = urljoin(url, src.strip())
        if absolute.startswith(("http://", "https://")) and absolute not in article.images:
            article.images.append(absolute)
    return article


def _main(html: str, url: str) -> tuple[str, list[str]] | None:
    try:
        doc = trafilatura.bare_extraction(html, url=url, include_images=True, include_comments=False,
                                          with_metadata=False)
    except Exception:  # noqa: BLE001 - a page trafilatura cannot parse still has its visible text
        return None
    body = getattr(doc, "body", None)  # a Document (with_metadata=False never gives the dict form)
    if body is None:
        return None
    images = [g.get("src") for g in body.iter("graphic") if g.get("src")]
    for graphic in list(body.iter("graphic")):
        graphic.getparent().remove(graphic)
    text = "\n".join(line.strip() for line in xmltotxt(body, include_formatting=False).split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return (text, images) if text else None


def _visible_text(sel: Selector) -> str:
    for node in sel.xpath("//script|//style|//noscript|//template"):
        node.drop()
    return clean_text(sel.xpath("//body").get() or "")


def _first(sel: Selector, xpath: str) -> str:
    return " ".join((sel.xpath(xpath).get() or "").split())


def _meta(sel: Selector, *names: str) -> str:
    for name in names:
        for attr in ("property", "name", "itemprop"):
            value = _first(sel, f"//meta[@{attr}='{name}']/@content")
            if value:
                return value
    return ""


def _metadata(sel: Selector) -> dict[str, str]:
    """What the page declares about itself; JSON-LD first (the most specific), then OpenGraph and
    <meta>, then the first <time datetime>."""
    ld = _json_ld(sel)
    found = {
        "title": ld.get("headline") or _meta(sel, "og:title", "twitter:title"),
        "author": ld.get("author") or _meta(sel, "author", "article:author", "byl"),
        "published": ld.get("datePublished") or _meta(sel, "article:published_time", "datePublished",
                                                      "og:published_time")
        or _first(sel, "//time[@datetime][1]/@datetime"),
        "locale": ld.get("inLanguage") or _meta(sel, "og:locale"),
        "image": _meta(sel, "og:image", "og:image:url", "twitter:image"),
    }
    if found["author"].startswith(("http://", "https://")):  # article:author may be a profile URL
        found["author"] = ""
    return {k: v for k, v in found.items() if v}


def _json_ld(sel: Selector) -> dict[str, str]:
    """headline, author, datePublished, inLanguage of the page's schema.org article, if any."""
    for raw in sel.xpath("//script[@type='application/ld+json']/text()").getall():
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        for node in _nodes(data):
            types = node.get("@type")
            types = types if isinstance(types, list) else [types]
            if not any(isinstance(t, str) and t.lower() in _ARTICLE_TYPES for t in types):
                continue
            out = {key: _plain(node.get(key)) for key in ("headline", "datePublished", "inLanguage")}
            out["author"] = ", ".join(n for n in (_name(a) for a in _list(node.get("author"))) if n)
            return {k: v for k, v in out.items() if v}
    return {}


def _nodes(data: Any) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    for item in _list(data):
        if isinstance(item, dict):
            nodes.append(item)
            nodes.extend(_nodes(item.get("@graph")))
    return nodes


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _name(value: Any) -> str:
    if isinstance(value, dict):
        return _plain(value.get("name"))
    return "" if _plain(value).startswith(("http://", "https://")) else _plain(value)


def _plain(value: Any) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _when(value: str | None) -> datetime | None:
    """An ISO 8601 time as declared, in UTC (the catalog keeps UTC; the page keeps its offset);
    one without a zone is read as UTC."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _lang(value: str | None) -> str | None:
    """The primary language subtag (`ar-SY`, `ar_AR` -> `ar`)."""
    if not value or not _LANG.match(value.strip()):
        return None
    return re.split(r"[-_]", value.strip())[0].lower()



def web_post(article: Article, *, source: str, warc: WarcLocation | None = None) -> Post:
    """The `web` post of a page: one shape for a capture, an import and a sample."""
    return Post(
        platform="web", source=source, post_id=article.url, url=article.url, title=article.title or None,
        author=article.author, published=article.published, text=article.text, language=article.language,
        page_url=article.url, media=[Media(kind="image", url=url) for url in article.images], warc=warc,
    )
