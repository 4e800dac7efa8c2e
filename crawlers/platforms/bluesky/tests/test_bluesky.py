"""The bluesky platform end to end: the real CLI against a fake AppView on 127.0.0.1 (see
appview.py for the API version it follows), the archive read back with warcio."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from tawthiq.crawlers.platforms import SpecError, parse_spec, platform
from tawthiq.crawlers.platforms.bluesky.tests.appview import Account, FakeAppView
from tawthiq.demo.server import LocalServer, Resource
from tests.conftest import SHARED_FORMATS, all_blocks, query, read_payloads, run_tawthiq

HANDLE = "archive-desk.example.org"
DID = "did:plc:tawthiqtestdeskaaaaaaaaa"
OTHER_DID = "did:plc:tawthiqfieldnotesaaaaaaa"
PAGE = 5  # getAuthorFeed limit in these tests: 12 items make three pages


def jpeg(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "JPEG", quality=80)
    return out.getvalue()


def facet(text: str, part: str, feature: dict) -> dict:
    """A facet over `part` of `text`, its range in UTF-8 bytes as the lexicon counts it."""
    start = text.encode().index(part.encode())
    return {"$type": "app.bsky.richtext.facet", "index": {"byteStart": start, "byteEnd": start + len(part.encode())},
            "features": [feature]}


@dataclass
class Desk:
    appview: FakeAppView
    desk: Account
    uris: dict[str, str]

    @property
    def server(self) -> LocalServer:
        return self.appview.server

    @property
    def env(self) -> dict[str, str]:
        return {"TAWTHIQ_BLUESKY_BASE_URL": self.server.base_url, "TAWTHIQ_BLUESKY_PAGE_SIZE": str(PAGE)}

    def feed_requests(self) -> list[dict[str, list[str]]]:
        return [r.query for r in self.server.requests if r.path == "/xrpc/app.bsky.feed.getAuthorFeed"]


def build_desk(appview: FakeAppView) -> Desk:
    """A fictional documentation desk's feed: notices in Arabic and English, facets, photos, a
    link card, a repost, a reply and a quote (12 items, oldest first)."""
    desk = appview.account(HANDLE, "Archive Desk (synthetic)", DID, "A fictional documentation group",
                           picture=jpeg(64, 64, (20, 60, 90)))
    notes = appview.account("field-notes.example.net", "Field Notes (synthetic)", OTHER_DID)
    uris: dict[str, str] = {}
    tagged = "بلاغ موثق عن انقطاع المياه في حي المثال #توثيق مع @field-notes.example.net"
    uris["tagged"] = appview.post(desk, "3lbq2aaaaaa2a", tagged, "2026-10-01T06:00:00.000Z", facets=[
        facet(tagged, "#توثيق", {"$type": "app.bsky.richtext.facet#tag", "tag": "توثيق"}),
        facet(tagged, "@field-notes.example.net", {"$type": "app.bsky.richtext.facet#mention", "did": OTHER_DID}),
    ])
    linked = "Synthetic notice: the lighthouse shelter reopened, details at example.org/shelter"
    uris["linked"] = appview.post(desk, "3lbq2bbbbbb2a", linked, "2026-10-01T07:00:00.000Z", langs=["en"], facets=[
        facet(linked, "example.org/shelter", {"$type": "app.bsky.richtext.facet#link",
                                              "uri": "https://example.org/shelter"})],
        external={"uri": "https://example.org/shelter", "title": "Shelter reopened (synthetic)",
                  "description": "A synthetic notice", "thumb": appview.server.url("/card/shelter.jpg")})
    appview.blobs["/card/shelter.jpg"] = (jpeg(120, 63, (200, 200, 40)), "image/jpeg")
    photos = [appview.image(desk, "photo-a", jpeg(800, 600, (180, 40, 40)), "واجهة مبنى متضرر (صورة اصطناعية)",
                            800, 600),
              appview.image(desk, "photo-b", jpeg(600, 800, (40, 180, 40)), "", 600, 800)]
    uris["photos"] = appview.post(desk, "3lbq2cccccc2a", "صور من موقع البلاغ", "2026-10-01T08:00:00.000Z",
                                  images=photos, labels=["graphic-media"])
    uris["theirs"] = appview.post(notes, "3lbq2dddddd2a", "Field note: water trucks arrived (synthetic)",
                                  "2026-10-01T08:30:00.000Z", langs=["en"])
    uris["repost"] = appview.repost(desk, "3lbq2eeeeee2a", uris["theirs"], "2026-10-01T09:00:00.000Z")
    uris["reply"] = appview.post(desk, "3lbq2ffffff2a", "تحديث: عادت المياه إلى الحي", "2026-10-01T10:00:00.000Z",
                                 reply_to=uris["photos"])
    uris["quote"] = appview.post(desk, "3lbq2gggggg2a", "Confirmed by a second source (synthetic)",
                                 "2026-10-01T11:00:00.000Z", langs=["en"], quote=uris["theirs"])
    for n in range(1, 7):
        uris[f"bulletin{n}"] = appview.post(desk, f"3lbq2hhhhh{n}2a", f"نشرة يومية رقم {n} من مكتب التوثيق",
                                            f"2026-10-02T0{n}:00:00.000Z")
    return Desk(appview, desk, uris)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def desk() -> Iterator[Desk]:
    with LocalServer() as server:
        yield build_desk(FakeAppView(server))


def capture(desk: Desk, data_dir: Path, *args: str, spec: str = f"bluesky:{HANDLE}"):  # type: ignore[no-untyped-def]
    result = run_tawthiq(["capture", spec, *args], data_dir=data_dir, env=desk.env)
    assert result.code == 0, result.out + result.err
    return result


def posts(data_dir: Path) -> dict[str, dict]:
    return {r[0]: {**json.loads(r[1]), "captures": r[2]}
            for r in query(data_dir, "select post_id, data, captures from posts where platform='bluesky'")}


# -- specs and samples -----------------------------------------------------------------------

def test_every_spec_form_and_clear_errors() -> None:
    bluesky = platform("bluesky")
    for example in bluesky.EXAMPLES:
        target = parse_spec(example)
        assert target.kind == "bluesky"
        assert parse_spec(target.label).value == target.value  # the label reads back as the same target
    assert parse_spec("bluesky:@Archive-Desk.Example.org").value == HANDLE
    assert parse_spec(f"https://bsky.app/profile/{HANDLE}").label == f"bluesky:{HANDLE}"
    assert parse_spec(f"bsky.app/profile/{HANDLE}/post/3lbq2aaaaaa2a").value == f"{HANDLE}/post/3lbq2aaaaaa2a"
    assert parse_spec(f"at://{DID}/app.bsky.feed.post/3lbq2aaaaaa2a").value == f"{DID}/post/3lbq2aaaaaa2a"
    assert parse_spec("https://example.org/profile/x").kind == "web"  # not bsky.app: not ours
    for bad, says in (("bluesky:not a handle", "is not a Bluesky handle"), ("bluesky:nodot", "is not a Bluesky handle"),
                      ("https://bsky.app/profile/not_a_handle", "is not a Bluesky handle"),
                      ("https://bsky.app/profile/nodot/post/3lbq2aaaaaa2a", "is not a Bluesky handle"),
                      (f"https://bsky.app/profile/{HANDLE}/post/..", "is not a Bluesky record key"),
                      (f"bluesky:{HANDLE}/lists/abc", "expected bluesky:HANDLE"),
                      (f"at://{HANDLE}/app.bsky.feed.like/3lbq", "only post URIs")):
        with pytest.raises(SpecError, match=says):
            parse_spec(bad)
    assert bluesky.source_url(HANDLE, None) == f"https://bsky.app/profile/{HANDLE}"


def test_other_bsky_app_pages_stay_web_captures() -> None:
    """Only a profile and a post are the platform's; the rest of bsky.app is a web page as before."""
    for url in ("https://bsky.app/", "https://bsky.app", "https://bsky.app/search?q=%D8%AA%D9%88%D8%AB%D9%8A%D9%82",
                f"https://bsky.app/profile/{HANDLE}/feed/aaalocalnews", f"https://bsky.app/profile/{HANDLE}/lists/3lbqlist",
                f"https://bsky.app/profile/{HANDLE}/post/3lbq2aaaaaa2a/quotes",
                f"https://bsky.app/profile/{HANDLE}/post/3lbq2aaaaaa2a/liked-by", "https://bsky.app/hashtag/توثيق",
                "https://bsky.app/profile", f"https://www.bsky.app/profile/{HANDLE}/follows"):
        assert platform("bluesky").claim(url, None) is None, url
        assert parse_spec(url).kind == "web", url
    assert platform("bluesky").claim("bsky.app/search?q=x", None) is None  # no scheme: not a web URL either


