"""A warm process that runs each `tawthiq` command in a forked child of itself.

Why: a queued run used to start a fresh `python -m tawthiq.cli capture` (~2.5 s of imports:
Python, Scrapy, Twisted, SQLAlchemy, tawthiq) to capture one channel for a fraction of that. A
worker that imports all of that once (`preload`) and forks per run (`start`) pays a fork
(tens of milliseconds) instead, with the isolation of a process per run kept: the child has its
own memory, reactor, catalog connections and module state (the seed allowlist, the sink registry),
so a crash, leak or hang in one run ends with its child, and the next run forks again from the
clean parent.

Twisted's reactor cannot be restarted and must not be shared across a fork, so `preload` imports
modules only: it checks that no reactor was installed and that nothing was left open (no
descriptor: socket, connection, file, event loop; no thread), and the child
installs its own (Scrapy does, in `CrawlerProcess`) exactly as a fresh process would.
"""

from __future__ import annotations

import importlib
import logging
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO

log = logging.getLogger("tawthiq.warm")

# What a capture run imports besides Scrapy's components and tawthiq's crawlers (both found by
# `run_modules`). Only modules: nothing here may start a reactor, a thread or a connection.
PRELOAD = (
    "scrapy.crawler", "twisted.internet.asyncioreactor", "sqlalchemy", "alembic.command", "warcio",
    "trafilatura", "tantivy", "tawthiq.cli", "tawthiq.capture", "tawthiq.session", "tawthiq.search_index",
    "tawthiq.index.tantivy_backend", "tawthiq.catalog", "resource", "rich._emoji_codes",
)
ENTRY_POINT = "tawthiq.cli"
# Parts a run imports only when asked for, or that need an optional package: not preloaded.
_SKIP = ("tawthiq.crawlers.browser.mitm_addon",)


def run_modules() -> list[str]:
    """The modules a capture run imports: PRELOAD, every component Scrapy's default settings name
    (download handlers, middlewares, extensions, scheduler, queues), and every tawthiq crawler module."""
    import pkgutil

    from scrapy.settings import default_settings

    paths: set[str] = set()
    for name in dir(default_settings):
        value = getattr(default_settings, name)
        candidates = [*value.keys(), *value.values()] if isinstance(value, dict) else [value]
        paths.update(v for v in candidates if isinstance(v, str) and v.startswith("scrapy.") and v.count(".") >= 2)
    modules = [*PRELOAD, *sorted({p.rsplit(".", 1)[0] for p in paths})]
    import tawthiq.crawlers

    modules += [m.name for m in pkgutil.walk_packages(tawthiq.crawlers.__path__, "tawthiq.crawlers.")
                if ".tests" not in m.name]
    return [m for m in modules if not m.startswith(_SKIP)]


