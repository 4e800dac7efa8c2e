"""The warm queue worker (tawthiq.warm): one `tawthiq worker` process imports once and forks each
queued run. Two runs queued on one worker both land in the archive, each in a process of its own,
and a crash of the first (its capture process killed with kill -9 mid-run) does not touch the
second, whose recovery step repairs what the first left open."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from tawthiq.demo.server import Incoming, LocalServer
from tawthiq.demo.site import DemoChannel, _file
from tests.conftest import ROOT, run_tawthiq
from tests.ports import free_port, wait_for_port

REDIS = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(REDIS is None, reason="redis-server is not installed (.ci/run installs it)")


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert wait_for_port(port, 20), "redis-server did not start"
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


def _runs(data_dir: Path) -> dict[str, tuple[str, int]]:
    """source -> (status, pid) of its latest run, from the catalog."""
    path = data_dir / "catalog.sqlite"
    if not path.exists():
        return {}
    try:
        with sqlite3.connect(path, timeout=5) as conn:
            rows = conn.execute("select source, status, pid from capture_runs order by id").fetchall()
    except sqlite3.OperationalError:  # the schema is being made
        return {}
    return {source: (status, pid) for source, status, pid in rows if source}


def test_two_runs_on_one_warm_worker_and_a_crash_in_the_first(redis_url: str, data_dir: Path,
                                                             tmp_path: Path) -> None:
    from redis import Redis

    from tawthiq.queue import enqueue_capture

    srv = LocalServer()
    first = DemoChannel(srv.base_url, name="crashes_first", videos=False)
    second = DemoChannel(srv.base_url, name="lands_second", videos=False)

    def slow(incoming: Incoming):  # type: ignore[no-untyped-def]
        time.sleep(1.0)  # the first run lasts long enough to be killed in the middle
        return first.render(incoming)

    srv.routes[f"/s/{first.name}"] = slow
    srv.routes[f"/s/{second.name}"] = second.render
    srv.fallback = lambda incoming: _file(incoming) if incoming.path.startswith("/file/") else None
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAWTHIQ_")}
    env.update(TAWTHIQ_REDIS_URL=redis_url, TAWTHIQ_TELEGRAM_BASE_URL=srv.base_url, TAWTHIQ_WORKER_ID="warm1",
               PYTHONWARNINGS="ignore")
    with srv:
        for ch in (first, second):
            assert run_tawthiq(["sources", "add", ch.name, f"telegram:{ch.name}", "--every", "1h"],
                               data_dir=data_dir).code == 0
        redis = Redis.from_url(redis_url)
        jobs = [enqueue_capture(redis, str(data_dir), ch.name, 300) for ch in (first, second)]
        log = tmp_path / "worker.log"
        worker = subprocess.Popen([sys.executable, "-m", "tawthiq.cli", "worker", "--burst", "--data-dir",
                                   str(data_dir)], cwd=ROOT, env=env, start_new_session=True,
                                  stdout=open(log, "w"), stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 90
            victim = None
            while victim is None and time.monotonic() < deadline:
                status, pid = _runs(data_dir).get(first.name, ("", 0))
                if status == "running" and list((data_dir / "warcs").glob("*.open")):
                    victim = pid
                time.sleep(0.1)
            assert victim, "the first run never started: " + log.read_text()[-2000:]
            time.sleep(0.5)
            assert victim != worker.pid  # the run is a process of its own, not the worker
            os.kill(victim, signal.SIGKILL)  # the first run crashes
            worker.wait(timeout=120)
        finally:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
    from rq.job import Job, JobStatus

    out = log.read_text()
    runs = _runs(data_dir)
    crashed, landed_job = (Job.fetch(job, connection=redis) for job in jobs)
    # a run killed by a signal is a failed job, listed as failed with the signal, never "finished"
    assert crashed.get_status() == JobStatus.FAILED, (crashed.get_status(), out[-3000:])
    assert f"CaptureCrashed: capture {first.name}: killed by SIGKILL" in (crashed.latest_result().exc_string or "")
    assert landed_job.get_status() == JobStatus.FINISHED, out[-3000:]
    assert landed_job.return_value().startswith(f"capture {second.name}: exit 0"), out[-3000:]
    # the second run finished in a fresh process, with every one of its posts
    assert runs[second.name][0] == "finished", (runs, out[-3000:])
    assert runs[second.name][1] not in (victim, worker.pid)
    with sqlite3.connect(data_dir / "catalog.sqlite") as conn:
        landed = {row[0] for row in conn.execute("select p.post_id from posts p join post_captures c on c.post = p.id "
                                                 "join capture_runs r on r.id = c.run_id where r.source = ?",
                                                 (second.name,))}
    assert len(landed) == len(second.posts)
    # the crashed run is marked interrupted and its open file was repaired by the second run
    assert runs[first.name][0] == "interrupted", runs
    assert not list((data_dir / "warcs").glob("*.open"))
    for warc in (data_dir / "warcs").glob("*.warc.gz"):
        with open(warc, "rb") as f:
            assert sum(1 for _ in ArchiveIterator(f)) > 0


@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_a_run_past_its_time_limit_is_stopped_cleanly(redis_url: str, data_dir: Path, warm: bool,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Past its time limit a queued run (forked, or a fresh process with --cold) is sent SIGTERM,
    as the local scheduler does, not SIGKILL: it stops cleanly, its WARC file sealed and its run
    marked stopped at once."""
    from tawthiq import queue

    monkeypatch.setattr(queue, "WARM", warm)

    srv = LocalServer()
    ch = DemoChannel(srv.base_url, name="runs_late", videos=False)
    started = []

    def slow(incoming: Incoming):  # type: ignore[no-untyped-def]
        started.append(time.monotonic())
        time.sleep(4.0)
        return ch.render(incoming)

    srv.routes[f"/s/{ch.name}"] = slow
    srv.fallback = lambda incoming: _file(incoming) if incoming.path.startswith("/file/") else None
    for key in [k for k in os.environ if k.startswith("TAWTHIQ_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("TAWTHIQ_REDIS_URL", redis_url)
    monkeypatch.setenv("TAWTHIQ_WORKER_ID", "late1")
    monkeypatch.setattr(queue, "STOP_GRACE", 30.0, raising=False)
    with srv:
        monkeypatch.setenv("TAWTHIQ_TELEGRAM_BASE_URL", srv.base_url)
        assert run_tawthiq(["sources", "add", ch.name, f"telegram:{ch.name}", "--every", "1h"],
                           data_dir=data_dir).code == 0
        t0 = time.monotonic()
        result = queue.capture_source(str(data_dir), ch.name, 12.0)
    assert started and started[0] - t0 < 12.0, "the run never reached the channel within its time limit"
    assert result.startswith(f"capture {ch.name}: exit 0 (stopped at its time limit of 12.0s)"), result
    assert _runs(data_dir)[ch.name][0] == "stopped"
    assert not list((data_dir / "warcs").glob("*.open"))
    sealed = list((data_dir / "warcs").glob("*.warc.gz"))
    assert sealed
    for warc in sealed:
        with open(warc, "rb") as f:
            assert sum(1 for _ in ArchiveIterator(f)) > 0