def test_the_synthetic_sample_parses_as_declared() -> None:
    bluesky = platform("bluesky")
    for sample in bluesky.SAMPLES:
        parsed = bluesky.parse_sample((bluesky.folder / "samples" / sample.file).read_bytes(), sample.url)
        assert len(parsed) == sample.count
        for post, expect in zip(parsed, sample.expect):
            for key, value in expect.items():
                assert getattr(post, key) == value, (key, post)


@pytest.mark.parametrize("name", ["atprotodart_getAuthorFeed.json", "atprotodart_getPostThread.json",
                                  "marshalx_thread_view_post_with_embed_media.json"])
def test_real_saved_answers_parse(name: str) -> None:
    path = SHARED_FORMATS / "bluesky" / name
    if not path.exists():
        pytest.skip(f"{path} not present")
    doc = json.loads(path.read_bytes())
    url = ("https://public.api.bsky.app/xrpc/app.bsky.feed.getAuthorFeed?actor=x.example.org" if "Author" in name
           else "https://public.api.bsky.app/xrpc/app.bsky.feed.getPostThread?uri=at://x.example.org/app.bsky.feed.post/k")
    parsed = platform("bluesky").parse_sample(path.read_bytes(), url)
    assert parsed and all(p.post_id.startswith("at://") and p.url.startswith("https://bsky.app/profile/") for p in parsed)
    if "Author" in name:
        assert len(parsed) == len(doc["feed"])
        assert any(p.forwarded_from for p in parsed)  # reasonRepost
        assert any(m.kind == "photo" and m.url and "rs:fit:2000" in m.url for p in parsed for m in p.media)  # fullsize
        assert any(p.link_preview for p in parsed)
    if "marshalx" in name:
        (post,) = parsed
        assert (post.media[0].url or "").startswith("https://cdn.bsky.app/img/feed_fullsize/")
        assert "https://bsky.app/profile/test.marshal.dev/post/3kahesw26il2z" in post.links  # the quoted post


