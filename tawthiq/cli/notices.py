"""`tawthiq notices`: the death notices read in archived images (issue 16), each with its
evidence: the posts that carried the image, the image's sha256 and WARC record, and the "ocr"
record the fields were read from. Values are OCR readings: check them against the image."""

from __future__ import annotations

import csv
import json
import sys
from typing import Annotated, Optional

import typer
from rich.markup import escape

from tawthiq.cli.app import app
from tawthiq.cli.common import console
from tawthiq.cli.export import _parse_day
from tawthiq.cli.options import ConfigFile, DataDir
from tawthiq.errors import NotFound, UserError
from tawthiq.settings import load_settings


@app.command()
def notices(
    as_json: Annotated[bool, typer.Option("--json", help="print the notices as JSON (with every field's "
                                                         "confidence and OCR words)")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="print the notices as CSV")] = False,
    source: Annotated[Optional[str], typer.Option(help="only notices posted by this source (e.g. a channel)")] = None,
    since: Annotated[Optional[str], typer.Option(help="only notices posted from this date (2026-10-01)")] = None,
    name: Annotated[Optional[str], typer.Option(help="only notices whose names hold these words")] = None,
    min_confidence: Annotated[float, typer.Option(help="only notices read at least this sure (0-1; a misread "
                                                       "name is usually under 0.7)")] = 0.0,
    data_dir: DataDir = None, config: ConfigFile = None,
) -> None:
    """List the death notices read in archived images: names, age, date, place, cause, evidence."""
    from tawthiq.catalog import Catalog
    from tawthiq.notices import CSV_COLUMNS, NoticeFilter, csv_row, list_notices

    if as_json and as_csv:
        raise UserError("--json and --csv: choose one")
    if not 0 <= min_confidence <= 1:
        raise UserError(f"--min-confidence: {min_confidence} is not between 0 and 1")
    settings = load_settings(data_dir, config)
    if not settings.has_catalog:
        raise NotFound(f"no catalog in {settings.home}: nothing has been captured there yet")
    catalog = Catalog(settings.catalog_url)
    try:
        rows = list_notices(catalog, NoticeFilter(source=source, since=_parse_day(since, "--since"), name=name,
                                                   min_confidence=min_confidence))
    finally:
        catalog.close()
    if as_json:
        print(json.dumps({"total": len(rows), "notices": rows}, ensure_ascii=False, indent=1))
        return
    if as_csv:
        out = csv.DictWriter(sys.stdout, fieldnames=CSV_COLUMNS, lineterminator="\n")
        out.writeheader()
        out.writerows(csv_row(r) for r in rows)
        return
    if not rows:
        console.print("no death notices read in the archived images", highlight=False)
        return
    for r in rows:
        facts = [f"age {r['age']}" if r["age"] is not None else "",
                 f"died {r['date_of_death']}" + (" (Hijri)" if r["calendar"] == "hijri" else "")
                 if r["date_of_death"] else "", r["place"] or "", r["cause"] or ""]
        console.print(f"[bold]{escape(' | '.join(r['names']))}[/bold]  " + escape("; ".join(f for f in facts if f))
                      + f"  (confidence {r['confidence']:.2f})", highlight=False)
        for p in r["posts"]:
            console.print(f"  post {escape(p['platform'])}:{escape(p['post_id'])}  {escape(p['url'])}", highlight=False)
        console.print(f"  image sha256:{r['image_sha256']}  record {escape(r['image_record_id'])}", highlight=False)
    console.print(f"{len(rows)} notice(s); values are OCR readings: check them against the image", highlight=False)
