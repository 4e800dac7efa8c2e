"""The text check fails closed (review findings 2-5): two notices of different people whose
pixels agree stay apart when a text cannot be read (an OCR failure, a candidate archived on
another machine), the record says so instead of "names agree", nothing is OCRed or flushed
while the catalog's assignment lock is held, and the OCR spent on one query is bounded. Real
notices rendered in the test (invented names), real Tesseract, real WARC files, real SQLite."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from bench.dedupe import notices as notice_set
from bench.ocr import corpus
from tawthiq.catalog import Catalog
from tawthiq.near_duplicates import NearDuplicates
from tawthiq.settings import load_settings
from tests.test_dedupe_store import _warc_with

NO_OCR = shutil.which("tesseract") is None or not corpus.has_shaping()
pytestmark = pytest.mark.skipif(NO_OCR, reason="needs Debian's tesseract-ocr and Pillow with libraqm")


def _two_people() -> tuple[bytes, bytes]:
    """Two notices of one template (same font, same header) naming two people: their pixels agree."""
    a, b = corpus.notices(2, seed=71)
    styled = [corpus.Notice(n.key, n.name, n.age, n.place, n.date, "naskh", "plain") for n in (a, b)]
    return notice_set.jpeg(corpus.render(styled[0]), 85), notice_set.jpeg(corpus.render(styled[1]), 85)


def _signed(near: NearDuplicates, folder: Path, name: str, data: bytes) -> dict[str, Any]:
    offset = _warc_with(folder / name, data, f"http://x/{name}.jpg")
    out = near.media(data, hashlib.sha256(data).hexdigest(), "image/jpeg", stored_at=(name, offset),
                     record_id=f"<urn:uuid:{name}>")
    assert out is not None and "error" not in out, out
    return out


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Catalog]]:
    monkeypatch.setenv("TAWTHIQ_OCR", "true")
    settings = load_settings(tmp_path / "here", None)
    settings.warcs_dir.mkdir(parents=True, exist_ok=True)
    catalog = Catalog(settings.catalog_url)
    try:
        yield tmp_path, catalog
    finally:
        catalog.close()


def test_an_ocr_failure_keeps_two_peoples_notices_apart_and_the_record_says_why(here, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    tmp_path, catalog = here
    first, second = _two_people()
    monkeypatch.setenv("TAWTHIQ_OCR_TIMEOUT", "0.001")  # every Tesseract pass is stopped: no text is read
    settings = load_settings(tmp_path / "here", None)
    near = NearDuplicates(settings, catalog)
    a = _signed(near, settings.warcs_dir, "a.warc.gz", first)
    b = _signed(near, settings.warcs_dir, "b.warc.gz", second)
    assert b["cluster"] != a["cluster"] and b["matched"] is None, b  # was folded: "the pixels decide"
    assert b["detail"]["apart_text_unread"] == [hashlib.sha256(first).hexdigest()]
    assert "OCR failed" in b["signature"]["text"]["error"]  # failed, not "no text", in the WARC
    assert "names agree" not in json.dumps(b)


def test_a_candidate_archived_on_another_machine_is_text_checked_from_the_shared_folder(here, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    tmp_path, catalog = here
    first, second = _two_people()
    shared = tmp_path / "elsewhere" / "warcs"
    shared.mkdir(parents=True)
    monkeypatch.setenv("TAWTHIQ_DEDUPE_SHARED_WARCS", json.dumps([str(shared)]))
    settings = load_settings(tmp_path / "here", None)
    a = _signed(NearDuplicates(settings, catalog), shared, "a.warc.gz", first)  # the other machine's
    b = _signed(NearDuplicates(settings, catalog), settings.warcs_dir, "b.warc.gz", second)
    assert b["cluster"] != a["cluster"], b  # its text was None (bytes "not here"): folded
    assert b["detail"]["apart_by_text"] == [hashlib.sha256(first).hexdigest()]


def test_nothing_is_ocred_or_flushed_inside_the_assignment_lock(here, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A notice another worker assigns between this one's first matching and its lock: its text
    and the query's are read outside the lock (on SQLite a flush inside it waits on itself)."""
    import tawthiq.near_duplicates as nd

    tmp_path, catalog = here
    first, second = _two_people()
    settings = load_settings(tmp_path / "here", None)
    worker, other = NearDuplicates(settings, catalog), NearDuplicates(settings, catalog)
    held = {"lock": False, "inside": []}
    lock, flush, ocr = catalog.near_duplicate_lock, catalog.flush, nd.ocr_image

    @contextmanager
    def spied_lock() -> Iterator[Any]:
        with lock() as conn:
            held["lock"] = True
            try:
                yield conn
            finally:
                held["lock"] = False

    def spy(name: str, fn: Any) -> Any:
        def call(*args: Any, **kw: Any) -> Any:
            if held["lock"]:
                held["inside"].append(name)
            return fn(*args, **kw)
        return call

    monkeypatch.setattr(catalog, "near_duplicate_lock", spied_lock)
    monkeypatch.setattr(catalog, "flush", spy("flush", flush))
    monkeypatch.setattr(nd, "ocr_image", spy("ocr", ocr))
    worker.matcher()
    decide = worker._matcher.decide  # type: ignore[union-attr]

    def meanwhile(*args: Any, **kw: Any) -> Any:  # the other worker assigns its notice now
        found = decide(*args, **kw)
        _signed(other, settings.warcs_dir, "a.warc.gz", first)
        return found

    monkeypatch.setattr(worker._matcher, "decide", meanwhile)
    b = _signed(worker, settings.warcs_dir, "b.warc.gz", second)
    assert held["inside"] == [], held["inside"]
    assert b["matched"] is None and b["detail"]["apart_by_text"] == [hashlib.sha256(first).hexdigest()], b


