"""Browser capture's processes (issue 15): no browser or proxy outlives its capture, and a browser
that crashes costs one page, not the run.

A capture of a page that fetches forever is stopped with SIGTERM, and another one killed with
SIGKILL; each time every process the capture started (Playwright's node driver, chromium and its
helpers, mitmdump) must be gone within seconds: the processes that were its descendants, and any
process whose command line names the capture's data folder (mitmdump's CA folder, chromium's
profile). Why this holds after SIGKILL, when nothing of tawthiq runs any more: mitmdump is started
with PR_SET_PDEATHSIG (proxy.py); Playwright's driver exits when its stdin pipe from Python closes,
and chromium, driven over a pipe (--remote-debugging-pipe), exits when the driver's end closes.
The crash test kills chromium while the first of two pages loads: that page is recorded as
failed, the second is captured by a browser started again.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tawthiq.demo.server import Incoming, LocalServer, Resource
from tests.conftest import ROOT, all_blocks
from tests.test_browser_login import _need_browser

SLOW_PAGE = b"<!doctype html><html><body><p>Waiting for the feed</p><script>fetch('/forever')</script></body></html>"


class Stuck:
    """A route that never answers until the test ends (`release`), noting when it was asked."""

    def __init__(self) -> None:
        self.asked = threading.Event()
        self._release = threading.Event()

    def __call__(self, incoming: Incoming) -> Resource:
        self.asked.set()
        self._release.wait(60)
        return Resource(b"{}", content_type="application/json")

    def release(self) -> None:
        self._release.set()


@pytest.fixture
def stuck(server: LocalServer) -> Iterator[Stuck]:
    route = Stuck()
    server.routes["/slow.html"] = Resource(SLOW_PAGE)
    server.routes["/forever"] = route
    yield route
    route.release()


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def _identity(pid: int) -> tuple[int, str] | None:
    """(start time, command line) of a live process, None when gone or a zombie."""
    try:
        fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
        cmdline = (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, IndexError):
        return None
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19]), cmdline


def descendants(pid: int) -> dict[int, tuple[int, str]]:
    kids, found, todo = _children(), {}, [pid]
    while todo:
        for child in kids.get(todo.pop(), []):
            ident = _identity(child)
            if ident is not None:
                found[child] = ident
            todo.append(child)
    return found


def naming(folder: Path) -> dict[int, str]:
    """Live processes whose command line names `folder`."""
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            ident = _identity(int(entry.name))
            if ident is not None and str(folder) in ident[1]:
                out[int(entry.name)] = ident[1]
    return out


def still_running(before: dict[int, tuple[int, str]], folder: Path, seconds: float = 10.0) -> list[str]:
    deadline = time.monotonic() + seconds
    while True:
        left = [cmd[:120] for pid, (start, cmd) in before.items() if (_identity(pid) or (None,))[0] == start]
        left += [cmd[:120] for pid, cmd in naming(folder).items() if pid not in before]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def start_capture(data_dir: Path, *specs: str, extra: tuple[str, ...] = ()) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAWTHIQ_")}
    env.update({"NO_COLOR": "1", "COLUMNS": "200", "PYTHONWARNINGS": "ignore"})
    return subprocess.Popen([sys.executable, "-m", "tawthiq.cli", "capture", *specs, "--data-dir", str(data_dir),
                             *extra], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def chromium_of(tree: dict[int, tuple[int, str]]) -> list[int]:
    return [pid for pid, (_, cmd) in tree.items() if "chromium" in cmd.split(" ", 1)[0] and "--type=" not in cmd]


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_no_browser_or_proxy_outlives_a_stopped_capture(how: signal.Signals, server: LocalServer, stuck: Stuck,
                                                        data_dir: Path) -> None:
    _need_browser()
    # With a login profile chromium's own command line names the data folder too.
    capture = start_capture(data_dir, f"browser:{server.url('/slow.html')}", extra=("--set", "browser_profile=p"))
    try:
        assert stuck.asked.wait(60), "the browser never asked for the endless fetch"
        tree = descendants(capture.pid)
        commands = " ".join(cmd for _, cmd in tree.values())
        assert "mitmdump" in commands and chromium_of(tree) and "playwright" in commands
        assert set(naming(data_dir)) & set(tree)  # the folder check sees them while they run
        capture.send_signal(how)
        capture.wait(30)
    finally:
        if capture.poll() is None:
            capture.kill()
            capture.wait()
    assert still_running(tree, data_dir) == []
    if how == signal.SIGTERM:
        assert capture.returncode == 130
        warcs = list((data_dir / "warcs").glob("*"))
        assert warcs and not [p for p in warcs if p.name.endswith(".open")]  # sealed on the way out
    else:
        assert capture.returncode == -signal.SIGKILL


def test_a_browser_that_crashes_fails_its_page_and_the_next_page_is_captured(
        server: LocalServer, stuck: Stuck, data_dir: Path) -> None:
    _need_browser()
    server.routes["/next.html"] = Resource(
        b"<!doctype html><html><head><title>After the crash</title></head><body><main id=app></main><script>"
        b"document.getElementById('app').innerHTML = '<article><h1>After the crash</h1><p>The synthetic "
        b"second bulletin was read by a browser started again after the first one died.</p></article>'"
        b"</script></body></html>")
    first, second = server.url("/slow.html"), server.url("/next.html")
    capture = start_capture(data_dir, f"browser:{first}", f"browser:{second}")
    try:
        assert stuck.asked.wait(60), "the browser never asked for the endless fetch"
        browsers = chromium_of(descendants(capture.pid))
        assert len(browsers) == 1
        os.kill(browsers[0], signal.SIGKILL)
        out, err = capture.communicate(timeout=90)
    finally:
        if capture.poll() is None:
            capture.kill()
            capture.wait()
    assert capture.returncode == 1, out + err  # one page failed
    assert "page not captured: the browser crashed" in out
    failures = [b for h, b in all_blocks(data_dir) if h.get("WARC-Type") == "metadata" and b'"failure"' in b
                and b"the browser crashed" in b]
    assert len(failures) == 1 and first.encode() in failures[0]
    with sqlite3.connect(data_dir / "catalog.sqlite") as db:
        assert db.execute("select platform, post_id from posts").fetchall() == [("browser", second)]
    assert still_running({}, data_dir, seconds=5) == []
