"""The `tawthiq` command line (Typer + Rich).

User mistakes (a bad spec, a bad setting, a missing file) end with one line on stderr and
exit status 2; no traceback. A capture with failed fetches still finishes, lists them, and
exits 1 so scripts notice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from tawthiq import __version__
from tawthiq.settings import Settings, SettingsError, load_settings
from tawthiq.specs import SpecError, parse_spec

app = typer.Typer(
    add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
    help="Capture open-source evidence into standard WARC archives.",
)
console = Console()
err = Console(stderr=True)

DataDir = Annotated[Optional[Path], typer.Option("--data-dir", "-d", help="data directory (TAWTHIQ_HOME)")]
ConfigFile = Annotated[Optional[Path], typer.Option("--config", help="settings file (TOML)")]


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def settings_or_exit(data_dir: Path | None, config: Path | None, **overrides: object) -> Settings:
    try:
        return load_settings(data_dir, config, **overrides)
    except SettingsError as exc:
        raise fail(str(exc)) from None


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _stats_table(stats, run_id: int, title: str) -> Table:  # type: ignore[no-untyped-def]
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
    return table


@app.command()
def capture(
    specs: Annotated[list[str], typer.Argument(help="telegram:NAME, t.me/s/NAME, feed:URL, video:URL or an http(s) URL")],
    data_dir: DataDir = None,
    config: ConfigFile = None,
    collection: Annotated[Optional[str], typer.Option(help="collection name")] = None,
    depth: Annotated[Optional[int], typer.Option(help="web: link depth from the seed")] = None,
    page_limit: Annotated[Optional[int], typer.Option("--page-limit", help="web: most pages per capture")] = None,
    telegram_pages: Annotated[Optional[int], typer.Option(help="telegram: most history pages")] = None,
) -> None:
    """Capture pages, feeds and Telegram channels into WARC files, with a live progress display."""
    try:
        settings = load_settings(
            data_dir, config, collection=collection, depth_limit=depth, page_limit=page_limit,
            telegram_max_pages=telegram_pages,
        )
        targets = [parse_spec(s, telegram_base_url=settings.telegram_base_url) for s in specs]
    except (SettingsError, SpecError) as exc:
        raise fail(str(exc)) from None

    from tawthiq.capture import run_capture

    raise typer.Exit(capture_with_display(settings, targets))


def capture_with_display(settings: Settings, targets: list, expected_failures: set[str] | None = None) -> int:  # type: ignore[type-arg]
    """Run a capture with the live display and print the summary; returns the exit status."""
    from tawthiq.capture import run_capture

    console.print(f"tawthiq {__version__}: capturing {len(targets)} target(s) into {settings.warcs_dir}")
    with Live(console=console, refresh_per_second=4, transient=True) as live:
        def tick(stats, run_id):  # type: ignore[no-untyped-def]
            live.update(_stats_table(stats, run_id, "capturing..."))

        summary = run_capture(settings, targets, on_tick=tick)
    for result in summary.recovered:
        where = result.sealed_path.name if result.sealed_path else "(nothing complete; removed)"
        console.print(f"recovered {result.open_path.name}: {result.records} whole records kept -> {where}")
    console.print(_stats_table(summary.stats, summary.run_id, f"capture {summary.status} in {summary.seconds:.1f}s"))
    for sealed in summary.files:
        console.print(f"  {sealed.name}  {human_bytes(sealed.size)}  sha256:{sealed.sha256}", highlight=False)
    unexpected = [(u, e) for u, e in summary.stats.errors if u not in (expected_failures or set())]
    if summary.stats.errors:
        console.print(f"[yellow]{len(summary.stats.errors)} failure(s), recorded in the archive:[/]")
        for url, error in summary.stats.errors:
            note = "" if (url, error) in unexpected else "  (expected in the demo)"
            console.print(f"  {url}: {error}{note}", highlight=False, soft_wrap=True, markup=False)
    return 1 if unexpected else 0


@app.command()
def warcs(data_dir: DataDir = None, config: ConfigFile = None) -> None:
    """List archive files with their sizes and SHA-256 digests."""
    settings = settings_or_exit(data_dir, config)
    from tawthiq.catalog import Catalog

    if not settings.catalog_path.exists():
        raise fail(f"no catalog in {settings.home}: nothing has been captured there yet")
    catalog = Catalog(settings.catalog_url)
    rows = catalog.warc_files()
    for row in rows:
        state = ("recovered" if row.recovered else "sealed") if row.sealed else "open"
        console.print(f"{row.name}  {row.size or 0:>12}  sha256:{row.sha256 or '-'}  {state}",
                      highlight=False, soft_wrap=True)
    on_disk = {p.name for p in settings.warcs_dir.glob("*.warc.gz*")}
    missing = [r.name for r in rows if r.sealed and r.name not in on_disk]
    console.print(f"{len(rows)} file(s), {human_bytes(sum(r.size or 0 for r in rows))}")
    if missing:
        raise fail(f"{len(missing)} catalogued file(s) missing from {settings.warcs_dir}: {', '.join(missing)}", 1)


@app.command()
def recover(data_dir: DataDir = None, config: ConfigFile = None) -> None:
    """Repair WARC files left open by a crash and bring the catalog in line with them."""
    settings = settings_or_exit(data_dir, config)
    from tawthiq.capture import recover as do_recover
    from tawthiq.catalog import Catalog

    settings.warcs_dir.mkdir(parents=True, exist_ok=True)
    catalog = Catalog(settings.catalog_url)
    results = do_recover(settings, catalog)
    catalog.close()
    if not results:
        console.print("nothing to recover: no orphaned .open files")
    for r in results:
        kept = r.sealed_path.name if r.sealed_path else "nothing complete; file removed"
        tail = f", {r.cut_bytes} incomplete bytes kept in {r.tail_path}" if r.tail_path else ""
        console.print(f"{r.open_path.name}: {r.records} whole records -> {kept}{tail}", highlight=False)


@app.command()
def reindex(data_dir: DataDir = None, config: ConfigFile = None) -> None:
    """Rebuild the catalog's record index, posts and failures from the WARC files."""
    settings = settings_or_exit(data_dir, config)
    from archivers.digests import file_sha256
    from archivers.writer import SealedFile
    from tawthiq.catalog import Catalog

    files = sorted(settings.warcs_dir.glob("*.warc.gz"))
    if not files:
        raise fail(f"no WARC files in {settings.warcs_dir}")
    catalog = Catalog(settings.catalog_url)
    total = 0
    for path in files:
        sealed = SealedFile(path.name, path, path.stat().st_size, file_sha256(str(path)))
        total += catalog.rebuild_file(path, sealed=sealed)
    catalog.close()
    console.print(f"indexed {total} records from {len(files)} file(s)")


@app.command()
def demo(
    data_dir: DataDir = None,
    port: Annotated[int, typer.Option(help="port for the demo site (0 = any free port)")] = 0,
) -> None:
    """Serve the bundled synthetic demo site on 127.0.0.1 and capture all of it."""
    from tawthiq.demo.run import run_demo

    raise typer.Exit(run_demo(data_dir or Path("./tawthiq-demo-data"), port))


@app.callback(invoke_without_command=True)
def main(version: Annotated[bool, typer.Option("--version", help="print the version")] = False) -> None:
    if version:
        console.print(f"tawthiq {__version__}")
        raise typer.Exit(0)


def run() -> None:
    app()


if __name__ == "__main__":
    run()
