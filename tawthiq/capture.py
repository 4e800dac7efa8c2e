"""Run one capture: recover what a crash left, crawl every target, seal, summarise.

Scrapy's reactor cannot be restarted inside one process, so one call of `run_capture` is one
process's capture; the scheduler runs each capture in a process of its own.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from tawthiq.archivers.recovery import RecoveryResult, find_open_files, recover_file
from tawthiq.archivers.writer import SealedFile
from tawthiq.archivers.digests import file_sha256
from tawthiq.crawlers import sink as sinks
from tawthiq.crawlers.address_policy import allow_seed
from tawthiq.crawlers.settings import scrapy_settings
from tawthiq.crawlers.platforms import FetchJob, Job, SpiderJob, platform
from tawthiq.catalog import Catalog
from tawthiq.session import CaptureSession, CaptureStats
from tawthiq.search_index import catch_up
from tawthiq.settings import Settings
from tawthiq.specs import Target


@dataclass
class CaptureSummary:
    run_id: int
    status: str
    stats: CaptureStats
    files: list[SealedFile] = field(default_factory=list)
    recovered: list[RecoveryResult] = field(default_factory=list)
    seconds: float = 0.0
    scrapy_stats: list[dict[str, Any]] = field(default_factory=list)
    message: str | None = None  # the run's message, as `tawthiq runs` shows it


def recover(settings: Settings, catalog: Catalog) -> list[RecoveryResult]:
    """Seal every orphaned `.open` file and index what it holds; mark dead runs interrupted."""
    results = []
    for path in find_open_files(settings.warcs_dir):
        result = recover_file(path)
        if result is None:
            continue  # another live process is writing it
        results.append(result)
        name = path.name.removesuffix(".open")
        if result.sealed_path is None:
            catalog.forget_file(name)
            continue
        sealed = SealedFile(name, result.sealed_path, result.sealed_path.stat().st_size,
                            file_sha256(str(result.sealed_path)))
        catalog.rebuild_file(result.sealed_path, sealed=sealed, recovered=True)
    sealed_paths = [r.sealed_path for r in results if r.sealed_path is not None]
    if sealed_paths:
        catch_up(settings, sealed_paths)
    catalog.mark_interrupted_runs()
    return results


def source_url(target: Target, settings: Settings) -> str:
    return platform(target.kind).source_url(target.value, settings)


def spider_defaults(settings: Settings) -> dict[str, Any]:
    """What every spider is told, whatever its platform: media, videos, requisites."""
    return {"fetch_media": settings.fetch_media, "fetch_videos": settings.fetch_videos,
            "video_domains": settings.video_domains, "browser_domains": settings.browser_domains,
            "fetch_requisites": settings.fetch_requisites,
            "requisites_per_page": settings.requisites_per_page, "requisite_max_size": settings.requisite_max_size}


def plan(targets: list[Target], settings: Settings, catalog: Catalog) -> list[Job]:
    """Each target's crawls and fetches, as its platform plans them."""
    return [job for target in targets for job in platform(target.kind).plan(target, settings, catalog)]


