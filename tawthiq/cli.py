"""The `tawthiq` command line (Typer + Rich).

User mistakes (a bad spec, a bad setting, a missing file) end with one line on stderr and
exit status 2; no traceback. A capture with failed fetches still finishes, lists them, and
exits 1 so scripts notice.
"""

from __future__ import annotations

import signal
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from tawthiq import __version__
from tawthiq.cli_options import ConfigFile, DataDir
from tawthiq.settings import Settings, SettingsError, load_settings
from tawthiq.specs import SpecError, parse_spec
from tawthiq.specs import forms as spec_forms

app = typer.Typer(
    add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
    help="Capture open-source evidence into standard WARC archives.",
)
console = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def settings_or_exit(data_dir: Path | None, config: Path | None, **overrides: object) -> Settings:
    try:
        return load_settings(data_dir, config, **overrides)
    except SettingsError as exc:
        raise fail(str(exc)) from None


def setting_assignments(pairs: list[str]) -> dict[str, str]:
    """`--set NAME=VALUE` options as setting overrides (validated with the rest by load_settings)."""
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip().lower().replace("-", "_")
        if not sep or not name:
            raise SettingsError(f"--set {pair!r}: write NAME=VALUE, e.g. --set depth_limit=1")
        if name not in Settings.model_fields or name in ("home", "token", "database_url", "redis_url"):
            raise SettingsError(f"--set {pair!r}: no setting {name!r} can be set for a run")
        out[name] = value
    return out


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
    if stats.checks:
        table.add_row("checks", ", ".join(f"{k} {v}" for k, v in sorted(stats.checks.items())))
    return table


@app.command()
def capture(
    specs: Annotated[list[str], typer.Argument(help=spec_forms())],
    data_dir: DataDir = None,
    config: ConfigFile = None,
    collection: Annotated[Optional[str], typer.Option(help="collection name")] = None,
    depth: Annotated[Optional[int], typer.Option(help="web: link depth from the seed")] = None,
    page_limit: Annotated[Optional[int], typer.Option("--page-limit", help="web: most pages per capture")] = None,
    telegram_pages: Annotated[Optional[int], typer.Option(help="telegram: most history pages")] = None,
    source: Annotated[Optional[str], typer.Option(help="name of the source this run belongs to")] = None,
    keywords: Annotated[Optional[str], typer.Option(help="comma-separated: only matching posts are kept for search")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", metavar="NAME=VALUE",
                                                      help="any setting for this run, e.g. mastodon_page_limit=2")] = None,
) -> None:
    """Capture what each spec names (pages, feeds, channels, accounts, videos) into WARC files, with a
    live progress display."""
    try:
        settings = load_settings(
            data_dir, config, collection=collection, depth_limit=depth, page_limit=page_limit,
            telegram_max_pages=telegram_pages, **setting_assignments(set_ or []),
        )
        targets = [parse_spec(s, settings) for s in specs]
    except (SettingsError, SpecError) as exc:
        raise fail(str(exc)) from None

    words = [k.strip() for k in (keywords or "").split(",") if k.strip()]
    raise typer.Exit(capture_with_display(settings, targets, source_name=source, keywords=words))


