"""Scheduled capture: `tawthiq sources ...` (DATA_DIR/sources.yaml), `tawthiq run` (the scheduler)
and `tawthiq runs` (the history of capture runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from tawthiq.cli.app import app
from tawthiq.cli.common import console, words_of
from tawthiq.cli.options import ConfigFile, DataDir
from tawthiq.errors import NotFound, UserError
from tawthiq.settings import load_settings

sources_app = typer.Typer(help="What to capture on a schedule (DATA_DIR/sources.yaml).", no_args_is_help=True)
app.add_typer(sources_app, name="sources")


@sources_app.command("add")
def sources_add(
    name: str,
    spec: str,
    every: Annotated[Optional[str], typer.Option(help="interval: 30s, 15m, 6h, 1d")] = None,
    cron: Annotated[Optional[str], typer.Option(help='crontab: "0 */6 * * *" (UTC)')] = None,
    collection: Annotated[Optional[str], typer.Option()] = None,
    keywords: Annotated[Optional[str], typer.Option(help="comma-separated filter for search")] = None,
    recheck_every: Annotated[Optional[str], typer.Option(help="revisit archived posts this often")] = None,
    browser_profile: Annotated[Optional[str], typer.Option(
        help="browser pages: the login profile to use (made by `tawthiq browser login NAME`)")] = None,
    logged_out_marker: Annotated[Optional[str], typer.Option(
        help="browser pages: a CSS selector or text=... shown only when logged out (pauses the source)")] = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Add a source with a schedule."""
    from tawthiq.sources import add_source

    settings = load_settings(data_dir, config)
    add_source(settings.home, name=name, spec=spec, every=every, cron=cron, collection=collection,
               keywords=words_of(keywords), recheck_every=recheck_every, browser_profile=browser_profile,
               browser_logged_out_marker=logged_out_marker)
    console.print(f"added {name}: {spec}, {'every ' + every if every else 'cron ' + str(cron)}", highlight=False)


@sources_app.command("list")
def sources_list(data_dir: DataDir = None, config: ConfigFile = None) -> None:
    """List sources and their schedules."""
    from tawthiq.sources import load_sources

    settings = load_settings(data_dir, config)
    current = load_sources(settings.home)
    if not current.sources:
        console.print("no sources yet: add one with `tawthiq sources add NAME SPEC --every 30m`")
    for s in current.sources:
        schedule = f"every {s.every}" if s.every else f"cron {s.cron}"
        extra = f" recheck every {s.recheck_every}" if s.recheck_every else ""
        words = f" keywords={','.join(s.keywords)}" if s.keywords else ""
        words += f" browser_profile={s.browser_profile}" if s.browser_profile else ""
        paused = f"  (paused: {s.paused_reason})" if s.paused and s.paused_reason else "  (paused)" if s.paused else ""
        console.print(f"{s.name}  {s.spec}  {schedule}{extra}{words}{paused}", highlight=False, markup=False,
                      soft_wrap=True)


def _set_paused(name: str, paused: bool, data_dir: Path | None, config: Path | None) -> None:
    from tawthiq.sources import set_paused

    settings = load_settings(data_dir, config)
    set_paused(settings.home, name, paused)
    console.print(f"{name} {'paused' if paused else 'resumed'}")


@sources_app.command("pause")
def sources_pause(name: str, data_dir: DataDir = None, config: ConfigFile = None) -> None:
    """Stop scheduling a source (its archive stays)."""
    _set_paused(name, True, data_dir, config)


@sources_app.command("resume")
def sources_resume(name: str, data_dir: DataDir = None, config: ConfigFile = None) -> None:
    """Schedule a paused source again."""
    _set_paused(name, False, data_dir, config)


@sources_app.command("run")
def sources_run(name: str, data_dir: DataDir = None, config: ConfigFile = None) -> None:
    """Capture a source now, exactly as the scheduler would (its spec, collection, keywords and
    browser profile), in this process; a paused source is refused (resume it first)."""
    from tawthiq.sources import capture_args, load_sources

    settings = load_settings(data_dir, config)
    source = load_sources(settings.home).get(name)
    if source.paused:
        reason = f" ({source.paused_reason})" if source.paused_reason else ""
        raise UserError(f"{name} is paused{reason}: `tawthiq sources resume {name}` first")
    args = capture_args(settings.home, name)
    assert args is not None  # the source was just read
    # The same `tawthiq capture` command line the scheduler starts, run by this same Typer app.
    code = app(args=[*args, "--data-dir", str(settings.home), *(["--config", str(config)] if config else [])],
               standalone_mode=False)
    raise typer.Exit(code or 0)


@sources_app.command("remove")
def sources_remove(name: str, data_dir: DataDir = None, config: ConfigFile = None) -> None:
    """Remove a source from the schedule (what was archived stays archived)."""
    from tawthiq.sources import remove_source

    settings = load_settings(data_dir, config)
    remove_source(settings.home, name)
    console.print(f"removed {name}")


@app.command("run")
def run_daemon(
    data_dir: DataDir = None,
    config: ConfigFile = None,
    jitter: Annotated[int, typer.Option(help="spread runs by up to this many seconds")] = 30,
    time_limit: Annotated[Optional[float], typer.Option(help="seconds a run may take before it is stopped")] = 3600,
) -> None:
    """Run the scheduler: capture every source on its schedule until stopped (SIGTERM/Ctrl-C)."""
    from tawthiq.scheduler import Daemon, setup_logging
    from tawthiq.sources import load_sources

    settings = load_settings(data_dir, config)
    load_sources(settings.home)  # a broken sources.yaml stops here, before the daemon starts
    settings.home.mkdir(parents=True, exist_ok=True)
    setup_logging(settings)
    raise typer.Exit(Daemon(settings, jitter=jitter, run_time_limit=time_limit or None).run())


@app.command()
def runs(data_dir: DataDir = None, config: ConfigFile = None,
         limit: Annotated[int, typer.Option(help="how many, newest first")] = 30) -> None:
    """History of capture runs: outcome, posts, bytes, errors, duration."""
    from tawthiq.catalog import Catalog

    settings = load_settings(data_dir, config)
    if not settings.has_catalog:
        raise NotFound(f"no catalog in {settings.home}: nothing has been captured there yet")
    catalog = Catalog(settings.catalog_url)
    for r in catalog.runs(limit):
        counts = r.counts or {}
        took = f"{(r.finished - r.started).total_seconds():.1f}s" if r.finished else "-"
        console.print(
            f"#{r.id}  {r.started:%Y-%m-%d %H:%M:%S}  {r.kind:<7} {r.source or '-':<16} {r.status:<11} "
            f"posts={counts.get('posts', 0)} pages={counts.get('pages', 0)} bytes={counts.get('bytes', 0)} "
            f"errors={r.errors} {took}  {' '.join(r.specs)}{'  ' + r.message if r.message else ''}",
            highlight=False, markup=False, soft_wrap=True)
    catalog.close()
