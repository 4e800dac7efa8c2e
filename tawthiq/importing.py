"""`tawthiq import`: bring another tool's WARC or WACZ into the archive and make its pages
searchable.

The foreign WARC files are copied byte for byte into the archive (`imported-...`), so their
digests and any signatures stay valid and export/verify treat them like our own. What tawthiq
reads from them (each page's title and text) goes into a new tawthiq WARC file as post
metadata records that refer to the page's response record: the catalog and the search index
are then rebuilt from WARC files alone, imported pages included.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from parsel import Selector
from w3lib.encoding import html_to_unicode

from archivers.archiver import Archiver
from archivers.digests import file_sha256
from archivers.foreign import ForeignArchiveError, Page, check_warc, pages, warcs_in
from archivers.writer import SealedFile, WarcWriter, fsync_dir
from crawlers.language import detect_language
from crawlers.models import Post, WarcLocation
from crawlers.parsers.html_text import clean_text
from tawthiq import __version__
from tawthiq.catalog import Catalog
from tawthiq.search_index import LiveIndexer
from tawthiq.settings import Settings


@dataclass
class ImportResult:
    files: list[str] = field(default_factory=list)  # archive names of the copied WARC files
    skipped: list[str] = field(default_factory=list)  # already imported (same SHA-256)
    records: int = 0
    pages: int = 0
    errors: list[str] = field(default_factory=list)


def page_post(page: Page, archive_name: str) -> Post:
    """A page as a searchable post: its title and visible text; `web` platform, host as source."""
    encoding, text = html_to_unicode(page.content_type, page.body)
    if page.mime == "text/plain":
        title, body = "", text
    else:
        sel = Selector(text=text)
        title = (sel.xpath("string(//title)").get() or "").strip()
        for node in sel.xpath("//script|//style|//noscript|//template"):
            node.drop()
        body = clean_text(sel.xpath("//body").get() or text)
    full = "\n".join(p for p in (title, body) if p)
    return Post(
        platform="web", source=urlsplit(page.url).hostname or "", post_id=page.url, url=page.url,
        text=full, language=detect_language(full), page_url=page.url,
        warc=WarcLocation(file=archive_name, offset=page.offset, length=page.length, record_id=page.record_id),
    )


def import_archive(settings: Settings, path: Path) -> ImportResult:
    if not path.is_file():
        raise ForeignArchiveError(f"{path}: no such file")
    members = warcs_in(path)
    settings.warcs_dir.mkdir(parents=True, exist_ok=True)
    stem = path.name.removesuffix(".wacz").removesuffix(".gz").removesuffix(".warc")
    sources: list[tuple[str, object, str]] = []  # (label, opener, original name)
    if members:
        zf = zipfile.ZipFile(path)
        for m in members:
            sources.append((f"{path.name}:{m}", lambda m=m: zf.open(m), Path(m).name))
    else:
        sources.append((path.name, lambda: open(path, "rb"), path.name))

    result = ImportResult()
    # Every WARC is copied under a hidden temporary name and checked whole before any of them
    # joins the archive: a bad member leaves the archive as it was.
    staged: list[tuple[Path, str, str]] = []  # (temporary path, final name, sha256)
    try:
        for label, opener, original in sources:
            tmp = settings.warcs_dir / f".importing-{os.getpid()}-{len(staged)}"
            with opener() as src, open(tmp, "wb") as out:  # type: ignore[operator]
                shutil.copyfileobj(src, out, 8 << 20)
                out.flush()
                os.fsync(out.fileno())
            staged.append((tmp, "", ""))
            check_warc(tmp, label)
            digest = file_sha256(str(tmp))
            if any(p.name.startswith(f"imported-{digest[:16]}-") for p in settings.warcs_dir.iterdir()):
                result.skipped.append(label)
                continue
            suffix = ".warc.gz" if original.endswith(".gz") else ".warc"
            base = original.removesuffix(".gz").removesuffix(".warc")
            staged[-1] = (tmp, f"imported-{digest[:16]}-{stem}-{base}{suffix}" if members else
                          f"imported-{digest[:16]}-{base}{suffix}", digest)
    except BaseException:
        for tmp, _, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    copied: list[tuple[Path, str]] = []  # (file in the archive, sha256)
    for tmp, name, digest in staged:
        if not name:  # already imported
            tmp.unlink(missing_ok=True)
            continue
        final = settings.warcs_dir / name
        os.replace(tmp, final)
        copied.append((final, digest))
    fsync_dir(settings.warcs_dir)

    catalog = Catalog(settings.catalog_url)
    try:
        for final, digest in copied:
            result.files.append(final.name)
            result.records += catalog.rebuild_file(
                final, sealed=SealedFile(final.name, final, final.stat().st_size, digest))
        if not copied:
            return result
        writer = WarcWriter(settings.warcs_dir, prefix=settings.warc_prefix, max_size=settings.warc_max_size,
                            warcinfo_fields={
                                "software": f"tawthiq/{__version__}", "format": "WARC File Format 1.1",
                                "isPartOf": settings.collection, "operator": settings.operator or "(not set)",
                                "tawthiq-import": f"{path.name} -> {', '.join(result.files)}",
                            })
        indexer = LiveIndexer(settings, result.errors.append)
        archiver = Archiver(writer, None, [catalog, indexer])
        try:
            for final, _ in copied:
                for page in pages(final):
                    post = page_post(page, final.name)
                    archiver.metadata(post.url, post.archive_document(), kind="post", refers_to=page.record_id)
                    result.pages += 1
        finally:
            archiver.close()
            catalog.flush()
            indexer.close()
    finally:
        catalog.close()
    return result
