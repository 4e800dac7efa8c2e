"""Video files hashed while yt-dlp writes them, so archiving reads them once: the digest in the
WARC header is still the digest of the bytes in the block (read back with warcio), and a file that
changed after its download is hashed again instead of trusting the early digest."""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from tawthiq.archivers import media, ytdlp
from tawthiq.archivers.revisits import DigestIndex
from tawthiq.archivers.tailhash import TailHasher
from tawthiq.archivers.writer import WarcWriter
from tawthiq.demo.server import LocalServer, Resource


def _body(size: int) -> bytes:
    return random.Random(17).randbytes(size)


def _resources(directory: Path) -> list[tuple[dict[str, str], bytes]]:
    out = []
    for path in sorted(directory.glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type == "resource":
                    out.append((dict(record.rec_headers.headers), record.content_stream().read()))
    return out


def _store(tmp: Path, result: ytdlp.VideoResult) -> list[tuple[dict[str, str], bytes]]:
    (_, path, source), = [f for f in result.files if f[0] == "media"]
    writer = WarcWriter(tmp / "warcs")
    media.store_file(writer, DigestIndex(), path, source, known=result.known.get(path))
    writer.close()
    return _resources(tmp / "warcs")


@pytest.fixture
def big_video(server: LocalServer) -> bytes:
    body = _body(12_000_000)
    server.routes["/witness.mp4"] = Resource(body, content_type="video/mp4")
    return body


def test_download_is_hashed_as_written_and_the_record_holds_those_bytes(
        server: LocalServer, big_video: bytes, tmp_path: Path) -> None:
    result = ytdlp.download(server.url("/witness.mp4"), ytdlp.VideoOptions(), lambda _: None, tmp_root=tmp_path)
    try:
        (_, path, _), = [f for f in result.files if f[0] == "media"]
        known = result.known[path]  # taken while downloading: no second hash pass is needed
        assert result.hashed_bytes == len(big_video)  # the `.part` file followed once, never re-read
        assert known.digest == "sha256:" + hashlib.sha256(big_video).hexdigest() and known.size == len(big_video)
        (headers, block), = _store(tmp_path, result)
    finally:
        result.cleanup()
    assert block == big_video
    assert headers["WARC-Payload-Digest"] == headers["WARC-Block-Digest"] == known.digest


def test_a_file_changed_after_its_download_is_hashed_again(
        server: LocalServer, big_video: bytes, tmp_path: Path) -> None:
    result = ytdlp.download(server.url("/witness.mp4"), ytdlp.VideoOptions(), lambda _: None, tmp_root=tmp_path)
    try:
        (_, path, _), = [f for f in result.files if f[0] == "media"]
        assert path in result.known
        with open(path, "r+b") as fh:  # a post-processor rewriting the file in place
            fh.write(b"X")
        changed = path.read_bytes()
        (headers, block), = _store(tmp_path, result)
    finally:
        result.cleanup()
    assert block == changed
    assert headers["WARC-Payload-Digest"] == "sha256:" + hashlib.sha256(changed).hexdigest()


def test_a_download_that_restarted_from_scratch_gets_no_early_digest(tmp_path: Path) -> None:
    part, final = tmp_path / "v.mp4.part", tmp_path / "v.mp4"
    hasher = TailHasher()
    part.write_bytes(_body(3_000_000))
    hasher.hook({"status": "downloading", "tmpfilename": str(part), "filename": str(final),
                 "downloaded_bytes": 3_000_000})
    with open(part, "r+b") as fh:  # yt-dlp reopening the file with "wb" after a failed resume
        fh.truncate(0)
        fh.write(_body(1000)[::-1])
    hasher.hook({"status": "downloading", "tmpfilename": str(part), "filename": str(final),
                 "downloaded_bytes": 1000})
    os.rename(part, final)
    hasher.hook({"status": "finished", "filename": str(final)})  # as yt-dlp sends it: no tmpfilename
    hasher.close()
    assert hasher.digest_of(final) is None


def test_a_file_rewritten_without_changing_its_identity_is_stored_with_the_digest_of_its_bytes(
        server: LocalServer, big_video: bytes, tmp_path: Path) -> None:
    result = ytdlp.download(server.url("/witness.mp4"), ytdlp.VideoOptions(), lambda _: None, tmp_root=tmp_path)
    try:
        (_, path, _), = [f for f in result.files if f[0] == "media"]
        st = path.stat()
        with open(path, "r+b") as fh:  # same size, and the modification time put back
            fh.write(b"X")
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        assert result.known[path].identity == (st.st_dev, st.st_ino, path.stat().st_size, path.stat().st_mtime_ns)
        changed = path.read_bytes()
        (headers, block), = _store(tmp_path, result)
    finally:
        result.cleanup()
    assert block == changed
    assert headers["WARC-Block-Digest"] == headers["WARC-Payload-Digest"] == "sha256:" + hashlib.sha256(changed).hexdigest()
