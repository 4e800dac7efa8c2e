"""The archive's files: `warcs` (list), `recover` (repair after a crash), `import` (another tool's
WARC/WACZ)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from tawthiq.cli.app import app
from tawthiq.cli.common import console, err, human_bytes
from tawthiq.cli.options import ConfigFile, DataDir
from tawthiq.errors import IntegrityFailure, NotFound
from tawthiq.settings import load_settings


@app.command()
def warcs(data_dir: DataDir = None, config: ConfigFile = None) -> None:
    """List archive files with their sizes and SHA-256 digests."""
    settings = load_settings(data_dir, config)
    from tawthiq.catalog import Catalog

    if not settings.has_catalog:
        raise NotFound(f"no catalog in {settings.home}: nothing has been captured there yet")
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
        raise IntegrityFailure(f"{len(missing)} catalogued file(s) missing from {settings.warcs_dir}: "
                               f"{', '.join(missing)}")


@app.command()
def recover(data_dir: DataDir = None, config: ConfigFile = None) -> None:
    """Repair WARC files left open by a crash and bring the catalog in line with them."""
    settings = load_settings(data_dir, config)
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


@app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="a .warc.gz, .warc or .wacz made by another tool")],
    data_dir: DataDir = None, config: ConfigFile = None,
) -> None:
    """Bring another tool's WARC/WACZ into the archive (kept byte for byte) and make its pages searchable."""
    from tawthiq.archivers.foreign import ForeignArchiveError
    from tawthiq.importing import import_archive

    settings = load_settings(data_dir, config)
    try:
        result = import_archive(settings, path)
    except ForeignArchiveError as exc:
        raise ForeignArchiveError(f"nothing imported: {exc}") from None
    for label in result.skipped:
        console.print(f"{label}: already in the archive (same SHA-256), skipped", highlight=False)
    for name in result.files:
        console.print(f"kept as {name}", highlight=False)
    console.print(f"imported {result.records} records; {result.pages} page(s) made searchable", highlight=False)
    for message in result.errors:
        err.print(f"error: {escape(message)}", highlight=False)
    if result.errors:
        raise typer.Exit(1)
