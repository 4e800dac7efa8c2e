"""Capture runs through a Redis queue (RQ), for archives that outgrow one machine.

Why RQ: the work is "run this capture", already a separate process per run; RQ is a small,
well-kept Python library on plain Redis (no broker configuration, no result backend, jobs are
function references), and its workers fork a fresh process per job. Celery would add a broker
layer and features unused here; Dramatiq's middleware model fits less well with runs that are
whole subprocesses.

The scheduler (`tawthiq run` with `redis_url`) enqueues `capture_source` jobs; `tawthiq worker`
processes on any machine consume them. A source is captured by at most one worker at a time: the
job takes the source's lease first (tawthiq.leases) and keeps it alive while the capture runs.
If the worker dies, the lease expires and the leader's watchdog puts the run back on the queue
(`requeue_abandoned`), where another worker takes it; the new run's recovery step repairs the dead
worker's `.open` file first, and incremental state in the catalog means nothing is captured twice.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tawthiq import warm
from tawthiq.leases import Lease, holder_of

log = logging.getLogger("tawthiq.queue")

QUEUE = "tawthiq-captures"
RUNNING = "tawthiq:running"  # hash: source name -> {"job", "attempt", "home"}
MAX_ATTEMPTS = 4
# A run past its time limit is sent SIGTERM (it stops cleanly: file sealed, run marked stopped)
# and killed this many seconds later if still running, as the local scheduler does. The job's
# own timeout (RQ) is the time limit plus 120 s, so the stop fits within it.
STOP_GRACE = 60.0
# A warm worker (the default) imports once and forks each run from itself (tawthiq.warm); a cold
# one (`tawthiq worker --cold`) starts a fresh `python -m tawthiq.cli capture` per run, as before.
WARM = True


def redis_from(url: str) -> Any:
    from redis import Redis

    return Redis.from_url(url)


def lease_key(name: str) -> str:
    return f"tawthiq:lease:{name}"


def worker_identity(settings_worker_id: str) -> str:
    return settings_worker_id or f"{socket.gethostname()}-{os.getpid()}"


def enqueue_capture(redis: Any, home: str, name: str, time_limit: float | None, *, attempt: int = 1) -> str | None:
    """Queue one capture of a source unless one is already queued or running."""
    from rq import Queue

    current = redis.hget(RUNNING, name)
    if current is not None and attempt == 1:
        log.info("capture %s is already queued or running: not queued again", name)
        return None
    job = Queue(QUEUE, connection=redis).enqueue(
        capture_source, home, name, time_limit, job_timeout=int(time_limit or 24 * 3600) + 120,
        result_ttl=24 * 3600, failure_ttl=7 * 24 * 3600, description=f"capture {name} (attempt {attempt})")
    redis.hset(RUNNING, name, json.dumps({"job": job.id, "attempt": attempt, "home": home,
                                          "time_limit": time_limit, "queued": time.time()}))
    log.info("queued capture %s (attempt %d): job %s", name, attempt, job.id)
    return job.id


def requeue_abandoned(redis: Any, grace_seconds: float = 5.0) -> list[str]:
    """Runs whose job started but whose lease is gone (the worker died): queue them again."""
    from rq.job import Job, JobStatus
    from rq.exceptions import NoSuchJobError

    again = []
    for raw_name, raw in redis.hgetall(RUNNING).items():
        name = raw_name.decode() if isinstance(raw_name, bytes) else raw_name
        entry = json.loads(raw)
        try:
            status = Job.fetch(entry["job"], connection=redis).get_status()
        except NoSuchJobError:
            status = None
        if status in (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED):
            continue
        if status == JobStatus.STARTED and holder_of(redis, lease_key(name)) is not None:
            continue
        if status == JobStatus.STARTED and time.time() - float(entry.get("claimed", entry["queued"])) < grace_seconds:
            continue  # just dequeued: the lease is about to be taken
        if status in (JobStatus.FINISHED,):
            redis.hdel(RUNNING, name)
            continue
        if entry["attempt"] >= MAX_ATTEMPTS:
            log.error("capture %s failed %d times: not retried again", name, entry["attempt"])
            redis.hdel(RUNNING, name)
            continue
        log.warning("capture %s was abandoned (status %s, no lease): queued again", name, status)
        enqueue_capture(redis, entry["home"], name, entry.get("time_limit"), attempt=entry["attempt"] + 1)
        again.append(name)
    return again


def capture_source(home: str, name: str, time_limit: float | None = None) -> str:
    """The job a worker runs: take the source's lease, run `tawthiq capture` as a child process
    with this worker's identity in its WARC file names, give the lease back."""
    from tawthiq.sources import capture_args
    from tawthiq.settings import load_settings

    settings = load_settings(Path(home))
    redis = redis_from(settings.redis_url)
    worker = worker_identity(settings.worker_id)
    lease = Lease(redis, lease_key(name), worker, settings.lease_seconds)
    if not lease.acquire():
        return f"skipped: {name} is being captured by {holder_of(redis, lease_key(name))}"
    raw = redis.hget(RUNNING, name)
    if raw is not None:
        entry = json.loads(raw)
        entry["claimed"] = time.time()
        redis.hset(RUNNING, name, json.dumps(entry))
    try:
        args = capture_args(Path(home), name)
        if args is None:
            lease.keep_alive()
            return f"skipped: {name} is no longer in sources.yaml"
        env = {"TAWTHIQ_WORKER_ID": worker, "TAWTHIQ_WARC_PREFIX": f"{settings.warc_prefix}-{_safe(worker)}"}
        argv = [*args, "--data-dir", home]
        if not WARM:
            lease.keep_alive()
            proc = subprocess.Popen([sys.executable, "-m", "tawthiq.cli", *argv], env={**os.environ, **env},
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            late = False
            try:
                try:
                    _, err = proc.communicate(timeout=time_limit)
                except subprocess.TimeoutExpired:
                    late = True
                    _, err = _stop_cold(proc, name, time_limit)
            except BaseException:
                proc.kill()
                proc.wait()
                raise
            tail = (err or "").strip().splitlines()[-1:] or [""]
            return _outcome(name, proc.returncode, tail[0], late=time_limit if late else None)
        # fork before the lease's renewal thread starts: the child is a copy of one thread only
        child = warm.start(argv, env)
        lease.keep_alive()
        late = False
        try:
            try:
                code = child.wait(time_limit)
            except subprocess.TimeoutExpired:
                late = True
                log.warning("capture %s ran past its time limit of %ss: stopping it", name, time_limit)
                code = child.stop(STOP_GRACE)
        except BaseException:
            child.kill()
            child.wait()
            raise
        return _outcome(name, code, child.stderr_tail(), late=time_limit if late else None)
    finally:
        lease.release()
        redis.hdel(RUNNING, name)


class CaptureCrashed(RuntimeError):
    """The capture process was killed by a signal (SIGKILL, a segfault, the kernel's OOM killer):
    it could not record its own end, so the job must not read as done."""


def _stop_cold(proc: subprocess.Popen[str], name: str, time_limit: float | None) -> tuple[str, str]:
    """A cold run past its time limit: SIGTERM (a clean stop), SIGKILL after STOP_GRACE."""
    log.warning("capture %s ran past its time limit of %ss: stopping it", name, time_limit)
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.communicate(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()


def _outcome(name: str, code: int, tail: str, *, late: float | None = None) -> str:
    """The job's result for a capture that exited (its own exit status: 0, or 1 when it recorded
    failures), saying so when it was stopped at its time limit; a capture killed by a signal
    fails the job instead, so RQ lists it among the failed jobs (`rq info`) rather than the
    finished ones. Its catalog row is marked interrupted and its open WARC file repaired by the
    next capture's recovery step, as after any crash."""
    stopped = f" (stopped at its time limit of {late}s)" if late else ""
    if code < 0:
        try:
            what = signal.Signals(-code).name
        except ValueError:
            what = f"signal {-code}"
        raise CaptureCrashed(f"capture {name}: killed by {what} (exit {code}){stopped} {tail}".rstrip())
    return f"capture {name}: exit {code}{stopped} {tail}".rstrip()


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name)


def run_worker(settings: Any, *, burst: bool = False, cold: bool = False) -> None:
    """Consume the queue. RQ forks a work horse per job (its own process group, its own job
    timeout); the horse takes the lease and runs the capture in a child of its own: forked from
    this warm process (`tawthiq.warm`), or with `cold`, a fresh Python process."""
    from rq import Queue, Worker

    global WARM
    WARM = not cold
    if WARM:
        missing = warm.preload()
        if missing:
            log.info("not preloaded (each run imports them): %s", ", ".join(missing))
    redis = redis_from(settings.redis_url)
    worker = Worker([Queue(QUEUE, connection=redis)], connection=redis,
                    name=f"{_safe(worker_identity(settings.worker_id))}-{os.getpid()}")
    worker.work(burst=burst, logging_level="INFO")
