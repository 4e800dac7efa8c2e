"""Terminal output shared by the CLI and the demo: the consoles, the live capture display and
search snippets. It lives outside `tawthiq.cli` so the demo can show a capture without importing
the command line that runs the demo (no cycle)."""

from __future__ import annotations

import html
import re
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from tawthiq import __version__
from tawthiq.settings import Settings

console = Console()
err = Console(stderr=True)


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _stats_table(stats: Any, run_id: int, title: str) -> Table:
    table = Table(title=title, show_header=False, box=None)
    table.add_row("run", str(run_id))
    table.add_row("pages", str(stats.pages))
    table.add_row("posts", str(stats.posts))
    table.add_row("media", str(stats.media))
    table.add_row("videos (yt-dlp)", str(stats.videos))
    table.add_row("revisits (stored once)", str(stats.revisits))
    table.add_row("truncated", str(stats.truncated))
    table.add_row("bytes", human_bytes(stats.bytes_written))
    table.add_row("files", str(len(stats.files)))
    table.add_row("errors", str(len(stats.errors)))
    if getattr(stats, "ocr", None):
        table.add_row("images read (OCR)", ", ".join(f"{k} {v}" for k, v in sorted(stats.ocr.items())))
    if stats.checks:
        table.add_row("checks", ", ".join(f"{k} {v}" for k, v in sorted(stats.checks.items())))
    return table


def capture_with_display(settings: Settings, targets: list[Any], expected_failures: set[str] | None = None,
                         **kwargs: Any) -> int:
    """Run a capture with the live display and print the summary; returns the exit status."""
    from tawthiq.capture import run_capture

    what = f"{len(targets)} target(s)" if targets else str(kwargs.get("kind", "capture"))
    console.print(f"tawthiq {__version__}: capturing {what} into {settings.warcs_dir}")
    with Live(console=console, refresh_per_second=4, transient=True) as live:
        def tick(stats: Any, run_id: int) -> None:
            live.update(_stats_table(stats, run_id, "capturing..."))

        summary = run_capture(settings, targets, on_tick=tick, **kwargs)
    for result in summary.recovered:
        where = result.sealed_path.name if result.sealed_path else "(nothing complete; removed)"
        console.print(f"recovered {result.open_path.name}: {result.records} whole records kept -> {where}")
    console.print(_stats_table(summary.stats, summary.run_id, f"capture {summary.status} in {summary.seconds:.1f}s"))
    for sealed in summary.files:
        console.print(f"  {sealed.name}  {human_bytes(sealed.size)}  sha256:{sealed.sha256}", highlight=False)
    if summary.message and summary.stats.logged_out:
        console.print(f"[bold yellow]{escape(summary.message)}[/]", highlight=False, soft_wrap=True)
    unexpected = [(u, e) for u, e in summary.stats.errors if u not in (expected_failures or set())]
    if summary.stats.errors:
        console.print(f"[yellow]{len(summary.stats.errors)} failure(s), recorded in the archive:[/]")
        for url, error in summary.stats.errors:
            note = "" if (url, error) in unexpected else "  (expected in the demo)"
            console.print(f"  {url}: {error}{note}", highlight=False, soft_wrap=True, markup=False)
    return 1 if unexpected else 0


def marked_snippet(snippet_html: str) -> str:
    """A snippet's <mark> as Rich markup, everything else escaped."""
    parts = re.split(r"(<mark>.*?</mark>)", snippet_html)
    out = []
    for part in parts:
        if part.startswith("<mark>"):
            out.append(f"[bold yellow]{escape(html.unescape(part[6:-7]))}[/]")
        else:
            out.append(escape(html.unescape(part)))
    return "".join(out)
