"""What the browser does on a page before it is recorded as seen: each step bounded in time, each
outcome written down (the page's `browser-page` record lists them), none able to hang a capture.

Modelled on Browsertrix's behaviours (autoscroll, autofetch, autoplay, "show more"), in a few lines
of page script each:
  - settle: wait for the network to go quiet (bounded);
  - expand: open <details>, click "read more" / "show more" buttons (English and Arabic labels,
    `aria-expanded="false"`); never a link that leaves the page;
  - lazy: copy `data-src` / `data-srcset` into `src` / `srcset`, make `loading=lazy` eager, and bring
    each image into view once;
  - scroll: to the end, again while the page grows (infinite timelines), up to a number of scrolls
    and of seconds;
  - play: start each <video>/<audio> muted, long enough for it to fetch its manifest and first
    segments (the video fetcher then takes the manifest URLs the page used).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

EXPAND_JS = r"""() => {
  const labels = /^\s*(read more|show more|see more|more|load more|expand|continue reading|اقرأ المزيد|المزيد|عرض المزيد|اقرأ أكثر|إظهار المزيد|تحميل المزيد)\s*(…|\.\.\.)?\s*$/i;
  let clicked = 0;
  for (const d of document.querySelectorAll('details:not([open])')) { d.open = true; clicked++; }
  const candidates = document.querySelectorAll('button, [role=button], a, summary');
  for (const el of candidates) {
    if (el.dataset.tawthiqClicked) continue;
    const text = (el.innerText || el.textContent || '').trim();
    const collapsed = el.getAttribute('aria-expanded') === 'false';
    if (!collapsed && !labels.test(text)) continue;
    if (el.tagName === 'A') {
      const href = el.getAttribute('href') || '';
      if (href && !href.startsWith('#') && !href.toLowerCase().startsWith('javascript:')) continue;
    }
    if (el.closest('form') && el.type === 'submit') continue;
    el.dataset.tawthiqClicked = '1';
    try { el.click(); clicked++; } catch (e) {}
  }
  return clicked;
}"""

LAZY_JS = r"""() => {
  let changed = 0;
  for (const el of document.querySelectorAll('img, source, iframe, video')) {
    for (const [from, to] of [['data-src', 'src'], ['data-srcset', 'srcset'], ['data-lazy-src', 'src'], ['data-original', 'src']]) {
      const v = el.getAttribute(from);
      if (v && el.getAttribute(to) !== v) { el.setAttribute(to, v); changed++; }
    }
    if (el.getAttribute('loading') === 'lazy') { el.setAttribute('loading', 'eager'); changed++; }
  }
  return changed;
}"""

IMAGES_JS = r"""() => Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).length"""

SCROLL_JS = r"""() => { window.scrollTo(0, document.documentElement.scrollHeight); return document.documentElement.scrollHeight; }"""

PLAY_JS = r"""() => {
  let n = 0;
  for (const m of document.querySelectorAll('video, audio')) {
    m.muted = true;
    try { const p = m.play(); if (p && p.catch) p.catch(() => {}); n++; } catch (e) {}
  }
  return n;
}"""

MEDIA_SOURCES_JS = r"""() => Array.from(document.querySelectorAll('video, audio, video source, audio source'))
  .map(m => m.currentSrc || m.src || '').filter(s => s)"""


@dataclass
class Limits:
    settle_seconds: float = 10.0
    idle_seconds: float = 0.5  # the network counts as quiet after this long without a request
    scroll_max: int = 30
    scroll_seconds: float = 30.0
    play_seconds: float = 3.0
    expand_rounds: int = 3
    enabled: bool = True  # False: only wait for the network to settle (no scroll, clicks, play)


@dataclass
class Outcome:
    name: str
    seconds: float
    result: Any = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "seconds": round(self.seconds, 3), "result": self.result, "error": self.error}


@dataclass
class Network:
    """Requests in flight on the page, counted from the page's own events (the proxy's count is
    the final word before recording; this one tells behaviours when the page has gone quiet)."""

    in_flight: set[Any] = field(default_factory=set)
    last_change: float = field(default_factory=time.monotonic)

    def attach(self, page: Any) -> None:
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)

    def _started(self, request: Any) -> None:
        self.in_flight.add(request)
        self.last_change = time.monotonic()

    def _ended(self, request: Any) -> None:
        self.in_flight.discard(request)
        self.last_change = time.monotonic()

    def quiet(self, page: Any, *, timeout: float, idle: float, acted: bool = False) -> bool:
        """Wait until nothing was in flight for `idle` seconds; False after `timeout`.

        `acted`: a behaviour has just scrolled or clicked, so the quiet is counted from now. The
        page's answer (an IntersectionObserver's fetch, a click handler's) starts a moment later,
        and its request event reaches Playwright later still: without this, a network quiet since
        before the scroll counted at once, the page looked as if it had stopped growing, and an
        infinite timeline was cut short (tests/test_browser_capture.py, under CPU load)."""
        deadline = time.monotonic() + timeout
        since = time.monotonic() if acted else None
        while True:
            now = time.monotonic()
            if not self.in_flight and now - max(self.last_change, since or 0.0) >= idle:
                return True
            if now >= deadline:
                return False
            page.wait_for_timeout(50)  # lets Playwright deliver the page's events


def run_behaviours(page: Any, network: Network, limits: Limits, stopping: Callable[[], bool]) -> list[Outcome]:
    """Every behaviour in turn; each one's failure is written down and the next one runs."""
    outcomes: list[Outcome] = []

    def step(name: str, action: Callable[[], Any]) -> None:
        if stopping():
            outcomes.append(Outcome(name, 0.0, error="the capture was stopped"))
            return
        started = time.monotonic()
        try:
            result = action()
            outcomes.append(Outcome(name, time.monotonic() - started, result))
        except Exception as exc:  # noqa: BLE001 - a behaviour that fails is recorded, the page goes on
            outcomes.append(Outcome(name, time.monotonic() - started, error=_first_line(exc)))

    def settle() -> dict[str, Any]:
        quiet = network.quiet(page, timeout=limits.settle_seconds, idle=limits.idle_seconds)
        return {"settled": quiet, "in_flight": len(network.in_flight)}

    def expand() -> int:
        total = 0
        for _ in range(limits.expand_rounds):
            clicked = int(page.evaluate(EXPAND_JS))
            if not clicked:
                break
            total += clicked
            network.quiet(page, timeout=min(5.0, limits.settle_seconds), idle=limits.idle_seconds, acted=True)
        return total

    def lazy() -> dict[str, int]:
        changed = int(page.evaluate(LAZY_JS))
        # Bring every image into view once, so IntersectionObserver-driven loaders fire.
        # At most 300 images (~6 s): a page of 100,000 would otherwise take half an hour.
        images = int(page.evaluate("""async () => { for (const i of Array.from(document.images).slice(0, 300)) { i.scrollIntoView(); await new Promise(r => setTimeout(r, 20)); } window.scrollTo(0, 0); return document.images.length; }"""))
        network.quiet(page, timeout=min(5.0, limits.settle_seconds), idle=limits.idle_seconds,
                      acted=bool(images or changed))
        return {"changed": changed, "unloaded": int(page.evaluate(IMAGES_JS))}

    def scroll() -> dict[str, Any]:
        deadline = time.monotonic() + limits.scroll_seconds
        height = int(page.evaluate("() => document.documentElement.scrollHeight"))
        scrolls = unchanged = 0
        while scrolls < limits.scroll_max and time.monotonic() < deadline and not stopping():
            new_height = int(page.evaluate(SCROLL_JS))
            scrolls += 1
            # Each wait after a scroll is bounded by browser_settle_seconds too, as the other
            # behaviours' waits are: a page that never goes quiet must not spend 5 s per scroll.
            network.quiet(page, timeout=max(0.1, min(5.0, limits.settle_seconds, deadline - time.monotonic())),
                          idle=limits.idle_seconds, acted=True)
            new_height = int(page.evaluate("() => document.documentElement.scrollHeight"))
            if new_height <= height:
                unchanged += 1
                if unchanged >= 2:
                    break
            else:
                unchanged = 0
            height = new_height
        reason = "end" if unchanged >= 2 else "limit" if scrolls >= limits.scroll_max else "time"
        page.evaluate("() => window.scrollTo(0, 0)")
        return {"scrolls": scrolls, "height": height, "stopped_by": reason}

    def play() -> dict[str, Any]:
        playing = int(page.evaluate(PLAY_JS))
        if playing:
            page.wait_for_timeout(int(limits.play_seconds * 1000))
            network.quiet(page, timeout=min(5.0, limits.settle_seconds), idle=limits.idle_seconds)
        return {"media": playing, "sources": page.evaluate(MEDIA_SOURCES_JS)}

    step("settle", settle)
    if not limits.enabled:
        return outcomes
    step("expand", expand)
    step("lazy", lazy)
    step("scroll", scroll)
    step("expand-after-scroll", expand)
    step("lazy-after-scroll", lazy)
    step("play", play)
    step("settle-final", settle)
    return outcomes


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
