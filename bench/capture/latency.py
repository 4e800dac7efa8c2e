"""bench/capture, latency case: pages per second from a site whose every response takes N ms.

Against nginx on loopback (run.py) a response takes microseconds, so that case measures CPU per
page. A real site answers in tens of milliseconds; there a crawler's concurrency is what counts.
This case serves the same generated site from bench/capture/slow_server.py (aiohttp, each
response delayed 20 ms, then 100 ms; the delays overlap, so the server is not the bottleneck)
and times, in alternating rounds, over the whole process (start, crawl, seal, exit):
  wget --warc-file   sequential, one request at a time: about pages x delay
  tawthiq            Scrapy with wire-level recording into WARC + catalog
  scrapy, no record  the same spider and settings with recording switched off
For tawthiq it also prints the crawl alone (Scrapy's elapsed_time_seconds), the fixed cost
around it (process time minus crawl), and the ceiling the concurrency setting allows
(concurrent_requests_per_domain / delay). Needs wget.

    python -m bench.capture.latency [--pages 1000] [--rounds 1] [--delays 20,100]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.capture.run import free_port, make_site, measure, round_order
from bench.common import ROOT, clean_env, run_json

TOOLS = ("wget --warc-file", "tawthiq (recording)", "scrapy, no recording")


def start_server(site: Path, port: int, delay_ms: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "bench.capture.slow_server", str(site), str(port), str(delay_ms)],
                            cwd=ROOT, env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(200):
        if proc.poll() is not None:
            break
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("bench: the delaying server did not start: " + (proc.stderr.read().decode() if proc.stderr else ""))


def run_tawthiq(url: str, work: Path, mode: str) -> dict:
    data = work / f"data-{mode}"
    shutil.rmtree(data, ignore_errors=True)
    start = time.monotonic()
    fig = run_json("bench.capture.crawl_once", url, str(data), mode, label=f"tawthiq {mode}")
    fig["seconds"] = time.monotonic() - start  # the whole process, as wget is timed
    return fig


def one_delay(site: Path, work: Path, delay_ms: int, rounds: int) -> dict[str, list[dict]]:
    port = free_port()
    server = start_server(site, port, delay_ms)
    url = f"http://127.0.0.1:{port}/p/0.html"
    results: dict[str, list[dict]] = {name: [] for name in TOOLS}
    try:
        for r in range(rounds):
            for name in round_order(TOOLS, r):
                fig = measure(name, url, work, tawthiq=run_tawthiq)
                results[name].append(fig)
                extra = ""
                if "crawl_seconds" in fig:
                    extra = (f"  crawl {fig['crawl_seconds']:6.2f} s {fig['pages'] / fig['crawl_seconds']:6.1f} pages/s"
                             f"  cpu {fig['cpu_seconds']:5.2f} s")
                print(f"{delay_ms:4d} ms round {r + 1} {name:22s} {fig['pages']:5d} pages {fig['seconds']:6.2f} s "
                      f"{fig['rate']:7.1f} pages/s{extra}", flush=True)
    finally:
        server.terminate()
        server.wait()
    return results


def report(delay_ms: int, results: dict[str, list[dict]]) -> None:
    def med(name: str, key: str) -> float:
        return statistics.median(f[key] for f in results[name])

    per_domain = results[TOOLS[1]][-1]["per_domain"]
    ceiling = per_domain * 1000 / delay_ms
    print(f"\n{delay_ms} ms per response (ceiling at {per_domain} per domain: {ceiling:.0f} pages/s)")
    print(f"{'':24s}{'process pages/s':>16s}{'crawl pages/s':>15s}{'fixed s':>9s}{'CPU s':>8s}{'pages':>7s}")
    for name in TOOLS:
        figs = results[name]
        pages = figs[-1]["pages"]
        line = f"{name:24s}{med(name, 'rate'):16.1f}"
        if "crawl_seconds" in figs[-1]:
            crawl = statistics.median(f["pages"] / f["crawl_seconds"] for f in figs)
            fixed = statistics.median(f["seconds"] - f["crawl_seconds"] for f in figs)
            line += f"{crawl:15.1f}{fixed:9.2f}{med(name, 'cpu_seconds'):8.2f}"
        else:
            line += f"{'-':>15s}{'-':>9s}{'-':>8s}"
        print(line + f"{pages:7d}")
    rec, plain, wget = (med(n, "rate") for n in TOOLS[1:] + TOOLS[:1])
    print(f"tawthiq / wget: {rec / wget:5.2f}x   recording overhead vs no recording: {100 * (1 - rec / plain):5.1f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--delays", default="20,100", help="milliseconds per response, comma-separated")
    args = parser.parse_args()
    try:
        delays = [int(d) for d in args.delays.split(",") if d.strip()]
    except ValueError:
        raise SystemExit(f"bench: --delays wants whole milliseconds, comma-separated, not {args.delays!r}") from None
    if not delays or min(delays) <= 0 or args.pages < 1 or args.rounds < 1:
        raise SystemExit("bench: --pages, --rounds and every delay must be positive")
    if shutil.which("wget") is None:
        raise SystemExit("bench: wget is not installed (apt-get install wget)")
    with tempfile.TemporaryDirectory(prefix="tawthiq-bench-latency-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o755)
        site = work / "site"
        site.mkdir()
        make_site(site, args.pages)
        results = {d: one_delay(site, work, d, args.rounds) for d in delays}
    for delay_ms, figs in results.items():
        report(delay_ms, figs)


if __name__ == "__main__":
    main()
