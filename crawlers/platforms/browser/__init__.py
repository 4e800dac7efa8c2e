"""Pages that need JavaScript (`browser:URL`, and any URL on a host listed in `browser_domains`),
captured in a real browser (Debian's chromium, Playwright) behind a recording proxy, by the
`browser` fetcher (crawlers/fetchers/browser.py): every exchange the browser made, a screenshot,
a PDF and the rendered DOM, and the page as a `web` post read from what the browser rendered.

Gone: the page answers 404 or 410. A recheck fetches the page without a browser, so it cannot
tell whether script-made text changed: a page that still answers is "online", never "changed".
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from tawthiq.crawlers.models import Post
from tawthiq.crawlers.platforms.base import (
    CatalogView, CheckState, FetchJob, Job, Platform, PostToCheck, Sample, SpecError, Target, is_http, prefixed,
)


class BrowserOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    browser_domains: list[str] = Field(
        default_factory=list, description="hosts captured in the browser (subdomains included), also when "
        "linked from posts and pages")
    browser_executable: str = Field("", description="chromium to drive (empty: /usr/bin/chromium)")
    browser_mitmdump: str = Field("", description="mitmproxy's mitmdump (empty: .venv-mitm beside the checkout, "
                                  "then PATH)")
    browser_headful: bool = Field(False, description="show the browser window (needs a display)")
    browser_viewport_width: int = Field(1280, ge=320, le=7680)
    browser_viewport_height: int = Field(900, ge=240, le=4320)
    browser_user_agent: str = Field("", description="empty: chromium's own")
    browser_load_seconds: float = Field(30.0, gt=0, description="the page's load event, at most")
    browser_settle_seconds: float = Field(10.0, gt=0, description="waiting for the network to go quiet, at most")
    browser_behaviours: bool = Field(True, description="expand, load lazy images, scroll and play before "
                                     "recording (False: only wait for the network to settle)")
    browser_scroll_max: int = Field(30, ge=0, description="scrolls to the end of a growing page, at most")
    browser_scroll_seconds: float = Field(30.0, ge=0, description="scrolling, at most")
    browser_play_seconds: float = Field(3.0, ge=0, description="media played before recording")
    browser_screenshot: bool = Field(True, description="keep a full-page PNG screenshot")
    browser_pdf: bool = Field(True, description="keep a PDF of the page")
    browser_profile: str = Field("", pattern=r"^([A-Za-z0-9][A-Za-z0-9_.-]{0,63})?$",  # a name, never a path
                                 description="a login profile made by `tawthiq browser login NAME`")
    browser_logged_out_marker: str = Field(
        "", description="a CSS selector (or text=...) that appears only when logged out: such a page pauses "
        "the source instead of being archived")
    browser_page_seconds: float = Field(180.0, ge=0, description="one page, behaviours and evidence included, at "
                                        "most; past it the browser is stopped and the page fails (0: no limit)")
    browser_max_memory_mb: int = Field(4096, ge=0, description="the browser's resident memory, all its processes "
                                       "together; past it the page fails and the browser restarts (0: not watched)")
    browser_max_body: str = Field("512m", pattern=r"^[0-9]+[kmg]?$", description="the largest body the "
                                  "proxy records (mitmproxy's body_size_limit: 512m, 2g); a larger one is "
                                  "refused and recorded as a failure, never held whole in memory")
    browser_verify_upstream_tls: bool = Field(True, description="the proxy checks the sites' certificates")
    browser_upstream_ca_file: str = Field("", description="extra CA the proxy trusts for sites (PEM)")


def routed(url: str, settings: Any) -> bool:
    """True when `url`'s host is one `browser_domains` sends to the browser."""
    domains = getattr(settings, "browser_domains", None) or []
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in (d.lower().strip(".") for d in domains if d))


class BrowserPlatform(Platform):
    name = "browser"
    forms = ("browser:URL",)
    EXAMPLES = ("browser:https://example.org/timeline",)
    Options = BrowserOptions
    has_posts = True
    SAMPLES = (
        Sample(file="rendered-bulletin.html", format="a page's DOM as Chromium serialises it after its scripts ran "
               "(Playwright 1.6x `page.content()`, Debian chromium 156): the page shipped an empty <main id=app> "
               "and a script filled it; synthetic, Arabic (RTL)",
               url="https://bulletins.example.org/2026/11/20/depot-fire", count=1, expect=[
                   {"platform": "browser", "post_id": "https://bulletins.example.org/2026/11/20/depot-fire",
                    "title": "نشرة الدفاع المدني - بلدة المثال", "author": "مكتب إعلام بلدة المثال",
                    "published": "2026-11-20T09:15:00Z", "language": "ar",
                    "text_contains": "بإخماد حريق في مستودع للحبوب"},
               ]),
    )

    def claim(self, spec: str, settings: Any) -> str | None:
        rest = prefixed(spec, "browser")
        if rest is not None:
            if not is_http(rest):
                raise SpecError(f"{spec!r}: a browser capture needs an http(s) URL after 'browser:'")
            return rest
        if settings is not None and is_http(spec) and routed(spec, settings):
            return spec
        return None

    def label(self, value: str) -> str:
        return f"browser:{value}"

    def plan(self, target: Target, settings: Any, catalog: CatalogView) -> list[Job]:
        return [FetchJob("browser", target.value, source=target.label)]

    def check_state(self, post: PostToCheck, status: int, body: bytes, text: str | None) -> tuple[CheckState, str | None]:
        """Gone on 404/410 (the base rule); otherwise online: without a browser the text a script
        put on the page cannot be compared."""
        return super().check_state(post, status, body, text)

    def parse_sample(self, body: bytes, url: str) -> list[Post]:
        return [rendered_post(body.decode("utf-8"), url, source=url)]


def rendered_post(dom: str, url: str, *, source: str, warc: Any = None) -> Post:
    """The `browser` post of a page, read from the DOM the browser rendered (the same extractor
    as plain web pages: title, main text, declared author and date, images)."""
    from tawthiq.crawlers.platforms.web.article import extract, web_post

    return web_post(extract(dom, url, "text/html; charset=utf-8"), source=source, warc=warc).model_copy(
        update={"platform": "browser"})


PLATFORM = BrowserPlatform()
