"""The browser fetcher: pages that need JavaScript (`browser:URL`, and hosts in `browser_domains`),
captured in Debian's chromium behind the recording proxy, into the capture's own WARC file.

What the archive gets for one page, in this order:
  1. every exchange the browser made (the page, its scripts, styles, images, XHR/fetch calls,
     media segments), as request/response records - or revisits, for bytes archived before - each
     saying it was recorded by the proxy (`WARC-Tawthiq-Recorder`); exchanges that failed are
     failure records;
  2. the evidence of the page as seen, each a `resource` record `WARC-Concurrent-To` the page's
     response: a full-page PNG screenshot (`urn:tawthiq:screenshot:URL`), a PDF
     (`urn:tawthiq:pdf:URL`) and the rendered DOM (`urn:tawthiq:dom:URL`);
  3. a `browser-page` metadata record about the page's response: viewport, user agent, browser
     version, time, each behaviour's outcome, the evidence records, the record id of every
     response of step 1 ("exchanges": what an export carries for a replay), and what went wrong;
  4. the page as a `web` post, read from the rendered DOM (so text only scripts put there is
     searchable), with the screenshot as its media;
  5. streaming manifests the page played, handed to the yt-dlp fetcher.
A page whose profile shows the "logged out" marker is not archived as evidence: the capture says
so (`context.logged_out`) and the glue pauses the source.

One browser and one proxy per capture process, started at the first page and stopped by `close`;
a browser or proxy that died is started again for the next page, and the page is recorded as failed.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urldefrag

from tawthiq.archivers.httpblock import HTTPParseError
from tawthiq.crawlers.address_policy import allowed_hosts, refused_url
from tawthiq.crawlers.browser.behaviours import Limits
from tawthiq.crawlers.browser.chromium import Browser, BrowserError, BrowserOptions
from tawthiq.crawlers.browser.flows import ProxiedFlow
from tawthiq.crawlers.browser.memory import MemoryWatch
from tawthiq.crawlers.browser.page import PageOptions, PageResult, capture_page
from tawthiq.crawlers.browser.profiles import profile_dir
from tawthiq.crawlers.browser.proxy import ProxyError, RecordingProxy, spki_hash
from tawthiq.crawlers.fetchers.base import FetchContext
from tawthiq.crawlers.models import Media, MediaKind, WarcLocation
from tawthiq.crawlers.platforms.base import FetchJob
from tawthiq.crawlers.platforms.browser import rendered_post

MEDIA_TYPES = ("image/", "video/", "audio/")


def media_kind(mime: str) -> MediaKind:
    return "image" if mime.startswith("image/") else "audio" if mime.startswith("audio/") else "video"


def page_options(settings: Any) -> PageOptions:
    s = settings
    return PageOptions(
        load_seconds=s.browser_load_seconds, screenshot=s.browser_screenshot, pdf=s.browser_pdf,
        logged_out_marker=s.browser_logged_out_marker,
        limits=Limits(settle_seconds=s.browser_settle_seconds, scroll_max=s.browser_scroll_max,
                      scroll_seconds=s.browser_scroll_seconds, play_seconds=s.browser_play_seconds,
                      enabled=s.browser_behaviours),
    )


def profile_path(settings: Any) -> Path | None:
    """The persistent profile `browser_profile` names (made by `tawthiq browser login NAME`), under
    the data folder's browser/profiles/; None: a fresh, empty profile for each capture."""
    name = settings.browser_profile
    return profile_dir(Path(settings.home), name) if name else None


def _document(archived: dict[str, WarcLocation], *urls: str) -> tuple[WarcLocation | None, str]:
    """The page's document among the archived responses: the first of `urls` (where the browser
    ended up, then the URL asked for) that was served; fragments are never sent, so never matched."""
    for url in urls:
        bare = urldefrag(url)[0]
        if bare in archived:
            return archived[bare], bare
    return None, urldefrag(urls[0])[0]


