"""bench/video: MB/s archived from a local 200 MB MP4, against plain yt-dlp downloading it to disk.

The MP4 is made with ffmpeg (lossless H.264 of noise, so it is as incompressible as real
video) and served by nginx. Rounds alternate the two; medians are reported.
Run with `make bench-video` (needs nginx and ffmpeg).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
from pathlib import Path

from bench.capture.run import free_port, start_nginx
from bench.common import run_json


def make_video(path: Path, megabytes: int) -> None:
    seconds = max(2, int(megabytes / 9))  # ~9 MB per second of 640x360 lossless noise
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "nullsrc=s=640x360:r=25,geq=random(1)*255:128:128", "-t", str(seconds),
                    "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", str(path)], check=True)


def once(mode: str, url: str, work: Path) -> dict:
    shutil.rmtree(work / "data", ignore_errors=True)
    return run_json("bench.video.once", mode, url, str(work), label=mode)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for tool in ("nginx", "ffmpeg"):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench: {tool} is not installed (apt-get install nginx-light ffmpeg)")
    with tempfile.TemporaryDirectory(prefix="tawthiq-bench-video-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o755)
        site = work / "site"
        site.mkdir()
        make_video(site / "evidence.mp4", args.megabytes)
        size_mb = (site / "evidence.mp4").stat().st_size / 1e6
        port = free_port()
        nginx = start_nginx(site, work, port)
        url = f"http://127.0.0.1:{port}/evidence.mp4"
        modes = {"yt-dlp to disk": "plain", "tawthiq, dedupe off": "archive", "tawthiq video: capture": "tawthiq"}
        rates: dict[str, list[float]] = {name: [] for name in modes}
        try:
            for r in range(args.rounds):
                for name in (list(rates) if r % 2 == 0 else list(reversed(rates))):
                    fig = once(modes[name], url, work)
                    rates[name].append(size_mb / fig["seconds"])
                    print(f"round {r + 1} {name:24s} {size_mb:7.1f} MB {fig['seconds']:6.2f} s "
                          f"{rates[name][-1]:7.1f} MB/s", flush=True)
        finally:
            nginx.send_signal(signal.SIGTERM)
            nginx.wait()
    med = {name: statistics.median(v) for name, v in rates.items()}
    print()
    for name, value in med.items():
        print(f"{name:26s}{value:8.1f} MB/s (median)")
    plain = med["yt-dlp to disk"]
    for name in ("tawthiq, dedupe off", "tawthiq video: capture"):
        print(f"{name} / yt-dlp: {med[name] / plain:.2f}x")


if __name__ == "__main__":
    main()
