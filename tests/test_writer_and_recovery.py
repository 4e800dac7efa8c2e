"""WARC files: naming, one gzip member per record, rotation, sealing, and crash repair."""

from __future__ import annotations

import gzip
import hashlib
import io
import random
import re
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from tawthiq.archivers import records as rec
from tawthiq.archivers.archiver import Archiver
from tawthiq.archivers.exchange import Exchange
from tawthiq.archivers.reader import iter_records
from tawthiq.archivers.recovery import complete_prefix, find_open_files, recover_file
from tawthiq.archivers.writer import BlockDigestMismatch, WarcWriter

NAME = re.compile(r"^tawthiq-\d{17}-\d{5}-[^-]+\.warc\.gz$")


def exchange(i: int, size: int = 2000) -> Exchange:
    body = random.Random(i).randbytes(size)  # incompressible, so sizes are predictable
    raw = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    return Exchange(uri=f"http://127.0.0.1/p{i}", raw_request=b"GET /p%d HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % i,
                    raw_response=raw, ip="127.0.0.1")


def warcio_check(path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "warcio.cli", "check", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def gzip_members(path: Path) -> int:
    data = path.read_bytes()
    n = 0
    while data:
        d = zlib.decompressobj(31)
        d.decompress(data)
        assert d.eof
        data = d.unused_data
        n += 1
    return n


def test_rotation_names_sealing_and_pairs_in_one_file(tmp_path: Path) -> None:
    writer = WarcWriter(tmp_path, max_size=6000, warcinfo_fields={"isPartOf": "test"})
    archiver = Archiver(writer)
    for i in range(12):
        archiver.exchange(exchange(i))
    archiver.close()
    files = sorted(tmp_path.glob("*.warc.gz"))
    assert len(files) >= 3
    assert not list(tmp_path.glob("*.open"))
    assert [f.name for f in writer.sealed] == [f.name for f in files]
    for path in files:
        assert NAME.match(path.name), path.name
        warcio_check(path)
        records = list(iter_records(path))
        assert records[0].rec_type == "warcinfo"
        assert gzip_members(path) == len(records)  # one gzip member per record
        ids = {r.record_id for r in records if r.rec_type == "response"}
        for r in records:
            if r.rec_type == "request":
                assert r.concurrent_to in ids  # never split from its response
        sealed = next(s for s in writer.sealed if s.name == path.name)
        assert sealed.size == path.stat().st_size
        import hashlib
        assert sealed.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_warcinfo_describes_the_capture(tmp_path: Path) -> None:
    writer = WarcWriter(tmp_path, warcinfo_fields={"software": "tawthiq/test", "isPartOf": "case-7"})
    Archiver(writer).exchange(exchange(1))
    writer.close()
    (path,) = tmp_path.glob("*.warc.gz")
    first = next(iter_records(path))
    text = gzip.open(path).read().decode("utf-8", "replace")
    assert first.rec_type == "warcinfo"
    assert "software: tawthiq/test" in text and "isPartOf: case-7" in text
    assert f"WARC-Filename: {path.name}" in text


def test_failed_group_leaves_no_partial_record(tmp_path: Path) -> None:
    writer = WarcWriter(tmp_path)
    archiver = Archiver(writer)
    archiver.exchange(exchange(1))

    class Broken(io.BytesIO):
        def read(self, n: int = -1) -> bytes:
            raise OSError("disk went away")

    bad = rec.resource("http://127.0.0.1/x", Broken(b"x" * 100), 100, "sha256:00", "text/plain")
    with pytest.raises(OSError):
        writer.write([rec.metadata("http://127.0.0.1/m", {"type": "note"}, refers_to=None), bad])
    archiver.exchange(exchange(2))
    writer.close()
    (path,) = tmp_path.glob("*.warc.gz")
    warcio_check(path)
    kinds = [r.rec_type for r in iter_records(path)]
    assert kinds == ["warcinfo", "response", "request", "response", "request"]
    assert writer.sealed[0].size == path.stat().st_size


def test_recovery_cuts_back_to_last_whole_record_and_keeps_the_tail(tmp_path: Path) -> None:
    writer = WarcWriter(tmp_path)
    archiver = Archiver(writer)
    for i in range(5):
        archiver.exchange(exchange(i))
    writer._fh.flush()  # simulate kill -9: the file stays .open, never sealed
    (open_path,) = find_open_files(tmp_path)
    whole = open_path.stat().st_size
    half = gzip.compress(b"WARC/1.1\r\nWARC-Type: response\r\nContent-Length: 999\r\n\r\nHTTP/1.1 200")
    with open(open_path, "ab") as fh:
        fh.write(half[: len(half) // 2])
    assert complete_prefix(open_path) == (whole, 11)
    writer._fh.close()  # the crashed process's lock goes with it

    result = recover_file(open_path)
    assert result is not None and result.sealed_path is not None
    assert result.records == 11 and result.kept_bytes == whole
    assert result.sealed_path.stat().st_size == whole
    assert not open_path.exists()
    warcio_check(result.sealed_path)
    assert result.tail_path is not None and result.tail_path.read_bytes() == half[: len(half) // 2]


def test_recovery_leaves_files_of_live_writers_alone(tmp_path: Path) -> None:
    writer = WarcWriter(tmp_path)
    Archiver(writer).exchange(exchange(1))
    (open_path,) = find_open_files(tmp_path)
    assert recover_file(open_path) is None  # still locked by a live writer
    writer.close()


def test_recovery_of_a_record_cut_inside_its_block(tmp_path: Path) -> None:
    writer = WarcWriter(tmp_path)
    archiver = Archiver(writer)
    archiver.exchange(exchange(1))
    writer._fh.flush()
    (open_path,) = find_open_files(tmp_path)
    good = open_path.stat().st_size
    # A complete gzip member whose WARC record is shorter than its Content-Length says.
    with open(open_path, "ab") as fh:
        fh.write(gzip.compress(b"WARC/1.1\r\nWARC-Type: resource\r\nContent-Length: 500\r\n\r\nshort"))
    writer._fh.close()
    result = recover_file(open_path)
    assert result is not None and result.kept_bytes == good
    warcio_check(result.sealed_path)


@pytest.mark.parametrize("level", [0, 6])
def test_a_block_that_is_not_what_its_digest_says_is_never_left_in_the_file(tmp_path: Path, level: int) -> None:
    source = tmp_path / "clip.mp4"
    source.write_bytes(random.Random(3).randbytes(300_000))
    stale = "sha256:" + hashlib.sha256(b"the bytes it held when it was hashed").hexdigest()
    writer = WarcWriter(tmp_path / "warcs")
    archiver = Archiver(writer)
    archiver.exchange(exchange(1))
    with open(source, "rb") as fh:
        bad = rec.resource("http://127.0.0.1/clip.mp4", fh, source.stat().st_size, stale, "video/mp4")
        bad.compress_level = level
        with pytest.raises(BlockDigestMismatch, match="changed after it was hashed"):
            writer.write([bad])
    archiver.exchange(exchange(2))
    writer.close()
    (path,) = (tmp_path / "warcs").glob("*.warc.gz")
    warcio_check(path)  # verifies every digest against its block
    assert [r.rec_type for r in iter_records(path)] == ["warcinfo", "response", "request", "response", "request"]