# -- captures --------------------------------------------------------------------------------

def test_capture_walks_the_feed_by_cursor_and_archives_posts_and_full_size_photos(desk: Desk, data_dir: Path) -> None:
    capture(desk, data_dir)
    feed = desk.feed_requests()
    assert [q.get("cursor") for q in feed] == [None, ["2026-10-02T02:00:00.000Z"], ["2026-10-01T08:00:00.000Z"]]
    assert all(q["limit"] == [str(PAGE)] and q["actor"] == [HANDLE] for q in feed)

    got = posts(data_dir)
    uris = desk.uris
    assert len(got) == 12
    tagged = got[uris["tagged"]]
    assert tagged["url"] == f"https://bsky.app/profile/{HANDLE}/post/3lbq2aaaaaa2a"
    assert tagged["author"] == "Archive Desk (synthetic)" and tagged["language"] == "ar"
    assert tagged["published"] == "2026-10-01T06:00:00Z"
    assert tagged["links"] == ["https://bsky.app/hashtag/توثيق", f"https://bsky.app/profile/{OTHER_DID}"]
    assert '<a href="https://bsky.app/hashtag/توثيق">#توثيق</a>' in tagged["html"]
    assert f'data-cid="{desk.appview.views[uris["tagged"]]["cid"]}"' in tagged["html"]
    linked = got[uris["linked"]]
    assert linked["language"] == "en" and linked["link_preview"]["title"] == "Shelter reopened (synthetic)"
    assert '<a href="https://example.org/shelter">example.org/shelter</a>' in linked["html"]
    photos = got[uris["photos"]]
    assert [(m["kind"], m["width"], m["height"]) for m in photos["media"]] == [("photo", 800, 600), ("photo", 600, 800)]
    assert photos["media"][0]["title"] == "واجهة مبنى متضرر (صورة اصطناعية)"
    assert all("/img/feed_fullsize/" in m["url"] for m in photos["media"])
    assert 'data-labels="graphic-media"' in photos["html"]
    repost = got[uris["repost"]]
    assert repost["author"] == "Archive Desk (synthetic)" and repost["forwarded_from"] == "Field Notes (synthetic)"
    assert repost["forwarded_from_url"] == "https://bsky.app/profile/field-notes.example.net/post/3lbq2dddddd2a"
    assert repost["url"] == f"https://bsky.app/profile/{OTHER_DID}/post/3lbq2dddddd2a"  # by DID: outlives a new handle
    assert repost["published"] == "2026-10-01T09:00:00Z"
    assert uris["theirs"] not in got  # only as the repost: the other account's post is not this source's
    assert got[uris["reply"]]["reply_to_url"] == photos["url"]
    quote = got[uris["quote"]]
    assert "https://bsky.app/profile/field-notes.example.net/post/3lbq2dddddd2a" in quote["links"]
    assert "water trucks arrived" in quote["html"]

    # The API answers, the photos (full size, byte for byte), avatar, banner and card are archived.
    payloads = read_payloads(data_dir)
    served = desk.server.served
    for media in photos["media"]:
        (response,) = [r for r in payloads[media["url"]] if r[0] == "response"]
        assert response[3] == served[media["url"].removeprefix(desk.server.base_url)]
    for path in (desk.desk.avatar_path, desk.desk.banner_path, "/card/shelter.jpg"):
        assert any(r[0] in ("response", "revisit") for r in payloads[desk.server.url(path)])
    api = [uri for uri in payloads if "/xrpc/app.bsky.feed.getAuthorFeed" in uri]
    assert len(api) == 3
    assert not any("feed_thumbnail" in uri for uri in payloads)  # full size only

    found = run_tawthiq(["search", "lighthouse", "--json"], data_dir=data_dir)
    assert found.code == 0, found.out + found.err
    hits = json.loads(found.out)["hits"]
    assert [h["post_id"] for h in hits] == [uris["linked"]], hits
    arabic = run_tawthiq(["search", "انقطاع", "--json"], data_dir=data_dir)
    assert [h["post_id"] for h in json.loads(arabic.out)["hits"]] == [uris["tagged"]]


