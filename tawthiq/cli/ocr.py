"""`tawthiq ocr`: read the text in archived images with the current OCR engine (issue 16).

Images archived while OCR was off or Tesseract missing are read now; `--redo` reads every image
again (a newer Tesseract or models, a changed recipe). Each result is a new "ocr" metadata record
appended in a new WARC file, referring to the image's record; old files are never rewritten, and
the newest record of an image is the one search and the catalog use.
"""

from __future__ import annotations

from typing import Annotated

import typer

from tawthiq.cli.app import app
from tawthiq.cli.common import capture_with_display
from tawthiq.cli.options import ConfigFile, DataDir
from tawthiq.errors import NotFound, Unavailable
from tawthiq.settings import load_settings


@app.command()
def ocr(
    redo: Annotated[bool, typer.Option("--redo", help="read every archived image again, even those read "
                                                      "before by this engine")] = False,
    data_dir: DataDir = None, config: ConfigFile = None,
) -> None:
    """Read the text in archived images (OCR) and make it searchable; new records, old files untouched."""
    from tawthiq.catalog import Catalog
    from tawthiq.index.ocr import TesseractError, engine_facts
    from tawthiq.listeners.ocr import archived_image_jobs, ocr_settings

    settings = load_settings(data_dir, config, ocr=True, ocr_mode="after")
    try:
        engine_facts(ocr_settings(settings))
    except TesseractError as exc:
        raise Unavailable(f"OCR cannot run: {exc}") from None
    if not settings.has_catalog:
        raise NotFound(f"no catalog in {settings.home}: nothing has been captured there yet")
    catalog = Catalog(settings.catalog_url)
    try:
        images = archived_image_jobs(catalog)
    finally:
        catalog.close()
    if not images:
        raise NotFound(f"no archived images in {settings.home}")
    raise typer.Exit(capture_with_display(settings, [], kind="ocr", ocr_images=images, ocr_redo=redo))
