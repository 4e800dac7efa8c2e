"""Exporting a selection as a signed bundle: one service for the CLI and the web app."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from tawthiq.errors import UserError
from tawthiq.archivers import signing, wacz
from tawthiq import __version__
from tawthiq.catalog import Catalog
from tawthiq.export_requisites import browser_exchange_refs, requisite_refs, warcinfo_refs
from tawthiq.selection import Selection, SelectionError, select_posts
from tawthiq.settings import Settings


class ExportFailed(UserError, ValueError):
    """Nothing was written; the message says why."""


class ExportTooLarge(ExportFailed):
    """The selection's records alone are over the size the caller allows (the web app's
    max_export_size): refused before a byte is copied."""

    http_status = 413


def export_posts(settings: Settings, output: Path, *, fmt: str = "wacz", query: str | None = None,
                 ids: list[str] | None = None, since: datetime | None = None, until: datetime | None = None,
                 source: str | None = None, collection: str | None = None,
                 everything: bool = False,
                 progress: wacz.Progress | None = None,
                 max_bytes: int | None = None) -> tuple[Selection, wacz.ExportResult]:
    """`everything`: every post and every other record of the archive (`tawthiq export --all`);
    `progress`: told (bytes copied, bytes in all) as the records are copied; `max_bytes`: refuse,
    before copying, a selection whose records alone are larger (the bundle is a little larger still)."""
    if fmt not in ("wacz", "warc"):
        raise ExportFailed(f"format must be wacz or warc, not {fmt!r}")
    if not settings.has_catalog:
        raise ExportFailed(f"no catalog in {settings.home}: nothing has been captured there yet")
    if everything and (query is not None or any([ids, since, until, source, collection])):
        raise ExportFailed("everything (--all) is exported alone: drop the other criteria")
    if query is not None:
        if ids:
            raise ExportFailed("give either a search query or ids, not both")
        ids = query_post_ids(settings, query)
    catalog = Catalog(settings.catalog_url)
    try:
        selection = select_posts(catalog, ids=ids, search=query, since=since, until=until, source=source,
                                 collection=collection, everything=everything)
        with_requisites(catalog, selection, settings.warcs_dir)
        digests = {row.name: row.sha256 for row in catalog.warc_files()}
    except SelectionError as exc:
        raise ExportFailed(str(exc)) from None
    finally:
        catalog.close()
    total = sum(ref.length for ref in selection.records)
    if max_bytes is not None and total > max_bytes:
        raise ExportTooLarge(f"the export would be over {total} bytes, over max_export_size ({max_bytes}): "
                             "narrow the search or use `tawthiq export`")
    has_key = signing.key_path(settings.home).exists()
    try:
        result = wacz.export(
            refs=selection.records, items=selection.items, selection=selection.description,
            warcs_dir=settings.warcs_dir, output=output, fmt=fmt,
            software=f"tawthiq {__version__}", operator=settings.operator,
            source_files={r.file: digests.get(r.file) for r in selection.records},
            key_home=settings.home if has_key else None, tsa_url=settings.tsa_url or None,
            progress=progress,
        )
    except (wacz.ExportError, signing.SigningError) as exc:
        raise ExportFailed(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - a TSA failure, a full disk: nothing half-written is left
        raise ExportFailed(f"export failed, nothing written: {type(exc).__name__}: {exc}") from None
    return selection, result


def with_requisites(catalog: Catalog, selection: Selection, warcs_dir: Path) -> None:
    """Add the stylesheets, fonts and images the selected posts' pages need, and every exchange of
    a page captured in the browser (see export_requisites)."""
    pages = {ref.record_id: ref for ref in (wacz.page_record(item) for item in selection.items) if ref is not None}
    extra = requisite_refs(catalog, list(pages.values()), warcs_dir)
    extra += browser_exchange_refs(catalog, [(item.platform, item.post_id) for item in selection.items], warcs_dir)
    extra += warcinfo_refs(catalog, {r.file for r in extra} - {r.file for r in selection.records})
    every = {ref.record_id: ref for ref in selection.records}
    for ref in extra:
        every.setdefault(ref.record_id, ref)
    selection.records = sorted(every.values(), key=lambda r: (r.file, r.offset))


def query_post_ids(settings: Settings, query: str) -> list[str]:
    """Every post a search query matches (raises QuerySyntaxError, SearchError, IndexUnavailable)."""
    from tawthiq.index.search import matching_ids
    from tawthiq.search_index import open_backend

    backend = open_backend(settings, create=False)
    try:
        return matching_ids(backend, query)[1]
    finally:
        backend.close()