def test_second_run_fetches_only_new_posts(desk: Desk, data_dir: Path) -> None:
    capture(desk, data_dir)
    desk.server.requests.clear()
    new = [desk.appview.post(desk.desk, f"3lbq3nnnnn{n}2a", f"بلاغ جديد رقم {n}", f"2026-10-03T0{n}:00:00.000Z")
           for n in (1, 2)]
    desk.appview.deleted.add(desk.uris["bulletin6"])  # the newest post of the last walk is taken down
    result = capture(desk, data_dir, "--set", "bluesky_overlap_hours=1")
    # Stopped at the last walk's newest posts still there (and an hour below): one page, not the
    # whole history again.
    assert [q.get("cursor") for q in desk.feed_requests()] == [None]
    got = posts(data_dir)
    assert len(got) == 14 and all(uri in got for uri in new)
    assert all(p["captures"] == 1 for p in got.values())  # nothing archived twice
    assert "errors                  0" in result.out


def test_a_backdated_or_late_indexed_post_below_the_watermark_is_captured_next_run(desk: Desk, data_dir: Path) -> None:
    """The feed sorts by the earlier of createdAt and indexedAt: a post written (or dated) before
    the last walk's newest items but indexed after that walk sits below them. The next walk goes
    on through the overlap (24 hours by default) and captures it, without archiving known posts
    again; beyond the overlap it stops."""
    capture(desk, data_dir)
    desk.server.requests.clear()
    appview = desk.appview
    backdated = appview.post(desk.desk, "3lbq3bbbbbb2a", "بلاغ مؤرخ بتاريخ سابق", "2026-10-01T23:00:00.000Z",
                             indexed="2026-10-03T05:00:00.000Z")
    late = appview.post(desk.desk, "3lbq3lllllll2a", "Synthetic notice indexed late", "2026-10-02T01:30:00.000Z",
                        indexed="2026-10-03T06:00:00.000Z", langs=["en"])
    too_old = appview.post(desk.desk, "3lbq3oooooo2a", "بلاغ مؤرخ قبل النافذة", "2026-09-20T10:00:00.000Z",
                           indexed="2026-10-03T07:00:00.000Z")
    result = capture(desk, data_dir)
    got = posts(data_dir)
    assert backdated in got and late in got and too_old not in got
    assert len(got) == 14 and all(p["captures"] == 1 for p in got.values())
    # page 1 holds the watermark (bulletin6 at 10-02 06:00): on to 10-01 06:00, through the feed's end here
    cursors = [q.get("cursor") for q in desk.feed_requests()]
    assert cursors[0] is None and len(cursors) == 3, cursors
    assert "errors                  0" in result.out
    assert got[backdated]["published"] == "2026-10-01T23:00:00Z"


