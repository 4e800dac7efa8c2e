"""Death notices as records (issue 16): the fields a notice states (names, age, date, place,
cause) read from its OCR text into the `notices` table, listed by `tawthiq notices` and the web
app with their evidence, and rebuilt from the WARC files alike.

The capture test renders notices with real Arabic shaping (bench/ocr/corpus.py: Pillow with
libraqm, Debian's fonts, invented names), posts them as photos on a Telegram-format channel on
127.0.0.1 whose captions never name the dead, and reads them with real Tesseract. The reader's
rules are also checked on plain text (as OCR gives it), where the expected values are known."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bench.ocr import corpus
from tawthiq.demo.content import DemoPhoto, DemoPost
from tawthiq.demo.images import photo
from tawthiq.demo.server import LocalServer, Resource
from tawthiq.demo.site import DemoChannel
from tawthiq.index.notices import extract_notice
from tests.conftest import all_blocks, query, run_tawthiq


def _read(text: str) -> dict | None:
    notice = extract_notice({"status": "text", "text": text, "words": []})
    return notice.as_dict() if notice else None


# -- the reader's rules, on text as OCR gives it ------------------------------------------------------
def test_arabic_notice_fields_are_read_with_their_words() -> None:
    words = [{"text": t, "conf": c, "box": [10 * i, 50, 40, 30], "pass": "ara-psm11"}
             for i, (t, c) in enumerate([("الشهيد", 91.0), ("زياد", 88.0), ("نبيل", 90.0), ("المصري", 86.0),
                                         ("٣٧", 70.0)])]
    notice = extract_notice({"status": "text", "words": words, "text": "بسم الله الرحمن الرحيم\nنعي\n"
                             "الشهيد زياد نبيل المصري\nعن عمر ناهز ٣٧ عاماً\n"
                             "في بلدة المثال بتاريخ ١٠/٥/٢٠٢٦ إثر قصف على الحي\nإنا لله وإنا إليه راجعون"})
    assert notice is not None
    (name,) = notice.names
    assert name.value == "زياد نبيل المصري" and name.confidence == pytest.approx(0.88, abs=0.01)
    assert [w["text"] for w in name.words] == ["زياد", "نبيل", "المصري"] and name.words[0]["box"] == [10, 50, 40, 30]
    assert notice.age is not None and notice.age.value == 37 and notice.age.words[0]["text"] == "٣٧"
    assert notice.date is not None and notice.date.value == {"iso": "2026-05-10", "calendar": "gregorian"}
    assert notice.place is not None and notice.place.value == "بلدة المثال"
    assert notice.cause is not None and notice.cause.value == "قصف"


def test_other_phrasings_hijri_dates_several_names_and_english() -> None:
    late = _read("انتقل إلى رحمة الله تعالى المرحومة الحاجة ليلى ماجد الحداد\n"
                 "عن عمر يناهز 80 عاماً وذلك يوم 14 ربيع الآخر 1448 هـ بمخيم النور")
    assert late and [n["value"] for n in late["names"]] == ["ليلى ماجد الحداد"]
    assert late["age"]["value"] == 80 and late["date"]["value"] == {"iso": "1448-04-14", "calendar": "hijri"}
    assert late["place"]["value"] == "مخيم النور"
    two = _read("استشهد الشاب رامي خليل القاسم والشهيد يوسف عادل الشامي جراء غارة جوية بمدينة الأمل "
                "بتاريخ 2026-10-03")
    assert two and [n["value"] for n in two["names"]] == ["رامي خليل القاسم", "يوسف عادل الشامي"]
    assert two["cause"]["value"] == "غارة جوية" and two["place"]["value"] == "مدينة الأمل"
    assert two["date"]["value"]["iso"] == "2026-10-03"
    english = _read("In loving memory of Sami Khalil Haddad\nwho passed away on October 3, 2026 in Riverton, "
                    "aged 34, killed in an airstrike")
    assert english and english["language"] == "en" and english["names"][0]["value"] == "Sami Khalil Haddad"
    assert english["age"]["value"] == 34 and english["date"]["value"]["iso"] == "2026-10-03"
    assert english["place"]["value"] == "Riverton" and english["cause"]["value"] == "airstrike"
    # OCR cut a word in two, and read a title one letter off: still one name, a little less sure
    split = _read("الشبيدة ليلى شا كر الصالح\nعن عمر ناهز ٦٩ عاماً")
    assert split and split["names"][0]["value"] == "ليلى شاكر الصالح"


def test_text_that_is_not_a_notice_gives_no_record() -> None:
    assert _read("صورة من الحي الشرقي\nالشهيد في القلب") is None  # a title, no name
    assert _read("الشهيد سامر خليل العبدالله") is None  # a name, nothing else of a notice
    assert _read("اجتماع المجلس البلدي بتاريخ 3/10/2026 في قاعة البلدية") is None
    assert extract_notice({"status": "gated", "text": "", "words": []}) is None


def test_notices_command_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    nothing = run_tawthiq(["notices"], data_dir=tmp_path / "empty")
    assert nothing.code != 0 and "nothing has been captured" in nothing.err and "Traceback" not in nothing.err
    both = run_tawthiq(["notices", "--json", "--csv"], data_dir=tmp_path / "empty")
    assert both.code == 2 and "choose one" in both.err


# -- a captured channel of notices -----------------------------------------------------------------------
PICKED = ("n000", "n002", "n005", "n007", "n020")  # naskh, amiri (JPEG q30), kufi, kacst; plain, header, portrait


@dataclass
class Channel:
    server: LocalServer
    channel: DemoChannel
    notices: list[corpus.Notice]
    files: dict[str, bytes]

    @property
    def env(self) -> dict[str, str]:
        return {"TAWTHIQ_TELEGRAM_BASE_URL": self.server.base_url}


@pytest.fixture
def channel() -> Iterator[Channel]:
    if shutil.which("tesseract") is None:
        pytest.skip("Debian's tesseract-ocr is not installed")
    if not corpus.has_shaping():
        pytest.skip("Pillow without libraqm cannot draw Arabic")
    by_key = {n.key: n for n in corpus.notices(40)}
    picked = [by_key[k] for k in PICKED]
    files = {f"/file/{n.key}.png": corpus.image(n, "jpeg30" if n.key == "n002" else "clean") for n in picked}
    files["/file/street.jpg"] = photo("east-quarter", (480, 360))
    plan = [("نعي", f"/file/{n.key}.png") for n in picked]
    plan.insert(2, ("صورة من الحي الشرقي", "/file/street.jpg"))
    files["/file/repost.png"] = files[f"/file/{picked[0].key}.png"]  # the same bytes at another address
    plan.append(("إعادة نشر", "/file/repost.png"))  # the first notice again: one record, two posts
    srv = LocalServer()
    ch = DemoChannel(srv.base_url, name="notices_chan", videos=False)
    start = datetime(2026, 10, 5, 6, 0, tzinfo=timezone.utc)
    ch.posts = []
    for i, (caption, path) in enumerate(plan):
        when = start + timedelta(hours=i)
        ch.posts.append(DemoPost(id=301 + i, html=caption, datetime=when.isoformat(), time=when.strftime("%H:%M"),
                                 views="2K", photos=[DemoPhoto(f"p{i}", path, srv.base_url + path)]))
    srv.routes[f"/s/{ch.name}"] = ch.render
    for path, data in files.items():
        srv.routes[path] = Resource(data, content_type="image/jpeg" if data.startswith(b"\xff\xd8") else "image/png")
    srv.routes["/file/channel.jpg"] = Resource(photo("channel"), content_type="image/jpeg")
    with srv:
        yield Channel(srv, ch, picked, files)


def _notices(data_dir: Path, *args: str) -> list[dict[str, str]]:
    result = run_tawthiq(["notices", "--csv", *args], data_dir=data_dir)
    assert result.code == 0, result.out + result.err
    return list(csv.DictReader(io.StringIO(result.out)))


def test_a_channel_of_notices_becomes_records_found_listed_and_rebuilt(channel: Channel, data_dir: Path) -> None:
    result = run_tawthiq(["capture", f"telegram:{channel.channel.name}"], data_dir=data_dir, env=channel.env)
    assert result.code == 0, result.out + result.err

    # Search finds each notice by the name in its image (the captions never say it).
    post_of = {n.key: f"notices_chan/{301 + i + (i >= 2)}" for i, n in enumerate(channel.notices)}
    for n in channel.notices:
        found = run_tawthiq(["search", f'"{n.name}"', "--json"], data_dir=data_dir)
        hits = json.loads(found.out)["hits"]
        assert hits and hits[0]["post_id"] in (post_of[n.key], "notices_chan/307"), (n.name, hits[:2])
        assert hits[0]["match"] == "image"

    # One row per notice image (the repost shares the first's), with the right names.
    rows = _notices(data_dir)
    assert sorted(r["names"] for r in rows) == sorted(n.name for n in channel.notices)
    by_name = {r["names"]: r for r in rows}
    first = by_name[channel.notices[0].name]
    assert first["post_ids"].split(" | ") == ["telegram:notices_chan/301", "telegram:notices_chan/307"]
    ages = {n.name: str(n.age) for n in channel.notices}
    assert sum(by_name[name]["age"] == age for name, age in ages.items()) >= 4  # OCR misreads a digit now and then
    assert all(not r["age"] or r["age"] == ages[r["names"]] or float(r["confidence"]) < 1 for r in rows)
    assert {r["place"] for r in rows} <= {n.place for n in channel.notices} | {"قرية الفوذج", ""}

    # Every row leads to its evidence: the image's bytes and record, the OCR record that read it.
    blocks = all_blocks(data_dir)
    uri_of = {h["WARC-Record-ID"]: h["WARC-Target-URI"] for h, _ in blocks if h["WARC-Type"] == "response"}
    ocr_refers = {h["WARC-Record-ID"]: h["WARC-Refers-To"] for h, _ in blocks
                  if h["WARC-Type"] == "metadata" and h.get("WARC-Target-URI", "").startswith("urn:tawthiq:ocr:")}
    for n in channel.notices:
        row = by_name[n.name]
        data = channel.files[f"/file/{n.key}.png"]
        assert row["image_sha256"] == hashlib.sha256(data).hexdigest()
        # the image's own response record (of the notice, or of its repost when that was fetched first)
        assert uri_of[row["image_record_id"]].rsplit("/", 1)[1] in (f"{n.key}.png", "repost.png")
        assert ocr_refers[row["ocr_record_id"]] == row["image_record_id"]
        assert row["post_urls"].startswith("http")

    listed = json.loads(run_tawthiq(["notices", "--json"], data_dir=data_dir).out)
    assert listed["total"] == 5
    one = next(n for n in listed["notices"] if n["names"] == [channel.notices[1].name])
    (name_field,) = one["fields"]["names"]
    assert 0 < name_field["confidence"] <= 1 and len(name_field["words"]) == 3
    assert all(len(w["box"]) == 4 and w["pass"].startswith("ara") for w in name_field["words"])

    # Filters: a name (letters folded as search folds them), a source, a date.
    assert [r["names"] for r in _notices(data_dir, "--name", "هالة الزعبي")] == [channel.notices[1].name]
    assert len(_notices(data_dir, "--source", "notices_chan")) == 5
    assert len(_notices(data_dir, "--source", "telegram:Notices_Chan")) == 5  # a channel's name, any case
    unknown = run_tawthiq(["notices", "--source", "elsewhere"], data_dir=data_dir)  # a typo is said, not an empty list
    assert unknown.code == 2 and "'elsewhere'" in unknown.err and len(unknown.err.strip().splitlines()) == 1
    assert "Traceback" not in unknown.err and unknown.out == ""
    sure = _notices(data_dir, "--min-confidence", "0.7")
    assert 0 < len(sure) <= 5 and all(float(r["confidence"]) >= 0.7 for r in sure)
    assert len(_notices(data_dir, "--since", "2026-10-05T10:30")) == 2  # the two latest notices
    human = run_tawthiq(["notices"], data_dir=data_dir)
    assert channel.notices[2].name in human.out and "check them against the image" in human.out
    bad = run_tawthiq(["notices", "--since", "yesterday"], data_dir=data_dir)
    assert bad.code == 2 and "Traceback" not in bad.err and "--since" in bad.err

    # The web page and the JSON API list the same notices; each row links to its post page.
    from tawthiq.settings import load_settings
    from tawthiq.web.app import create_app

    client = TestClient(create_app(load_settings(data_dir, token="t0ken")))
    assert client.get("/api/notices").status_code == 401  # the archive's read rule holds here too
    client.headers["Authorization"] = "Bearer t0ken"
    api = client.get("/api/notices").json()
    assert sorted(n["names"][0] for n in api["notices"]) == sorted(n.name for n in channel.notices)
    page = client.get("/notices")
    assert page.status_code == 200
    for n in channel.notices:
        assert n.name in page.text
    assert 'href="/post/telegram/notices_chan%2F301"' in page.text
    post_page = client.get("/post/telegram/notices_chan%2F301")
    assert post_page.status_code == 200 and "Death notice read in this post" in post_page.text
    assert channel.notices[0].name in post_page.text
    assert "Death notice" not in client.get("/post/telegram/notices_chan%2F303").text  # the street photo
    assert len(client.get("/api/notices", params={"name": channel.notices[3].name}).json()["notices"]) == 1

    # Rebuilt from the WARC files alone: the same rows.
    before = query(data_dir, "select sha256, image_record_id, ocr_record_id, names, age, date_of_death, place, "
                             "cause, confidence, fields from notices order by ocr_record_id")
    (data_dir / "catalog.sqlite").unlink()
    shutil.rmtree(data_dir / "index")
    assert run_tawthiq(["reindex"], data_dir=data_dir).code == 0
    assert query(data_dir, "select sha256, image_record_id, ocr_record_id, names, age, date_of_death, place, "
                           "cause, confidence, fields from notices order by ocr_record_id") == before
    assert _notices(data_dir) == rows

    # Read again (`tawthiq ocr --redo`): the newest reading of each image stands, one row still.
    assert run_tawthiq(["ocr", "--redo"], data_dir=data_dir).code == 0
    redone = _notices(data_dir)
    assert sorted(r["names"] for r in redone) == sorted(r["names"] for r in rows)
    assert not {r["ocr_record_id"] for r in redone} & {r["ocr_record_id"] for r in rows}
    assert query(data_dir, "select count(*) from notices")[0][0] == 10  # both readings kept in the table
