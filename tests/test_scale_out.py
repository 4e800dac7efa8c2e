"""Scale-out on one machine: Debian's redis-server and postgresql on 127.0.0.1 (the queue and the
shared catalog), two schedulers (one leads), three workers, thirty Telegram-format channels. A worker is killed with kill -9 in the middle of a run
and the leading scheduler is killed too; every post must still be archived exactly once and every
WARC file must verify."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sqlalchemy import create_engine, text

from tawthiq.demo.server import Incoming, LocalServer
from tawthiq.demo.site import DemoChannel
from tests.conftest import ROOT, run_tawthiq
from tests.local_postgres import pg_bin, postgres_server
from tests.ports import free_port, wait_for_port

REDIS = shutil.which("redis-server")
CHANNELS = 30
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


@pytest.fixture
def catalog_url(data_dir: Path) -> Iterator[str]:
    """The shared catalog: PostgreSQL as a real deployment has it (SQLite where it is not installed)."""
    if pg_bin() is None:
        yield f"sqlite:///{data_dir / 'catalog.sqlite'}"
        return
    with postgres_server() as url:
        yield url


def _query(url: str, sql: str) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql)).all()]
    except Exception:  # noqa: BLE001 - the catalog's tables are not there yet
        return []
    finally:
        engine.dispose()


def _age(started) -> float:  # type: ignore[no-untyped-def]
    from datetime import datetime, timezone

    if isinstance(started, str):
        started = datetime.fromisoformat(started)
    if started.tzinfo is None:
        started = started.replace(tzinfo=timezone.utc)
    return (datetime.now(timezone.utc) - started).total_seconds()


@pytest.fixture
def channels() -> Iterator[tuple[LocalServer, list[DemoChannel]]]:
    srv = LocalServer()
    made = [DemoChannel(srv.base_url, name=f"witness_{i:02d}", videos=False) for i in range(CHANNELS)]

    def slow(render):  # type: ignore[no-untyped-def]
        def page(incoming: Incoming):  # type: ignore[no-untyped-def]
            time.sleep(0.7)  # each run lasts a few seconds, so the kill lands in the middle of one
            return render(incoming)
        return page

    for ch in made:
        srv.routes[f"/s/{ch.name}"] = slow(ch.render)

    def files(incoming: Incoming):  # type: ignore[no-untyped-def]
        from tawthiq.demo.site import _file

        return _file(incoming) if incoming.path.startswith("/file/") else None

    srv.fallback = files
    with srv:
        yield srv, made


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tawthiq.cli", *args], cwd=ROOT, env=env, start_new_session=True,
                            stdout=open(log, "w"), stderr=subprocess.STDOUT)


def _logs(tmp_path: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in sorted(tmp_path.glob("scheduler*.log")))


def _kill_group(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def test_three_workers_two_schedulers_and_kill_9(redis_url: str, catalog_url: str, channels, data_dir: Path,  # type: ignore[no-untyped-def]
                                                 tmp_path: Path) -> None:
    from redis import Redis

    srv, made = channels
    for ch in made:
        assert run_tawthiq(["sources", "add", ch.name, f"telegram:{ch.name}", "--every", "15s"],
                           data_dir=data_dir).code == 0
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("TAWTHIQ_")}
    base_env.update(TAWTHIQ_REDIS_URL=redis_url, TAWTHIQ_TELEGRAM_BASE_URL=srv.base_url, TAWTHIQ_LEASE_SECONDS="4",
                    PYTHONWARNINGS="ignore", TAWTHIQ_DATABASE_URL=catalog_url if catalog_url.startswith("postgresql") else "")
    home = ["--data-dir", str(data_dir)]
    schedulers = [_spawn(["run", "--jitter", "0", *home], {**base_env, "TAWTHIQ_WORKER_ID": f"s{i}"},
                         tmp_path / f"scheduler{i}.log") for i in (1, 2)]
    workers = {f"w{i}": _spawn(["worker", *home], {**base_env, "TAWTHIQ_WORKER_ID": f"w{i}"}, tmp_path / f"w{i}.log")
               for i in (1, 2, 3)}
    r = Redis.from_url(redis_url)
    try:
        # kill -9 a worker (its whole process group: worker, job and capture) while it captures
        victim = victim_source = None
        deadline = time.monotonic() + 120
        while victim is None and time.monotonic() < deadline:
            for key in r.scan_iter("tawthiq:lease:*"):
                holder = (r.get(key) or b"").decode()
                source = key.decode().rsplit(":", 1)[-1]
                started = _query(catalog_url, f"select started from capture_runs where source = '{source}' "
                                              "and status = 'running'")
                if holder in workers and started and _age(started[0][0]) < 1.0:
                    victim = holder  # its capture started under a second ago: runs last over two
                    victim_source = source
                    break
            time.sleep(0.05)
        assert victim is not None, "no capture started"
        _kill_group(workers.pop(victim))
        killed_at = time.monotonic()
        # kill -9 the leading scheduler; the other must take over
        leader = (r.get("tawthiq:scheduler-leader") or b"").decode()
        lead_proc = schedulers[0] if "-s1-" in leader else schedulers[1]
        _kill_group(lead_proc)
        names = {ch.name for ch in made}
        deadline = time.monotonic() + 420
        while time.monotonic() < deadline:
            done = {row[0] for row in _query(catalog_url, "select distinct source from capture_runs where status = 'finished'")}
            new_leader = (r.get("tawthiq:scheduler-leader") or b"").decode()
            # the victim's source may have finished an earlier run already: wait for the retry too
            retried = _query(catalog_url, f"select started from capture_runs where source = '{victim_source}' "
                                          "and status = 'finished'")
            requeued = "was abandoned" in _logs(tmp_path) and any(
                _age(row[0]) < time.monotonic() - killed_at for row in retried)
            if names <= done and new_leader and new_leader != leader and requeued:
                break
            time.sleep(1)
        assert names <= done, f"never captured: {sorted(names - done)}"
        assert new_leader != leader, "the second scheduler did not take over"
    finally:
        for proc in [*schedulers, *workers.values()]:
            _kill_group(proc, signal.SIGTERM)
        for proc in [*schedulers, *workers.values()]:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
    scheduler_logs = _logs(tmp_path)
    # the killed worker's run was retried elsewhere
    assert "was abandoned" in scheduler_logs, scheduler_logs[-3000:]
    # every post archived exactly once
    posts = _query(catalog_url, "select p.post_id, count(c.id) from posts p join post_captures c on c.post = p.id "
                                "group by p.id")
    assert len(posts) == CHANNELS * len(made[0].posts)
    assert all(count == 1 for _, count in posts), [p for p in posts if p[1] != 1][:5]
    # the dead worker's .open file was repaired by a later run; every file verifies
    env = {"TAWTHIQ_DATABASE_URL": base_env["TAWTHIQ_DATABASE_URL"]}
    run_tawthiq(["recover"], data_dir=data_dir, env=env)
    assert not list((data_dir / "warcs").glob("*.open"))
    verified = run_tawthiq(["verify", str(data_dir)], env=env)
    assert verified.code == 3 and "INTACT BUT UNPROVEN" in verified.out, verified.out[-2000:]  # never signed
    prefixes = {p.name.split("-")[1] for p in (data_dir / "warcs").glob("tawthiq-w*.warc.gz")}
    assert len(prefixes) >= 2, prefixes  # files carry the worker that wrote them
    locations = _query(catalog_url, "select name, location from warc_files where sealed")
    # every sealed file's machine and path (a file sealed by crash recovery names the recovering machine)
    assert locations and all(loc and loc.split(":")[0] and loc.endswith("/warcs/" + name) for name, loc in locations), \
        locations[:3]
