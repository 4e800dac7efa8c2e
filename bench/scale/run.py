"""bench/scale: posts archived per second by 1, 2 and 4 queue workers against the single-process
capture of the same channels, on this machine (Redis from Debian's redis-server on 127.0.0.1).

Each round captures CHANNELS Telegram-format channels (the demo channel: 25 posts, pages, photos) into a fresh
data directory: once with one `tawthiq capture` of all channels, then through the queue with k
`tawthiq worker --burst` processes. It also counts the Redis commands and catalog rows per run,
for the projection in the README. Run with `make bench-scale`.

It also prints the per-run start cost of one worker (`--start-runs` runs of a one-page web source
each, queued on an idle worker, seconds per run), `tawthiq worker --cold` (a fresh Python process
per run, as before the warm worker) against the warm worker (one fork per run), in alternating
rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, clean_env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _posts(home: Path) -> int:
    with sqlite3.connect(home / "catalog.sqlite") as conn:
        return conn.execute("select count(*) from posts").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=24)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--start-runs", type=int, default=10, help="runs per start-cost measurement")
    parser.add_argument("--start-rounds", type=int, default=2, help="alternating cold/warm rounds")
    parser.add_argument("--start-only", action="store_true", help="measure the per-run start cost only")
    args = parser.parse_args()
    redis_bin = shutil.which("redis-server")
    if not redis_bin:
        raise SystemExit("bench: needs redis-server (apt-get install redis-server)")
    port = _free_port()
    redis_proc = subprocess.Popen([redis_bin, "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _measure(args, f"redis://127.0.0.1:{port}/0")
    finally:
        redis_proc.terminate()


def _measure(args: argparse.Namespace, url: str) -> None:
    from redis import Redis

    from tawthiq.demo.server import LocalServer
    from tawthiq.demo.site import DemoChannel, _file
    from tawthiq.queue import enqueue_capture

    time.sleep(0.5)
    _start_cost(args, url)
    if args.start_only:
        return
    srv = LocalServer()
    chans = [DemoChannel(srv.base_url, name=f"bench_{i:03d}", videos=False) for i in range(args.channels)]
    for ch in chans:
        srv.routes[f"/s/{ch.name}"] = ch.render
    srv.fallback = lambda inc: _file(inc) if inc.path.startswith("/file/") else None
    per_channel = len(chans[0].posts)
    results: dict[str, float] = {}
    env = {**clean_env(), "TAWTHIQ_TELEGRAM_BASE_URL": srv.base_url, "PYTHONWARNINGS": "ignore"}
    with srv:
        work = Path(tempfile.mkdtemp(prefix="tawthiq-bench-scale-"))
        home = work / "single"
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "tawthiq.cli", "capture", *[f"telegram:{c.name}" for c in chans],
                        "--data-dir", str(home)], env=env, cwd=ROOT, capture_output=True, check=True)
        results["single process"] = _posts(home) / (time.perf_counter() - started)
        redis = Redis.from_url(url)
        for k in [int(x) for x in args.workers.split(",")]:
            redis.flushdb()
            home = work / f"workers-{k}"
            home.mkdir()
            (home / "sources.yaml").write_text("sources:\n" + "".join(
                f"  - name: {c.name}\n    spec: telegram:{c.name}\n    every: 1h\n" for c in chans))
            wenv = {**env, "TAWTHIQ_REDIS_URL": url}
            before = redis.info("commandstats")
            calls_before = sum(v["calls"] for v in before.values())
            started = time.perf_counter()
            for c in chans:
                enqueue_capture(redis, str(home), c.name, 600)
            procs = [subprocess.Popen([sys.executable, "-m", "tawthiq.cli", "worker", "--burst", "--data-dir", str(home)],
                                      env={**wenv, "TAWTHIQ_WORKER_ID": f"b{i}"}, cwd=ROOT,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(k)]
            for p in procs:
                p.wait()
            elapsed = time.perf_counter() - started
            calls = sum(v["calls"] for v in redis.info("commandstats").values()) - calls_before
            results[f"{k} worker(s)"] = _posts(home) / elapsed
            results[f"redis commands per run ({k})"] = calls / len(chans)
            if _posts(home) != per_channel * len(chans):
                raise SystemExit(f"bench: {k} worker(s) archived {_posts(home)} posts, not {per_channel * len(chans)}")
        with sqlite3.connect(work / "workers-1" / "catalog.sqlite") as conn:
            rows = sum(conn.execute(f"select count(*) from {t}").fetchone()[0]
                       for t in ("records", "posts", "post_captures", "media", "failures", "warc_files", "capture_runs"))
        results["catalog rows per post"] = rows / (per_channel * len(chans))
        results["seconds per run (1 worker)"] = (per_channel / results["1 worker(s)"]) if "1 worker(s)" in results else 0
    print(f"{args.channels} channels x {per_channel} posts on {os.cpu_count()} cores")
    for key, value in results.items():
        print(f"  {key:34} {value:10.1f}")
    print(json.dumps({k: round(v, 2) for k, v in results.items()}))


def _start_cost(args: argparse.Namespace, url: str) -> None:
    """Seconds per queued run of a one-page source on one idle worker, cold against warm: what a
    run costs beyond its own fetching (one local page, a few milliseconds)."""
    from redis import Redis

    from tawthiq.demo.server import LocalServer, Resource
    from tawthiq.queue import RUNNING, enqueue_capture

    srv = LocalServer()
    srv.fallback = lambda inc: Resource(f"<html><title>{inc.path}</title><p>one page</p></html>".encode())
    redis = Redis.from_url(url)
    figures: dict[str, list[float]] = {"cold": [], "warm": []}
    with srv:
        for _ in range(args.start_rounds):
            for mode in ("cold", "warm"):
                redis.flushdb()
                home = Path(tempfile.mkdtemp(prefix=f"tawthiq-bench-start-{mode}-"))
                names = [f"page_{i:03d}" for i in range(args.start_runs)]
                (home / "sources.yaml").write_text("sources:\n" + "".join(
                    f"  - name: {n}\n    spec: web:{srv.base_url}/{n}\n    every: 1h\n" for n in names))
                log = home / "worker.log"
                env = {**clean_env(), "TAWTHIQ_REDIS_URL": url, "TAWTHIQ_WORKER_ID": mode, "PYTHONWARNINGS": "ignore"}
                worker = subprocess.Popen([sys.executable, "-m", "tawthiq.cli", "worker", "--data-dir", str(home),
                                           *(["--cold"] if mode == "cold" else [])], env=env, cwd=ROOT,
                                          stdout=open(log, "w"), stderr=subprocess.STDOUT)
                try:
                    while "Listening on" not in log.read_text():
                        if worker.poll() is not None:
                            raise SystemExit(f"bench: the {mode} worker stopped: {log.read_text()[-500:]}")
                        time.sleep(0.05)
                    time.sleep(0.5)  # idle: its own start is not a run's
                    started = time.perf_counter()
                    for n in names:
                        enqueue_capture(redis, str(home), n, 600)
                    while redis.hlen(RUNNING):
                        time.sleep(0.01)
                    figures[mode].append((time.perf_counter() - started) / len(names))
                finally:
                    worker.terminate()
                    worker.wait(timeout=60)
                with sqlite3.connect(home / "catalog.sqlite") as conn:
                    done = conn.execute("select count(*) from capture_runs where status = 'finished'").fetchone()[0]
                if done != len(names):
                    raise SystemExit(f"bench: the {mode} worker finished {done} of {len(names)} runs")
                shutil.rmtree(home, ignore_errors=True)
    print(f"per-run start cost, one worker, {args.start_runs} one-page runs x {args.start_rounds} round(s) "
          f"(seconds per run, each round; the page itself takes milliseconds):")
    for mode, values in figures.items():
        label = "cold (a fresh process per run)" if mode == "cold" else "warm (fork per run)"
        print(f"  {label:34} {sorted(values)[len(values) // 2]:10.3f}   rounds: "
              + ", ".join(f"{v:.3f}" for v in values))
    print(json.dumps({f"seconds per run ({m})": round(sorted(v)[len(v) // 2], 3) for m, v in figures.items()}))


if __name__ == "__main__":
    main()
