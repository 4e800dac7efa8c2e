"""One crawl in its own process (Scrapy's reactor runs once per process); prints JSON figures."""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

from tawthiq.capture import run_capture
from tawthiq.settings import load_settings
from tawthiq.specs import parse_spec


def main() -> None:
    url, data_dir, mode = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    settings = load_settings(data_dir, depth_limit=100, page_limit=100_000, fetch_media=False,
                             log_level="WARNING")
    summary = run_capture(settings, [parse_spec(url)], record=(mode == "record"))
    stats = summary.scrapy_stats[0]
    print(json.dumps({
        "pages": stats.get("response_received_count", 0),
        "seconds": summary.seconds,
        "warc_bytes": sum(f.size for f in summary.files),
        "errors": len(summary.stats.errors),
        # The crawl alone, as Scrapy timed it (engine start to close), and this process's CPU time
        # (all of it: imports, catalog, crawl, seal), for the latency case in latency.py.
        "crawl_seconds": stats.get("elapsed_time_seconds", 0.0),
        "per_domain": settings.concurrent_requests_per_domain,
        "cpu_seconds": sum(getattr(resource.getrusage(resource.RUSAGE_SELF), f) for f in ("ru_utime", "ru_stime")),
    }))


if __name__ == "__main__":
    main()
