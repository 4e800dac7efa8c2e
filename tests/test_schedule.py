"""Scheduled captures: sources file and CLI, the daemon, restarts, SIGTERM, takedowns, long runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tawthiq.demo.content import DemoPhoto, DemoPost
from tawthiq.demo.server import LocalServer, Resource
from tests.conftest import ROOT, Demo, query, run_tawthiq, serve_slow_endless_site, warc_files




_started: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _no_daemon_outlives_its_test() -> Iterator[None]:
    yield
    while _started:
        proc = _started.pop()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _daemon(data_dir: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    full = {k: v for k, v in os.environ.items() if not k.startswith("TAWTHIQ_")}
    full.update(env or {})
    proc = subprocess.Popen([sys.executable, "-m", "tawthiq.cli", "run", "--jitter", "0", "--data-dir", str(data_dir)],
                            cwd=ROOT, env=full, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    _started.append(proc)
    return proc


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=90)
    assert proc.returncode == 0, out
    return out


def _wait_for(predicate, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


def _finished_runs(data_dir: Path) -> int:
    from sqlalchemy.exc import OperationalError

    if not (data_dir / "catalog.sqlite").exists():
        return 0
    try:
        return query(data_dir, "select count(*) from capture_runs where status='finished' and kind='capture'")[0][0]
    except OperationalError:  # the catalog file exists but its tables are being created right now
        return 0


# -- sources file and commands ------------------------------------------------------------------

def test_sources_commands(data_dir: Path) -> None:
    assert run_tawthiq(["sources", "add", "mithal", "telegram:mithal_witness", "--every", "30m",
                        "--keywords", "نعي,hospital"], data_dir=data_dir).code == 0
    assert run_tawthiq(["sources", "add", "news", "feed:https://example.org/rss", "--cron", "0 */6 * * *",
                        "--recheck-every", "1d"], data_dir=data_dir).code == 0
    listed = run_tawthiq(["sources", "list"], data_dir=data_dir).out
    assert "mithal  telegram:mithal_witness  every 30m keywords=نعي,hospital" in listed
    assert "news  feed:https://example.org/rss  cron 0 */6 * * * recheck every 1d" in listed
    assert run_tawthiq(["sources", "pause", "mithal"], data_dir=data_dir).code == 0
    assert "(paused)" in run_tawthiq(["sources", "list"], data_dir=data_dir).out
    assert run_tawthiq(["sources", "remove", "news"], data_dir=data_dir).code == 0
    assert "news" not in run_tawthiq(["sources", "list"], data_dir=data_dir).out

    for args, message in [
        (["sources", "add", "mithal", "telegram:other_name", "--every", "1h"], "exists already"),
        (["sources", "add", "x", "telegram:abc_def", "--every", "soon"], "every: 'soon' is not a duration"),
        (["sources", "add", "x", "telegram:abc_def"], "give exactly one of 'every'"),
        (["sources", "add", "x", "ftp://nope", "--every", "1h"], "unknown capture spec"),
        (["sources", "pause", "ghost"], "no source named 'ghost'"),
    ]:
        result = run_tawthiq(args, data_dir=data_dir)
        assert result.code == 2 and message in result.err and "Traceback" not in result.err, (args, result.err)


def test_a_bad_sources_file_names_the_line_and_field(data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    (data_dir / "sources.yaml").write_text(
        "sources:\n"
        "  - name: good\n"
        "    spec: telegram:abc_def\n"
        "    every: 1h\n"
        "  - name: bad\n"
        "    spec: telegram:abc_def\n"
        "    every: sometimes\n")
    result = run_tawthiq(["sources", "list"], data_dir=data_dir)
    assert result.code == 2
    assert "line 7: sources.1.every: 'sometimes' is not a duration" in result.err
    (data_dir / "sources.yaml").write_text("sources:\n  - name: [unclosed\n")
    result = run_tawthiq(["run"], data_dir=data_dir)
    assert result.code == 2 and "not valid YAML at line" in result.err


# -- the daemon ------------------------------------------------------------------------------------

def test_daemon_captures_new_posts_once_and_keeps_its_schedule_across_restarts(demo: Demo, data_dir: Path) -> None:
    name = demo.channel.name
    assert run_tawthiq(["sources", "add", "mithal", f"telegram:{name}", "--every", "2s"], data_dir=data_dir).code == 0
    daemon = _daemon(data_dir, demo.env)
    _wait_for(lambda: _finished_runs(data_dir) >= 2)
    base = demo.server.base_url
    for pid in (126, 127, 128):
        demo.channel.posts.append(DemoPost(
            id=pid, html=f"نعي | منشور جديد {pid}", datetime=f"2026-10-05T0{pid - 120}:00:00+00:00",
            time="09:00", views="5", photos=[DemoPhoto(f"p{pid}", f"/file/n{pid}.jpg", f"{base}/file/n{pid}.jpg")]))
    before = _finished_runs(data_dir)
    _wait_for(lambda: _finished_runs(data_dir) >= before + 2)
    first_log = _stop(daemon)
    assert "schedule capture:mithal" in first_log

    posts = query(data_dir, "select post_id, captures from posts")
    assert len(posts) == 28 and all(c == 1 for _, c in posts)  # every post exactly once
    assert {f"{name}/126", f"{name}/127", f"{name}/128"} <= {p for p, _ in posts}
    assert query(data_dir, "select count(*) from scheduler_jobs where id='capture:mithal'") == [(1,)]

    runs_before = _finished_runs(data_dir)
    daemon = _daemon(data_dir, demo.env)
    _wait_for(lambda: _finished_runs(data_dir) >= runs_before + 1)
    second_log = _stop(daemon)
    assert "schedule capture:mithal" not in second_log  # the stored job was kept, not re-created
    assert "capture:mithal next at" in second_log
    history = run_tawthiq(["runs"], data_dir=data_dir).out
    assert "capture mithal" in history and "finished" in history




def test_sigterm_mid_run_leaves_sealed_files(server: LocalServer, data_dir: Path) -> None:
    serve_slow_endless_site(server)
    run_tawthiq(["sources", "add", "slow", server.url("/p/0"), "--every", "1s"], data_dir=data_dir)
    daemon = _daemon(data_dir, {"TAWTHIQ_DEPTH_LIMIT": "50", "TAWTHIQ_PAGE_LIMIT": "100000"})
    warcs = data_dir / "warcs"
    _wait_for(lambda: warcs.exists() and any(p.stat().st_size > 20_000 for p in warcs.glob("*.open")))
    out = _stop(daemon)
    assert "waiting for 1 running capture(s)" in out
    assert not list(warcs.glob("*.open"))
    for path in warc_files(data_dir):
        check = subprocess.run([sys.executable, "-m", "warcio.cli", "check", str(path)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout
    assert query(data_dir, "select status from capture_runs") == [("stopped",)]


def test_removed_post_shows_up_in_takedowns(demo: Demo, data_dir: Path) -> None:
    name = demo.channel.name
    run_tawthiq(["sources", "add", "mithal", f"telegram:{name}", "--every", "1h", "--recheck-every", "2s"],
                data_dir=data_dir)
    assert run_tawthiq(["capture", f"telegram:{name}", "--source", "mithal"], data_dir=data_dir, env=demo.env).code == 0
    demo.channel.posts = [p for p in demo.channel.posts if p.id != 112]  # the platform takes a post down
    daemon = _daemon(data_dir, demo.env)
    _wait_for(lambda: query(data_dir, "select count(*) from post_checks where state='gone'")[0][0] >= 1)
    _stop(daemon)
    result = run_tawthiq(["takedowns", "--json"], data_dir=data_dir)
    import json
    (item,) = json.loads(result.out)["takedowns"]
    assert item["post_id"] == f"{name}/112" and item["detail"] == "Post not found"
    assert item["warc_file"] and item["warc_offset"] is not None and item["last_seen"] < item["gone_since"]
    # The check itself is evidence: the "Post not found" page is in the archive.
    checks = query(data_dir, "select evidence_record_id from post_checks where state='gone'")
    assert query(data_dir, f"select uri from records where record_id='{checks[0][0]}'") == [
        (f"{demo.server.base_url}/{name}/112?embed=1",)]


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc")
def test_fifty_runs_leave_the_daemon_flat(server: LocalServer, data_dir: Path) -> None:
    server.routes["/tiny"] = Resource(b"<html><body>tiny page</body></html>")
    run_tawthiq(["sources", "add", "tiny", server.url("/tiny"), "--every", "1s"], data_dir=data_dir)
    daemon = _daemon(data_dir)

    def usage() -> tuple[int, int]:
        status = Path(f"/proc/{daemon.pid}/status").read_text()
        rss = int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1])
        return rss, len(os.listdir(f"/proc/{daemon.pid}/fd"))

    _wait_for(lambda: _finished_runs(data_dir) >= 5, timeout=120)
    rss5, fds5 = usage()
    _wait_for(lambda: _finished_runs(data_dir) >= 50, timeout=400)
    rss50, fds50 = usage()
    _stop(daemon)
    assert fds50 <= fds5 + 2, (fds5, fds50)
    assert rss50 <= rss5 * 1.10 + 2048, (rss5, rss50)  # kB: flat within noise


def test_a_run_past_its_time_limit_is_stopped_and_sealed(server: LocalServer, data_dir: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from tawthiq.scheduler import capture_job  # what the daemon runs for each scheduled capture

    serve_slow_endless_site(server)
    run_tawthiq(["sources", "add", "slow", server.url("/p/0"), "--every", "1h"], data_dir=data_dir)
    monkeypatch.setenv("TAWTHIQ_DEPTH_LIMIT", "50")
    monkeypatch.setenv("TAWTHIQ_PAGE_LIMIT", "100000")
    started = time.monotonic()
    capture_job(str(data_dir.resolve()), "slow", 3)
    assert time.monotonic() - started < 40
    assert not list((data_dir / "warcs").glob("*.open"))
    assert query(data_dir, "select status, source from capture_runs") == [("stopped", "slow")]
