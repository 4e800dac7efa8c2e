"""`tawthiq run`: the long-running process that keeps capturing every source on its schedule.

APScheduler 3 holds the schedules in the catalog database (SQLAlchemyJobStore), so a restart
keeps each source's next run time. Every capture runs as a child process (`tawthiq capture`):
Scrapy's reactor cannot restart inside one process, and a fresh process per run means days of
runs cannot leak memory or file handles into the daemon. One run per source at a time, missed
runs coalesce into one, jitter spreads sources out, a time limit ends a run that hangs.
On SIGTERM/SIGINT no new run starts, running captures get SIGTERM (they seal their files),
and the daemon exits when they are done. A kill -9 of anything is repaired by the next
capture's recovery.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from tawthiq.settings import Settings
from tawthiq.sources import Source, SourcesError, capture_args, load_sources, parse_duration, sources_path

log = logging.getLogger("tawthiq.daemon")

_children: set[subprocess.Popen] = set()
_children_lock = threading.Lock()
_stopping = threading.Event()


def _spawn(args: list[str], home: str, time_limit: float | None, label: str) -> int:
    """Run one tawthiq command as a child process, within the time limit."""
    if _stopping.is_set():
        return -1
    cmd = [sys.executable, "-m", "tawthiq.cli", *args, "--data-dir", home]
    started = time.monotonic()
    log.info("start %s", label)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    with _children_lock:
        _children.add(proc)
    try:
        try:
            _, err = proc.communicate(timeout=time_limit)
        except subprocess.TimeoutExpired:
            log.warning("%s ran past its time limit of %ss: stopping it", label, time_limit)
            proc.send_signal(signal.SIGTERM)
            try:
                _, err = proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
    finally:
        with _children_lock:
            _children.discard(proc)
    tail = (err or "").strip().splitlines()[-1:] or [""]
    log.info("end %s: exit %s in %.1fs %s", label, proc.returncode, time.monotonic() - started, tail[0])
    return proc.returncode


def capture_job(home: str, name: str, time_limit: float | None = None) -> None:
    """APScheduler job: one capture of one source, as a child of this process."""
    args = capture_args(Path(home), name)
    if args is not None:
        _spawn(args, home, time_limit, f"capture {name}")


def queue_capture_job(home: str, name: str, time_limit: float | None = None) -> None:
    """APScheduler job in scale-out mode: put the capture on the queue for a worker."""
    from tawthiq.queue import enqueue_capture, redis_from
    from tawthiq.settings import load_settings

    try:
        enqueue_capture(redis_from(load_settings(Path(home)).redis_url), home, name, time_limit)
    except Exception as exc:  # noqa: BLE001 - Redis down: said, and the next run time tries again
        log.error("cannot queue capture %s: %s", name, exc)


def recheck_job(home: str, name: str, time_limit: float | None = None) -> None:
    """APScheduler job: revisit the archived posts of one source (takedown tracking)."""
    _spawn(["recheck", name], home, time_limit, f"recheck {name}")


def _trigger(schedule_every: str | None, cron: str | None, jitter: int) -> Any:
    if cron:
        return CronTrigger(**_cron_fields(cron), timezone=timezone.utc, jitter=jitter or None)
    seconds = parse_duration(schedule_every or "1h").total_seconds()
    return IntervalTrigger(seconds=seconds, jitter=min(jitter, int(seconds / 2)) or None, timezone=timezone.utc)


def _cron_fields(cron: str) -> dict[str, str]:
    minute, hour, day, month, day_of_week = cron.split()
    return {"minute": minute, "hour": hour, "day": day, "month": month, "day_of_week": day_of_week}


def _same_trigger(a: Any, b: Any) -> bool:
    return type(a) is type(b) and str(a) == str(b) and getattr(a, "jitter", None) == getattr(b, "jitter", None)


class Daemon:
    def __init__(self, settings: Settings, *, jitter: int, run_time_limit: float | None,
                 poll_seconds: float = 2.0) -> None:
        self.settings = settings
        self.home = str(settings.home.resolve())
        self.jitter = jitter
        self.time_limit = run_time_limit
        self.poll_seconds = poll_seconds
        self.scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(url=settings.catalog_url, tablename="scheduler_jobs")},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 24 * 3600},
            timezone=timezone.utc,
        )
        self._mtime: float | None = None
        from tawthiq.catalog import Catalog

        Catalog(settings.catalog_url).close()  # the catalog's tables exist before any run reports

    def sync(self) -> None:
        """Make the stored jobs match sources.yaml, keeping next run times that did not change."""
        sources = load_sources(Path(self.home)).sources
        wanted: dict[str, tuple[Any, Any, list[Any], bool]] = {}
        capture = queue_capture_job if self.settings.redis_url else capture_job
        for source in sources:
            args = [self.home, source.name, self.time_limit]
            wanted[f"capture:{source.name}"] = (capture, _trigger(source.every, source.cron, self.jitter),
                                                args, source.paused)
            if source.recheck_every:
                wanted[f"recheck:{source.name}"] = (recheck_job, _trigger(source.recheck_every, None, self.jitter),
                                                    args, source.paused)
        for job in self.scheduler.get_jobs():
            if job.id not in wanted:
                log.info("unschedule %s", job.id)
                job.remove()
        for job_id, (func, trigger, args, paused) in wanted.items():
            job = self.scheduler.get_job(job_id)
            if (job is None or not _same_trigger(job.trigger, trigger) or list(job.args) != args
                    or job.func is not func):
                log.info("schedule %s: %s", job_id, trigger)
                job = self.scheduler.add_job(func, trigger, args=args, id=job_id, name=job_id,
                                             replace_existing=True)
            if paused and job.next_run_time is not None:
                job.pause()
            elif not paused and job.next_run_time is None:
                job.resume()

    def _sources_changed(self) -> bool:
        path = sources_path(Path(self.home))
        mtime = path.stat().st_mtime if path.exists() else None
        changed = mtime != self._mtime
        self._mtime = mtime
        return changed

    def run(self) -> int:
        _stopping.clear()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: _stopping.set())
        if self.settings.redis_url:
            return self._run_as_candidate()
        self.scheduler.start(paused=True)
        self._sources_changed()
        self.sync()
        self.scheduler.resume()
        log.info("running: %d job(s)", len(self.scheduler.get_jobs()))
        for job in self.scheduler.get_jobs():
            log.info("  %s next at %s", job.id, job.next_run_time)
        while not _stopping.wait(self.poll_seconds):
            if self._sources_changed():
                try:
                    self.sync()
                except SourcesError as exc:
                    log.error("%s (schedules left as they were)", exc)
        log.info("stopping: no new runs; waiting for %d running capture(s)", len(_children))
        self.scheduler.pause()
        with _children_lock:
            for proc in _children:
                proc.send_signal(signal.SIGTERM)
        self.scheduler.shutdown(wait=True)
        log.info("stopped at %s", datetime.now(timezone.utc).isoformat())
        return 0


    def _run_as_candidate(self) -> int:
        """Scale-out mode: several schedulers may run; the one holding the leader lease schedules
        (and requeues abandoned runs), the others wait and take over when its lease expires."""
        from tawthiq.leases import Lease, holder_of
        from tawthiq.queue import redis_from, requeue_abandoned, worker_identity

        redis = redis_from(self.settings.redis_url)
        me = f"scheduler-{worker_identity(self.settings.worker_id)}-{__import__('os').getpid()}"
        lease = Lease(redis, "tawthiq:scheduler-leader", me, self.settings.lease_seconds)
        leading, started = False, False
        poll = min(self.poll_seconds, self.settings.lease_seconds / 3)
        log.info("%s: waiting to lead (leader now: %s)", me, holder_of(redis, "tawthiq:scheduler-leader"))
        while not _stopping.wait(poll):
            try:
                if not leading:
                    if lease.acquire():
                        leading = True
                        log.info("%s leads: scheduling", me)
                        if not started:
                            self.scheduler.start(paused=True)
                            started = True
                        self._sources_changed()
                        self.sync()
                        self.scheduler.resume()
                    continue
                if not lease.renew():
                    leading = False
                    self.scheduler.pause()
                    log.warning("%s lost the lead: waiting", me)
                    continue
                requeue_abandoned(redis)
                if self._sources_changed():
                    self.sync()
            except SourcesError as exc:
                log.error("%s (schedules left as they were)", exc)
            except Exception as exc:  # noqa: BLE001 - Redis unreachable for a moment
                log.error("scheduler: %s", exc)
        if started:
            self.scheduler.shutdown(wait=False)
        if leading:
            lease.release()
        log.info("stopped at %s", datetime.now(timezone.utc).isoformat())
        return 0


def setup_logging(settings: Settings) -> None:
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    queue_log = logging.getLogger("tawthiq.queue")  # enqueues and requeues, in scale-out mode
    for handler in (logging.FileHandler(settings.logs_dir / "daemon.log"), logging.StreamHandler(sys.stdout)):
        handler.setFormatter(fmt)
        log.addHandler(handler)
        queue_log.addHandler(handler)
    for logger in (log, queue_log):
        logger.setLevel(logging.INFO)
        logger.propagate = False
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def source_for_target(sources: list[Source], name_or_spec: str) -> Source | None:
    for source in sources:
        if name_or_spec in (source.name, source.spec):
            return source
    return None

