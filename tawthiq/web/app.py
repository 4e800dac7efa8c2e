"""The FastAPI application: pages for people, /api for programs, one set of services below both.

Services raise `tawthiq.errors` errors; one handler turns each into its kind's HTTP status (see
tawthiq.errors), as JSON `{"detail": ...}` under /api/ and as the error page elsewhere. The
HTTPExceptions left here are the web layer's own answers (401/403/413/415/429)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, FastAPI, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import (FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response,
                               StreamingResponse)
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from tawthiq.crawlers.platforms import all_platforms
from tawthiq.archivers.payload import PayloadInfo, iter_payload, payload_info
from tawthiq.index.search import MAX_LIMIT, SORTS, SearchResult
from tawthiq.index.search import search as run_search
from tawthiq import __version__
from tawthiq.catalog import Catalog
from tawthiq.errors import ConfigError, IntegrityFailure, NotFound, TawthiqError, UserError
from tawthiq.posts import post_detail, record_location, thumbnails
from tawthiq.settings import Settings
from tawthiq.web.export_jobs import ExportJobs
from tawthiq.web.ranges import RangeNotSatisfiable, byte_range
from tawthiq.web.replay import Tickets, create_replay_app, embeddable, host_of, listen_port, view_path, viewer_ready
from tawthiq.web.security import APP_CSP, ARCHIVED_CSP, SESSION_COOKIE, BoundedBody, Guard, app_csp

# Open without the token even when reads need it: signing in, the app's own files, the API's description.
_OPEN_PATHS = ("/login", "/logout", "/static/", "/openapi.json", "/docs", "/redoc")

HERE = Path(__file__).parent
SHOWN_TYPES = ("image/", "video/", "audio/")


class SourceIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    spec: str = Field(min_length=1, max_length=2000)
    every: str | None = None
    cron: str | None = None
    collection: str | None = None
    keywords: list[str] = Field(default_factory=list)
    recheck_every: str | None = None
    browser_profile: str | None = None
    browser_logged_out_marker: str | None = None


class Services:
    """The settings and the catalog, opened once per app; the index per request (it may be
    rebuilt and swapped underneath a long-running server)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.guard = Guard(settings.token, public_read=settings.public_read,
                           session_max_age=settings.session_max_age, login_attempts=settings.login_attempts,
                           login_window=settings.login_window)
        # Replay tickets (tawthiq.web.replay): under the token when there is one, else under a
        # key of this process (a read-only app's replay links end with the process).
        key = hmac.new(settings.token.encode(), b"replay-tickets", hashlib.sha256).digest() if settings.token \
            else secrets.token_bytes(32)
        self.tickets = Tickets(key, settings.session_max_age)
        self.exports = ExportJobs(settings)

    def catalog(self) -> Catalog:
        if not self.settings.has_catalog:
            raise NotFound(f"nothing has been captured in {self.settings.home} yet")
        return Catalog(self.settings.catalog_url)

    def search(self, q: str, page: int, limit: int, sort: str, *, fold: bool = True) -> SearchResult:
        from tawthiq.search_index import open_backend

        backend = open_backend(self.settings, create=False)
        try:
            return run_search(backend, q, sort=sort, offset=(page - 1) * limit, limit=limit, fold=fold)
        finally:
            backend.close()

    def post(self, platform: str, post_id: str) -> dict[str, Any]:
        catalog = self.catalog()
        try:
            return post_detail(catalog, platform, post_id)
        finally:
            catalog.close()

    def notices(self, source: str | None = None, since: str | None = None, name: str | None = None,
                min_confidence: float = 0.0) -> list[dict[str, Any]]:
        """The death notices read in archived images (tawthiq.notices), with their evidence."""
        from tawthiq.notices import NoticeFilter, list_notices

        moment = None
        if since:
            try:
                moment = datetime.fromisoformat(since)
            except ValueError:
                raise UserError(f"since: {since!r} is not a date like 2026-10-01") from None
            moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
        if not self.settings.has_catalog:
            return []
        catalog = self.catalog()
        try:
            return list_notices(catalog, NoticeFilter(source=source or None, since=moment, name=name or None,
                                                      min_confidence=min_confidence))
        finally:
            catalog.close()

    def post_notices(self, url: str) -> list[dict[str, Any]]:
        from tawthiq.notices import notices_of_post

        catalog = self.catalog()
        try:
            return notices_of_post(catalog, url)
        finally:
            catalog.close()

    def overlays(self, detail: dict[str, Any]) -> None:
        """The OCR word boxes of the post's images, for its page (tawthiq.ocr_overlay)."""
        from tawthiq.ocr_overlay import add_overlays

        catalog = self.catalog()
        try:
            add_overlays(catalog, self.settings.warcs_dir, detail["media"])
        finally:
            catalog.close()

    def record(self, record_id: str) -> Any:
        catalog = self.catalog()
        try:
            return record_location(catalog, record_id)
        finally:
            catalog.close()

    def thumbnails(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        if not keys or not self.settings.has_catalog:
            return {}
        catalog = self.catalog()
        try:
            return thumbnails(catalog, keys)
        finally:
            catalog.close()

    def payload(self, record_id: str) -> tuple[str, int, PayloadInfo]:
        """Where a record's payload lies (file, offset) and what it is; a revisit leads to its
        original, whose bytes it stands for."""
        catalog = self.catalog()
        try:
            for _ in range(3):
                row = record_location(catalog, record_id)
                if row is None:
                    raise NotFound(f"no record {record_id} in the archive")
                info = payload_info(self.settings.warcs_dir, row.file, row.offset)
                if info.record_type != "revisit" or not info.refers_to:
                    return row.file, row.offset, info
                record_id = info.refers_to
            raise IntegrityFailure(f"{record_id}: revisit chain too long")
        finally:
            catalog.close()


def create_app(settings: Settings, replay: str = "", services: Services | None = None) -> FastAPI:
    """`replay`: the origin of the replay listener (tawthiq.web.replay) that post pages of
    browser-captured pages frame; "" = no replay view (the page is shown with scripts off)."""
    services = services or Services(settings)
    exports = services.exports

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        exports.close()  # finished export bundles go with the server

    app = FastAPI(title="tawthiq", version=__version__, lifespan=lifespan,
                  description="Search, read and export an evidence archive. Changes need the token.")
    app.state.services = services
    app.state.replay_origin = replay.rstrip("/")
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals.update(version=__version__, quote=quote)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    app.add_middleware(BoundedBody, limit=settings.max_upload_size)

    @app.middleware("http")
    async def headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        path = request.url.path
        if not path.startswith(_OPEN_PATHS):
            try:
                allowed = services.guard.may_read(request)
            except HTTPException as exc:  # too many wrong tokens
                allowed, refused = False, exc
            else:
                refused = HTTPException(401, "this archive needs the token to read: sign in, or send "
                                             "Authorization: Bearer TOKEN")
            if not allowed:
                if path.startswith("/api/") or request.method != "GET" or refused.status_code != 401:
                    response = JSONResponse({"detail": refused.detail}, status_code=refused.status_code,
                                            headers=refused.headers)
                else:
                    response = RedirectResponse("/login", status_code=303)
                response.headers["Content-Security-Policy"] = APP_CSP
                response.headers["X-Content-Type-Options"] = "nosniff"
                return response
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", APP_CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        if "frame-ancestors 'self'" not in response.headers.get("Content-Security-Policy", ""):
            response.headers["X-Frame-Options"] = "DENY"
        return response

    def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        guard = services.guard
        context.update(request=request, read_only=guard.read_only, logged_in=guard.logged_in(request),
                       csrf=guard.csrf() if guard.logged_in(request) else "", blur=settings.blur_media,
                       spec_forms=[form for p in all_platforms() for form in p.forms])
        return templates.TemplateResponse(request, name, context, status_code=status)

    def error_response(request: Request, status: int, detail: Any, headers: dict[str, str] | None) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": detail}, status_code=status, headers=headers)
        response = render(request, "error.html", status=status, message=detail)
        response.headers.update(headers or {})  # Retry-After of a 429
        return response

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return error_response(request, exc.status_code, exc.detail, exc.headers)

    @app.exception_handler(TawthiqError)
    async def tawthiq_error(request: Request, exc: TawthiqError) -> Response:
        """The one place an error's kind becomes an HTTP status (tawthiq.errors)."""
        return error_response(request, exc.http_status, exc.message(), None)

    app.include_router(_api(services))
    app.include_router(_pages(services, render, app.state.replay_origin))
    return app


# -- JSON API -------------------------------------------------------------------------------------
def _api(services: Services) -> APIRouter:
    api = APIRouter(prefix="/api", tags=["api"])
    guard = services.guard

    def can_change(request: Request) -> None:
        guard.require_api(request)

    @api.get("/search", summary="Search posts (the query language of `tawthiq search`)")
    def search(q: Annotated[str, Query(min_length=1, max_length=2000)],
               page: Annotated[int, Query(ge=1, le=10_000)] = 1,
               limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
               sort: Annotated[str, Query(pattern="^(relevance|date)$")] = "relevance") -> dict[str, Any]:
        return services.search(q, page, limit, sort).as_json()

    @api.get("/posts/{platform}/{post_id:path}", summary="One post with its captures, media and checks")
    def post(platform: str, post_id: str) -> dict[str, Any]:
        return services.post(platform, post_id)

    @api.get("/notices", summary="Death notices read in archived images, each with its evidence")
    def notices(source: Annotated[str | None, Query(max_length=500)] = None,
                since: Annotated[str | None, Query(max_length=40)] = None,
                name: Annotated[str | None, Query(max_length=500)] = None,
                min_confidence: Annotated[float, Query(ge=0, le=1)] = 0.0) -> dict[str, Any]:
        rows = services.notices(source, since, name, min_confidence)
        return {"total": len(rows), "notices": rows}

    @api.get("/sources", summary="Scheduled sources")
    def sources() -> list[dict[str, Any]]:
        from tawthiq.sources import load_sources

        return [s.model_dump() for s in load_sources(services.settings.home).sources]

    @api.post("/sources", status_code=201, dependencies=[Depends(can_change)], summary="Add a source")
    def add(source: SourceIn) -> dict[str, Any]:
        from tawthiq.sources import add_source

        return add_source(services.settings.home, **source.model_dump()).model_dump()

    @api.post("/sources/{name}/pause", dependencies=[Depends(can_change)], summary="Pause a source")
    def pause(name: str) -> dict[str, Any]:
        return _set_paused(services, name, True)

    @api.post("/sources/{name}/resume", dependencies=[Depends(can_change)], summary="Resume a source")
    def resume(name: str) -> dict[str, Any]:
        return _set_paused(services, name, False)

    @api.delete("/sources/{name}", dependencies=[Depends(can_change)], summary="Remove a source")
    def remove(name: str) -> dict[str, Any]:
        from tawthiq.sources import remove_source

        return remove_source(services.settings.home, name).model_dump()

    @api.get("/runs", summary="Capture runs, newest first")
    def runs(limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> list[dict[str, Any]]:
        return _runs(services, limit)

    @api.get("/takedowns", summary="Posts a recheck found gone")
    def takedowns() -> list[dict[str, Any]]:
        catalog = services.catalog()
        try:
            return catalog.takedowns()
        finally:
            catalog.close()

    @api.get("/export", summary="Every post a query matches (or, with all=true, everything archived), "
                                "as a signed WACZ download",
             response_class=FileResponse, responses={200: {"content": {"application/zip": {}}}})
    def export(q: Annotated[str | None, Query(min_length=1, max_length=2000)] = None,
               everything: Annotated[bool, Query(alias="all", description="every post and every other record")] = False,
               ) -> FileResponse:
        if not everything and not q:
            raise HTTPException(400, "give a search query (q) or all=true")
        return _export(services, q, everything)  # bounded by max_export_size

    @api.post("/exports", status_code=202, summary="Start an export in the background (a search query q, "
                                                    "or all=true); poll the job it returns")
    def start_export(q: Annotated[str | None, Query(min_length=1, max_length=2000)] = None,
                     everything: Annotated[bool, Query(alias="all")] = False) -> dict[str, Any]:
        if not everything and not q:
            raise HTTPException(400, "give a search query (q) or all=true")
        return services.exports.start(None if everything else q, everything).as_dict()

    @api.get("/exports/{job_id}", summary="How far a background export has got; its download once done")
    def export_job(job_id: str) -> dict[str, Any]:
        job = services.exports.get(job_id)
        if job is None:
            raise NotFound(f"no export job {job_id!r} (finished jobs are kept an hour)")
        return job.as_dict()

    @api.post("/verify", summary="Verify an uploaded WACZ or WARC")
    def verify(bundle: Annotated[UploadFile, File()]) -> dict[str, Any]:
        return _verify(bundle, services.settings.tsa_certificate)

    return api


def _set_paused(services: Services, name: str, paused: bool) -> dict[str, Any]:
    from tawthiq.sources import set_paused

    return set_paused(services.settings.home, name, paused).model_dump()


def _runs(services: Services, limit: int) -> list[dict[str, Any]]:
    if not services.settings.has_catalog:
        return []
    catalog = services.catalog()
    try:
        return [{"id": r.id, "started": r.started.isoformat() if r.started else None,
                 "finished": r.finished.isoformat() if r.finished else None, "status": r.status, "kind": r.kind,
                 "source": r.source, "specs": r.specs, "counts": r.counts, "errors": r.errors, "message": r.message}
                for r in catalog.runs(limit)]
    finally:
        catalog.close()


def _export(services: Services, q: str | None, everything: bool = False) -> FileResponse:
    from tawthiq.exporting import export_posts

    folder = Path(tempfile.mkdtemp(prefix="tawthiq-export-"))
    out = folder / "tawthiq-export.wacz"
    try:
        with services.exports.slot():
            export_posts(services.settings, out, query=q, everything=everything,
                         max_bytes=services.settings.max_export_size)
    except BaseException:  # a bad query, no match, the index down: the handler answers, nothing is left
        shutil.rmtree(folder, ignore_errors=True)
        raise
    size = out.stat().st_size
    if size > services.settings.max_export_size:
        shutil.rmtree(folder, ignore_errors=True)
        raise HTTPException(413, f"the export would be {size} bytes, over max_export_size "
                                 f"({services.settings.max_export_size}): narrow the search or use `tawthiq export`")
    return FileResponse(out, media_type="application/zip", filename="tawthiq-export.wacz",
                        background=BackgroundTask(shutil.rmtree, folder, True))


def _verify(bundle: UploadFile, tsa_certificate: str = "") -> dict[str, Any]:
    """Verify an upload; time-stamps are anchored to the TSAs of the tsa_certificate setting."""
    import os

    from tawthiq.archivers.timestamps import TimestampError, load_trusted
    from tawthiq.archivers.verify import verify_wacz, verify_warc

    name = Path(bundle.filename or "upload").name
    if not name.endswith((".wacz", ".warc.gz", ".warc")):
        raise UserError(f"{name}: upload a .wacz, .warc.gz or .warc file")
    folder = Path(tempfile.mkdtemp(prefix="tawthiq-verify-"))
    try:
        path = folder / name
        with open(path, "wb") as out:
            shutil.copyfileobj(bundle.file, out, 8 << 20)
        try:
            trusted = load_trusted([Path(p) for p in tsa_certificate.split(os.pathsep) if p.strip()])
        except TimestampError as exc:  # the operator's setting, not the upload, is wrong
            raise ConfigError(f"setting tsa_certificate: {exc}") from None
        try:
            report = (verify_wacz(path, trusted=trusted) if name.endswith(".wacz")
                      else verify_warc(path, trusted=trusted))
        except Exception as exc:  # noqa: BLE001 - an unreadable upload is a verdict, not a crash
            return {"file": name, "ok": False, "verdict": "FAILED", "facts": [], "problems": [f"{name}: unreadable: {exc}"],
                    "unproven": [], "summary": []}
        return {"file": name, "ok": report.ok, "verdict": report.verdict, "facts": report.facts,
                "problems": report.problems, "unproven": report.unproven, "summary": report.summary()}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- pages ---------------------------------------------------------------------------------------
def _pages(services: Services, render: Any, replay: str) -> APIRouter:
    pages = APIRouter(include_in_schema=False)
    guard = services.guard

    @pages.get("/")
    def home() -> RedirectResponse:
        return RedirectResponse("/search", status_code=303)

    @pages.get("/search", response_class=HTMLResponse)
    def search(request: Request, q: str = "", page: int = 1, sort: str = "relevance") -> HTMLResponse:
        if sort not in SORTS:
            raise UserError(f"sort must be one of {', '.join(SORTS)}")
        if page < 1:
            raise UserError("page must be 1 or more")
        result = services.search(q, page, 20, sort) if q.strip() else None
        pages_total = ((result.total + 19) // 20) if result else 0
        thumbs = services.thumbnails([(h.platform, h.post_id) for h in result.hits]) if result else {}

        def link(**changes: Any) -> str:
            params = {"q": q, "sort": sort, "page": page, **changes}
            return "/search?" + urlencode(params)

        return render(request, "search.html", q=q, sort=sort, page=page, result=result,
                      pages_total=pages_total, link=link, thumbs=thumbs)

    @pages.get("/post/{platform}/{post_id:path}", response_class=HTMLResponse)
    def post(request: Request, platform: str, post_id: str) -> HTMLResponse:
        detail = services.post(platform, post_id)
        services.overlays(detail)
        copies: list[Any] = []
        own = services.search(f'id:"{platform}:{post_id}"', 1, 1, "date").hits
        if own:
            copies = services.search(f'cluster:"{own[0].cluster}"', 1, MAX_LIMIT, "date", fold=False).hits
        replay_url, replay_note = _replay_view(request, services, replay, detail)
        embed = bool(replay_url) and embeddable(request.url.hostname or "", host_of(replay))
        response = render(request, "post.html", post=detail, copies=copies, cluster=own[0].cluster if own else None,
                          replay_url=replay_url, replay_note=replay_note, replay_embed=embed,
                          notices=services.post_notices(detail["url"]))
        if embed:  # the replay origin, and only it, may be framed besides the app itself
            response.headers["Content-Security-Policy"] = app_csp(frame_src=replay)
        return response

    @pages.get("/notices", response_class=HTMLResponse)
    def notices(request: Request, source: str = "", since: str = "", name: str = "") -> HTMLResponse:
        rows = services.notices(source, since, name)
        return render(request, "notices.html", notices=rows, source=source, since=since, wanted_name=name)

    @pages.get("/cluster/{cluster:path}", response_class=HTMLResponse)
    def cluster(request: Request, cluster: str) -> HTMLResponse:
        result = services.search(f'cluster:"{cluster}"', 1, MAX_LIMIT, "date", fold=False)
        return render(request, "cluster.html", cluster=cluster, result=result)

    @pages.get("/media/{record_id}")
    def media(request: Request, record_id: str) -> Response:
        located = services.payload(record_id)
        ctype = located[2].content_type.split(";")[0].strip().lower()
        if not ctype.startswith(SHOWN_TYPES):
            raise HTTPException(415, f"{record_id} is {ctype or 'untyped'}, not an image, video or audio file")
        return _streamed(request, services, located, ctype, {
            "Content-Security-Policy": ARCHIVED_CSP, "Cache-Control": "private, max-age=3600"})

    @pages.get("/raw/{record_id}")
    def raw(request: Request, record_id: str, download: bool = False) -> Response:
        located = services.payload(record_id)
        if download:
            return _streamed(request, services, located, "application/octet-stream", {
                "Content-Disposition": f"attachment; filename=\"{quote(record_id.strip('<>').split(':')[-1])}.bin\"",
                "Content-Security-Policy": ARCHIVED_CSP})
        # Shown only as a sandboxed document: an opaque origin where scripts cannot run.
        return _streamed(request, services, located, located[2].content_type or "application/octet-stream",
                         {"Content-Security-Policy": ARCHIVED_CSP})

    @pages.get("/sources", response_class=HTMLResponse)
    def sources(request: Request, message: str = "") -> HTMLResponse:
        from tawthiq.sources import load_sources

        listed = load_sources(services.settings.home).sources
        return render(request, "sources.html", sources=listed, message=message)

    @pages.post("/sources")
    def add_source(request: Request, csrf: Annotated[str, Form()] = "", name: Annotated[str, Form()] = "",
                   spec: Annotated[str, Form()] = "", every: Annotated[str, Form()] = "",
                   cron: Annotated[str, Form()] = "", keywords: Annotated[str, Form()] = "") -> Response:
        from tawthiq.sources import SourcesError
        from tawthiq.sources import add_source as add

        guard.require_form(request, csrf)
        try:
            add(services.settings.home, name=name.strip(), spec=spec.strip(), every=every.strip() or None,
                cron=cron.strip() or None, keywords=[k.strip() for k in keywords.split(",") if k.strip()])
        except SourcesError as exc:  # the form comes back filled in, with the reason, at the error's status
            return render(request, "sources.html", status=exc.http_status, message=exc.message(), error=True,
                          sources=_listed(services), form={"name": name, "spec": spec, "every": every,
                                                           "cron": cron, "keywords": keywords})
        return RedirectResponse("/sources?" + urlencode({"message": f"added {name}"}), status_code=303)

    @pages.post("/sources/{name}/{action}")
    def change_source(request: Request, name: str, action: str, csrf: Annotated[str, Form()] = "") -> Response:
        from tawthiq.sources import remove_source, set_paused

        guard.require_form(request, csrf)
        if action in ("pause", "resume"):
            set_paused(services.settings.home, name, action == "pause")
        elif action == "remove":
            remove_source(services.settings.home, name)
        else:
            raise NotFound(f"no action {action!r}")
        done = {"pause": "paused", "resume": "resumed", "remove": "removed"}[action]
        return RedirectResponse("/sources?" + urlencode({"message": f"{name} {done}"}), status_code=303)

    @pages.get("/runs", response_class=HTMLResponse)
    def runs(request: Request) -> HTMLResponse:
        takedowns: list[dict[str, Any]] = []
        failures: list[Any] = []
        if services.settings.has_catalog:
            catalog = services.catalog()
            try:
                takedowns = catalog.takedowns()
                failures = catalog.failures(200)
            finally:
                catalog.close()
        return render(request, "runs.html", runs=_runs(services, 100), takedowns=takedowns, failures=failures)

    @pages.get("/export", response_class=HTMLResponse)
    def export_form(request: Request, q: str = "",
                    everything: Annotated[bool, Query(alias="all")] = False) -> HTMLResponse:
        """What an export would hold, and the button that starts it: a link (which prefetchers and
        crawlers follow) never starts the copy itself."""
        if not everything and not q.strip():
            raise UserError("search for something first: the export holds the current search's posts")
        return render(request, "export_start.html", q=q, everything=everything)

    @pages.post("/export")
    def export(q: Annotated[str, Form(max_length=2000)] = "",
               everything: Annotated[bool, Form(alias="all")] = False) -> RedirectResponse:
        """Starts the export in the background and sends the browser to its progress page."""
        if not everything and not q.strip():
            raise UserError("search for something first: the export holds the current search's posts")
        job = services.exports.start(None if everything else q, everything)
        return RedirectResponse(f"/exports/{job.id}", status_code=303)

    @pages.get("/exports/{job_id}", response_class=HTMLResponse)
    def export_page(request: Request, job_id: str) -> HTMLResponse:
        job = services.exports.get(job_id)
        if job is None:
            raise NotFound(f"no export job {job_id!r} (finished jobs are kept an hour)")
        return render(request, "export.html", job=job.as_dict())

    @pages.get("/exports/{job_id}/file")
    def export_file(job_id: str) -> FileResponse:
        job = services.exports.get(job_id)
        if job is None or job.state != "done" or job.path is None or not job.path.exists():
            raise NotFound(f"export {job_id!r} has no finished bundle")
        return FileResponse(job.path, media_type="application/zip", filename="tawthiq-export.wacz")

    @pages.get("/verify", response_class=HTMLResponse)
    def verify_form(request: Request) -> HTMLResponse:
        return render(request, "verify.html", report=None)

    @pages.post("/verify", response_class=HTMLResponse)
    def verify(request: Request, bundle: Annotated[UploadFile, File()]) -> HTMLResponse:
        return render(request, "verify.html", report=_verify(bundle, services.settings.tsa_certificate))

    @pages.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> HTMLResponse:
        return render(request, "login.html", message="")

    @pages.post("/login")
    def login(request: Request, token: Annotated[str, Form()] = "") -> Response:
        if guard.read_only:
            raise HTTPException(403, "read-only: start `tawthiq serve` with TAWTHIQ_TOKEN set to allow changes")
        if not guard.check_attempt(request, token):
            return render(request, "login.html", status=401, message="that is not the token")
        response = RedirectResponse("/sources", status_code=303)
        response.set_cookie(SESSION_COOKIE, guard.session_value(), max_age=guard.session_max_age, httponly=True,
                            samesite="strict", secure=request.url.scheme == "https")
        return response

    @pages.post("/logout")
    def logout() -> Response:
        response = RedirectResponse("/search", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    return pages


def _replay_view(request: Request, services: Services, replay: str, detail: dict[str, Any]) -> tuple[str, str]:
    """The replay embed's URL for a browser-captured post, or why there is none. Never when the
    app itself is reached under the replay origin's host name: the replayed scripts would then
    share the app's cookies (cookies are not kept apart by port)."""
    if detail["platform"] != "browser" or not detail.get("page_record_id"):
        return "", ""
    if not replay:
        return "", ("no replay view: set replay_origin to an origin under another host name than the "
                    "app's (tawthiq serve listens for it)")
    if host_of(replay) == (request.url.hostname or "").lower():
        return "", (f"no replay view: this page was opened under {request.url.hostname}, the replay "
                    f"origin's host name; open the app under its own address")
    if not viewer_ready(services.settings):
        return "", "no replay view: ReplayWeb.page is not installed (build/replaywebpage, fetched by make)"
    ticket = services.tickets.make(detail["platform"], detail["post_id"])
    return replay + view_path(detail["platform"], detail["post_id"], ticket), ""


def _streamed(request: Request, services: Services, located: tuple[str, int, PayloadInfo], media_type: str,
              headers: dict[str, str]) -> Response:
    """The payload as a stream of bounded chunks, whole (200) or the one byte range asked for (206),
    or 416 for a range past its end. The ETag names the record: its bytes never change, so a
    player's If-Range with it keeps the range, and any other validator gets the whole body."""
    file, offset, info = located
    etag = '"' + hashlib.sha256(f"{file}:{offset}".encode()).hexdigest()[:32] + '"'
    headers = {**headers, "Accept-Ranges": "bytes", "ETag": etag}
    asked = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if if_range is not None and if_range.strip() != etag:
        asked = None
    try:
        span = byte_range(asked, info.size)
    except RangeNotSatisfiable as exc:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{exc.size}"})
    start, end = span if span is not None else (0, info.size)
    headers["Content-Length"] = str(end - start)
    status = 200
    if span is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{info.size}"
    body = iter_payload(services.settings.warcs_dir, file, offset, start, end - start)
    return StreamingResponse(body, status_code=status, media_type=media_type, headers=headers)


def _listed(services: Services) -> list[Any]:
    from tawthiq.sources import SourcesError, load_sources

    try:
        return load_sources(services.settings.home).sources
    except SourcesError:
        return []


def serve(settings: Settings, host: str, port: int, replay: str = "") -> None:
    """The app on host:port and, when `replay` is an origin, the replay listener on its port
    (`replay_port`, or the origin's; same bind address) in the same process; either one stopping
    stops both."""
    import asyncio

    import uvicorn

    level = os.environ.get("TAWTHIQ_WEB_LOG", "info")
    services = Services(settings)
    configs = [uvicorn.Config(create_app(settings, replay, services), host=host, port=port, log_level=level)]
    if replay:
        configs.append(uvicorn.Config(create_replay_app(services), host=host, port=listen_port(settings, replay),
                                      log_level=level))
    servers = [uvicorn.Server(config) for config in configs]

    async def run_all() -> None:
        tasks = [asyncio.create_task(server.serve()) for server in servers]
        _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for server in servers:
            server.should_exit = True
        await asyncio.gather(*pending)

    asyncio.run(run_all())