def test_photos_of_a_quoted_post_are_media_of_the_quoting_post(desk: Desk, data_dir: Path) -> None:
    """A quote (record#view) and a quote with photos of its own (recordWithMedia#view) show the
    quoted post's photos (viewRecord.embeds): fetched at full size as the quoting post's media,
    each naming the quoted post as where it is shown; the quoted post's graphic-media label blurs them."""
    appview, notes = desk.appview, desk.appview.accounts[OTHER_DID]
    scene = appview.image(notes, "photo-quoted", jpeg(640, 480, (90, 90, 200)), "مشهد من الموقع (صورة اصطناعية)", 640, 480)
    quoted = appview.post(notes, "3lbq5qqqqqq2a", "Field note with a photo (synthetic)", "2026-10-03T01:00:00.000Z",
                          langs=["en"], images=[scene], labels=["graphic-media"])
    plain = appview.post(desk.desk, "3lbq5aaaaaa2a", "نقلا عن مصدر ميداني", "2026-10-03T02:00:00.000Z", quote=quoted)
    own = appview.image(desk.desk, "photo-own", jpeg(320, 240, (200, 90, 90)), "", 320, 240)
    mixed = appview.post(desk.desk, "3lbq5bbbbbb2a", "صورتنا وصورة المصدر", "2026-10-03T03:00:00.000Z",
                         quote=quoted, images=[own])
    capture(desk, data_dir, "--set", "bluesky_max_pages=1")
    got = posts(data_dir)
    quoted_url = "https://bsky.app/profile/field-notes.example.net/post/3lbq5qqqqqq2a"
    scene_url = scene[1]["fullsize"]
    (shown,) = got[plain]["media"]
    assert (shown["kind"], shown["url"], shown["page_url"], shown["width"]) == ("photo", scene_url, quoted_url, 640)
    assert shown["title"] == "مشهد من الموقع (صورة اصطناعية)"
    assert got[plain]["extra"]["sensitive"] is True and got[plain]["extra"]["quote_labels"] == ["graphic-media"]
    assert quoted_url in got[plain]["links"] and 'data-media="1"' in got[plain]["html"]
    assert [(m["url"], m["page_url"]) for m in got[mixed]["media"]] == [(own[1]["fullsize"], None), (scene_url, quoted_url)]
    assert quoted not in got  # the other account's post is not this source's
    payloads = read_payloads(data_dir)
    for url in (scene_url, own[1]["fullsize"]):
        responses = [r for r in payloads[url] if r[0] in ("response", "revisit")]
        assert responses, url
    (response,) = [r for r in payloads[scene_url] if r[0] == "response"]
    assert response[3] == desk.server.served[scene_url.removeprefix(desk.server.base_url)]
    assert not any("feed_thumbnail" in uri for uri in payloads)