def capture_with_display(settings: Settings, targets: list, expected_failures: set[str] | None = None,  # type: ignore[type-arg]
                         **kwargs: object) -> int:
    """Run a capture with the live display and print the summary; returns the exit status."""
    from tawthiq.capture import run_capture

    what = f"{len(targets)} target(s)" if targets else str(kwargs.get("kind", "capture"))
    console.print(f"tawthiq {__version__}: capturing {what} into {settings.warcs_dir}")
    with Live(console=console, refresh_per_second=4, transient=True) as live:
        def tick(stats, run_id):  # type: ignore[no-untyped-def]
            live.update(_stats_table(stats, run_id, "capturing..."))

        summary = run_capture(settings, targets, on_tick=tick, **kwargs)  # type: ignore[arg-type]
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

    if not settings.has_catalog:
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
def reindex(
    backend: Annotated[Optional[str], typer.Option(help="search backend to rebuild: tantivy or elasticsearch")] = None,
    catalog_too: Annotated[bool, typer.Option("--catalog/--no-catalog", help="rebuild the catalog too")] = True,
    data_dir: DataDir = None, config: ConfigFile = None,
) -> None:
    """Rebuild the catalog and the search index from the WARC files alone."""
    settings = settings_or_exit(data_dir, config)
    from tawthiq.archivers.digests import file_sha256
    from tawthiq.archivers.writer import SealedFile
    from tawthiq.index.backend import IndexUnavailable
    from tawthiq.catalog import Catalog
    from tawthiq.search_index import archive_files, open_backend, rebuild

    files = archive_files(settings.warcs_dir)
    if not files:
        raise fail(f"no WARC files in {settings.warcs_dir}")
    if catalog_too:
        catalog = Catalog(settings.catalog_url)
        total = 0
        for path in files:
            sealed = SealedFile(path.name, path, path.stat().st_size, file_sha256(str(path)))
            total += catalog.rebuild_file(path, sealed=sealed)
        catalog.close()
        console.print(f"catalog: {total} records from {len(files)} file(s)")
    try:
        index = open_backend(settings, backend)
        posts = rebuild(index, files)
        index.close()
    except IndexUnavailable as exc:
        raise fail(str(exc)) from None
    console.print(f"search index ({backend or settings.search_backend}): {posts} post(s) from {len(files)} file(s)")


@app.command()
def worker(
    burst: Annotated[bool, typer.Option(help="stop when the queue is empty")] = False,
    data_dir: DataDir = None, config: ConfigFile = None,
) -> None:
    """Take capture runs from the Redis queue (scale-out: needs redis_url / TAWTHIQ_REDIS_URL)."""
    from tawthiq.queue import run_worker, worker_identity

    settings = settings_or_exit(data_dir, config)
    if not settings.redis_url:
        raise fail("a worker needs a queue: set redis_url (TAWTHIQ_REDIS_URL), e.g. redis://127.0.0.1:6379/0")
    console.print(f"tawthiq worker {worker_identity(settings.worker_id)}: taking captures from "
                  f"{settings.redis_url.split('@')[-1]} for {settings.home}", highlight=False)
    if settings.search_backend == "tantivy":
        err.print("note: the search index is the embedded one, so this machine's index holds only what it "
                  "archives; with workers on several machines set search_backend = \"elasticsearch\"",
                  highlight=False)
    try:
        run_worker(settings, burst=burst)
    except Exception as exc:  # noqa: BLE001 - e.g. Redis unreachable: one line
        raise fail(f"worker stopped: {type(exc).__name__}: {exc}") from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on (127.0.0.1: this machine only)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8080,
    data_dir: DataDir = None, config: ConfigFile = None,
) -> None:
    """Run the web app: search and read the archive, manage sources, export and verify bundles."""
    from tawthiq.web.app import serve as run_server

    settings = settings_or_exit(data_dir, config)
    if not 0 < port < 65536:
        raise fail(f"--port must be between 1 and 65535, not {port}")
    mode = "read-only (set TAWTHIQ_TOKEN to allow changes)" if not settings.token else "changes need the token"
    console.print(f"tawthiq web app on http://{host}:{port}/ for {settings.home}; {mode}", highlight=False)
    run_server(settings, host, port)


@app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="a .warc.gz, .warc or .wacz made by another tool")],
    data_dir: DataDir = None, config: ConfigFile = None,
) -> None:
    """Bring another tool's WARC/WACZ into the archive (kept byte for byte) and make its pages searchable."""
    from tawthiq.archivers.foreign import ForeignArchiveError
    from tawthiq.importing import import_archive

    settings = settings_or_exit(data_dir, config)
    try:
        result = import_archive(settings, path)
    except ForeignArchiveError as exc:
        raise fail(f"nothing imported: {exc}") from None
    for label in result.skipped:
        console.print(f"{label}: already in the archive (same SHA-256), skipped", highlight=False)
    for name in result.files:
        console.print(f"kept as {name}", highlight=False)
    console.print(f"imported {result.records} records; {result.pages} page(s) made searchable", highlight=False)
    for message in result.errors:
        err.print(f"error: {escape(message)}", highlight=False)
    if result.errors:
        raise typer.Exit(1)


