"""The Mastodon platform end to end: the real CLI against a fake instance (fake_api.py) that
answers as Mastodon 4.5's public REST API does.

Run through the namespace: `pytest tawthiq/crawlers/platforms/mastodon/tests`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tawthiq.crawlers.platforms import SpecError, parse_spec
from tawthiq.crawlers.platforms.mastodon import PLATFORM
from tawthiq.crawlers.platforms.mastodon.tests.fake_api import FakeInstance, desk
from tawthiq.demo.server import LocalServer
from tests.conftest import SHARED_FORMATS, query, read_payloads, run_tawthiq

ENV = {"TAWTHIQ_MASTODON_SCHEME": "http", "TAWTHIQ_MASTODON_PAGE_SIZE": "3"}


@pytest.fixture
def instance() -> Iterator[FakeInstance]:
    with LocalServer() as server:
        yield FakeInstance(server)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def _posts(data_dir: Path) -> dict[str, dict]:
    rows = query(data_dir, "select post_id, data, captures from posts where platform='mastodon'")
    return {r[0]: {**json.loads(r[1]), "captures": r[2]} for r in rows}


def _capture(spec: str, data_dir: Path, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    result = run_tawthiq(["capture", spec, *args], data_dir=data_dir, env={**ENV, **(env or {})})
    assert result.code == 0, result.out + result.err
    return result


# -- specs and samples ---------------------------------------------------------------------------
def test_every_form_and_example_is_claimed_and_labelled() -> None:
    for example in PLATFORM.EXAMPLES:
        assert parse_spec(example).kind == "mastodon", example
    assert parse_spec("https://Mastodon.Example/@Archive_Desk").label == "mastodon:@archive_desk@mastodon.example"
    assert parse_spec("https://mastodon.example/@archive_desk/113456789012345678").value == \
        "@archive_desk@mastodon.example/113456789012345678"
    assert parse_spec("https://a.example/@field_notes@social.example").value == "@field_notes@social.example"
    assert parse_spec("mastodon:#توثيق@mastodon.example").value == "#توثيق@mastodon.example"
    assert parse_spec("mastodon:@desk@127.0.0.1:3000").value == "@desk@127.0.0.1:3000"
    for not_mastodon in ("https://www.youtube.com/@channel", "https://medium.com/@writer", "https://example.org/a"):
        assert parse_spec(not_mastodon).kind == "web", not_mastodon
    for bad in ("mastodon:archive_desk", "mastodon:@desk", "https://a.example/@x@b.example/1234"):
        with pytest.raises(SpecError):
            parse_spec(bad)


def test_the_synthetic_sample_parses_as_declared() -> None:
    for sample in PLATFORM.SAMPLES:
        posts = PLATFORM.parse_sample((PLATFORM.folder / "samples" / sample.file).read_bytes(), sample.url)
        assert len(posts) == sample.count
        for post, expect in zip(posts, sample.expect):
            for key, value in expect.items():
                assert getattr(post, key) == value, (post.post_id, key)
    cw = posts[2]
    assert cw.extra["sensitive"] is True and cw.text.startswith("Synthetic content warning\n\n")
    assert (cw.media[0].url or "").endswith("/original/5b1c2e9d0a7f3e41.jpg") and cw.media[0].width == 1280
    first = posts[3]
    assert first.link_preview and first.link_preview.title == "Synthetic report log"
    assert first.links == ["https://docs.example.org/log"] and first.text.endswith("- Water station\n- School road")


@pytest.mark.parametrize("name", ["toot4warder_account_statuses_mastodon.social.json",
                                  "mastodonpy_timelines_tag_hoot.body.json", "mastodonpy_status_with_media.body.json"])
def test_real_saved_answers_parse(name: str) -> None:
    path = SHARED_FORMATS / "mastodon" / name
    if not path.exists():
        pytest.skip("shared/formats/mastodon not present")
    posts = PLATFORM.parse_sample(path.read_bytes(), "https://mastodon.social/api/v1/timelines/public")
    assert posts and all(p.post_id.startswith("mastodon.social/") and p.author for p in posts)
    media = [m for p in posts for m in p.media]
    assert all("/original/" in (m.url or "") for m in media)  # original size, never the preview


def test_a_bad_spec_is_one_clear_line(tmp_path: Path) -> None:
    result = run_tawthiq(["capture", "mastodon:nobody"], data_dir=tmp_path / "data")
    assert result.code != 0 and "mastodon:@USER@INSTANCE" in result.out + result.err
    assert "Traceback" not in result.out + result.err


# -- capture -------------------------------------------------------------------------------------
def test_account_capture_pages_through_history_with_every_kind_of_status(instance: FakeInstance, data_dir: Path) -> None:
    account, posted = desk(instance)
    _capture(f"mastodon:@archive_desk@{instance.host}", data_dir)
    pages = instance.timeline_requests()
    assert pages == [{"limit": "3"}, {"limit": "3", "max_id": posted[4]["id"]},
                     {"limit": "3", "max_id": posted[1]["id"]}]  # newest first, by the Link header
    posts = _posts(data_dir)
    host = instance.host
    assert sorted(posts) == sorted(f"{host}/{s['id']}" for s in posted)
    assert all(p["source"] == f"@archive_desk@{host}" for p in posts.values())

    first = posts[f"{host}/{posted[0]['id']}"]
    assert first["text"] == "Notice 1: the desk opens a https://docs.example.org/log for synthetic reports. #documentation"
    assert first["links"] == ["https://docs.example.org/log"]
    assert first["url"] == f"{instance.base}/@archive_desk/{posted[0]['id']}"
    assert first["page_url"] == f"{instance.base}/api/v1/accounts/{account['id']}/statuses?limit=3&max_id={posted[1]['id']}"  # the last page, which carried it
    assert first["link_preview"]["site_name"] == "Docs Example"
    assert first["author"] == f"Archive Desk (@archive_desk@{host})" and first["published"].startswith(posted[0]["created_at"][:19])
    arabic = posts[f"{host}/{posted[2]['id']}"]
    assert arabic["language"] == "ar" and "محطة المياه" in arabic["text"]
    warned = posts[f"{host}/{posted[3]['id']}"]
    assert warned["extra"]["sensitive"] is True and warned["extra"]["spoiler_text"] == "Synthetic content warning"
    (video,) = warned["media"]
    assert video["kind"] == "video" and video["url"].endswith("/original/clip.mp4") and video["duration"] == "1.0"
    reply = posts[f"{host}/{posted[4]['id']}"]
    assert reply["reply_to_url"] == f"{instance.base}/@archive_desk/{posted[1]['id']}"
    boost = posts[f"{host}/{posted[5]['id']}"]
    original = posted[5]["reblog"]
    assert boost["text"] == "Synthetic field note: the pumping station was inspected."
    assert boost["url"] == original["url"] and boost["forwarded_from"] == f"Field Notes (@field_notes@{host})"
    assert boost["extra"]["boost"] == {"id": posted[5]["id"], "by": f"archive_desk@{host}",
                                       "at": posted[5]["created_at"], "status_id": original["id"]}
    poll = posts[f"{host}/{posted[6]['id']}"]
    assert poll["text"].endswith("- Water station\n- School road")
    assert [o["title"] for o in poll["extra"]["poll"]["options"]] == ["Water station", "School road"]

    # The API answers and the media at original size are in the WARC, byte for byte.
    payloads = read_payloads(data_dir)
    photo_url = posted[1]["media_attachments"][0]["url"]
    for url in (photo_url, video["url"]):
        path = url.removeprefix(instance.base)
        (response,) = [p for p in payloads[url] if p[0] == "response"]
        assert response[3].endswith(instance.files[path][0])
    assert posted[1]["media_attachments"][0]["preview_url"] not in payloads  # not the small copy
    assert any("/api/v1/accounts/lookup" in uri for uri in payloads)
    media_rows = query(data_dir, "select count(*) from media")
    assert media_rows[0][0] >= 2


def test_second_run_reads_only_newer_statuses_and_recheck_finds_a_deleted_one(instance: FakeInstance,
                                                                              data_dir: Path) -> None:
    account, posted = desk(instance)
    spec = f"mastodon:@archive_desk@{instance.host}"
    _capture(spec, data_dir)
    newest = posted[-1]["id"]
    assert query(data_dir, "select complete_through from sources") == [(newest,)]
    instance.server.requests.clear()
    fresh = [instance.post(account, f"<p>Notice {n}: a synthetic follow-up.</p>") for n in (20, 21)]
    _capture(spec, data_dir)
    forward = [q for q in instance.timeline_requests() if "min_id" in q]
    assert forward == [{"limit": "3", "min_id": newest}, {"limit": "3", "min_id": fresh[-1]["id"]}]
    assert {"limit": "3", "max_id": newest} in instance.timeline_requests()  # back below the watermark too
    posts = _posts(data_dir)
    assert len(posts) == 9 and all(p["captures"] == 1 for p in posts.values())  # nothing read twice
    assert query(data_dir, "select complete_through from sources") == [(fresh[-1]["id"],)]

    instance.delete(posted[5]["reblog"])  # the boosted status is deleted: the boost goes with it
    instance.server.requests.clear()
    checked = run_tawthiq(["recheck", spec], data_dir=data_dir, env=ENV)
    assert checked.code == 0, checked.out + checked.err
    asked = {r.path for r in instance.server.requests}
    assert f"/api/v1/statuses/{posted[0]['id']}" in asked
    states = dict(query(data_dir, "select post_id, state from post_checks"))
    gone = f"{instance.host}/{posted[5]['id']}"
    assert states.pop(gone) == "gone" and set(states.values()) == {"online"}
    takedowns = run_tawthiq(["takedowns", "--json"], data_dir=data_dir)
    (item,) = json.loads(takedowns.out)["takedowns"]
    assert item["post_id"] == gone and "Record not found" in item["detail"]
    assert "a boost" in item["detail"] and "was not checked" in item["detail"]  # the boost is gone, not proven the original


def test_a_first_walk_cut_short_is_finished_by_the_next_run(instance: FakeInstance, data_dir: Path) -> None:
    _, posted = desk(instance)
    spec = f"mastodon:@archive_desk@{instance.host}"
    _capture(spec, data_dir, "--set", "mastodon_max_pages=1")
    assert len(_posts(data_dir)) == 3
    assert query(data_dir, "select complete_through, resume_before from sources") == \
        [(None, f"{posted[4]['id']}:{posted[6]['id']}")]  # where it stopped, and the newest it read
    instance.server.requests.clear()
    _capture(spec, data_dir)  # meets what is archived, then jumps to where the first run stopped
    assert instance.timeline_requests()[1] == {"limit": "3", "max_id": posted[4]["id"]}
    assert len(_posts(data_dir)) == 7
    assert query(data_dir, "select complete_through, resume_before from sources") == [(posted[-1]["id"], None)]


def test_a_forward_walk_cut_short_moves_the_watermark_page_by_page(instance: FakeInstance, data_dir: Path) -> None:
    account, posted = desk(instance)
    spec = f"mastodon:@archive_desk@{instance.host}"
    _capture(spec, data_dir)
    fresh = [instance.post(account, f"<p>Notice {n}: a synthetic follow-up.</p>") for n in range(30, 37)]
    instance.server.requests.clear()
    _capture(spec, data_dir, "--set", "mastodon_max_pages=1")
    assert [q for q in instance.timeline_requests() if "min_id" in q] == \
        [{"limit": "3", "min_id": posted[-1]["id"]}]  # the 3 just after it
    assert len(_posts(data_dir)) == 10
    assert query(data_dir, "select complete_through from sources") == [(fresh[2]["id"],)]  # the oldest 3 new
    _capture(spec, data_dir)
    posts = _posts(data_dir)
    assert len(posts) == 14 and all(p["captures"] == 1 for p in posts.values())
    assert query(data_dir, "select complete_through from sources") == [(fresh[-1]["id"],)]


def test_search_export_and_verify(instance: FakeInstance, data_dir: Path, tmp_path: Path) -> None:
    _, posted = desk(instance)
    _capture(f"http://{instance.host}/@archive_desk", data_dir)  # the profile URL form
    found = run_tawthiq(["search", "--json", "pumping"], data_dir=data_dir)
    assert found.code == 0, found.out + found.err
    hits = json.loads(found.out)
    assert f"{instance.host}/{posted[5]['id']}" in json.dumps(hits)
    arabic = run_tawthiq(["search", "--json", "محطة"], data_dir=data_dir)
    assert f"{instance.host}/{posted[2]['id']}" in arabic.out

    assert run_tawthiq(["keys", "create"], data_dir=data_dir).code == 0  # so the bundle is signed
    out = tmp_path / "desk.wacz"
    ids = f"{instance.host}/{posted[1]['id']},{instance.host}/{posted[5]['id']}"
    made = run_tawthiq(["export", "--ids", ids, "-o", str(out)], data_dir=data_dir)
    assert made.code == 0, made.out + made.err
    import zipfile

    with zipfile.ZipFile(out) as zf:
        manifest = json.loads(zf.read("custody/manifest.json"))
    uris = {r["uri"] for item in manifest["items"] for r in item["records"]}
    assert posted[1]["media_attachments"][0]["url"] in uris  # the photo travels with its post
    verified = run_tawthiq(["verify", str(out)])
    assert verified.code == 0 and "VERIFIED" in verified.out, verified.out

    # The web app blurs a sensitive status's media and shows its content warning, even with
    # blur_media off for the archive.
    from urllib.parse import quote

    from fastapi.testclient import TestClient

    from tawthiq.settings import load_settings
    from tawthiq.web.app import create_app

    client = TestClient(create_app(load_settings(data_dir, public_read=True, blur_media=False)))
    warned = client.get(f"/post/mastodon/{quote(instance.host + '/' + posted[3]['id'], safe='')}")
    assert warned.status_code == 200, warned.text
    assert 'class="blurrable sensitive"' in warned.text and "Synthetic content warning" in warned.text
    plain = client.get(f"/post/mastodon/{quote(instance.host + '/' + posted[1]['id'], safe='')}")
    assert plain.status_code == 200 and "sensitive" not in plain.text.split("<main", 1)[-1]


def test_a_rate_limited_answer_is_waited_out(instance: FakeInstance, data_dir: Path) -> None:
    desk(instance)
    instance.rate_limit_next = 1  # the lookup answers 429 once, with Mastodon's X-RateLimit-* headers
    result = _capture(f"mastodon:@archive_desk@{instance.host}", data_dir)
    assert len(_posts(data_dir)) == 7 and "errors                  0" in result.out
    lookups = [r for r in instance.server.requests if r.path == "/api/v1/accounts/lookup"]
    assert len(lookups) == 2
    payloads = read_payloads(data_dir)
    (uri,) = [u for u in payloads if "/api/v1/accounts/lookup" in u]
    heads = [p[2] for p in payloads[uri] if p[0] == "response"]
    assert heads[0].startswith(b"HTTP/1.1 429") and b"X-RateLimit-Reset" in heads[0]  # the 429 is evidence too
    assert heads[1].startswith(b"HTTP/1.1 200")


def test_hashtag_timeline_and_a_single_status(instance: FakeInstance, data_dir: Path) -> None:
    _, posted = desk(instance)
    _capture(f"mastodon:#Documentation@{instance.host}", data_dir)
    tagged = _posts(data_dir)
    assert sorted(tagged) == sorted(f"{instance.host}/{s['id']}" for s in posted[:3])
    assert {p["source"] for p in tagged.values()} == {f"#documentation@{instance.host}"}
    assert next(r.path for r in instance.server.requests if "/timelines/tag/" in r.path) == \
        "/api/v1/timelines/tag/documentation"
    _capture(f"http://{instance.host}/@archive_desk/{posted[6]['id']}", data_dir)
    one = _posts(data_dir)[f"{instance.host}/{posted[6]['id']}"]
    assert one["source"] == f"@archive_desk@{instance.host}/{posted[6]['id']}" and "Water station" in one["text"]


def test_a_missing_account_is_a_clear_failure(instance: FakeInstance, data_dir: Path) -> None:
    result = run_tawthiq(["capture", f"mastodon:@nobody@{instance.host}"], data_dir=data_dir, env=ENV)
    assert result.code == 1
    assert f"HTTP 404 for mastodon account @nobody@{instance.host}: Record not found" in result.out
    assert "Traceback" not in result.out + result.err


# -- found in review -----------------------------------------------------------------------------
def _resume(data_dir: Path) -> str | None:
    return query(data_dir, "select resume_before from sources")[0][0]


def test_a_second_cut_short_walk_records_its_own_resume_point(instance: FakeInstance, data_dir: Path) -> None:
    account, posted = desk(instance)
    spec = f"mastodon:@archive_desk@{instance.host}"
    _capture(spec, data_dir, "--set", "mastodon_max_pages=1")  # reads posted 6..4
    fresh = [instance.post(account, f"<p>Notice {n}: a synthetic follow-up.</p>") for n in range(40, 46)]
    _capture(spec, data_dir, "--set", "mastodon_max_pages=1")  # reads fresh 5..3: above the older point
    assert _resume(data_dir) == f"{fresh[3]['id']}:{fresh[5]['id']}"  # its own point, over the older one
    instance.server.requests.clear()
    _capture(spec, data_dir)
    assert instance.timeline_requests()[1] == {"limit": "3", "max_id": fresh[3]["id"]}  # met fresh 5: jumps
    posts = _posts(data_dir)
    assert sorted(posts) == sorted(f"{instance.host}/{s['id']}" for s in posted + fresh)  # fresh 2..0 too
    assert all(p["captures"] == 1 for p in posts.values())
    assert query(data_dir, "select complete_through, resume_before from sources") == [(fresh[-1]["id"], None)]


def test_a_run_that_failed_mid_walk_is_not_jumped_from(instance: FakeInstance, data_dir: Path) -> None:
    account, posted = desk(instance, routine=5)
    spec = f"mastodon:@archive_desk@{instance.host}"
    _capture(spec, data_dir, "--set", "mastodon_max_pages=1")  # reads posted 11..9
    older_point = f"{posted[9]['id']}:{posted[11]['id']}"
    assert _resume(data_dir) == older_point
    fresh = [instance.post(account, f"<p>Notice {n}: a synthetic follow-up.</p>") for n in range(50, 56)]
    instance.fail_max_ids = {fresh[3]["id"]}  # its second page fails: fresh 5..3 archived, then nothing
    failed = run_tawthiq(["capture", spec], data_dir=data_dir, env=ENV)
    assert failed.code != 0 and "HTTP 500" in failed.out, failed.out + failed.err
    assert len(_posts(data_dir)) == 6 and _resume(data_dir) == older_point  # no point recorded
    instance.fail_max_ids = set()
    instance.server.requests.clear()
    _capture(spec, data_dir)  # reads down through fresh 5..3 (archived) to fresh 2..0, then jumps
    asked = [q.get("max_id") for q in instance.timeline_requests()]
    assert asked[:3] == [None, fresh[3]["id"], fresh[0]["id"]] and asked[3] == posted[9]["id"]
    posts = _posts(data_dir)
    assert sorted(posts) == sorted(f"{instance.host}/{s['id']}" for s in posted + fresh)
    assert all(p["captures"] == 1 for p in posts.values())


def test_a_remote_status_delivered_late_is_found_below_the_watermark(instance: FakeInstance, data_dir: Path) -> None:
    from datetime import datetime, timedelta

    _, posted = desk(instance)
    spec = f"mastodon:#documentation@{instance.host}"
    _capture(spec, data_dir)
    watermark = posted[2]["id"]
    assert query(data_dir, "select complete_through from sources") == [(watermark,)]
    remote = instance.account("far_desk", "Far Desk")
    published = datetime.fromisoformat(posted[2]["created_at"]) - timedelta(minutes=3)
    late = instance.post(remote, "<p>Synthetic note from a far instance, delivered late.</p>",
                         tags=("documentation",), published=published)
    assert posted[1]["id"] < late["id"] < watermark  # numbered by its publication time
    instance.server.requests.clear()
    _capture(spec, data_dir)
    assert {"max_id": watermark} in [{k: v for k, v in q.items() if k != "limit"} for q in instance.timeline_requests()]
    posts = _posts(data_dir)
    assert f"{instance.host}/{late['id']}" in posts and all(p["captures"] == 1 for p in posts.values())
    assert query(data_dir, "select complete_through from sources") == [(watermark,)]  # not moved down


def test_a_link_to_another_host_is_not_followed(instance: FakeInstance, data_dir: Path) -> None:
    desk(instance)
    instance.link_base = "http://169.254.169.254"  # a hostile instance points rel="next" at an internal address
    result = run_tawthiq(["capture", f"mastodon:#documentation@{instance.host}"], data_dir=data_dir, env=ENV)
    assert result.code != 0 and "points elsewhere" in result.out, result.out + result.err
    assert len(instance.timeline_requests()) == 1 and len(_posts(data_dir)) == 3
    assert query(data_dir, "select complete_through from sources") == [(None,)]  # the walk did not finish


def test_gone_needs_the_instances_own_not_found(instance: FakeInstance, data_dir: Path) -> None:
    from tawthiq.crawlers.platforms.base import PostToCheck

    own = PostToCheck("mastodon", "a.example/1234", "https://a.example/@desk/1234", "text")
    assert PLATFORM.check_state(own, 404, b'{"error":"Record not found"}', None) == ("gone", "HTTP 404: Record not found")
    state, detail = PLATFORM.check_state(own, 404, b"<html>parked</html>", "parked")
    assert state == "error" and "JSON error body" in (detail or "")

    _, posted = desk(instance)
    spec = f"mastodon:@archive_desk@{instance.host}"
    _capture(spec, data_dir)
    instance.delete(posted[0])
    instance.html_404 = True  # the instance's domain now answers with a parked page
    assert run_tawthiq(["recheck", spec], data_dir=data_dir, env=ENV).code in (0, 1)
    states = dict(query(data_dir, "select post_id, state from post_checks"))
    assert states[f"{instance.host}/{posted[0]['id']}"] == "error" and "gone" not in states.values()


def test_a_remote_statuss_media_keeps_the_original_and_the_instance_copy(instance: FakeInstance,
                                                                           data_dir: Path) -> None:
    remote = instance.account("far_desk", "Far Desk")
    photo = instance.remote_image("gauge.jpg", "far.example", description="A synthetic gauge")
    lost = instance.fileless_attachment("A synthetic chart the instance never fetched")
    status = instance.post(remote, "<p>Synthetic gauge reading.</p>", tags=("documentation",), media=[photo, lost])
    _capture(f"mastodon:#documentation@{instance.host}", data_dir)
    post = _posts(data_dir)[f"{instance.host}/{status['id']}"]
    (media,) = post["media"]
    assert media["url"] == photo["remote_url"] and media["width"] == 1280  # the origin's original
    kept, fileless = post["extra"]["attachments"]
    assert kept["original_url"] == photo["remote_url"] and kept["instance_copy_url"] == photo["url"]
    assert fileless["has_file"] is False and fileless["description"] == lost["description"]
    payloads = read_payloads(data_dir)
    for url in (photo["remote_url"], photo["url"]):  # both files, byte for byte
        (response,) = [p for p in payloads[url] if p[0] == "response"]
        assert response[3].endswith(instance.files[url.removeprefix(instance.base)][0])


def test_hashtags_with_marks_and_labels_without_default_ports() -> None:
    for tag in ("غزّة", "نامه\u200cها", "l·lengua", "café_2"):
        assert parse_spec(f"mastodon:#{tag}@mastodon.example").value == f"#{tag}@mastodon.example", tag
    for bad in ("mastodon:#a b@mastodon.example", "mastodon:#a-b@mastodon.example", "mastodon:#@x.example"):
        with pytest.raises(SpecError):
            parse_spec(bad)
    assert parse_spec("https://mastodon.social:443/@x").label == "mastodon:@x@mastodon.social"
    assert parse_spec("http://mastodon.social:80/@x/12").value == "@x@mastodon.social/12"
    assert parse_spec("mastodon:@x@mastodon.social:443").value == "@x@mastodon.social"
    assert parse_spec("https://a.example:8443/@x").value == "@x@a.example:8443"


def test_a_suspended_account_is_a_failure_not_an_empty_success(instance: FakeInstance, data_dir: Path) -> None:
    account, _ = desk(instance)
    account["suspended"] = True
    result = run_tawthiq(["capture", f"mastodon:@archive_desk@{instance.host}"], data_dir=data_dir, env=ENV)
    assert result.code == 1 and "is suspended on" in result.out, result.out + result.err
    assert not instance.timeline_requests()
