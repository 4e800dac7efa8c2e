"""Telegram channels: the parser on real saved pages, and full captures of a Telegram-format channel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tawthiq.crawlers.platforms.telegram.parser import parse_channel_page
from tawthiq.demo import content
from tawthiq.demo.content import DemoPhoto, DemoPost
from tests.conftest import SHARED_FORMATS, Demo, all_blocks, run_tawthiq

TELEGRAM = SHARED_FORMATS / "telegram"


# -- the parser against real pages saved from t.me (skipped where shared/ is absent) ----------

@pytest.mark.skipif(not (TELEGRAM / "any2feed_full.html").exists(), reason="shared/formats not present")
def test_parses_every_post_of_a_real_saved_channel_page() -> None:
    html = (TELEGRAM / "any2feed_full.html").read_text()
    page = parse_channel_page(html, page_url="https://t.me/s/topwar_official", base_url="https://t.me")
    assert len(page.posts) == html.count('class="tgme_widget_message_wrap') == 12
    assert page.before == 70989
    first = page.posts[0]
    assert first.post_id == "topwar_official/70989"
    assert first.url == "https://t.me/topwar_official/70989"
    assert first.published.isoformat() == "2023-02-28T07:47:53+00:00"
    assert first.views == "37.2K"
    assert first.text.startswith("В Санкт-Петербурге в небо над городом")
    assert "\n" in first.text  # <br/> is a line break, source newlines are not
    assert [m.kind for m in first.media] == ["photo"]
    assert first.media[0].url.startswith("https://cdn4.telegram-cdn.org/file/")
    forwarded = [p for p in page.posts if p.forwarded_from]
    assert len(forwarded) == 5
    videos = [m for p in page.posts for m in p.media if m.kind == "video"]
    assert any(v.url and v.url.endswith(".mp4") or ".mp4?" in (v.url or "") for v in videos)
    assert any(v.url is None and v.page_url for v in videos)  # "not supported" player: link only
    assert all(p.text for p in page.posts)


@pytest.mark.skipif(not TELEGRAM.exists(), reason="shared/formats not present")
@pytest.mark.parametrize("name, expect", [
    ("any2feed_message_media_forwarded_from.html", {"forwarded_from": "Пул N3", "media": ["photo"]}),
    ("any2feed_message_media_photo_and_video.html", {"media": ["photo", "photo", "video"]}),
    ("any2feed_message_link_preview_video.html", {"preview_title": "Shalnyak", "edited": True}),
    ("any2feed_message_poll.html", {"text_starts": "Как лучше?"}),
    ("any2feed_message_voice.html", {"media": ["audio"], "forwarded_from": "Спортивный Екб"}),
])
def test_parses_real_single_message_fragments(name: str, expect: dict) -> None:
    page = parse_channel_page((TELEGRAM / name).read_text(), page_url="https://t.me/s/x", base_url="https://t.me")
    (post,) = page.posts
    if "forwarded_from" in expect:
        assert post.forwarded_from == expect["forwarded_from"]
    if "media" in expect:
        assert sorted(m.kind for m in post.media) == sorted(expect["media"])
    if "preview_title" in expect:
        assert post.link_preview and post.link_preview.title == expect["preview_title"]
    if "edited" in expect:
        assert post.edited is expect["edited"]
    if "text_starts" in expect:
        assert post.text.startswith(expect["text_starts"])


# -- full captures of the Telegram-format demo channel ----------------------------------------

def _posts(data_dir: Path) -> dict[str, dict]:
    engine = create_engine(f"sqlite:///{data_dir / 'catalog.sqlite'}")
    with engine.connect() as conn:
        rows = conn.execute(text("select post_id, data, captures from posts where platform='telegram'")).all()
    engine.dispose()
    return {r[0]: {**json.loads(r[1]), "captures": r[2]} for r in rows}


def test_channel_capture_walks_history_and_parses_every_post(demo: Demo, data_dir: Path) -> None:
    result = run_tawthiq(["capture", f"telegram:{demo.channel.name}"], data_dir=data_dir, env=demo.env)
    assert result.code == 0, result.out + result.err
    name = demo.channel.name
    pages = [r.raw_path for r in demo.server.requests if r.path == f"/s/{name}"]
    assert pages == [f"/s/{name}", f"/s/{name}?before=116", f"/s/{name}?before=106"]  # 3 pages, newest first

    posts = _posts(data_dir)
    assert sorted(posts) == sorted(f"{name}/{i}" for i in range(101, 126))
    bulletin = posts[f"{name}/101"]
    assert bulletin["text"].startswith("نعي | بلدة المثال\nاستشهد الشاب سامر المثالي")
    assert bulletin["language"] == "ar" and bulletin["author_signature"] == "مراسل المثال"
    assert bulletin["published"] == "2026-10-01T06:00:00Z"
    assert bulletin["url"] == f"{demo.server.base_url}/{name}/101"
    assert [m["kind"] for m in bulletin["media"]] == ["photo"]
    forwarded = posts[f"{name}/104"]
    assert forwarded["forwarded_from"] == "أخبار النموذج"
    assert forwarded["forwarded_from_url"].endswith("/namudhaj_news/3003")
    reply = posts[f"{name}/105"]
    assert reply["reply_to_url"].endswith(f"/{name}/104") and reply["edited"] is True
    video_post = posts[f"{name}/103"]
    assert video_post["language"] == "en"
    (video,) = [m for m in video_post["media"] if m["kind"] == "video"]
    assert video["url"].endswith("/file/clip-103.mp4") and video["duration"] == "0:01"
    doc_post = posts[f"{name}/106"]
    assert doc_post["media"][0]["kind"] == "document"
    assert doc_post["link_preview"]["title"] == "Damage report (synthetic)"

    # Photos and the video are in the archive, byte-identical to what was served.
    blocks = all_blocks(data_dir)
    responses = {h["WARC-Target-URI"]: b.partition(b"\r\n\r\n")[2] for h, b in blocks if h["WARC-Type"] == "response"}
    for path in ("/file/bulletin-101.jpg", "/file/scene-102-a.jpg", "/file/clip-103.mp4", "/file/preview-106.jpg"):
        assert responses[demo.server.url(path)] == demo.server.served[path]

    # Each post is also in the WARC as a metadata record pointing at the page it came from.
    meta = [(h, json.loads(b)) for h, b in blocks if h["WARC-Type"] == "metadata" and b'"post"' in b]
    assert len(meta) == 25
    page_ids = {h["WARC-Record-ID"]: h["WARC-Target-URI"] for h, _ in blocks if h["WARC-Type"] == "response"}
    for h, doc in meta:
        assert page_ids[h["WARC-Refers-To"]].startswith(f"{demo.server.base_url}/s/{name}")
        assert doc["post"]["warc"]["record_id"] == h["WARC-Refers-To"]


def test_second_capture_is_incremental_and_keeps_history(demo: Demo, data_dir: Path) -> None:
    name = demo.channel.name
    first = run_tawthiq(["capture", f"telegram:{name}"], data_dir=data_dir, env=demo.env)
    assert first.code == 0, first.out + first.err
    demo.server.requests.clear()
    base = demo.server.base_url
    for pid in (126, 127):
        demo.channel.posts.append(DemoPost(
            id=pid, html=f"منشور جديد رقم {pid}", datetime=f"2026-10-05T0{pid - 120}:00:00+00:00",
            time="09:00", views="10", photos=[DemoPhoto(f"p{pid}", f"/file/new-{pid}.jpg", base + f"/file/new-{pid}.jpg")],
        ))
    second = run_tawthiq(["capture", f"telegram:{name}"], data_dir=data_dir, env=demo.env)
    assert second.code == 0, second.out + second.err
    pages = [r.raw_path for r in demo.server.requests if r.path == f"/s/{name}"]
    assert pages == [f"/s/{name}"]  # stopped at the newest post already archived
    posts = _posts(data_dir)
    assert len(posts) == 27
    assert posts[f"{name}/126"]["captures"] == 1 and posts[f"{name}/127"]["text"] == "منشور جديد رقم 127"
    assert all(p["captures"] == 1 for p in posts.values())  # nothing archived twice


def test_missing_channel_is_a_clear_failure(demo: Demo, data_dir: Path) -> None:
    result = run_tawthiq(["capture", "telegram:no_such_channel"], data_dir=data_dir, env=demo.env)
    assert result.code == 1
    assert "telegram channel 'no_such_channel' shows no posts" in result.out
    assert "Traceback" not in result.out + result.err
    blocks = all_blocks(data_dir)
    statuses = [b.split(b"\r\n", 1)[0] for h, b in blocks if h["WARC-Type"] == "response"]
    assert b"HTTP/1.1 302 Found" in statuses  # the redirect itself is evidence


def test_page_limit_stops_history_walk(demo: Demo, data_dir: Path) -> None:
    result = run_tawthiq(["capture", f"telegram:{demo.channel.name}", "--telegram-pages", "2"],
                         data_dir=data_dir, env=demo.env)
    assert result.code == 0
    assert len(_posts(data_dir)) == 20
    assert content.POST_COUNT == 25


def test_fetched_photos_and_videos_get_media_rows_linked_to_their_posts(demo: Demo, data_dir: Path) -> None:
    result = run_tawthiq(["capture", f"telegram:{demo.channel.name}"], data_dir=data_dir, env=demo.env)
    assert result.code == 0, result.out + result.err
    engine = create_engine(f"sqlite:///{data_dir / 'catalog.sqlite'}")
    with engine.connect() as conn:
        rows = {r.source_url.rsplit("/", 1)[-1]: r for r in conn.execute(text("select * from media"))}
    engine.dispose()
    base, name = demo.server.base_url, demo.channel.name
    photo = rows["bulletin-101.jpg"]
    assert (photo.mime, photo.width, photo.height, photo.codec) == ("image/jpeg", 320, 240, "jpeg")
    assert photo.post_url == f"{base}/{name}/101"
    import hashlib
    assert photo.sha256 == hashlib.sha256(demo.server.served["/file/bulletin-101.jpg"]).hexdigest()
    video = rows["clip-103.mp4"]
    assert video.mime == "video/mp4" and video.post_url == f"{base}/{name}/103"
    assert video.width == 160 and video.height == 120 and abs(video.duration - 1.0) < 0.2


def test_a_walk_cut_short_leaves_no_gap_for_the_next_run(demo: Demo, data_dir: Path) -> None:
    name = demo.channel.name
    first = run_tawthiq(["capture", f"telegram:{name}", "--telegram-pages", "1"], data_dir=data_dir, env=demo.env)
    assert first.code == 0 and len(_posts(data_dir)) == 10  # the newest page only: 116-125
    demo.server.requests.clear()
    second = run_tawthiq(["capture", f"telegram:{name}"], data_dir=data_dir, env=demo.env)
    assert second.code == 0, second.out + second.err
    pages = [r.raw_path for r in demo.server.requests if r.path == f"/s/{name}"]
    assert len(pages) == 3  # walked on past the posts it had, down to the start of the channel
    posts = _posts(data_dir)
    assert len(posts) == 25 and all(p["captures"] == 1 for p in posts.values())
    demo.server.requests.clear()
    third = run_tawthiq(["capture", f"telegram:{name}"], data_dir=data_dir, env=demo.env)
    assert third.code == 0
    assert [r.raw_path for r in demo.server.requests if r.path == f"/s/{name}"] == [f"/s/{name}"]


def test_a_long_history_is_walked_across_runs_from_where_the_last_one_stopped(demo: Demo, data_dir: Path) -> None:
    name = demo.channel.name
    first = run_tawthiq(["capture", f"telegram:{name}", "--telegram-pages", "2"], data_dir=data_dir, env=demo.env)
    assert first.code == 0 and len(_posts(data_dir)) == 20  # 106-125; the limit stopped it
    demo.server.requests.clear()
    second = run_tawthiq(["capture", f"telegram:{name}", "--telegram-pages", "2"], data_dir=data_dir, env=demo.env)
    assert second.code == 0, second.out + second.err
    pages = [r.raw_path for r in demo.server.requests if r.path == f"/s/{name}"]
    assert pages == [f"/s/{name}", f"/s/{name}?before=106"]  # caught up, then jumped to where it stopped
    posts = _posts(data_dir)
    assert len(posts) == 25 and all(p["captures"] == 1 for p in posts.values())


def test_more_new_posts_than_one_run_reads_leave_no_gap(demo: Demo, data_dir: Path) -> None:
    """Run 1 stops at the page limit; more posts arrive than run 2's limit reads; run 3 must still
    fetch the posts between run 2's stop and run 1's newest, not jump over them to run 1's stop."""
    name = demo.channel.name
    first = run_tawthiq(["capture", f"telegram:{name}", "--telegram-pages", "1"], data_dir=data_dir, env=demo.env)
    assert first.code == 0 and len(_posts(data_dir)) == 10  # 116-125
    for pid in range(126, 141):
        demo.channel.posts.append(DemoPost(id=pid, html=f"نشرة رقم {pid}", datetime=f"2026-10-06T{pid - 120:02d}:00:00+00:00",
                                           time="09:00", views="3"))
    second = run_tawthiq(["capture", f"telegram:{name}", "--telegram-pages", "1"], data_dir=data_dir, env=demo.env)
    assert second.code == 0 and len(_posts(data_dir)) == 20  # 131-140; 126-130 not read yet
    third = run_tawthiq(["capture", f"telegram:{name}"], data_dir=data_dir, env=demo.env)
    assert third.code == 0, third.out + third.err
    posts = _posts(data_dir)
    assert sorted(int(k.rsplit("/", 1)[1]) for k in posts) == list(range(101, 141))
    assert all(p["captures"] == 1 for p in posts.values())


