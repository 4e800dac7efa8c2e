"""One plain Playwright run, no recording: Debian's chromium opens each page with
`page.goto(url, wait_until="networkidle")`, as a script would without tawthiq; prints JSON.

    python -m bench.browser.plain URL [URL ...]
"""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    received = 0
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                     args=["--disable-quic", "--no-first-run", "--disable-background-networking"])
        context = browser.new_context(service_workers="block", viewport={"width": 1280, "height": 900})
        first_page = time.monotonic()
        for url in sys.argv[1:]:
            page = context.new_page()
            sizes: list[int] = []
            page.on("response", lambda r: sizes.append(int(r.headers.get("content-length") or 0)))
            page.goto(url, wait_until="networkidle")
            received += sum(sizes)
            page.close()
        pages_seconds = time.monotonic() - first_page
        browser.close()
    print(json.dumps({"seconds": time.monotonic() - started, "pages_seconds": pages_seconds,
                      "pages": len(sys.argv) - 1, "bytes": received}))


if __name__ == "__main__":
    main()
