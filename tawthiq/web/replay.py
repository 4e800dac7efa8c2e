"""The replay view: a page captured in the browser, replayed by ReplayWeb.page with its own archived
CSS, images and scripts, from an origin that is not the app's.

Why another origin: a replay runs the archived page's scripts. ReplayWeb.page serves the page from
its service worker in an iframe that is same-origin with the page embedding it, so whatever origin
serves the embed is the origin those scripts run in. That must not be the app's: there they could
read its cookies, call /api with the reader's session, or restyle the evidence. Browsers do not
isolate cookies by port, so a second port on the same host name is not enough: the replay
listener is reached under another host name (`replay_origin`; by default, for an app on
127.0.0.1, `http://localhost:PORT+1`), where the app's host-only, SameSite=Strict session cookie
is never sent and its API answers no one (no CORS, no cookie).

This listener serves nothing of the app: ReplayWeb.page's own `ui.js` and `sw.js` (from its npm
package, fetched at build time into build/replaywebpage), an embed page per post (framed by the app's post page when the two are one site, opened as a page
of its own otherwise: a browser blocks a cross-site frame's service worker), and the post's
WACZ (its export, made on demand and kept in DATA_DIR/replay/). The app's post page gives the
embed a ticket (an expiring HMAC over the post's key), because the app's session cookie cannot
reach this origin; a ticket opens one post's replay and nothing else, so a script in the replay
that reads it learns only what it was replayed from.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, Response

from tawthiq.errors import TawthiqError
from tawthiq.settings import Settings

VIEWER_DIR = Path(__file__).resolve().parents[2] / "build" / "replaywebpage" / "package"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
CACHE_KEEP = 64  # posts' WACZs kept in DATA_DIR/replay/; older ones are made again when viewed

EMBED = """<!doctype html>
<html><head><meta charset="utf-8"><title>replay of {title}</title>
<style>html, body {{ margin: 0; height: 100%; }} replay-web-page {{ display: block; height: 100%; }}</style>
<script src="/ui.js"></script></head>
<body><replay-web-page source="{source}" url="{url}" ts="{ts}" replayBase="/replay/" embed="replayonly">
</replay-web-page></body></html>"""

# What ReplayWeb.page's worker answers for replayBase itself (its getIndexHtml, `serveIndex`).
INDEX = """<!doctype html>
<html><head><script src="./ui.js"></script></head><body><replay-app-main></replay-app-main></body></html>"""


def viewer_dir(settings: Settings) -> Path:
    return Path(settings.replay_viewer_dir) if settings.replay_viewer_dir else VIEWER_DIR


def viewer_ready(settings: Settings) -> bool:
    folder = viewer_dir(settings)
    return (folder / "ui.js").is_file() and (folder / "sw.js").is_file()


def replay_origin(settings: Settings, host: str, port: int) -> str:
    """Where the replay listener is reached: the `replay_origin` setting, or, for an app on this
    machine's loopback address, `http://localhost:PORT+1`; "" when neither applies (an app on a
    LAN address needs a host name of its own for replay, so none is guessed)."""
    if settings.replay_origin:
        return settings.replay_origin.rstrip("/")
    if host == "127.0.0.1" and port < 65535:
        return f"http://localhost:{port + 1}"
    return ""


def host_of(origin: str) -> str:
    return (urlsplit(origin).hostname or "").lower()


def origin_port(origin: str) -> int:
    parts = urlsplit(origin)
    return parts.port or (443 if parts.scheme == "https" else 80)


def listen_port(settings: Settings, origin: str) -> int:
    """The port the replay listener binds: `replay_port`, or the origin's own."""
    return settings.replay_port or origin_port(origin)


def site_of(host: str) -> str:
    """The registrable domain ("site") of a host name as browsers reckon it (the public suffix
    list, offline: the copy that ships with tldextract); "" for an address or a bare name
    (127.0.0.1, localhost), which is a site of its own."""
    import ipaddress

    import tldextract

    host = host.strip("[]").lower()
    try:
        ipaddress.ip_address(host)
        return ""
    except ValueError:
        pass
    parts = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)(host)
    if parts.suffix:
        return f"{parts.domain}.{parts.suffix}" if parts.domain else ""
    labels = host.split(".")
    return ".".join(labels[-2:]) if len(labels) >= 2 else ""  # an unlisted top-level name: one label


def embeddable(app_host: str, replay_host: str) -> bool:
    """Whether the replay can run in an iframe of the app's page: only when both are one site
    (app.example.org and replay.example.org). Across sites (127.0.0.1 and localhost) the browser
    treats the frame as third-party and, blocking third-party storage, refuses its service
    worker, so the replay opens as a page of its own instead."""
    site = site_of(app_host)
    return bool(site) and site == site_of(replay_host) and app_host.lower() != replay_host.lower()


