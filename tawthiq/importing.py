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

from w3lib.encoding import html_to_unicode

from tawthiq.archivers.archiver import Archiver
from tawthiq.archivers.digests import file_sha256
from tawthiq.archivers.foreign import ForeignArchiveError, Page, check_warc, copy_member, gzip_per_record, pages, warcs_in
from tawthiq.archivers.writer import SealedFile, WarcWriter, fsync_dir
from tawthiq.crawlers.language import detect_language
from tawthiq.crawlers.models import Post, WarcLocation
from tawthiq.crawlers.platforms.web.article import extract, web_post
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


@dataclass
class Staged:
    """A checked WARC waiting under a temporary name to join the archive."""

    path: Path
    name: str  # its name in the archive
    sha256: str  # of the file as stored
    label: str
    original_sha256: str  # of the file as it came (for a plain .warc, before gzipping)
    original_size: int
    was_gzipped: bool


def _discard(temporary: list[Path], made_dirs: list[Path]) -> None:
    """Nothing of a refused import stays behind: its temporary files, and the folders the import
    created (when still empty)."""
    for tmp in temporary:
        tmp.unlink(missing_ok=True)
    for folder in reversed(made_dirs):
        try:
            folder.rmdir()
        except OSError:
            pass


def page_post(page: Page, archive_name: str) -> Post:
    """A page as a searchable post, read by the same extractor as a captured page (title, main
    text, author, date, images), so both give the same text; `web` platform, host as source."""
    warc = WarcLocation(file=archive_name, offset=page.offset, length=page.length, record_id=page.record_id)
    source = urlsplit(page.url).hostname or ""
    if page.mime == "text/plain":
        _, text = html_to_unicode(page.content_type, page.body)
        return Post(platform="web", source=source, post_id=page.url, url=page.url, text=text,
                    language=detect_language(text), page_url=page.url, warc=warc)
    return web_post(extract(page.body, page.url, page.content_type), source=source, warc=warc)


def import_archive(settings: Settings, path: Path) -> ImportResult:
    if not path.is_file():
        raise ForeignArchiveError(f"{path}: no such file")
    members = warcs_in(path)
    made_dir = [d for d in (settings.home, settings.warcs_dir) if not d.exists()]
    settings.warcs_dir.mkdir(parents=True, exist_ok=True)
    stem = path.name.removesuffix(".wacz").removesuffix(".gz").removesuffix(".warc")
    zf = zipfile.ZipFile(path) if members else None
    sources = [(f"{path.name}:{m}", m, Path(m).name) for m in members] if members else [(path.name, None, path.name)]

    result = ImportResult()
    # Every WARC is copied under a hidden temporary name and checked whole before any of them
    # joins the archive: a bad member leaves the archive as it was (and a fresh one empty).
    staged: list[Staged] = []
    temporary: list[Path] = []
    try:
        for label, member, original in sources:
            tmp = settings.warcs_dir / f".importing-{os.getpid()}-{len(temporary)}"
            temporary.append(tmp)
            with open(tmp, "wb") as out:
                if zf is not None and member is not None:
                    copy_member(zf, member, out, label)
                else:
                    with open(path, "rb") as src:
                        shutil.copyfileobj(src, out, 8 << 20)
                out.flush()
                os.fsync(out.fileno())
            check_warc(tmp, label)
            digest = file_sha256(str(tmp))
            if any(p.name.startswith(f"imported-{digest[:16]}-") for p in settings.warcs_dir.iterdir()) or \
                    any(s.original_sha256 == digest for s in staged):
                result.skipped.append(label)
                continue
            base = original.removesuffix(".gz").removesuffix(".warc")
            name = f"imported-{digest[:16]}-{stem}-{base}.warc.gz" if members else f"imported-{digest[:16]}-{base}.warc.gz"
            stored = tmp
            with open(tmp, "rb") as fh:
                gzipped = fh.read(2) == b"\x1f\x8b"
            if not gzipped:
                # A plain .warc would be the one file of the archive that `warcs`, `verify` and
                # export (which copies gzip members into data.warc.gz) do not read as the rest:
                # it is stored gzipped record by record, and decompressed it is the original.
                stored = settings.warcs_dir / f".importing-{os.getpid()}-{len(temporary)}"
                temporary.append(stored)
                gzip_per_record(tmp, stored, label)
                check_warc(stored, label)
            staged.append(Staged(stored, name, file_sha256(str(stored)), label, digest,
                                 tmp.stat().st_size, gzipped))
    except OSError as exc:
        _discard(temporary, made_dir)
        raise ForeignArchiveError(f"{path.name}: {exc.strerror or exc}") from None
    except BaseException:
        _discard(temporary, made_dir)
        raise
    finally:
        if zf is not None:
            zf.close()
    copied: list[tuple[Path, str, Staged]] = []  # (file in the archive, sha256, what it came from)
    for item in staged:
        final = settings.warcs_dir / item.name
        os.replace(item.path, final)
        copied.append((final, item.sha256, item))
    for tmp in temporary:
        tmp.unlink(missing_ok=True)
    fsync_dir(settings.warcs_dir)
    if not copied:
        _discard([], made_dir)

    catalog = Catalog(settings.catalog_url)
    try:
        for final, digest, _ in copied:
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
            for final, _, item in copied:
                # what was imported, from where, and how it was stored: the original's SHA-256
                # lets anyone check that the stored file (decompressed, if it was plain) is it
                archiver.metadata(f"urn:tawthiq:import:{item.original_sha256}", {
                    "type": "import", "source": item.label, "original_sha256": item.original_sha256,
                    "original_size": item.original_size, "stored_as": final.name,
                    "stored": "byte for byte" if item.was_gzipped else
                              "gzipped record by record; decompressed it is the original byte for byte",
                }, kind="import")
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
