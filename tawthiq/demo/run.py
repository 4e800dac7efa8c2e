"""`make demo`: serve the synthetic site on 127.0.0.1 and capture all three kinds of source."""

from __future__ import annotations

import os
from pathlib import Path

from tawthiq.display import capture_with_display, console, marked_snippet
from tawthiq.demo.server import LocalServer
from tawthiq.demo.site import install_demo_site
from tawthiq.settings import Settings, load_settings
from tawthiq.specs import parse_spec


def run_demo(data_dir: Path, port: int = 0) -> int:
    server = LocalServer(port=port)
    channel = install_demo_site(server)
    with server:
        base = server.base_url
        console.print(f"demo site on {base} (synthetic: every name and event is invented)")
        os.environ["TAWTHIQ_TELEGRAM_BASE_URL"] = base
        settings = load_settings(data_dir)
        specs = [f"telegram:{channel.name}", f"feed:{base}/feed.xml", f"{base}/site/index.html",
                 f"video:{base}/site/witness-video.html"]
        console.print("$ tawthiq capture " + " ".join(specs), highlight=False)
        targets = [parse_spec(s, settings) for s in specs]
        # The demo website links to a page that was deleted: its 404 is archived as evidence.
        code = capture_with_display(settings, targets, expected_failures={f"{base}/site/missing.html"})
    console.print(f"archive in {data_dir}/warcs; list it with: .venv/bin/tawthiq warcs --data-dir {data_dir}")
    _show_search(settings)
    _show_clusters(settings)
    return code


def _show_clusters(settings: Settings) -> None:
    """The forwarded posts re-posted earlier bulletins' photos: they are folded, not deleted."""
    from tawthiq.catalog import Catalog

    catalog = Catalog(settings.catalog_url)
    try:
        clusters = catalog.clusters(2)
    finally:
        catalog.close()
    copies = sum(c["size"] for c in clusters)
    console.print(f"\n{len(clusters)} photo(s) were re-posted ({copies} copies kept, folded in search); list them "
                  f"with: .venv/bin/tawthiq dedupe clusters --data-dir {settings.home}", highlight=False)


def _show_search(settings: Settings) -> None:
    """The captured posts are already searchable: one Arabic query, the way a researcher types it."""
    from rich.markup import escape

    from tawthiq.index.search import search
    from tawthiq.search_index import open_backend

    q = "المستشفى -تدريب"
    backend = open_backend(settings, create=False)
    try:
        result = search(backend, q, limit=3, facets=False)
    finally:
        backend.close()
    console.print(f"\n$ tawthiq search '{q}'   ({result.total} post(s); diacritics, prefixes like ال/بال "
                  "and spelling variants all match)", highlight=False)
    for hit in result.hits:
        console.print(f"  {hit.platform} {escape(hit.source)} {hit.published_at[:10]}: {marked_snippet(hit.snippet)}",
                      highlight=False)
    console.print(f"search more with: .venv/bin/tawthiq search --data-dir {settings.home} 'QUERY'")
