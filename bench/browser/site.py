"""The benchmark's site: news-like pages that need JavaScript, served with a delay per response.

Each page is an empty shell whose script fetches its articles as JSON and adds them, with a
stylesheet, a script and several JPEG photos of 40-160 KB (noise, so they do not compress), as
a script-rendered news or timeline page would. Synthetic text only.

    python -m bench.browser.site SITE_DIR PORT DELAY_MS     (serve a site made by `make_site`)
"""

from __future__ import annotations

import asyncio
import io
import json
import mimetypes
import random
import sys
from pathlib import Path

SHELL = """<!doctype html><html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>صفحة {n}</title>
<link rel="stylesheet" href="/static/site.css"><script src="/static/app.js" defer></script></head>
<body data-page="{n}"><header><h1>نشرة الأخبار {n}</h1></header><main id="feed"></main></body></html>"""

APP_JS = """document.addEventListener('DOMContentLoaded', () => {
  const n = document.body.dataset.page;
  fetch('/api/page-' + n + '.json').then(r => r.json()).then(items => {
    const feed = document.getElementById('feed');
    for (const item of items) {
      const a = document.createElement('article');
      a.innerHTML = '<h2>' + item.title + '</h2><p>' + item.text + '</p><img src="' + item.image + '" width=320>';
      feed.appendChild(a);
    }
  });
});"""

CSS = "body{font-family:sans-serif;max-width:60em;margin:auto}article{border-bottom:1px solid #ccc;padding:1em}"

WORDS = "قصف سوق بلدة المثال أفاد سكان الدفاع المدني فرق إسعاف طريق مستودع حريق صباح مساء الحي الشمالي".split()


def make_site(root: Path, pages: int, photos_per_page: int = 4, seed: int = 7) -> int:
    """Write `pages` pages and what they load under `root`; returns the bytes written."""
    from PIL import Image

    rng = random.Random(seed)
    (root / "static").mkdir(parents=True, exist_ok=True)
    (root / "api").mkdir(exist_ok=True)
    (root / "photos").mkdir(exist_ok=True)
    (root / "static" / "app.js").write_text(APP_JS)
    (root / "static" / "site.css").write_text(CSS)
    total = 0
    for n in range(pages):
        (root / f"page-{n}.html").write_text(SHELL.format(n=n), encoding="utf-8")
        items = []
        for k in range(photos_per_page):
            side = rng.choice((200, 280, 360))
            noise = bytes(rng.getrandbits(8) for _ in range(side * side * 3))
            buf = io.BytesIO()
            Image.frombytes("RGB", (side, side), noise).save(buf, "JPEG", quality=85)
            name = f"p{n}-{k}.jpg"
            (root / "photos" / name).write_bytes(buf.getvalue())
            total += len(buf.getvalue())
            text = " ".join(rng.choice(WORDS) for _ in range(60))
            items.append({"title": f"خبر {n}-{k}", "text": text, "image": f"/photos/{name}"})
        (root / "api" / f"page-{n}.json").write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    return total


def serve(site: Path, port: int, delay: float) -> None:
    from aiohttp import web

    files = {"/" + p.relative_to(site).as_posix(): p.read_bytes() for p in site.rglob("*") if p.is_file()}

    async def answer(request: web.Request) -> web.Response:
        await asyncio.sleep(delay)
        body = files.get(request.path)
        if body is None:
            return web.Response(status=404, text="not found")
        kind = mimetypes.guess_type(request.path)[0] or "application/octet-stream"
        return web.Response(body=body, content_type=kind, charset="utf-8" if kind.startswith("text/") else None)

    app = web.Application()
    app.router.add_get("/{tail:.*}", answer)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    serve(Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000)
