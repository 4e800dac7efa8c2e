"""Watching the browser's memory: chromium's processes are this capture's descendants (through
Playwright's driver), so their resident memory is summed from /proc. A page that drives the
browser past `browser_max_memory_mb` has its browser killed by the watchdog: the page is recorded
as failed (saying why), and the next page gets a fresh browser. Linux only; elsewhere nothing is
watched."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

PROC = Path("/proc")


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _rss_kb(pid: int) -> int:
    """The process's proportional share of memory (Pss: shared pages split between the processes
    that map them, so chromium's many processes are not counted several times over), else VmRSS."""
    for name, field in (("smaps_rollup", "Pss:"), ("status", "VmRSS:")):
        try:
            for line in (PROC / str(pid) / name).read_text().splitlines():
                if line.startswith(field):
                    return int(line.split()[1])
        except (OSError, ValueError):
            continue
    return 0


def _cmdline(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def browser_pids(root: int | None = None) -> list[int]:
    """Chromium processes below `root` (this process): the browser, its renderers and helpers
    (zombies left out: they hold no memory)."""
    if not PROC.is_dir():
        return []
    tree = _children()
    found, stack = [], list(tree.get(root or os.getpid(), []))
    while stack:
        pid = stack.pop()
        stack.extend(tree.get(pid, []))
        if "chrom" in _cmdline(pid).split(" ", 1)[0].lower() and _state(pid) != "Z":
            found.append(pid)
    return found


def wait_gone(pids: list[int], timeout: float = 5.0) -> None:
    """Wait until killed processes have left (their memory would count against the next browser)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [pid for pid in pids if (PROC / str(pid)).exists() and "Z" not in _state(pid)]
        if not alive:
            return
        time.sleep(0.05)


def _state(pid: int) -> str:
    try:
        return (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"


def browser_memory_mb() -> float:
    return sum(_rss_kb(pid) for pid in browser_pids()) / 1024


class MemoryWatch:
    """While a page loads, check the browser's memory every `interval` seconds; past `limit_mb`,
    or once the page has taken `deadline` seconds (a script that never yields blocks every call
    into the page, so no timeout of Playwright's would fire), kill it (the page then fails) and
    remember why."""

    def __init__(self, limit_mb: int, interval: float = 0.5, deadline: float = 0.0) -> None:
        self.limit_mb = limit_mb
        self.interval = interval
        self.deadline = deadline
        self.exceeded: float | None = None  # the memory seen when the browser was killed
        self.overtime = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> MemoryWatch:
        if (self.limit_mb > 0 or self.deadline > 0) and PROC.is_dir():
            self._thread = threading.Thread(target=self._watch, name="browser-memory", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _watch(self) -> None:
        import time

        ends = time.monotonic() + self.deadline if self.deadline > 0 else None
        while not self._stop.wait(self.interval):
            used = browser_memory_mb() if self.limit_mb > 0 else 0.0
            late = ends is not None and time.monotonic() > ends
            if used > self.limit_mb > 0 or late:
                if late:
                    self.overtime = True
                else:
                    self.exceeded = used
                pids = browser_pids()
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                wait_gone(pids)
                return