def test_a_walk_cut_short_by_the_page_limit_resumes_without_gaps(desk: Desk, data_dir: Path) -> None:
    capture(desk, data_dir, "--set", "bluesky_max_pages=1")
    assert len(posts(data_dir)) == PAGE
    desk.server.requests.clear()
    new = desk.appview.post(desk.desk, "3lbq3nnnnn12a", "بلاغ جديد", "2026-10-03T01:00:00.000Z")
    capture(desk, data_dir, "--set", "bluesky_max_pages=2")
    # The newest page (new post + 4 known), then straight to where the first run stopped.
    assert [q.get("cursor") for q in desk.feed_requests()] == [None, ["2026-10-02T02:00:00.000Z"]]
    assert len(posts(data_dir)) == 11
    desk.server.requests.clear()
    capture(desk, data_dir, "--set", "bluesky_max_pages=2")
    assert [q.get("cursor") for q in desk.feed_requests()] == [None, ["2026-10-01T08:00:00.000Z"]]
    got = posts(data_dir)
    assert len(got) == 13 and new in got and all(p["captures"] == 1 for p in got.values())
    # Complete now: the walk's newest items are the watermark (the next run stops there, as
    # test_second_run_fetches_only_new_posts shows), and the resume point is spent.
    ((through, resume),) = query(data_dir, f"select complete_through, resume_before from sources where spec='bluesky:{HANDLE}'")
    assert through.split()[0] == new and resume is None


def test_recheck_marks_a_deleted_post_gone(desk: Desk, data_dir: Path) -> None:
    capture(desk, data_dir)
    desk.appview.deleted.add(desk.uris["bulletin3"])
    desk.appview.blocked.add(desk.uris["quote"])
    desk.appview.deleted.add(desk.uris["theirs"])  # the reposted post: the repost shows nothing now
    result = run_tawthiq(["recheck", f"bluesky:{HANDLE}"], data_dir=data_dir, env=desk.env)
    assert result.code == 0, result.out + result.err
    checks = dict(query(data_dir, "select post_id, state from post_checks where platform = 'bluesky'"))
    gone = {uri for uri, state in checks.items() if state == "gone"}
    assert gone == {desk.uris["bulletin3"], desk.uris["quote"], desk.uris["repost"]}
    assert sum(state == "online" for state in checks.values()) == 9
    listed = run_tawthiq(["takedowns", "--json"], data_dir=data_dir)
    items = {i["post_id"]: i for i in json.loads(listed.out)["takedowns"]}
    assert items[desk.uris["bulletin3"]]["detail"] == f"NotFound: Post not found: {desk.uris['bulletin3']}"
    assert items[desk.uris["quote"]]["detail"].startswith("blockedPost")
    thread_calls = [r.query["uri"][0] for r in desk.server.requests if r.path == "/xrpc/app.bsky.feed.getPostThread"]
    # a repost is checked through the post it reposted, by DID as its URL names it
    assert f"at://{OTHER_DID}/app.bsky.feed.post/3lbq2dddddd2a" in thread_calls
    assert all(uri.startswith("at://did:") for uri in thread_calls)


def test_recheck_after_a_change_of_handle_is_not_a_takedown(desk: Desk, data_dir: Path) -> None:
    """Both accounts take new handles after the capture: the old handles resolve to no one (the
    AppView answers 400 NotFound for a URI naming one), yet every post, the repost included, is
    checked by DID and found online."""
    capture(desk, data_dir)
    desk.appview.rename(desk.desk, "desk-renamed.example.org")
    desk.appview.rename(desk.appview.accounts[OTHER_DID], "notes-renamed.example.net")
    result = run_tawthiq(["recheck", f"bluesky:{HANDLE}"], data_dir=data_dir, env=desk.env)
    assert result.code == 0, result.out + result.err
    checks = dict(query(data_dir, "select post_id, state from post_checks where platform = 'bluesky'"))
    assert len(checks) == 12 and set(checks.values()) == {"online"}, checks
    thread_calls = [r.query["uri"][0] for r in desk.server.requests if r.path == "/xrpc/app.bsky.feed.getPostThread"]
    assert f"at://{OTHER_DID}/app.bsky.feed.post/3lbq2dddddd2a" in thread_calls
    assert not any("example" in uri for uri in thread_calls)  # no handle named anywhere


