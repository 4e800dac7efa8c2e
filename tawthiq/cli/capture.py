"""`tawthiq capture`: capture what each spec names, with a live progress display."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.markup import escape

from tawthiq.cli.app import app
from tawthiq.cli.common import capture_with_display, setting_assignments, words_of
from tawthiq.cli.options import ConfigFile, DataDir
from tawthiq.settings import load_settings
from tawthiq.specs import forms as spec_forms
from tawthiq.specs import parse_spec


@app.command()
def capture(
    specs: Annotated[list[str], typer.Argument(help=escape(spec_forms()))],  # `[/post/RKEY]` is not markup
    data_dir: DataDir = None,
    config: ConfigFile = None,
    collection: Annotated[Optional[str], typer.Option(help="collection name")] = None,
    depth: Annotated[Optional[int], typer.Option(help="web: link depth from the seed")] = None,
    page_limit: Annotated[Optional[int], typer.Option("--page-limit", help="web: most pages per capture")] = None,
    telegram_pages: Annotated[Optional[int], typer.Option(help="telegram: most history pages")] = None,
    source: Annotated[Optional[str], typer.Option(help="name of the source this run belongs to")] = None,
    keywords: Annotated[Optional[str], typer.Option(help="comma-separated: only matching posts are kept for search")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", metavar="NAME=VALUE",
                                                      help="any setting for this run, e.g. mastodon_max_pages=2")] = None,
) -> None:
    """Capture what each spec names (pages, feeds, channels, accounts, videos) into WARC files, with a
    live progress display."""
    settings = load_settings(
        data_dir, config, collection=collection, depth_limit=depth, page_limit=page_limit,
        telegram_max_pages=telegram_pages, **setting_assignments(set_ or []),
    )
    targets = [parse_spec(s, settings) for s in specs]
    raise typer.Exit(capture_with_display(settings, targets, source_name=source, keywords=words_of(keywords)))