class Runtime:
    """The proxy and the browser of one capture process."""

    def __init__(self, settings: Any, profile: Path | None) -> None:
        folder = Path(settings.home) / "browser"
        self.proxy = RecordingProxy(folder, mitmdump=settings.browser_mitmdump,
                                    refuse_private=not settings.allow_private_targets,
                                    verify_upstream=settings.browser_verify_upstream_tls,
                                    upstream_ca=settings.browser_upstream_ca_file,
                                    max_body=settings.browser_max_body)
        self.profile = profile
        self.settings = settings
        self.browser: Browser | None = None

    def start(self) -> None:
        if not self.proxy.alive:
            self.proxy.stop()
            self.proxy.start()
        if self.browser is None or not self.browser.alive:
            if self.browser is not None:
                self.browser.stop()
            s = self.settings
            self.browser = Browser(self.proxy.address, spki_hash(self.proxy.ca_cert), BrowserOptions(
                executable=s.browser_executable, headless=not s.browser_headful,
                viewport=(s.browser_viewport_width, s.browser_viewport_height),
                user_agent=s.browser_user_agent, profile=self.profile))
            self.browser.start()

    def stop(self) -> None:
        if self.browser is not None:
            self.browser.stop()
            self.browser = None
        self.proxy.stop()


class BrowserFetcher:
    name: ClassVar[str] = "browser"
    kind: ClassVar[str] = "page"

    def __init__(self) -> None:
        self._runtime: Runtime | None = None

    def _runtime_for(self, context: FetchContext, job: FetchJob) -> Runtime:
        profile = profile_path(context.settings)
        if self._runtime is not None and self._runtime.profile != profile:
            self._runtime.stop()  # another source's login: a browser of its own
            self._runtime = None
        if self._runtime is None:
            self._runtime = Runtime(context.settings, profile)
        self._runtime.start()
        return self._runtime

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.stop()
            self._runtime = None

    def fetch(self, job: FetchJob, context: FetchContext) -> None:
        settings = context.settings
        if not settings.allow_private_targets:
            reason = refused_url(job.url)
            if reason:
                context.failed(job.url, f"page not captured: {reason}")
                return
        try:
            runtime = self._runtime_for(context, job)
        except (ProxyError, BrowserError) as exc:
            context.failed(job.url, f"page not captured: {exc}")
            self.close()
            return
        runtime.proxy.allow(allowed_hosts())
        # Exchanges a killed capture left in a spool are evidence too: archive them first.
        leftovers = runtime.proxy.orphans() + runtime.proxy.collect()
        if leftovers:
            # Whose login sent them is unknown (a killed process's): credentials withheld.
            self._archive_flows(leftovers, context, post_url=None, withhold=True)
            runtime.proxy.forget_orphans()
        workdir = Path(tempfile.mkdtemp(prefix="page-", dir=runtime.proxy.folder))
        try:
            self._capture(job, context, runtime, workdir)
        except ProxyError as exc:
            # The proxy stopped answering mid-page: this page fails, the queue goes on (the next
            # page starts a fresh proxy; what was spooled is archived then, as leftovers).
            context.failed(job.url, f"page not captured: {exc}")
            self.close()
        except KeyboardInterrupt:
            # Ctrl-C / SIGTERM mid-page: what the browser fetched so far goes into the WARC before
            # the capture seals its file, and the page says it was not finished.
            self._salvage(job, context, runtime)
            raise
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _salvage(self, job: FetchJob, context: FetchContext, runtime: Runtime) -> None:
        try:
            flows = runtime.proxy.collect()
            self._archive_flows(flows, context, post_url=job.url, withhold=runtime.profile is not None)
            context.failed(job.url, "page not captured: the capture was stopped while the page loaded; "
                           f"the {len(flows)} exchanges it had made are archived")
        except Exception:  # noqa: BLE001 - never mask the interrupt; the spool keeps what was not written
            pass

    def _capture(self, job: FetchJob, context: FetchContext, runtime: Runtime, workdir: Path) -> None:
        settings = context.settings
        assert runtime.browser is not None
        watch = MemoryWatch(settings.browser_max_memory_mb, deadline=settings.browser_page_seconds)
        try:
            with watch:
                result = capture_page(runtime.browser.context, job.url, page_options(settings), workdir,
                                      context.stopping)
            if watch.exceeded is not None or watch.overtime:
                raise BrowserError("killed by the watchdog")
        except Exception as exc:  # noqa: BLE001 - a crashed browser: the page fails, the capture goes on
            crashed = not runtime.browser.alive or watch.exceeded is not None or watch.overtime
            runtime.proxy.settle(5.0) if runtime.proxy.alive else None
            self._archive_flows(runtime.proxy.collect() if runtime.proxy.alive else [], context, post_url=job.url)
            if watch.overtime:
                why = (f"the page took more than browser_page_seconds = {settings.browser_page_seconds:.0f} s "
                       "(a script that never yields?); the browser was stopped")
            elif watch.exceeded is not None:
                why = (f"the browser used {watch.exceeded:.0f} MB, more than browser_max_memory_mb = "
                       f"{settings.browser_max_memory_mb}, and was stopped")
            else:
                why = (f"the browser {'crashed' if crashed else 'failed'} "
                       f"({str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__})")
            context.failed(job.url, f"page not captured: {why}")
            if crashed:
                self.close()
            return
        if not runtime.proxy.settle(settings.browser_settle_seconds):
            result.errors.append("exchanges still in flight when the page was recorded; they are archived "
                                 "as they finish, or as failures")
        flows = runtime.proxy.collect()
        if result.logged_out:
            # A login wall is not evidence of the page: archive the exchanges (they happened), no post.
            archived = self._archive_flows(flows, context, post_url=job.url)
            wall, _ = _document(archived, result.final_url, job.url)
            context.logged_out(job.url, result.logged_out, refers_to=wall.record_id if wall else None)
            return
        exchanges: list[str] = []
        media: list[tuple[str, str]] = []
        # The post's URL is where the page ended up (after redirects): its media rows point there.
        archived = self._archive_flows(flows, context, post_url=result.final_url, ids=exchanges, media=media)
        page, filed_under = _document(archived, result.final_url, job.url)
        if page is not None and filed_under != urldefrag(result.final_url)[0]:
            # history.pushState (or a navigation to a document not recorded) changed the address
            # bar: the evidence is filed under the document that was really served.
            result.errors.append(f"the page's address became {result.final_url} without a new document being "
                                 f"loaded; its evidence is filed under {filed_under}, the document served")
        if page is not None:
            result.final_url = filed_under
        if page is None:
            context.failed(job.url, "page not captured: the browser received no response for it"
                           + (f" ({result.errors[0]})" if result.errors else ""))
            return
        context.tally("pages")
        self._store_evidence(job, context, result, page, runtime.browser.version, workdir, exchanges, media)
        for manifest in result.manifests:
            context.queue(FetchJob("ytdlp", manifest, post_url=result.final_url))

    def _archive_flows(self, flows: list[ProxiedFlow], context: FetchContext, *,
                       post_url: str | None, withhold: bool | None = None,
                       ids: list[str] | None = None,
                       media: list[tuple[str, str]] | None = None) -> dict[str, WarcLocation]:
        """Write each flow; returns where the response of each URL's first non-redirect GET is.
        With a login profile (or `withhold`) the requests' credentials are withheld (flows.py).
        `ids` collects the record id of every response or revisit written (the page's exchanges),
        `media` the (URL, MIME type) of each photo, video or audio file the page loaded."""
        if withhold is None:
            withhold = self._runtime is not None and self._runtime.profile is not None
        records: dict[str, WarcLocation] = {}
        archived_flows: list[ProxiedFlow] = []
        for flow in flows:
            if flow.raw_response:
                exchange = flow.exchange(withhold_credentials=withhold)
                try:
                    archived = context.exchange(exchange)
                except HTTPParseError as exc:
                    # Bytes the archiver cannot take as HTTP are kept raw, with a failure record.
                    context.keep_unparsed(exchange, str(exc))
                    archived = None
                except Exception as exc:  # noqa: BLE001 - one bad flow must not poison every later page
                    # Not written (disk full, say): the spool file is moved aside, kept whole, and
                    # a failure record says where, rather than failing again on every later page.
                    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    kept = flow.quarantine()
                    context.failed(flow.url, f"browser exchange not archived ({reason}); its bytes are kept "
                                   f"in {kept}", count=False)
                    continue
                if archived is not None:
                    if ids is not None:
                        ids.append(archived.response.pending.record_id)
                    status = archived.message.status or 0
                    response = archived.response
                    if flow.method == "GET" and not 300 <= status < 400:
                        records.setdefault(flow.url, WarcLocation(
                            file=response.filename, offset=response.offset, length=response.length,
                            record_id=response.pending.record_id))
                    mime = (archived.message.content_type or "").lower()
                    if 200 <= status < 300 and mime.startswith(MEDIA_TYPES) and post_url is not None:
                        context.fetched_media(archived, flow.url, post_url=post_url)
                        if media is not None:
                            media.append((flow.url, mime))
            if flow.error:
                context.failed(flow.url, f"browser request failed: {flow.error}", count=False)
            archived_flows.append(flow)
        # Spool files go only once their records are on disk: a capture killed before this keeps
        # them, and the next run archives them again rather than losing them.
        if archived_flows:
            context.flush()
        for flow in archived_flows:
            flow.discard()
        return records

    def _store_evidence(self, job: FetchJob, context: FetchContext, result: PageResult, page: WarcLocation,
                        browser_version: str, workdir: Path, exchanges: list[str],
                        media: list[tuple[str, str]]) -> None:
        url = result.final_url
        page_record = page.record_id
        evidence: dict[str, str] = {}
        shot_stored = None
        if result.screenshot is not None:
            shot_stored = context.store_file(result.screenshot, f"urn:tawthiq:screenshot:{url}", role="screenshot",
                                             mime="image/png", concurrent_to=page_record)
            evidence["screenshot_record_id"] = shot_stored.record.pending.record_id
        if result.pdf is not None:
            stored = context.store_file(result.pdf, f"urn:tawthiq:pdf:{url}", role="pdf", mime="application/pdf",
                                        concurrent_to=page_record)
            evidence["pdf_record_id"] = stored.record.pending.record_id
        dom_path = workdir / "dom.html"
        dom_path.write_text(result.dom, encoding="utf-8")
        dom_stored = context.store_file(dom_path, f"urn:tawthiq:dom:{url}", role="dom",
                                        mime="text/html; charset=utf-8", concurrent_to=page_record)
        evidence["dom_record_id"] = dom_stored.record.pending.record_id
        document = {
            "type": "browser-page", "url": job.url, "final_url": url, "status": result.status,
            "page_record_id": page_record, "started": result.started.isoformat(),
            "browser": browser_version, "user_agent": result.user_agent, "viewport": result.viewport,
            "screenshot_size": list(result.screenshot_size) if result.screenshot_size else None,
            "behaviours": [o.as_dict() for o in result.behaviours], "manifests": result.manifests,
            "errors": result.errors, **evidence,
            # Every response the page made (XHR and fetch() calls included, which no HTML names):
            # an export of the post carries them all, so a replay runs the page's scripts against
            # the answers they got (tawthiq.export_requisites.browser_exchange_refs).
            "exchanges": exchanges,
        }
        info = context.metadata(url, document, kind="browser-page", refers_to=page_record)
        if shot_stored is not None and result.screenshot is not None:
            context.media_stored(shot_stored, result.screenshot, role="screenshot", source_url=f"urn:tawthiq:screenshot:{url}",
                                 page_url=url, post_url=url,
                                 extra={"info_record_id": info.pending.record_id})
        post = rendered_post(result.dom, url, source=job.source or job.url, warc=page)
        # What the page showed, beside what the extractor found in its main text: every photo and
        # video file it loaded (icons and CSS images too: a page's pictures cannot be told apart
        # from its decoration by type alone, and leaving one out would hide evidence).
        named = {m.url for m in post.media}
        for media_url, mime in media:
            if media_url not in named:
                named.add(media_url)
                post.media.append(Media(kind=media_kind(mime), url=media_url, mime=mime))
        post.extra.update({"rendered_by": "browser", "browser_page_record_id": info.pending.record_id, **evidence})
        context.post(post)
        for error in result.errors:
            context.failed(url, f"page captured with a problem: {error}", refers_to=info.pending.record_id,
                           count=False)


FETCHER = BrowserFetcher()
