"""`tawthiq search` (the archive's posts, from the terminal) and `tawthiq reindex` (rebuild the
catalog and the index from the WARC files alone)."""

from __future__ import annotations

import json
import shutil
import sys
from typing import Annotated, Optional

import typer
from rich.markup import escape

from tawthiq.cli.app import app
from tawthiq.cli.common import console, err, marked_snippet
from tawthiq.cli.options import ConfigFile, DataDir
from tawthiq.errors import NotFound, UserError
from tawthiq.settings import Settings, load_settings


@app.command()
def reindex(
    backend: Annotated[Optional[str], typer.Option(help="search backend to rebuild: tantivy or elasticsearch")] = None,
    catalog_too: Annotated[bool, typer.Option("--catalog/--no-catalog", help="rebuild the catalog too")] = True,
    data_dir: DataDir = None, config: ConfigFile = None,
) -> None:
    """Rebuild the catalog and the search index from the WARC files alone."""
    settings = load_settings(data_dir, config)
    from tawthiq.catalog import Catalog
    from tawthiq.search_index import archive_files, open_backend, rebuild

    files = archive_files(settings.warcs_dir)
    if not files:
        raise NotFound(f"no WARC files in {settings.warcs_dir}")
    if catalog_too:
        catalog = Catalog(settings.catalog_url)
        try:
            total = catalog.rebuild_files(files)
            # the near-duplicate store follows the catalog's row ids: filled again at the next capture
            shutil.rmtree(settings.home / "dedupe", ignore_errors=True)
        finally:
            catalog.close()
        console.print(f"catalog: {total} records from {len(files)} file(s)")
    index = open_backend(settings, backend)
    posts = rebuild(index, files)
    index.close()
    console.print(f"search index ({backend or settings.search_backend}): {posts} post(s) from {len(files)} file(s)")


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
    has:image|video, in:image (text read in images), since:/until:. Near-duplicates are folded into one hit."""
    from tawthiq.index.search import search as run_search
    from tawthiq.search_index import open_backend

    settings = load_settings(data_dir, config)
    if page < 1:
        raise UserError(f"--page must be 1 or more, not {page}")
    index = open_backend(settings, backend, create=False)
    try:
        result = run_search(index, query, sort=sort, offset=(page - 1) * limit, limit=limit)
        in_index = index.count()
    finally:
        index.close()
    note = _unindexed_note(settings, in_index)
    if as_json:
        out = result.as_json()
        if note:
            out["notes"].append(note)
        sys.stdout.write(json.dumps(out, ensure_ascii=False, indent=2) + "\n")
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
        if hit.text or not hit.image_snippet:
            console.print("   " + marked_snippet(hit.snippet), highlight=False)
        if hit.image_snippet:
            lead = " [bold red](fuzzy match: a lead, check the image)[/]" if hit.match == "fuzzy" else ""
            console.print(f"   [magenta]in image:[/]{lead} " + marked_snippet(hit.image_snippet.replace("\n", " / ")),
                          highlight=False)
        w = hit.warc
        where = f"   {w.get('file')} @ {w.get('offset')}" if w else ""
        console.print(f"   [dim]{escape(hit.url)}{escape(where)}[/]", highlight=False)
    if result.facets and result.total:
        console.print()
        for name, values in result.facets.items():
            if values:
                shown = ", ".join(f"{v} ({c})" for v, c in values[:8])
                console.print(f"[dim]{name}:[/] {escape(shown)}", highlight=False)