def run_capture(
    settings: Settings,
    targets: list[Target],
    *,
    on_tick: Callable[[CaptureStats, int], None] | None = None,
    record: bool = True,
    source_name: str | None = None,
    keywords: list[str] | None = None,
    crawls: list[tuple[type, dict[str, Any]]] | None = None,
    fetches: list[FetchJob] | None = None,
    kind: str = "capture",
    ocr_images: list[Any] | None = None,
    ocr_redo: bool = False,
) -> CaptureSummary:
    """Capture all targets in one crawl; `on_tick` is called with live stats for a display.
    `crawls` and `fetches` are spiders and fetcher jobs to run besides what the targets plan;
    `ocr_images` (tawthiq.listeners.ocr.ImageJob) are archived images to OCR (`tawthiq ocr`;
    with `ocr_redo`, also those read before), appending their records to this run's file."""
    from scrapy.crawler import CrawlerProcess

    # Scrapy leaves the root logger open to every level; charset_normalizer then builds about
    # a hundred TRACE records per page that no handler wants.
    logging.getLogger("charset_normalizer").setLevel(logging.WARNING)

    settings.warcs_dir.mkdir(parents=True, exist_ok=True)
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    settings.exports_dir.mkdir(parents=True, exist_ok=True)
    catalog = Catalog(settings.catalog_url, worker=settings.worker_id or None)
    recovered = recover(settings, catalog)
    specs = [t.label for t in targets] or [kind]
    run_id = catalog.start_run(specs, settings.collection, source=source_name, kind=kind)
    catalog.note_sources([(t.label, t.kind, t.value, source_url(t, settings)) for t in targets],
                         settings.collection, run_id)
    session = CaptureSession(settings, catalog, specs, run_id, keywords=keywords)
    if ocr_images is not None and session.ocr is not None:
        session.ocr.redo = ocr_redo
        for image in ocr_images:
            session.ocr.add(image)
    key = uuid.uuid4().hex
    sinks.register(key, session)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    log_file = settings.logs_dir / f"{kind}-{stamp}-run{run_id}.log"
    process = CrawlerProcess(scrapy_settings(
        sink_key=key, user_agent=settings.user_agent, max_response_size=settings.max_response_size,
        concurrent_requests=settings.concurrent_requests,
        concurrent_requests_per_domain=settings.concurrent_requests_per_domain,
        download_delay=settings.download_delay, download_timeout=settings.download_timeout,
        retry_times=settings.retry_times, obey_robots_txt=settings.obey_robots_txt,
        log_level=settings.log_level, log_file=str(log_file), record=record,
        allow_private_targets=settings.allow_private_targets,
        rate_limit_max_wait=settings.rate_limit_max_wait, rate_limit_tries=settings.rate_limit_tries,
    ))
    crawlers = []
    for spider_cls, kwargs in crawls or []:
        crawler = process.create_crawler(spider_cls)
        crawlers.append(crawler)
        process.crawl(crawler, **kwargs)
    for job in [*(fetches or []), *plan(targets, settings, catalog)]:
        if isinstance(job, FetchJob):
            allow_seed(urlsplit(job.url).hostname or "")  # a fetched seed's host is the archivist's choice
            session.queue_fetch(job)
            continue
        assert isinstance(job, SpiderJob)
        crawler = process.create_crawler(job.spider)
        crawlers.append(crawler)
        process.crawl(crawler, **{**spider_defaults(settings), **job.kwargs})
    started = time.monotonic()
    status = "failed"
    message = None
    if on_tick is not None:
        from twisted.internet import reactor
        from twisted.internet.task import LoopingCall

        def tick() -> None:
            session.stats.bytes_written = session.current_bytes()
            on_tick(session.stats, run_id)

        loop = LoopingCall(tick)
        reactor.callWhenRunning(loop.start, 0.25)  # type: ignore[attr-defined]
    try:
        if crawlers:
            process.start()
        stopped = any(c.stats is not None and c.stats.get_value("finish_reason") == "shutdown"
                      for c in crawlers)
        if stopped:
            # Ctrl-C / SIGTERM: Scrapy finished what was in flight; do not start yt-dlp now.
            session.stop_fetches()
            status, message = "stopped", "stopped by a signal; what was fetched is archived"
        else:
            # Fetchers (yt-dlp) run after the crawl, in this process, writing into the same open WARC file.
            session.run_fetches(
                on_fetch=(lambda job: on_tick(session.stats, run_id)) if on_tick is not None else None)
            status = "finished"
    except KeyboardInterrupt:
        status, message = "stopped", "stopped by a signal; what was written is sealed"
        raise
    except BaseException as exc:  # noqa: BLE001 - recorded, then re-raised
        message = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        session.close()
        sinks.unregister(key)
        if session.stats.logged_out:
            message = "; ".join(filter(None, [pause_logged_out(settings, source_name, session.stats.logged_out),
                                              message]))
        catalog.finish_run(run_id, status, session.stats.as_dict(), len(session.stats.errors), message)
        catalog.close()
    return CaptureSummary(
        run_id=run_id, status=status, stats=session.stats, files=list(session.archiver.writer.sealed),
        recovered=recovered, seconds=time.monotonic() - started,
        scrapy_stats=[dict(c.stats.get_stats()) for c in crawlers if c.stats is not None], message=message,
    )


def pause_logged_out(settings: Settings, source_name: str | None, pages: list[str]) -> str:
    """A page showed the login profile's "logged out" marker: pause the run's source, so later runs
    do not archive login walls as evidence, and say so in the run's message (`tawthiq runs`, the
    web app). A run of no source (a capture by hand) pauses nothing, and says that too."""
    from tawthiq.sources import SourcesError, set_paused

    profile = settings.browser_profile or "(none)"
    what = pages[0] + (f" and {len(pages) - 1} more" if len(pages) > 1 else "")
    why = f"logged out ({what} showed {settings.browser_logged_out_marker!r}; browser profile {profile})"
    if not source_name:
        return f"{why}; not a source's run, so nothing was paused"
    reason = f"{why}; log in with `tawthiq browser login {profile}`, then `tawthiq sources resume {source_name}`"
    try:
        set_paused(settings.home, source_name, True, reason=reason)
    except SourcesError as exc:
        return f"{why}; source {source_name} could not be paused: {exc}"
    return f"paused: {reason}"
