"""Archived media streamed with HTTP Range support (issue 17): the web app's /media and /raw serve
the payload read back from the WARC record in bounded chunks, with single byte ranges (206), 416
past the end, and the whole body for a request of several ranges.

A real capture of a local server serving a video-like file (random bytes as video/mp4), once as
is, once gzip-coded, once chunked, and once more under another URL (stored as a revisit of the
first); then Starlette's TestClient against the real app over that archive. And a real MP4 made
by ffmpeg, captured by the video platform (yt-dlp) as a resource record, whose block is the payload."""

from __future__ import annotations

import gzip
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tawthiq.archivers.payload import CHUNK
from tawthiq.demo.server import LocalServer, Resource
from tawthiq.settings import load_settings
from tawthiq.web.app import create_app
from tests.conftest import query, run_tawthiq

SIZE = 3 * 1024 * 1024 + 517  # a few MB, not a multiple of the chunk size
# Each its own bytes: identical payloads would be stored once, as revisits of the first.
BODIES = {name: random.Random(seed).randbytes(SIZE)
          for seed, name in enumerate(("clip.mp4", "gzipped.mp4", "chunked.mp4"))}
BODIES["mirror.mp4"] = BODIES["clip.mp4"]
ROUTES = {"/clip.mp4": Resource(BODIES["clip.mp4"], content_type="video/mp4"),
          "/gzipped.mp4": Resource(BODIES["gzipped.mp4"], content_type="video/mp4", gzip=True),
          "/chunked.mp4": Resource(BODIES["chunked.mp4"], content_type="video/mp4", chunked=True, chunk_size=70_000)}


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("range") / "data"
    with LocalServer(dict(ROUTES)) as srv:
        for path in ROUTES:
            result = run_tawthiq(["capture", f"web:{srv.url(path)}"], data_dir=data)
            assert result.code == 0, result.out + result.err
            wire = srv.served[path]  # as sent: the gzip one coded, so the archive must decode it
            assert (gzip.decompress(wire) if path == "/gzipped.mp4" else wire) == BODIES[path[1:]]
        srv.routes["/mirror.mp4"] = ROUTES["/clip.mp4"]
        result = run_tawthiq(["capture", f"web:{srv.url('/mirror.mp4')}"], data_dir=data)
        assert result.code == 0, result.out + result.err
    return data


def _record(archive: Path, name: str) -> tuple[str, str]:
    ((rid, rec_type),) = query(archive, "select record_id, rec_type from records "
                                        f"where rec_type in ('response', 'revisit') and uri like '%/{name}'")
    return rid, rec_type


@pytest.fixture(scope="module")
def client(archive: Path) -> TestClient:
    return TestClient(create_app(load_settings(archive)))


@pytest.mark.parametrize("name", ["clip.mp4", "gzipped.mp4", "chunked.mp4", "mirror.mp4"])
def test_whole_and_ranges_are_the_served_bytes(archive: Path, client: TestClient, name: str) -> None:
    rid, rec_type = _record(archive, name)
    video = BODIES[name]
    assert rec_type == ("revisit" if name == "mirror.mp4" else "response")  # a revisit serves its original
    whole = client.get(f"/media/{rid}")
    assert whole.status_code == 200 and whole.content == video
    assert whole.headers["content-type"] == "video/mp4" and whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-length"] == str(SIZE)
    assert "sandbox" in whole.headers["content-security-policy"]
    assert whole.headers["cache-control"] == "private, max-age=3600"

    def ranged(spec: str) -> tuple[int, bytes, str]:
        got = client.get(f"/media/{rid}", headers={"Range": spec})
        if got.status_code == 206:
            assert int(got.headers["content-length"]) == len(got.content)
        return got.status_code, got.content, got.headers.get("content-range", "")

    assert ranged("bytes=1000-1999") == (206, video[1000:2000], f"bytes 1000-1999/{SIZE}")
    far = SIZE - 5000  # far into the file, across a chunk boundary of the reader
    assert ranged(f"bytes={far}-") == (206, video[far:], f"bytes {far}-{SIZE - 1}/{SIZE}")
    assert ranged("bytes=-700") == (206, video[-700:], f"bytes {SIZE - 700}-{SIZE - 1}/{SIZE}")
    assert ranged(f"bytes={CHUNK - 3}-{CHUNK + 3}") == (206, video[CHUNK - 3:CHUNK + 4],
                                                       f"bytes {CHUNK - 3}-{CHUNK + 3}/{SIZE}")
    assert ranged(f"bytes=10-{SIZE + 99}") == (206, video[10:], f"bytes 10-{SIZE - 1}/{SIZE}")  # clamped
    assert ranged(f"bytes=-{SIZE * 2}") == (206, video, f"bytes 0-{SIZE - 1}/{SIZE}")
    assert ranged(f"bytes={SIZE}-") == (416, b"", f"bytes */{SIZE}")
    assert ranged(f"bytes={SIZE + 10}-{SIZE + 20}") == (416, b"", f"bytes */{SIZE}")
    assert ranged("bytes=-0") == (416, b"", f"bytes */{SIZE}")
    # Several ranges, or a header that does not parse: the whole body, as RFC 9110 allows.
    for spec in ("bytes=0-9,20-29", "bytes=9-2", "items=0-9", "bytes=abc"):
        assert ranged(spec) == (200, video, ""), spec