def test_export_of_the_platform_verifies(desk: Desk, data_dir: Path, tmp_path: Path) -> None:
    capture(desk, data_dir)
    assert run_tawthiq(["keys", "create"], data_dir=data_dir).code == 0
    out = tmp_path / "desk.wacz"
    ids = ",".join((desk.uris["photos"], desk.uris["tagged"]))
    exported = run_tawthiq(["export", "--ids", ids, "-o", str(out)], data_dir=data_dir)
    assert exported.code == 0, exported.out + exported.err
    checked = run_tawthiq(["verify", str(out)])
    assert checked.code == 0 and "VERIFIED" in checked.out, checked.out + checked.err
    by_platform = run_tawthiq(["export", "platform:bluesky", "-o", str(tmp_path / "all.wacz")], data_dir=data_dir)
    assert by_platform.code == 0, by_platform.out + by_platform.err
    assert run_tawthiq(["verify", str(tmp_path / "all.wacz")]).code == 0


def test_a_429_is_waited_out_as_ratelimit_reset_asks(desk: Desk, data_dir: Path) -> None:
    desk.appview.rate_limit_next.add("app.bsky.feed.getAuthorFeed")
    capture(desk, data_dir, "--set", "bluesky_max_pages=1")
    assert len(desk.appview.rate_limited) == 1
    feed_times = [at for at, method in desk.appview.calls if method == "app.bsky.feed.getAuthorFeed"]
    assert len(feed_times) == 2  # the 429, then the same page again
    assert feed_times[1] - feed_times[0] >= 0.9  # after waiting for ratelimit-reset (a Unix time 1-2 s ahead)
    assert len(posts(data_dir)) == PAGE
    responses = [r for uri, rs in read_payloads(data_dir).items() if "getAuthorFeed" in uri for r in rs
                 if r[0] == "response"]
    statuses = sorted(r[2].split(b" ", 2)[1] for r in responses)
    assert statuses == [b"200", b"429"]  # the refusal is evidence too
    assert any(b"ratelimit-reset" in r[2].lower() for r in responses)


def test_a_single_post_spec_captures_its_thread(desk: Desk, data_dir: Path) -> None:
    capture(desk, data_dir, spec=f"https://bsky.app/profile/{HANDLE}/post/3lbq2cccccc2a")
    got = posts(data_dir)
    assert set(got) == {desk.uris["photos"], desk.uris["reply"]}  # the post and its reply
    assert all(p["source"] == f"{HANDLE}/post/3lbq2cccccc2a" for p in got.values())
    (call,) = [r.query for r in desk.server.requests if r.path == "/xrpc/app.bsky.feed.getPostThread"]
    assert call["uri"] == [f"at://{HANDLE}/app.bsky.feed.post/3lbq2cccccc2a"]


def failures(data_dir: Path) -> dict[str, str]:
    return {json.loads(b)["url"]: json.loads(b)["error"]
            for h, b in all_blocks(data_dir) if h.get("WARC-Tawthiq-Kind") == "failure"}


