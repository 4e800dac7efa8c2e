"""Text in images (issue 16): real Tesseract on death notices rendered in the test (Pillow with
libraqm shaping, Debian's Arabic fonts, invented names), captured from a Telegram-format channel
on 127.0.0.1 whose captions never name the dead, then found by `tawthiq search`."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bench.ocr import corpus
from tawthiq.demo.content import DemoPhoto, DemoPost
from tawthiq.demo.images import photo
from tawthiq.demo.server import LocalServer, Resource
from tawthiq.demo.site import DemoChannel
from tests.conftest import all_blocks, query, run_tawthiq

pytestmark = [
    pytest.mark.skipif(shutil.which("tesseract") is None, reason="Debian's tesseract-ocr is not installed"),
    pytest.mark.skipif(not corpus.has_shaping(), reason="Pillow without libraqm cannot draw Arabic"),
]

NAME_A = "سامر خليل العبدالله"
NAME_B = "هالة سليم النجار"


@dataclass
class NoticeChannel:
    server: LocalServer
    channel: DemoChannel
    files: dict[str, bytes]

    @property
    def env(self) -> dict[str, str]:
        return {"TAWTHIQ_TELEGRAM_BASE_URL": self.server.base_url}


@pytest.fixture
def notices() -> Iterator[NoticeChannel]:
    a = corpus.Notice("a", NAME_A, 24, "بلدة المثال", "3/10/2026", "naskh", "plain")
    b = corpus.Notice("b", NAME_B, 51, "قرية النموذج", "4/10/2026", "kufi", "header")
    files = {
        "/file/notice-a.png": corpus.image(a, "clean"),
        "/file/notice-b.jpg": corpus.image(b, "phone"),
        "/file/street.jpg": photo("east-quarter", (480, 360)),
        "/file/broken.jpg": b"\xff\xd8\xff\xe0 this is not a JPEG at all",
    }
    files["/file/repost-a.png"] = files["/file/notice-a.png"]  # the same bytes at another address
    # (caption, photo): the captions never say the names
    plan = [("نعي | بلدة المثال", "/file/notice-a.png"), ("نعي من قرية النموذج", "/file/notice-b.jpg"),
            ("صورة من الحي الشرقي", "/file/street.jpg"), ("صورة لم تصل كاملة", "/file/broken.jpg"),
            ("إعادة نشر", "/file/repost-a.png")]
    srv = LocalServer()
    channel = DemoChannel(srv.base_url, name="notices_test", videos=False)
    start = datetime(2026, 10, 5, 6, 0, tzinfo=timezone.utc)
    channel.posts = []
    for i, (caption, path) in enumerate(plan):
        when = start + timedelta(hours=i)
        channel.posts.append(DemoPost(id=201 + i, html=caption, datetime=when.isoformat(), time=when.strftime("%H:%M"),
                                      views="1K", photos=[DemoPhoto(f"p{i}", path, srv.base_url + path)]))
    srv.routes[f"/s/{channel.name}"] = channel.render
    for path, data in files.items():
        srv.routes[path] = Resource(data, content_type="image/png" if path.endswith(".png") else "image/jpeg")
    srv.routes["/file/channel.jpg"] = Resource(photo("channel"), content_type="image/jpeg")
    with srv:
        yield NoticeChannel(srv, channel, files)


def _ocr_records(data_dir: Path) -> list[tuple[dict[str, str], dict]]:
    return [(h, json.loads(b)) for h, b in all_blocks(data_dir)
            if h["WARC-Type"] == "metadata" and h.get("WARC-Target-URI", "").startswith("urn:tawthiq:ocr:")]


def _search(data_dir: Path, q: str) -> dict:
    result = run_tawthiq(["search", q, "--json"], data_dir=data_dir)
    assert result.code == 0, result.out + result.err
    return json.loads(result.out)


def _found(data_dir: Path, q: str) -> list[tuple[str, str | None]]:
    return [(h["post_id"], h["match"]) for h in _search(data_dir, q)["hits"]]


def _post_page(data_dir: Path, post_id: str) -> str:
    from fastapi.testclient import TestClient

    from tawthiq.settings import load_settings
    from tawthiq.web.app import create_app

    app = TestClient(create_app(load_settings(data_dir, token="t0ken")), headers={"Authorization": "Bearer t0ken"})
    response = app.get(f"/post/telegram/{post_id}")
    assert response.status_code == 200, response.text
    return response.text


def test_notices_in_photos_are_read_found_by_name_and_rebuilt_from_warc(notices: NoticeChannel,
                                                                          data_dir: Path) -> None:
    result = run_tawthiq(["capture", f"telegram:{notices.channel.name}"], data_dir=data_dir, env=notices.env)
    assert result.code == 0, result.out + result.err
    assert "images read (OCR)" in result.out

    # One "ocr" record per distinct image file, referring to the image's own record; the repost
    # of notice A (same bytes: a revisit) is not read a second time.
    blocks = all_blocks(data_dir)
    image_ids = {h["WARC-Target-URI"]: h["WARC-Record-ID"] for h, _ in blocks if h["WARC-Type"] == "response"}
    records = {doc["source_url"].rsplit("/", 1)[1].replace("repost-a", "notice-a"): (h, doc)
               for h, doc in _ocr_records(data_dir)}  # whichever copy of notice A came first
    assert sorted(records) == ["broken.jpg", "notice-a.png", "notice-b.jpg", "street.jpg"]
    for name, (h, doc) in records.items():
        assert h["WARC-Refers-To"] == image_ids[doc["source_url"]] == doc["image_record_id"]
        assert doc["engine"]["name"] == "tesseract" and doc["engine"]["version"].startswith("5.")
        assert {t["name"] for t in doc["engine"]["traineddata"]} == {"ara.traineddata", "Arabic.traineddata"}
        assert all(len(t["sha256"]) == 64 for t in doc["engine"]["traineddata"])
    a = records["notice-a.png"][1]
    assert a["status"] == "text" and NAME_A in a["text"]
    assert "\u200f" not in a["text"] and "\u200e" not in a["text"]  # bidi marks stripped
    word = next(w for w in a["words"] if w["text"] == "سامر")
    assert word["conf"] > 50 and len(word["box"]) == 4 and word["pass"].startswith("ara-psm")
    assert records["street.jpg"][1]["status"] == "gated" and records["street.jpg"][1]["words"] == []
    assert records["street.jpg"][1]["seconds"] < 1.0  # the gate alone, no Tesseract pass (~10 ms)
    broken = records["broken.jpg"][1]
    assert broken["status"] == "failed" and "not a readable image" in broken["error"]

    # Search: the names are found by the text in the image, and the snippet says so.
    found = _search(data_dir, f'"{NAME_A}"')
    assert [h["post_id"] for h in found["hits"]][:1] in (["notices_test/201"], ["notices_test/205"])
    assert found["total"] == 2  # the post and its repost (the same image), folded or not
    hit = found["hits"][0]
    assert hit["match"] == "image" and "<mark>سامر</mark>" in hit["image_snippet"]
    cli = run_tawthiq(["search", f'"{NAME_A}"'], data_dir=data_dir)
    assert "in image:" in cli.out and "fuzzy" not in cli.out
    assert ("notices_test/202", "image") in _found(data_dir, "هالة النجار")
    # in:image limits words to image text: the caption's words are not there.
    assert _found(data_dir, "in:image الشرقي") == []
    assert ("notices_test/203", "text") in _found(data_dir, "الشرقي")
    # A name misread by one letter is still found, after exact matches, marked as a lead.
    fuzzy = _found(data_dir, "in:image سامز")
    assert fuzzy and all(kind == "fuzzy" for _, kind in fuzzy)
    assert "fuzzy match: a lead" in run_tawthiq(["search", "in:image سامز"], data_dir=data_dir).out
    rows = query(data_dir, "select status, count(*) from image_texts group by status order by status")

    # The post page overlays the words read on the image (an SVG over it, in the image's pixels).
    page = _post_page(data_dir, "notices_test/201")
    assert 'class="ocr-words" viewBox="0 0 800 1000"' in page and "words read by OCR" in page
    assert ">سامر</text>" in page and ">العبدالله</text>" in page
    assert _post_page(data_dir, "notices_test/203").count("<svg") == 0  # a street photo: gated, no boxes

    # Rebuilt from the WARC files alone: the same catalog rows, the same answers.
    shutil.rmtree(data_dir / "index")
    (data_dir / "catalog.sqlite").unlink()
    assert run_tawthiq(["reindex"], data_dir=data_dir).code == 0
    assert query(data_dir, "select status, count(*) from image_texts group by status order by status") == rows
    rebuilt = _search(data_dir, f'"{NAME_A}"')
    assert rebuilt["total"] == found["total"] and rebuilt["hits"][0]["cluster"] == found["hits"][0]["cluster"]
    assert rebuilt["hits"][0]["image_text"] == found["hits"][0]["image_text"]
    assert ("notices_test/202", "image") in _found(data_dir, "هالة النجار")

    # `tawthiq ocr` reads nothing again; `--redo` appends new records in a new file, old files
    # untouched, and the newest record is the one used.
    before = {p.name: p.read_bytes() for p in (data_dir / "warcs").glob("*.warc.gz")}
    again = run_tawthiq(["ocr"], data_dir=data_dir)
    assert again.code == 0, again.out + again.err
    assert "reused 4" in again.out and len(_ocr_records(data_dir)) == 4
    redo = run_tawthiq(["ocr", "--redo"], data_dir=data_dir)
    assert redo.code == 0, redo.out + redo.err
    after = {p.name: p.read_bytes() for p in (data_dir / "warcs").glob("*.warc.gz")}
    assert all(after[name] == data for name, data in before.items()) and len(after) > len(before)
    assert len(_ocr_records(data_dir)) == 8
    assert query(data_dir, "select count(*) from image_texts")[0][0] == 8
    assert ("notices_test/202", "image") in _found(data_dir, "هالة النجار")


def test_query_language_reads_in_image() -> None:
    from tawthiq.index.query import And, Filter, QuerySyntaxError, Terms, parse_query

    q = parse_query("in:image سامر")
    assert isinstance(q.root, And) and Filter("has", "image_text") in q.root.children
    (terms,) = [c for c in q.root.children if isinstance(c, Terms)]
    assert terms.scope == "image"
    assert parse_query("in:text سامر").root.scope == "text"  # type: ignore[attr-defined]
    with pytest.raises(QuerySyntaxError, match="in: takes image or text"):
        parse_query("in:video x")