def preload(modules: list[str] | None = None) -> list[str]:
    """Import what every run needs, once; returns the modules that could not be imported (a
    run then imports them itself, as a fresh process would)."""
    missing = []
    fds, threads = _open_fds(), set(threading.enumerate())
    for name in run_modules() if modules is None else modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - optional parts (a platform's extra): the run imports them
            log.debug("preload %s: %s", name, exc)
            missing.append(name)
        if "twisted.internet.reactor" in sys.modules:
            raise RuntimeError(f"preloading {name} installed a Twisted reactor in the warm parent; "
                               "runs would share it")
    _warm_caches()
    _nothing_opened(fds, threads)
    return missing


def _open_fds() -> set[str]:
    """This process's open file descriptors (Linux's /proc; elsewhere, none are checked)."""
    try:
        listed = os.listdir("/proc/self/fd")
    except OSError:
        return set()
    still = set()
    for fd in listed:  # the listing's own descriptor is closed by now: left out
        try:
            os.fstat(int(fd))
        except OSError:
            continue
        still.add(fd)
    return still


def _nothing_opened(fds: set[str], threads: set[threading.Thread]) -> None:
    """Refuse a warm parent that preloading left holding a descriptor (a socket, a database
    connection, an open or locked file, an event loop's epoll) or a Python thread: every forked
    run would inherit it (two processes on one PostgreSQL connection corrupt its protocol; an
    inherited flock outlives the run that took it; a thread is not copied, its locks are)."""
    opened = []
    for fd in sorted(_open_fds() - fds, key=int):
        try:
            opened.append(f"fd {fd} ({os.readlink(f'/proc/self/fd/{fd}')})")
        except OSError:
            continue  # closed meanwhile
    started = [f"thread {t.name!r}" for t in threading.enumerate() if t not in threads and t.is_alive()]
    if opened or started:
        raise RuntimeError("preloading left the warm parent holding " + ", ".join(opened + started)
                           + "; every forked run would share it")


def _warm_caches() -> None:
    """Fill the caches a library builds on its first call from its own package data, the same for
    every run (trafilatura's justext stoplists of every language: ~0.2 s per run otherwise). Facts
    about the machine that can change while a worker lives (tesseract's version and models, stored
    with every OCR text) are deliberately not cached here: each run asks for them afresh."""
    try:
        from tawthiq.crawlers.platforms.web.article import extract

        extract(b"<html><head><title>warm</title></head><body><p>warm up</p></body></html>",
                "http://warm.invalid/")
    except Exception as exc:  # noqa: BLE001 - a cold cache only costs time
        log.debug("warming trafilatura: %s", exc)


@dataclass
class Child:
    """One forked run: its pid and the file its stderr goes to."""

    pid: int
    stderr: IO[bytes]
    returncode: int | None = None

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the run to end; past `timeout`, `subprocess.TimeoutExpired` is raised and the
        run is left running (as `Popen.wait` does): the caller stops it (`stop`)."""
        if timeout is not None and not self._ended_within(timeout):
            raise subprocess.TimeoutExpired(["tawthiq (forked run)"], timeout)
        return self._reap()

    def stop(self, grace: float) -> int:
        """Stop the run as the local scheduler stops one past its time limit: SIGTERM, on which a
        capture stops cleanly (its WARC file sealed, its run marked stopped), then SIGKILL if it
        has not ended within `grace` seconds."""
        self.kill(signal.SIGTERM)
        if not self._ended_within(grace):
            self.kill()
        return self._reap()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def _ended_within(self, timeout: float) -> bool:
        """A pidfd where Linux has one (the wait ends the moment the child does), else polling."""
        if self.returncode is not None:
            return True
        try:
            fd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                done, status = os.waitpid(self.pid, os.WNOHANG)
                if done:
                    self.returncode = os.waitstatus_to_exitcode(status)
                    return True
                time.sleep(0.02)
            return False
        try:
            ready, _, _ = select.select([fd], [], [], timeout)
            return bool(ready)
        finally:
            os.close(fd)

    def _reap(self) -> int:
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)  # -N for a signal, as subprocess says
        return self.returncode

    def stderr_tail(self) -> str:
        """The last line the run wrote on stderr (its summary or its error)."""
        self.stderr.seek(0)
        lines = self.stderr.read().decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else ""


def start(argv: list[str], env: Mapping[str, str]) -> Child:
    """Fork a child that runs `tawthiq ARGV` as `python -m tawthiq.cli ARGV` would, with `env`
    added to its environment, stdout to /dev/null and stderr to a temporary file."""
    err = tempfile.TemporaryFile()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return Child(pid, err)
    code = 1
    try:
        os.environ.update(env)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.dup2(err.fileno(), 2)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        _fresh_logging()
        sys.argv = ["tawthiq", *argv]
        # by name, as `python -m tawthiq.cli` finds it (the command line imports the worker, not
        # the other way round)
        run = importlib.import_module(ENTRY_POINT).run

        try:
            run()
            code = 0
        except SystemExit as exc:
            if exc.code is None or isinstance(exc.code, int):
                code = exc.code or 0
            else:
                print(exc.code, file=sys.stderr)
                code = 1
    except BaseException:  # noqa: BLE001 - the child must never return into the parent's code
        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _fresh_logging() -> None:
    """The child starts with the logging a fresh process has: the worker's own handlers (RQ's
    console log) removed, so the capture configures its log file as it always does."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)
    for logger in logging.Logger.manager.loggerDict.values():
        if isinstance(logger, logging.Logger) and logger.name.startswith("rq"):
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
