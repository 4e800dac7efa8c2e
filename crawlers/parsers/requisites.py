"""Page requisites: what a page needs to look as it did (stylesheets, scripts, fonts, icons, CSS
images, avatars drawn as backgrounds), found in its HTML and in the stylesheets it loads.

Why: an archive of the HTML alone replays unstyled with broken images, and a viewer (or a court)
sees a page that never looked like that. Browsertrix and ArchiveBox fetch these from any host;
the spiders do too, within the per-page limits the settings give.
"""

from __future__ import annotations

import re
from urllib.parse import urldefrag, urljoin

from parsel import Selector

# url(...) in CSS, quoted or not; @import "x.css" without url()
_CSS_URL = re.compile(r"""url\(\s*(?P<q>['"]?)(?P<u>[^'")]*?)(?P=q)\s*\)""", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"""@import\s+(?P<q>['"])(?P<u>[^'"]+)(?P=q)""", re.IGNORECASE)
_LINK_RELS = {"stylesheet", "icon", "shortcut", "apple-touch-icon", "preload", "modulepreload", "manifest"}


def _absolute(base: str, raw: str) -> str | None:
    raw = raw.strip()
    if not raw or raw.startswith(("data:", "javascript:", "about:", "#", "blob:")):
        return None
    url = urldefrag(urljoin(base, raw))[0]
    return url if url.startswith(("http://", "https://")) else None


def css_urls(css: str, base: str) -> list[str]:
    """Every url(...) and @import of a stylesheet or style attribute, absolute, in order, once."""
    found = [m.group("u") for m in _CSS_URL.finditer(css)] + [m.group("u") for m in _CSS_IMPORT.finditer(css)]
    return list(dict.fromkeys(u for u in (_absolute(base, f) for f in found) if u))


def html_requisites(html: str, base: str) -> list[str]:
    """The requisites an HTML page names: <link> stylesheets/icons/preloads, <script src>, <img>,
    <source>, <video poster>, <input type=image>, and url(...) in <style> blocks and style attributes."""
    sel = Selector(text=html)
    href_base = sel.css("base::attr(href)").get()
    if href_base:
        base = urljoin(base, href_base.strip())
    found: list[str] = []
    for link in sel.css("link[href]"):
        rels = set((link.attrib.get("rel") or "").lower().split())
        if rels & _LINK_RELS:
            found.append(link.attrib["href"])
    found += sel.css("script::attr(src), img::attr(src), input[type=image]::attr(src), video::attr(poster), "
                     "track::attr(src)").getall()
    for srcset in sel.css("img::attr(srcset), source::attr(srcset)").getall():
        found += [part.strip().split()[0] for part in srcset.split(",") if part.strip()]
    urls = [u for u in (_absolute(base, f) for f in found) if u]
    for block in sel.css("style::text").getall() + sel.css("[style]::attr(style)").getall():
        urls += css_urls(block, base)
    return list(dict.fromkeys(urls))
