"""Debian's chromium, driven by Playwright (no browser download), behind the recording proxy.

One browser per capture process. What a capture needs of it, and why each switch is there:
  - every request through the proxy, loopback included (Playwright proxies loopback too), QUIC off
    (chromium cannot send QUIC through an HTTP proxy, and would race the proxy with it);
  - the proxy's CA accepted by key hash, for this browser only (see proxy.py);
  - service workers blocked: a worker could answer the page's requests from its own cache or fetch
    them outside the page, and what it fetched would be missing from the record;
  - no background traffic of chromium's own (sync, component updates, safe-browsing lists), which
    would otherwise be recorded as if the page had asked for it;
  - a logged-in profile (`profile`): a persistent user-data folder kept under the data folder and
    never exported.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHROMIUM_SWITCHES = (
    "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-default-apps", "--disable-domain-reliability", "--disable-breakpad",
    "--metrics-recording-only", "--no-pings", "--disable-extensions", "--disable-client-side-phishing-detection",
    # No --disable-features here: chromium keeps only the last such switch, and Playwright's own
    # (NetworkTimeServiceQuerying, OptimizationHints, ...) already stops the background requests.
)


class BrowserError(RuntimeError):
    """The browser could not start, or died."""


def find_chromium(configured: str = "") -> str:
    for candidate in ([configured] if configured else ["/usr/bin/chromium", "chromium", "chromium-browser"]):
        if Path(candidate).is_file():
            return candidate
        found = shutil.which(candidate)
        if found:
            return found
    raise BrowserError(f"browser capture needs chromium ({configured or '/usr/bin/chromium'} not found): "
                       "apt-get install chromium, or set browser_executable")


@dataclass
class BrowserOptions:
    executable: str = ""
    headless: bool = True
    viewport: tuple[int, int] = (1280, 900)
    user_agent: str = ""  # empty: chromium's own
    profile: Path | None = None  # a persistent, logged-in profile


class Browser:
    """A started chromium with one context whose traffic goes through `proxy_address`."""

    def __init__(self, proxy_address: str, ca_spki: str, options: BrowserOptions) -> None:
        self._proxy_address = proxy_address
        self._ca_spki = ca_spki
        self.options = options
        self._playwright: Any = None
        self._browser: Any = None
        self.context: Any = None
        self.version = ""

    def start(self) -> None:
        from playwright.sync_api import Error, sync_playwright

        executable = find_chromium(self.options.executable)
        args = [*CHROMIUM_SWITCHES, f"--ignore-certificate-errors-spki-list={self._ca_spki}"]
        common: dict[str, Any] = {
            "executable_path": executable, "headless": self.options.headless, "args": args,
            "proxy": {"server": self._proxy_address},
        }
        context_options: dict[str, Any] = {
            "service_workers": "block",
            "viewport": {"width": self.options.viewport[0], "height": self.options.viewport[1]},
        }
        if self.options.user_agent:
            context_options["user_agent"] = self.options.user_agent
        self._playwright = sync_playwright().start()
        try:
            if self.options.profile is not None:
                self.options.profile.mkdir(parents=True, exist_ok=True)
                self.context = self._playwright.chromium.launch_persistent_context(
                    str(self.options.profile), **common, **context_options)
                self._browser = self.context.browser
            else:
                self._browser = self._playwright.chromium.launch(**common)
                self.context = self._browser.new_context(**context_options)
        except Error as exc:
            self.stop()
            raise BrowserError(f"chromium did not start: {str(exc).splitlines()[0]}") from exc
        self.version = self._browser.version if self._browser is not None else ""

    @property
    def alive(self) -> bool:
        if self.context is None:
            return False
        return self._browser is None or bool(self._browser.is_connected())

    def stop(self) -> None:
        for closing in (self.context, self._browser):
            if closing is not None:
                try:
                    closing.close()
                except Exception:  # noqa: BLE001 - a crashed browser cannot be closed twice
                    pass
        self.context = self._browser = None
        if self._playwright is not None:
            try:
                self._playwright.stop()
            finally:
                self._playwright = None
