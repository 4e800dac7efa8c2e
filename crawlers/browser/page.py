"""One page in the browser: load it, run the behaviours, keep the evidence of the page as seen
(full-page PNG screenshot, PDF, rendered DOM) and what it tells the capture (media manifests for
the video fetcher, whether it shows a "logged out" marker). Nothing here writes the archive: the
browser fetcher (crawlers/fetchers/browser.py) does, from the proxy's record and this result.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tawthiq.crawlers.browser.behaviours import Limits, Network, Outcome, run_behaviours

# Media the video fetcher should take over: streaming manifests, and media files by type.
MANIFEST = re.compile(r"\.(m3u8|mpd)(\?|$)", re.IGNORECASE)
MANIFEST_TYPES = ("application/vnd.apple.mpegurl", "application/x-mpegurl", "application/dash+xml")


@dataclass
class PageOptions:
    load_seconds: float = 30.0
    limits: Limits = field(default_factory=Limits)
    screenshot: bool = True
    pdf: bool = True
    # A CSS selector, or `text=...`, whose presence means the profile is logged out.
    logged_out_marker: str = ""


@dataclass
class PageResult:
    url: str
    final_url: str
    status: int | None
    started: datetime
    dom: str = ""
    title: str = ""
    screenshot: Path | None = None
    screenshot_size: tuple[int, int] | None = None
    pdf: Path | None = None
    behaviours: list[Outcome] = field(default_factory=list)
    manifests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    logged_out: str | None = None
    user_agent: str = ""
    viewport: dict[str, int] = field(default_factory=dict)


def capture_page(context: Any, url: str, options: PageOptions, workdir: Path,
                 stopping: Callable[[], bool]) -> PageResult:
    """Open `url` in a new tab of `context` and capture it; the tab is closed on return. Errors of
    any step are in `errors`; what the page had loaded by then is still captured."""
    from playwright.sync_api import Error

    result = PageResult(url=url, final_url=url, status=None, started=datetime.now(timezone.utc))
    page = context.new_page()
    network = Network()
    network.attach(page)
    manifests: list[str] = []

    def on_response(response: Any) -> None:
        kind = (response.headers.get("content-type") or "").split(";")[0].strip().lower()
        if MANIFEST.search(response.url) or kind in MANIFEST_TYPES:
            if response.url not in manifests:
                manifests.append(response.url)

    page.on("response", on_response)
    try:
        try:
            response = page.goto(url, wait_until="load", timeout=options.load_seconds * 1000)
            if response is not None:
                result.status = response.status
        except Error as exc:
            result.errors.append(f"the page did not finish loading: {_first_line(exc)}")
        result.final_url = page.url or url
        if options.logged_out_marker and _shows(page, options.logged_out_marker):
            result.logged_out = options.logged_out_marker
            return result
        result.behaviours = run_behaviours(page, network, options.limits, stopping)
        result.errors += [f"behaviour {o.name}: {o.error}" for o in result.behaviours
                          if o.error and "stopped" not in o.error]
        settled = [o for o in result.behaviours if o.name in ("settle", "settle-final")][-1:]
        if settled and settled[0].result and not settled[0].result.get("settled"):
            result.errors.append(f"the page's network did not settle within {options.limits.settle_seconds:.0f} s; "
                                 "archived with what it had loaded")
        result.final_url = page.url or result.final_url
        result.viewport = dict(page.viewport_size or {})
        result.user_agent = str(page.evaluate("() => navigator.userAgent"))
        result.title = str(page.title())
        result.dom = str(page.content())
        stem = f"page-{time.monotonic_ns()}"
        if options.screenshot:
            shot = workdir / f"{stem}.png"
            try:
                page.screenshot(path=str(shot), full_page=True, timeout=options.load_seconds * 1000)
                result.screenshot = shot
                result.screenshot_size = _png_size(shot)
            except Error as exc:
                result.errors.append(f"no screenshot: {_first_line(exc)}")
        if options.pdf:
            printed = workdir / f"{stem}.pdf"
            try:
                page.emulate_media(media="screen")  # the page as it was seen, not its print style
                page.pdf(path=str(printed), print_background=True)
                result.pdf = printed
            except Error as exc:
                result.errors.append(f"no PDF: {_first_line(exc)}")
        result.manifests = manifests
    finally:
        # Every tab this page opened (window.open needs no click in an automated chromium) goes
        # with it: a popup left running would load things while the next page is captured, and
        # they would be filed under that page.
        for tab in [page, *[p for p in context.pages if p is not page]]:
            try:
                tab.close()
            except Error:
                pass
    return result


def _shows(page: Any, marker: str) -> bool:
    try:
        return bool(page.locator(marker).count())
    except Exception:  # noqa: BLE001 - a malformed selector is the setting's mistake, said elsewhere
        return False


def _png_size(path: Path) -> tuple[int, int] | None:
    head = path.read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
