"""Exports the web app makes in the background: a large selection takes minutes to copy, longer
than a browser or a proxy waits for one response. Each job runs on a thread of its own, says how
far it has got, keeps its finished bundle for download, or says why it failed; nothing of a
failed job is left on disk. Only MAX_RUNNING exports copy at once (background jobs and the API's
direct downloads together): each one reads the whole selection and writes it again, and reading
the archive is all a request needs, so without a bound any reader could fill the disk and the
threads; one more is refused with 429 until one ends.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tawthiq.errors import TawthiqError
from tawthiq.settings import Settings

KEEP_S = 3600.0  # a finished bundle waits this long for its download
MAX_JOBS = 20  # jobs remembered at once; the oldest finished ones are forgotten first
MAX_RUNNING = 2  # exports copying at once


class TooManyExports(TawthiqError):
    """Every export slot is taken: try again when one has finished."""

    kind = "busy"
    http_status = 429


@dataclass
class ExportJob:
    id: str
    query: str | None
    everything: bool
    state: str = "running"  # running, done, failed
    done_bytes: int = 0
    total_bytes: int = 0
    error: str | None = None
    path: Path | None = None
    size: int = 0
    posts: int = 0
    started: float = field(default_factory=time.time)
    finished: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "query": self.query, "all": self.everything,
                "done_bytes": self.done_bytes, "total_bytes": self.total_bytes,
                "percent": round(100 * self.done_bytes / self.total_bytes, 1) if self.total_bytes else None,
                "error": self.error, "size": self.size if self.state == "done" else None, "posts": self.posts,
                "download": f"/exports/{self.id}/file" if self.state == "done" else None}


class ExportJobs:
    """The app's export jobs, by id (an unguessable token: the id is the way to the bundle)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._jobs: dict[str, ExportJob] = {}
        self._lock = threading.Lock()
        self._running = 0

    def _take_slot(self) -> None:
        """Called with the lock held."""
        if self._running >= MAX_RUNNING:
            raise TooManyExports(f"{self._running} exports are already running (at most {MAX_RUNNING} at once): "
                                 "try again when one has finished")
        self._running += 1

    def _free_slot(self) -> None:
        with self._lock:
            self._running -= 1

    @contextmanager
    def slot(self) -> Iterator[None]:
        """One export slot for an export made in the request (the API's direct download)."""
        with self._lock:
            self._take_slot()
        try:
            yield
        finally:
            self._free_slot()

    def start(self, query: str | None, everything: bool) -> ExportJob:
        job = ExportJob(secrets.token_urlsafe(12), query, everything)
        with self._lock:
            self._take_slot()
            self._forget_old()
            self._jobs[job.id] = job
        try:
            threading.Thread(target=self._run, args=(job,), name=f"tawthiq-export-{job.id}", daemon=True).start()
        except BaseException:
            self._free_slot()
            raise
        return job

    def get(self, job_id: str) -> ExportJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def _run(self, job: ExportJob) -> None:
        try:
            self._export(job)
        finally:
            self._free_slot()

    def _export(self, job: ExportJob) -> None:
        from tawthiq.exporting import export_posts

        folder = Path(tempfile.mkdtemp(prefix="tawthiq-exportjob-"))
        out = folder / "tawthiq-export.wacz"

        def progress(done: int, total: int) -> None:
            job.done_bytes, job.total_bytes = done, total

        try:
            selection, result = export_posts(self.settings, out, query=job.query, everything=job.everything,
                                             progress=progress, max_bytes=self.settings.max_export_size)
            if result.bytes > self.settings.max_export_size:
                raise ValueError(f"the export would be {result.bytes} bytes, over max_export_size "
                                 f"({self.settings.max_export_size}): narrow the search or use `tawthiq export`")
        except Exception as exc:  # noqa: BLE001 - the job's page says why; the server goes on
            shutil.rmtree(folder, ignore_errors=True)
            job.error = str(exc) or type(exc).__name__
            job.state, job.finished = "failed", time.time()
            return
        job.path, job.size, job.posts = out, result.bytes, len(selection.items)
        job.state, job.finished = "done", time.time()

    def close(self) -> None:
        """Remove every finished bundle (the server is stopping; a running job's own folder goes
        when it ends, failed, or with the next close)."""
        with self._lock:
            for job in list(self._jobs.values()):
                if job.finished is not None:
                    self._drop(job)

    def _forget_old(self) -> None:
        now = time.time()
        for job in list(self._jobs.values()):
            if job.finished is not None and now - job.finished > KEEP_S:
                self._drop(job)
        finished = sorted((j for j in self._jobs.values() if j.finished is not None), key=lambda j: j.finished or 0)
        while len(self._jobs) >= MAX_JOBS and finished:
            self._drop(finished.pop(0))

    def _drop(self, job: ExportJob) -> None:
        self._jobs.pop(job.id, None)
        if job.path is not None:
            shutil.rmtree(job.path.parent, ignore_errors=True)