def test_if_range_keeps_the_range_only_for_the_same_record(archive: Path, client: TestClient) -> None:
    rid, _ = _record(archive, "clip.mp4")
    video = BODIES["clip.mp4"]
    etag = client.get(f"/media/{rid}", headers={"Range": "bytes=0-0"}).headers["etag"]
    same = client.get(f"/media/{rid}", headers={"Range": "bytes=5-9", "If-Range": etag})
    assert same.status_code == 206 and same.content == video[5:10]
    other = client.get(f"/media/{rid}", headers={"Range": "bytes=5-9", "If-Range": '"something-else"'})
    assert other.status_code == 200 and other.content == video


def test_raw_streams_with_ranges_and_non_media_stays_415(archive: Path, client: TestClient) -> None:
    rid, _ = _record(archive, "gzipped.mp4")
    video = BODIES["gzipped.mp4"]
    part = client.get(f"/raw/{rid}", headers={"Range": "bytes=2000000-2000099"})
    assert part.status_code == 206 and part.content == video[2_000_000:2_000_100]
    download = client.get(f"/raw/{rid}?download=true", headers={"Range": "bytes=-10"})
    assert download.status_code == 206 and download.content == video[-10:]
    assert download.headers["content-type"] == "application/octet-stream"
    assert "attachment" in download.headers["content-disposition"]
    ((request_id,),) = query(archive, "select record_id from records where rec_type = 'request' "
                                      "and uri like '%/clip.mp4'")
    assert client.get(f"/media/{request_id}").status_code == 415
    assert client.get("/media/<urn:uuid:00000000-0000-0000-0000-000000000000>").status_code == 404


@pytest.mark.parametrize("name", ["gzipped.mp4", "chunked.mp4"])
def test_a_far_range_is_read_forward_in_bounded_pieces(archive: Path, name: str) -> None:
    """What the responses above are made of: pieces of at most CHUNK bytes, decoded, never the
    whole payload at once, however far in the range starts."""
    from tawthiq.archivers.payload import iter_payload, payload_info

    rid, _ = _record(archive, name)
    ((file, offset),) = query(archive, f"select file, offset from records where record_id = '{rid}'")
    settings = load_settings(archive)
    assert payload_info(settings.warcs_dir, file, offset).size == SIZE  # counted through the decoder
    start = SIZE - 3 * CHUNK - 11
    pieces = list(iter_payload(settings.warcs_dir, file, offset, start, 2 * CHUNK + 5))
    assert max(len(p) for p in pieces) <= CHUNK
    assert b"".join(pieces) == BODIES[name][start:start + 2 * CHUNK + 5]


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed (.ci/run installs it)")
def test_a_captured_video_resource_record_is_seekable(tmp_path: Path) -> None:
    clip = tmp_path / "witness.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=duration=2:size=320x240:rate=25",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(clip)], check=True)
    served = clip.read_bytes()
    data = tmp_path / "data"
    with LocalServer({"/witness.mp4": Resource(served, content_type="video/mp4")}) as srv:
        result = run_tawthiq(["capture", f"video:{srv.url('/witness.mp4')}"], data_dir=data)
    assert result.code == 0, result.out + result.err
    ((rid, size),) = query(data, "select m.record_id, m.size from media m join records r on r.record_id = m.record_id "
                                 "where r.rec_type = 'resource' and m.mime = 'video/mp4'")
    assert size == len(served)
    client = TestClient(create_app(load_settings(data)))
    whole = client.get(f"/media/{rid}")
    assert whole.status_code == 200 and whole.content == served
    assert whole.headers["content-length"] == str(len(served))
    tail = client.get(f"/media/{rid}", headers={"Range": "bytes=-1000"})
    assert tail.status_code == 206 and tail.content == served[-1000:]
    assert tail.headers["content-range"] == f"bytes {len(served) - 1000}-{len(served) - 1}/{len(served)}"
    middle = client.get(f"/media/{rid}", headers={"Range": "bytes=1000-1999"})
    assert middle.status_code == 206 and middle.content == served[1000:2000]
    past = client.get(f"/media/{rid}", headers={"Range": f"bytes={len(served)}-"})
    assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{len(served)}"