@contextmanager
def _searching_errors():  # type: ignore[no-untyped-def]
    """A bad query, request or missing index becomes one line on stderr."""
    from tawthiq.index.backend import IndexUnavailable
    from tawthiq.index.query import QuerySyntaxError
    from tawthiq.index.search import SearchError

    try:
        yield
    except QuerySyntaxError as exc:
        raise fail(f"query: {exc}\n{exc.pointer()}") from None
    except (SearchError, IndexUnavailable) as exc:
        raise fail(str(exc)) from None


@contextmanager
def _searching(settings: Settings, backend: str | None = None):  # type: ignore[no-untyped-def]
    """The search index, open, with `_searching_errors`."""
    from tawthiq.search_index import open_backend

    with _searching_errors():
        index = open_backend(settings, backend, create=False)
        try:
            yield index
        finally:
            index.close()


def _unindexed_note(settings: Settings, in_index: int) -> str | None:
    """Archived posts missing from the index are said, never silently left out."""
    if not settings.has_catalog:
        return None
    from tawthiq.catalog import Catalog

    catalog = Catalog(settings.catalog_url)
    try:
        archived = catalog.count_searchable_posts()
    finally:
        catalog.close()
    if archived > in_index:
        return f"{archived - in_index} archived post(s) are not in the search index: run `tawthiq reindex`"
    return None


@app.command()
def search(
    query: Annotated[str, typer.Argument(help='e.g. \'حلب "مستشفى القدس" -تدريب since:2016-11-01 platform:telegram\'')],
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
    limit: Annotated[int, typer.Option(help="hits per page")] = 20,
    page: Annotated[int, typer.Option(help="page number, from 1")] = 1,
    sort: Annotated[str, typer.Option(help="relevance or date (newest first)")] = "relevance",
    backend: Annotated[Optional[str], typer.Option(help="tantivy or elasticsearch")] = None,
    data_dir: DataDir = None, config: ConfigFile = None,
) -> None:
    """Search archived posts: words, "phrases", OR, -exclusions, prefix*, platform:/source:/author:/lang:,
    has:image|video, since:/until:. Near-duplicates are folded into one hit."""
    import json as _json

    from tawthiq.index.search import search as run_search

    settings = settings_or_exit(data_dir, config)
    if page < 1:
        raise fail(f"--page must be 1 or more, not {page}")
    with _searching(settings, backend) as index:
        result = run_search(index, query, sort=sort, offset=(page - 1) * limit, limit=limit)
        in_index = index.count()
    note = _unindexed_note(settings, in_index)
    if as_json:
        out = result.as_json()
        if note:
            out["notes"].append(note)
        sys.stdout.write(_json.dumps(out, ensure_ascii=False, indent=2) + "\n")
        return
    for n in result.query.notes + ([note] if note else []):
        err.print(f"note: {escape(n)}", highlight=False)
    first = result.offset + 1
    console.print(f"{result.total} post(s) match; showing {first}-{result.offset + len(result.hits)}"
                  if result.hits else f"{result.total} post(s) match", highlight=False)
    for i, hit in enumerate(result.hits, first):
        copies = f" · {hit.cluster_size} copies" if hit.cluster_size > 1 else ""
        console.print(f"\n[bold]{i}.[/] [cyan]{escape(hit.platform)}[/] {escape(hit.source)}"
                      f" · {escape(hit.author or '-')} · {hit.published_at[:16].replace('T', ' ')}{copies}",
                      highlight=False)
        console.print("   " + marked_snippet(hit.snippet), highlight=False)
        w = hit.warc
        where = f"   {w.get('file')} @ {w.get('offset')}" if w else ""
        console.print(f"   [dim]{escape(hit.url)}{escape(where)}[/]", highlight=False)
    if result.facets and result.total:
        console.print()
        for name, values in result.facets.items():
            if values:
                shown = ", ".join(f"{v} ({c})" for v, c in values[:8])
                console.print(f"[dim]{name}:[/] {escape(shown)}", highlight=False)


def marked_snippet(snippet_html: str) -> str:
    """A snippet's <mark> as Rich markup, everything else escaped."""
    import html
    import re

    parts = re.split(r"(<mark>.*?</mark>)", snippet_html)
    out = []
    for part in parts:
        if part.startswith("<mark>"):
            out.append(f"[bold yellow]{escape(html.unescape(part[6:-7]))}[/]")
        else:
            out.append(escape(html.unescape(part)))
    return "".join(out)


