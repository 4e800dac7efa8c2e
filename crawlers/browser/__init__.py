"""Browser capture: Debian's chromium driven by Playwright behind a recording proxy (mitmproxy).

  proxy.py       the `mitmdump` child process and its per-data-folder CA
  mitm_addon.py  the addon inside mitmdump that spools every exchange (runs in mitmproxy's venv)
  flows.py       spool files read back as exchanges for the archive
  chromium.py    the browser: switches, proxy, CA trust, service workers blocked, login profiles
  behaviours.py  settle, expand, lazy images, scroll, play: each bounded, each outcome recorded
  page.py        one page: load, behaviours, screenshot, PDF, DOM, manifests, logged-out marker
  profiles.py    login profiles (DATA_DIR/browser/profiles/NAME): list, delete, log in without the proxy
The fetcher that archives what these produce is crawlers/fetchers/browser.py.
"""
