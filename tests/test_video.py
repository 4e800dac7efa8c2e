"""Video capture: real yt-dlp downloads from a local server, stored in the WARC archive.

The media is generated here with ffmpeg (Debian's, installed by .ci/run): an MP4 with H.264
video and AAC audio, and the same stream cut into an HLS playlist with MPEG-TS segments.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tawthiq.demo.server import LocalServer, Resource
from tests.conftest import all_blocks, run_tawthiq

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed (.ci/run installs it)")


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("media")
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=duration=3:size=320x240:rate=25",
                    "-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-shortest", str(root / "clip.mp4")], check=True)
    (root / "hls").mkdir()
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(root / "clip.mp4"), "-c", "copy", "-f", "hls",
                    "-hls_time", "1", "-hls_playlist_type", "vod", "-hls_segment_filename",
                    str(root / "hls" / "seg%d.ts"), str(root / "hls" / "index.m3u8")], check=True)
    (root / "dash").mkdir()
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(root / "clip.mp4"), "-map", "0:v", "-map", "0:a",
                    "-c", "copy", "-f", "dash", "-seg_duration", "1", str(root / "dash" / "manifest.mpd")], check=True)
    (root / "subs.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:02.000\nشاهد: قصف على السوق (synthetic)\n",
                                   encoding="utf-8")
    return root


@pytest.fixture
def video_site(server: LocalServer, media: Path) -> Iterator[LocalServer]:
    clip = (media / "clip.mp4").read_bytes()
    server.routes["/clip.mp4"] = Resource(clip, content_type="video/mp4")
    server.routes["/watch.html"] = Resource(
        b'<!DOCTYPE html><html><head><title>Synthetic witness video</title></head><body>'
        b'<video controls width="320"><source src="/clip.mp4" type="video/mp4">'
        b'<track kind="subtitles" srclang="ar" src="/subs.vtt"></video></body></html>')
    server.routes["/subs.vtt"] = Resource((media / "subs.vtt").read_bytes(), content_type="text/vtt")
    for part in (media / "dash").iterdir():
        ctype = "application/dash+xml" if part.suffix == ".mpd" else "video/iso.segment"
        server.routes[f"/dash/{part.name}"] = Resource(part.read_bytes(), content_type=ctype)
    server.routes["/hls/index.m3u8"] = Resource((media / "hls" / "index.m3u8").read_bytes(),
                                                content_type="application/vnd.apple.mpegurl")
    for seg in (media / "hls").glob("seg*.ts"):
        server.routes[f"/hls/{seg.name}"] = Resource(seg.read_bytes(), content_type="video/mp2t")
    yield server


def _media_rows(data_dir: Path) -> list[dict]:
    engine = create_engine(f"sqlite:///{data_dir / 'catalog.sqlite'}")
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(text("select * from media order by id"))]
    engine.dispose()
    return rows


def _duration(data: bytes, tmp: Path) -> float:
    path = tmp / "probe.bin"
    path.write_bytes(data)
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True)
    return float(json.loads(out.stdout)["format"]["duration"])


def test_html5_video_page(video_site: LocalServer, data_dir: Path) -> None:
    result = run_tawthiq(["capture", f"video:{video_site.url('/watch.html')}"], data_dir=data_dir)
    assert result.code == 0, result.out + result.err
    blocks = all_blocks(data_dir)
    (res_h, res_block), = [(h, b) for h, b in blocks if h["WARC-Type"] == "resource"
                           and h["Content-Type"] == "video/mp4"]
    assert res_block == video_site.served["/clip.mp4"]  # the exact bytes that were served
    (sub_h, sub_block), = [(h, b) for h, b in blocks if h["WARC-Type"] == "resource"
                           and h["Content-Type"] == "text/vtt"]
    assert sub_block == video_site.served["/subs.vtt"] and sub_h["WARC-Concurrent-To"] == res_h["WARC-Record-ID"]
    assert res_h["WARC-Target-URI"] == video_site.url("/clip.mp4")
    assert res_h["Content-Type"] == "video/mp4"
    info = [(h, json.loads(b)) for h, b in blocks if h.get("WARC-Tawthiq-Kind") == "video-info"]
    assert len(info) == 1 and info[0][0]["WARC-Refers-To"] == res_h["WARC-Record-ID"]
    assert info[0][1]["info"]["title"].startswith("Synthetic witness video")
    # The page yt-dlp read to find the video is archived as a request/response pair.
    (page_h, page_block), = [(h, b) for h, b in blocks if h["WARC-Type"] == "response"]
    assert page_h["WARC-Target-URI"] == video_site.url("/watch.html")
    assert page_block.endswith(video_site.served["/watch.html"])
    assert page_h["WARC-Tawthiq-Recorder"].startswith("yt-dlp")
    row, sub_row = _media_rows(data_dir)
    assert sub_row["role"] == "subtitle:ar" and sub_row["mime"] == "text/vtt"
    assert (row["mime"], row["width"], row["height"], row["codec"], row["audio_codec"]) == ("video/mp4", 320, 240, "h264", "aac")
    assert abs(row["duration"] - 3.0) < 0.1
    assert row["size"] == len(video_site.served["/clip.mp4"]) and row["record_id"] == res_h["WARC-Record-ID"]


def test_direct_mp4_and_identical_bytes_stored_once(video_site: LocalServer, data_dir: Path) -> None:
    first = run_tawthiq(["capture", f"video:{video_site.url('/clip.mp4')}"], data_dir=data_dir)
    assert first.code == 0, first.out + first.err
    video_site.routes["/mirror.mp4"] = video_site.routes["/clip.mp4"]
    second = run_tawthiq(["capture", f"video:{video_site.url('/mirror.mp4')}"], data_dir=data_dir)
    assert second.code == 0, second.out + second.err
    blocks = all_blocks(data_dir)
    resources = [(h, b) for h, b in blocks if h["WARC-Type"] == "resource"]
    assert len(resources) == 1 and resources[0][1] == video_site.served["/clip.mp4"]
    (rev_h, rev_block), = [(h, b) for h, b in blocks if h["WARC-Type"] == "revisit"]
    assert rev_h["WARC-Target-URI"] == video_site.url("/mirror.mp4") and rev_block == b""
    assert rev_h["WARC-Refers-To"] == resources[0][0]["WARC-Record-ID"]
    rows = _media_rows(data_dir)
    assert [r["revisit_of"] for r in rows] == [None, resources[0][0]["WARC-Record-ID"]]
    assert rows[0]["sha256"] == rows[1]["sha256"]


def test_hls_stream_is_downloaded_whole(video_site: LocalServer, data_dir: Path, tmp_path: Path) -> None:
    result = run_tawthiq(["capture", f"video:{video_site.url('/hls/index.m3u8')}"], data_dir=data_dir)
    assert result.code == 0, result.out + result.err
    blocks = all_blocks(data_dir)
    (res_h, res_block), = [(h, b) for h, b in blocks if h["WARC-Type"] == "resource"]
    assert abs(_duration(res_block, tmp_path) - 3.0) < 0.2
    manifests = [b for h, b in blocks if h["WARC-Type"] == "response"
                 and h["WARC-Target-URI"] == video_site.url("/hls/index.m3u8")]
    assert manifests and manifests[0].endswith(video_site.served["/hls/index.m3u8"])
    # Segments are media: their bytes are in the resource, not stored again as responses.
    assert not any(h.get("WARC-Target-URI", "").endswith(".ts") for h, _ in blocks)


def test_vanished_video_is_a_recorded_failure_with_its_evidence(video_site: LocalServer, data_dir: Path) -> None:
    gone = video_site.url("/removed-video.mp4")
    result = run_tawthiq(["capture", f"video:{gone}"], data_dir=data_dir)
    assert result.code == 1
    assert f"{gone}: video not captured: [generic]" in result.out and "HTTP Error 404" in result.out
    assert "Traceback" not in result.out + result.err
    blocks = all_blocks(data_dir)
    (resp_h, resp_block), = [(h, b) for h, b in blocks if h["WARC-Type"] == "response"]
    assert resp_block.startswith(b"HTTP/1.1 404")
    (fail_h, fail_block), = [(h, b) for h, b in blocks if h.get("WARC-Tawthiq-Kind") == "failure"]
    assert fail_h["WARC-Refers-To"] == resp_h["WARC-Record-ID"]
    assert b"HTTP Error 404" in fail_block


def test_spiders_hand_video_links_to_ytdlp(video_site: LocalServer, data_dir: Path) -> None:
    port = video_site.base_url.rsplit(":", 1)[1]
    video_site.routes["/post.html"] = Resource(
        f'<html><body><p>Footage:</p><a href="http://localhost:{port}/watch.html">video</a></body></html>'.encode())
    result = run_tawthiq(["capture", video_site.url("/post.html")], data_dir=data_dir,
                         env={"TAWTHIQ_VIDEO_DOMAINS": '["localhost"]'})
    assert result.code == 0, result.out + result.err
    blocks = all_blocks(data_dir)
    (res_block,) = [b for h, b in blocks if h["WARC-Type"] == "resource" and h["Content-Type"] == "video/mp4"]
    assert res_block == video_site.served["/clip.mp4"]


def test_separate_video_and_audio_are_merged_by_ffmpeg(video_site: LocalServer, data_dir: Path, tmp_path: Path) -> None:
    result = run_tawthiq(["capture", f"video:{video_site.url('/dash/manifest.mpd')}"], data_dir=data_dir)
    assert result.code == 0, result.out + result.err
    blocks = all_blocks(data_dir)
    (res_h, res_block), = [(h, b) for h, b in blocks if h["WARC-Type"] == "resource"]
    assert res_h["WARC-Target-URI"] == video_site.url("/dash/manifest.mpd")
    (row,) = _media_rows(data_dir)
    assert (row["codec"], row["audio_codec"]) == ("h264", "aac")  # both streams, in one file
    assert abs(_duration(res_block, tmp_path) - 3.0) < 0.2
    info = [json.loads(b) for h, b in blocks if h.get("WARC-Tawthiq-Kind") == "video-info"]
    assert len(info[0]["info"]["requested_formats"]) == 2