def test_the_text_check_of_one_query_is_bounded() -> None:
    """A query whose pixels agree with many items: past MAX_TEXT_CHECKED text checks the rest
    are kept apart unread (not OCRed one by one on the capture thread)."""
    from tawthiq.dedupe.matcher import MAX_TEXT_CHECKED, Item, Matcher
    from tawthiq.dedupe.notice_text import ImageText
    from tawthiq.dedupe.signature import analyse_image

    first, _ = _two_people()
    query = analyse_image(first)
    asked: list[str] = []

    def text_of(item: Item) -> ImageText:
        asked.append(item.key)
        return ImageText((("سامر", "عادل", "بيطار"),))  # someone else, every time

    matcher = Matcher(text_of=text_of)
    for i in range(MAX_TEXT_CHECKED + 4):
        matcher.add(Item(f"copy-{i}", "image", query.signature, f"copy-{i}"), query)
    found = matcher.decide("new", query, lambda: ImageText((("رامي", "رضوان", "شامي"),)))
    assert found.matched is None
    assert len(asked) == MAX_TEXT_CHECKED
    assert len(found.detail["apart_by_text"]) == MAX_TEXT_CHECKED
    assert len(found.detail["apart_text_unread"]) == 4


def test_a_worker_without_tesseract_matches_on_pixels_as_with_ocr_off(here, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """OCR on but no Tesseract on this worker: the text check is off (said once in the log), so
    a JPEG q30 copy of a notice still folds with it, instead of every reading failing and every
    notice being kept apart from its own copies."""
    from tawthiq.index.ocr import tesseract

    tmp_path, catalog = here
    notice = corpus.notices(1, seed=71)[0]
    card = corpus.render(corpus.Notice(notice.key, notice.name, notice.age, notice.place, notice.date,
                                       "naskh", "plain"))
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    tesseract.version.cache_clear()  # an earlier test found it: look again
    tesseract.traineddata.cache_clear()
    try:
        settings = load_settings(tmp_path / "here", None)
        near = NearDuplicates(settings, catalog)
        a = _signed(near, settings.warcs_dir, "a.warc.gz", notice_set.jpeg(card, 85))
        b = _signed(near, settings.warcs_dir, "b.warc.gz", notice_set.jpeg(card, 30))
        assert b["cluster"] == a["cluster"] and "text" not in b["signature"], b
    finally:
        tesseract.version.cache_clear()
        tesseract.traineddata.cache_clear()


def test_a_candidate_the_ocr_listener_read_is_not_ocred_again(data_dir: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A candidate's text comes from the OCR listener's record when there is one (it used to be
    read again from its bytes, up to four Tesseract passes on the capture thread)."""
    from datetime import datetime, timezone

    import tawthiq.near_duplicates as nd
    from tawthiq.demo.content import DemoPhoto, DemoPost
    from tawthiq.demo.images import photo
    from tawthiq.demo.server import LocalServer, Resource
    from tawthiq.demo.site import DemoChannel
    from tests.conftest import run_tawthiq

    first, _ = _two_people()
    srv = LocalServer()
    ch = DemoChannel(srv.base_url, name="notice_read_once", videos=False)
    when = datetime(2026, 10, 5, 6, 0, tzinfo=timezone.utc)
    ch.posts = [DemoPost(id=401, html="نعي", datetime=when.isoformat(), time="06:00", views="1K",
                         photos=[DemoPhoto("p0", "/file/n.jpg", srv.base_url + "/file/n.jpg")])]
    srv.routes[f"/s/{ch.name}"] = ch.render
    srv.routes["/file/n.jpg"] = Resource(first, content_type="image/jpeg")
    srv.routes["/file/channel.jpg"] = Resource(photo("channel"), content_type="image/jpeg")
    with srv:
        done = run_tawthiq(["capture", f"telegram:{ch.name}"], data_dir=data_dir,
                           env={"TAWTHIQ_TELEGRAM_BASE_URL": srv.base_url})
    assert done.code == 0, done.out + done.err
    ocr_runs: list[int] = []
    real = nd.ocr_image
    monkeypatch.setattr(nd, "ocr_image", lambda *a, **kw: ocr_runs.append(1) or real(*a, **kw))
    settings = load_settings(data_dir, None)
    catalog = Catalog(settings.catalog_url)
    try:
        text = NearDuplicates(settings, catalog).text_of_sha(hashlib.sha256(first).hexdigest())
    finally:
        catalog.close()
    assert ocr_runs == []
    assert text is not None and not isinstance(text, nd.TextUnknown) and text.names, text
