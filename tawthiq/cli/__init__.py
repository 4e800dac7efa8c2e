"""The `tawthiq` command line (Typer + Rich): one module per group of commands, one error handler.

A mistake (a bad spec, setting, query or file) is a `tawthiq.errors.TawthiqError`; `run` prints it
as one line, `error: ...`, on stderr and exits with its kind's status (see tawthiq.errors: 2 for a
mistake in the command, 1 for integrity, 75 for a service that is down); never a traceback. A
capture with failed fetches still finishes, lists them, and exits 1 so scripts notice.
"""

from __future__ import annotations

import signal
import sys

from rich.markup import escape

# Each module adds its commands to `app` when imported; the order here is the order of --help.
from tawthiq.cli import capture, archive, search, serve, sources, recheck, export, browser, ocr, notices, demo  # noqa: F401, I001
from tawthiq.cli.app import app
from tawthiq.cli.dedupe import dedupe_app
from tawthiq.display import err
from tawthiq.errors import TawthiqError

app.add_typer(dedupe_app, name="dedupe")

__all__ = ["app", "run"]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run() -> None:
    # SIGTERM (from the scheduler, systemd, kill) stops as gracefully as Ctrl-C; once the crawl
    # runs, Scrapy's own handlers take over and let requests in flight finish.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        app()
    except TawthiqError as exc:
        err.print(f"[bold red]error:[/] {escape(exc.cli_message())}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("stopped: files written so far are sealed")
        sys.exit(130)
