"""Takedown tracking: `tawthiq recheck` (revisit a source's archived posts) and `tawthiq takedowns`
(what a recheck found gone)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from tawthiq.cli.app import app
from tawthiq.cli.common import capture_with_display, console
from tawthiq.cli.options import ConfigFile, DataDir
from tawthiq.errors import NotFound
from tawthiq.settings import load_settings
from tawthiq.specs import parse_spec


@app.command()
def recheck(
    name_or_spec: Annotated[str, typer.Argument(help="a source name from sources.yaml, or a capture spec")],
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Revisit a source's archived posts: still online, changed, or taken down."""
    from tawthiq.recheck import recheck_crawls
    from tawthiq.scheduler import source_for_target
    from tawthiq.sources import load_sources

    settings = load_settings(data_dir, config)
    source = source_for_target(load_sources(settings.home).sources, name_or_spec)
    target = parse_spec(source.spec if source else name_or_spec, settings)
    crawls = recheck_crawls(settings, target)
    raise typer.Exit(capture_with_display(settings, [], crawls=crawls, kind="recheck",
                                          source_name=source.name if source else None))


@app.command()
def takedowns(data_dir: DataDir = None, config: ConfigFile = None,
              as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Posts a recheck found gone: when last seen online, and where the archived copy is."""
    from tawthiq.catalog import Catalog

    settings = load_settings(data_dir, config)
    if not settings.has_catalog:
        raise NotFound(f"no catalog in {settings.home}: nothing has been captured there yet")
    catalog = Catalog(settings.catalog_url)
    items = catalog.takedowns()
    catalog.close()
    if as_json:
        print(json.dumps({"takedowns": items}, ensure_ascii=False, indent=2))
        return
    if not items:
        console.print("no takedowns recorded (run `tawthiq recheck SOURCE` or schedule --recheck-every)")
    for item in items:
        console.print(
            f"{item['url']}  gone since {item['gone_since']} ({item['detail']}); last seen {item['last_seen']}; "
            f"archived in {item['warc_file']} at {item['warc_offset']}", highlight=False, markup=False)