def test_a_thread_is_read_to_the_api_maximum_and_its_unshown_posts_are_recorded(desk: Desk, data_dir: Path) -> None:
    """A reply chain deeper than a few levels is captured whole (depth and parentHeight 1000, the
    lexicon's maximum); a deleted parent (#notFoundPost) and a blocked reply (#blockedPost) are
    failure records in the archive, and the capture of what is shown still succeeds."""
    appview = desk.appview
    chain, parent = [], desk.uris["reply"]
    for n in range(15):
        parent = appview.post(desk.desk, f"3lbq4chain{n:02d}a", f"رد رقم {n} في السلسلة", f"2026-10-05T{n:02d}:00:00.000Z",
                              reply_to=parent)
        chain.append(parent)
    hidden = appview.post(appview.accounts[OTHER_DID], "3lbq4blockedra", "a reply behind a block (synthetic)",
                          "2026-10-05T20:00:00.000Z", langs=["en"], reply_to=desk.uris["reply"])
    appview.blocked.add(hidden)
    appview.deleted.add(desk.uris["photos"])  # the parent of the captured post
    result = capture(desk, data_dir, spec=f"bluesky:{HANDLE}/post/3lbq2ffffff2a")
    assert appview.thread_asked == [(1000, 1000)]
    got = posts(data_dir)
    assert set(got) == {desk.uris["reply"], *chain}
    gaps = failures(data_dir)
    assert set(gaps) == {f"https://bsky.app/profile/{DID}/post/3lbq2cccccc2a",
                         f"https://bsky.app/profile/{OTHER_DID}/post/3lbq4blockedra"}, gaps
    assert "notFoundPost" in gaps[f"https://bsky.app/profile/{DID}/post/3lbq2cccccc2a"]
    assert "blockedPost" in gaps[f"https://bsky.app/profile/{OTHER_DID}/post/3lbq4blockedra"]
    assert "errors                  0" in result.out
    capture(desk, data_dir, "--set", "bluesky_thread_depth=3", "--set", "bluesky_parent_height=0",
            spec=f"bluesky:{HANDLE}/post/3lbq2ffffff2a")
    assert appview.thread_asked[-1] == (3, 0)


def test_unknown_account_is_a_clear_failure(desk: Desk, data_dir: Path) -> None:
    result = run_tawthiq(["capture", "bluesky:nobody.example.org"], data_dir=data_dir, env=desk.env)
    assert result.code == 1
    assert "HTTP 400 for bluesky profile 'nobody.example.org' (InvalidRequest: Profile not found)" in result.out
    assert "Traceback" not in result.out + result.err


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed (.ci/run installs it)")
def test_a_video_playlist_goes_to_the_video_fetcher(desk: Desk, data_dir: Path, tmp_path: Path) -> None:
    hls = tmp_path / "hls"
    hls.mkdir()
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=duration=1:size=160x120:rate=10",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod",
                    "-hls_segment_filename", str(hls / "seg%d.ts"), str(hls / "playlist.m3u8")], check=True)
    base = f"/watch/{DID}/bafkreivideoaaaa"
    for part in hls.iterdir():
        ctype = "application/vnd.apple.mpegurl" if part.suffix == ".m3u8" else "video/mp2t"
        desk.server.routes[f"{base}/{part.name}"] = Resource(part.read_bytes(), content_type=ctype)
    desk.server.routes[f"{base}/thumbnail.jpg"] = Resource(jpeg(160, 120, (0, 0, 0)), content_type="image/jpeg")
    uri = desk.appview.post(desk.desk, "3lbq3vvvvvv2a", "مقطع مصور من موقع البلاغ", "2026-10-04T01:00:00.000Z",
                            video={"playlist": desk.server.url(f"{base}/playlist.m3u8"),
                                   "thumbnail": desk.server.url(f"{base}/thumbnail.jpg"),
                                   "aspectRatio": {"width": 16, "height": 12}})
    capture(desk, data_dir, "--set", "bluesky_max_pages=1")
    (video,) = posts(data_dir)[uri]["media"]
    assert video["kind"] == "video" and video["url"] == desk.server.url(f"{base}/playlist.m3u8")
    assert (video["width"], video["height"]) == (16, 12)
    # yt-dlp, not the crawl, read the playlist and its segment, after the crawl.
    asked = [r.path for r in desk.server.requests]
    assert f"{base}/playlist.m3u8" in asked and f"{base}/seg0.ts" in asked
    rows = query(data_dir, "select post_url, mime from media where source_url like '%playlist.m3u8'")
    assert rows and rows[0][0] == f"https://bsky.app/profile/{HANDLE}/post/3lbq3vvvvvv2a", rows