class Tickets:
    """Expiring capabilities for one post's replay: `EXPIRY.MAC` of platform and post id."""

    def __init__(self, key: bytes, lifetime: int) -> None:
        self.key = key
        self.lifetime = lifetime

    def _mac(self, platform: str, post_id: str, expires: int) -> str:
        return hmac.new(self.key, f"replay:{expires}:{platform}:{post_id}".encode(), hashlib.sha256).hexdigest()

    def make(self, platform: str, post_id: str) -> str:
        expires = int(time.time()) + self.lifetime
        return f"{expires}.{self._mac(platform, post_id, expires)}"

    def check(self, platform: str, post_id: str, ticket: str) -> bool:
        expires, _, mac = ticket.partition(".")
        if not expires.isdigit() or int(expires) < time.time():
            return False
        return hmac.compare_digest(mac.encode(), self._mac(platform, post_id, int(expires)).encode())


def view_path(platform: str, post_id: str, ticket: str) -> str:
    """The embed page's path on the replay origin (what the app's post page frames)."""
    return f"/view/{quote(platform, safe='')}/{quote(post_id, safe='')}?t={quote(ticket, safe='')}"


class PostBundles:
    """Each replayed post's WACZ, exported once per capture state and kept on disk, so a
    viewer's range requests read one file; the export is the same one `tawthiq export` makes
    (requisites and every browser exchange included), without a time-stamp request."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.folder = settings.home / "replay"
        self._lock = threading.Lock()

    def bundle(self, detail: dict[str, Any]) -> Path:
        from tawthiq.exporting import export_posts

        key = f"{detail['platform']}\0{detail['post_id']}\0{detail['last_captured']}"
        path = self.folder / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".wacz")
        with self._lock:  # one export at a time: the viewer asks for the same file many times at once
            if path.is_file():
                return path
            self.folder.mkdir(parents=True, exist_ok=True)
            work = Path(tempfile.mkdtemp(prefix="wacz-", dir=self.folder))
            try:
                settings = self.settings.model_copy(update={"tsa_url": ""})
                export_posts(settings, work / "post.wacz", ids=[detail["post_id"]])
                (work / "post.wacz").replace(path)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            self._prune()
            return path

    def _prune(self) -> None:
        kept = sorted(self.folder.glob("*.wacz"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[CACHE_KEEP:]:
            old.unlink(missing_ok=True)


def create_replay_app(services: Any) -> FastAPI:
    """The replay listener's app. `services` is the app's (tawthiq.web.app.Services): the same
    catalog and tickets, so the post page's tickets open here."""
    settings: Settings = services.settings
    bundles = PostBundles(settings)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    # No Referrer-Policy or no-store here: ReplayWeb.page's worker reads the referrer of the replayed
    # page's requests to know which page asks, and keeps the viewer's files in its cache.
    plain = {"X-Content-Type-Options": "nosniff"}

    @app.exception_handler(TawthiqError)
    async def tawthiq_error(request: Request, exc: TawthiqError) -> Response:
        return PlainTextResponse(exc.message(), status_code=exc.http_status, headers=plain)

    def allowed(platform: str, post_id: str, request: Request) -> dict[str, Any]:
        if not services.tickets.check(platform, post_id, request.query_params.get("t", "")):
            raise HTTPException(403, "this replay link has expired or was not made by the app: reload the post page")
        return dict(services.post(platform, post_id))

    def viewer_file(name: str) -> FileResponse:
        path = viewer_dir(settings) / name
        if not path.is_file():
            raise HTTPException(404, "ReplayWeb.page is not installed: `make test` fetches it into build/replaywebpage")
        return FileResponse(path, media_type="application/javascript", headers=plain)

    @app.get("/ui.js")
    @app.get("/replay/ui.js")
    def ui() -> FileResponse:
        return viewer_file("ui.js")

    @app.get("/replay/")
    @app.get("/replay/index.html")
    def index() -> HTMLResponse:
        """The viewer's inner page, the one its service worker serves once it runs: served here
        too, for a first load that races the worker's start (else the frame stays a 404)."""
        return HTMLResponse(INDEX, headers=plain)

    @app.get("/replay/sw.js")
    def worker() -> FileResponse:
        return viewer_file("sw.js")

    @app.get("/view/{platform}/{post_id:path}")
    def view(request: Request, platform: str, post_id: str) -> HTMLResponse:
        detail = allowed(platform, post_id, request)
        page_id = detail.get("page_record_id")
        row = services.record(page_id) if page_id else None
        if row is None:
            raise HTTPException(404, f"{platform}:{post_id} has no captured page to replay")
        ticket = quote(request.query_params["t"], safe="")
        source = f"/wacz/{quote(platform, safe='')}/{quote(post_id, safe='')}.wacz?t={ticket}"
        ts = "".join(ch for ch in row.date if ch.isdigit())[:14]
        body = EMBED.format(title=html.escape(row.uri), source=html.escape(source), url=html.escape(row.uri),
                            ts=ts)
        return HTMLResponse(body, headers=plain)

    @app.api_route("/wacz/{platform}/{post_id:path}", methods=["GET", "HEAD"])
    def wacz(request: Request, platform: str, post_id: str) -> Response:
        post_id = post_id.removesuffix(".wacz")
        detail = allowed(platform, post_id, request)
        return FileResponse(bundles.bundle(detail), media_type="application/wacz",
                            headers={**plain, "Cache-Control": "private, max-age=600"})

    return app
