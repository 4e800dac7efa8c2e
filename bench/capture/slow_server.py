"""A local site whose every response waits N ms before it is sent: a far server, on 127.0.0.1.

aiohttp on asyncio, in a process of its own, so the wait costs no CPU and many requests wait at
once (a single-threaded http.server would serialise them and be the bottleneck itself). Pages
are read into memory at start; none is compressed, so serving costs next to nothing.

    python -m bench.capture.slow_server SITE_DIR PORT DELAY_MS
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from aiohttp import web


def build_app(site: Path, delay: float) -> web.Application:
    pages = {"/" + p.relative_to(site).as_posix(): p.read_bytes() for p in site.rglob("*.html")}

    async def serve(request: web.Request) -> web.Response:
        await asyncio.sleep(delay)
        body = pages.get(request.path)
        if body is None:
            return web.Response(status=404, text="not found")
        return web.Response(body=body, content_type="text/html", charset="utf-8")

    app = web.Application()
    app.router.add_get("/{tail:.*}", serve)
    return app


def main() -> None:
    site, port, delay_ms = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    web.run_app(build_app(site, delay_ms / 1000), host="127.0.0.1", port=port, print=None,
                access_log=None, backlog=1024)


if __name__ == "__main__":
    main()
