"""bench/browser: pages per minute through tawthiq's browser capture against plain Playwright
`page.goto` of the same pages without recording, side by side in one run.

The site (bench/browser/site.py): N script-rendered news pages, each an empty shell that fetches
its articles as JSON and shows 4 JPEG photos (40-160 KB of noise), served by aiohttp with a delay
per response (default 20 ms, a far server's round trip). Three ways, alternating each round:
  - plain:     Playwright + Debian's chromium, `goto(wait_until="networkidle")`, no proxy;
  - recording: `tawthiq capture browser:URL ...` with behaviours, screenshot, PDF and near-duplicate
               signing off: the same work plus the recording proxy, the WARC and the catalog (the
               overhead the target is about);
  - full:      `tawthiq capture` with the defaults: behaviours (expand, lazy, scroll, play),
               full-page screenshot, PDF and DOM.
Whole processes (browser start included) and the pages alone are both reported; medians.
Run with `make bench-browser` (needs chromium and .venv-mitm).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.capture.run import free_port, round_order
from bench.common import ROOT, clean_env, run_json
from bench.browser.site import make_site

# Recording only: no behaviours, no screenshot or PDF, no near-duplicate signing of the photos (the
# dedupe stage, ~75 ms a photo, which the Scrapy path pays as well).
RECORDING_ONLY = ["browser_behaviours=false", "browser_screenshot=false", "browser_pdf=false", "dedupe=false"]


def tawthiq(urls: list[str], work: Path, extra: list[str]) -> dict:
    data = work / "data"
    shutil.rmtree(data, ignore_errors=True)
    sets = [arg for value in ["allow_private_targets=true", *extra] for arg in ("--set", value)]
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "tawthiq.cli", "capture", *[f"browser:{u}" for u in urls],
                             *sets, "--data-dir", str(data)], cwd=ROOT, env=clean_env(), capture_output=True,
                            text=True)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"bench: tawthiq failed ({result.returncode}): {(result.stdout + result.stderr)[-800:]}")
    warcs = sum(p.stat().st_size for p in (data / "warcs").glob("*.warc.gz"))
    return {"seconds": seconds, "pages": len(urls), "bytes": warcs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--delay-ms", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("chromium") is None and not Path("/usr/bin/chromium").exists():
        raise SystemExit("bench: chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="tawthiq-bench-browser-") as tmp:
        work = Path(tmp)
        site = work / "site"
        photo_bytes = make_site(site, args.pages)
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "bench.browser.site", str(site), str(port), str(args.delay_ms)],
                                  cwd=ROOT)
        try:
            time.sleep(1.0)
            urls = [f"http://127.0.0.1:{port}/page-{n}.html" for n in range(args.pages)]
            ways = {
                "plain": lambda: run_json("bench.browser.plain", *urls, label="plain Playwright"),
                "recording": lambda: tawthiq(urls, work, RECORDING_ONLY),
                "full": lambda: tawthiq(urls, work, []),
            }
            results: dict[str, list[dict]] = {name: [] for name in ways}
            for round_number in range(args.rounds):
                for name in round_order(ways, round_number):
                    results[name].append(ways[name]())
        finally:
            server.terminate()
            server.wait()
    print(f"bench/browser: {args.pages} script-rendered pages (4 photos each, {photo_bytes / 1e6:.1f} MB of photos), "
          f"{args.delay_ms:.0f} ms per response, median of {args.rounds} rounds, whole processes")
    medians = {name: statistics.median(r["seconds"] for r in runs) for name, runs in results.items()}
    for name, runs in results.items():
        seconds = medians[name]
        size = statistics.median(r["bytes"] for r in runs)
        extra = ""
        if name == "plain":
            pages_only = statistics.median(r["pages_seconds"] for r in runs)
            extra = f"  (pages alone {pages_only:.1f} s, {60 * args.pages / pages_only:.0f} pages/min)"
        print(f"  {name:10s} {seconds:6.1f} s  {60 * args.pages / seconds:6.0f} pages/min  "
              f"{size / 1e6:6.1f} MB {'received' if name == 'plain' else 'in WARC'}{extra}")
    overhead = medians["recording"] / medians["plain"] - 1
    print(f"  recording overhead against plain Playwright: {100 * overhead:+.0f} % (target: under 25 %: "
          f"{'met' if overhead < 0.25 else 'not met'}); full evidence: {100 * (medians['full'] / medians['plain'] - 1):+.0f} %")


if __name__ == "__main__":
    main()
