"""One video download in its own process, timed around the work only; prints JSON.

`plain`: yt-dlp's Python API downloading to disk. `tawthiq`: a full `video:` capture
(download, hash, WARC resource record, ffprobe facts, catalog, near-duplicate video signature).
`archive`: the same capture with near-duplicate signing off (`dedupe = false`): archiving alone.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    mode, url, work = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    if mode == "plain":
        import yt_dlp

        with tempfile.TemporaryDirectory(dir=work) as tmp:
            params = {"outtmpl": {"default": f"{tmp}/%(id)s.%(ext)s"}, "quiet": True, "no_warnings": True,
                      "noprogress": True, "format": "bv*+ba/b"}
            start = time.monotonic()
            with yt_dlp.YoutubeDL(params) as ydl:
                ydl.extract_info(url, download=True)
            seconds = time.monotonic() - start
            size = sum(p.stat().st_size for p in Path(tmp).iterdir())
        print(json.dumps({"seconds": seconds, "bytes": size}))
        return
    from tawthiq.capture import run_capture
    from tawthiq.settings import load_settings
    from tawthiq.specs import parse_spec

    overrides = {"dedupe": False} if mode == "archive" else {}
    settings = load_settings(work / "data", log_level="WARNING", **overrides)
    summary = run_capture(settings, [parse_spec(f"video:{url}")])
    if summary.stats.errors:
        raise SystemExit(f"capture failed: {summary.stats.errors}")
    print(json.dumps({"seconds": summary.seconds, "bytes": sum(f.size for f in summary.files)}))


if __name__ == "__main__":
    main()