sources_app = typer.Typer(help="What to capture on a schedule (DATA_DIR/sources.yaml).", no_args_is_help=True)
app.add_typer(sources_app, name="sources")


def _sources_or_exit(settings: Settings):  # type: ignore[no-untyped-def]
    from tawthiq.sources import SourcesError, load_sources

    try:
        return load_sources(settings.home)
    except SourcesError as exc:
        raise fail(str(exc)) from None


@sources_app.command("add")
def sources_add(
    name: str,
    spec: str,
    every: Annotated[Optional[str], typer.Option(help="interval: 30s, 15m, 6h, 1d")] = None,
    cron: Annotated[Optional[str], typer.Option(help='crontab: "0 */6 * * *" (UTC)')] = None,
    collection: Annotated[Optional[str], typer.Option()] = None,
    keywords: Annotated[Optional[str], typer.Option(help="comma-separated filter for search")] = None,
    recheck_every: Annotated[Optional[str], typer.Option(help="revisit archived posts this often")] = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Add a source with a schedule."""
    from tawthiq.sources import SourcesError, add_source

    settings = settings_or_exit(data_dir, config)
    try:
        add_source(settings.home, name=name, spec=spec, every=every, cron=cron, collection=collection,
                   keywords=[k.strip() for k in (keywords or "").split(",") if k.strip()],
                   recheck_every=recheck_every)
    except SourcesError as exc:
        raise fail(str(exc)) from None
    console.print(f"added {name}: {spec}, {'every ' + every if every else 'cron ' + str(cron)}", highlight=False)


@sources_app.command("list")
def sources_list(data_dir: DataDir = None, config: ConfigFile = None) -> None:
    """List sources and their schedules."""
    settings = settings_or_exit(data_dir, config)
    current = _sources_or_exit(settings)
    if not current.sources:
        console.print("no sources yet: add one with `tawthiq sources add NAME SPEC --every 30m`")
    for s in current.sources:
        schedule = f"every {s.every}" if s.every else f"cron {s.cron}"
        extra = f" recheck every {s.recheck_every}" if s.recheck_every else ""
        words = f" keywords={','.join(s.keywords)}" if s.keywords else ""
        console.print(f"{s.name}  {s.spec}  {schedule}{extra}{words}{'  (paused)' if s.paused else ''}",
                      highlight=False, markup=False)


def _set_paused(name: str, paused: bool, data_dir: Path | None, config: Path | None) -> None:
    from tawthiq.sources import SourcesError, set_paused

    settings = settings_or_exit(data_dir, config)
    try:
        set_paused(settings.home, name, paused)
    except SourcesError as exc:
        raise fail(str(exc)) from None
    console.print(f"{name} {'paused' if paused else 'resumed'}")


@sources_app.command("pause")
def sources_pause(name: str, data_dir: DataDir = None, config: ConfigFile = None) -> None:
    """Stop scheduling a source (its archive stays)."""
    _set_paused(name, True, data_dir, config)


@sources_app.command("resume")
def sources_resume(name: str, data_dir: DataDir = None, config: ConfigFile = None) -> None:
    """Schedule a paused source again."""
    _set_paused(name, False, data_dir, config)


@sources_app.command("remove")
def sources_remove(name: str, data_dir: DataDir = None, config: ConfigFile = None) -> None:
    """Remove a source from the schedule (what was archived stays archived)."""
    from tawthiq.sources import SourcesError, remove_source

    settings = settings_or_exit(data_dir, config)
    try:
        remove_source(settings.home, name)
    except SourcesError as exc:
        raise fail(str(exc)) from None
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

    settings = settings_or_exit(data_dir, config)
    _sources_or_exit(settings)
    settings.home.mkdir(parents=True, exist_ok=True)
    setup_logging(settings)
    raise typer.Exit(Daemon(settings, jitter=jitter, run_time_limit=time_limit or None).run())


@app.command()
def runs(data_dir: DataDir = None, config: ConfigFile = None,
         limit: Annotated[int, typer.Option(help="how many, newest first")] = 30) -> None:
    """History of capture runs: outcome, posts, bytes, errors, duration."""
    from tawthiq.catalog import Catalog

    settings = settings_or_exit(data_dir, config)
    if not settings.has_catalog:
        raise fail(f"no catalog in {settings.home}: nothing has been captured there yet")
    catalog = Catalog(settings.catalog_url)
    for r in catalog.runs(limit):
        counts = r.counts or {}
        took = f"{(r.finished - r.started).total_seconds():.1f}s" if r.finished else "-"
        console.print(
            f"#{r.id}  {r.started:%Y-%m-%d %H:%M:%S}  {r.kind:<7} {r.source or '-':<16} {r.status:<11} "
            f"posts={counts.get('posts', 0)} pages={counts.get('pages', 0)} bytes={counts.get('bytes', 0)} "
            f"errors={r.errors} {took}  {' '.join(r.specs)}", highlight=False, markup=False)
    catalog.close()


@app.command()
def recheck(
    name_or_spec: Annotated[str, typer.Argument(help="a source name from sources.yaml, or a capture spec")],
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Revisit a source's archived posts: still online, changed, or taken down."""
    from tawthiq.recheck import NothingToCheck, recheck_crawls
    from tawthiq.scheduler import source_for_target

    settings = settings_or_exit(data_dir, config)
    source = source_for_target(_sources_or_exit(settings).sources, name_or_spec)
    try:
        target = parse_spec(source.spec if source else name_or_spec, settings)
        crawls = recheck_crawls(settings, target)
    except (SpecError, NothingToCheck) as exc:
        raise fail(str(exc)) from None
    raise typer.Exit(capture_with_display(settings, [], crawls=crawls, kind="recheck",
                                          source_name=source.name if source else None))


@app.command()
def takedowns(data_dir: DataDir = None, config: ConfigFile = None,
              as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Posts a recheck found gone: when last seen online, and where the archived copy is."""
    import json as jsonlib

    from tawthiq.catalog import Catalog

    settings = settings_or_exit(data_dir, config)
    if not settings.has_catalog:
        raise fail(f"no catalog in {settings.home}: nothing has been captured there yet")
    catalog = Catalog(settings.catalog_url)
    items = catalog.takedowns()
    catalog.close()
    if as_json:
        print(jsonlib.dumps({"takedowns": items}, ensure_ascii=False, indent=2))
        return
    if not items:
        console.print("no takedowns recorded (run `tawthiq recheck SOURCE` or schedule --recheck-every)")
    for item in items:
        console.print(
            f"{item['url']}  gone since {item['gone_since']} ({item['detail']}); last seen {item['last_seen']}; "
            f"archived in {item['warc_file']} at {item['warc_offset']}", highlight=False, markup=False)


from tawthiq.cli_dedupe import dedupe_app  # noqa: E402 - the sub-commands' module imports nothing at load

app.add_typer(dedupe_app, name="dedupe")

keys_app = typer.Typer(help="The key that signs exports.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(data_dir: DataDir = None, config: ConfigFile = None) -> None:
    """Create the signing key (DATA_DIR/keys/signing-key.pem, readable by you only)."""
    from tawthiq.archivers import signing

    settings = settings_or_exit(data_dir, config)
    try:
        path = signing.create_key(settings.home)
    except signing.SigningError as exc:
        raise fail(str(exc)) from None
    public = signing.public_key_b64(signing.load_key(settings.home))
    console.print(f"created {path}\npublic key fingerprint: {signing.fingerprint(public)}", highlight=False)


def _parse_day(value: str | None, name: str):  # type: ignore[no-untyped-def]
    from datetime import datetime, timezone

    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"{name}: {value!r} is not a date like 2026-10-01 or 2026-10-01T06:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@app.command()
def export(
    query: Annotated[Optional[str], typer.Argument(help="a search query (as for `tawthiq search`): every matching post, copies included")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="the bundle to write (.wacz or .warc.gz)")] = Path("export.wacz"),
    ids: Annotated[Optional[str], typer.Option(help="comma-separated post ids, e.g. channel/123")] = None,
    since: Annotated[Optional[str], typer.Option(help="posts published from this date")] = None,
    until: Annotated[Optional[str], typer.Option(help="posts published up to this date")] = None,
    source: Annotated[Optional[str], typer.Option(help="posts of one source (channel name or feed URL)")] = None,
    collection: Annotated[Optional[str], typer.Option(help="posts captured in this collection")] = None,
    everything: Annotated[bool, typer.Option("--all", help="everything archived: every post and every other record")] = False,
    fmt: Annotated[str, typer.Option("--format", help="wacz or warc")] = "wacz",
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Export posts and every record that proves them as a signed WACZ (or .warc.gz) with a custody manifest."""
    from tawthiq.exporting import ExportFailed, export_posts

    settings = settings_or_exit(data_dir, config)
    if fmt not in ("wacz", "warc"):
        raise fail(f"--format must be wacz or warc, not {fmt!r}")
    id_list = [i.strip() for i in ids.split(",") if i.strip()] if ids else None
    with _searching_errors():
        try:
            selection, result = export_posts(
                settings, output, fmt=fmt, query=query, ids=id_list, since=_parse_day(since, "--since"),
                until=_parse_day(until, "--until"), source=source, collection=collection, everything=everything)
        except ExportFailed as exc:
            raise fail(str(exc)) from None
    console.print(f"wrote {result.path}: {len(selection.items)} post(s), {result.records} records, "
                  f"{human_bytes(result.bytes)}; custody manifest {result.manifest_sha256}", highlight=False)
    for note in result.notes:
        console.print(f"note: {note}", highlight=False, markup=False)


@app.command()
def verify(
    path: Annotated[Path, typer.Argument(help="a .wacz, a .warc.gz (with its .manifest.json sidecars), or a data directory")],
    key_fingerprint: Annotated[Optional[str], typer.Option(help="require signatures by this key (sha256:...)")] = None,
    tsa_cert: Annotated[Optional[list[Path]], typer.Option(
        "--tsa-cert", help="trust time-stamps from this TSA (PEM certificate or CA bundle; repeatable; "
                           "adds to the tsa_certificate setting)")] = None,
    config: ConfigFile = None,
) -> None:
    """Recompute every digest, check signatures and time-stamps; one line per problem, then a verdict:
    VERIFIED (exit 0), INTACT BUT UNPROVEN (exit 3: nothing proves who made it, anyone could have),
    FAILED (exit 1). Exit 2 is a mistake in the command itself."""
    import os

    from tawthiq.archivers.timestamps import TimestampError, load_trusted
    from tawthiq.archivers.verify import verify_archive, verify_wacz, verify_warc

    if not path.exists():
        raise fail(f"{path}: no such file or folder")
    if key_fingerprint is not None and not (key_fingerprint.startswith("sha256:") and len(key_fingerprint) == 71):
        raise fail(f"--key-fingerprint: {key_fingerprint!r} is not a key fingerprint (sha256: and 64 hex digits)")
    settings = settings_or_exit(path if path.is_dir() else None, config)
    cert_files = [Path(p) for p in settings.tsa_certificate.split(os.pathsep) if p.strip()] if settings.tsa_certificate else []
    try:
        trusted = load_trusted(cert_files + list(tsa_cert or []))
    except TimestampError as exc:
        raise fail(str(exc)) from None
    if path.is_dir():
        from tawthiq.catalog import Catalog

        digests: dict[str, str | None] = {}
        if settings.has_catalog:
            catalog = Catalog(settings.catalog_url)
            digests = {row.name: row.sha256 for row in catalog.warc_files() if row.sealed}
            catalog.close()
        report = verify_archive(settings.warcs_dir, digests, trusted=trusted)
    elif path.suffix == ".wacz":
        report = verify_wacz(path, key_fingerprint=key_fingerprint, trusted=trusted)
    else:
        report = verify_warc(path, key_fingerprint=key_fingerprint, trusted=trusted)
    for fact in report.facts:
        console.print(f"  {fact}", highlight=False, markup=False, soft_wrap=True)
    for problem in report.problems:
        console.print(f"PROBLEM {problem}", highlight=False, markup=False, soft_wrap=True)
    console.print(f"{report.verdict}: {path}", highlight=False, markup=False)
    for line in report.summary():
        console.print(f"  {line}", highlight=False, markup=False, soft_wrap=True)
    if report.exit_code:
        raise typer.Exit(report.exit_code)


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


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run() -> None:
    # SIGTERM (from the scheduler, systemd, kill) stops as gracefully as Ctrl-C; once the crawl
    # runs, Scrapy's own handlers take over and let requests in flight finish.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        app()
    except KeyboardInterrupt:
        err.print("stopped: files written so far are sealed")
        sys.exit(130)


if __name__ == "__main__":
    run()
