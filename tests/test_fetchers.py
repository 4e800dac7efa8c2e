"""The fetcher seam: a capture outside Scrapy is a fetcher registered by name, dispatched from a
`FetchJob` after the crawl, writing through the session's context (crawlers/fetchers/base.py).

The fetcher here is not yt-dlp pretending: it is a second, real fetcher of its own, the smallest a
browser fetcher's shape allows: it GETs a local URL with urllib, keeps the body as a `resource`
record and reports it as stored media, so the record must land in the WARC file and the catalog
exactly as a yt-dlp file's would. The capture runs in this process (no crawl, so no reactor), since
a fetcher registered here does not exist in a CLI subprocess.
"""

from __future__ import annotations

import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from warcio.archiveiterator import ArchiveIterator

from tawthiq.capture import run_capture
from tawthiq.crawlers import fetchers
from tawthiq.crawlers.fetchers import FetchContext
from tawthiq.crawlers.platforms import FetchJob
from tawthiq.demo.server import LocalServer, Resource
from tawthiq.settings import load_settings
from tests.conftest import all_records, query

# Synthetic bytes: an opaque file, as a fetcher may produce one.
BODY = b"synthetic evidence file for the fetcher seam\n" * 40


class UrllibFetcher:
    """GET the job's URL; keep the body as a resource record and a media document."""

    name: ClassVar[str] = "test-urllib"
    kind: ClassVar[str] = "page"

    def fetch(self, job: FetchJob, context: FetchContext) -> None:
        try:
            with urllib.request.urlopen(job.url, timeout=10) as response:
                body = response.read()
                mime = response.headers.get_content_type()
        except OSError as exc:
            context.failed(job.url, f"page not captured: {exc}")
            return
        with tempfile.TemporaryDirectory(dir=context.settings.home) as tmp:
            path = Path(tmp) / "body"
            path.write_bytes(body)
            stored = context.store_file(path, job.url, role="media", mime=mime)
            context.media_stored(stored, path, role="media", source_url=job.url, page_url=job.url,
                                 post_url=job.post_url)


@pytest.fixture(autouse=True)
def own_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process captures read TAWTHIQ_* variables; the CLI runner drops them, so do these tests."""
    import os

    for name in [n for n in os.environ if n.startswith("TAWTHIQ_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def registered() -> Iterator[UrllibFetcher]:
    fetcher = UrllibFetcher()
    fetchers.register(fetcher)
    yield fetcher
    fetchers.unregister(fetcher.name)


def test_a_registered_fetcher_is_dispatched_and_its_record_archived(
        registered: UrllibFetcher, server: LocalServer, data_dir: Path) -> None:
    server.routes["/evidence.bin"] = Resource(BODY, content_type="application/octet-stream")
    url = server.url("/evidence.bin")
    settings = load_settings(home=data_dir, allow_private_targets=True)

    summary = run_capture(settings, [], fetches=[FetchJob("test-urllib", url, post_url="https://example.org/p/1")])

    assert summary.status == "finished" and not summary.stats.errors
    assert summary.stats.media == 1 and summary.stats.videos == 0
    resources = [r for r in all_records(data_dir) if r.rec_type == "resource"]
    assert [r.uri for r in resources] == [url]
    with open(data_dir / "warcs" / resources[0].filename, "rb") as fh:  # read back with warcio itself
        fh.seek(resources[0].offset)
        record = next(iter(ArchiveIterator(fh)))
        assert record.content_stream().read() == BODY
    rows = query(data_dir, "select source_url, role, size, post_url, record_id from media")
    assert rows == [(url, "media", len(BODY), "https://example.org/p/1",
                     resources[0].record_id)]


def test_a_stopped_capture_records_each_queued_fetch_as_not_captured(
        registered: UrllibFetcher, data_dir: Path) -> None:
    from tawthiq.catalog import Catalog
    from tawthiq.session import CaptureSession

    settings = load_settings(home=data_dir, dedupe=False)
    settings.warcs_dir.mkdir(parents=True)
    catalog = Catalog(settings.catalog_url)
    session = CaptureSession(settings, catalog, ["test"], None)
    session.queue_fetch(FetchJob("test-urllib", "http://127.0.0.1:9/a"))
    session.queue_fetch(FetchJob("test-urllib", "http://127.0.0.1:9/a"))  # once per (fetcher, URL)
    session.queue_video("http://127.0.0.1:9/v.mp4", post_url=None)
    session.stop_fetches()
    session.close()
    catalog.close()

    documents = [r.document for r in all_records(data_dir) if r.rec_type == "metadata"]
    assert [(d["url"], d["kind"], d["error"]) for d in documents] == [
        ("http://127.0.0.1:9/a", "page", "page not captured: the capture was stopped"),
        ("http://127.0.0.1:9/v.mp4", "video", "video not captured: the capture was stopped"),
    ]
    assert len(session.stats.errors) == 2


def test_a_job_for_no_registered_fetcher_is_refused_by_name(data_dir: Path) -> None:
    from tawthiq.catalog import Catalog
    from tawthiq.session import CaptureSession

    settings = load_settings(home=data_dir, dedupe=False)
    settings.warcs_dir.mkdir(parents=True)
    catalog = Catalog(settings.catalog_url)
    session = CaptureSession(settings, catalog, ["test"], None)
    try:
        with pytest.raises(ValueError, match="no fetcher 'nope' \\(known: ytdlp"):
            session.queue_fetch(FetchJob("nope", "https://example.org/"))
    finally:
        session.close()
        catalog.close()
