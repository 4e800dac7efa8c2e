"""bench/capture: pages per second archived from a local site of 2,000 pages.

Side by side, in one run, on the same site served by nginx (not the bottleneck):
  wget --warc-file   the reference web archiver (sequential, one connection)
  tawthiq            Scrapy with wire-level recording into WARC + catalog
  scrapy, no record  the same spider and settings with recording switched off
Rounds alternate the three so machine noise hits them alike; medians are reported.
Run with `make bench` (needs nginx and wget: apt-get install nginx-light wget).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from bench.common import run_json

WORDS = ("evidence", "archive", "bulletin", "report", "shelling", "hospital", "market", "witness",
         "نعي", "قصف", "مستشفى", "شاهد")


def make_site(root: Path, pages: int) -> None:
    rng = random.Random(7)
    for i in range(pages):
        links = [c for c in (2 * i + 1, 2 * i + 2) if c < pages] + [rng.randrange(pages) for _ in range(3)]
        text = " ".join(rng.choice(WORDS) for _ in range(300))
        html = (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>page {i}</title></head><body>'
                f"<h1>Page {i}</h1><p>{text}</p><ul>"
                + "".join(f'<li><a href="/p/{j}.html">page {j}</a></li>' for j in links)
                + "</ul></body></html>")
        (root / "p").mkdir(exist_ok=True)
        (root / "p" / f"{i}.html").write_text(html, encoding="utf-8")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_nginx(site: Path, work: Path, port: int) -> subprocess.Popen:
    conf = work / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  keepalive_requests 100000;
  types {{ text/html html; video/mp4 mp4; }}
  client_body_temp_path {work}/tmp;
  proxy_temp_path {work}/tmp;
  fastcgi_temp_path {work}/tmp;
  uwsgi_temp_path {work}/tmp;
  scgi_temp_path {work}/tmp;
  server {{ listen 127.0.0.1:{port}; root {site}; gzip on; gzip_types text/html; }}
}}
""")
    (work / "tmp").mkdir(exist_ok=True)
    proc = subprocess.Popen(["nginx", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc
        except OSError:
            time.sleep(0.05)
    raise SystemExit("bench: nginx did not start: " + (proc.stderr.read().decode() if proc.stderr else ""))


def run_wget(url: str, work: Path) -> dict:
    out = work / "wget"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    start = time.monotonic()
    subprocess.run(["wget", "-q", "-r", "-l", "inf", "-np", "-nd", "--delete-after", "-e", "robots=off",
                    f"--warc-file={out}/bench", "--no-warc-keep-log", url], cwd=out, check=False)
    seconds = time.monotonic() - start
    warc = out / "bench.warc.gz"
    responses = 0
    if warc.exists():
        from warcio.archiveiterator import ArchiveIterator
        with open(warc, "rb") as fh:
            responses = sum(1 for r in ArchiveIterator(fh) if r.rec_type == "response")
    return {"pages": responses, "seconds": seconds, "warc_bytes": warc.stat().st_size if warc.exists() else 0}


def run_tawthiq(url: str, work: Path, mode: str) -> dict:
    data = work / f"data-{mode}"
    shutil.rmtree(data, ignore_errors=True)
    return run_json("bench.capture.crawl_once", url, str(data), mode, label=f"tawthiq {mode}")


def round_order(names: Iterable[str], round_number: int) -> list[str]:
    """The tools in a different order each round, so machine noise hits them alike."""
    order = list(names)
    random.Random(round_number).shuffle(order)
    return order


def measure(name: str, url: str, work: Path, tawthiq: Callable[[str, Path, str], dict] | None = None) -> dict:
    """One tool's run over the site: wget, or tawthiq recording or not (by the tool's name)."""
    if name.startswith("wget"):
        fig = run_wget(url, work)
    else:
        fig = (tawthiq or run_tawthiq)(url, work, "record" if name.startswith("tawthiq") else "plain")
    fig["rate"] = fig["pages"] / fig["seconds"]
    return fig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for tool in ("nginx", "wget"):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench: {tool} is not installed (apt-get install nginx-light wget)")
    with tempfile.TemporaryDirectory(prefix="tawthiq-bench-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o755)
        site = work / "site"
        site.mkdir()
        make_site(site, args.pages)
        port = free_port()
        nginx = start_nginx(site, work, port)
        url = f"http://127.0.0.1:{port}/p/0.html"
        results: dict[str, list[dict]] = {"wget --warc-file": [], "tawthiq (recording)": [], "scrapy, no recording": []}
        try:
            for r in range(args.rounds):
                for name in round_order(results, r):
                    fig = measure(name, url, work)
                    results[name].append(fig)
                    print(f"round {r + 1} {name:22s} {fig['pages']:5d} pages {fig['seconds']:6.2f} s "
                          f"{fig['rate']:7.1f} pages/s", flush=True)
        finally:
            nginx.send_signal(signal.SIGTERM)
            nginx.wait()
    med = {name: statistics.median(f["rate"] for f in figs) for name, figs in results.items()}
    print()
    print(f"{'':24s}{'pages/s (median)':>18s}{'pages':>8s}{'WARC bytes':>14s}")
    for name, figs in results.items():
        print(f"{name:24s}{med[name]:18.1f}{figs[-1]['pages']:8d}{figs[-1].get('warc_bytes', 0):14d}")
    rec, plain, wget = med["tawthiq (recording)"], med["scrapy, no recording"], med["wget --warc-file"]
    print()
    print(f"tawthiq / wget:                     {rec / wget:5.2f}x")
    print(f"recording overhead vs no recording: {100 * (1 - rec / plain):5.1f} %")


if __name__ == "__main__":
    main()