def test_a_run_that_failed_mid_walk_does_not_make_the_next_one_jump(demo: Demo, data_dir: Path) -> None:
    """Run 1 stops at the page limit (resume point below 116); posts 126-140 arrive; run 2 archives
    131-140 and fails on its next page. Run 3 meets run 2's posts first: it must read on down to the
    newest post of run 1's walk before it jumps, or 126-130 are lost."""
    from tawthiq.demo.server import Resource

    name = demo.channel.name
    first = run_tawthiq(["capture", f"telegram:{name}", "--telegram-pages", "1"], data_dir=data_dir, env=demo.env)
    assert first.code == 0 and len(_posts(data_dir)) == 10  # 116-125
    for pid in range(126, 141):
        demo.channel.posts.append(DemoPost(id=pid, html=f"نشرة رقم {pid}", datetime=f"2026-10-06T{pid - 120:02d}:00:00+00:00",
                                           time="09:00", views="3"))
    demo.server.routes[f"/s/{name}?before=131"] = Resource(b"<h1>502</h1>", status=502)
    second = run_tawthiq(["capture", f"telegram:{name}"], data_dir=data_dir, env=demo.env)
    assert second.code != 0 and len(_posts(data_dir)) == 20  # 131-140, then the failure
    del demo.server.routes[f"/s/{name}?before=131"]
    third = run_tawthiq(["capture", f"telegram:{name}"], data_dir=data_dir, env=demo.env)
    assert third.code == 0, third.out + third.err
    posts = _posts(data_dir)
    assert sorted(int(k.rsplit("/", 1)[1]) for k in posts) == list(range(101, 141))
    assert all(p["captures"] == 1 for p in posts.values())
